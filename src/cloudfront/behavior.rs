//! Cache behaviors: what CloudFront does with a request, as data.
//!
//! One `Behavior` says which methods are allowed and cached, how long things live (`TtlSettings`),
//! what goes into the cache key (`KeyPolicy`) and what is forwarded to the origin (`ForwardPolicy`).
//! Legacy `ForwardedValues` make the two the same; a cache policy plus an origin request policy can
//! forward more than the key holds (e.g. all cookies forwarded, none in the key: a logged-in page
//! cached under a cookie-less key is served to everyone).

use serde::{Deserialize, Serialize};

use super::pattern;

/// What a verification run should expect from a behavior.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Repeat loads must eventually say `Hit from cloudfront`.
    Hit,
    /// The behavior cannot store anything: every load goes to the origin.
    Bypass,
}

/// Legacy Min/Default/Max TTL or a cache policy's TTLs, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TtlSettings {
    pub min: u64,
    pub default: u64,
    pub max: u64,
}

impl TtlSettings {
    pub const fn new(min: u64, default: u64, max: u64) -> Self {
        Self { min, default, max }
    }
    /// CloudFront's defaults: 0 / 1 day / 1 year (the console's, and the API's when a TTL is left out).
    pub(crate) const CONSOLE_DEFAULT: TtlSettings = TtlSettings::new(0, 86_400, 31_536_000);
}

/// A set of cookie, query-string or header names: none, all, or a whitelist.
///
/// Cookie and query-string names compare case-sensitively, header names case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NameSet {
    None,
    All,
    Whitelist(Vec<String>),
}

/// Which cookies (from the `Cookie` request header).
pub type CookieSet = NameSet;
/// Which query-string parameters.
pub type QuerySet = NameSet;
/// Which request headers. `All` in a cache key turns caching off for the behavior.
pub type HeaderSet = NameSet;

impl NameSet {
    /// Case-sensitive membership (cookies, query strings). A whitelist entry with `*` or `?`
    /// matches by wildcard, as CloudFront's legacy cookie whitelist does (`AWSALB*`).
    pub fn contains(&self, name: &str) -> bool {
        match self {
            NameSet::None => false,
            NameSet::All => true,
            NameSet::Whitelist(names) => names.iter().any(|n| {
                n == name || (n.contains(['*', '?']) && pattern::wildcard_matches(n, name))
            }),
        }
    }

    /// Case-insensitive membership (headers).
    pub fn contains_header(&self, name: &str) -> bool {
        match self {
            NameSet::None => false,
            NameSet::All => true,
            NameSet::Whitelist(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
        }
    }

    pub fn is_none(&self) -> bool {
        match self {
            NameSet::None => true,
            NameSet::All => false,
            NameSet::Whitelist(names) => names.is_empty(),
        }
    }

    /// Short human form: `none`, `all`, `[pid]`.
    pub fn describe(&self) -> String {
        match self {
            NameSet::None => "none".into(),
            NameSet::All => "all".into(),
            NameSet::Whitelist(names) => format!("[{}]", names.join(", ")),
        }
    }
}

/// Where a setting is written in the input file: the evidence `file:line` of a lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceRef {
    pub file: String,
    /// 1-based.
    pub line: u32,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The CORS part of a response headers policy: CloudFront answers CORS itself, whatever the
/// origin sends (unless `origin_override` is false and the origin sent its own headers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CorsPolicy {
    /// `*` or the listed origins.
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_credentials: bool,
    pub origin_override: bool,
}

/// A cache policy's "Cache compressed objects" settings (`EnableAcceptEncodingGzip`,
/// `EnableAcceptEncodingBrotli`): which normalised `Accept-Encoding` values are in the key.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct AcceptEncodings {
    pub gzip: bool,
    pub br: bool,
}

