//! AWS-managed cache, origin request and response headers policies, by id and by name.
//!
//! The ids and settings are those of AWS's pages "Use managed cache policies", "Use managed
//! origin request policies" and "Use managed response headers policies" (CloudFront Developer
//! Guide). A configuration names a policy by id (API, CloudFormation, Terraform) or by name
//! (console, Terraform's `data "aws_cloudfront_cache_policy"` with `Managed-<Name>`); both
//! resolve here. A custom policy's contents live elsewhere (the template's own policy resources,
//! or `aws cloudfront get-cache-policy`).

use super::behavior::{
    AcceptEncodings, CorsPolicy, ForwardPolicy, KeyPolicy, NameSet, TtlSettings,
};

/// A managed cache policy: its TTLs and what it puts in the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedCachePolicy {
    pub id: &'static str,
    pub name: &'static str,
    pub ttl: TtlSettings,
    pub key: KeyPolicy,
    /// "Gzip compression" / "Brotli compression" of the policy's page: enabled for every managed
    /// policy but CachingDisabled and CachingOptimizedForUncompressedObjects (neither), and
    /// Elemental-MediaPackage (Gzip only).
    pub accept_encoding: AcceptEncodings,
}

pub(crate) const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
pub(crate) const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
pub(crate) const USE_ORIGIN_CACHE_CONTROL_HEADERS: &str = "83da9c7e-98b4-4e11-a168-04f0df8e2c65";
pub(crate) const ALL_VIEWER: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";
pub(crate) const ALL_VIEWER_EXCEPT_HOST_HEADER: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
pub(crate) const CORS_CUSTOM_ORIGIN: &str = "59781a5b-3903-41f3-afcb-af62929ccde1";

fn names(items: &[&str]) -> NameSet {
    if items.is_empty() {
        NameSet::None
    } else {
        NameSet::Whitelist(items.iter().map(|s| s.to_string()).collect())
    }
}

/// The headers UseOriginCacheControlHeaders(-QueryStrings) put in the key.
const ORIGIN_CC_HEADERS: [&str; 5] = [
    "Host",
    "Origin",
    "X-HTTP-Method-Override",
    "X-HTTP-Method",
    "X-Method-Override",
];

/// (id, name, min/default/max TTL, cookies all?, query: None | All | list, headers).
type CacheRow = (
    &'static str,
    &'static str,
    (u64, u64, u64),
    bool,
    Option<&'static [&'static str]>,
    &'static [&'static str],
);

const ALL: &[&str] = &["*"];

/// Every managed cache policy. `Some(ALL)` query means all query strings.
const CACHE_POLICIES: &[CacheRow] = &[
    (
        "2e54312d-136d-493c-8eb9-b001f22f67d2",
        "Amplify",
        (2, 2, 600),
        true,
        Some(ALL),
        &["Authorization", "CloudFront-Viewer-Country", "Host"],
    ),
    (
        CACHING_DISABLED,
        "CachingDisabled",
        (0, 0, 0),
        false,
        None,
        &[],
    ),
    (
        CACHING_OPTIMIZED,
        "CachingOptimized",
        (1, 86_400, 31_536_000),
        false,
        None,
        &[],
    ),
    (
        "b2884449-e4de-46a7-ac36-70bc7f1ddd6d",
        "CachingOptimizedForUncompressedObjects",
        (1, 86_400, 31_536_000),
        false,
        None,
        &[],
    ),
    (
        "08627262-05a9-4f76-9ded-b50ca2e3a84f",
        "Elemental-MediaPackage",
        (0, 86_400, 31_536_000),
        false,
        Some(&["aws.manifestfilter", "start", "end", "m"]),
        &["Origin"],
    ),
    (
        USE_ORIGIN_CACHE_CONTROL_HEADERS,
        "UseOriginCacheControlHeaders",
        (0, 0, 31_536_000),
        true,
        None,
        &ORIGIN_CC_HEADERS,
    ),
    (
        "4cc15a8a-d715-48a4-82b8-cc0b614638fe",
        "UseOriginCacheControlHeaders-QueryStrings",
        (0, 0, 31_536_000),
        true,
        Some(ALL),
        &ORIGIN_CC_HEADERS,
    ),
];

