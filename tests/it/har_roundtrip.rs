//! The HAR a run writes round-trips through `cdnprobe analyze` with the same findings, and
//! Chrome DevTools' own HAR importer (the frontend Chromium ships, loaded in Chromium) takes
//! every entry of it. HARs exported by DevTools itself from the lab analyze to the lab's faults.

use crate::common;

use common::{block_on, browser};

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
    crate::common::cdnprobe()
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
    crate::common::cdnprobe()
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

    // Chrome DevTools opens it: its "Import HAR" code (models/har: HARRoot validates the file,
    // Importer.requestsFromHARLog builds the Network panel's requests) takes every entry, with
    // each entry's URL and status.
    let har_text = std::fs::read_to_string(run.join("capture.har")).unwrap();
    let entries: Vec<(String, i64)> = serde_json::from_str::<serde_json::Value>(&har_text).unwrap()
        ["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["request"]["url"].as_str().unwrap().to_string(),
                e["response"]["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(entries.len() > 50, "{}", entries.len());
    let imported = devtools_import(&har_text);
    assert_eq!(imported["entries"], entries.len());
    let by_devtools: Vec<(String, i64)> = imported["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap()))
        .collect();
    let mut expected = entries.clone();
    let mut got = by_devtools.clone();
    expected.sort();
    got.sort();
    assert_eq!(
        got, expected,
        "DevTools imported other requests than the HAR holds"
    );
}

/// Load `har` through Chrome DevTools' own HAR import code, in the DevTools frontend that the
/// test browser serves at `/devtools/`. Returns `{entries, requests: [[url, status], ...]}`.
fn devtools_import(har: &str) -> serde_json::Value {
    block_on(async {
        let b = browser().await;
        let base = b
            .debugging_http_base()
            .expect("the browser's debugging address");
        let page = b.new_page().await.unwrap();
        page.goto(
            &format!("{base}/devtools/inspector.html"),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
        let expr = format!(
            "(async () => {{
                const HAR = await import('./models/har/har.js');
                const root = new HAR.HARFormat.HARRoot(JSON.parse({}));
                const requests = HAR.Importer.Importer.requestsFromHARLog(root.log);
                return {{entries: root.log.entries.length,
                         requests: requests.map(r => [r.url(), r.statusCode])}};
            }})()",
            serde_json::to_string(har).unwrap()
        );
        let v = page.eval(&expr).await.expect("DevTools' importer threw");
        page.close().await;
        v
    })
}
