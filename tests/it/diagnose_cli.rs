//! `check-config` and `analyze`, end to end through the binary (no browser needed).

use crate::common::cdnprobe;
use std::path::PathBuf;

use predicates::prelude::*;

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
query = ["pid", "avatarId", "size"]
forward_query = "all"
headers = ["Origin"]

[[behavior]]
pattern = "/secure/viewavatar*"
min_ttl = 86400
default_ttl = 86400
max_ttl = 86400
cookies = "none"
query = ["avatarId", "size", "avatarType"]
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
        // Only context: /s/* and /download/resources/* key on every query string.
        .stdout(predicate::str::contains("0 error, 0 warn, 2 info"));
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
    let mut child = crate::common::cdnprobe_process()
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

fn iac(name: &str) -> PathBuf {
    fixture("iac").join(name)
}

/// `check-config --format json` of `file` (with extra args): exit code and the findings.
fn check_json(file: &std::path::Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let out = cdnprobe()
        .args(["check-config", "--format", "json"])
        .args(extra)
        .arg(file)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (
        out.status.code().unwrap(),
        v["findings"].as_array().unwrap().clone(),
    )
}

fn find<'a>(f: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    f.iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {f:#?}"))
}

fn at(f: &serde_json::Value) -> String {
    format!(
        "{}:{}",
        f["location"]["file"].as_str().unwrap_or(""),
        f["location"]["line"]
    )
}

#[test]
fn check_config_names_the_atlassian_templates_problems_on_their_lines() {
    let file = iac("AtlassianCDN.template.yaml");
    let (code, f) = check_json(&file, &[]);
    assert_eq!(code, 1);
    let accept = find(&f, "config-key-per-browser");
    assert!(accept["explanation"].as_str().unwrap().contains("Accept"));
    assert!(
        at(accept).ends_with("AtlassianCDN.template.yaml:63"),
        "{}",
        at(accept)
    );
    // The fix is YAML, for the template's own ForwardedValues.
    assert_eq!(accept["config_fix"], "Headers:\n  - Origin");
    let query = find(&f, "config-query-all-in-key");
    assert!(at(query).ends_with(":60"), "{}", at(query));
    find(&f, "config-pages-cacheable");
    // The internal variant (its parameter flipped): the same behavior, and a WAF that lets the
    // CDN reach <context>/s/ only, while the distribution caches /download/resources too.
    assert!(!f.iter().any(|x| x["id"] == "config-waf-blocks-static"));
    let (code, f2) = check_json(&file, &["--parameter", "Internal=true"]);
    assert_eq!(code, 1);
    assert_eq!(f.len() + 1, f2.len(), "{f2:#?}");
    let waf = find(&f2, "config-waf-blocks-static");
    assert!(
        at(waf).ends_with("AtlassianCDN.template.yaml:100"),
        "{}",
        at(waf)
    );
    let why = waf["explanation"].as_str().unwrap();
    assert!(why.contains("CdnWebAcl") && why.contains("/s/"), "{why}");
    assert!(why.contains("/download/resources"), "{why}");
}

#[test]
fn check_config_on_cloudformation_json_with_cache_policies() {
    let (code, f) = check_json(&iac("jira-cdn.template.json"), &[]);
    assert_eq!(code, 1);
    // The viewavatar policy keys on avatarId only.
    let narrow = f
        .iter()
        .find(|x| {
            x["id"] == "config-cache-key-too-narrow" && x["behavior"] == "/jira/secure/viewavatar*"
        })
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert!(
        at(narrow).ends_with("jira-cdn.template.json:38"),
        "{}",
        at(narrow)
    );
    assert!(
        narrow["config_fix"]
            .as_str()
            .unwrap()
            .contains("\"QueryStrings\": [\"avatarId\", \"size\", \"avatarType\"]"),
        "{}",
        narrow["config_fix"]
    );
    // /s/* has SimpleCORS: fonts are fine there; the later /jira/s/*.js is shadowed.
    assert_eq!(
        find(&f, "config-shadowed-behavior")["behavior"],
        "/jira/s/*.js"
    );
    // CachingOptimized + AllViewer on the default: the leak, on the CachePolicyId line.
    let leak = find(&f, "config-session-leak");
    assert!(at(leak).ends_with(":88"), "{}", at(leak));
    let err = find(&f, "config-error-caching-hides-fix");
    assert!(err["explanation"].as_str().unwrap().contains("504"));
    assert!(at(err).ends_with(":92"), "{}", at(err));
    assert_eq!(
        err["config_fix"],
        "{\"ErrorCode\": 504, \"ErrorCachingMinTTL\": 0}"
    );
    // 404 cached for 300 s is not a 502 fix hidden.
    assert_eq!(
        f.iter()
            .filter(|x| x["id"] == "config-error-caching-hides-fix")
            .count(),
        1
    );
}

