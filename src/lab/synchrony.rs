//! The lab's Synchrony: Confluence's collaborative-editing service, as far as a CDN cares.
//!
//! Why it is here: the editor is the one page of a Confluence journey that needs more than
//! HTTP. It opens a WebSocket to `<context>/synchrony/v1/bayeux-sync1`, and that upgrade has to
//! survive every hop — a CloudFront behavior that does not forward the handshake headers, or an
//! ALB that sends the socket to a node without the editing session, breaks collaborative editing
//! while every page still loads. The lab must reproduce both, so it speaks a real WebSocket.
//!
//! What it does (a small bayeux, the protocol Synchrony's `bayeux-sync1` endpoint carries):
//! - a GET with `Upgrade: websocket`, `Sec-WebSocket-Key` and `Sec-WebSocket-Version` is answered
//!   `101 Switching Protocols`; anything else on that path is `400` (what an origin answers a
//!   CDN that stripped the handshake headers);
//! - client `/meta/handshake` -> server answers with a `clientId` (or, on a node that does not
//!   hold the editing session, `402::Unknown client` and a close: the ALB stickiness failure);
//! - client `/meta/connect` -> server answers, then pushes one `/synchrony/presence` message.
//!
//! `/synchrony/heartbeat` (the ALB's health check for the Synchrony target group, seeds/003) is
//! answered by the origin itself; the editor's client falls back to it (Synchrony's XHR fallback)
//! when the socket fails, so the editor still opens and only the capture shows the failure — as
//! with a real Confluence, where a blocked WebSocket degrades editing silently.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, frame::coding::CloseCode};

use super::alb::SynchronyNode;

/// Synchrony's websocket endpoint under the context path.
pub(crate) const BAYEUX_PATH: &str = "/synchrony/v1/bayeux-sync1";

/// Does this request ask for a WebSocket (`Connection: upgrade` + `Upgrade: websocket`)?
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")
}

/// Who is connecting: the session's user (from `JSESSIONID`) and the node the ALB chose.
pub struct Peer {
    pub username: Option<String>,
    pub node: SynchronyNode,
}

/// Answer a request on `BAYEUX_PATH`: `101` and a bayeux session, or `400`.
pub fn connect(parts: &mut Parts, peer: Peer) -> Response {
    let key = parts
        .headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().to_vec());
    let version_ok = parts
        .headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let (Some(key), true, true, Some(upgrade)) =
        (key, version_ok, is_upgrade(&parts.headers), upgrade)
    else {
        return refuse();
    };
    tokio::spawn(async move {
        match upgrade.await {
            Ok(io) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None).await;
                session(ws, peer).await;
            }
            Err(e) => tracing::debug!("synchrony: upgrade failed: {e}"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, derive_accept_key(&key))
        .body(Body::empty())
        .expect("valid response")
}

/// What Synchrony answers a plain GET on its websocket endpoint (no handshake headers reached it).
fn refuse() -> Response {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .header(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")
        .body(Body::from(
            "Expected a WebSocket upgrade (Upgrade: websocket, Sec-WebSocket-Key, Sec-WebSocket-Version)",
        ))
        .expect("valid response")
}

/// One bayeux session over the socket, until either side closes it.
async fn session<S>(mut ws: WebSocketStream<S>, peer: Peer)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let client_id = format!("{:016x}", rand::random::<u64>());
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else {
            if matches!(msg, Message::Close(_)) {
                break;
            }
            continue;
        };
        let Ok(Value::Array(batch)) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for m in batch {
            let channel = m.get("channel").and_then(Value::as_str).unwrap_or("");
            let reply = match channel {
                "/meta/handshake" => match (&peer.username, peer.node) {
                    (Some(_), SynchronyNode::HoldsSession) => json!([{
                        "channel": "/meta/handshake", "successful": true, "version": "1.0",
                        "clientId": client_id, "supportedConnectionTypes": ["websocket"],
                    }]),
                    (None, _) => {
                        return reject(ws, "401::Authentication required", "no session").await;
                    }
                    (Some(_), SynchronyNode::Other(node)) => {
                        let error = format!("402::Unknown client (no editing session on {node})");
                        return reject(ws, &error, "unknown client").await;
                    }
                },
                "/meta/connect" => json!([{
                    "channel": "/meta/connect", "successful": true, "clientId": client_id,
                    "advice": {"reconnect": "retry", "interval": 0, "timeout": 30000},
                }]),
                _ => continue,
            };
            if ws.send(Message::text(reply.to_string())).await.is_err() {
                return;
            }
            if channel == "/meta/connect" {
                let presence = json!([{
                    "channel": "/synchrony/presence",
                    "data": {"users": [peer.username.as_deref().unwrap_or("")], "revision": 3},
                }]);
                if ws.send(Message::text(presence.to_string())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Answer the handshake with a bayeux error, then close the socket (policy violation).
async fn reject<S>(mut ws: WebSocketStream<S>, error: &str, reason: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let reply = json!([{
        "channel": "/meta/handshake", "successful": false, "error": error,
        "advice": {"reconnect": "handshake"},
    }]);
    let _ = ws.send(Message::text(reply.to_string())).await;
    let _ = ws
        .close(Some(CloseFrame {
            code: CloseCode::Policy,
            reason: reason.to_string().into(),
        }))
        .await;
    // Let the client's close frame arrive, so the close is clean on both sides.
    while let Some(Ok(_)) = ws.next().await {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn upgrade_needs_both_connection_and_upgrade_tokens() {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(!is_upgrade(&h));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(is_upgrade(&h));
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        assert!(!is_upgrade(&h));
    }
}
