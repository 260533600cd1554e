//! `check-config`: lint a behavior set without a browser.
//!
//! Most lints ask the behaviors the question a request would: a set of representative Atlassian
//! paths (a versioned `/s/` batch, a font, a `/download/resources` image, avatars, robots.txt,
//! favicon.ico, pages and REST), each prefixed with the context path, is matched first-match-wins,
//! and the behavior that would serve each is judged for what it serves. So a `*.woff` row placed
//! first is the one judged for fonts, exactly as CloudFront would use it. Shadowing is decided
//! exactly: a later pattern is shadowed when every path it matches is matched by an earlier one
//! (language inclusion of the two glob patterns, not a string comparison).

use std::collections::{BTreeSet, HashSet, VecDeque};

use super::lint_fix::{Change, render};
use super::{Evidence, Finding, ids, sort};
use crate::cloudfront::behavior::{WEBSOCKET_HEADERS, normalize_context_path};
use crate::cloudfront::{Behavior, BehaviorSet, NameSet};

/// What a probe path stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    VersionedStatic,
    Font,
    DownloadResource,
    Avatar,
    SynchronyJs,
    Robots,
    Favicon,
    Page,
    Rest,
    /// Synchrony's websocket (Confluence's collaborative editing).
    Websocket,
}

impl ProbeKind {
    fn label(self) -> &'static str {
        match self {
            ProbeKind::VersionedStatic => "versioned /s/ batches",
            ProbeKind::Font => "fonts",
            ProbeKind::DownloadResource => "/download/resources",
            ProbeKind::Avatar => "avatars",
            ProbeKind::SynchronyJs => "synchrony.min.js",
            ProbeKind::Robots => "robots.txt",
            ProbeKind::Favicon => "favicon.ico",
            ProbeKind::Page => "pages",
            ProbeKind::Rest => "REST",
            ProbeKind::Websocket => "Synchrony's websocket",
        }
    }

    fn is_static(self) -> bool {
        !matches!(
            self,
            ProbeKind::Page | ProbeKind::Rest | ProbeKind::Websocket
        )
    }

    /// The query parameters that select the content at this kind of path (Jira's avatar URLs:
    /// `/secure/viewavatar?size=xsmall&avatarId=10122&avatarType=issuetype`,
    /// `/secure/projectavatar?size=small&pid=10000&avatarId=10011`).
    fn content_params(probe: &str) -> &'static [&'static str] {
        if probe.ends_with("/secure/viewavatar") {
            &["avatarId", "size", "avatarType"]
        } else if probe.ends_with("/secure/projectavatar") {
            &["pid", "avatarId", "size"]
        } else {
            &[]
        }
    }
}

/// Representative paths (without context path) and what they are.
pub(crate) const PROBES: &[(ProbeKind, &str)] = &[
    (
        ProbeKind::VersionedStatic,
        "/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/9120000/1/2c1a7d3b/_/download/superbatch/js/batch.js",
    ),
    (
        ProbeKind::VersionedStatic,
        "/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/9120000/1/2c1a7d3b/_/download/contextbatch/css/_super/batch.css",
    ),
    (
        ProbeKind::Font,
        "/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/9120000/1/2c1a7d3b/_/download/resources/com.atlassian.auiplugin:aui-ng-icons/assets/fonts/adgs-icons.woff",
    ),
    (
        ProbeKind::Font,
        "/download/resources/com.atlassian.auiplugin:aui-ng-icons/assets/fonts/adgs-icons.ttf",
    ),
    (
        ProbeKind::DownloadResource,
        "/download/resources/com.atlassian.jira.jira-header-plugin:jira-header/images/logo.png",
    ),
    (ProbeKind::Avatar, "/secure/projectavatar"),
    (ProbeKind::Avatar, "/secure/viewavatar"),
    (
        ProbeKind::SynchronyJs,
        "/synchrony-proxy/resources/js/synchrony.min.js",
    ),
    (ProbeKind::Robots, "/robots.txt"),
    (ProbeKind::Favicon, "/favicon.ico"),
    (ProbeKind::Page, "/secure/Dashboard.jspa"),
    (ProbeKind::Page, "/browse/LAB-1"),
    (ProbeKind::Page, "/display/LAB/Home"),
    (ProbeKind::Rest, "/rest/api/2/myself"),
    (ProbeKind::Rest, "/rest/api/content"),
    (ProbeKind::Websocket, "/synchrony/v1/bayeux-sync1"),
];

/// Request headers whose value differs per browser family or per user: in a cache key, they
/// split the cache (Accept differs between Chrome, Firefox and Safari for the same image).
pub(crate) const PER_BROWSER_HEADERS: &[&str] = &[
    "Accept",
    "Accept-Language",
    "User-Agent",
    "Authorization",
    "Cookie",
    "Referer",
    "X-Forwarded-For",
    "CloudFront-Viewer-Address",
    "Sec-Fetch-Dest",
    "Sec-Fetch-Mode",
    "Sec-Fetch-Site",
];

/// Lint `set`. `context_path`: the one the site really uses (`--context-path`), if known.
pub fn lint(set: &BehaviorSet, context_path: Option<&str>) -> Vec<Finding> {
    let cp = context_path.map(normalize_context_path).unwrap_or_else(|| {
        if set.context_path.is_empty() {
            inferred_context_path(set)
        } else {
            set.context_path.clone()
        }
    });
    let mut out = Vec::new();
    out.extend(shadowed(set));
    out.extend(context_path_mismatch(set, context_path));
    out.extend(by_probes(set, &cp));
    out.extend(distribution_wide(set));
    out.extend(waf_blocks_static(set, &cp));
    for (i, b) in set.behaviors.iter().enumerate() {
        for w in &b.warnings {
            let f = ids::CONFIG_UNRESOLVED_POLICY.finding(
                Some(set.effective_pattern(i)),
                w.clone(),
                vec![Evidence {
                    url: set.effective_pattern(i),
                    lines: vec![describe(b)],
                }],
            );
            out.push(locate(f, set, i, "cache_policy", None));
        }
    }
    sort(&mut out);
    out
}

