//! Things that break the page: fonts answering 502, other edge/origin errors, CORS failures.

use super::evidence::{
    cache_lines, cap, ev, group_by, header_lines, plural, response_lines, status_line,
};
use super::headers::distinct_urls;
use super::{Ctx, Finding, ids};
use crate::classify::Record;
use crate::classify::Serving;
use crate::classify::{AssetKind, CacheOutcome};

fn failure_lines(r: &Record) -> Vec<String> {
    let Some(f) = &r.failure else {
        return Vec::new();
    };
    let mut v = vec![format!(
        "browser: {}{}",
        f.error_text,
        if f.canceled { " (canceled)" } else { "" }
    )];
    if let Some(b) = &f.blocked_reason {
        v.push(format!("blockedReason: {b}"));
    }
    v
}

fn error_lines(r: &Record) -> Vec<String> {
    let mut lines = vec![status_line(r)];
    lines.extend(cache_lines(r));
    lines.extend(response_lines(r, &["Server", "X-Amz-Cf-Id"]));
    lines.extend(failure_lines(r));
    lines.dedup();
    lines
}

/// `font-502`: a font answered 502 (typically `Error from cloudfront`).
pub(crate) fn font_502(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        !r.from_browser_cache() && r.class.asset_kind == AssetKind::Font && r.status == Some(502)
    });
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let from_edge = rs.iter().filter(|r| r.class.cache.status == CacheOutcome::Error).count();
            let evidence = distinct_urls(&rs).into_iter().map(|r| ev(r, error_lines(r))).collect();
            ids::FONT_502.finding(
                behavior.clone(),
                format!(
                    "{} answered 502{}: the edge could not fetch them from the origin, so icons and text in \
                     those fonts are missing. A 502 from CloudFront usually means the origin's TLS certificate, \
                     protocol or port is wrong for the origin domain; errors are cached for 10 s.",
                    plural(rs.len(), "font request", "font requests"),
                    if from_edge > 0 {
                        format!(" ({from_edge} with X-Cache: Error from cloudfront)")
                    } else {
                        String::new()
                    }
                ),
                cap(evidence),
            )
        })
        .collect()
}

/// `edge-error`: 5xx answers and `LimitExceeded` (other than fonts' 502, reported on their own).
pub(crate) fn edge_error(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        let font_502 = r.class.asset_kind == AssetKind::Font && r.status == Some(502);
        // A failed websocket is `websocket-failed`, with its own fix.
        let websocket = r.class.asset_kind == AssetKind::Websocket;
        !(r.from_browser_cache() || font_502 || websocket)
            && (r.status.is_some_and(|s| s >= 500)
                || r.class.cache.status == CacheOutcome::LimitExceeded
                || (r.class.cache.status == CacheOutcome::Error && r.status.is_none()))
    });
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let statuses: std::collections::BTreeSet<String> = rs
                .iter()
                .map(|r| {
                    r.status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "no status".into())
                })
                .collect();
            let from_edge = rs
                .iter()
                .filter(|r| {
                    matches!(
                        r.class.cache.status,
                        CacheOutcome::Error | CacheOutcome::LimitExceeded
                    )
                })
                .count();
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| ev(r, error_lines(r)))
                .collect();
            ids::EDGE_ERROR.finding(
                behavior.clone(),
                format!(
                    "{} failed with {} ({from_edge} of them marked as errors by the CDN).",
                    plural(rs.len(), "request", "requests"),
                    statuses.into_iter().collect::<Vec<_>>().join(", ")
                ),
                cap(evidence),
            )
        })
        .collect()
}

/// Chromium's net error names for certificate and handshake failures.
fn is_tls_error(text: &str) -> bool {
    [
        "ERR_CERT_",
        "ERR_SSL_",
        "ERR_BAD_SSL_",
        "ERR_CERTIFICATE_",
        "ERR_TLS_",
    ]
    .iter()
    .any(|p| text.contains(p))
}

