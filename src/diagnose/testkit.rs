//! Test support: hand-built exchanges, classified the way `run` classifies them.

use crate::classify::Distribution;
use crate::classify::Record;
use crate::cloudfront::BehaviorSet;
use crate::diagnose::Finding;
use crate::exchange::{Exchange, Failure};

pub(crate) const HOST: &str = "jira.example.com";
pub const DATE: &str = "Tue, 24 Nov 2026 10:00:00 GMT";
pub(crate) const S_JS: &str = "https://jira.example.com/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/9120000/1/2c1a/_/download/superbatch/js/batch.js?locale=en-US";
pub(crate) const S_CSS: &str = "https://jira.example.com/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/9120000/1/2c1a/_/download/superbatch/css/batch.css?locale=en-US";
pub const FONT: &str = "https://jira.example.com/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/9120000/1/2c1a/_/download/resources/com.atlassian.auiplugin:aui-ng-icons/assets/fonts/adgs-icons.woff";
pub(crate) const DASHBOARD: &str = "https://jira.example.com/secure/Dashboard.jspa";
pub const REST: &str = "https://jira.example.com/rest/api/2/myself";

/// The seed's distribution serving `jira.example.com`.
pub fn seed() -> Distribution {
    Distribution::new(BehaviorSet::seed_default(), [HOST.to_string()])
}

/// A builder for one exchange.
#[derive(Clone)]
pub(crate) struct Rec(pub Exchange);

impl Rec {
    pub fn get(url: &str) -> Rec {
        let path = url.split('?').next().unwrap_or(url);
        let rt = if path.ends_with(".js") {
            "Script"
        } else if path.ends_with(".css") {
            "Stylesheet"
        } else if path.ends_with(".woff") {
            "Font"
        } else if url.contains("/rest/") {
            "XHR"
        } else {
            "Document"
        };
        Rec(Exchange {
            id: "1".into(),
            url: url.into(),
            method: "GET".into(),
            resource_type: rt.into(),
            status: Some(200),
            target_type: "page".into(),
            ..Default::default()
        })
    }

    pub fn status(mut self, s: u16) -> Rec {
        self.0.status = Some(s);
        self
    }

    pub(crate) fn no_response(mut self, failure: Failure) -> Rec {
        self.0.status = None;
        self.0.failure = Some(failure);
        self
    }

    pub fn failure(mut self, failure: Failure) -> Rec {
        self.0.failure = Some(failure);
        self
    }

    pub fn mime(mut self, m: &str) -> Rec {
        self.0.mime_type = Some(m.into());
        self
    }

    pub fn rt(mut self, t: &str) -> Rec {
        self.0.resource_type = t.into();
        self
    }

    pub fn req(mut self, n: &str, v: &str) -> Rec {
        self.0.request_headers.push(n, v);
        self
    }

    pub fn resp(mut self, n: &str, v: &str) -> Rec {
        self.0.response_headers.push(n, v);
        self
    }

    pub(crate) fn security(mut self, state: &str) -> Rec {
        self.0.security_state = Some(state.into());
        self
    }

    pub(crate) fn browser_cache(mut self) -> Rec {
        self.0.from_disk_cache = true;
        self
    }

    /// A CloudFront answer: `X-Cache`, `X-Amz-Cf-Pop`, `Via`, `Date`.
    pub fn cf(self, x_cache: &str, pop: &str) -> Rec {
        self.resp("X-Cache", &format!("{x_cache} from cloudfront"))
            .resp("X-Amz-Cf-Pop", pop)
            .resp("Via", "1.1 abc.cloudfront.net (CloudFront)")
            .resp("Date", DATE)
    }

    /// A healthy versioned /s/ answer from the edge.
    pub(crate) fn static_ok(url: &str, x_cache: &str) -> Rec {
        Rec::get(url)
            .resp("Cache-Control", "public, max-age=31536000")
            .resp("Expires", "Wed, 24 Nov 2027 10:00:00 GMT")
            .cf(x_cache, "FRA56-P1")
    }

    /// A healthy Jira page through the default behavior.
    pub(crate) fn page_ok(url: &str) -> Rec {
        Rec::get(url)
            .mime("text/html")
            .req("Cookie", "JSESSIONID=<redacted:00000001>")
            .resp("Cache-Control", "no-cache, no-store, must-revalidate")
            .resp("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
            .cf("Miss", "FRA56-P1")
    }

    pub fn record(&self, dist: Option<&Distribution>) -> Record {
        Record::classify(
            self.0.clone(),
            dist.map(std::slice::from_ref).unwrap_or_default(),
        )
    }
}

/// Classify a list of builders against `dist`.
pub fn records(recs: &[Rec], dist: Option<&Distribution>) -> Vec<Record> {
    recs.iter().map(|r| r.record(dist)).collect()
}

/// A healthy journey: pages, REST, /s/ batches (Miss then Hit), a font with CORS, an avatar.
pub fn healthy() -> Vec<Rec> {
    vec![
        Rec::page_ok(DASHBOARD),
        Rec::static_ok(S_JS, "Miss"),
        Rec::static_ok(S_CSS, "Miss"),
        Rec::static_ok(FONT, "Miss")
            .req("Origin", "https://jira.example.com")
            .resp("Access-Control-Allow-Origin", "https://jira.example.com")
            .resp("Vary", "Origin, Accept-Encoding"),
        Rec::get(REST)
            .mime("application/json")
            .req("Cookie", "JSESSIONID=<redacted:00000001>")
            .resp("Cache-Control", "no-cache, no-store, must-revalidate")
            .resp("Expires", DATE)
            .cf("Miss", "FRA56-P1"),
        Rec::get("https://jira.example.com/secure/projectavatar?pid=10000&avatarId=10200")
            .rt("Image")
            .resp("Cache-Control", "private, max-age=31536000")
            .cf("Hit", "FRA56-P1"),
        Rec::page_ok("https://jira.example.com/browse/LAB-1"),
        Rec::static_ok(S_JS, "Hit").resp("Age", "3"),
        Rec::static_ok(S_CSS, "Hit").resp("Age", "3"),
    ]
}

/// Diagnose `recs` against the seed's behaviors.
pub fn run(recs: &[Rec]) -> Vec<Finding> {
    let d = seed();
    crate::diagnose::diagnose(&records(recs, Some(&d)), Some(&d))
}

/// The findings with this id.
pub fn only<'a>(f: &'a [Finding], id: &str) -> Vec<&'a Finding> {
    f.iter().filter(|x| x.id == id).collect()
}

/// A health check's answer from Jira's static-asset-caching endpoint.
pub(crate) fn health_check(status: u16, body: &str) -> crate::diagnose::health::HealthCheck {
    crate::diagnose::health::HealthCheck {
        url: "https://jira.example.com/rest/static-asset-caching/health-checks".into(),
        status: Some(status),
        content_type: Some("application/json".into()),
        body: body.into(),
        error: None,
    }
}
