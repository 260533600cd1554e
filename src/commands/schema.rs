//! `cdnprobe schema`: print report.json's JSON Schema.

use crate::error::exit;

/// `cdnprobe schema`.
pub fn schema() -> i32 {
    print!("{}", crate::report::schema::text());
    exit::OK
}
