//! Findings about caches that are not CloudFront, judged by their own documented rules.
//!
//! Admins put Varnish, nginx `proxy_cache`, Apache `mod_cache` or Squid in front of Jira and
//! Confluence as often as a CDN, and each has its own reason why `/s/*` never hits. The CloudFront
//! model (TTL table, cache key from the behaviors) does not apply to them (see
//! [`crate::classify::Provider::is_other_cache`]); these findings say what *their* rules did, with
//! the fix in that cache's own configuration language (DESIGN.md "Other caches' headers"):
//!
//! - Varnish's builtin VCL passes every request carrying `Cookie` or `Authorization`;
//! - Varnish (hit-for-miss) and nginx do not store a response that sets cookies;
//! - Apache mod_cache and Squid obey a request's `Cache-Control: no-cache` / `Pragma: no-cache`
//!   (a HAR recorded with DevTools' "Disable cache" shows only misses for that reason).
//!
//! A first load is a miss anywhere, so each needs the same URL missed at least twice: a HAR with
//! reloads shows that, and `run` computes these again once verification's repeat loads are in
//! the records ([`all`]).

use super::evidence::{cap, ev, group_by, header_lines, plural, response_lines};
use super::headers::distinct_urls;
use super::{Ctx, Finding, ids};
use crate::classify::Record;
use crate::classify::{CacheOutcome, Provider, is_static};

/// Not served from cache, by a cache that is on the path.
fn missed(r: &Record) -> bool {
    super::evidence::fresh(r)
        && r.status.is_some_and(|s| (200..300).contains(&s))
        && matches!(
            r.class.cache.status,
            CacheOutcome::Miss | CacheOutcome::Bypass | CacheOutcome::Expired
        )
}

fn sends_credentials(r: &Record) -> bool {
    r.request_headers.contains("cookie") || r.request_headers.contains("authorization")
}

/// Nothing in the response itself forbids storing it (so the request is what made the cache pass).
fn storable_response(r: &Record) -> bool {
    !r.response_headers.contains("set-cookie")
        && !r.response_headers.get_all("cache-control").any(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("private") || v.contains("no-store") || v.contains("no-cache")
        })
        && r.response_headers
            .get("vary")
            .is_none_or(|v| v.trim() != "*")
}

/// The ids of this module's findings: `run` replaces them once the repeat loads are in.
pub(crate) const IDS: &[&str] = &[
    ids::CACHE_PASSES_COOKIES.id,
    ids::CACHE_REFUSES_SET_COOKIE.id,
    ids::REQUEST_NO_CACHE_OBEYED.id,
];

/// Every finding of this module.
pub fn all(ctx: &Ctx) -> Vec<Finding> {
    let mut out = cache_passes_cookies(ctx);
    out.extend(cache_refuses_set_cookie(ctx));
    out.extend(request_no_cache_obeyed(ctx));
    out
}

/// The records whose URL (and method) was loaded, and missed, at least twice: one miss is every
/// cache's first load; a second one is the cache refusing.
fn missed_again<'a>(rs: impl IntoIterator<Item = &'a Record>) -> Vec<&'a Record> {
    let rs: Vec<&Record> = rs.into_iter().collect();
    let mut counts: std::collections::HashMap<(&str, &str), usize> = Default::default();
    for r in &rs {
        *counts
            .entry((r.method.as_str(), r.url.as_str()))
            .or_default() += 1;
    }
    rs.into_iter()
        .filter(|r| counts[&(r.method.as_str(), r.url.as_str())] >= 2)
        .collect()
}

/// Group by host: a cache's configuration is per site.
fn by_host<'a>(
    ctx: &Ctx,
    rs: impl IntoIterator<Item = &'a Record>,
) -> Vec<(String, Vec<&'a Record>)> {
    group_by(rs, |r| Some(ctx.host(r)))
}

