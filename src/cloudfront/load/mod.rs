//! Loading a `BehaviorSet`, one loader per input format, all producing the same model:
//!
//! - `behaviors_toml.rs`: our TOML behaviors file (below);
//! - `json.rs`: the JSON that `aws cloudfront get-distribution-config` prints;
//! - `cloudformation.rs`: CloudFormation templates, YAML or JSON (intrinsics resolved);
//! - `terraform.rs`: Terraform `.tf` files (a file or a directory) and `terraform show -json`.
//!
//! `aws.rs` reads the AWS (PascalCase) shape the API JSON and CloudFormation share; `tree.rs` is
//! the document tree with lines that every structured format is read into. The format is found
//! from the extension and the content (`--input-format` overrides). Loaders never panic on input:
//! every mistake is a `UserError` naming the file (and line/column when known) with a hint, and
//! a reference that cannot be resolved is named, never guessed.
//!
//! TOML format (every key but `pattern` optional; defaults are CloudFront's console defaults):
//!
//! ```toml
//! context_path = "/jira"          # prefixes every pattern below
//!
//! [[behavior]]                    # in order: first match wins
//! pattern = "/s/*"
//! name = "static batches"         # default: "#1 /jira/s/*"
//! methods = "all"                 # "all" | "get_head" | "get_head_options" | ["GET", "HEAD"]
//! cached_methods = ["GET", "HEAD"]
//! min_ttl = 0
//! default_ttl = 86400
//! max_ttl = 31536000
//! cookies = "all"                 # in the cache key (and forwarded): "all" | "none" | ["JSESSIONID"]
//! query = "all"                   # "all" | "none" | ["pid"]
//! headers = ["Origin"]            # "all" (caching off) | "none" | ["Origin"]
//! forward_query = "all"           # forwarded beyond the key (origin request policy):
//! forward_cookies = "all"         #   forward_cookies / forward_query / forward_headers
//! cache_policy = "CachingOptimized"        # managed cache policy: sets TTLs and key
//! origin_request_policy = "AllViewer"      # managed origin request policy: sets forwarding
//! expect = "hit"                  # "hit" | "bypass": override the derived expectation
//! add_headers = { "X-Lab-Behavior" = "s" } # response-headers policy
//! compress = true                 # Compress: gzip (br) listed types for viewers that accept it
//! accept_encoding = ["gzip", "br"] # cache policy's cached compressed formats (EnableAcceptEncoding*):
//!                                 #   in the key and forwarded; absent: legacy gzip/br normalisation
//!
//! [default]                       # the `*` behavior, same keys but no pattern. If absent, the
//! headers = "all"                 # seed's default row: forward everything, cache nothing.
//!
//! [error_caching_min_ttl]         # CustomErrorResponses: seconds per status code (default 10)
//! 502 = 0
//! ```
//!
//! Explicit keys win over what a `cache_policy` sets. The cache key is always forwarded too.

use crate::cloudfront::NameSet;
use std::path::Path;

use super::behavior::{
    AcceptEncodings, BehaviorSet, ConfigFormat, CorsPolicy, ForwardPolicy, KeyPolicy, SourceRef,
    TtlSettings,
};
use super::managed;
use crate::error::UserError;

mod aws;
mod behaviors_toml;
mod cloudformation;
mod json;
mod terraform;
mod tf_eval;
pub(crate) mod tree;

pub use behaviors_toml::from_toml_str;
pub use json::from_distribution_json_str;

/// The seven behaviors of the community thread.
pub fn seed_default() -> BehaviorSet {
    BehaviorSet::seed_default()
}

/// How to read an input: its format when the name and content do not say, and the template
/// parameters (`--parameter Name=Value`, CloudFormation parameters and Terraform variables).
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadOptions {
    pub format: Option<ConfigFormat>,
    pub parameters: Vec<(String, String)>,
    /// Which distribution of a file that declares several (`--distribution NAME`): a
    /// CloudFormation logical id, a Terraform resource name or address.
    pub distribution: Option<String>,
}

/// Load a behaviors file in whichever format it is (see the module docs).
#[cfg(test)]
pub(crate) fn from_file(path: &Path) -> Result<BehaviorSet, UserError> {
    from_file_with(path, &LoadOptions::default())
}

