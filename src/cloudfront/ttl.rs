//! How long CloudFront keeps a response: the TTL rules of DESIGN.md, one `TtlRule` each.
//!
//! The edge stores with these and the diagnosis explains misses with them, so the rule that
//! decided is part of the answer (`TtlRule::explain`). Only the *origin's* response headers count:
//! the viewer's `Cache-Control` / `Pragma` never reach this function, by construction.
//!
//! Sources (AWS, CloudFront Developer Guide):
//! - "Manage how long content stays in the cache (expiration)" (Expiration.html): the TTL table,
//!   `max-age` beats `Expires`, an expired object is revalidated with the origin (304), stale
//!   objects served up to MaxTTL, `stale-if-error`;
//! - "How CloudFront processes HTTP 4xx and 5xx status codes from your origin"
//!   (HTTPStatusCodes.html): which errors are cached, for how long, stale-on-5xx;
//! - "Cache content based on cookies" (Cookies.html): no `If-None-Match`/`If-Modified-Since`
//!   when cookies are forwarded; `no-cache="Set-Cookie"` keeps the object, not the cookie;
//! - "How CloudFront processes HTTP 3xx status codes from your origin" (http-3xx-status-codes.html):
//!   307/308 only with `Cache-Control`.
//!
//! Simplification: `Expires` is measured from the response's `Date` (or `now` when it has none).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use super::behavior::{Behavior, TtlSettings};
use crate::exchange::Headers;

/// Error caching minimum TTL, CloudFront's default for every cached error code (HTTPStatusCodes.html:
/// "10 seconds by default"; `CustomErrorResponses[].ErrorCachingMinTTL` changes it per code).
pub(crate) const DEFAULT_ERROR_CACHING_MIN_TTL: u64 = 10;

/// Error caching minimum TTL per status code, from the distribution's `CustomErrorResponses`
/// (codes not listed: `DEFAULT_ERROR_CACHING_MIN_TTL`).
pub(crate) type ErrorCachingMinTtl = BTreeMap<u16, u64>;

/// The error caching minimum TTL of `status` under `custom`.
pub fn error_caching_min_ttl(custom: &ErrorCachingMinTtl, status: u16) -> u64 {
    custom
        .get(&status)
        .copied()
        .unwrap_or(DEFAULT_ERROR_CACHING_MIN_TTL)
}

/// 4xx/5xx codes CloudFront caches whatever the origin's `max-age` says (HTTPStatusCodes.html,
/// "HTTP 4xx and 5xx status codes that CloudFront caches"). An older edition of the page listed 405
/// here too; the current one lists it with the codes below.
pub(crate) const ALWAYS_CACHED_ERRORS: [u16; 7] = [404, 414, 500, 501, 502, 503, 504];

/// 4xx codes CloudFront caches only when the origin sends `Cache-Control max-age` or `s-maxage`
/// (same page, "HTTP 4xx status codes that CloudFront caches based on Cache-Control headers").
pub(crate) const CACHED_ERRORS_WITH_MAX_AGE: [u16; 5] = [400, 403, 405, 412, 415];

