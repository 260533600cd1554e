//! HAR 1.2 in and out.
//!
//! In: `cdnprobe analyze <file.har>` starts the pipeline from a HAR someone already has — a
//! DevTools export, a Firefox export, Playwright `recordHar`, WebPageTest. Those tools disagree on
//! optional fields, header-name case, how a blocked request looks (status 0 in Chrome/Firefox,
//! -1 in Playwright) and where the error text lives (`_error`, `_failureText`), so the types here
//! deserialize leniently: a missing or oddly typed optional field never rejects a file, and only a
//! file that is not JSON, or JSON without `log.entries`, is refused — with a hint.
//!
//! Out: `capture.har`, valid HAR 1.2 so any HAR viewer opens it, with failed requests included
//! (status 0 + `_error`) and a per-entry `_cdnprobe` object carrying the tool's own verdicts. The
//! caller redacts exchanges before exporting; this module never sees a secret it should hide.
//!
//! Extension fields written per entry (Chrome's names where Chrome has one, so DevTools shows
//! them): `_requestId`, `_resourceType` (lower case), `_initiator {type, url}`, `_fromCache`
//! (`disk`/`memory`), `_targetType`, `_serverPort`, `_securityState`, `_failure` (the full [`Failure`], read back
//! first on import), `_cdnprobe` (from the caller); on the response `_transferSize`, `_error`,
//! `_fetchedViaServiceWorker`. Journey phases become HAR pages (`title` = phase).
//!
//! Spec: <http://www.softwareishard.com/blog/har-12-spec/>.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::UserError;
use crate::exchange::{Exchange, Failure, Headers, Timing, WebSocketDirection, WebSocketLog};

// ---------------------------------------------------------------------------------------------
// Types

type Extra = BTreeMap<String, Value>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Log {
    #[serde(default, deserialize_with = "lenient::string")]
    pub version: String,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub creator: Creator,
    #[serde(
        default,
        deserialize_with = "lenient::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub browser: Option<Creator>,
    #[serde(
        default,
        deserialize_with = "lenient::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub pages: Vec<Page>,
    #[serde(default)]
    pub entries: Vec<Entry>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Creator {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub version: String,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    #[serde(default, deserialize_with = "lenient::string")]
    pub started_date_time: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: String,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub page_timings: PageTimings,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageTimings {
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub on_content_load: f64,
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub on_load: f64,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for PageTimings {
    fn default() -> Self {
        PageTimings {
            on_content_load: -1.0,
            on_load: -1.0,
            extra: Extra::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub pageref: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub started_date_time: String,
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub time: f64,
    pub request: Request,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub response: Response,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub cache: Cache,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub timings: Timings,
    #[serde(
        rename = "serverIPAddress",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_ip_address: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub connection: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    /// `_`-prefixed extension fields (and anything else unknown), kept as they were.
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cookie {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub value: String,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub path: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub domain: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub http_only: Option<bool>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub secure: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    #[serde(default, deserialize_with = "lenient::string")]
    pub method: String,
    #[serde(deserialize_with = "lenient::string")]
    pub url: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub http_version: String,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub cookies: Vec<Cookie>,
    #[serde(default, deserialize_with = "lenient::name_values")]
    pub headers: Vec<NameValue>,
    #[serde(default, deserialize_with = "lenient::name_values")]
    pub query_string: Vec<NameValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<Value>,
    #[serde(default = "neg1_i", deserialize_with = "lenient::i64_neg1")]
    pub headers_size: i64,
    #[serde(default = "neg1_i", deserialize_with = "lenient::i64_neg1")]
    pub body_size: i64,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    #[serde(default, deserialize_with = "lenient::i64_zero")]
    pub status: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub status_text: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub http_version: String,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub cookies: Vec<Cookie>,
    #[serde(default, deserialize_with = "lenient::name_values")]
    pub headers: Vec<NameValue>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub content: Content,
    #[serde(rename = "redirectURL", default, deserialize_with = "lenient::string")]
    pub redirect_url: String,
    #[serde(default = "neg1_i", deserialize_with = "lenient::i64_neg1")]
    pub headers_size: i64,
    #[serde(default = "neg1_i", deserialize_with = "lenient::i64_neg1")]
    pub body_size: i64,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for Response {
    fn default() -> Self {
        Response {
            status: 0,
            status_text: String::new(),
            http_version: String::new(),
            cookies: Vec::new(),
            headers: Vec::new(),
            content: Content::default(),
            redirect_url: String::new(),
            headers_size: -1,
            body_size: -1,
            comment: None,
            extra: Extra::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default = "neg1_i", deserialize_with = "lenient::i64_neg1")]
    pub size: i64,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub compression: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub mime_type: String,
    /// The body. Never read back on import (diagnosis works on headers), so a HAR saved "with
    /// content" costs no memory for its bodies.
    #[serde(
        default,
        deserialize_with = "lenient::skip",
        skip_serializing_if = "Option::is_none"
    )]
    pub text: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub encoding: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for Content {
    fn default() -> Self {
        Content {
            size: -1,
            compression: None,
            mime_type: String::new(),
            text: None,
            encoding: None,
            extra: Extra::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cache {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_request: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_request: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Milliseconds; -1 means "does not apply" (allowed for blocked, dns, connect, ssl only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timings {
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub blocked: f64,
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub dns: f64,
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub connect: f64,
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub send: f64,
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub wait: f64,
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub receive: f64,
    #[serde(default = "neg1", deserialize_with = "lenient::f64_neg1")]
    pub ssl: f64,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            blocked: -1.0,
            dns: -1.0,
            connect: -1.0,
            send: -1.0,
            wait: -1.0,
            receive: -1.0,
            ssl: -1.0,
            extra: Extra::new(),
        }
    }
}

fn neg1() -> f64 {
    -1.0
}
fn neg1_i() -> i64 {
    -1
}

/// Deserializers that accept what real exporters write: nulls, numbers as strings, objects where
/// arrays were expected, arrays of half-broken items (the broken ones are skipped).
mod lenient {
    /// Visitor methods answering `$value` for every JSON scalar and null: what the lenient
    /// readers below do with a value of the wrong kind.
    macro_rules! scalars_are {
        ($t:ty, $value:expr) => {
            fn visit_bool<E: Error>(self, _: bool) -> Result<$t, E> {
                Ok($value)
            }
            fn visit_i64<E: Error>(self, _: i64) -> Result<$t, E> {
                Ok($value)
            }
            fn visit_u64<E: Error>(self, _: u64) -> Result<$t, E> {
                Ok($value)
            }
            fn visit_f64<E: Error>(self, _: f64) -> Result<$t, E> {
                Ok($value)
            }
            fn visit_str<E: Error>(self, _: &str) -> Result<$t, E> {
                Ok($value)
            }
            fn visit_unit<E: Error>(self) -> Result<$t, E> {
                Ok($value)
            }
        };
    }

    use super::NameValue;
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    fn to_string(v: Value) -> Option<String> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => Some(other.to_string()),
        }
    }

    fn to_f64(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|f| f.is_finite())
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(to_string(Value::deserialize(d)?).unwrap_or_default())
    }

    /// Skip the value, whatever it is.
    pub fn skip<'de, D: Deserializer<'de>, T>(d: D) -> Result<Option<T>, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(None)
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(to_string(Value::deserialize(d)?))
    }

    pub fn f64_neg1<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(to_f64(&Value::deserialize(d)?).unwrap_or(-1.0))
    }

    pub fn i64_neg1<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(to_f64(&Value::deserialize(d)?)
            .map(|f| f as i64)
            .unwrap_or(-1))
    }

    pub fn i64_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(to_f64(&Value::deserialize(d)?)
            .map(|f| f as i64)
            .unwrap_or(0))
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(to_f64(&Value::deserialize(d)?).map(|f| f as i64))
    }

    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        })
    }

    /// An object read as `T` directly (no `Value` on the way: this is the hot path of a large
    /// import; `T`'s own fields are lenient, so an object always reads); anything else — null, a
    /// number, a string, an array — is `T::default()`.
    pub fn or_default<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
        d: D,
    ) -> Result<T, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct OrDefault<T>(std::marker::PhantomData<T>);
        impl<'de, T: DeserializeOwned + Default> Visitor<'de> for OrDefault<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(T::default())
            }
            scalars_are!(T, T::default());
            fn visit_none<E: Error>(self) -> Result<T, E> {
                Ok(T::default())
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<T, D2::Error> {
                d.deserialize_any(self)
            }
        }
        d.deserialize_any(OrDefault(std::marker::PhantomData))
    }

    pub fn opt<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(serde_json::from_value(Value::deserialize(d)?).ok())
    }

    pub fn vec<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(a) => a
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            _ => Vec::new(),
        })
    }

    /// `[{name, value}, ...]` (HAR) or `{name: value}` (some hand-made files).
    /// `[{"name", "value"}, ...]` (items without a name skipped), or a `{"name": "value"}`
    /// object (names sorted). Read item by item: headers are most of a HAR's non-body bytes.
    pub fn name_values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NameValue>, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
        use std::fmt;

        /// One array item: a `{name, value}` object, or `None` for anything else.
        struct Item(Option<NameValue>);
        impl<'de> Deserialize<'de> for Item {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Item;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a {name, value} object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
                        let (mut name, mut value) = (Value::Null, Value::Null);
                        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                            match key.as_ref() {
                                "name" => name = map.next_value()?,
                                "value" => value = map.next_value()?,
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(Item(to_string(name).map(|name| NameValue {
                            name,
                            value: to_string(value).unwrap_or_default(),
                        })))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(Item(None))
                    }
                    scalars_are!(Item, Item(None));
                }
                d.deserialize_any(V)
            }
        }

        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = Vec<NameValue>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of headers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16));
                while let Some(Item(nv)) = seq.next_element::<Item>()? {
                    out.extend(nv);
                }
                Ok(out)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut sorted = std::collections::BTreeMap::new();
                while let Some((name, v)) = map.next_entry::<String, Value>()? {
                    sorted.insert(name, v);
                }
                Ok(sorted
                    .into_iter()
                    .filter_map(|(name, v)| {
                        Some(NameValue {
                            name,
                            value: to_string(v)?,
                        })
                    })
                    .collect())
            }
            scalars_are!(Self::Value, Vec::new());
        }
        d.deserialize_any(List)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error(
        "not a HAR file: not valid JSON at line {line}, column {column}: {message}\n  hint: {hint}"
    )]
    NotJson {
        line: usize,
        column: usize,
        message: String,
        hint: String,
    },
    #[error("not a HAR file: {detail}\n  hint: {hint}")]
    NotHar { detail: String, hint: String },
    #[error("HAR entry {index} cannot be read: {message}\n  hint: {hint}")]
    BadEntry {
        index: usize,
        message: String,
        hint: String,
    },
}

