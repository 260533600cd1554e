//! Which URLs to load again, per behavior, picked from the capture.
//!
//! A URL is only ever repeated if the browser fetched it with GET or HEAD and got content (2xx)
//! or a server error (5xx), and never if it looks like an action (`logout`, an `atl_token` in the
//! query). Per behavior: every distinct static URL up to `--samples` (round-robin over asset kinds,
//! so twenty JS batches do not crowd out the one font), and a few dynamic URLs (pages, REST) too
//! unless the behavior is explicitly expected to hit — that is how a cached authenticated page
//! (LEAK) is caught. A total cap (`--max-requests`) bounds samples x repeats, shared round-robin
//! between behaviors.
//!
//! Two capture facts shape the samples:
//! - **Cache busters.** A query parameter the page changes on every load (`_=<timestamp>`) makes
//!   every load a new URL. A parameter is a buster when the capture shows the same path with
//!   several values for it and it has a buster's name or a timestamp's shape, or when it has both
//!   a buster's name and a timestamp's shape. Samples are identified without their busters, and a
//!   replay sends a fresh value, as the page would on its next load.
//! - **Off-distribution static.** Static resources of the site served from a host that is not the
//!   distribution's (the app host, the origin) do not come through the CDN at all. They are sampled
//!   under the behavior whose pattern they match when their host shares the distribution host's
//!   name or their path is Atlassian's static shape (`/_/download/`, `/download/resources/`), so
//!   that a third-party host is never probed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::classify::Serving;
use crate::classify::{self, AssetKind, Distribution};
use crate::cloudfront::Expect;
use crate::exchange::Exchange;
use crate::exchange::host_port;

/// Query parameter names used as cache busters (jQuery `_`, ExtJS `_dc`, and the usual others).
const BUSTER_NAMES: &[&str] = &[
    "_",
    "_dc",
    "t",
    "ts",
    "timestamp",
    "cb",
    "cachebust",
    "cachebuster",
    "cache_bust",
    "nocache",
    "rnd",
    "rand",
    "random",
    "nonce",
];

/// CDP resource types that are never loaded again (not plain fetches, or not ours to repeat).
const NOT_REPEATABLE: &[&str] = &[
    "websocket",
    "eventsource",
    "ping",
    "preflight",
    "cspviolationreport",
    "signedexchange",
];

/// One sampled URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Index of the distribution (in the list given to [`select`]).
    pub dist: usize,
    /// Index of the behavior in the distribution (`behaviors.len()`: no behavior matched).
    pub behavior: usize,
    /// The behavior's effective pattern.
    pub pattern: String,
    /// Index in the capture of the first load (the sequence's first attempt).
    pub first: usize,
    pub url: String,
    pub method: String,
    pub kind: AssetKind,
    pub dynamic: bool,
    /// The journey (one browser context) that loaded it.
    pub session: String,
    /// Cache-buster parameters of this URL.
    pub busters: Vec<String>,
    /// `host:port` when the host is not one of the distribution's.
    pub off_distribution: Option<String>,
    /// The page (main-frame document) it was loaded on; itself for a document.
    pub page: Option<String>,
    /// URL without its busters, query sorted: what "the same resource" means across loads.
    pub identity: String,
}

/// A behavior's traffic in the capture.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Traffic {
    pub dist: usize,
    pub behavior: usize,
    pub pattern: String,
    pub requests: usize,
    pub kinds: Vec<AssetKind>,
    /// Distinct URLs that could be loaded again (before `--samples` and the cap).
    pub candidates: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    pub samples: Vec<Sample>,
    /// Every (distribution, behavior) that had traffic, in that order.
    pub traffic: Vec<Traffic>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SampleOptions {
    /// Static URLs per behavior.
    pub per_behavior: usize,
    /// Dynamic URLs per behavior expected to bypass.
    pub dynamic_per_behavior: usize,
    pub repeat: usize,
    pub max_requests: usize,
}

/// The journey an exchange belongs to: its phase up to `#` (`jira-smoke#3 goto ...`).
pub(crate) fn session_of(phase: &str) -> String {
    phase.split('#').next().unwrap_or_default().to_string()
}

