//! Which CloudFront behavior serves an exchange, and what the edge should do with its response.
//!
//! Only URLs on the hosts the distribution serves (the target, and the CDN host in the cdn-host
//! topology) get a behavior: a font from a third-party host is not this distribution's business.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::cloudfront::{Behavior, BehaviorSet, ttl};
use crate::exchange::Exchange;

/// The distribution being probed: its behaviors and the hosts (`host[:port]`) it answers for.
#[derive(Debug, Clone)]
pub struct Distribution {
    pub behaviors: BehaviorSet,
    pub hosts: Vec<String>,
}

/// The edge's expected treatment of one response under its behavior.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EdgeTreatment {
    /// Would CloudFront store this response?
    pub store: bool,
    pub ttl_secs: u64,
    /// The TTL rule that decided, in words.
    pub rule: String,
}

/// `host[:port]` of a URL, as used in `Distribution::hosts`.
pub fn host_port(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

impl Distribution {
    pub fn new(behaviors: BehaviorSet, hosts: impl IntoIterator<Item = String>) -> Self {
        Distribution {
            behaviors,
            hosts: hosts.into_iter().collect(),
        }
    }

    /// The distribution serves this URL's host (an empty host list means: every host).
    pub fn serves(&self, url: &url::Url) -> bool {
        self.hosts.is_empty()
            || host_port(url).is_some_and(|h| self.hosts.iter().any(|x| x.eq_ignore_ascii_case(&h)))
    }

    /// The behavior serving `url`: its index, the behavior, and its effective pattern.
    pub fn behavior_for(&self, url: &str) -> Option<(usize, &Behavior, String)> {
        let u = url::Url::parse(url).ok()?;
        if !matches!(u.scheme(), "http" | "https" | "ws" | "wss") || !self.serves(&u) {
            return None;
        }
        let (idx, b) = self.behaviors.matching(u.path());
        Some((idx, b, self.behaviors.effective_pattern(idx)))
    }

    /// What the edge should do with this exchange's response, by the TTL rules.
    pub fn edge_treatment(&self, ex: &Exchange) -> Option<EdgeTreatment> {
        let (_, behavior, _) = self.behavior_for(&ex.url)?;
        let status = ex.status?;
        if !behavior.caches_method(&ex.method) {
            return Some(EdgeTreatment {
                store: false,
                ttl_secs: 0,
                rule: format!("{} responses are not cached by this behavior", ex.method),
            });
        }
        let now = ex
            .response_headers
            .get("date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .unwrap_or_else(SystemTime::now);
        let d = ttl::decide_for(behavior, status, &ex.response_headers, now);
        Some(EdgeTreatment {
            store: d.store,
            ttl_secs: d.ttl_secs,
            rule: d.rule.explain(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Headers;

    fn ex(url: &str, headers: &[(&str, &str)]) -> Exchange {
        Exchange {
            url: url.into(),
            method: "GET".into(),
            status: Some(200),
            response_headers: Headers(
                headers
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn behavior_only_for_the_distributions_hosts() {
        let d = Distribution::new(
            BehaviorSet::seed_default(),
            ["jira.example.com".to_string()],
        );
        let (_, _, p) = d
            .behavior_for("https://jira.example.com/s/abc/_/download/batch.js?locale=en-US")
            .unwrap();
        assert_eq!(p, "/s/*");
        assert!(d.behavior_for("https://fonts.other.com/s/x.woff").is_none());
        let (_, b, _) = d
            .behavior_for("https://jira.example.com/secure/Dashboard.jspa")
            .unwrap();
        assert!(b.is_default);
    }

    #[test]
    fn edge_treatment_names_the_rule() {
        let d = Distribution::new(BehaviorSet::seed_default(), []);
        let t = d
            .edge_treatment(&ex(
                "https://j/s/x.js",
                &[
                    ("Date", "Tue, 24 Nov 2026 10:00:00 GMT"),
                    ("Expires", "Tue, 24 Nov 2026 10:00:00 GMT"),
                ],
            ))
            .unwrap();
        assert!(!t.store);
        assert!(t.rule.contains("already stale"), "{}", t.rule);
        let t = d
            .edge_treatment(&ex(
                "https://j/s/x.js",
                &[("Cache-Control", "max-age=31536000")],
            ))
            .unwrap();
        assert!(t.store);
        assert_eq!(t.ttl_secs, 31_536_000);
    }
}
