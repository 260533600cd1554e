//! Findings read from the origin's caching headers: `Expires` <= `Date`, `no-cache` on static,
//! `Vary` the edge cannot honour, and TTLs too short for versioned resources.
//!
//! The edge's expected treatment (`Record::edge_treatment`, the TTL rules of the
//! `cloudfront` model) decides whether a header matters: `Expires: <now>` on a page is right, on a
//! `/s/` batch under a MinTTL-0 behavior it is the never-hit bug.

use std::time::SystemTime;

use super::evidence::{cache_lines, cap, ev, group_by, plural, response_lines};
use super::{Ctx, Finding, ids};
use crate::classify::Record;
use crate::classify::Serving;
use crate::classify::is_static;
use crate::cloudfront::ttl::CacheControl;

const DAY: u64 = 86_400;

pub(crate) fn treatment_line(r: &Record) -> Option<String> {
    r.class.edge_treatment.as_ref().map(|t| {
        if t.store {
            format!("edge (predicted): stored for {} s: {}", t.ttl_secs, t.rule)
        } else {
            format!("edge (predicted): not stored: {}", t.rule)
        }
    })
}

pub(crate) fn with_treatment(mut lines: Vec<String>, r: &Record) -> Vec<String> {
    lines.extend(cache_lines(r));
    lines.extend(treatment_line(r));
    lines.dedup();
    lines
}

/// Evidence from distinct URLs first.
pub(crate) fn distinct_urls<'a>(rs: &[&'a Record]) -> Vec<&'a Record> {
    let mut seen = std::collections::HashSet::new();
    rs.iter()
        .copied()
        .filter(|r| seen.insert(r.url.clone()))
        .collect()
}

pub fn misses(rs: &[&Record]) -> usize {
    rs.iter()
        .filter(|r| {
            matches!(
                r.class.cache.status,
                crate::classify::CacheOutcome::Miss | crate::classify::CacheOutcome::Expired
            )
        })
        .count()
}

/// `Expires` at or before `Date` (or unparseable) and no `max-age`/`s-maxage`.
pub(crate) fn expires_already_stale(r: &Record) -> bool {
    let h = &r.response_headers;
    let Some(expires) = h.get("expires") else {
        return false;
    };
    let cc = CacheControl::parse(h);
    if cc.max_age.is_some() || cc.s_maxage.is_some() {
        return false;
    }
    let Ok(e) = httpdate::parse_http_date(expires.trim()) else {
        return true; // RFC 9111 5.3: an invalid Expires means already expired
    };
    let date = h
        .get("date")
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok());
    match date {
        Some(d) => e <= d,
        None => {
            e <= SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs((r.timing.start_ms / 1000.0) as u64)
        }
    }
}

/// `expires-before-date`: static responses the edge takes as already stale.
pub(crate) fn expires_before_date(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        ctx.cacheable(r)
            && expires_already_stale(r)
            && CacheControl::parse(&r.response_headers).no_cache.is_none()
            // MinTTL > 0 stores it anyway: nothing is lost at the edge.
            && ctx.behavior(r).is_none_or(|Serving { behavior: b, .. }| b.ttl.min == 0)
    });
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| ev(r, with_treatment(response_lines(r, &["Date", "Expires", "Cache-Control"]), r)))
                .collect();
            ids::EXPIRES_BEFORE_DATE.finding(
                behavior.clone(),
                format!(
                    "{} under {} carry an Expires at or before their Date and no max-age or s-maxage; \
                     with MinTTL 0 CloudFront takes them as stale on arrival, so every load goes back to the origin \
                     ({} of them Misses): a full Miss when the behavior forwards cookies (no conditional requests then), \
                     a revalidation (RefreshHit on a 304) when it does not. \
                     Jira sets Expires to the request time and relies on Cache-Control.",
                    plural(rs.len(), "response", "responses"),
                    behavior.as_deref().unwrap_or("this distribution"),
                    misses(&rs)
                ),
                cap(evidence),
            )
        })
        .collect()
}