/// Looks like a millisecond/second timestamp or a counter derived from one.
fn timestamp_like(v: &str) -> bool {
    v.len() >= 10 && v.bytes().all(|b| b.is_ascii_digit())
}

fn is_buster_name(n: &str) -> bool {
    BUSTER_NAMES.iter().any(|b| b.eq_ignore_ascii_case(n))
}

/// Never load again: actions that change state or end the session.
pub(crate) fn is_unsafe(url: &url::Url) -> bool {
    let p = url.path().to_ascii_lowercase();
    ["logout", "logoff", "signout", "sign-out", "log-out"]
        .iter()
        .any(|w| p.contains(w))
        || url
            .query_pairs()
            .any(|(k, _)| k.eq_ignore_ascii_case("atl_token"))
}

fn repeatable(ex: &Exchange) -> bool {
    let m = ex.method.to_ascii_uppercase();
    if m != "GET" && m != "HEAD" {
        return false;
    }
    // A WebSocket handshake is never replayed, whatever a HAR calls it: repeating it would open
    // a session on the site (Synchrony's editing session), and a 101 says nothing about caching.
    let handshake = ex.request_headers.contains("upgrade") || ex.status == Some(101);
    if NOT_REPEATABLE.contains(&ex.resource_type.to_ascii_lowercase().as_str())
        || ex.from_browser_cache()
        || handshake
    {
        return false;
    }
    let Ok(u) = url::Url::parse(&ex.url) else {
        return false;
    };
    if !matches!(u.scheme(), "http" | "https") || is_unsafe(&u) {
        return false;
    }
    match ex.status {
        // Content and server errors. Redirects are not content, and a 4xx (a missing favicon) is
        // no question of caching.
        Some(s) => (200..300).contains(&s) || s >= 500,
        // No response at all: worth repeating (an ERROR) unless the browser itself gave up.
        None => ex
            .failure
            .as_ref()
            .is_some_and(|f| !f.canceled && f.cors_error.is_none()),
    }
}

/// Cache-buster parameters per (`host:port`, path), from the repeatable exchanges.
pub fn busters(exchanges: &[Exchange]) -> HashMap<(String, String), BTreeSet<String>> {
    let mut values: HashMap<(String, String), BTreeMap<String, BTreeSet<String>>> = HashMap::new();
    for ex in exchanges.iter().filter(|e| repeatable(e)) {
        let Ok(u) = url::Url::parse(&ex.url) else {
            continue;
        };
        let Some(hp) = host_port(&u) else { continue };
        let e = values.entry((hp, u.path().to_string())).or_default();
        for (k, v) in u.query_pairs() {
            e.entry(k.into_owned()).or_default().insert(v.into_owned());
        }
    }
    values
        .into_iter()
        .filter_map(|(key, params)| {
            let b: BTreeSet<String> = params
                .into_iter()
                .filter(|(name, vals)| {
                    let all_ts = vals.iter().all(|v| timestamp_like(v));
                    let varies = vals.len() > 1;
                    (varies && (is_buster_name(name) || all_ts)) || (is_buster_name(name) && all_ts)
                })
                .map(|(n, _)| n)
                .collect();
            (!b.is_empty()).then_some((key, b))
        })
        .collect()
}

/// `scheme://host:port/path?sorted query without busters`.
pub fn identity(url: &url::Url, busters: &BTreeSet<String>) -> String {
    let mut q: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !busters.contains(k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    q.sort();
    let q: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}://{}{}{}{}",
        url.scheme(),
        host_port(url).unwrap_or_default(),
        url.path(),
        if q.is_empty() { "" } else { "?" },
        q.join("&")
    )
}

/// Does an off-distribution URL belong to the site (see the module docs)?
fn related(url: &url::Url, dist: &Distribution) -> bool {
    let host = url.host_str().unwrap_or_default();
    let same_name = dist.hosts.iter().any(|h| {
        let name = h.rsplit_once(':').map(|(n, _)| n).unwrap_or(h);
        name.eq_ignore_ascii_case(host)
    });
    let p = url.path();
    same_name || p.contains("/_/download/") || p.contains("/download/resources/")
}

