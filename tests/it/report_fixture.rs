//! A fixed, realistic run for the report tests: the Jira journey of the lab (login, dashboard)
//! against a CloudFront-like edge with the seed's behaviors, healthy or with the `alb-stickiness`
//! fault (AWSALB rotating on every /s/ response, so /s/* never hits). The raw exchanges carry a
//! known password and session cookie; the report is built exactly as `cdnprobe run` builds it
//! (`report::build::build_report` with a `Redactor`), with verdicts and findings as verify and diagnose
//! state them. Everything is fixed (times, redaction key), so renderings can be snapshot-tested.
#![allow(dead_code)]

use cdnprobe::classify::Distribution;
use cdnprobe::cloudfront::BehaviorSet;
use cdnprobe::diagnose::{Evidence, Finding, Severity};
use cdnprobe::exchange::{CdpStats, EventCounts};
use cdnprobe::journey::{Capture, JourneyResult, StepResult};
use cdnprobe::redact::Redactor;
use cdnprobe::report::Report;
use cdnprobe::report::build::build_report;
use cdnprobe::verify::{BehaviorReport, Expect, Sequence, Verdict};
use cdnprobe::{Exchange, Failure, Headers, Timing};

pub const PASSWORD: &str = "Tr0ub4dor&3-horse";
pub const SESSION: &str = "8F3C2A91D0B7E6F5A4C3B2A1908F7E6D";
pub const REMEMBER_ME: &str = "4242%3Aa9b8c7d6e5f4a3b2c1d0";
pub const BASE: &str = "http://127.0.0.1:8080";
pub const DATE: &str = "Tue, 24 Nov 2026 10:00:00 GMT";
const T0: f64 = 1_795_514_400_000.0; // 2026-11-24T10:00:00Z
const SUPER_JS: &str = "/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/940003/1/9.12.0/_/download/superbatch/js/batch.js?locale=en-US";
const SUPER_CSS: &str = "/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/940003/1/9.12.0/_/download/superbatch/css/batch.css";
const FONT: &str = "/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/940003/1/9.12.0/_/download/resources/com.atlassian.auiplugin:aui-font/adgs-icons.woff";

pub fn url(path: &str) -> String {
    format!("{BASE}{path}")
}

