//! The AWS shape of a distribution (PascalCase): the JSON of `get-distribution-config` and a
//! CloudFormation `DistributionConfig` alike. They differ only in lists (`{Quantity, Items}` vs a
//! plain list, `Node::items` reads both) and in where `CachedMethods` sits. The policy configs
//! (`CachePolicyConfig`, `OriginRequestPolicyConfig`, `ResponseHeadersPolicyConfig`) have the
//! same shape in the API and in CloudFormation too.

use super::tree::{Node, V};
use super::{BuildError, CachePolicyDef, OriginRequestDef, Policies, ResponseHeadersDef};
use crate::cloudfront::behavior::{
    AcceptEncodings, Behavior, CorsPolicy, ErrorResponse, ForwardPolicy, GET_HEAD, Http2ToOrigin,
    KeyPolicy, NameSet, OriginSettings, SourceRef, TtlSettings,
};
use crate::cloudfront::pattern;

/// What a distribution config holds besides its behaviors.
#[derive(Default)]
pub(super) struct Extras {
    pub error_responses: Vec<ErrorResponse>,
    pub http2_to_origin: Vec<Http2ToOrigin>,
}

pub(super) struct Ctx<'a> {
    pub file: &'a str,
    pub policies: &'a dyn Policies,
}

impl Ctx<'_> {
    pub fn at(&self, n: &Node) -> Option<SourceRef> {
        (n.line > 0).then(|| SourceRef {
            file: self.file.to_string(),
            line: n.line,
        })
    }

    /// The cache policy `id` names sets `b`'s TTLs and key; one that cannot be read here leaves
    /// the console defaults and says so. Every format's loader applies policies this way.
    pub(crate) fn use_cache_policy(&self, b: &mut Behavior, id: &Node, at: &str) {
        if let Some(s) = self.at(id) {
            b.source.insert("cache_policy".into(), s);
        }
        match self.policies.cache(id) {
            Ok(p) => {
                b.ttl = p.ttl;
                b.key = p.key;
                b.accept_encoding = Some(p.accept_encoding);
                b.cache_policy = Some(p.name);
                b.warnings.extend(p.warnings);
                for (k, s) in p.at {
                    b.source.insert(k.into(), s);
                }
            }
            Err((label, why)) => {
                b.warnings.push(format!(
                    "{at}: {why}; assumed console defaults (TTL 0/86400/31536000, nothing in the key)"
                ));
                b.cache_policy = Some(label);
            }
        }
    }

    /// The origin request policy `id` names replaces `forward`; one that cannot be read here
    /// leaves it (the cache key only) and says so.
    pub(crate) fn use_origin_request_policy(
        &self,
        b: &mut Behavior,
        forward: &mut ForwardPolicy,
        id: &Node,
        at: &str,
    ) {
        if let Some(s) = self.at(id) {
            b.source.insert("origin_request_policy".into(), s);
        }
        match self.policies.origin_request(id) {
            Ok(p) => {
                *forward = p.forward;
                b.origin_request_policy = Some(p.name);
                b.warnings.extend(p.warnings);
            }
            Err((label, why)) => {
                b.warnings.push(format!(
                    "{at}: {why}; assumed it forwards only the cache key"
                ));
                b.origin_request_policy = Some(label);
            }
        }
    }

    /// The response headers policy `id` names: its CORS and custom headers.
    pub(crate) fn use_response_headers_policy(&self, b: &mut Behavior, id: &Node, at: &str) {
        if let Some(s) = self.at(id) {
            b.source.insert("response_headers_policy".into(), s);
        }
        match self.policies.response_headers(id) {
            Ok(p) => {
                b.response_headers_policy = Some(p.name);
                b.cors = p.cors;
                b.response_headers = p.headers;
            }
            Err((label, why)) => {
                b.warnings.push(format!("{at}: {why}"));
                b.response_headers_policy = Some(label);
            }
        }
    }
}