/// The origin a behavior sends its misses to, as far as the lint needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OriginSettings {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `http-only`, `https-only`, `match-viewer` (custom origins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_policy: Option<String>,
    /// Origin Shield's region when enabled: one more cache tier shared by every POP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_shield_region: Option<String>,
}

/// The input a behavior set was read from, and the distribution-wide settings the lint reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConfigInput {
    pub file: String,
    pub format: ConfigFormat,
    /// `CustomErrorResponses`: per status code, the Error Caching Minimum TTL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_responses: Vec<ErrorResponse>,
    /// Places where the hop to the application speaks HTTP/2 (an ALB target group with
    /// `ProtocolVersion: HTTP2`, a gRPC behavior).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http2_to_origin: Vec<Http2ToOrigin>,
    /// A WAF in front of the origin that blocks by default and allows only these path prefixes
    /// (Atlassian's "internal" variant lets the CDN reach `<context>/s/` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin_waf_allows: Vec<WafAllow>,
}

/// One place where the hop to the application speaks HTTP/2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Http2ToOrigin {
    /// What says so, in words (`target group Tg: ProtocolVersion HTTP2 ...`).
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<SourceRef>,
}

/// URI paths that a default-block WAF in front of the origin lets through (one `Allow` rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WafAllow {
    /// The WebACL's name in the input.
    pub acl: String,
    pub path: UriMatch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<SourceRef>,
}

/// How an AWS WAF statement matches the URI path: a string match's `PositionalConstraint`
/// (AWS WAF API reference, `ByteMatchStatement`), or regular expressions (a
/// `RegexMatchStatement`, or the `RegularExpressionList` of a referenced regex pattern set: any
/// one matching). `lowercase`: a `LOWERCASE` text transformation applies first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum UriMatch {
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    ContainsWord(String),
    Exactly(String),
    Regex(Vec<String>),
    /// `LOWERCASE` before the inner match.
    Lowercase(Box<UriMatch>),
}

impl UriMatch {
    /// Whether a request for `path` is let through by this match.
    pub(crate) fn allows(&self, path: &str) -> bool {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        match self {
            UriMatch::StartsWith(s) => path.starts_with(s.as_str()),
            UriMatch::EndsWith(s) => path.ends_with(s.as_str()),
            UriMatch::Contains(s) => path.contains(s.as_str()),
            UriMatch::Exactly(s) => path == s,
            // The word must stand alone: at an end or next to a non-word character.
            UriMatch::ContainsWord(s) => path.match_indices(s.as_str()).any(|(i, m)| {
                !path[..i].chars().next_back().is_some_and(word)
                    && !path[i + m.len()..].chars().next().is_some_and(word)
            }),
            UriMatch::Regex(list) => list
                .iter()
                .any(|r| regex::Regex::new(r).is_ok_and(|re| re.is_match(path))),
            UriMatch::Lowercase(inner) => inner.allows(&path.to_lowercase()),
        }
    }

    /// In words, for a finding: `starting with /jira/s/`.
    pub fn describe(&self) -> String {
        match self {
            UriMatch::StartsWith(s) => format!("starting with {s}"),
            UriMatch::EndsWith(s) => format!("ending with {s}"),
            UriMatch::Contains(s) => format!("containing {s}"),
            UriMatch::ContainsWord(s) => format!("containing the word {s}"),
            UriMatch::Exactly(s) => format!("equal to {s}"),
            UriMatch::Regex(list) => format!("matching {}", list.join(" or ")),
            UriMatch::Lowercase(inner) => format!("{} (lowercased)", inner.describe()),
        }
    }
}

/// One `CustomErrorResponses` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorResponse {
    pub code: u16,
    /// Error Caching Minimum TTL (CloudFront's default: 10 s when the entry leaves it out).
    pub min_ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<SourceRef>,
}

