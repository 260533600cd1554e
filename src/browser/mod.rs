//! Headless Chromium: launch, one isolated page per journey, and the capture of its traffic.
//!
//! chromiumoxide launches and owns the Chromium process (flags, profile directory, finding the
//! DevTools websocket, killing it). Its own CDP connection is closed as soon as the browser is up:
//! kept open, it attached to every page we open and enabled Network, Page, Runtime, Log and
//! Performance there a second time, so Chromium sent every event twice and chromiumoxide parsed
//! each into its typed structs (failing on about one per request on Chromium 156). Pages are
//! driven and captured over our own lenient CDP connection (`cdp`), attached with
//! `Target.setAutoAttach {flatten}` so that cross-site iframes and workers — which live in targets
//! of their own — are captured too; the browser is closed over it too (`Browser.close`). See
//! DESIGN.md "Chromium capture facts" for why each of these choices was made.

pub mod capture;
pub mod cdp;
pub(crate) mod discover;
pub mod login;
pub mod page;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

pub use capture::Recorder;

use crate::exchange::CdpStats;

pub use cdp::Cdp;
pub use page::Page;

use crate::error::UserError;

#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// Explicit Chromium binary (`--chrome`); else `CHROME`, then PATH.
    pub chrome: Option<PathBuf>,
    /// CDP command timeout.
    pub timeout: Duration,
    /// Accept invalid TLS certificates (`--insecure`). Off by default: a TLS problem is a finding.
    pub insecure: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            chrome: None,
            timeout: Duration::from_secs(30),
            insecure: false,
        }
    }
}

/// Find the Chromium binary: `--chrome`, then `$CHROME`, then PATH.
pub(crate) fn find_chrome(explicit: Option<&Path>) -> Result<PathBuf, UserError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(UserError::ChromiumMissing {
                detail: format!("--chrome {} does not exist", p.display()),
            })
        };
    }
    if let Some(p) = std::env::var_os("CHROME").filter(|s| !s.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            which::which(&p).map_err(|_| UserError::ChromiumMissing {
                detail: format!("CHROME={} does not exist", p.display()),
            })
        };
    }
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        if let Ok(p) = which::which(name) {
            return Ok(p);
        }
    }
    Err(UserError::ChromiumMissing {
        detail: "no chromium, chromium-browser or google-chrome on PATH".into(),
    })
}

pub struct Browser {
    inner: chromiumoxide::Browser,
    cdp: Cdp,
    _profile: tempfile::TempDir,
    version: String,
    timeout: Duration,
    /// Recorders of every page opened, so an interrupted run can still collect what a page
    /// captured (a finished page's recorder is already drained).
    recorders: std::sync::Mutex<Vec<Recorder>>,
    /// Known to the second-signal path (`interrupt`), which kills the browser and removes its
    /// profile when the process exits without waiting for [`Browser::close`].
    _registration: crate::interrupt::Registration,
    /// The write end of the reaper's stdin (see [`spawn_reaper`]): closed when this browser is
    /// dropped, or by the kernel when this process dies however it dies.
    reaper: Option<tokio::process::ChildStdin>,
}

/// Reads its stdin: a line means the browser was closed and its profile removed, so there is
/// nothing to do; EOF without one means we are gone without closing it. Then it SIGKILLs every
/// process whose command line has the argument `--user-data-dir=$1` (Chromium and all its
/// helpers carry it) and removes the directory `$1`. Its own arguments never match: the script
/// names the option with `$1` unexpanded.
const REAPER: &str = r#"if read _closed; then exit 0; fi
for d in /proc/[0-9]*; do
  if tr '\0' '\n' < "$d/cmdline" 2>/dev/null | grep -qxF -- "--user-data-dir=$1"; then
    kill -9 "${d#/proc/}" 2>/dev/null
  fi
done
rm -rf -- "$1""#;

