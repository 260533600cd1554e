//! WebSockets that failed: the upgrade refused on the way (a CDN behavior or proxy that does not
//! pass it), or accepted and then refused by the application (a load balancer that sends the
//! socket to a node without the session).
//!
//! Why it matters here: Confluence's collaborative editing runs over Synchrony's websocket
//! (`/synchrony/v1/bayeux-sync1`). When it fails, the editor quietly falls back to XHR or cannot
//! edit at all — every page still loads, so nothing else in a run would show it. Both failures
//! are configuration on the CDN/ALB side (seeds/003: a `/synchrony/*` rule with stickiness), so
//! they are errors with both fixes. The evidence is what the browser saw: the handshake's status
//! and headers, Chromium's error (a refused upgrade has no headers in CDP), and the server's
//! first messages after a 101.

use super::evidence::{cache_lines, cap, ev, header_lines, plural, response_lines, status_line};
use super::{Ctx, Finding, ids};
use crate::classify::AssetKind;
use crate::classify::Record;
use crate::classify::Serving;

/// Why one websocket counts as failed, in a line of evidence; `None` when it worked.
fn failure(r: &Record) -> Option<String> {
    if r.status != Some(101) {
        return Some(match (r.status, &r.failure) {
            (Some(s), _) => format!("upgrade refused: HTTP {s} instead of 101 Switching Protocols"),
            (None, Some(f)) => format!("upgrade failed: {}", f.error_text),
            (None, None) => "upgrade never answered".to_string(),
        });
    }
    let ws = r.websocket.as_ref()?;
    if let Some(e) = &ws.error {
        return Some(format!("socket error after the upgrade: {e}"));
    }
    // A bayeux (CometD, Synchrony) server refuses a session in-band, after a good 101.
    let refused = ws.received_texts().find(|m| is_bayeux_refusal(m))?;
    Some(format!(
        "server refused the session after the upgrade: {refused}"
    ))
}

/// `[{"channel": "/meta/...", "successful": false, ...}]`: a bayeux meta message that failed.
fn is_bayeux_refusal(message: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(message) else {
        return false;
    };
    let items = match &v {
        serde_json::Value::Array(a) => a.iter().collect::<Vec<_>>(),
        other => vec![other],
    };
    items.iter().any(|m| {
        m.get("successful") == Some(&serde_json::Value::Bool(false))
            && m.get("channel")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|c| c.starts_with("/meta/"))
    })
}

fn is_synchrony(r: &Record) -> bool {
    url::Url::parse(&r.url).is_ok_and(|u| u.path().contains("/synchrony/"))
}

fn lines(r: &Record, why: String) -> Vec<String> {
    let mut v = vec![status_line(r), why];
    if let Some(f) = r.failure.as_ref().filter(|_| r.status.is_some()) {
        v.push(format!("browser: {}", f.error_text));
    }
    v.extend(cache_lines(r));
    v.extend(response_lines(
        r,
        &["Server", "Upgrade", "Connection", "Set-Cookie"],
    ));
    for name in ["Upgrade", "Sec-WebSocket-Version", "Cookie"] {
        v.extend(
            header_lines(&r.request_headers, name)
                .into_iter()
                .map(|l| format!("request {l}")),
        );
    }
    if let Some(ws) = &r.websocket {
        v.push(format!(
            "frames: {} sent, {} received{}",
            ws.frames_sent,
            ws.frames_received,
            if ws.closed { ", closed" } else { "" }
        ));
    }
    v.dedup();
    v
}

