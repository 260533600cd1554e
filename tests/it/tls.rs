//! TLS problems, end to end against a real HTTPS server on 127.0.0.1 with a self-signed
//! certificate (tests/fixtures/tls): a page whose certificate fails exits 2 with a TLS hint; a
//! sub-resource whose certificate fails is a `tls-error` finding; `--insecure` lets the page
//! through and reports `tls-certificate-ignored` instead. One Chromium at a time (`SERIAL`).

use crate::common;
use crate::common::cdnprobe;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use common::{Log, block_on, serve_logged};
use predicates::prelude::*;

use common::SERIAL;

fn https_site() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<!doctype html><link rel=icon href='data:,'><p>over TLS</p><img src='/pixel.gif'>",
                )
            }),
        )
        .route(
            "/pixel.gif",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "image/gif"),
                        (header::CACHE_CONTROL, "max-age=600"),
                    ],
                    &b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"[..],
                )
            }),
        )
}

fn report(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn findings<'a>(report: &'a serde_json::Value, id: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

#[test]
fn a_page_with_a_self_signed_certificate_exits_2_with_a_tls_hint() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let addr = common::serve_tls(https_site(), false);
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .args(["run", &format!("https://{addr}/"), "--quiet", "--out"])
        .arg(out.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ERR_CERT_AUTHORITY_INVALID"))
        .stderr(predicate::str::contains("TLS"))
        .stderr(predicate::str::contains("--insecure"));
    let r = report(out.path());
    assert_eq!(r["summary"]["exit_code"], 2);
    let tls = findings(&r, "tls-error");
    assert_eq!(tls.len(), 1, "{:#}", r["findings"]);
    assert!(
        tls[0]["explanation"]
            .as_str()
            .unwrap()
            .contains(&addr.to_string()),
        "{:#}",
        tls[0]
    );
}

#[test]
fn insecure_lets_the_page_through_and_reports_the_ignored_certificate() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let addr = common::serve_tls(https_site(), false);
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .args([
            "run",
            &format!("https://{addr}/"),
            "--insecure",
            "--no-verify",
            "--quiet",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .code(0);
    let r = report(out.path());
    let page = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["url"] == format!("https://{addr}/"))
        .expect("the page was captured");
    assert_eq!(page["status"], 200);
    assert_eq!(page["security_state"], "insecure");
    assert!(findings(&r, "tls-error").is_empty(), "{:#}", r["findings"]);
    let ignored = findings(&r, "tls-certificate-ignored");
    assert_eq!(ignored.len(), 1, "{:#}", r["findings"]);
    assert_eq!(ignored[0]["severity"], "warn");
}

#[test]
fn a_sub_resource_with_a_bad_certificate_is_a_tls_error_finding() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tls = common::serve_tls(https_site(), false);
    let img = format!("https://localhost:{}/pixel.gif", tls.port());
    let page = Router::new().route(
        "/",
        get(move || {
            let img = img.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    format!("<!doctype html><link rel=icon href='data:,'><img src='{img}'>"),
                )
            }
        }),
    );
    let addr = block_on(serve_logged("page", page, Log::default()));
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .args([
            "run",
            &format!("http://{addr}/"),
            "--no-verify",
            "--quiet",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .code(1);
    let r = report(out.path());
    let f = findings(&r, "tls-error");
    assert_eq!(f.len(), 1, "{:#}", r["findings"]);
    assert_eq!(f[0]["severity"], "error");
    assert_eq!(
        f[0]["evidence"][0]["url"],
        format!("https://localhost:{}/pixel.gif", tls.port())
    );
    assert_eq!(
        f[0]["evidence"][0]["lines"][0],
        "browser: net::ERR_CERT_AUTHORITY_INVALID"
    );
}
