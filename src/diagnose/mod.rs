//! Findings: what is wrong, the evidence (URLs and exact header lines), and the fix.
//!
//! Capturing headers is what DevTools already does; this stage says *why*. Each finding has a
//! stable id from [`CATALOGUE`] (pipelines and `diff` track ids across runs), a severity, the
//! exact header lines that prove it, and the fix on both sides: CloudFront, and Jira/Confluence or
//! the proxy in front of them. The README's findings table is generated from the catalogue
//! ([`catalogue_markdown`]) and a test keeps the two equal.
//!
//! One module per family, one function per finding, each reading only the classified
//! `Record`s and the `Distribution` (when known): the same code runs on a live capture, a
//! HAR and repeat loads. [`lint`] is the config-only counterpart (`check-config`), [`health`]
//! reads Atlassian's own CDN health check.
//!
//! Severity policy: `error` breaks the site or leaks data (fonts that 502, CORS failures, edge
//! errors, per-user responses served from the edge cache) and fails the run (exit 1); `warn`
//! explains why caching does not work (never-hit causes); verification's `NEVER_HITS` verdict is
//! what fails a run for those, so a finding here never double-counts; `info` is context.

pub mod caches;
pub mod cookies;
pub mod errors;
pub mod evidence;
pub mod headers;
pub mod health;
pub mod lint;
pub(crate) mod lint_fix;
pub mod observed;
pub mod paths;
#[cfg(test)]
pub(crate) mod testkit;
pub mod websockets;

use serde::{Deserialize, Serialize};

use crate::classify::Distribution;
use crate::classify::Record;
use crate::classify::Serving;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One piece of evidence: a URL and the header lines (or other facts) that show the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    pub url: String,
    /// Exact header lines (`Expires: ...`, `Set-Cookie: AWSALB=<redacted:1a2b3c4d>; ...`) or facts.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// Stable id, e.g. `expires-before-date`, `rotating-cookie-in-key` (see the README's table).
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// Behavior pattern it concerns, if any (e.g. `/s/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<String>,
    /// Why this matters, in a sentence or two, with the numbers of this run.
    #[serde(default)]
    pub explanation: String,
    pub evidence: Vec<Evidence>,
    /// What to change: `CloudFront: ...` and `Jira/Confluence/proxy: ...`.
    pub fix: String,
    /// Where the configuration writes what the finding is about (check-config): file and line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<crate::cloudfront::behavior::SourceRef>,
    /// The CloudFront side of the fix written in the configuration's own format (TOML,
    /// get-distribution-config JSON, CloudFormation YAML/JSON, Terraform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_fix: Option<String>,
}

/// Where a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The captured exchanges (`run`, `analyze`).
    Capture,
    /// Atlassian's `/rest/static-asset-caching/health-checks` (`run` against a real instance).
    HealthCheck,
    /// The behaviors alone (`check-config`).
    Config,
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// The fix on the CloudFront side.
    pub cloudfront: &'static str,
    /// The fix on the Jira/Confluence or proxy (ALB, Apache, nginx) side.
    pub origin: &'static str,
    pub source: Source,
}

impl Spec {
    pub fn fix(&self) -> String {
        format!(
            "CloudFront: {} Jira/Confluence/proxy: {}",
            self.cloudfront, self.origin
        )
    }

    /// A finding of this kind with the catalogue's title and fix.
    pub fn finding(
        &self,
        behavior: Option<String>,
        explanation: impl Into<String>,
        evidence: Vec<Evidence>,
    ) -> Finding {
        Finding {
            id: self.id.to_string(),
            severity: self.severity,
            title: self.title.to_string(),
            behavior,
            explanation: explanation.into(),
            evidence,
            fix: self.fix(),
            location: None,
            config_fix: None,
        }
    }
}

macro_rules! spec {
    ($name:ident, $id:literal, $sev:ident, $src:ident, $title:literal, cf: $cf:literal, origin: $origin:literal) => {
        pub const $name: Spec = Spec {
            id: $id,
            severity: Severity::$sev,
            title: $title,
            cloudfront: $cf,
            origin: $origin,
            source: Source::$src,
        };
    };
}

/// The catalogue, one constant per finding id.
pub mod ids {
    use super::{Severity, Source, Spec};

