//! Findings: what is wrong, the evidence (URLs and exact header lines), and the fix.
//!
//! The catalogue of finding ids lives here and in the README's findings table; ids are stable so
//! pipelines and `diff` can track them across runs.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// One piece of evidence: a URL and the header lines (or other facts) that show the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    pub url: String,
    /// Exact header lines (`Expires: ...`, `Set-Cookie: AWSALB=<redacted:1a2b3c4d>; ...`) or facts.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// Stable id, e.g. `expires-before-date`, `rotating-cookie-in-key`.
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// Behavior pattern it concerns, if any (e.g. `/s/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<String>,
    /// Why this matters, in a sentence or two.
    #[serde(default)]
    pub explanation: String,
    pub evidence: Vec<Evidence>,
    /// What to change (CloudFront and/or Jira/Confluence/proxy).
    pub fix: String,
}
