//! report.json: the record itself. Written atomically (a crash never leaves half a file) and read
//! back by `diff` and `merge`, which refuse a report of another major schema version.

use std::path::Path;

use super::{ExportContext, Exporter, Report, SCHEMA_VERSION};
use crate::UserError;

pub(crate) struct JsonExporter;

impl Exporter for JsonExporter {
    fn file_name(&self) -> &'static str {
        "report.json"
    }
    fn faithful(&self) -> bool {
        true
    }
    fn write(
        &self,
        report: &Report,
        _: &ExportContext,
        out: &mut dyn std::io::Write,
    ) -> anyhow::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report)?;
        out.write_all(b"\n")?;
        Ok(())
    }
}

/// Pretty JSON with a trailing newline (what report.json holds and `--json` prints).
pub fn to_bytes(report: &Report) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(report)?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub fn write(report: &Report, path: &Path) -> anyhow::Result<()> {
    super::write_atomically(path, &to_bytes(report)?)
}

pub fn read(path: &Path) -> anyhow::Result<Report> {
    let text = crate::input::read_to_string(path, crate::input::Kind::Report)?;
    // Name the file in the message (main prints a UserError's message and hint only).
    from_str(&text).map_err(|e| match e.downcast::<UserError>() {
        Ok(UserError::Input { message, hint }) => {
            UserError::input(format!("{}: {message}", path.display()), hint).into()
        }
        Ok(other) => other.into(),
        Err(e) => e,
    })
}

/// Parse a report, checking its schema version first so an incompatible file gets a clear message
/// rather than a confusing "missing field".
pub fn from_str(text: &str) -> anyhow::Result<Report> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        UserError::input(
            format!("not JSON ({}:{}): {e}", e.line(), e.column()),
            "pass the report.json from a cdnprobe run's output directory",
        )
    })?;
    let major = |v: &str| v.split('.').next().unwrap_or("").to_string();
    // 2.0 only moved fields into the one record type: a 1.x report reads into it (its
    // `from_browser_cache` as `from_disk_cache`), so history and `diff` keep working across it.
    let readable = |v: &str| major(v) == major(SCHEMA_VERSION) || major(v) == "1";
    let unsupported = |shown: &str| {
        UserError::input(
            format!(
                "unsupported schema_version {shown} (this cdnprobe reads 1.x and {}.x, and writes {SCHEMA_VERSION})",
                major(SCHEMA_VERSION)
            ),
            "use the cdnprobe version that wrote the report, or re-run the probe",
        )
    };
    // Present but not ours (a number, another major version) is not the same as absent: say
    // which version it is rather than "no schema_version".
    match value.get("schema_version") {
        None | Some(serde_json::Value::Null) => {
            return Err(UserError::input(
                "not a cdnprobe report.json (no `schema_version`)",
                "pass the report.json from a cdnprobe run's output directory (not capture.har)",
            )
            .into());
        }
        Some(serde_json::Value::String(v)) if readable(v) => {}
        Some(serde_json::Value::String(v)) => return Err(unsupported(v).into()),
        Some(other) => {
            let shown = other.to_string();
            return Err(unsupported(&crate::input::clip(&shown, 100)).into());
        }
    }
    serde_json::from_value(value).map_err(|e| {
        UserError::input(
            format!("not a valid cdnprobe report.json: {e}"),
            "the file was edited or truncated; re-run the probe",
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_refuses_other_majors() {
        let r = Report::new("https://jira.example.com/", chrono::Utc::now());
        let bytes = to_bytes(&r).unwrap();
        let back = from_str(std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert_eq!(back, r);

        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["schema_version"] = "3.0".into();
        let err = from_str(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("3.0"), "{err}");
        assert!(err.downcast_ref::<UserError>().is_some());

        let err = from_str(r#"{"log": {"entries": []}}"#).unwrap_err();
        assert!(err.to_string().contains("capture.har"), "{err}");
    }

    #[test]
    fn a_1_0_report_without_runs_or_sources_still_reads() {
        let r = Report::new("t", chrono::Utc::now());
        let mut v = serde_json::to_value(&r).unwrap();
        v["schema_version"] = "1.0".into();
        v.as_object_mut().unwrap().remove("runs");
        let back = from_str(&v.to_string()).unwrap();
        assert!(back.runs.is_empty());
    }

    #[test]
    fn a_1_9_request_reads_into_the_one_record_type() {
        let r = Report::new("t", chrono::Utc::now());
        let mut v = serde_json::to_value(&r).unwrap();
        v["schema_version"] = "1.9".into();
        // A 1.9 `requests[]` entry as that version wrote it (no status_text, no disk/memory
        // split, the classification beside the exchange's fields).
        v["requests"] = serde_json::json!([{
            "url": "https://jira.example.com/s/a/_/batch.js", "method": "GET", "status": 200,
            "resource_type": "Script", "asset_kind": "js", "behavior": "/s/*",
            "cache": {"provider": "cloudfront", "status": "hit", "raw": "Hit from cloudfront"},
            "request_headers": {}, "response_headers": {"x-cache": "Hit from cloudfront"},
            "failure": null, "from_browser_cache": true, "phase": "jira-smoke#2 goto /",
            "cors": "-", "id": "7", "target_type": "page", "timing": {"start_ms": 1.0}
        }]);
        let back = from_str(&v.to_string()).unwrap();
        let rec = &back.requests[0];
        assert!(rec.from_disk_cache && rec.from_browser_cache());
        assert_eq!(rec.class.behavior.as_deref(), Some("/s/*"));
        assert!(rec.class.cache.status.is_hit());
        assert_eq!(rec.phase, "jira-smoke#2 goto /");
    }
}
