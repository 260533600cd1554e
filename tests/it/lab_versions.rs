//! Journeys that survive real Jira and Confluence versions: the bundled journeys walk each lab
//! version (legacy login forms; the newer 2SV form that drops a login clicked before the page is
//! ready, plus first-login onboarding), WebSudo is answered, and the scenario language's
//! alternatives, `optional` and `dismiss` work on a page where the first selector is absent.
//! Each test runs the binary (its own Chromium) and holds `SERIAL`.

use crate::common;
use crate::common::cdnprobe;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use common::{Log, block_on, serve_logged};
use serde_json::Value;

use common::SERIAL;

fn report(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// Every step note of a journey, in order.
fn notes(r: &Value, journey: &str) -> Vec<String> {
    r["journeys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["name"] == journey)
        .flat_map(|j| j["steps"].as_array().unwrap().iter())
        .filter_map(|s| s["note"].as_str().map(str::to_string))
        .collect()
}

fn lab_run(extra: &[&str]) -> Value {
    lab_run_env(extra, &[])
}

fn lab_run_env(extra: &[&str], env: &[(&str, &str)]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = cdnprobe();
    cmd.env_remove("RUST_LOG");
    for name in [
        "CDNPROBE_JIRA_PROJECT",
        "CDNPROBE_JIRA_ISSUE",
        "CDNPROBE_CONFLUENCE_SPACE",
        "CDNPROBE_CONFLUENCE_PAGE",
        "CDNPROBE_CONFLUENCE_BLOG",
    ] {
        cmd.env_remove(name);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let done = cmd
        .args(["run", "--quiet", "--no-verify", "--out"])
        .arg(dir.path())
        .args(extra)
        .assert()
        .code(0);
    // `--quiet` with no RUST_LOG: no library's log line reaches stderr (chromiumoxide's "WS
    // Invalid message" warnings used to, a few hundred per run).
    let stderr = String::from_utf8_lossy(&done.get_output().stderr).into_owned();
    assert!(!stderr.contains("WS Invalid message"), "{stderr}");
    report(dir.path())
}

#[test]
fn bundled_journeys_walk_the_legacy_lab() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let r = lab_run(&["--lab-version", "legacy"]);
    assert!(
        notes(&r, "jira-smoke")
            .iter()
            .any(|n| n.contains("Jira legacy form (#login-form-username)")),
        "{:?}",
        notes(&r, "jira-smoke")
    );
    assert!(
        notes(&r, "confluence-smoke")
            .iter()
            .any(|n| n.contains("Confluence legacy form (#os_username)"))
    );
    // Nothing set in the environment: the journeys find the site's own data through the REST
    // APIs. The lab's newest issue is LAB-3 (the default is LAB-1), so the visit proves it.
    let jira = notes(&r, "jira-smoke").join("\n");
    assert!(
        jira.contains("CDNPROBE_JIRA_ISSUE=LAB-3 (from GET /rest/api/2/search)")
            && jira.contains("CDNPROBE_JIRA_PROJECT=LAB (from GET /rest/api/2/search)"),
        "{jira}"
    );
    let confluence = notes(&r, "confluence-smoke").join("\n");
    for found in [
        "CDNPROBE_CONFLUENCE_SPACE=LAB (from GET /rest/api/space)",
        "CDNPROBE_CONFLUENCE_PAGE=Lab+Home (from GET /rest/api/space)",
        "CDNPROBE_CONFLUENCE_BLOG=/display/LAB/2026/11/24/Lab+News (from GET /rest/api/content)",
    ] {
        assert!(confluence.contains(found), "{found}: {confluence}");
    }
    let documents = documents(&r);
    assert!(
        documents.iter().any(|u| u.ends_with("/browse/LAB-3")),
        "{documents:?}"
    );
    assert!(
        !documents.iter().any(|u| u.ends_with("/browse/LAB-1")),
        "{documents:?}"
    );
}

/// The URLs of the pages the journeys loaded (status 200).
fn documents(r: &Value) -> Vec<String> {
    r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["resource_type"] == "Document" && q["status"] == 200)
        .map(|q| q["url"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn bundled_journeys_walk_the_current_lab_with_onboarding() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // An issue given in the environment is kept; its project is the issue's own.
    let r = lab_run_env(
        &["--lab-version", "current", "--lab-onboarding"],
        &[("CDNPROBE_JIRA_ISSUE", "LAB-2")],
    );
    let jira = notes(&r, "jira-smoke").join("\n");
    assert!(
        jira.contains("kept CDNPROBE_JIRA_ISSUE from the environment")
            && jira.contains("CDNPROBE_JIRA_PROJECT=LAB (from GET /rest/api/2/search)"),
        "{jira}"
    );
    let docs = documents(&r);
    assert!(
        docs.iter().any(|u| u.ends_with("/browse/LAB-2")),
        "{docs:?}"
    );
    for (journey, onboarding) in [
        ("jira-smoke", ".onboarding #next"),
        ("confluence-smoke", "#grow-intro-video-skip-button"),
    ] {
        let n = notes(&r, journey);
        assert!(
            n.iter()
                .any(|x| x.contains("newer (2SV) form (#username-field)")),
            "{journey}: {n:?}"
        );
        assert!(
            n.iter()
                .any(|x| x.contains(&format!("dismissed {onboarding}"))),
            "{journey}: {n:?}"
        );
    }
    let requests = r["requests"].as_array().unwrap();
    // What a real page does after it loads: the web resource manager's call, the batches it
    // names, and the browser-metrics beacon.
    assert!(requests.iter().any(|q| {
        q["method"] == "POST"
            && q["url"]
                .as_str()
                .unwrap()
                .ends_with("/rest/webResources/1.0/resources")
            && q["status"] == 200
    }));
    assert!(requests.iter().any(|q| {
        q["url"]
            .as_str()
            .unwrap()
            .contains("/_/download/contextbatch/js/jira.webresources:lazy-panels/batch.js")
    }));
    assert!(requests.iter().any(|q| {
        q["method"] == "POST"
            && q["url"]
                .as_str()
                .unwrap()
                .ends_with("/rest/analytics/1.0/publish/bulk")
    }));
    // No navigation was aborted on the way (a dismiss click repeated while the old page still
    // shows would abort the navigation it started). A favicon still in flight when a journey moves
    // on is not a navigation.
    let aborted: Vec<&Value> = requests
        .iter()
        .filter(|q| q["resource_type"] == "Document" && q["status"].is_null())
        .collect();
    assert!(aborted.is_empty(), "{aborted:#?}");
}

/// Run `scenario` (TOML) against a fresh current-version lab's Jira, with the lab's users in the
/// environment: the exit code, stderr and the report.
fn run_on_current_jira(name: &str, scenario: &str) -> (Option<i32>, String, Value) {
    let lab = block_on(cdnprobe::lab::start(cdnprobe::lab::LabOptions {
        version: cdnprobe::lab::LabVersion::Current,
        ..Default::default()
    }))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.toml"));
    std::fs::write(&file, scenario).unwrap();
    let out = dir.path().join("out");
    let o = cdnprobe()
        .args(["run", "--quiet", "--no-verify", "--no-health-check"])
        .arg(lab.url(cdnprobe::lab::Product::Jira).as_str())
        .arg("--scenario")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .envs(lab.journey_env())
        .output()
        .unwrap();
    block_on(lab.shutdown());
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        report(&out),
    )
}

/// The newer form drops a login clicked before the page is ready (as Jira 10.0 does): a journey
/// that fills and clicks as soon as the page has loaded never gets in, while the `login` step
/// (which waits until the form is ready) does, in `bundled_journeys_walk_the_current_lab_...`.
#[test]
fn a_login_clicked_before_the_page_is_ready_is_dropped() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (code, stderr, r) = run_on_current_jira(
        "naive",
        r##"name = "naive"
[[step]]
goto = "/login.jsp"
[[step]]
fill = "#username-field"
value = "${CDNPROBE_JIRA_USER}"
[[step]]
fill = "#password-field"
value = "${CDNPROBE_JIRA_PASSWORD}"
[[step]]
click = "#login-button"
[[step]]
wait_for = "#header-details-user-fullname"
timeout = 5
"##,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("naive#5"), "{stderr}");
    // The page's own POSTs (web resources, analytics beacons) go to /rest/; a login would not.
    let logins: Vec<&Value> = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["method"] == "POST" && !q["url"].as_str().unwrap().contains("/rest/"))
        .collect();
    assert!(
        logins.is_empty(),
        "the early click must not have submitted the form: {logins:#?}"
    );
}

/// An administrator page asks for the password again; the `websudo` step answers it with the
/// login's password and the admin page shows.
#[test]
fn websudo_is_answered_on_an_admin_page() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (code, stderr, r) = run_on_current_jira(
        "admin",
        r##"name = "admin"
product = "jira"
[[step]]
goto = "/login.jsp"
[[step]]
login = true
user = "${CDNPROBE_JIRA_USER}"
password = "${CDNPROBE_JIRA_PASSWORD}"
[[step]]
wait_for = "#header-details-user-fullname"
[[step]]
goto = "/secure/admin/ViewApplicationProperties.jspa"
[[step]]
websudo = true
[[step]]
wait_for = "#admin-page-content"
[[step]]
name = "a second admin page view: already confirmed"
goto = "/secure/admin/ViewApplicationProperties.jspa"
[[step]]
websudo = true
"##,
    );
    assert_eq!(code, Some(0), "{stderr}");
    let n = notes(&r, "admin");
    assert!(
        n.iter().any(|x| x == "answered the Jira WebSudo prompt"),
        "{n:?}"
    );
    assert!(
        n.iter().any(|x| x.starts_with("no WebSudo prompt")),
        "{n:?}"
    );
}

