//! The one place that reads CDN and cache response headers.
//!
//! Users are not all on CloudFront, and a CloudFront distribution is often stacked on another cache
//! (Varnish, nginx, Apache mod_cache at the origin). Every later stage asks one question per
//! response — "which cache answered, and did it hit?" — so the answer is computed here once, from
//! the headers alone, and reported with the header lines it came from (`raw`) as evidence.
//!
//! When several caches speak, the one closest to the user wins: that is the cache whose behaviour
//! the tool is verifying. Named CDN signals are read before origin-side ones (generic `X-Cache`,
//! nginx `X-Cache-Status`), and within a list (RFC 9211 `Cache-Status`, Fastly's per-tier
//! `X-Cache: HIT, MISS`) the **last** member is taken: RFC 9211 §2 says "The first member
//! represents the cache closest to the origin server, and the last member represents the cache
//! closest to the user", and Fastly appends one value per tier in the same order.

use serde::{Deserialize, Serialize};

use crate::exchange::Headers;

/// Who reported the cache outcome.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Provider {
    /// `X-Cache: ... from cloudfront`, `X-Amz-Cf-Pop`, `Via: ... (CloudFront)`, `Server-Timing: cdn-cache-*`.
    #[serde(rename = "cloudfront")]
    #[strum(serialize = "cloudfront")]
    CloudFront,
    /// RFC 9211 `Cache-Status`.
    CacheStatus,
    /// `cf-cache-status`, `cf-ray`.
    Cloudflare,
    /// `X-Cache` per tier with `X-Served-By`.
    Fastly,
    /// `X-Cache: TCP_HIT from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/...)`.
    Akamai,
    /// `X-Cache: TCP_HIT` / `TCP_MISS` / `CONFIG_NOCACHE` / `PRIVATE_NOSTORE`, `X-Azure-Ref`.
    AzureFrontDoor,
    /// Plain Varnish: `X-Varnish: <xid>` (miss or pass) or `<xid> <xid of the cached object>`
    /// (hit), `Via: 1.1 varnish (Varnish/7.1)`.
    Varnish,
    /// Wikimedia-style tiered Varnish/ATS: `X-Cache: cp1055 hit (1), cp1065 frontend hit (3756)`.
    TieredVarnish,
    /// Apache httpd mod_cache: `X-Cache: HIT from host` with `X-Cache-Detail`.
    #[serde(rename = "apache")]
    #[strum(serialize = "apache")]
    ApacheModCache,
    /// Squid: `X-Cache: HIT from host`, `X-Cache-Lookup`, `Via: ... (squid/5.7)`.
    Squid,
    /// Vercel: `x-vercel-cache`.
    Vercel,
    /// An `X-Cache: HIT from host` that names no known cache.
    XCacheGeneric,
    /// `X-Cache-Status` / `X-Proxy-Cache` as nginx configurations commonly expose
    /// `$upstream_cache_status`.
    Nginx,
    /// No cache header at all, but `Age > 0`: some cache answered.
    AgeOnly,
    /// Nothing says a cache was involved.
    #[default]
    None,
}

/// What the cache closest to the user did with the request.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CacheOutcome {
    /// Served from cache without contacting the origin.
    Hit,
    /// Was stale, revalidated with the origin (304) and served from cache.
    RefreshHit,
    /// Not in cache (or not under this key): fetched from the origin.
    Miss,
    /// The CDN answered with an error (CloudFront `Error from cloudfront`).
    Error,
    /// Not cacheable here: pass, bypass, dynamic, `CONFIG_NOCACHE`, `PRIVATE_NOSTORE`.
    Bypass,
    /// Was in cache but expired; fetched again from the origin.
    Expired,
    /// A stale copy was served (origin unreachable, or update in progress).
    Stale,
    /// The CDN itself answered with a redirect (CloudFront `Redirect from cloudfront`).
    Redirect,
    /// Produced at the edge by code (CloudFront Functions / Lambda@Edge, Cloudflare Workers).
    Generated,
    /// CloudFront `LimitExceeded from cloudfront` (a quota was hit).
    LimitExceeded,
    /// The edge refused the request (Akamai `TCP_DENIED`, Azure `N/A`).
    Denied,
    /// A value this parser does not know; `raw` keeps it verbatim.
    Other,
    /// No statement about caching.
    #[default]
    None,
}

impl CacheOutcome {
    /// Stable short name (the serde name), for tables.
    /// The report's name (`hit`, `refresh_hit`, ...), derived like serde's.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The response came out of a cache (fresh, revalidated or stale).
    ///
    /// A revalidated one (CloudFront's `RefreshHit`) counts: the body is the edge's stored copy and
    /// the origin only confirmed it (a 304, no body), so the behavior's caching works; it costs an
    /// origin round trip, which is what `max-age=0` or `Expires` <= `Date` asks for. A stale one
    /// (served because the origin failed) counts for the same reason: it came from the cache.
    pub fn is_hit(self) -> bool {
        matches!(
            self,
            CacheOutcome::Hit | CacheOutcome::RefreshHit | CacheOutcome::Stale
        )
    }
}

impl Provider {
    /// A cache this tool knows that is not CloudFront. Its responses are judged by its own rules:
    /// the CloudFront model (TTL table, cache key from the behaviors) says nothing about what
    /// Varnish or nginx stores, so no CloudFront finding or TTL prediction is made for them.
    pub(crate) fn is_other_cache(self) -> bool {
        !matches!(
            self,
            Provider::CloudFront | Provider::XCacheGeneric | Provider::AgeOnly | Provider::None
        )
    }

    /// The `Cache-Control` the client sees may not be the one the cache obeyed: these CDNs take
    /// their own instructions (`Surrogate-Control`, `CDN-Cache-Control`, `Edge-Control`, tier VCL
    /// such as Wikimedia's, which caches while telling browsers `private`) and strip them. A
    /// `private` on one of their hits proves nothing about what the origin told the cache.
    pub(crate) fn may_rewrite_cache_control(self) -> bool {
        matches!(
            self,
            Provider::Fastly
                | Provider::TieredVarnish
                | Provider::Akamai
                | Provider::Cloudflare
                | Provider::AzureFrontDoor
                | Provider::Vercel
                | Provider::CacheStatus
                | Provider::AgeOnly
        )
    }

