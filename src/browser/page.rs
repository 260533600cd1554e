//! One page in its own browser context: journey actions (goto, click, fill, ...) and capture.
//!
//! Actions are done the way a user would (real mouse events at the element's centre, text typed
//! with `Input.insertText`, keys with `Input.dispatchKeyEvent`), so pages behave as they do for
//! people. Every wait polls with a deadline, so no step can hang a smoke check.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::capture::Recorder;
use super::cdp::{Cdp, CdpError};

/// How long the network must stay quiet to count as idle.
const IDLE_QUIET: Duration = Duration::from_millis(500);
/// Requests older than this are ignored for idleness (long polls, heartbeats).
const IDLE_IGNORE_OLDER: Duration = Duration::from_secs(10);
/// How often a wait looks again: one `Runtime.evaluate` (or a look at the capture) each time.
const POLL: Duration = Duration::from_millis(20);

pub struct Page {
    cdp: Cdp,
    session: String,
    target_id: String,
    context_id: String,
    pub recorder: Recorder,
    pump: tokio::task::JoinHandle<()>,
    /// The `seq` of the last connection event the pump has handed to the recorder (or skipped).
    handled: Arc<AtomicU64>,
    /// Sessions of this page and of the frames/workers attached under it.
    sessions: Arc<Mutex<Vec<String>>>,
    /// `--header`s, applied to every session (frames and workers attach later).
    extra_headers: Arc<Mutex<Option<Value>>>,
    timeout: Duration,
    /// Background tasks bound to this page (the GET/HEAD-only guard), stopped on close.
    guards: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// What a failed action says (turned into a `UserError::Step` by the runner).
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{0}")]
    Failed(String),
    #[error("timed out after {0:?}: {1}")]
    Timeout(Duration, String),
    #[error("{url}: {error}")]
    Navigation { url: String, error: String },
    #[error(transparent)]
    Cdp(#[from] CdpError),
}

impl Page {
    pub(super) async fn open(cdp: Cdp, timeout: Duration) -> anyhow::Result<Page> {
        let opened = Instant::now();
        let recorder = Recorder::new();
        let sessions: Arc<Mutex<Vec<String>>> = Default::default();
        let extra_headers: Arc<Mutex<Option<Value>>> = Default::default();
        // Subscribe before anything can happen, so no event is missed.
        let (mut events, before) = cdp.subscribe();
        let handled = Arc::new(AtomicU64::new(before));
        let ctx = cdp
            .call(
                None,
                "Target.createBrowserContext",
                json!({"disposeOnDetach": true}),
            )
            .await?;
        let context_id = ctx["browserContextId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let target = cdp
            .call(
                None,
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context_id}),
            )
            .await?;
        let target_id = target["targetId"].as_str().unwrap_or_default().to_string();
        let attached = cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await?;
        let session = attached["sessionId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        recorder.add_session(&session, "page");
        sessions.lock().unwrap().push(session.clone());

        // The pump feeds the recorder and attaches to child targets (cross-site iframes, workers)
        // as they appear; they start paused so their first request is not missed.
        let (rec2, cdp2, sess2, hdr2, handled2) = (
            recorder.clone(),
            cdp.clone(),
            sessions.clone(),
            extra_headers.clone(),
            handled.clone(),
        );
        let pump = tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                // Counted as handled once the recorder has it: when this guard drops, on every
                // path through the loop (the `continue`s too).
                let _mark = HandledOnDrop(&handled2, ev.seq);
                let Some(sid) = ev.session_id.as_deref() else {
                    continue;
                };
                if !rec2.has_session(sid) {
                    continue;
                }
                if ev.method == "Target.attachedToTarget" {
                    let child = ev.params["sessionId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let kind = ev.params["targetInfo"]["type"]
                        .as_str()
                        .unwrap_or("other")
                        .to_string();
                    rec2.add_session(&child, &kind);
                    sess2.lock().unwrap().push(child.clone());
                    let cdp3 = cdp2.clone();
                    let headers = hdr2.lock().unwrap().clone();
                    tokio::spawn(async move {
                        prepare_session(&cdp3, &child, headers, true).await;
                    });
                    continue;
                }
                rec2.on_event(Some(sid), &ev.method, &ev.params);
            }
        });

