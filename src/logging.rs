//! Logging to stderr, plus a counter of CDP messages chromiumoxide failed to parse.
//!
//! chromiumoxide logs each message its generated types cannot parse under the tracing target
//! `chromiumoxide::conn::raw_ws::parse_errors` and otherwise drops it silently. We count them so
//! the report can say how many there were instead of hiding them.
//!
//! Every log line passes through the run's [`Redactor`] before it reaches stderr (DESIGN.md:
//! secrets are redacted in every output, logs included): `RUST_LOG=trace` shows chromiumoxide's
//! and the HTTP clients' own debug output, which can carry cookies, URLs with tokens, or the
//! password a login step typed. Until a run registers its redactor ([`set_redactor`]), lines
//! still get the name-based redaction (`JSESSIONID=..`, `password=..`, `Authorization: ..`).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use crate::redact::Redactor;

use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

static DRIVER_PARSE_ERRORS: AtomicU64 = AtomicU64::new(0);
const PARSE_ERROR_TARGET: &str = "chromiumoxide::conn::raw_ws::parse_errors";

pub fn driver_parse_errors() -> u64 {
    DRIVER_PARSE_ERRORS.load(Ordering::Relaxed)
}

static LOG_REDACTOR: LazyLock<RwLock<Arc<Redactor>>> =
    LazyLock::new(|| RwLock::new(Arc::new(Redactor::new_random())));

/// Redact log lines with the run's redactor from now on (it knows the run's passwords and the
/// session cookies given with --cookie-file / --header).
pub(crate) fn set_redactor(redactor: Arc<Redactor>) {
    *LOG_REDACTOR.write().unwrap_or_else(|e| e.into_inner()) = redactor;
}

/// One log event's text, redacted and written to stderr in one piece when dropped.
#[derive(Default)]
pub(crate) struct RedactingStderr {
    buf: Vec<u8>,
}

impl Write for RedactingStderr {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingStderr {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let redacted = redact(&text);
        let _ = std::io::stderr().lock().write_all(redacted.as_bytes());
    }
}

struct ParseErrorCounter;

impl<S: tracing::Subscriber> Layer<S> for ParseErrorCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == PARSE_ERROR_TARGET {
            DRIVER_PARSE_ERRORS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Libraries whose debug/trace output dumps whole protocol messages or cookie jars: capped at
/// `info` whatever `RUST_LOG` says. Their dumps carry secrets in shapes no name rule can see
/// (a CDP `associatedCookies` entry is `{"name":"SESSION","value":"..."}`; chromiumoxide's
/// "Failed to parse raw WS message" prints the whole message; tungstenite prints frame payloads
/// in hex; cookie_store prints every cookie it stores). The rest of the stack (hyper, h2,
/// reqwest, rustls) keeps its trace lines, redacted like ours.
pub(crate) const PROTOCOL_DUMP_CAPS: &[&str] = &[
    "chromiumoxide=info",
    "chromiumoxide_cdp=info",
    "chromiumoxide_types=info",
    "tungstenite=info",
    "tokio_tungstenite=info",
    "async_tungstenite=info",
    "cookie_store=info",
];

/// Redact a line for stderr with the run's redactor (error messages printed by `main`).
pub fn redact(line: &str) -> String {
    LOG_REDACTOR
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .redact_log(line)
}

/// Install the global subscriber: warnings (or `RUST_LOG`) to stderr, and the counter, which
/// needs chromiumoxide's debug events for its one target whatever the display level.
pub fn init(verbose: bool) {
    let default = if verbose {
        "cdnprobe=debug"
    } else {
        "cdnprobe=warn"
    };
    let display = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // The caps are a second filter that must also pass, so they only ever lower a level: as
    // directives added to `display` they *enabled* chromiumoxide at info under the default
    // `cdnprobe=warn`, and every run printed its "WS Invalid message" warnings, `--quiet` or not.
    let caps: tracing_subscriber::filter::Targets = PROTOCOL_DUMP_CAPS
        .join(",")
        .parse::<tracing_subscriber::filter::Targets>()
        .unwrap_or_default()
        .with_default(tracing::level_filters::LevelFilter::TRACE);
    let display = display.and(caps);
    let counter =
        ParseErrorCounter.with_filter(EnvFilter::new(format!("{PARSE_ERROR_TARGET}=debug")));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(RedactingStderr::default)
                .with_target(false)
                .with_filter(display),
        )
        .with(counter)
        .try_init();
}