    spec!(EXPIRES_BEFORE_DATE, "expires-before-date", Warn, Capture,
        "Expires at or before Date, no max-age: the edge takes static responses as already stale",
        cf: "set MinTTL > 0 on the behavior (e.g. 86400 on /s/*) so CloudFront stores them whatever Expires says (with MinTTL 0 a behavior forwarding no cookies only revalidates them on every load, RefreshHit at best; one forwarding cookies cannot revalidate and misses every time).",
        origin: "send `Cache-Control: public, max-age=31536000` on versioned /s/ resources (max-age beats Expires), or unset Expires for /s/ in the proxy (Apache `Header unset Expires`, nginx `expires 1y;` in `location /s/`).");
    spec!(SET_COOKIE_ON_CACHEABLE, "set-cookie-on-cacheable", Warn, Capture,
        "Set-Cookie on a response the edge caches",
        cf: "forward no cookies on static behaviors (CloudFront then strips Set-Cookie instead of caching it and replaying it to every viewer).",
        origin: "do not set cookies on static responses: turn off load-balancer stickiness for the target the CDN uses (Atlassian recommends a separate internet-facing load balancer for the CDN), and keep the app or proxy from issuing cookies on /s/.");
    spec!(ROTATING_COOKIE_IN_KEY, "rotating-cookie-in-key", Warn, Capture,
        "A cookie that rotates on every response is in the cache key: every request is a new key, never a Hit",
        cf: "stop forwarding cookies on this behavior (Forward Cookies = None, or a cache policy without cookies); static resources need none. If some cookie must be forwarded, whitelist it by name and leave AWSALB/AWSALBCORS out.",
        origin: "ALB stickiness rewrites AWSALB/AWSALBCORS on every response: disable stickiness on the target group the CDN reaches, or enable Jira 8.3+/Confluence 7.0+ CDN support (jira.fixed.cdn.prefix) so static URLs go to a cookie-less CDN host.");
    spec!(NO_CACHE_ON_STATIC, "no-cache-on-static", Warn, Capture,
        "Static resource sent with no-cache, no-store or private: the edge does not store it",
        cf: "MinTTL > 0 on the behavior makes CloudFront store it anyway (for MinTTL seconds).",
        origin: "send `Cache-Control: public, max-age=31536000` on versioned static resources; remove the proxy rule that adds no-cache/no-store/private to every path.");
    spec!(QUERY_STRING_CHANGES, "query-string-changes", Warn, Capture,
        "A query parameter changes between loads on a behavior that caches on all query strings",
        cf: "cache on a whitelist of query strings (e.g. only `locale` on /s/*) instead of all of them.",
        origin: "find what appends the changing parameter to static URLs (a plugin, a proxy rewrite, jQuery `cache: false`) and stop it for static resources.");
    spec!(VARY_UNFORWARDED, "vary-unforwarded", Warn, Capture,
        "Vary names a header outside the behavior's cache key: CloudFront ignores it and serves one variant to everyone",
        cf: "whitelist the header in the behavior's cache key (cache policy headers) if the content really varies on it (e.g. Origin for CORS).",
        origin: "drop the header from Vary if the response does not depend on it.");
    spec!(VARY_STAR, "vary-star", Warn, Capture,
        "Vary: * on a cacheable response: no cache may reuse it",
        cf: "nothing to set: the origin must stop sending it.",
        origin: "remove `Vary: *` (list the request headers the response really depends on, usually none or Accept-Encoding).");
    spec!(FONT_502, "font-502", Error, Capture,
        "Font answered 502 by the edge",
        cf: "the edge cannot talk to the origin: check the origin's TLS certificate is valid for the origin domain name (not only the CloudFront alias), not expired or self-signed, shares a protocol and cipher, and that the origin port and protocol policy are right. A 502 is cached for the greater of its max-age and the error caching minimum TTL (10 s unless CustomErrorResponses sets it for 502): set it to 0 while fixing.",
        origin: "make the proxy serve font files on the path the edge requests (MIME types, WAF rules, size limits) and check its access log for the edge's requests.");
    spec!(EDGE_ERROR, "edge-error", Error, Capture,
        "Error response from the edge or origin (5xx, Error from cloudfront)",
        cf: "502/504 from the edge: origin unreachable (TLS certificate for the origin domain, protocol/cipher, port, timeouts); 403: method not allowed by the behavior or WAF; 404, 414 and 5xx are cached (400, 403, 405, 412 and 415 only with max-age/s-maxage, 416 never) for the greater of max-age and the error caching minimum TTL (10 s, or per code in CustomErrorResponses); an expired copy is served instead of a 5xx when the edge has one.",
        origin: "check the node and proxy logs for the failing URLs; a 5xx from the origin is the application's.");
    spec!(CORS_BLOCKED, "cors-blocked", Error, Capture,
        "CORS failure: the browser refused a cross-origin response",
        cf: "whitelist the `Origin` header on the behavior (in the cache key) so the origin sees it and each site origin gets its own cached answer; for preflights also `Access-Control-Request-Headers` and `Access-Control-Request-Method`, and allow OPTIONS.",
        origin: "answer with `Access-Control-Allow-Origin` for the site's origin on fonts and other cross-origin resources (Jira 8.3+/Confluence 7.0+ do when Origin reaches them; otherwise add it in the proxy for /s/).");
    spec!(CORS_ORIGIN_NOT_IN_KEY, "cors-origin-not-in-key", Error, Capture,
        "A cached CORS answer made for another origin: Origin reaches the origin but is not in the cache key",
        cf: "put `Origin` in the cache key of the behavior (legacy: whitelist the header; cache policy: include it) so each site origin gets its own cached answer, or attach a response headers policy with CORS (managed SimpleCORS or CORS-With-Preflight) so CloudFront writes Access-Control-Allow-Origin itself; then invalidate the affected paths.",
        origin: "for fonts and other public static files answer `Access-Control-Allow-Origin: *` (no credentials needed), which one cached object can serve to every origin; `Vary: Origin` does not help: CloudFront keeps one object per cache key whatever Vary says.");
    spec!(WEBSOCKET_FAILED, "websocket-failed", Error, Capture,
        "WebSocket refused at the upgrade or by the server after it (Synchrony: collaborative editing falls back to XHR or breaks)",
        cf: "a behavior for `<context>/synchrony/*` above the default: all methods, CachingDisabled, and an origin request policy forwarding all viewer headers (AllViewer) or at least `Sec-WebSocket-Key` and `Sec-WebSocket-Version` (plus `Sec-WebSocket-Protocol`/`-Extensions`), with cookies and query strings; CloudFront passes the upgrade only when those reach the origin.",
        origin: "ALB: a listener rule `/synchrony/*` to the Synchrony target group (port 8091, health check `/synchrony/heartbeat`) with stickiness on, and an idle timeout longer than the editor stays quiet (60 s or more); a proxy in between must pass the upgrade (nginx `proxy_http_version 1.1` with `Upgrade`/`Connection` headers, Apache `mod_proxy_wstunnel`).");
    spec!(TLS_ERROR, "tls-error", Error, Capture,
        "TLS failure: the browser refused the certificate or the handshake",
        cf: "the viewer certificate must cover every alternate domain name the site and its CDN host use, chain to a public CA (ACM, in us-east-1), be unexpired, and the security policy must allow the browser's TLS versions. (TLS trouble between CloudFront and the origin shows as a 502, not here.)",
        origin: "for hosts the browser reaches directly (the node, a separate static host): a certificate valid for the host name with its full chain. On a UAT site with a private CA, probe with --insecure: the problem is then reported as tls-certificate-ignored instead of stopping the page.");
    spec!(TLS_IGNORED, "tls-certificate-ignored", Warn, Capture,
        "Certificate errors were ignored (--insecure): browsers would refuse this host",
        cf: "attach a certificate (ACM) that covers the host name before real users arrive.",
        origin: "install a certificate valid for the host name with its full chain; --insecure is for probing a UAT site, never the answer for production.");
    spec!(STATIC_BYPASSES_CDN, "static-bypasses-cdn", Warn, Capture,
        "Static resource loaded without going through the CDN",
        cf: "make sure the host the page uses for static resources points at the distribution, and that a behavior covers the path.",
        origin: "enable CDN support (jira.fixed.cdn.enabled + jira.fixed.cdn.prefix, Confluence's CDN setting) or fix the base URL / proxyName so pages reference the CDN host; no plugin should hard-code the node's host.");
    spec!(SHORT_TTL_VERSIONED, "short-ttl-versioned", Warn, Capture,
        "Versioned /s/ resource cached at the edge for less than a day",
        cf: "raise MinTTL (e.g. 86400) or MaxTTL on the /s/* behavior: /s/ URLs are versioned, so a year is safe.",
        origin: "send `Cache-Control: public, max-age=31536000` on versioned /s/ resources.");
    spec!(DYNAMIC_CACHED, "dynamic-cached", Error, Capture,
        "Dynamic or authenticated response served from the edge cache (one user's page can reach another)",
        cf: "the behavior serving pages and REST must not cache: CachingDisabled (or TTL 0/0/0, or all headers forwarded), never MinTTL > 0, and never cookies forwarded that the cache key leaves out; then invalidate /*.",
        origin: "keep `Cache-Control: no-cache, no-store` (or private) on pages and REST; make sure the proxy does not override it.");
    spec!(SESSION_COOKIE_CACHED, "session-cookie-cached", Error, Capture,
        "A session cookie was replayed from the edge cache",
        cf: "do not cache responses that set cookies: forward no cookies on caching behaviors (CloudFront strips Set-Cookie then); invalidate the affected paths now.",
        origin: "never set session cookies on cacheable responses; expire the sessions that were replayed (log those users out).");
    spec!(CACHE_PASSES_COOKIES, "cache-passes-cookies", Warn, Capture,
        "Varnish passes requests that carry cookies: static resources are never cached for logged-in users",
        cf: "not CloudFront: the cache that answered is Varnish (the finding's fix is in VCL).",
        origin: "in vcl_recv, `unset req.http.Cookie` (and Authorization) for static paths (/s/, /download/resources/).");
    spec!(CACHE_REFUSES_SET_COOKIE, "cache-refuses-set-cookie", Warn, Capture,
        "Varnish or nginx does not store static responses that set cookies",
        cf: "not CloudFront: the cache that answered is Varnish or nginx (the finding's fix is in its configuration).",
        origin: "stop setting cookies on static responses; or Varnish `unset beresp.http.Set-Cookie` / nginx `proxy_ignore_headers Set-Cookie; proxy_hide_header Set-Cookie;` on static paths only.");
    spec!(REQUEST_NO_CACHE_OBEYED, "request-no-cache-obeyed", Info, Capture,
        "Apache mod_cache or Squid obeyed the request's no-cache: the misses come from how the capture was recorded",
        cf: "not CloudFront (CloudFront ignores the viewer's no-cache).",
        origin: "record HARs in a fresh private window with the cache on; Apache `CacheIgnoreCacheControl On` / Squid `ignore-reload` serve from cache anyway.");
    spec!(BROWSER_CACHE_REPLAY, "browser-cache-replay", Info, Capture,
        "Responses replayed from the browser's own cache: their headers are old and prove nothing about the CDN",
        cf: "nothing to change.",
        origin: "nothing to change; for a HAR, record it in a fresh private window (empty cache, cache on) rather than with DevTools' \"Disable cache\", whose no-cache request headers Apache and Squid obey (cdnprobe starts every journey with an empty cache and leaves these responses out).");
    spec!(POP_CHANGE_MISS, "pop-change-miss", Info, Capture,
        "Miss explained by a different edge location (POP): each POP has its own cache",
        cf: "normal; Origin Shield gives the POPs one shared regional cache if the origin load matters.",
        origin: "nothing to change.");
    spec!(CACHE_KEY_TOO_NARROW, "cache-key-too-narrow", Warn, Capture,
        "A query parameter varies on a path but is not in its behavior's cache key: different objects share one cached copy",
        cf: "add the parameter to the behavior's query string whitelist (cache policy QueryStringsConfig, or legacy QueryStringCacheKeys), e.g. `size` and `avatarType` on the avatar behaviors.",
        origin: "nothing to change.");
    spec!(BEHAVIOR_MISMATCH, "behavior-mismatch", Warn, Capture,
        "The behavior that served differs from the one the configuration predicts",
        cf: "the configuration given is stale or ordered differently: pass the live one (`aws cloudfront get-distribution-config --id <ID>` with --distribution-config), and check the order of behaviors (first match wins) and the context path.",
        origin: "nothing to change at the origin.");
    spec!(HEALTH_CHECK_FAILED, "health-check-failed", Error, HealthCheck,
        "Atlassian's static asset caching health check reports a failure",
        cf: "see the check's failure reason; CDN prefix and CORS checks usually point at the distribution's host or its Origin whitelisting.",
        origin: "follow the failure reason in Jira/Confluence's CDN administration (e.g. fonts in a plugin not declared `allow-public-use`, CDN prefix not set).");
    spec!(HEALTH_CHECK_UNAVAILABLE, "health-check-unavailable", Info, HealthCheck,
        "Atlassian's static asset caching health check is not available",
        cf: "nothing to change.",
        origin: "404: this version has no such check (Jira 8.3+, Confluence 7.0+ Data Center have it); 401/403: it needs an administrator's session.");

