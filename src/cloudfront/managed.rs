//! AWS-managed cache and origin request policies, by id and by name.
//!
//! `get-distribution-config` names policies by id only; a custom policy's contents need a separate
//! `get-cache-policy` call, so only the managed ones can be modelled from the config alone.

use super::behavior::{ForwardPolicy, KeyPolicy, NameSet, TtlSettings};

/// A managed cache policy: its TTLs and what it puts in the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedCachePolicy {
    pub id: &'static str,
    pub name: &'static str,
    pub ttl: TtlSettings,
    pub key: KeyPolicy,
}

pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
pub const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
pub const USE_ORIGIN_CACHE_CONTROL_HEADERS: &str = "83da9c7e-98b4-4e11-a168-04f0df8e2c65";
pub const ALL_VIEWER: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";
pub const ALL_VIEWER_EXCEPT_HOST_HEADER: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

fn names(items: &[&str]) -> NameSet {
    NameSet::Whitelist(items.iter().map(|s| s.to_string()).collect())
}

/// The managed cache policy with this id or name (`CachingOptimized`, `Managed-CachingOptimized`).
pub fn cache_policy(id_or_name: &str) -> Option<ManagedCachePolicy> {
    let n = id_or_name.trim();
    let n = n.strip_prefix("Managed-").unwrap_or(n);
    let p = if n.eq_ignore_ascii_case(CACHING_OPTIMIZED)
        || n.eq_ignore_ascii_case("CachingOptimized")
    {
        ManagedCachePolicy {
            id: CACHING_OPTIMIZED,
            name: "CachingOptimized",
            ttl: TtlSettings::new(1, 86_400, 31_536_000),
            key: KeyPolicy::none(),
        }
    } else if n.eq_ignore_ascii_case(CACHING_DISABLED) || n.eq_ignore_ascii_case("CachingDisabled")
    {
        ManagedCachePolicy {
            id: CACHING_DISABLED,
            name: "CachingDisabled",
            ttl: TtlSettings::new(0, 0, 0),
            key: KeyPolicy::none(),
        }
    } else if n.eq_ignore_ascii_case(USE_ORIGIN_CACHE_CONTROL_HEADERS)
        || n.eq_ignore_ascii_case("UseOriginCacheControlHeaders")
    {
        // Host (and the method-override headers) in the key, all cookies, no query strings.
        ManagedCachePolicy {
            id: USE_ORIGIN_CACHE_CONTROL_HEADERS,
            name: "UseOriginCacheControlHeaders",
            ttl: TtlSettings::new(0, 0, 31_536_000),
            key: KeyPolicy {
                cookies: NameSet::All,
                query: NameSet::None,
                headers: names(&[
                    "Host",
                    "Origin",
                    "X-HTTP-Method-Override",
                    "X-HTTP-Method",
                    "X-Method-Override",
                ]),
            },
        }
    } else {
        return None;
    };
    Some(p)
}

/// A managed origin request policy by id or name: (name, what it forwards besides the key).
pub fn origin_request_policy(id_or_name: &str) -> Option<(&'static str, ForwardPolicy)> {
    let n = id_or_name.trim();
    let n = n.strip_prefix("Managed-").unwrap_or(n);
    if n.eq_ignore_ascii_case(ALL_VIEWER) || n.eq_ignore_ascii_case("AllViewer") {
        Some(("AllViewer", ForwardPolicy::all_viewer()))
    } else if n.eq_ignore_ascii_case(ALL_VIEWER_EXCEPT_HOST_HEADER)
        || n.eq_ignore_ascii_case("AllViewerExceptHostHeader")
    {
        // The edge always sends the origin's own Host, so this forwards the same as AllViewer.
        Some(("AllViewerExceptHostHeader", ForwardPolicy::all_viewer()))
    } else {
        None
    }
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
        assert!(cache_policy("00000000-0000-0000-0000-000000000000").is_none());
        assert_eq!(
            origin_request_policy(ALL_VIEWER).unwrap().1.cookies,
            NameSet::All
        );
    }
}
