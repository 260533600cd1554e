//! `--mode replay`: load each sample again over HTTP, sending what the browser sent.
//!
//! The request is the captured one — method, every header the browser sent (`User-Agent`,
//! `Accept`, `Accept-Encoding`, `Origin` for fonts, `Sec-Fetch-*`, ...) — with the `Cookie` header
//! rebuilt from the journey's [`Jar`], which each response's `Set-Cookie` updates as a browser's
//! would. A cache buster gets a fresh value, as the page would give it on its next load. No
//! automatic redirects, no client-side cache, no decompression (the body is read and dropped, so
//! the edge sees a complete transfer). A sample's loads are sequential (Miss then Hit needs an
//! order); samples run `--concurrency` at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;

use super::jar::Jar;
use super::sample::Sample;
use crate::exchange::{Exchange, Failure, Headers, Timing};

/// Request headers never copied from the capture: the client sets them, or they are per-hop, or
/// (`Cookie`) rebuilt from the jar, or they are the browser's own cache talking (`Cache-Control`,
/// `Pragma`, conditionals): a first-time visitor sends none of them, and Apache mod_cache and
/// Squid obey a request's `no-cache`, so copying them would measure the tool, not the site.
const NOT_COPIED: &[&str] = &[
    "cache-control",
    "pragma",
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "if-range",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
    "proxy-authorization",
    "cookie",
];

/// Bodies larger than this are not read to the end.
const MAX_BODY: u64 = 64 << 20;

pub struct ReplayOptions {
    pub repeat: usize,
    pub concurrency: usize,
    pub timeout: Duration,
    pub insecure: bool,
}

/// Response headers the replay client accepts over HTTP/1.1. hyper's default (100) is far below
/// what a browser takes: Chromium has no count limit, only a size limit (256 KiB), so a response
/// with 1,000 `Set-Cookie` lines loads in the browser and used to fail here ("message head is too
/// large") — blamed on the site. hyper's own buffer (about 400 KiB) is above Chromium's size
/// limit, so with this count nothing the browser can read is refused by the replay.
/// `CDNPROBE_REPLAY_MAX_HEADERS` lowers it (tests of the tool-limit path).
pub(crate) const MAX_RESPONSE_HEADERS: usize = 16_384;
/// HTTP/2 header list size the replay client announces: Chromium's (256 KiB), not hyper's 16 KiB.
/// `CDNPROBE_REPLAY_MAX_HEADER_LIST` lowers it (tests of the tool-limit path).
pub(crate) const MAX_HEADER_LIST_SIZE: u32 = 256 * 1024;

/// The HTTP client for replays.
pub fn client(opts: &ReplayOptions) -> anyhow::Result<reqwest::Client> {
    let b = super::http::client_builder(opts.timeout, opts.insecure)
        .redirect(reqwest::redirect::Policy::none())
        .no_gzip()
        .no_brotli()
        .http1_max_headers(max_response_headers())
        .http2_max_header_list_size(max_header_list_size());
    Ok(b.build()?)
}