/// `tls-error`: requests the browser failed on a certificate or handshake error, per host.
pub(crate) fn tls_error(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        r.failure
            .as_ref()
            .is_some_and(|f| is_tls_error(&f.error_text))
    });
    group_by(hits, |r| Some(ctx.host(r)).filter(|h| !h.is_empty()))
        .into_iter()
        .map(|(host, rs)| {
            let errors: std::collections::BTreeSet<&str> = rs
                .iter()
                .filter_map(|r| r.failure.as_ref().map(|f| f.error_text.as_str()))
                .collect();
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| ev(r, failure_lines(r)))
                .collect();
            ids::TLS_ERROR.finding(
                rs.iter().find_map(|r| r.class.behavior.clone()),
                format!(
                    "{} to {host} failed before any HTTP answer ({}): nothing from that host loads for \
                     anyone whose browser checks certificates.",
                    plural(rs.len(), "request", "requests"),
                    errors.into_iter().collect::<Vec<_>>().join(", ")
                ),
                cap(evidence),
            )
        })
        .collect()
}

/// `tls-certificate-ignored`: https responses Chromium marked `insecure` — only possible when
/// certificate errors were let through with `--insecure`. One finding per host.
pub(crate) fn tls_certificate_ignored(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        r.url.starts_with("https://") && r.security_state.as_deref() == Some("insecure")
    });
    group_by(hits, |r| Some(ctx.host(r)).filter(|h| !h.is_empty()))
        .into_iter()
        .map(|(host, rs)| {
            let first = rs[0];
            ids::TLS_IGNORED.finding(
                first.class.behavior.clone(),
                format!(
                    "{} to {host} were let through despite an invalid certificate because of \
                     --insecure; a browser without it shows an error page instead.",
                    plural(rs.len(), "request", "requests"),
                ),
                vec![ev(
                    first,
                    vec![
                        "securityState: insecure".to_string(),
                        "certificate errors ignored (--insecure)".to_string(),
                    ],
                )],
            )
        })
        .collect()
}

/// A HAR carries no `corsErrorStatus`: a cross-origin font with no response and
/// `net::ERR_FAILED` is what a CORS block looks like there.
fn har_cors_block(r: &Record) -> bool {
    r.class.cors == "no response"
        && r.class.asset_kind == AssetKind::Font
        && r.failure
            .as_ref()
            .is_some_and(|f| f.error_text.contains("ERR_FAILED"))
}

/// `cors-blocked`: the browser blocked a cross-origin response (`corsErrorStatus`), or a
/// cross-origin request was answered without a matching `Access-Control-Allow-Origin`.
pub(crate) fn cors_blocked(ctx: &Ctx) -> Vec<Finding> {
    let blocked = |r: &Record| {
        r.failure.as_ref().is_some_and(|f| f.cors_error.is_some())
            || r.class.cors == "missing ACAO"
            || r.class.cors == "ACAO mismatch"
            || har_cors_block(r)
    };
    let hits = ctx
        .records
        .iter()
        .filter(|r| !r.from_browser_cache() && blocked(r));
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let mut missing: Vec<String> = Vec::new();
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines = Vec::new();
                    let f = r.failure.as_ref();
                    let err = f.and_then(|f| f.cors_error.clone());
                    let header = f
                        .and_then(|f| f.cors_failed_parameter.clone())
                        .filter(|p| !p.is_empty())
                        .or_else(|| err.as_deref().and_then(crate::classify::cors::header_for).map(str::to_string))
                        .unwrap_or_else(|| "Access-Control-Allow-Origin".into());
                    if !missing.contains(&header) {
                        missing.push(header.clone());
                    }
                    match &err {
                        Some(e) => lines.push(format!("corsErrorStatus: {e} (header: {header})")),
                        None if har_cors_block(r) => lines.push(format!(
                            "cross-origin font, no response, {}: a CORS block as a HAR shows it (no corsErrorStatus recorded)",
                            r.failure.as_ref().map(|f| f.error_text.as_str()).unwrap_or("")
                        )),
                        None => lines.push(format!("CORS: {} (header: {header})", r.class.cors)),
                    }
                    lines.extend(header_lines(&r.request_headers, "origin"));
                    let acao = header_lines(&r.response_headers, "access-control-allow-origin");
                    if acao.is_empty() && r.status.is_some() {
                        lines.push("(no Access-Control-Allow-Origin in the response)".into());
                    }
                    lines.extend(acao);
                    lines.extend(response_lines(r, &["Vary"]));
                    lines.extend(cache_lines(r));
                    lines.extend(failure_lines(r));
                    ev(r, lines)
                })
                .collect();
            let no_origin = rs
                .first()
                .and_then(|r| ctx.behavior(r))
                .filter(|Serving { behavior: b, .. }| !b.forwards_header("origin"));
            let fonts = rs.iter().filter(|r| r.class.asset_kind == AssetKind::Font).count();
            let mut f = ids::CORS_BLOCKED.finding(
                behavior.clone(),
                format!(
                    "{} ({} fonts) were refused by the browser: the response lacked a valid {}.{}",
                    plural(rs.len(), "cross-origin request", "cross-origin requests"),
                    fonts,
                    missing.join(", "),
                    match no_origin {
                        Some(Serving { pattern: p, .. }) => format!(
                            " {p} does not forward the Origin header, so the origin never sees it and never answers with Access-Control-Allow-Origin (and a cached answer for one origin is served to all)."
                        ),
                        None => String::new(),
                    }
                ),
                cap(evidence),
            );
            f.title = format!("CORS failure: missing {}", missing.join(", "));
            f
        })
        .collect()
}

