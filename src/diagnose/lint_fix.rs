//! A lint finding's fix, written in the format the configuration is in: the lines to put in the
//! user's own file (our TOML, `get-distribution-config` JSON, CloudFormation YAML or JSON,
//! Terraform). A behavior that uses a cache policy gets the policy's settings, a legacy one its
//! `ForwardedValues`.

use crate::cloudfront::Behavior;
use crate::cloudfront::behavior::ConfigFormat;
use crate::cloudfront::managed::{ALL_VIEWER, CACHING_DISABLED};

/// What to change.
#[derive(Debug, Clone)]
pub enum Change {
    /// No cookies in the cache key.
    NoCookies,
    /// The key's headers become exactly these.
    Headers(Vec<String>),
    /// The key's query strings become exactly these.
    Query(Vec<String>),
    /// The behavior stores nothing.
    CachingDisabled,
    /// CachingDisabled and every viewer header to the origin (the websocket upgrade).
    Websocket,
    /// Error Caching Minimum TTL 0 for this status code.
    ErrorTtl(u16),
    /// HTTP/1.1 on the hop to the nodes.
    Http1,
}

fn fmt_of(format: Option<ConfigFormat>) -> ConfigFormat {
    format.unwrap_or(ConfigFormat::Toml)
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn yaml_list(items: &[String], indent: &str) -> String {
    if items.is_empty() {
        return " []".into();
    }
    items
        .iter()
        .map(|x| format!("\n{indent}- {x}"))
        .collect::<String>()
}

/// The change in `format` for behavior `b` (`None` when the format cannot say it, e.g. error
/// responses in our TOML).
pub fn render(format: Option<ConfigFormat>, b: &Behavior, c: &Change) -> Option<String> {
    use ConfigFormat as F;
    let f = fmt_of(format);
    let policy = b.cache_policy.is_some();
    let yaml = f == F::CloudformationYaml;
    let tf = matches!(f, F::Terraform | F::TerraformPlan);
    let api_json = f == F::DistributionConfig;
    let cfn_json = f == F::CloudformationJson;
    Some(match c {
        Change::NoCookies => match f {
            F::Toml => "cookies = \"none\"".into(),
            _ if tf && policy => "cookies_config {\n  cookie_behavior = \"none\"\n}".into(),
            _ if tf => "cookies {\n  forward = \"none\"\n}".into(),
            _ if yaml && policy => "CookiesConfig:\n  CookieBehavior: none".into(),
            _ if yaml => "ForwardedValues:\n  Cookies:\n    Forward: none".into(),
            _ if policy => "\"CookiesConfig\": {\"CookieBehavior\": \"none\"}".into(),
            _ => "\"ForwardedValues\": {\"Cookies\": {\"Forward\": \"none\"}}".into(),
        },
        Change::Headers(h) => match f {
            F::Toml => format!("headers = [{}]", quoted(h)),
            _ if tf && policy => format!(
                "headers_config {{\n  header_behavior = \"{}\"\n  headers {{\n    items = [{}]\n  }}\n}}",
                if h.is_empty() { "none" } else { "whitelist" },
                quoted(h)
            ),
            _ if tf => format!("headers = [{}]", quoted(h)),
            _ if yaml && policy => format!(
                "HeadersConfig:\n  HeaderBehavior: {}\n  Headers:{}",
                if h.is_empty() { "none" } else { "whitelist" },
                yaml_list(h, "    ")
            ),
            _ if yaml => format!("Headers:{}", yaml_list(h, "  ")),
            _ if policy => format!(
                "\"HeadersConfig\": {{\"HeaderBehavior\": \"{}\", \"Headers\": [{}]}}",
                if h.is_empty() { "none" } else { "whitelist" },
                quoted(h)
            ),
            _ if api_json => format!(
                "\"Headers\": {{\"Quantity\": {}, \"Items\": [{}]}}",
                h.len(),
                quoted(h)
            ),
            _ => format!("\"Headers\": [{}]", quoted(h)),
        },
        Change::Query(q) => match f {
            F::Toml => format!("query = [{}]\nforward_query = \"all\"", quoted(q)),
            _ if tf && policy => format!(
                "query_strings_config {{\n  query_string_behavior = \"whitelist\"\n  query_strings {{\n    items = [{}]\n  }}\n}}",
                quoted(q)
            ),
            _ if tf => format!("query_string            = true\nquery_string_cache_keys = [{}]", quoted(q)),
            _ if yaml && policy => format!(
                "QueryStringsConfig:\n  QueryStringBehavior: whitelist\n  QueryStrings:{}",
                yaml_list(q, "    ")
            ),
            _ if yaml => format!(
                "ForwardedValues:\n  QueryString: true\n  QueryStringCacheKeys:{}",
                yaml_list(q, "    ")
            ),
            _ if policy => format!(
                "\"QueryStringsConfig\": {{\"QueryStringBehavior\": \"whitelist\", \"QueryStrings\": [{}]}}",
                quoted(q)
            ),
            _ if api_json => format!(
                "\"QueryString\": true, \"QueryStringCacheKeys\": {{\"Quantity\": {}, \"Items\": [{}]}}",
                q.len(),
                quoted(q)
            ),
            _ => format!(
                "\"QueryString\": true, \"QueryStringCacheKeys\": [{}]",
                quoted(q)
            ),
        },
        // A legacy behavior stores nothing with its TTLs at 0; a policy one gets CachingDisabled.
        Change::CachingDisabled if !policy => match f {
            F::Toml => "min_ttl = 0\ndefault_ttl = 0\nmax_ttl = 0".into(),
            _ if tf => "min_ttl     = 0\ndefault_ttl = 0\nmax_ttl     = 0".into(),
            _ if yaml => "MinTTL: 0\nDefaultTTL: 0\nMaxTTL: 0".into(),
            _ => "\"MinTTL\": 0, \"DefaultTTL\": 0, \"MaxTTL\": 0".into(),
        },
        Change::CachingDisabled => match f {
            F::Toml => "cache_policy = \"CachingDisabled\"".into(),
            _ if tf => format!("cache_policy_id = \"{CACHING_DISABLED}\" # Managed-CachingDisabled"),
            _ if yaml => format!("CachePolicyId: {CACHING_DISABLED} # CachingDisabled"),
            _ => format!("\"CachePolicyId\": \"{CACHING_DISABLED}\""),
        },
        Change::Websocket => match f {
            F::Toml => "methods = \"all\"\ncache_policy = \"CachingDisabled\"\norigin_request_policy = \"AllViewer\"".into(),
            _ if tf => format!(
                "allowed_methods          = [\"GET\", \"HEAD\", \"OPTIONS\", \"PUT\", \"POST\", \"PATCH\", \"DELETE\"]\ncache_policy_id          = \"{CACHING_DISABLED}\" # Managed-CachingDisabled\norigin_request_policy_id = \"{ALL_VIEWER}\" # Managed-AllViewer"
            ),
            _ if yaml => format!(
                "AllowedMethods: [GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE]\nCachePolicyId: {CACHING_DISABLED} # CachingDisabled\nOriginRequestPolicyId: {ALL_VIEWER} # AllViewer"
            ),
            _ => format!(
                "\"CachePolicyId\": \"{CACHING_DISABLED}\", \"OriginRequestPolicyId\": \"{ALL_VIEWER}\""
            ),
        },
        Change::ErrorTtl(code) => match f {
            F::Toml => return None,
            _ if tf => format!(
                "custom_error_response {{\n  error_code            = {code}\n  error_caching_min_ttl = 0\n}}"
            ),
            _ if yaml => format!("- ErrorCode: {code}\n  ErrorCachingMinTTL: 0"),
            _ if cfn_json || api_json => {
                format!("{{\"ErrorCode\": {code}, \"ErrorCachingMinTTL\": 0}}")
            }
            _ => return None,
        },
        Change::Http1 => match f {
            _ if tf => "protocol_version = \"HTTP1\"".into(),
            _ if yaml => "ProtocolVersion: HTTP1".into(),
            F::CloudformationJson => "\"ProtocolVersion\": \"HTTP1\"".into(),
            _ => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::BehaviorSet;

    #[test]
    fn fixes_follow_the_format_and_the_behavior_kind() {
        let legacy = BehaviorSet::seed_default().behaviors[0].clone();
        let mut policy = legacy.clone();
        policy.cache_policy = Some("x".into());
        let r = |f, b: &Behavior, c| render(Some(f), b, &c).unwrap();
        assert_eq!(
            r(ConfigFormat::Toml, &legacy, Change::NoCookies),
            "cookies = \"none\""
        );
        assert_eq!(
            r(ConfigFormat::Terraform, &legacy, Change::NoCookies),
            "cookies {\n  forward = \"none\"\n}"
        );
        assert_eq!(
            r(ConfigFormat::CloudformationYaml, &policy, Change::NoCookies),
            "CookiesConfig:\n  CookieBehavior: none"
        );
        assert_eq!(
            r(
                ConfigFormat::DistributionConfig,
                &legacy,
                Change::Headers(vec!["Origin".into()])
            ),
            "\"Headers\": {\"Quantity\": 1, \"Items\": [\"Origin\"]}"
        );
        assert!(
            r(
                ConfigFormat::TerraformPlan,
                &policy,
                Change::Query(vec!["avatarId".into(), "size".into()])
            )
            .contains("items = [\"avatarId\", \"size\"]")
        );
        assert!(render(Some(ConfigFormat::Toml), &legacy, &Change::ErrorTtl(502)).is_none());
        assert_eq!(
            r(
                ConfigFormat::CloudformationYaml,
                &legacy,
                Change::ErrorTtl(502)
            ),
            "- ErrorCode: 502\n  ErrorCachingMinTTL: 0"
        );
        assert!(
            r(
                ConfigFormat::CloudformationYaml,
                &legacy,
                Change::Headers(vec![])
            )
            .ends_with("Headers: []")
        );
    }
}