/// `cache-passes-cookies`: Varnish answered static resources with a miss (one `X-Varnish` id) on
/// requests that carried cookies, while nothing in the responses forbids storing them, and no
/// such request on that host was ever a hit: the builtin VCL's `vcl_recv` passes them.
pub(crate) fn cache_passes_cookies(ctx: &Ctx) -> Vec<Finding> {
    let varnish_static = |r: &&Record| {
        r.class.cache.provider == Provider::Varnish
            && is_static(r.class.asset_kind)
            && sends_credentials(r)
    };
    let hosts_with_hits: Vec<String> = ctx
        .records
        .iter()
        .filter(varnish_static)
        .filter(|r| r.class.cache.status.is_hit())
        .map(|r| ctx.host(r))
        .collect();
    let passed = missed_again(
        ctx.records
            .iter()
            .filter(varnish_static)
            .filter(|r| missed(r) && storable_response(r)),
    );
    by_host(ctx, passed)
        .into_iter()
        .filter(|(h, _)| !hosts_with_hits.contains(h))
        .map(|(host, rs)| {
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines = header_lines(&r.request_headers, "cookie");
                    lines.extend(header_lines(&r.request_headers, "authorization"));
                    lines.extend(response_lines(r, &["X-Varnish", "Via", "Age", "Cache-Control"]));
                    ev(r, lines)
                })
                .collect();
            let mut f = ids::CACHE_PASSES_COOKIES.finding(
                None,
                format!(
                    "{} from Varnish on {host} missed every time although the responses are cacheable \
                     (no Set-Cookie, no private/no-store/no-cache): the requests carried cookies, and \
                     Varnish's builtin VCL passes every request with a Cookie or Authorization header \
                     straight to the origin. Logged-in users never get a hit on /s/*.",
                    plural(rs.len(), "static response", "static responses"),
                ),
                cap(evidence),
            );
            f.fix = "Varnish: in vcl_recv, drop the cookies of static paths before the builtin VCL \
                     sees them: `if (req.url ~ \"^(/[^/]+)?/(s|download/resources)/\") { unset req.http.Cookie; \
                     unset req.http.Authorization; }` (static resources need neither). \
                     Jira/Confluence/proxy: nothing to change at the origin."
                .into();
            f
        })
        .collect()
}

/// `cache-refuses-set-cookie`: Varnish or nginx missed static responses that set cookies; both
/// refuse to store such a response by default (Varnish marks it hit-for-miss).
pub(crate) fn cache_refuses_set_cookie(ctx: &Ctx) -> Vec<Finding> {
    let hits = missed_again(ctx.records.iter().filter(|r| {
        matches!(r.class.cache.provider, Provider::Varnish | Provider::Nginx)
            && is_static(r.class.asset_kind)
            && missed(r)
            && r.response_headers.contains("set-cookie")
    }));
    group_by(hits, |r| Some((r.class.cache.provider.as_str(), ctx.host(r))))
        .into_iter()
        .filter_map(|((_, host), rs)| {
            let provider = rs.first()?.class.cache.provider;
            let names: Vec<String> = {
                let mut v: Vec<String> = rs
                    .iter()
                    .flat_map(|r| r.response_headers.get_all("set-cookie"))
                    .filter_map(|c| c.split('=').next().map(|n| n.trim().to_string()))
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines = header_lines(&r.response_headers, "set-cookie");
                    lines.extend(super::evidence::cache_lines(r));
                    ev(r, lines)
                })
                .collect();
            let mut f = ids::CACHE_REFUSES_SET_COOKIE.finding(
                None,
                format!(
                    "{} from {} on {host} set cookie{} {} and missed: {}",
                    plural(rs.len(), "static response", "static responses"),
                    provider.display_name(),
                    if names.len() > 1 { "s" } else { "" },
                    names.join(", "),
                    if provider == Provider::Varnish {
                        "Varnish's builtin vcl_backend_response makes a response with Set-Cookie \
                         uncacheable (hit-for-miss for 2 minutes), so every request goes to the origin."
                    } else {
                        "nginx's proxy_cache does not store a response with Set-Cookie unless told to \
                         ignore it, so every request goes to the origin."
                    }
                ),
                cap(evidence),
            );
            f.fix = if provider == Provider::Varnish {
                "Varnish: in vcl_backend_response, `if (bereq.url ~ \"/(s|download/resources)/\") { \
                 unset beresp.http.Set-Cookie; }` for static paths. Jira/Confluence/proxy: stop \
                 setting cookies on static responses (load-balancer stickiness on the static target)."
            } else {
                "nginx: in the static location, `proxy_ignore_headers Set-Cookie; proxy_hide_header \
                 Set-Cookie;` (never for pages: that would store sessions). Jira/Confluence/proxy: stop \
                 setting cookies on static responses (load-balancer stickiness on the static target)."
            }
            .into();
            Some(f)
        })
        .collect()
}

