//! The capture engine against real servers and a real Chromium: every request the servers saw
//! must be in the capture, with its status and the headers it was sent — including the ones that
//! only ExtraInfo events carry (Cookie, Set-Cookie) — and nothing else.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use common::{Log, block_on, browser, serve_logged};

const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0,
    0, 0, 31, 21, 196, 137, 0, 0, 0, 11, 73, 68, 65, 84, 120, 156, 99, 96, 0, 2, 0, 0, 5, 0, 1,
    122, 94, 171, 63, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

#[derive(Clone)]
struct Ports {
    /// The second origin, reached as `localhost` so that it is cross-site to `127.0.0.1`.
    other: u16,
}

fn origin_a() -> Router<Ports> {
    Router::new()
        .route(
            "/",
            get(|State(p): State<Ports>| async move {
                let html = format!(
                    r#"<!doctype html><html><head><link rel="icon" href="data:,">
<link rel="stylesheet" href="/style.css"><script src="/app.js"></script></head>
<body><p class="same">same-origin font</p><p class="cross">cross-origin font</p><p class="broken">broken font</p>
<img src="/img.png"><img src="/old-img">
<iframe src="http://localhost:{}/frame.html"></iframe></body></html>"#,
                    p.other
                );
                (
                    [
                        (header::CONTENT_TYPE, "text/html"),
                        (header::SET_COOKIE, "session=s3cr3t-session; Path=/; HttpOnly"),
                        (header::CACHE_CONTROL, "no-cache, no-store"),
                    ],
                    html,
                )
            }),
        )
        .route(
            "/style.css",
            get(|State(p): State<Ports>| async move {
                let css = format!(
                    "@font-face {{ font-family: Same; src: url(/fonts/same.woff2) format('woff2'); }}
@font-face {{ font-family: Cross; src: url(http://localhost:{}/fonts/cross.woff) format('woff'); }}
@font-face {{ font-family: Broken; src: url(/fonts/broken.woff) format('woff'); }}
.same {{ font-family: Same; }} .cross {{ font-family: Cross; }} .broken {{ font-family: Broken; }}",
                    p.other
                );
                (
                    [
                        (header::CONTENT_TYPE, "text/css"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                        (header::HeaderName::from_static("x-cache"), "Miss from cloudfront"),
                    ],
                    css,
                )
            }),
        )
        .route(
            "/app.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "application/javascript"),
                        (header::EXPIRES, "Thu, 01 Jan 1970 00:00:00 GMT"),
                    ],
                    r#"window.addEventListener('load', () => {
  const x = new XMLHttpRequest(); x.open('GET', '/api/xhr'); x.send();
  fetch('/api/fetch').then(r => r.text());
  new Worker('/worker.js');
});"#,
                )
            }),
        )
        .route(
            "/worker.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/javascript")],
                    "fetch('/api/from-worker').then(r => r.text());",
                )
            }),
        )
        .route(
            "/img.png",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "image/png"),
                        (header::HeaderName::from_static("x-cache"), "Hit from cloudfront"),
                    ],
                    PNG,
                )
            }),
        )
        .route("/old-img", get(|| async { Redirect::permanent("/img.png?moved=1") }))
        .route(
            "/fonts/same.woff2",
            get(|| async { ([(header::CONTENT_TYPE, "font/woff2")], vec![0u8; 64]) }),
        )
        .route(
            "/fonts/broken.woff",
            get(|| async {
                (
                    StatusCode::BAD_GATEWAY,
                    [
                        (header::CONTENT_TYPE, "text/html"),
                        (header::HeaderName::from_static("x-cache"), "Error from cloudfront"),
                    ],
                    "<h1>502 ERROR</h1>",
                )
            }),
        )
        .route("/api/xhr", get(json_ok))
        .route("/api/fetch", get(json_ok))
        .route("/api/from-worker", get(json_ok))
}

async fn json_ok(headers: HeaderMap) -> Response {
    let cookie = headers
        .get(header::COOKIE)
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        format!("{{\"cookie_seen\": {}}}", !cookie.is_empty()),
    )
        .into_response()
}

fn origin_b() -> Router {
    Router::new()
        .route(
            "/fonts/cross.woff",
            // Deliberately no Access-Control-Allow-Origin: the browser must block it.
            get(|| async { ([(header::CONTENT_TYPE, "font/woff")], vec![0u8; 64]) }),
        )
        .route(
            "/frame.html",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    r#"<!doctype html><html><head><link rel="icon" href="data:,"></head><body>frame<script src="/frame.js"></script></body></html>"#,
                )
            }),
        )
        .route(
            "/frame.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/javascript")],
                    "document.body.append('frame script ran');",
                )
            }),
        )
}

