//! Cookie findings: `Set-Cookie` on cacheable responses, a rotating cookie in the cache key (the
//! thread's AWSALB never-hit bug), and a session cookie replayed from the edge cache.
//!
//! Rotation is read from the records themselves: the redactor maps equal values to equal markers
//! within a run, so `AWSALB=<redacted:1a2b3c4d>` then `AWSALB=<redacted:5e6f7a8b>` is a rotation
//! without disclosing either value.

use super::evidence::{
    cache_lines, cap, ev, fresh, is_session_cookie, is_stickiness_cookie, plural, request_cookies,
    set_cookies,
};
use super::headers::{distinct_urls, misses, treatment_line};
use super::{Ctx, Evidence, Finding, ids};
use crate::classify::Record;
use crate::classify::Serving;
use crate::cloudfront::cache_key;

/// Distinct values in first-seen order.
/// Each name's distinct values, in the order first seen.
fn values_by_name<'a>(
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> std::collections::HashMap<&'a String, Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out: std::collections::HashMap<&String, Vec<String>> = Default::default();
    for (n, v) in pairs {
        if seen.insert((n, v)) {
            out.entry(n).or_default().push(v.clone());
        }
    }
    out
}

fn distinct(values: impl IntoIterator<Item = String>) -> Vec<String> {
    // Order-preserving; a HashSet keeps it linear (a HAR can carry ~10^4 distinct AWSALB values).
    let mut seen = std::collections::HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

/// The origin said `no-cache="Set-Cookie"` (or `private="Set-Cookie"`): CloudFront stores the
/// object without its `Set-Cookie` (Cookies.html), so the cookie is never replayed.
fn set_cookie_kept_out(r: &Record) -> bool {
    crate::cloudfront::ttl::CacheControl::parse(&r.response_headers)
        .strip_fields
        .iter()
        .any(|f| f == "set-cookie")
}

/// `set-cookie-on-cacheable`: a response the edge would store carries `Set-Cookie`.
pub(crate) fn set_cookie_on_cacheable(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        ctx.cacheable(r)
            && !set_cookies(r).is_empty()
            && !set_cookie_kept_out(r)
            && (!ctx.has_dist() || r.class.edge_treatment.as_ref().is_some_and(|t| t.store))
    });
    super::evidence::group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let names = distinct(rs.iter().flat_map(|r| set_cookies(r).into_iter().map(|c| c.name)));
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines: Vec<String> = set_cookies(r).into_iter().map(|c| c.line).collect();
                    lines.extend(cache_lines(r));
                    lines.extend(treatment_line(r));
                    ev(r, lines)
                })
                .collect();
            let forwards = rs
                .first()
                .and_then(|r| ctx.behavior(r))
                .map(|Serving { behavior: b, .. }| !b.origin_forward.cookies.is_none());
            let mut f = ids::SET_COOKIE_ON_CACHEABLE.finding(
                behavior.clone(),
                format!(
                    "{} under {} that the edge stores set {}. {}",
                    plural(rs.len(), "response", "responses"),
                    behavior.as_deref().unwrap_or("this distribution"),
                    names.join(", "),
                    if forwards == Some(true) {
                        "This behavior forwards cookies, so CloudFront caches the Set-Cookie with the object and replays it to every viewer of the cached copy."
                    } else {
                        "A cache that keeps the header replays it to every viewer of the cached copy."
                    }
                ),
                cap(evidence),
            );
            f.title = format!(
                "Set-Cookie {} on responses the edge caches{}",
                names.join(", "),
                behavior.as_deref().map(|b| format!(" ({b})")).unwrap_or_default()
            );
            f
        })
        .collect()
}

