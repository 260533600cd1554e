//! A hostile world: inputs that are far too big (a wrong path, /dev/zero, a runaway export) are
//! refused with exit 2 after reading at most cap + 1 bytes, and one enormous string in a capture
//! does not make enormous human-facing outputs.

use crate::common::cdnprobe;
use predicates::prelude::*;

/// Nothing listens there; every case below fails before anything would connect to it.
const NOWHERE: &str = "http://127.0.0.1:9/";

#[test]
fn dev_zero_as_any_configuration_input_is_refused_at_the_cap() {
    for (args, what) in [
        (vec!["run", "--scenario", "/dev/zero"], "scenario /dev/zero"),
        (
            vec!["check-config", "/dev/zero"],
            "behaviors file /dev/zero",
        ),
        (
            vec!["run", NOWHERE, "--behaviors", "/dev/zero"],
            "behaviors file /dev/zero",
        ),
        (
            vec!["run", NOWHERE, "--distribution-config", "/dev/zero"],
            "behaviors file /dev/zero",
        ),
        (
            vec!["run", NOWHERE, "--cookie-file", "/dev/zero"],
            "cookie file /dev/zero",
        ),
        (
            vec!["analyze", "/dev/zero", "--behaviors", "/dev/zero"],
            // The HAR is refused first, from its first bytes (it cannot be JSON).
            "/dev/zero",
        ),
    ] {
        let assert = cdnprobe().args(&args).assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(stderr.contains(what), "{args:?}: {stderr}");
        if what != "/dev/zero" {
            assert!(stderr.contains("over the 8 MiB cap"), "{args:?}: {stderr}");
            assert!(
                stderr.contains("--max-config-size SIZE (or CDNPROBE_MAX_CONFIG_SIZE=SIZE)"),
                "{args:?}: {stderr}"
            );
        }
    }
}

#[test]
fn json_inputs_that_cannot_be_json_stop_at_their_first_bytes() {
    // A HAR and report.json must start with `{`: /dev/zero is refused by the parser's own
    // message about its first byte, not after reading gigabytes. (A distribution config may be
    // YAML or HCL too: it is stopped by the config size cap instead, below.)
    for args in [
        vec!["analyze", "/dev/zero"],
        vec!["diff", "/dev/zero", "/dev/zero"],
        vec!["merge", "/dev/zero"],
    ] {
        cdnprobe()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("/dev/zero"))
            .stderr(predicate::str::contains("line 1 column 1"));
    }
}

#[test]
fn the_caps_are_overridable_by_flag_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("j.toml");
    let mut text = String::from("name = \"j\"\n");
    while text.len() < 4096 {
        text.push_str("[[step]]\ngoto = \"/\"\n");
    }
    std::fs::write(&file, &text).unwrap();
    // Lowered by the environment: refused, naming the size, the cap and the override.
    cdnprobe()
        .args(["run", "--scenario"])
        .arg(&file)
        .env("CDNPROBE_MAX_CONFIG_SIZE", "1k")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "scenario {} is 4.0 KiB, over the 1 KiB cap for a scenario",
            file.display()
        )))
        .stderr(predicate::str::contains("--max-config-size"));
    // The flag wins over the environment: the file is read and parsed (and then lacks a base
    // URL, which proves it got that far).
    cdnprobe()
        .args(["run", "--max-config-size", "64k", "--scenario"])
        .arg(&file)
        .env("CDNPROBE_MAX_CONFIG_SIZE", "1k")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no base URL"));
    // The capture cap is a different knob.
    cdnprobe()
        .args(["analyze", "--max-capture-size", "1k"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HAR file"))
        .stderr(predicate::str::contains("over the 1 KiB cap"))
        .stderr(predicate::str::contains(
            "--max-capture-size SIZE (or CDNPROBE_MAX_CAPTURE_SIZE=SIZE)",
        ));
    cdnprobe()
        .args(["run", "--max-config-size", "lots", "--scenario"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a size"));
}

fn har_with_url(url: &str, header_value: &str) -> serde_json::Value {
    serde_json::json!({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
        "pages": [], "entries": [{
            "startedDateTime": "2026-01-01T00:00:00.000Z", "time": 1,
            "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": [],
                "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                "headers": [
                    {"name": "X-Cache", "value": "Miss from cloudfront"},
                    {"name": "Expires", "value": "Thu, 01 Jan 1970 00:00:00 GMT"},
                    {"name": "X-Long", "value": header_value}],
                "cookies": [], "content": {"size": 0, "mimeType": "text/css"},
                "redirectURL": "", "headersSize": -1, "bodySize": 0},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0},
            "_resourceType": "stylesheet"}]}})
}

#[test]
fn one_huge_url_does_not_make_huge_human_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "https://jira.example.com/s/abc/a.css?q={}",
        "x".repeat(1_000_000)
    );
    let har = dir.path().join("long.har");
    std::fs::write(
        &har,
        serde_json::to_vec(&har_with_url(&url, &"z".repeat(1_000_000))).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("out");
    let assert = cdnprobe()
        .arg("analyze")
        .arg(&har)
        .arg("--out")
        .arg(&out)
        .assert();
    let stdout = assert.get_output().stdout.clone();
    // The finding that cites the URL (expires-before-date) is there, clipped, in every human
    // output; each is a few KB where it used to be several times the URL's size.
    for (name, bytes) in [
        (
            "report.html",
            std::fs::read(out.join("report.html")).unwrap(),
        ),
        ("summary.md", std::fs::read(out.join("summary.md")).unwrap()),
        ("stdout", stdout),
    ] {
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.len() < 200_000, "{name}: {} bytes", text.len());
        assert!(text.contains("more bytes not shown"), "{name}: {text}");
        // (report.html escapes `/` as `&#x2f;`.)
        assert!(
            text.replace("&#x2f;", "/")
                .contains("jira.example.com/s/abc/a.css?q=xxx"),
            "{name}"
        );
    }
    let junit = std::fs::read(out.join("junit.xml")).unwrap();
    assert!(junit.len() < 200_000);
    // The record keeps the value whole.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["requests"][0]["url"], url.as_str());
}
