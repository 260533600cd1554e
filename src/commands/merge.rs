//! `cdnprobe merge`: one report from several runs (regions, POPs, UAT and prod).

use crate::cli::MergeArgs;
use crate::report::{json, merge};

/// `cdnprobe merge R... [--out DIR|FILE.json]`. Exits like a run: 0 when every merged run
/// passed, 1 when one failed, 2 when one was partial.
pub fn merge(args: &MergeArgs) -> anyhow::Result<i32> {
    let mut inputs = Vec::new();
    for path in &args.reports {
        inputs.push(merge::Input {
            label: merge::label_for(path),
            file: Some(path.display().to_string()),
            report: json::read(path)?,
        });
    }
    let merged = merge::merge(inputs)?;
    match &args.out {
        Some(out)
            if out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json")) =>
        {
            json::write(&merged, out)?;
            eprintln!("merged {} run(s) into {}", merged.runs.len(), out.display());
        }
        Some(dir) => {
            let files = crate::report::write_all(&merged, dir)?;
            eprintln!(
                "merged {} run(s) into {} ({})",
                merged.runs.len(),
                dir.display(),
                files
                    .iter()
                    .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        None => print!("{}", String::from_utf8(json::to_bytes(&merged)?)?),
    }
    Ok(merged.summary.exit_code)
}
