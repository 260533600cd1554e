//! Findings about where a response came from: per-user content out of the edge cache, static
//! content that never went through the CDN, cache keys split by a changing query string, and the
//! two context notes (browser-cache replays, POP changes).

use std::collections::BTreeSet;

use super::evidence::{
    cache_lines, cap, ev, fresh, group_by, header_lines, is_authenticated, plural, response_lines,
    status_line,
};
use super::headers::{distinct_urls, treatment_line};
use super::{Ctx, Evidence, Finding, ids};
use crate::classify::Record;
use crate::classify::Serving;
use crate::classify::{CacheOutcome, Provider, is_dynamic, is_static};
use crate::cloudfront::cache_key;
use crate::cloudfront::key::select_query;

/// Atlassian's per-user paths: pages (`*.jspa`, `*.action`, `/browse/`, `/display/`, ...) and REST.
/// On the product's own host they are per-user by definition, whatever their headers say.
fn atlassian_dynamic_path(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let p = u.path().to_ascii_lowercase();
    p.contains("/rest/")
        || p.ends_with(".jspa")
        || p.ends_with(".action")
        || p.ends_with(".jsp")
        || [
            "/browse/",
            "/display/",
            "/pages/",
            "/spaces/",
            "/secure/",
            "/plugins/servlet/",
        ]
        .iter()
        .any(|seg| p.contains(seg))
}

/// Why a cached dynamic answer was private, if anything shows it: a session cookie or
/// `Authorization` on the request, a `private`/`no-store` from the origin that the cache ignored,
/// or an Atlassian page/REST path on the product's host. `None`: a shareable answer to an
/// anonymous request (an origin's `public, max-age=60` home page), which is not a leak.
fn private_evidence(ctx: &Ctx, r: &Record) -> Option<&'static str> {
    if is_authenticated(r) {
        return Some("the request carried a session cookie or Authorization");
    }
    // `no-cache` alone may be stored and revalidated: only private/no-store forbid a shared copy.
    let forbids_sharing = r.response_headers.get_all("cache-control").any(|v| {
        v.split(',').any(|d| {
            let d = d.trim().to_ascii_lowercase();
            d == "no-store" || d == "private" || d.starts_with("private=")
        })
    });
    if r.class.cache.status.is_hit()
        && forbids_sharing
        && !r.class.cache.provider.may_rewrite_cache_control()
    {
        return Some("the origin marked it private or no-store, and the cache served it anyway");
    }
    (ctx.is_product_host(r) && atlassian_dynamic_path(&r.url))
        .then_some("an Atlassian page or REST path on the product's own host")
}

/// `dynamic-cached`: a page or REST answer came out of a shared cache, or the edge would store an
/// authenticated one, with evidence that the answer was private. A security error: one user's
/// content reaches another.
pub(crate) fn dynamic_cached(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        fresh(r)
            && r.status.is_some_and(|s| (200..300).contains(&s))
            && is_dynamic(r.class.asset_kind)
            && (r.class.cache.status.is_hit()
                || (is_authenticated(r)
                    && r.class.edge_treatment.as_ref().is_some_and(|t| t.store)))
            && private_evidence(ctx, r).is_some()
    });
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let from_cache = rs.iter().filter(|r| r.class.cache.status.is_hit()).count();
            let authed = rs.iter().filter(|r| is_authenticated(r)).count();
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines = vec![status_line(r)];
                    lines.extend(cache_lines(r));
                    lines.extend(response_lines(r, &["Age", "Cache-Control"]));
                    lines.extend(private_evidence(ctx, r).map(|w| format!("private because: {w}")));
                    lines.extend(header_lines(&r.request_headers, "cookie"));
                    lines.extend(header_lines(&r.request_headers, "authorization"));
                    lines.extend(treatment_line(r));
                    lines.dedup();
                    ev(r, lines)
                })
                .collect();
            ids::DYNAMIC_CACHED.finding(
                behavior.clone(),
                format!(
                    "{} (pages or REST) {}; {authed} of them were requests of a logged-in user. \
                     A per-user answer in a shared cache is served to the next viewer of the same key.",
                    plural(rs.len(), "dynamic response", "dynamic responses"),
                    if from_cache > 0 {
                        format!("{from_cache} came out of the edge cache")
                    } else {
                        format!(
                            "are stored by {} according to its TTL rules",
                            behavior.as_deref().unwrap_or("the behavior")
                        )
                    }
                ),
                cap(evidence),
            )
        })
        .collect()
}

