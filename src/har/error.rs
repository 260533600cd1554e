//! Why a file is not a HAR we can read, with the hint that fixes it.

use crate::error::UserError;

#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error(
        "not a HAR file: not valid JSON at line {line}, column {column}: {message}\n  hint: {hint}"
    )]
    NotJson {
        line: usize,
        column: usize,
        message: String,
        hint: String,
    },
    #[error("not a HAR file: {detail}\n  hint: {hint}")]
    NotHar { detail: String, hint: String },
    #[error("HAR entry {index} cannot be read: {message}\n  hint: {hint}")]
    BadEntry {
        index: usize,
        message: String,
        hint: String,
    },
}

pub(super) const EXPORT_HINT: &str = "export a HAR from Chrome/Firefox DevTools (Network tab, \"Export HAR\"), Playwright (`recordHar: { path: 'capture.har' }`) or WebPageTest";

impl HarError {
    pub fn hint(&self) -> &str {
        match self {
            HarError::NotJson { hint, .. }
            | HarError::NotHar { hint, .. }
            | HarError::BadEntry { hint, .. } => hint,
        }
    }
}

impl From<HarError> for UserError {
    fn from(e: HarError) -> Self {
        let hint = e.hint().to_string();
        let full = e.to_string();
        let message = full.split("\n  hint: ").next().unwrap_or("").to_string();
        UserError::input(message, hint)
    }
}
