//! WebSockets in the capture, against a real Chromium and a real websocket server on 127.0.0.1:
//! the handshake is an exchange like any other (request and response headers, status 101,
//! resource type `WebSocket`), its frames are counted, and a refused upgrade keeps the status
//! the server answered and Chromium's error. Kept apart from `capture.rs` so that test's
//! "exactly what the servers saw" accounting stays about HTTP.

use crate::common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::{Log, block_on, browser, serve_logged};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The page: open `/ws` (send one message, read the echo and a push), then `/refuse`.
const PAGE: &str = r#"<!doctype html><title>ws</title><script>
var log = [];
var ws = new WebSocket("ws://" + location.host + "/ws");
ws.onopen = function () { ws.send("hello"); };
ws.onmessage = function (e) {
  log.push(e.data);
  if (log.length === 2) {
    var bad = new WebSocket("ws://" + location.host + "/refuse");
    bad.onerror = bad.onclose = function () { document.title = "done"; };
  }
};
</script>"#;

/// A websocket echo: 101, then echo every text message and push one more.
async fn echo(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let key = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let (Some(key), Some(upgrade)) = (key, upgrade) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    tokio::spawn(async move {
        let io = hyper_util::rt::TokioIo::new(upgrade.await.unwrap());
        let mut ws =
            tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        while let Some(Ok(Message::Text(t))) = ws.next().await {
            let _ = ws.send(Message::text(format!("echo {t}"))).await;
            let _ = ws.send(Message::text("push from server")).await;
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .header("X-Cache", "Miss from cloudfront")
        .body(Body::empty())
        .unwrap()
}

#[test]
fn websocket_handshakes_are_captured_with_status_headers_frames_and_refusals() {
    block_on(async {
        let log: Log = Default::default();
        let router = Router::new()
            .route(
                "/",
                get(|| async { ([(header::CONTENT_TYPE, "text/html")], PAGE) }),
            )
            .route("/ws", get(echo))
            .route(
                "/refuse",
                get(|| async {
                    (
                        StatusCode::FORBIDDEN,
                        [("X-Cache", "Error from cloudfront")],
                        "websockets are not forwarded",
                    )
                }),
            );
        let a = serve_logged("a", router, log.clone()).await;
        let url = format!("http://127.0.0.1:{}/", a.port());
        let page = browser().await.new_page().await.unwrap();
        page.recorder.set_phase("ws");
        page.goto(&url, Duration::from_secs(20)).await.unwrap();
        let mut title = String::new();
        for _ in 0..200 {
            title = page
                .eval("document.title")
                .await
                .unwrap()
                .as_str()
                .unwrap_or_default()
                .to_string();
            if title == "done" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(title, "done");
        page.wait_idle(Duration::from_secs(10)).await.unwrap();
        let exchanges = page.recorder.take_exchanges();
        page.close().await;
        let seen = log.lock().unwrap().clone();

        // The handshake that worked: what the server saw, what it answered, and the frames.
        let ws_url = format!("ws://127.0.0.1:{}/ws", a.port());
        let open = exchanges
            .iter()
            .find(|e| e.url == ws_url)
            .unwrap_or_else(|| panic!("{exchanges:#?}"));
        assert_eq!(open.resource_type, "WebSocket");
        assert_eq!(open.method, "GET");
        assert_eq!(open.status, Some(101), "{open:#?}");
        assert_eq!(open.status_text, "Switching Protocols");
        assert!(open.failure.is_none(), "{open:#?}");
        assert_eq!(open.phase, "ws");
        let sent = seen.iter().find(|s| s.uri == "/ws").unwrap();
        assert_eq!(sent.status, 101);
        for name in [
            "upgrade",
            "connection",
            "sec-websocket-key",
            "sec-websocket-version",
            "origin",
        ] {
            assert_eq!(
                open.request_headers.get(name),
                sent.header(name),
                "request header {name}: {:?}",
                open.request_headers
            );
        }
        assert!(open.request_headers.get("sec-websocket-key").is_some());
        assert!(
            open.response_headers
                .get("upgrade")
                .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
        );
        assert!(open.response_headers.get("sec-websocket-accept").is_some());
        assert_eq!(
            open.response_headers.get("x-cache"),
            Some("Miss from cloudfront")
        );
        let frames = open.websocket.as_ref().expect("frames recorded");
        assert_eq!(frames.frames_sent, 1, "{frames:?}");
        assert_eq!(frames.frames_received, 2, "{frames:?}");
        assert_eq!(
            frames.received_texts().collect::<Vec<_>>(),
            ["echo hello", "push from server"]
        );
        assert!(frames.error.is_none());
        // The messages in order, both ways, on the wall clock of the handshake.
        let start = open.timing.start_ms;
        let order: Vec<_> = frames
            .messages
            .iter()
            .map(|m| (format!("{:?}", m.direction), m.data.as_str()))
            .collect();
        assert_eq!(order[0], ("Send".to_string(), "hello"), "{order:?}");
        assert_eq!(order.len(), 3, "{order:?}");
        assert!(
            frames
                .messages
                .iter()
                .all(|m| m.time_ms >= start && m.time_ms < start + 60_000.0),
            "{frames:?}"
        );
        // capture.har carries them as DevTools does, and reads back the same.
        let mut har = Vec::new();
        cdnprobe::har::write_json(&mut har, &exchanges, |_| None).unwrap();
        let har = String::from_utf8(har).unwrap();
        let back = cdnprobe::har::import(&har).unwrap();
        let again = back.iter().find(|e| e.url == ws_url).unwrap();
        assert_eq!(again.websocket.as_ref().unwrap().messages.len(), 3);
        assert!(har.contains("\"_webSocketMessages\""), "{har}");
        assert_eq!(
            again.websocket.as_ref().unwrap().messages[2].data,
            frames.messages[2].data
        );

        // The refused upgrade: the server's 403 (Chromium reports no headers for it) and the
        // browser's error, never a silent "no status".
        let refused = exchanges
            .iter()
            .find(|e| e.url.ends_with("/refuse"))
            .unwrap();
        assert_eq!(
            seen.iter().find(|s| s.uri == "/refuse").unwrap().status,
            403
        );
        assert_eq!(refused.resource_type, "WebSocket");
        assert_eq!(refused.status, Some(403), "{refused:#?}");
        assert_eq!(
            refused.request_headers.get("upgrade"),
            Some("websocket"),
            "{refused:#?}"
        );
        let failure = refused.failure.as_ref().expect("the refusal is a failure");
        assert!(
            failure.error_text.contains("Unexpected response code: 403"),
            "{failure:?}"
        );
        let log = refused.websocket.as_ref().unwrap();
        assert!(log.closed && log.error.is_some(), "{log:?}");
        assert_eq!(browser().await.stats().parse_errors, 0);
    });
}