/// Load a behaviors file (or a directory of `.tf` files) with options.
pub(crate) fn from_file_with(path: &Path, opts: &LoadOptions) -> Result<BehaviorSet, UserError> {
    if path.is_dir() {
        return terraform::from_dir(path, opts);
    }
    let text = crate::input::read_to_string(path, crate::input::Kind::Behaviors)?;
    let format = match opts.format {
        Some(f) => f,
        None => detect(path, &text)?,
    };
    match format {
        ConfigFormat::Toml => from_toml_str(&text, path),
        ConfigFormat::DistributionConfig => from_distribution_json_str(&text, path),
        ConfigFormat::CloudformationYaml | ConfigFormat::CloudformationJson => {
            cloudformation::from_str(&text, path, format, opts)
        }
        ConfigFormat::Terraform => terraform::from_tf_files(&[(path.to_path_buf(), text)], opts),
        ConfigFormat::TerraformPlan => terraform::from_plan_json_str(&text, path, opts),
    }
}

/// The format of `text`, from the file's extension and then its content.
pub(crate) fn detect(path: &Path, text: &str) -> Result<ConfigFormat, UserError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let t = text.trim_start();
    let json_kind = || -> Option<ConfigFormat> {
        // Only the top-level keys matter; a parse failure is reported by the JSON loader.
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let o = v.as_object()?;
        if o.contains_key("Resources") || o.contains_key("AWSTemplateFormatVersion") {
            Some(ConfigFormat::CloudformationJson)
        } else if o.contains_key("format_version")
            && (o.contains_key("planned_values") || o.contains_key("values"))
        {
            Some(ConfigFormat::TerraformPlan)
        } else {
            None
        }
    };
    Ok(match ext.as_str() {
        "tf" => ConfigFormat::Terraform,
        "toml" => ConfigFormat::Toml,
        "yaml" | "yml" | "template" => ConfigFormat::CloudformationYaml,
        _ if t.starts_with('{') => json_kind().unwrap_or(ConfigFormat::DistributionConfig),
        _ if t.contains("AWSTemplateFormatVersion") || t.starts_with("Resources:") => {
            ConfigFormat::CloudformationYaml
        }
        _ if t.contains("resource \"aws_cloudfront_distribution\"") => ConfigFormat::Terraform,
        _ => ConfigFormat::Toml,
    })
}

// ---------------------------------------------------------------------------------------------
// What every structured loader shares

/// A legacy `ForwardedValues` cookie setting (`Forward`: none, whitelist, all, with its
/// whitelist) as a name set, the same in every format; an empty whitelist forwards none. `Err`
/// holds an unknown `Forward` value, for the caller to name where it is written.
pub(super) fn legacy_cookies(
    forward: Option<&str>,
    whitelist: Vec<String>,
) -> Result<NameSet, String> {
    match forward {
        None | Some("none") => Ok(NameSet::None),
        Some("all") => Ok(NameSet::All),
        Some("whitelist") if whitelist.is_empty() => Ok(NameSet::None),
        Some("whitelist") => Ok(NameSet::Whitelist(whitelist)),
        Some(other) => Err(other.to_string()),
    }
}

/// A legacy `ForwardedValues` behavior's cache key and what it forwards, from its cookie set, its
/// header list (`*`: all) and its query string settings. With `QueryStringCacheKeys`, CloudFront
/// forwards every query string and keys on the listed ones ("forward all, cache based on
/// whitelist").
pub(super) fn legacy_key(
    cookies: NameSet,
    headers: Vec<String>,
    query: bool,
    query_keys: Vec<String>,
) -> (KeyPolicy, ForwardPolicy) {
    let headers = if headers.iter().any(|h| h == "*") {
        NameSet::All
    } else if headers.is_empty() {
        NameSet::None
    } else {
        NameSet::Whitelist(headers)
    };
    let (key_q, fwd_q) = match (query, query_keys.is_empty()) {
        (false, _) => (NameSet::None, NameSet::None),
        (true, true) => (NameSet::All, NameSet::All),
        (true, false) => (NameSet::Whitelist(query_keys), NameSet::All),
    };
    let key = KeyPolicy {
        cookies,
        query: key_q,
        headers,
    };
    let mut forward = ForwardPolicy::from(&key);
    forward.query = fwd_q;
    (key, forward)
}

/// Whether `wanted` (from `--distribution`) names the distribution `name`: a CloudFormation
/// logical id as written; a Terraform address in full (`module.cdn.aws_cloudfront_distribution.this[0]`),
/// from its resource type (`aws_cloudfront_distribution.this`) or as its resource name (`this`,
/// `this[0]`).
fn names_distribution(name: &str, wanted: &str) -> bool {
    if name == wanted {
        return true;
    }
    const TY: &str = "aws_cloudfront_distribution.";
    let Some(i) = name.rfind(TY) else {
        return false;
    };
    let local = &name[i + TY.len()..];
    let bare = local.split('[').next().unwrap_or(local);
    [&name[i..], local, bare].contains(&wanted)
        || wanted.strip_prefix(TY).is_some_and(|w| w == bare)
}

