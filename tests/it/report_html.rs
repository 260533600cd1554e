//! report.html opened in headless Chromium, as a person would open it from disk: it must make no
//! network request and log no error, show every behavior card, every finding and every request,
//! and its filters must work. A control page proves the two checks catch what they look for, and
//! a tampered report proves its Content-Security-Policy blocks a stray load.

use crate::common;
use crate::report_fixture;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cdnprobe::browser::Page;
use common::{Log, block_on, browser, serve_logged};
use report_fixture as fx;
use serde_json::Value;

const T: Duration = Duration::from_secs(20);

fn file_url(p: &Path) -> String {
    url::Url::from_file_path(p).unwrap().to_string()
}

/// URLs of every network (not file:/data:) request the page made.
fn network_requests(page: &Page) -> Vec<String> {
    page.recorder
        .take_exchanges()
        .into_iter()
        .map(|e| e.url)
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
        .collect()
}

async fn eval(page: &Page, js: &str) -> Value {
    page.eval(js).await.unwrap_or_else(|e| panic!("{js}: {e}"))
}

#[test]
fn html_report_works_offline_in_chromium() {
    block_on(async {
        let report = fx::report(true);
        let dir = tempfile::tempdir().unwrap();
        cdnprobe::report::write_all(&report, dir.path()).unwrap();
        let page = browser().await.new_page().await.unwrap();
        page.goto(&file_url(&dir.path().join("report.html")), T)
            .await
            .unwrap();

        // Every behavior card, in order.
        let patterns = eval(
            &page,
            "[...document.querySelectorAll('article.behavior')].map(a => a.dataset.pattern)",
        )
        .await;
        let expected: Vec<&str> = report
            .behaviors
            .iter()
            .map(|b| b.pattern.as_str())
            .collect();
        assert_eq!(patterns, serde_json::json!(expected));
        // The failed one is marked, and its strips show the four misses of each sampled URL.
        let s_card = eval(&page, "(() => { const a = document.querySelector('article.behavior.fail'); return [a.dataset.pattern, [...a.querySelectorAll('.strip')].map(s => [...s.querySelectorAll('.cell')].map(c => c.textContent).join(''))]; })()").await;
        assert_eq!(s_card, serde_json::json!(["/s/*", ["MMMM", "MMMM"]]));
        // Banner, findings with evidence and fix.
        assert_eq!(
            eval(
                &page,
                "document.querySelector('.banner .outcome').textContent"
            )
            .await,
            "FAIL"
        );
        assert_eq!(
            eval(&page, "document.querySelectorAll('article.finding').length").await,
            report.findings.len()
        );
        let first = eval(&page, "(() => { const f = document.querySelector('article.finding'); return [f.querySelector('code').textContent, f.querySelector('pre').textContent, f.querySelector('.fix').textContent]; })()").await;
        assert_eq!(first[0], "rotating-cookie-in-key");
        assert!(
            first[1]
                .as_str()
                .unwrap()
                .contains("Set-Cookie: AWSALB=<redacted:"),
            "{first}"
        );
        assert!(
            first[2].as_str().unwrap().contains("forward no cookies"),
            "{first}"
        );
        // A waterfall per journey step that had requests (steps 1, 4 and 5).
        let bars = eval(&page, "[...document.querySelectorAll('details.step')].map(d => d.querySelectorAll('.wrow').length)").await;
        assert_eq!(bars, serde_json::json!([5, 0, 0, 1, 3]));

        // The request table and its filters.
        let rows = "document.querySelectorAll('#request-table tbody tr:not([hidden])').length";
        assert_eq!(eval(&page, rows).await, report.requests.len());
        let misses = report
            .requests
            .iter()
            .filter(|r| r.class.cache.status.as_str() == "miss")
            .count();
        eval(&page, "(() => { const s = document.getElementById('f-cache'); s.value = 'miss'; s.dispatchEvent(new Event('change')); })()").await;
        assert_eq!(eval(&page, rows).await, misses);
        assert_eq!(
            eval(&page, "document.getElementById('count').textContent").await,
            format!("{misses} of {}", report.requests.len())
        );
        eval(&page, "(() => { const s = document.getElementById('f-cache'); s.value = ''; s.dispatchEvent(new Event('change')); const q = document.getElementById('q'); q.value = 'superbatch'; q.dispatchEvent(new Event('input')); })()").await;
        assert_eq!(eval(&page, rows).await, 2);
        eval(&page, "(() => { const q = document.getElementById('q'); q.value = ''; q.dispatchEvent(new Event('input')); const f = document.getElementById('f-failed'); f.checked = true; f.dispatchEvent(new Event('change')); })()").await;
        assert_eq!(eval(&page, rows).await, 1, "the aborted beacon");
        let headers = eval(
            &page,
            "[...document.querySelectorAll('#request-table th')].map(t => t.textContent)",
        )
        .await;
        for h in ["X-Cache", "Cache-Control", "Expires", "Age", "CORS"] {
            assert!(
                headers.as_array().unwrap().iter().any(|v| v == h),
                "column {h}: {headers}"
            );
        }

        let shot = dir.path().join("report.png");
        page.screenshot(&shot).await.unwrap();
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "a real screenshot"
        );
        // To look at it: REPORT_HTML_KEEP=/some/dir cargo test --test it report_html::
        if let Some(keep) = std::env::var_os("REPORT_HTML_KEEP") {
            std::fs::create_dir_all(&keep).unwrap();
            for f in ["report.html", "report.png"] {
                std::fs::copy(dir.path().join(f), Path::new(&keep).join(f)).unwrap();
            }
        }

        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            network_requests(&page),
            Vec::<String>::new(),
            "report.html must not touch the network"
        );
        assert_eq!(page.recorder.console_errors(), Vec::<String>::new());
        page.close().await;
    });
}