/// `websocket-failed`: a websocket whose upgrade was refused or whose session the server refused.
pub(crate) fn websocket_failed(ctx: &Ctx) -> Vec<Finding> {
    let failed: Vec<(&Record, String)> = ctx
        .records
        .iter()
        .filter(|r| r.class.asset_kind == AssetKind::Websocket)
        .filter_map(|r| failure(r).map(|why| (r, why)))
        .collect();
    if failed.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for synchrony in [true, false] {
        let group: Vec<&(&Record, String)> = failed
            .iter()
            .filter(|(r, _)| is_synchrony(r) == synchrony)
            .collect();
        let Some((first, _)) = group.first() else {
            continue;
        };
        let refused_upgrades = group.iter().filter(|(r, _)| r.status != Some(101)).count();
        let what = if synchrony {
            "Synchrony's websocket (Confluence collaborative editing)"
        } else {
            "websocket"
        };
        let explanation = format!(
            "{} failed: {refused_upgrades} refused at the upgrade (a CDN behavior or proxy that \
             does not pass `Upgrade` and the `Sec-WebSocket-*` headers answers it like a plain GET), \
             {} refused by the server after a 101 (typically a load balancer without stickiness \
             sending the socket to a node without the session).{}",
            plural(
                group.len(),
                &format!("{what} connection"),
                &format!("{what} connections")
            ),
            group.len() - refused_upgrades,
            if synchrony {
                " The editor then falls back to XHR (slower, more load, and broken without \
                 stickiness) or cannot edit."
            } else {
                ""
            }
        );
        let evidence = group
            .iter()
            .map(|(r, why)| ev(r, lines(r, why.clone())))
            .collect();
        let mut f = ids::WEBSOCKET_FAILED.finding(
            ctx.behavior(first).map(|Serving { pattern: p, .. }| p),
            explanation,
            cap(evidence),
        );
        if synchrony {
            f.title = format!(
                "Synchrony websocket failed: {}",
                ids::WEBSOCKET_FAILED.title
            );
        }
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::testkit::{Rec, only, run};
    use crate::exchange::{Failure, WebSocketDirection, WebSocketLog};

    const BAYEUX: &str = "wss://jira.example.com/synchrony/v1/bayeux-sync1";

    fn socket(status: Option<u16>) -> Rec {
        let mut r = Rec::get(BAYEUX)
            .rt("WebSocket")
            .req("Upgrade", "websocket")
            .req("Sec-WebSocket-Version", "13");
        r.0.status = status;
        r.0.websocket = Some(WebSocketLog::default());
        r
    }

    fn ws_findings(recs: Vec<Rec>) -> Vec<Finding> {
        let all = run(&recs);
        only(&all, "websocket-failed")
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn a_healthy_socket_is_no_finding() {
        let mut ok = socket(Some(101)).resp("Upgrade", "websocket");
        let mut log = WebSocketLog {
            frames_sent: 2,
            frames_received: 2,
            closed: true,
            ..Default::default()
        };
        log.record(
            WebSocketDirection::Receive,
            0.0,
            1,
            r#"[{"channel":"/meta/handshake","successful":true}]"#,
        );
        ok.0.websocket = Some(log);
        assert!(ws_findings(vec![ok]).is_empty());
    }

    #[test]
    fn a_refused_upgrade_is_an_error_with_status_headers_and_the_browser_error() {
        let r = socket(Some(400))
            .resp("X-Cache", "Error from cloudfront")
            .failure(Failure {
                error_text: "Error during WebSocket handshake: Unexpected response code: 400"
                    .into(),
                ..Default::default()
            });
        let f = ws_findings(vec![r]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, crate::diagnose::Severity::Error);
        assert!(
            f[0].title.starts_with("Synchrony websocket failed"),
            "{}",
            f[0].title
        );
        assert_eq!(f[0].behavior.as_deref(), Some("*"));
        let l = &f[0].evidence[0].lines;
        assert!(l.iter().any(|x| x.contains("HTTP 400")), "{l:#?}");
        assert!(l.iter().any(|x| x.contains("upgrade refused")), "{l:#?}");
        assert!(
            l.iter().any(|x| x.contains("Error from cloudfront")),
            "{l:#?}"
        );
        assert!(
            l.iter()
                .any(|x| x.contains("Unexpected response code: 400")),
            "{l:#?}"
        );
        assert!(
            l.iter().any(|x| x == "request Upgrade: websocket"),
            "{l:#?}"
        );
        assert!(f[0].fix.contains("Sec-WebSocket-Key") && f[0].fix.contains("stickiness"));
    }

    #[test]
    fn a_session_refused_after_101_is_an_error_with_the_servers_message() {
        let mut r = socket(Some(101));
        let mut log = WebSocketLog {
            frames_sent: 1,
            closed: true,
            ..Default::default()
        };
        log.record(
            WebSocketDirection::Receive,
            0.0,
            1,
            r#"[{"channel":"/meta/handshake","successful":false,"error":"402::Unknown client"}]"#,
        );
        r.0.websocket = Some(log);
        let f = ws_findings(vec![r]);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].explanation
                .contains("1 refused by the server after a 101"),
            "{}",
            f[0].explanation
        );
        let l = &f[0].evidence[0].lines;
        assert!(
            l.iter().any(|x| x.contains("402::Unknown client")),
            "{l:#?}"
        );
        assert!(
            l.iter().any(|x| x == "frames: 1 sent, 1 received, closed"),
            "{l:#?}"
        );
    }

    #[test]
    fn a_connection_that_never_got_an_answer_and_a_non_synchrony_socket() {
        let mut r = socket(None).failure(Failure {
            error_text: "net::ERR_CONNECTION_RESET".into(),
            ..Default::default()
        });
        r.0.url = "wss://jira.example.com/plugins/servlet/live".into();
        let f = ws_findings(vec![r]);
        assert_eq!(f.len(), 1);
        assert!(!f[0].title.starts_with("Synchrony"));
        assert!(
            f[0].evidence[0]
                .lines
                .iter()
                .any(|x| x.contains("upgrade failed: net::ERR_CONNECTION_RESET"))
        );
    }

    #[test]
    fn bayeux_refusals_are_meta_messages_that_failed() {
        assert!(is_bayeux_refusal(
            r#"[{"channel":"/meta/connect","successful":false}]"#
        ));
        assert!(is_bayeux_refusal(
            r#"{"channel":"/meta/handshake","successful":false}"#
        ));
        assert!(!is_bayeux_refusal(
            r#"[{"channel":"/meta/handshake","successful":true}]"#
        ));
        assert!(!is_bayeux_refusal(
            r#"[{"channel":"/chat","successful":false}]"#
        ));
        assert!(!is_bayeux_refusal("not json"));
    }
}
