//! `check-config` and `analyze`, end to end through the binary (no browser needed).

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn cdnprobe() -> Command {
    let mut c = Command::cargo_bin("cdnprobe").unwrap();
    c.env_remove("RUST_LOG")
        .timeout(std::time::Duration::from_secs(60));
    c
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn report(dir: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn finding_ids(r: &serde_json::Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn check_config_flags_the_all_cookies_trap_in_the_seed_distribution_config() {
    cdnprobe()
        .args(["check-config"])
        .arg(fixture("distribution-config-seed.json"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("config-static-all-cookies"))
        .stdout(predicate::str::contains("/s/*"))
        .stdout(predicate::str::contains("AWSALB"))
        .stdout(predicate::str::contains("Forward Cookies = None"));
}

#[test]
fn check_config_json_output_and_a_clean_config_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fixed.toml");
    std::fs::write(
        &file,
        r#"
[[behavior]]
pattern = "/s/*"
methods = "get_head"
min_ttl = 0
default_ttl = 86400
max_ttl = 31536000
cookies = "none"
query = "all"
headers = ["Origin"]

[[behavior]]
pattern = "/secure/projectavatar*"
min_ttl = 86400
default_ttl = 86400
max_ttl = 86400
cookies = "none"
query = ["pid"]
forward_query = "all"
headers = ["Origin"]

[[behavior]]
pattern = "/secure/viewavatar*"
min_ttl = 86400
default_ttl = 86400
max_ttl = 86400
cookies = "none"
query = ["avatarId"]
forward_query = "all"
headers = ["Origin"]

[[behavior]]
pattern = "/download/resources/*"
min_ttl = 86400
cookies = "none"
query = "all"
headers = ["Origin"]

[[behavior]]
pattern = "/robots.txt"
min_ttl = 31536000
headers = ["Origin"]

[[behavior]]
pattern = "/favicon.ico"
min_ttl = 31536000
headers = ["Origin"]
"#,
    )
    .unwrap();
    cdnprobe()
        .arg("check-config")
        .arg(&file)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no findings"));
    // The same file, but the site runs under /jira: every pattern misses it.
    let out = cdnprobe()
        .args(["check-config", "--json", "--context-path", "/jira"])
        .arg(&file)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"config-context-path-mismatch"), "{ids:?}");
}

#[test]
fn check_config_bad_file_is_exit_2_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[behavior]]\npattern = \"/s/*\"\ncookies = \"al\"\n",
    )
    .unwrap();
    cdnprobe()
        .arg("check-config")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:3:11"))
        .stderr(predicate::str::contains("hint:"));
    let json = dir.path().join("bad.json");
    std::fs::write(
        &json,
        "{\"DistributionConfig\": {\n  \"DefaultCacheBehavior\": }\n}",
    )
    .unwrap();
    cdnprobe()
        .arg("check-config")
        .arg(&json)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.json:2:"))
        .stderr(predicate::str::contains("get-distribution-config"));
    // Valid JSON, but a behavior without PathPattern: still file:line:column.
    let nopat = dir.path().join("nopat.json");
    std::fs::write(
        &nopat,
        "{\"DistributionConfig\": {\n  \"CacheBehaviors\": {\"Quantity\": 1, \"Items\": [\n    {\"TargetOriginId\": \"x\"}\n  ]},\n  \"DefaultCacheBehavior\": {\"CachePolicyId\": \"658327ea-f89d-4fab-a63d-7e88639e58f6\"}\n}}",
    )
    .unwrap();
    cdnprobe()
        .arg("check-config")
        .arg(&nopat)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "nopat.json:3:5: CacheBehaviors.Items[0]: no PathPattern",
        ));
    cdnprobe()
        .args(["check-config", "/nonexistent/dist.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hint:"));
}

#[test]
fn analyze_a_chrome_har_finds_the_502_font_and_the_rotating_awsalb() {
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .arg("analyze")
        .arg(fixture("har/chrome-jira-dashboard.har"))
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("font-502"))
        .stdout(predicate::str::contains("fix: CloudFront:"));
    let r = report(out.path());
    let ids = finding_ids(&r);
    for id in [
        "font-502",
        "cors-blocked",
        "rotating-cookie-in-key",
        "set-cookie-on-cacheable",
    ] {
        assert!(ids.contains(&id.to_string()), "{id}: {ids:?}");
    }
    let rot = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "rotating-cookie-in-key")
        .unwrap();
    assert!(rot["title"].as_str().unwrap().contains("AWSALB"));
    assert_eq!(r["summary"]["exit_code"], 1);
    // No secret from the HAR reaches the report.
    let text = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    assert!(
        !text.contains("fixtureAlbValue"),
        "AWSALB values are redacted"
    );
    assert!(text.contains("AWSALB=<redacted:"));
}

