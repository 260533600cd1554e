//! The report files, on a fixed run (report_fixture.rs): the committed schema matches the types
//! and validates real reports; the HAR is HAR 1.2 and round-trips; JUnit, Markdown and the
//! terminal say what happened (insta snapshots); merge keeps each run; no secret reaches any file.

use crate::report_fixture;

use std::path::{Path, PathBuf};

use cdnprobe::report::{self, Report, merge, schema, terminal};
use report_fixture as fx;
use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo(schema::COMMITTED_PATH)).expect(
        "schema/report.schema.json is committed (UPDATE_SCHEMA=1 cargo test --test it committed_schema_matches)",
    );
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the committed schema is a valid JSON Schema")
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the schema:\n{}",
        errors.join("\n")
    );
}

fn write_run(alb: bool) -> (tempfile::TempDir, Report, Vec<PathBuf>) {
    let report = fx::report(alb);
    let dir = tempfile::tempdir().unwrap();
    let files = report::write_all(&report, dir.path()).unwrap();
    (dir, report, files)
}

// ---------------------------------------------------------------------------------------------
// Schema

#[test]
fn committed_schema_matches_the_types() {
    let path = repo(schema::COMMITTED_PATH);
    let generated = schema::text();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "the report types changed but {} did not: review the change, bump SCHEMA_VERSION if it is \
         one, and regenerate with `UPDATE_SCHEMA=1 cargo test --test it committed_schema_matches`",
        schema::COMMITTED_PATH
    );
    let v: Value = serde_json::from_str(&committed).unwrap();
    assert!(
        v["$id"].as_str().unwrap().contains(report::SCHEMA_VERSION),
        "the schema names its version"
    );
}

#[test]
fn written_reports_validate_against_the_committed_schema() {
    let v = validator();
    for alb in [false, true] {
        let (dir, _, _) = write_run(alb);
        let text = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
        assert_valid(&v, &serde_json::from_str(&text).unwrap(), "report.json");
    }
    let merged = merge::merge(vec![
        merge::Input {
            label: "fra".into(),
            file: None,
            report: fx::report(false),
        },
        merge::Input {
            label: "iad".into(),
            file: None,
            report: fx::report(true),
        },
    ])
    .unwrap();
    assert_valid(&v, &serde_json::to_value(&merged).unwrap(), "merged report");
}

#[test]
fn the_schema_rejects_what_is_not_a_report() {
    // The validation test above can fail: a report missing a required field, or with a wrong
    // type, is rejected.
    let v = validator();
    let mut r = serde_json::to_value(fx::report(true)).unwrap();
    r.as_object_mut().unwrap().remove("requests");
    assert!(!v.is_valid(&r));
    let mut r = serde_json::to_value(fx::report(true)).unwrap();
    r["behaviors"][0]["verdict"] = "SOMETIMES".into();
    assert!(!v.is_valid(&r));
    let mut r = serde_json::to_value(fx::report(true)).unwrap();
    r["requests"][0]["status"] = "200".into();
    assert!(!v.is_valid(&r));
}

// ---------------------------------------------------------------------------------------------
// Files

