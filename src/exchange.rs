//! The capture's unit of truth: one HTTP exchange (a request and, if any, its response).
//!
//! Every later stage (classify, diagnose, verify, report) reads `Exchange`s and nothing else from
//! the browser, so the same pipeline runs on a live capture, a HAR file or a repeat load.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Ordered header list that keeps the exact name case and duplicates (evidence quotes header lines
/// verbatim). Lookups are case-insensitive. Serialized as a JSON object with lower-case names,
/// repeated headers joined by `\n` (the way CDP reports `Set-Cookie`).
///
/// Shared on clone (copy on write): a report's request records carry the same headers as the
/// exchanges they classify, and on a large HAR the headers are most of the memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Headers(pub Arc<Vec<(String, String)>>);

/// One shared copy of each distinct header list a capture holds. A browser sends the same
/// request headers with every image, script or fetch of a page (user agent, `Accept`, client
/// hints, `Referer`, cookies), so most lists have many equal twins; copy on write keeps
/// sharing invisible.
#[derive(Debug, Default)]
pub(crate) struct HeaderPool {
    lists: std::collections::HashSet<Headers>,
    /// Forget the lists no one else holds any more when the pool reaches this size.
    sweep_at: usize,
}

impl HeaderPool {
    /// `h`, or the pool's equal list.
    pub(crate) fn share(&mut self, h: Headers) -> Headers {
        if let Some(same) = self.lists.get(&h) {
            return same.clone();
        }
        if self.lists.len() >= self.sweep_at {
            self.lists.retain(|l| Arc::strong_count(&l.0) > 1);
            self.sweep_at = (self.lists.len() * 2).max(64);
        }
        self.lists.insert(h.clone());
        h
    }
}

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(Arc::new(pairs))
    }

    /// The pairs, to change in place (copied first if shared).
    pub(crate) fn pairs_mut(&mut self) -> &mut Vec<(String, String)> {
        Arc::make_mut(&mut self.0)
    }

    /// First value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, with CDP's `\n`-joined multi-values split apart.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split('\n'))
            .filter(|v| !v.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs_mut().push((name.into(), value.into()));
    }

    /// Replace every value of `name` with one value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let pairs = self.pairs_mut();
        pairs.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        pairs.push((name.to_string(), value.into()));
    }

    pub fn remove(&mut self, name: &str) {
        self.pairs_mut()
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Build from a CDP/JSON headers object (`{"Name": "value", ...}`).
    pub(crate) fn from_json_object(value: &serde_json::Value) -> Self {
        let Some(map) = value.as_object() else {
            return Headers::new();
        };
        // Exactly as many as given: grown push by push, a capture's header lists were up to
        // half empty room.
        let mut pairs = Vec::with_capacity(map.len());
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            pairs.push((k.clone(), v));
        }
        Headers::from_pairs(pairs)
    }

    /// `Name: value` lines, one per value (the form evidence is quoted in).
    pub fn line(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, v)| format!("{n}: {v}"))
    }
}

impl Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map: std::collections::BTreeMap<String, String> = Default::default();
        for (n, v) in self.0.iter() {
            map.entry(n.to_ascii_lowercase())
                .and_modify(|e| {
                    e.push('\n');
                    e.push_str(v)
                })
                .or_insert_with(|| v.clone());
        }
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map: std::collections::BTreeMap<String, String> = Deserialize::deserialize(d)?;
        Ok(Headers::from_pairs(map.into_iter().collect()))
    }
}

impl schemars::JsonSchema for Headers {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Headers".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "Header name (lower case) -> value; repeated headers joined by \\n",
            "additionalProperties": {"type": "string"}
        })
    }
}

/// Why a request did not complete normally (CDP `Network.loadingFailed`, or a blocked/CORS
/// outcome seen in a HAR).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Failure {
    /// e.g. `net::ERR_FAILED`, `net::ERR_ABORTED`.
    pub error_text: String,
    #[serde(default)]
    pub canceled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_reason: Option<String>,
    /// CDP `CorsError` value, e.g. `MissingAllowOriginHeader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_error: Option<String>,
    /// The header CORS complained about, when CDP says (`failedParameter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_failed_parameter: Option<String>,
    /// Set when the load failed on a limit of cdnprobe itself (the replay client's header
    /// limit, a request it could not build), not of the site: what the limit was. Verdicts never
    /// count such a load against the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_limit: Option<String>,
}

/// What happened on a WebSocket after its handshake (CDP frame events), so that a socket that
/// opened and was then refused by the application (e.g. Synchrony answering a bayeux handshake
/// with `"successful": false`) is visible, not only a refused upgrade.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WebSocketLog {
    pub frames_sent: u32,
    pub frames_received: u32,
    /// Closed while the capture watched (by either side, or by leaving the page).
    #[serde(default)]
    pub closed: bool,
    /// Chromium's `webSocketFrameError` message, e.g. `Error during WebSocket handshake:
    /// Unexpected response code: 400`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The first messages either way (at most `KEEP_MESSAGES`, each cut to `KEEP_BYTES`),
    /// redacted like any free text in the outputs. capture.har writes them as DevTools'
    /// `_webSocketMessages`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<WebSocketMessage>,
}