/// The format of a configuration input: also the format a lint fix is written in, and the
/// values of `--input-format` (the one list of formats; clap reads the variants' docs as help).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigFormat {
    /// cdnprobe's behaviors TOML.
    #[default]
    Toml,
    /// `aws cloudfront get-distribution-config` JSON.
    DistributionConfig,
    /// A CloudFormation template in YAML.
    CloudformationYaml,
    /// A CloudFormation template in JSON.
    CloudformationJson,
    /// Terraform `.tf` files.
    Terraform,
    /// `terraform show -json` of a plan (or of the state).
    TerraformPlan,
}

/// What is part of the cache key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeyPolicy {
    pub cookies: CookieSet,
    pub query: QuerySet,
    pub headers: HeaderSet,
}

/// What is forwarded to the origin. Always a superset of the key: CloudFront forwards everything
/// in the key, plus whatever an origin request policy adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ForwardPolicy {
    pub cookies: CookieSet,
    pub query: QuerySet,
    pub headers: HeaderSet,
}

impl KeyPolicy {
    pub fn none() -> Self {
        KeyPolicy {
            cookies: NameSet::None,
            query: NameSet::None,
            headers: NameSet::None,
        }
    }
}

impl From<&KeyPolicy> for ForwardPolicy {
    fn from(k: &KeyPolicy) -> Self {
        ForwardPolicy {
            cookies: k.cookies.clone(),
            query: k.query.clone(),
            headers: k.headers.clone(),
        }
    }
}

impl ForwardPolicy {
    /// Origin request policy `AllViewer`: every cookie, query string and header.
    #[cfg(test)]
    pub(crate) fn all_viewer() -> Self {
        ForwardPolicy {
            cookies: NameSet::All,
            query: NameSet::All,
            headers: NameSet::All,
        }
    }

    /// Widen to include everything the key holds (the key is always forwarded).
    pub(crate) fn union_key(mut self, key: &KeyPolicy) -> Self {
        self.cookies = union(self.cookies, &key.cookies);
        self.query = union(self.query, &key.query);
        self.headers = union(self.headers, &key.headers);
        self
    }
}

fn union(a: NameSet, b: &NameSet) -> NameSet {
    match (a, b) {
        (NameSet::All, _) | (_, NameSet::All) => NameSet::All,
        (NameSet::None, b) => b.clone(),
        (a, NameSet::None) => a,
        (NameSet::Whitelist(mut x), NameSet::Whitelist(y)) => {
            for n in y {
                if !x.contains(n) {
                    x.push(n.clone());
                }
            }
            NameSet::Whitelist(x)
        }
    }
}

/// Headers a legacy (`ForwardedValues`) behavior sends to the origin although they are not in its
/// whitelist, so not in its cache key: the guide's table "HTTP request headers and CloudFront
/// behavior" (RequestAndResponseBehaviorCustomOrigin.html) says "CloudFront forwards the header to
/// your origin" for `Origin` and for other-defined headers such as the preflight's. Only these
/// CORS ones are modelled (the table's others, e.g. `Cache-Control`, `If-None-Match`, `Range`,
/// change nothing the tool judges). Read literally, "other-defined headers" would also take in
/// `Sec-WebSocket-*`, but the WebSocket page (distribution-working-with.websockets) says to forward
/// `Sec-WebSocket-Key`/`-Version` explicitly; the model follows that page, and the websocket lint
/// finding says AWS disagrees. With a cache policy, only what the cache and origin request
/// policies list is forwarded.
pub(crate) const LEGACY_FORWARDED_BY_DEFAULT: [&str; 3] = [
    "Origin",
    "Access-Control-Request-Headers",
    "Access-Control-Request-Method",
];

/// The request headers a behavior must forward for CloudFront to pass a WebSocket upgrade.
pub(crate) const WEBSOCKET_HEADERS: [&str; 2] = ["Sec-WebSocket-Key", "Sec-WebSocket-Version"];

