//! A hostile site (issue 17): servers written to misbehave, and a real `cdnprobe run` against
//! them. What is checked is who gets the blame and whether the messages tell the truth: a limit
//! of the tool is reported as the tool's, never as the site's verdict; a reset page says it was
//! reset.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use common::{Log, block_on, serve_logged};

/// `/` links a stylesheet under `/s/` answered with 1,000 `Set-Cookie` headers and CloudFront's
/// headers: a Miss first, then Hits (so a working replay says `HITS`).
fn thousand_cookies() -> Router {
    let loads = Arc::new(AtomicUsize::new(0));
    Router::new()
        .route(
            "/",
            get(|| async {
                Html("<!doctype html><link rel=icon href='data:,'><link rel=stylesheet href='/s/many.css'><p>hi")
            }),
        )
        .route(
            "/s/many.css",
            get(move || {
                let n = loads.fetch_add(1, Ordering::SeqCst);
                async move {
                    let mut resp = "p{color:red}".into_response();
                    let h = resp.headers_mut();
                    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css"));
                    h.insert(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=600"),
                    );
                    h.insert(
                        "x-cache",
                        HeaderValue::from_static(if n == 0 {
                            "Miss from cloudfront"
                        } else {
                            "Hit from cloudfront"
                        }),
                    );
                    h.insert("x-amz-cf-pop", HeaderValue::from_static("FRA56-P1"));
                    for i in 0..1000 {
                        h.append(
                            header::SET_COOKIE,
                            HeaderValue::from_str(&format!("pref{i}=v{i}; Path=/")).unwrap(),
                        );
                    }
                    resp
                }
            }),
        )
}

fn run_json(url: &str, env: &[(&str, &str)]) -> (Option<i32>, serde_json::Value, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cdnprobe"));
    cmd.args(["run", url, "--quiet", "--no-health-check", "--out"])
        .arg(&out)
        .env("TMPDIR", tmp.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let report = std::fs::read(out.join("report.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    (
        o.status.code(),
        report,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn behavior<'a>(report: &'a serde_json::Value, pattern: &str) -> &'a serde_json::Value {
    report["behaviors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["pattern"] == pattern)
        .unwrap_or_else(|| panic!("no behavior {pattern}: {:#}", report["behaviors"]))
}

/// Before: the browser loaded the stylesheet, the replay client failed with "message head is too
/// large" (hyper's 100-header default) and `/s/*` was `ERROR` against the site, exit 1.
#[test]
fn a_thousand_set_cookies_are_read_by_the_replay_and_a_tool_limit_is_never_the_sites_error() {
    let log: Log = Default::default();
    let addr = block_on(serve_logged("cookies", thousand_cookies(), log.clone()));
    let url = format!("http://127.0.0.1:{}/", addr.port());

    // The replay client now reads what the browser reads.
    let (code, report, stderr) = run_json(&url, &[]);
    let s = behavior(&report, "/s/*");
    assert_eq!(s["verdict"], "HITS", "{s:#}\n{stderr}");
    assert_ne!(code, Some(1), "{stderr}");

    // With the replay client's limit forced below the site's answer, the verdict says the tool
    // could not read it — inconclusive, never ERROR — and the run does not fail on it.
    let (code, report, stderr) = run_json(&url, &[("CDNPROBE_REPLAY_MAX_HEADERS", "100")]);
    let s = behavior(&report, "/s/*");
    assert_eq!(s["verdict"], "INCONCLUSIVE", "{s:#}\n{stderr}");
    let reasons = s.to_string();
    assert!(
        reasons.contains("cdnprobe's replay client") && reasons.contains("not of the site"),
        "{reasons}"
    );
    assert!(reasons.contains("tool-limit"), "{reasons}");
    let failed: Vec<&serde_json::Value> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["failure"]["tool_limit"].is_string())
        .collect();
    assert!(!failed.is_empty(), "no request records the tool limit");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error"),
        "{:#}",
        report["findings"]
    );
    assert_ne!(code, Some(1), "{stderr}");
}