#[test]
fn write_all_leaves_the_five_files() {
    let (dir, _, files) = write_run(true);
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "report.json",
            "capture.har",
            "junit.xml",
            "report.html",
            "summary.md"
        ]
    );
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() > 100, "{}", f.display());
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn no_output_file_contains_the_password_or_the_session_cookie() {
    // The raw capture carries them: in a URL query, an Authorization header, Cookie and
    // Set-Cookie headers, and a step error message.
    let raw = serde_json::to_string(&fx::raw_exchanges(true)).unwrap();
    let pw_form: String = url::form_urlencoded::byte_serialize(fx::PASSWORD.as_bytes()).collect();
    assert!(raw.contains(fx::SESSION) && raw.contains(&fx::PASSWORD.replace('&', "%26")));

    let redactor = fx::redactor();
    let mut cap = fx::capture(true);
    cap.journeys[0].steps[4].ok = false;
    cap.journeys[0].steps[4].error = Some(format!(
        "timed out waiting for #dashboard; page says: login failed for admin / {} (JSESSIONID={})",
        fx::PASSWORD,
        fx::SESSION
    ));
    cap.journeys[0].ok = false;
    let started = chrono::Utc::now();
    let mut report = cdnprobe::report::build::build_report(
        "http://127.0.0.1:8080/",
        started,
        &cap,
        Default::default(),
        &redactor,
        &[fx::distribution()],
    );
    let fixture = fx::report(true);
    report.behaviors = fixture.behaviors;
    report.findings = fixture.findings;
    report.summarize();
    let dir = tempfile::tempdir().unwrap();
    let files = report::write_all(&report, dir.path()).unwrap();
    let term = terminal::render(
        &report,
        &terminal::TerminalOptions {
            color: false,
            verbose: true,
            files: &files,
        },
    );

    let basic: String = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{}", fx::PASSWORD))
    };
    let needles = [
        fx::PASSWORD.to_string(),
        fx::PASSWORD.replace('&', "%26"),
        pw_form,
        fx::SESSION.to_string(),
        fx::REMEMBER_ME.to_string(),
        basic,
    ];
    let mut outputs: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read_to_string(f).unwrap()))
        .collect();
    outputs.push(("terminal".into(), term));
    for (name, text) in &outputs {
        for n in &needles {
            assert!(
                !text.contains(n.as_str()),
                "{name} contains the secret {n:?}"
            );
        }
        // The evidence survives: cookie names stay, values become markers.
        if name.ends_with("capture.har") || name.ends_with("report.json") {
            assert!(
                text.contains("JSESSIONID=<redacted:"),
                "{name}: JSESSIONID name kept"
            );
            assert!(
                text.contains("AWSALB=<redacted:"),
                "{name}: AWSALB name kept"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HAR

#[test]
fn har_is_har_1_2_with_every_required_field() {
    let (dir, report, _) = write_run(true);
    let har: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("capture.har")).unwrap())
            .unwrap();
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert!(log["creator"]["name"].is_string() && log["creator"]["version"].is_string());
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        report.requests.len(),
        "every exchange, failed ones included"
    );
    for p in log["pages"].as_array().unwrap() {
        for k in ["startedDateTime", "id", "title", "pageTimings"] {
            assert!(!p[k].is_null(), "page lacks {k}");
        }
    }
    for e in entries {
        for k in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(!e[k].is_null(), "entry lacks {k}: {e}");
        }
        chrono::DateTime::parse_from_rfc3339(e["startedDateTime"].as_str().unwrap()).unwrap();
        let req = &e["request"];
        for k in [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        ] {
            assert!(!req[k].is_null(), "request lacks {k}");
        }
        let resp = &e["response"];
        for k in [
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        ] {
            assert!(!resp[k].is_null(), "response lacks {k}");
        }
        assert!(resp["content"]["size"].is_number() && resp["content"]["mimeType"].is_string());
        for k in ["send", "wait", "receive"] {
            assert!(
                e["timings"][k].as_f64().unwrap() >= 0.0,
                "timings.{k} must be >= 0"
            );
        }
        let ext = &e["_cdnprobe"];
        assert!(ext.is_object(), "every entry is annotated: {e}");
        assert!(ext["cache"]["status"].is_string());
        assert!(ext["finding_ids"].is_array());
    }
    // The annotations say what the report says.
    let js = entries
        .iter()
        .find(|e| {
            e["request"]["url"]
                .as_str()
                .unwrap()
                .contains("superbatch/js")
        })
        .unwrap();
    assert_eq!(js["_cdnprobe"]["behavior"], "/s/*");
    assert_eq!(js["_cdnprobe"]["cache"]["status"], "miss");
    assert_eq!(js["_cdnprobe"]["verdict"], "NEVER_HITS");
    let ids: Vec<&str> = js["_cdnprobe"]["finding_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(ids.contains(&"rotating-cookie-in-key"), "{ids:?}");
    let failed = entries
        .iter()
        .find(|e| {
            e["request"]["url"]
                .as_str()
                .unwrap()
                .contains("publish/bulk")
        })
        .unwrap();
    assert_eq!(failed["response"]["status"], 0);
    assert_eq!(failed["response"]["_error"], "net::ERR_ABORTED");
}

