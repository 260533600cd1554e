//! Assemble CDP Network events into `Exchange`s.
//!
//! Events for one request arrive from several listeners and in no fixed order: the ExtraInfo
//! events (the only ones carrying `Cookie` and `Set-Cookie`) may come before or after the main
//! ones, and a redirect chain reuses one `requestId` for every hop. So events are collected per
//! `requestId`: request hop *i* takes the *i*-th `requestWillBeSentExtraInfo` and response hop
//! *i* the *i*-th `responseReceivedExtraInfo`, merged into the hop's headers as soon as both are
//! in (an ExtraInfo that comes first waits for its hop), so a request holds one header list per
//! side, not two, until the exchanges are taken.
//!
//! WebSockets come as their own events, no ExtraInfo: `webSocketCreated`,
//! `webSocketWillSendHandshakeRequest` (the headers sent, `Cookie` included),
//! `webSocketHandshakeResponseReceived` (only for a 101), then frames and `webSocketClosed`.
//! A refused upgrade (403, 400, a plain 200) has no response event at all — measured on Chromium
//! 156: only `webSocketFrameError` "Error during WebSocket handshake: Unexpected response code:
//! 403" — so its status is read from that message and its headers are not knowable; the error is
//! the exchange's failure. Frames are counted and the first few server messages kept (a
//! protocol's refusal, e.g. a bayeux `"successful":false`, arrives after a good 101).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::exchange::{
    EventCounts, Exchange, Failure, HeaderPool, Headers, Timing, WebSocketDirection, WebSocketLog,
};

#[derive(Debug, Default)]
struct Hop {
    url: String,
    method: String,
    /// The main event's request headers, with this hop's ExtraInfo ones merged in once they came
    /// (`req_extra_in`).
    headers: Headers,
    req_extra_in: bool,
    resource_type: String,
    initiator: Option<String>,
    wall_ms: f64,
    ts: f64,
    /// With this hop's response ExtraInfo headers merged in once both came.
    response: Option<Box<Response>>,
    /// The response ExtraInfo, while it waits for its response (a blocked or failed request
    /// never gets one).
    resp_extra: Option<Box<RespExtra>>,
    resp_extra_in: bool,
    /// The ExtraInfo's status: the status when the response has none.
    extra_status: Option<u16>,
    response_ts: Option<f64>,
}

/// A `responseReceivedExtraInfo`'s status and headers.
#[derive(Debug, Default)]
struct RespExtra {
    status: Option<u16>,
    headers: Headers,
}

impl Hop {
    fn add_req_extra(&mut self, extra: Headers, pool: &mut HeaderPool) {
        self.headers = merge_headers(extra, &self.headers, pool);
        self.req_extra_in = true;
    }

    /// The request headers of a WebSocket handshake, which come after the hop was created.
    fn set_request_headers(&mut self, headers: Headers, pool: &mut HeaderPool) {
        // The hop had none before, so what it holds is its ExtraInfo's alone, if any.
        self.headers = if self.req_extra_in {
            merge_headers(std::mem::take(&mut self.headers), &headers, pool)
        } else {
            headers
        };
    }

    fn add_resp_extra(&mut self, extra: RespExtra, pool: &mut HeaderPool) {
        self.extra_status = extra.status;
        match self.response.as_mut() {
            Some(r) => {
                r.headers = merge_headers(extra.headers, &r.headers, pool);
                self.resp_extra_in = true;
            }
            None => self.resp_extra = Some(Box::new(extra)),
        }
    }

    fn set_response(&mut self, mut r: Response, pool: &mut HeaderPool) {
        if let Some(extra) = self.resp_extra.take() {
            r.headers = merge_headers(extra.headers, &r.headers, pool);
            self.resp_extra_in = true;
        } else if self.resp_extra_in
            && let Some(old) = self.response.take()
        {
            // A second response for the hop: keep the wire headers its ExtraInfo gave.
            r.headers = merge_headers(old.headers, &r.headers, pool);
        }
        self.response = Some(Box::new(r));
    }
}

/// The fields of a CDP `Network.Response` an exchange keeps, taken when the event arrives: the
/// whole object (timing, security details, the URL again...) held per request until the end was
/// most of a large capture's memory.
#[derive(Debug, Default)]
struct Response {
    status: Option<u16>,
    status_text: String,
    headers: Headers,
    mime_type: Option<String>,
    protocol: Option<String>,
    remote_address: Option<String>,
    security_state: Option<String>,
    from_disk_cache: bool,
    from_service_worker: bool,
}