/// Which rule decided whether (and how long) a response is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum TtlRule {
    /// The behavior forwards all headers: CloudFront caches nothing.
    HeadersAllCachingOff,
    /// `s-maxage` (shared caches) beats `max-age`; clamped to [MinTTL, MaxTTL].
    SMaxAgeWins { s_maxage: u64, min: u64, max: u64 },
    /// `max-age` clamped to [MinTTL, MaxTTL].
    MaxAgeClamped { max_age: u64, min: u64, max: u64 },
    /// Both `max-age` and `Expires`: `max-age` wins (clamped).
    MaxAgeBeatsExpires { max_age: u64, min: u64, max: u64 },
    /// Only `Expires` (in the future): lives until then, clamped.
    ExpiresOnly { secs: u64, min: u64, max: u64 },
    /// `Expires` at or before `Date` (Jira's habit): stale on arrival. Stored for MinTTL > 0;
    /// with MinTTL 0 stored stale and revalidated on every request.
    ExpiresAlreadyStale {
        expires: String,
        date: String,
        min: u64,
    },
    /// A response stale on arrival (`max-age=0`, `Expires` <= `Date`) under a behavior that
    /// forwards cookies: CloudFront makes no conditional request then, so every request is a Miss.
    StaleNotRevalidatedCookies { stale: Box<TtlRule> },
    /// `no-cache` / `no-store` / `private` with MinTTL 0: not stored.
    NoCacheNotStored { directive: String },
    /// `no-cache` / `no-store` / `private` but MinTTL > 0: stored for MinTTL anyway (the TTL
    /// table; the warning below it reads otherwise while the origin is reachable).
    NoCacheStoredForMinTtl { directive: String, min: u64 },
    /// No `Cache-Control` max-age/s-maxage and no `Expires`: DefaultTTL.
    NoHeadersDefaultTtl { default: u64 },
    /// A cached 4xx/5xx: the greater of the error caching minimum TTL and max-age/s-maxage.
    ErrorCached {
        status: u16,
        secs: u64,
        min_ttl: u64,
        header: Option<u64>,
    },
    /// 400, 403, 405, 412, 415 without `max-age`/`s-maxage`: not cached.
    ErrorNeedsMaxAge { status: u16 },
    /// 404 or 414 with `no-store`/`no-cache`/`private`: "restricted by a cache control header".
    ErrorRestrictedByCacheControl { status: u16, directive: String },
    /// 416: never cached, whatever the error caching minimum TTL says.
    RangeNotSatisfiableNeverCached,
    /// The behavior can store nothing (CachingDisabled, MaxTTL 0): errors are not cached either.
    ErrorNotCachedCachingDisabled { status: u16 },
    /// 307/308 without `Cache-Control`: not cached.
    RedirectNeedsCacheControl { status: u16 },
    /// `Vary: *` with MinTTL 0: stored, but every request goes to the origin without a
    /// conditional header, so nothing is ever served from the cache.
    VaryStarAlwaysToOrigin,
    /// 206: a partial answer is never stored in the full object's place (the lab serves ranges
    /// of a full cached object itself, and keeps a 206 to a forwarded `Range` for that range only).
    PartialContentNotStored,
    /// A status CloudFront does not cache (e.g. 401, 304, 1xx).
    StatusNotCached { status: u16 },
}

/// Appended where AWS's own pages disagree about MinTTL > 0 with `no-cache`/`no-store`/`private`.
const MIN_TTL_NO_CACHE_CAVEAT: &str = "AWS's pages disagree here: the TTL table (Expiration.html) says stored for MinTTL, while the warning below it says CloudFront gets the object from the origin whenever the origin is reachable and serves the stored copy only when it is not";

impl TtlRule {
    /// One sentence naming the rule and the numbers that fed it.
    pub(crate) fn explain(&self) -> String {
        self.explain_as(true)
    }