/// One WebSocket message, as DevTools' HAR export has it (`_webSocketMessages`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WebSocketMessage {
    /// `send` (browser to server) or `receive`.
    #[serde(rename = "type")]
    pub direction: WebSocketDirection,
    /// Wall clock, ms since the Unix epoch.
    pub time_ms: f64,
    /// The frame's opcode: 1 text, 2 binary (`data` is then base64, as CDP gives it).
    pub opcode: u8,
    /// The payload, cut to `WebSocketLog::KEEP_BYTES`.
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebSocketDirection {
    Send,
    Receive,
}

impl WebSocketLog {
    pub(crate) const KEEP_MESSAGES: usize = 50;
    pub(crate) const KEEP_BYTES: usize = 512;

    /// Count a frame, and keep it while fewer than `KEEP_MESSAGES` are kept.
    pub fn record(&mut self, direction: WebSocketDirection, time_ms: f64, opcode: u8, data: &str) {
        match direction {
            WebSocketDirection::Send => self.frames_sent += 1,
            WebSocketDirection::Receive => self.frames_received += 1,
        }
        if self.messages.len() < Self::KEEP_MESSAGES {
            self.messages.push(WebSocketMessage {
                direction,
                time_ms,
                opcode,
                data: Self::clip(data),
            });
        }
    }

    /// The text messages the server sent, in order (of those kept).
    pub fn received_texts(&self) -> impl Iterator<Item = &str> {
        self.messages
            .iter()
            .filter(|m| m.direction == WebSocketDirection::Receive && m.opcode == 1)
            .map(|m| m.data.as_str())
    }

    /// `data` cut to `KEEP_BYTES` on a character boundary.
    pub fn clip(data: &str) -> String {
        let mut end = data.len().min(Self::KEEP_BYTES);
        while !data.is_char_boundary(end) {
            end -= 1;
        }
        data[..end].to_string()
    }
}

/// Timings in milliseconds since the Unix epoch (start) and since start (the others).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Timing {
    /// Wall-clock start, ms since the Unix epoch.
    pub start_ms: f64,
    /// Time to first byte of the response headers, ms after start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<f64>,
    /// Time the exchange ended (finished or failed), ms after start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<f64>,
}

/// One request (or one redirect hop of a request) and what came back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Exchange {
    /// CDP requestId, suffixed `#hopN` for redirect hops before the final one.
    pub id: String,
    pub url: String,
    pub method: String,
    /// CDP resource type: Document, Stylesheet, Script, Image, Font, XHR, Fetch, Other, ...
    pub resource_type: String,
    /// Who asked: `parser https://host/page`, `script`, `redirect`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiator: Option<String>,
    /// `page`, `iframe`, `worker`, `service_worker`: the browser target the request came from.
    #[serde(default)]
    pub target_type: String,
    pub request_headers: Headers,
    /// `None` when no response arrived at all.
    pub status: Option<u16>,
    #[serde(default)]
    pub status_text: String,
    pub response_headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    /// Chromium's verdict on the connection's security (`secure`, `insecure`, `neutral`, ...):
    /// `insecure` on an https URL means a certificate error was let through (`--insecure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_state: Option<String>,
    pub timing: Timing,
    /// Bytes received over the network (headers + body), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoded_size: Option<u64>,
    /// Chromium answered from its disk cache (report.json before 2.0 had `from_browser_cache`,
    /// disk or memory, which reads back as this).
    #[serde(default, alias = "from_browser_cache")]
    pub from_disk_cache: bool,
    #[serde(default)]
    pub from_memory_cache: bool,
    #[serde(default)]
    pub from_service_worker: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// For a redirect hop: where it pointed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<String>,
    /// Journey and step this exchange belongs to (`jira-smoke#3 goto /secure/Dashboard.jspa`),
    /// or `repeat N` for verification loads.
    #[serde(default)]
    pub phase: String,
    /// For a WebSocket: its frames and how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WebSocketLog>,
}

impl Exchange {
    /// The browser answered from its own cache: the headers are old and prove nothing about the CDN.
    pub fn from_browser_cache(&self) -> bool {
        self.from_disk_cache || self.from_memory_cache
    }

    /// One of verification's repeat loads (phase `repeat N`), not a journey's own request.
    pub(crate) fn is_repeat_load(&self) -> bool {
        self.phase
            .strip_prefix("repeat ")
            .is_some_and(|n| n.parse::<u32>().is_ok())
    }

    pub fn host(&self) -> Option<String> {
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.to_string()))
    }

    /// Path without the query string.
    pub fn path(&self) -> String {
        url::Url::parse(&self.url)
            .map(|u| u.path().to_string())
            .unwrap_or_default()
    }
}

