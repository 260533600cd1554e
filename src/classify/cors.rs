//! CORS outcome of one exchange.
//!
//! Fonts served from a CDN host (or cached at the edge without the `Origin` header in the key) are
//! the usual CORS victims. The browser's verdict (`failure.cors_error`) is authoritative; without
//! it (a HAR, or a response the browser served anyway) the headers still show a cross-origin
//! request answered without a matching `Access-Control-Allow-Origin`, which is reported as
//! `Missing` so the problem is visible before it bites.
//!
//! A WebSocket handshake carries `Origin` too, but CORS does not apply to it: browsers send
//! `Origin` so the server can decide, and never look for `Access-Control-Allow-Origin` in the
//! 101 (and a `ws://` URL never has the page's `http://` origin). Judging it like a fetch would
//! call every healthy Synchrony connection blocked.

use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CorsOutcome {
    /// Not a cross-origin CORS request (no `Origin` header, or `Origin` is the URL's own origin).
    NotCors,
    /// The response allowed the requesting origin (or `*`).
    Allowed,
    /// Cross-origin request answered without an `Access-Control-Allow-Origin` that matches, but no
    /// browser failure was recorded. `allow_origin` is what the response said, if anything.
    Missing { allow_origin: Option<String> },
    /// Cross-origin request that never got a response, and no CORS error was recorded.
    NoResponse,
    /// The browser blocked it (CDP `corsErrorStatus`).
    Blocked {
        error: String,
        missing_header: Option<String>,
    },
}

impl std::fmt::Display for CorsOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorsOutcome::NotCors => f.write_str("-"),
            CorsOutcome::Allowed => f.write_str("ok"),
            CorsOutcome::Missing { allow_origin: None } => f.write_str("missing ACAO"),
            CorsOutcome::Missing {
                allow_origin: Some(_),
            } => f.write_str("ACAO mismatch"),
            CorsOutcome::NoResponse => f.write_str("no response"),
            CorsOutcome::Blocked { error, .. } => write!(f, "blocked: {error}"),
        }
    }
}

impl CorsOutcome {
    /// A CORS problem, confirmed by the browser or visible in the headers.
    #[cfg(test)]
    pub(crate) fn is_problem(&self) -> bool {
        matches!(
            self,
            CorsOutcome::Missing { .. } | CorsOutcome::Blocked { .. }
        )
    }
}

/// `scheme://host[:port]` of a URL, lower-cased, default ports dropped (the Origin serialization).
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

fn is_websocket(ex: &Exchange) -> bool {
    let url = ex.url.get(..6).unwrap_or(&ex.url).to_ascii_lowercase();
    ex.resource_type.eq_ignore_ascii_case("websocket")
        || url.starts_with("ws://")
        || url.starts_with("wss://")
}

/// The header a CDP `CorsError` complains about, when the name says so.
pub(crate) fn header_for(error: &str) -> Option<&'static str> {
    match error {
        "MissingAllowOriginHeader"
        | "MultipleAllowOriginValues"
        | "InvalidAllowOriginValue"
        | "AllowOriginMismatch"
        | "WildcardOriginNotAllowed" => Some("Access-Control-Allow-Origin"),
        "InvalidAllowCredentials" => Some("Access-Control-Allow-Credentials"),
        "MethodDisallowedByPreflightResponse" | "InvalidAllowMethodsPreflightResponse" => {
            Some("Access-Control-Allow-Methods")
        }
        "HeaderDisallowedByPreflightResponse" | "InvalidAllowHeadersPreflightResponse" => {
            Some("Access-Control-Allow-Headers")
        }
        _ => None,
    }
}