const EXPORT_HINT: &str = "export a HAR from Chrome/Firefox DevTools (Network tab, \"Export HAR\"), Playwright (`recordHar: { path: 'capture.har' }`) or WebPageTest";

impl HarError {
    pub fn hint(&self) -> &str {
        match self {
            HarError::NotJson { hint, .. }
            | HarError::NotHar { hint, .. }
            | HarError::BadEntry { hint, .. } => hint,
        }
    }
}

impl From<HarError> for UserError {
    fn from(e: HarError) -> Self {
        let hint = e.hint().to_string();
        let full = e.to_string();
        let message = full.split("\n  hint: ").next().unwrap_or("").to_string();
        UserError::input(message, hint)
    }
}

// ---------------------------------------------------------------------------------------------
// Import

/// Parse a HAR file into exchanges, in file order. Only a file that is not JSON, or JSON without a
/// `log.entries` array, or an entry without a `request`, is an error.
pub fn import(text: &str) -> Result<Vec<Exchange>, HarError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut de = serde_json::Deserializer::from_str(text);
    match stream::read(&mut de).and_then(|x| de.end().map(|_| x)) {
        Ok(exchanges) => Ok(exchanges),
        Err(_) => diagnose(text),
    }
}

/// Parse a HAR file from disk: entries become exchanges one by one as they are read, never a
/// document tree (a 100 MB HAR is mostly bodies and headers nobody needs twice). A file that
/// fails is parsed again the slow way, only to say precisely what is wrong with it.
pub fn import_file(
    path: &std::path::Path,
) -> Result<Result<Vec<Exchange>, HarError>, crate::UserError> {
    // Read whole (up to the capture size cap), parse from the slice (several times faster than
    // from a reader), and free the bytes before anything else is built: the exchanges never hold
    // the bodies.
    let bytes = crate::input::read(path, crate::input::Kind::Har)?;
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    let mut de = serde_json::Deserializer::from_slice(body);
    match stream::read(&mut de).and_then(|x| de.end().map(|_| x)) {
        Ok(exchanges) => Ok(Ok(exchanges)),
        Err(_) => Ok(diagnose(&String::from_utf8_lossy(&bytes))),
    }
}

/// The streaming reader behind [`import`] and [`import_file`]: `{"log": {"pages": [...],
/// "entries": [...]}}` walked with serde seeds, each entry converted as soon as it is parsed and
/// dropped. Any departure from that shape is an error here; [`diagnose`] then explains it.
mod stream {
    use std::collections::HashMap;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    use super::{Entry, Page, entry_to_exchange};
    use crate::exchange::Exchange;

    #[derive(Default)]
    struct State {
        exchanges: Vec<Exchange>,
        titles: HashMap<String, String>,
        saw_entries: bool,
    }

    pub fn read<'de, D: de::Deserializer<'de>>(d: D) -> Result<Vec<Exchange>, D::Error> {
        let mut state = State::default();
        d.deserialize_map(Top(&mut state))?;
        if !state.saw_entries {
            return Err(de::Error::custom("no log.entries"));
        }
        // Pages may come after the entries: name each exchange's phase by its page title now.
        for ex in &mut state.exchanges {
            if let Some(title) = state.titles.get(&ex.phase).filter(|t| !t.is_empty()) {
                ex.phase = title.clone();
            }
        }
        Ok(state.exchanges)
    }

    struct Top<'a>(&'a mut State);
    impl<'de> Visitor<'de> for Top<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a HAR object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let state = self.0;
            while let Some(key) = map.next_key::<String>()? {
                if key == "log" {
                    map.next_value_seed(Log(&mut *state))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }

    struct Log<'a>(&'a mut State);
    impl<'de> DeserializeSeed<'de> for Log<'_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Log<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a HAR log object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let state = self.0;
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "entries" => {
                        map.next_value_seed(Entries(&mut *state))?;
                        state.saw_entries = true;
                    }
                    "pages" => {
                        // Few and small; a broken page is skipped, as in `diagnose`.
                        if let Value::Array(pages) = map.next_value::<Value>()? {
                            for p in pages {
                                if let Ok(p) = serde_json::from_value::<Page>(p) {
                                    state.titles.insert(p.id, p.title);
                                }
                            }
                        }
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }

    struct Entries<'a>(&'a mut State);
    impl<'de> DeserializeSeed<'de> for Entries<'_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Entries<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of HAR entries")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let none: HashMap<&str, &str> = HashMap::new();
            while let Some(entry) = seq.next_element::<Entry>()? {
                let index = self.0.exchanges.len();
                if super::bad_url(&entry).is_some() {
                    // `diagnose` says which entry and why.
                    return Err(de::Error::custom("an entry's request.url is not a URL"));
                }
                let ex = entry_to_exchange(index, &entry, &none);
                self.0.exchanges.push(ex);
            }
            Ok(())
        }
    }
}

/// The whole-document reader: slower and hungrier than [`stream`], but it can say exactly what is
/// wrong with a file that is not a HAR (and it is the reference the streaming reader is tested
/// against).
fn diagnose(text: &str) -> Result<Vec<Exchange>, HarError> {
    // Fiddler writes a UTF-8 byte order mark first; JSON has none.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| not_json(text, &e))?;
    let log = match &value {
        Value::Object(o) => match o.get("log") {
            Some(Value::Object(log)) => log,
            _ => return Err(not_har_object(o)),
        },
        Value::Array(_) => {
            return Err(HarError::NotHar {
                detail: "the top level is a JSON array; a HAR is an object with a `log`".into(),
                hint: EXPORT_HINT.into(),
            });
        }
        other => {
            return Err(HarError::NotHar {
                detail: format!("the top level is a JSON {}", json_kind(other)),
                hint: EXPORT_HINT.into(),
            });
        }
    };
    let entries = match log.get("entries") {
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(HarError::NotHar {
                detail: format!("`log.entries` is a JSON {}, not an array", json_kind(other)),
                hint: EXPORT_HINT.into(),
            });
        }
        None => {
            return Err(HarError::NotHar {
                detail: "there is a `log` object but no `log.entries`".into(),
                hint: EXPORT_HINT.into(),
            });
        }
    };
    let pages: Vec<Page> = log
        .get("pages")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| serde_json::from_value(p.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    let titles: HashMap<&str, &str> = pages
        .iter()
        .map(|p| (p.id.as_str(), p.title.as_str()))
        .collect();

    let mut out = Vec::with_capacity(entries.len());
    for (index, raw) in entries.iter().enumerate() {
        let entry: Entry = serde_json::from_value(raw.clone()).map_err(|e| HarError::BadEntry {
            index,
            message: e.to_string(),
            hint: "every HAR entry needs a `request` object with a `url`; re-export the HAR, or remove this entry".into(),
        })?;
        if let Some(message) = bad_url(&entry) {
            return Err(HarError::BadEntry {
                index,
                message,
                hint: "every entry's `request.url` must be an absolute URL (https://host/path); re-export the HAR, or remove this entry".into(),
            });
        }
        out.push(entry_to_exchange(index, &entry, &titles));
    }
    Ok(out)
}

