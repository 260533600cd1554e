//! Loading a `BehaviorSet`: the seed default, our TOML behaviors file, or the JSON that
//! `aws cloudfront get-distribution-config` prints. Loaders never panic on input: every mistake is
//! a `UserError` naming the file (and line/column when known) with a hint.
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
//! compress = true                 # Compress: gzip listed types for viewers that accept it
//!
//! [default]                       # the `*` behavior, same keys but no pattern. If absent, the
//! headers = "all"                 # seed's default row: forward everything, cache nothing.
//!
//! [error_caching_min_ttl]         # CustomErrorResponses: seconds per status code (default 10)
//! 502 = 0
//! ```
//!
//! Explicit keys win over what a `cache_policy` sets. The cache key is always forwarded too.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::behavior::{
    ALL_METHODS, Behavior, BehaviorSet, Expect, ForwardPolicy, GET_HEAD, KeyPolicy, NameSet,
    TtlSettings,
};
use super::{managed, pattern};
use crate::error::UserError;

/// The seven behaviors of the community thread.
pub fn seed_default() -> BehaviorSet {
    BehaviorSet::seed_default()
}

/// Load a behaviors file: JSON (`get-distribution-config` output) when it starts with `{`,
/// our TOML format otherwise.
pub fn from_file(path: &Path) -> Result<BehaviorSet, UserError> {
    let text = crate::input::read_to_string(path, crate::input::Kind::Behaviors)?;
    if text.trim_start().starts_with('{') {
        from_distribution_json_str(&text, path)
    } else {
        from_toml_str(&text, path)
    }
}

// ---------------------------------------------------------------------------------------------
// TOML

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    context_path: Option<String>,
    #[serde(default)]
    behavior: Vec<Spanned<RawBehavior>>,
    #[serde(default)]
    default: Option<Spanned<RawBehavior>>,
    #[serde(default)]
    error_caching_min_ttl: Option<Spanned<BTreeMap<String, u64>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBehavior {
    pattern: Option<Spanned<String>>,
    name: Option<String>,
    methods: Option<Spanned<toml::Value>>,
    cached_methods: Option<Spanned<toml::Value>>,
    min_ttl: Option<u64>,
    default_ttl: Option<u64>,
    max_ttl: Option<u64>,
    cookies: Option<Spanned<toml::Value>>,
    query: Option<Spanned<toml::Value>>,
    headers: Option<Spanned<toml::Value>>,
    forward_cookies: Option<Spanned<toml::Value>>,
    forward_query: Option<Spanned<toml::Value>>,
    forward_headers: Option<Spanned<toml::Value>>,
    cache_policy: Option<Spanned<String>>,
    origin_request_policy: Option<Spanned<String>>,
    expect: Option<Expect>,
    #[serde(default)]
    add_headers: BTreeMap<String, String>,
    compress: Option<bool>,
}

