//! Exchanges -> capture.har: one streaming writer ([`write_json`]), entry by entry, so a large
//! capture is never built in memory.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::exchange::{Exchange, Headers};

use super::import::*;
use super::model::*;

pub(super) fn finite_or(x: f64, d: f64) -> f64 {
    if x.is_finite() { x } else { d }
}

pub(super) fn iso8601(ms: f64) -> String {
    let ms = finite_or(ms, 0.0);
    let secs = (ms / 1000.0).floor();
    let nanos = ((ms - secs * 1000.0) * 1_000_000.0)
        .round()
        .clamp(0.0, 999_999_999.0) as u32;
    chrono::DateTime::from_timestamp(secs as i64, nanos)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn name_values(h: &Headers) -> Vec<NameValue> {
    h.iter()
        .flat_map(|(n, v)| {
            v.split('\n').map(move |v| NameValue {
                name: n.to_string(),
                value: v.to_string(),
            })
        })
        .collect()
}

pub(super) fn request_cookies(h: &Headers) -> Vec<Cookie> {
    h.cookies()
        .into_iter()
        .map(|(name, value)| Cookie {
            name,
            value,
            ..Default::default()
        })
        .collect()
}

pub(super) fn response_cookies(h: &Headers) -> Vec<Cookie> {
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

pub(super) fn query_string(url: &str) -> Vec<NameValue> {
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
pub(super) fn split_address(a: &str) -> (String, Option<u16>) {
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

pub(super) fn exchange_to_entry(
    ex: &Exchange,
    pageref: Option<String>,
    ext: Option<Value>,
) -> Entry {
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
pub(super) fn pages_of<T: HarSource>(items: &[T]) -> (Vec<Page>, HashMap<String, String>) {
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

pub(super) fn creator() -> Creator {
    Creator {
        name: "cdnprobe".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        comment: None,
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
