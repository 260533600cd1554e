//! `--metrics-file` and `--pushgateway`: the text is read back by two real parsers (the
//! Prometheus text format, as node_exporter's textfile collector and the Pushgateway read it, and
//! a strict OpenMetrics one) and by `promtool check metrics` (Debian's `prometheus` package; the
//! check is skipped, saying so, when promtool is absent); the push goes to a real HTTP server on
//! loopback that records what it received.

use crate::common::cdnprobe;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

const HAR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/har/chrome-jira-dashboard.har"
);

/// Samples as `name{k="v",...}` (labels sorted) -> value, via prometheus-parse.
fn prometheus_samples(text: &str) -> BTreeMap<String, f64> {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let mut labels: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            let v = match s.value {
                prometheus_parse::Value::Gauge(v) => v,
                other => panic!("{}: not a gauge: {other:?}", s.metric),
            };
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            (format!("{}{{{}}}", s.metric, labels.join(",")), v)
        })
        .collect()
}

/// The strict checks: OpenMetrics grammar, and promtool's parser and linter when installed.
fn check_with_real_parsers(text: &str) {
    if let Err(e) = openmetrics_parser::openmetrics::parse_openmetrics(text) {
        panic!("not valid OpenMetrics: {e:?}\n{text}");
    }
    if let Err(e) = openmetrics_parser::prometheus::parse_prometheus(text) {
        panic!("not valid Prometheus text: {e:?}\n{text}");
    }
    match which::which("promtool") {
        Ok(promtool) => {
            let mut child = std::process::Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
                "promtool check metrics: {}{}\n{text}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(_) => eprintln!(
            "SKIPPED promtool check metrics: promtool not on PATH (apt-get install -y prometheus)"
        ),
    }
}