#[test]
fn capture_holds_exactly_what_the_servers_saw() {
    block_on(async {
        let log: Log = Default::default();
        // Bind B first: A's pages need B's port.
        let b = serve_logged("b", origin_b(), log.clone()).await;
        let a = serve_logged(
            "a",
            origin_a().with_state(Ports { other: b.port() }),
            log.clone(),
        )
        .await;

        let browser = browser().await;
        let page = browser.new_page().await.unwrap();
        page.recorder.set_phase("journey#1 goto /");
        let url = format!("http://127.0.0.1:{}/", a.port());
        page.goto(&url, Duration::from_secs(20)).await.unwrap();
        page.wait_idle(Duration::from_secs(10)).await.unwrap();
        let counts = page.recorder.counts();
        let exchanges = page.recorder.take_exchanges();
        page.close().await;

        let seen = log.lock().unwrap().clone();
        let host_of = |s: &common::Seen| {
            if s.server == "a" {
                format!("http://127.0.0.1:{}", a.port())
            } else {
                format!("http://localhost:{}", b.port())
            }
        };

        // 1. Exactly the same requests: (method, url) -> count, both ways.
        let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
        for s in &seen {
            *expected
                .entry((s.method.clone(), format!("{}{}", host_of(s), s.uri)))
                .or_default() += 1;
        }
        let mut captured: BTreeMap<(String, String), usize> = BTreeMap::new();
        for e in &exchanges {
            *captured
                .entry((e.method.clone(), e.url.clone()))
                .or_default() += 1;
        }
        assert_eq!(
            captured, expected,
            "capture (left) differs from what the servers saw (right)"
        );
        assert!(
            seen.len() >= 14,
            "the page should make at least 14 requests, saw {}",
            seen.len()
        );

        // 2. Each with its status and the headers it was sent.
        for s in &seen {
            let url = format!("{}{}", host_of(s), s.uri);
            let e = exchanges
                .iter()
                .find(|e| e.url == url && e.method == s.method)
                .unwrap();
            assert_eq!(e.status, Some(s.status), "status of {url}");
            for (name, value) in &s.headers {
                if name == "host" || name == "connection" {
                    continue;
                }
                assert_eq!(
                    e.request_headers.get(name),
                    Some(value.as_str()),
                    "request header {name} of {url} (captured: {:?})",
                    e.request_headers
                );
            }
            assert_eq!(e.phase, "journey#1 goto /");
        }

        // 3. Set-Cookie (only in responseReceivedExtraInfo) and the Cookie sent back (only in
        //    requestWillBeSentExtraInfo) were both captured.
        let doc = exchanges.iter().find(|e| e.url == url).unwrap();
        assert_eq!(
            doc.response_headers.get("set-cookie"),
            Some("session=s3cr3t-session; Path=/; HttpOnly")
        );
        let xhr = exchanges
            .iter()
            .find(|e| e.url.ends_with("/api/xhr"))
            .unwrap();
        assert_eq!(
            xhr.request_headers.get("cookie"),
            Some("session=s3cr3t-session")
        );
        assert_eq!(xhr.resource_type, "XHR");
        let fetch = exchanges
            .iter()
            .find(|e| e.url.ends_with("/api/fetch"))
            .unwrap();
        assert_eq!(fetch.resource_type, "Fetch");
        assert_eq!(
            exchanges
                .iter()
                .find(|e| e.url.ends_with("/style.css"))
                .unwrap()
                .response_headers
                .get("x-cache"),
            Some("Miss from cloudfront")
        );
        assert_eq!(
            exchanges
                .iter()
                .find(|e| e.url.ends_with("/app.js"))
                .unwrap()
                .response_headers
                .get("expires"),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );

        // 4. The CORS-blocked font is marked with its corsErrorStatus, and keeps its status.
        let cross = exchanges
            .iter()
            .find(|e| e.url.ends_with("/fonts/cross.woff"))
            .unwrap();
        let failure = cross.failure.as_ref().expect("cross-origin font must fail");
        assert_eq!(
            failure.cors_error.as_deref(),
            Some("MissingAllowOriginHeader")
        );
        assert_eq!(cross.status, Some(200));
        assert_eq!(cross.resource_type, "Font");

        // 5. The 502 font keeps its status and headers.
        let broken = exchanges
            .iter()
            .find(|e| e.url.ends_with("/fonts/broken.woff"))
            .unwrap();
        assert_eq!(broken.status, Some(502));
        assert_eq!(
            broken.response_headers.get("x-cache"),
            Some("Error from cloudfront")
        );

        // 6. The redirect: one exchange per hop.
        let hop = exchanges
            .iter()
            .find(|e| e.url.ends_with("/old-img"))
            .unwrap();
        assert_eq!(hop.status, Some(308));
        assert_eq!(hop.redirected_to.as_deref(), Some("/img.png?moved=1"));

        // 7. The cross-site iframe's own requests came from its own target.
        let frame_js = exchanges
            .iter()
            .find(|e| e.url.ends_with("/frame.js"))
            .unwrap();
        assert_eq!(frame_js.target_type, "iframe");
        let from_worker = exchanges
            .iter()
            .find(|e| e.url.ends_with("/api/from-worker"))
            .unwrap();
        assert_eq!(from_worker.target_type, "worker");

        // 8. The ExtraInfo events keep arriving and nothing failed to parse.
        assert!(
            counts.request_will_be_sent_extra_info >= seen.len() as u64 - 1,
            "{counts:?}"
        );
        assert!(
            counts.response_received_extra_info >= seen.len() as u64 - 1,
            "{counts:?}"
        );
        assert_eq!(browser.stats().parse_errors, 0);
        assert!(exchanges.iter().all(|e| !e.from_browser_cache()));
    });
}

