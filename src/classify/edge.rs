//! Which CloudFront behavior serves an exchange, and what the edge should do with its response.
//!
//! Only URLs on the hosts the distribution serves (the target, and the CDN host in the cdn-host
//! topology) get a behavior: a font from a third-party host is not this distribution's business.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::classify::Provider;
use crate::cli::DistributionArgs;
use crate::cloudfront::{Behavior, BehaviorSet, load, ttl};
use crate::error::UserError;
use crate::exchange::Exchange;

/// `--cdn-host` takes `host`, `host:port` or a URL.
fn cdn_host(s: &str) -> String {
    let s = s.trim();
    if s.contains("://")
        && let Some(h) = url::Url::parse(s).ok().as_ref().and_then(host_port)
    {
        return h;
    }
    s.trim_end_matches('/').to_string()
}

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
            target_why: "the target URL's host".into(),
            cdn_hosts: Vec::new(),
            behavior_header: None,
        }
    }

    /// The distribution of a command line (`--behaviors`, `--distribution-config`,
    /// `--context-path`, `--cdn-host`, `--behavior-header`), serving `target_hosts` too.
    ///
    /// Without a file: the seed's behaviors. `--context-path` prefixes the seed's patterns and a
    /// TOML file's that has no `context_path` of its own; a distribution config's patterns are
    /// CloudFront's own and are never rewritten (`check-config` reports a mismatch instead).
    pub fn from_args(
        args: &DistributionArgs,
        target_hosts: impl IntoIterator<Item = String>,
    ) -> Result<Distribution, UserError> {
        let set = match (&args.behaviors, &args.distribution_config) {
            (Some(_), Some(_)) => {
                return Err(UserError::input(
                    "--behaviors and --distribution-config both given",
                    "pass one: our TOML behaviors file, or the JSON of `aws cloudfront get-distribution-config`",
                ));
            }
            (Some(file), None) | (None, Some(file)) => {
                let opts = crate::check_config::load_options(&args.input);
                let set = load::from_file_with(file, &opts)?;
                // Only our TOML is written relative to a context path; a distribution's own
                // patterns are CloudFront's and are never rewritten.
                let ours = set
                    .input
                    .as_ref()
                    .is_none_or(|i| i.format == crate::cloudfront::behavior::ConfigFormat::Toml);
                match &args.context_path {
                    Some(cp) if set.context_path.is_empty() && ours => set.with_context_path(cp),
                    _ => set,
                }
            }
            (None, None) => {
                let set = BehaviorSet::seed_default();
                match &args.context_path {
                    Some(cp) => set.with_context_path(cp),
                    None => set,
                }
            }
        };
        let mut hosts: Vec<String> = Vec::new();
        for h in target_hosts
            .into_iter()
            .chain(args.cdn_hosts.iter().map(|h| cdn_host(h)))
        {
            if !h.is_empty() && !hosts.iter().any(|x| x.eq_ignore_ascii_case(&h)) {
                hosts.push(h);
            }
        }
        let mut d = Distribution::new(set, hosts);
        d.cdn_hosts = args.cdn_hosts.iter().map(|h| cdn_host(h)).collect();
        d.behavior_header = args
            .behavior_header
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_string);
        Ok(d)
    }

    /// Which behavior a `--behavior-header` value names: its label (`#1 /s/*`), its pattern
    /// (with or without the context path), its number (`1`, `#1`, `rule = 1`), or the value a
    /// behaviors file's `add_headers` gives it for that header. `None`: no behavior answers to it.
    pub fn behavior_named(&self, value: &str) -> Option<usize> {
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
    pub fn behavior_for(&self, url: &str) -> Option<(usize, &Behavior, String)> {
        let u = url::Url::parse(url).ok()?;
        if !matches!(u.scheme(), "http" | "https" | "ws" | "wss") || !self.serves(&u) {
            return None;
        }
        let (idx, b) = self.behaviors.matching(u.path());
        Some((idx, b, self.behaviors.effective_pattern(idx)))
    }

    /// What the edge should do with this exchange's response, by the TTL rules.
    ///
    /// `None` when another cache (Varnish, nginx, ...) answered: CloudFront's TTL rules do not say
    /// what it stores.
    pub fn edge_treatment(&self, ex: &Exchange, answered_by: Provider) -> Option<EdgeTreatment> {
        let (_, behavior, _) = self.behavior_for(&ex.url)?;
        self.treatment_under(behavior, ex, answered_by)
    }

    /// [`Self::edge_treatment`] under a behavior already looked up (classification looks it up
    /// once per record).
    pub fn treatment_under(
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

    fn args() -> DistributionArgs {
        DistributionArgs::default()
    }

    #[test]
    fn from_args_defaults_to_the_seed_and_prefixes_the_context_path() {
        let d = Distribution::from_args(&args(), ["jira.example.com".to_string()]).unwrap();
        assert_eq!(d.behaviors, BehaviorSet::seed_default());
        assert_eq!(d.hosts, ["jira.example.com"]);
        let a = DistributionArgs {
            context_path: Some("jira".into()),
            cdn_hosts: vec![
                "https://cdn.example.com/".into(),
                "static.example.com:8443".into(),
            ],
            behavior_header: Some(" X-Lab-Behavior ".into()),
            ..args()
        };
        let d = Distribution::from_args(&a, ["jira.example.com".to_string()]).unwrap();
        assert_eq!(d.behaviors.effective_pattern(0), "/jira/s/*");
        assert_eq!(
            d.hosts,
            [
                "jira.example.com",
                "cdn.example.com",
                "static.example.com:8443"
            ]
        );
        assert_eq!(d.behavior_header.as_deref(), Some("X-Lab-Behavior"));
        let (_, _, p) = d
            .behavior_for("https://cdn.example.com/jira/s/x/batch.js")
            .unwrap();
        assert_eq!(p, "/jira/s/*");
    }

    #[test]
    fn from_args_loads_files_and_refuses_both() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let json = fixtures.join("distribution-config-seed.json");
        let a = DistributionArgs {
            distribution_config: Some(json.clone()),
            context_path: Some("/jira".into()),
            ..args()
        };
        let d = Distribution::from_args(&a, []).unwrap();
        assert_eq!(
            d.behaviors.effective_pattern(0),
            "/s/*",
            "a distribution config is CloudFront's truth: never rewritten"
        );
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("b.toml");
        std::fs::write(
            &toml,
            "[[behavior]]\npattern = \"/s/*\"\ncookies = \"none\"\n",
        )
        .unwrap();
        let a = DistributionArgs {
            behaviors: Some(toml.clone()),
            context_path: Some("/confluence".into()),
            ..args()
        };
        let d = Distribution::from_args(&a, []).unwrap();
        assert_eq!(d.behaviors.effective_pattern(0), "/confluence/s/*");
        let both = DistributionArgs {
            behaviors: Some(toml),
            distribution_config: Some(json),
            ..args()
        };
        assert!(Distribution::from_args(&both, []).is_err());
        let missing = DistributionArgs {
            distribution_config: Some(dir.path().join("nope.json")),
            ..args()
        };
        assert!(
            Distribution::from_args(&missing, [])
                .unwrap_err()
                .to_string()
                .contains("get-distribution-config")
        );
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
