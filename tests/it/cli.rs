//! The binary, end to end: `cdnprobe run URL` against a real server, and the exit-2 paths with
//! their messages. Chromium-launching tests hold `SERIAL` so only one browser runs at a time.

use crate::common;
use crate::common::cdnprobe;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use common::{Log, block_on, serve_logged};
use predicates::prelude::*;

use common::SERIAL;

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
    // --verbose adds the per-request table (the concise default shows verdicts only).
    cdnprobe()
        .args(["run", &url, "--no-verify", "--verbose", "--out"])
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
    // Atlassian's health check runs after the journeys, outside the browser: in the report's
    // health_checks, not in its requests.
    let mut seen: Vec<(String, u64)> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| !s.uri.contains("/rest/static-asset-caching/health-checks"))
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
    assert_eq!(report["schema_version"], cdnprobe::report::SCHEMA_VERSION);
    assert_eq!(report["health_checks"][0]["status"], 404);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "health-check-unavailable")
    );
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
fn a_zero_timeout_is_refused() {
    for t in ["0", "86401"] {
        cdnprobe()
            .args(["run", "http://127.0.0.1:9/", "--timeout", t])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--timeout"))
            .stderr(predicate::str::contains("1..=86400"));
    }
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
fn an_unset_variable_in_a_goto_exits_2_naming_file_line_column_and_variable() {
    // Before: the reference was left in place and the run navigated to
    // `/x/$%7BCDNPROBE_TEST_UNSET_PATH%7D`, and passed.
    let log: Log = Default::default();
    let addr = block_on(serve_logged("a", site(), log.clone()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vars.toml");
    std::fs::write(
        &file,
        "name = \"vars\"\n[[step]]\ngoto = \"/\"\n[[step]]\ngoto = \"/x/${CDNPROBE_TEST_UNSET_PATH}\"\n",
    )
    .unwrap();
    cdnprobe()
        .args(["run", &format!("http://127.0.0.1:{}/", addr.port()), "--scenario"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("out"))
        .env_remove("CDNPROBE_TEST_UNSET_PATH")
        .assert()
        .code(2)
        // Line 5; the value's quote is column 8, `/x/` follows, so `$` is column 12.
        .stderr(predicate::str::contains("vars.toml:5:12:"))
        .stderr(predicate::str::contains(
            "`${CDNPROBE_TEST_UNSET_PATH}` in `goto`: environment variable `CDNPROBE_TEST_UNSET_PATH` is not set",
        ))
        .stderr(predicate::str::contains(
            "hint: export CDNPROBE_TEST_UNSET_PATH=... before running, or give it a default",
        ));
    assert!(
        log.lock().unwrap().is_empty(),
        "nothing is loaded when a variable is missing"
    );
}

#[test]
fn a_malformed_variable_reference_exits_2_when_the_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad-ref.toml");
    std::fs::write(
        &file,
        "name = \"bad\"\n[[step]]\nwait_for = \"#a ${UNCLOSED\"\n",
    )
    .unwrap();
    cdnprobe()
        .args(["run", "http://127.0.0.1:9/", "--scenario"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad-ref.toml:3:16:"))
        .stderr(predicate::str::contains("`${` is not closed by `}`"))
        .stderr(predicate::str::contains("${NAME:-default}"));
}

#[test]
fn variables_and_defaults_resolve_in_every_step_value() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let log: Log = Default::default();
    let addr = block_on(serve_logged("a", site(), log.clone()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vars.toml");
    // base_url from the environment; the goto from a default (its variable unset); the
    // expected URL and the screenshot name from set variables; `$${` stays a literal `${`.
    std::fs::write(
        &file,
        concat!(
            "name = \"vars\"\n",
            "base_url = \"${CDNPROBE_TEST_BASE}\"\n",
            "[[step]]\ngoto = \"${CDNPROBE_TEST_UNSET_PAGE:-/api/x}?q=$${literal}\"\n",
            "[[step]]\ngoto = \"/\"\n",
            "[[step]]\nexpect_url = \"${CDNPROBE_TEST_EXPECT}\"\n",
            "[[step]]\nscreenshot = \"${CDNPROBE_TEST_SHOT}.png\"\n",
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    cdnprobe()
        .args([
            "run",
            "--no-verify",
            "--no-health-check",
            "--quiet",
            "--scenario",
        ])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .env(
            "CDNPROBE_TEST_BASE",
            format!("http://127.0.0.1:{}", addr.port()),
        )
        .env_remove("CDNPROBE_TEST_UNSET_PAGE")
        .env(
            "CDNPROBE_TEST_EXPECT",
            format!("127.0.0.1:{}/", addr.port()),
        )
        .env("CDNPROBE_TEST_SHOT", "home")
        .assert()
        .code(0);
    let uris: Vec<String> = log.lock().unwrap().iter().map(|s| s.uri.clone()).collect();
    assert!(
        uris.iter()
            .any(|u| u == "/api/x?q=$%7Bliteral%7D" || u == "/api/x?q=${literal}"),
        "the default was used: {uris:?}"
    );
    assert!(out.join("screenshots").join("home.png").is_file());
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

fn lab_jira() -> (cdnprobe::lab::Lab, String) {
    block_on(async {
        let lab = cdnprobe::lab::start(Default::default()).await.unwrap();
        let url = lab.jira_url().to_string();
        (lab, url)
    })
}

#[test]
fn a_refused_login_exits_2_saying_so_with_a_screenshot() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (lab, url) = lab_jira();
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .args([
            "run",
            &url,
            "--quiet",
            "--scenario",
            concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/jira-smoke.toml"),
            "--out",
        ])
        .arg(out.path())
        .env("CDNPROBE_JIRA_USER", "alice")
        .env("CDNPROBE_JIRA_PASSWORD", "not-alices-password-42")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refused the login"))
        .stderr(predicate::str::contains(
            "username and password are incorrect",
        ))
        .stderr(predicate::str::contains("screenshot:"));
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains("not-alices-password-42"),
                "password leaked into {}",
                path.display()
            );
        }
    }
    assert!(std::fs::read_dir(out.path()).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("failure-jira-smoke")
    }));
    block_on(lab.shutdown());
}

/// `RUST_LOG=trace` shows the websocket frames and HTTP traffic of the libraries underneath —
/// including the password a login step types and every session cookie. Each log line goes
/// through the run's redactor (measured before that existed: the lab password and ~500
/// `JSESSIONID=` values in a 14 MB trace of the two journeys).
#[test]
fn trace_logs_carry_neither_the_password_nor_session_cookies() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (lab, url) = lab_jira();
    let out = tempfile::tempdir().unwrap();
    let run = cdnprobe()
        .args([
            "run",
            &url,
            "--quiet",
            "--no-verify",
            "--scenario",
            concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/jira-smoke.toml"),
            "--out",
        ])
        .arg(out.path())
        .env("RUST_LOG", "trace")
        .env("CDNPROBE_JIRA_USER", "alice")
        .env("CDNPROBE_JIRA_PASSWORD", "cdnprobe-lab-alice")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let log = String::from_utf8_lossy(&run.stderr);
    // The trace really shows the traffic (so the assertions below are not vacuous)...
    assert!(
        log.contains("Input.insertText"),
        "no CDP traffic in the trace"
    );
    assert!(
        log.contains("JSESSIONID=<redacted:"),
        "no session cookie in the trace"
    );
    // ...and never a secret.
    assert!(
        !log.contains("cdnprobe-lab-alice"),
        "the password is in the log"
    );
    let leaked = log
        .match_indices("JSESSIONID=")
        .filter(|(i, _)| !log[i + "JSESSIONID=".len()..].starts_with("<redacted:"))
        .count();
    assert_eq!(leaked, 0, "session cookie values in the log");
    block_on(lab.shutdown());
}

#[test]
fn a_cookie_file_session_skips_the_login() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (lab, url) = lab_jira();
    // Log in out-of-band, as a user would in their own browser, and export the session.
    let session = block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = client
            .post(format!("{url}login.jsp"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("os_username=alice&os_password=cdnprobe-lab-alice")
            .send()
            .await
            .unwrap();
        resp.cookies()
            .find(|c| c.name() == "JSESSIONID")
            .map(|c| c.value().to_string())
            .expect("lab login sets JSESSIONID")
    });
    let dir = tempfile::tempdir().unwrap();
    let cookies = dir.path().join("cookies.txt");
    std::fs::write(
        &cookies,
        format!("# Netscape HTTP Cookie File\n#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tJSESSIONID\t{session}\n"),
    )
    .unwrap();
    let journey = dir.path().join("dash.toml");
    std::fs::write(
        &journey,
        "name = \"dash\"\n[[step]]\ngoto = \"/secure/Dashboard.jspa\"\n[[step]]\nexpect_text = \"System Dashboard\"\ntimeout = 10\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    cdnprobe()
        .args(["run", &url, "--quiet", "--scenario"])
        .arg(&journey)
        .arg("--cookie-file")
        .arg(&cookies)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(text.contains("JSESSIONID"));
    assert!(
        !text.contains(&session),
        "the session from the cookie file leaked"
    );
    block_on(lab.shutdown());
}

/// `--behaviors` and `--context-path` with no target configure the lab's own edge, so a
/// configuration can be tried before it is deployed: here /s/* with caching off, under /jira.
#[test]
fn a_behaviors_file_configures_the_labs_edge() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("behaviors.toml");
    std::fs::write(
        &file,
        r#"
[[behavior]]
pattern = "/s/*"
name = "static, caching off"
min_ttl = 0
default_ttl = 0
max_ttl = 0
cookies = "none"
query = "all"
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    cdnprobe()
        .args([
            "run",
            "--no-verify",
            "--quiet",
            "--context-path",
            "/jira",
            "--behaviors",
        ])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let requests = r["requests"].as_array().unwrap();
    let s: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|q| q["behavior"] == "/jira/s/*")
        .collect();
    assert!(s.len() > 10, "few /jira/s/ requests: {}", s.len());
    assert!(
        s.iter()
            .all(|q| q["url"].as_str().unwrap().contains("/jira/s/"))
    );
    // The edge itself now never stores /s/: every load of every /s/ URL is a Miss.
    assert!(
        s.iter().all(|q| q["cache"]["status"] == "miss"),
        "{:?}",
        s.iter().map(|q| &q["cache"]["status"]).collect::<Vec<_>>()
    );
    // The pages themselves live under the context path too.
    assert!(requests.iter().any(|q| {
        q["url"]
            .as_str()
            .unwrap()
            .contains("/jira/secure/Dashboard.jspa")
    }));
}

/// Each Synchrony fault, through the binary: the journeys still complete (the editor falls back
/// to XHR, as Confluence's does), and the run fails (exit 1) on `websocket-failed` with the
/// handshake as evidence.
#[test]
fn run_lab_synchrony_faults_yield_websocket_failed() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (fault, proof) in [
        ("websocket-blocked", "HTTP 400"),
        ("synchrony-no-stickiness", "402::Unknown client"),
    ] {
        let out = tempfile::tempdir().unwrap();
        cdnprobe()
            .args(["run", "--no-verify", "--lab-fault", fault, "--out"])
            .arg(out.path())
            .assert()
            .code(1)
            .stdout(predicate::str::contains("websocket-failed"));
        let text = std::fs::read_to_string(out.path().join("report.json")).unwrap();
        let report: serde_json::Value = serde_json::from_str(&text).unwrap();
        for j in report["journeys"].as_array().unwrap() {
            assert_eq!(j["ok"], true, "{fault}: every step ran: {j}");
        }
        let f: Vec<&serde_json::Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == "websocket-failed")
            .collect();
        assert_eq!(f.len(), 1, "{fault}: {:#?}", report["findings"]);
        let f = f[0];
        assert_eq!(f["severity"], "error");
        assert!(f["title"].as_str().unwrap().starts_with("Synchrony"));
        let ev = &f["evidence"][0];
        assert!(
            ev["url"]
                .as_str()
                .unwrap()
                .ends_with("/synchrony/v1/bayeux-sync1"),
            "{ev}"
        );
        let lines: Vec<&str> = ev["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert!(
            lines.iter().any(|l| l.contains(proof)),
            "{fault}: {lines:#?}"
        );
        assert!(f["fix"].as_str().unwrap().contains("Sec-WebSocket-Key"));
        assert!(f["fix"].as_str().unwrap().contains("stickiness"));
        // The session cookie the handshake carried is evidence by name only.
        assert!(
            lines
                .iter()
                .filter(|l| l.starts_with("request Cookie"))
                .all(|l| l.contains("<redacted:")),
            "{lines:#?}"
        );
    }
}