/// The `Access-Control-Allow-Origin` a response carries when it names another origin than the
/// cross-origin request's (not `*`): the answer was made for someone else. A same-origin request
/// is left out: the browser does not check CORS there (a real Akamai capture in
/// tests/fixtures/har/real/ shows a same-origin font with another site's cached answer, harmless).
fn foreign_acao(r: &Record) -> Option<(String, String)> {
    // `get_all`: a HAR may carry the header twice (`Origin` and `origin`), joined by a newline.
    let origin = r.request_headers.get_all("origin").next()?.trim();
    let acao = r
        .response_headers
        .get_all("access-control-allow-origin")
        .next()?
        .trim();
    let own = url::Url::parse(&r.url).ok()?.origin().ascii_serialization();
    (acao != "*"
        && !acao.eq_ignore_ascii_case(origin)
        && origin != "null"
        && !own.eq_ignore_ascii_case(origin))
    .then(|| (origin.to_string(), acao.to_string()))
}

/// `cors-origin-not-in-key`: a response served from the cache carries an
/// `Access-Control-Allow-Origin` for another origin than the one asking. CloudFront keeps one
/// object per cache key whatever `Vary: Origin` says, and a legacy behavior forwards `Origin`
/// without keying on it (RequestAndResponseBehaviorCustomOrigin.html): the first requester's
/// answer is served to every other origin.
pub(crate) fn cors_origin_not_in_key(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter(|r| {
        !r.from_browser_cache() && r.class.cache.status.is_hit() && foreign_acao(r).is_some()
    });
    group_by(hits, |r| Some(r.class.behavior.clone()))
        .into_iter()
        .map(|(behavior, rs)| {
            let mut evidence = Vec::new();
            for r in distinct_urls(&rs) {
                let (origin, acao) = foreign_acao(r).expect("filtered");
                let mut lines = vec![
                    format!("Origin: {origin}"),
                    format!("Access-Control-Allow-Origin: {acao}"),
                ];
                lines.extend(response_lines(r, &["Vary"]));
                lines.extend(cache_lines(r));
                lines.push(format!(
                    "(the cached answer was made for {acao}: same cache key, another origin)"
                ));
                evidence.push(ev(r, lines));
                // The request that made the answer, when the capture has it: two origins, one key.
                if let Some(first) = ctx.records.iter().find(|o| {
                    o.url == r.url
                        && o.request_headers
                            .get("origin")
                            .is_some_and(|x| x.trim().eq_ignore_ascii_case(&acao))
                }) {
                    let mut lines = header_lines(&first.request_headers, "origin");
                    lines.extend(header_lines(
                        &first.response_headers,
                        "access-control-allow-origin",
                    ));
                    lines.extend(cache_lines(first));
                    evidence.push(ev(first, lines));
                }
            }
            let keyed = rs
                .first()
                .and_then(|r| ctx.behavior(r))
                .map(|Serving { behavior: b, pattern: p, .. }| {
                    if b.key.headers.contains_header("origin") {
                        format!(" {p} has Origin in its cache key: another cache in front may be the one ignoring it.")
                    } else if b.forwards_header("origin") {
                        format!(
                            " {p} sends Origin to the origin{} but does not key on it.",
                            if b.is_legacy() {
                                " (a legacy behavior forwards it by default)"
                            } else {
                                ""
                            }
                        )
                    } else {
                        String::new()
                    }
                })
                .unwrap_or_default();
            ids::CORS_ORIGIN_NOT_IN_KEY.finding(
                behavior.clone(),
                format!(
                    "{} served from the edge cache carry an Access-Control-Allow-Origin for another origin than the one asking: \
                     the first requester's answer is cached under a key without Origin and served to every other site, \
                     whose browsers refuse it.{keyed}",
                    plural(rs.len(), "response", "responses"),
                ),
                cap(evidence),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testkit::*;
    use crate::diagnose::{Severity, diagnose};
    use crate::exchange::Failure;

    fn font_502_rec() -> Rec {
        Rec::get(FONT)
            .status(502)
            .resp("Server", "CloudFront")
            .cf("Error", "FRA56-P1")
            .failure(Failure {
                error_text: "net::ERR_ABORTED".into(),
                canceled: true,
                ..Default::default()
            })
    }

    #[test]
    fn tls_error_names_the_host_and_the_net_error() {
        let cert = Rec::get(S_JS).no_response(Failure {
            error_text: "net::ERR_CERT_AUTHORITY_INVALID".into(),
            ..Default::default()
        });
        let f = run(&[cert]);
        let x = only(&f, "tls-error");
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].severity, Severity::Error);
        assert!(
            x[0].explanation.contains("jira.example.com"),
            "{}",
            x[0].explanation
        );
        assert_eq!(
            x[0].evidence[0].lines,
            vec!["browser: net::ERR_CERT_AUTHORITY_INVALID".to_string()]
        );
        assert!(x[0].fix.contains("--insecure"));
    }

    #[test]
    fn other_failures_and_healthy_https_are_not_tls_errors() {
        let refused = Rec::get(S_JS).no_response(Failure {
            error_text: "net::ERR_CONNECTION_REFUSED".into(),
            ..Default::default()
        });
        let mut recs = healthy();
        recs.push(refused);
        recs.push(Rec::static_ok(S_CSS, "Hit").security("secure"));
        let f = run(&recs);
        assert!(only(&f, "tls-error").is_empty(), "{f:#?}");
        assert!(only(&f, "tls-certificate-ignored").is_empty(), "{f:#?}");
    }

    #[test]
    fn insecure_https_response_is_a_warning_once_per_host() {
        let f = run(&[
            Rec::static_ok(S_JS, "Hit").security("insecure"),
            Rec::static_ok(S_CSS, "Hit").security("insecure"),
            // plain http is "insecure" too, but that is not a certificate being ignored
            Rec::page_ok("http://jira.example.com/secure/Dashboard.jspa").security("insecure"),
        ]);
        let x = only(&f, "tls-certificate-ignored");
        assert_eq!(x.len(), 1, "{f:#?}");
        assert_eq!(x[0].severity, Severity::Warn);
        assert!(
            x[0].explanation
                .starts_with("2 requests to jira.example.com"),
            "{}",
            x[0].explanation
        );
    }

    #[test]
    fn font_502_is_an_error_with_the_edge_lines() {
        let f = run(&[font_502_rec()]);
        let x = only(&f, "font-502");
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].severity, Severity::Error);
        let lines = &x[0].evidence[0].lines;
        assert!(
            lines.contains(&"HTTP 502 (GET Font)".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"X-Cache: Error from cloudfront".to_string()));
        assert!(lines.contains(&"browser: net::ERR_ABORTED (canceled)".to_string()));
        assert!(x[0].fix.contains("certificate"));
        assert!(only(&f, "edge-error").is_empty(), "not reported twice");
    }

    #[test]
    fn healthy_fonts_and_pages_are_not_errors() {
        let f = run(&healthy());
        assert!(only(&f, "font-502").is_empty());
        assert!(only(&f, "edge-error").is_empty());
        assert!(only(&f, "cors-blocked").is_empty());
    }

    #[test]
    fn edge_errors_5xx() {
        let r = Rec::page_ok(DASHBOARD).status(503);
        let f = run(&[r, Rec::static_ok(S_JS, "Miss").status(504)]);
        let x = only(&f, "edge-error");
        assert_eq!(x.len(), 2, "one per behavior");
        assert!(x.iter().any(|f| f.explanation.contains("503")));
        // A 404 is not an edge error.
        assert!(only(&run(&[Rec::page_ok(DASHBOARD).status(404)]), "edge-error").is_empty());
    }

    #[test]
    fn cors_blocked_font_names_the_missing_header_and_the_unforwarded_origin() {
        let mut d = seed();
        d.behaviors.behaviors[0].origin_forward.headers = crate::cloudfront::NameSet::None;
        d.behaviors.behaviors[0].key.headers = crate::cloudfront::NameSet::None;
        // A cache policy: only what it lists reaches the origin (a legacy behavior would still
        // forward Origin).
        d.behaviors.behaviors[0].cache_policy = Some("CachingOptimized".into());
        let r = Rec::get(FONT)
            .req("Origin", "https://app.example.com")
            .cf("Miss", "FRA56-P1")
            .no_response(Failure {
                error_text: "net::ERR_FAILED".into(),
                cors_error: Some("MissingAllowOriginHeader".into()),
                ..Default::default()
            });
        let f = diagnose(&records(&[r], Some(&d)), Some(&d));
        let x = only(&f, "cors-blocked");
        assert_eq!(x.len(), 1);
        assert_eq!(
            x[0].title,
            "CORS failure: missing Access-Control-Allow-Origin"
        );
        let lines = &x[0].evidence[0].lines;
        assert!(
            lines.contains(
                &"corsErrorStatus: MissingAllowOriginHeader (header: Access-Control-Allow-Origin)"
                    .to_string()
            ),
            "{lines:?}"
        );
        assert!(lines.contains(&"Origin: https://app.example.com".to_string()));
        assert!(
            x[0].explanation
                .contains("does not forward the Origin header"),
            "{}",
            x[0].explanation
        );
        assert!(x[0].fix.contains("whitelist the `Origin` header"));
    }

    #[test]
    fn a_cached_acao_for_another_origin_is_the_origin_not_in_the_key() {
        let mut d = seed();
        d.behaviors.behaviors[0].key.headers = crate::cloudfront::NameSet::None;
        d.behaviors.behaviors[0].origin_forward.headers = crate::cloudfront::NameSet::None;
        let first = Rec::static_ok(FONT, "Miss")
            .req("Origin", "https://wiki.example.com")
            .resp("Access-Control-Allow-Origin", "https://wiki.example.com");
        let second = Rec::static_ok(FONT, "Hit")
            .req("Origin", "https://app.example.com")
            .resp("Access-Control-Allow-Origin", "https://wiki.example.com")
            .resp("Vary", "Origin");
        let f = diagnose(&records(&[first, second], Some(&d)), Some(&d));
        let x = only(&f, "cors-origin-not-in-key");
        assert_eq!(x.len(), 1, "{f:#?}");
        assert_eq!(x[0].severity, Severity::Error);
        let lines: Vec<&String> = x[0].evidence.iter().flat_map(|e| &e.lines).collect();
        for l in [
            "Origin: https://app.example.com",
            "Access-Control-Allow-Origin: https://wiki.example.com",
            "Origin: https://wiki.example.com",
        ] {
            assert!(lines.iter().any(|x| *x == l), "{l}: {lines:#?}");
        }
        assert!(
            x[0].explanation.contains("forwards it by default"),
            "{}",
            x[0].explanation
        );
        assert!(x[0].fix.contains("response headers policy"));
        // `*`, a matching origin, or a miss: nothing to say.
        let fine = [
            Rec::static_ok(FONT, "Hit")
                .req("Origin", "https://app.example.com")
                .resp("Access-Control-Allow-Origin", "*"),
            Rec::static_ok(FONT, "Hit")
                .req("Origin", "https://app.example.com")
                .resp("Access-Control-Allow-Origin", "https://app.example.com"),
            // Same-origin: the browser checks no CORS, whatever the cached answer says.
            Rec::static_ok(FONT, "Hit")
                .req("Origin", "https://jira.example.com")
                .resp("Access-Control-Allow-Origin", "https://wiki.example.com"),
        ];
        let f = diagnose(&records(&fine, Some(&d)), Some(&d));
        assert!(only(&f, "cors-origin-not-in-key").is_empty());
    }

    #[test]
    fn cross_origin_answer_without_acao_in_a_har() {
        let r = Rec::static_ok(FONT, "Hit").req("Origin", "https://app.example.com");
        let f = run(&[r]);
        let x = only(&f, "cors-blocked");
        assert_eq!(x.len(), 1);
        assert!(
            x[0].evidence[0]
                .lines
                .contains(&"(no Access-Control-Allow-Origin in the response)".to_string())
        );
    }
}