/// A process that outlives us to remove the browser if nothing of ours can: SIGKILL, the OOM
/// killer, an abort, a drop without [`Browser::close`]. Signals we can catch stop the run
/// gracefully (`interrupt`); these cannot be caught, and chromiumoxide spawns Chromium itself,
/// so it cannot be given PR_SET_PDEATHSIG.
/// The reaper learns of our end from its stdin, a pipe only we hold (std opens it close-on-exec,
/// so Chromium never inherits it).
fn spawn_reaper(profile: &Path) -> Option<tokio::process::ChildStdin> {
    let child = tokio::process::Command::new("sh")
        .args(["-c", REAPER, "cdnprobe-reaper"])
        .arg(profile)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        // Dropped unwaited: tokio reaps it once it exits.
        Ok(mut child) => child.stdin.take(),
        Err(e) => {
            tracing::debug!(target: "cdnprobe::browser", "no reaper for the browser ({e}): if this process is killed, Chromium stays");
            None
        }
    }
}

impl Browser {
    pub async fn launch(opts: &BrowserOptions) -> anyhow::Result<Browser> {
        let exe = find_chrome(opts.chrome.as_deref())?;
        let profile = tempfile::Builder::new()
            .prefix("cdnprobe-chromium-")
            .tempdir()
            .context("creating a temporary Chromium profile directory")?;
        // Registered before the launch, so that a second signal during it still finds the
        // processes (by their --user-data-dir) and removes the profile.
        let registration = crate::interrupt::register_browser(None, profile.path());
        let reaper = spawn_reaper(profile.path());
        let mut builder = chromiumoxide::BrowserConfig::builder()
            .chrome_executable(&exe)
            .user_data_dir(profile.path())
            .no_sandbox()
            .request_timeout(opts.timeout)
            .launch_timeout(Duration::from_secs(30))
            .window_size(1366, 900)
            // Switch names without the leading `--` (chromiumoxide adds it).
            .args([
                "disable-gpu",
                "disable-dev-shm-usage",
                "no-first-run",
                "no-default-browser-check",
                "disable-background-networking",
                "disable-component-update",
                "disable-sync",
                "disable-default-apps",
                "disable-extensions",
                "metrics-recording-only",
                "mute-audio",
                "disable-features=Translate,MediaRouter,OptimizationHints",
                // No first tab: every page is made in its own browser context anyway, and the
                // initial about:blank cost a renderer process at every launch.
                "no-startup-window",
            ]);
        if !opts.insecure {
            builder = builder.respect_https_errors();
        }
        let config = builder
            .build()
            .map_err(|e| anyhow::anyhow!("invalid browser configuration: {e}"))?;
        let (mut inner, handler) = chromiumoxide::Browser::launch(config).await.map_err(|e| {
            UserError::ChromiumMissing {
                detail: format!("{} failed to start: {e}", exe.display()),
            }
        })?;
        if let Some(pid) = inner.get_mut_child().and_then(|c| c.as_mut_inner().id()) {
            registration.set_pid(pid);
        }
        // Closes chromiumoxide's connection (see the module doc): it is never polled, so it
        // never attaches to a page.
        drop(handler);
        let cdp = Cdp::connect(inner.websocket_address(), opts.timeout).await?;
        // Certificate errors are ignored only when asked, and then before any page exists, on
        // our connection: chromiumoxide's handler (which no longer runs) sent its own
        // `Security.setIgnoreCertificateErrors` at some point after launch, which raced the
        // first navigation (a flaky ERR_CERT_AUTHORITY_INVALID under --insecure).
        if opts.insecure {
            cdp.call(
                None,
                "Security.setIgnoreCertificateErrors",
                json!({"ignore": true}),
            )
            .await
            .context("telling Chromium to ignore TLS certificate errors (--insecure)")?;
        }
        let version = cdp
            .call(None, "Browser.getVersion", json!({}))
            .await
            .ok()
            .and_then(|v| {
                v.get("product")
                    .and_then(|p| p.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        Ok(Browser {
            inner,
            cdp,
            _profile: profile,
            version,
            timeout: opts.timeout,
            recorders: Default::default(),
            _registration: registration,
            reaper,
        })
    }

    /// Process id of the Chromium main process (test harnesses use it to kill a browser that is
    /// held in a static and therefore never dropped).
    pub fn pid(&mut self) -> Option<u32> {
        self.inner
            .get_mut_child()
            .and_then(|c| c.as_mut_inner().id())
    }

    /// `http://127.0.0.1:PORT`: the browser's remote-debugging HTTP server, which also serves
    /// Chromium's own DevTools frontend under `/devtools/` (tests load DevTools' HAR importer
    /// from there to prove capture.har opens in DevTools).
    pub fn debugging_http_base(&self) -> Option<String> {
        let ws = url::Url::parse(self.inner.websocket_address()).ok()?;
        Some(format!("http://{}:{}", ws.host_str()?, ws.port()?))
    }

    /// The temporary profile directory (removed when the browser is dropped).
    pub fn profile_dir(&self) -> &std::path::Path {
        self._profile.path()
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// A new page in a fresh browser context (its own cookie jar and an empty HTTP cache, as a
    /// first-time visitor's), with capture running.
    pub async fn new_page(&self) -> anyhow::Result<Page> {
        let page = Page::open(self.cdp.clone(), self.timeout).await?;
        self.recorders.lock().unwrap().push(page.recorder.clone());
        Ok(page)
    }

    /// Whatever pages captured and nobody collected yet (after Ctrl-C or a crash mid-journey).
    pub(crate) fn drain_uncollected(&self) -> Vec<crate::exchange::Exchange> {
        self.recorders
            .lock()
            .unwrap()
            .drain(..)
            .flat_map(|r| r.take_exchanges())
            .collect()
    }

    pub fn stats(&self) -> CdpStats {
        CdpStats {
            messages: self.cdp.stats.messages.load(Ordering::Relaxed),
            events: self.cdp.stats.events.load(Ordering::Relaxed),
            parse_errors: self.cdp.stats.parse_errors.load(Ordering::Relaxed),
            driver_parse_errors: crate::logging::driver_parse_errors(),
            chromium_version: self.version.clone(),
        }
    }

    /// Close gracefully (`Browser.close`), then kill; never leave a Chromium process behind.
    pub async fn close(mut self) {
        // Chromium may drop the connection before it answers: either way it is closing.
        let _ = self
            .cdp
            .call_with_timeout(None, "Browser.close", json!({}), Duration::from_secs(5))
            .await;
        tracing::debug!(target: "cdnprobe::browser", "Browser.close answered");
        let exited = tokio::time::timeout(Duration::from_secs(5), self.inner.wait()).await;
        tracing::debug!(target: "cdnprobe::browser", "Chromium exited: {exited:?}");
        if !matches!(exited, Ok(Ok(_))) {
            let _ = self.inner.kill().await;
        }
        if let Ok(None) = self.inner.try_wait() {
            let _ = self.inner.kill().await;
            let _ = self.inner.wait().await;
        }
        // Chromium's helper processes can still write into the profile for a moment after the
        // main process is gone, and one pass of remove_dir_all then leaves a directory behind:
        // retry until it stays gone (at most about a second).
        let dir = self._profile.path().to_path_buf();
        for i in 0..20 {
            let _ = std::fs::remove_dir_all(&dir);
            if !dir.exists() {
                tracing::debug!(target: "cdnprobe::browser", "profile removed after {} passes", i + 1);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Closed and gone: the reaper has nothing to do, and is told so (its scan of /proc
        // costs about 0.4 s of CPU). Anything left, it removes once we exit.
        if !dir.exists()
            && let Some(mut reaper) = self.reaper.take()
        {
            use tokio::io::AsyncWriteExt;
            let _ = reaper.write_all(b"closed\n").await;
        }
    }
}