    /// `revalidated`: say that a response stale on arrival is revalidated (not when the behavior
    /// forwards cookies, which `StaleNotRevalidatedCookies` says instead).
    fn explain_as(&self, revalidated: bool) -> String {
        let stale_suffix = |ttl: u64| stale_suffix(ttl, revalidated);
        match self {
            TtlRule::HeadersAllCachingOff => {
                "the behavior forwards all headers (*), which turns CloudFront caching off".into()
            }
            TtlRule::SMaxAgeWins { s_maxage, min, max } => format!(
                "s-maxage={s_maxage} wins over max-age for a shared cache; clamped to MinTTL {min} / MaxTTL {max} = {} s{}",
                clamp(*s_maxage, *min, *max),
                stale_suffix(clamp(*s_maxage, *min, *max))
            ),
            TtlRule::MaxAgeClamped { max_age, min, max } => format!(
                "Cache-Control max-age={max_age} clamped to MinTTL {min} / MaxTTL {max} = {} s{}",
                clamp(*max_age, *min, *max),
                stale_suffix(clamp(*max_age, *min, *max))
            ),
            TtlRule::MaxAgeBeatsExpires { max_age, min, max } => format!(
                "max-age={max_age} beats Expires; clamped to MinTTL {min} / MaxTTL {max} = {} s{}",
                clamp(*max_age, *min, *max),
                stale_suffix(clamp(*max_age, *min, *max))
            ),
            TtlRule::ExpiresOnly { secs, min, max } => format!(
                "Expires only, {secs} s ahead of Date; clamped to MinTTL {min} / MaxTTL {max} = {} s",
                clamp(*secs, *min, *max)
            ),
            TtlRule::ExpiresAlreadyStale { expires, date, min } => {
                if *min == 0 {
                    format!(
                        "Expires ({expires}) is at or before Date ({date}) and there is no max-age: \
                         already stale with MinTTL 0{}",
                        stale_suffix(0)
                    )
                } else {
                    format!(
                        "Expires ({expires}) is at or before Date ({date}): already stale, but \
                         MinTTL {min} keeps it {min} s"
                    )
                }
            }
            TtlRule::StaleNotRevalidatedCookies { stale } => format!(
                "{}; but this behavior forwards cookies, and CloudFront sends no If-None-Match/If-Modified-Since when cookies are forwarded (Cookies.html), so every request is a full Miss",
                stale.explain_as(false)
            ),
            TtlRule::NoCacheNotStored { directive } => {
                format!("origin sent Cache-Control {directive} and MinTTL is 0: not cached")
            }
            TtlRule::NoCacheStoredForMinTtl { directive, min } => format!(
                "origin sent Cache-Control {directive}, but MinTTL {min} > 0 caches it for {min} s anyway ({MIN_TTL_NO_CACHE_CAVEAT})"
            ),
            TtlRule::NoHeadersDefaultTtl { default } => {
                format!("no max-age, s-maxage or Expires from the origin: DefaultTTL {default} s")
            }
            TtlRule::ErrorCached {
                status,
                secs,
                min_ttl,
                header,
            } => match header {
                Some(h) => format!(
                    "error status {status} is cached for the greater of its max-age/s-maxage ({h} s) and the error caching minimum TTL ({min_ttl} s): {secs} s"
                ),
                None => format!(
                    "error status {status} is cached for the error caching minimum TTL ({secs} s)"
                ),
            },
            TtlRule::ErrorNeedsMaxAge { status } => format!(
                "CloudFront caches status {status} only when the origin sends Cache-Control max-age or s-maxage, and it did not"
            ),
            TtlRule::ErrorRestrictedByCacheControl { status, directive } => format!(
                "status {status} carries Cache-Control {directive}: CloudFront does not cache it"
            ),
            TtlRule::RangeNotSatisfiableNeverCached => {
                "CloudFront never caches status 416, whatever the error caching minimum TTL says"
                    .into()
            }
            TtlRule::ErrorNotCachedCachingDisabled { status } => format!(
                "the behavior can store nothing (CachingDisabled or MaxTTL 0), so error status {status} is not cached either"
            ),
            TtlRule::VaryStarAlwaysToOrigin => {
                "Vary: * with MinTTL 0: CloudFront caches the object but sends every request to the origin without a conditional header, so it is never served from the cache".into()
            }
            TtlRule::PartialContentNotStored => {
                "a 206 partial answer is not stored in place of the whole object".into()
            }
            TtlRule::RedirectNeedsCacheControl { status } => format!(
                "CloudFront caches {status} redirects only when the origin sends Cache-Control, and it did not"
            ),
            TtlRule::StatusNotCached { status } => {
                format!("CloudFront does not cache status {status}")
            }
        }
    }
}

/// `": stored stale, ..."` for a TTL of 0 (stale on arrival), else nothing.
fn stale_suffix(ttl: u64, revalidated: bool) -> &'static str {
    if ttl == 0 && revalidated {
        ": stored stale and revalidated with the origin on every request (RefreshHit when it answers 304 to If-None-Match/If-Modified-Since)"
    } else {
        ""
    }
}

/// Whether to store a response, for how long, and why.
///
/// `store` with `ttl_secs` 0 means stored stale on arrival: every request is revalidated with the
/// origin (Expiration.html: "The minimum expiration time CloudFront supports is 0 seconds"; an
/// expired object is checked with the origin, which answers 304 when it has not changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreDecision {
    pub store: bool,
    pub ttl_secs: u64,
    pub rule: TtlRule,
}

fn clamp(v: u64, min: u64, max: u64) -> u64 {
    v.max(min).min(max.max(min))
}

fn decision(ttl_secs: u64, rule: TtlRule) -> StoreDecision {
    StoreDecision {
        store: ttl_secs > 0,
        ttl_secs,
        rule,
    }
}

/// A TTL the origin's headers gave: 0 is still stored (stale, revalidated), unless the behavior
/// has MaxTTL 0 (it stores nothing).
fn header_decision(ttl_secs: u64, max: u64, rule: TtlRule) -> StoreDecision {
    StoreDecision {
        store: max > 0,
        ttl_secs,
        rule,
    }
}