    spec!(CONFIG_SHADOWED, "config-shadowed-behavior", Warn, Config,
        "Behavior never used: an earlier pattern matches every path it matches",
        cf: "move the behavior above the one that shadows it (first match wins), or delete it.",
        origin: "nothing to change.");
    spec!(CONFIG_STATIC_ALL_COOKIES, "config-static-all-cookies", Warn, Config,
        "A static behavior puts all cookies in the cache key (the AWSALB never-hit trap)",
        cf: "Forward Cookies = None on static behaviors (/s/*, avatars), or a whitelist without AWSALB, AWSALBCORS and JSESSIONID.",
        origin: "with ALB stickiness on, every response rotates AWSALB: static resources must not depend on cookies (Jira 7+/Confluence 7+ serve /s/ statelessly).");
    spec!(CONFIG_DEFAULT_CACHES, "config-default-caches", Warn, Config,
        "The behavior serving pages and REST can cache",
        cf: "use CachingDisabled on the default behavior (or forward all headers, or TTL 0/0/0) so pages and REST always go to the origin.",
        origin: "keep no-cache/no-store on pages and REST.");
    spec!(CONFIG_SESSION_LEAK, "config-session-leak", Error, Config,
        "The behavior serving pages and REST can cache them under a key without the session cookie",
        cf: "the cache key must never leave out cookies the origin reads: CachingDisabled on that behavior, or the session cookies in the key, and no origin request policy forwarding cookies the key lacks.",
        origin: "keep no-cache/no-store on pages and REST (CloudFront's MinTTL > 0 overrides them).");
    spec!(CONFIG_MISSING_STATIC, "config-missing-static-behavior", Warn, Config,
        "No caching behavior for /s/* or /download/resources/*: static resources fall to the default behavior",
        cf: "add the seed's behaviors for /s/* and /download/resources/* (with the context path) above the default.",
        origin: "nothing to change.");
    spec!(CONFIG_MISSING_MINOR, "config-missing-minor-behavior", Info, Config,
        "No behavior for /robots.txt or /favicon.ico",
        cf: "add behaviors for /robots.txt and /favicon.ico with a long TTL (the seed uses a year).",
        origin: "nothing to change.");
    spec!(CONFIG_STATIC_TTL_ZERO, "config-static-ttl-zero", Warn, Config,
        "A behavior serving static resources can never store anything (MaxTTL 0, CachingDisabled or all headers)",
        cf: "give the behavior a MaxTTL of a year and a whitelist of headers (Origin), or the CachingOptimized policy.",
        origin: "nothing to change.");
    spec!(CONFIG_FONT_ORIGIN, "config-font-origin-not-keyed", Warn, Config,
        "Fonts are cached without the Origin header in the cache key and without a CORS response headers policy: CORS answers are wrong or missing",
        cf: "whitelist `Origin` in the cache key of every behavior serving fonts (/s/*, /download/resources/*, *.woff), or attach a response headers policy that answers CORS (SimpleCORS, or a custom one listing the site's origins).",
        origin: "answer fonts with `Access-Control-Allow-Origin` when Origin is present.");
    spec!(CONFIG_CONTEXT_PATH, "config-context-path-mismatch", Warn, Config,
        "The behaviors' patterns do not match the site's context path",
        cf: "prefix every pattern with the context path (`/jira/s/*`), once.",
        origin: "or serve the application at the context path the distribution expects.");
    spec!(CONFIG_KEY_PER_BROWSER, "config-key-per-browser", Warn, Config,
        "A caching behavior puts a request header that varies per browser or per user in the cache key (Accept, User-Agent, Authorization, Cookie, ...): the cache splits per browser family or per user",
        cf: "keep only headers the response really depends on in the key (Origin for CORS); let Accept-Encoding be normalised by the cache policy's compression settings instead of whitelisting it.",
        origin: "nothing to change: Jira and Confluence answer static resources the same to every browser.");
    spec!(CONFIG_QUERY_ALL, "config-query-all-in-key", Info, Config,
        "A caching behavior keys on every query string: a parameter that changes per load (a cache buster) defeats the cache",
        cf: "key on a whitelist of the parameters that select content (none on versioned /s/ URLs beyond `locale`; `avatarId`, `pid`, `size`, `avatarType` on avatars).",
        origin: "nothing to change unless a plugin appends changing parameters to static URLs.");
    spec!(CONFIG_PAGES_CACHEABLE, "config-pages-cacheable", Warn, Config,
        "Pages and REST can be cached by the edge (no cookies reach the origin, so the cached copies are anonymous: login pages, redirects)",
        cf: "CachingDisabled (or forward all headers) on the behavior that pages and REST fall to, unless the distribution is only a static CDN host (jira.fixed.cdn.prefix) that users never browse through.",
        origin: "keep no-cache/no-store on pages and REST.");
    spec!(CONFIG_WEBSOCKET, "config-websocket-behavior", Warn, Config,
        "The behavior serving Synchrony's websocket (/synchrony/*) caches or does not forward the upgrade headers: collaborative editing falls back or breaks",
        cf: "a `<context>/synchrony/*` behavior with all methods, CachingDisabled and an origin request policy forwarding all viewer headers (AllViewer), or at least Sec-WebSocket-Key and Sec-WebSocket-Version.",
        origin: "the load balancer must route /synchrony/* with stickiness and an idle timeout longer than the editor stays quiet.");
    spec!(CONFIG_ERROR_CACHING, "config-error-caching-hides-fix", Warn, Config,
        "CustomErrorResponses cache 502/503/504 for a minimum TTL: after the origin is fixed, the edge keeps serving the error",
        cf: "ErrorCachingMinTTL 0 for 502, 503 and 504 (CloudFront's default is 10 s); cache a 5xx only when it protects a struggling origin, and then briefly.",
        origin: "nothing to change.");
    spec!(CONFIG_HTTP2_ORIGIN, "config-http2-to-origin", Warn, Config,
        "HTTP/2 on the hop to the application (a target group's ProtocolVersion HTTP2, a gRPC behavior): Atlassian's CDN guide asks for HTTP/1.1 between the CDN and the product",
        cf: "keep gRPC off on the product's behaviors; CloudFront itself speaks HTTP/1.1 to custom origins.",
        origin: "set the ALB target group's protocol version to HTTP1 (it defaults to HTTP1); HTTP/2 to viewers is fine.");
    spec!(CONFIG_KEY_TOO_NARROW, "config-cache-key-too-narrow", Warn, Config,
        "A caching behavior leaves a parameter that selects the content out of its key (avatars keyed on pid/avatarId without size): the first variant requested is served to everyone",
        cf: "add the missing parameters to the behavior's query string whitelist (`size` and `avatarType` on /secure/viewavatar* and /secure/projectavatar*), or key on all query strings.",
        origin: "nothing to change.");
    spec!(CONFIG_WAF_STATIC, "config-waf-blocks-static", Warn, Config,
        "The WAF in front of the origin lets the CDN reach only some paths, but the distribution sends other static resources there too: those are refused (403)",
        cf: "send only the allowed paths to that origin (one behavior per static path, the default to the product's own load balancer), or serve the other static paths from an origin without that WAF.",
        origin: "allow every static path the CDN fetches in the WAF (`<context>/s/`, `<context>/download/resources/`, the avatars `<context>/secure/*avatar*`), GET and HEAD only.");
    spec!(CONFIG_UNRESOLVED_POLICY, "config-unresolved-policy", Info, Config,
        "A custom cache or origin request policy could not be modelled from this file",
        cf: "run `aws cloudfront get-cache-policy --id <ID>` to see what it does; the lint assumed console defaults.",
        origin: "nothing to change.");
}