#[test]
fn har_round_trips_through_import_with_the_same_requests_and_classification() {
    let (dir, report, _) = write_run(true);
    let text = std::fs::read_to_string(dir.path().join("capture.har")).unwrap();
    let imported = cdnprobe::har::import(&text).unwrap();
    assert_eq!(imported.len(), report.requests.len());
    let dist = fx::distribution();
    for (ex, rec) in imported.iter().zip(&report.requests) {
        assert_eq!(ex.url, rec.url);
        assert_eq!(ex.method, rec.method);
        assert_eq!(ex.status, rec.status);
        for name in [
            "x-cache",
            "cache-control",
            "expires",
            "set-cookie",
            "age",
            "cookie",
        ] {
            assert_eq!(
                ex.response_headers.get_all(name).collect::<Vec<_>>(),
                rec.response_headers.get_all(name).collect::<Vec<_>>(),
                "{name} of {}",
                ex.url
            );
        }
        assert_eq!(
            ex.request_headers.get("cookie"),
            rec.request_headers.get("cookie")
        );
        assert_eq!(ex.failure.is_some(), rec.failure.is_some());
        // Re-classifying the imported exchange gives what the report says.
        let again = cdnprobe::classify::Record::classify(ex.clone(), std::slice::from_ref(&dist));
        assert_eq!(again.class.behavior, rec.class.behavior, "{}", ex.url);
        assert_eq!(again.class.cache, rec.class.cache, "{}", ex.url);
        assert_eq!(
            again.class.edge_treatment, rec.class.edge_treatment,
            "{}",
            ex.url
        );
    }
}

// ---------------------------------------------------------------------------------------------
// JUnit

#[test]
fn junit_has_a_suite_per_journey_and_fails_the_regressed_behavior_and_error_finding() {
    let (dir, _, _) = write_run(true);
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let names: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["journey jira-smoke", "verification", "findings"]);
    let journey = &parsed.test_suites[0];
    assert_eq!(journey.test_cases.len(), 5);
    assert_eq!(journey.failures + journey.errors, 0);
    let verification = &parsed.test_suites[1];
    assert_eq!(verification.test_cases.len(), 3);
    assert_eq!(verification.failures, 1);
    let s = verification
        .test_cases
        .iter()
        .find(|t| t.name.as_str() == "/s/* expect hit")
        .unwrap();
    match &s.status {
        quick_junit::TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } => {
            assert!(message.as_ref().unwrap().as_str().starts_with("NeverHits"));
            assert!(description.as_ref().unwrap().as_str().contains("M M M M"));
        }
        other => panic!("/s/* must fail: {other:?}"),
    }
    let findings = &parsed.test_suites[2];
    assert_eq!(
        findings.test_cases.len(),
        1,
        "only error findings fail the build"
    );
    match &findings.test_cases[0].status {
        quick_junit::TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } => {
            assert!(
                message
                    .as_ref()
                    .unwrap()
                    .as_str()
                    .contains("superbatch/js/batch.js")
            );
            let d = description.as_ref().unwrap().as_str();
            assert!(d.contains("Set-Cookie: AWSALB=<redacted:"), "{d}");
            assert!(d.contains("fix: In the /s/* behavior"), "{d}");
        }
        other => panic!("the error finding must fail: {other:?}"),
    }

    let (dir, _, _) = write_run(false);
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let failing: usize = parsed
        .test_suites
        .iter()
        .map(|s| s.failures + s.errors)
        .sum();
    assert_eq!(failing, 0, "a healthy run has no failing testcase");
}