fn max_response_headers() -> usize {
    std::env::var("CDNPROBE_REPLAY_MAX_HEADERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(MAX_RESPONSE_HEADERS)
}

fn max_header_list_size() -> u32 {
    std::env::var("CDNPROBE_REPLAY_MAX_HEADER_LIST")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(MAX_HEADER_LIST_SIZE)
}

/// When a replay failed on the replay client's own limit rather than on the site: what the
/// limit was. The browser loaded the same URL, so such a failure says nothing about the site.
pub(crate) fn tool_limit_of(e: &reqwest::Error) -> Option<String> {
    if e.is_builder() {
        return Some(format!(
            "cdnprobe's replay client could not build the request ({})",
            error_chain(e)
        ));
    }
    let chain = error_chain(e);
    if chain.contains("message head is too large") {
        return Some(format!(
            "the response head is larger than cdnprobe's replay client reads (at most {} headers, about 400 KiB): a limit of the tool, not of the site",
            max_response_headers()
        ));
    }
    // h2 refuses a response whose header list is over the size it announced with a stream reset
    // of its own ("detected", not "received" from the server). The browser read the same URL, so
    // the response was within Chromium's limits: what refused it is this client.
    if chain.contains("stream error detected") {
        return Some(format!(
            "cdnprobe's replay client refused the HTTP/2 response ({chain}): its header list is larger than the {} bytes the client reads (Chromium's own limit), or the client reads it as malformed HTTP/2 where Chromium did not: a limit of the tool, not of the site",
            max_header_list_size()
        ));
    }
    None
}

/// A value for a cache-buster parameter that the edge has not seen: numbers move forward (they
/// are timestamps or counters), anything else becomes random text of the same length.
pub(crate) fn fresh_buster(current: &str, attempt: usize) -> String {
    if !current.is_empty()
        && current.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v) = current.parse::<u128>()
    {
        let jump = 1 + rand::random_range(0..1_000_000u128) + attempt as u128 * 1_000_000;
        return (v + jump).to_string();
    }
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..current.len().max(8))
        .map(|_| ALPHA[rand::random_range(0..ALPHA.len())] as char)
        .collect()
}

