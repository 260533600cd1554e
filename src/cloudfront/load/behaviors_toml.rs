//! cdnprobe's own behaviors TOML (format in `mod.rs`), and writing a set back in it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::line_col;
use crate::cloudfront::behavior::{
    ALL_METHODS, Behavior, BehaviorSet, ConfigFormat, ConfigInput, Expect, ForwardPolicy, GET_HEAD,
    KeyPolicy, NameSet, SourceRef, TtlSettings,
};
use crate::cloudfront::{managed, pattern};
use crate::error::UserError;

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
    accept_encoding: Option<Spanned<Vec<String>>>,
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

const FORMAT_HINT: &str = "see the behaviors file format in `cdnprobe check-config --help` or src/cloudfront/load/mod.rs: [[behavior]] tables with pattern, methods, min_ttl/default_ttl/max_ttl, cookies, query, headers, expect";

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
    set.input = Some(ConfigInput {
        file: file.display().to_string(),
        format: ConfigFormat::Toml,
        ..Default::default()
    });
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
    let (mut ttl, mut key, mut cache_policy, mut accept_encoding) =
        (TtlSettings::CONSOLE_DEFAULT, KeyPolicy::none(), None, None);
    if let Some(cp) = &r.cache_policy {
        let Some(m) = managed::cache_policy(cp.get_ref()) else {
            return Err(src.err(Some(cp.span()), format!("unknown cache policy {:?}", cp.get_ref()), "use a managed policy (CachingOptimized, CachingDisabled, UseOriginCacheControlHeaders) or spell out min_ttl/default_ttl/max_ttl, cookies, query and headers"));
        };
        ttl = m.ttl;
        key = m.key;
        cache_policy = Some(m.name.to_string());
        accept_encoding = Some(m.accept_encoding);
    }
    if let Some(ae) = &r.accept_encoding {
        let mut e = crate::cloudfront::behavior::AcceptEncodings::default();
        for c in ae.get_ref() {
            match c.as_str() {
                "gzip" => e.gzip = true,
                "br" => e.br = true,
                other => {
                    return Err(src.err(
                        Some(ae.span()),
                        format!("accept_encoding {other:?} is not gzip or br"),
                        "list the compressed formats the cache policy caches: [\"gzip\", \"br\"], or [] for none",
                    ));
                }
            }
        }
        accept_encoding = Some(e);
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
    let mut b = Behavior::legacy(pat, &GET_HEAD, ttl, key);
    b.methods = methods;
    b.cached_methods = cached_methods;
    b.origin_forward = forward.union_key(&b.key);
    b.name = r.name.clone().unwrap_or_default();
    b.expect = r.expect;
    b.response_headers = r
        .add_headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    b.cache_policy = cache_policy;
    b.origin_request_policy = origin_request_policy;
    b.compress = r.compress.unwrap_or(false);
    b.accept_encoding = accept_encoding;
    let at = |s: std::ops::Range<usize>| SourceRef {
        file: src.file.display().to_string(),
        line: line_col(src.text, s.start).0 as u32,
    };
    b.source.insert(String::new(), at(span));
    for (k, v) in [
        ("cookies", &r.cookies),
        ("query", &r.query),
        ("headers", &r.headers),
        ("methods", &r.methods),
    ] {
        if let Some(v) = v {
            b.source.insert(k.into(), at(v.span()));
        }
    }
    if let Some(cp) = &r.cache_policy {
        b.source.insert("cache_policy".into(), at(cp.span()));
    }
    Ok(b)
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
    #[cfg(test)]
    pub(crate) fn to_toml(&self) -> String {
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
            if let Some(e) = b.accept_encoding {
                let mut v = Vec::new();
                if e.gzip {
                    v.push("\"gzip\"");
                }
                if e.br {
                    v.push("\"br\"");
                }
                out.push_str(&format!("accept_encoding = [{}]\n", v.join(", ")));
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

#[cfg(test)]
fn is_auto_name(name: &str) -> bool {
    name.is_empty()
        || name
            .strip_prefix('#')
            .and_then(|r| r.split_once(' '))
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}