/// The one distribution to model among `names` (`file` labels the messages): the one
/// `--distribution` names, or the only one. `none` is the caller's message for a file without
/// any. cdnprobe models one distribution at a time; several without the flag is exit 2 naming
/// them and the flag.
pub(crate) fn pick_distribution(
    file: &str,
    names: &[&str],
    wanted: Option<&str>,
    none: impl FnOnce() -> UserError,
) -> Result<usize, UserError> {
    let list = names.join(", ");
    match (names, wanted) {
        ([], _) => Err(none()),
        ([_], None) => Ok(0),
        (_, None) => Err(UserError::input(
            format!(
                "{file}: {} CloudFront distributions ({list}): cdnprobe models one distribution at a time",
                names.len()
            ),
            format!("pick one with --distribution NAME, one of: {list}"),
        )),
        (_, Some(w)) => {
            let hits: Vec<usize> = (0..names.len())
                .filter(|&i| names_distribution(names[i], w))
                .collect();
            match hits.as_slice() {
                [one] => Ok(*one),
                [] => Err(UserError::input(
                    format!("{file}: no CloudFront distribution named {w:?} (it has: {list})"),
                    format!("pass --distribution with one of: {list}"),
                )),
                many => Err(UserError::input(
                    format!(
                        "{file}: --distribution {w:?} names {} distributions ({})",
                        many.len(),
                        many.iter()
                            .map(|&i| names[i])
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "pass the full name, with its index (e.g. `this[0]`)",
                )),
            }
        }
    }
}

/// A structural mistake at a path of the document (`CacheBehaviors.Items[1]`), with the line of
/// the node when the format has lines (0 otherwise).
#[derive(Debug)]
pub(crate) struct BuildError {
    pub at: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl BuildError {
    fn into_user(self, file: &Path, hint: &str) -> UserError {
        if self.line > 0 {
            UserError::Scenario {
                file: file.to_path_buf(),
                line: self.line as usize,
                column: self.col.max(1) as usize,
                message: format!("{}: {}", self.at, self.message),
                hint: hint.into(),
            }
        } else {
            UserError::input(
                format!("{}: {}: {}", file.display(), self.at, self.message),
                hint,
            )
        }
    }
}

/// A cache policy as the model needs it.
pub(crate) struct CachePolicyDef {
    pub name: String,
    pub ttl: TtlSettings,
    pub key: KeyPolicy,
    pub accept_encoding: AcceptEncodings,
    pub warnings: Vec<String>,
    /// Where the policy writes `cookies`, `headers`, `query` and `ttl` (a custom policy of the
    /// same input): a finding about the key points there.
    pub at: Vec<(&'static str, SourceRef)>,
}

pub(crate) struct OriginRequestDef {
    pub name: String,
    pub forward: ForwardPolicy,
    pub warnings: Vec<String>,
    #[allow(dead_code)]
    pub at: Option<SourceRef>,
}

pub(crate) struct ResponseHeadersDef {
    pub name: String,
    pub cors: Option<CorsPolicy>,
    pub headers: Vec<(String, String)>,
    #[allow(dead_code)]
    pub at: Option<SourceRef>,
}

/// (label for the behavior, why it cannot be modelled): a warning, not an error, as AWS
/// accepts the reference and only the contents are unknown here.
pub(crate) type Unknown = (String, String);

/// Where a behavior's policy references lead.
pub(crate) trait Policies {
    fn cache(&self, v: &tree::Node) -> Result<CachePolicyDef, Unknown>;
    fn origin_request(&self, v: &tree::Node) -> Result<OriginRequestDef, Unknown>;
    fn response_headers(&self, v: &tree::Node) -> Result<ResponseHeadersDef, Unknown>;
}

/// Managed policies only (what a `get-distribution-config` JSON can say by itself).
pub(crate) struct ManagedOnly;

pub(crate) fn managed_cache(id: &str) -> Option<CachePolicyDef> {
    managed::cache_policy(id).map(|m| CachePolicyDef {
        name: m.name.to_string(),
        ttl: m.ttl,
        key: m.key,
        accept_encoding: m.accept_encoding,
        warnings: Vec::new(),
        at: Vec::new(),
    })
}

pub(crate) fn managed_origin_request(id: &str) -> Option<OriginRequestDef> {
    managed::origin_request_policy(id).map(|(name, forward)| OriginRequestDef {
        name: name.to_string(),
        forward,
        warnings: Vec::new(),
        at: None,
    })
}

pub(crate) fn managed_response_headers(id: &str) -> Option<ResponseHeadersDef> {
    managed::response_headers_policy(id).map(|(name, cors)| ResponseHeadersDef {
        name: name.to_string(),
        cors,
        headers: Vec::new(),
        at: None,
    })
}

impl Policies for ManagedOnly {
    fn cache(&self, v: &tree::Node) -> Result<CachePolicyDef, Unknown> {
        let id = v.text().unwrap_or_default();
        managed_cache(&id).ok_or_else(|| {
            (
                id.clone(),
                format!(
                    "custom cache policy {id} is not in the distribution config. Run `aws cloudfront get-cache-policy --id {id}` to see what it really does"
                ),
            )
        })
    }
    fn origin_request(&self, v: &tree::Node) -> Result<OriginRequestDef, Unknown> {
        let id = v.text().unwrap_or_default();
        managed_origin_request(&id).ok_or_else(|| {
            (
                id.clone(),
                format!(
                    "custom origin request policy {id} is not in the distribution config. Run `aws cloudfront get-origin-request-policy --id {id}`"
                ),
            )
        })
    }
    fn response_headers(&self, v: &tree::Node) -> Result<ResponseHeadersDef, Unknown> {
        let id = v.text().unwrap_or_default();
        managed_response_headers(&id).ok_or_else(|| {
            (
                id.clone(),
                format!(
                    "custom response headers policy {id} is not in the distribution config. Run `aws cloudfront get-response-headers-policy --id {id}`"
                ),
            )
        })
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::json::json_position;
    use super::*;
    use crate::cloudfront::behavior::{Expect, NameSet};

    fn fixture(name: &str) -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(p).unwrap()
    }

    fn sorted(v: &[String]) -> Vec<String> {
        let mut v = v.to_vec();
        v.sort();
        v
    }

    /// Same behaviors, ignoring method order (AWS prints its own order).
    fn assert_same(a: &BehaviorSet, b: &BehaviorSet) {
        assert_eq!(a.behaviors.len(), b.behaviors.len());
        for (x, y) in a.behaviors.iter().zip(&b.behaviors) {
            assert_eq!(x.pattern, y.pattern);
            assert_eq!(x.name, y.name);
            assert_eq!(sorted(&x.methods), sorted(&y.methods), "{}", x.name);
            assert_eq!(
                sorted(&x.cached_methods),
                sorted(&y.cached_methods),
                "{}",
                x.name
            );
            assert_eq!(x.ttl, y.ttl, "{}", x.name);
            assert_eq!(x.key, y.key, "{}", x.name);
            assert_eq!(x.origin_forward, y.origin_forward, "{}", x.name);
            assert_eq!(x.is_default, y.is_default);
        }
    }

    #[test]
    fn custom_error_responses_set_the_error_caching_min_ttl_per_code() {
        let json = r#"{"ETag": "E1", "DistributionConfig": {
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ForwardedValues": {"QueryString": false,
                "Cookies": {"Forward": "none"}}, "MinTTL": 0, "Compress": true},
            "CustomErrorResponses": {"Quantity": 3, "Items": [
                {"ErrorCode": 502, "ResponsePagePath": "", "ResponseCode": "", "ErrorCachingMinTTL": 0},
                {"ErrorCode": 404, "ErrorCachingMinTTL": 300},
                {"ErrorCode": 503, "ResponsePagePath": "/503.html", "ResponseCode": "503"}
            ]}}}"#;
        let set = from_distribution_json_str(json, Path::new("d.json")).unwrap();
        assert!(set.behaviors[0].compress, "Compress: true");
        let back = from_toml_str(&set.to_toml(), Path::new("rt.toml")).unwrap();
        assert!(back.behaviors[0].compress);
        assert_eq!(
            set.error_caching_min_ttl
                .clone()
                .into_iter()
                .collect::<Vec<_>>(),
            [(404, 300), (502, 0)],
            "503 without ErrorCachingMinTTL keeps the default"
        );
        let back = from_toml_str(&set.to_toml(), Path::new("rt.toml")).unwrap();
        assert_eq!(back.error_caching_min_ttl, set.error_caching_min_ttl);

        let toml = "[error_caching_min_ttl]\n502 = 0\n503 = 60\n";
        let set = from_toml_str(toml, Path::new("b.toml")).unwrap();
        assert_eq!(set.error_caching_min_ttl.get(&502), Some(&0));
        let e = from_toml_str("[error_caching_min_ttl]\nabc = 1\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("abc") && e.contains("b.toml:1"), "{e}");
    }

    #[test]
    fn structural_json_errors_point_at_the_line() {
        let text = "{\"DistributionConfig\": {\n  \"CacheBehaviors\": {\"Quantity\": 2, \"Items\": [\n    {\"PathPattern\": \"/s/*\", \"ForwardedValues\": {}},\n    {\"TargetOriginId\": \"x\"}\n  ]},\n  \"DefaultCacheBehavior\": {\"CachePolicyId\": \"658327ea-f89d-4fab-a63d-7e88639e58f6\"}\n}}";
        let e = from_distribution_json_str(text, Path::new("d.json")).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("d.json:4:5: CacheBehaviors.Items[1]: no PathPattern"),
            "{msg}"
        );
        assert_eq!(json_position(text, "DefaultCacheBehavior"), Some((6, 27)));
        assert_eq!(
            json_position(text, "CacheBehaviors.Items[0].PathPattern"),
            Some((3, 21))
        );
        assert_eq!(json_position(text, "Nope"), None);
    }

    #[test]
    fn distribution_json_of_the_seed_loads_as_the_seed_default() {
        let set = from_distribution_json_str(
            &fixture("distribution-config-seed.json"),
            Path::new("seed.json"),
        )
        .unwrap();
        assert_same(&set, &seed_default());
        assert!(set.behaviors.iter().all(|b| b.warnings.is_empty()));
    }

    #[test]
    fn bare_distribution_config_with_cache_policies() {
        let set = from_distribution_json_str(
            &fixture("distribution-config-policies.json"),
            Path::new("p.json"),
        )
        .unwrap();
        let b = &set.behaviors;
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].cache_policy.as_deref(), Some("CachingOptimized"));
        assert_eq!(b[0].ttl, TtlSettings::new(1, 86_400, 31_536_000));
        assert_eq!(b[0].key, KeyPolicy::none());
        // CachingOptimized + AllViewer: cookies forwarded, none in the key (the leak shape).
        assert_eq!(b[1].origin_request_policy.as_deref(), Some("AllViewer"));
        assert_eq!(b[1].key.cookies, NameSet::None);
        assert_eq!(b[1].origin_forward.cookies, NameSet::All);
        assert!(
            !b[1].caching_off(),
            "forwarding all headers via an origin request policy keeps caching on"
        );
        // Unknown custom policy: modelled with a warning, not an error.
        assert_eq!(b[2].warnings.len(), 1);
        assert!(b[2].warnings[0].contains("get-cache-policy"));
        assert_eq!(b[3].cache_policy.as_deref(), Some("CachingDisabled"));
        assert_eq!(set.expectation(3), Expect::Bypass);
        assert_eq!(set.matching("/jira/s/x.js").0, 0);
    }

    #[test]
    fn distribution_json_errors_never_panic_and_name_the_file() {
        let cases = [
            "",
            "{",
            "[]",
            "{}",
            r#"{"DistributionConfig": {"DefaultCacheBehavior": 5}}"#,
            r#"{"DefaultCacheBehavior": {"ForwardedValues": {"Cookies": {"Forward": "some"}}}}"#,
            r#"{"DefaultCacheBehavior": {"CachePolicyId": ""}, "CacheBehaviors": {"Items": [{"CachePolicyId": "x"}]}}"#,
            r#"{"DefaultCacheBehavior": {"ForwardedValues": {}, "MinTTL": -1}}"#,
        ];
        for c in cases {
            let e = from_distribution_json_str(c, Path::new("dist.json")).unwrap_err();
            assert!(e.to_string().contains("dist.json"), "{c}: {e}");
        }
        let e = from_distribution_json_str("{\n  \"a\": ,\n}", Path::new("dist.json")).unwrap_err();
        assert!(e.to_string().starts_with("dist.json:2:"), "{e}");
    }

    const EXAMPLE: &str = r#"
