//! How long CloudFront keeps a response: the TTL rules of DESIGN.md, one `TtlRule` each.
//!
//! The edge stores with these and the diagnosis explains misses with them, so the rule that
//! decided is part of the answer (`TtlRule::explain`). Only the *origin's* response headers count:
//! the viewer's `Cache-Control` / `Pragma` never reach this function, by construction.
//!
//! Simplifications: a cacheable 4xx/5xx is kept for the default error caching minimum TTL (10 s)
//! whatever its own headers say (no custom error responses); statuses other than 2xx/3xx (minus
//! 304) and the cacheable error list are not stored; `Expires` is measured from the response's
//! `Date` (or `now` when it has none).

use std::time::SystemTime;

use serde::Serialize;

use super::behavior::{Behavior, TtlSettings};
use crate::exchange::Headers;

/// Error caching minimum TTL, CloudFront's default for every cached error code.
pub const ERROR_CACHING_MIN_TTL: u64 = 10;

/// 4xx/5xx codes CloudFront caches (for the error caching minimum TTL).
pub const CACHED_ERROR_CODES: [u16; 11] = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];

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
    /// `Expires` at or before `Date` (Jira's habit): stale on arrival; stored only for MinTTL > 0.
    ExpiresAlreadyStale {
        expires: String,
        date: String,
        min: u64,
    },
    /// `no-cache` / `no-store` / `private` with MinTTL 0: not stored.
    NoCacheNotStored { directive: String },
    /// `no-cache` / `no-store` / `private` but MinTTL > 0: stored for MinTTL anyway.
    NoCacheStoredForMinTtl { directive: String, min: u64 },
    /// No `Cache-Control` max-age/s-maxage and no `Expires`: DefaultTTL.
    NoHeadersDefaultTtl { default: u64 },
    /// A cacheable 4xx/5xx: stored for the error caching minimum TTL.
    ErrorCachingMinTtl { status: u16, secs: u64 },
    /// A status CloudFront does not cache (e.g. 401, 304, 1xx).
    StatusNotCached { status: u16 },
}

impl TtlRule {
    /// One sentence naming the rule and the numbers that fed it.
    pub fn explain(&self) -> String {
        match self {
            TtlRule::HeadersAllCachingOff => {
                "the behavior forwards all headers (*), which turns CloudFront caching off".into()
            }
            TtlRule::SMaxAgeWins { s_maxage, min, max } => format!(
                "s-maxage={s_maxage} wins over max-age for a shared cache; clamped to MinTTL {min} / MaxTTL {max} = {} s",
                clamp(*s_maxage, *min, *max)
            ),
            TtlRule::MaxAgeClamped { max_age, min, max } => format!(
                "Cache-Control max-age={max_age} clamped to MinTTL {min} / MaxTTL {max} = {} s",
                clamp(*max_age, *min, *max)
            ),
            TtlRule::MaxAgeBeatsExpires { max_age, min, max } => format!(
                "max-age={max_age} beats Expires; clamped to MinTTL {min} / MaxTTL {max} = {} s",
                clamp(*max_age, *min, *max)
            ),
            TtlRule::ExpiresOnly { secs, min, max } => format!(
                "Expires only, {secs} s ahead of Date; clamped to MinTTL {min} / MaxTTL {max} = {} s",
                clamp(*secs, *min, *max)
            ),
            TtlRule::ExpiresAlreadyStale { expires, date, min } => {
                if *min == 0 {
                    format!(
                        "Expires ({expires}) is at or before Date ({date}) and there is no max-age: \
                         already stale, not cached with MinTTL 0"
                    )
                } else {
                    format!(
                        "Expires ({expires}) is at or before Date ({date}): already stale, but \
                         MinTTL {min} keeps it {min} s"
                    )
                }
            }
            TtlRule::NoCacheNotStored { directive } => {
                format!("origin sent Cache-Control {directive} and MinTTL is 0: not cached")
            }
            TtlRule::NoCacheStoredForMinTtl { directive, min } => format!(
                "origin sent Cache-Control {directive}, but MinTTL {min} > 0 caches it for {min} s anyway"
            ),
            TtlRule::NoHeadersDefaultTtl { default } => {
                format!("no max-age, s-maxage or Expires from the origin: DefaultTTL {default} s")
            }
            TtlRule::ErrorCachingMinTtl { status, secs } => format!(
                "error status {status} is cached for the error caching minimum TTL ({secs} s)"
            ),
            TtlRule::StatusNotCached { status } => {
                format!("CloudFront does not cache status {status}")
            }
        }
    }
}

/// Whether to store a response, for how long, and why.
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

/// Parsed `Cache-Control` directives of a response (all header lines, comma-separated).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CacheControl {
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    /// The first of `no-store`, `no-cache`, `private` present, in that order of strength.
    pub no_cache: Option<&'static str>,
}

