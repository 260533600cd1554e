//! Atlassian's own static-asset caching health check, called over HTTP after the journeys with
//! the journeys' cookies (the judging is `diagnose::health`'s; this is only the I/O).

use std::time::Duration;

use crate::diagnose::health::{HealthCheck, MAX_BODY, health_url, journey_cookie};
use crate::exchange::Exchange;
use crate::redact::Redactor;

/// Call the health check once. Never fails: a transport error is recorded in `error`.
pub async fn fetch(
    url: &url::Url,
    cookie: Option<&str>,
    insecure: bool,
    timeout: Duration,
) -> HealthCheck {
    let mut hc = HealthCheck {
        url: url.to_string(),
        ..Default::default()
    };
    let client = match super::http::client_builder(timeout, insecure).build() {
        Ok(c) => c,
        Err(e) => {
            hc.error = Some(e.to_string());
            return hc;
        }
    };
    let mut req = client
        .get(url.clone())
        .header("Accept", "application/json")
        .header(
            "User-Agent",
            concat!("cdnprobe/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    match req.send().await {
        Ok(resp) => {
            hc.status = Some(resp.status().as_u16());
            hc.content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match resp.text().await {
                Ok(mut body) => {
                    if body.len() > MAX_BODY {
                        let mut cut = MAX_BODY;
                        while !body.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        body.truncate(cut);
                        body.push_str("\n[cut at 64 KiB]");
                    }
                    hc.body = body;
                }
                Err(e) => hc.error = Some(format!("reading the answer: {e}")),
            }
        }
        Err(e) => hc.error = Some(e.to_string()),
    }
    hc
}
/// Call the health check for each journey base URL (once per URL), with that host's cookies,
/// redacted for the report.
pub async fn check_all(
    bases: &[String],
    context_path: Option<&str>,
    exchanges: &[Exchange],
    redactor: &Redactor,
    insecure: bool,
    timeout: Duration,
) -> Vec<HealthCheck> {
    let mut urls: Vec<url::Url> = Vec::new();
    for b in bases {
        if let Some(u) = health_url(b, context_path)
            && !urls.contains(&u)
        {
            urls.push(u);
        }
    }
    let mut out = Vec::new();
    for u in urls {
        let cookie = journey_cookie(exchanges, &u);
        let hc = fetch(&u, cookie.as_deref(), insecure, timeout).await;
        out.push(HealthCheck {
            url: redactor.redact_url(&hc.url),
            body: redactor.redact_text(&hc.body),
            error: hc.error.as_deref().map(|e| redactor.redact_text(e)),
            ..hc
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::health::findings;

    #[test]
    fn fetch_reads_a_real_answer_with_the_cookie() {
        use axum::{Router, http::HeaderMap, routing::get};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let app = Router::new().route(
                "/jira/rest/static-asset-caching/health-checks",
                get(|h: HeaderMap| async move {
                    let ok = h.get("cookie").and_then(|c| c.to_str().ok()) == Some("JSESSIONID=s1");
                    format!(r#"{{"statuses":[{{"name":"session","isHealthy":{ok}}}]}}"#)
                }),
            );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
            let u = health_url(&format!("http://{addr}/jira/"), None).unwrap();
            let hc = fetch(&u, Some("JSESSIONID=s1"), false, Duration::from_secs(10)).await;
            assert_eq!(hc.status, Some(200));
            assert!(hc.body.contains("\"isHealthy\":true"), "{}", hc.body);
            assert!(findings(&hc).is_empty());
            let missing = health_url(&format!("http://{addr}/"), None).unwrap();
            let hc = fetch(&missing, None, false, Duration::from_secs(10)).await;
            assert_eq!(hc.status, Some(404));
            assert_eq!(findings(&hc)[0].id, "health-check-unavailable");
        });
    }
}
