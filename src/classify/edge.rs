//! Which CloudFront behavior serves an exchange, and what the edge should do with its response.
//!
//! Only URLs on the hosts the distribution serves (the target, and the CDN host in the cdn-host
//! topology) get a behavior: a font from a third-party host is not this distribution's business.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::classify::Provider;
use crate::cloudfront::{Behavior, BehaviorSet, ttl};
use crate::exchange::{Exchange, host_port};

/// The distribution being probed: its behaviors and the hosts (`host[:port]`) it answers for.
#[derive(Debug, Clone)]
pub struct Distribution {
    pub behaviors: BehaviorSet,
    pub hosts: Vec<String>,
    /// Why the hosts not named by `--cdn-host` are this distribution's (the product's), in words
    /// for the report: "the target URL's host", "the host of each page the HAR opened".
    pub target_why: String,
    /// The hosts named with `--cdn-host`.
    pub cdn_hosts: Vec<String>,
    /// Response header naming the behavior that served (`--behavior-header`, e.g. `X-Lab-Behavior`):
    /// the seed admins' trick of one custom response header per behavior.
    pub behavior_header: Option<String>,
}

/// The behavior serving a URL: its place in the distribution's order, the behavior, and its
/// effective pattern (context path included).
#[derive(Debug, Clone)]
pub struct Serving<'a> {
    pub index: usize,
    pub behavior: &'a Behavior,
    pub pattern: String,
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

/// A host judged as the product: the CloudFront behaviors apply to it, and its Atlassian pages and
/// REST paths are per-user by definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProductHost {
    /// `host[:port]`.
    pub host: String,
    pub why: String,
}

impl Distribution {
    pub fn new(behaviors: BehaviorSet, hosts: impl IntoIterator<Item = String>) -> Self {
        Distribution {
            behaviors,
            hosts: hosts.into_iter().collect(),
            target_why: "the target URL's host".into(),
            cdn_hosts: Vec::new(),
            behavior_header: None,
        }
    }

    /// Which behavior a `--behavior-header` value names: its label (`#1 /s/*`), its pattern
    /// (with or without the context path), its number (`1`, `#1`, `rule = 1`), or the value a
    /// behaviors file's `add_headers` gives it for that header. `None`: no behavior answers to it.
    pub(crate) fn behavior_named(&self, value: &str) -> Option<usize> {
        let v = value.trim();
        let bs = &self.behaviors.behaviors;
        if let Some(h) = &self.behavior_header {
            let by_header = bs.iter().position(|b| {
                b.response_headers
                    .iter()
                    .any(|(n, x)| n.eq_ignore_ascii_case(h) && x.trim() == v)
            });
            if by_header.is_some() {
                return by_header;
            }
        }
        if let Some(i) = bs.iter().position(|b| b.name == v) {
            return Some(i);
        }
        if let Some(i) = (0..bs.len()).position(|i| {
            let b = &bs[i];
            b.pattern == v || self.behaviors.effective_pattern(i) == v
        }) {
            return Some(i);
        }
        // `1`, `#1`, `rule = 1`, `rule=1`, `behavior 1`: a 1-based number.
        let digits: String = v
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let rest_ok = v
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .all(|c| c.is_ascii_digit())
            || v.to_ascii_lowercase().starts_with("rule")
            || v.to_ascii_lowercase().starts_with("behavior");
        match digits.parse::<usize>() {
            Ok(n) if rest_ok && n >= 1 && n <= bs.len() => Some(n - 1),
            _ => {
                if v == "*" || v.eq_ignore_ascii_case("default") {
                    bs.iter().position(|b| b.is_default)
                } else {
                    None
                }
            }
        }
    }

    /// The behavior a response says served it (`behavior_header`), verbatim.
    pub fn observed_behavior(&self, ex: &Exchange) -> Option<String> {
        let h = self.behavior_header.as_deref()?;
        ex.response_headers.get(h).map(|v| v.trim().to_string())
    }

    /// Each host judged as the product (this distribution's), with why: the report says so, since
    /// every other host is a third party judged only by its own headers.
    pub fn product_hosts(&self) -> Vec<ProductHost> {
        self.hosts
            .iter()
            .map(|h| ProductHost {
                host: h.clone(),
                why: if self.cdn_hosts.iter().any(|c| c.eq_ignore_ascii_case(h)) {
                    "named with --cdn-host".into()
                } else {
                    self.target_why.clone()
                },
            })
            .collect()
    }