/// `rotating-cookie-in-key`: a cookie in the behavior's cache key takes a new value again and
/// again, so each request has a new key. Load-balancer stickiness cookies count from two values;
/// other cookies from three request values (a login legitimately replaces JSESSIONID once).
pub(crate) fn rotating_cookie_in_key(ctx: &Ctx) -> Vec<Finding> {
    if !ctx.has_dist() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let groups = super::evidence::group_by(ctx.records.iter().filter(|r| fresh(r)), |r| {
        let Serving {
            index: idx,
            behavior: b,
            ..
        } = ctx.behavior(r)?;
        (!b.key.cookies.is_none() && b.can_store() && b.caches_method(&r.method))
            .then(|| (ctx.host(r), idx))
    });
    // Each record's cookies parsed once: the loops below visit them per group and per name.
    let mut by_host: std::collections::HashMap<String, Vec<&Record>> =
        std::collections::HashMap::new();
    for r in ctx.records.iter().filter(|r| fresh(r)) {
        by_host.entry(ctx.host(r)).or_default().push(r);
    }
    // A host's Set-Cookies, parsed once however many of its behaviors are grouped.
    let mut set_by_host: std::collections::HashMap<String, Vec<Vec<super::evidence::SetCookie>>> =
        std::collections::HashMap::new();
    for ((host, _idx), rs) in groups {
        let Serving {
            behavior, pattern, ..
        } = ctx.behavior(rs[0]).expect("grouped by behavior");
        let same_host: &[&Record] = by_host.get(&host).map(Vec::as_slice).unwrap_or(&[]);
        let sent: Vec<Vec<(String, String)>> = rs.iter().map(|r| request_cookies(r)).collect();
        let set: &Vec<Vec<super::evidence::SetCookie>> = set_by_host
            .entry(host.clone())
            .or_insert_with(|| same_host.iter().map(|r| set_cookies(r)).collect());
        let names = distinct(
            sent.iter()
                .flat_map(|cs| cs.iter().map(|(n, _)| n.clone()))
                .chain(set.iter().flat_map(|cs| cs.iter().map(|c| c.name.clone()))),
        );
        // Per name its distinct values, in one pass each (not one pass per name: a HAR can
        // carry thousands of cookie names).
        let req_by_name = values_by_name(sent.iter().flatten().map(|(n, v)| (n, v)));
        let set_by_name = values_by_name(set.iter().flatten().map(|c| (&c.name, &c.value)));
        let mut rotating: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
        for name in names {
            if !behavior.key.cookies.contains(&name) {
                continue;
            }
            let req_vals = req_by_name.get(&name).cloned().unwrap_or_default();
            let set_vals = set_by_name.get(&name).cloned().unwrap_or_default();
            let is_rotating = if is_stickiness_cookie(&name) {
                req_vals.len() >= 2 || set_vals.len() >= 2
            } else {
                req_vals.len() >= 3 && set_vals.len() >= 2
            };
            if is_rotating {
                rotating.push((name, req_vals, set_vals));
            }
        }
        if rotating.is_empty() {
            continue;
        }
        // Only when there is a finding: the group's own Set-Cookies, for its evidence.
        let rs_set: Vec<Vec<super::evidence::SetCookie>> =
            rs.iter().map(|r| set_cookies(r)).collect();
        let mut evidence: Vec<Evidence> = Vec::new();
        for (name, _, _) in &rotating {
            // Two responses that set the cookie to different values (under this behavior first).
            let setters: Vec<(&Record, &super::evidence::SetCookie)> = rs
                .iter()
                .zip(&rs_set)
                .chain(same_host.iter().zip(set))
                .flat_map(|(r, cs)| cs.iter().filter(|c| c.name == *name).map(move |c| (*r, c)))
                .collect();
            if let Some((r1, c1)) = setters.first()
                && let Some((r2, c2)) = setters.iter().find(|(_, c)| c.value != c1.value)
            {
                for (r, c) in [(r1, c1), (r2, c2)] {
                    let mut lines = vec![c.line.clone()];
                    lines.extend(cache_lines(r));
                    evidence.push(ev(r, lines));
                }
            }
            // Two requests under this behavior that sent different values: two cache keys.
            let senders: Vec<(&Record, &String)> = rs
                .iter()
                .zip(&sent)
                .filter_map(|(r, cs)| cs.iter().find(|(n, _)| n == name).map(|(_, v)| (*r, v)))
                .collect();
            if let Some((r1, v1)) = senders.first()
                && let Some((r2, _)) = senders.iter().find(|(_, v)| v != v1)
            {
                for r in [r1, r2] {
                    let mut lines = super::evidence::header_lines(&r.request_headers, "cookie");
                    lines.extend(cache_lines(r));
                    if let Ok(u) = url::Url::parse(&r.url) {
                        lines.push(format!(
                            "cache key: {}",
                            cache_key(behavior, &r.method, &u, &r.request_headers)
                        ));
                    }
                    evidence.push(ev(r, lines));
                }
            }
        }
        let hits = rs.iter().filter(|r| r.class.cache.status.is_hit()).count();
        let names: Vec<&str> = rotating.iter().map(|(n, _, _)| n.as_str()).collect();
        let detail: Vec<String> = rotating
            .iter()
            .map(|(n, req, set)| {
                format!(
                    "{n} was set anew by {} and sent back with {} in {} under {pattern}",
                    plural(set.len(), "response", "responses"),
                    plural(req.len(), "value", "different values"),
                    plural(rs.len(), "request", "requests")
                )
            })
            .collect();
        let mut f = ids::ROTATING_COOKIE_IN_KEY.finding(
            Some(pattern.clone()),
            format!(
                "{}. {pattern} puts {} cookies in its cache key (cookies: {}), so every new value is a new cache key \
                 and the request goes to the origin: {} and {} here.{}",
                detail.join("; "),
                if matches!(behavior.key.cookies, crate::cloudfront::NameSet::All) { "all" } else { "these" },
                behavior.key.cookies.describe(),
                plural(misses(&rs), "Miss", "Misses"),
                plural(hits, "Hit", "Hits"),
                if names.iter().any(|n| is_stickiness_cookie(n)) {
                    " The ALB's stickiness cookie rotates on every response."
                } else {
                    ""
                }
            ),
            cap(evidence),
        );
        f.title = format!(
            "Rotating cookie {} is in the {pattern} cache key: every request is a new key, never a Hit",
            names.join(", ")
        );
        out.push(f);
    }
    out
}

