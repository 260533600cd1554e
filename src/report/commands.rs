//! The report subcommands: `schema`, `diff`, `merge`. Each returns its exit code; bad input is a
//! `UserError` (exit 2).

use crate::cli::{DiffArgs, MergeArgs};
use crate::error::exit;

use super::{diff, json, merge};

/// `cdnprobe schema`.
pub fn schema() -> i32 {
    print!("{}", super::schema::text());
    exit::OK
}

/// `cdnprobe diff A B`.
pub fn diff(args: &DiffArgs) -> anyhow::Result<i32> {
    let a = json::read(&args.a)?;
    let b = json::read(&args.b)?;
    let d = diff::diff(&a, &b);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", diff::render(&d));
    }
    Ok(d.exit_code())
}

/// `cdnprobe merge R... [--out FILE]`.
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
        Some(out) => {
            json::write(&merged, out)?;
            eprintln!("merged {} run(s) into {}", merged.runs.len(), out.display());
        }
        None => print!("{}", String::from_utf8(json::to_bytes(&merged)?)?),
    }
    Ok(exit::OK)
}
