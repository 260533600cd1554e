//! SIGINT, SIGTERM and SIGHUP: the first asks for a graceful stop, the second exits at once.
//!
//! Why all three alike: Ctrl-C is not the only way a run ends early. A CI job that times out
//! gets SIGTERM (GitLab, GitHub Actions, `timeout(1)`, `docker stop`, systemd), a closed SSH
//! session or terminal sends SIGHUP. With the default disposition those killed the process on
//! the spot: no report, exit 143, and an orphaned Chromium (with its temporary profile
//! directory) left running, because nothing of ours ran to stop it. So every one of them means
//! "stop now and keep what you have": the journeys stop, the partial report is written, the
//! browser is closed, exit 2 (the tool could not finish its job).
//!
//! A second signal means the user will not wait for that (a stuck browser, a slow disk): exit 2
//! at once, but still kill every registered Chromium and remove its profile directory first,
//! since nobody else will. That path cannot rely on `Drop` (it calls `process::exit`), hence the
//! registry of live browsers here.
//!
//! `run` also stops this way on SIGPIPE: `cdnprobe run ... 2>&1 | head` used to die of it at the
//! first log line after `head` exited, with the same results as an unhandled SIGTERM (exit 141,
//! no report, Chromium orphaned). A closed output is not a user in a hurry, and every later write
//! raises it again, so SIGPIPE never counts as the second signal; writes to the closed pipe then
//! fail with EPIPE, which every output of a run ignores (`output`).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tokio::sync::watch;

/// The signal that asked for the stop, once one has.
static STOP: OnceLock<watch::Sender<Option<&'static str>>> = OnceLock::new();

/// Browsers to kill if the user does not wait for a graceful stop: (registration id, main
/// process id, profile directory).
static BROWSERS: Mutex<Vec<(u64, Option<u32>, PathBuf)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn sender() -> &'static watch::Sender<Option<&'static str>> {
    STOP.get_or_init(|| watch::channel(None).0)
}

/// Whether a closed output pipe (SIGPIPE) stops the work too (`run`), or keeps its default
/// (`lab`, which writes nothing once it serves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClosedPipe {
    Stop,
    Default,
}

/// Start listening for SIGINT, SIGTERM and SIGHUP (inside a Tokio runtime), and SIGPIPE when
/// asked. Idempotent. From then on those signals no longer kill the process by themselves:
/// callers await [`requested`].
pub fn install(pipe: OnClosedPipe) -> std::io::Result<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let mut streams = listen(pipe)?;
    INSTALLED.get_or_init(|| ());
    let tx = sender();
    tokio::spawn(async move {
        let mut stopping = false;
        loop {
            let name = streams.next().await;
            if !stopping {
                stopping = true;
                tracing::debug!("{name}: stopping, writing the partial report");
                tx.send_replace(Some(name));
            } else if name != "SIGPIPE" {
                crate::output::to_stderr(&format!(
                    "{name} again: exiting at once (killing the browser first)"
                ));
                kill_registered_browsers();
                std::process::exit(crate::error::exit::CANNOT_RUN);
            }
        }
    });
    Ok(())
}

#[cfg(unix)]
struct Streams {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    pipe: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
fn listen(pipe: OnClosedPipe) -> std::io::Result<Streams> {
    use tokio::signal::unix::{SignalKind, signal};
    Ok(Streams {
        int: signal(SignalKind::interrupt())?,
        term: signal(SignalKind::terminate())?,
        hup: signal(SignalKind::hangup())?,
        pipe: match pipe {
            OnClosedPipe::Stop => Some(signal(SignalKind::pipe())?),
            OnClosedPipe::Default => None,
        },
    })
}

#[cfg(unix)]
impl Streams {
    async fn next(&mut self) -> &'static str {
        let pipe = async {
            match &mut self.pipe {
                Some(p) => p.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = pipe => "SIGPIPE",
        }
    }
}

#[cfg(not(unix))]
struct Streams;

#[cfg(not(unix))]
fn listen(_: OnClosedPipe) -> std::io::Result<Streams> {
    Ok(Streams)
}

#[cfg(not(unix))]
impl Streams {
    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Resolves once a stop was asked for (at once if it already was), with the signal's name.
/// Never resolves if [`install`] was not called.
pub async fn requested() -> &'static str {
    let mut rx = sender().subscribe();
    match rx.wait_for(Option::is_some).await {
        Ok(v) => v.unwrap_or("signal"),
        // The sender is a static: it is never dropped.
        Err(_) => std::future::pending().await,
    }
}

/// The signal that asked for a stop, if one has.
pub(crate) fn stop_requested() -> Option<&'static str> {
    *sender().borrow()
}

/// A browser known to [`install`]'s second-signal path; unregistered on drop.
#[derive(Debug)]
pub(crate) struct Registration(u64);

/// Register a browser's main process and profile directory, to be killed and removed if the
/// process exits on a second signal.
pub(crate) fn register_browser(pid: Option<u32>, profile: &Path) -> Registration {
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    BROWSERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, pid, profile.to_path_buf()));
    Registration(id)
}

impl Registration {
    /// The browser's main process, once it is known.
    pub(crate) fn set_pid(&self, pid: u32) {
        for b in BROWSERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
        {
            if b.0 == self.0 {
                b.1 = Some(pid);
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        BROWSERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(id, _, _)| *id != self.0);
    }
}

/// SIGKILL every registered browser: its main process, and every process whose command line
/// names its profile directory (zygotes, renderers, GPU and utility processes all carry
/// `--user-data-dir=`; they would die on their own once the main process is gone, but not
/// necessarily before we exit), then remove the profile directories.
fn kill_registered_browsers() {
    let browsers = BROWSERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (_, pid, profile) in &browsers {
        let marker = format!("--user-data-dir={}", profile.display());
        let mut pids: Vec<u32> = pid.iter().copied().collect();
        pids.extend(processes_mentioning(&marker));
        for p in &pids {
            kill(*p);
        }
        // A process killed while writing could recreate a file right after the removal: wait
        // (briefly) for them to be gone, then remove.
        for _ in 0..50 {
            if pids.iter().all(|p| !alive(*p)) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Helpers that were not (yet) visible in /proc may still write for a moment: retry.
        for _ in 0..20 {
            let _ = std::fs::remove_dir_all(profile);
            if !profile.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

#[cfg(unix)]
fn kill(pid: u32) {
    // SAFETY: kill(2) has no memory effects; a stale pid at worst gets ESRCH.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill(_pid: u32) {}

/// Still running: not gone and not a zombie (a zombie holds no files).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Process ids whose command line contains `marker` (Linux /proc; none elsewhere).
fn processes_mentioning(marker: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = std::process::id();
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != own)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(marker))
                .unwrap_or(false)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_removed_on_drop() {
        let dir = Path::new("/nonexistent/cdnprobe-registration-test");
        let r = register_browser(None, dir);
        assert!(BROWSERS.lock().unwrap().iter().any(|(_, _, p)| p == dir));
        drop(r);
        assert!(!BROWSERS.lock().unwrap().iter().any(|(_, _, p)| p == dir));
    }

    #[test]
    fn our_own_process_is_alive_and_a_missing_one_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
    }
}