/// Measured as a first-time visitor: the browser cache is on (never `Network.setCacheDisabled`,
/// whose `Pragma`/`Cache-Control: no-cache` Apache and Squid obey), a page's second load is served
/// from the browser's own cache and marked so, and a new page starts with an empty cache.
#[test]
fn first_time_visitor_cache_on_marked_replays_and_a_fresh_page_is_empty() {
    block_on(async {
        let log: Log = Default::default();
        let router = Router::new()
            .route(
                "/",
                get(|| async {
                    (
                        [
                            (header::CONTENT_TYPE, "text/html"),
                            (header::CACHE_CONTROL, "max-age=3600"),
                        ],
                        "<!doctype html><link rel=icon href='data:,'><img src='/i.png'>",
                    )
                }),
            )
            .route(
                "/i.png",
                get(|| async {
                    (
                        [
                            (header::CONTENT_TYPE, "image/png"),
                            (header::CACHE_CONTROL, "max-age=3600"),
                        ],
                        PNG,
                    )
                }),
            );
        let a = serve_logged("a", router, log.clone()).await;
        let url = format!("http://127.0.0.1:{}/", a.port());
        let page = browser().await.new_page().await.unwrap();
        page.goto(&url, Duration::from_secs(20)).await.unwrap();
        let other = format!("{url}?again");
        page.goto(&other, Duration::from_secs(20)).await.unwrap();
        let exchanges = page.recorder.take_exchanges();
        page.close().await;
        let seen = log.lock().unwrap().clone();
        // The first load and the second document reach the server; the image comes from the
        // browser cache the second time.
        let images: Vec<_> = seen.iter().filter(|s| s.uri == "/i.png").collect();
        assert_eq!(images.len(), 1, "{seen:?}");
        let replayed: Vec<_> = exchanges
            .iter()
            .filter(|e| e.url.ends_with("/i.png") && e.from_browser_cache())
            .collect();
        assert_eq!(replayed.len(), 1, "{exchanges:#?}");
        // Nothing the tool caused: no request asked a cache for a fresh copy.
        for s in &seen {
            assert!(s.header("pragma").is_none(), "{s:?}");
            assert!(
                !s.header("cache-control")
                    .is_some_and(|v| v.contains("no-cache")),
                "{s:?}"
            );
        }
        // A new page is a new browser context: an empty cache, so the image is fetched again.
        let fresh = browser().await.new_page().await.unwrap();
        fresh.goto(&url, Duration::from_secs(20)).await.unwrap();
        let again = fresh.recorder.take_exchanges();
        fresh.close().await;
        let images = log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.uri == "/i.png")
            .count();
        assert_eq!(
            images, 2,
            "a fresh page must not reuse another page's cache"
        );
        assert!(again.iter().all(|e| !e.from_browser_cache()), "{again:#?}");
    });
}

#[allow(dead_code)]
fn _assert_arc(_: Arc<()>) {}

/// A service worker lives in a target of its own, outside the page's tree: its script and the
/// requests it makes itself must be in the capture all the same (the server saw them).
#[test]
fn service_worker_script_and_its_requests_are_captured() {
    block_on(async {
        let log: Log = Default::default();
        let js = |body: &'static str| {
            (
                [
                    (header::CONTENT_TYPE, "application/javascript"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                body,
            )
        };
        let router = Router::new()
            .route(
                "/",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/html")],
                        "<!doctype html><link rel=icon href='data:,'><script>
window.swReady = navigator.serviceWorker.register('/sw.js')
  .then(() => navigator.serviceWorker.ready)
  .then(() => 'ready', e => 'failed: ' + e);
</script>",
                    )
                }),
            )
            .route(
                "/sw.js",
                get(move || async move {
                    js("self.addEventListener('install', e => e.waitUntil(fetch('/from-sw.txt')));")
                }),
            )
            .route("/from-sw.txt", get(|| async { "installed" }));
        let a = serve_logged("a", router, log.clone()).await;
        let url = format!("http://127.0.0.1:{}/", a.port());
        let page = browser().await.new_page().await.unwrap();
        page.goto(&url, Duration::from_secs(20)).await.unwrap();
        page.wait_idle(Duration::from_secs(5)).await.unwrap();
        let exchanges = page.recorder.take_exchanges();
        page.close().await;
        let seen = log.lock().unwrap().clone();
        for path in ["/sw.js", "/from-sw.txt"] {
            assert_eq!(
                seen.iter().filter(|s| s.uri == path).count(),
                1,
                "{path}: {seen:?}"
            );
            let got: Vec<_> = exchanges.iter().filter(|e| e.url.ends_with(path)).collect();
            assert_eq!(got.len(), 1, "{path} captured once: {exchanges:#?}");
            assert_eq!(got[0].status, Some(200), "{got:#?}");
        }
    });
}