/// A frozen lab run with verdicts (/s/* never hits under ALB stickiness): every family, and the
/// verdict as one sample per state.
#[test]
fn a_verified_run_renders_valid_metrics_with_the_verdict_as_a_state() {
    let report = cdnprobe::report::json::read(Path::new(
        "tests/fixtures/reports/lab-alb-stickiness/report.json",
    ))
    .unwrap();
    let labels: BTreeMap<String, String> = [("region".to_string(), "fra".to_string())].into();
    let run =
        cdnprobe::history::summary::summarize("run", &report, &labels, None, chrono::Utc::now());
    let text = cdnprobe::metrics::render(&run, &labels);
    check_with_real_parsers(&text);
    assert!(text.ends_with("# EOF\n"));
    let s = prometheus_samples(&text);
    let get = |k: &str| *s.get(k).unwrap_or_else(|| panic!("{k} missing:\n{text}"));
    assert_eq!(get(r#"cdnprobe_run_success{region="fra"}"#), 0.0);
    assert_eq!(get(r#"cdnprobe_run_exit_code{region="fra"}"#), 1.0);
    assert_eq!(
        get(r#"cdnprobe_behavior_verdict{behavior="/s/*",region="fra",verdict="NEVER_HITS"}"#),
        1.0
    );
    assert_eq!(
        get(r#"cdnprobe_behavior_verdict{behavior="/s/*",region="fra",verdict="HITS"}"#),
        0.0
    );
    assert_eq!(
        get(r#"cdnprobe_behavior_expectation_met{behavior="/s/*",region="fra"}"#),
        0.0
    );
    assert_eq!(
        get(r#"cdnprobe_behavior_expectation_met{behavior="/download/resources/*",region="fra"}"#),
        1.0
    );
    assert_eq!(
        get(r#"cdnprobe_behavior_expects_hit{behavior="/s/*",region="fra"}"#),
        1.0
    );
    assert_eq!(
        get(r#"cdnprobe_behavior_expects_hit{behavior="*",region="fra"}"#),
        0.0
    );
    // One sample per verdict per verified behavior, so `== 1` always selects the current one.
    let verdicts = s
        .keys()
        .filter(|k| k.starts_with("cdnprobe_behavior_verdict{behavior=\"/s/*\""))
        .count();
    assert_eq!(verdicts, 8);
    assert_eq!(
        get(r#"cdnprobe_behavior_hit_ratio{behavior="/s/*",region="fra"}"#),
        0.0
    );
    assert!(get(r#"cdnprobe_behavior_loads{behavior="/s/*",region="fra"}"#) > 0.0);
    assert!(
        get(r#"cdnprobe_behavior_ttfb_seconds{behavior="/s/*",percentile="50",region="fra"}"#)
            > 0.0
    );
    assert!(
        get(
            r#"cdnprobe_findings_by_id{finding="rotating-cookie-in-key",region="fra",severity="warn"}"#
        ) >= 1.0
    );
    // Bounded cardinality: no label value is a URL.
    assert!(!s.keys().any(|k| k.contains("://")), "{text}");
}

/// Through the binary: `analyze --metrics-file` writes the file (labels on every sample).
#[test]
fn analyze_writes_the_metrics_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cdnprobe.prom");
    cdnprobe()
        .args([
            "analyze",
            HAR,
            "--quiet",
            "--no-history",
            "--label",
            "region=fra",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .arg("--metrics-file")
        .arg(&file)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&file).unwrap();
    check_with_real_parsers(&text);
    let s = prometheus_samples(&text);
    assert!(s.keys().all(|k| k.contains("region=\"fra\"")), "{text}");
    assert_eq!(
        s[r#"cdnprobe_findings_by_id{finding="font-502",region="fra",severity="error"}"#],
        1.0
    );
    assert_eq!(
        s[r#"cdnprobe_findings{region="fra",severity="error"}"#],
        2.0
    );
    assert!(!dir.path().join("cdnprobe.prom.tmp").exists());
}

#[derive(Clone, Debug)]
struct Push {
    method: String,
    path: String,
    content_type: String,
    body: String,
}

/// A Pushgateway stand-in on 127.0.0.1: records every request, answers `status`.
fn pushgateway(rt: &tokio::runtime::Runtime, status: u16) -> (String, Arc<Mutex<Vec<Push>>>) {
    let seen: Arc<Mutex<Vec<Push>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let log = log.clone();
        async move {
            let method = req.method().to_string();
            let path = req.uri().path().to_string();
            let content_type = req
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap_or("").to_string())
                .unwrap_or_default();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            log.lock().unwrap().push(Push {
                method,
                path,
                content_type,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                "pushgateway says so",
            )
        }
    });
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    (format!("http://{addr}"), seen)
}

/// `--pushgateway`: one PUT to /metrics/job/cdnprobe/<labels> (a value with `/` base64url
/// encoded), the labels left out of the body (the grouping key carries them).
#[test]
fn the_push_is_a_put_to_the_grouping_key_with_valid_metrics() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = pushgateway(&rt, 200);
    let dir = tempfile::tempdir().unwrap();
    let out = cdnprobe()
        .args(["analyze", HAR, "--quiet", "--no-history"])
        .args([
            "--label",
            "region=eu-central-1",
            "--label",
            "site=jira/prod",
        ])
        .arg("--out")
        .arg(dir.path())
        .args(["--pushgateway", &url])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let p = &seen[0];
    assert_eq!(p.method, "PUT");
    assert_eq!(
        p.path,
        "/metrics/job/cdnprobe/region/eu-central-1/site@base64/amlyYS9wcm9k"
    );
    assert!(
        p.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        p.content_type
    );
    check_with_real_parsers(&p.body);
    let s = prometheus_samples(&p.body);
    assert_eq!(s["cdnprobe_run_success{}"], 0.0);
    assert_eq!(
        s[r#"cdnprobe_behavior_hit_ratio{behavior="/secure/projectavatar*"}"#],
        1.0
    );
    assert!(!p.body.contains("region="), "{}", p.body);
}

/// A Pushgateway that refuses, or none at all: a warning naming it; the run's exit code and
/// files stand.
#[test]
fn a_failed_push_is_a_warning() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, _) = pushgateway(&rt, 500);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    for (target, what) in [(url, "HTTP 500"), (closed, "error sending request")] {
        let dir = tempfile::tempdir().unwrap();
        let out = cdnprobe()
            .args(["analyze", HAR, "--quiet", "--no-history", "--out"])
            .arg(dir.path())
            .args(["--pushgateway", &target])
            .assert()
            .code(1)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("warning: metrics not pushed to {target}")),
            "{stderr}"
        );
        assert!(stderr.contains(what), "{stderr}");
        assert!(dir.path().join("report.json").exists());
    }
    cdnprobe()
        .args(["analyze", HAR, "--pushgateway", "pushgateway:9091"])
        .assert()
        .code(2);
}
