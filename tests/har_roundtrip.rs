//! The HAR a run writes round-trips through `cdnprobe analyze` with the same findings.

use assert_cmd::Command;

fn findings(path: &std::path::Path) -> Vec<(String, Option<String>)> {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut f: Vec<_> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["behavior"].as_str().map(str::to_string),
            )
        })
        .collect();
    f.sort();
    f
}

#[test]
fn capture_har_through_analyze_gives_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let analyzed = dir.path().join("analyzed");
    Command::cargo_bin("cdnprobe")
        .unwrap()
        .args([
            "run",
            "--lab-fault",
            "alb-stickiness",
            "--no-verify",
            "--no-health-check",
            "--quiet",
            "--out",
        ])
        .arg(&run)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .code(0); // without verification a warn finding does not fail the run
    Command::cargo_bin("cdnprobe")
        .unwrap()
        .arg("analyze")
        .arg(run.join("capture.har"))
        .args(["--quiet", "--out"])
        .arg(&analyzed)
        .assert()
        .code(0);
    let from_run = findings(&run.join("report.json"));
    let from_har = findings(&analyzed.join("report.json"));
    assert!(
        from_run
            .iter()
            .any(|(id, b)| id == "rotating-cookie-in-key" && b.as_deref() == Some("/s/*")),
        "{from_run:?}"
    );
    assert_eq!(from_har, from_run);
}
