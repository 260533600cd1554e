//! The binary, end to end: `cdnprobe run URL` against a real server, and the exit-2 paths with
//! their messages. Chromium-launching tests hold `SERIAL` so only one browser runs at a time.

mod common;

use std::sync::Mutex;

use assert_cmd::Command;
use axum::Router;
use axum::http::header;
use axum::routing::get;
use common::{Log, block_on, serve_logged};
use predicates::prelude::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn cdnprobe() -> Command {
    let mut c = Command::cargo_bin("cdnprobe").unwrap();
    c.env_remove("RUST_LOG")
        .timeout(std::time::Duration::from_secs(120));
    c
}

fn site() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/html"),
                        (header::SET_COOKIE, "JSESSIONID=TOPSECRET-SESSION-1234; Path=/; HttpOnly"),
                    ],
                    "<!doctype html><link rel=icon href='data:,'><link rel=stylesheet href='/a.css'><script src='/a.js'></script>",
                )
            }),
        )
        .route(
            "/a.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css"),
                        (header::CACHE_CONTROL, "max-age=600"),
                        (header::HeaderName::from_static("x-cache"), "Hit from cloudfront"),
                    ],
                    "body{}",
                )
            }),
        )
        .route(
            "/a.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/javascript")],
                    "fetch('/api/x')",
                )
            }),
        )
        .route("/api/x", get(|| async { "{}" }))
}

#[test]
fn run_url_writes_a_report_matching_what_the_server_saw() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let log: Log = Default::default();
    let addr = block_on(serve_logged("a", site(), log.clone()));
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/", addr.port());
    cdnprobe()
        .args(["run", &url, "--no-verify", "--out"])
        .arg(out.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Hit from cloudfront"));
    let text = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut captured: Vec<(String, u64)> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut seen: Vec<(String, u64)> = log
        .lock()
        .unwrap()
        .iter()
        .map(|s| {
            (
                format!("http://127.0.0.1:{}{}", addr.port(), s.uri),
                s.status as u64,
            )
        })
        .collect();
    captured.sort();
    seen.sort();
    assert_eq!(captured, seen);
    assert_eq!(report["schema_version"], "1.0");
    assert_eq!(report["capture"]["cdp"]["parse_errors"], 0);
    let css = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"].as_str().unwrap().ends_with("/a.css"))
        .unwrap();
    assert_eq!(css["cache"]["provider"], "cloudfront");
    assert_eq!(css["cache"]["status"], "hit");
    assert_eq!(css["asset_kind"], "css");
    // The session cookie's name is evidence and stays; its value never reaches disk.
    assert!(!text.contains("TOPSECRET-SESSION-1234"));
    assert!(text.contains("JSESSIONID="));
}

#[test]
fn missing_chromium_exits_2_with_the_install_command() {
    cdnprobe()
        .args(["run", "http://127.0.0.1:9/"])
        .env("CHROME", "/nonexistent/chromium")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("apt-get install -y chromium"));
}

#[test]
fn malformed_scenario_exits_2_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "name = \"bad\"\n[[step]]\ngoto = \"/\"\n[[step]]\nhover = \"#menu\"\n",
    )
    .unwrap();
    cdnprobe()
        .args(["run", "http://127.0.0.1:9/", "--scenario"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:4:"))
        .stderr(predicate::str::contains("unknown step key `hover`"))
        .stderr(predicate::str::contains("hint:"));
}

#[test]
fn password_must_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("login.toml");
    std::fs::write(
        &file,
        "name = \"login\"\n[[step]]\ngoto = \"/login.jsp\"\n[[step]]\nfill = \"#login-form-password\"\nvalue = \"${CDNPROBE_TEST_UNSET_PASSWORD}\"\n",
    )
    .unwrap();
    cdnprobe()
        .args(["run", "http://127.0.0.1:9/", "--scenario"])
        .arg(&file)
        .env_remove("CDNPROBE_TEST_UNSET_PASSWORD")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("CDNPROBE_TEST_UNSET_PASSWORD"));
}

#[test]
fn unreachable_target_exits_2_with_a_hint_and_leaves_a_report() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Bind then drop a listener: that port now refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .args([
            "run",
            &format!("http://127.0.0.1:{port}/"),
            "--quiet",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ERR_CONNECTION_REFUSED"))
        .stderr(predicate::str::contains("hint:"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["summary"]["exit_code"], 2);
    assert_eq!(report["journeys"][0]["ok"], false);
}
