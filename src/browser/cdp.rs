//! A small, lenient Chrome DevTools Protocol client over the browser's websocket.
//!
//! Why not chromiumoxide's typed events: its generated types fail to parse most
//! `Network.requestWillBeSentExtraInfo` events on Chromium 146+ (a renamed enum value) and drop
//! them silently — and those events are the only place the real `Cookie` and `Set-Cookie` headers
//! appear. Here every message is decoded as plain JSON and only the fields this tool reads are
//! looked up, so a new enum value in Chromium can never make an event disappear. The few
//! messages that are not valid JSON are counted and reported (`parse_errors`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// A CDP event, with the flattened session it came from (`None` = the browser itself).
#[derive(Debug, Clone)]
pub struct Event {
    /// The connection's event counter (`Stats::events`) once this event was counted: 1, 2, ...
    /// A subscriber that has handled event `n` has handled every event it was sent up to `n`.
    pub seq: u64,
    pub session_id: Option<String>,
    pub method: String,
    pub params: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    #[error("CDP {method} failed: {message}")]
    Protocol { method: String, message: String },
    #[error("CDP {method} timed out after {secs}s")]
    Timeout { method: String, secs: u64 },
    #[error("the browser connection closed")]
    Closed,
    #[error("cannot connect to the browser at {url}: {message}")]
    Connect { url: String, message: String },
}

/// Counters proving the capture saw what it should (reported in report.json under `cdp`).
#[derive(Debug, Default)]
pub struct Stats {
    /// Set (before pending calls are failed) when the connection is gone.
    pub closed: std::sync::atomic::AtomicBool,
    pub messages: AtomicU64,
    pub events: AtomicU64,
    pub parse_errors: AtomicU64,
}

type Pending = Arc<Mutex<HashMap<u64, (String, oneshot::Sender<Result<Value, CdpError>>)>>>;

#[derive(Clone)]
pub struct Cdp {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
    subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<Arc<Event>>>>>,
    pub stats: Arc<Stats>,
    timeout: Duration,
}

impl Cdp {
    pub async fn connect(ws_url: &str, timeout: Duration) -> Result<Cdp, CdpError> {
        let (ws, _) = tokio_tungstenite::connect_async_with_config(
            ws_url,
            Some(
                tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                    .max_message_size(Some(256 << 20))
                    .max_frame_size(Some(256 << 20)),
            ),
            false,
        )
        .await
        .map_err(|e| CdpError::Connect {
            url: ws_url.to_string(),
            message: e.to_string(),
        })?;
        let (mut sink, mut stream) = ws.split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
        let pending: Pending = Default::default();
        let subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<Arc<Event>>>>> = Default::default();
        let stats = Arc::new(Stats::default());

        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });

        let (p2, s2, st2) = (pending.clone(), subscribers.clone(), stats.clone());
        tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                let binary;
                let text = match &msg {
                    Ok(Message::Text(t)) => t.as_str(),
                    Ok(Message::Binary(b)) => {
                        binary = String::from_utf8_lossy(b);
                        &*binary
                    }
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => continue,
                };
                st2.messages.fetch_add(1, Ordering::Relaxed);
                let mut value: Value = match serde_json::from_str(text) {
                    Ok(v) => v,
                    Err(e) => {
                        st2.parse_errors.fetch_add(1, Ordering::Relaxed);
                        // The error and the size only: the text may hold cookie values.
                        tracing::warn!(target: "cdnprobe::cdp", "unparseable CDP message ({e}), {} bytes", text.len());
                        continue;
                    }
                };
                if let Some(id) = value.get("id").and_then(Value::as_u64) {
                    let entry = p2.lock().unwrap().remove(&id);
                    if let Some((method, tx)) = entry {
                        let result = match value.get("error") {
                            Some(err) => Err(CdpError::Protocol {
                                method,
                                message: err
                                    .get("message")
                                    .and_then(Value::as_str)
                                    .unwrap_or("unknown error")
                                    .to_string(),
                            }),
                            None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
                        };
                        let _ = tx.send(result);
                    }
                } else if let Some(method) = value.get("method").and_then(Value::as_str) {
                    trace_message("<-", method, value.get("params"));
                    // Moved out, not cloned, and shared by every subscriber: a page's events
                    // queue here while its recorder catches up.
                    let method = method.to_string();
                    let session_id = value
                        .get("sessionId")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let params = value
                        .as_object_mut()
                        .and_then(|m| m.remove("params"))
                        .unwrap_or(Value::Null);
                    drop(value);
                    // Counted under the subscribers' lock, so that `subscribe` sees a count that
                    // includes exactly the events it will not be sent.
                    let mut subscribers = s2.lock().unwrap();
                    let seq = st2.events.fetch_add(1, Ordering::SeqCst) + 1;
                    let event = Arc::new(Event {
                        seq,
                        session_id,
                        method,
                        params,
                    });
                    subscribers.retain(|tx| tx.send(event.clone()).is_ok());
                }
            }
            // Fail everything still waiting: the browser is gone. The flag goes first so that a
            // call registered after this drain sees it and does not wait for its timeout.
            st2.closed.store(true, Ordering::SeqCst);
            for (_, (_, tx)) in p2.lock().unwrap().drain() {
                let _ = tx.send(Err(CdpError::Closed));
            }
            s2.lock().unwrap().clear();
        });

        Ok(Cdp {
            out: out_tx,
            pending,
            next_id: Arc::new(AtomicU64::new(1)),
            subscribers,
            stats,
            timeout,
        })
    }

    /// Every event from now on, and the count of events before them (the `seq` a subscriber
    /// that has seen nothing yet is caught up to). Subscribe *before* causing the events you want.
    pub(crate) fn subscribe(&self) -> (mpsc::UnboundedReceiver<Arc<Event>>, u64) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subscribers = self.subscribers.lock().unwrap();
        let before = self.stats.events.load(Ordering::SeqCst);
        subscribers.push(tx);
        (rx, before)
    }

    /// How many events the browser has sent so far. An answer to a call is read after every
    /// event sent before it, so once a call has returned, this counts those events too.
    pub(crate) fn events_received(&self) -> u64 {
        self.stats.events.load(Ordering::SeqCst)
    }

    /// Send a command to the browser (`session = None`) or to a flattened target session.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, CdpError> {
        self.call_with_timeout(session, method, params, self.timeout)
            .await
    }

    pub(crate) async fn call_with_timeout(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_string());
        }
        trace_message("->", method, Some(&params_of(&msg)));
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap()
            .insert(id, (method.to_string(), tx));
        if self.stats.closed.load(Ordering::SeqCst) {
            self.pending.lock().unwrap().remove(&id);
            return Err(CdpError::Closed);
        }
        self.out
            .send(msg.to_string())
            .map_err(|_| CdpError::Closed)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(CdpError::Closed),
            Err(_) => {
                self.pending.lock().unwrap().remove(&id);
                Err(CdpError::Timeout {
                    method: method.to_string(),
                    secs: timeout.as_secs(),
                })
            }
        }
    }

    /// Fire and forget (used for resuming paused targets from the event loop).
    pub fn send(&self, session: Option<&str>, method: &str, params: Value) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_string());
        }
        trace_message("->", method, Some(&params_of(&msg)));
        let _ = self.out.send(msg.to_string());
    }
}