#[test]
fn analyze_a_playwright_har() {
    let out = tempfile::tempdir().unwrap();
    let assert = cdnprobe()
        .arg("analyze")
        .arg(fixture("har/playwright-confluence-login.har"))
        .arg("--out")
        .arg(out.path())
        .assert();
    let code = assert.get_output().status.code();
    assert!(matches!(code, Some(0) | Some(1)), "{code:?}");
    let r = report(out.path());
    assert!(r["requests"].as_array().unwrap().len() > 3);
    assert!(
        r["notes"][0].as_str().unwrap().contains("analyzed"),
        "{}",
        r["notes"]
    );
}

#[test]
fn analyze_rejects_a_file_that_is_not_a_har() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.html");
    std::fs::write(&file, "<!doctype html><title>login</title>").unwrap();
    cdnprobe()
        .arg("analyze")
        .arg(&file)
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a HAR"))
        .stderr(predicate::str::contains("hint:"));
    cdnprobe()
        .arg("analyze")
        .arg(fixture("distribution-config-seed.json"))
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a HAR"));
    assert!(!dir.path().join("report.json").exists());
}

/// `cdnprobe analyze` on a HAR recorded from the lab; returns the report.
fn analyze_lab_har(name: &str, code: i32) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .arg("analyze")
        .arg(fixture(&format!("har/lab/{name}")))
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(code);
    report(out.path())
}

/// The lab recordings: Playwright's `recordHar`, and Chrome DevTools' own "Export HAR" code
/// (tests/fixtures/har/lab/README.md says how each was made).
const EXPORTERS: [&str; 2] = ["playwright", "devtools"];

#[test]
fn analyze_lab_hars_of_the_healthy_lab_have_no_error_or_warn() {
    for tool in EXPORTERS {
        let r = analyze_lab_har(&format!("{tool}-jira-healthy.har"), 0);
        assert!(r["requests"].as_array().unwrap().len() > 20, "{tool}");
        assert_eq!(r["summary"]["findings_error"], 0, "{tool}");
        assert_eq!(
            r["summary"]["findings_warn"], 0,
            "{tool}: {}",
            r["findings"]
        );
    }
}

#[test]
fn analyze_lab_hars_of_alb_stickiness_name_awsalb_in_the_s_key() {
    for tool in EXPORTERS {
        alb_stickiness_names_awsalb(&format!("{tool}-jira-alb-stickiness.har"));
    }
}

fn alb_stickiness_names_awsalb(har: &str) {
    let r = analyze_lab_har(har, 0);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "rotating-cookie-in-key" && f["behavior"] == "/s/*")
        .unwrap_or_else(|| panic!("{}", r["findings"]));
    assert!(f["title"].as_str().unwrap().contains("AWSALB"));
    let lines: Vec<&str> = f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
        })
        .collect();
    let set: Vec<&&str> = lines
        .iter()
        .filter(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: awsalb=<redacted:")
        })
        .collect();
    assert!(set.len() >= 2 && set[0] != set[1], "{har}: {lines:#?}");
}

#[test]
fn analyze_lab_hars_of_font_502() {
    for tool in EXPORTERS {
        let r = analyze_lab_har(&format!("{tool}-jira-font-502.har"), 1);
        assert!(finding_ids(&r).contains(&"font-502".to_string()), "{tool}");
    }
}

#[test]
fn a_har_entry_whose_url_is_not_a_url_is_exit_2_naming_the_entry() {
    // Before: the entry went through as a request that never reached the network, diagnosis
    // took it for a CORS failure (an invented `cors-blocked` error) and the exit was 1.
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("bad-url.har");
    let entry = |url: &str| {
        serde_json::json!({"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 1,
            "request": {"method": "GET", "url": url, "headers": []},
            "response": {"status": 200, "headers": [], "content": {"mimeType": "text/css"}},
            "timings": {"wait": 1}})
    };
    let doc = serde_json::json!({"log": {"version": "1.2", "entries": [
        entry("https://jira.example.com/s/a.css"),
        entry("not a url at all"),
    ]}});
    std::fs::write(&har, serde_json::to_vec(&doc).unwrap()).unwrap();
    cdnprobe()
        .arg("analyze")
        .arg(&har)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HAR entry 1 cannot be read"))
        .stderr(predicate::str::contains("`not a url at all`"))
        .stderr(predicate::str::contains("hint:"))
        .stdout(predicate::str::contains("cors-blocked").not());
}

/// `cdnprobe analyze x.har --json | head -c 1`: the reader goes away; cdnprobe ends quietly (by
/// SIGPIPE, as a Unix filter does) instead of panicking in `println!`.
#[test]
fn a_closed_stdout_ends_the_process_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let out = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cdnprobe"))
        .arg("analyze")
        .arg(format!(
            "{}/tests/fixtures/har/real/cnet.com-multi-google.har",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args(["--json", "--no-history", "--out"])
        .arg(out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe's read end is dropped here, with most of the JSON still unwritten.
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?} {stderr}");
}