/// Parsed `name=value` pairs of the query-string parameters `key` selects.
fn keyed_query(ctx: &Ctx, r: &Record) -> Option<Vec<(String, String)>> {
    let Serving { behavior: b, .. } = ctx.behavior(r)?;
    let u = url::Url::parse(&r.url).ok()?;
    Some(
        select_query(&b.key.query, &u)
            .into_iter()
            .map(|p| match p.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => (p, String::new()),
            })
            .collect(),
    )
}

/// `query-string-changes`: the same static path loaded with a different value of a keyed query
/// parameter (a cache-buster such as `_=<timestamp>`), on a behavior that caches.
pub(crate) fn query_string_changes(ctx: &Ctx) -> Vec<Finding> {
    if !ctx.has_dist() {
        return Vec::new();
    }
    // Static resources only: REST calls with different queries are different requests.
    let paths = group_by(
        ctx.records
            .iter()
            .filter(|r| fresh(r) && is_static(r.class.asset_kind)),
        |r| {
            let Serving {
                behavior: b,
                pattern,
                ..
            } = ctx.behavior(r)?;
            let u = url::Url::parse(&r.url).ok()?;
            (b.can_store() && !b.key.query.is_none() && b.caches_method(&r.method))
                .then(|| (pattern, ctx.host(r), u.path().to_string()))
        },
    );
    // (pattern, changing parameters, evidence, requests, what the key holds)
    type PerBehavior = (String, BTreeSet<String>, Vec<Evidence>, usize, String);
    let mut per_behavior: Vec<PerBehavior> = Vec::new();
    for ((pattern, _, _), rs) in paths {
        if rs.len() < 2 {
            continue;
        }
        let queries: Vec<Vec<(String, String)>> = rs
            .iter()
            .map(|r| keyed_query(ctx, r).unwrap_or_default())
            .collect();
        let names: BTreeSet<&String> = queries.iter().flatten().map(|(n, _)| n).collect();
        let mut changing = BTreeSet::new();
        for n in names {
            let values: BTreeSet<Option<&String>> = queries
                .iter()
                .map(|q| q.iter().find(|(x, _)| x == n).map(|(_, v)| v))
                .collect();
            if values.len() > 1 {
                changing.insert(n.clone());
            }
        }
        if changing.is_empty() {
            continue;
        }
        let entry = match per_behavior.iter_mut().position(|e| e.0 == pattern) {
            Some(i) => &mut per_behavior[i],
            None => {
                let Serving { behavior: b, .. } = ctx.behavior(rs[0]).expect("grouped by behavior");
                let desc = match &b.key.query {
                    crate::cloudfront::NameSet::All => "all query strings".to_string(),
                    other => format!("the query strings {}", other.describe()),
                };
                per_behavior.push((pattern.clone(), BTreeSet::new(), Vec::new(), 0, desc));
                per_behavior.last_mut().expect("just pushed")
            }
        };
        entry.3 += rs.len();
        // Two loads of this path with different keys.
        let Serving { behavior: b, .. } = ctx.behavior(rs[0]).expect("grouped by behavior");
        let first = &queries[0];
        if let Some(j) = queries.iter().position(|q| q != first) {
            for r in [rs[0], rs[j]] {
                let mut lines = cache_lines(r);
                if let Ok(u) = url::Url::parse(&r.url) {
                    lines.push(format!(
                        "cache key: {}",
                        cache_key(b, &r.method, &u, &r.request_headers)
                    ));
                }
                entry.2.push(ev(r, lines));
            }
        }
        entry.1.extend(changing);
    }
    per_behavior
        .into_iter()
        .map(|(pattern, params, evidence, n, desc)| {
            let params: Vec<String> = params.into_iter().collect();
            let mut f = ids::QUERY_STRING_CHANGES.finding(
                Some(pattern.clone()),
                format!(
                    "The same paths under {pattern} were loaded {n} times with a different value of {}; {pattern} puts \
                     {} in its cache key, so each value is a new cache key and a Miss.",
                    params.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "),
                    desc
                ),
                cap(evidence),
            );
            f.title = format!(
                "Query parameter {} changes between loads on {pattern}, which caches on it",
                params.join(", ")
            );
            f
        })
        .collect()
}