/// Every method CloudFront can allow.
pub const ALL_METHODS: [&str; 7] = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"];
/// The default allowed and cached methods.
pub const GET_HEAD: [&str; 2] = ["GET", "HEAD"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// One cache behavior (one row of the distribution's behavior list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Behavior {
    /// Path pattern as configured (without the set's context path).
    pub pattern: String,
    /// Allowed methods; others get 403 from the edge.
    pub methods: Vec<String>,
    /// Methods whose responses may be cached (GET, HEAD, optionally OPTIONS).
    pub cached_methods: Vec<String>,
    pub ttl: TtlSettings,
    pub key: KeyPolicy,
    pub origin_forward: ForwardPolicy,
    /// The default (`*`) behavior, always last.
    pub is_default: bool,
    /// Human label, e.g. `#1 /s/*`.
    pub name: String,
    /// Explicit expectation from a behaviors file; wins over the derived one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Headers a response-headers policy adds to every response of this behavior.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<(String, String)>,
    /// Cache policy (managed name, or the id when unknown), when the behavior uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_policy: Option<String>,
    /// Origin request policy (managed name, or the id when unknown), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_request_policy: Option<String>,
    /// Things the loader could not model exactly (e.g. an unresolved custom cache policy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `Compress`: the edge compresses responses of listed types for viewers that accept gzip
    /// (or br, when the cache policy caches Brotli objects).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compress: bool,
    /// The cache policy's "Cache compressed objects" settings; `None` with legacy settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_encoding: Option<AcceptEncodings>,
    /// Response headers policy (managed name, custom name, or id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_headers_policy: Option<String>,
    /// CORS answered by the response headers policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<CorsPolicy>,
    /// The origin the behavior targets, when the input says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginSettings>,
    /// Where each setting is written: `""` the behavior itself, then `cookies`, `query`,
    /// `headers`, `ttl`, `methods`, `cache_policy`, `origin_request_policy`,
    /// `response_headers_policy`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub source: std::collections::BTreeMap<String, SourceRef>,
}

impl Behavior {
    /// A legacy (`ForwardedValues`) behavior: the origin gets exactly what the key holds.
    pub fn legacy(pattern: &str, methods: &[&str], ttl: TtlSettings, key: KeyPolicy) -> Self {
        Behavior {
            pattern: pattern.to_string(),
            methods: strings(methods),
            cached_methods: strings(&GET_HEAD),
            ttl,
            origin_forward: ForwardPolicy::from(&key),
            key,
            is_default: pattern == "*",
            name: String::new(),
            expect: None,
            response_headers: Vec::new(),
            cache_policy: None,
            origin_request_policy: None,
            warnings: Vec::new(),
            compress: false,
            accept_encoding: None,
            response_headers_policy: None,
            cors: None,
            origin: None,
            source: Default::default(),
        }
    }

    /// Legacy cache settings (`ForwardedValues`): no cache policy, no origin request policy.
    pub(crate) fn is_legacy(&self) -> bool {
        self.cache_policy.is_none() && self.origin_request_policy.is_none()
    }

    /// Does the origin get request header `name` through this behavior (whitelisted, in an origin
    /// request policy, or forwarded by default on a legacy behavior)?
    pub(crate) fn forwards_header(&self, name: &str) -> bool {
        self.origin_forward.headers.contains_header(name)
            || (self.is_legacy()
                && LEGACY_FORWARDED_BY_DEFAULT
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(name)))
    }

    /// Where setting `what` is written (falling back to the behavior itself).
    pub fn at(&self, what: &str) -> Option<&SourceRef> {
        self.source.get(what).or_else(|| self.source.get(""))
    }

    /// Is `method` allowed (case-insensitive)?
    pub(crate) fn allows(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// May the response to `method` be cached? Only GET, HEAD and (if configured) OPTIONS.
    pub(crate) fn caches_method(&self, method: &str) -> bool {
        ["GET", "HEAD", "OPTIONS"]
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method))
            && self
                .cached_methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method))
    }

    /// Forwarding all headers (`*`) puts them all in the key: CloudFront then caches nothing.
    pub(crate) fn caching_off(&self) -> bool {
        matches!(self.key.headers, NameSet::All)
    }

    /// Does a WebSocket upgrade reach the origin through this behavior? CloudFront supports
    /// WebSockets on any behavior, but only passes the upgrade on when the origin gets the
    /// handshake's `Sec-WebSocket-Key` and `Sec-WebSocket-Version` (all headers forwarded, or
    /// those two in the origin request policy); otherwise the origin sees a plain GET without
    /// them and refuses it (AWS: "Use WebSockets with CloudFront distributions").
    pub(crate) fn forwards_websockets(&self) -> bool {
        WEBSOCKET_HEADERS
            .iter()
            .all(|h| self.origin_forward.headers.contains_header(h))
    }

    /// Can this behavior ever store a (successful) response?
    pub fn can_store(&self) -> bool {
        !self.caching_off() && self.ttl.max > 0
    }
}