#[test]
fn check_config_on_terraform_files_and_plan() {
    let dir = iac("terraform");
    let (code, f) = check_json(&dir, &["--parameter", "origin_domain=jira.example.com"]);
    assert_eq!(code, 1);
    let cookies = find(&f, "config-static-all-cookies");
    assert!(
        at(cookies).ends_with("terraform/main.tf:34"),
        "{}",
        at(cookies)
    );
    assert_eq!(cookies["config_fix"], "cookies {\n  forward = \"none\"\n}");
    let ua = find(&f, "config-key-per-browser");
    assert!(ua["explanation"].as_str().unwrap().contains("User-Agent"));
    assert_eq!(ua["config_fix"], "headers = [\"Origin\"]");
    let narrow = find(&f, "config-cache-key-too-narrow");
    assert!(
        at(narrow).ends_with("terraform/policies.tf:20"),
        "{}",
        at(narrow)
    );
    let ws = find(&f, "config-websocket-behavior");
    assert!(at(ws).ends_with("main.tf:57"), "{}", at(ws));
    let h2 = find(&f, "config-http2-to-origin");
    assert!(at(h2).ends_with("policies.tf:80"), "{}", at(h2));
    assert_eq!(h2["config_fix"], "protocol_version = \"HTTP1\"");
    find(&f, "config-error-caching-hides-fix");
    // Fonts under /s/ have Origin in the key and a CORS policy: no font finding.
    assert!(
        !f.iter().any(|x| x["id"] == "config-font-origin-not-keyed"),
        "{f:#?}"
    );

    let (code, f) = check_json(&iac("terraform-plan.json"), &[]);
    assert_eq!(code, 1);
    // The plan's static policy (created by the same plan) keys on Accept and all cookies.
    assert!(
        find(&f, "config-key-per-browser")["explanation"]
            .as_str()
            .unwrap()
            .contains("Accept")
    );
    find(&f, "config-static-all-cookies");
    let e = find(&f, "config-error-caching-hides-fix");
    assert!(
        e["config_fix"]
            .as_str()
            .unwrap()
            .contains("error_code            = 503")
    );
}

#[test]
fn check_config_with_several_distributions_needs_distribution_to_pick_one() {
    for (file, name) in [
        ("two-distributions.template.yaml", "ConfluenceCdn"),
        ("two-distributions.tf", "confluence"),
    ] {
        cdnprobe()
            .arg("check-config")
            .arg(iac(file))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("2 CloudFront distributions"))
            .stderr(predicate::str::contains("--distribution NAME"));
        let out = cdnprobe()
            .args(["check-config", "--format", "json", "--distribution", name])
            .arg(iac(file))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(
            v["behaviors"][1], "#2 /wiki/download/resources/*",
            "{file}: {v:#}"
        );
    }
    // The same flag wherever a configuration is loaded: analyze's --distribution-config.
    cdnprobe()
        .args(["analyze", "--distribution-config"])
        .arg(iac("two-distributions.tf"))
        .arg(fixture("har/chrome-jira-dashboard.har"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--distribution NAME"));
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .args(["analyze", "--distribution", "jira", "--distribution-config"])
        .arg(iac("two-distributions.tf"))
        .arg(fixture("har/chrome-jira-dashboard.har"))
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(predicate::in_iter([0, 1]));
    // Jira's distribution (not Confluence's /wiki/ one) classifies the HAR's /s/ batches.
    let r = report(out.path());
    let s = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| {
            q["url"]
                .as_str()
                .unwrap()
                .starts_with("https://jira.example.com/s/")
        })
        .unwrap();
    assert_eq!(s["behavior"], "/s/*");
}