/// The static URL shapes Atlassian's CDN support sends through the CDN (`/s/`, `/download/...`)
/// only. Avatars, `/images/` and Synchrony are not among them: Jira and
/// Confluence serve those from the node even with a CDN prefix.
fn atlassian_static_path(url: &str) -> bool {
    let p = url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    [
        "/s/",
        "/download/resources/",
        "/download/batch/",
        "/download/contextbatch/",
    ]
    .iter()
    .any(|x| p.contains(x))
}

/// `static-bypasses-cdn`: a static resource answered with no sign of any cache, from a host the
/// distribution serves or on an Atlassian static path while the rest of the site uses a CDN.
pub(crate) fn static_bypasses_cdn(ctx: &Ctx) -> Vec<Finding> {
    let site_uses_cdn = ctx
        .records
        .iter()
        .any(|r| fresh(r) && r.class.cache.went_through_cdn());
    let hits = ctx.records.iter().filter(|r| {
        let Ok(u) = url::Url::parse(&r.url) else {
            return false;
        };
        fresh(r)
            && matches!(u.scheme(), "http" | "https")
            && r.status.is_some_and(|s| (200..400).contains(&s))
            && is_static(r.class.asset_kind)
            && r.class.cache.provider == Provider::None
            && (ctx
                .dists
                .iter()
                .any(|d| !d.hosts.is_empty() && d.serves(&u))
                || (site_uses_cdn && atlassian_static_path(&r.url)))
    });
    group_by(hits, |r| Some(ctx.host(r)))
        .into_iter()
        .map(|(host, rs)| {
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines = vec![
                        status_line(r),
                        "no X-Cache, Via, Age or Cache-Status: no cache answered".to_string(),
                    ];
                    lines.extend(response_lines(r, &["Server", "Cache-Control"]));
                    if let Some(a) = &r.remote_address {
                        lines.push(format!("remote address: {a}"));
                    }
                    ev(r, lines)
                })
                .collect();
            let mut f = ids::STATIC_BYPASSES_CDN.finding(
                None,
                format!(
                    "{} to {host} were answered without any cache in the path{}: every user fetches them from the origin.",
                    plural(rs.len(), "static request", "static requests"),
                    if site_uses_cdn { " while the rest of the site came through the CDN" } else { "" }
                ),
                cap(evidence),
            );
            f.title = format!("Static resources on {host} bypass the CDN");
            f
        })
        .collect()
}

/// `pop-change-miss` (info): a Miss for a URL already fetched through another edge location.
pub(crate) fn pop_change_miss(ctx: &Ctx) -> Vec<Finding> {
    let mut hits: Vec<(&Record, &Record)> = Vec::new();
    let with_pop: Vec<&Record> = ctx
        .records
        .iter()
        .filter(|r| {
            fresh(r) && r.class.cache.pop.is_some() && r.class.cache.status != CacheOutcome::None
        })
        .collect();
    for (i, r) in with_pop.iter().enumerate() {
        if r.class.cache.status != CacheOutcome::Miss {
            continue;
        }
        if let Some(prev) = with_pop[..i].iter().rev().find(|p| {
            p.url == r.url && p.method == r.method && p.class.cache.pop != r.class.cache.pop
        }) {
            hits.push((prev, r));
        }
    }
    if hits.is_empty() {
        return Vec::new();
    }
    let groups = group_by(hits.iter().map(|(_, r)| *r), |r| {
        Some(r.class.behavior.clone())
    });
    groups
        .into_iter()
        .map(|(behavior, rs)| {
            let mut evidence = Vec::new();
            for r in &rs {
                let (prev, _) = hits.iter().find(|(_, x)| std::ptr::eq(*x, *r)).expect("from hits");
                for x in [prev, r] {
                    let mut lines = cache_lines(x);
                    lines.extend(header_lines(&x.response_headers, "x-amz-cf-pop"));
                    lines.dedup();
                    evidence.push(ev(x, lines));
                }
            }
            ids::POP_CHANGE_MISS.finding(
                behavior.clone(),
                format!(
                    "{} followed an earlier load of the same URL through a different edge location; each POP \
                     has its own cache, so these Misses are expected.",
                    plural(rs.len(), "Miss", "Misses")
                ),
                cap(evidence),
            )
        })
        .collect()
}