/// The ordered behaviors of one distribution (default last), plus the application's context path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BehaviorSet {
    /// `/jira`, `/confluence` or empty: prefixes every non-default pattern.
    #[serde(default)]
    pub context_path: String,
    pub behaviors: Vec<Behavior>,
    /// Error caching minimum TTL per status code, from `CustomErrorResponses` (codes not listed:
    /// CloudFront's default, 10 s).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub error_caching_min_ttl: super::ttl::ErrorCachingMinTtl,
    /// The file the set was read from, with distribution-wide settings (none for the seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<ConfigInput>,
}

/// Used when a set has no behavior matching at all (no default): CloudFront's own default is
/// "forward everything, cache nothing" in effect, so that is what an unmatched request gets.
static FALLBACK_DEFAULT: std::sync::LazyLock<Behavior> = std::sync::LazyLock::new(|| {
    let mut b = Behavior::legacy(
        "*",
        &ALL_METHODS,
        TtlSettings::CONSOLE_DEFAULT,
        KeyPolicy {
            cookies: NameSet::All,
            query: NameSet::All,
            headers: NameSet::All,
        },
    );
    b.name = "(no behavior matched)".into();
    b
});

impl BehaviorSet {
    /// The set as read from `input`: its `CustomErrorResponses` minimum TTLs become the error
    /// caching the model applies (codes without one keep CloudFront's default).
    pub(crate) fn with_input(mut self, input: ConfigInput) -> Self {
        for e in &input.error_responses {
            if let Some(ttl) = e.min_ttl {
                self.error_caching_min_ttl.insert(e.code, ttl);
            }
        }
        self.input = Some(input);
        self
    }

    pub fn new(behaviors: Vec<Behavior>) -> Self {
        BehaviorSet {
            context_path: String::new(),
            behaviors,
            error_caching_min_ttl: Default::default(),
            input: None,
        }
        .relabel()
    }

    /// First matching behavior wins; the context path prefixes every non-default pattern.
    /// A set without a matching behavior answers with index `behaviors.len()` and a
    /// forward-everything, cache-nothing behavior.
    pub(crate) fn matching(&self, path: &str) -> (usize, &Behavior) {
        for (i, b) in self.behaviors.iter().enumerate() {
            if b.is_default || pattern::matches(&self.effective_pattern(i), path) {
                return (i, b);
            }
        }
        (self.behaviors.len(), &FALLBACK_DEFAULT)
    }

    /// The pattern as CloudFront would see it: context path + pattern (default stays `*`).
    pub(crate) fn effective_pattern(&self, idx: usize) -> String {
        let Some(b) = self.behaviors.get(idx) else {
            return "*".into();
        };
        if b.is_default || self.context_path.is_empty() {
            return b.pattern.clone();
        }
        let p = b.pattern.strip_prefix('/').unwrap_or(&b.pattern);
        format!("{}/{}", self.context_path, p)
    }