        let page = Page {
            cdp,
            session,
            target_id,
            context_id,
            recorder,
            pump,
            handled,
            sessions,
            extra_headers,
            timeout,
            guards: Mutex::new(Vec::new()),
        };
        prepare_session(&page.cdp, &page.session, None, false).await;
        page.call("Page.enable", json!({})).await?;
        page.call("Runtime.enable", json!({})).await?;
        // Browser log errors (failed loads, CSP violations) for `Recorder::console_errors`.
        let _ = page.call("Log.enable", json!({})).await;
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await?;
        tracing::debug!(target: "cdnprobe::browser", "page open after {:?}", opened.elapsed());
        Ok(page)
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, CdpError> {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// Evaluate JavaScript in the main frame and return its JSON value.
    pub async fn eval(&self, expression: &str) -> Result<Value, ActionError> {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(ex) = r.get("exceptionDetails") {
            let text = ex
                .pointer("/exception/description")
                .or_else(|| ex.get("text"))
                .and_then(Value::as_str)
                .unwrap_or("script error");
            return Err(ActionError::Failed(text.to_string()));
        }
        Ok(r.pointer("/result/value").cloned().unwrap_or(Value::Null))
    }

    /// Navigate and wait for the load event, then for the network to go idle.
    ///
    /// One deadline for both waits (the step's timeout holds). A document that fails after
    /// `Page.navigate` answered (a reset after the headers) is reported with Chromium's own
    /// error, not as a timeout.
    pub async fn goto(&self, url: &str, timeout: Duration) -> Result<(), ActionError> {
        let deadline = Instant::now() + timeout;
        // The mark must follow every earlier request, or an earlier document's failure would
        // count as this one's.
        self.caught_up(deadline).await;
        let mark = self.recorder.mark();
        let r = self.call("Page.navigate", json!({"url": url})).await?;
        if let Some(err) = r.get("errorText").and_then(Value::as_str)
            && !err.is_empty()
        {
            return Err(ActionError::Navigation {
                url: url.to_string(),
                error: err.to_string(),
            });
        }
        self.wait_until(timeout, "the page to load", || async {
            if let Some((failed_url, error)) = self.recorder.document_failure_since(mark) {
                return Err(ActionError::Navigation {
                    url: failed_url,
                    error,
                });
            }
            Ok(self.eval("document.readyState").await? == json!("complete"))
        })
        .await?;
        let loaded = timeout.saturating_sub(deadline.saturating_duration_since(Instant::now()));
        let idle = self
            .wait_idle(deadline.saturating_duration_since(Instant::now()))
            .await;
        tracing::debug!(target: "cdnprobe::browser", "goto: loaded after {loaded:?}, idle after {:?}", timeout.saturating_sub(deadline.saturating_duration_since(Instant::now())));
        idle
    }

    /// Empty this page's HTTP cache (its browser context's), so the next load is a first-time
    /// visitor's again. It adds no header to the requests, unlike disabling the cache.
    pub(crate) async fn clear_browser_cache(&self) -> Result<(), ActionError> {
        self.call("Network.clearBrowserCache", json!({})).await?;
        Ok(())
    }

    /// Wait until no request (younger than 10 s) is in flight and none has started or ended for
    /// 500 ms. When the network has already been quiet that long this returns at once, so an
    /// explicit `wait_idle` step right after a `goto` (which waits for idle itself) costs nothing.
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), ActionError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.caught_up(deadline).await;
            let (inflight, since_activity) = self.recorder.activity(IDLE_IGNORE_OLDER);
            if inflight == 0 && since_activity.is_none_or(|d| d >= IDLE_QUIET) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                // Not fatal: some pages never go idle (polling). Say so and continue.
                tracing::warn!(target: "cdnprobe::browser", "network still busy after {timeout:?} ({inflight} requests in flight); continuing");
                return Ok(());
            }
            // Nothing in flight: sleep until the quiet window would end (activity meanwhile
            // moves it), rather than up to a whole poll past it.
            let nap = match (inflight, since_activity) {
                (0, Some(d)) => IDLE_QUIET.saturating_sub(d).max(Duration::from_millis(1)),
                _ => POLL,
            };
            tokio::time::sleep(nap.min(deadline - now)).await;
        }
    }

    /// Wait (until `deadline` at most) for the recorder to have every event the browser sent
    /// before now. Answers to calls are read on the connection's task and go straight to the
    /// caller, while events reach the recorder through this page's pump, which a loaded machine
    /// can run late: a navigation whose answer has come but whose requests are still queued
    /// looked idle, and its requests were missing from the capture (seen in CI: a redirect's
    /// two requests, under `RUST_LOG=trace` on two busy cores). Usually this returns at once.
    pub(crate) async fn caught_up(&self, deadline: Instant) {
        let wanted = self.cdp.events_received();
        while self.handled.load(Ordering::SeqCst) < wanted && !self.pump.is_finished() {
            if Instant::now() >= deadline {
                tracing::debug!(target: "cdnprobe::browser", "the capture is still behind the browser's events at the deadline");
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn wait_until<F, Fut>(
        &self,
        timeout: Duration,
        what: &str,
        mut check: F,
    ) -> Result<(), ActionError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool, ActionError>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            match check().await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                // Navigations destroy the execution context mid-evaluation: just retry.
                Err(ActionError::Failed(_)) | Err(ActionError::Cdp(CdpError::Protocol { .. })) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Err(ActionError::Timeout(timeout, format!("waiting for {what}")));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Wait until the JavaScript expression `js` is `true`.
    pub(crate) async fn wait_until_true(
        &self,
        js: &str,
        what: &str,
        timeout: Duration,
    ) -> Result<(), ActionError> {
        self.wait_until(timeout, what, || async {
            Ok(self.eval(js).await? == json!(true))
        })
        .await
    }

    /// Wait for a visible element matching `selector`.
    pub async fn wait_for(&self, selector: &str, timeout: Duration) -> Result<(), ActionError> {
        let sel = serde_json::to_string(selector).unwrap();
        let js = format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; }})()"
        );
        self.wait_until(timeout, &format!("element {selector}"), || async {
            Ok(self.eval(&js).await? == json!(true))
        })
        .await
    }

    /// Wait until one of `alternatives` is visible and return its index (the first in the list
    /// wins when several are). Meanwhile every visible `dismiss` selector is clicked (onboarding
    /// pages, "what's new" and timezone dialogs that cover the page on real instances); the
    /// selectors clicked are returned too.
    pub(crate) async fn first_visible(
        &self,
        alternatives: &[String],
        dismiss: &[String],
        timeout: Duration,
    ) -> Result<(usize, Vec<String>), ActionError> {
        let alts = serde_json::to_string(alternatives).unwrap();
        let dis = serde_json::to_string(dismiss).unwrap();
        // One evaluation per poll: dismiss what covers the page, then look for the alternatives.
        // At most one dismiss click per poll, and never twice on one element: a click that
        // navigates would otherwise be repeated while the old page is still shown, aborting the
        // navigation it started.
        let js = format!(
            "(() => {{ const vis = e => {{ if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; }}; \
             const q = s => {{ try {{ return document.querySelector(s); }} catch (_) {{ return null; }} }}; \
             const clicked = []; for (const s of {dis}) {{ const e = q(s); if (vis(e) && !e.dataset.cdnprobeDismissed) {{ e.dataset.cdnprobeDismissed = '1'; e.click(); clicked.push(s); break; }} }} \
             const alts = {alts}; for (let i = 0; i < alts.length; i++) {{ if (vis(q(alts[i]))) return [i, clicked]; }} return [-1, clicked]; }})()"
        );
        let state: Mutex<(Option<usize>, Vec<String>)> = Mutex::new((None, Vec::new()));
        let what = format!("element {}", alternatives.join(" or "));
        self.wait_until(timeout, &what, || async {
            let v = self.eval(&js).await?;
            let mut st = state.lock().unwrap();
            for c in v[1].as_array().into_iter().flatten() {
                if let Some(c) = c.as_str() {
                    st.1.push(c.to_string());
                }
            }
            let i = v[0].as_i64().unwrap_or(-1);
            if i >= 0 {
                st.0 = Some(i as usize);
            }
            Ok(i >= 0)
        })
        .await?;
        let (found, dismissed) = state.into_inner().unwrap();
        Ok((found.unwrap_or(0), dismissed))
    }

    /// Click the centre of the element, as a mouse would.
    pub async fn click(&self, selector: &str, timeout: Duration) -> Result<(), ActionError> {
        self.wait_for(selector, timeout).await?;
        let sel = serde_json::to_string(selector).unwrap();
        let rect = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({sel}); e.scrollIntoView({{block: 'center', inline: 'center'}}); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
            ))
            .await?;
        let (x, y) = (
            rect[0].as_f64().unwrap_or(0.0),
            rect[1].as_f64().unwrap_or(0.0),
        );
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": if kind == "mousePressed" {1} else {0}, "clickCount": 1}),
            )
            .await?;
        }
        Ok(())
    }

    /// Focus the field, clear it and type `value`.
    pub async fn fill(
        &self,
        selector: &str,
        value: &str,
        timeout: Duration,
    ) -> Result<(), ActionError> {
        self.wait_for(selector, timeout).await?;
        let sel = serde_json::to_string(selector).unwrap();
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); e.focus(); if ('value' in e) {{ e.value = ''; }} e.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()"
        ))
        .await?;
        self.call("Input.insertText", json!({"text": value}))
            .await?;
        self.eval(&format!(
            "document.querySelector({sel}).dispatchEvent(new Event('change', {{bubbles: true}}))"
        ))
        .await?;
        Ok(())
    }

    /// Press a key (`Enter`, `Tab`, `Escape`, `ArrowDown`, or one character) on the focused element.
    pub(crate) async fn press(&self, key: &str) -> Result<(), ActionError> {
        let (code, vk, text) =
            key_info(key).ok_or_else(|| ActionError::Failed(format!("unknown key `{key}`")))?;
        let mut down = json!({"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk});
        if let Some(t) = text {
            down["text"] = json!(t);
            down["unmodifiedText"] = json!(t);
        }
        self.call("Input.dispatchKeyEvent", down).await?;
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn expect_text(
        &self,
        text: &str,
        timeout: Duration,
    ) -> Result<(), ActionError> {
        let t = serde_json::to_string(text).unwrap();
        let js = format!("!!(document.body && document.body.innerText.includes({t}))");
        self.wait_until(timeout, &format!("text {text:?} on the page"), || async {
            Ok(self.eval(&js).await? == json!(true))
        })
        .await
    }

    pub(crate) async fn expect_url(
        &self,
        part: &str,
        timeout: Duration,
    ) -> Result<(), ActionError> {
        let result = self
            .wait_until(timeout, &format!("the URL to contain {part:?}"), || async {
                Ok(self.url().await?.contains(part))
            })
            .await;
        if let Err(ActionError::Timeout(d, what)) = result {
            let now = self.url().await.unwrap_or_default();
            return Err(ActionError::Timeout(d, format!("{what} (it is {now})")));
        }
        result
    }

    pub async fn url(&self) -> Result<String, ActionError> {
        Ok(self
            .eval("location.href")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Capture a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await?;
        let data = r["data"].as_str().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| anyhow::anyhow!("screenshot data: {e}"))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, bytes)?;
        Ok(())
    }

    /// Put cookies (CDP `CookieParam`s) into this page's browser context, before the first goto.
    pub(crate) async fn set_cookies(&self, cookies: Vec<Value>) -> Result<(), ActionError> {
        if cookies.is_empty() {
            return Ok(());
        }
        // Network.setCookies on the page's own session lands in the page's browser context.
        self.call("Network.setCookies", json!({"cookies": cookies}))
            .await?;
        Ok(())
    }

    /// Send these headers with every request of the page (and of frames attached later).
    pub(crate) async fn set_extra_headers(
        &self,
        headers: &[(String, String)],
    ) -> Result<(), ActionError> {
        if headers.is_empty() {
            return Ok(());
        }
        let map: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        *self.extra_headers.lock().unwrap() = Some(Value::Object(map.clone()));
        let sessions = self.sessions.lock().unwrap().clone();
        for s in sessions {
            self.cdp
                .call(
                    Some(&s),
                    "Network.setExtraHTTPHeaders",
                    json!({"headers": map}),
                )
                .await?;
        }
        Ok(())
    }

    /// Cookies of this page's browser context (name, value, domain), for replay loads.
    pub async fn cookies(&self) -> Result<Vec<Value>, ActionError> {
        let r = self
            .cdp
            .call(
                None,
                "Storage.getCookies",
                json!({"browserContextId": self.context_id}),
            )
            .await?;
        Ok(r["cookies"].as_array().cloned().unwrap_or_default())
    }

    /// From now on, fail every request of this page that is not GET or HEAD, and every one whose
    /// URL `never` refuses (`Fetch` interception of the page's own session): verification reloads
    /// must never repeat a POST, nor a GET that is an action (the caller's rules: a logout, a
    /// request carrying a form token). Requests of out-of-process iframes and workers are not
    /// intercepted.
    pub(crate) async fn only_get_and_head(
        &self,
        never: fn(&str) -> bool,
    ) -> Result<(), ActionError> {
        let (mut events, _) = self.cdp.subscribe();
        let (cdp, session) = (self.cdp.clone(), self.session.clone());
        let task = tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                if ev.method != "Fetch.requestPaused" || ev.session_id.as_deref() != Some(&session)
                {
                    continue;
                }
                let id = ev.params["requestId"].clone();
                let method = ev.params["request"]["method"].as_str().unwrap_or("GET");
                let url = ev.params["request"]["url"].as_str().unwrap_or("");
                if (method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD"))
                    && !never(url)
                {
                    cdp.send(
                        Some(&session),
                        "Fetch.continueRequest",
                        json!({"requestId": id}),
                    );
                } else {
                    tracing::debug!(target: "cdnprobe::browser", "blocked a {method} during verification (not GET/HEAD, or an action)");
                    cdp.send(
                        Some(&session),
                        "Fetch.failRequest",
                        json!({"requestId": id, "errorReason": "BlockedByClient"}),
                    );
                }
            }
        });
        self.guards.lock().unwrap().push(task);
        self.call(
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
        )
        .await?;
        // Fetch interception never sees WebSockets, and Network.setBlockedURLs does not stop
        // them either (tried on Chromium 156): a reloaded Confluence editor would connect to
        // Synchrony again, a connection verification must not make. So the reloaded pages get a
        // WebSocket that refuses to open, before any of their own scripts run (the editor then
        // falls back to XHR, which the GET/HEAD rule above governs).
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": "(() => { const Blocked = function () { throw new DOMException('WebSockets are not opened during verification (cdnprobe)', 'SecurityError'); }; Blocked.CONNECTING = 0; Blocked.OPEN = 1; Blocked.CLOSING = 2; Blocked.CLOSED = 3; window.WebSocket = Blocked; })()"}),
        )
        .await?;
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Close the page and dispose of its browser context.
    pub async fn close(self) {
        let _ = self
            .cdp
            .call(
                None,
                "Target.closeTarget",
                json!({"targetId": self.target_id}),
            )
            .await;
        let _ = self
            .cdp
            .call(
                None,
                "Target.disposeBrowserContext",
                json!({"browserContextId": self.context_id}),
            )
            .await;
        self.sessions.lock().unwrap().clear();
        self.pump.abort();
        for g in self.guards.lock().unwrap().drain(..) {
            g.abort();
        }
    }
}