/// The context path a distribution's own patterns carry (`/jira/s/*`, `/jira/secure/...`): the
/// first segment every non-default pattern shares, unless it is one of the products' own
/// top-level paths. CloudFormation and Terraform write it into each pattern, not separately.
fn inferred_context_path(set: &BehaviorSet) -> String {
    const PRODUCT_ROOTS: &[&str] = &[
        "s",
        "download",
        "secure",
        "rest",
        "synchrony",
        "synchrony-proxy",
        "images",
        "plugins",
        "browse",
        "display",
        "pages",
        "robots.txt",
        "favicon.ico",
        "*",
    ];
    let firsts: Vec<&str> = set
        .behaviors
        .iter()
        .filter(|b| !b.is_default)
        .map(|b| {
            b.pattern
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or("")
        })
        .collect();
    match firsts.first() {
        Some(f)
            if !f.is_empty()
                && !f.contains(['*', '?'])
                && !PRODUCT_ROOTS.contains(f)
                && firsts.iter().all(|x| x == f)
                && set.behaviors.iter().all(|b| {
                    b.is_default
                        || b.pattern
                            .trim_start_matches('/')
                            .starts_with(&format!("{f}/"))
                }) =>
        {
            format!("/{f}")
        }
        _ => String::new(),
    }
}

/// `#1 /s/*: TTL 0/86400/31536000, key cookies all, query all, headers [Origin]`.
pub fn describe(b: &Behavior) -> String {
    let mut s = format!(
        "{}: TTL {}/{}/{}, key: cookies {}, query {}, headers {}",
        b.name,
        b.ttl.min,
        b.ttl.default,
        b.ttl.max,
        b.key.cookies.describe(),
        b.key.query.describe(),
        b.key.headers.describe()
    );
    if b.origin_forward.cookies != b.key.cookies {
        s.push_str(&format!(
            "; forwards cookies {}",
            b.origin_forward.cookies.describe()
        ));
    }
    if let Some(p) = &b.cache_policy {
        s.push_str(&format!("; cache policy {p}"));
    }
    if let Some(p) = &b.origin_request_policy {
        s.push_str(&format!("; origin request policy {p}"));
    }
    s
}

fn shadowed(set: &BehaviorSet) -> Vec<Finding> {
    let mut out = Vec::new();
    let bs = &set.behaviors;
    for j in 0..bs.len() {
        if bs[j].is_default {
            continue;
        }
        let pj = set.effective_pattern(j);
        if let Some(i) =
            (0..j).find(|&i| !bs[i].is_default && pattern_covers(&set.effective_pattern(i), &pj))
        {
            let pi = set.effective_pattern(i);
            out.push(ids::CONFIG_SHADOWED.finding(
                Some(pj.clone()),
                format!(
                    "{} comes after {}, whose pattern {pi} matches every path {pj} matches: first match wins, so {} never serves anything.",
                    bs[j].name, bs[i].name, bs[j].name
                ),
                vec![Evidence {
                    url: pj.clone(),
                    lines: vec![
                        format!("behavior {}: {pi} (earlier)", i + 1),
                        format!("behavior {}: {pj} (never matched first)", j + 1),
                        format!("e.g. {} is served by {}", example_path(&pj), bs[i].name),
                    ],
                }],
            ));
        }
    }
    out
}

/// A path matching `pattern` (wildcards filled in).
fn example_path(pattern: &str) -> String {
    let p: String = pattern
        .chars()
        .map(|c| if c == '*' || c == '?' { 'x' } else { c })
        .collect();
    if p.starts_with('/') {
        p
    } else {
        format!("/{p}")
    }
}

fn context_path_mismatch(set: &BehaviorSet, given: Option<&str>) -> Vec<Finding> {
    let mut problems: Vec<String> = Vec::new();
    let file_cp = &set.context_path;
    let given = given.map(normalize_context_path);
    if let Some(g) = &given
        && !file_cp.is_empty()
        && file_cp != g
    {
        problems.push(format!(
            "the file's context_path is {file_cp}, the site's is {}",
            if g.is_empty() { "/ (none)" } else { g }
        ));
    }
    // A pattern that already carries the file's context path gets it twice.
    if !file_cp.is_empty() {
        for (i, b) in set.behaviors.iter().enumerate() {
            let raw = if b.pattern.starts_with('/') {
                b.pattern.clone()
            } else {
                format!("/{}", b.pattern)
            };
            if !b.is_default && raw.starts_with(&format!("{file_cp}/")) {
                problems.push(format!(
                    "{} already starts with the context path {file_cp}: effective pattern {}",
                    b.pattern,
                    set.effective_pattern(i)
                ));
            }
        }
    }
    if let Some(g) = given.as_ref().filter(|g| !g.is_empty())
        && file_cp.is_empty()
    {
        for (i, b) in set.behaviors.iter().enumerate() {
            let p = set.effective_pattern(i);
            let p = if p.starts_with('/') || p.starts_with('*') {
                p
            } else {
                format!("/{p}")
            };
            if !b.is_default && !p.starts_with('*') && !p.starts_with(&format!("{g}/")) {
                problems.push(format!(
                    "{p} does not start with {g}/: requests to {g}{p} fall to a later behavior"
                ));
            }
        }
    }
    if problems.is_empty() {
        return Vec::new();
    }
    vec![ids::CONFIG_CONTEXT_PATH.finding(
        None,
        format!(
                "The site runs under {} but the patterns say otherwise: {}.",
                given
                    .as_deref()
                    .filter(|g| !g.is_empty())
                    .unwrap_or(if file_cp.is_empty() { "/" } else { file_cp }),
                problems.join("; ")
            ),
        vec![Evidence {
            url: given.unwrap_or_default(),
            lines: problems,
        }],
    )]
}