/// Why an entry's `request.url` is not a URL, if it is not. Such an entry used to go through as
/// a request that never reached the network, which diagnosis then took for a CORS failure (an
/// invented `cors-blocked` error and exit 1): a file that says nothing true about any request is
/// the user's to fix (exit 2), not a finding.
fn bad_url(entry: &Entry) -> Option<String> {
    let url = &entry.request.url;
    let err = url::Url::parse(url).err()?;
    let shown = crate::input::clip(url, 200);
    Some(format!("`request.url` is not a URL: `{shown}` ({err})"))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn not_json(text: &str, e: &serde_json::Error) -> HarError {
    let trimmed = text.trim_start();
    let hint = if trimmed.starts_with("PK\u{3}\u{4}") || trimmed.starts_with("PK") {
        "this looks like a zip archive (Playwright writes one when recordHar's path ends in .zip); unzip it and pass the .har inside".to_string()
    } else if trimmed.starts_with('<') {
        "this looks like HTML or XML, not a HAR (a saved web page or a login page?); ".to_string()
            + EXPORT_HINT
    } else if trimmed.is_empty() {
        "the file is empty; ".to_string() + EXPORT_HINT
    } else {
        "a HAR is a JSON document; if it was truncated (a capture cut short), export it again; "
            .to_string()
            + EXPORT_HINT
    };
    HarError::NotJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
        hint,
    }
}

fn not_har_object(o: &serde_json::Map<String, Value>) -> HarError {
    let keys: Vec<&str> = o.keys().map(String::as_str).take(8).collect();
    let (detail, hint) = if o.contains_key("schema_version") && o.contains_key("requests") {
        (
            "this is a cdnprobe report.json, not a HAR".to_string(),
            "compare reports with `cdnprobe diff a/report.json b/report.json`; `analyze` reads the capture.har next to it".to_string(),
        )
    } else if o.contains_key("entries") {
        (
            "`entries` is at the top level; a HAR wraps them in a `log` object".to_string(),
            EXPORT_HINT.to_string(),
        )
    } else {
        (
            format!("no `log` object (top-level keys: {})", keys.join(", ")),
            EXPORT_HINT.to_string(),
        )
    };
    HarError::NotHar { detail, hint }
}

/// CDP resource type from Chrome's lower-case `_resourceType`.
fn cdp_resource_type(t: &str) -> String {
    match t.to_ascii_lowercase().as_str() {
        "document" => "Document".into(),
        "stylesheet" => "Stylesheet".into(),
        "image" => "Image".into(),
        "media" => "Media".into(),
        "font" => "Font".into(),
        "script" => "Script".into(),
        "texttrack" => "TextTrack".into(),
        "xhr" => "XHR".into(),
        "fetch" => "Fetch".into(),
        "prefetch" => "Prefetch".into(),
        "eventsource" => "EventSource".into(),
        "websocket" => "WebSocket".into(),
        "manifest" => "Manifest".into(),
        "signed-exchange" | "signedexchange" => "SignedExchange".into(),
        "ping" => "Ping".into(),
        "csp-violation-report" | "cspviolationreport" => "CSPViolationReport".into(),
        "preflight" => "Preflight".into(),
        "other" | "" => "Other".into(),
        other => {
            let mut c = other.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => "Other".into(),
            }
        }
    }
}

/// Resource type from the request's `Sec-Fetch-Dest` (Chromium and Firefox send it), for HARs
/// without `_resourceType` (Playwright, Firefox).
fn resource_type_from_dest(dest: &str) -> Option<&'static str> {
    Some(match dest.trim().to_ascii_lowercase().as_str() {
        "document" | "iframe" | "frame" => "Document",
        "script" | "worker" | "sharedworker" | "serviceworker" => "Script",
        "style" => "Stylesheet",
        "image" => "Image",
        "font" => "Font",
        "empty" => "Fetch",
        "websocket" => "WebSocket",
        "manifest" => "Manifest",
        "audio" | "video" | "track" => "Media",
        _ => return None,
    })
}

fn lower_resource_type(t: &str) -> String {
    t.to_ascii_lowercase()
}

/// CDP-style protocol (`http/1.1`, `h2`, `h3`) from a HAR `httpVersion`.
fn protocol_from_http_version(v: &str) -> Option<String> {
    let l = v.trim().to_ascii_lowercase();
    match l.as_str() {
        "" | "unknown" => None,
        "http/2.0" | "http/2" | "h2" | "http2" => Some("h2".into()),
        "http/3.0" | "http/3" | "h3" | "http3" => Some("h3".into()),
        _ => Some(l),
    }
}

fn http_version_from_protocol(p: Option<&str>) -> String {
    match p {
        Some("h2") => "http/2.0".into(),
        Some("h3") => "http/3.0".into(),
        Some(other) => other.into(),
        None => String::new(),
    }
}

/// HAR header list -> `Headers`, joining repeats with `\n` the way CDP reports them.
fn headers_from(list: &[NameValue]) -> Headers {
    let mut h = Headers::new();
    for nv in list {
        if nv.name.is_empty() {
            continue;
        }
        match h
            .pairs_mut()
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&nv.name))
        {
            Some((_, v)) => {
                v.push('\n');
                v.push_str(&nv.value);
            }
            None => h.push(nv.name.clone(), nv.value.clone()),
        }
    }
    h
}

fn parse_started(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros() as f64 / 1000.0);
    }
    // Some tools omit the offset: read it as UTC.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(n.and_utc().timestamp_micros() as f64 / 1000.0);
        }
    }
    None
}

/// Chrome DevTools' `_webSocketMessages` (`{type: send|receive, opcode, data}`), as a
/// `WebSocketLog`. A HAR does not say how the socket ended, so `closed` stays false.
fn websocket_log(extra: &Extra) -> Option<WebSocketLog> {
    let messages = extra.get("_webSocketMessages")?.as_array()?;
    let mut log = WebSocketLog::default();
    for m in messages {
        let direction = match m.get("type").and_then(Value::as_str) {
            Some("send") => WebSocketDirection::Send,
            Some("receive") => WebSocketDirection::Receive,
            _ => continue,
        };
        // DevTools writes seconds since the epoch.
        let time_ms = m.get("time").and_then(Value::as_f64).unwrap_or(0.0) * 1000.0;
        let opcode = m.get("opcode").and_then(Value::as_u64).unwrap_or(1) as u8;
        let data = m.get("data").and_then(Value::as_str).unwrap_or_default();
        log.record(direction, time_ms, opcode, data);
    }
    Some(log)
}

fn str_ext<'a>(extra: &'a Extra, key: &str) -> Option<&'a str> {
    extra
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn initiator_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => {
            let ty = o.get("type").and_then(Value::as_str).unwrap_or("other");
            let url = o.get("url").and_then(Value::as_str).or_else(|| {
                o.get("stack")?
                    .get("callFrames")?
                    .as_array()?
                    .first()?
                    .get("url")?
                    .as_str()
            });
            Some(match url {
                Some(u) if !u.is_empty() => format!("{ty} {u}"),
                _ => ty.to_string(),
            })
        }
        _ => None,
    }
}

