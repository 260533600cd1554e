//! `cdnprobe diff A B`: compare two runs (either may be `last-good`, resolved from the history).

use crate::cli::DiffArgs;
use crate::report::{diff, json};

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