const PAGE: &str = r#"<!doctype html><html><body>
<div id="popup" style="position:fixed;inset:0;background:#fff">What's new! <button class="close">Close</button></div>
<div id="content" style="display:none">Ready <button id="go" onclick="document.getElementById('done').style.display='block'">Go</button></div>
<div id="done" style="display:none">Done</div>
<script>document.querySelector('#popup .close').onclick = function () {
  document.getElementById('popup').remove();
  document.getElementById('content').style.display = 'block';
};</script>
</body></html>"#;

/// A page where each step's first selector is absent: the alternative that appears wins, the
/// dialog covering it is dismissed, and an optional step whose element never comes is skipped.
#[test]
fn alternatives_optional_and_dismiss_on_a_page_without_the_first_selector() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let log: Log = Default::default();
    let addr = block_on(serve_logged(
        "page",
        Router::new().route("/", get(|| async { Html(PAGE) })),
        log,
    ));
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("alt.toml");
    std::fs::write(
        &scenario,
        r##"name = "alt"
dismiss = ["#popup .close"]
[[step]]
goto = "/"
[[step]]
wait_for = ["#dashboard", "#content"]
[[step]]
name = "a tip that only some versions show"
click = "#tip-close"
optional = true
timeout = 1
[[step]]
click = ["#create_link", "#go"]
[[step]]
wait_for = "#done"
"##,
    )
    .unwrap();
    let out = dir.path().join("out");
    cdnprobe()
        .args(["run", "--quiet", "--no-verify", "--no-health-check"])
        .arg(format!("http://{addr}/"))
        .arg("--scenario")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let r = report(&out);
    let steps = r["journeys"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    assert!(steps.iter().all(|s| s["ok"] == true), "{steps:#?}");
    assert_eq!(
        steps[1]["note"],
        "matched alternative 2 of 2: #content; dismissed #popup .close"
    );
    assert!(
        steps[2]["note"]
            .as_str()
            .unwrap()
            .starts_with("skipped (optional): element #tip-close did not come within 1 s"),
        "{:#}",
        steps[2]
    );
    assert_eq!(steps[3]["note"], "matched alternative 2 of 2: #go");
}