fn err(at: &str, n: Option<&Node>, message: impl Into<String>) -> BuildError {
    BuildError {
        at: at.to_string(),
        line: n.map_or(0, |n| n.line),
        col: n.map_or(0, |n| n.col),
        message: message.into(),
    }
}

/// The value of `key`, absent when missing or null; an error naming the reference when it
/// cannot be resolved (never a guess).
pub(super) fn field<'a>(n: &'a Node, key: &str, at: &str) -> Result<Option<&'a Node>, BuildError> {
    match n.get(key) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => match v.unresolved_here() {
            Some(why) => Err(err(
                &format!("{at}.{key}"),
                Some(v),
                format!("cannot be resolved: {why}"),
            )),
            None => Ok(Some(v)),
        },
    }
}

fn strings(n: Option<&Node>) -> Vec<String> {
    n.map(|n| n.items().iter().filter_map(Node::text).collect())
        .unwrap_or_default()
}

fn u64_field(n: &Node, key: &str, at: &str, default: u64) -> Result<u64, BuildError> {
    match field(n, key, at)? {
        None => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| {
            err(
                &format!("{at}.{key}"),
                Some(v),
                format!("{key} must be a non-negative integer, got {}", describe(v)),
            )
        }),
    }
}

fn describe(n: &Node) -> String {
    match &n.v {
        V::Num(x) => x.to_string(),
        V::Str(s) => format!("{s:?}"),
        V::Bool(b) => b.to_string(),
        V::Seq(_) => "a list".into(),
        V::Map(_) => "an object".into(),
        _ => "null".into(),
    }
}

