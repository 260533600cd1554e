//! HAR 1.2 in and out.
//!
//! In: `cdnprobe analyze <file.har>` starts the pipeline from a HAR someone already has — a
//! DevTools export, a Firefox export, Playwright `recordHar`, WebPageTest. Those tools disagree on
//! optional fields, header-name case, how a blocked request looks (status 0 in Chrome/Firefox,
//! -1 in Playwright) and where the error text lives (`_error`, `_failureText`), so the types here
//! deserialize leniently: a missing or oddly typed optional field never rejects a file, and only a
//! file that is not JSON, or JSON without `log.entries`, is refused — with a hint.
//!
//! Out: `capture.har`, valid HAR 1.2 so any HAR viewer opens it, with failed requests included
//! (status 0 + `_error`) and a per-entry `_cdnprobe` object carrying the tool's own verdicts. The
//! caller redacts exchanges before exporting; this module never sees a secret it should hide.
//!
//! Extension fields written per entry (Chrome's names where Chrome has one, so DevTools shows
//! them): `_requestId`, `_resourceType` (lower case), `_initiator {type, url}`, `_fromCache`
//! (`disk`/`memory`), `_targetType`, `_serverPort`, `_securityState`, `_failure` (the full [`Failure`], read back
//! first on import), `_cdnprobe` (from the caller); on the response `_transferSize`, `_error`,
//! `_fetchedViaServiceWorker`. Journey phases become HAR pages (`title` = phase).
//!
//! Spec: <http://www.softwareishard.com/blog/har-12-spec/>.

mod error;
mod export;
mod import;
mod model;

pub use error::HarError;
pub use export::{HarSource, write_json};
pub use import::{import, import_file};
pub use model::*;

#[cfg(test)]
mod tests {
    use super::export::*;
    use super::import::*;
    use super::*;
    use crate::error::UserError;
    use crate::exchange::{Exchange, Failure, Headers, Timing};
    use proptest::prelude::*;
    use serde_json::Value;