    /// The name a person knows the cache by, for sentences.
    pub(crate) fn display_name(self) -> &'static str {
        match self {
            Provider::CloudFront => "CloudFront",
            Provider::CacheStatus => "the cache (RFC 9211 Cache-Status)",
            Provider::Cloudflare => "Cloudflare",
            Provider::Fastly => "Fastly",
            Provider::Akamai => "Akamai",
            Provider::AzureFrontDoor => "Azure Front Door",
            Provider::Varnish => "Varnish",
            Provider::TieredVarnish => "the tiered Varnish/ATS cache",
            Provider::ApacheModCache => "Apache mod_cache",
            Provider::Squid => "Squid",
            Provider::Vercel => "Vercel",
            Provider::XCacheGeneric => "the cache (X-Cache)",
            Provider::Nginx => "nginx",
            Provider::AgeOnly => "a cache (Age only)",
            Provider::None => "no cache",
        }
    }

    /// The report's name (`cloudfront`, `apache`, ...), derived like serde's.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One response's cache verdict, with the evidence it was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CacheStatus {
    pub provider: Provider,
    pub status: CacheOutcome,
    /// The header line(s) the verdict was read from, verbatim (`x-cache: Miss from cloudfront`),
    /// one per line.
    pub raw: Option<String>,
    /// The edge location or cache node that answered, as the CDN names it (`FRA56-P1`, `FRA`,
    /// `cache-fra-etou8220023-FRA`, a `Cache-Status` identifier, a Squid host).
    pub pop: Option<String>,
    /// `Age` in seconds, when the response carries a valid one.
    pub age: Option<u64>,
    /// How many times this object has been served from the answering cache (`X-Cache-Hits`).
    pub hits: Option<u64>,
}

impl CacheStatus {
    /// Some shared cache (a CDN, or at least something that set `Age`) is on the path.
    pub(crate) fn went_through_cdn(&self) -> bool {
        self.provider != Provider::None
    }
}

/// Read the cache verdict from a response's headers. Never panics; unknown values become
/// [`CacheOutcome::Other`] with `raw` kept verbatim.
pub fn parse(response: &Headers) -> CacheStatus {
    let age = response.get("age").and_then(parse_u64_first);
    let mut cs = cloudfront(response)
        .or_else(|| cloudflare(response))
        .or_else(|| fastly(response))
        .or_else(|| akamai_cache_status(response))
        .or_else(|| akamai_or_azure(response))
        .or_else(|| vercel(response))
        .or_else(|| rfc9211(response))
        .or_else(|| tiered_varnish(response))
        .or_else(|| generic_x_cache(response))
        .or_else(|| nginx(response))
        .or_else(|| varnish(response))
        .unwrap_or_else(|| {
            if age.is_some_and(|a| a > 0) {
                CacheStatus {
                    provider: Provider::AgeOnly,
                    status: CacheOutcome::Hit,
                    raw: lines(response, "age"),
                    ..Default::default()
                }
            } else {
                CacheStatus::default()
            }
        });
    cs.age = age;
    cs
}

// ---------------------------------------------------------------------------------------------
// helpers

/// `Name: value` for every value of `name` (original name case), joined by `\n`.
fn lines(h: &Headers, name: &str) -> Option<String> {
    let out: Vec<String> = h
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(n, v)| v.split('\n').map(move |v| format!("{n}: {v}")))
        .collect();
    (!out.is_empty()).then(|| out.join("\n"))
}

fn join_lines(parts: impl IntoIterator<Item = Option<String>>) -> Option<String> {
    let v: Vec<String> = parts.into_iter().flatten().collect();
    (!v.is_empty()).then(|| v.join("\n"))
}