impl Response {
    fn from_cdp(r: &Value, pool: &mut HeaderPool) -> Response {
        let text = |key: &str| r.get(key).and_then(Value::as_str).map(str::to_string);
        let flag = |key: &str| r.get(key).and_then(Value::as_bool).unwrap_or(false);
        Response {
            status: r.get("status").and_then(Value::as_u64).map(|c| c as u16),
            status_text: text("statusText").unwrap_or_default(),
            headers: pool.share(Headers::from_json_object(
                r.get("headers").unwrap_or(&Value::Null),
            )),
            mime_type: text("mimeType").filter(|m| !m.is_empty()),
            protocol: text("protocol"),
            remote_address: r.get("remoteIPAddress").and_then(Value::as_str).map(|ip| {
                let port = r.get("remotePort").and_then(Value::as_u64).unwrap_or(0);
                if ip.contains(':') {
                    format!("[{ip}]:{port}")
                } else {
                    format!("{ip}:{port}")
                }
            }),
            security_state: text("securityState").filter(|s| !s.is_empty() && s != "unknown"),
            from_disk_cache: flag("fromDiskCache"),
            from_service_worker: flag("fromServiceWorker"),
        }
    }
}

#[derive(Debug, Default)]
struct Pending {
    hops: Vec<Hop>,
    /// ExtraInfo events that came before their hop, oldest first: the first belongs to the next
    /// hop to come.
    early_req_extra: Vec<Headers>,
    early_resp_extra: Vec<RespExtra>,
    /// How many ExtraInfo events of each kind came (the next one belongs to this hop).
    req_extra_seen: usize,
    resp_extra_seen: usize,
    phase: String,
    target_type: String,
    end_ts: Option<f64>,
    encoded_size: Option<u64>,
    failure: Option<Box<Failure>>,
    served_from_cache: bool,
    started: Option<Instant>,
    done: bool,
    websocket: Option<Box<WebSocketLog>>,
}

impl Pending {
    /// Add a hop, with the ExtraInfo events that came for it before it did.
    fn push_hop(&mut self, mut hop: Hop, pool: &mut HeaderPool) {
        if !self.early_req_extra.is_empty() {
            hop.add_req_extra(self.early_req_extra.remove(0), pool);
        }
        if !self.early_resp_extra.is_empty() {
            hop.add_resp_extra(self.early_resp_extra.remove(0), pool);
        }
        // Most requests have one hop: no room for four.
        self.hops.reserve_exact(1);
        self.hops.push(hop);
    }

    fn add_req_extra(&mut self, extra: Headers, pool: &mut HeaderPool) {
        let i = self.req_extra_seen;
        self.req_extra_seen += 1;
        match self.hops.get_mut(i) {
            Some(hop) => hop.add_req_extra(extra, pool),
            None => self.early_req_extra.push(extra),
        }
    }