/// (id, name, headers (`*` all viewer headers), cookies all?, query all?).
type OriginRow = (
    &'static str,
    &'static str,
    &'static [&'static str],
    bool,
    bool,
);

const ORIGIN_REQUEST_POLICIES: &[OriginRow] = &[
    (ALL_VIEWER, "AllViewer", ALL, true, true),
    (
        "33f36d7e-f396-46d9-90e0-52428a34d9dc",
        "AllViewerAndCloudFrontHeaders-2022-06",
        ALL,
        true,
        true,
    ),
    // The edge always sends the origin's own Host, so this forwards the same as AllViewer.
    (
        ALL_VIEWER_EXCEPT_HOST_HEADER,
        "AllViewerExceptHostHeader",
        ALL,
        true,
        true,
    ),
    (
        CORS_CUSTOM_ORIGIN,
        "CORS-CustomOrigin",
        &["Origin"],
        false,
        false,
    ),
    (
        "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf",
        "CORS-S3Origin",
        &[
            "Origin",
            "Access-Control-Request-Headers",
            "Access-Control-Request-Method",
        ],
        false,
        false,
    ),
    (
        "775133bc-15f2-49f9-abea-afb2e0bf67d2",
        "Elemental-MediaTailor-PersonalizedManifests",
        &[
            "Origin",
            "Access-Control-Request-Headers",
            "Access-Control-Request-Method",
            "User-Agent",
            "X-Forwarded-For",
        ],
        false,
        true,
    ),
    (
        "bf0718e1-ba1e-49d1-88b1-f726733018ae",
        "HostHeaderOnly",
        &["Host"],
        false,
        false,
    ),
    (
        "acba4595-bd28-49b8-b9fe-13317c0390fa",
        "UserAgentRefererHeaders",
        &["User-Agent", "Referer"],
        false,
        false,
    ),
];

/// (id, name, CORS: None | (methods, preflight)). The CORS policies allow every origin (`*`) and
/// leave the origin's own CORS headers alone (origin override off).
type ResponseRow = (&'static str, &'static str, Option<&'static [&'static str]>);