/// Every finding id, in the order the README lists them.
pub const CATALOGUE: &[Spec] = &[
    ids::DYNAMIC_CACHED,
    ids::SESSION_COOKIE_CACHED,
    ids::FONT_502,
    ids::EDGE_ERROR,
    ids::CORS_BLOCKED,
    ids::CORS_ORIGIN_NOT_IN_KEY,
    ids::WEBSOCKET_FAILED,
    ids::TLS_ERROR,
    ids::HEALTH_CHECK_FAILED,
    ids::ROTATING_COOKIE_IN_KEY,
    ids::SET_COOKIE_ON_CACHEABLE,
    ids::EXPIRES_BEFORE_DATE,
    ids::NO_CACHE_ON_STATIC,
    ids::QUERY_STRING_CHANGES,
    ids::VARY_UNFORWARDED,
    ids::VARY_STAR,
    ids::CACHE_KEY_TOO_NARROW,
    ids::SHORT_TTL_VERSIONED,
    ids::STATIC_BYPASSES_CDN,
    ids::TLS_IGNORED,
    ids::BEHAVIOR_MISMATCH,
    ids::CACHE_PASSES_COOKIES,
    ids::CACHE_REFUSES_SET_COOKIE,
    ids::POP_CHANGE_MISS,
    ids::REQUEST_NO_CACHE_OBEYED,
    ids::BROWSER_CACHE_REPLAY,
    ids::HEALTH_CHECK_UNAVAILABLE,
    ids::CONFIG_SESSION_LEAK,
    ids::CONFIG_STATIC_ALL_COOKIES,
    ids::CONFIG_KEY_PER_BROWSER,
    ids::CONFIG_SHADOWED,
    ids::CONFIG_DEFAULT_CACHES,
    ids::CONFIG_PAGES_CACHEABLE,
    ids::CONFIG_MISSING_STATIC,
    ids::CONFIG_STATIC_TTL_ZERO,
    ids::CONFIG_FONT_ORIGIN,
    ids::CONFIG_KEY_TOO_NARROW,
    ids::CONFIG_WEBSOCKET,
    ids::CONFIG_ERROR_CACHING,
    ids::CONFIG_HTTP2_ORIGIN,
    ids::CONFIG_WAF_STATIC,
    ids::CONFIG_CONTEXT_PATH,
    ids::CONFIG_MISSING_MINOR,
    ids::CONFIG_QUERY_ALL,
    ids::CONFIG_UNRESOLVED_POLICY,
];