    /// The one exporter, read back as a document.
    fn export(xs: &[Exchange], ext: impl Fn(&Exchange) -> Option<Value>) -> Har {
        let mut out = Vec::new();
        write_json(&mut out, xs, ext).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    fn to_json(har: Har) -> Value {
        serde_json::to_value(har).unwrap()
    }

    fn sample() -> Vec<Exchange> {
        let mut req = Headers::new();
        req.push(":authority", "jira.example.com");
        req.push("accept", "text/css,*/*;q=0.1");
        req.push(
            "cookie",
            "JSESSIONID=<redacted:0a1b2c3d>; AWSALB=<redacted:11223344>",
        );
        let mut resp = Headers::new();
        resp.push("content-type", "text/css;charset=UTF-8");
        resp.push("x-cache", "Miss from cloudfront");
        resp.push(
            "set-cookie",
            "AWSALB=<redacted:55667788>; Expires=Tue, 07 Jan 2025 10:00:00 GMT; Path=/\nAWSALBCORS=<redacted:99aabbcc>; Path=/; SameSite=None; Secure",
        );
        let ok = Exchange {
            id: "1000.7".into(),
            url: "https://jira.example.com/s/abc-CDN/en_US/940003/1/_/download/contextbatch/css/_super/batch.css?locale=en-US".into(),
            method: "GET".into(),
            resource_type: "Stylesheet".into(),
            initiator: Some("parser https://jira.example.com/secure/Dashboard.jspa".into()),
            target_type: "page".into(),
            request_headers: req,
            status: Some(200),
            status_text: "OK".into(),
            response_headers: resp,
            mime_type: Some("text/css".into()),
            protocol: Some("h2".into()),
            remote_address: Some("[2001:db8::1]:443".into()),
            timing: Timing {
                start_ms: 1_714_557_600_123.0,
                ttfb_ms: Some(35.5),
                end_ms: Some(48.25),
            },
            encoded_size: Some(5120),
            phase: "jira-smoke#2 goto /secure/Dashboard.jspa".into(),
            ..Default::default()
        };
        let mut freq = Headers::new();
        freq.push("Origin", "https://jira.example.com");
        let mut fresp = Headers::new();
        fresp.push("Content-Type", "font/woff");
        let blocked = Exchange {
            id: "1000.9".into(),
            url: "https://cdn.example.com/s/x/_/download/resources/aui:font/adgs-icons.woff".into(),
            method: "GET".into(),
            resource_type: "Font".into(),
            request_headers: freq,
            status: None,
            response_headers: fresp,
            timing: Timing {
                start_ms: 1_714_557_600_200.0,
                ttfb_ms: None,
                end_ms: Some(12.0),
            },
            failure: Some(Failure {
                error_text: "net::ERR_FAILED".into(),
                canceled: false,
                blocked_reason: None,
                cors_error: Some("MissingAllowOriginHeader".into()),
                cors_failed_parameter: Some("".into()),
                tool_limit: None,
            }),
            phase: "jira-smoke#2 goto /secure/Dashboard.jspa".into(),
            ..Default::default()
        };
        vec![ok, blocked]
    }

    #[test]
    fn export_has_every_required_har_field() {
        let har = to_json(export(&sample(), |ex| {
            Some(serde_json::json!({"behavior": "/s/*", "id": ex.id}))
        }));
        let log = &har["log"];
        assert_eq!(log["version"], "1.2");
        assert_eq!(log["creator"]["name"], "cdnprobe");
        assert!(log["creator"]["version"].is_string());
        assert_eq!(log["pages"].as_array().unwrap().len(), 1);
        assert_eq!(
            log["pages"][0]["title"],
            "jira-smoke#2 goto /secure/Dashboard.jspa"
        );
        let entries = log["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        for e in entries {
            let started = e["startedDateTime"].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(started).is_ok(),
                "{started}"
            );
            assert!(e["time"].as_f64().unwrap() >= 0.0);
            for k in [
                "method",
                "url",
                "httpVersion",
                "cookies",
                "headers",
                "queryString",
                "headersSize",
                "bodySize",
            ] {
                assert!(e["request"].get(k).is_some(), "request.{k}");
            }
            for k in [
                "status",
                "statusText",
                "httpVersion",
                "cookies",
                "headers",
                "content",
                "redirectURL",
                "headersSize",
                "bodySize",
            ] {
                assert!(e["response"].get(k).is_some(), "response.{k}");
            }
            assert!(e["response"]["content"]["size"].is_i64());
            assert!(e["response"]["content"]["mimeType"].is_string());
            assert!(e["cache"].is_object());
            for k in ["send", "wait", "receive"] {
                assert!(e["timings"][k].as_f64().unwrap() >= 0.0, "timings.{k}");
            }
            for k in ["blocked", "dns", "connect", "ssl"] {
                assert!(e["timings"][k].as_f64().unwrap() >= -1.0, "timings.{k}");
            }
            assert_eq!(e["pageref"], "page_1");
            assert_eq!(e["_cdnprobe"]["behavior"], "/s/*");
        }
        let ok = &entries[0];
        assert_eq!(ok["startedDateTime"], "2024-05-01T10:00:00.123Z");
        assert_eq!(ok["time"], 48.25);
        assert_eq!(ok["timings"]["wait"], 35.5);
        assert_eq!(ok["serverIPAddress"], "2001:db8::1");
        assert_eq!(ok["_serverPort"], 443);
        assert_eq!(ok["_resourceType"], "stylesheet");
        assert_eq!(ok["response"]["httpVersion"], "http/2.0");
        assert_eq!(ok["request"]["queryString"][0]["name"], "locale");
        assert_eq!(ok["request"]["cookies"][1]["name"], "AWSALB");
        assert_eq!(ok["response"]["cookies"][1]["name"], "AWSALBCORS");
        assert_eq!(ok["response"]["cookies"][0]["path"], "/");
        assert_eq!(
            ok["response"]["cookies"][0]["expires"],
            "2025-01-07T10:00:00.000Z"
        );
        assert!(ok["response"]["cookies"][1].get("expires").is_none());
        assert_eq!(ok["response"]["_error"], Value::Null);
        // CDP's `\n`-joined Set-Cookie becomes one HAR header per cookie.
        let set_cookies = ok["response"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["name"] == "set-cookie")
            .count();
        assert_eq!(set_cookies, 2);
        let failed = &entries[1];
        assert_eq!(failed["response"]["status"], 0);
        assert_eq!(failed["response"]["_error"], "net::ERR_FAILED");
        assert_eq!(failed["_failure"]["cors_error"], "MissingAllowOriginHeader");
        assert_eq!(failed["timings"]["blocked"], 12.0);
        assert_eq!(failed["time"], 12.0);
    }