    fn add_resp_extra(&mut self, extra: RespExtra, pool: &mut HeaderPool) {
        let i = self.resp_extra_seen;
        self.resp_extra_seen += 1;
        match self.hops.get_mut(i) {
            Some(hop) => hop.add_resp_extra(extra, pool),
            None => self.early_resp_extra.push(extra),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Boxed: the map keeps room for up to twice as many entries as it holds.
    requests: HashMap<String, Box<Pending>>,
    order: Vec<String>,
    phase: String,
    sessions: HashMap<String, String>,
    last_activity: Option<Instant>,
    counts: EventCounts,
    console_errors: Vec<String>,
    headers: HeaderPool,
}

/// Collects the events of one page (and the frames and workers attached to it).
#[derive(Clone, Default)]
pub struct Recorder {
    state: Arc<Mutex<State>>,
}

fn s(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn describe_initiator(v: &Value) -> Option<String> {
    let kind = v.get("type")?.as_str()?;
    let url = v
        .get("url")
        .and_then(Value::as_str)
        .or_else(|| {
            v.pointer("/stack/callFrames/0/url")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
        })
        .unwrap_or("");
    Some(if url.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} {url}")
    })
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Label that new requests are tagged with (journey step or repeat number).
    pub fn set_phase(&self, phase: impl Into<String>) {
        self.state.lock().unwrap().phase = phase.into();
    }

    /// Remember what kind of target a session belongs to (`page`, `iframe`, `worker`, ...).
    pub(crate) fn add_session(&self, session: &str, target_type: &str) {
        let mut st = self.state.lock().unwrap();
        st.sessions
            .insert(session.to_string(), target_type.to_string());
        if target_type != "page" {
            st.counts.attached_targets += 1;
        }
    }

    pub(crate) fn has_session(&self, session: &str) -> bool {
        self.state.lock().unwrap().sessions.contains_key(session)
    }

    pub fn counts(&self) -> EventCounts {
        self.state.lock().unwrap().counts.clone()
    }

    /// Errors the page reported so far: `console.error`/`console.assert`, uncaught exceptions,
    /// and browser log errors (failed loads, CSP violations).
    pub fn console_errors(&self) -> Vec<String> {
        self.state.lock().unwrap().console_errors.clone()
    }

    /// Requests started in the last `recent` that have neither finished nor failed, and how long
    /// since the network last did anything. Long-lived requests (long polls) are ignored so that a
    /// page with a heartbeat can still be "idle".
    pub(crate) fn activity(&self, recent: Duration) -> (usize, Option<Duration>) {
        let st = self.state.lock().unwrap();
        let inflight = st
            .requests
            .values()
            .filter(|p| !p.done && p.started.is_some_and(|t| t.elapsed() < recent))
            .count();
        (inflight, st.last_activity.map(|t| t.elapsed()))
    }

    /// How many requests were seen so far (a mark for [`Recorder::document_failure_since`]).
    pub(crate) fn mark(&self) -> usize {
        self.state.lock().unwrap().order.len()
    }

    /// The first top-level document request after `mark` that failed, with Chromium's error:
    /// a navigation whose connection was reset after the headers never reaches "complete", and
    /// this is what the page load really died of.
    pub(crate) fn document_failure_since(&self, mark: usize) -> Option<(String, String)> {
        let st = self.state.lock().unwrap();
        st.order.iter().skip(mark).find_map(|id| {
            let p = st.requests.get(id)?;
            let hop = p.hops.last()?;
            let f = p.failure.as_deref()?;
            (hop.resource_type == "Document" && p.target_type == "page" && !f.canceled)
                .then(|| (hop.url.clone(), f.error_text.clone()))
        })
    }

    /// Feed one CDP event. Unknown events are ignored.
    pub(crate) fn on_event(&self, session: Option<&str>, method: &str, p: &Value) {
        let mut guard = self.state.lock().unwrap();
        // The requests and the header pool are borrowed apart.
        let st = &mut *guard;
        let pool = &mut st.headers;
        let id = s(p, "requestId");
        let ts = p.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0);
        let target_type = session
            .and_then(|s| st.sessions.get(s).cloned())
            .unwrap_or_else(|| "page".into());
        let phase = st.phase.clone();
        match method {
            "Network.requestWillBeSent" => {
                st.counts.request_will_be_sent += 1;
                st.last_activity = Some(Instant::now());
                if !st.requests.contains_key(&id) {
                    st.order.push(id.clone());
                }
                let entry = st.requests.entry(id).or_default();
                if entry.hops.is_empty() {
                    entry.phase = phase;
                    entry.target_type = target_type;
                    entry.started = Some(Instant::now());
                }
                if let Some(redirect) = p.get("redirectResponse")
                    && let Some(last) = entry.hops.last_mut()
                {
                    last.set_response(Response::from_cdp(redirect, pool), pool);
                    last.response_ts = Some(ts);
                }
                let req = p.get("request").cloned().unwrap_or(Value::Null);
                let mut url = s(&req, "url");
                if let Some(frag) = req.get("urlFragment").and_then(Value::as_str) {
                    url.push_str(frag);
                }
                entry.push_hop(
                    Hop {
                        url,
                        method: s(&req, "method"),
                        headers: pool.share(Headers::from_json_object(
                            req.get("headers").unwrap_or(&Value::Null),
                        )),
                        resource_type: p
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("Other")
                            .to_string(),
                        initiator: p.get("initiator").and_then(describe_initiator),
                        wall_ms: p.get("wallTime").and_then(Value::as_f64).unwrap_or(0.0) * 1000.0,
                        ts,
                        ..Default::default()
                    },
                    pool,
                );
                entry.done = false;
            }
            "Network.requestWillBeSentExtraInfo" => {
                st.counts.request_will_be_sent_extra_info += 1;
                if !st.requests.contains_key(&id) {
                    st.order.push(id.clone());
                }
                let entry = st.requests.entry(id).or_default();
                let extra = pool.share(Headers::from_json_object(
                    p.get("headers").unwrap_or(&Value::Null),
                ));
                entry.add_req_extra(extra, pool);
            }
            "Network.responseReceived" => {
                st.counts.response_received += 1;
                st.last_activity = Some(Instant::now());
                if let Some(hop) = st.requests.get_mut(&id).and_then(|e| e.hops.last_mut()) {
                    if let Some(r) = p.get("response") {
                        hop.set_response(Response::from_cdp(r, pool), pool);
                    }
                    hop.response_ts = Some(ts);
                    if let Some(t) = p.get("type").and_then(Value::as_str) {
                        hop.resource_type = t.to_string();
                    }
                }
            }
            "Network.responseReceivedExtraInfo" => {
                st.counts.response_received_extra_info += 1;
                if !st.requests.contains_key(&id) {
                    st.order.push(id.clone());
                }
                let entry = st.requests.entry(id).or_default();
                let status = p
                    .get("statusCode")
                    .and_then(Value::as_u64)
                    .map(|c| c as u16);
                let headers = pool.share(Headers::from_json_object(
                    p.get("headers").unwrap_or(&Value::Null),
                ));
                entry.add_resp_extra(RespExtra { status, headers }, pool);
            }
            "Network.requestServedFromCache" => {
                if let Some(entry) = st.requests.get_mut(&id) {
                    entry.served_from_cache = true;
                }
            }
            "Network.loadingFinished" => {
                st.counts.loading_finished += 1;
                st.last_activity = Some(Instant::now());
                if let Some(entry) = st.requests.get_mut(&id) {
                    entry.end_ts = Some(ts);
                    entry.encoded_size = p
                        .get("encodedDataLength")
                        .and_then(Value::as_f64)
                        .map(|f| f as u64);
                    entry.done = true;
                }
            }
            "Network.loadingFailed" => {
                st.counts.loading_failed += 1;
                st.last_activity = Some(Instant::now());
                if let Some(entry) = st.requests.get_mut(&id) {
                    entry.end_ts = Some(ts);
                    entry.done = true;
                    let cors = p.get("corsErrorStatus");
                    entry.failure = Some(Box::new(Failure {
                        error_text: s(p, "errorText"),
                        canceled: p.get("canceled").and_then(Value::as_bool).unwrap_or(false),
                        blocked_reason: p
                            .get("blockedReason")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        cors_error: cors
                            .and_then(|c| c.get("corsError"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        cors_failed_parameter: cors
                            .and_then(|c| c.get("failedParameter"))
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                        tool_limit: None,
                    }));
                }
            }
            "Network.webSocketCreated" => {
                if !st.requests.contains_key(&id) {
                    st.order.push(id.clone());
                }
                let entry = st.requests.entry(id).or_default();
                entry.phase = phase;
                entry.target_type = target_type;
                entry.done = true; // a websocket never "finishes" loading; do not block idleness
                entry.websocket = Some(Box::default());
                entry.push_hop(
                    Hop {
                        url: s(p, "url"),
                        method: "GET".into(),
                        resource_type: "WebSocket".into(),
                        initiator: p.get("initiator").and_then(describe_initiator),
                        ..Default::default()
                    },
                    pool,
                );
            }
            "Network.webSocketWillSendHandshakeRequest" => {
                if let Some(hop) = st.requests.get_mut(&id).and_then(|e| e.hops.last_mut()) {
                    hop.wall_ms = p.get("wallTime").and_then(Value::as_f64).unwrap_or(0.0) * 1000.0;
                    hop.ts = ts;
                    let headers = pool.share(Headers::from_json_object(
                        p.pointer("/request/headers").unwrap_or(&Value::Null),
                    ));
                    hop.set_request_headers(headers, pool);
                }
            }
            "Network.webSocketHandshakeResponseReceived" => {
                if let Some(hop) = st.requests.get_mut(&id).and_then(|e| e.hops.last_mut()) {
                    if let Some(r) = p.get("response") {
                        hop.set_response(Response::from_cdp(r, pool), pool);
                    }
                    hop.response_ts = Some(ts);
                }
            }
            "Network.webSocketFrameSent" | "Network.webSocketFrameReceived" => {
                let direction = if method == "Network.webSocketFrameReceived" {
                    WebSocketDirection::Receive
                } else {
                    WebSocketDirection::Send
                };
                if let Some(entry) = st.requests.get_mut(&id) {
                    // Frames carry the monotonic clock; the handshake hop has both clocks.
                    let time_ms = entry
                        .hops
                        .first()
                        .map(|h| h.wall_ms + (ts - h.ts) * 1000.0)
                        .unwrap_or(0.0);
                    if let Some(log) = entry.websocket.as_mut() {
                        let opcode = p.pointer("/response/opcode").and_then(Value::as_u64);
                        let data = p
                            .pointer("/response/payloadData")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        log.record(direction, time_ms, opcode.unwrap_or(1) as u8, data);
                    }
                }
            }
            "Network.webSocketFrameError" => {
                let message = s(p, "errorMessage");
                if let Some(entry) = st.requests.get_mut(&id) {
                    let answered = entry.hops.last().is_some_and(|h| h.response.is_some());
                    if !answered && entry.failure.is_none() {
                        entry.end_ts = Some(ts);
                        entry.failure = Some(Box::new(Failure {
                            error_text: message.clone(),
                            ..Default::default()
                        }));
                    }
                    if let Some(log) = entry.websocket.as_mut() {
                        log.error.get_or_insert(message);
                    }
                }
            }
            "Network.webSocketClosed" => {
                if let Some(entry) = st.requests.get_mut(&id) {
                    entry.end_ts.get_or_insert(ts);
                    if let Some(log) = entry.websocket.as_mut() {
                        log.closed = true;
                    }
                }
            }
            "Runtime.consoleAPICalled" => {
                let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
                if matches!(kind, "error" | "assert") {
                    let text = p
                        .get("args")
                        .and_then(Value::as_array)
                        .map(|args| {
                            args.iter()
                                .map(|a| {
                                    a.get("value")
                                        .map(|v| {
                                            v.as_str()
                                                .map(str::to_string)
                                                .unwrap_or_else(|| v.to_string())
                                        })
                                        .or_else(|| {
                                            a.get("description")
                                                .and_then(Value::as_str)
                                                .map(str::to_string)
                                        })
                                        .unwrap_or_default()
                                })
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default();
                    st.console_errors.push(format!("console.{kind}: {text}"));
                }
            }
            "Runtime.exceptionThrown" => {
                let d = p.get("exceptionDetails").unwrap_or(&Value::Null);
                let text = d
                    .pointer("/exception/description")
                    .or_else(|| d.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("exception");
                st.console_errors.push(format!("exception: {text}"));
            }
            "Log.entryAdded" => {
                let e = p.get("entry").unwrap_or(&Value::Null);
                if e.get("level").and_then(Value::as_str) == Some("error") {
                    st.console_errors.push(format!(
                        "{}: {} {}",
                        s(e, "source"),
                        s(e, "text"),
                        s(e, "url")
                    ));
                }
            }
            _ => {}
        }
    }

    /// Turn everything recorded so far into exchanges (one per request and per redirect hop),
    /// in the order the requests started, and forget them.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        let mut st = self.state.lock().unwrap();
        let order = std::mem::take(&mut st.order);
        let mut requests = std::mem::take(&mut st.requests);
        // The exchanges hold the lists now; the next ones start a pool of their own.
        st.headers = HeaderPool::default();
        let mut out = Vec::with_capacity(order.len());
        for id in order {
            let Some(p) = requests.remove(&id) else {
                continue;
            };
            // data: and blob: URLs never touch the network: they are not exchanges.
            if p.hops
                .first()
                .is_some_and(|h| h.url.starts_with("data:") || h.url.starts_with("blob:"))
            {
                continue;
            }
            build_exchanges(id, *p, &mut out);
        }
        out
    }
}

/// The exchanges of one request, one per hop, appended to `out`. The request's own strings
/// move into its last exchange (most requests have one hop): nothing is copied that is not
/// needed twice.
fn build_exchanges(id: String, mut p: Pending, out: &mut Vec<Exchange>) {
    let n = p.hops.len();
    let mut id = Some(id);
    for (i, hop) in std::mem::take(&mut p.hops).into_iter().enumerate() {
        let last = i + 1 == n;
        let resp = hop.response.map(|r| *r).unwrap_or_default();
        // ExtraInfo headers are what really went over the wire (Cookie, Set-Cookie): they were
        // merged in first, with any header only the main event knows about (`merge_headers`).
        let response_headers = match hop.resp_extra {
            // It never got a response: its ExtraInfo is all there is.
            Some(extra) => extra.headers,
            None => resp.headers,
        };
        let status = resp.status.or(hop.extra_status).or_else(|| {
            let failure = p.failure.as_ref().filter(|_| last)?;
            refused_handshake_status(&failure.error_text)
        });
        let ttfb = hop.response_ts.map(|t| ((t - hop.ts) * 1000.0).max(0.0));
        let end = if last {
            p.end_ts.map(|t| ((t - hop.ts) * 1000.0).max(0.0))
        } else {
            ttfb
        };
        let redirected_to = if last {
            None
        } else {
            response_headers.get("location").map(str::to_string)
        };
        let (id, target_type, phase) = if last {
            (
                id.take().unwrap_or_default(),
                std::mem::take(&mut p.target_type),
                std::mem::take(&mut p.phase),
            )
        } else {
            (
                format!("{}#hop{i}", id.as_deref().unwrap_or_default()),
                p.target_type.clone(),
                p.phase.clone(),
            )
        };
        out.push(Exchange {
            id,
            url: hop.url,
            method: hop.method,
            resource_type: hop.resource_type,
            initiator: if i > 0 {
                Some("redirect".into())
            } else {
                hop.initiator
            },
            target_type,
            request_headers: hop.headers,
            status,
            status_text: resp.status_text,
            response_headers,
            mime_type: resp.mime_type,
            protocol: resp.protocol,
            remote_address: resp.remote_address,
            security_state: resp.security_state,
            timing: Timing {
                start_ms: hop.wall_ms,
                ttfb_ms: ttfb,
                end_ms: end,
            },
            encoded_size: if last { p.encoded_size } else { None },
            from_disk_cache: resp.from_disk_cache,
            from_memory_cache: last && p.served_from_cache,
            from_service_worker: resp.from_service_worker,
            failure: if last {
                p.failure.take().map(|f| *f)
            } else {
                None
            },
            redirected_to,
            websocket: if last {
                p.websocket.take().map(|w| *w)
            } else {
                None
            },
            phase,
        });
    }
}

/// `primary` (ExtraInfo's, what went over the wire) plus every header only `other` has.
fn merge_headers(mut primary: Headers, other: &Headers, pool: &mut HeaderPool) -> Headers {
    if primary.is_empty() {
        return other.clone();
    }
    let missing: Vec<(&str, &str)> = other.iter().filter(|(k, _)| !primary.contains(k)).collect();
    if !missing.is_empty() {
        let pairs = primary.pairs_mut();
        pairs.reserve_exact(missing.len());
        pairs.extend(
            missing
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        return pool.share(primary);
    }
    primary
}

/// The status of a refused WebSocket upgrade, from Chromium's only report of it:
/// `Error during WebSocket handshake: Unexpected response code: 403`.
fn refused_handshake_status(error: &str) -> Option<u16> {
    let (_, code) = error.split_once("Unexpected response code: ")?;
    code.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_info_before_main_event_still_lands_on_the_right_hop() {
        let r = Recorder::new();
        r.set_phase("step 1");
        r.on_event(
            None,
            "Network.requestWillBeSentExtraInfo",
            &json!({"requestId": "1", "headers": {"Cookie": "a=1"}}),
        );
        r.on_event(
            None,
            "Network.requestWillBeSent",
            &json!({"requestId": "1", "type": "Document", "timestamp": 1.0, "wallTime": 1000.0,
            "request": {"url": "http://h/old", "method": "GET", "headers": {"Accept": "*/*"}}}),
        );
        r.on_event(None, "Network.responseReceivedExtraInfo", &json!({"requestId": "1", "statusCode": 301, "headers": {"Location": "/new", "Set-Cookie": "s=1"}}));
        r.on_event(
            None,
            "Network.requestWillBeSent",
            &json!({"requestId": "1", "type": "Document", "timestamp": 1.1, "wallTime": 1000.1,
            "redirectResponse": {"status": 301, "headers": {"Location": "/new"}},
            "request": {"url": "http://h/new", "method": "GET", "headers": {}}}),
        );
        r.on_event(
            None,
            "Network.requestWillBeSentExtraInfo",
            &json!({"requestId": "1", "headers": {"Cookie": "a=1; s=1"}}),
        );
        r.on_event(None, "Network.responseReceived", &json!({"requestId": "1", "type": "Document", "timestamp": 1.2,
            "response": {"status": 200, "statusText": "OK", "headers": {"X-Cache": "Miss from cloudfront"}, "mimeType": "text/html"}}));
        r.on_event(None, "Network.responseReceivedExtraInfo", &json!({"requestId": "1", "statusCode": 200, "headers": {"X-Cache": "Miss from cloudfront"}}));
        r.on_event(
            None,
            "Network.loadingFinished",
            &json!({"requestId": "1", "timestamp": 1.3, "encodedDataLength": 10}),
        );
        let ex = r.take_exchanges();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].id, "1#hop0");
        assert_eq!(ex[0].status, Some(301));
        assert_eq!(ex[0].redirected_to.as_deref(), Some("/new"));
        assert_eq!(ex[0].request_headers.get("cookie"), Some("a=1"));
        assert_eq!(ex[0].response_headers.get("set-cookie"), Some("s=1"));
        assert_eq!(ex[1].id, "1");
        assert_eq!(ex[1].status, Some(200));
        assert_eq!(ex[1].request_headers.get("cookie"), Some("a=1; s=1"));
        assert_eq!(ex[1].phase, "step 1");
        assert_eq!(ex[1].initiator.as_deref(), Some("redirect"));
        assert_eq!(r.counts().request_will_be_sent_extra_info, 2);
    }

    /// The events Chromium 156 sends for a 101 and for a refused upgrade (measured, see the
    /// module doc).
    #[test]
    fn websocket_handshakes_open_and_refused() {
        let r = Recorder::new();
        r.set_phase("editor");
        let created = |id: &str, url: &str| {
            r.on_event(
                None,
                "Network.webSocketCreated",
                &json!({"requestId": id, "url": url, "initiator": {"type": "script"}}),
            );
            r.on_event(
                None,
                "Network.webSocketWillSendHandshakeRequest",
                &json!({"requestId": id,
                "timestamp": 1.0, "wallTime": 1000.0,
                "request": {"headers": {"Upgrade": "websocket", "Cookie": "JSESSIONID=x"}}}),
            );
        };
        created("w1", "wss://c.example.com/synchrony/v1/bayeux-sync1");
        r.on_event(
            None,
            "Network.webSocketHandshakeResponseReceived",
            &json!({"requestId": "w1",
            "timestamp": 1.1, "response": {"status": 101, "statusText": "Switching Protocols",
            "headers": {"upgrade": "websocket", "x-cache": "Miss from cloudfront"}}}),
        );
        r.on_event(
            None,
            "Network.webSocketFrameSent",
            &json!({"requestId": "w1",
            "response": {"opcode": 1, "payloadData": "[{\"channel\":\"/meta/handshake\"}]"}}),
        );
        r.on_event(
            None,
            "Network.webSocketFrameReceived",
            &json!({"requestId": "w1",
            "response": {"opcode": 1, "payloadData": "[{\"successful\":false}]"}}),
        );
        r.on_event(
            None,
            "Network.webSocketFrameReceived",
            &json!({"requestId": "w1",
            "response": {"opcode": 2, "payloadData": "AAEC"}}),
        );
        r.on_event(
            None,
            "Network.webSocketClosed",
            &json!({"requestId": "w1", "timestamp": 1.5}),
        );
        created("w2", "wss://c.example.com/refused");
        r.on_event(
            None,
            "Network.webSocketFrameError",
            &json!({"requestId": "w2", "timestamp": 1.2,
            "errorMessage": "Error during WebSocket handshake: Unexpected response code: 403"}),
        );
        r.on_event(
            None,
            "Network.webSocketClosed",
            &json!({"requestId": "w2", "timestamp": 1.3}),
        );
        let ex = r.take_exchanges();
        assert_eq!(ex.len(), 2);
        let open = &ex[0];
        assert_eq!(
            (open.status, open.resource_type.as_str()),
            (Some(101), "WebSocket")
        );
        assert_eq!(open.request_headers.get("cookie"), Some("JSESSIONID=x"));
        assert_eq!(
            open.response_headers.get("x-cache"),
            Some("Miss from cloudfront")
        );
        assert!(open.failure.is_none());
        let log = open.websocket.as_ref().unwrap();
        assert_eq!((log.frames_sent, log.frames_received), (1, 2));
        assert_eq!(
            log.received_texts().collect::<Vec<_>>(),
            vec!["[{\"successful\":false}]"]
        );
        assert_eq!(log.messages.len(), 3, "every frame is kept: {log:?}");
        assert_eq!(log.messages[0].direction, WebSocketDirection::Send);
        assert!(log.closed && log.error.is_none());
        let refused = &ex[1];
        assert_eq!(refused.status, Some(403));
        assert!(refused.response_headers.is_empty());
        assert!(
            refused
                .failure
                .as_ref()
                .unwrap()
                .error_text
                .ends_with("Unexpected response code: 403")
        );
        assert!(refused.websocket.as_ref().unwrap().closed);
        assert_eq!(refused.phase, "editor");
        assert_eq!(
            refused_handshake_status("net::ERR_CONNECTION_REFUSED"),
            None
        );
    }

    /// Both hops' ExtraInfo events before any main event (they wait for their hop), and a
    /// response ExtraInfo with no response at all: the same headers, in the same order, as when
    /// they come after.
    #[test]
    fn extra_info_waits_for_its_hop_and_merges_in_order() {
        let pairs = |h: &Headers| {
            h.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
        };
        let events = |early: bool| {
            let r = Recorder::new();
            let req_extra = |n: &str| {
                r.on_event(
                    None,
                    "Network.requestWillBeSentExtraInfo",
                    &json!({"requestId": "7", "headers": {"Cookie": n, "Accept": "*/*"}}),
                )
            };
            let resp_extra = || {
                r.on_event(
                    None,
                    "Network.responseReceivedExtraInfo",
                    &json!({"requestId": "7", "statusCode": 302,
                    "headers": {"Location": "/b", "Set-Cookie": "s=1"}}),
                )
            };
            if early {
                req_extra("a=1");
                resp_extra();
                req_extra("a=2");
            }
            r.on_event(None, "Network.requestWillBeSent", &json!({"requestId": "7", "timestamp": 1.0,
                "request": {"url": "http://h/a", "method": "GET", "headers": {"Accept": "text/html", "X-Main": "1"}}}));
            r.on_event(None, "Network.requestWillBeSent", &json!({"requestId": "7", "timestamp": 1.1,
                "redirectResponse": {"status": 302, "headers": {"Location": "/b", "Via": "1.1 edge"}},
                "request": {"url": "http://h/b", "method": "GET", "headers": {"X-Main": "2"}}}));
            if !early {
                req_extra("a=1");
                resp_extra();
                req_extra("a=2");
            }
            r.on_event(
                None,
                "Network.responseReceivedExtraInfo",
                &json!({"requestId": "7", "statusCode": 503, "headers": {"X-Cache": "Error from cloudfront"}}),
            );
            r.on_event(
                None,
                "Network.loadingFailed",
                &json!({"requestId": "7", "timestamp": 1.2, "errorText": "net::ERR_FAILED"}),
            );
            r.take_exchanges()
        };
        for early in [true, false] {
            let ex = events(early);
            assert_eq!(ex.len(), 2, "early {early}");
            assert_eq!(
                pairs(&ex[0].request_headers),
                ["Accept: */*", "Cookie: a=1", "X-Main: 1"],
                "early {early}"
            );
            assert_eq!(
                pairs(&ex[0].response_headers),
                ["Location: /b", "Set-Cookie: s=1", "Via: 1.1 edge"],
                "early {early}"
            );
            assert_eq!(ex[0].redirected_to.as_deref(), Some("/b"));
            assert_eq!(
                pairs(&ex[1].request_headers),
                ["Accept: */*", "Cookie: a=2", "X-Main: 2"],
                "early {early}"
            );
            // No responseReceived: the ExtraInfo's status and headers are all there is.
            assert_eq!(ex[1].status, Some(503));
            assert_eq!(
                pairs(&ex[1].response_headers),
                ["X-Cache: Error from cloudfront"]
            );
        }
    }

    /// Requests that sent the same headers share one list, merged or not.
    #[test]
    fn equal_header_lists_are_shared() {
        let r = Recorder::new();
        for id in ["1", "2"] {
            r.on_event(None, "Network.requestWillBeSent", &json!({"requestId": id, "timestamp": 1.0,
                "request": {"url": format!("http://h/{id}"), "method": "GET", "headers": {"Accept": "*/*"}}}));
            r.on_event(
                None,
                "Network.requestWillBeSentExtraInfo",
                &json!({"requestId": id, "headers": {"Accept": "*/*", "Cookie": "a=1"}}),
            );
            r.on_event(
                None,
                "Network.responseReceived",
                &json!({"requestId": id, "timestamp": 1.1,
                "response": {"status": 200, "headers": {"X-Cache": "Hit from cloudfront"}}}),
            );
        }
        let ex = r.take_exchanges();
        assert!(Arc::ptr_eq(
            &ex[0].request_headers.0,
            &ex[1].request_headers.0
        ));
        assert!(Arc::ptr_eq(
            &ex[0].response_headers.0,
            &ex[1].response_headers.0
        ));
        assert_eq!(ex[1].request_headers.get("cookie"), Some("a=1"));
    }

    #[test]
    fn cors_blocked_request_keeps_status_from_extra_info_and_cors_error() {
        let r = Recorder::new();
        r.on_event(None, "Network.requestWillBeSent", &json!({"requestId": "9", "type": "Font", "timestamp": 1.0,
            "request": {"url": "http://cdn/f.woff", "method": "GET", "headers": {"Origin": "http://app"}}}));
        r.on_event(
            None,
            "Network.responseReceivedExtraInfo",
            &json!({"requestId": "9", "statusCode": 200, "headers": {"Content-Type": "font/woff"}}),
        );
        r.on_event(
            None,
            "Network.loadingFailed",
            &json!({"requestId": "9", "timestamp": 1.1, "errorText": "net::ERR_FAILED",
            "corsErrorStatus": {"corsError": "MissingAllowOriginHeader", "failedParameter": ""}}),
        );
        let ex = r.take_exchanges();
        assert_eq!(ex[0].status, Some(200));
        let f = ex[0].failure.as_ref().unwrap();
        assert_eq!(f.cors_error.as_deref(), Some("MissingAllowOriginHeader"));
        assert_eq!(f.cors_failed_parameter, None);
    }
}