fn by_probes(set: &BehaviorSet, cp: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    // behavior index -> (probe paths) per lint, to report each behavior once.
    let mut all_cookies: Vec<(usize, Vec<String>)> = Vec::new();
    let mut dynamic: Vec<(usize, Vec<String>)> = Vec::new();
    let mut ttl_zero: Vec<(usize, Vec<String>)> = Vec::new();
    let mut font_origin: Vec<(usize, Vec<String>)> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut minor: Vec<String> = Vec::new();
    let mut per_browser: Vec<(usize, Vec<String>)> = Vec::new();
    let mut query_all: Vec<(usize, Vec<String>)> = Vec::new();
    let mut pages: Vec<(usize, Vec<String>)> = Vec::new();
    let mut narrow: Vec<(usize, Vec<String>)> = Vec::new();
    let mut websocket: Vec<(usize, Vec<String>)> = Vec::new();
    fn add(v: &mut Vec<(usize, Vec<String>)>, i: usize, p: &str) {
        match v.iter_mut().find(|(x, _)| *x == i) {
            Some((_, ps)) => ps.push(p.to_string()),
            None => v.push((i, vec![p.to_string()])),
        }
    }
    for (kind, probe) in PROBES {
        let path = format!("{cp}{probe}");
        let (i, b) = set.matching(&path);
        let stores = b.can_store();
        if stores && !per_browser_in_key(b).is_empty() {
            add(&mut per_browser, i, &path);
        }
        if *kind == ProbeKind::Websocket {
            // A behavior made for Synchrony, or a default that users browse through (cookies
            // reach the origin); a static-only CDN host never carries the editor's websocket.
            let serves_users = !b.is_default || !b.origin_forward.cookies.is_none();
            if serves_users && (stores || !b.forwards_websockets()) {
                add(&mut websocket, i, &path);
            }
            continue;
        }
        if kind.is_static() {
            if stores && b.key.query == NameSet::All {
                add(&mut query_all, i, &path);
            }
            let params = ProbeKind::content_params(probe);
            if stores && !params.is_empty() && params.iter().any(|p| !b.key.query.contains(p)) {
                add(&mut narrow, i, &path);
            }
            if stores
                && stickiness_in_key(&b.key.cookies)
                && !matches!(kind, ProbeKind::Robots | ProbeKind::Favicon)
            {
                add(&mut all_cookies, i, &path);
            }
            match kind {
                ProbeKind::Robots | ProbeKind::Favicon if b.is_default => {
                    minor.push(path.clone());
                }
                _ if !stores && b.is_default => {
                    if matches!(
                        kind,
                        ProbeKind::VersionedStatic | ProbeKind::DownloadResource
                    ) {
                        missing.push(path.clone());
                    }
                }
                _ if !stores => add(&mut ttl_zero, i, &path),
                _ => {}
            }
            if *kind == ProbeKind::Font
                && stores
                && !b.key.headers.contains_header("origin")
                && b.cors.is_none()
            {
                add(&mut font_origin, i, &path);
            }
        } else if stores {
            // No cookie and no Authorization reach the origin: what is cached is anonymous.
            let anonymous = b.origin_forward.cookies.is_none()
                && !b.origin_forward.headers.contains_header("authorization");
            if anonymous {
                add(&mut pages, i, &path);
            } else {
                add(&mut dynamic, i, &path);
            }
        }
    }
    let kinds = |paths: &[String]| {
        let mut out: Vec<&str> = Vec::new();
        for p in paths {
            let k = PROBES
                .iter()
                .find(|(_, x)| p.ends_with(x))
                .map(|(k, _)| k.label())
                .unwrap_or("other");
            if !out.contains(&k) {
                out.push(k);
            }
        }
        out.join(", ")
    };
    let label = |i: usize| {
        set.behaviors
            .get(i)
            .map(|b| b.name.clone())
            .unwrap_or_else(|| "(no behavior)".into())
    };
    let b_of = |i: usize| set.behaviors.get(i);
    let fmt = set.input.as_ref().map(|x| x.format);
    let ev = |i: usize, paths: &[String], extra: String| {
        let mut lines: Vec<String> = b_of(i).map(describe).into_iter().collect();
        lines.push(extra);
        Evidence {
            url: paths.first().cloned().unwrap_or_default(),
            lines,
        }
    };
    for (i, paths) in all_cookies {
        let b = &set.behaviors[i];
        let fix = render(fmt, b, &Change::NoCookies);
        out.push(locate(ids::CONFIG_STATIC_ALL_COOKIES.finding(
            Some(set.effective_pattern(i)),
            format!(
                "{} serves static resources ({}) and puts {} in the cache key. Behind an ALB with stickiness, every \
                 response sets a new AWSALB/AWSALBCORS: every request then has a new cache key and never hits \
                 (the community thread's \"every /s/ resource is a Miss\").",
                b.name,
                kinds(&paths),
                match &b.key.cookies {
                    NameSet::All => "all cookies".to_string(),
                    other => format!("the cookies {}", other.describe()),
                }
            ),
            vec![ev(i, &paths, format!("served by it: {}", paths.join(", ")))],
        ), set, i, "cookies", fix));
    }
    for (i, paths) in dynamic {
        let b = &set.behaviors[i];
        let keyed_session = b.key.cookies.contains("JSESSIONID");
        let spec = if keyed_session {
            ids::CONFIG_DEFAULT_CACHES
        } else {
            ids::CONFIG_SESSION_LEAK
        };
        let fix = render(fmt, b, &Change::CachingDisabled);
        out.push(locate(spec.finding(
            Some(set.effective_pattern(i)),
            if keyed_session {
                format!(
                    "{} serves pages and REST ({}) and can store them (MaxTTL {}), keyed per session: \
                     every user gets their own stale copy, and Jira's no-cache is overridden whenever MinTTL > 0.",
                    b.name,
                    kinds(&paths),
                    b.ttl.max
                )
            } else {
                format!(
                    "{} serves pages and REST ({}) and can store them (TTL {}/{}/{}) under a key without the session \
                     cookie{}: the first user's page is served to everyone after them.",
                    b.name,
                    kinds(&paths),
                    b.ttl.min,
                    b.ttl.default,
                    b.ttl.max,
                    if b.origin_forward.cookies.is_none() { "" } else { " while the origin still receives the cookies" }
                )
            },
            vec![ev(i, &paths, format!("serves: {}", paths.join(", ")))],
        ), set, i, "cache_policy", fix));
    }
    if !missing.is_empty() {
        let (i, _) = set.matching(&missing[0]);
        out.push(ids::CONFIG_MISSING_STATIC.finding(
            None,
            format!(
                "{} fall to {}, which caches nothing: static resources always go to the origin.",
                missing.join(", "),
                label(i)
            ),
            vec![ev(
                i,
                &missing,
                format!("served by it: {}", missing.join(", ")),
            )],
        ));
    }
    for (i, paths) in ttl_zero {
        out.push(locate(
            ids::CONFIG_STATIC_TTL_ZERO.finding(
                Some(set.effective_pattern(i)),
                format!(
                    "{} serves static resources ({}) but can never store anything{}.",
                    label(i),
                    kinds(&paths),
                    match b_of(i) {
                        Some(b) if b.caching_off() => " (it forwards all headers)",
                        Some(b) if b.ttl.max == 0 => " (MaxTTL 0)",
                        _ => "",
                    }
                ),
                vec![ev(i, &paths, format!("served by it: {}", paths.join(", ")))],
            ),
            set,
            i,
            "ttl",
            None,
        ));
    }
    for (i, paths) in font_origin {
        let fix = set.behaviors.get(i).and_then(|b| {
            let mut h: Vec<String> = match &b.key.headers {
                NameSet::Whitelist(h) => h.clone(),
                _ => Vec::new(),
            };
            h.push("Origin".into());
            render(fmt, b, &Change::Headers(h))
        });
        out.push(locate(ids::CONFIG_FONT_ORIGIN.finding(
            Some(set.effective_pattern(i)),
            format!(
                "{} caches fonts ({}) without Origin in the cache key: the origin does not see Origin (no \
                 Access-Control-Allow-Origin, fonts blocked cross-origin), or one origin's answer is served to all.",
                label(i),
                kinds(&paths)
            ),
            vec![ev(i, &paths, format!("fonts served by it: {}", paths.join(", ")))],
        ), set, i, "headers", fix));
    }
    for (i, paths) in per_browser {
        let b = &set.behaviors[i];
        let bad = per_browser_in_key(b);
        let keep: Vec<String> = match &b.key.headers {
            NameSet::Whitelist(h) => h
                .iter()
                .filter(|x| !bad.iter().any(|y| y.eq_ignore_ascii_case(x)))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        out.push(locate(
            ids::CONFIG_KEY_PER_BROWSER.finding(
                Some(set.effective_pattern(i)),
                format!(
                    "{} can store what it serves ({}) and keys on {}: each browser family (Accept and User-Agent differ between Chrome, Firefox and Safari) or each user gets its own copy, so most requests miss.",
                    b.name,
                    kinds(&paths),
                    bad.join(", ")
                ),
                vec![ev(i, &paths, format!("in the cache key: {}", bad.join(", ")))],
            ),
            set,
            i,
            "headers",
            render(fmt, b, &Change::Headers(keep)),
        ));
    }
    for (i, paths) in pages {
        let b = &set.behaviors[i];
        out.push(locate(
            ids::CONFIG_PAGES_CACHEABLE.finding(
                Some(set.effective_pattern(i)),
                format!(
                    "{} serves pages and REST ({}) and can store them (TTL {}/{}/{}). It forwards no cookies, so the origin answers every request as an anonymous user: through this distribution users cannot log in, and what is cached is the anonymous page. Fine only for a static-only CDN host (jira.fixed.cdn.prefix).",
                    b.name,
                    kinds(&paths),
                    b.ttl.min,
                    b.ttl.default,
                    b.ttl.max
                ),
                vec![ev(i, &paths, format!("serves: {}", paths.join(", ")))],
            ),
            set,
            i,
            "cache_policy",
            render(fmt, b, &Change::CachingDisabled),
        ));
    }
    for (i, paths) in narrow {
        let b = &set.behaviors[i];
        let mut keyed: Vec<String> = match &b.key.query {
            NameSet::Whitelist(q) => q.clone(),
            _ => Vec::new(),
        };
        let mut missing_params: Vec<&str> = Vec::new();
        for p in &paths {
            for x in PROBES
                .iter()
                .filter(|(_, pr)| p.ends_with(pr))
                .flat_map(|(_, pr)| ProbeKind::content_params(pr))
            {
                if !b.key.query.contains(x) && !missing_params.contains(x) {
                    missing_params.push(x);
                }
            }
        }
        keyed.extend(missing_params.iter().map(|x| x.to_string()));
        out.push(locate(
            ids::CONFIG_KEY_TOO_NARROW.finding(
                Some(set.effective_pattern(i)),
                format!(
                    "{} caches avatars keyed on query strings {} but Jira's avatar URLs also carry {}: the first size (or type) requested is served for every other one.",
                    b.name,
                    b.key.query.describe(),
                    missing_params.join(", ")
                ),
                vec![ev(
                    i,
                    &paths,
                    format!("not in the key: {}", missing_params.join(", ")),
                )],
            ),
            set,
            i,
            "query",
            render(fmt, b, &Change::Query(keyed)),
        ));
    }
    for (i, paths) in query_all {
        let b = &set.behaviors[i];
        out.push(locate(
            ids::CONFIG_QUERY_ALL.finding(
                Some(set.effective_pattern(i)),
                format!(
                    "{} keys {} on every query string: a parameter that changes per load makes every request a new key.",
                    b.name,
                    kinds(&paths)
                ),
                vec![ev(i, &paths, "query strings in the key: all".into())],
            ),
            set,
            i,
            "query",
            None,
        ));
    }
    for (i, paths) in websocket {
        let b = &set.behaviors[i];
        let why = match (b.can_store(), b.forwards_websockets()) {
            (true, false) => "can store responses and does not forward the upgrade headers",
            (true, true) => "can store responses",
            _ => "does not forward the upgrade headers",
        };
        // AWS's pages disagree for a legacy behavior: the header table says CloudFront forwards
        // "other-defined headers" to the origin by default, which would take in Sec-WebSocket-*;
        // the WebSocket page says to forward these two (or all headers) explicitly. The finding
        // follows the WebSocket page and says so.
        let disagreement = if b.is_legacy() && !b.forwards_websockets() {
            " (AWS's pages disagree for a legacy ForwardedValues behavior like this one: the request-header table of RequestAndResponseBehaviorCustomOrigin says other-defined headers reach the origin by default, the WebSocket page says to forward these explicitly; this finding follows the WebSocket page, and forwarding them costs nothing on a CachingDisabled behavior)"
        } else {
            ""
        };
        out.push(locate(
            ids::CONFIG_WEBSOCKET.finding(
                Some(set.effective_pattern(i)),
                format!(
                    "{} serves Synchrony's websocket ({}) but {why}: CloudFront passes the upgrade only when {} reach the origin{disagreement}.",
                    b.name,
                    paths.join(", "),
                    WEBSOCKET_HEADERS.join(" and ")
                ),
                vec![ev(i, &paths, format!("forwards headers: {}", b.origin_forward.headers.describe()))],
            ),
            set,
            i,
            "cache_policy",
            render(fmt, b, &Change::Websocket),
        ));
    }
    if !minor.is_empty() {
        let (i, _) = set.matching(&minor[0]);
        out.push(ids::CONFIG_MISSING_MINOR.finding(
            None,
            format!(
                "{} fall to {}; a long-TTL behavior for them saves origin requests.",
                minor.join(" and "),
                label(i)
            ),
            vec![ev(i, &minor, format!("served by it: {}", minor.join(", ")))],
        ));
    }
    out
}

/// The per-browser / per-user headers in `b`'s cache key (as written).
fn per_browser_in_key(b: &Behavior) -> Vec<String> {
    match &b.key.headers {
        NameSet::Whitelist(h) => h
            .iter()
            .filter(|x| {
                PER_BROWSER_HEADERS
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(x))
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

/// `f` with the file:line of setting `what` of behavior `i` (also as its first evidence line)
/// and the fix in the configuration's format.
fn locate(mut f: Finding, set: &BehaviorSet, i: usize, what: &str, fix: Option<String>) -> Finding {
    if let Some(at) = set.behaviors.get(i).and_then(|b| b.at(what)) {
        if let Some(e) = f.evidence.first_mut() {
            e.lines
                .insert(0, format!("{at}: {}", set.behaviors[i].name));
        }
        f.location = Some(at.clone());
    }
    f.config_fix = fix;
    f
}

/// Findings about the distribution as a whole: error caching and HTTP/2 to the nodes.
fn distribution_wide(set: &BehaviorSet) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(input) = &set.input else {
        return out;
    };
    let fmt = Some(input.format);
    let any = set.behaviors.first();
    for e in &input.error_responses {
        let Some(ttl) = e.min_ttl.filter(|t| *t > 0) else {
            continue;
        };
        if !matches!(e.code, 502..=504) {
            continue;
        }
        let mut f = ids::CONFIG_ERROR_CACHING.finding(
            None,
            format!(
                "CustomErrorResponses caches {} for {ttl} s: when the origin (or the TLS between CloudFront and it) is fixed, every POP that cached the error keeps answering {} for up to {ttl} s more, so the fix looks like it did not work.",
                e.code, e.code
            ),
            vec![Evidence {
                url: String::new(),
                lines: vec![format!(
                    "{}ErrorCode {}, ErrorCachingMinTTL {ttl}",
                    e.at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default(),
                    e.code
                )],
            }],
        );
        f.location = e.at.clone();
        f.config_fix = any.and_then(|b| render(fmt, b, &Change::ErrorTtl(e.code)));
        out.push(f);
    }
    for h in &input.http2_to_origin {
        let (what, at) = (&h.what, &h.at);
        let mut f = ids::CONFIG_HTTP2_ORIGIN.finding(
            None,
            format!(
                "{what}. Atlassian's CDN guide asks for HTTP/1.1 between the CDN and the product."
            ),
            vec![Evidence {
                url: String::new(),
                lines: vec![format!(
                    "{}{what}",
                    at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default()
                )],
            }],
        );
        f.location = at.clone();
        f.config_fix = any.and_then(|b| render(fmt, b, &Change::Http1));
        out.push(f);
    }
    out
}

/// Static resources the distribution sends to an origin whose WAF allows other prefixes only.
fn waf_blocks_static(set: &BehaviorSet, cp: &str) -> Vec<Finding> {
    let Some(input) = set
        .input
        .as_ref()
        .filter(|i| !i.origin_waf_allows.is_empty())
    else {
        return Vec::new();
    };
    let allowed: Vec<String> = input
        .origin_waf_allows
        .iter()
        .map(|w| w.path.describe())
        .collect();
    let mut refused: Vec<String> = Vec::new();
    for (kind, probe) in PROBES {
        let path = format!("{cp}{probe}");
        if !kind.is_static() || input.origin_waf_allows.iter().any(|w| w.path.allows(&path)) {
            continue;
        }
        // Only what the CDN would fetch from the origin: a behavior that can cache it.
        if set.matching(&path).1.can_store() {
            refused.push(path);
        }
    }
    if refused.is_empty() {
        return Vec::new();
    }
    let (acl, at) = (
        &input.origin_waf_allows[0].acl,
        &input.origin_waf_allows[0].at,
    );
    let mut lines: Vec<String> = input
        .origin_waf_allows
        .iter()
        .map(|w| {
            format!(
                "{}WebACL {} allows paths {}",
                w.at.as_ref().map(|x| format!("{x}: ")).unwrap_or_default(),
                w.acl,
                w.path.describe()
            )
        })
        .collect();
    lines.push(format!("refused through the CDN: {}", refused.join(", ")));
    let mut f = ids::CONFIG_WAF_STATIC.finding(
        None,
        format!(
            "The origin's WAF ({acl}) blocks by default and allows only paths {}; the distribution also caches and so fetches {} static paths from it ({}), which the WAF answers 403 through the CDN.",
            allowed.join(", or "),
            refused.len(),
            refused
                .iter()
                .filter_map(|p| PROBES.iter().find(|(_, x)| p.ends_with(x)).map(|(k, _)| k.label()))
                .fold(Vec::<&str>::new(), |mut v, k| {
                    if !v.contains(&k) {
                        v.push(k);
                    }
                    v
                })
                .join(", ")
        ),
        vec![Evidence {
            url: refused[0].clone(),
            lines,
        }],
    );
    f.location = at.clone();
    vec![f]
}

/// All cookies, or a whitelist naming a load-balancer cookie.
fn stickiness_in_key(c: &NameSet) -> bool {
    match c {
        NameSet::All => true,
        NameSet::None => false,
        // A wildcard entry (`AWSALB*`) counts when it matches a stickiness cookie.
        NameSet::Whitelist(names) => names.iter().any(|n| {
            super::evidence::is_stickiness_cookie(n)
                || ["AWSALB", "AWSALBCORS", "AWSALBTG", "AWSALBTGCORS", "AWSELB"]
                    .iter()
                    .any(|c| crate::cloudfront::pattern::wildcard_matches(n, c))
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Pattern inclusion

/// Glob NFA over characters: `*` any run (including `/`), `?` one character.
struct Nfa(Vec<char>);

impl Nfa {
    fn new(pattern: &str) -> Nfa {
        let p = if pattern.starts_with('/') {
            pattern.to_string()
        } else {
            format!("/{pattern}")
        };
        Nfa(p.chars().collect())
    }
    fn accept(&self) -> usize {
        self.0.len()
    }
    fn closure(&self, mut states: BTreeSet<usize>) -> BTreeSet<usize> {
        let mut stack: Vec<usize> = states.iter().copied().collect();
        while let Some(s) = stack.pop() {
            if s < self.0.len() && self.0[s] == '*' && states.insert(s + 1) {
                stack.push(s + 1);
            }
        }
        states
    }
    fn step(&self, states: &BTreeSet<usize>, c: char) -> BTreeSet<usize> {
        let mut next = BTreeSet::new();
        for &s in states {
            if s < self.0.len() {
                match self.0[s] {
                    '*' => {
                        next.insert(s);
                    }
                    '?' => {
                        next.insert(s + 1);
                    }
                    x if x == c => {
                        next.insert(s + 1);
                    }
                    _ => {}
                }
            }
        }
        self.closure(next)
    }
}

/// Does every path matching `inner` also match `outer` (both CloudFront path patterns)?
/// Exact, by exploring both automata together over the patterns' own characters plus one
/// character neither uses; a search that grows too large answers `false`.
pub(crate) fn pattern_covers(outer: &str, inner: &str) -> bool {
    if outer == "*" {
        return true;
    }
    let (o, n) = (Nfa::new(outer), Nfa::new(inner));
    let mut alphabet: BTreeSet<char> =
        o.0.iter()
            .chain(n.0.iter())
            .copied()
            .filter(|c| *c != '*' && *c != '?')
            .collect();
    let fresh = ('\u{E000}'..='\u{F8FF}')
        .find(|c| !alphabet.contains(c))
        .unwrap_or('\u{E000}');
    alphabet.insert(fresh);
    let start = (n.closure([0].into()), o.closure([0].into()));
    let mut seen: HashSet<(BTreeSet<usize>, BTreeSet<usize>)> = HashSet::new();
    let mut queue = VecDeque::from([start]);
    while let Some((ni, oi)) = queue.pop_front() {
        if ni.is_empty() || !seen.insert((ni.clone(), oi.clone())) {
            continue;
        }
        if seen.len() > 20_000 {
            return false;
        }
        if ni.contains(&n.accept()) && !oi.contains(&o.accept()) {
            return false;
        }
        for &c in &alphabet {
            queue.push_back((n.step(&ni, c), o.step(&oi, c)));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::{KeyPolicy, TtlSettings, load};
    use std::path::Path;

    fn ids_of(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn pattern_inclusion_is_exact() {
        assert!(pattern_covers("/s/*", "/s/*.js"));
        assert!(!pattern_covers("/s/*.js", "/s/*"));
        assert!(pattern_covers("*.woff", "/s/*.woff"));
        assert!(!pattern_covers("*.woff", "/s/*"));
        assert!(pattern_covers("/secure/*avatar*", "/secure/projectavatar*"));
        assert!(!pattern_covers(
            "/secure/projectavatar*",
            "/secure/*avatar*"
        ));
        assert!(pattern_covers("*?", "?*"), "wildcard order does not matter");
        assert!(pattern_covers("/a?c", "/abc"));
        assert!(!pattern_covers("/abc", "/a?c"));
        assert!(pattern_covers("*a*a*", "*aa*"));
        assert!(!pattern_covers("*aa*", "*a*a*"));
        assert!(pattern_covers("s/*", "/s/x"), "leading slash optional");
        assert!(!pattern_covers("/S/*", "/s/*"), "case-sensitive");
    }

    #[test]
    fn seed_default_flags_the_all_cookies_trap_on_s() {
        let f = lint(&BehaviorSet::seed_default(), None);
        let trap: Vec<&Finding> = f
            .iter()
            .filter(|f| f.id == "config-static-all-cookies")
            .collect();
        assert!(
            trap.iter().any(|f| f.behavior.as_deref() == Some("/s/*")),
            "{f:#?}"
        );
        assert!(trap[0].explanation.contains("AWSALB"));
        assert!(
            trap[0].evidence[0].lines[0].contains("key: cookies all"),
            "{:?}",
            trap[0].evidence
        );
        // Avatars (rows 2-3) key on all cookies too.
        assert_eq!(
            trap.len(),
            3,
            "{:?}",
            trap.iter().map(|f| &f.behavior).collect::<Vec<_>>()
        );
        // Nothing else is wrong with the seed: no shadowing, default caches nothing, fonts keyed on Origin.
        for id in [
            "config-shadowed-behavior",
            "config-default-caches",
            "config-session-leak",
            "config-missing-static-behavior",
            "config-font-origin-not-keyed",
            "config-static-ttl-zero",
            "config-missing-minor-behavior",
        ] {
            assert!(!ids_of(&f).contains(&id), "{id}: {f:#?}");
        }
    }

    #[test]
    fn a_legacy_websocket_behavior_says_where_aws_disagrees() {
        let toml = "[[behavior]]\npattern = \"/synchrony/*\"\nheaders = [\"Host\"]\ncookies = \"all\"\nquery = \"all\"\nmethods = \"all\"\nmin_ttl = 0\ndefault_ttl = 0\nmax_ttl = 0\n";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.toml");
        std::fs::write(&file, toml).unwrap();
        let set = load::from_file(&file).unwrap();
        assert!(set.behaviors[0].is_legacy());
        let f = lint(&set, None);
        let ws = f
            .iter()
            .find(|f| f.id == "config-websocket-behavior")
            .expect("the upgrade headers are not forwarded");
        assert!(
            ws.explanation.contains("AWS's pages disagree"),
            "{}",
            ws.explanation
        );
        // Forwarding them explicitly settles it: no finding, nothing to disagree about.
        let fixed = toml.replace(
            "[\"Host\"]",
            "[\"Host\", \"Sec-WebSocket-Key\", \"Sec-WebSocket-Version\"]",
        );
        std::fs::write(&file, fixed).unwrap();
        let set = load::from_file(&file).unwrap();
        assert!(
            !lint(&set, None)
                .iter()
                .any(|f| f.id == "config-websocket-behavior" && f.explanation.contains("disagree"))
        );
    }

    #[test]
    fn the_seed_distribution_config_json_flags_the_trap_too() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/distribution-config-seed.json");
        let set = load::from_file(&p).unwrap();
        let f = lint(&set, None);
        assert!(
            f.iter()
                .any(|f| f.id == "config-static-all-cookies"
                    && f.behavior.as_deref() == Some("/s/*"))
        );
    }

    #[test]
    fn a_fixed_seed_is_clean() {
        let mut set = BehaviorSet::seed_default();
        for b in &mut set.behaviors[..3] {
            b.key.cookies = NameSet::None;
            b.origin_forward.cookies = NameSet::None;
        }
        // The seed's avatar keys leave out size (and avatarType): added here.
        set.behaviors[1].key.query =
            NameSet::Whitelist(vec!["pid".into(), "avatarId".into(), "size".into()]);
        set.behaviors[2].key.query =
            NameSet::Whitelist(vec!["avatarId".into(), "size".into(), "avatarType".into()]);
        let f = lint(&set, None);
        // Only context: /s/* and /download/resources/* key on every query string.
        assert!(
            f.iter().all(|f| f.id == "config-query-all-in-key"),
            "{f:#?}"
        );
        assert_eq!(f.len(), 2, "{f:#?}");
    }

    #[test]
    fn the_seed_avatar_keys_are_too_narrow() {
        let f = lint(&BehaviorSet::seed_default(), None);
        let n: Vec<&Finding> = f
            .iter()
            .filter(|f| f.id == "config-cache-key-too-narrow")
            .collect();
        assert_eq!(n.len(), 2, "{f:#?}");
        assert!(n[0].explanation.contains("size"), "{}", n[0].explanation);
        let view = n
            .iter()
            .find(|f| f.behavior.as_deref() == Some("/secure/viewavatar*"))
            .unwrap();
        assert!(
            view.explanation.contains("size, avatarType"),
            "{}",
            view.explanation
        );
        // The seed is ours (TOML): the fix is TOML.
        assert_eq!(
            view.config_fix.as_deref(),
            Some("query = [\"avatarId\", \"size\", \"avatarType\"]\nforward_query = \"all\"")
        );
    }

    #[test]
    fn shadowed_behavior() {
        let mut rows = BehaviorSet::seed_default().behaviors;
        let mut js = rows[0].clone();
        js.pattern = "/s/*.js".into();
        js.name.clear();
        rows.insert(1, js);
        let set = BehaviorSet::new(rows);
        let f = lint(&set, None);
        let x: Vec<_> = f
            .iter()
            .filter(|f| f.id == "config-shadowed-behavior")
            .collect();
        assert_eq!(x.len(), 1, "{f:#?}");
        assert_eq!(x[0].behavior.as_deref(), Some("/s/*.js"));
        assert!(
            x[0].evidence[0]
                .lines
                .iter()
                .any(|l| l.contains("/s/x.js is served by #1 /s/*")),
            "{:?}",
            x[0].evidence
        );
    }

    #[test]
    fn caching_default_behaviors() {
        // CachingOptimized + AllViewer on the default: the leak shape.
        let mut set = BehaviorSet::seed_default();
        let d = set.behaviors.last_mut().unwrap();
        d.ttl = TtlSettings::new(1, 86_400, 31_536_000);
        d.key = KeyPolicy::none();
        d.origin_forward = crate::cloudfront::ForwardPolicy::all_viewer();
        let f = lint(&set, None);
        let x: Vec<_> = f.iter().filter(|f| f.id == "config-session-leak").collect();
        assert_eq!(x.len(), 1, "{f:#?}");
        assert_eq!(x[0].severity, crate::diagnose::Severity::Error);
        assert!(
            x[0].explanation
                .contains("origin still receives the cookies")
        );
        // Keyed on all cookies: per-session copies, a warning.
        let mut set = BehaviorSet::seed_default();
        set.behaviors.last_mut().unwrap().key.headers = NameSet::Whitelist(vec!["Origin".into()]);
        let f = lint(&set, None);
        assert!(ids_of(&f).contains(&"config-default-caches"), "{f:#?}");
        assert!(!ids_of(&f).contains(&"config-session-leak"));
    }

    #[test]
    fn missing_behaviors_and_ttl_zero_and_font_origin() {
        let set = BehaviorSet::seed_default();
        // Only /s/* with CachingDisabled-like TTLs and no Origin, then the default.
        let mut s = set.behaviors[0].clone();
        s.ttl = TtlSettings::new(0, 0, 0);
        s.key.cookies = NameSet::None;
        let mut woff = set.behaviors[3].clone();
        woff.pattern = "*.woff".into();
        woff.key.headers = NameSet::None;
        woff.name.clear();
        let set = BehaviorSet::new(vec![woff, s, set.behaviors[6].clone()]);
        let f = lint(&set, None);
        let ids = ids_of(&f);
        assert!(ids.contains(&"config-missing-static-behavior"), "{f:#?}");
        assert!(ids.contains(&"config-static-ttl-zero"));
        assert!(ids.contains(&"config-font-origin-not-keyed"));
        assert!(ids.contains(&"config-missing-minor-behavior"));
        let fo = f
            .iter()
            .find(|f| f.id == "config-font-origin-not-keyed")
            .unwrap();
        assert_eq!(fo.behavior.as_deref(), Some("*.woff"));
        let miss = f
            .iter()
            .find(|f| f.id == "config-missing-static-behavior")
            .unwrap();
        assert!(
            miss.explanation.contains("/download/resources/"),
            "{}",
            miss.explanation
        );
    }

    #[test]
    fn context_path_mismatch() {
        // Site under /jira, patterns without it.
        let f = lint(&BehaviorSet::seed_default(), Some("/jira"));
        let x: Vec<_> = f
            .iter()
            .filter(|f| f.id == "config-context-path-mismatch")
            .collect();
        assert_eq!(x.len(), 1);
        assert!(
            x[0].explanation.contains("/s/* does not start with /jira/"),
            "{}",
            x[0].explanation
        );
        // ... and so /jira/s/ falls to the default: missing static behavior.
        assert!(ids_of(&f).contains(&"config-missing-static-behavior"));
        // Right context path: fine.
        let set = BehaviorSet::seed_default().with_context_path("/jira");
        assert!(!ids_of(&lint(&set, Some("jira"))).contains(&"config-context-path-mismatch"));
        // Twice: /jira in the pattern and in context_path.
        let mut rows = BehaviorSet::seed_default().behaviors;
        rows[0].pattern = "/jira/s/*".into();
        let set = BehaviorSet::new(rows).with_context_path("/jira");
        let f = lint(&set, None);
        assert!(
            f.iter().any(|f| f.id == "config-context-path-mismatch"
                && f.explanation.contains("/jira/jira/s/*")),
            "{f:#?}"
        );
        // Different context paths in file and flag.
        let set = BehaviorSet::seed_default().with_context_path("/confluence");
        assert!(ids_of(&lint(&set, Some("/jira"))).contains(&"config-context-path-mismatch"));
    }

    #[test]
    fn unresolved_custom_policies_are_info() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/distribution-config-policies.json");
        let set = load::from_file(&p).unwrap();
        let f = lint(&set, None);
        if set.behaviors.iter().any(|b| !b.warnings.is_empty()) {
            assert!(ids_of(&f).contains(&"config-unresolved-policy"));
        }
    }
}
