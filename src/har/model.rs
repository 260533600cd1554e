//! The HAR 1.2 model, read leniently (`lenient`): what DevTools, Firefox, Playwright and
//! WebPageTest write differs in optional fields and their types, and none of that may reject a file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(super) type Extra = BTreeMap<String, Value>;

/// The whole document, for the tests' round trips (import streams it, export writes it piece by
/// piece).
#[cfg(test)]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Har {
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

pub(super) fn neg1() -> f64 {
    -1.0
}
pub(super) fn neg1_i() -> i64 {
    -1
}

/// Deserializers that accept what real exporters write: nulls, numbers as strings, objects where
/// arrays were expected, arrays of half-broken items (the broken ones are skipped).
pub(super) mod lenient {
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

    pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(to_string(Value::deserialize(d)?))
    }

    pub(crate) fn f64_neg1<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(to_f64(&Value::deserialize(d)?).unwrap_or(-1.0))
    }

    pub(crate) fn i64_neg1<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(to_f64(&Value::deserialize(d)?)
            .map(|f| f as i64)
            .unwrap_or(-1))
    }

    pub(crate) fn i64_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(to_f64(&Value::deserialize(d)?)
            .map(|f| f as i64)
            .unwrap_or(0))
    }

    pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(to_f64(&Value::deserialize(d)?).map(|f| f as i64))
    }

    pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
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

    pub(crate) fn opt<'de, D: Deserializer<'de>, T: DeserializeOwned>(
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
    pub(crate) fn name_values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NameValue>, D::Error> {
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
