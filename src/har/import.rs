//! HAR -> exchanges, streamed entry by entry (`stream`), with a whole-document reader kept only
//! to explain a file that is not a HAR.

use std::collections::HashMap;

use serde_json::Value;

use crate::exchange::{Exchange, Failure, Headers, Timing, WebSocketDirection, WebSocketLog};

use super::error::*;
use super::model::*;

/// Parse a HAR file into exchanges, in file order. Only a file that is not JSON, or JSON without a
/// `log.entries` array, or an entry without a `request`, is an error.
pub fn import(text: &str) -> Result<Vec<Exchange>, HarError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut de = serde_json::Deserializer::from_str(text);
    match stream::read(&mut de, &|_| {}).and_then(|x| de.end().map(|_| x)) {
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
    // Parse from one slice (several times faster than from a reader), and hand the text's pages
    // back as the parser passes them: the exchanges never hold the bodies, so the text need not
    // stay in memory beside them.
    let bytes = crate::input::one_pass(path, crate::input::Kind::Har)?;
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    let mut de = serde_json::Deserializer::from_slice(body);
    match stream::read(&mut de, &|at| bytes.release_before(at)).and_then(|x| de.end().map(|_| x)) {
        Ok(exchanges) => Ok(Ok(exchanges)),
        Err(_) => Ok(diagnose(&String::from_utf8_lossy(&bytes))),
    }
}

/// The streaming reader behind [`import`] and [`import_file`]: `{"log": {"pages": [...],
/// "entries": [...]}}` walked with serde seeds, each entry converted as soon as it is parsed and
/// dropped. Any departure from that shape is an error here; [`diagnose`] then explains it.
pub(super) mod stream {
    use std::collections::HashMap;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;
    use serde_json::value::RawValue;

    use super::{Entry, Page, entry_to_exchange};
    use crate::exchange::Exchange;

    struct State<'r> {
        exchanges: Vec<Exchange>,
        titles: HashMap<String, String>,
        saw_entries: bool,
        /// Told where each parsed entry starts: everything before it is never read again.
        passed: &'r dyn Fn(*const u8),
    }

    pub fn read<'de, D: de::Deserializer<'de>>(
        d: D,
        passed: &dyn Fn(*const u8),
    ) -> Result<Vec<Exchange>, D::Error> {
        let mut state = State {
            exchanges: Vec::new(),
            titles: HashMap::new(),
            saw_entries: false,
            passed,
        };
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

    struct Top<'a, 'r>(&'a mut State<'r>);
    impl<'de> Visitor<'de> for Top<'_, '_> {
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

    struct Log<'a, 'r>(&'a mut State<'r>);
    impl<'de> DeserializeSeed<'de> for Log<'_, '_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Log<'_, '_> {
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

    struct Entries<'a, 'r>(&'a mut State<'r>);
    impl<'de> DeserializeSeed<'de> for Entries<'_, '_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Entries<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of HAR entries")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let none: HashMap<&str, &str> = HashMap::new();
            // Each entry is first taken as its raw text, which says where it lies in the input,
            // then parsed; the text before it can then be handed back.
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                (self.0.passed)(raw.get().as_ptr());
                let entry: Entry = serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
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
pub(super) fn diagnose(text: &str) -> Result<Vec<Exchange>, HarError> {
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
pub(super) fn bad_url(entry: &Entry) -> Option<String> {
    let url = &entry.request.url;
    let err = url::Url::parse(url).err()?;
    let shown = crate::input::clip(url, 200);
    Some(format!("`request.url` is not a URL: `{shown}` ({err})"))
}

pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(super) fn not_json(text: &str, e: &serde_json::Error) -> HarError {
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

pub(super) fn not_har_object(o: &serde_json::Map<String, Value>) -> HarError {
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
pub(super) fn cdp_resource_type(t: &str) -> String {
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
pub(super) fn resource_type_from_dest(dest: &str) -> Option<&'static str> {
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

pub(super) fn lower_resource_type(t: &str) -> String {
    t.to_ascii_lowercase()
}

/// CDP-style protocol (`http/1.1`, `h2`, `h3`) from a HAR `httpVersion`.
pub(super) fn protocol_from_http_version(v: &str) -> Option<String> {
    let l = v.trim().to_ascii_lowercase();
    match l.as_str() {
        "" | "unknown" => None,
        "http/2.0" | "http/2" | "h2" | "http2" => Some("h2".into()),
        "http/3.0" | "http/3" | "h3" | "http3" => Some("h3".into()),
        _ => Some(l),
    }
}

pub(super) fn http_version_from_protocol(p: Option<&str>) -> String {
    match p {
        Some("h2") => "http/2.0".into(),
        Some("h3") => "http/3.0".into(),
        Some(other) => other.into(),
        None => String::new(),
    }
}

/// HAR header list -> `Headers`, joining repeats with `\n` the way CDP reports them.
pub(super) fn headers_from(list: &[NameValue]) -> Headers {
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

pub(super) fn parse_started(s: &str) -> Option<f64> {
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
pub(super) fn websocket_log(extra: &Extra) -> Option<WebSocketLog> {
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

pub(super) fn str_ext<'a>(extra: &'a Extra, key: &str) -> Option<&'a str> {
    extra
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub(super) fn initiator_string(v: &Value) -> Option<String> {
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

pub(super) fn entry_to_exchange(
    index: usize,
    e: &Entry,
    page_titles: &HashMap<&str, &str>,
) -> Exchange {
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
pub(super) fn failure_of(e: &Entry, status: Option<u16>) -> Option<Failure> {
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