#[test]
fn the_offline_checks_catch_loads_and_errors_and_the_csp_blocks_them() {
    block_on(async {
        let log: Log = Default::default();
        let addr = serve_logged(
            "leak",
            Router::new().route("/leak.png", get(|| async { "x" })),
            log.clone(),
        )
        .await;
        let leak = format!("http://127.0.0.1:{}/leak.png", addr.port());
        let dir = tempfile::tempdir().unwrap();

        // Control: a page without a CSP that loads an image and logs an error is caught by both checks.
        let control = dir.path().join("control.html");
        std::fs::write(&control, format!("<!doctype html><link rel=icon href='data:,'><img src='{leak}'><script>console.error('boom')</script>")).unwrap();
        let page = browser().await.new_page().await.unwrap();
        page.goto(&file_url(&control), T).await.unwrap();
        assert_eq!(network_requests(&page), vec![leak.clone()]);
        assert!(
            page.recorder
                .console_errors()
                .iter()
                .any(|e| e.contains("boom")),
            "{:?}",
            page.recorder.console_errors()
        );
        page.close().await;
        assert_eq!(
            log.lock().unwrap().len(),
            1,
            "the control load reached the server"
        );

        // The real report with a stray image spliced in: the CSP refuses it.
        let report = fx::report(false);
        cdnprobe::report::write_all(&report, dir.path()).unwrap();
        let path = dir.path().join("report.html");
        let html = std::fs::read_to_string(&path).unwrap().replacen(
            "<body>",
            &format!("<body><img src=\"{leak}\">"),
            1,
        );
        std::fs::write(&path, html).unwrap();
        let page = browser().await.new_page().await.unwrap();
        page.goto(&file_url(&path), T).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            log.lock().unwrap().len(),
            1,
            "the CSP kept the stray load from reaching the server"
        );
        let errors = page.recorder.console_errors();
        assert!(
            errors.iter().any(|e| e.contains("Content Security Policy")),
            "a CSP violation is logged: {errors:?}"
        );
        assert_eq!(
            eval(
                &page,
                "document.querySelector('.banner .outcome').textContent"
            )
            .await,
            "PASS"
        );
        page.close().await;
    });
}
