//! Publishing a run's metrics, shared by `run` and `analyze`: the textfile for node_exporter and
//! the Pushgateway (rendering them is `metrics`'s; this is only the I/O).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cli::RecordArgs;
use crate::history::summary::RunSummary;
use crate::metrics::{push_url, render};

/// Write `--metrics-file` and push to `--pushgateway`, as asked. Failures are warnings.
pub async fn publish(args: &RecordArgs, run: &RunSummary) {
    if let Some(path) = &args.metrics_file {
        let text = render(run, &run.labels);
        // Atomic: the textfile collector must never read half a file (it ignores `*.tmp`).
        if let Err(e) = crate::report::write_atomically(path, text.as_bytes()) {
            crate::output::to_stderr(&format!(
                "warning: metrics not written to {}: {e:#}\n  hint: check the directory exists and is writable",
                path.display()
            ));
        }
    }
    if let Some(base) = &args.pushgateway
        && let Err(e) = push(base, run).await
    {
        crate::output::to_stderr(&format!(
            "warning: metrics not pushed to {}: {e:#}\n  hint: check the Pushgateway's URL and that it is up (the run's result and files stand)",
            crate::logging::redact(base.as_str())
        ));
    }
}

/// PUT the run's metrics (replacing the group's previous run). Returns the URL pushed to.
async fn push(base: &url::Url, run: &RunSummary) -> anyhow::Result<String> {
    let url = push_url(base, &run.labels);
    let client = crate::verify::http::client_builder(Duration::from_secs(30), false).build()?;
    let resp = client
        .put(&url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )
        .body(render(run, &BTreeMap::new()))
        .send()
        .await?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        anyhow::bail!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>().trim()
        );
    }
    Ok(url)
}
