//! Errors that are the user's to fix (exit 2, with a hint), as opposed to bugs or check failures.

use std::path::PathBuf;

/// A mistake in the input or the environment: the tool cannot do its job. Maps to exit code 2.
/// Every variant says what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{file}:{line}:{column}: {message}\n  hint: {hint}")]
    Scenario {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
        hint: String,
    },
    #[error(
        "Chromium not found ({detail})\n  hint: install it with `apt-get install -y chromium`, or pass --chrome PATH / set CHROME"
    )]
    ChromiumMissing { detail: String },
    #[error("{message}\n  hint: {hint}")]
    Input { message: String, hint: String },
    #[error("cannot reach {url}: {message}\n  hint: {hint}")]
    Unreachable {
        url: String,
        message: String,
        hint: String,
    },
    /// `url` is the page's address when the step failed; empty when no page was loaded yet
    /// (then the message says so instead of "failed at :").
    #[error("step {step} failed {}: {message}{}\n  hint: {hint}", if url.is_empty() { "before any page loaded".to_string() } else { format!("at {url}") }, screenshot.as_ref().map(|p| format!(" (screenshot: {})", p.display())).unwrap_or_default())]
    Step {
        step: String,
        url: String,
        message: String,
        screenshot: Option<PathBuf>,
        hint: String,
    },
}

impl UserError {
    pub fn input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        UserError::Input {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Exit codes (DESIGN.md "Contracts").
pub mod exit {
    /// Every expectation met, no error finding.
    pub const OK: i32 = 0;
    /// A check failed: a verdict contradicts its expectation or an error finding was raised.
    pub(crate) const CHECK_FAILED: i32 = 1;
    /// The tool could not do its job: bad input, Chromium missing, target unreachable.
    pub const CANNOT_RUN: i32 = 2;
}
