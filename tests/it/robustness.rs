//! Robustness: Ctrl-C, SIGTERM, SIGHUP or a closed output pipe mid-run leave a partial report,
//! and no run leaves a Chromium (or its profile directory) behind, not even one killed by
//! SIGKILL.
//! Each run gets its own TMPDIR, so its Chromium profile directory (and with it every Chromium
//! process of that run) can be recognised in /proc.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::{Log, block_on, serve_logged};

/// Processes whose command line mentions `marker` (other than ourselves).
fn processes_mentioning(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.chars().all(|c| c.is_ascii_digit()))
        else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(marker) {
                out.push(format!("{pid}: {cmd}"));
            }
        }
    }
    out
}

fn wait_until(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

fn slow_site() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async {
                axum::response::Html(
                    "<!doctype html><link rel=icon href='data:,'><img src='/slow.png'>",
                )
            }),
        )
        .route(
            "/slow.png",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(120)).await;
                "never"
            }),
        )
}

/// A run of the binary that is mid-journey: its page was served, the slow image is pending.
struct MidRun {
    child: std::process::Child,
    tmp: tempfile::TempDir,
    out: std::path::PathBuf,
    port: u16,
}

fn start_mid_journey(extra: &[&str]) -> MidRun {
    let log: Log = Default::default();
    let addr = block_on(serve_logged("a", slow_site(), log.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let child = crate::common::cdnprobe_process()
        .args([
            "run",
            &format!("http://127.0.0.1:{}/", addr.port()),
            "--quiet",
        ])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(60), || log
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.uri == "/")),
        "the page was never requested"
    );
    std::thread::sleep(Duration::from_millis(500));
    MidRun {
        child,
        tmp,
        out,
        port: addr.port(),
    }
}

#[test]
fn ctrl_c_mid_run_writes_a_partial_report_and_leaves_no_chromium() {
    let MidRun {
        mut child,
        tmp,
        out,
        port,
    } = start_mid_journey(&[]);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(exit.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("partial report"), "stderr: {stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["partial"], true);
    assert!(
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["url"].as_str().unwrap().ends_with(&format!("{}/", port))),
        "what was captured before Ctrl-C is in the report"
    );
    let marker = tmp.path().to_string_lossy().to_string();
    assert!(
        wait_until(Duration::from_secs(10), || processes_mentioning(&marker)
            .iter()
            .all(|p| !p.contains("chrom"))),
        "Chromium processes left behind: {:?}",
        processes_mentioning(&marker)
    );
}

#[test]
fn a_normal_run_leaves_no_chromium_behind() {
    let log: Log = Default::default();
    // Through a CDN, uncached: verification says BYPASS and the run passes.
    let router = Router::new().route(
        "/",
        get(|| async {
            (
                [("x-cache", "Miss from cloudfront")],
                axum::response::Html("<p>ok</p>"),
            )
        }),
    );
    let addr = block_on(serve_logged("a", router, log));
    let tmp = tempfile::tempdir().unwrap();
    let status = crate::common::cdnprobe_process()
        .args([
            "run",
            &format!("http://127.0.0.1:{}/", addr.port()),
            "--quiet",
            "--out",
        ])
        .arg(tmp.path().join("out"))
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let marker = tmp.path().to_string_lossy().to_string();
    assert!(
        wait_until(Duration::from_secs(10), || processes_mentioning(&marker)
            .is_empty()),
        "processes left behind: {:?}",
        processes_mentioning(&marker)
    );
}

#[test]
fn a_chromium_crash_mid_run_still_leaves_the_report() {
    let MidRun {
        mut child,
        tmp,
        out,
        port,
    } = start_mid_journey(&["--no-verify"]);
    // Crash the browser: kill every Chromium process of this run.
    let marker = tmp.path().to_string_lossy().to_string();
    for p in processes_mentioning(&marker) {
        if p.contains("chrom") {
            let pid = p.split(':').next().unwrap();
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    let exit = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(exit.code(), Some(2), "stderr: {stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["journeys"][0]["ok"], false, "stderr: {stderr}");
    assert!(
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["url"].as_str().unwrap().ends_with(&format!("{}/", port))),
        "what was captured before the crash is in the report"
    );
}

/// The Chromium profile directory of a run whose TMPDIR is `tmp` (there is exactly one).
fn profile_dir_of(tmp: &std::path::Path) -> std::path::PathBuf {
    let mut found = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            found = std::fs::read_dir(tmp).unwrap().flatten().find_map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("cdnprobe-chromium-")
                    .then(|| e.path())
            });
            found.is_some()
        }),
        "no Chromium profile directory in {}",
        tmp.display()
    );
    found.unwrap()
}

/// The profile directory of the run whose TMPDIR is `tmp`, once its Chromium is running and
/// recognisable by its `--user-data-dir` (what [`assert_browser_gone`] looks for).
fn running_browser_profile(tmp: &std::path::Path) -> std::path::PathBuf {
    let profile = profile_dir_of(tmp);
    let marker = format!("--user-data-dir={}", profile.display());
    assert!(
        !processes_mentioning(&marker).is_empty(),
        "the run's Chromium is recognisable by {marker}"
    );
    profile
}