    /// The distribution serves this URL's host (an empty host list means: every host).
    pub fn serves(&self, url: &url::Url) -> bool {
        self.hosts.is_empty()
            || host_port(url).is_some_and(|h| self.hosts.iter().any(|x| x.eq_ignore_ascii_case(&h)))
    }

    /// The behavior serving `url`: its index, the behavior, and its effective pattern.
    pub(crate) fn behavior_for(&self, url: &str) -> Option<Serving<'_>> {
        let u = url::Url::parse(url).ok()?;
        if !matches!(u.scheme(), "http" | "https" | "ws" | "wss") || !self.serves(&u) {
            return None;
        }
        let (index, behavior) = self.behaviors.matching(u.path());
        Some(Serving {
            index,
            behavior,
            pattern: self.behaviors.effective_pattern(index),
        })
    }

    /// What the edge should do with this exchange's response, by the TTL rules.
    ///
    /// `None` when another cache (Varnish, nginx, ...) answered: CloudFront's TTL rules do not say
    /// what it stores.
    pub fn edge_treatment(&self, ex: &Exchange, answered_by: Provider) -> Option<EdgeTreatment> {
        let Serving { behavior, .. } = self.behavior_for(&ex.url)?;
        self.treatment_under(behavior, ex, answered_by)
    }

    /// [`Self::edge_treatment`] under a behavior already looked up (classification looks it up
    /// once per record).
    pub(crate) fn treatment_under(
        &self,
        behavior: &Behavior,
        ex: &Exchange,
        answered_by: Provider,
    ) -> Option<EdgeTreatment> {
        if answered_by.is_other_cache() {
            return None;
        }
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
        let d = ttl::decide_for(
            behavior,
            &self.behaviors.error_caching_min_ttl,
            status,
            &ex.response_headers,
            now,
        );
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
            response_headers: Headers::from_pairs(
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
        let Serving { pattern: p, .. } = d
            .behavior_for("https://jira.example.com/s/abc/_/download/batch.js?locale=en-US")
            .unwrap();
        assert_eq!(p, "/s/*");
        assert!(d.behavior_for("https://fonts.other.com/s/x.woff").is_none());
        let Serving { behavior: b, .. } = d
            .behavior_for("https://jira.example.com/secure/Dashboard.jspa")
            .unwrap();
        assert!(b.is_default);
    }

    #[test]
    fn edge_treatment_names_the_rule() {
        let d = Distribution::new(BehaviorSet::seed_default(), []);
        let t = d
            .edge_treatment(
                &ex(
                    "https://j/s/x.js",
                    &[
                        ("Date", "Tue, 24 Nov 2026 10:00:00 GMT"),
                        ("Expires", "Tue, 24 Nov 2026 10:00:00 GMT"),
                    ],
                ),
                Provider::CloudFront,
            )
            .unwrap();
        assert!(!t.store);
        assert!(t.rule.contains("already stale"), "{}", t.rule);
        let t = d
            .edge_treatment(
                &ex("https://j/s/x.js", &[("Cache-Control", "max-age=31536000")]),
                Provider::None,
            )
            .unwrap();
        assert!(t.store);
        assert_eq!(t.ttl_secs, 31_536_000);
        // Another cache answered: CloudFront's TTL table says nothing about what it stores.
        let varnish = ex("https://j/s/x.js", &[("X-Varnish", "5")]);
        assert!(d.edge_treatment(&varnish, Provider::Varnish).is_none());
    }

    #[test]
    fn behavior_named_reads_labels_patterns_numbers_and_add_headers() {
        let mut d = Distribution::new(BehaviorSet::seed_default().with_context_path("/jira"), []);
        d.behavior_header = Some("X-Rule".into());
        d.behaviors.behaviors[3].response_headers = vec![("x-rule".into(), "downloads".into())];
        assert_eq!(d.behavior_named("#1 /jira/s/*"), Some(0));
        assert_eq!(d.behavior_named("/jira/s/*"), Some(0));
        assert_eq!(d.behavior_named("/s/*"), Some(0));
        assert_eq!(d.behavior_named("2"), Some(1));
        assert_eq!(d.behavior_named("rule = 3"), Some(2));
        assert_eq!(d.behavior_named("downloads"), Some(3));
        assert_eq!(d.behavior_named("default"), Some(6));
        assert_eq!(d.behavior_named("#7 default (*)"), Some(6));
        assert_eq!(d.behavior_named("8"), None);
        assert_eq!(d.behavior_named("something else"), None);
    }
}