    /// Prefix every non-default pattern with `p` (`/jira`; `""` or `/` for none).
    pub fn with_context_path(mut self, p: &str) -> Self {
        self.context_path = normalize_context_path(p);
        self.relabel()
    }

    /// Explicit `expect` wins; else Hit when the behavior can store something, else Bypass.
    pub(crate) fn expectation(&self, idx: usize) -> Expect {
        match self.behaviors.get(idx) {
            Some(b) => b.expect.unwrap_or(if b.can_store() {
                Expect::Hit
            } else {
                Expect::Bypass
            }),
            None => Expect::Bypass,
        }
    }

    /// Give unnamed behaviors their `#N pattern` label (N from 1, default shows `*`).
    pub(crate) fn relabel(mut self) -> Self {
        let patterns: Vec<String> = (0..self.behaviors.len())
            .map(|i| self.effective_pattern(i))
            .collect();
        for (i, b) in self.behaviors.iter_mut().enumerate() {
            if b.name.is_empty() || is_auto_label(&b.name) {
                b.name = if b.is_default {
                    format!("#{} default (*)", i + 1)
                } else {
                    format!("#{} {}", i + 1, patterns[i])
                };
            }
        }
        self
    }

    /// The seven behaviors of the community thread (DESIGN.md "The seed's behaviors"), with
    /// `Origin` whitelisted in rows 1-6 so CORS answers are right per origin.
    pub fn seed_default() -> Self {
        let origin = || NameSet::Whitelist(vec!["Origin".into()]);
        let year = 31_536_000;
        let day = 86_400;
        let mut rows = Vec::new();

        rows.push(Behavior::legacy(
            "/s/*",
            &ALL_METHODS,
            TtlSettings::new(0, day, year),
            KeyPolicy {
                cookies: NameSet::All,
                query: NameSet::All,
                headers: origin(),
            },
        ));
        for (p, q) in [
            ("/secure/projectavatar*", "pid"),
            ("/secure/viewavatar*", "avatarId"),
        ] {
            let mut b = Behavior::legacy(
                p,
                &GET_HEAD,
                TtlSettings::new(day, day, day),
                KeyPolicy {
                    cookies: NameSet::All,
                    query: NameSet::Whitelist(vec![q.into()]),
                    headers: origin(),
                },
            );
            // "Forward all, cache based on whitelist".
            b.origin_forward.query = NameSet::All;
            rows.push(b);
        }
        rows.push(Behavior::legacy(
            "/download/resources/*",
            &GET_HEAD,
            TtlSettings::new(day, day, year),
            KeyPolicy {
                cookies: NameSet::None,
                query: NameSet::All,
                headers: origin(),
            },
        ));
        for p in ["/robots.txt", "/favicon.ico"] {
            rows.push(Behavior::legacy(
                p,
                &GET_HEAD,
                TtlSettings::new(year, year, year),
                KeyPolicy {
                    cookies: NameSet::None,
                    query: NameSet::None,
                    headers: origin(),
                },
            ));
        }
        rows.push(Behavior::legacy(
            "*",
            &ALL_METHODS,
            TtlSettings::CONSOLE_DEFAULT,
            KeyPolicy {
                cookies: NameSet::All,
                query: NameSet::All,
                headers: NameSet::All,
            },
        ));
        BehaviorSet::new(rows)
    }
}