struct Src<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Src<'_> {
    fn err(
        &self,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> UserError {
        let (line, column) = span.map_or((1, 1), |s| line_col(self.text, s.start));
        UserError::Scenario {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
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

const FORMAT_HINT: &str = "see the behaviors file format in `cdnprobe check-config --help` or src/cloudfront/load.rs: [[behavior]] tables with pattern, methods, min_ttl/default_ttl/max_ttl, cookies, query, headers, expect";

/// Parse our TOML behaviors format. `file` is only used in error messages.
pub fn from_toml_str(text: &str, file: &Path) -> Result<BehaviorSet, UserError> {
    let src = Src { text, file };
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| src.err(e.span(), e.message().trim().to_string(), FORMAT_HINT))?;
    let mut behaviors = Vec::new();
    for rb in &raw.behavior {
        let span = rb.span();
        let r = rb.get_ref();
        let Some(p) = &r.pattern else {
            return Err(src.err(
                Some(span),
                "a [[behavior]] has no `pattern`",
                "add e.g. pattern = \"/s/*\"; the default behavior goes in a [default] table",
            ));
        };
        if p.get_ref().trim() == "*" {
            return Err(src.err(
                Some(p.span()),
                "pattern \"*\" is the default behavior",
                "move it into a [default] table at the end",
            ));
        }
        if let Err(m) = pattern::validate(p.get_ref()) {
            return Err(src.err(
                Some(p.span()),
                m,
                "CloudFront path patterns use * and ? and at most 255 characters",
            ));
        }
        behaviors.push(build(&src, r, p.get_ref(), span)?);
    }
    let default = match &raw.default {
        Some(d) => {
            if let Some(p) = &d.get_ref().pattern {
                return Err(src.err(
                    Some(p.span()),
                    "the [default] behavior takes no pattern (it is always *)",
                    "remove the `pattern` line",
                ));
            }
            build(&src, d.get_ref(), "*", d.span())?
        }
        None => BehaviorSet::seed_default()
            .behaviors
            .pop()
            .expect("seed has a default"),
    };
    behaviors.push(default);
    let mut set = BehaviorSet::new(behaviors);
    if let Some(table) = &raw.error_caching_min_ttl {
        for (code, secs) in table.get_ref() {
            let Some(code) = code.parse::<u16>().ok().filter(|c| (400..600).contains(c)) else {
                return Err(src.err(
                    Some(table.span()),
                    format!("[error_caching_min_ttl] key `{code}` is not a 4xx or 5xx status code"),
                    "write one status code per line, e.g. 502 = 0",
                ));
            };
            set.error_caching_min_ttl.insert(code, *secs);
        }
    }
    Ok(match raw.context_path {
        Some(cp) => set.with_context_path(&cp),
        None => set,
    })
}

fn build(
    src: &Src,
    r: &RawBehavior,
    pat: &str,
    span: std::ops::Range<usize>,
) -> Result<Behavior, UserError> {
    let (mut ttl, mut key, mut cache_policy) =
        (TtlSettings::CONSOLE_DEFAULT, KeyPolicy::none(), None);
    if let Some(cp) = &r.cache_policy {
        let Some(m) = managed::cache_policy(cp.get_ref()) else {
            return Err(src.err(Some(cp.span()), format!("unknown cache policy {:?}", cp.get_ref()), "use a managed policy (CachingOptimized, CachingDisabled, UseOriginCacheControlHeaders) or spell out min_ttl/default_ttl/max_ttl, cookies, query and headers"));
        };
        ttl = m.ttl;
        key = m.key;
        cache_policy = Some(m.name.to_string());
    }
    ttl.min = r.min_ttl.unwrap_or(ttl.min);
    ttl.default = r.default_ttl.unwrap_or(ttl.default.max(ttl.min));
    ttl.max = r.max_ttl.unwrap_or(ttl.max.max(ttl.default));
    if !(ttl.min <= ttl.default && ttl.default <= ttl.max) {
        return Err(src.err(
            Some(span),
            format!(
                "TTLs must satisfy min <= default <= max, got {} / {} / {}",
                ttl.min, ttl.default, ttl.max
            ),
            "CloudFront refuses such a behavior; fix min_ttl, default_ttl or max_ttl",
        ));
    }
    if let Some(v) = &r.cookies {
        key.cookies = name_set(src, v, "cookies")?;
    }
    if let Some(v) = &r.query {
        key.query = name_set(src, v, "query")?;
    }
    if let Some(v) = &r.headers {
        key.headers = name_set(src, v, "headers")?;
    }
    let mut forward = ForwardPolicy::from(&key);
    let mut origin_request_policy = None;
    if let Some(orp) = &r.origin_request_policy {
        let Some((name, f)) = managed::origin_request_policy(orp.get_ref()) else {
            return Err(src.err(Some(orp.span()), format!("unknown origin request policy {:?}", orp.get_ref()), "use AllViewer / AllViewerExceptHostHeader, or forward_cookies / forward_query / forward_headers"));
        };
        forward = f;
        origin_request_policy = Some(name.to_string());
    }
    if let Some(v) = &r.forward_cookies {
        forward.cookies = name_set(src, v, "forward_cookies")?;
    }
    if let Some(v) = &r.forward_query {
        forward.query = name_set(src, v, "forward_query")?;
    }
    if let Some(v) = &r.forward_headers {
        forward.headers = name_set(src, v, "forward_headers")?;
    }
    let methods = match &r.methods {
        Some(v) => method_list(src, v)?,
        None => GET_HEAD.iter().map(|s| s.to_string()).collect(),
    };
    let cached_methods = match &r.cached_methods {
        Some(v) => method_list(src, v)?,
        None => GET_HEAD.iter().map(|s| s.to_string()).collect(),
    };
    Ok(Behavior {
        pattern: pat.to_string(),
        methods,
        cached_methods,
        ttl,
        origin_forward: forward.union_key(&key),
        key,
        is_default: pat == "*",
        name: r.name.clone().unwrap_or_default(),
        expect: r.expect,
        response_headers: r
            .add_headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        cache_policy,
        origin_request_policy,
        warnings: Vec::new(),
        compress: r.compress.unwrap_or(false),
    })
}

fn name_set(src: &Src, v: &Spanned<toml::Value>, field: &str) -> Result<NameSet, UserError> {
    let hint = format!("{field} takes \"all\", \"none\" or a list of names like [\"JSESSIONID\"]");
    match v.get_ref() {
        toml::Value::String(s) if s.eq_ignore_ascii_case("all") || s == "*" => Ok(NameSet::All),
        toml::Value::String(s) if s.eq_ignore_ascii_case("none") => Ok(NameSet::None),
        toml::Value::Array(items) => {
            let mut names = Vec::new();
            for item in items {
                match item.as_str() {
                    Some("*") => return Ok(NameSet::All),
                    Some(s) if !s.trim().is_empty() => names.push(s.trim().to_string()),
                    _ => {
                        return Err(src.err(
                            Some(v.span()),
                            format!("{field}: every list item must be a non-empty name"),
                            hint,
                        ));
                    }
                }
            }
            Ok(if names.is_empty() {
                NameSet::None
            } else {
                NameSet::Whitelist(names)
            })
        }
        other => Err(src.err(
            Some(v.span()),
            format!("{field}: unexpected value {other}"),
            hint,
        )),
    }
}

fn method_list(src: &Src, v: &Spanned<toml::Value>) -> Result<Vec<String>, UserError> {
    let hint = "methods take \"all\", \"get_head\", \"get_head_options\" or a list like [\"GET\", \"HEAD\"]";
    let list: Vec<String> = match v.get_ref() {
        toml::Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "all" => ALL_METHODS.iter().map(|s| s.to_string()).collect(),
            "get_head" => GET_HEAD.iter().map(|s| s.to_string()).collect(),
            "get_head_options" => vec!["GET".into(), "HEAD".into(), "OPTIONS".into()],
            _ => return Err(src.err(Some(v.span()), format!("unknown method set {s:?}"), hint)),
        },
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                let m = item.as_str().map(|s| s.trim().to_ascii_uppercase());
                match m {
                    Some(m) if ALL_METHODS.contains(&m.as_str()) => out.push(m),
                    _ => {
                        return Err(src.err(
                            Some(v.span()),
                            format!("unknown method {item}"),
                            hint,
                        ));
                    }
                }
            }
            out
        }
        other => {
            return Err(src.err(
                Some(v.span()),
                format!("unexpected methods value {other}"),
                hint,
            ));
        }
    };
    Ok(list)
}

