//! Verification: repeat loads per behavior, Miss -> Hit sequences and verdicts.

use serde::{Deserialize, Serialize};

pub use crate::cloudfront::Expect;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Miss, then Hit within the repeats.
    Hits,
    /// Hit from the first load.
    Warm,
    NeverHits,
    /// Not cached, as expected.
    Bypass,
    /// Cached although it must not be (dynamic or authenticated).
    Leak,
    /// Edge error or 5xx.
    Error,
    /// No cache evidence at all: the CDN is not in the path.
    NoCdn,
    Inconclusive,
}

/// The repeat loads of one sampled URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sequence {
    pub url: String,
    /// Normalized cache status per attempt (`miss`, `hit`, ...).
    pub statuses: Vec<String>,
    #[serde(default)]
    pub pops: Vec<Option<String>>,
    #[serde(default)]
    pub ages: Vec<Option<u64>>,
    #[serde(default)]
    pub http_statuses: Vec<Option<u16>>,
    pub verdict: Verdict,
}

/// One behavior's summary in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BehaviorReport {
    pub pattern: String,
    pub expect: Expect,
    pub verdict: Verdict,
    /// Why the verdict, in words; names the findings that explain it.
    pub reason: String,
    /// Did the verdict meet the expectation?
    pub pass: bool,
    pub sequences: Vec<Sequence>,
    pub urls: Vec<String>,
    pub requests: usize,
    pub asset_kinds: Vec<String>,
    #[serde(default)]
    pub findings: Vec<String>,
}