/// The catalogue entry for an id.
pub fn spec(id: &str) -> Option<&'static Spec> {
    CATALOGUE.iter().find(|s| s.id == id)
}

/// What every finding function reads: the classified records and the distributions serving
/// them (none when unknown; one per product when Jira and Confluence sit behind separate edges).
/// The records must have been classified against these same distributions ([`Record::classify`]):
/// the behavior serving each is read from its classification, not looked up again.
pub struct Ctx<'a> {
    pub records: &'a [Record],
    pub dists: &'a [Distribution],
}

impl<'a> Ctx<'a> {
    pub fn new(records: &'a [Record], dists: &'a [Distribution]) -> Self {
        Ctx { records, dists }
    }

    /// `host:port` of the record's URL (empty when it has none).
    pub fn host(&self, r: &Record) -> String {
        evidence::host_of(r)
    }

    /// Some distribution is known (so the cache key and TTLs are known).
    pub fn has_dist(&self) -> bool {
        !self.dists.is_empty()
    }

    /// The record's host is one judged as the product (a distribution's host).
    pub fn is_product_host(&self, r: &Record) -> bool {
        url::Url::parse(&r.url).is_ok_and(|u| self.dists.iter().any(|d| d.serves(&u)))
    }

    /// The distribution serving `url`, if any.
    pub fn dist_for(&self, url: &str) -> Option<&'a Distribution> {
        self.dists.iter().find(|d| d.behavior_for(url).is_some())
    }

    /// The behavior serving this record's URL: index, behavior, effective pattern. A response
    /// another cache answered (Varnish, nginx, ...) is judged by that cache's rules (`caches.rs`),
    /// never by the CloudFront model of the behaviors.
    pub fn behavior(&self, r: &Record) -> Option<Serving<'a>> {
        if r.class.cache.provider.is_other_cache() {
            return None;
        }
        r.served_by(self.dists)
    }

    /// A successful response the edge's caching applies to: static, or under a non-default
    /// behavior that can store; with a distribution, only URLs it serves.
    pub fn cacheable(&self, r: &Record) -> bool {
        if !evidence::fresh(r) || !r.status.is_some_and(|s| (200..300).contains(&s)) {
            return false;
        }
        if !self.has_dist() {
            return crate::classify::is_static(r.class.asset_kind);
        }
        match self.behavior(r) {
            None => false,
            Some(Serving { behavior: b, .. }) => {
                b.can_store() && (crate::classify::is_static(r.class.asset_kind) || !b.is_default)
            }
        }
    }
}