impl BehaviorSet {
    /// This set in the TOML behaviors format (`from_toml_str` reads it back to an equal set,
    /// warnings aside).
    pub fn to_toml(&self) -> String {
        fn set(s: &NameSet) -> String {
            match s {
                NameSet::None => "\"none\"".into(),
                NameSet::All => "\"all\"".into(),
                NameSet::Whitelist(n) => format!(
                    "[{}]",
                    n.iter()
                        .map(|x| format!("{x:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        fn list(v: &[String]) -> String {
            format!(
                "[{}]",
                v.iter()
                    .map(|x| format!("{x:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        let mut out = String::new();
        if !self.context_path.is_empty() {
            out.push_str(&format!("context_path = {:?}\n", self.context_path));
        }
        for b in &self.behaviors {
            out.push('\n');
            if b.is_default {
                out.push_str("[default]\n");
            } else {
                out.push_str(&format!("[[behavior]]\npattern = {:?}\n", b.pattern));
            }
            if !is_auto_name(&b.name) {
                out.push_str(&format!("name = {:?}\n", b.name));
            }
            out.push_str(&format!("methods = {}\n", list(&b.methods)));
            out.push_str(&format!("cached_methods = {}\n", list(&b.cached_methods)));
            out.push_str(&format!(
                "min_ttl = {}\ndefault_ttl = {}\nmax_ttl = {}\n",
                b.ttl.min, b.ttl.default, b.ttl.max
            ));
            out.push_str(&format!(
                "cookies = {}\nquery = {}\nheaders = {}\n",
                set(&b.key.cookies),
                set(&b.key.query),
                set(&b.key.headers)
            ));
            let f = &b.origin_forward;
            if f.cookies != b.key.cookies {
                out.push_str(&format!("forward_cookies = {}\n", set(&f.cookies)));
            }
            if f.query != b.key.query {
                out.push_str(&format!("forward_query = {}\n", set(&f.query)));
            }
            if f.headers != b.key.headers {
                out.push_str(&format!("forward_headers = {}\n", set(&f.headers)));
            }
            if let Some(e) = b.expect {
                out.push_str(&format!(
                    "expect = \"{}\"\n",
                    match e {
                        Expect::Hit => "hit",
                        Expect::Bypass => "bypass",
                    }
                ));
            }
            if !b.response_headers.is_empty() {
                let parts: Vec<String> = b
                    .response_headers
                    .iter()
                    .map(|(k, v)| format!("{k:?} = {v:?}"))
                    .collect();
                out.push_str(&format!("add_headers = {{ {} }}\n", parts.join(", ")));
            }
            if b.compress {
                out.push_str("compress = true\n");
            }
        }
        if !self.error_caching_min_ttl.is_empty() {
            out.push_str("\n[error_caching_min_ttl]\n");
            for (code, secs) in &self.error_caching_min_ttl {
                out.push_str(&format!("{code} = {secs}\n"));
            }
        }
        out
    }
}

fn is_auto_name(name: &str) -> bool {
    name.is_empty()
        || name
            .strip_prefix('#')
            .and_then(|r| r.split_once(' '))
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

// ---------------------------------------------------------------------------------------------
// get-distribution-config JSON

/// Parse the JSON of `aws cloudfront get-distribution-config` (`{"ETag", "DistributionConfig"}`)
/// or a bare `DistributionConfig`. Custom (non-managed) cache policies cannot be resolved from
/// this JSON: such a behavior gets console-default TTLs, an empty key, and a warning saying so.
pub fn from_distribution_json_str(text: &str, file: &Path) -> Result<BehaviorSet, UserError> {
    let root: Value = serde_json::from_str(text).map_err(|e| UserError::Scenario {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: format!("not valid JSON: {e}"),
        hint: "save the output of `aws cloudfront get-distribution-config --id <ID>` unchanged"
            .into(),
    })?;
    let cfg = root.get("DistributionConfig").unwrap_or(&root);
    let bad = |at: &str, message: String| {
        let hint = "expected the JSON of `aws cloudfront get-distribution-config --id <ID>` (or its DistributionConfig object)";
        match json_position(text, at) {
            Some((line, column)) => UserError::Scenario {
                file: file.to_path_buf(),
                line,
                column,
                message: format!("{at}: {message}"),
                hint: hint.into(),
            },
            None => UserError::input(format!("{}: {at}: {message}", file.display()), hint),
        }
    };
    let Some(default) = cfg.get("DefaultCacheBehavior") else {
        return Err(bad("DistributionConfig", "no DefaultCacheBehavior".into()));
    };
    let mut behaviors = Vec::new();
    if let Some(cb) = cfg.get("CacheBehaviors") {
        let items = items(cb);
        for (i, item) in items.iter().enumerate() {
            let at = format!("CacheBehaviors.Items[{i}]");
            let Some(p) = item.get("PathPattern").and_then(Value::as_str) else {
                return Err(bad(&at, "no PathPattern".into()));
            };
            if let Err(m) = pattern::validate(p) {
                return Err(bad(&format!("{at}.PathPattern"), m));
            }
            behaviors.push(json_behavior(item, p, &at).map_err(|m| bad(&at, m))?);
        }
    }
    behaviors.push(
        json_behavior(default, "*", "DefaultCacheBehavior")
            .map_err(|m| bad("DefaultCacheBehavior", m))?,
    );
    let mut set = BehaviorSet::new(behaviors);
    if let Some(cer) = cfg.get("CustomErrorResponses") {
        for (i, item) in items(cer).iter().enumerate() {
            let at = format!("CustomErrorResponses.Items[{i}]");
            let Some(code) = item
                .get("ErrorCode")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
            else {
                return Err(bad(&at, "no numeric ErrorCode".into()));
            };
            // Absent: CloudFront's default (10 s) applies to this code.
            if let Some(ttl) = item.get("ErrorCachingMinTTL") {
                let Some(ttl) = ttl.as_u64() else {
                    return Err(bad(&at, "ErrorCachingMinTTL is not a whole number".into()));
                };
                set.error_caching_min_ttl.insert(code, ttl);
            }
        }
    }
    Ok(set)
}

/// 1-based line and column of the value at `path` (`CacheBehaviors.Items[2].PathPattern`,
/// matched as a suffix of the full path, so a `DistributionConfig` wrapper does not matter), by
/// scanning the text: serde_json's `Value` keeps no positions.
fn json_position(text: &str, path: &str) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut stack: Vec<String> = Vec::new(); // path segments of the containers we are in
    let mut index: Vec<Option<usize>> = Vec::new(); // array element counters (None: object)
    let mut key: Option<String> = None;
    let mut i = 0;
    let full = |stack: &[String]| stack.join(".").replace(".[", "[");
    let hit = |p: &str| p == path || p.ends_with(&format!(".{path}"));
    while i < b.len() {
        let c = b[i];
        // The segment a value starting here gets.
        let seg = || -> Option<String> {
            match index.last() {
                Some(Some(n)) => Some(format!("[{n}]")),
                Some(None) => key.clone(),
                None => None,
            }
        };
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let s = String::from_utf8_lossy(&b[start + 1..i.min(b.len())]).into_owned();
                // A key if a ':' follows.
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if matches!(index.last(), Some(None)) && j < b.len() && b[j] == b':' {
                    key = Some(s);
                    i = j;
                } else if let Some(sg) = seg() {
                    let mut p = stack.clone();
                    p.push(sg);
                    if hit(&full(&p)) {
                        return Some(line_col(text, start));
                    }
                }
            }
            b'{' | b'[' => {
                if let Some(sg) = seg() {
                    stack.push(sg);
                    if hit(&full(&stack)) {
                        return Some(line_col(text, i));
                    }
                } else {
                    stack.push(String::new());
                }
                index.push(if c == b'[' { Some(0) } else { None });
                key = None;
            }
            b'}' | b']' => {
                stack.pop();
                index.pop();
            }
            b',' => {
                if let Some(Some(n)) = index.last_mut() {
                    *n += 1;
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'-' => {
                if let Some(sg) = seg() {
                    let mut p = stack.clone();
                    p.push(sg);
                    if hit(&full(&p)) {
                        return Some(line_col(text, i));
                    }
                }
                while i + 1 < b.len()
                    && (b[i + 1].is_ascii_alphanumeric() || matches!(b[i + 1], b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `{Quantity, Items}` -> Items (missing or null -> empty).
fn items(v: &Value) -> Vec<Value> {
    v.get("Items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn item_strings(v: Option<&Value>) -> Vec<String> {
    v.map(items)
        .unwrap_or_default()
        .iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn ttl_field(item: &Value, name: &str, default: u64) -> Result<u64, String> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| format!("{name} must be a non-negative integer, got {v}")),
    }
}

fn json_behavior(item: &Value, pat: &str, at: &str) -> Result<Behavior, String> {
    let mut methods = item_strings(item.get("AllowedMethods"));
    let mut cached = item_strings(
        item.get("AllowedMethods")
            .and_then(|m| m.get("CachedMethods")),
    );
    if methods.is_empty() {
        methods = GET_HEAD.iter().map(|s| s.to_string()).collect();
    }
    if cached.is_empty() {
        cached = GET_HEAD.iter().map(|s| s.to_string()).collect();
    }
    let mut warnings = Vec::new();
    let (ttl, key, mut forward, cache_policy) = if let Some(fv) =
        item.get("ForwardedValues").filter(|v| !v.is_null())
    {
        let ttl = TtlSettings::new(
            ttl_field(item, "MinTTL", 0)?,
            ttl_field(item, "DefaultTTL", 86_400)?,
            ttl_field(item, "MaxTTL", 31_536_000)?,
        );
        let cookies = match fv
            .get("Cookies")
            .and_then(|c| c.get("Forward"))
            .and_then(Value::as_str)
        {
            None | Some("none") => NameSet::None,
            Some("all") => NameSet::All,
            Some("whitelist") => NameSet::Whitelist(item_strings(
                fv.get("Cookies").and_then(|c| c.get("WhitelistedNames")),
            )),
            Some(other) => {
                return Err(format!(
                    "ForwardedValues.Cookies.Forward {other:?} is not none|whitelist|all"
                ));
            }
        };
        let headers = item_strings(fv.get("Headers"));
        let headers = if headers.iter().any(|h| h == "*") {
            NameSet::All
        } else if headers.is_empty() {
            NameSet::None
        } else {
            NameSet::Whitelist(headers)
        };
        let qs = fv
            .get("QueryString")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let qs_keys = item_strings(fv.get("QueryStringCacheKeys"));
        let (key_q, fwd_q) = match (qs, qs_keys.is_empty()) {
            (false, _) => (NameSet::None, NameSet::None),
            (true, true) => (NameSet::All, NameSet::All),
            // "Forward all, cache based on whitelist".
            (true, false) => (NameSet::Whitelist(qs_keys), NameSet::All),
        };
        let key = KeyPolicy {
            cookies,
            query: key_q,
            headers,
        };
        let mut forward = ForwardPolicy::from(&key);
        forward.query = fwd_q;
        (ttl, key, forward, None)
    } else if let Some(id) = item
        .get("CachePolicyId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        match managed::cache_policy(id) {
            Some(m) => {
                let f = ForwardPolicy::from(&m.key);
                (m.ttl, m.key, f, Some(m.name.to_string()))
            }
            None => {
                warnings.push(format!(
                    "{at}: custom cache policy {id} is not in the distribution config; assumed console defaults (TTL 0/86400/31536000, nothing in the key). Run `aws cloudfront get-cache-policy --id {id}` to see what it really does"
                ));
                let key = KeyPolicy::none();
                let f = ForwardPolicy::from(&key);
                (TtlSettings::CONSOLE_DEFAULT, key, f, Some(id.to_string()))
            }
        }
    } else {
        return Err("neither ForwardedValues nor CachePolicyId".into());
    };
    let mut origin_request_policy = None;
    if let Some(id) = item
        .get("OriginRequestPolicyId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        match managed::origin_request_policy(id) {
            Some((name, f)) => {
                forward = f;
                origin_request_policy = Some(name.to_string());
            }
            None => {
                warnings.push(format!(
                    "{at}: custom origin request policy {id} is not in the distribution config; assumed it forwards only the cache key. Run `aws cloudfront get-origin-request-policy --id {id}`"
                ));
                origin_request_policy = Some(id.to_string());
            }
        }
    }
    Ok(Behavior {
        pattern: pat.to_string(),
        methods,
        cached_methods: cached,
        ttl,
        origin_forward: forward.union_key(&key),
        key,
        is_default: pat == "*",
        name: String::new(),
        expect: None,
        response_headers: Vec::new(),
        cache_policy,
        origin_request_policy,
        warnings,
        compress: item
            .get("Compress")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            set.error_caching_min_ttl.into_iter().collect::<Vec<_>>(),
            [(404, 300), (502, 0)],
            "503 without ErrorCachingMinTTL keeps the default"
        );
        let bad = json.replace("\"ErrorCode\": 404", "\"ErrorCode\": \"x\"");
        let e = from_distribution_json_str(&bad, Path::new("d.json")).unwrap_err();
        assert!(e.to_string().contains("ErrorCode"), "{e}");

        let toml = "[error_caching_min_ttl]\n502 = 0\n503 = 60\n";
        let set = from_toml_str(toml, Path::new("b.toml")).unwrap();
        assert_eq!(set.error_caching_min_ttl.get(&502), Some(&0));
        let back = from_toml_str(&set.to_toml(), Path::new("rt.toml")).unwrap();
        assert_eq!(back.error_caching_min_ttl, set.error_caching_min_ttl);
        let e = from_toml_str("[error_caching_min_ttl]\nabc = 1\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("abc") && e.contains("b.toml:1"), "{e}");
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