#[test]
fn check_config_evaluates_dynamic_blocks_of_the_module_shape() {
    let (code, f) = check_json(&iac("terraform-dynamic"), &[]);
    assert_eq!(code, 1);
    // The avatar policy (a for_each instance, reached through the module's try(coalesce(...)))
    // keys on avatarId only: the finding points at the policy's query strings.
    let narrow = find(&f, "config-cache-key-too-narrow");
    assert_eq!(narrow["behavior"], "/jira/secure/viewavatar*");
    assert!(
        at(narrow).ends_with("terraform-dynamic/policies.tf:26"),
        "{}",
        at(narrow)
    );
    // A module call is named, with what to lint instead.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cdn.tf"),
        "module \"cdn\" {\n  source = \"terraform-aws-modules/cloudfront/aws\"\n}\n",
    )
    .unwrap();
    cdnprobe()
        .arg("check-config")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("module \"cdn\""))
        .stderr(predicate::str::contains("terraform show -json"));
}

#[test]
fn check_config_unresolved_parameter_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = std::fs::read_to_string(iac("AtlassianCDN.template.yaml"))
        .unwrap()
        .replace("    Default: jira.example.com\n", "");
    let file = dir.path().join("cdn.yaml");
    std::fs::write(&file, t).unwrap();
    cdnprobe()
        .arg("check-config")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cdn.yaml:"))
        .stderr(predicate::str::contains(
            "--parameter CdnOriginDomainName=VALUE",
        ));
    cdnprobe()
        .arg("check-config")
        .arg(&file)
        .args(["--parameter", "CdnOriginDomainName=jira.example.com"])
        .assert()
        .code(1);
}

#[test]
fn check_config_github_annotations_point_at_lines() {
    let out = cdnprobe()
        .args(["check-config", "--format", "github"])
        .arg(iac("AtlassianCDN.template.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("config-key-per-browser"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("::warning file="), "{line}");
    assert!(
        line.contains("AtlassianCDN.template.yaml,line=63,title="),
        "{line}"
    );
    // One command per line: newlines in the message are escaped.
    assert!(line.contains("%0AFix:%0AHeaders:%0A  - Origin"), "{line}");
    assert!(text.lines().all(|l| l.starts_with("::")), "{text}");
    assert!(text.contains("::notice file="), "infos are notices: {text}");
}

#[test]
fn check_config_sarif_is_valid_sarif_2_1_0() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("sarif-schema-2.1.0.json")).unwrap())
            .unwrap();
    // OASIS's schema has a pattern (`run.language`) that is no valid regex for the meta-schema's
    // `format: regex` check; formats are not what this test is about.
    let validator = jsonschema::options()
        .should_validate_formats(false)
        .build(&schema)
        .unwrap();
    for (file, extra) in [
        (iac("terraform"), vec!["--parameter", "origin_domain=x"]),
        (iac("AtlassianCDN.template.yaml"), vec![]),
        (fixture("distribution-config-seed.json"), vec![]),
    ] {
        let out = cdnprobe()
            .args(["check-config", "--format", "sarif"])
            .args(&extra)
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
        let results = v["runs"][0]["results"].as_array().unwrap();
        assert!(!results.is_empty());
        for r in results {
            let rule = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(
                v["runs"][0]["tool"]["driver"]["rules"][rule]["id"],
                r["ruleId"]
            );
        }
    }
    // An invalid document is refused by the same validator: the check can fail.
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"results": []}]});
    assert!(validator.iter_errors(&bad).next().is_some());
}

#[test]
fn analyze_reads_a_cloudformation_template_as_its_distribution() {
    let out = tempfile::tempdir().unwrap();
    cdnprobe()
        .arg("analyze")
        .arg(fixture("har/chrome-jira-dashboard.har"))
        .arg("--distribution-config")
        .arg(iac("AtlassianCDN.template.yaml"))
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(1);
    let r = report(out.path());
    // Atlassian's template has one behavior: every request of the product is judged against it.
    let behaviors: std::collections::BTreeSet<&str> = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|q| q["behavior"].as_str())
        .collect();
    assert_eq!(
        behaviors.into_iter().collect::<Vec<_>>(),
        ["*"],
        "{:#?}",
        r["requests"]
    );
    // A reference the template cannot resolve stops analyze too, naming it.
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.yaml");
    std::fs::write(
        &t,
        "Resources:\n  D:\n    Type: AWS::CloudFront::Distribution\n    Properties:\n      DistributionConfig:\n        DefaultCacheBehavior:\n          CachePolicyId: !ImportValue shared\n",
    )
    .unwrap();
    cdnprobe()
        .arg("analyze")
        .arg(fixture("har/chrome-jira-dashboard.har"))
        .arg("--distribution-config")
        .arg(&t)
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("t.yaml:7:"))
        .stderr(predicate::str::contains("Fn::ImportValue"));
}