/// Every finding the captured records show, against one distribution (or none).
pub fn diagnose(records: &[Record], dist: Option<&Distribution>) -> Vec<Finding> {
    diagnose_with(records, dist.map(std::slice::from_ref).unwrap_or(&[]))
}

/// Every finding the captured records show, in a deterministic order: severity (errors first),
/// then catalogue order, then behavior, then the first evidence URL. Each record is judged
/// against the distribution that serves its URL.
pub fn diagnose_with(records: &[Record], dists: &[Distribution]) -> Vec<Finding> {
    let ctx = Ctx::new(records, dists);
    let mut out = Vec::new();
    out.extend(paths::dynamic_cached(&ctx));
    out.extend(cookies::session_cookie_cached(&ctx));
    out.extend(errors::font_502(&ctx));
    out.extend(errors::edge_error(&ctx));
    out.extend(errors::cors_blocked(&ctx));
    out.extend(errors::cors_origin_not_in_key(&ctx));
    out.extend(websockets::websocket_failed(&ctx));
    out.extend(errors::tls_error(&ctx));
    out.extend(errors::tls_certificate_ignored(&ctx));
    out.extend(cookies::rotating_cookie_in_key(&ctx));
    out.extend(cookies::set_cookie_on_cacheable(&ctx));
    out.extend(headers::expires_before_date(&ctx));
    out.extend(headers::no_cache_on_static(&ctx));
    out.extend(paths::query_string_changes(&ctx));
    out.extend(paths::cache_key_too_narrow(&ctx));
    out.extend(headers::vary_unforwarded(&ctx));
    out.extend(headers::vary_star(&ctx));
    out.extend(headers::short_ttl_versioned(&ctx));
    out.extend(paths::static_bypasses_cdn(&ctx));
    out.extend(observed::behavior_mismatch(&ctx));
    out.extend(caches::all(&ctx));
    out.extend(paths::pop_change_miss(&ctx));
    out.extend(paths::browser_cache_replay(&ctx));
    sort(&mut out);
    out
}