const RESPONSE_HEADERS_POLICIES: &[ResponseRow] = &[
    (
        "e61eb60c-9c35-4d20-a928-2b84e02af89c",
        "CORS-and-SecurityHeadersPolicy",
        Some(&["GET", "HEAD"]),
    ),
    (
        "5cc3b908-e619-4b99-88e5-2cf7f45965bd",
        "CORS-With-Preflight",
        Some(&["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]),
    ),
    (
        "eaab4381-ed33-4a86-88ca-d9558dc6cd63",
        "CORS-with-preflight-and-SecurityHeadersPolicy",
        Some(&["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]),
    ),
    (
        "67f7725c-6f97-4210-82d7-5512b31e9d03",
        "SecurityHeadersPolicy",
        None,
    ),
    (
        "60669652-455b-4ae9-85a4-c4c02393f86c",
        "SimpleCORS",
        Some(&["GET", "HEAD"]),
    ),
];

/// `Managed-CachingOptimized` and `CachingOptimized` name the same policy.
fn same(id: &str, name: &str, wanted: &str) -> bool {
    let w = wanted.trim();
    let w = w.strip_prefix("Managed-").unwrap_or(w);
    w.eq_ignore_ascii_case(id) || w.eq_ignore_ascii_case(name)
}

/// The managed cache policy with this id or name (`CachingOptimized`, `Managed-CachingOptimized`).
pub fn cache_policy(id_or_name: &str) -> Option<ManagedCachePolicy> {
    let (id, name, (min, default, max), cookies_all, query, headers) =
        CACHE_POLICIES.iter().find(|r| same(r.0, r.1, id_or_name))?;
    Some(ManagedCachePolicy {
        id,
        name,
        ttl: TtlSettings::new(*min, *default, *max),
        key: KeyPolicy {
            cookies: if *cookies_all {
                NameSet::All
            } else {
                NameSet::None
            },
            query: match query {
                None => NameSet::None,
                Some(q) if q == &ALL => NameSet::All,
                Some(q) => names(q),
            },
            headers: names(headers),
        },
        accept_encoding: match *name {
            "CachingDisabled" | "CachingOptimizedForUncompressedObjects" => {
                AcceptEncodings::default()
            }
            "Elemental-MediaPackage" => AcceptEncodings {
                gzip: true,
                br: false,
            },
            _ => AcceptEncodings {
                gzip: true,
                br: true,
            },
        },
    })
}

/// A managed origin request policy by id or name: (name, what it forwards besides the key).
pub fn origin_request_policy(id_or_name: &str) -> Option<(&'static str, ForwardPolicy)> {
    let (_, name, headers, cookies_all, query_all) = ORIGIN_REQUEST_POLICIES
        .iter()
        .find(|r| same(r.0, r.1, id_or_name))?;
    let all = |b: bool| if b { NameSet::All } else { NameSet::None };
    Some((
        name,
        ForwardPolicy {
            cookies: all(*cookies_all),
            query: all(*query_all),
            headers: if headers == &ALL {
                NameSet::All
            } else {
                names(headers)
            },
        },
    ))
}

/// A managed response headers policy by id or name: (name, its CORS answer if it has one).
pub fn response_headers_policy(id_or_name: &str) -> Option<(&'static str, Option<CorsPolicy>)> {
    let (_, name, cors) = RESPONSE_HEADERS_POLICIES
        .iter()
        .find(|r| same(r.0, r.1, id_or_name))?;
    Some((
        name,
        cors.map(|methods| CorsPolicy {
            allow_origins: vec!["*".into()],
            allow_methods: methods.iter().map(|s| s.to_string()).collect(),
            allow_headers: vec!["*".into()],
            allow_credentials: false,
            origin_override: false,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_policies_resolve_by_id_and_name() {
        assert_eq!(
            cache_policy(CACHING_OPTIMIZED).unwrap().ttl,
            TtlSettings::new(1, 86_400, 31_536_000)
        );
        assert_eq!(cache_policy("Managed-CachingDisabled").unwrap().ttl.max, 0);
        let uo = cache_policy("UseOriginCacheControlHeaders").unwrap();
        assert!(uo.key.headers.contains_header("host"));
        assert_eq!(uo.key.query, NameSet::None);
        let uoq = cache_policy("4cc15a8a-d715-48a4-82b8-cc0b614638fe").unwrap();
        assert_eq!(uoq.name, "UseOriginCacheControlHeaders-QueryStrings");
        assert_eq!(uoq.key.query, NameSet::All);
        let amp = cache_policy("Managed-Amplify").unwrap();
        assert_eq!(amp.ttl, TtlSettings::new(2, 2, 600));
        assert!(amp.key.headers.contains_header("authorization"));
        assert!(
            cache_policy("Elemental-MediaPackage")
                .unwrap()
                .key
                .query
                .contains("m")
        );
        assert!(cache_policy("00000000-0000-0000-0000-000000000000").is_none());
        assert_eq!(
            origin_request_policy(ALL_VIEWER).unwrap().1.cookies,
            NameSet::All
        );
        let (n, cors) = origin_request_policy("Managed-CORS-S3Origin").unwrap();
        assert_eq!(n, "CORS-S3Origin");
        assert!(
            cors.headers
                .contains_header("access-control-request-method")
        );
        assert_eq!(cors.cookies, NameSet::None);
        let (_, ua) = origin_request_policy("acba4595-bd28-49b8-b9fe-13317c0390fa").unwrap();
        assert!(ua.headers.contains_header("user-agent"));
        let (n, c) = response_headers_policy("5cc3b908-e619-4b99-88e5-2cf7f45965bd").unwrap();
        assert_eq!(n, "CORS-With-Preflight");
        assert_eq!(c.unwrap().allow_origins, ["*"]);
        assert!(
            response_headers_policy("SecurityHeadersPolicy")
                .unwrap()
                .1
                .is_none()
        );
        assert_eq!(ORIGIN_REQUEST_POLICIES.len(), 8);
    }
}