/// `browser-cache-replay` (info): responses the browser served from its own cache.
pub(crate) fn browser_cache_replay(ctx: &Ctx) -> Vec<Finding> {
    let rs: Vec<&Record> = ctx
        .records
        .iter()
        .filter(|r| r.from_browser_cache())
        .collect();
    if rs.is_empty() {
        return Vec::new();
    }
    let with_cdn = rs
        .iter()
        .filter(|r| r.class.cache.went_through_cdn())
        .count();
    let evidence = distinct_urls(&rs)
        .into_iter()
        .map(|r| {
            let mut lines = vec!["served from the browser's own cache".to_string()];
            lines.extend(cache_lines(r));
            lines.extend(response_lines(r, &["Date", "Age"]));
            lines.dedup();
            ev(r, lines)
        })
        .collect();
    vec![ids::BROWSER_CACHE_REPLAY.finding(
        None,
        format!(
            "{} came from the browser's own cache ({with_cdn} with a CDN header replayed from an earlier load); \
             they are left out of the CDN findings.",
            plural(rs.len(), "response", "responses")
        ),
        cap(evidence),
    )]
}

/// The query parameters of `url` as (name, value), names decoded.
fn query_pairs(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .map(|u| {
            u.query_pairs()
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// What identifies the object a response carried: its ETag, else its length.
fn object_id(r: &Record) -> Option<String> {
    if let Some(e) = r.response_headers.get("etag") {
        return Some(format!("ETag {e}"));
    }
    r.response_headers
        .get("content-length")
        .map(|l| format!("Content-Length {l}"))
}

/// A parameter that varies on one path, reaches the origin (so the origin may answer
/// differently), but is not in the behavior's cache key: every value shares the object cached
/// for the first (the seed's avatar behaviors key on `pid`/`avatarId` while Jira's URLs also
/// carry `size`). Shown from the configuration and the URLs alone; when two loads that differ
/// only in such a parameter got the same object from the edge cache, that is shown too.
pub(crate) fn cache_key_too_narrow(ctx: &Ctx) -> Vec<Finding> {
    if !ctx.has_dist() {
        return Vec::new();
    }
    let groups = group_by(
        ctx.records.iter().filter(|r| {
            fresh(r)
                && r.status.is_some_and(|s| (200..300).contains(&s))
                && !r.class.cache.provider.is_other_cache()
        }),
        |r| {
            let Serving {
                behavior: b,
                pattern,
                ..
            } = ctx.behavior(r)?;
            let u = url::Url::parse(&r.url).ok()?;
            (b.can_store() && b.caches_method(&r.method) && u.query().is_some())
                .then(|| (pattern, ctx.host(r), u.path().to_string()))
        },
    );
    // pattern -> (behavior, unkeyed varying params, evidence, served-the-same sightings)
    let mut per: Vec<(String, BTreeSet<String>, Vec<Evidence>, usize)> = Vec::new();
    for ((pattern, _, _), rs) in groups {
        if rs.len() < 2 {
            continue;
        }
        let Serving { behavior: b, .. } = ctx.behavior(rs[0]).expect("grouped by behavior");
        let queries: Vec<Vec<(String, String)>> = rs.iter().map(|r| query_pairs(&r.url)).collect();
        let names: BTreeSet<&String> = queries.iter().flatten().map(|(n, _)| n).collect();
        let mut unkeyed = BTreeSet::new();
        for n in names {
            if b.key.query.contains(n) || !b.origin_forward.query.contains(n) {
                continue;
            }
            let values: BTreeSet<Option<&String>> = queries
                .iter()
                .map(|q| q.iter().find(|(x, _)| x == n).map(|(_, v)| v))
                .collect();
            if values.len() > 1 {
                unkeyed.insert(n.clone());
            }
        }
        if unkeyed.is_empty() {
            continue;
        }
        let entry = match per.iter().position(|e| e.0 == pattern) {
            Some(i) => &mut per[i],
            None => {
                per.push((pattern.clone(), BTreeSet::new(), Vec::new(), 0));
                per.last_mut().expect("just pushed")
            }
        };
        // Two loads with the same cache key but different URLs; the later one a hit carrying
        // the same object as the first proves the edge served one for the other.
        let key = |r: &Record| {
            url::Url::parse(&r.url)
                .ok()
                .map(|u| cache_key(b, &r.method, &u, &r.request_headers))
        };
        // Each record's key computed once, and only records of one key paired (the pairs of a
        // large group were quadratic in cache-key computations).
        let keys: Vec<Option<String>> = rs.iter().map(|r| key(r)).collect();
        let mut same_key: std::collections::HashMap<&Option<String>, Vec<usize>> =
            std::collections::HashMap::new();
        for (j, k) in keys.iter().enumerate() {
            same_key.entry(k).or_default().push(j);
        }
        let mut shown = false;
        'pairs: for (i, a) in rs.iter().enumerate() {
            for c in same_key[&keys[i]]
                .iter()
                .filter(|&&j| j > i)
                .map(|&j| rs[j])
            {
                if a.url == c.url {
                    continue;
                }
                let same_object = c.class.cache.status.is_hit()
                    && object_id(a).is_some()
                    && object_id(a) == object_id(c);
                if same_object {
                    entry.3 += 1;
                }
                if !shown || same_object {
                    for r in [a, c] {
                        let mut lines = cache_lines(r);
                        lines.extend(header_lines(&r.response_headers, "etag"));
                        lines.extend(header_lines(&r.response_headers, "content-length"));
                        lines.push(format!("cache key: {}", key(r).unwrap_or_default()));
                        entry.2.push(ev(r, lines));
                    }
                    shown = true;
                    if same_object {
                        break 'pairs;
                    }
                }
            }
        }
        entry.1.extend(unkeyed);
    }
    per.into_iter()
        .map(|(pattern, params, evidence, same)| {
            let params: Vec<String> = params.into_iter().collect();
            let (b, d) = ctx
                .dists
                .iter()
                .find_map(|d| {
                    d.behaviors
                        .behaviors
                        .iter()
                        .enumerate()
                        .find(|(i, _)| d.behaviors.effective_pattern(*i) == pattern)
                        .map(|(_, b)| (b, d))
                })
                .expect("a pattern of a distribution");
            let mut f = ids::CACHE_KEY_TOO_NARROW.finding(
                Some(pattern.clone()),
                format!(
                    "URLs under {pattern} differ in {} ({}), which reach the origin but are not in the cache key ({}): the edge serves the object cached for the first value to every other one.{}",
                    params.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "),
                    plural(params.len(), "parameter", "parameters"),
                    b.key.query.describe(),
                    if same > 0 {
                        " Seen: a URL with another value got the same object from the edge cache (a Hit with the same ETag or length)."
                    } else {
                        ""
                    }
                ),
                cap(evidence),
            );
            let mut keyed: Vec<String> = match &b.key.query {
                crate::cloudfront::NameSet::Whitelist(q) => q.clone(),
                _ => Vec::new(),
            };
            keyed.extend(params.iter().cloned());
            f.config_fix = super::lint_fix::render(
                d.behaviors.input.as_ref().map(|x| x.format),
                b,
                &super::lint_fix::Change::Query(keyed),
            );
            f.location = b.at("query").cloned();
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testkit::*;
    use crate::diagnose::{Severity, diagnose};

    #[test]
    fn a_page_from_the_edge_cache_is_a_security_error() {
        let mut r = Rec::page_ok(DASHBOARD).resp("Age", "30");
        r.0.response_headers.set("X-Cache", "Hit from cloudfront");
        let f = run(&[r]);
        let x = only(&f, "dynamic-cached");
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].severity, Severity::Error);
        assert_eq!(f[0].id, "dynamic-cached", "errors first");
        let lines = &x[0].evidence[0].lines;
        assert!(
            lines.contains(&"X-Cache: Hit from cloudfront".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"Cookie: JSESSIONID=<redacted:00000001>".to_string()));
        assert!(
            x[0].explanation
                .contains("1 of them were requests of a logged-in user")
        );
    }

    #[test]
    fn a_caching_default_behavior_that_would_store_an_authenticated_page() {
        // private-cached: MinTTL > 0 on the default, no headers in the key.
        let mut d = seed();
        let def = d.behaviors.behaviors.last_mut().unwrap();
        def.key.headers = crate::cloudfront::NameSet::None;
        def.key.cookies = crate::cloudfront::NameSet::None;
        def.ttl = crate::cloudfront::TtlSettings::new(3600, 3600, 3600);
        let f = diagnose(&records(&[Rec::page_ok(DASHBOARD)], Some(&d)), Some(&d));
        let x = only(&f, "dynamic-cached");
        assert_eq!(x.len(), 1, "{f:#?}");
        assert!(
            x[0].evidence[0]
                .lines
                .iter()
                .any(|l| l.contains("stored for 3600 s"))
        );
    }

    #[test]
    fn healthy_pages_and_cached_static_are_not_dynamic_cached() {
        assert!(only(&run(&healthy()), "dynamic-cached").is_empty());
    }

    #[test]
    fn query_buster_on_s() {
        let recs = vec![
            Rec::static_ok(&format!("{S_JS}&_=1001"), "Miss"),
            Rec::static_ok(&format!("{S_JS}&_=1002"), "Miss"),
            Rec::static_ok(&format!("{S_CSS}&_=1003"), "Miss"),
        ];
        let f = run(&recs);
        let x = only(&f, "query-string-changes");
        assert_eq!(x.len(), 1, "{f:#?}");
        assert!(x[0].title.contains('_'), "{}", x[0].title);
        assert_eq!(x[0].behavior.as_deref(), Some("/s/*"));
        let keys: Vec<&String> = x[0]
            .evidence
            .iter()
            .flat_map(|e| &e.lines)
            .filter(|l| l.starts_with("cache key:"))
            .collect();
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);
        assert!(keys[0].contains("_=1001") && keys[1].contains("_=1002"));
    }

    #[test]
    fn same_query_or_unkeyed_query_is_fine() {
        assert!(only(&run(&healthy()), "query-string-changes").is_empty());
        // robots.txt keys on no query string: a changing one is harmless.
        let recs = vec![
            Rec::static_ok("https://jira.example.com/robots.txt?x=1", "Miss"),
            Rec::static_ok("https://jira.example.com/robots.txt?x=2", "Hit"),
        ];
        assert!(only(&run(&recs), "query-string-changes").is_empty());
        // REST (here under a caching default behavior) with different queries: different requests.
        let mut d = seed();
        d.behaviors.behaviors.last_mut().unwrap().key.headers = crate::cloudfront::NameSet::None;
        let recs = records(
            &[
                Rec::get(&format!("{REST}?jql=a"))
                    .mime("application/json")
                    .cf("Miss", "FRA56-P1"),
                Rec::get(&format!("{REST}?jql=b"))
                    .mime("application/json")
                    .cf("Miss", "FRA56-P1"),
            ],
            Some(&d),
        );
        assert!(only(&diagnose(&recs, Some(&d)), "query-string-changes").is_empty());
        // REST under the default behavior (caching off) with jQuery's `_=`: not this finding.
        let recs = vec![
            Rec::get(&format!("{REST}?_=1"))
                .mime("application/json")
                .cf("Miss", "FRA56-P1"),
            Rec::get(&format!("{REST}?_=2"))
                .mime("application/json")
                .cf("Miss", "FRA56-P1"),
        ];
        assert!(only(&run(&recs), "query-string-changes").is_empty());
    }

    #[test]
    fn static_from_the_app_host_bypasses_the_cdn() {
        let mut recs = healthy();
        recs.push(
            Rec::get("http://10.0.0.5:8080/s/abc/_/download/superbatch/js/batch.js")
                .resp("Cache-Control", "public, max-age=31536000"),
        );
        let f = run(&recs);
        let x = only(&f, "static-bypasses-cdn");
        assert_eq!(x.len(), 1);
        assert!(x[0].title.contains("10.0.0.5:8080"), "{}", x[0].title);
        assert!(
            x[0].explanation
                .contains("rest of the site came through the CDN")
        );
        // A third-party font host is not ours to judge.
        let mut recs = healthy();
        recs.push(Rec::get("https://fonts.example.net/x.woff2"));
        assert!(only(&run(&recs), "static-bypasses-cdn").is_empty());
        assert!(only(&run(&healthy()), "static-bypasses-cdn").is_empty());
    }

    #[test]
    fn a_served_host_without_cdn_headers_bypasses() {
        let recs = vec![Rec::get(S_JS).resp("Cache-Control", "max-age=31536000")];
        assert_eq!(only(&run(&recs), "static-bypasses-cdn").len(), 1);
    }

    #[test]
    fn pop_change_miss_is_info() {
        let recs = vec![
            Rec::static_ok(S_JS, "Miss"),
            Rec::static_ok(S_JS, "Hit"),
            Rec::get(S_JS)
                .resp("Cache-Control", "public, max-age=31536000")
                .cf("Miss", "LHR61-C2"),
        ];
        let f = run(&recs);
        let x = only(&f, "pop-change-miss");
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].severity, Severity::Info);
        let lines: Vec<&String> = x[0].evidence.iter().flat_map(|e| &e.lines).collect();
        assert!(lines.contains(&&"X-Amz-Cf-Pop: FRA56-P1".to_string()));
        assert!(lines.contains(&&"X-Amz-Cf-Pop: LHR61-C2".to_string()));
        assert!(only(&run(&healthy()), "pop-change-miss").is_empty());
    }

    #[test]
    fn browser_cache_replays_are_noted_and_left_out() {
        let mut recs = healthy();
        // A replay of an old Miss with no-cache would otherwise be a finding.
        recs.push(
            Rec::get(S_JS)
                .resp("Cache-Control", "no-cache")
                .cf("Miss", "FRA56-P1")
                .browser_cache(),
        );
        let f = run(&recs);
        assert_eq!(only(&f, "browser-cache-replay").len(), 1);
        assert!(only(&f, "no-cache-on-static").is_empty());
        assert!(only(&run(&healthy()), "browser-cache-replay").is_empty());
    }

    #[test]
    fn an_unkeyed_parameter_that_varies_is_a_key_too_narrow() {
        let d = seed();
        let a = "https://jira.example.com/secure/projectavatar?pid=10000&avatarId=10011&size=large";
        let b = "https://jira.example.com/secure/projectavatar?pid=10000&avatarId=10011&size=small";
        let png_tagged = |u: &str, x: &str, etag: &str| {
            Rec::get(u)
                .rt("Image")
                .mime("image/png")
                .resp("Cache-Control", "max-age=86400")
                .resp("ETag", etag)
                .resp("Content-Length", "412")
                .cf(x, "FRA56-P1")
        };
        let png = |u: &str, x: &str| png_tagged(u, x, "\"av-48\"");
        let recs = records(&[png(a, "Miss"), png(b, "Hit")], Some(&d));
        let f = diagnose(&recs, Some(&d));
        let n: Vec<_> = f
            .iter()
            .filter(|f| f.id == "cache-key-too-narrow")
            .collect();
        assert_eq!(n.len(), 1, "{f:#?}");
        assert_eq!(n[0].severity, Severity::Warn);
        assert_eq!(n[0].behavior.as_deref(), Some("/secure/projectavatar*"));
        assert!(n[0].explanation.contains("`size`"), "{}", n[0].explanation);
        assert!(n[0].explanation.contains("Seen:"), "{}", n[0].explanation);
        assert!(
            n[0].evidence[1]
                .lines
                .iter()
                .any(|l| l.contains("\"av-48\"")),
            "{:?}",
            n[0].evidence
        );
        // The seed is TOML: the fix too.
        assert_eq!(
            n[0].config_fix.as_deref(),
            Some("query = [\"pid\", \"size\"]\nforward_query = \"all\"")
        );
        // Different objects (the edge did key on it, or missed): still named, without "Seen".
        let c = png_tagged(b, "Miss", "\"av-24\"");
        let recs = records(&[png(a, "Miss"), c], Some(&d));
        let f = diagnose(&recs, Some(&d));
        let n: Vec<_> = f
            .iter()
            .filter(|f| f.id == "cache-key-too-narrow")
            .collect();
        assert_eq!(n.len(), 1, "{f:#?}");
        assert!(!n[0].explanation.contains("Seen:"));
        // A keyed parameter that varies is not this finding (different keys).
        let e = "https://jira.example.com/secure/projectavatar?pid=10001&avatarId=10011";
        let f2 = diagnose(
            &records(&[png(a, "Miss"), png(e, "Miss")], Some(&d)),
            Some(&d),
        );
        assert!(
            !f2.iter()
                .any(|f| f.id == "cache-key-too-narrow" && f.explanation.contains("`pid`"))
        );
    }
}