fn params_of(msg: &Value) -> Value {
    msg.get("params").cloned().unwrap_or(Value::Null)
}

/// Fields of CDP messages that carry secrets in shapes the log redactor cannot see: cookie
/// objects (`{"name": "SESSION", "value": "..."}`: the value's own key says nothing), request
/// bodies (JSON escaped inside a JSON string), raw header blocks (escaped line breaks).
const UNLOGGED_FIELDS: &[&str] = &[
    "associatedCookies",
    "blockedCookies",
    "exemptedCookies",
    "cookies",
    "postData",
    "postDataEntries",
    "headersText",
    "text",
    "value",
    "expression",
    "body",
];

/// At `RUST_LOG=cdnprobe::cdp=trace`, the protocol as we speak it: each command we send and
/// each event we receive, with [`UNLOGGED_FIELDS`] replaced by `"<not logged>"`; the line then
/// goes through the log redactor like every other (headers, URLs, registered secrets). This
/// replaces chromiumoxide's and tungstenite's own dumps, which print everything verbatim and
/// are capped in `logging`.
fn trace_message(dir: &str, method: &str, params: Option<&Value>) {
    if !tracing::enabled!(target: "cdnprobe::cdp", tracing::Level::TRACE) {
        return;
    }
    let mut params = params.cloned().unwrap_or(Value::Null);
    scrub(&mut params);
    tracing::trace!(target: "cdnprobe::cdp", "{dir} {method} {params}");
}

fn scrub(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if UNLOGGED_FIELDS.contains(&k.as_str()) {
                    *val = Value::String("<not logged>".into());
                } else {
                    scrub(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WebSocket peer on 127.0.0.1 that, for every call, sends three events and then the
    /// answer, in that order on the one connection, as Chromium does for a navigation's requests
    /// and `Page.navigate`'s answer.
    async fn peer() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            while let Some(Ok(Message::Text(t))) = ws.next().await {
                let call: Value = serde_json::from_str(&t).unwrap();
                for i in 0..3 {
                    let event = json!({"method": "Network.requestWillBeSent", "sessionId": "S", "params": {"requestId": i.to_string()}});
                    ws.send(Message::Text(event.to_string().into()))
                        .await
                        .unwrap();
                }
                let answer = json!({"id": call["id"], "result": {}});
                ws.send(Message::Text(answer.to_string().into()))
                    .await
                    .unwrap();
            }
        });
        format!("ws://{addr}")
    }

    fn seqs(rx: &mut mpsc::UnboundedReceiver<Arc<Event>>) -> Vec<u64> {
        std::iter::from_fn(|| rx.try_recv().ok().map(|e| e.seq)).collect()
    }

    /// What `Page::caught_up` relies on: once a call has returned, `events_received` counts
    /// every event sent before its answer, and a subscriber is sent exactly the events after the
    /// count `subscribe` gave it, numbered on from it.
    #[tokio::test]
    async fn an_answer_is_read_after_the_events_before_it_are_counted_and_sent() {
        let cdp = Cdp::connect(&peer().await, Duration::from_secs(10))
            .await
            .unwrap();
        let (mut first, before) = cdp.subscribe();
        assert_eq!(before, 0);
        cdp.call(Some("S"), "Page.navigate", json!({}))
            .await
            .unwrap();
        assert_eq!(cdp.events_received(), 3);
        assert_eq!(seqs(&mut first), [1, 2, 3]);

        let (mut second, before) = cdp.subscribe();
        assert_eq!(before, 3);
        cdp.call(Some("S"), "Page.navigate", json!({}))
            .await
            .unwrap();
        assert_eq!(cdp.events_received(), 6);
        assert_eq!(seqs(&mut second), [4, 5, 6]);
        assert_eq!(seqs(&mut first), [4, 5, 6]);
    }
}