fn entry_to_exchange(index: usize, e: &Entry, page_titles: &HashMap<&str, &str>) -> Exchange {
    let req = &e.request;
    let resp = &e.response;
    let request_headers = headers_from(&req.headers);
    let response_headers = headers_from(&resp.headers);

    let status = (1..=999)
        .contains(&resp.status)
        .then_some(resp.status as u16);

    let resource_type = str_ext(&e.extra, "_resourceType")
        .map(cdp_resource_type)
        .or_else(|| {
            request_headers
                .get("sec-fetch-dest")
                .and_then(resource_type_from_dest)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Other".into());

    let mime_type = Some(
        resp.content
            .mime_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim(),
    )
    .filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("x-unknown"))
    .map(str::to_string);

    // Timing: HAR gives a start date and phase durations; -1 means "not applicable".
    let t = &e.timings;
    let pos = |x: f64| if x > 0.0 { x } else { 0.0 };
    let ttfb = (status.is_some() && t.wait >= 0.0)
        .then(|| pos(t.blocked) + pos(t.dns) + pos(t.connect) + pos(t.send) + pos(t.wait));
    // `time` 0 on an entry without a response is "unknown" (what export writes for it), not
    // "instant"; -1 is Playwright's "unknown".
    let end = (e.time > 0.0 || (e.time == 0.0 && status.is_some())).then_some(e.time);
    let timing = Timing {
        start_ms: parse_started(&e.started_date_time).unwrap_or(0.0),
        ttfb_ms: ttfb,
        end_ms: end,
    };

    let encoded_size = resp
        .extra
        .get("_transferSize")
        .and_then(Value::as_f64)
        .filter(|s| *s >= 0.0)
        .map(|s| s as u64)
        .or_else(|| {
            (resp.headers_size >= 0 && resp.body_size >= 0)
                .then(|| (resp.headers_size + resp.body_size) as u64)
        });

    let from_cache = str_ext(&e.extra, "_fromCache").map(str::to_ascii_lowercase);

    let remote_address = e
        .server_ip_address
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|ip| {
            let port = e.extra.get("_serverPort").and_then(|p| {
                p.as_u64()
                    .map(|n| n.to_string())
                    .or_else(|| p.as_str().map(str::to_string))
            });
            match port {
                Some(p) if ip.contains(':') && !ip.starts_with('[') => format!("[{ip}]:{p}"),
                Some(p) => format!("{ip}:{p}"),
                None => ip.to_string(),
            }
        });

    let failure = failure_of(e, status);

    let phase = e
        .pageref
        .as_deref()
        .map(|r| {
            page_titles
                .get(r)
                .filter(|t| !t.is_empty())
                .map(|t| t.to_string())
                .unwrap_or_else(|| r.to_string())
        })
        .unwrap_or_default();

    Exchange {
        id: e
            .extra
            .get("_requestId")
            .and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
            .unwrap_or_else(|| format!("har-{index}")),
        url: req.url.clone(),
        method: if req.method.is_empty() {
            "GET".into()
        } else {
            req.method.to_ascii_uppercase()
        },
        resource_type,
        initiator: e.extra.get("_initiator").and_then(initiator_string),
        target_type: str_ext(&e.extra, "_targetType")
            .unwrap_or_default()
            .to_string(),
        request_headers,
        status,
        status_text: resp.status_text.clone(),
        response_headers,
        mime_type,
        protocol: protocol_from_http_version(&resp.http_version)
            .or_else(|| protocol_from_http_version(&req.http_version)),
        remote_address,
        security_state: str_ext(&e.extra, "_securityState").map(str::to_string),
        timing,
        encoded_size,
        from_disk_cache: from_cache.as_deref() == Some("disk"),
        from_memory_cache: from_cache.as_deref() == Some("memory"),
        from_service_worker: resp
            .extra
            .get("_fetchedViaServiceWorker")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        failure,
        websocket: websocket_log(&e.extra),
        redirected_to: Some(resp.redirect_url.trim())
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        phase,
    }
}