// ---------------------------------------------------------------------------------------------
// Snapshots: terminal and summary.md

fn files_for_snapshot() -> Vec<PathBuf> {
    cdnprobe::report::file_names()
        .into_iter()
        .map(|n| Path::new("output/20261124T100000Z-127.0.0.1").join(n))
        .collect()
}

#[test]
fn terminal_snapshot_regressed() {
    let files = files_for_snapshot();
    let out = terminal::render(
        &fx::report(true),
        &terminal::TerminalOptions {
            color: false,
            verbose: false,
            files: &files,
        },
    );
    insta::assert_snapshot!("terminal_regressed", out);
}

#[test]
fn terminal_snapshot_healthy_verbose() {
    let files = files_for_snapshot();
    let out = terminal::render(
        &fx::report(false),
        &terminal::TerminalOptions {
            color: false,
            verbose: true,
            files: &files,
        },
    );
    insta::assert_snapshot!("terminal_healthy_verbose", out);
}

#[test]
fn terminal_colour_only_when_asked() {
    let files = files_for_snapshot();
    let r = fx::report(true);
    let plain = terminal::render(
        &r,
        &terminal::TerminalOptions {
            color: false,
            verbose: false,
            files: &files,
        },
    );
    let coloured = terminal::render(
        &r,
        &terminal::TerminalOptions {
            color: true,
            verbose: false,
            files: &files,
        },
    );
    assert!(!plain.contains('\x1b'));
    assert!(
        coloured.contains("\x1b[31m")
            || coloured.contains("\x1b[1;31m")
            || coloured.contains("\x1b[31;1m"),
        "{coloured:?}"
    );
    // Same text once the escapes are stripped: colour never changes the layout.
    let stripped = String::from_utf8(strip(coloured.as_bytes())).unwrap();
    assert_eq!(stripped, plain);
}

fn strip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x1b && b.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < b.len() && !(b[i] as char).is_ascii_alphabetic() {
                i += 1;
            }
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn summary_md_snapshots() {
    insta::assert_snapshot!(
        "summary_regressed",
        cdnprobe::report::markdown::to_markdown(&fx::report(true))
    );
    insta::assert_snapshot!(
        "summary_healthy",
        cdnprobe::report::markdown::to_markdown(&fx::report(false))
    );
}

/// A real `cdnprobe run` of the lab, frozen (tests/fixtures/reports/record.sh made it).
fn lab_run(name: &str) -> cdnprobe::report::Report {
    cdnprobe::report::json::read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/reports")
            .join(format!("lab-{name}"))
            .join("report.json"),
    )
    .unwrap()
}

