//! `cdnprobe check-config FILE`: lint CloudFront behaviors without a browser.
//!
//! Exit codes: 0 no finding or only infos; 1 at least one error or warning (a linter's job in a
//! pipeline is to stop a risky config before it ships, and every warning here is a real way the
//! seed's setups failed); 2 the file cannot be read or parsed (`file:line:column` and a hint).

use crate::cli::{CheckConfigArgs, CheckFormat, ConfigInputArgs};
use crate::cloudfront::load::{self, LoadOptions};
use crate::diagnose::{Finding, Severity, lint};
use crate::error::exit;
use crate::report::table;

pub(crate) fn check_config(args: CheckConfigArgs) -> anyhow::Result<i32> {
    let set = load::from_file_with(&args.file, &load_options(&args.input))?;
    let findings = lint::lint(&set, args.context_path.as_deref());
    let failing = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warn)
        .count();
    let format = if args.json {
        CheckFormat::Json
    } else {
        args.format
    };
    // Findings without a line of their own point at the file holding the distribution.
    let file = set
        .input
        .as_ref()
        .map(|i| i.file.clone())
        .unwrap_or_else(|| args.file.display().to_string());
    if format == CheckFormat::Github {
        print!("{}", github_annotations(&findings, &file));
    } else if format == CheckFormat::Sarif {
        println!(
            "{}",
            serde_json::to_string_pretty(&sarif(&findings, &file))?
        );
    } else if format == CheckFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": args.file.display().to_string(),
                "behaviors": set.behaviors.iter().map(|b| b.name.clone()).collect::<Vec<_>>(),
                "findings": findings,
            }))?
        );
    } else {
        println!("{}: {} behaviors", args.file.display(), set.behaviors.len());
        for b in &set.behaviors {
            println!("  {}", lint::describe(b));
        }
        println!();
        if findings.is_empty() {
            println!("no findings");
        } else {
            println!("{}", table::findings_table(&findings));
            println!("{}", table::findings_details(&findings));
            println!(
                "{} findings: {} error, {} warn, {} info",
                findings.len(),
                findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .count(),
                findings
                    .iter()
                    .filter(|f| f.severity == Severity::Warn)
                    .count(),
                findings
                    .iter()
                    .filter(|f| f.severity == Severity::Info)
                    .count()
            );
        }
    }
    Ok(if failing > 0 {
        exit::CHECK_FAILED
    } else {
        exit::OK
    })
}

/// How to read a configuration file, from the flags.
pub(crate) fn load_options(args: &ConfigInputArgs) -> LoadOptions {
    LoadOptions {
        format: args.input_format,
        parameters: args.parameters.clone(),
        distribution: args.distribution.clone(),
    }
}

/// Escape a workflow command's message (`%`, CR, LF) or property (also `:` and `,`).
fn gh_escape(s: &str, property: bool) -> String {
    let mut out = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

/// GitHub Actions workflow commands: one annotation per finding, on the line the configuration
/// writes the setting (the file itself when the format has no lines).
pub(crate) fn github_annotations(findings: &[Finding], file: &str) -> String {
    let mut out = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warn => "warning",
            Severity::Info => "notice",
        };
        let (path, line) = match &f.location {
            Some(at) => (at.file.as_str(), Some(at.line)),
            None => (file, None),
        };
        let mut props = format!("file={}", gh_escape(path, true));
        if let Some(l) = line {
            props.push_str(&format!(",line={l}"));
        }
        props.push_str(&format!(
            ",title={}",
            gh_escape(&format!("{} ({})", f.title, f.id), true)
        ));
        let mut msg = f.explanation.clone();
        if let Some(c) = &f.config_fix {
            msg.push_str(&format!("\nFix:\n{c}"));
        } else {
            msg.push_str(&format!("\n{}", f.fix));
        }
        out.push_str(&format!("::{level} {props}::{}\n", gh_escape(&msg, false)));
    }
    out
}

/// SARIF 2.1.0 (OASIS): one rule per finding id, one result per finding, located on the line
/// the configuration writes the setting.
pub fn sarif(findings: &[Finding], file: &str) -> serde_json::Value {
    use serde_json::json;
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warn => "warning",
        Severity::Info => "note",
    };
    let mut rule_ids: Vec<&str> = Vec::new();
    for f in findings {
        if !rule_ids.contains(&f.id.as_str()) {
            rule_ids.push(&f.id);
        }
    }
    let rules: Vec<serde_json::Value> = rule_ids
        .iter()
        .map(|id| {
            let spec = crate::diagnose::spec(id);
            let f = findings.iter().find(|f| f.id == *id);
            let title = spec.map(|s| s.title.to_string()).or(f.map(|f| f.title.clone()));
            json!({
                "id": id,
                "name": id,
                "shortDescription": {"text": title.unwrap_or_default()},
                "help": {"text": f.map(|f| f.fix.clone()).unwrap_or_default()},
                "defaultConfiguration": {"level": level(spec.map_or(Severity::Warn, |s| s.severity))},
            })
        })
        .collect();
    let uri = |p: &str| p.replace('\\', "/").trim_start_matches("./").to_string();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let mut region = serde_json::Map::new();
            if let Some(at) = &f.location {
                region.insert("startLine".into(), json!(at.line.max(1)));
            }
            let path = f.location.as_ref().map_or(file, |a| a.file.as_str());
            let mut physical = json!({"artifactLocation": {"uri": uri(path)}});
            if !region.is_empty() {
                physical["region"] = serde_json::Value::Object(region);
            }
            let mut text = f.explanation.clone();
            if let Some(c) = &f.config_fix {
                text.push_str(&format!("\nFix:\n{c}"));
            }
            json!({
                "ruleId": f.id,
                "ruleIndex": rule_ids.iter().position(|r| *r == f.id).unwrap_or(0),
                "level": level(f.severity),
                "message": {"text": if text.is_empty() { f.title.clone() } else { text }},
                "locations": [{"physicalLocation": physical}],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cdnprobe",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}