/// A failure when the exporter recorded an error, or when there is no real status (0 in
/// Chrome/Firefox, -1 in Playwright).
fn failure_of(e: &Entry, status: Option<u16>) -> Option<Failure> {
    if let Some(f) = e
        .extra
        .get("_failure")
        .and_then(|v| serde_json::from_value::<Failure>(v.clone()).ok())
    {
        return Some(f);
    }
    let text = str_ext(&e.response.extra, "_error")
        .or_else(|| str_ext(&e.response.extra, "_failureText"))
        .or_else(|| str_ext(&e.extra, "_error"))
        .or_else(|| str_ext(&e.extra, "_failureText"))
        .map(str::to_string);
    let aborted = e
        .extra
        .get("_wasAborted")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if text.is_none() && status.is_some() && !aborted {
        return None;
    }
    let error_text = text.unwrap_or_else(|| {
        if aborted {
            "aborted".into()
        } else {
            format!("no response (HAR status {})", e.response.status)
        }
    });
    Some(Failure {
        canceled: aborted || error_text.contains("ERR_ABORTED"),
        blocked_reason: str_ext(&e.extra, "_blockedReason")
            .or_else(|| str_ext(&e.response.extra, "_blockedReason"))
            .map(str::to_string),
        error_text,
        cors_error: None,
        cors_failed_parameter: None,
        tool_limit: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Export

fn finite_or(x: f64, d: f64) -> f64 {
    if x.is_finite() { x } else { d }
}

fn iso8601(ms: f64) -> String {
    let ms = finite_or(ms, 0.0);
    let secs = (ms / 1000.0).floor();
    let nanos = ((ms - secs * 1000.0) * 1_000_000.0)
        .round()
        .clamp(0.0, 999_999_999.0) as u32;
    chrono::DateTime::from_timestamp(secs as i64, nanos)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn name_values(h: &Headers) -> Vec<NameValue> {
    h.iter()
        .flat_map(|(n, v)| {
            v.split('\n').map(move |v| NameValue {
                name: n.to_string(),
                value: v.to_string(),
            })
        })
        .collect()
}

fn request_cookies(h: &Headers) -> Vec<Cookie> {
    h.cookies()
        .into_iter()
        .map(|(name, value)| Cookie {
            name,
            value,
            ..Default::default()
        })
        .collect()
}

fn response_cookies(h: &Headers) -> Vec<Cookie> {
    h.get_all("set-cookie")
        .map(|line| match crate::exchange::parse_set_cookie(line) {
            Some(c) => Cookie {
                name: c.name().to_string(),
                value: c.value().to_string(),
                path: c.path().map(str::to_string),
                domain: c.domain().map(str::to_string),
                // HAR wants ISO 8601; Set-Cookie carries an HTTP date.
                expires: c.expires_datetime().and_then(|t| {
                    chrono::DateTime::<chrono::Utc>::from_timestamp(t.unix_timestamp(), 0)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                }),
                http_only: c.http_only().filter(|h| *h),
                secure: c.secure().filter(|s| *s),
                ..Default::default()
            },
            // No `name=value`: kept as a nameless value, as the line says.
            None => Cookie {
                value: line.split(';').next().unwrap_or("").trim().to_string(),
                ..Default::default()
            },
        })
        .collect()
}

fn query_string(url: &str) -> Vec<NameValue> {
    url::Url::parse(url)
        .map(|u| {
            u.query_pairs()
                .map(|(n, v)| NameValue {
                    name: n.into_owned(),
                    value: v.into_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `1.2.3.4:443` / `[::1]:8080` / `1.2.3.4` -> (ip, port).
fn split_address(a: &str) -> (String, Option<u16>) {
    let a = a.trim();
    if let Some(rest) = a.strip_prefix('[')
        && let Some((ip, tail)) = rest.split_once(']')
    {
        return (
            ip.to_string(),
            tail.strip_prefix(':').and_then(|p| p.parse().ok()),
        );
    }
    match a.rsplit_once(':') {
        Some((ip, port)) if !ip.contains(':') => match port.parse() {
            Ok(p) => (ip.to_string(), Some(p)),
            Err(_) => (a.to_string(), None),
        },
        _ => (a.to_string(), None),
    }
}

fn exchange_to_entry(ex: &Exchange, pageref: Option<String>, ext: Option<Value>) -> Entry {
    let http_version = http_version_from_protocol(ex.protocol.as_deref());
    let ttfb = ex.timing.ttfb_ms.map(|t| finite_or(t, 0.0).max(0.0));
    let end = ex.timing.end_ms.map(|t| finite_or(t, 0.0).max(0.0));
    let mut timings = Timings {
        send: 0.0,
        wait: 0.0,
        receive: 0.0,
        ..Default::default()
    };
    match (ttfb, end) {
        (Some(t), Some(e)) => {
            timings.wait = t;
            timings.receive = (e - t).max(0.0);
        }
        (Some(t), None) => timings.wait = t,
        // No response timing: attribute everything to `blocked`, as DevTools does.
        (None, Some(e)) => timings.blocked = e,
        (None, None) => {}
    }
    let time = timings.blocked.max(0.0) + timings.send + timings.wait + timings.receive;

    let mut extra = Extra::new();
    extra.insert("_requestId".into(), Value::String(ex.id.clone()));
    extra.insert(
        "_resourceType".into(),
        Value::String(lower_resource_type(&ex.resource_type)),
    );
    if let Some(i) = &ex.initiator {
        let (ty, url) = i.split_once(' ').unwrap_or((i.as_str(), ""));
        let mut o = serde_json::Map::new();
        o.insert("type".into(), Value::String(ty.to_string()));
        if !url.is_empty() {
            o.insert("url".into(), Value::String(url.to_string()));
        }
        extra.insert("_initiator".into(), Value::Object(o));
    }
    if ex.from_disk_cache {
        extra.insert("_fromCache".into(), Value::String("disk".into()));
    } else if ex.from_memory_cache {
        extra.insert("_fromCache".into(), Value::String("memory".into()));
    }
    if !ex.target_type.is_empty() {
        extra.insert("_targetType".into(), Value::String(ex.target_type.clone()));
    }
    if let Some(f) = &ex.failure
        && let Ok(v) = serde_json::to_value(f)
    {
        extra.insert("_failure".into(), v);
    }
    let (ip, port) = ex
        .remote_address
        .as_deref()
        .map(split_address)
        .map(|(ip, p)| (Some(ip), p))
        .unwrap_or((None, None));
    if let Some(p) = port {
        extra.insert("_serverPort".into(), Value::from(p));
    }
    if let Some(s) = &ex.security_state {
        extra.insert("_securityState".into(), Value::from(s.as_str()));
    }
    if let Some(ws) = ex.websocket.as_ref().filter(|ws| !ws.messages.is_empty()) {
        // DevTools' shape: `{type, time (s since the epoch), opcode, data}`.
        let messages = ws
            .messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "type": m.direction,
                    "time": m.time_ms / 1000.0,
                    "opcode": m.opcode,
                    "data": m.data,
                })
            })
            .collect();
        extra.insert("_webSocketMessages".into(), Value::Array(messages));
    }
    if let Some(v) = ext {
        extra.insert("_cdnprobe".into(), v);
    }

    let mut resp_extra = Extra::new();
    resp_extra.insert(
        "_transferSize".into(),
        ex.encoded_size.map(Value::from).unwrap_or(Value::from(-1)),
    );
    resp_extra.insert(
        "_error".into(),
        ex.failure
            .as_ref()
            .map(|f| Value::String(f.error_text.clone()))
            .unwrap_or(Value::Null),
    );
    resp_extra.insert(
        "_fetchedViaServiceWorker".into(),
        Value::Bool(ex.from_service_worker),
    );

    Entry {
        pageref,
        started_date_time: iso8601(ex.timing.start_ms),
        time,
        request: Request {
            method: ex.method.clone(),
            url: ex.url.clone(),
            http_version: http_version.clone(),
            cookies: request_cookies(&ex.request_headers),
            headers: name_values(&ex.request_headers),
            query_string: query_string(&ex.url),
            post_data: None,
            headers_size: -1,
            body_size: -1,
            comment: None,
            extra: Extra::new(),
        },
        response: Response {
            status: ex.status.map(i64::from).unwrap_or(0),
            status_text: ex.status_text.clone(),
            http_version,
            cookies: response_cookies(&ex.response_headers),
            headers: name_values(&ex.response_headers),
            content: Content {
                size: -1,
                mime_type: ex.mime_type.clone().unwrap_or_else(|| "x-unknown".into()),
                ..Default::default()
            },
            redirect_url: ex
                .redirected_to
                .clone()
                .or_else(|| {
                    ex.status
                        .filter(|s| (300..400).contains(s))
                        .and_then(|_| ex.response_headers.get("location").map(str::to_string))
                })
                .unwrap_or_default(),
            headers_size: -1,
            body_size: -1,
            comment: None,
            extra: resp_extra,
        },
        cache: Cache::default(),
        timings,
        // HAR requires an IPv4/IPv6 literal here.
        server_ip_address: ip.filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()),
        connection: None,
        comment: None,
        extra,
    }
}

/// What an entry of an exported HAR is written from: an exchange, and the page (journey phase)
/// it belongs to. A merged report's record names its run in its page (`[fra] jira-smoke#3 ...`).
pub trait HarSource {
    fn exchange(&self) -> &Exchange;
    fn page(&self) -> std::borrow::Cow<'_, str> {
        self.exchange().phase.as_str().into()
    }
}

impl HarSource for Exchange {
    fn exchange(&self) -> &Exchange {
        self
    }
}

impl<T: HarSource> HarSource for &T {
    fn exchange(&self) -> &Exchange {
        (*self).exchange()
    }
    fn page(&self) -> std::borrow::Cow<'_, str> {
        (*self).page()
    }
}

/// Journey phases as HAR pages (first-seen order) and each phase's page id.
fn pages_of<T: HarSource>(items: &[T]) -> (Vec<Page>, HashMap<String, String>) {
    let mut pages: Vec<Page> = Vec::new();
    let mut page_ids: HashMap<String, String> = HashMap::new();
    for item in items {
        let page = item.page();
        if page.is_empty() || page_ids.contains_key(page.as_ref()) {
            continue;
        }
        let id = format!("page_{}", pages.len() + 1);
        pages.push(Page {
            started_date_time: iso8601(item.exchange().timing.start_ms),
            id: id.clone(),
            title: page.to_string(),
            page_timings: PageTimings::default(),
            extra: Extra::new(),
        });
        page_ids.insert(page.into_owned(), id);
    }
    (pages, page_ids)
}

fn creator() -> Creator {
    Creator {
        name: "cdnprobe".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        comment: None,
    }
}

/// Build a HAR 1.2 document. `extensions` supplies each entry's `_cdnprobe` object (behavior,
/// cache verdict, ...); `None` leaves it out. Journey phases become HAR pages.
pub fn export(exchanges: &[Exchange], extensions: impl Fn(&Exchange) -> Option<Value>) -> Har {
    let (pages, page_ids) = pages_of(exchanges);
    let entries = exchanges
        .iter()
        .map(|ex| {
            let pageref = page_ids.get(ex.phase.as_str()).cloned();
            exchange_to_entry(ex, pageref, extensions(ex))
        })
        .collect();
    Har {
        log: Log {
            version: "1.2".into(),
            creator: creator(),
            browser: None,
            pages,
            entries,
            comment: None,
            extra: Extra::new(),
        },
    }
}

/// Write what [`export`] builds, as compact JSON, without building it: each entry is made,
/// written and dropped in turn, so a large capture is never held twice.
pub fn write_json<T: HarSource>(
    out: impl std::io::Write,
    items: &[T],
    extensions: impl Fn(&T) -> Option<Value>,
) -> serde_json::Result<()> {
    use serde::ser::SerializeSeq;
    struct Entries<'a, T, F> {
        items: &'a [T],
        page_ids: &'a HashMap<String, String>,
        extensions: F,
    }
    impl<T: HarSource, F: Fn(&T) -> Option<Value>> Serialize for Entries<'_, T, F> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.items.len()))?;
            for item in self.items {
                let pageref = self.page_ids.get(item.page().as_ref()).cloned();
                seq.serialize_element(&exchange_to_entry(
                    item.exchange(),
                    pageref,
                    (self.extensions)(item),
                ))?;
            }
            seq.end()
        }
    }
    // The same fields, in the same order, as `Log` serializes.
    #[derive(Serialize)]
    struct LazyLog<'a, E: Serialize> {
        version: &'a str,
        creator: Creator,
        #[serde(skip_serializing_if = "<[Page]>::is_empty")]
        pages: &'a [Page],
        entries: E,
    }
    #[derive(Serialize)]
    struct LazyHar<L: Serialize> {
        log: L,
    }
    let (pages, page_ids) = pages_of(items);
    let har = LazyHar {
        log: LazyLog {
            version: "1.2",
            creator: creator(),
            pages: &pages,
            entries: Entries {
                items,
                page_ids: &page_ids,
                extensions,
            },
        },
    };
    serde_json::to_writer(out, &har)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn to_json(har: Har) -> Value {
        serde_json::to_value(har).unwrap()
    }

    fn sample() -> Vec<Exchange> {
        let mut req = Headers::new();
        req.push(":authority", "jira.example.com");
        req.push("accept", "text/css,*/*;q=0.1");
        req.push(
            "cookie",
            "JSESSIONID=<redacted:0a1b2c3d>; AWSALB=<redacted:11223344>",
        );
        let mut resp = Headers::new();
        resp.push("content-type", "text/css;charset=UTF-8");
        resp.push("x-cache", "Miss from cloudfront");
        resp.push(
            "set-cookie",
            "AWSALB=<redacted:55667788>; Expires=Tue, 07 Jan 2025 10:00:00 GMT; Path=/\nAWSALBCORS=<redacted:99aabbcc>; Path=/; SameSite=None; Secure",
        );
        let ok = Exchange {
            id: "1000.7".into(),
            url: "https://jira.example.com/s/abc-CDN/en_US/940003/1/_/download/contextbatch/css/_super/batch.css?locale=en-US".into(),
            method: "GET".into(),
            resource_type: "Stylesheet".into(),
            initiator: Some("parser https://jira.example.com/secure/Dashboard.jspa".into()),
            target_type: "page".into(),
            request_headers: req,
            status: Some(200),
            status_text: "OK".into(),
            response_headers: resp,
            mime_type: Some("text/css".into()),
            protocol: Some("h2".into()),
            remote_address: Some("[2001:db8::1]:443".into()),
            timing: Timing {
                start_ms: 1_714_557_600_123.0,
                ttfb_ms: Some(35.5),
                end_ms: Some(48.25),
            },
            encoded_size: Some(5120),
            phase: "jira-smoke#2 goto /secure/Dashboard.jspa".into(),
            ..Default::default()
        };
        let mut freq = Headers::new();
        freq.push("Origin", "https://jira.example.com");
        let mut fresp = Headers::new();
        fresp.push("Content-Type", "font/woff");
        let blocked = Exchange {
            id: "1000.9".into(),
            url: "https://cdn.example.com/s/x/_/download/resources/aui:font/adgs-icons.woff".into(),
            method: "GET".into(),
            resource_type: "Font".into(),
            request_headers: freq,
            status: None,
            response_headers: fresp,
            timing: Timing {
                start_ms: 1_714_557_600_200.0,
                ttfb_ms: None,
                end_ms: Some(12.0),
            },
            failure: Some(Failure {
                error_text: "net::ERR_FAILED".into(),
                canceled: false,
                blocked_reason: None,
                cors_error: Some("MissingAllowOriginHeader".into()),
                cors_failed_parameter: Some("".into()),
                tool_limit: None,
            }),
            phase: "jira-smoke#2 goto /secure/Dashboard.jspa".into(),
            ..Default::default()
        };
        vec![ok, blocked]
    }

    #[test]
    fn export_has_every_required_har_field() {
        let har = to_json(export(&sample(), |ex| {
            Some(serde_json::json!({"behavior": "/s/*", "id": ex.id}))
        }));
        let log = &har["log"];
        assert_eq!(log["version"], "1.2");
        assert_eq!(log["creator"]["name"], "cdnprobe");
        assert!(log["creator"]["version"].is_string());
        assert_eq!(log["pages"].as_array().unwrap().len(), 1);
        assert_eq!(
            log["pages"][0]["title"],
            "jira-smoke#2 goto /secure/Dashboard.jspa"
        );
        let entries = log["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        for e in entries {
            let started = e["startedDateTime"].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(started).is_ok(),
                "{started}"
            );
            assert!(e["time"].as_f64().unwrap() >= 0.0);
            for k in [
                "method",
                "url",
                "httpVersion",
                "cookies",
                "headers",
                "queryString",
                "headersSize",
                "bodySize",
            ] {
                assert!(e["request"].get(k).is_some(), "request.{k}");
            }
            for k in [
                "status",
                "statusText",
                "httpVersion",
                "cookies",
                "headers",
                "content",
                "redirectURL",
                "headersSize",
                "bodySize",
            ] {
                assert!(e["response"].get(k).is_some(), "response.{k}");
            }
            assert!(e["response"]["content"]["size"].is_i64());
            assert!(e["response"]["content"]["mimeType"].is_string());
            assert!(e["cache"].is_object());
            for k in ["send", "wait", "receive"] {
                assert!(e["timings"][k].as_f64().unwrap() >= 0.0, "timings.{k}");
            }
            for k in ["blocked", "dns", "connect", "ssl"] {
                assert!(e["timings"][k].as_f64().unwrap() >= -1.0, "timings.{k}");
            }
            assert_eq!(e["pageref"], "page_1");
            assert_eq!(e["_cdnprobe"]["behavior"], "/s/*");
        }
        let ok = &entries[0];
        assert_eq!(ok["startedDateTime"], "2024-05-01T10:00:00.123Z");
        assert_eq!(ok["time"], 48.25);
        assert_eq!(ok["timings"]["wait"], 35.5);
        assert_eq!(ok["serverIPAddress"], "2001:db8::1");
        assert_eq!(ok["_serverPort"], 443);
        assert_eq!(ok["_resourceType"], "stylesheet");
        assert_eq!(ok["response"]["httpVersion"], "http/2.0");
        assert_eq!(ok["request"]["queryString"][0]["name"], "locale");
        assert_eq!(ok["request"]["cookies"][1]["name"], "AWSALB");
        assert_eq!(ok["response"]["cookies"][1]["name"], "AWSALBCORS");
        assert_eq!(ok["response"]["cookies"][0]["path"], "/");
        assert_eq!(
            ok["response"]["cookies"][0]["expires"],
            "2025-01-07T10:00:00.000Z"
        );
        assert!(ok["response"]["cookies"][1].get("expires").is_none());
        assert_eq!(ok["response"]["_error"], Value::Null);
        // CDP's `\n`-joined Set-Cookie becomes one HAR header per cookie.
        let set_cookies = ok["response"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["name"] == "set-cookie")
            .count();
        assert_eq!(set_cookies, 2);
        let failed = &entries[1];
        assert_eq!(failed["response"]["status"], 0);
        assert_eq!(failed["response"]["_error"], "net::ERR_FAILED");
        assert_eq!(failed["_failure"]["cors_error"], "MissingAllowOriginHeader");
        assert_eq!(failed["timings"]["blocked"], 12.0);
        assert_eq!(failed["time"], 12.0);
    }

    #[test]
    fn export_without_extension_or_phase() {
        let mut ex = sample().remove(0);
        ex.phase.clear();
        ex.remote_address = Some("localhost:8443".into());
        let har = to_json(export(&[ex], |_| None));
        assert!(har["log"]["entries"][0].get("serverIPAddress").is_none());
        assert_eq!(har["log"]["entries"][0]["_serverPort"], 8443);
        assert!(har["log"].get("pages").is_none());
        assert!(har["log"]["entries"][0].get("_cdnprobe").is_none());
        assert!(har["log"]["entries"][0].get("pageref").is_none());
    }

    #[test]
    fn streamed_export_is_the_built_export() {
        let xs = sample();
        let ext = |ex: &Exchange| Some(serde_json::json!({"id": ex.id}));
        let mut streamed = Vec::new();
        write_json(&mut streamed, &xs, ext).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            serde_json::to_string(&export(&xs, ext)).unwrap()
        );
        let mut none = Vec::new();
        write_json(&mut none, &[] as &[Exchange], |_| None).unwrap();
        assert_eq!(
            String::from_utf8(none).unwrap(),
            serde_json::to_string(&export(&[], |_| None)).unwrap()
        );
    }

    #[test]
    fn round_trip_preserves_the_exchange() {
        let original = sample();
        let har = export(&original, |_| Some(serde_json::json!({"x": 1})));
        let text = serde_json::to_string_pretty(&har).unwrap();
        let back = import(&text).unwrap();
        assert_eq!(back.len(), original.len());
        for (a, b) in original.iter().zip(&back) {
            assert_eq!(a.url, b.url);
            assert_eq!(a.method, b.method);
            assert_eq!(a.status, b.status);
            assert_eq!(a.request_headers, b.request_headers);
            assert_eq!(a.response_headers, b.response_headers);
            assert_eq!(a.failure, b.failure);
            // and the rest this module can carry
            assert_eq!(a.id, b.id);
            assert_eq!(a.resource_type, b.resource_type);
            assert_eq!(a.initiator, b.initiator);
            assert_eq!(a.target_type, b.target_type);
            assert_eq!(a.mime_type, b.mime_type);
            assert_eq!(a.protocol, b.protocol);
            assert_eq!(a.remote_address, b.remote_address);
            assert_eq!(a.encoded_size, b.encoded_size);
            assert_eq!(a.phase, b.phase);
            assert_eq!(a.timing.start_ms, b.timing.start_ms);
            assert_eq!(a.timing.end_ms, b.timing.end_ms);
            assert_eq!(a.timing.ttfb_ms, b.timing.ttfb_ms);
        }
        // A whole-struct comparison, as a net for fields added later.
        assert_eq!(back, original);
    }

    #[test]
    fn chrome_websocket_messages_become_the_websocket_log() {
        let text = r#"{"log": {"version": "1.2", "entries": [{
            "startedDateTime": "2025-11-04T09:12:44.000Z", "time": 5, "_resourceType": "websocket",
            "request": {"method": "GET", "url": "wss://c.example.com/synchrony/v1/bayeux-sync1",
                "httpVersion": "HTTP/1.1", "headers": [{"name": "Upgrade", "value": "websocket"}],
                "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": 101, "statusText": "Switching Protocols", "httpVersion": "HTTP/1.1",
                "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"},
                "redirectURL": "", "headersSize": -1, "bodySize": 0},
            "cache": {}, "timings": {"send": 0, "wait": 5, "receive": 0},
            "_webSocketMessages": [
                {"type": "send", "time": 1.0, "opcode": 1, "data": "[{\"channel\":\"/meta/handshake\"}]"},
                {"type": "receive", "time": 1.1, "opcode": 1, "data": "[{\"successful\":false}]"},
                {"type": "receive", "time": 1.2, "opcode": 2, "data": "AAE="}
            ]}]}}"#;
        let ex = import(text).unwrap();
        let log = ex[0].websocket.as_ref().unwrap();
        assert_eq!((log.frames_sent, log.frames_received), (1, 2));
        assert_eq!(
            log.received_texts().collect::<Vec<_>>(),
            vec![r#"[{"successful":false}]"#]
        );
        assert_eq!(log.messages.len(), 3);
        assert_eq!(
            (log.messages[2].opcode, log.messages[2].time_ms),
            (2, 1200.0)
        );
        assert_eq!(ex[0].status, Some(101));
    }

    #[test]
    fn not_json_reports_line_and_column() {
        let err = import("{\n  \"log\": {\n    \"entries\": [,]\n  }\n}").unwrap_err();
        match &err {
            HarError::NotJson { line, column, .. } => {
                assert_eq!(*line, 3);
                assert!(*column > 0);
            }
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("hint:"), "{msg}");

        assert!(import("").unwrap_err().hint().contains("empty"));
        assert!(
            import("<!DOCTYPE html><html>")
                .unwrap_err()
                .hint()
                .contains("HTML")
        );
        assert!(
            import("PK\u{3}\u{4}\u{14}\u{0}")
                .unwrap_err()
                .hint()
                .contains("zip")
        );
    }

    #[test]
    fn json_but_not_har() {
        let e = import(r#"{"foo": 1, "bar": 2}"#).unwrap_err();
        assert!(matches!(e, HarError::NotHar { .. }));
        assert!(
            e.to_string()
                .contains("no `log` object (top-level keys: bar, foo)"),
            "{e}"
        );
        let e = import(r#"{"log": {"version": "1.2"}}"#).unwrap_err();
        assert!(e.to_string().contains("no `log.entries`"), "{e}");
        let e = import(r#"{"log": {"entries": {}}}"#).unwrap_err();
        assert!(e.to_string().contains("not an array"), "{e}");
        let e = import(r#"[1,2]"#).unwrap_err();
        assert!(e.to_string().contains("array"), "{e}");
        let e = import(r#"{"schema_version": 1, "requests": []}"#).unwrap_err();
        assert!(e.to_string().contains("report.json"), "{e}");
        assert!(e.hint().contains("cdnprobe diff"));
        let e = import(r#"{"entries": []}"#).unwrap_err();
        assert!(e.to_string().contains("wraps them in a `log`"), "{e}");
        // -> UserError (exit 2) keeps message and hint apart
        let u: UserError = import("nope").unwrap_err().into();
        match u {
            UserError::Input { message, hint } => {
                assert!(message.starts_with("not a HAR file"), "{message}");
                assert!(!message.contains("hint:"));
                assert!(!hint.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_entry_whose_url_is_not_a_url_is_a_clear_error_naming_it() {
        let text = r#"{"log": {"entries": [
            {"request": {"url": "https://a/"}, "response": {"status": 200}},
            {"request": {"url": "data:text/plain,ok"}, "response": {"status": 200}},
            {"request": {"url": "/relative/path"}, "response": {"status": 200}}]}}"#;
        for e in [import(text).unwrap_err(), diagnose(text).unwrap_err()] {
            match e {
                HarError::BadEntry {
                    index, ref message, ..
                } => {
                    assert_eq!(index, 2);
                    assert!(message.contains("`/relative/path`"), "{message}");
                    assert!(message.contains("relative URL without a base"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn entry_without_request_is_a_clear_error() {
        let e = import(
            r#"{"log": {"entries": [{"request": {"url": "https://a/"}}, {"response": {}}]}}"#,
        )
        .unwrap_err();
        match e {
            HarError::BadEntry {
                index, ref message, ..
            } => {
                assert_eq!(index, 1);
                assert!(message.contains("request"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn minimal_and_oddly_typed_entries_are_tolerated() {
        let text = r#"{"log": {"pages": null, "entries": [
            {"request": {"url": "https://a.example/x.css"}},
            {"startedDateTime": "2024-05-01T12:00:00.5+02:00", "time": "12.5",
             "request": {"method": "get", "url": "https://a.example/y", "headers": {"Accept": "*/*"}},
             "response": {"status": "304", "headers": [{"name": "Age", "value": 5}, {"value": "nameless"}, 7],
                          "content": null},
             "timings": {"send": null, "wait": "3", "receive": 1}},
            {"request": {"url": "https://a.example/z"}, "response": {"status": -1, "_failureText": "net::ERR_CONNECTION_REFUSED"}, "_wasAborted": false}
        ]}}"#;
        let xs = import(text).unwrap();
        assert_eq!(xs.len(), 3);
        assert_eq!(xs[0].method, "GET");
        assert_eq!(xs[0].status, None);
        assert_eq!(
            xs[0].failure.as_ref().unwrap().error_text,
            "no response (HAR status 0)"
        );
        assert_eq!(xs[0].id, "har-0");
        assert_eq!(xs[1].method, "GET");
        assert_eq!(xs[1].status, Some(304));
        assert_eq!(xs[1].request_headers.get("accept"), Some("*/*"));
        assert_eq!(xs[1].response_headers.get("age"), Some("5"));
        assert_eq!(xs[1].response_headers.0.len(), 1);
        assert_eq!(xs[1].timing.start_ms, 1_714_557_600_500.0);
        assert_eq!(xs[1].timing.end_ms, Some(12.5));
        assert_eq!(xs[1].timing.ttfb_ms, Some(3.0));
        assert!(xs[1].failure.is_none());
        assert_eq!(xs[2].status, None);
        assert_eq!(
            xs[2].failure.as_ref().unwrap().error_text,
            "net::ERR_CONNECTION_REFUSED"
        );
    }

    #[test]
    fn header_repeats_are_joined_like_cdp() {
        let text = r#"{"log": {"entries": [{"request": {"url": "https://a/"}, "response": {"status": 200,
            "headers": [{"name": "Set-Cookie", "value": "a=1"}, {"name": "set-cookie", "value": "b=2"}, {"name": "Vary", "value": "Origin"}]}}]}}"#;
        let xs = import(text).unwrap();
        assert_eq!(
            *xs[0].response_headers.0,
            vec![
                ("Set-Cookie".to_string(), "a=1\nb=2".to_string()),
                ("Vary".to_string(), "Origin".to_string())
            ]
        );
    }

    #[test]
    fn address_split() {
        assert_eq!(split_address("1.2.3.4:443"), ("1.2.3.4".into(), Some(443)));
        assert_eq!(split_address("[::1]:8080"), ("::1".into(), Some(8080)));
        assert_eq!(split_address("::1"), ("::1".into(), None));
        assert_eq!(split_address("1.2.3.4"), ("1.2.3.4".into(), None));
        assert_eq!(split_address("[::1"), ("[::1".into(), None));
    }

    const CHROME: &str = include_str!("../tests/fixtures/har/chrome-jira-dashboard.har");
    const PLAYWRIGHT: &str = include_str!("../tests/fixtures/har/playwright-confluence-login.har");

    #[test]
    fn chrome_devtools_fixture() {
        use crate::classify::{
            AssetKind, CacheOutcome, CorsOutcome, Provider, asset_kind, cors_outcome,
            parse_cache_status,
        };
        let xs = import(CHROME).unwrap();
        assert_eq!(xs.len(), 7);
        let kinds: Vec<&str> = xs.iter().map(|x| x.resource_type.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "Document",
                "Stylesheet",
                "Script",
                "Font",
                "Font",
                "XHR",
                "Image"
            ]
        );
        let page = "https://jira.example.com/secure/Dashboard.jspa";
        assert!(xs.iter().all(|x| x.phase == page));

        let doc = &xs[0];
        assert_eq!(doc.id, "har-0");
        assert_eq!(doc.status, Some(200));
        assert_eq!(doc.protocol.as_deref(), Some("h2"));
        assert_eq!(doc.mime_type.as_deref(), Some("text/html"));
        assert_eq!(doc.remote_address.as_deref(), Some("13.224.10.5"));
        assert_eq!(doc.encoded_size, Some(14202));
        assert_eq!(doc.initiator.as_deref(), Some("other"));
        assert_eq!(
            doc.request_headers.get(":authority"),
            Some("jira.example.com")
        );
        assert_eq!(doc.response_headers.get_all("set-cookie").count(), 2);
        assert_eq!(doc.timing.start_ms, 1_714_557_600_012.0);
        // blocked + dns + connect (ssl is inside connect) + send + wait
        assert!((doc.timing.ttfb_ms.unwrap() - 295.011).abs() < 1e-6);
        assert!(doc.failure.is_none());
        let cs = parse_cache_status(&doc.response_headers);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::CloudFront, CacheOutcome::Miss)
        );
        assert_eq!(cs.pop.as_deref(), Some("FRA56-P1"));

        let css = &xs[1];
        assert_eq!(
            css.initiator.as_deref(),
            Some(format!("parser {page}").as_str())
        );
        assert_eq!(
            asset_kind(&css.url, css.mime_type.as_deref(), &css.resource_type),
            AssetKind::Css
        );

        let js = &xs[2];
        let cs = parse_cache_status(&js.response_headers);
        assert_eq!((cs.status, cs.age), (CacheOutcome::Hit, Some(5312)));

        let blocked = &xs[3];
        assert_eq!(blocked.status, None);
        assert_eq!(
            blocked.failure.as_ref().unwrap().error_text,
            "net::ERR_FAILED"
        );
        assert_eq!(blocked.remote_address, None);
        assert_eq!(blocked.protocol, None);
        assert_eq!(blocked.timing.ttfb_ms, None);
        assert_eq!(blocked.timing.end_ms, Some(44.121));
        // A HAR does not say why: cross-origin, no response, no CDP CORS verdict.
        assert_eq!(cors_outcome(blocked), CorsOutcome::NoResponse);

        let bad_gateway = &xs[4];
        assert_eq!(bad_gateway.status, Some(502));
        let f = bad_gateway.failure.as_ref().unwrap();
        assert_eq!(f.error_text, "net::ERR_ABORTED");
        assert!(f.canceled);
        assert_eq!(
            parse_cache_status(&bad_gateway.response_headers).status,
            CacheOutcome::Error
        );

        let xhr = &xs[5];
        assert!(
            xhr.initiator
                .as_deref()
                .unwrap()
                .starts_with("script https://jira.example.com/s/")
        );
        assert_eq!(
            asset_kind(&xhr.url, xhr.mime_type.as_deref(), &xhr.resource_type),
            AssetKind::Rest
        );

        let avatar = &xs[6];
        assert!(avatar.from_disk_cache && !avatar.from_memory_cache);
        assert!(avatar.from_browser_cache());
        assert_eq!(
            asset_kind(
                &avatar.url,
                avatar.mime_type.as_deref(),
                &avatar.resource_type
            ),
            AssetKind::Avatar
        );
    }

    #[test]
    fn playwright_fixture() {
        use crate::classify::{
            AssetKind, CacheOutcome, CorsOutcome, asset_kind, cors_outcome, parse_cache_status,
        };
        let xs = import(PLAYWRIGHT).unwrap();
        assert_eq!(xs.len(), 5);
        // No `_resourceType`: read from Sec-Fetch-Dest.
        let kinds: Vec<&str> = xs.iter().map(|x| x.resource_type.as_str()).collect();
        assert_eq!(kinds, ["Document", "Document", "Script", "Font", "Fetch"]);
        assert!(xs.iter().all(|x| x.phase == "Dashboard - Confluence"));

        let login = &xs[0];
        assert_eq!(login.method, "POST");
        assert_eq!(login.status, Some(302));
        assert_eq!(
            login.redirected_to.as_deref(),
            Some("https://confluence.example.com/index.action")
        );
        assert_eq!(login.remote_address.as_deref(), Some("18.66.2.41:443"));
        assert_eq!(login.protocol.as_deref(), Some("h2"));
        assert_eq!(login.mime_type, None);
        assert_eq!(login.encoded_size, Some(1024));
        assert_eq!(
            cors_outcome(login),
            CorsOutcome::NotCors,
            "same-origin POST"
        );

        let page = &xs[1];
        assert_eq!(page.mime_type.as_deref(), Some("text/html"));
        assert_eq!(
            asset_kind(&page.url, page.mime_type.as_deref(), &page.resource_type),
            AssetKind::Html
        );

        let js = &xs[2];
        assert_eq!(
            parse_cache_status(&js.response_headers).status,
            CacheOutcome::Hit
        );

        let font = &xs[3];
        assert_eq!(font.status, None);
        assert_eq!(font.failure.as_ref().unwrap().error_text, "net::ERR_FAILED");
        assert_eq!(font.timing.end_ms, None);
        assert_eq!(font.protocol.as_deref(), Some("http/1.1"));
        assert_eq!(font.remote_address, None);
        assert_eq!(cors_outcome(font), CorsOutcome::NoResponse);
        assert_eq!(
            asset_kind(&font.url, font.mime_type.as_deref(), &font.resource_type),
            AssetKind::Font
        );

        let rest = &xs[4];
        assert_eq!(
            asset_kind(&rest.url, rest.mime_type.as_deref(), &rest.resource_type),
            AssetKind::Rest
        );
    }

    #[test]
    fn fixtures_redacted_keep_no_session() {
        let r = crate::redact::Redactor::with_key([9; 32]);
        for text in [CHROME, PLAYWRIGHT] {
            let xs: Vec<Exchange> = import(text)
                .unwrap()
                .iter()
                .map(|x| r.redact_exchange(x))
                .collect();
            let har = serde_json::to_string(&export(&xs, |_| None)).unwrap();
            for secret in ["FIXTURE0000", "fixtureAlbValue", "FIXT-URE0", "deadbeef"] {
                assert!(!har.contains(secret), "{secret} survived");
            }
            assert!(har.contains("JSESSIONID=<redacted:"));
            assert!(har.contains("AWSALB") || har.contains("seraph.confluence"));
        }
    }

    #[test]
    fn fixtures_round_trip() {
        for text in [CHROME, PLAYWRIGHT] {
            let xs = import(text).unwrap();
            let again = import(&to_json(export(&xs, |_| None)).to_string()).unwrap();
            assert_eq!(again, xs);
        }
    }

    /// Every committed HAR fixture (Chrome, Playwright, lab recordings) reads the same through the
    /// streaming reader, from a string and from the file, as through the whole-document reader.
    #[test]
    fn streaming_import_equals_whole_document_import_on_every_fixture() {
        let mut files = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/har");
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "har") {
                    files.push(p);
                }
            }
        }
        assert!(files.len() >= 5, "{files:?}");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let whole = diagnose(&text).unwrap();
            assert!(!whole.is_empty(), "{}", f.display());
            assert_eq!(import(&text).unwrap(), whole, "{}", f.display());
            assert_eq!(import_file(&f).unwrap().unwrap(), whole, "{}", f.display());
        }
    }

    #[test]
    fn import_file_reports_what_is_wrong_like_import() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            "[]",
            "{\"log\": {}}",
            "{\"log\": {\"entries\": [{}]}}",
            "not json",
            "",
        ] {
            let p = dir.path().join("bad.har");
            std::fs::write(&p, bad).unwrap();
            let from_file = import_file(&p).unwrap().unwrap_err().to_string();
            assert_eq!(from_file, import(bad).unwrap_err().to_string(), "{bad}");
        }
        // a byte-order mark is tolerated, as Windows tools write one
        let p = dir.path().join("bom.har");
        std::fs::write(&p, "\u{feff}{\"log\": {\"entries\": []}}").unwrap();
        assert_eq!(import_file(&p).unwrap().unwrap(), vec![]);
    }

    proptest::proptest! {
        #[test]
        fn import_never_panics_on_text(s in "\\PC{0,200}") {
            let _ = import(&s);
        }

        #[test]
        fn import_never_panics_on_har_shaped_json(
            status in proptest::prop_oneof![
                proptest::strategy::Just(serde_json::json!(null)),
                proptest::strategy::Just(serde_json::json!("x")),
                (-5i64..100000).prop_map(|n| serde_json::json!(n)),
                proptest::num::f64::ANY.prop_map(|f| serde_json::json!(f)),
            ],
            time in proptest::num::f64::ANY,
            started in "\\PC{0,30}",
            header_name in "\\PC{0,10}",
            header_value in proptest::prop_oneof![
                proptest::strategy::Just(serde_json::json!(null)),
                "\\PC{0,20}".prop_map(|s| serde_json::json!(s)),
                proptest::strategy::Just(serde_json::json!({"a": [1]})),
            ],
            url in proptest::prop_oneof!["\\PC{0,40}", "https://h/\\PC{0,30}"],
        ) {
            let doc = serde_json::json!({"log": {"pages": [{"id": 1}], "entries": [{
                "startedDateTime": started, "time": time, "pageref": 1,
                "request": {"url": url, "headers": [{"name": header_name, "value": header_value.clone()}]},
                "response": {"status": status, "headers": [{"name": header_name, "value": header_value}],
                             "content": {"mimeType": 5}, "_transferSize": time},
                "timings": {"wait": time, "send": "x"},
                "_initiator": {"type": 3, "stack": {"callFrames": []}},
                "_fromCache": 1, "_serverPort": "p",
            }]}});
            let text = serde_json::to_string(&doc).unwrap();
            let xs = import(&text);
            if url::Url::parse(&url).is_err() {
                // Lenient about everything but the one thing an entry is about.
                prop_assert!(matches!(xs, Err(HarError::BadEntry { index: 0, .. })), "{:?}", xs);
                return Ok(());
            }
            prop_assert!(xs.is_ok(), "{:?}", xs);
            let xs = xs.unwrap();
            // the streaming reader and the whole-document reader agree
            prop_assert_eq!(&xs, &diagnose(&text).unwrap());
            // and exporting whatever came in never panics either
            let _ = export(&xs, |_| None);
        }
    }
}
