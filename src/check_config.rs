//! `cdnprobe check-config FILE`: lint CloudFront behaviors without a browser.
//!
//! Exit codes: 0 no finding or only infos; 1 at least one error or warning (a linter's job in a
//! pipeline is to stop a risky config before it ships, and every warning here is a real way the
//! seed's setups failed); 2 the file cannot be read or parsed (`file:line:column` and a hint).

use crate::cli::{CheckConfigArgs, ConfigInputArgs, InputFormatArg};
use crate::cloudfront::behavior::ConfigFormat;
use crate::cloudfront::load::{self, LoadOptions};
use crate::diagnose::{Severity, lint};
use crate::error::exit;
use crate::report::table;

pub fn check_config(args: CheckConfigArgs) -> anyhow::Result<i32> {
    let set = load::from_file_with(&args.file, &load_options(&args.input))?;
    let findings = lint::lint(&set, args.context_path.as_deref());
    let failing = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warn)
        .count();
    if args.json {
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
pub fn load_options(args: &ConfigInputArgs) -> LoadOptions {
    LoadOptions {
        format: args.input_format.map(|f| match f {
            InputFormatArg::Toml => ConfigFormat::Toml,
            InputFormatArg::DistributionConfig => ConfigFormat::DistributionConfig,
            InputFormatArg::CloudformationYaml => ConfigFormat::CloudformationYaml,
            InputFormatArg::CloudformationJson => ConfigFormat::CloudformationJson,
            InputFormatArg::Terraform => ConfigFormat::Terraform,
            InputFormatArg::TerraformPlan => ConfigFormat::TerraformPlan,
        }),
        parameters: args.parameters.clone(),
    }
}