    #[test]
    fn export_without_extension_or_phase() {
        let mut ex = sample().remove(0);
        ex.phase.clear();
        ex.remote_address = Some("localhost:8443".into());
        let har = to_json(export(&[ex], |_| None));
        assert!(har["log"]["entries"][0].get("serverIPAddress").is_none());
        assert_eq!(har["log"]["entries"][0]["_serverPort"], 8443);
        assert!(har["log"].get("pages").is_none());
        assert!(har["log"]["entries"][0].get("_cdnprobe").is_none());
        assert!(har["log"]["entries"][0].get("pageref").is_none());
    }

    #[test]
    fn the_streamed_export_is_a_har_document() {
        let xs = sample();
        let ext = |ex: &Exchange| Some(serde_json::json!({"id": ex.id}));
        let har = export(&xs, ext);
        assert_eq!(har.log.version, "1.2");
        assert_eq!(har.log.entries.len(), xs.len());
        assert_eq!(har.log.entries[0].extra["_cdnprobe"]["id"], xs[0].id);
        let none = export(&[], |_| None);
        assert!(none.log.entries.is_empty() && none.log.pages.is_empty());
    }

    #[test]
    fn round_trip_preserves_the_exchange() {
        let original = sample();
        let har = export(&original, |_| Some(serde_json::json!({"x": 1})));
        let text = serde_json::to_string_pretty(&har).unwrap();
        let back = import(&text).unwrap();
        assert_eq!(back.len(), original.len());
        for (a, b) in original.iter().zip(&back) {
            assert_eq!(a.url, b.url);
            assert_eq!(a.method, b.method);
            assert_eq!(a.status, b.status);
            assert_eq!(a.request_headers, b.request_headers);
            assert_eq!(a.response_headers, b.response_headers);
            assert_eq!(a.failure, b.failure);
            // and the rest this module can carry
            assert_eq!(a.id, b.id);
            assert_eq!(a.resource_type, b.resource_type);
            assert_eq!(a.initiator, b.initiator);
            assert_eq!(a.target_type, b.target_type);
            assert_eq!(a.mime_type, b.mime_type);
            assert_eq!(a.protocol, b.protocol);
            assert_eq!(a.remote_address, b.remote_address);
            assert_eq!(a.encoded_size, b.encoded_size);
            assert_eq!(a.phase, b.phase);
            assert_eq!(a.timing.start_ms, b.timing.start_ms);
            assert_eq!(a.timing.end_ms, b.timing.end_ms);
            assert_eq!(a.timing.ttfb_ms, b.timing.ttfb_ms);
        }
        // A whole-struct comparison, as a net for fields added later.
        assert_eq!(back, original);
    }

