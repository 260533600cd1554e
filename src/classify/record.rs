//! The classified request: one [`Exchange`] and what classification concluded about it, worked out
//! once ([`Record::classify`]) and read by every later stage (diagnosis, verification, reports).
//!
//! Why one type: the record used to be a second struct repeating 18 of the exchange's fields, built
//! by copying, and the HAR exporter joined the two lists back together by `(id, url)`. Now the
//! exchange is moved in whole and the classification sits beside it; report.json flattens both
//! into one object per request, so `requests[].url` and `requests[].behavior` are siblings.

use serde::{Deserialize, Serialize};

use super::{AssetKind, CacheStatus, Distribution, EdgeTreatment, Serving};
use crate::exchange::Exchange;

/// Which distribution and behavior serve a record: indexes into the distributions the record was
/// classified against. Not serialized: a report read back is never diagnosed against its
/// distributions again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub distribution: usize,
    pub behavior: usize,
}

/// What classification concluded about one exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Classification {
    pub asset_kind: AssetKind,
    /// The CloudFront behavior (effective path pattern) that serves this URL, when known.
    pub behavior: Option<String>,
    pub cache: CacheStatus,
    /// CORS outcome in short form (`-`, `ok`, `blocked: MissingAllowOriginHeader`).
    pub cors: String,
    /// What the edge should do with this response under its behavior (TTL rule), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_treatment: Option<EdgeTreatment>,
    /// The behavior the response says served it (`--behavior-header`), verbatim; shown beside
    /// the predicted `behavior`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_behavior: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub served: Option<Served>,
}

/// One exchange with its classification: `requests[]` in report.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Record {
    #[serde(flatten)]
    pub exchange: Exchange,
    #[serde(flatten)]
    pub class: Classification,
    /// The run this request came from, in a merged report (`runs[].source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A record reads as its exchange (`r.url`, `r.status`); what was concluded is `r.class`.
impl std::ops::Deref for Record {
    type Target = Exchange;
    fn deref(&self) -> &Exchange {
        &self.exchange
    }
}

impl std::ops::DerefMut for Record {
    fn deref_mut(&mut self) -> &mut Exchange {
        &mut self.exchange
    }
}

impl Record {
    /// Classify one (already redacted) exchange against the distributions serving the run: the
    /// first one whose hosts and behaviors take its URL serves it.
    pub fn classify(exchange: Exchange, dists: &[Distribution]) -> Record {
        let cache = super::parse_cache_status(&exchange.response_headers);
        let found = dists
            .iter()
            .enumerate()
            .find_map(|(d, dist)| dist.behavior_for(&exchange.url).map(|s| (d, dist, s)));
        let (served, behavior, edge_treatment, observed_behavior) = match found {
            Some((d, dist, s)) => (
                Some(Served {
                    distribution: d,
                    behavior: s.index,
                }),
                Some(s.pattern),
                dist.treatment_under(s.behavior, &exchange, cache.provider),
                dist.observed_behavior(&exchange),
            ),
            None => (None, None, None, None),
        };
        let class = Classification {
            asset_kind: super::asset_kind(
                &exchange.url,
                exchange.mime_type.as_deref(),
                &exchange.resource_type,
            ),
            behavior,
            cors: super::cors_outcome(&exchange).to_string(),
            cache,
            edge_treatment,
            observed_behavior,
            served,
        };
        Record {
            exchange,
            class,
            source: None,
        }
    }

    /// The behavior serving this record among `dists` (the list it was classified against):
    /// index, behavior, effective pattern.
    pub(crate) fn served_by<'a>(&self, dists: &'a [Distribution]) -> Option<Serving<'a>> {
        let s = self.class.served?;
        let dist = dists.get(s.distribution)?;
        let behavior = dist.behaviors.behaviors.get(s.behavior)?;
        Some(Serving {
            index: s.behavior,
            behavior,
            pattern: self
                .class
                .behavior
                .clone()
                .unwrap_or_else(|| dist.behaviors.effective_pattern(s.behavior)),
        })
    }
}

/// capture.har's entries are records; a merged report's name their run in their page.
impl crate::har::HarSource for Record {
    fn exchange(&self) -> &Exchange {
        &self.exchange
    }
    fn page(&self) -> std::borrow::Cow<'_, str> {
        match &self.source {
            Some(run) => format!("[{run}] {}", self.phase).into(),
            None => self.phase.as_str().into(),
        }
    }
}