/// `session-cookie-cached`: a session cookie's `Set-Cookie` came out of the edge cache (a Hit),
/// or is on a response the edge would store under a behavior that forwards cookies.
pub(crate) fn session_cookie_cached(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        fresh(r)
            && set_cookies(r).iter().any(|c| is_session_cookie(&c.name))
            && (r.class.cache.status.is_hit()
                || (r.class.edge_treatment.as_ref().is_some_and(|t| t.store)
                    && !set_cookie_kept_out(r)
                    && ctx
                        .behavior(r)
                        .is_some_and(|s| !s.behavior.origin_forward.cookies.is_none())))
    });
    super::evidence::group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let names = distinct(rs.iter().flat_map(|r| {
                set_cookies(r)
                    .into_iter()
                    .filter(|c| is_session_cookie(&c.name))
                    .map(|c| c.name)
            }));
            let from_cache = rs.iter().filter(|r| r.class.cache.status.is_hit()).count();
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines: Vec<String> = set_cookies(r)
                        .into_iter()
                        .filter(|c| is_session_cookie(&c.name))
                        .map(|c| c.line)
                        .collect();
                    lines.extend(cache_lines(r));
                    lines.extend(super::evidence::header_lines(&r.response_headers, "age"));
                    lines.extend(treatment_line(r));
                    ev(r, lines)
                })
                .collect();
            let mut f = ids::SESSION_COOKIE_CACHED.finding(
                behavior.clone(),
                format!(
                    "{} set the session cookie {} and {}: whoever gets the cached copy gets that session.",
                    plural(rs.len(), "response", "responses"),
                    names.join(", "),
                    if from_cache > 0 {
                        format!("{from_cache} of them came from the edge cache")
                    } else {
                        "the edge stores them with the Set-Cookie (the behavior forwards cookies)".to_string()
                    }
                ),
                cap(evidence),
            );
            f.title = format!("Session cookie {} served from the edge cache", names.join(", "));
            if rs
                .iter()
                .all(|r| r.class.cache.provider == crate::classify::Provider::ApacheModCache)
            {
                // Apache mod_cache stores Set-Cookie with the object unless told not to.
                f.fix = "Apache: `CacheIgnoreHeaders Set-Cookie` (mod_cache then stores the object \
                         without it), and `htcacheclean` or a restart to drop what is cached now. \
                         Jira/Confluence/proxy: never set session cookies on cacheable responses; expire \
                         the sessions that were replayed."
                    .into();
            }
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testkit::*;

    /// The alb-stickiness fault: every response sets a new AWSALB, the browser sends it back.
    fn sticky() -> Vec<Rec> {
        let mut v = Vec::new();
        for i in 0..4 {
            let sent = format!("AWSALB=<redacted:0000000{i}>; JSESSIONID=<redacted:aaaaaaaa>");
            let set = format!(
                "AWSALB=<redacted:0000000{}>; Expires=Tue, 01 Dec 2026 10:00:00 GMT; Path=/",
                i + 1
            );
            let url = if i % 2 == 0 { S_JS } else { S_CSS };
            v.push(
                Rec::static_ok(url, "Miss")
                    .req("Cookie", &sent)
                    .resp("Set-Cookie", &set),
            );
        }
        v
    }

    #[test]
    fn rotating_awsalb_in_the_s_cache_key_is_named_with_evidence() {
        let f = run(&sticky());
        let f = only(&f, "rotating-cookie-in-key");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = f[0];
        assert_eq!(f.behavior.as_deref(), Some("/s/*"));
        assert!(
            f.title.contains("AWSALB") && f.title.contains("/s/*"),
            "{}",
            f.title
        );
        assert!(
            !f.title.contains("JSESSIONID"),
            "JSESSIONID does not rotate: {}",
            f.title
        );
        assert!(f.explanation.contains("cookies: all"), "{}", f.explanation);
        let lines: Vec<&String> = f.evidence.iter().flat_map(|e| &e.lines).collect();
        let set: Vec<&&String> = lines
            .iter()
            .filter(|l| l.starts_with("Set-Cookie: AWSALB="))
            .collect();
        assert_eq!(set.len(), 2, "two responses showing rotation: {lines:#?}");
        assert_ne!(set[0], set[1]);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Cookie: AWSALB=<redacted:00000000>"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Cookie: AWSALB=<redacted:00000001>"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("cache key: /s/") && l.contains("AWSALB=<redacted:")),
            "{lines:#?}"
        );
        assert!(f.fix.contains("Forward Cookies = None") && f.fix.contains("stickiness"));
    }

    #[test]
    fn awsalb_is_not_in_the_key_of_a_cookie_less_behavior() {
        let recs: Vec<Rec> = sticky()
            .into_iter()
            .map(|mut r| {
                r.0.url = "https://jira.example.com/download/resources/x:y/logo.png".into();
                r
            })
            .collect();
        assert!(only(&run(&recs), "rotating-cookie-in-key").is_empty());
    }

    #[test]
    fn a_stable_cookie_or_a_single_login_is_not_rotation() {
        let recs = vec![
            Rec::static_ok(S_JS, "Miss").req("Cookie", "JSESSIONID=<redacted:00000001>"),
            Rec::static_ok(S_CSS, "Miss")
                .req("Cookie", "JSESSIONID=<redacted:00000001>")
                .resp(
                    "Set-Cookie",
                    "JSESSIONID=<redacted:00000002>; Path=/; HttpOnly",
                ),
            Rec::static_ok(S_JS, "Hit").req("Cookie", "JSESSIONID=<redacted:00000002>"),
        ];
        assert!(only(&run(&recs), "rotating-cookie-in-key").is_empty());
        assert!(only(&run(&healthy()), "rotating-cookie-in-key").is_empty());
    }

    #[test]
    fn set_cookie_on_cacheable_names_the_cookie() {
        let f = run(&sticky());
        let f = only(&f, "set-cookie-on-cacheable");
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("AWSALB"), "{}", f[0].title);
        assert!(f[0].explanation.contains("replays it to every viewer"));
        assert!(f[0].evidence[0].lines[0].starts_with("Set-Cookie: AWSALB=<redacted:"));
        // A page setting JSESSIONID is not cacheable: no finding.
        let page = Rec::page_ok(DASHBOARD).resp("Set-Cookie", "JSESSIONID=<redacted:1>; Path=/");
        assert!(only(&run(&[page]), "set-cookie-on-cacheable").is_empty());
        assert!(only(&run(&healthy()), "set-cookie-on-cacheable").is_empty());
        // `no-cache="Set-Cookie"`: CloudFront stores the object, not the cookie.
        let kept_out = Rec::static_ok(S_JS, "Miss")
            .resp("Cache-Control", "no-cache=\"Set-Cookie\"")
            .resp("Set-Cookie", "AWSALB=<redacted:1>; Path=/");
        assert!(only(&run(&[kept_out]), "set-cookie-on-cacheable").is_empty());
    }

    #[test]
    fn session_cookie_from_the_edge_cache_is_an_error() {
        let r = Rec::page_ok(DASHBOARD)
            .resp(
                "Set-Cookie",
                "JSESSIONID=<redacted:12345678>; Path=/; HttpOnly",
            )
            .resp("Age", "12");
        // Replace the Miss with a Hit.
        let mut r = r;
        r.0.response_headers.set("X-Cache", "Hit from cloudfront");
        let f = run(&[r]);
        let s = only(&f, "session-cookie-cached");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].severity, crate::diagnose::Severity::Error);
        assert!(s[0].title.contains("JSESSIONID"));
        let lines = &s[0].evidence[0].lines;
        assert!(
            lines.contains(
                &"Set-Cookie: JSESSIONID=<redacted:12345678>; Path=/; HttpOnly".to_string()
            )
        );
        assert!(lines.contains(&"X-Cache: Hit from cloudfront".to_string()));
        // The same Set-Cookie on a Miss of a non-caching behavior is fine.
        let ok =
            Rec::page_ok(DASHBOARD).resp("Set-Cookie", "JSESSIONID=<redacted:12345678>; Path=/");
        assert!(only(&run(&[ok]), "session-cookie-cached").is_empty());
    }

    #[test]
    fn apache_replaying_a_session_cookie_gets_apaches_fix() {
        let hit = Rec::get(S_JS)
            .resp("Set-Cookie", "JSESSIONID=<redacted:00000009>; Path=/")
            .resp("X-Cache", "HIT from 127.0.0.1")
            .resp("X-Cache-Detail", "\"cache hit\" from 127.0.0.1");
        let f = run(&[hit]);
        let s = only(&f, "session-cookie-cached");
        assert_eq!(s.len(), 1, "{f:#?}");
        assert!(
            s[0].fix.contains("CacheIgnoreHeaders Set-Cookie"),
            "{}",
            s[0].fix
        );
    }
}