/// `none | whitelist | all | allExcept` plus the list.
pub(super) fn behavior_set(
    behavior: Option<&str>,
    list: Vec<String>,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<NameSet, String> {
    match behavior.unwrap_or("none") {
        "none" => Ok(NameSet::None),
        "all" | "allViewer" | "allViewerAndWhitelistCloudFront" => Ok(NameSet::All),
        "whitelist" => Ok(if list.is_empty() {
            NameSet::None
        } else {
            NameSet::Whitelist(list)
        }),
        "allExcept" => {
            warnings.push(format!(
                "{what}: allExcept {list:?} is modelled as all (the lint may name one of the excepted names)"
            ));
            Ok(NameSet::All)
        }
        other => Err(format!(
            "{what} behavior {other:?} is not none|whitelist|all|allExcept"
        )),
    }
}

/// A `CachePolicyConfig` (API or CloudFormation).
pub(super) fn cache_policy_config(
    c: &Node,
    at: &str,
    ctx: &Ctx,
) -> Result<CachePolicyDef, BuildError> {
    let mut warnings = Vec::new();
    // A name built from the stack's name stays unresolved: it is only a label.
    let name = c.get("Name").and_then(Node::text).unwrap_or_default();
    let ttl = TtlSettings::new(
        u64_field(c, "MinTTL", at, TtlSettings::CONSOLE_DEFAULT.min)?,
        u64_field(c, "DefaultTTL", at, TtlSettings::CONSOLE_DEFAULT.default)?,
        u64_field(c, "MaxTTL", at, TtlSettings::CONSOLE_DEFAULT.max)?,
    );
    let p = field(c, "ParametersInCacheKeyAndForwardedToOrigin", at)?;
    let get =
        |cfg: &str, beh: &str, list: &str, w: &mut Vec<String>| -> Result<NameSet, BuildError> {
            let Some(p) = p else { return Ok(NameSet::None) };
            let Some(cn) = p.get(cfg) else {
                return Ok(NameSet::None);
            };
            let b = cn.get(beh).and_then(Node::text);
            behavior_set(b.as_deref(), strings(cn.get(list)), cfg, w)
                .map_err(|m| err(&format!("{at}.{cfg}"), Some(cn), m))
        };
    let key = KeyPolicy {
        cookies: get("CookiesConfig", "CookieBehavior", "Cookies", &mut warnings)?,
        headers: get("HeadersConfig", "HeaderBehavior", "Headers", &mut warnings)?,
        query: get(
            "QueryStringsConfig",
            "QueryStringBehavior",
            "QueryStrings",
            &mut warnings,
        )?,
    };
    let mut at_lines = Vec::new();
    for (what, node) in [
        ("ttl", c.get("MinTTL").or(c.get("MaxTTL"))),
        ("cookies", p.and_then(|p| p.get("CookiesConfig"))),
        ("headers", p.and_then(|p| p.get("HeadersConfig"))),
        ("query", p.and_then(|p| p.get("QueryStringsConfig"))),
    ] {
        if let Some(s) = node.or(Some(c)).and_then(|n| ctx.at(n)) {
            at_lines.push((what, s));
        }
    }
    // Both settings are required by the API; absent (a partial template), they are off.
    let on = |k: &str| p.and_then(|p| p.get(k)).and_then(Node::as_bool) == Some(true);
    Ok(CachePolicyDef {
        name,
        ttl,
        key,
        accept_encoding: AcceptEncodings {
            gzip: on("EnableAcceptEncodingGzip"),
            br: on("EnableAcceptEncodingBrotli"),
        },
        warnings,
        at: at_lines,
    })
}

/// An `OriginRequestPolicyConfig`.
pub(super) fn origin_request_policy_config(
    c: &Node,
    at: &str,
    ctx: &Ctx,
) -> Result<OriginRequestDef, BuildError> {
    let mut w = Vec::new();
    // A name built from the stack's name stays unresolved: it is only a label.
    let name = c.get("Name").and_then(Node::text).unwrap_or_default();
    let get =
        |cfg: &str, beh: &str, list: &str, w: &mut Vec<String>| -> Result<NameSet, BuildError> {
            let Some(cn) = c.get(cfg) else {
                return Ok(NameSet::None);
            };
            let b = cn.get(beh).and_then(Node::text);
            behavior_set(b.as_deref(), strings(cn.get(list)), cfg, w)
                .map_err(|m| err(&format!("{at}.{cfg}"), Some(cn), m))
        };
    let forward = ForwardPolicy {
        cookies: get("CookiesConfig", "CookieBehavior", "Cookies", &mut w)?,
        headers: get("HeadersConfig", "HeaderBehavior", "Headers", &mut w)?,
        query: get(
            "QueryStringsConfig",
            "QueryStringBehavior",
            "QueryStrings",
            &mut w,
        )?,
    };
    Ok(OriginRequestDef {
        name,
        forward,
        warnings: w,
        at: ctx.at(c),
    })
}

/// A `ResponseHeadersPolicyConfig`: CORS and custom headers (security headers are not the lint's
/// business).
pub(super) fn response_headers_policy_config(
    c: &Node,
    at: &str,
    ctx: &Ctx,
) -> Result<ResponseHeadersDef, BuildError> {
    // A name built from the stack's name stays unresolved: it is only a label.
    let name = c.get("Name").and_then(Node::text).unwrap_or_default();
    let cors = field(c, "CorsConfig", at)?.map(|cc| CorsPolicy {
        allow_origins: strings(cc.get("AccessControlAllowOrigins")),
        allow_methods: strings(cc.get("AccessControlAllowMethods")),
        allow_headers: strings(cc.get("AccessControlAllowHeaders")),
        allow_credentials: cc
            .get("AccessControlAllowCredentials")
            .and_then(Node::as_bool)
            .unwrap_or(false),
        origin_override: cc
            .get("OriginOverride")
            .and_then(Node::as_bool)
            .unwrap_or(false),
    });
    let headers = field(c, "CustomHeadersConfig", at)?
        .map(|h| {
            h.items()
                .iter()
                .filter_map(|i| Some((i.get("Header")?.text()?, i.get("Value")?.text()?)))
                .collect()
        })
        .unwrap_or_default();
    Ok(ResponseHeadersDef {
        name,
        cors,
        headers,
        at: ctx.at(c),
    })
}

/// The behaviors (default last) and the distribution-wide settings of a `DistributionConfig`.
pub(super) fn distribution(
    cfg: &Node,
    root_at: &str,
    ctx: &Ctx,
) -> Result<(Vec<Behavior>, Extras), BuildError> {
    let origins = origins(cfg, root_at)?;
    let Some(default) = field(cfg, "DefaultCacheBehavior", root_at)? else {
        return Err(err(root_at, Some(cfg), "no DefaultCacheBehavior"));
    };
    let mut extras = Extras::default();
    let mut behaviors = Vec::new();
    if let Some(cb) = field(cfg, "CacheBehaviors", root_at)? {
        for (i, item) in cb.items().iter().enumerate() {
            let at = format!("CacheBehaviors.Items[{i}]");
            let Some(p) = field(item, "PathPattern", &at)?.and_then(Node::text) else {
                return Err(err(&at, Some(item), "no PathPattern"));
            };
            if let Err(m) = pattern::validate(&p) {
                return Err(err(
                    &format!("{at}.PathPattern"),
                    item.get("PathPattern"),
                    m,
                ));
            }
            behaviors.push(behavior(item, &p, &at, ctx, &origins, &mut extras)?);
        }
    }
    behaviors.push(behavior(
        default,
        "*",
        "DefaultCacheBehavior",
        ctx,
        &origins,
        &mut extras,
    )?);
    if let Some(ce) = field(cfg, "CustomErrorResponses", root_at)? {
        for (i, e) in ce.items().iter().enumerate() {
            let at = format!("CustomErrorResponses.Items[{i}]");
            let Some(code) = field(e, "ErrorCode", &at)?.and_then(Node::as_u64) else {
                return Err(err(&at, Some(e), "no ErrorCode"));
            };
            let min_ttl = match field(e, "ErrorCachingMinTTL", &at)? {
                None => None,
                Some(v) => Some(v.as_u64().ok_or_else(|| {
                    err(
                        &at,
                        Some(v),
                        "ErrorCachingMinTTL must be a non-negative integer",
                    )
                })?),
            };
            extras.error_responses.push(ErrorResponse {
                code: code.min(999) as u16,
                min_ttl,
                at: ctx.at(e.get("ErrorCachingMinTTL").unwrap_or(e)),
            });
        }
    }
    Ok((behaviors, extras))
}

fn origins(cfg: &Node, at: &str) -> Result<Vec<OriginSettings>, BuildError> {
    let mut out = Vec::new();
    let Some(o) = field(cfg, "Origins", at)? else {
        return Ok(out);
    };
    for item in o.items() {
        let Some(id) = item.get("Id").and_then(Node::text) else {
            continue;
        };
        let shield = item.get("OriginShield");
        out.push(OriginSettings {
            id,
            domain: item.get("DomainName").and_then(Node::text),
            protocol_policy: item
                .get("CustomOriginConfig")
                .and_then(|c| c.get("OriginProtocolPolicy"))
                .and_then(Node::text),
            origin_shield_region: shield
                .filter(|s| s.get("Enabled").and_then(Node::as_bool) == Some(true))
                .and_then(|s| s.get("OriginShieldRegion"))
                .and_then(Node::text),
        });
    }
    Ok(out)
}

fn methods(n: Option<&Node>) -> Vec<String> {
    let m = strings(n);
    if m.is_empty() {
        GET_HEAD.iter().map(|s| s.to_string()).collect()
    } else {
        m.into_iter().map(|s| s.to_ascii_uppercase()).collect()
    }
}

fn behavior(
    item: &Node,
    pat: &str,
    at: &str,
    ctx: &Ctx,
    origins: &[OriginSettings],
    extras: &mut Extras,
) -> Result<Behavior, BuildError> {
    let allowed = field(item, "AllowedMethods", at)?;
    let cached = allowed
        .and_then(|a| a.get("CachedMethods"))
        .or(field(item, "CachedMethods", at)?);
    let mut b = Behavior::legacy(
        pat,
        &GET_HEAD,
        TtlSettings::CONSOLE_DEFAULT,
        KeyPolicy::none(),
    );
    b.methods = methods(allowed);
    b.cached_methods = methods(cached);
    b.compress = field(item, "Compress", at)?
        .and_then(Node::as_bool)
        .unwrap_or(false);
    let src = |n: &Node| ctx.at(n);
    if let Some(s) = src(item) {
        b.source.insert(String::new(), s);
    }
    if let Some(s) = allowed.and_then(src) {
        b.source.insert("methods".into(), s);
    }
    let mut forward;
    if let Some(fv) = field(item, "ForwardedValues", at)? {
        b.ttl = TtlSettings::new(
            u64_field(item, "MinTTL", at, TtlSettings::CONSOLE_DEFAULT.min)?,
            u64_field(item, "DefaultTTL", at, TtlSettings::CONSOLE_DEFAULT.default)?,
            u64_field(item, "MaxTTL", at, TtlSettings::CONSOLE_DEFAULT.max)?,
        );
        if let Some(s) = item.get("MinTTL").or(item.get("MaxTTL")).and_then(src) {
            b.source.insert("ttl".into(), s);
        }
        let fat = format!("{at}.ForwardedValues");
        let cookies_node = field(fv, "Cookies", &fat)?;
        let cookie_forward = cookies_node
            .and_then(|c| c.get("Forward"))
            .and_then(Node::text);
        let whitelist = strings(cookies_node.and_then(|c| c.get("WhitelistedNames")));
        let cookies =
            super::legacy_cookies(cookie_forward.as_deref(), whitelist).map_err(|other| {
                err(
                    at,
                    cookies_node,
                    format!("ForwardedValues.Cookies.Forward {other:?} is not none|whitelist|all"),
                )
            })?;
        if let Some(s) = cookies_node.and_then(src) {
            b.source.insert("cookies".into(), s);
        }
        let headers_node = field(fv, "Headers", &fat)?;
        let headers = strings(headers_node);
        if let Some(s) = headers_node.and_then(src) {
            b.source.insert("headers".into(), s);
        }
        let qs_node = field(fv, "QueryString", &fat)?;
        let qs = qs_node.and_then(Node::as_bool).unwrap_or(false);
        let keys_node = field(fv, "QueryStringCacheKeys", &fat)?;
        let qs_keys = strings(keys_node);
        if let Some(s) = keys_node.or(qs_node).and_then(src) {
            b.source.insert("query".into(), s);
        }
        (b.key, forward) = super::legacy_key(cookies, headers, qs, qs_keys);
    } else if let Some(id) = field(item, "CachePolicyId", at)? {
        ctx.use_cache_policy(&mut b, id, at);
        forward = ForwardPolicy::from(&b.key);
    } else {
        return Err(err(
            at,
            Some(item),
            "neither ForwardedValues nor CachePolicyId",
        ));
    }
    if let Some(id) = field(item, "OriginRequestPolicyId", at)? {
        ctx.use_origin_request_policy(&mut b, &mut forward, id, at);
    }
    if let Some(id) = field(item, "ResponseHeadersPolicyId", at)? {
        ctx.use_response_headers_policy(&mut b, id, at);
    }
    b.origin_forward = forward.union_key(&b.key);
    if let Some(o) = field(item, "TargetOriginId", at)?.and_then(Node::text) {
        b.origin = Some(
            origins
                .iter()
                .find(|x| x.id == o)
                .cloned()
                .unwrap_or(OriginSettings {
                    id: o,
                    ..Default::default()
                }),
        );
    }
    if let Some(g) = item.get("GrpcConfig")
        && g.get("Enabled").and_then(Node::as_bool) == Some(true)
    {
        extras.http2_to_origin.push(Http2ToOrigin {
            what: format!(
                "{at}: GrpcConfig enabled (CloudFront speaks HTTP/2 to the origin for gRPC)"
            ),
            at: src(g),
        });
    }
    Ok(b)
}