/// The sample's URL with fresh values for its busters.
pub(crate) fn busted_url(url: &str, busters: &[String], attempt: usize) -> String {
    if busters.is_empty() {
        return url.to_string();
    }
    let Ok(mut u) = url::Url::parse(url) else {
        return url.to_string();
    };
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if busters.iter().any(|b| *b == k) {
                fresh_buster(&v, attempt)
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// The captured request's headers to send again (everything but [`NOT_COPIED`] and HTTP/2
/// pseudo-headers).
pub(crate) fn copied_headers(captured: &Headers) -> Vec<(String, String)> {
    captured
        .iter()
        .filter(|(n, _)| {
            !n.starts_with(':') && !NOT_COPIED.iter().any(|x| x.eq_ignore_ascii_case(n))
        })
        .flat_map(|(n, v)| v.split('\n').map(move |v| (n.to_string(), v.to_string())))
        .collect()
}

fn cross_site(h: &Headers) -> bool {
    h.get("sec-fetch-site")
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        let t = x.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = x.source();
    }
    s
}

/// Send one load and record it as an `Exchange` (raw: the caller redacts before output).
async fn load(
    client: &reqwest::Client,
    sample: &Sample,
    captured: &Exchange,
    jar: &Mutex<Jar>,
    attempt: usize,
    id: String,
) -> Exchange {
    let url = busted_url(&sample.url, &sample.busters, attempt);
    let parsed = url::Url::parse(&url).expect("samples are valid URLs");
    let template = captured.request_headers.get("cookie");
    let cookie =
        jar.lock()
            .unwrap()
            .header_for(&parsed, template, cross_site(&captured.request_headers));
    let mut sent = Headers::new();
    let method =
        reqwest::Method::from_bytes(sample.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = client.request(method, parsed.clone());
    for (n, v) in copied_headers(&captured.request_headers) {
        req = req.header(&n, &v);
        sent.push(n, v);
    }
    if let Some(c) = &cookie {
        req = req.header("Cookie", c);
        sent.push("Cookie", c.clone());
    }
    let start_ms = epoch_ms();
    let started = Instant::now();
    let mut ex = Exchange {
        id,
        url: url.clone(),
        method: sample.method.clone(),
        resource_type: captured.resource_type.clone(),
        initiator: Some("cdnprobe replay".into()),
        target_type: "replay".into(),
        request_headers: sent,
        timing: Timing {
            start_ms,
            ..Default::default()
        },
        phase: format!("repeat {attempt}"),
        ..Default::default()
    };
    match req.send().await {
        Err(e) => {
            ex.failure = Some(Failure {
                error_text: error_chain(&e),
                tool_limit: tool_limit_of(&e),
                ..Default::default()
            });
            ex.timing.end_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(mut resp) => {
            ex.timing.ttfb_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            ex.status = Some(resp.status().as_u16());
            ex.status_text = resp.status().canonical_reason().unwrap_or_default().into();
            ex.protocol = Some(
                match resp.version() {
                    reqwest::Version::HTTP_2 => "h2",
                    reqwest::Version::HTTP_10 => "http/1.0",
                    reqwest::Version::HTTP_3 => "h3",
                    _ => "http/1.1",
                }
                .into(),
            );
            ex.remote_address = resp.remote_addr().map(|a| a.to_string());
            for (n, v) in resp.headers() {
                ex.response_headers.push(
                    n.as_str(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                );
            }
            ex.mime_type = ex
                .response_headers
                .get("content-type")
                .map(|c| c.split(';').next().unwrap_or_default().trim().to_string());
            jar.lock()
                .unwrap()
                .observe_response(&parsed, ex.response_headers.get_all("set-cookie"));
            let mut size: u64 = 0;
            loop {
                match resp.chunk().await {
                    Ok(Some(b)) => {
                        size += b.len() as u64;
                        if size > MAX_BODY {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        ex.failure = Some(Failure {
                            error_text: format!("reading the body: {}", error_chain(&e)),
                            ..Default::default()
                        });
                        break;
                    }
                }
            }
            ex.encoded_size = Some(size);
            ex.timing.end_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    ex
}

/// Load every sample `repeat` times. Returns, per sample (same order), its repeat exchanges.
pub async fn replay(
    samples: &[Sample],
    captured: &[Exchange],
    jars: &HashMap<String, Arc<Mutex<Jar>>>,
    opts: &ReplayOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<Vec<Vec<Exchange>>> {
    let client = client(opts)?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let empty = Arc::new(Mutex::new(Jar::new()));
    let results = futures::stream::iter(samples.iter().enumerate())
        .map(|(n, s)| {
            let client = &client;
            let jar = jars
                .get(&s.session)
                .cloned()
                .unwrap_or_else(|| empty.clone());
            let done = &done;
            async move {
                let mut out = Vec::with_capacity(opts.repeat);
                for k in 1..=opts.repeat {
                    let ex = load(
                        client,
                        s,
                        &captured[s.first],
                        &jar,
                        k,
                        format!("repeat{k}-{n}"),
                    )
                    .await;
                    out.push(ex);
                    progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                }
                (n, out)
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut ordered = vec![Vec::new(); samples.len()];
    for (n, v) in results {
        ordered[n] = v;
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busters_get_fresh_values() {
        let u = "http://h/s/a.js?locale=en-US&_=1732000000000123";
        let a = busted_url(u, &["_".into()], 1);
        let b = busted_url(u, &["_".into()], 2);
        assert_ne!(a, u);
        assert_ne!(a, b);
        assert!(a.starts_with("http://h/s/a.js?locale=en-US&_="), "{a}");
        let v: u128 = a.rsplit('=').next().unwrap().parse().unwrap();
        assert!(v > 1732000000000123, "numbers move forward");
        assert_eq!(busted_url(u, &[], 1), u);
        let t = fresh_buster("abc", 1);
        assert_eq!(t.len(), 8);
    }

    #[test]
    fn copies_what_the_browser_sent_except_per_hop_and_cookie() {
        let mut h = Headers::new();
        h.push(":authority", "h");
        h.push("Host", "h");
        h.push("User-Agent", "Mozilla/5.0 HeadlessChrome");
        h.push("Accept-Encoding", "gzip, deflate, br, zstd");
        h.push("Origin", "http://app");
        h.push("Cookie", "a=1");
        h.push("Connection", "keep-alive");
        // What a browser with its cache disabled adds: never replayed (Apache obeys it).
        h.push("Pragma", "no-cache");
        h.push("Cache-Control", "no-cache");
        h.push("If-None-Match", "\"abc\"");
        let c = copied_headers(&h);
        let names: Vec<&str> = c.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["User-Agent", "Accept-Encoding", "Origin"]);
    }
}