/// Where an exchange belongs: `(distribution, behavior, pattern, off-distribution host)`. The
/// first distribution serving the URL wins; else the first one it is related to.
pub(crate) fn behavior_of(
    ex_url: &str,
    dists: &[Distribution],
) -> Option<(usize, usize, String, Option<String>)> {
    for (d, dist) in dists.iter().enumerate() {
        if let Some(Serving {
            index: idx,
            pattern,
            ..
        }) = dist.behavior_for(ex_url)
        {
            return Some((d, idx, pattern, None));
        }
    }
    let u = url::Url::parse(ex_url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    for (d, dist) in dists.iter().enumerate() {
        if !related(&u, dist) {
            continue;
        }
        let (idx, b) = dist.behaviors.matching(u.path());
        if b.is_default || idx >= dist.behaviors.behaviors.len() {
            continue;
        }
        return Some((d, idx, dist.behaviors.effective_pattern(idx), host_port(&u)));
    }
    None
}

fn is_main_document(ex: &Exchange) -> bool {
    ex.resource_type.eq_ignore_ascii_case("document")
        && (ex.target_type.is_empty() || ex.target_type == "page")
        && ex.method.eq_ignore_ascii_case("GET")
        && ex.status.is_some_and(|s| (200..300).contains(&s))
}

/// Capture indices in time order (stable for equal start times).
pub(crate) fn time_order(exchanges: &[Exchange]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..exchanges.len()).collect();
    order.sort_by(|a, b| {
        exchanges[*a]
            .timing
            .start_ms
            .partial_cmp(&exchanges[*b].timing.start_ms)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    order
}

/// The page each exchange was loaded on: the session's latest main document started before it.
pub fn pages(exchanges: &[Exchange]) -> Vec<Option<String>> {
    let mut out = vec![None; exchanges.len()];
    let mut current: HashMap<String, String> = HashMap::new();
    for i in time_order(exchanges) {
        let ex = &exchanges[i];
        let s = session_of(&ex.phase);
        if is_main_document(ex) {
            current.insert(s.clone(), ex.url.clone());
        }
        out[i] = current.get(&s).cloned();
    }
    out
}

/// Pick the samples. `expect_of(dist, behavior)` is the behavior's (resolved) expectation and
/// whether it was given explicitly. Dynamic URLs are sampled unless the behavior is explicitly
/// expected to hit: a behavior whose TTLs let it store pages is exactly where a leak hides.
pub(crate) fn select(
    exchanges: &[Exchange],
    dists: &[Distribution],
    expect_of: impl Fn(usize, usize) -> (Expect, bool),
    opts: &SampleOptions,
) -> Selection {
    let busters = busters(exchanges);
    let pages = pages(exchanges);
    let mut traffic: BTreeMap<(usize, usize), Traffic> = BTreeMap::new();
    // Per (distribution, behavior), candidates in first-seen order.
    let mut cands: BTreeMap<(usize, usize), Vec<Sample>> = BTreeMap::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new(); // (method, identity)

    for i in time_order(exchanges) {
        let ex = &exchanges[i];
        let Some((d, idx, pattern, off)) = behavior_of(&ex.url, dists) else {
            continue;
        };
        let kind = classify::asset_kind(&ex.url, ex.mime_type.as_deref(), &ex.resource_type);
        let t = traffic.entry((d, idx)).or_insert_with(|| Traffic {
            dist: d,
            behavior: idx,
            pattern: pattern.clone(),
            requests: 0,
            kinds: Vec::new(),
            candidates: 0,
        });
        t.requests += 1;
        if !t.kinds.contains(&kind) {
            t.kinds.push(kind);
        }
        if !repeatable(ex) || kind == AssetKind::Websocket {
            continue;
        }
        let Ok(u) = url::Url::parse(&ex.url) else {
            continue;
        };
        let b = busters
            .get(&(host_port(&u).unwrap_or_default(), u.path().to_string()))
            .cloned()
            .unwrap_or_default();
        let id = identity(&u, &b);
        if !seen.insert((ex.method.to_ascii_uppercase(), id.clone())) {
            continue;
        }
        let dynamic = classify::is_dynamic(kind);
        if dynamic
            && (expect_of(d, idx) == (Expect::Hit, true)
                || ex.status.is_none_or(|s| !(200..300).contains(&s)))
        {
            continue;
        }
        t.candidates += 1;
        let present: Vec<String> = u
            .query_pairs()
            .map(|(k, _)| k.into_owned())
            .filter(|k| b.contains(k))
            .collect();
        cands.entry((d, idx)).or_default().push(Sample {
            dist: d,
            behavior: idx,
            pattern,
            first: i,
            url: ex.url.clone(),
            method: ex.method.to_ascii_uppercase(),
            kind,
            dynamic,
            session: session_of(&ex.phase),
            busters: present,
            off_distribution: off,
            page: if is_main_document(ex) {
                Some(ex.url.clone())
            } else {
                pages[i].clone()
            },
            identity: id,
        });
    }

    // Per behavior: static round-robin over kinds up to N, dynamic (documents first, distinct
    // paths) up to D; interleaved so a capped run still checks a page of a bypass behavior.
    let mut ordered: BTreeMap<(usize, usize), Vec<Sample>> = BTreeMap::new();
    for (idx, list) in cands {
        let mut by_kind: Vec<(AssetKind, std::collections::VecDeque<Sample>)> = Vec::new();
        let mut dynamic: Vec<Sample> = Vec::new();
        for s in list {
            if s.dynamic {
                dynamic.push(s);
            } else {
                match by_kind.iter_mut().find(|(k, _)| *k == s.kind) {
                    Some((_, q)) => q.push_back(s),
                    None => by_kind.push((s.kind, [s].into())),
                }
            }
        }
        let mut statics = Vec::new();
        while statics.len() < opts.per_behavior && by_kind.iter().any(|(_, q)| !q.is_empty()) {
            for (_, q) in by_kind.iter_mut() {
                if statics.len() < opts.per_behavior
                    && let Some(s) = q.pop_front()
                {
                    statics.push(s);
                }
            }
        }
        dynamic.sort_by_key(|s| {
            let doc = exchanges[s.first]
                .resource_type
                .eq_ignore_ascii_case("document");
            !doc
        });
        let mut paths = BTreeSet::new();
        let dynamic: Vec<Sample> = dynamic
            .into_iter()
            .filter(|s| {
                let p = url::Url::parse(&s.url)
                    .map(|u| u.path().to_string())
                    .unwrap_or_default();
                paths.insert(p)
            })
            .take(opts.dynamic_per_behavior)
            .collect();
        let mut merged = Vec::new();
        let (mut si, mut di) = (statics.into_iter(), dynamic.into_iter());
        loop {
            let a = si.next();
            let b = di.next();
            if a.is_none() && b.is_none() {
                break;
            }
            merged.extend(a);
            merged.extend(b);
        }
        ordered.insert(idx, merged);
    }

    // The cap: samples x repeats <= max_requests, round-robin between behaviors.
    let wanted: usize = ordered.values().map(Vec::len).sum();
    let budget = opts.max_requests / opts.repeat.max(1);
    let mut samples = Vec::new();
    let mut queues: Vec<std::collections::VecDeque<Sample>> =
        ordered.into_values().map(Into::into).collect();
    while samples.len() < budget && queues.iter().any(|q| !q.is_empty()) {
        for q in queues.iter_mut() {
            if samples.len() < budget
                && let Some(s) = q.pop_front()
            {
                samples.push(s);
            }
        }
    }
    let mut notes = Vec::new();
    if samples.len() < wanted {
        notes.push(format!(
            "request cap: verified {} of {wanted} sampled URLs ({} repeats each within --max-requests {})",
            samples.len(),
            opts.repeat,
            opts.max_requests
        ));
    }
    // Keep (distribution, behavior) order, then selection order, for stable reports.
    samples.sort_by_key(|s| (s.dist, s.behavior));
    Selection {
        samples,
        traffic: traffic.into_values().collect(),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::BehaviorSet;
    use crate::exchange::{Failure, Timing};

    const S: &str = "/s/abc-CDN/en_US/1/x/9.0/_/download";

    fn ex(n: usize, url: &str, rt: &str, status: Option<u16>) -> Exchange {
        Exchange {
            id: n.to_string(),
            url: url.into(),
            method: "GET".into(),
            resource_type: rt.into(),
            target_type: "page".into(),
            status,
            phase: "jira#1 goto /".into(),
            timing: Timing {
                start_ms: n as f64,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn dist() -> Distribution {
        Distribution::new(BehaviorSet::seed_default(), ["127.0.0.1:8000".to_string()])
    }

    fn opts(n: usize, cap: usize) -> SampleOptions {
        SampleOptions {
            per_behavior: n,
            dynamic_per_behavior: 3,
            repeat: 3,
            max_requests: cap,
        }
    }

    fn expect(d: &Distribution) -> impl Fn(usize, usize) -> (Expect, bool) + '_ {
        |_, i| (d.behaviors.expectation(i), false)
    }

    #[test]
    fn busters_need_variation_or_a_timestamp_name() {
        let h = "http://127.0.0.1:8000";
        let caps = vec![
            ex(
                0,
                &format!("{h}{S}/superbatch/js/batch.js?locale=en-US&_=1732000000000001"),
                "Script",
                Some(200),
            ),
            ex(
                1,
                &format!("{h}{S}/superbatch/js/batch.js?locale=en-US&_=1732000000005002"),
                "Script",
                Some(200),
            ),
            ex(
                2,
                &format!("{h}/secure/viewavatar?avatarId=10001&size=small"),
                "Image",
                Some(200),
            ),
            ex(
                3,
                &format!("{h}/secure/viewavatar?avatarId=10002&size=small"),
                "Image",
                Some(200),
            ),
            ex(
                4,
                &format!("{h}/rest/api/2/search?t=1732000000000"),
                "XHR",
                Some(200),
            ),
        ];
        let b = busters(&caps);
        assert_eq!(
            b.get(&(
                "127.0.0.1:8000".into(),
                format!("{S}/superbatch/js/batch.js")
            )),
            Some(&BTreeSet::from(["_".to_string()]))
        );
        assert!(
            !b.contains_key(&("127.0.0.1:8000".into(), "/secure/viewavatar".into())),
            "avatarId is not a buster"
        );
        assert!(
            b.contains_key(&("127.0.0.1:8000".into(), "/rest/api/2/search".into())),
            "named + timestamp, seen once"
        );
        let u = url::Url::parse(&caps[0].url).unwrap();
        let id = identity(&u, &BTreeSet::from(["_".to_string()]));
        assert_eq!(
            id,
            format!("http://127.0.0.1:8000{S}/superbatch/js/batch.js?locale=en-US")
        );
    }

    #[test]
    fn samples_static_round_robin_and_a_few_dynamic_urls() {
        let h = "http://127.0.0.1:8000";
        let mut caps = vec![ex(
            0,
            &format!("{h}/secure/Dashboard.jspa"),
            "Document",
            Some(200),
        )];
        for i in 1..=5 {
            caps.push(ex(
                i,
                &format!("{h}{S}/batch/js/b{i}.js"),
                "Script",
                Some(200),
            ));
        }
        caps.push(ex(
            6,
            &format!("{h}{S}/resources/aui-fonts/adgs-icons.woff"),
            "Font",
            Some(502),
        ));
        caps.push(ex(
            7,
            &format!("{h}{S}/batch/js/b1.js"),
            "Script",
            Some(200),
        )); // duplicate
        caps.push(ex(8, &format!("{h}/rest/api/2/myself"), "XHR", Some(200)));
        caps.push(ex(9, &format!("{h}/logout"), "Document", Some(200)));
        caps.push(ex(
            10,
            &format!("{h}/secure/Vote.jspa?atl_token=abc"),
            "XHR",
            Some(200),
        ));
        let mut post = ex(11, &format!("{h}/rest/api/2/issue"), "XHR", Some(201));
        post.method = "POST".into();
        caps.push(post);
        caps.push(ex(12, &format!("{h}/login.jsp"), "Document", Some(302)));
        caps.push(ex(
            13,
            "https://fonts.gstatic.com/s/roboto/v30/a.woff2",
            "Font",
            Some(200),
        ));
        let d = dist();
        let sel = select(&caps, std::slice::from_ref(&d), expect(&d), &opts(3, 400));
        let s_star: Vec<&Sample> = sel.samples.iter().filter(|s| s.pattern == "/s/*").collect();
        assert_eq!(s_star.len(), 3);
        assert!(
            s_star.iter().any(|s| s.kind == AssetKind::Font),
            "the font is not crowded out"
        );
        assert!(s_star.iter().all(|s| !s.dynamic));
        assert_eq!(
            s_star[0].page.as_deref(),
            Some(&*format!("{h}/secure/Dashboard.jspa"))
        );
        let default: Vec<&Sample> = sel.samples.iter().filter(|s| s.pattern == "*").collect();
        let urls: Vec<&str> = default.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                format!("{h}/secure/Dashboard.jspa"),
                format!("{h}/rest/api/2/myself")
            ]
        );
        assert!(
            !sel.samples.iter().any(|s| s.url.contains("gstatic")),
            "third-party hosts are never probed"
        );
        // A behavior explicitly expected to hit gets no dynamic samples.
        let explicit = select(
            &caps,
            std::slice::from_ref(&d),
            |_, _| (Expect::Hit, true),
            &opts(3, 400),
        );
        assert!(explicit.samples.iter().all(|s| !s.dynamic));
        let t = sel.traffic.iter().find(|t| t.pattern == "*").unwrap();
        assert_eq!(
            t.requests, 6,
            "every captured request counts, repeatable or not"
        );
        let t = sel.traffic.iter().find(|t| t.pattern == "/s/*").unwrap();
        assert_eq!(t.candidates, 6);
        assert_eq!(t.kinds, vec![AssetKind::Js, AssetKind::Font]);
    }

    #[test]
    fn the_cap_is_shared_round_robin() {
        let h = "http://127.0.0.1:8000";
        let mut caps = vec![ex(
            0,
            &format!("{h}/secure/Dashboard.jspa"),
            "Document",
            Some(200),
        )];
        for i in 1..=10 {
            caps.push(ex(
                i,
                &format!("{h}{S}/batch/js/b{i}.js"),
                "Script",
                Some(200),
            ));
        }
        caps.push(ex(
            11,
            &format!("{h}/download/resources/x/a.png"),
            "Image",
            Some(200),
        ));
        let d = dist();
        let sel = select(&caps, std::slice::from_ref(&d), expect(&d), &opts(20, 9));
        assert_eq!(sel.samples.len(), 3, "9 requests / 3 repeats");
        let pats: BTreeSet<&str> = sel.samples.iter().map(|s| s.pattern.as_str()).collect();
        assert_eq!(
            pats.len(),
            3,
            "one per behavior before a second for any: {pats:?}"
        );
        assert!(sel.notes[0].contains("verified 3 of 12"), "{:?}", sel.notes);
    }

    #[test]
    fn off_distribution_static_is_sampled_under_its_behavior() {
        let caps = vec![
            ex(
                0,
                "http://127.0.0.1:8000/secure/Dashboard.jspa",
                "Document",
                Some(200),
            ),
            ex(
                1,
                &format!("http://127.0.0.1:8002{S}/batch/js/b.js"),
                "Script",
                Some(200),
            ),
            ex(
                2,
                &format!("http://origin.internal{S}/batch/css/b.css"),
                "Stylesheet",
                Some(200),
            ),
            ex(
                3,
                "http://127.0.0.1:8002/secure/Dashboard.jspa",
                "XHR",
                Some(200),
            ),
        ];
        let d = dist();
        let sel = select(&caps, std::slice::from_ref(&d), expect(&d), &opts(20, 400));
        let off: Vec<&Sample> = sel
            .samples
            .iter()
            .filter(|s| s.off_distribution.is_some())
            .collect();
        assert_eq!(off.len(), 2);
        assert!(off.iter().all(|s| s.pattern == "/s/*"));
        assert_eq!(off[0].off_distribution.as_deref(), Some("127.0.0.1:8002"));
        assert!(
            !sel.samples
                .iter()
                .any(|s| s.url == "http://127.0.0.1:8002/secure/Dashboard.jspa"),
            "default behavior stays on the distribution"
        );
    }

    #[test]
    fn each_url_goes_to_the_distribution_that_serves_it() {
        let jira = Distribution::new(BehaviorSet::seed_default(), ["127.0.0.1:8000".to_string()]);
        let conf = Distribution::new(BehaviorSet::seed_default(), ["127.0.0.1:8001".to_string()]);
        let caps = vec![
            ex(
                0,
                &format!("http://127.0.0.1:8000{S}/batch/js/a.js"),
                "Script",
                Some(200),
            ),
            ex(
                1,
                &format!("http://127.0.0.1:8001{S}/batch/js/a.js"),
                "Script",
                Some(200),
            ),
            // The app host of either: related to both, taken by the first.
            ex(
                2,
                &format!("http://127.0.0.1:8002{S}/batch/js/a.js"),
                "Script",
                Some(200),
            ),
        ];
        let d = [jira, conf];
        let sel = select(&caps, &d, |_, _| (Expect::Hit, true), &opts(20, 400));
        let got: Vec<(usize, bool)> = sel
            .samples
            .iter()
            .map(|s| (s.dist, s.off_distribution.is_some()))
            .collect();
        assert_eq!(got, vec![(0, false), (0, true), (1, false)]);
        assert_eq!(sel.traffic.len(), 2);
        assert!(sel.traffic.iter().all(|t| t.pattern == "/s/*"));
    }

    #[test]
    fn failures_are_repeatable_unless_the_browser_gave_up() {
        let mut a = ex(0, "http://127.0.0.1:8000/s/x/a.js", "Script", None);
        a.failure = Some(Failure {
            error_text: "net::ERR_CONNECTION_RESET".into(),
            ..Default::default()
        });
        assert!(repeatable(&a));
        a.failure.as_mut().unwrap().canceled = true;
        assert!(!repeatable(&a));
        let mut c = ex(0, "http://127.0.0.1:8000/s/x/a.js", "Script", Some(200));
        c.from_disk_cache = true;
        assert!(!repeatable(&c));
        assert!(!repeatable(&ex(
            0,
            "http://127.0.0.1:8000/ws",
            "WebSocket",
            Some(101)
        )));
        let status = |s| {
            repeatable(&ex(
                0,
                "http://127.0.0.1:8000/favicon.ico",
                "Other",
                Some(s),
            ))
        };
        assert!(!status(404), "a missing favicon is no question of caching");
        assert!(!status(302));
        assert!(status(200));
        assert!(status(502), "server errors are repeated: ERROR");
    }

    #[test]
    fn websocket_handshakes_are_never_sampled_however_they_are_recorded() {
        // As Chromium records them, as a HAR that lost the type records them (a `wss://` URL, or
        // an `http(s)://` URL with `Upgrade`), refused or not.
        let live = ex(
            0,
            "ws://127.0.0.1:8000/synchrony/v1/bayeux-sync1",
            "WebSocket",
            Some(101),
        );
        let mut typeless = ex(
            1,
            "wss://127.0.0.1:8000/synchrony/v1/bayeux-sync1",
            "Other",
            Some(101),
        );
        typeless.resource_type = "Other".into();
        let mut upgrade = ex(
            2,
            "http://127.0.0.1:8000/synchrony/v1/bayeux-sync1",
            "Other",
            Some(200),
        );
        upgrade.request_headers.push("Upgrade", "websocket");
        let refused = ex(
            3,
            "ws://127.0.0.1:8000/synchrony/v1/bayeux-sync1",
            "WebSocket",
            Some(502),
        );
        let sockets = [live, typeless, upgrade, refused];
        for s in &sockets {
            assert!(!repeatable(s), "{} {:?}", s.url, s.status);
        }
        // Even where pages are sampled (the page beside them is): none of them is chosen.
        let mut caps = sockets.to_vec();
        let page = "http://127.0.0.1:8000/pages/editpage.action?pageId=1";
        caps.push(ex(4, page, "Document", Some(200)));
        let sel = select(
            &caps,
            &[dist()],
            |_, _| (Expect::Bypass, true),
            &opts(20, 400),
        );
        let urls: Vec<&str> = sel.samples.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(urls, [page]);
    }

    #[test]
    fn sessions_from_phases() {
        assert_eq!(session_of("jira-smoke#3 goto /x#y"), "jira-smoke");
        assert_eq!(session_of("repeat 2"), "repeat 2");
    }
}