/// Parsed `Cache-Control` directives of a response (all header lines, comma-separated).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CacheControl {
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    /// The first of bare `no-store`, `no-cache`, `private` present, in that order of strength.
    /// A field-qualified `no-cache="Set-Cookie"` or `private="Set-Cookie"` is not one of them.
    pub no_cache: Option<&'static str>,
    /// Header fields (lower case) named by a qualified `no-cache="..."` or `private="..."`: the
    /// response may be stored, without these fields. CloudFront documents it for
    /// `no-cache="Set-Cookie"` (Cookies.html: the object is cached, its `Set-Cookie` is not);
    /// `private="..."` is read the same way, as RFC 9111 5.2.2.7 says (AWS says nothing of it).
    pub strip_fields: Vec<String>,
    /// `stale-if-error=N` (Expiration.html "Serve stale (expired) content").
    pub stale_if_error: Option<u64>,
}

/// Split a header value on commas outside double quotes (`no-cache="a, b", max-age=1`).
fn split_directives(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&line[start..]);
    out
}

impl CacheControl {
    pub fn parse(headers: &Headers) -> Self {
        let mut cc = CacheControl::default();
        let mut seen = (false, false, false);
        for line in headers.get_all("cache-control") {
            for directive in split_directives(line) {
                let (name, value) = match directive.split_once('=') {
                    Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                    None => (directive.trim(), None),
                };
                let secs = || value.and_then(|v| v.parse::<u64>().ok());
                let name = name.to_ascii_lowercase();
                match (name.as_str(), value) {
                    ("max-age", _) => cc.max_age = cc.max_age.or(secs()),
                    ("s-maxage", _) => cc.s_maxage = cc.s_maxage.or(secs()),
                    ("stale-if-error", _) => cc.stale_if_error = cc.stale_if_error.or(secs()),
                    ("no-store", _) => seen.0 = true,
                    ("no-cache", None) => seen.1 = true,
                    ("private", None) => seen.2 = true,
                    ("no-cache" | "private", Some(fields)) => {
                        let fields: Vec<String> = fields
                            .split(',')
                            .map(|f| f.trim().to_ascii_lowercase())
                            .filter(|f| !f.is_empty())
                            .collect();
                        // `no-cache=""` names no field: read as the bare directive.
                        if fields.is_empty() {
                            if name == "no-cache" {
                                seen.1 = true;
                            } else {
                                seen.2 = true;
                            }
                        }
                        for f in fields {
                            if !cc.strip_fields.contains(&f) {
                                cc.strip_fields.push(f);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        cc.no_cache = match seen {
            (true, _, _) => Some("no-store"),
            (_, true, _) => Some("no-cache"),
            (_, _, true) => Some("private"),
            _ => None,
        };
        cc
    }
}

/// The TTL rules for a 4xx/5xx (HTTPStatusCodes.html).
fn decide_error(
    ttl: &TtlSettings,
    errors: &ErrorCachingMinTtl,
    status: u16,
    cc: &CacheControl,
) -> StoreDecision {
    if status == 416 {
        return decision(0, TtlRule::RangeNotSatisfiableNeverCached);
    }
    let always = ALWAYS_CACHED_ERRORS.contains(&status);
    let header = cc.s_maxage.or(cc.max_age);
    if !always && !(CACHED_ERRORS_WITH_MAX_AGE.contains(&status)) {
        return decision(0, TtlRule::StatusNotCached { status });
    }
    // "If you're using the CachingDisabled managed cache policy, CloudFront won't cache these
    // status codes"; a legacy 0/0/0 behavior is read the same way.
    if ttl.max == 0 {
        return decision(0, TtlRule::ErrorNotCachedCachingDisabled { status });
    }
    if !always && header.is_none() {
        return decision(0, TtlRule::ErrorNeedsMaxAge { status });
    }
    // "an HTTP 4xx status code that is not restricted by a cache control header".
    if status < 500
        && let Some(directive) = cc.no_cache
    {
        return decision(
            0,
            TtlRule::ErrorRestrictedByCacheControl {
                status,
                directive: directive.to_string(),
            },
        );
    }
    let min_ttl = error_caching_min_ttl(errors, status);
    let secs = header.map_or(min_ttl, |h| h.max(min_ttl));
    decision(
        secs,
        TtlRule::ErrorCached {
            status,
            secs,
            min_ttl,
            header,
        },
    )
}

/// Apply the TTL rules to an origin response. `now` stands in for a missing `Date` header;
/// `errors` is the distribution's error caching minimum TTL per code.
pub fn decide(
    ttl: &TtlSettings,
    errors: &ErrorCachingMinTtl,
    status: u16,
    response: &Headers,
    now: SystemTime,
) -> StoreDecision {
    let (min, max) = (ttl.min, ttl.max);
    let cc = CacheControl::parse(response);
    if status >= 400 {
        return decide_error(ttl, errors, status, &cc);
    }
    if status < 200 || status == 304 {
        return decision(0, TtlRule::StatusNotCached { status });
    }
    if matches!(status, 307 | 308) && response.get("cache-control").is_none() {
        return decision(0, TtlRule::RedirectNeedsCacheControl { status });
    }
    if status == 206 {
        return decision(0, TtlRule::PartialContentNotStored);
    }
    // RequestAndResponseBehaviorCustomOrigin.html, "Content negotiation".
    if min == 0
        && response
            .get_all("vary")
            .any(|l| l.split(',').any(|n| n.trim() == "*"))
    {
        return decision(0, TtlRule::VaryStarAlwaysToOrigin);
    }

    if let Some(directive) = cc.no_cache {
        let directive = directive.to_string();
        return if min == 0 {
            decision(0, TtlRule::NoCacheNotStored { directive })
        } else {
            decision(min, TtlRule::NoCacheStoredForMinTtl { directive, min })
        };
    }
    if let Some(s_maxage) = cc.s_maxage {
        return header_decision(
            clamp(s_maxage, min, max),
            max,
            TtlRule::SMaxAgeWins { s_maxage, min, max },
        );
    }
    let expires = response.get("expires");
    if let Some(max_age) = cc.max_age {
        let rule = if expires.is_some() {
            TtlRule::MaxAgeBeatsExpires { max_age, min, max }
        } else {
            TtlRule::MaxAgeClamped { max_age, min, max }
        };
        return header_decision(clamp(max_age, min, max), max, rule);
    }
    if let Some(expires) = expires {
        let date = response.get("date");
        let date_t = date
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .unwrap_or(now);
        // An unparseable Expires means "already expired" (RFC 9111 5.3).
        let ahead = httpdate::parse_http_date(expires)
            .ok()
            .and_then(|e| e.duration_since(date_t).ok())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if ahead == 0 {
            return header_decision(
                min,
                max,
                TtlRule::ExpiresAlreadyStale {
                    expires: expires.to_string(),
                    date: date
                        .map(str::to_string)
                        .unwrap_or_else(|| httpdate::fmt_http_date(now)),
                    min,
                },
            );
        }
        return header_decision(
            clamp(ahead, min, max),
            max,
            TtlRule::ExpiresOnly {
                secs: ahead,
                min,
                max,
            },
        );
    }
    decision(
        ttl.default,
        TtlRule::NoHeadersDefaultTtl {
            default: ttl.default,
        },
    )
}

/// Does CloudFront revalidate an expired object of this behavior with `If-None-Match` /
/// `If-Modified-Since`? Not when it forwards cookies (Cookies.html: "conditional requests are not
/// supported when CloudFront is configured to forward cookies (all or a whitelist)").
pub fn revalidates(behavior: &Behavior) -> bool {
    behavior.origin_forward.cookies.is_none()
}

/// `decide` for a behavior: a behavior that forwards all headers caches nothing, whatever the
/// TTLs; a response stale on arrival is useless to one that cannot revalidate.
pub fn decide_for(
    behavior: &Behavior,
    errors: &ErrorCachingMinTtl,
    status: u16,
    response: &Headers,
    now: SystemTime,
) -> StoreDecision {
    if behavior.caching_off() {
        return decision(0, TtlRule::HeadersAllCachingOff);
    }
    let d = decide(&behavior.ttl, errors, status, response, now);
    if d.store && d.ttl_secs == 0 && !revalidates(behavior) {
        return decision(
            0,
            TtlRule::StaleNotRevalidatedCookies {
                stale: Box::new(d.rule),
            },
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::BehaviorSet;
    use std::time::Duration;

    const T: TtlSettings = TtlSettings::new(0, 86_400, 31_536_000);
    const E: ErrorCachingMinTtl = BTreeMap::new();

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn h(pairs: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn date(offset: i64) -> String {
        let t = if offset >= 0 {
            now() + Duration::from_secs(offset as u64)
        } else {
            now() - Duration::from_secs((-offset) as u64)
        };
        httpdate::fmt_http_date(t)
    }

    #[test]
    fn max_age_clamped() {
        let d = decide(
            &T,
            &E,
            200,
            &h(&[("Cache-Control", "public, max-age=600")]),
            now(),
        );
        assert_eq!((d.store, d.ttl_secs), (true, 600));
        assert!(matches!(
            d.rule,
            TtlRule::MaxAgeClamped { max_age: 600, .. }
        ));

        let tight = TtlSettings::new(60, 120, 300);
        let d = decide(
            &tight,
            &E,
            200,
            &h(&[("Cache-Control", "max-age=10")]),
            now(),
        );
        assert_eq!(d.ttl_secs, 60, "raised to MinTTL");
        let d = decide(
            &tight,
            &E,
            200,
            &h(&[("Cache-Control", "max-age=999999")]),
            now(),
        );
        assert_eq!(d.ttl_secs, 300, "lowered to MaxTTL");
        let d = decide(&T, &E, 200, &h(&[("Cache-Control", "max-age=0")]), now());
        assert_eq!(
            (d.store, d.ttl_secs),
            (true, 0),
            "max-age=0 with MinTTL 0: stored stale, revalidated"
        );
        assert!(d.rule.explain().contains("max-age=0"));
        assert!(
            d.rule.explain().contains("revalidated"),
            "{}",
            d.rule.explain()
        );
    }

    #[test]
    fn s_maxage_wins() {
        let d = decide(
            &T,
            &E,
            200,
            &h(&[("Cache-Control", "max-age=10, s-maxage=3600")]),
            now(),
        );
        assert_eq!(d.ttl_secs, 3600);
        assert!(matches!(d.rule, TtlRule::SMaxAgeWins { .. }));
    }

    #[test]
    fn expires_only() {
        let d = decide(
            &T,
            &E,
            200,
            &h(&[("Date", &date(0)), ("Expires", &date(7200))]),
            now(),
        );
        assert_eq!((d.store, d.ttl_secs), (true, 7200));
        assert!(matches!(d.rule, TtlRule::ExpiresOnly { secs: 7200, .. }));
        // Without Date, `now` stands in.
        let d = decide(&T, &E, 200, &h(&[("Expires", &date(100))]), now());
        assert_eq!(d.ttl_secs, 100);
    }

    #[test]
    fn expires_already_stale() {
        // Jira: Expires equal to the request time, no max-age.
        let same = date(0);
        let d = decide(
            &T,
            &E,
            200,
            &h(&[("Date", &same), ("Expires", &same)]),
            now(),
        );
        assert_eq!((d.store, d.ttl_secs), (true, 0), "stored stale");
        assert!(matches!(
            d.rule,
            TtlRule::ExpiresAlreadyStale { min: 0, .. }
        ));
        assert!(
            d.rule.explain().contains("revalidated"),
            "{}",
            d.rule.explain()
        );

        let d = decide(&T, &E, 200, &h(&[("Date", &same), ("Expires", "0")]), now());
        assert_eq!(d.ttl_secs, 0, "an invalid Expires is already expired");
        let d = decide(
            &TtlSettings::new(0, 0, 0),
            &E,
            200,
            &h(&[("Date", &same), ("Expires", &same)]),
            now(),
        );
        assert!(!d.store, "MaxTTL 0 stores nothing");

        let min = TtlSettings::new(86_400, 86_400, 86_400);
        let d = decide(
            &min,
            &E,
            200,
            &h(&[("Date", &same), ("Expires", &date(-5))]),
            now(),
        );
        assert_eq!(
            (d.store, d.ttl_secs),
            (true, 86_400),
            "MinTTL > 0 stores it anyway"
        );
    }

    #[test]
    fn max_age_beats_expires() {
        let d = decide(
            &T,
            &E,
            200,
            &h(&[
                ("Date", &date(0)),
                ("Expires", &date(0)),
                ("Cache-Control", "max-age=31536000"),
            ]),
            now(),
        );
        assert_eq!((d.store, d.ttl_secs), (true, 31_536_000));
        assert!(matches!(d.rule, TtlRule::MaxAgeBeatsExpires { .. }));
    }

    #[test]
    fn no_cache_not_stored() {
        for directive in ["no-cache", "no-store", "private"] {
            let d = decide(
                &T,
                &E,
                200,
                &h(&[("Cache-Control", &format!("{directive}, max-age=600"))]),
                now(),
            );
            assert!(!d.store, "{directive}");
            assert_eq!(
                d.rule,
                TtlRule::NoCacheNotStored {
                    directive: directive.into()
                }
            );
        }
    }

    #[test]
    fn no_cache_stored_for_min_ttl() {
        let min = TtlSettings::new(86_400, 86_400, 86_400);
        let d = decide(&min, &E, 200, &h(&[("Cache-Control", "no-cache")]), now());
        assert_eq!((d.store, d.ttl_secs), (true, 86_400));
        assert!(matches!(d.rule, TtlRule::NoCacheStoredForMinTtl { .. }));
    }

    #[test]
    fn no_headers_default_ttl() {
        let d = decide(&T, &E, 200, &h(&[("Content-Type", "text/css")]), now());
        assert_eq!((d.store, d.ttl_secs), (true, 86_400));
        assert_eq!(d.rule, TtlRule::NoHeadersDefaultTtl { default: 86_400 });
        let d = decide(&TtlSettings::new(0, 0, 0), &E, 200, &Headers::new(), now());
        assert!(!d.store, "DefaultTTL 0");
    }

    #[test]
    fn errors_always_cached_for_the_greater_of_header_and_min_ttl() {
        for status in ALWAYS_CACHED_ERRORS {
            let d = decide(&T, &E, status, &Headers::new(), now());
            assert_eq!((d.store, d.ttl_secs), (true, 10), "{status}: default 10 s");
            let d = decide(
                &T,
                &E,
                status,
                &h(&[("Cache-Control", "max-age=600")]),
                now(),
            );
            assert_eq!(d.ttl_secs, 600, "{status}: max-age 600 > 10");
            let d = decide(&T, &E, status, &h(&[("Cache-Control", "max-age=3")]), now());
            assert_eq!(d.ttl_secs, 10, "{status}: max-age 3 < 10");
        }
        let custom: ErrorCachingMinTtl = [(502, 0), (503, 300)].into_iter().collect();
        let d = decide(&T, &custom, 502, &Headers::new(), now());
        assert!(!d.store, "ErrorCachingMinTTL 0 for 502");
        let d = decide(
            &T,
            &custom,
            503,
            &h(&[("Cache-Control", "s-maxage=60")]),
            now(),
        );
        assert_eq!(d.ttl_secs, 300);
        assert!(d.rule.explain().contains("greater"), "{}", d.rule.explain());
        let d = decide(&T, &custom, 504, &Headers::new(), now());
        assert_eq!(d.ttl_secs, 10, "codes not listed keep the default");
    }

    #[test]
    fn some_errors_only_with_max_age_416_and_others_never() {
        for status in CACHED_ERRORS_WITH_MAX_AGE {
            let d = decide(&T, &E, status, &Headers::new(), now());
            assert!(!d.store, "{status} without max-age");
            assert_eq!(d.rule, TtlRule::ErrorNeedsMaxAge { status });
            let d = decide(
                &T,
                &E,
                status,
                &h(&[("Cache-Control", "max-age=60")]),
                now(),
            );
            assert_eq!((d.store, d.ttl_secs), (true, 60), "{status} with max-age");
        }
        let d = decide(&T, &E, 416, &h(&[("Cache-Control", "max-age=60")]), now());
        assert!(!d.store);
        assert_eq!(d.rule, TtlRule::RangeNotSatisfiableNeverCached);
        for status in [401, 410, 429, 505] {
            let d = decide(
                &T,
                &E,
                status,
                &h(&[("Cache-Control", "max-age=60")]),
                now(),
            );
            assert_eq!(d.rule, TtlRule::StatusNotCached { status });
        }
        // A 404 restricted by no-store; a 5xx is cached anyway.
        let d = decide(&T, &E, 404, &h(&[("Cache-Control", "no-store")]), now());
        assert!(!d.store);
        let d = decide(&T, &E, 503, &h(&[("Cache-Control", "no-store")]), now());
        assert!(d.store);
        // CachingDisabled (0/0/0): no error caching either.
        let d = decide(&TtlSettings::new(0, 0, 0), &E, 502, &Headers::new(), now());
        assert_eq!(
            d.rule,
            TtlRule::ErrorNotCachedCachingDisabled { status: 502 }
        );
    }

    #[test]
    fn vary_star_goes_to_the_origin_with_min_ttl_zero() {
        let vary = h(&[
            ("Cache-Control", "max-age=600"),
            ("Vary", "Accept-Encoding, *"),
        ]);
        let d = decide(&T, &E, 200, &vary, now());
        assert_eq!(d.rule, TtlRule::VaryStarAlwaysToOrigin);
        assert!(!d.store);
        let d = decide(&TtlSettings::new(60, 60, 600), &E, 200, &vary, now());
        assert_eq!(d.ttl_secs, 600, "MinTTL > 0: Vary handled as usual");
        let d = decide(&T, &E, 206, &h(&[("Cache-Control", "max-age=600")]), now());
        assert_eq!(d.rule, TtlRule::PartialContentNotStored);
    }

    #[test]
    fn redirects_307_308_need_cache_control() {
        let d = decide(&T, &E, 307, &h(&[("Location", "/x")]), now());
        assert_eq!(d.rule, TtlRule::RedirectNeedsCacheControl { status: 307 });
        let d = decide(&T, &E, 308, &h(&[("Cache-Control", "max-age=60")]), now());
        assert_eq!(d.ttl_secs, 60);
        let d = decide(&T, &E, 302, &h(&[("Location", "/x")]), now());
        assert_eq!(d.ttl_secs, 86_400, "302 without headers: DefaultTTL");
    }

    #[test]
    fn stale_on_arrival_is_not_revalidated_when_cookies_are_forwarded() {
        let set = BehaviorSet::seed_default();
        let s = &set.behaviors[0]; // /s/*: cookies all
        let d = decide_for(s, &E, 200, &h(&[("Cache-Control", "max-age=0")]), now());
        assert!(!d.store);
        assert!(matches!(d.rule, TtlRule::StaleNotRevalidatedCookies { .. }));
        let why = d.rule.explain();
        assert!(
            why.contains("forwards cookies") && !why.contains("RefreshHit"),
            "{why}"
        );
        let mut no_cookies = s.clone();
        no_cookies.origin_forward.cookies = crate::cloudfront::NameSet::None;
        let d = decide_for(
            &no_cookies,
            &E,
            200,
            &h(&[("Cache-Control", "max-age=0")]),
            now(),
        );
        assert_eq!((d.store, d.ttl_secs), (true, 0));
    }

    #[test]
    fn qualified_no_cache_is_not_bare_no_cache() {
        let cc = CacheControl::parse(&h(&[(
            "Cache-Control",
            "max-age=600, no-cache=\"Set-Cookie, Set-Cookie2\", private=\"X-User\"",
        )]));
        assert_eq!(cc.no_cache, None);
        assert_eq!(cc.max_age, Some(600));
        assert_eq!(cc.strip_fields, ["set-cookie", "set-cookie2", "x-user"]);
        let d = decide(
            &T,
            &E,
            200,
            &h(&[("Cache-Control", "no-cache=\"Set-Cookie\", max-age=600")]),
            now(),
        );
        assert_eq!((d.store, d.ttl_secs), (true, 600));
        let cc = CacheControl::parse(&h(&[("Cache-Control", "no-cache, stale-if-error=0")]));
        assert_eq!(cc.no_cache, Some("no-cache"));
        assert_eq!(cc.stale_if_error, Some(0));
        assert!(cc.strip_fields.is_empty());
    }

    #[test]
    fn min_ttl_with_no_cache_says_the_pages_disagree() {
        let min = TtlSettings::new(60, 60, 60);
        let d = decide(&min, &E, 200, &h(&[("Cache-Control", "no-store")]), now());
        assert!(
            d.rule.explain().contains("disagree"),
            "{}",
            d.rule.explain()
        );
    }

    #[test]
    fn headers_all_caching_off() {
        let set = BehaviorSet::seed_default();
        let default = &set.behaviors[6];
        let d = decide_for(
            default,
            &E,
            200,
            &h(&[("Cache-Control", "max-age=600")]),
            now(),
        );
        assert!(!d.store);
        assert_eq!(d.rule, TtlRule::HeadersAllCachingOff);
        let d = decide_for(
            &set.behaviors[0],
            &E,
            200,
            &h(&[("Cache-Control", "max-age=600")]),
            now(),
        );
        assert!(d.store);
    }

    #[test]
    fn every_rule_explains_itself() {
        let rules = [
            TtlRule::HeadersAllCachingOff,
            TtlRule::NoHeadersDefaultTtl { default: 5 },
            TtlRule::StatusNotCached { status: 401 },
        ];
        for r in rules {
            assert!(!r.explain().is_empty());
        }
    }
}