context_path = "/jira"

[[behavior]]
pattern = "/s/*"
methods = "all"
min_ttl = 0
default_ttl = 86400
max_ttl = 31536000
cookies = "all"
query = "all"
headers = ["Origin"]
add_headers = { "X-Lab-Behavior" = "s" }

[[behavior]]
pattern = "/secure/viewavatar*"
min_ttl = 86400
cookies = "none"
query = ["avatarId"]
forward_query = "all"
expect = "hit"

[[behavior]]
pattern = "/secure/Dashboard.jspa"
cache_policy = "CachingOptimized"
origin_request_policy = "AllViewer"

[default]
methods = "all"
headers = "all"
cookies = "all"
query = "all"
"#;

    #[test]
    fn toml_example_loads() {
        let set = from_toml_str(EXAMPLE, Path::new("b.toml")).unwrap();
        assert_eq!(set.context_path, "/jira");
        let b = &set.behaviors;
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].name, "#1 /jira/s/*");
        assert_eq!(b[0].methods.len(), 7);
        assert_eq!(
            b[0].response_headers,
            vec![("X-Lab-Behavior".to_string(), "s".to_string())]
        );
        assert_eq!(b[1].ttl, TtlSettings::new(86_400, 86_400, 31_536_000));
        assert_eq!(b[1].key.query, NameSet::Whitelist(vec!["avatarId".into()]));
        assert_eq!(b[1].origin_forward.query, NameSet::All);
        assert_eq!(b[1].expect, Some(Expect::Hit));
        assert_eq!(b[2].ttl.min, 1);
        assert_eq!(b[2].origin_forward.cookies, NameSet::All);
        assert!(b[3].is_default && b[3].caching_off());
        assert_eq!(set.matching("/jira/secure/viewavatar?avatarId=1").0, 1);
    }

    #[test]
    fn toml_without_default_gets_the_seed_default_row() {
        let set = from_toml_str("[[behavior]]\npattern = \"/s/*\"\n", Path::new("b.toml")).unwrap();
        assert_eq!(set.behaviors.len(), 2);
        assert!(set.behaviors[1].is_default && set.behaviors[1].caching_off());
    }

    #[test]
    fn toml_errors_point_at_line_and_column() {
        let cases: [(&str, &str, &str); 7] = [
            (
                "[[behavior]]\npattern = \"/s/*\"\ncookies = \"some\"\n",
                "b.toml:3:",
                "cookies",
            ),
            (
                "[[behavior]]\npattern = \"/s/*\"\nmin_ttl = 10\ndefault_ttl = 5\n",
                "b.toml:1:",
                "min <= default",
            ),
            (
                "[[behavior]]\nmethods = \"all\"\n",
                "b.toml:1:",
                "no `pattern`",
            ),
            (
                "[[behavior]]\npattern = \"*\"\n",
                "b.toml:2:",
                "default behavior",
            ),
            (
                "[[behavior]]\npattern = \"/s/*\"\ncolour = 1\n",
                "b.toml:3:",
                "colour",
            ),
            (
                "[[behavior]]\npattern = \"/s/*\"\nmethods = [\"GET\", \"FETCH\"]\n",
                "b.toml:3:",
                "FETCH",
            ),
            (
                "[[behavior]]\npattern = \"/s/*\"\ncache_policy = \"Fast\"\n",
                "b.toml:3:",
                "cache policy",
            ),
        ];
        for (text, at, word) in cases {
            let e = from_toml_str(text, Path::new("b.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(at), "{text:?}: {e}");
            assert!(e.contains(word), "{text:?}: {e}");
            assert!(e.contains("hint:"), "{e}");
        }
    }

    #[test]
    fn to_toml_round_trips() {
        for set in [
            seed_default(),
            seed_default().with_context_path("/confluence"),
            from_toml_str(EXAMPLE, Path::new("b.toml")).unwrap(),
        ] {
            let text = set.to_toml();
            let back = from_toml_str(&text, Path::new("rt.toml"))
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            // Managed policy names are not re-emitted: their effect is spelled out instead.
            let mut expected = set.clone();
            for b in &mut expected.behaviors {
                b.cache_policy = None;
                b.origin_request_policy = None;
            }
            // Lines are where each file writes things: not part of the round trip.
            let mut back = back;
            for b in &mut back.behaviors {
                b.source.clear();
            }
            for b in &mut expected.behaviors {
                b.source.clear();
            }
            back.input = None;
            expected.input = None;
            assert_eq!(back, expected, "{text}");
        }
    }

    #[test]
    fn behavior_set_serializes_to_json() {
        let v = serde_json::to_value(seed_default()).unwrap();
        assert_eq!(v["behaviors"][0]["pattern"], "/s/*");
        assert_eq!(v["behaviors"][0]["key"]["cookies"], "all");
        assert_eq!(v["behaviors"][1]["key"]["query"]["whitelist"][0], "pid");
        let back: BehaviorSet = serde_json::from_value(v).unwrap();
        assert_eq!(back, seed_default());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn loaders_never_panic(text in ".{0,300}") {
            let _ = from_toml_str(&text, Path::new("f.toml"));
            let _ = from_distribution_json_str(&text, Path::new("f.json"));
            let opts = LoadOptions::default();
            let _ = cloudformation::from_str(&text, Path::new("f.yaml"), ConfigFormat::CloudformationYaml, &opts);
            let _ = cloudformation::from_str(&text, Path::new("f.json"), ConfigFormat::CloudformationJson, &opts);
            let _ = terraform::from_tf_files(&[(Path::new("f.tf").to_path_buf(), text.clone())], &opts);
            let _ = terraform::from_plan_json_str(&text, Path::new("p.json"), &opts);
        }

        #[test]
        fn template_shaped_garbage_never_panics(
            tag in "(Ref|Sub|If|GetAtt|Join|Select|FindInMap|Split|Equals|Not|Condition|ImportValue)",
            arg in "[a-zA-Z:.$\\{}\\[\\], 0-9-]{0,24}",
            key in "(PathPattern|CachePolicyId|ForwardedValues|MinTTL|Headers|CacheBehaviors|DefaultCacheBehavior)",
        ) {
            let t = format!(
                "Parameters:\n  P:\n    Type: String\n    Default: x\nConditions:\n  C: !Equals [!Ref P, x]\nResources:\n  D:\n    Type: AWS::CloudFront::Distribution\n    Properties:\n      DistributionConfig:\n        DefaultCacheBehavior:\n          {key}: !{tag} {arg}\n          CachePolicyId: !{tag} {arg}\n        CacheBehaviors:\n          - {key}: !{tag} [{arg}]\n"
            );
            let _ = cloudformation::from_str(&t, Path::new("f.yaml"), ConfigFormat::CloudformationYaml, &LoadOptions::default());
            let tf = format!("resource \"aws_cloudfront_distribution\" \"d\" {{\n  default_cache_behavior {{\n    cache_policy_id = {arg}\n  }}\n}}\n");
            let _ = terraform::from_tf_files(&[(Path::new("f.tf").to_path_buf(), tf)], &LoadOptions::default());
        }

        #[test]
        fn json_shaped_garbage_never_panics(
            min in proptest::option::of(-5i64..5),
            fwd in "(none|all|whitelist|x)",
            qs in proptest::bool::ANY,
            items in proptest::collection::vec("[a-z*]{0,3}", 0..3),
        ) {
            let v = serde_json::json!({"DistributionConfig": {
                "DefaultCacheBehavior": {"MinTTL": min, "ForwardedValues": {"QueryString": qs,
                    "Cookies": {"Forward": fwd, "WhitelistedNames": {"Items": items.clone()}},
                    "Headers": {"Items": items.clone()}, "QueryStringCacheKeys": {"Items": items}}}}});
            let _ = from_distribution_json_str(&v.to_string(), Path::new("f.json"));
        }
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    fn iac(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/iac")
            .join(p)
    }

    #[test]
    fn every_fixture_is_detected_and_loads() {
        for (f, fmt, n) in [
            (
                "AtlassianCDN.template.yaml",
                ConfigFormat::CloudformationYaml,
                1,
            ),
            (
                "jira-cdn.template.json",
                ConfigFormat::CloudformationJson,
                5,
            ),
            ("terraform-plan.json", ConfigFormat::TerraformPlan, 2),
            ("terraform", ConfigFormat::Terraform, 4),
        ] {
            let set = from_file_with(
                &iac(f),
                &LoadOptions {
                    format: None,
                    parameters: vec![("origin_domain".into(), "x.example.com".into())],
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(set.input.as_ref().unwrap().format, fmt, "{f}");
            assert_eq!(set.behaviors.len(), n, "{f}");
        }
        let seed = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/distribution-config-seed.json");
        assert_eq!(
            from_file(&seed).unwrap().input.unwrap().format,
            ConfigFormat::DistributionConfig
        );
    }

    #[test]
    fn the_atlassian_template_keys_on_accept_and_forwards_query_strings() {
        let set = from_file(&iac("AtlassianCDN.template.yaml")).unwrap();
        let d = &set.behaviors[0];
        assert!(d.is_default);
        assert_eq!(d.methods, ["GET", "HEAD", "OPTIONS"]);
        assert!(d.key.headers.contains_header("accept"));
        assert!(d.key.headers.contains_header("origin"));
        assert_eq!(d.key.query, crate::cloudfront::NameSet::All);
        assert_eq!(d.key.cookies, crate::cloudfront::NameSet::None);
        assert_eq!(d.ttl, TtlSettings::CONSOLE_DEFAULT);
        assert_eq!(
            d.origin.as_ref().unwrap().protocol_policy.as_deref(),
            Some("https-only")
        );
        assert_eq!(d.source["headers"].line, 63);
        // The internal variant resolves too (its origin is the CDN-only load balancer).
        let internal = from_file_with(
            &iac("AtlassianCDN.template.yaml"),
            &LoadOptions {
                format: None,
                parameters: vec![("Internal".into(), "true".into())],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(internal.behaviors.len(), 1);
    }
}

#[cfg(test)]
mod pick_tests {
    use super::*;

    fn with(d: Option<&str>) -> LoadOptions {
        LoadOptions {
            distribution: d.map(String::from),
            ..Default::default()
        }
    }

    fn iac(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/iac")
            .join(p)
    }

    #[test]
    fn terraform_names_match_by_address_type_and_name() {
        let n = |name: &str, w: &str| names_distribution(name, w);
        let plan = "module.cdn.aws_cloudfront_distribution.this[0]";
        assert!(n(plan, plan));
        assert!(n(plan, "this[0]"));
        assert!(n(plan, "this"));
        assert!(n(plan, "aws_cloudfront_distribution.this"));
        assert!(n(plan, "aws_cloudfront_distribution.this[0]"));
        assert!(!n(plan, "that"));
        assert!(!n(plan, "thi"));
        assert!(n("JiraCdn", "JiraCdn"));
        assert!(!n("JiraCdn", "jiracdn"), "logical ids are case-sensitive");
    }

    #[test]
    fn several_distributions_need_the_flag_which_picks_one() {
        for (file, a, b) in [
            (
                "two-distributions.template.yaml",
                "JiraCdn",
                "ConfluenceCdn",
            ),
            (
                "two-distributions.tf",
                "aws_cloudfront_distribution.jira",
                "confluence",
            ),
        ] {
            let e = from_file_with(&iac(file), &with(None)).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("2 CloudFront distributions"), "{msg}");
            assert!(msg.contains("--distribution NAME"), "{msg}");
            assert!(
                msg.contains("JiraCdn") || msg.contains("aws_cloudfront_distribution.jira"),
                "{msg}"
            );
            let jira = from_file_with(&iac(file), &with(Some(a))).unwrap();
            assert_eq!(jira.behaviors.len(), 2, "{file}");
            assert_eq!(jira.behaviors[0].pattern, "/s/*");
            let wiki = from_file_with(&iac(file), &with(Some(b))).unwrap();
            assert_eq!(wiki.behaviors.len(), 3, "{file}");
            assert_eq!(wiki.behaviors[1].pattern, "/wiki/download/resources/*");
            let e = from_file_with(&iac(file), &with(Some("Bitbucket"))).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("\"Bitbucket\"") && msg.contains("one of:"),
                "{msg}"
            );
        }
        // A file with one distribution: the flag must still name it.
        assert!(from_file_with(&iac("terraform"), &with(Some("jira"))).is_ok());
        let e = from_file_with(&iac("AtlassianCDN.template.yaml"), &with(Some("Nope")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no CloudFront distribution named \"Nope\""),
            "{e}"
        );
    }

    #[test]
    fn a_plan_with_counted_distributions_picks_by_index() {
        let dist = |pattern: &str| {
            serde_json::json!({
                "type": "aws_cloudfront_distribution", "name": "this", "mode": "managed",
                "values": {"default_cache_behavior": [{
                    "cache_policy_id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                    "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"]}],
                    "ordered_cache_behavior": [{"path_pattern": pattern,
                    "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                    "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"]}]}
            })
        };
        let mut a = dist("/jira/s/*");
        a["address"] = "module.cdn.aws_cloudfront_distribution.this[0]".into();
        a["index"] = 0.into();
        let mut b = dist("/wiki/s/*");
        b["address"] = "module.cdn.aws_cloudfront_distribution.this[1]".into();
        b["index"] = 1.into();
        let plan = serde_json::json!({"format_version": "1.2", "planned_values": {"root_module": {
            "child_modules": [{"address": "module.cdn", "resources": [a, b]}]}}});
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json");
        std::fs::write(&p, plan.to_string()).unwrap();
        let e = from_file_with(&p, &with(Some("this")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("names 2 distributions"), "{e}");
        let set = from_file_with(&p, &with(Some("this[1]"))).unwrap();
        assert_eq!(set.behaviors[0].pattern, "/wiki/s/*");
    }
}

#[cfg(test)]
mod detect_tests {
    use super::*;

    #[test]
    fn the_content_decides_when_the_name_does_not() {
        let d = |name: &str, text: &str| detect(Path::new(name), text).unwrap();
        assert_eq!(
            d(
                "cdn",
                "AWSTemplateFormatVersion: \"2010-09-09\"\nResources: {}\n"
            ),
            ConfigFormat::CloudformationYaml
        );
        assert_eq!(
            d("cdn", "Resources:\n  D: {}\n"),
            ConfigFormat::CloudformationYaml
        );
        assert_eq!(
            d("cdn.json", "{\"Resources\": {}}"),
            ConfigFormat::CloudformationJson
        );
        assert_eq!(
            d(
                "plan",
                "{\"format_version\": \"1.2\", \"planned_values\": {}}"
            ),
            ConfigFormat::TerraformPlan
        );
        assert_eq!(
            d("x.json", "{\"ETag\": \"E1\", \"DistributionConfig\": {}}"),
            ConfigFormat::DistributionConfig
        );
        assert_eq!(
            d(
                "main",
                "resource \"aws_cloudfront_distribution\" \"d\" {}\n"
            ),
            ConfigFormat::Terraform
        );
        assert_eq!(
            d("b", "[[behavior]]\npattern = \"/s/*\"\n"),
            ConfigFormat::Toml
        );
        // The extension wins over the content.
        assert_eq!(d("cdn.tf", "{}"), ConfigFormat::Terraform);
        assert_eq!(d("cdn.yml", "{}"), ConfigFormat::CloudformationYaml);
    }
}