/// Sort findings: severity (errors first), catalogue order, behavior, first evidence URL.
pub fn sort(findings: &mut [Finding]) {
    let rank = |id: &str| {
        CATALOGUE
            .iter()
            .position(|s| s.id == id)
            .unwrap_or(usize::MAX)
    };
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| rank(&a.id).cmp(&rank(&b.id)))
            .then_with(|| a.behavior.cmp(&b.behavior))
            .then_with(|| {
                let u = |f: &Finding| f.evidence.first().map(|e| e.url.clone());
                u(a).cmp(&u(b))
            })
    });
}

/// The catalogue as a Markdown table (id, severity, title, fix), for the README.
pub fn catalogue_markdown() -> String {
    let mut s = String::from(
        "| id | severity | what it means | fix: CloudFront | fix: Jira/Confluence/proxy |\n|---|---|---|---|---|\n",
    );
    for spec in CATALOGUE {
        let cell = |t: &str| t.replace('|', "\\|");
        s.push_str(&format!(
            "| `{}` | {} | {}{} | {} | {} |\n",
            spec.id,
            spec.severity,
            cell(spec.title),
            match spec.source {
                Source::Capture => "",
                Source::HealthCheck => " (run, real instance)",
                Source::Config => " (check-config)",
            },
            cell(spec.cloudfront),
            cell(spec.origin)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for s in CATALOGUE {
            assert!(seen.insert(s.id), "duplicate id {}", s.id);
            assert!(
                s.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                s.id
            );
            assert!(!s.cloudfront.is_empty() && !s.origin.is_empty());
            assert_eq!(
                s.source == Source::Config,
                s.id.starts_with("config-"),
                "{}",
                s.id
            );
        }
    }

    #[test]
    fn readme_findings_table_is_the_catalogue() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        assert!(
            readme.contains(&catalogue_markdown()),
            "README.md's findings table is out of date; paste diagnose::catalogue_markdown():\n{}",
            catalogue_markdown()
        );
    }

    #[test]
    fn sort_is_by_severity_then_catalogue_order() {
        let f = |spec: &Spec, url: &str| {
            spec.finding(
                None,
                "",
                vec![Evidence {
                    url: url.into(),
                    lines: vec![],
                }],
            )
        };
        let mut v = vec![
            f(&ids::POP_CHANGE_MISS, "a"),
            f(&ids::EXPIRES_BEFORE_DATE, "b"),
            f(&ids::FONT_502, "c"),
            f(&ids::DYNAMIC_CACHED, "d"),
            f(&ids::EXPIRES_BEFORE_DATE, "a"),
        ];
        sort(&mut v);
        let got: Vec<(&str, &str)> = v
            .iter()
            .map(|f| (f.id.as_str(), f.evidence[0].url.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("dynamic-cached", "d"),
                ("font-502", "c"),
                ("expires-before-date", "a"),
                ("expires-before-date", "b"),
                ("pop-change-miss", "a"),
            ]
        );
    }
}