fn headers(pairs: &[(&str, &str)]) -> Headers {
    Headers::from_pairs(
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

struct Ex {
    id: &'static str,
    path: String,
    method: &'static str,
    kind: &'static str,
    status: Option<u16>,
    req: Headers,
    resp: Headers,
    start: f64,
    ttfb: f64,
    end: f64,
    phase: String,
    failure: Option<Failure>,
    redirected_to: Option<String>,
}

fn build(e: Ex) -> Exchange {
    Exchange {
        id: e.id.into(),
        url: url(&e.path),
        method: e.method.into(),
        resource_type: e.kind.into(),
        initiator: Some(format!("parser {}", url("/login.jsp"))),
        target_type: "page".into(),
        request_headers: e.req,
        status: e.status,
        status_text: match e.status {
            Some(200) => "OK".into(),
            Some(302) => "Found".into(),
            _ => String::new(),
        },
        mime_type: e
            .resp
            .get("content-type")
            .map(|c| c.split(';').next().unwrap().to_string()),
        response_headers: e.resp,
        protocol: Some("http/1.1".into()),
        remote_address: Some("127.0.0.1:8080".into()),
        timing: Timing {
            start_ms: T0 + e.start,
            ttfb_ms: Some(e.ttfb),
            end_ms: Some(e.end),
        },
        encoded_size: Some(4096),
        failure: e.failure,
        redirected_to: e.redirected_to,
        phase: e.phase,
        ..Default::default()
    }
}

fn edge(resp: &mut Headers, x_cache: &str, age: Option<&str>, id: &str) {
    resp.push("X-Cache", x_cache);
    resp.push("Via", "1.1 5f3b1e0c9a7d.cloudfront.net (CloudFront)");
    resp.push("X-Amz-Cf-Pop", "FRA56-P1");
    resp.push("X-Amz-Cf-Id", id);
    if let Some(a) = age {
        resp.push("Age", a);
    }
}

/// The journey's raw exchanges (secrets in clear, as Chromium reports them).
pub fn raw_exchanges(alb_stickiness: bool) -> Vec<Exchange> {
    let step1 = "jira-smoke#1 goto /login.jsp".to_string();
    let step4 = "jira-smoke#4 click #login-form-submit".to_string();
    let step5 = "jira-smoke#5 goto /secure/Dashboard.jspa".to_string();
    let cookie_anon = "atlassian.xsrf.token=BQ93-5TZ4-LMNO-PQRS_4f8e2d1c_lout; AWSALB=Vx1aa0FSdW0x";
    let cookie_auth = format!(
        "JSESSIONID={SESSION}; seraph.rememberme.cookie={REMEMBER_ME}; atlassian.xsrf.token=BQ93-5TZ4-LMNO-PQRS_4f8e2d1c_lin; AWSALB=Vx1aa0FSdW0y"
    );
    let mut out = Vec::new();

    let mut login = headers(&[
        ("Content-Type", "text/html;charset=UTF-8"),
        ("Date", DATE),
        ("Cache-Control", "no-cache, no-store, no-transform"),
        ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ("X-AREQUESTID", "600x1x1"),
        (
            "Set-Cookie",
            "atlassian.xsrf.token=BQ93-5TZ4-LMNO-PQRS_4f8e2d1c_lout; Path=/\nAWSALB=Vx1aa0FSdW0x; Expires=Tue, 01 Dec 2026 10:00:00 GMT; Path=/",
        ),
    ]);
    edge(&mut login, "Miss from cloudfront", None, "aXz1_login==");
    out.push(build(Ex {
        id: "1000.1",
        path: "/login.jsp".into(),
        method: "GET",
        kind: "Document",
        status: Some(200),
        req: headers(&[
            ("Accept", "text/html"),
            ("User-Agent", "Mozilla/5.0 HeadlessChrome"),
        ]),
        resp: login,
        start: 0.0,
        ttfb: 42.0,
        end: 55.0,
        phase: step1.clone(),
        failure: None,
        redirected_to: None,
    }));

    let statics = [
        (
            "1000.2",
            SUPER_CSS,
            "Stylesheet",
            "text/css;charset=UTF-8",
            60.0,
        ),
        (
            "1000.3",
            SUPER_JS,
            "Script",
            "application/javascript;charset=UTF-8",
            62.0,
        ),
        ("1000.4", FONT, "Font", "font/woff", 140.0),
    ];
    for (i, (id, path, kind, ct, start)) in statics.into_iter().enumerate() {
        let mut resp = headers(&[
            ("Content-Type", ct),
            ("Date", DATE),
            ("Cache-Control", "max-age=31536000, public"),
            ("Expires", "Wed, 24 Nov 2027 10:00:00 GMT"),
            ("Vary", "Accept-Encoding"),
        ]);
        if kind == "Font" {
            resp.push("Access-Control-Allow-Origin", BASE);
        }
        if alb_stickiness {
            resp.push(
                "Set-Cookie",
                format!("AWSALB=Rot{i}x9Qz; Expires=Tue, 01 Dec 2026 10:00:00 GMT; Path=/"),
            );
            edge(
                &mut resp,
                "Miss from cloudfront",
                None,
                &format!("cfid-static-{i}=="),
            );
        } else {
            edge(
                &mut resp,
                "Hit from cloudfront",
                Some("3187"),
                &format!("cfid-static-{i}=="),
            );
        }
        let mut req = headers(&[
            ("Accept", "*/*"),
            ("Cookie", cookie_anon),
            ("Referer", &url("/login.jsp")),
        ]);
        if kind == "Font" {
            req.push("Origin", BASE);
        }
        out.push(build(Ex {
            id,
            path: path.to_string(),
            method: "GET",
            kind,
            status: Some(200),
            req,
            resp,
            start,
            ttfb: if alb_stickiness { 38.0 } else { 4.0 },
            end: if alb_stickiness { 61.0 } else { 9.0 },
            phase: step1.clone(),
            failure: None,
            redirected_to: None,
        }));
    }

    let mut fav = headers(&[
        ("Content-Type", "image/x-icon"),
        ("Date", DATE),
        ("Cache-Control", "max-age=31536000"),
    ]);
    edge(&mut fav, "Hit from cloudfront", Some("86000"), "cfid-fav==");
    out.push(build(Ex {
        id: "1000.5",
        path: "/favicon.ico".into(),
        method: "GET",
        kind: "Other",
        status: Some(200),
        req: headers(&[("Accept", "image/*"), ("Cookie", cookie_anon)]),
        resp: fav,
        start: 150.0,
        ttfb: 3.0,
        end: 4.0,
        phase: step1.clone(),
        failure: None,
        redirected_to: None,
    }));

    // The login POST redirect; the password travels in the query of this (Jira-accepted) form.
    let mut post = headers(&[
        ("Date", DATE),
        ("Location", &url("/secure/Dashboard.jspa")),
        ("Cache-Control", "no-cache, no-store, no-transform"),
        (
            "Set-Cookie",
            &format!(
                "JSESSIONID={SESSION}; Path=/; HttpOnly\nseraph.rememberme.cookie={REMEMBER_ME}; Max-Age=1209600; Path=/; HttpOnly\nAWSALB=Vx1aa0FSdW0y; Expires=Tue, 01 Dec 2026 10:00:00 GMT; Path=/"
            ),
        ),
        ("X-Seraph-LoginReason", "OK"),
    ]);
    edge(&mut post, "Miss from cloudfront", None, "cfid-post==");
    out.push(build(Ex {
        id: "1000.6",
        path: format!(
            "/login.jsp?os_username=admin&os_password={}&os_destination=%2Fsecure%2FDashboard.jspa",
            PASSWORD.replace('&', "%26")
        ),
        method: "POST",
        kind: "Document",
        status: Some(302),
        req: headers(&[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie_anon),
            ("Origin", BASE),
        ]),
        resp: post,
        start: 1500.0,
        ttfb: 80.0,
        end: 81.0,
        phase: step4.clone(),
        failure: None,
        redirected_to: Some(url("/secure/Dashboard.jspa")),
    }));

    let mut dash = headers(&[
        ("Content-Type", "text/html;charset=UTF-8"),
        ("Date", DATE),
        ("Cache-Control", "no-cache, no-store, no-transform"),
        ("Expires", DATE),
        ("X-AUSERNAME", "admin"),
        ("X-ASESSIONID", "1x2y3z"),
        ("X-AREQUESTID", "600x2x1"),
    ]);
    edge(&mut dash, "Miss from cloudfront", None, "cfid-dash==");
    out.push(build(Ex {
        id: "1000.7",
        path: "/secure/Dashboard.jspa".into(),
        method: "GET",
        kind: "Document",
        status: Some(200),
        req: headers(&[
            ("Accept", "text/html"),
            ("Cookie", &cookie_auth),
            ("Referer", &url("/login.jsp")),
        ]),
        resp: dash,
        start: 1582.0,
        ttfb: 120.0,
        end: 140.0,
        phase: step5.clone(),
        failure: None,
        redirected_to: None,
    }));

    let basic = format!(
        "Basic {}",
        base64_encode(format!("admin:{PASSWORD}").as_bytes())
    );
    let mut rest = headers(&[
        ("Content-Type", "application/json;charset=UTF-8"),
        ("Date", DATE),
        ("Cache-Control", "no-cache, no-store, no-transform"),
    ]);
    edge(&mut rest, "Miss from cloudfront", None, "cfid-rest==");
    out.push(build(Ex {
        id: "1000.8",
        path: "/rest/api/2/myself".into(),
        method: "GET",
        kind: "XHR",
        status: Some(200),
        req: headers(&[
            ("Accept", "application/json"),
            ("Authorization", &basic),
            ("Cookie", &cookie_auth),
        ]),
        resp: rest,
        start: 1760.0,
        ttfb: 30.0,
        end: 33.0,
        phase: step5.clone(),
        failure: None,
        redirected_to: None,
    }));

    // A beacon the page abandoned: failed exchanges belong in every output too.
    out.push(build(Ex {
        id: "1000.9",
        path: "/rest/analytics/1.0/publish/bulk".into(),
        method: "POST",
        kind: "Fetch",
        status: None,
        req: headers(&[
            ("Content-Type", "application/json"),
            ("Cookie", &cookie_auth),
        ]),
        resp: Headers::new(),
        start: 1800.0,
        ttfb: 0.0,
        end: 12.0,
        phase: step5.clone(),
        failure: Some(Failure {
            error_text: "net::ERR_ABORTED".into(),
            canceled: true,
            ..Default::default()
        }),
        redirected_to: None,
    }));
    out
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn journey() -> JourneyResult {
    let steps = [
        ("goto /login.jsp", 410),
        ("fill #login-form-username", 35),
        ("fill #login-form-password", 31),
        ("click #login-form-submit", 820),
        ("goto /secure/Dashboard.jspa", 960),
    ];
    JourneyResult {
        name: "jira-smoke".into(),
        source: None,
        file: Some("scenarios/jira-smoke.toml".into()),
        base_url: format!("{BASE}/"),
        steps: steps
            .iter()
            .enumerate()
            .map(|(i, (d, ms))| StepResult {
                index: i + 1,
                description: d.to_string(),
                ok: true,
                duration_ms: *ms,
                error: None,
                screenshot: None,
                note: None,
            })
            .collect(),
        ok: true,
    }
}

pub fn redactor() -> Redactor {
    let mut r = Redactor::with_key([7; 32]);
    r.register_secret(PASSWORD);
    r
}

pub fn distribution() -> Distribution {
    Distribution::new(BehaviorSet::seed_default(), ["127.0.0.1:8080".to_string()])
}

pub fn capture(alb_stickiness: bool) -> Capture {
    Capture {
        journeys: vec![journey()],
        exchanges: raw_exchanges(alb_stickiness),
        events: EventCounts {
            request_will_be_sent: 9,
            request_will_be_sent_extra_info: 9,
            response_received: 8,
            response_received_extra_info: 8,
            loading_finished: 8,
            loading_failed: 1,
            attached_targets: 0,
        },
        interrupted: false,
    }
}

fn seq(path: &str, statuses: &[&str], ages: &[Option<u64>], verdict: Verdict) -> Sequence {
    // Built from JSON so fields verify adds later (with serde defaults) do not break the fixture.
    serde_json::from_value(serde_json::json!({
        "url": url(path),
        "statuses": statuses,
        "pops": statuses.iter().map(|_| "FRA56-P1").collect::<Vec<_>>(),
        "ages": ages,
        "http_statuses": statuses.iter().map(|_| 200).collect::<Vec<_>>(),
        "verdict": verdict,
    }))
    .unwrap()
}

/// The report of the run, built as `cdnprobe run` builds it.
pub fn report(alb_stickiness: bool) -> Report {
    let redactor = redactor();
    let cap = capture(alb_stickiness);
    let started = chrono::DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let stats = CdpStats {
        messages: 412,
        events: 390,
        parse_errors: 0,
        driver_parse_errors: 0,
        chromium_version: "Chrome/146.0.7680.71".into(),
    };
    let mut report = build_report(
        &format!("{BASE}/"),
        started,
        &cap,
        stats,
        &redactor,
        &[distribution()],
    );
    report.duration_ms = 14_250;
    let (s_verdict, s_pass, s_reason, s_seqs, s_findings) = if alb_stickiness {
        (
            Verdict::NeverHits,
            false,
            "every repeat load missed: each /s/ response sets a new AWSALB cookie and /s/* forwards all cookies, so every request has a new cache key (rotating-cookie-in-key)".to_string(),
            vec![
                seq(SUPER_JS, &["miss", "miss", "miss", "miss"], &[None, None, None, None], Verdict::NeverHits),
                seq(SUPER_CSS, &["miss", "miss", "miss", "miss"], &[None, None, None, None], Verdict::NeverHits),
            ],
            vec!["rotating-cookie-in-key".to_string(), "set-cookie-on-static".to_string()],
        )
    } else {
        (
            Verdict::Hits,
            true,
            "Miss then Hit on every sampled URL".to_string(),
            vec![
                seq(
                    SUPER_JS,
                    &["miss", "hit", "hit"],
                    &[None, Some(0), Some(1)],
                    Verdict::Hits,
                ),
                seq(
                    SUPER_CSS,
                    &["hit", "hit", "hit"],
                    &[Some(3187), Some(3188), Some(3189)],
                    Verdict::Warm,
                ),
            ],
            vec![],
        )
    };
    report.behaviors = vec![
        BehaviorReport {
            pattern: "/s/*".into(),
            expect: Expect::Hit,
            verdict: s_verdict,
            reason: s_reason,
            pass: s_pass,
            sequences: s_seqs,
            urls: vec![url(SUPER_CSS), url(SUPER_JS), url(FONT)],
            requests: 3,
            asset_kinds: vec!["css".into(), "js".into(), "font".into()],
            findings: s_findings,
        },
        BehaviorReport {
            pattern: "/favicon.ico".into(),
            expect: Expect::Hit,
            verdict: Verdict::Warm,
            reason: "Hit from the first load".into(),
            pass: true,
            sequences: vec![seq(
                "/favicon.ico",
                &["hit", "hit", "hit"],
                &[Some(86000), Some(86001), Some(86002)],
                Verdict::Warm,
            )],
            urls: vec![url("/favicon.ico")],
            requests: 1,
            asset_kinds: vec!["image".into()],
            findings: vec![],
        },
        BehaviorReport {
            pattern: "*".into(),
            expect: Expect::Bypass,
            verdict: Verdict::Bypass,
            reason: "not cached, as expected: the default behavior forwards all headers".into(),
            pass: true,
            sequences: vec![seq(
                "/secure/Dashboard.jspa",
                &["miss", "miss", "miss"],
                &[None, None, None],
                Verdict::Bypass,
            )],
            urls: vec![
                url("/login.jsp"),
                url("/secure/Dashboard.jspa"),
                url("/rest/api/2/myself"),
            ],
            requests: 5,
            asset_kinds: vec!["document".into(), "api".into()],
            findings: vec![],
        },
    ];

    let line = |path: &str, name: &str| -> Vec<String> {
        report
            .requests
            .iter()
            .find(|r| r.url == url(path))
            .and_then(|r| r.response_headers.line(name))
            .into_iter()
            .collect()
    };
    let mut findings = vec![Finding {
        id: "no-cors-on-font-behavior".into(),
        severity: Severity::Info,
        title: "Fonts are served same-origin; CORS is not exercised".into(),
        behavior: Some("/s/*".into()),
        explanation: "With jira.fixed.cdn.prefix set, fonts become cross-origin and need the Origin header whitelisted.".into(),
        evidence: vec![Evidence { url: url(FONT), lines: line(FONT, "access-control-allow-origin") }],
        fix: "Whitelist the Origin header in the /s/* behavior before enabling the CDN prefix.".into(),
        location: None,
        config_fix: None,
    }];
    if alb_stickiness {
        let mut lines = line(SUPER_JS, "set-cookie");
        lines.extend(line(SUPER_JS, "x-cache"));
        let mut css_lines = line(SUPER_CSS, "set-cookie");
        css_lines.extend(line(SUPER_CSS, "x-cache"));
        findings.insert(
            0,
            Finding {
                id: "rotating-cookie-in-key".into(),
                severity: Severity::Error,
                title: "A load-balancer stickiness cookie rotates on every response and is in the cache key".into(),
                behavior: Some("/s/*".into()),
                explanation: "/s/* forwards all cookies, so AWSALB is part of the cache key; the ALB sets a new AWSALB on every response, so no two requests share a key and nothing ever hits.".into(),
                evidence: vec![
                    Evidence { url: url(SUPER_JS), lines },
                    Evidence { url: url(SUPER_CSS), lines: css_lines },
                ],
                fix: "In the /s/* behavior forward no cookies (Cookies: None, or the CachingOptimized cache policy); static resources do not need them.".into(),
                location: None,
                config_fix: None,
            },
        );
        findings.insert(
            1,
            Finding {
                id: "set-cookie-on-static".into(),
                severity: Severity::Warn,
                title: "Static responses set cookies".into(),
                behavior: Some("/s/*".into()),
                explanation: "A cached response with Set-Cookie is replayed to every user.".into(),
                evidence: vec![Evidence { url: url(SUPER_CSS), lines: line(SUPER_CSS, "set-cookie") }],
                fix: "Stop the ALB from setting AWSALB on /s/ (disable stickiness or serve /s/ from a target group without it).".into(),
                location: None,
                config_fix: None,
            },
        );
    }
    report.findings = findings;
    report.summarize();
    report
}
