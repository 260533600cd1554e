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

use super::{Evidence, Finding, ids, sort};
use crate::cloudfront::behavior::normalize_context_path;
use crate::cloudfront::{Behavior, BehaviorSet, NameSet};

/// What a probe path stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    VersionedStatic,
    Font,
    DownloadResource,
    Avatar,
    SynchronyJs,
    Robots,
    Favicon,
    Page,
    Rest,
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
        }
    }

    fn is_static(self) -> bool {
        !matches!(self, ProbeKind::Page | ProbeKind::Rest)
    }
}

/// Representative paths (without context path) and what they are.
pub const PROBES: &[(ProbeKind, &str)] = &[
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
];

/// Lint `set`. `context_path`: the one the site really uses (`--context-path`), if known.
pub fn lint(set: &BehaviorSet, context_path: Option<&str>) -> Vec<Finding> {
    let cp = context_path
        .map(normalize_context_path)
        .unwrap_or_else(|| set.context_path.clone());
    let mut out = Vec::new();
    out.extend(shadowed(set));
    out.extend(context_path_mismatch(set, context_path));
    out.extend(by_probes(set, &cp));
    for (i, b) in set.behaviors.iter().enumerate() {
        for w in &b.warnings {
            out.push(ids::CONFIG_UNRESOLVED_POLICY.finding(
                Some(set.effective_pattern(i)),
                w.clone(),
                vec![Evidence {
                    url: set.effective_pattern(i),
                    lines: vec![describe(b)],
                }],
            ));
        }
    }
    sort(&mut out);
    out
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
        if kind.is_static() {
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
            if *kind == ProbeKind::Font && stores && !b.key.headers.contains_header("origin") {
                add(&mut font_origin, i, &path);
            }
        } else if stores {
            add(&mut dynamic, i, &path);
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
        out.push(ids::CONFIG_STATIC_ALL_COOKIES.finding(
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
        ));
    }
    for (i, paths) in dynamic {
        let b = &set.behaviors[i];
        let keyed_session = b.key.cookies.contains("JSESSIONID");
        let spec = if keyed_session {
            ids::CONFIG_DEFAULT_CACHES
        } else {
            ids::CONFIG_SESSION_LEAK
        };
        out.push(spec.finding(
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
        ));
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
        out.push(ids::CONFIG_STATIC_TTL_ZERO.finding(
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
        ));
    }
    for (i, paths) in font_origin {
        out.push(ids::CONFIG_FONT_ORIGIN.finding(
            Some(set.effective_pattern(i)),
            format!(
                "{} caches fonts ({}) without Origin in the cache key: the origin does not see Origin (no \
                 Access-Control-Allow-Origin, fonts blocked cross-origin), or one origin's answer is served to all.",
                label(i),
                kinds(&paths)
            ),
            vec![ev(i, &paths, format!("fonts served by it: {}", paths.join(", ")))],
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

/// All cookies, or a whitelist naming a load-balancer cookie.
fn stickiness_in_key(c: &NameSet) -> bool {
    match c {
        NameSet::All => true,
        NameSet::None => false,
        NameSet::Whitelist(names) => names
            .iter()
            .any(|n| super::evidence::is_stickiness_cookie(n)),
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
pub fn pattern_covers(outer: &str, inner: &str) -> bool {
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
        let f = lint(&set, None);
        assert!(f.is_empty(), "{f:#?}");
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