/// Every Chromium process of the run whose profile is `profile` (recognised by its
/// `--user-data-dir`) gone within `processes`, and then the profile directory within
/// `profile_dir` (zero: it must be gone already). `context` ends the failure messages.
fn assert_browser_gone(
    profile: &std::path::Path,
    processes: Duration,
    profile_dir: Duration,
    context: &str,
) {
    let marker = format!("--user-data-dir={}", profile.display());
    assert!(
        wait_until(processes, || processes_mentioning(&marker).is_empty()),
        "Chromium processes of this run left behind: {:?}{context}",
        processes_mentioning(&marker)
    );
    assert!(
        wait_until(profile_dir, || !profile.exists()),
        "the profile directory {} is left behind{context}",
        profile.display()
    );
}

/// Send `signals` to the run in this order (each with its own kill(2)), wait for it, and check
/// what every way of stopping must leave: exit 2, a report.json, no Chromium of this run
/// (recognised by its `--user-data-dir`) and no profile directory.
fn stop_with(signals: &[libc::c_int]) -> (String, Option<serde_json::Value>) {
    let MidRun {
        mut child,
        tmp,
        out,
        port: _,
    } = start_mid_journey(&[]);
    let profile = running_browser_profile(tmp.path());
    for &s in signals {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, s) }, 0);
    }
    let exit = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(exit.code(), Some(2), "stderr: {stderr}");
    assert_browser_gone(
        &profile,
        Duration::from_secs(10),
        Duration::ZERO,
        &format!("\nstderr: {stderr}"),
    );
    let report = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|r| serde_json::from_str(&r).unwrap());
    (stderr, report)
}

#[test]
fn sigterm_mid_run_is_handled_like_ctrl_c() {
    let (stderr, report) = stop_with(&[libc::SIGTERM]);
    assert!(stderr.contains("partial report"), "stderr: {stderr}");
    let report = report.expect("report.json written");
    assert_eq!(report["summary"]["partial"], true);
    assert_eq!(report["summary"]["exit_code"], 2);
    assert!(
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["url"].as_str().unwrap().starts_with("http://127.0.0.1:")),
        "what was captured before SIGTERM is in the report"
    );
    assert_eq!(
        report["journeys"][0]["steps"][0]["error"], "interrupted by SIGTERM",
        "the interrupted journey says what stopped it"
    );
}

#[test]
fn sighup_mid_run_is_handled_like_ctrl_c() {
    let (stderr, report) = stop_with(&[libc::SIGHUP]);
    assert!(stderr.contains("partial report"), "stderr: {stderr}");
    assert_eq!(
        report.expect("report.json written")["summary"]["partial"],
        true
    );
}

#[test]
fn a_second_signal_exits_at_once_and_still_kills_the_browser() {
    // Two different signals back to back (two of the same kind could merge into one pending
    // signal). Whether the graceful stop had finished before the second arrived or not, the
    // run ends with 2 and leaves no Chromium and no profile behind (checked by stop_with).
    let (stderr, _) = stop_with(&[libc::SIGTERM, libc::SIGINT]);
    assert!(
        stderr.contains("exiting at once") || stderr.contains("partial report"),
        "stderr: {stderr}"
    );
}

/// SIGKILL (or the OOM killer) cannot be caught, so nothing of the run's own can stop its
/// browser: the reaper it started beside the browser does, once the run's end of its pipe closes.
#[test]
fn a_killed_run_leaves_no_chromium_behind() {
    let MidRun {
        mut child,
        tmp,
        out: _,
        port: _,
    } = start_mid_journey(&[]);
    let profile = running_browser_profile(tmp.path());
    child.kill().unwrap();
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), None, "killed: {exit:?}");
    assert_browser_gone(
        &profile,
        Duration::from_secs(30),
        Duration::from_secs(30),
        " (the run was killed)",
    );
}

/// `cdnprobe run ... 2>&1 | head`: once the reader of its output has gone, the next write raises
/// SIGPIPE, which used to kill the run on the spot (exit 141, no report, Chromium orphaned with
/// its profile). It is a graceful stop now, like SIGHUP; later writes fail quietly.
#[test]
fn a_closed_output_pipe_mid_run_is_handled_like_ctrl_c() {
    use std::io::BufRead;
    let log: Log = Default::default();
    let addr = block_on(serve_logged("a", slow_site(), log));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = crate::common::cdnprobe_process()
        .args([
            "run",
            &format!("http://127.0.0.1:{}/", addr.port()),
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .env("TMPDIR", tmp.path())
        // The protocol trace writes a line every time the page is polled, so a write follows
        // the pipe's closing while the journey waits for the slow image.
        .env("RUST_LOG", "cdnprobe=debug,cdnprobe::cdp=trace")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let navigating = line.contains("Page.navigate");
        seen.push(line);
        if navigating {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("Page.navigate")),
        "the journey never navigated: {seen:?}"
    );
    let profile = profile_dir_of(tmp.path());
    drop(lines); // what `head` does when it has its lines
    let exit = child.wait().unwrap();
    assert_eq!(
        exit.code(),
        Some(2),
        "{exit:?}: killed by SIGPIPE (141 in a shell) or a panic (101) instead of stopping"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["partial"], true);
    assert_eq!(
        report["journeys"][0]["steps"][0]["error"],
        "interrupted by SIGPIPE"
    );
    assert_browser_gone(&profile, Duration::from_secs(10), Duration::ZERO, "");
}

#[test]
fn the_lab_stops_gracefully_on_sigterm() {
    use std::io::BufRead;
    let mut child = crate::common::cdnprobe_process()
        .arg("lab")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        if line.unwrap().contains("Serving until Ctrl-C") {
            break;
        }
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let exit = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(exit.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("SIGTERM: stopping the lab"),
        "stderr: {stderr}"
    );
}
