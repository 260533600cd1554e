//! The run's record (`Report`, serialized as report.json) and its renderings, one file per format.
//!
//! `Report` is the contract with pipelines and with `diff`/`merge`: it is versioned
//! (`SCHEMA_VERSION`) and its JSON Schema is generated from these types (`cdnprobe schema`).

pub mod json;
pub mod table;

use serde::{Deserialize, Serialize};

use crate::browser::{CdpStats, EventCounts};
use crate::classify::{self, AssetKind, CacheStatus, Distribution, EdgeTreatment};
use crate::diagnose::{Finding, Severity};
use crate::exchange::{Exchange, Failure, Headers, Timing};
use crate::verify::BehaviorReport;

/// Bump the minor part for additive changes, the major part for breaking ones.
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "cdnprobe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// One journey step as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StepResult {
    pub index: usize,
    pub description: String,
    pub ok: bool,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JourneyResult {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub base_url: String,
    pub steps: Vec<StepResult>,
    pub ok: bool,
}

/// One exchange with its classification: `requests[]` in report.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestRecord {
    pub url: String,
    pub method: String,
    pub status: Option<u16>,
    pub resource_type: String,
    pub asset_kind: AssetKind,
    /// The CloudFront behavior (path pattern) that serves this URL, when known.
    pub behavior: Option<String>,
    pub cache: CacheStatus,
    pub request_headers: Headers,
    pub response_headers: Headers,
    pub failure: Option<Failure>,
    pub from_browser_cache: bool,
    /// Journey step (`jira-smoke#3 goto /browse/LAB-1`) or `repeat N`.
    pub phase: String,
    /// CORS outcome in short form (`-`, `ok`, `blocked: MissingAllowOriginHeader`).
    pub cors: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiator: Option<String>,
    pub target_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    pub timing: Timing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoded_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<String>,
    /// What the edge should do with this response under its behavior (TTL rule), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_treatment: Option<EdgeTreatment>,
}

impl RequestRecord {
    /// Classify one (already redacted) exchange against the distribution, if one is known.
    pub fn from_exchange(ex: &Exchange, dist: Option<&Distribution>) -> RequestRecord {
        let behavior = dist
            .and_then(|d| d.behavior_for(&ex.url))
            .map(|(_, _, p)| p);
        RequestRecord {
            url: ex.url.clone(),
            method: ex.method.clone(),
            status: ex.status,
            resource_type: ex.resource_type.clone(),
            asset_kind: classify::asset_kind(&ex.url, ex.mime_type.as_deref(), &ex.resource_type),
            behavior,
            cache: classify::parse_cache_status(&ex.response_headers),
            request_headers: ex.request_headers.clone(),
            response_headers: ex.response_headers.clone(),
            failure: ex.failure.clone(),
            from_browser_cache: ex.from_browser_cache(),
            phase: ex.phase.clone(),
            cors: classify::cors_outcome(ex).to_string(),
            id: ex.id.clone(),
            initiator: ex.initiator.clone(),
            target_type: ex.target_type.clone(),
            mime_type: ex.mime_type.clone(),
            protocol: ex.protocol.clone(),
            remote_address: ex.remote_address.clone(),
            timing: ex.timing.clone(),
            encoded_size: ex.encoded_size,
            redirected_to: ex.redirected_to.clone(),
            edge_treatment: dist.and_then(|d| d.edge_treatment(ex)),
        }
    }
}

/// Counts and the overall outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub requests: usize,
    pub failed_requests: usize,
    /// Requests by normalized cache status (`hit`, `miss`, ...).
    pub cache_statuses: std::collections::BTreeMap<String, usize>,
    pub findings_error: usize,
    pub findings_warn: usize,
    pub findings_info: usize,
    pub behaviors_failed: usize,
    /// Every journey completed, every verdict met its expectation and no error finding.
    pub pass: bool,
    /// The run was interrupted (Ctrl-C, crash, failed step): what is here is what was captured.
    pub partial: bool,
    pub exit_code: i32,
}

/// Proof that the capture saw what it should: CDP message counts and per-event counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaptureStats {
    pub cdp: CdpStats,
    pub events: EventCounts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: String,
    pub tool: Tool,
    /// What was probed: a URL, or `lab (proxy)` for the embedded lab.
    pub target: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub duration_ms: u64,
    pub journeys: Vec<JourneyResult>,
    pub requests: Vec<RequestRecord>,
    pub behaviors: Vec<BehaviorReport>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub capture: CaptureStats,
    /// Free-form notes the run wants the reader to see (lab topology switches, warnings).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(target: impl Into<String>, started_at: chrono::DateTime<chrono::Utc>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool::default(),
            target: target.into(),
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ..Default::default()
        }
    }

    /// Recompute `summary` from the rest (call after every stage that changes the report).
    pub fn summarize(&mut self) {
        let mut s = Summary {
            requests: self.requests.len(),
            partial: self.summary.partial,
            ..Default::default()
        };
        for r in &self.requests {
            if r.failure.is_some() || r.status.is_none_or(|c| c >= 500) {
                s.failed_requests += 1;
            }
            *s.cache_statuses
                .entry(r.cache.status.as_str().to_string())
                .or_default() += 1;
        }
        for f in &self.findings {
            match f.severity {
                Severity::Error => s.findings_error += 1,
                Severity::Warn => s.findings_warn += 1,
                Severity::Info => s.findings_info += 1,
            }
        }
        s.behaviors_failed = self.behaviors.iter().filter(|b| !b.pass).count();
        let journeys_ok = self.journeys.iter().all(|j| j.ok);
        s.pass = journeys_ok && s.findings_error == 0 && s.behaviors_failed == 0 && !s.partial;
        s.exit_code = if !journeys_ok || s.partial {
            crate::error::exit::CANNOT_RUN
        } else if s.pass {
            crate::error::exit::OK
        } else {
            crate::error::exit::CHECK_FAILED
        };
        self.summary = s;
    }
}