/// Records, when dropped, that the pump is done with event `seq`.
struct HandledOnDrop<'a>(&'a AtomicU64, u64);

impl Drop for HandledOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(self.1, Ordering::SeqCst);
    }
}

/// Turn on what capture needs in a (page, frame or worker) session, then resume it if it was
/// paused on attach. Failures are logged, not fatal: a worker has no Page domain, for instance.
///
/// The commands are all sent before any answer is awaited: a service worker that waits for the
/// debugger does not answer `Network.enable` until it runs, so awaiting each in turn held it
/// paused for the whole CDP timeout (its script request then fell outside the capture). CDP
/// applies a session's commands in order, so capture is on before the resume takes effect.
async fn prepare_session(cdp: &Cdp, session: &str, headers: Option<Value>, resume: bool) {
    let mut calls = vec![
        ("Network.enable", json!({"maxPostDataSize": 0})),
        // The browser cache stays ON, as a first-time visitor's: each page lives in a fresh browser
        // context, so its HTTP cache starts empty. `Network.setCacheDisabled` would make Chromium
        // add `Pragma: no-cache` and `Cache-Control: no-cache` to every request, which Apache
        // mod_cache and Squid honour (they go to the origin every time): the tool would report
        // NEVER_HITS where every real user gets hits. Responses the browser then serves from its
        // own cache are marked (`from_browser_cache`) and never counted as edge evidence.
        (
            "Target.setAutoAttach",
            json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
        ),
    ];
    if let Some(h) = headers {
        calls.push(("Network.setExtraHTTPHeaders", json!({"headers": h})));
    }
    if resume {
        calls.push(("Runtime.runIfWaitingForDebugger", json!({})));
    }
    // `join_all` polls in order, and a call is written to the socket on its first poll.
    let results = futures::future::join_all(
        calls
            .iter()
            .map(|(method, params)| cdp.call(Some(session), method, params.clone())),
    )
    .await;
    for ((method, _), r) in calls.iter().zip(results) {
        if let Err(e) = r {
            tracing::debug!(target: "cdnprobe::browser", "{method} in {session}: {e}");
        }
    }
}

fn key_info(key: &str) -> Option<(String, u32, Option<String>)> {
    Some(match key {
        "Enter" => ("Enter".into(), 13, Some("\r".into())),
        "Tab" => ("Tab".into(), 9, None),
        "Escape" => ("Escape".into(), 27, None),
        "Backspace" => ("Backspace".into(), 8, None),
        "ArrowDown" => ("ArrowDown".into(), 40, None),
        "ArrowUp" => ("ArrowUp".into(), 38, None),
        "ArrowLeft" => ("ArrowLeft".into(), 37, None),
        "ArrowRight" => ("ArrowRight".into(), 39, None),
        k if k.chars().count() == 1 => {
            let c = k.chars().next()?;
            let upper = c.to_ascii_uppercase();
            let code = if c.is_ascii_alphabetic() {
                format!("Key{upper}")
            } else if c.is_ascii_digit() {
                format!("Digit{c}")
            } else {
                String::new()
            };
            (code, upper as u32, Some(k.to_string()))
        }
        _ => return None,
    })
}
