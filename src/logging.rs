//! Logging to stderr, plus a counter of CDP messages chromiumoxide failed to parse.
//!
//! chromiumoxide logs each message its generated types cannot parse under the tracing target
//! `chromiumoxide::conn::raw_ws::parse_errors` and otherwise drops it silently. We count them so
//! the report can say how many there were instead of hiding them.

use std::sync::atomic::{AtomicU64, Ordering};

use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

static DRIVER_PARSE_ERRORS: AtomicU64 = AtomicU64::new(0);
const PARSE_ERROR_TARGET: &str = "chromiumoxide::conn::raw_ws::parse_errors";

pub fn driver_parse_errors() -> u64 {
    DRIVER_PARSE_ERRORS.load(Ordering::Relaxed)
}

struct ParseErrorCounter;

impl<S: tracing::Subscriber> Layer<S> for ParseErrorCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == PARSE_ERROR_TARGET {
            DRIVER_PARSE_ERRORS.fetch_add(1, Ordering::Relaxed);
        }
    }
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
    let counter =
        ParseErrorCounter.with_filter(EnvFilter::new(format!("{PARSE_ERROR_TARGET}=debug")));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(display),
        )
        .with(counter)
        .try_init();
}