    #[test]
    fn chrome_websocket_messages_become_the_websocket_log() {
        let text = r#"{"log": {"version": "1.2", "entries": [{
            "startedDateTime": "2025-11-04T09:12:44.000Z", "time": 5, "_resourceType": "websocket",
            "request": {"method": "GET", "url": "wss://c.example.com/synchrony/v1/bayeux-sync1",
                "httpVersion": "HTTP/1.1", "headers": [{"name": "Upgrade", "value": "websocket"}],
                "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": 101, "statusText": "Switching Protocols", "httpVersion": "HTTP/1.1",
                "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"},
                "redirectURL": "", "headersSize": -1, "bodySize": 0},
            "cache": {}, "timings": {"send": 0, "wait": 5, "receive": 0},
            "_webSocketMessages": [
                {"type": "send", "time": 1.0, "opcode": 1, "data": "[{\"channel\":\"/meta/handshake\"}]"},
                {"type": "receive", "time": 1.1, "opcode": 1, "data": "[{\"successful\":false}]"},
                {"type": "receive", "time": 1.2, "opcode": 2, "data": "AAE="}
            ]}]}}"#;
        let ex = import(text).unwrap();
        let log = ex[0].websocket.as_ref().unwrap();
        assert_eq!((log.frames_sent, log.frames_received), (1, 2));
        assert_eq!(
            log.received_texts().collect::<Vec<_>>(),
            vec![r#"[{"successful":false}]"#]
        );
        assert_eq!(log.messages.len(), 3);
        assert_eq!(
            (log.messages[2].opcode, log.messages[2].time_ms),
            (2, 1200.0)
        );
        assert_eq!(ex[0].status, Some(101));
    }

    #[test]
    fn not_json_reports_line_and_column() {
        let err = import("{\n  \"log\": {\n    \"entries\": [,]\n  }\n}").unwrap_err();
        match &err {
            HarError::NotJson { line, column, .. } => {
                assert_eq!(*line, 3);
                assert!(*column > 0);
            }
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("hint:"), "{msg}");

        assert!(import("").unwrap_err().hint().contains("empty"));
        assert!(
            import("<!DOCTYPE html><html>")
                .unwrap_err()
                .hint()
                .contains("HTML")
        );
        assert!(
            import("PK\u{3}\u{4}\u{14}\u{0}")
                .unwrap_err()
                .hint()
                .contains("zip")
        );
    }

    #[test]
    fn json_but_not_har() {
        let e = import(r#"{"foo": 1, "bar": 2}"#).unwrap_err();
        assert!(matches!(e, HarError::NotHar { .. }));
        assert!(
            e.to_string()
                .contains("no `log` object (top-level keys: bar, foo)"),
            "{e}"
        );
        let e = import(r#"{"log": {"version": "1.2"}}"#).unwrap_err();
        assert!(e.to_string().contains("no `log.entries`"), "{e}");
        let e = import(r#"{"log": {"entries": {}}}"#).unwrap_err();
        assert!(e.to_string().contains("not an array"), "{e}");
        let e = import(r#"[1,2]"#).unwrap_err();
        assert!(e.to_string().contains("array"), "{e}");
        let e = import(r#"{"schema_version": 1, "requests": []}"#).unwrap_err();
        assert!(e.to_string().contains("report.json"), "{e}");
        assert!(e.hint().contains("cdnprobe diff"));
        let e = import(r#"{"entries": []}"#).unwrap_err();
        assert!(e.to_string().contains("wraps them in a `log`"), "{e}");
        // -> UserError (exit 2) keeps message and hint apart
        let u: UserError = import("nope").unwrap_err().into();
        match u {
            UserError::Input { message, hint } => {
                assert!(message.starts_with("not a HAR file"), "{message}");
                assert!(!message.contains("hint:"));
                assert!(!hint.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_entry_whose_url_is_not_a_url_is_a_clear_error_naming_it() {
        let text = r#"{"log": {"entries": [
            {"request": {"url": "https://a/"}, "response": {"status": 200}},
            {"request": {"url": "data:text/plain,ok"}, "response": {"status": 200}},
            {"request": {"url": "/relative/path"}, "response": {"status": 200}}]}}"#;
        for e in [import(text).unwrap_err(), diagnose(text).unwrap_err()] {
            match e {
                HarError::BadEntry {
                    index, ref message, ..
                } => {
                    assert_eq!(index, 2);
                    assert!(message.contains("`/relative/path`"), "{message}");
                    assert!(message.contains("relative URL without a base"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn entry_without_request_is_a_clear_error() {
        let e = import(
            r#"{"log": {"entries": [{"request": {"url": "https://a/"}}, {"response": {}}]}}"#,
        )
        .unwrap_err();
        match e {
            HarError::BadEntry {
                index, ref message, ..
            } => {
                assert_eq!(index, 1);
                assert!(message.contains("request"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn minimal_and_oddly_typed_entries_are_tolerated() {
        let text = r#"{"log": {"pages": null, "entries": [
            {"request": {"url": "https://a.example/x.css"}},
            {"startedDateTime": "2024-05-01T12:00:00.5+02:00", "time": "12.5",
             "request": {"method": "get", "url": "https://a.example/y", "headers": {"Accept": "*/*"}},
             "response": {"status": "304", "headers": [{"name": "Age", "value": 5}, {"value": "nameless"}, 7],
                          "content": null},
             "timings": {"send": null, "wait": "3", "receive": 1}},
            {"request": {"url": "https://a.example/z"}, "response": {"status": -1, "_failureText": "net::ERR_CONNECTION_REFUSED"}, "_wasAborted": false}
        ]}}"#;
        let xs = import(text).unwrap();
        assert_eq!(xs.len(), 3);
        assert_eq!(xs[0].method, "GET");
        assert_eq!(xs[0].status, None);
        assert_eq!(
            xs[0].failure.as_ref().unwrap().error_text,
            "no response (HAR status 0)"
        );
        assert_eq!(xs[0].id, "har-0");
        assert_eq!(xs[1].method, "GET");
        assert_eq!(xs[1].status, Some(304));
        assert_eq!(xs[1].request_headers.get("accept"), Some("*/*"));
        assert_eq!(xs[1].response_headers.get("age"), Some("5"));
        assert_eq!(xs[1].response_headers.0.len(), 1);
        assert_eq!(xs[1].timing.start_ms, 1_714_557_600_500.0);
        assert_eq!(xs[1].timing.end_ms, Some(12.5));
        assert_eq!(xs[1].timing.ttfb_ms, Some(3.0));
        assert!(xs[1].failure.is_none());
        assert_eq!(xs[2].status, None);
        assert_eq!(
            xs[2].failure.as_ref().unwrap().error_text,
            "net::ERR_CONNECTION_REFUSED"
        );
    }

    #[test]
    fn header_repeats_are_joined_like_cdp() {
        let text = r#"{"log": {"entries": [{"request": {"url": "https://a/"}, "response": {"status": 200,
            "headers": [{"name": "Set-Cookie", "value": "a=1"}, {"name": "set-cookie", "value": "b=2"}, {"name": "Vary", "value": "Origin"}]}}]}}"#;
        let xs = import(text).unwrap();
        assert_eq!(
            *xs[0].response_headers.0,
            vec![
                ("Set-Cookie".to_string(), "a=1\nb=2".to_string()),
                ("Vary".to_string(), "Origin".to_string())
            ]
        );
    }

    #[test]
    fn address_split() {
        assert_eq!(split_address("1.2.3.4:443"), ("1.2.3.4".into(), Some(443)));
        assert_eq!(split_address("[::1]:8080"), ("::1".into(), Some(8080)));
        assert_eq!(split_address("::1"), ("::1".into(), None));
        assert_eq!(split_address("1.2.3.4"), ("1.2.3.4".into(), None));
        assert_eq!(split_address("[::1"), ("[::1".into(), None));
    }

    const CHROME: &str = include_str!("../../tests/fixtures/har/chrome-jira-dashboard.har");
    const PLAYWRIGHT: &str =
        include_str!("../../tests/fixtures/har/playwright-confluence-login.har");

    #[test]
    fn chrome_devtools_fixture() {
        use crate::classify::{
            AssetKind, CacheOutcome, CorsOutcome, Provider, asset_kind, cors_outcome,
            parse_cache_status,
        };
        let xs = import(CHROME).unwrap();
        assert_eq!(xs.len(), 7);
        let kinds: Vec<&str> = xs.iter().map(|x| x.resource_type.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "Document",
                "Stylesheet",
                "Script",
                "Font",
                "Font",
                "XHR",
                "Image"
            ]
        );
        let page = "https://jira.example.com/secure/Dashboard.jspa";
        assert!(xs.iter().all(|x| x.phase == page));

        let doc = &xs[0];
        assert_eq!(doc.id, "har-0");
        assert_eq!(doc.status, Some(200));
        assert_eq!(doc.protocol.as_deref(), Some("h2"));
        assert_eq!(doc.mime_type.as_deref(), Some("text/html"));
        assert_eq!(doc.remote_address.as_deref(), Some("13.224.10.5"));
        assert_eq!(doc.encoded_size, Some(14202));
        assert_eq!(doc.initiator.as_deref(), Some("other"));
        assert_eq!(
            doc.request_headers.get(":authority"),
            Some("jira.example.com")
        );
        assert_eq!(doc.response_headers.get_all("set-cookie").count(), 2);
        assert_eq!(doc.timing.start_ms, 1_714_557_600_012.0);
        // blocked + dns + connect (ssl is inside connect) + send + wait
        assert!((doc.timing.ttfb_ms.unwrap() - 295.011).abs() < 1e-6);
        assert!(doc.failure.is_none());
        let cs = parse_cache_status(&doc.response_headers);
        assert_eq!(
            (cs.provider, cs.status),
            (Provider::CloudFront, CacheOutcome::Miss)
        );
        assert_eq!(cs.pop.as_deref(), Some("FRA56-P1"));

        let css = &xs[1];
        assert_eq!(
            css.initiator.as_deref(),
            Some(format!("parser {page}").as_str())
        );
        assert_eq!(
            asset_kind(&css.url, css.mime_type.as_deref(), &css.resource_type),
            AssetKind::Css
        );

        let js = &xs[2];
        let cs = parse_cache_status(&js.response_headers);
        assert_eq!((cs.status, cs.age), (CacheOutcome::Hit, Some(5312)));

        let blocked = &xs[3];
        assert_eq!(blocked.status, None);
        assert_eq!(
            blocked.failure.as_ref().unwrap().error_text,
            "net::ERR_FAILED"
        );
        assert_eq!(blocked.remote_address, None);
        assert_eq!(blocked.protocol, None);
        assert_eq!(blocked.timing.ttfb_ms, None);
        assert_eq!(blocked.timing.end_ms, Some(44.121));
        // A HAR does not say why: cross-origin, no response, no CDP CORS verdict.
        assert_eq!(cors_outcome(blocked), CorsOutcome::NoResponse);

        let bad_gateway = &xs[4];
        assert_eq!(bad_gateway.status, Some(502));
        let f = bad_gateway.failure.as_ref().unwrap();
        assert_eq!(f.error_text, "net::ERR_ABORTED");
        assert!(f.canceled);
        assert_eq!(
            parse_cache_status(&bad_gateway.response_headers).status,
            CacheOutcome::Error
        );

        let xhr = &xs[5];
        assert!(
            xhr.initiator
                .as_deref()
                .unwrap()
                .starts_with("script https://jira.example.com/s/")
        );
        assert_eq!(
            asset_kind(&xhr.url, xhr.mime_type.as_deref(), &xhr.resource_type),
            AssetKind::Rest
        );

        let avatar = &xs[6];
        assert!(avatar.from_disk_cache && !avatar.from_memory_cache);
        assert!(avatar.from_browser_cache());
        assert_eq!(
            asset_kind(
                &avatar.url,
                avatar.mime_type.as_deref(),
                &avatar.resource_type
            ),
            AssetKind::Avatar
        );
    }

    #[test]
    fn playwright_fixture() {
        use crate::classify::{
            AssetKind, CacheOutcome, CorsOutcome, asset_kind, cors_outcome, parse_cache_status,
        };
        let xs = import(PLAYWRIGHT).unwrap();
        assert_eq!(xs.len(), 5);
        // No `_resourceType`: read from Sec-Fetch-Dest.
        let kinds: Vec<&str> = xs.iter().map(|x| x.resource_type.as_str()).collect();
        assert_eq!(kinds, ["Document", "Document", "Script", "Font", "Fetch"]);
        assert!(xs.iter().all(|x| x.phase == "Dashboard - Confluence"));

        let login = &xs[0];
        assert_eq!(login.method, "POST");
        assert_eq!(login.status, Some(302));
        assert_eq!(
            login.redirected_to.as_deref(),
            Some("https://confluence.example.com/index.action")
        );
        assert_eq!(login.remote_address.as_deref(), Some("18.66.2.41:443"));
        assert_eq!(login.protocol.as_deref(), Some("h2"));
        assert_eq!(login.mime_type, None);
        assert_eq!(login.encoded_size, Some(1024));
        assert_eq!(
            cors_outcome(login),
            CorsOutcome::NotCors,
            "same-origin POST"
        );

        let page = &xs[1];
        assert_eq!(page.mime_type.as_deref(), Some("text/html"));
        assert_eq!(
            asset_kind(&page.url, page.mime_type.as_deref(), &page.resource_type),
            AssetKind::Html
        );

        let js = &xs[2];
        assert_eq!(
            parse_cache_status(&js.response_headers).status,
            CacheOutcome::Hit
        );

        let font = &xs[3];
        assert_eq!(font.status, None);
        assert_eq!(font.failure.as_ref().unwrap().error_text, "net::ERR_FAILED");
        assert_eq!(font.timing.end_ms, None);
        assert_eq!(font.protocol.as_deref(), Some("http/1.1"));
        assert_eq!(font.remote_address, None);
        assert_eq!(cors_outcome(font), CorsOutcome::NoResponse);
        assert_eq!(
            asset_kind(&font.url, font.mime_type.as_deref(), &font.resource_type),
            AssetKind::Font
        );

        let rest = &xs[4];
        assert_eq!(
            asset_kind(&rest.url, rest.mime_type.as_deref(), &rest.resource_type),
            AssetKind::Rest
        );
    }

    #[test]
    fn fixtures_redacted_keep_no_session() {
        let r = crate::redact::Redactor::with_key([9; 32]);
        for text in [CHROME, PLAYWRIGHT] {
            let xs: Vec<Exchange> = import(text)
                .unwrap()
                .iter()
                .map(|x| r.redact_exchange(x))
                .collect();
            let har = serde_json::to_string(&export(&xs, |_| None)).unwrap();
            for secret in ["FIXTURE0000", "fixtureAlbValue", "FIXT-URE0", "deadbeef"] {
                assert!(!har.contains(secret), "{secret} survived");
            }
            assert!(har.contains("JSESSIONID=<redacted:"));
            assert!(har.contains("AWSALB") || har.contains("seraph.confluence"));
        }
    }

    #[test]
    fn fixtures_round_trip() {
        for text in [CHROME, PLAYWRIGHT] {
            let xs = import(text).unwrap();
            let again = import(&to_json(export(&xs, |_| None)).to_string()).unwrap();
            assert_eq!(again, xs);
        }
    }

    /// Every committed HAR fixture (Chrome, Playwright, lab recordings) reads the same through the
    /// streaming reader, from a string and from the file, as through the whole-document reader.
    #[test]
    fn streaming_import_equals_whole_document_import_on_every_fixture() {
        let mut files = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/har");
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "har") {
                    files.push(p);
                }
            }
        }
        assert!(files.len() >= 5, "{files:?}");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let whole = diagnose(&text).unwrap();
            assert!(!whole.is_empty(), "{}", f.display());
            assert_eq!(import(&text).unwrap(), whole, "{}", f.display());
            assert_eq!(import_file(&f).unwrap().unwrap(), whole, "{}", f.display());
        }
    }

    /// A file large enough to be mapped, and to have its pages handed back as it is parsed
    /// (a real public HAR's entries repeated past 12 MB), reads as the string does; cut short, it
    /// is explained as the string is.
    #[test]
    fn a_mapped_har_reads_as_its_text_and_fails_as_its_text() {
        let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/har/real/lansstyrelsen.se-squid.har");
        let mut har: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(real).unwrap()).unwrap();
        let entries = har["log"]["entries"].as_array().unwrap().clone();
        let mut text = String::new();
        while text.len() < 12 << 20 {
            har["log"]["entries"]
                .as_array_mut()
                .unwrap()
                .extend(entries.iter().cloned());
            text = serde_json::to_string(&har).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.har");
        std::fs::write(&p, format!("\u{feff}{text}")).unwrap();
        let from_file = import_file(&p).unwrap().unwrap();
        assert_eq!(
            from_file.len(),
            har["log"]["entries"].as_array().unwrap().len()
        );
        assert_eq!(from_file, import(&text).unwrap());

        let cut = &text[..text.len() - 3];
        std::fs::write(&p, cut).unwrap();
        assert_eq!(
            import_file(&p).unwrap().unwrap_err().to_string(),
            import(cut).unwrap_err().to_string()
        );
    }

    #[test]
    fn import_file_reports_what_is_wrong_like_import() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            "[]",
            "{\"log\": {}}",
            "{\"log\": {\"entries\": [{}]}}",
            "not json",
            "",
        ] {
            let p = dir.path().join("bad.har");
            std::fs::write(&p, bad).unwrap();
            let from_file = import_file(&p).unwrap().unwrap_err().to_string();
            assert_eq!(from_file, import(bad).unwrap_err().to_string(), "{bad}");
        }
        // a byte-order mark is tolerated, as Windows tools write one
        let p = dir.path().join("bom.har");
        std::fs::write(&p, "\u{feff}{\"log\": {\"entries\": []}}").unwrap();
        assert_eq!(import_file(&p).unwrap().unwrap(), vec![]);
    }

    proptest::proptest! {
        #[test]
        fn import_never_panics_on_text(s in "\\PC{0,200}") {
            let _ = import(&s);
        }

        #[test]
        fn import_never_panics_on_har_shaped_json(
            status in proptest::prop_oneof![
                proptest::strategy::Just(serde_json::json!(null)),
                proptest::strategy::Just(serde_json::json!("x")),
                (-5i64..100000).prop_map(|n| serde_json::json!(n)),
                proptest::num::f64::ANY.prop_map(|f| serde_json::json!(f)),
            ],
            time in proptest::num::f64::ANY,
            started in "\\PC{0,30}",
            header_name in "\\PC{0,10}",
            header_value in proptest::prop_oneof![
                proptest::strategy::Just(serde_json::json!(null)),
                "\\PC{0,20}".prop_map(|s| serde_json::json!(s)),
                proptest::strategy::Just(serde_json::json!({"a": [1]})),
            ],
            url in proptest::prop_oneof!["\\PC{0,40}", "https://h/\\PC{0,30}"],
        ) {
            let doc = serde_json::json!({"log": {"pages": [{"id": 1}], "entries": [{
                "startedDateTime": started, "time": time, "pageref": 1,
                "request": {"url": url, "headers": [{"name": header_name, "value": header_value.clone()}]},
                "response": {"status": status, "headers": [{"name": header_name, "value": header_value}],
                             "content": {"mimeType": 5}, "_transferSize": time},
                "timings": {"wait": time, "send": "x"},
                "_initiator": {"type": 3, "stack": {"callFrames": []}},
                "_fromCache": 1, "_serverPort": "p",
            }]}});
            let text = serde_json::to_string(&doc).unwrap();
            let xs = import(&text);
            if url::Url::parse(&url).is_err() {
                // Lenient about everything but the one thing an entry is about.
                prop_assert!(matches!(xs, Err(HarError::BadEntry { index: 0, .. })), "{:?}", xs);
                return Ok(());
            }
            prop_assert!(xs.is_ok(), "{:?}", xs);
            let xs = xs.unwrap();
            // the streaming reader and the whole-document reader agree
            prop_assert_eq!(&xs, &diagnose(&text).unwrap());
            // and exporting whatever came in never panics either
            let _ = export(&xs, |_| None);
        }
    }
}