pub fn cors_outcome(ex: &Exchange) -> CorsOutcome {
    if let Some(err) = ex.failure.as_ref().and_then(|f| f.cors_error.as_ref()) {
        let missing_header = ex
            .failure
            .as_ref()
            .and_then(|f| f.cors_failed_parameter.clone())
            .filter(|p| !p.is_empty())
            .or_else(|| header_for(err).map(str::to_string));
        return CorsOutcome::Blocked {
            error: err.clone(),
            missing_header,
        };
    }
    // One Origin per request; a HAR exporter that merged two header lists repeats it (joined
    // with `\n`): the first line is the value the browser sent.
    let Some(origin) = ex
        .request_headers
        .get("origin")
        .and_then(|o| o.lines().next())
        .map(str::trim)
    else {
        return CorsOutcome::NotCors;
    };
    if is_websocket(ex) {
        return CorsOutcome::NotCors;
    }
    let origin_norm = origin_of(origin).unwrap_or_else(|| origin.to_ascii_lowercase());
    if origin_of(&ex.url).is_some_and(|own| own == origin_norm) {
        return CorsOutcome::NotCors;
    }
    if ex.status.is_none() {
        return CorsOutcome::NoResponse;
    }
    if ex.status == Some(304) {
        // A 304 revalidates a copy whose CORS headers the browser already checked; the browser
        // keeps that copy's headers, so the 304 need not repeat Access-Control-Allow-Origin.
        return CorsOutcome::NotCors;
    }
    match ex
        .response_headers
        .get("access-control-allow-origin")
        .map(str::trim)
    {
        Some("*") => CorsOutcome::Allowed,
        Some(acao)
            if acao.eq_ignore_ascii_case(origin)
                || origin_of(acao).is_some_and(|a| a == origin_norm) =>
        {
            CorsOutcome::Allowed
        }
        other => CorsOutcome::Missing {
            allow_origin: other.map(str::to_string),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{Failure, Headers};

    fn font(origin: Option<&str>, acao: Option<&str>) -> Exchange {
        let mut req = Headers::new();
        if let Some(o) = origin {
            req.push("Origin", o);
        }
        let mut resp = Headers::new();
        if let Some(a) = acao {
            resp.push("Access-Control-Allow-Origin", a);
        }
        Exchange {
            url: "https://cdn.example.com/s/x/_/download/resources/a:b/adgs-icons.woff".into(),
            method: "GET".into(),
            resource_type: "Font".into(),
            request_headers: req,
            response_headers: resp,
            status: Some(200),
            ..Default::default()
        }
    }

    #[test]
    fn a_websocket_handshake_is_never_cors() {
        let mut ex = font(Some("https://confluence.example.com"), None);
        ex.url = "wss://confluence.example.com/synchrony/v1/bayeux-sync1".into();
        ex.resource_type = "WebSocket".into();
        ex.status = Some(101);
        assert_eq!(cors_outcome(&ex), CorsOutcome::NotCors);
        // Even cross-site, and even when a HAR lost the resource type.
        ex.url = "wss://synchrony.example.net/v1/bayeux-sync1".into();
        ex.resource_type = "Other".into();
        assert_eq!(cors_outcome(&ex), CorsOutcome::NotCors);
    }

    #[test]
    fn no_origin_is_not_cors() {
        let ex = font(None, None);
        assert_eq!(cors_outcome(&ex), CorsOutcome::NotCors);
        assert_eq!(cors_outcome(&ex).to_string(), "-");
    }

    #[test]
    fn same_origin_with_origin_header_is_not_cors() {
        let mut ex = font(Some("https://cdn.example.com"), None);
        ex.method = "POST".into();
        assert_eq!(cors_outcome(&ex), CorsOutcome::NotCors);
        // default port is the same origin
        let ex = font(Some("https://cdn.example.com:443"), None);
        assert_eq!(cors_outcome(&ex), CorsOutcome::NotCors);
    }

    #[test]
    fn repeated_origin_lines_are_one_origin() {
        // chrome-har merges the request's two header lists: ferguson.com's HAR has this.
        let mut ex = font(
            Some("https://cdn.example.com\nhttps://cdn.example.com"),
            Some("https://cdn.appdynamics.com"),
        );
        assert_eq!(cors_outcome(&ex), CorsOutcome::NotCors);
        ex.request_headers = Headers::new();
        ex.request_headers.push(
            "Origin",
            "https://jira.example.com\nhttps://jira.example.com",
        );
        assert!(cors_outcome(&ex).is_problem());
    }

    #[test]
    fn a_304_keeps_the_checked_copy() {
        // ryanair.com's HAR: 200 with `Access-Control-Allow-Origin: *`, then a 304 without it.
        let mut ex = font(Some("https://jira.example.com"), None);
        ex.status = Some(304);
        assert!(!cors_outcome(&ex).is_problem());
    }

    #[test]
    fn allowed_by_star_or_exact_origin() {
        let ex = font(Some("https://jira.example.com"), Some("*"));
        assert_eq!(cors_outcome(&ex), CorsOutcome::Allowed);
        assert_eq!(cors_outcome(&ex).to_string(), "ok");
        let ex = font(
            Some("https://jira.example.com"),
            Some("https://JIRA.example.com"),
        );
        assert_eq!(cors_outcome(&ex), CorsOutcome::Allowed);
    }

    #[test]
    fn cross_origin_font_without_acao_is_missing() {
        let ex = font(Some("https://jira.example.com"), None);
        let o = cors_outcome(&ex);
        assert_eq!(o, CorsOutcome::Missing { allow_origin: None });
        assert!(o.is_problem());
        assert_eq!(o.to_string(), "missing ACAO");
        // A cached answer for another origin (Origin not in the cache key).
        let ex = font(
            Some("https://jira.example.com"),
            Some("https://confluence.example.com"),
        );
        assert_eq!(
            cors_outcome(&ex),
            CorsOutcome::Missing {
                allow_origin: Some("https://confluence.example.com".into())
            }
        );
        assert_eq!(cors_outcome(&ex).to_string(), "ACAO mismatch");
    }

    #[test]
    fn browser_verdict_wins() {
        let mut ex = font(Some("https://jira.example.com"), Some("*"));
        ex.status = None;
        ex.failure = Some(Failure {
            error_text: "net::ERR_FAILED".into(),
            cors_error: Some("MissingAllowOriginHeader".into()),
            ..Default::default()
        });
        let o = cors_outcome(&ex);
        assert_eq!(
            o,
            CorsOutcome::Blocked {
                error: "MissingAllowOriginHeader".into(),
                missing_header: Some("Access-Control-Allow-Origin".into())
            }
        );
        assert_eq!(o.to_string(), "blocked: MissingAllowOriginHeader");
        // CDP's failedParameter is preferred when present.
        ex.failure.as_mut().unwrap().cors_error =
            Some("HeaderDisallowedByPreflightResponse".into());
        ex.failure.as_mut().unwrap().cors_failed_parameter = Some("x-atlassian-token".into());
        assert_eq!(
            cors_outcome(&ex),
            CorsOutcome::Blocked {
                error: "HeaderDisallowedByPreflightResponse".into(),
                missing_header: Some("x-atlassian-token".into())
            }
        );
    }

    #[test]
    fn cross_origin_without_response_or_cors_error() {
        let mut ex = font(Some("https://jira.example.com"), None);
        ex.status = None;
        ex.failure = Some(Failure {
            error_text: "net::ERR_CONNECTION_REFUSED".into(),
            ..Default::default()
        });
        assert_eq!(cors_outcome(&ex), CorsOutcome::NoResponse);
        assert!(!cors_outcome(&ex).is_problem());
    }

    #[test]
    fn serializes_with_tag() {
        let v = serde_json::to_value(CorsOutcome::Blocked {
            error: "MissingAllowOriginHeader".into(),
            missing_header: None,
        })
        .unwrap();
        assert_eq!(v["outcome"], "blocked");
        assert_eq!(v["error"], "MissingAllowOriginHeader");
    }
}