impl CacheControl {
    pub fn parse(headers: &Headers) -> Self {
        let mut cc = CacheControl::default();
        let mut seen = (false, false, false);
        for line in headers.get_all("cache-control") {
            for directive in line.split(',') {
                let (name, value) = match directive.split_once('=') {
                    Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                    None => (directive.trim(), None),
                };
                let secs = || value.and_then(|v| v.parse::<u64>().ok());
                match name.to_ascii_lowercase().as_str() {
                    "max-age" => cc.max_age = cc.max_age.or(secs()),
                    "s-maxage" => cc.s_maxage = cc.s_maxage.or(secs()),
                    "no-store" => seen.0 = true,
                    "no-cache" => seen.1 = true,
                    "private" => seen.2 = true,
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

/// Apply the TTL rules to an origin response. `now` stands in for a missing `Date` header.
pub fn decide(
    ttl: &TtlSettings,
    status: u16,
    response: &Headers,
    now: SystemTime,
) -> StoreDecision {
    let (min, max) = (ttl.min, ttl.max);
    if status >= 400 {
        return if CACHED_ERROR_CODES.contains(&status) {
            decision(
                ERROR_CACHING_MIN_TTL,
                TtlRule::ErrorCachingMinTtl {
                    status,
                    secs: ERROR_CACHING_MIN_TTL,
                },
            )
        } else {
            decision(0, TtlRule::StatusNotCached { status })
        };
    }
    if status < 200 || status == 304 {
        return decision(0, TtlRule::StatusNotCached { status });
    }

    let cc = CacheControl::parse(response);
    if let Some(directive) = cc.no_cache {
        let directive = directive.to_string();
        return if min == 0 {
            decision(0, TtlRule::NoCacheNotStored { directive })
        } else {
            decision(min, TtlRule::NoCacheStoredForMinTtl { directive, min })
        };
    }
    if let Some(s_maxage) = cc.s_maxage {
        return decision(
            clamp(s_maxage, min, max),
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
        return decision(clamp(max_age, min, max), rule);
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
            return decision(
                min,
                TtlRule::ExpiresAlreadyStale {
                    expires: expires.to_string(),
                    date: date
                        .map(str::to_string)
                        .unwrap_or_else(|| httpdate::fmt_http_date(now)),
                    min,
                },
            );
        }
        return decision(
            clamp(ahead, min, max),
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

/// `decide` for a behavior: a behavior that forwards all headers caches nothing, whatever the TTLs.
pub fn decide_for(
    behavior: &Behavior,
    status: u16,
    response: &Headers,
    now: SystemTime,
) -> StoreDecision {
    if behavior.caching_off() {
        return decision(0, TtlRule::HeadersAllCachingOff);
    }
    decide(&behavior.ttl, status, response, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::BehaviorSet;
    use std::time::Duration;

    const T: TtlSettings = TtlSettings::new(0, 86_400, 31_536_000);

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
        let d = decide(&tight, 200, &h(&[("Cache-Control", "max-age=10")]), now());
        assert_eq!(d.ttl_secs, 60, "raised to MinTTL");
        let d = decide(
            &tight,
            200,
            &h(&[("Cache-Control", "max-age=999999")]),
            now(),
        );
        assert_eq!(d.ttl_secs, 300, "lowered to MaxTTL");
        let d = decide(&T, 200, &h(&[("Cache-Control", "max-age=0")]), now());
        assert!(!d.store, "max-age=0 with MinTTL 0 is never stored");
        assert!(d.rule.explain().contains("max-age=0"));
    }

    #[test]
    fn s_maxage_wins() {
        let d = decide(
            &T,
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
            200,
            &h(&[("Date", &date(0)), ("Expires", &date(7200))]),
            now(),
        );
        assert_eq!((d.store, d.ttl_secs), (true, 7200));
        assert!(matches!(d.rule, TtlRule::ExpiresOnly { secs: 7200, .. }));
        // Without Date, `now` stands in.
        let d = decide(&T, 200, &h(&[("Expires", &date(100))]), now());
        assert_eq!(d.ttl_secs, 100);
    }

    #[test]
    fn expires_already_stale() {
        // Jira: Expires equal to the request time, no max-age.
        let same = date(0);
        let d = decide(&T, 200, &h(&[("Date", &same), ("Expires", &same)]), now());
        assert!(!d.store);
        assert!(matches!(
            d.rule,
            TtlRule::ExpiresAlreadyStale { min: 0, .. }
        ));
        assert!(d.rule.explain().contains("not cached with MinTTL 0"));

        let d = decide(&T, 200, &h(&[("Date", &same), ("Expires", "0")]), now());
        assert!(!d.store, "an invalid Expires is already expired");

        let min = TtlSettings::new(86_400, 86_400, 86_400);
        let d = decide(
            &min,
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
        let d = decide(&min, 200, &h(&[("Cache-Control", "no-cache")]), now());
        assert_eq!((d.store, d.ttl_secs), (true, 86_400));
        assert!(matches!(d.rule, TtlRule::NoCacheStoredForMinTtl { .. }));
    }

    #[test]
    fn no_headers_default_ttl() {
        let d = decide(&T, 200, &h(&[("Content-Type", "text/css")]), now());
        assert_eq!((d.store, d.ttl_secs), (true, 86_400));
        assert_eq!(d.rule, TtlRule::NoHeadersDefaultTtl { default: 86_400 });
        let d = decide(&TtlSettings::new(0, 0, 0), 200, &Headers::new(), now());
        assert!(!d.store, "DefaultTTL 0");
    }

    #[test]
    fn error_caching_min_ttl() {
        for status in [404, 502, 503] {
            let d = decide(&T, status, &h(&[("Cache-Control", "max-age=600")]), now());
            assert_eq!((d.store, d.ttl_secs), (true, 10), "{status}");
        }
        let d = decide(&T, 401, &Headers::new(), now());
        assert!(!d.store);
        assert_eq!(d.rule, TtlRule::StatusNotCached { status: 401 });
    }

    #[test]
    fn headers_all_caching_off() {
        let set = BehaviorSet::seed_default();
        let default = &set.behaviors[6];
        let d = decide_for(default, 200, &h(&[("Cache-Control", "max-age=600")]), now());
        assert!(!d.store);
        assert_eq!(d.rule, TtlRule::HeadersAllCachingOff);
        let d = decide_for(
            &set.behaviors[0],
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