/// `no-cache-on-static`: `no-cache` / `no-store` / `private` on static resources the edge then
/// does not store.
pub(crate) fn no_cache_on_static(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        ctx.cacheable(r)
            && is_static(r.class.asset_kind)
            && CacheControl::parse(&r.response_headers).no_cache.is_some()
            && ctx
                .behavior(r)
                .is_none_or(|Serving { behavior: b, .. }| b.ttl.min == 0)
    });
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let directives: std::collections::BTreeSet<&str> = rs
                .iter()
                .filter_map(|r| CacheControl::parse(&r.response_headers).no_cache)
                .collect();
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| ev(r, with_treatment(response_lines(r, &["Cache-Control", "Pragma"]), r)))
                .collect();
            ids::NO_CACHE_ON_STATIC.finding(
                behavior.clone(),
                format!(
                    "{} under {} say Cache-Control {}; with MinTTL 0 CloudFront does not store them ({} Misses), \
                     and browsers revalidate them on every page.",
                    plural(rs.len(), "static response", "static responses"),
                    behavior.as_deref().unwrap_or("this distribution"),
                    directives.into_iter().collect::<Vec<_>>().join(" / "),
                    misses(&rs)
                ),
                cap(evidence),
            )
        })
        .collect()
}

/// The names a response's `Vary` lists, lower-cased.
fn vary_names(r: &Record) -> Vec<String> {
    r.response_headers
        .get_all("vary")
        .flat_map(|l| l.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

/// `vary-unforwarded`: `Vary` on a header outside the behavior's cache key. CloudFront keeps one
/// object per cache key whatever `Vary` says (only `Accept-Encoding` splits it), so a header that
/// reaches the origin without being in the key (a legacy behavior sends `Origin` anyway) gets the
/// first viewer's answer served to all.
pub(crate) fn vary_unforwarded(ctx: &Ctx) -> Vec<Finding> {
    let mut hits: Vec<(String, &Record)> = Vec::new();
    for r in ctx.records {
        if !ctx.cacheable(r) || !r.class.edge_treatment.as_ref().is_some_and(|t| t.store) {
            continue;
        }
        let Some(Serving { behavior: b, .. }) = ctx.behavior(r) else {
            continue;
        };
        for n in vary_names(r) {
            if n != "*"
                && n != "accept-encoding"
                && n != "cookie"
                && !b.key.headers.contains_header(&n)
            {
                hits.push((n, r));
            }
        }
    }
    let mut keys: Vec<(Option<String>, String)> = Vec::new();
    for (n, r) in &hits {
        let k = (r.class.behavior.clone(), n.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(behavior, name)| {
            let rs: Vec<&Record> = hits
                .iter()
                .filter(|(n, r)| *n == name && r.class.behavior == behavior)
                .map(|(_, r)| *r)
                .collect();
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines = response_lines(r, &["Vary"]);
                    lines.extend(super::evidence::header_lines(&r.request_headers, &name));
                    ev(r, with_treatment(lines, r))
                })
                .collect();
            let forwarded = rs
                .first()
                .and_then(|r| ctx.behavior(r))
                .is_some_and(|Serving { behavior: b, .. }| b.forwards_header(&name));
            let mut f = ids::VARY_UNFORWARDED.finding(
                behavior.clone(),
                format!(
                    "{} under {} say `Vary: {name}`, but {name} is not in the behavior's cache key: CloudFront keeps one object \
                     per key whatever Vary says and serves it whatever {name} the viewer sends.{}",
                    plural(rs.len(), "response", "responses"),
                    behavior.as_deref().unwrap_or("?"),
                    if forwarded {
                        format!(" {name} does reach the origin, so the copy kept is the answer made for the first viewer's {name}.")
                    } else {
                        String::new()
                    }
                ),
                cap(evidence),
            );
            f.title = format!("Vary: {name} on a behavior whose cache key leaves {name} out");
            f
        })
        .collect()
}

/// `vary-star`: `Vary: *` on a cacheable response.
pub(crate) fn vary_star(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx
        .records
        .iter()
        .filter(|r| ctx.cacheable(r) && vary_names(r).iter().any(|n| n == "*"));
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| ev(r, with_treatment(response_lines(r, &["Vary", "Cache-Control"]), r)))
                .collect();
            ids::VARY_STAR.finding(
                behavior.clone(),
                format!(
                    "{} under {} say `Vary: *`: by HTTP no cache may reuse them without asking the origin, so browsers \
                     never reuse them and shared caches treat them inconsistently.",
                    plural(rs.len(), "response", "responses"),
                    behavior.as_deref().unwrap_or("this distribution"),
                ),
                cap(evidence),
            )
        })
        .collect()
}