/// `host[:port]` of a URL, as distributions, the jar and the findings compare hosts.
pub fn host_port(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

// --- Cookies: the one reading of `Cookie` and `Set-Cookie` headers. ---

/// The `(name, value)` pairs of one `Cookie` request header value, in order, each as written
/// (quotes kept). A pair without `=` is a value with an empty name, as RFC 6265bis and Chromium
/// read it; the `cookie` crate parses the others.
pub(crate) fn cookie_pairs(header: &str) -> impl Iterator<Item = (String, String)> + '_ {
    header.split(';').filter_map(|pair| {
        let pair = pair.trim();
        if pair.is_empty() {
            return None;
        }
        match cookie::Cookie::parse(pair) {
            Ok(c) => Some((c.name().to_string(), c.value().to_string())),
            Err(_) => Some(match pair.split_once('=') {
                Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
                None => (String::new(), pair.to_string()),
            }),
        }
    })
}

/// One `Set-Cookie` line parsed by the `cookie` crate (name, value, `Path`, `Domain`, `Expires`,
/// `Max-Age`, `Secure`, `HttpOnly`, `SameSite`); `None` when it has no `name=value`.
pub(crate) fn parse_set_cookie(line: &str) -> Option<cookie::Cookie<'static>> {
    cookie::Cookie::parse(line.trim().to_string()).ok()
}

impl Headers {
    /// Every `(name, value)` the `Cookie` request headers carry, in order.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.get_all("cookie").flat_map(cookie_pairs).collect()
    }
}

// --- Capture statistics: proof that the capture saw what it should (report.json `capture`). ---

/// How many of each event the capture received: a test (and the report) check that the
/// ExtraInfo events keep arriving, since losing them silently loses every cookie.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct EventCounts {
    pub request_will_be_sent: u64,
    pub request_will_be_sent_extra_info: u64,
    pub response_received: u64,
    pub response_received_extra_info: u64,
    pub loading_finished: u64,
    pub loading_failed: u64,
    pub attached_targets: u64,
}

impl EventCounts {
    pub fn add(&mut self, c: &EventCounts) {
        self.request_will_be_sent += c.request_will_be_sent;
        self.request_will_be_sent_extra_info += c.request_will_be_sent_extra_info;
        self.response_received += c.response_received;
        self.response_received_extra_info += c.response_received_extra_info;
        self.loading_finished += c.loading_finished;
        self.loading_failed += c.loading_failed;
        self.attached_targets += c.attached_targets;
    }
}

/// Statistics about the browser connection, for the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct CdpStats {
    pub messages: u64,
    pub events: u64,
    /// CDP messages our capture connection could not parse (must be 0).
    pub parse_errors: u64,
    /// Messages chromiumoxide (the launcher's connection) failed to parse: harmless for the
    /// capture, which does not use that connection, but reported for transparency.
    pub driver_parse_errors: u64,
    pub chromium_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_pool_shares_equal_lists_and_forgets_unheld_ones() {
        let list = |v: &str| Headers::from_pairs(vec![("Accept".into(), v.into())]);
        let mut pool = HeaderPool::default();
        let a = pool.share(list("*/*"));
        let b = pool.share(list("*/*"));
        assert!(Arc::ptr_eq(&a.0, &b.0), "equal lists are one list");
        let c = pool.share(list("text/html"));
        assert!(!Arc::ptr_eq(&a.0, &c.0));
        // Copy on write: changing one holder's list leaves the other's as it was.
        let mut changed = b.clone();
        changed.set("Accept", "image/*");
        assert_eq!(a.get("accept"), Some("*/*"));
        assert_eq!(changed.get("accept"), Some("image/*"));
        // Lists only the pool holds go at the next sweep; held ones stay shared.
        drop(c);
        for i in 0..64 {
            pool.share(list(&i.to_string()));
        }
        assert!(!pool.lists.contains(&list("text/html")));
        assert!(Arc::ptr_eq(&pool.share(list("*/*")).0, &a.0));
    }

    #[test]
    fn headers_lookup_is_case_insensitive_and_splits_multi_values() {
        let mut h = Headers::new();
        h.push("Set-Cookie", "a=1\nb=2");
        h.push("X-Cache", "Hit from cloudfront");
        assert_eq!(h.get("x-cache"), Some("Hit from cloudfront"));
        assert_eq!(
            h.get_all("set-cookie").collect::<Vec<_>>(),
            vec!["a=1", "b=2"]
        );
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json["set-cookie"], "a=1\nb=2");
    }

    #[test]
    fn cookies_are_read_once_the_browsers_way() {
        let mut h = Headers::new();
        h.push("Cookie", "a=1; b=x=y;c; d=\"q\"");
        h.push("Cookie", "AWSALB=z");
        assert_eq!(
            h.cookies(),
            [
                ("a", "1"),
                ("b", "x=y"),
                ("", "c"),
                ("d", "\"q\""),
                ("AWSALB", "z")
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
        let c =
            parse_set_cookie("AWSALB=abc; Expires=Wed, 03 Dec 2025 10:00:00 GMT; Path=/; HttpOnly")
                .unwrap();
        assert_eq!(
            (c.name(), c.value(), c.path()),
            ("AWSALB", "abc", Some("/"))
        );
        assert_eq!(c.http_only(), Some(true));
        assert!(c.expires_datetime().is_some());
        assert!(parse_set_cookie("no pair here").is_none());
    }
}