/// `request-no-cache-obeyed`: Apache mod_cache or Squid missed requests that asked for a fresh
/// copy. The capture itself caused the misses (a HAR recorded with "Disable cache", or a forced
/// reload); real visitors do not send it.
pub(crate) fn request_no_cache_obeyed(ctx: &Ctx) -> Vec<Finding> {
    let asks_fresh = |r: &Record| {
        r.request_headers
            .get_all("cache-control")
            .chain(r.request_headers.get_all("pragma"))
            .any(|v| {
                let v = v.to_ascii_lowercase();
                v.contains("no-cache") || v.contains("max-age=0")
            })
    };
    let hits = missed_again(ctx.records.iter().filter(|r| {
        matches!(
            r.class.cache.provider,
            Provider::ApacheModCache | Provider::Squid
        ) && (missed(r) || r.class.cache.status == CacheOutcome::RefreshHit)
            && asks_fresh(r)
    }));
    group_by(hits, |r| Some(r.class.cache.provider.as_str()))
        .into_iter()
        .filter_map(|(_, rs)| {
            let provider = rs.first()?.class.cache.provider;
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines = header_lines(&r.request_headers, "cache-control");
                    lines.extend(header_lines(&r.request_headers, "pragma"));
                    lines.extend(super::evidence::cache_lines(r));
                    ev(r, lines)
                })
                .collect();
            let mut f = ids::REQUEST_NO_CACHE_OBEYED.finding(
                None,
                format!(
                    "{} asked for a fresh copy (Cache-Control/Pragma: no-cache, as DevTools' \"Disable \
                     cache\" or a forced reload sends) and {} obeyed: these misses are the recording's, \
                     not the site's. A first-time visitor sends no such header.",
                    plural(rs.len(), "request", "requests"),
                    provider.display_name()
                ),
                cap(evidence),
            );
            f.fix = if provider == Provider::Squid {
                "Squid: nothing is wrong; to serve from cache anyway, `refresh_pattern -i /s/ 0 20% 4320 \
                 ignore-reload` (or `reload_into_ims on`). Record HARs in a fresh private window with the \
                 cache on; cdnprobe's journeys never send no-cache."
            } else {
                "Apache: nothing is wrong; to serve from cache anyway, `CacheIgnoreCacheControl On`. \
                 Record HARs in a fresh private window with the cache on; cdnprobe's journeys never send \
                 no-cache."
            }
            .into();
            Some(f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testkit::*;

    fn varnish_static(url: &str, xv: &str) -> Rec {
        Rec::get(url)
            .req("Cookie", "JSESSIONID=<redacted:00000001>")
            .resp("Cache-Control", "public, max-age=31536000")
            .resp("X-Varnish", xv)
            .resp("Via", "1.1 varnish (Varnish/7.1)")
            .resp("Age", "0")
    }

    #[test]
    fn varnish_passing_cookie_requests_is_named_with_the_vcl_fix() {
        // One miss per URL is every cache's first load: nothing proven.
        assert!(only(&run(&[varnish_static(S_JS, "5")]), "cache-passes-cookies").is_empty());
        let f = run(&[varnish_static(S_JS, "5"), varnish_static(S_JS, "7")]);
        let v = only(&f, "cache-passes-cookies");
        assert_eq!(v.len(), 1, "{f:#?}");
        assert!(v[0].fix.contains("unset req.http.Cookie"), "{}", v[0].fix);
        assert!(
            v[0].evidence[0]
                .lines
                .iter()
                .any(|l| l.starts_with("Cookie:"))
        );
        // No CloudFront finding for Varnish's responses.
        assert!(f.iter().all(|x| !x.id.starts_with("rotating")), "{f:#?}");
    }

    #[test]
    fn varnish_that_hits_or_gets_no_cookies_is_not_passing() {
        let f = run(&[varnish_static(S_JS, "5"), varnish_static(S_JS, "9 5")]);
        assert!(only(&f, "cache-passes-cookies").is_empty(), "{f:#?}");
        let anon = Rec::get(S_JS)
            .resp("Cache-Control", "public, max-age=31536000")
            .resp("X-Varnish", "5");
        assert!(only(&run(&[anon]), "cache-passes-cookies").is_empty());
        // A private response explains the miss by itself.
        let private = varnish_static(S_JS, "5").resp("Cache-Control", "private");
        assert!(only(&run(&[private]), "cache-passes-cookies").is_empty());
    }

    #[test]
    fn varnish_and_nginx_refuse_set_cookie() {
        let v = varnish_static(S_JS, "5").resp("Set-Cookie", "AWSALB=<redacted:1>; Path=/");
        let f = run(&[v.clone(), v]);
        let r = only(&f, "cache-refuses-set-cookie");
        assert_eq!(r.len(), 1, "{f:#?}");
        assert!(r[0].fix.contains("unset beresp.http.Set-Cookie"));
        assert!(r[0].explanation.contains("AWSALB"));
        let n = Rec::get(S_JS)
            .resp("Cache-Control", "public, max-age=31536000")
            .resp("X-Cache-Status", "MISS")
            .resp("Set-Cookie", "AWSALB=<redacted:1>; Path=/");
        let f = run(&[n.clone(), n]);
        let r = only(&f, "cache-refuses-set-cookie");
        assert_eq!(r.len(), 1, "{f:#?}");
        assert!(r[0].fix.contains("proxy_ignore_headers Set-Cookie"));
        // A hit is stored: nothing to say.
        let hit = Rec::get(S_JS)
            .resp("X-Cache-Status", "HIT")
            .resp("Set-Cookie", "a=1");
        assert!(only(&run(&[hit]), "cache-refuses-set-cookie").is_empty());
    }

    #[test]
    fn apache_and_squid_obeying_the_recordings_no_cache() {
        let apache = Rec::get(S_JS)
            .req("Cache-Control", "no-cache")
            .req("Pragma", "no-cache")
            .resp("X-Cache", "MISS from 127.0.0.1")
            .resp(
                "X-Cache-Detail",
                "\"cache miss: attempting entity save\" from 127.0.0.1",
            );
        let f = run(&[apache.clone(), apache]);
        let r = only(&f, "request-no-cache-obeyed");
        assert_eq!(r.len(), 1, "{f:#?}");
        assert!(r[0].fix.contains("CacheIgnoreCacheControl On"));
        let squid = Rec::get(S_JS)
            .req("Pragma", "no-cache")
            .resp("X-Cache", "MISS from proxy")
            .resp("X-Cache-Lookup", "HIT from proxy:3128");
        let r = run(&[squid.clone(), squid]);
        assert!(
            only(&r, "request-no-cache-obeyed")[0]
                .fix
                .contains("ignore-reload")
        );
        // A first-time visitor's request: no finding.
        let plain = Rec::get(S_JS).resp("X-Cache", "MISS from 127.0.0.1").resp(
            "X-Cache-Detail",
            "\"cache miss: attempting entity save\" from 127.0.0.1",
        );
        assert!(only(&run(&[plain.clone(), plain]), "request-no-cache-obeyed").is_empty());
    }
}
