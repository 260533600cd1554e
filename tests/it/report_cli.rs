//! The report subcommands through the binary (`schema`, `diff`, `merge`), and a real `cdnprobe
//! run` leaving the five files, its report.json valid against the committed schema.

use crate::common;
use crate::report_fixture;

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::header;
use axum::routing::get;
use common::{Log, block_on, serve_logged};
use predicates::prelude::*;
use report_fixture as fx;

fn cdnprobe() -> assert_cmd::Command {
    let mut c = crate::common::cdnprobe();
    c.env("NO_COLOR", "1");
    c
}

fn write_report(dir: &Path, name: &str, alb: bool) -> PathBuf {
    let run = dir.join(name);
    std::fs::create_dir_all(&run).unwrap();
    let p = run.join("report.json");
    cdnprobe::report::json::write(&fx::report(alb), &p).unwrap();
    p
}

#[test]
fn schema_prints_the_committed_schema() {
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(cdnprobe::report::schema::COMMITTED_PATH),
    )
    .unwrap();
    cdnprobe()
        .arg("schema")
        .assert()
        .code(0)
        .stdout(predicate::eq(committed));
}

#[test]
fn diff_of_healthy_and_alb_stickiness_exits_1_naming_the_s_regression() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = write_report(dir.path(), "healthy", false);
    let sticky = write_report(dir.path(), "alb-stickiness", true);
    cdnprobe()
        .args(["diff"])
        .arg(&healthy)
        .arg(&sticky)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REGRESSION /s/*: met HITS"))
        .stdout(predicate::str::contains("FAILED NEVER_HITS [M M M M ×2]"))
        .stdout(predicate::str::contains(
            "+ error rotating-cookie-in-key [/s/*]",
        ))
        .stdout(predicate::str::contains(
            "set-cookie: (none) -> AWSALB; Expires; Path=/",
        ))
        .stdout(predicate::str::contains("2 regression(s)"));
    // The other way round is the fix: reported, exit 0.
    cdnprobe()
        .args(["diff"])
        .arg(&sticky)
        .arg(&healthy)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "- error rotating-cookie-in-key [/s/*]",
        ))
        .stdout(predicate::str::contains("no regression"));
    // --json for pipelines.
    let out = cdnprobe()
        .args(["diff", "--json"])
        .arg(&healthy)
        .arg(&sticky)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let d: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(d["behaviors"][0]["pattern"], "/s/*");
    assert_eq!(d["behaviors"][0]["regression"], true);
}

#[test]
fn diff_and_merge_refuse_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_report(dir.path(), "a", false);
    let not_json = dir.path().join("x.json");
    std::fs::write(&not_json, "{ nope").unwrap();
    let har = dir.path().join("capture.har");
    std::fs::write(&har, r#"{"log": {"version": "1.2", "entries": []}}"#).unwrap();
    cdnprobe()
        .arg("diff")
        .arg(&good)
        .arg(&not_json)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not JSON"))
        .stderr(predicate::str::contains("hint:"));
    cdnprobe()
        .arg("diff")
        .arg(&good)
        .arg(dir.path().join("missing.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
    cdnprobe()
        .arg("merge")
        .arg(&good)
        .arg(&har)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("capture.har"));
}

#[test]
fn merge_writes_one_report_keeping_each_run() {
    let dir = tempfile::tempdir().unwrap();
    let fra = write_report(dir.path(), "20261124T100000Z-fra", false);
    let iad = write_report(dir.path(), "20261124T100000Z-iad", true);
    let out = dir.path().join("merged.json");
    // iad's run failed /s/*: the merged result fails too, and merge exits 1 like a run would.
    cdnprobe()
        .arg("merge")
        .arg(&fra)
        .arg(&iad)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("merged 2 run(s)"));
    let merged = cdnprobe::report::json::read(&out).unwrap();
    let sources: Vec<&str> = merged.runs.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(sources, ["20261124T100000Z-fra", "20261124T100000Z-iad"]);
    assert_eq!(
        merged.runs[1].file.as_deref(),
        Some(iad.display().to_string().as_str())
    );
    // Without --out it goes to stdout, and it diffs like any report.
    let stdout = cdnprobe()
        .arg("merge")
        .arg(&fra)
        .arg(&iad)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let again: cdnprobe::report::Report = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(again.runs.len(), 2);
    cdnprobe()
        .arg("diff")
        .arg(&fra)
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REGRESSION /s/*"));
}

#[test]
fn merge_into_a_directory_writes_every_file_and_passes_when_every_run_passed() {
    let dir = tempfile::tempdir().unwrap();
    let fra = write_report(dir.path(), "20261124T100000Z-fra", false);
    let iad = write_report(dir.path(), "20261124T100000Z-iad", false);
    let out = dir.path().join("merged");
    cdnprobe()
        .arg("merge")
        .arg(&fra)
        .arg(&iad)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("merged 2 run(s)"));
    for name in cdnprobe::report::file_names() {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let merged = cdnprobe::report::json::read(&out.join("report.json")).unwrap();
    assert_eq!(merged.summary.exit_code, 0);
    // The HAR holds every run's requests, each page named after its run.
    let har =
        cdnprobe::har::import(&std::fs::read_to_string(out.join("capture.har")).unwrap()).unwrap();
    assert_eq!(har.len(), merged.requests.len());
    assert!(
        har.iter()
            .any(|e| e.phase.starts_with("[20261124T100000Z-fra] "))
    );
    assert!(
        har.iter()
            .any(|e| e.phase.starts_with("[20261124T100000Z-iad] "))
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("20261124T100000Z-iad"));
}

fn site() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/html"),
                        (header::SET_COOKIE, "JSESSIONID=RUN-SESSION-5150; Path=/; HttpOnly"),
                        // Through the CDN, uncached (as CloudFront's default behavior answers):
                        // verification then sees BYPASS, not NO_CDN.
                        (header::HeaderName::from_static("x-cache"), "Miss from cloudfront"),
                    ],
                    "<!doctype html><link rel=icon href='data:,'><link rel=stylesheet href='/s/abc-CDN/en_US/1/_/download/batch.css'><p>ok</p>",
                )
            }),
        )
        .route(
            "/s/abc-CDN/en_US/1/_/download/batch.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css"),
                        (header::CACHE_CONTROL, "max-age=31536000"),
                        (header::HeaderName::from_static("x-cache"), "Hit from cloudfront"),
                    ],
                    "p{color:green}",
                )
            }),
        )
}

#[test]
fn a_real_run_leaves_five_files_and_a_schema_valid_report() {
    let log: Log = Default::default();
    let addr = block_on(serve_logged("site", site(), log.clone()));
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/", addr.port());
    let assert = cdnprobe()
        .args(["run", &url, "--out"])
        .arg(out.path())
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.starts_with("PASS  "), "{stdout}");
    assert!(
        stdout.contains("report.html"),
        "says where the files are: {stdout}"
    );
    assert!(!stdout.contains('\x1b'), "no colour when not a terminal");
    for f in cdnprobe::report::file_names() {
        let p = out.path().join(f);
        assert!(p.is_file(), "{f} missing");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            !text.contains("RUN-SESSION-5150"),
            "{f} leaks the session cookie"
        );
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(cdnprobe::report::schema::COMMITTED_PATH),
        )
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    let errors: Vec<String> = v.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let har =
        cdnprobe::har::import(&std::fs::read_to_string(out.path().join("capture.har")).unwrap())
            .unwrap();
    // The HAR is the browser's capture; report.json also holds verification's repeat loads.
    let captured = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            !r["phase"]
                .as_str()
                .unwrap_or_default()
                .starts_with("repeat ")
        })
        .count();
    assert_eq!(har.len(), captured);
    assert!(har.iter().any(|e| e.url.ends_with("batch.css")
        && e.response_headers.get("x-cache") == Some("Hit from cloudfront")));

    // --json prints the report itself.
    let out2 = tempfile::tempdir().unwrap();
    let json = cdnprobe()
        .args(["run", &url, "--json", "--out"])
        .arg(out2.path())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let printed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out2.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(printed, written);
}

#[test]
fn a_report_of_another_schema_version_says_which_instead_of_none() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_report(dir.path(), "good", false);
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    let major = cdnprobe::report::SCHEMA_VERSION.split('.').next().unwrap();
    for (version, shown) in [
        (serde_json::json!(999), "999"),
        (serde_json::json!("999.0"), "999.0"),
    ] {
        value["schema_version"] = version;
        let other = dir.path().join("other.json");
        std::fs::write(&other, serde_json::to_vec(&value).unwrap()).unwrap();
        for cmd in ["diff", "merge"] {
            cdnprobe()
                .arg(cmd)
                .arg(&good)
                .arg(&other)
                .assert()
                .code(2)
                .stderr(predicate::str::contains(format!(
                    "unsupported schema_version {shown} (this cdnprobe reads 1.x and {major}.x"
                )))
                .stderr(predicate::str::contains("no `schema_version`").not());
        }
    }
}