/// The terminal and summary.md of real lab runs (healthy, alb-stickiness), next to the
/// hand-made fixture's above: what an admin sees after `cdnprobe run`.
#[test]
fn lab_run_snapshots() {
    let files = files_for_snapshot();
    for name in ["healthy", "alb-stickiness"] {
        let r = lab_run(name);
        // What the recording must show for these snapshots to mean anything.
        let verdict = |p: &str| {
            r.behaviors
                .iter()
                .find(|b| b.pattern == p)
                .map(|b| b.verdict.to_string())
        };
        match name {
            "healthy" => {
                assert_eq!(r.summary.exit_code, 0);
                assert_eq!(verdict("/s/*").as_deref(), Some("HITS"));
            }
            _ => {
                assert_eq!(r.summary.exit_code, 1);
                assert_eq!(verdict("/s/*").as_deref(), Some("NEVER_HITS"));
                assert!(r.findings.iter().any(|f| f.id == "rotating-cookie-in-key"));
            }
        }
        let out = terminal::render(
            &r,
            &terminal::TerminalOptions {
                color: false,
                verbose: false,
                files: &files,
            },
        );
        insta::assert_snapshot!(format!("lab_run_terminal_{name}"), out);
        insta::assert_snapshot!(
            format!("lab_run_summary_{name}"),
            cdnprobe::report::markdown::to_markdown(&r)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HTML (content; report_html.rs opens it in Chromium)

#[test]
fn html_is_self_contained_and_escapes_what_it_prints() {
    let mut report = fx::report(true);
    report.notes.push("<script>alert('x')</script>".into());
    let dir = tempfile::tempdir().unwrap();
    report::write_all(&report, dir.path()).unwrap();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        html.contains("default-src 'none'"),
        "a CSP forbids every load"
    );
    assert!(!html.contains("<script>alert"), "values are escaped");
    for bad in [
        "<link rel=\"stylesheet",
        "src=\"http",
        "src='http",
        "@import",
        "url(http",
        "<iframe",
        "<img",
    ] {
        assert!(
            !html.contains(bad),
            "report.html references something external: {bad}"
        );
    }
    for b in &report.behaviors {
        // minijinja's HTML escaping writes `/` as `&#x2f;`.
        let escaped = b.pattern.replace('/', "&#x2f;");
        assert!(
            html.contains(&format!("data-pattern=\"{escaped}\"")),
            "card for {}",
            b.pattern
        );
    }
    assert_eq!(
        html.matches("<tr class=").count(),
        report.requests.len(),
        "one table row per request"
    );
    for h in ["X-Cache", "Cache-Control", "Expires", "Age", "CORS"] {
        assert!(html.contains(&format!("<th>{h}</th>")), "column {h}");
    }
}

// ---------------------------------------------------------------------------------------------
// diff and merge (library level; report_cli.rs runs the binary)

#[test]
fn diff_names_the_s_regression_and_the_header_changes() {
    let d = report::diff::diff(&fx::report(false), &fx::report(true));
    assert!(d.is_regression());
    assert_eq!(d.exit_code(), 1);
    assert!(
        d.regressions
            .iter()
            .any(|r| r.starts_with("behavior /s/*: HITS -> NEVER_HITS")),
        "{:?}",
        d.regressions
    );
    assert!(
        d.regressions
            .iter()
            .any(|r| r.contains("rotating-cookie-in-key")),
        "{:?}",
        d.regressions
    );
    let js = d
        .paths
        .iter()
        .find(|p| p.path == "/s/*/_/download/superbatch/js/batch.js")
        .expect("the /s/ path is compared");
    let sc = js
        .changes
        .iter()
        .find(|c| c.name == "set-cookie")
        .expect("Set-Cookie appeared");
    assert_eq!(sc.before, None);
    assert_eq!(sc.after.as_deref(), Some("AWSALB; Expires; Path=/"));
    // Nothing volatile is reported: Date, Age, X-Amz-Cf-Id, request ids.
    for p in &d.paths {
        for c in &p.changes {
            assert!(
                !["date", "age", "x-amz-cf-id", "x-arequestid", "x-cache"]
                    .contains(&c.name.as_str()),
                "{} {}",
                p.path,
                c.name
            );
        }
    }
    // The healthy run compared with itself: nothing, exit 0. And the fix is no regression.
    let same = report::diff::diff(&fx::report(false), &fx::report(false));
    assert!(!same.is_regression() && same.paths.is_empty() && same.behaviors.is_empty());
    let fixed = report::diff::diff(&fx::report(true), &fx::report(false));
    assert!(!fixed.is_regression());
    assert_eq!(fixed.resolved_findings.len(), 2);
}

#[test]
fn diff_reports_a_ttl_change() {
    let a = fx::report(false);
    let mut b = fx::report(false);
    for r in b
        .requests
        .iter_mut()
        .filter(|r| r.url.contains("superbatch/css"))
    {
        r.response_headers.set("Cache-Control", "no-cache");
        r.class.edge_treatment = Some(cdnprobe::classify::EdgeTreatment {
            store: false,
            ttl_secs: 0,
            rule: "no-cache and MinTTL 0: not cached".into(),
        });
    }
    let d = report::diff::diff(&a, &b);
    let css = d
        .paths
        .iter()
        .find(|p| p.path.ends_with("superbatch/css/batch.css"))
        .unwrap();
    let ttl = css.changes.iter().find(|c| c.name == "edge TTL").unwrap();
    assert!(
        ttl.before
            .as_deref()
            .unwrap()
            .starts_with("stored 31536000 s"),
        "{ttl:?}"
    );
    assert!(
        ttl.after.as_deref().unwrap().starts_with("not stored"),
        "{ttl:?}"
    );
    assert!(css.changes.iter().any(|c| c.name == "cache-control"));
    assert!(
        !d.is_regression(),
        "a header change alone is not a regression"
    );
    let text = report::diff::render(&d);
    assert!(text.contains("edge TTL: stored 31536000 s"), "{text}");
}

#[test]
fn merge_keeps_each_runs_origin_and_fails_a_behavior_that_failed_anywhere() {
    let merged = merge::merge(vec![
        merge::Input {
            label: "eu-fra".into(),
            file: Some("fra/report.json".into()),
            report: fx::report(false),
        },
        merge::Input {
            label: "us-iad".into(),
            file: None,
            report: fx::report(true),
        },
    ])
    .unwrap();
    assert_eq!(merged.schema_version, report::SCHEMA_VERSION);
    let sources: Vec<&str> = merged.runs.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(sources, ["eu-fra", "us-iad"]);
    assert_eq!(merged.runs[0].pops, ["FRA56-P1"]);
    assert!(merged.runs[0].summary.pass && !merged.runs[1].summary.pass);
    assert_eq!(merged.requests.len(), 2 * fx::report(false).requests.len());
    assert!(merged.requests.iter().all(|r| r.source.is_some()));
    assert_eq!(
        merged
            .journeys
            .iter()
            .filter_map(|j| j.source.as_deref())
            .collect::<Vec<_>>(),
        ["eu-fra", "us-iad"]
    );
    let s = merged
        .behaviors
        .iter()
        .find(|b| b.pattern == "/s/*")
        .unwrap();
    assert!(!s.pass, "met in one region, failed in the other: not met");
    assert_eq!(s.sequences.len(), 4, "every run's sequences");
    assert!(
        s.reason.contains("[eu-fra] HITS") && s.reason.contains("[us-iad] NEVER_HITS"),
        "{}",
        s.reason
    );
    assert_eq!(merged.behaviors.len(), 3, "one entry per pattern");
    assert!(!merged.summary.pass);
    assert_eq!(merged.summary.exit_code, 1);
    assert!(
        merged.runs[1]
            .findings
            .contains(&"rotating-cookie-in-key /s/*".to_string())
    );
    // Merging a merge flattens it and keeps labels unique.
    let again = merge::merge(vec![
        merge::Input {
            label: "all".into(),
            file: None,
            report: merged.clone(),
        },
        merge::Input {
            label: "eu-fra".into(),
            file: None,
            report: fx::report(false),
        },
    ])
    .unwrap();
    let sources: Vec<&str> = again.runs.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(sources, ["eu-fra", "us-iad", "eu-fra#2"]);
    assert_eq!(
        again
            .requests
            .iter()
            .filter(|r| r.source.as_deref() == Some("eu-fra#2"))
            .count(),
        fx::report(false).requests.len()
    );
    // The merged report renders like any other.
    let html = cdnprobe::report::html::to_html(&merged, Path::new(".")).unwrap();
    assert!(html.contains("Merged runs") && html.contains("us-iad"));
}

#[test]
fn merge_labels_come_from_the_run_directory() {
    assert_eq!(
        merge::label_for(Path::new(
            "output/20261124T100000Z-jira.example.com/report.json"
        )),
        "20261124T100000Z-jira.example.com"
    );
    assert_eq!(merge::label_for(Path::new("prod-fra.json")), "prod-fra");
    assert_eq!(merge::label_for(Path::new("report.json")), "report");
}