/// A versioned Atlassian static URL: `/s/<...>/_/...`.
pub(crate) fn is_versioned_s(url: &str) -> bool {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    path.contains("/s/") && path.contains("/_/")
}

/// `short-ttl-versioned`: the edge stores a versioned /s/ resource for less than a day.
pub(crate) fn short_ttl_versioned(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        ctx.cacheable(r)
            && is_versioned_s(&r.url)
            && r.class
                .edge_treatment
                .as_ref()
                .is_some_and(|t| t.store && t.ttl_secs < DAY)
    });
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let shortest = rs
                .iter()
                .filter_map(|r| r.class.edge_treatment.as_ref().map(|t| t.ttl_secs))
                .min()
                .unwrap_or(0);
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| ev(r, with_treatment(response_lines(r, &["Cache-Control", "Expires", "Date"]), r)))
                .collect();
            ids::SHORT_TTL_VERSIONED.finding(
                behavior.clone(),
                format!(
                    "{} under {} are versioned (the URL changes with every release) yet the edge keeps them only {shortest} s: \
                     after that every POP goes back to the origin.",
                    plural(rs.len(), "response", "responses"),
                    behavior.as_deref().unwrap_or("this distribution"),
                ),
                cap(evidence),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testkit::*;

    #[test]
    fn healthy_capture_has_no_error_or_warn() {
        let f = run(&healthy());
        let bad: Vec<_> = f.iter().filter(|f| f.severity >= Severity::Warn).collect();
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn expires_at_date_on_s_is_found_with_header_lines() {
        let r = Rec::get(S_JS).resp("Expires", DATE).cf("Miss", "FRA56-P1");
        let f = run(&[r.clone(), r]);
        let f = only(&f, "expires-before-date");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].behavior.as_deref(), Some("/s/*"));
        let lines = &f[0].evidence[0].lines;
        assert!(lines.contains(&format!("Date: {DATE}")), "{lines:?}");
        assert!(lines.contains(&format!("Expires: {DATE}")), "{lines:?}");
        assert!(
            lines.iter().any(|l| l == "X-Cache: Miss from cloudfront"),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("already stale")),
            "{lines:?}"
        );
        assert_eq!(f[0].evidence.len(), 1, "one URL, one evidence entry");
        assert!(f[0].explanation.contains("2 responses"));
        assert!(f[0].fix.contains("MinTTL") && f[0].fix.contains("max-age"));
    }

    #[test]
    fn expires_now_is_fine_with_max_age_on_pages_or_with_min_ttl() {
        // max-age beats Expires.
        let ok = Rec::get(S_JS)
            .resp("Expires", DATE)
            .resp("Cache-Control", "max-age=31536000")
            .cf("Miss", "FRA56-P1");
        // A page: Expires now is right (and the default behavior caches nothing).
        let page = Rec::page_ok(DASHBOARD).resp("Expires", DATE);
        // Avatars: MinTTL 86400 stores them anyway.
        let avatar = Rec::get("https://jira.example.com/secure/viewavatar?avatarId=1")
            .rt("Image")
            .resp("Expires", DATE)
            .cf("Miss", "FRA56-P1");
        assert!(only(&run(&[ok, page, avatar]), "expires-before-date").is_empty());
    }

    #[test]
    fn invalid_expires_counts_as_already_expired() {
        let r = Rec::get(S_CSS).resp("Expires", "0").cf("Miss", "FRA56-P1");
        assert_eq!(only(&run(&[r]), "expires-before-date").len(), 1);
    }

    #[test]
    fn no_cache_on_static_is_found() {
        let r = Rec::get(S_JS)
            .resp("Cache-Control", "no-cache")
            .cf("Miss", "FRA56-P1");
        let f = run(&[r]);
        let f = only(&f, "no-cache-on-static");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].evidence[0]
                .lines
                .contains(&"Cache-Control: no-cache".to_string())
        );
        assert!(f[0].explanation.contains("no-cache"));
    }

    #[test]
    fn no_cache_on_pages_or_min_ttl_behaviors_is_not_a_finding() {
        let page = Rec::page_ok(DASHBOARD);
        let avatar = Rec::get("https://jira.example.com/secure/projectavatar?pid=1")
            .rt("Image")
            .resp("Cache-Control", "private, max-age=31536000")
            .cf("Hit", "FRA56-P1");
        assert!(only(&run(&[page, avatar]), "no-cache-on-static").is_empty());
    }

    #[test]
    fn vary_on_an_unforwarded_header() {
        let r = Rec::static_ok(S_JS, "Miss")
            .req("User-Agent", "Mozilla/5.0")
            .resp("Vary", "User-Agent, Accept-Encoding");
        let f = run(&[r]);
        let f = only(&f, "vary-unforwarded");
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("User-Agent") || f[0].title.contains("user-agent"));
        assert!(
            f[0].evidence[0]
                .lines
                .contains(&"Vary: User-Agent, Accept-Encoding".to_string())
        );
        // Origin is whitelisted on the seed's /s/*; Accept-Encoding is always honoured.
        let ok = Rec::static_ok(S_JS, "Miss").resp("Vary", "Origin, Accept-Encoding");
        assert!(only(&run(&[ok]), "vary-unforwarded").is_empty());
        // A legacy behavior without Origin in its key still sends it: the first answer is kept.
        let mut d = seed();
        d.behaviors.behaviors[0].key.headers = crate::cloudfront::NameSet::None;
        d.behaviors.behaviors[0].origin_forward.headers = crate::cloudfront::NameSet::None;
        let r = Rec::static_ok(S_JS, "Miss").resp("Vary", "Origin");
        let f = crate::diagnose::diagnose(&records(&[r], Some(&d)), Some(&d));
        let f = only(&f, "vary-unforwarded");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].explanation.contains("first viewer"),
            "{}",
            f[0].explanation
        );
    }

    #[test]
    fn vary_star() {
        let r = Rec::static_ok(S_JS, "Miss").resp("Vary", "*");
        let f = run(&[r]);
        assert_eq!(only(&f, "vary-star").len(), 1);
        assert!(only(&f, "vary-unforwarded").is_empty());
        assert!(only(&run(&healthy()), "vary-star").is_empty());
    }

    #[test]
    fn short_ttl_on_versioned_s() {
        let r = Rec::get(S_JS)
            .resp("Cache-Control", "public, max-age=600")
            .cf("Miss", "FRA56-P1");
        let f = run(&[r]);
        let f = only(&f, "short-ttl-versioned");
        assert_eq!(f.len(), 1);
        assert!(f[0].explanation.contains("600 s"), "{}", f[0].explanation);
        assert!(
            f[0].evidence[0]
                .lines
                .contains(&"Cache-Control: public, max-age=600".to_string())
        );
        // Not versioned: not this finding.
        let plain = Rec::get("https://jira.example.com/s/plain.js")
            .resp("Cache-Control", "public, max-age=600")
            .cf("Miss", "FRA56-P1");
        assert!(only(&run(&[plain]), "short-ttl-versioned").is_empty());
    }
}