/// Every comma-separated item of every value of `name`, trimmed, in order. Repeated header lines
/// count as items too (HAR exports and CDP join them with `\n`).
fn items<'a>(h: &'a Headers, name: &'a str) -> Vec<&'a str> {
    h.get_all(name)
        .flat_map(|v| v.split([',', '\n']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_u64_first(v: &str) -> Option<u64> {
    v.split(',').next()?.trim().parse().ok()
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

fn first_word(v: &str) -> &str {
    v.split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches([':', ',', ';'])
}

/// The host after ` from ` (`HIT from proxy.example.com` -> `proxy.example.com`).
fn from_host(v: &str) -> Option<String> {
    let mut words = v.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("from") {
            return words
                .next()
                .map(|h| h.trim_end_matches([',', ';']).to_string())
                .filter(|h| !h.is_empty());
        }
    }
    None
}

/// Shared vocabulary of Squid, Varnish, Apache mod_cache, nginx, Fastly and Cloudflare tokens.
fn generic_outcome(token: &str) -> CacheOutcome {
    match token.to_ascii_uppercase().as_str() {
        "HIT" | "TCP_HIT" | "MEM_HIT" | "HIT-FRONT" | "HIT-LOCAL" | "HIT-REMOTE" => {
            CacheOutcome::Hit
        }
        "MISS" => CacheOutcome::Miss,
        "REVALIDATED" | "REVALIDATE" | "REFRESH_HIT" => CacheOutcome::RefreshHit,
        "BYPASS" | "PASS" | "DYNAMIC" | "HITPASS" | "HIT-FOR-PASS" => CacheOutcome::Bypass,
        "EXPIRED" => CacheOutcome::Expired,
        "STALE" | "UPDATING" | "HIT-STALE" => CacheOutcome::Stale,
        "ERROR" => CacheOutcome::Error,
        _ => CacheOutcome::Other,
    }
}

// ---------------------------------------------------------------------------------------------
// CloudFront

fn cloudfront_outcome(word: &str) -> CacheOutcome {
    match word.to_ascii_lowercase().as_str() {
        "hit" => CacheOutcome::Hit,
        "refreshhit" => CacheOutcome::RefreshHit,
        "miss" => CacheOutcome::Miss,
        "error" => CacheOutcome::Error,
        "limitexceeded" => CacheOutcome::LimitExceeded,
        "redirect" => CacheOutcome::Redirect,
        "functiongeneratedresponse" | "lambdageneratedresponse" => CacheOutcome::Generated,
        _ => CacheOutcome::Other,
    }
}

/// One `Server-Timing` metric: name and its `desc`, if any.
fn server_timing_metrics(h: &Headers) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for value in h.get_all("server-timing").flat_map(|v| v.split('\n')) {
        for metric in split_outside_quotes(value, ',') {
            let mut parts = split_outside_quotes(metric, ';').into_iter();
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let mut desc = None;
            for p in parts {
                if let Some((k, v)) = p.split_once('=')
                    && k.trim().eq_ignore_ascii_case("desc")
                {
                    desc = Some(unquote(v.trim()));
                }
            }
            out.push((name, desc));
        }
    }
    out
}

fn cloudfront(h: &Headers) -> Option<CacheStatus> {
    // The X-Cache item that names cloudfront (another cache's X-Cache may sit beside it).
    let x_cache = items(h, "x-cache")
        .into_iter()
        .rfind(|v| contains_ci(v, "cloudfront"));
    let timing = server_timing_metrics(h);
    let timing_status = timing.iter().find_map(|(n, _)| match n.as_str() {
        "cdn-cache-hit" => Some(CacheOutcome::Hit),
        "cdn-cache-miss" => Some(CacheOutcome::Miss),
        "cdn-cache-refresh" => Some(CacheOutcome::RefreshHit),
        _ => None,
    });
    let timing_pop = timing
        .iter()
        .find(|(n, _)| n == "cdn-pop")
        .and_then(|(_, d)| d.clone());
    let cf_pop = h
        .get("x-amz-cf-pop")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    let via_cf = h.get_all("via").any(|v| contains_ci(v, "cloudfront"));
    let has_id = h.contains("x-amz-cf-id");

    if x_cache.is_none()
        && timing_status.is_none()
        && cf_pop.is_none()
        && !via_cf
        && !has_id
        && timing_pop.is_none()
    {
        return None;
    }
    let (status, raw) = if let Some(v) = x_cache {
        (
            cloudfront_outcome(first_word(v)),
            h.iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("x-cache"))
                .flat_map(|(n, val)| val.split('\n').map(move |line| (n, line)))
                .find(|(_, line)| line.contains(v))
                .map(|(n, line)| format!("{n}: {line}")),
        )
    } else if let Some(s) = timing_status {
        (s, lines(h, "server-timing"))
    } else {
        (
            CacheOutcome::None,
            join_lines([lines(h, "x-amz-cf-pop"), lines(h, "via")]),
        )
    };
    Some(CacheStatus {
        provider: Provider::CloudFront,
        status,
        raw,
        pop: cf_pop.or(timing_pop),
        age: None,
        hits: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Cloudflare

fn cloudflare(h: &Headers) -> Option<CacheStatus> {
    let status_v = h.get("cf-cache-status").map(str::trim);
    let ray = h.get("cf-ray").map(str::trim);
    if status_v.is_none() && ray.is_none() {
        return None;
    }
    // cf-ray: `8a1b2c3d4e5f6789-FRA`
    let pop = ray
        .and_then(|r| r.rsplit_once('-'))
        .map(|(_, p)| p.trim().to_string())
        .filter(|p| !p.is_empty());
    let status = match status_v {
        None => CacheOutcome::None,
        Some(v) => match v.to_ascii_uppercase().as_str() {
            "NONE/UNKNOWN" | "NONE" | "UNKNOWN" => CacheOutcome::Generated,
            other => generic_outcome(other),
        },
    };
    Some(CacheStatus {
        provider: Provider::Cloudflare,
        status,
        raw: lines(h, "cf-cache-status").or_else(|| lines(h, "cf-ray")),
        pop,
        age: None,
        hits: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Fastly

fn fastly(h: &Headers) -> Option<CacheStatus> {
    let served_by = items(h, "x-served-by");
    let fastly_hint = served_by.iter().any(|s| s.starts_with("cache-"))
        || h.iter()
            .any(|(n, _)| n.to_ascii_lowercase().starts_with("fastly-"))
        || h.contains("x-fastly-request-id");
    if !fastly_hint {
        return None;
    }
    let tiers = items(h, "x-cache");
    let status = tiers
        .last()
        .map(|t| generic_outcome(first_word(t)))
        .unwrap_or(CacheOutcome::None);
    let hits = items(h, "x-cache-hits")
        .last()
        .and_then(|v| v.parse::<u64>().ok());
    Some(CacheStatus {
        provider: Provider::Fastly,
        status,
        raw: join_lines([lines(h, "x-cache"), lines(h, "x-served-by")]),
        pop: served_by.last().map(|s| s.to_string()),
        age: None,
        hits,
    })
}

// ---------------------------------------------------------------------------------------------
// Akamai and Azure Front Door (both speak Squid-style TCP_* codes in X-Cache)

fn akamai_outcome(code: &str) -> CacheOutcome {
    match code {
        "TCP_HIT" | "TCP_MEM_HIT" | "TCP_IMS_HIT" | "TCP_NEGATIVE_HIT" | "TCP_REMOTE_HIT" => {
            CacheOutcome::Hit
        }
        "TCP_REFRESH_HIT" => CacheOutcome::RefreshHit,
        "TCP_MISS" | "TCP_REFRESH_MISS" => CacheOutcome::Miss,
        "TCP_REFRESH_FAIL_HIT" => CacheOutcome::Stale,
        "TCP_DENIED" | "TCP_COOKIE_DENY" | "N/A" => CacheOutcome::Denied,
        "CONFIG_NOCACHE" | "PRIVATE_NOSTORE" | "UNCACHEABLE" => CacheOutcome::Bypass,
        _ => CacheOutcome::Other,
    }
}

fn akamai_or_azure(h: &Headers) -> Option<CacheStatus> {
    let azure_hint = h.contains("x-azure-ref")
        || h.contains("x-azure-ref-originshield")
        || h.contains("x-msedge-ref")
        || h.contains("x-fd-healthprobe");
    let akamai_hint = h.iter().any(|(n, _)| {
        let n = n.to_ascii_lowercase();
        n.starts_with("x-akamai-") || n == "x-check-cacheable" || n == "x-true-cache-key"
    });
    let value = h.get_all("x-cache").last()?.trim();
    let code = first_word(value).to_ascii_uppercase();
    let tcp = code.starts_with("TCP_");
    let azure_only = matches!(
        code.as_str(),
        "CONFIG_NOCACHE" | "PRIVATE_NOSTORE" | "UNCACHEABLE" | "TCP_REMOTE_HIT"
    ) || (code == "N/A" && azure_hint);
    if !tcp && !azure_only {
        return None;
    }
    let says_from = from_host(value).is_some();
    let akamai = !azure_only && (akamai_hint || contains_ci(value, "akamai") || says_from);
    let provider = if akamai {
        Provider::Akamai
    } else {
        Provider::AzureFrontDoor
    };
    let raw = if akamai {
        join_lines([lines(h, "x-cache"), lines(h, "x-cache-remote")])
    } else {
        lines(h, "x-cache")
    };
    Some(CacheStatus {
        provider,
        status: akamai_outcome(&code),
        raw,
        pop: if akamai { from_host(value) } else { None },
        age: None,
        hits: None,
    })
}

// ---------------------------------------------------------------------------------------------
// RFC 9211 Cache-Status

/// Split on `sep` where it is not inside a double-quoted string (structured-field strings).
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_q = false;
    let mut esc = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            '\\' if in_q => esc = true,
            '"' => in_q = !in_q,
            c if c == sep && !in_q => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else {
        s.to_string()
    }
}

fn rfc9211(h: &Headers) -> Option<CacheStatus> {
    let members: Vec<&str> = h
        .get_all("cache-status")
        .flat_map(|v| split_outside_quotes(v, ','))
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    // RFC 9211 §2: the last member is the cache closest to the user.
    let last = members.last()?;
    let mut parts = split_outside_quotes(last, ';').into_iter();
    let name = unquote(parts.next().unwrap_or(""));
    let (mut hit, mut fwd, mut fwd_status, mut ttl) = (false, None::<String>, None::<u16>, None);
    for p in parts {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (p.trim().to_ascii_lowercase(), None),
        };
        match k.as_str() {
            "hit" => hit = v.is_none_or(|v| v == "?1"),
            "fwd" => fwd = v.map(|v| unquote(v).to_ascii_lowercase()),
            "fwd-status" => fwd_status = v.and_then(|v| v.parse().ok()),
            "ttl" => ttl = v.and_then(|v| v.parse::<i64>().ok()),
            _ => {}
        }
    }
    let status = if hit {
        if ttl.is_some_and(|t| t < 0) {
            CacheOutcome::Stale
        } else {
            CacheOutcome::Hit
        }
    } else {
        match fwd.as_deref() {
            Some("uri-miss" | "vary-miss" | "miss" | "partial") => CacheOutcome::Miss,
            Some("stale") if fwd_status == Some(304) => CacheOutcome::RefreshHit,
            Some("stale") => CacheOutcome::Expired,
            Some("bypass" | "method" | "request") => CacheOutcome::Bypass,
            _ => CacheOutcome::Other,
        }
    };
    Some(CacheStatus {
        provider: Provider::CacheStatus,
        status,
        raw: lines(h, "cache-status"),
        pop: Some(name).filter(|n| !n.is_empty()),
        age: None,
        hits: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Squid, Varnish, Apache mod_cache; nginx

/// Which software wrote a plain `X-Cache: HIT from host`: the headers each one adds beside it.
fn x_cache_speaker(h: &Headers) -> Provider {
    if h.contains("x-cache-detail") {
        Provider::ApacheModCache
    } else if h.contains("x-cache-lookup") || h.get_all("via").any(|v| contains_ci(v, "squid")) {
        Provider::Squid
    } else if h.contains("x-varnish") || h.get_all("via").any(|v| contains_ci(v, "varnish")) {
        Provider::Varnish
    } else {
        Provider::XCacheGeneric
    }
}

fn generic_x_cache(h: &Headers) -> Option<CacheStatus> {
    let tiers = items(h, "x-cache");
    let last = tiers.last()?;
    let provider = x_cache_speaker(h);
    let raw = match provider {
        Provider::ApacheModCache => join_lines([lines(h, "x-cache"), lines(h, "x-cache-detail")]),
        Provider::Squid => join_lines([lines(h, "x-cache"), lines(h, "x-cache-lookup")]),
        Provider::Varnish => join_lines([lines(h, "x-cache"), lines(h, "x-varnish")]),
        _ => lines(h, "x-cache"),
    };
    Some(CacheStatus {
        provider,
        status: generic_outcome(first_word(last)),
        raw,
        pop: from_host(last),
        age: None,
        hits: items(h, "x-cache-hits")
            .last()
            .and_then(|v| v.parse::<u64>().ok()),
    })
}

fn nginx(h: &Headers) -> Option<CacheStatus> {
    let name = ["x-cache-status", "x-proxy-cache"]
        .into_iter()
        .find(|n| h.contains(n))?;
    let v = items(h, name).last().copied()?;
    Some(CacheStatus {
        provider: Provider::Nginx,
        status: generic_outcome(first_word(v)),
        raw: lines(h, name),
        pop: None,
        age: None,
        hits: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Varnish, plain and tiered

/// Plain Varnish says nothing in words: `X-Varnish` holds this request's transaction id, plus the
/// id of the request that stored the object when it came from cache (varnishd's
/// `http_PrintfHeader(req->resp, "X-Varnish: %ju %ju", ...)` on a hit). A single id is a miss or
/// a pass: Varnish does not say which (the findings tell a pass on `Cookie` apart).
fn varnish(h: &Headers) -> Option<CacheStatus> {
    let xv = h.get_all("x-varnish").last().map(str::trim);
    let via = h.get_all("via").any(|v| contains_ci(v, "varnish"));
    if xv.is_none() && !via {
        return None;
    }
    let status = match xv.map(|v| v.split_whitespace().count()) {
        Some(2..) => CacheOutcome::Hit,
        Some(1) => CacheOutcome::Miss,
        // `Via` alone: only `Age` says whether the object came from the cache.
        _ if h
            .get("age")
            .and_then(parse_u64_first)
            .is_some_and(|a| a > 0) =>
        {
            CacheOutcome::Hit
        }
        _ => CacheOutcome::None,
    };
    Some(CacheStatus {
        provider: Provider::Varnish,
        status,
        raw: join_lines([lines(h, "x-varnish"), lines(h, "via")]),
        pop: None,
        age: None,
        hits: None,
    })
}

/// Wikimedia's tiers each append `<host> [frontend ]<hit|miss|pass|int>[ (<hits>)]` to `X-Cache`;
/// the last item (the frontend) is what the client got.
fn tiered_varnish(h: &Headers) -> Option<CacheStatus> {
    let tiers = items(h, "x-cache");
    let last = tiers.last()?;
    let mut words = last.split_whitespace();
    let host = words.next()?;
    if generic_outcome(host) != CacheOutcome::Other {
        return None; // `HIT from host`: a status first, not a host
    }
    let mut word = words.next()?;
    if word.eq_ignore_ascii_case("frontend") || word.eq_ignore_ascii_case("backend") {
        word = words.next()?;
    }
    // 2015: `hit (3756)`; 2018 on: `hit/3756`.
    let (word, slash_hits) = match word.split_once('/') {
        Some((w, n)) => (w, n.parse::<u64>().ok()),
        None => (word, None),
    };
    let status = match word.to_ascii_lowercase().as_str() {
        "hit" | "hit-front" | "hit-local" | "hit-remote" => CacheOutcome::Hit,
        "miss" => CacheOutcome::Miss,
        "pass" | "hitpass" | "hit-for-pass" => CacheOutcome::Bypass,
        "int" => CacheOutcome::Generated,
        _ => return None,
    };
    let hits = slash_hits.or_else(|| {
        words
            .next()
            .and_then(|w| w.trim_start_matches('(').trim_end_matches(')').parse().ok())
    });
    Some(CacheStatus {
        provider: Provider::TieredVarnish,
        status,
        raw: lines(h, "x-cache"),
        pop: Some(host.to_string()),
        age: None,
        hits,
    })
}

// ---------------------------------------------------------------------------------------------
// Akamai's newer header, Vercel

/// `Akamai-Cache-Status: Miss from child, Hit from parent`: the child is the edge server that
/// answered the client, so its entry decides (the parent only filled the child's miss). Akamai's
/// `Server-Timing: cdn-cache; desc=HIT` (MISS, REVALIDATE) says the same for the edge.
fn akamai_cache_status(h: &Headers) -> Option<CacheStatus> {
    let entries = items(h, "akamai-cache-status");
    if entries.is_empty() {
        let desc = server_timing_metrics(h)
            .into_iter()
            .find(|(n, _)| n == "cdn-cache")
            .and_then(|(_, d)| d)?;
        let status = match desc.to_ascii_uppercase().as_str() {
            "HIT" => CacheOutcome::Hit,
            "MISS" => CacheOutcome::Miss,
            "REVALIDATE" | "REFRESH_HIT" => CacheOutcome::RefreshHit,
            _ => CacheOutcome::Other,
        };
        return Some(CacheStatus {
            provider: Provider::Akamai,
            status,
            raw: lines(h, "server-timing"),
            pop: None,
            age: None,
            hits: None,
        });
    }
    let child = entries
        .iter()
        .find(|e| contains_ci(e, "from child"))
        .unwrap_or(&entries[0]);
    let status = match first_word(child).to_ascii_lowercase().as_str() {
        "hit" => CacheOutcome::Hit,
        "miss" => CacheOutcome::Miss,
        "notcacheable" => CacheOutcome::Bypass,
        "refreshhit" => CacheOutcome::RefreshHit,
        "error" => CacheOutcome::Error,
        _ => CacheOutcome::Other,
    };
    Some(CacheStatus {
        provider: Provider::Akamai,
        status,
        raw: lines(h, "akamai-cache-status"),
        pop: None,
        age: None,
        hits: None,
    })
}

fn vercel(h: &Headers) -> Option<CacheStatus> {
    let v = items(h, "x-vercel-cache").last().copied()?;
    let status = match v.to_ascii_uppercase().as_str() {
        "HIT" | "PRERENDER" => CacheOutcome::Hit,
        "MISS" => CacheOutcome::Miss,
        "STALE" => CacheOutcome::Stale,
        "REVALIDATED" => CacheOutcome::RefreshHit,
        "BYPASS" => CacheOutcome::Bypass,
        _ => CacheOutcome::Other,
    };
    // `x-vercel-id: fra1::iad1::abcde-...`: the first segment is the edge region.
    let pop = h
        .get("x-vercel-id")
        .and_then(|id| id.split("::").next())
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && !p.contains('-'));
    Some(CacheStatus {
        provider: Provider::Vercel,
        status,
        raw: lines(h, "x-vercel-cache"),
        pop,
        age: None,
        hits: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(pairs: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.push(*n, *v);
        }
        h
    }

    fn p(pairs: &[(&str, &str)]) -> CacheStatus {
        parse(&hdrs(pairs))
    }

    #[test]
    fn cloudfront_every_documented_x_cache_value() {
        let cases = [
            ("Hit from cloudfront", CacheOutcome::Hit),
            ("RefreshHit from cloudfront", CacheOutcome::RefreshHit),
            ("Miss from cloudfront", CacheOutcome::Miss),
            ("Error from cloudfront", CacheOutcome::Error),
            ("LimitExceeded from cloudfront", CacheOutcome::LimitExceeded),
            ("Redirect from cloudfront", CacheOutcome::Redirect),
            (
                "FunctionGeneratedResponse from cloudfront",
                CacheOutcome::Generated,
            ),
            (
                "LambdaGeneratedResponse from cloudfront",
                CacheOutcome::Generated,
            ),
        ];
        for (value, want) in cases {
            let cs = p(&[("x-cache", value)]);
            assert_eq!(cs.provider, Provider::CloudFront, "{value}");
            assert_eq!(cs.status, want, "{value}");
            assert_eq!(
                cs.raw.as_deref(),
                Some(format!("x-cache: {value}").as_str())
            );
            // case-insensitive
            let cs = p(&[("X-Cache", &value.to_ascii_uppercase())]);
            assert_eq!(cs.status, want, "upper {value}");
            let cs = p(&[("x-cache", &value.to_ascii_lowercase())]);
            assert_eq!(cs.status, want, "lower {value}");
        }
    }

    #[test]
    fn cloudfront_unknown_value_is_other_and_kept_verbatim() {
        let cs = p(&[("X-Cache", "OriginShieldHit from cloudfront")]);
        assert_eq!(cs.provider, Provider::CloudFront);
        assert_eq!(cs.status, CacheOutcome::Other);
        assert_eq!(
            cs.raw.as_deref(),
            Some("X-Cache: OriginShieldHit from cloudfront")
        );
    }

    #[test]
    fn cloudfront_pop_age_and_via() {
        let cs = p(&[
            ("x-cache", "Hit from cloudfront"),
            ("x-amz-cf-pop", "FRA56-P1"),
            ("x-amz-cf-id", "abc=="),
            ("age", "42"),
            ("via", "1.1 0123456789abcdef.cloudfront.net (CloudFront)"),
        ]);
        assert_eq!(cs.status, CacheOutcome::Hit);
        assert_eq!(cs.pop.as_deref(), Some("FRA56-P1"));
        assert_eq!(cs.age, Some(42));
        assert!(cs.went_through_cdn());
    }

    #[test]
    fn cloudfront_via_alone_identifies_provider_without_status() {
        let cs = p(&[("Via", "1.1 abc.cloudfront.net (CloudFront)")]);
        assert_eq!(cs.provider, Provider::CloudFront);
        assert_eq!(cs.status, CacheOutcome::None);
        assert_eq!(
            cs.raw.as_deref(),
            Some("Via: 1.1 abc.cloudfront.net (CloudFront)")
        );
        assert!(cs.went_through_cdn());
    }

    #[test]
    fn cloudfront_server_timing() {
        for (metric, want) in [
            ("cdn-cache-hit", CacheOutcome::Hit),
            ("cdn-cache-miss", CacheOutcome::Miss),
            ("cdn-cache-refresh", CacheOutcome::RefreshHit),
        ] {
            let v = format!(
                "cdn-upstream-layer;desc=\"EDGE\",{metric},cdn-pop;desc=\"IAD89-C1\",cdn-rid;desc=\"a,b;c\",cdn-hit-layer;desc=\"REC\""
            );
            let cs = p(&[("server-timing", &v)]);
            assert_eq!(cs.provider, Provider::CloudFront, "{metric}");
            assert_eq!(cs.status, want, "{metric}");
            assert_eq!(cs.pop.as_deref(), Some("IAD89-C1"));
            assert!(cs.raw.unwrap().starts_with("server-timing: "));
        }
    }

    #[test]
    fn cloudfront_x_cache_wins_over_server_timing_and_x_amz_pop_over_cdn_pop() {
        let cs = p(&[
            ("server-timing", "cdn-cache-hit,cdn-pop;desc=\"XXX\""),
            ("x-cache", "Miss from cloudfront"),
            ("x-amz-cf-pop", "FRA56-P1"),
        ]);
        assert_eq!(cs.status, CacheOutcome::Miss);
        assert_eq!(cs.pop.as_deref(), Some("FRA56-P1"));
    }

    #[test]
    fn cloudfront_beats_origin_side_cache_headers() {
        // Varnish at the origin said MISS; CloudFront in front served a hit.
        let cs = p(&[
            ("X-Cache", "MISS"),
            ("X-Cache", "Hit from cloudfront"),
            ("X-Cache-Status", "MISS"),
        ]);
        assert_eq!(cs.provider, Provider::CloudFront);
        assert_eq!(cs.status, CacheOutcome::Hit);
        assert_eq!(cs.raw.as_deref(), Some("X-Cache: Hit from cloudfront"));
    }

    #[test]
    fn rfc9211_single_and_layered() {
        let cases = [
            ("ExampleCache; hit", CacheOutcome::Hit),
            ("ExampleCache; hit; ttl=376", CacheOutcome::Hit),
            ("ExampleCache; hit; ttl=-412", CacheOutcome::Stale),
            ("ExampleCache; fwd=uri-miss", CacheOutcome::Miss),
            ("ExampleCache; fwd=vary-miss", CacheOutcome::Miss),
            ("ExampleCache; fwd=miss; stored", CacheOutcome::Miss),
            (
                "ExampleCache; fwd=stale; fwd-status=304",
                CacheOutcome::RefreshHit,
            ),
            (
                "ExampleCache; fwd=stale; fwd-status=200",
                CacheOutcome::Expired,
            ),
            ("ExampleCache; fwd=bypass", CacheOutcome::Bypass),
            ("ExampleCache; fwd=request", CacheOutcome::Bypass),
            ("ExampleCache; fwd=method", CacheOutcome::Bypass),
            ("ExampleCache; detail=weird", CacheOutcome::Other),
        ];
        for (v, want) in cases {
            let cs = p(&[("Cache-Status", v)]);
            assert_eq!(cs.provider, Provider::CacheStatus, "{v}");
            assert_eq!(cs.status, want, "{v}");
            assert_eq!(cs.pop.as_deref(), Some("ExampleCache"));
        }
        // RFC 9211 §3 example: origin-side cache hit earlier, CDN (closest to user) hit now.
        let cs = p(&[(
            "cache-status",
            "OriginCache; hit; ttl=1100, \"CDN Company Here\"; hit; ttl=545",
        )]);
        assert_eq!(cs.status, CacheOutcome::Hit);
        assert_eq!(cs.pop.as_deref(), Some("CDN Company Here"));
        // Closest to the user is last, also across separate header lines.
        let cs = p(&[
            ("Cache-Status", "ReverseProxyCache; hit"),
            (
                "Cache-Status",
                "ForwardProxyCache; fwd=uri-miss; collapsed; stored",
            ),
        ]);
        assert_eq!(cs.status, CacheOutcome::Miss);
        assert_eq!(cs.pop.as_deref(), Some("ForwardProxyCache"));
        assert_eq!(
            cs.raw.as_deref(),
            Some(
                "Cache-Status: ReverseProxyCache; hit\nCache-Status: ForwardProxyCache; fwd=uri-miss; collapsed; stored"
            )
        );
        // hit=?0 is not a hit.
        assert_eq!(
            p(&[("cache-status", "C; hit=?0; fwd=uri-miss")]).status,
            CacheOutcome::Miss
        );
    }

    #[test]
    fn cloudflare_values_and_pop_from_ray() {
        let cases = [
            ("HIT", CacheOutcome::Hit),
            ("MISS", CacheOutcome::Miss),
            ("EXPIRED", CacheOutcome::Expired),
            ("STALE", CacheOutcome::Stale),
            ("BYPASS", CacheOutcome::Bypass),
            ("DYNAMIC", CacheOutcome::Bypass),
            ("REVALIDATED", CacheOutcome::RefreshHit),
            ("UPDATING", CacheOutcome::Stale),
            ("NONE/UNKNOWN", CacheOutcome::Generated),
            ("SOMETHINGNEW", CacheOutcome::Other),
        ];
        for (v, want) in cases {
            let cs = p(&[("cf-cache-status", v), ("cf-ray", "8a1b2c3d4e5f6789-FRA")]);
            assert_eq!(cs.provider, Provider::Cloudflare, "{v}");
            assert_eq!(cs.status, want, "{v}");
            assert_eq!(cs.pop.as_deref(), Some("FRA"));
            assert_eq!(cs.raw, Some(format!("cf-cache-status: {v}")));
        }
        let cs = p(&[("CF-RAY", "8a1b2c3d4e5f6789-SIN")]);
        assert_eq!(cs.provider, Provider::Cloudflare);
        assert_eq!(cs.status, CacheOutcome::None);
        assert_eq!(cs.pop.as_deref(), Some("SIN"));
    }

    #[test]
    fn fastly_tiers_outermost_is_last() {
        let cs = p(&[
            ("x-cache", "MISS, HIT"),
            (
                "x-served-by",
                "cache-iad-kiad7000025-IAD, cache-fra-etou8220023-FRA",
            ),
            ("x-cache-hits", "0, 3"),
            ("x-timer", "S1700000000.1,VS0,VE1"),
        ]);
        assert_eq!(cs.provider, Provider::Fastly);
        assert_eq!(cs.status, CacheOutcome::Hit);
        assert_eq!(cs.pop.as_deref(), Some("cache-fra-etou8220023-FRA"));
        assert_eq!(cs.hits, Some(3));
        assert_eq!(
            cs.raw.as_deref(),
            Some(
                "x-cache: MISS, HIT\nx-served-by: cache-iad-kiad7000025-IAD, cache-fra-etou8220023-FRA"
            )
        );

        let cs = p(&[
            ("x-cache", "HIT, MISS"),
            ("x-served-by", "cache-iad-1-IAD, cache-lhr-2-LHR"),
        ]);
        assert_eq!(cs.status, CacheOutcome::Miss);
        let cs = p(&[("x-cache", "MISS"), ("x-served-by", "cache-lhr-2-LHR")]);
        assert_eq!(cs.status, CacheOutcome::Miss);
        assert_eq!(cs.hits, None);
    }

    #[test]
    fn akamai_codes_and_host() {
        let cases = [
            ("TCP_HIT", CacheOutcome::Hit),
            ("TCP_MEM_HIT", CacheOutcome::Hit),
            ("TCP_IMS_HIT", CacheOutcome::Hit),
            ("TCP_NEGATIVE_HIT", CacheOutcome::Hit),
            ("TCP_MISS", CacheOutcome::Miss),
            ("TCP_REFRESH_HIT", CacheOutcome::RefreshHit),
            ("TCP_REFRESH_MISS", CacheOutcome::Miss),
            ("TCP_REFRESH_FAIL_HIT", CacheOutcome::Stale),
            ("TCP_DENIED", CacheOutcome::Denied),
            ("TCP_COOKIE_DENY", CacheOutcome::Denied),
            ("TCP_SOMETHING", CacheOutcome::Other),
        ];
        for (code, want) in cases {
            let v = format!("{code} from a69-174-50-208 (AkamaiGHost/5.7.2-5726413) (-)");
            let cs = p(&[("X-Cache", &v)]);
            assert_eq!(cs.provider, Provider::Akamai, "{code}");
            assert_eq!(cs.status, want, "{code}");
            assert_eq!(cs.pop.as_deref(), Some("a69-174-50-208"));
        }
        let cs = p(&[
            ("X-Cache", "TCP_MISS from a1 (AkamaiGHost/1) (-)"),
            ("X-Cache-Remote", "TCP_HIT from a2 (AkamaiGHost/1) (-)"),
        ]);
        assert_eq!(cs.status, CacheOutcome::Miss, "edge (closest to user) wins");
        assert!(cs.raw.unwrap().contains("X-Cache-Remote: TCP_HIT"));
        // Bare TCP_HIT but Akamai debug headers present.
        let cs = p(&[("x-cache", "TCP_HIT"), ("x-check-cacheable", "YES")]);
        assert_eq!(cs.provider, Provider::Akamai);
    }

    #[test]
    fn azure_front_door_codes() {
        let cases = [
            ("TCP_HIT", CacheOutcome::Hit),
            ("TCP_REMOTE_HIT", CacheOutcome::Hit),
            ("TCP_MISS", CacheOutcome::Miss),
            ("CONFIG_NOCACHE", CacheOutcome::Bypass),
            ("PRIVATE_NOSTORE", CacheOutcome::Bypass),
            ("UNCACHEABLE", CacheOutcome::Bypass),
        ];
        for (code, want) in cases {
            let cs = p(&[("x-cache", code)]);
            assert_eq!(cs.provider, Provider::AzureFrontDoor, "{code}");
            assert_eq!(cs.status, want, "{code}");
            assert_eq!(cs.raw, Some(format!("x-cache: {code}")));
        }
        let cs = p(&[("x-cache", "N/A"), ("x-azure-ref", "0abc")]);
        assert_eq!(cs.provider, Provider::AzureFrontDoor);
        assert_eq!(cs.status, CacheOutcome::Denied);
        let cs = p(&[
            ("x-cache", "TCP_HIT"),
            ("x-azure-ref", "20240101T000000Z-abc"),
        ]);
        assert_eq!(cs.provider, Provider::AzureFrontDoor);
    }

    #[test]
    fn generic_x_cache_squid_varnish_apache() {
        let cases = [
            (
                "HIT from proxy.example.com",
                CacheOutcome::Hit,
                Some("proxy.example.com"),
            ),
            (
                "MISS from proxy.example.com",
                CacheOutcome::Miss,
                Some("proxy.example.com"),
            ),
            (
                "REVALIDATE from www.example.com",
                CacheOutcome::RefreshHit,
                Some("www.example.com"),
            ),
            (
                "BYPASS from www.example.com",
                CacheOutcome::Bypass,
                Some("www.example.com"),
            ),
            ("HIT", CacheOutcome::Hit, None),
            ("MISS", CacheOutcome::Miss, None),
            ("WHATEVER", CacheOutcome::Other, None),
        ];
        for (v, want, pop) in cases {
            let cs = p(&[("X-Cache", v)]);
            assert_eq!(cs.provider, Provider::XCacheGeneric, "{v}");
            assert_eq!(cs.status, want, "{v}");
            assert_eq!(cs.pop.as_deref(), pop, "{v}");
        }
        // A chain of two Varnish layers: closest to the user is last.
        let cs = p(&[("x-cache", "MISS, HIT"), ("x-cache-hits", "0, 5")]);
        assert_eq!(cs.provider, Provider::XCacheGeneric);
        assert_eq!(cs.status, CacheOutcome::Hit);
        assert_eq!(cs.hits, Some(5));
    }

    #[test]
    fn nginx_x_cache_status() {
        let cases = [
            ("HIT", CacheOutcome::Hit),
            ("MISS", CacheOutcome::Miss),
            ("EXPIRED", CacheOutcome::Expired),
            ("BYPASS", CacheOutcome::Bypass),
            ("STALE", CacheOutcome::Stale),
            ("UPDATING", CacheOutcome::Stale),
            ("REVALIDATED", CacheOutcome::RefreshHit),
        ];
        for (v, want) in cases {
            let cs = p(&[("X-Cache-Status", v)]);
            assert_eq!(cs.provider, Provider::Nginx, "{v}");
            assert_eq!(cs.status, want, "{v}");
        }
    }

    #[test]
    fn age_only_and_nothing() {
        let cs = p(&[("Age", "17"), ("Content-Type", "text/css")]);
        assert_eq!(cs.provider, Provider::AgeOnly);
        assert_eq!(cs.status, CacheOutcome::Hit);
        assert_eq!(cs.age, Some(17));
        assert_eq!(cs.raw.as_deref(), Some("Age: 17"));
        assert!(cs.went_through_cdn());

        let cs = p(&[("Age", "0")]);
        assert_eq!(cs.provider, Provider::None);
        assert_eq!(cs.age, Some(0));
        assert!(!cs.went_through_cdn());

        let cs = p(&[("Age", "soon")]);
        assert_eq!(cs.provider, Provider::None);
        assert_eq!(cs.age, None);

        let cs = p(&[]);
        assert_eq!(cs, CacheStatus::default());
        assert!(!cs.went_through_cdn());
    }

    #[test]
    fn serde_names_are_snake_case() {
        let cs = p(&[("x-cache", "RefreshHit from cloudfront"), ("age", "3")]);
        let v = serde_json::to_value(&cs).unwrap();
        assert_eq!(v["provider"], "cloudfront");
        assert_eq!(v["status"], "refresh_hit");
        assert_eq!(v["age"], 3);
        let back: CacheStatus = serde_json::from_value(v).unwrap();
        assert_eq!(back, cs);
        assert_eq!(
            serde_json::to_value(Provider::AzureFrontDoor).unwrap(),
            "azure_front_door"
        );
        assert_eq!(
            serde_json::to_value(CacheOutcome::LimitExceeded).unwrap(),
            "limit_exceeded"
        );
        assert_eq!(CacheOutcome::LimitExceeded.to_string(), "limit_exceeded");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(
            pairs in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        proptest::strategy::Just("x-cache".to_string()),
                        proptest::strategy::Just("cache-status".to_string()),
                        proptest::strategy::Just("server-timing".to_string()),
                        proptest::strategy::Just("cf-ray".to_string()),
                        proptest::strategy::Just("cf-cache-status".to_string()),
                        proptest::strategy::Just("x-served-by".to_string()),
                        proptest::strategy::Just("x-cache-hits".to_string()),
                        proptest::strategy::Just("age".to_string()),
                        proptest::strategy::Just("via".to_string()),
                        "[a-zA-Z-]{1,12}",
                    ],
                    "\\PC{0,40}|[ ,;=\"\\\\a-zA-Z0-9_/-]{0,40}",
                ),
                0..6,
            )
        ) {
            let mut h = Headers::new();
            for (n, v) in pairs {
                h.push(n, v);
            }
            let cs = parse(&h);
            let _ = cs.went_through_cdn();
        }
    }

    #[test]
    fn fastly_tiers_the_edge_nearest_the_client_decides() {
        let cs = p(&[
            ("x-cache", "MISS, HIT"),
            (
                "x-served-by",
                "cache-iad-kiad7000025-IAD, cache-fra-etou8220023-FRA",
            ),
            ("x-cache-hits", "0, 3"),
        ]);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::Fastly, CacheOutcome::Hit)
        );
        assert_eq!(cs.pop.as_deref(), Some("cache-fra-etou8220023-FRA"));
        assert_eq!(cs.hits, Some(3));
        // The same tiers as two header lines (a HAR export joins them with a newline).
        let cs = p(&[
            ("x-cache", "MISS\nHIT"),
            ("x-served-by", "cache-a, cache-b"),
        ]);
        assert_eq!(cs.status, CacheOutcome::Hit);
        let cs = p(&[
            ("x-cache", "HIT, MISS"),
            ("x-served-by", "cache-a, cache-b"),
        ]);
        assert_eq!(cs.status, CacheOutcome::Miss);
    }

    #[test]
    fn wikimedia_tiers_the_frontend_decides() {
        let cs = p(&[("x-cache", "cp1055 hit (1), cp1065 frontend hit (3756)")]);
        assert_eq!(cs.provider, Provider::TieredVarnish);
        assert_eq!(cs.status, CacheOutcome::Hit);
        assert_eq!(cs.pop.as_deref(), Some("cp1065"));
        assert_eq!(cs.hits, Some(3756));
        let cs = p(&[("x-cache", "cp1055 hit (1), cp1065 frontend miss (0)")]);
        assert_eq!(cs.status, CacheOutcome::Miss);
        let cs = p(&[("x-cache", "cp3050 miss, cp3050 pass")]);
        assert_eq!(cs.status, CacheOutcome::Bypass);
        let cs = p(&[("x-cache", "cp1075 int")]);
        assert_eq!(cs.status, CacheOutcome::Generated);
        // 2018 on: `hit/N`, four tiers, beside X-Varnish (which must not win: it is a tier's).
        let cs = p(&[
            (
                "x-cache",
                "cp1066 hit/9, cp2013 hit/2, cp5009 hit/3, cp5008 hit/35838",
            ),
            ("x-cache-status", "hit-front"),
            ("x-varnish", "923309418 1"),
        ]);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::TieredVarnish, CacheOutcome::Hit)
        );
        assert_eq!(cs.hits, Some(35838));
        assert_eq!(
            p(&[("x-cache", "cp3072 miss, cp3072 hit/17254")]).status,
            CacheOutcome::Hit
        );
    }

    #[test]
    fn plain_varnish_reads_the_x_varnish_pair() {
        let hit = p(&[
            ("x-varnish", "32772 3"),
            ("via", "1.1 varnish (Varnish/7.1)"),
            ("age", "12"),
        ]);
        assert_eq!(
            (hit.provider, hit.status),
            (Provider::Varnish, CacheOutcome::Hit)
        );
        assert_eq!(hit.age, Some(12));
        assert_eq!(
            hit.raw.as_deref(),
            Some("x-varnish: 32772 3\nvia: 1.1 varnish (Varnish/7.1)")
        );
        let miss = p(&[
            ("x-varnish", "5"),
            ("via", "1.1 host (Varnish/7.1)"),
            ("age", "0"),
        ]);
        assert_eq!(
            (miss.provider, miss.status),
            (Provider::Varnish, CacheOutcome::Miss)
        );
        let via_only = p(&[("Via", "1.1 varnish (Varnish/6.0)")]);
        assert_eq!(via_only.provider, Provider::Varnish);
        assert_eq!(via_only.status, CacheOutcome::None);
        assert!(via_only.went_through_cdn());
        let via_aged = p(&[("Via", "1.1 varnish (Varnish/6.0)"), ("Age", "30")]);
        assert_eq!(via_aged.status, CacheOutcome::Hit);
    }

    #[test]
    fn apache_squid_and_unknown_x_cache_are_told_apart() {
        let apache = p(&[
            ("X-Cache", "HIT from 127.0.0.1"),
            ("X-Cache-Detail", "\"cache hit\" from 127.0.0.1"),
        ]);
        assert_eq!(
            (apache.provider, apache.status),
            (Provider::ApacheModCache, CacheOutcome::Hit)
        );
        assert!(apache.raw.as_deref().unwrap().contains("X-Cache-Detail"));
        let revalidated = p(&[
            ("X-Cache", "REVALIDATE from h"),
            (
                "X-Cache-Detail",
                "\"conditional cache hit: entity refreshed\" from h",
            ),
        ]);
        assert_eq!(revalidated.status, CacheOutcome::RefreshHit);
        let squid = p(&[
            ("X-Cache", "MISS from proxy"),
            ("X-Cache-Lookup", "MISS from proxy:3128"),
            ("Via", "1.1 proxy (squid/5.7)"),
        ]);
        assert_eq!(
            (squid.provider, squid.status),
            (Provider::Squid, CacheOutcome::Miss)
        );
        assert_eq!(squid.pop.as_deref(), Some("proxy"));
        let unknown = p(&[("X-Cache", "HIT from somewhere")]);
        assert_eq!(unknown.provider, Provider::XCacheGeneric);
    }

    #[test]
    fn akamai_cache_status_the_child_decides() {
        let cs = p(&[("Akamai-Cache-Status", "Miss from child, Hit from parent")]);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::Akamai, CacheOutcome::Miss)
        );
        let cs = p(&[("Akamai-Cache-Status", "Hit from child")]);
        assert_eq!(cs.status, CacheOutcome::Hit);
        let cs = p(&[("Akamai-Cache-Status", "NotCacheable from child")]);
        assert_eq!(cs.status, CacheOutcome::Bypass);
        // ferguson.com's HAR: chrome-har joins the two Server-Timing lines with a newline.
        let cs = p(&[("server-timing", "cdn-cache; desc=HIT\nedge; dur=1")]);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::Akamai, CacheOutcome::Hit)
        );
        let cs = p(&[(
            "server-timing",
            "cdn-cache; desc=MISS, edge; dur=10, origin; dur=80",
        )]);
        assert_eq!(cs.status, CacheOutcome::Miss);
    }

    #[test]
    fn vercel_and_nginx_conventions() {
        let cs = p(&[
            ("x-vercel-cache", "PRERENDER"),
            ("x-vercel-id", "fra1::iad1::abc-123"),
        ]);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::Vercel, CacheOutcome::Hit)
        );
        assert_eq!(cs.pop.as_deref(), Some("fra1"));
        assert_eq!(p(&[("x-vercel-cache", "MISS")]).status, CacheOutcome::Miss);
        let cs = p(&[("X-Proxy-Cache", "HIT")]);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::Nginx, CacheOutcome::Hit)
        );
        let cs = p(&[("X-Cache-Status", "EXPIRED")]);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::Nginx, CacheOutcome::Expired)
        );
    }
}