fn is_auto_label(name: &str) -> bool {
    name.strip_prefix('#')
        .and_then(|r| r.split_once(' '))
        .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// `jira/` -> `/jira`; `/` and `` -> ``.
pub(crate) fn normalize_context_path(p: &str) -> String {
    let t = p.trim().trim_matches('/');
    if t.is_empty() {
        String::new()
    } else {
        format!("/{t}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_default_has_the_seven_rows_in_order() {
        let set = BehaviorSet::seed_default();
        let patterns: Vec<&str> = set.behaviors.iter().map(|b| b.pattern.as_str()).collect();
        assert_eq!(
            patterns,
            [
                "/s/*",
                "/secure/projectavatar*",
                "/secure/viewavatar*",
                "/download/resources/*",
                "/robots.txt",
                "/favicon.ico",
                "*"
            ]
        );
        assert!(set.behaviors[6].is_default);
        assert_eq!(set.behaviors[0].name, "#1 /s/*");
        assert_eq!(set.behaviors[6].name, "#7 default (*)");
        for b in &set.behaviors[..6] {
            assert!(b.key.headers.contains_header("origin"), "{}", b.name);
        }
        // Rows 2-3: forward all query strings, key only on the whitelist.
        assert_eq!(
            set.behaviors[1].key.query,
            NameSet::Whitelist(vec!["pid".into()])
        );
        assert_eq!(set.behaviors[1].origin_forward.query, NameSet::All);
    }

    #[test]
    fn websockets_pass_only_with_the_handshake_headers_forwarded() {
        let set = BehaviorSet::seed_default();
        // The seed's default forwards all headers: the upgrade reaches the origin.
        assert!(set.behaviors[6].forwards_websockets());
        // `/s/*` forwards only Origin.
        assert!(!set.behaviors[0].forwards_websockets());
        let mut b = set.behaviors[0].clone();
        b.origin_forward.headers = NameSet::Whitelist(vec!["sec-websocket-key".into()]);
        assert!(!b.forwards_websockets(), "both headers are needed");
        b.origin_forward.headers = NameSet::Whitelist(vec![
            "Sec-WebSocket-Key".into(),
            "Sec-WebSocket-Version".into(),
        ]);
        assert!(b.forwards_websockets());
    }

    #[test]
    fn first_match_wins_and_default_catches_the_rest() {
        let set = BehaviorSet::seed_default();
        assert_eq!(set.matching("/s/abc/_/download/batch.js?locale=en").0, 0);
        assert_eq!(set.matching("/secure/projectavatar?pid=1").0, 1);
        assert_eq!(set.matching("/secure/Dashboard.jspa").0, 6);
        assert_eq!(set.matching("/robots.txt").0, 4);
        assert_eq!(set.matching("/favicon.ico").0, 5);

        let mut rows = BehaviorSet::seed_default().behaviors;
        let mut woff = rows[3].clone();
        woff.pattern = "*.woff".into();
        woff.name.clear();
        rows.insert(0, woff);
        let set = BehaviorSet::new(rows);
        assert_eq!(set.matching("/s/x/font.woff").0, 0, "earlier row wins");
        assert_eq!(set.matching("/s/x/batch.js").0, 1);
    }

    #[test]
    fn context_path_prefixes_every_non_default_pattern() {
        let set = BehaviorSet::seed_default().with_context_path("jira/");
        assert_eq!(set.context_path, "/jira");
        assert_eq!(set.matching("/jira/s/x/batch.js").0, 0);
        assert_eq!(
            set.matching("/s/x/batch.js").0,
            6,
            "without the context path: default"
        );
        assert_eq!(set.effective_pattern(6), "*");
        assert_eq!(set.behaviors[0].name, "#1 /jira/s/*");
    }

    #[test]
    fn expectation_is_hit_when_something_can_be_stored() {
        let mut set = BehaviorSet::seed_default();
        assert_eq!(set.expectation(0), Expect::Hit);
        assert_eq!(
            set.expectation(6),
            Expect::Bypass,
            "headers all: caching off"
        );
        set.behaviors[0].ttl = TtlSettings::new(0, 0, 0);
        assert_eq!(set.expectation(0), Expect::Bypass, "max TTL 0");
        set.behaviors[0].expect = Some(Expect::Hit);
        assert_eq!(set.expectation(0), Expect::Hit, "explicit expect wins");
    }

    #[test]
    fn a_set_without_default_never_panics() {
        let set = BehaviorSet::new(vec![]);
        let (i, b) = set.matching("/x");
        assert_eq!(i, 0);
        assert!(b.caching_off());
    }
}
