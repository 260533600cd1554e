//! The lab edge against a tiny origin, over real sockets on 127.0.0.1: each test is one CloudFront
//! fact from DESIGN.md, observed the way a browser would see it (`X-Cache`, `Age`, `Set-Cookie`)
//! and the way the origin would (what reached it, how often).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cdnprobe::cloudfront::{BehaviorSet, KeyPolicy, NameSet, load};
use cdnprobe::lab::edge::{self, EdgeConfig};

#[derive(Default)]
struct Origin {
    /// (path and query, request headers) of every request that reached the origin.
    seen: Mutex<Vec<(String, HeaderMap)>>,
    counter: AtomicUsize,
    /// Answer 503 on `/…/flaky.js` (the origin failing after the object was cached).
    failing: std::sync::atomic::AtomicBool,
    /// `/s/slow.js` waits for a permit: the test decides when the origin answers.
    gate: Gate,
}

struct Gate(tokio::sync::Semaphore);

impl Default for Gate {
    fn default() -> Self {
        Gate(tokio::sync::Semaphore::new(0))
    }
}

impl Origin {
    fn count(&self, path: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.split('?').next() == Some(path))
            .count()
    }
    fn last(&self, path: &str) -> (String, HeaderMap) {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(p, _)| p.split('?').next() == Some(path))
            .cloned()
            .expect("origin saw the path")
    }
}

async fn origin_handler(State(o): State<Arc<Origin>>, req: Request) -> Response {
    let pq = req.uri().path_and_query().unwrap().as_str().to_string();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    o.seen.lock().unwrap().push((pq.clone(), headers.clone()));
    let n = o.counter.fetch_add(1, Ordering::SeqCst);
    let now = httpdate::fmt_http_date(std::time::SystemTime::now());
    let cookie = |name: &str| {
        headers
            .get_all("cookie")
            .iter()
            .flat_map(|v| v.to_str().unwrap().split(';'))
            .map(str::trim)
            .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_string))
    };
    match path.as_str() {
        "/s/max-age.js" | "/secure/max-age" => (
            [("Cache-Control", "public, max-age=3600")],
            format!("body {n}"),
        )
            .into_response(),
        "/s/expires.js" => (
            [("Date", now.as_str()), ("Expires", now.as_str())],
            format!("body {n}"),
        )
            .into_response(),
        "/s/sticky.js" | "/download/resources/sticky.png" => (
            [
                ("Cache-Control", "max-age=3600".to_string()),
                ("Set-Cookie", format!("AWSALB=rotated{n}; Path=/")),
            ],
            format!("body {n}"),
        )
            .into_response(),
        "/secure/Dashboard.jspa" => {
            let user = cookie("JSESSIONID").unwrap_or_else(|| "anonymous".into());
            format!("dashboard of {user}").into_response()
        }
        "/s/font.woff" => {
            let mut h = vec![("Cache-Control", "max-age=3600".to_string())];
            if let Some(o) = headers.get("origin") {
                h.push((
                    "Access-Control-Allow-Origin",
                    o.to_str().unwrap().to_string(),
                ));
                h.push(("Vary", "Origin".to_string()));
            }
            let h: Vec<(String, String)> = h.into_iter().map(|(a, b)| (a.to_string(), b)).collect();
            let mut resp = "wOFF".into_response();
            for (k, v) in h {
                resp.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            resp
        }
        "/s/vary.js" => (
            [
                ("Cache-Control", "max-age=3600"),
                ("Vary", "Accept-Encoding, User-Agent"),
            ],
            format!("vary {n}"),
        )
            .into_response(),
        // Stale on arrival, with validators: revalidated with a 304 when the tag matches.
        "/s/revalidate.js"
        | "/download/resources/revalidate.js"
        | "/download/resources/flaky.js" => {
            if path.ends_with("flaky.js") && o.failing.load(Ordering::SeqCst) {
                return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
            }
            let tag = "\"v1\"";
            if headers.get("if-none-match").is_some_and(|v| v == tag) {
                return (
                    axum::http::StatusCode::NOT_MODIFIED,
                    [("ETag", tag), ("Cache-Control", "max-age=0")],
                )
                    .into_response();
            }
            (
                [("Cache-Control", "max-age=0"), ("ETag", tag)],
                format!("body {n}"),
            )
                .into_response()
        }
        // Errors: the status comes from the path, `?max-age=N` adds Cache-Control.
        p if p.starts_with("/s/status/") => {
            let code: u16 = p["/s/status/".len()..].parse().unwrap();
            let status = axum::http::StatusCode::from_u16(code).unwrap();
            let q = req_query(&pq);
            let mut resp = (status, format!("status {code} #{n}")).into_response();
            if let Some(ma) = q {
                resp.headers_mut()
                    .insert("cache-control", format!("max-age={ma}").parse().unwrap());
            }
            resp
        }
        "/s/big.css" | "/s/small.css" | "/s/big.png" => {
            let n = if path == "/s/small.css" { 500 } else { 5_000 };
            let ctype = if path.ends_with(".png") {
                "image/png"
            } else {
                "text/css"
            };
            (
                [
                    ("Cache-Control", "max-age=3600"),
                    ("Content-Type", ctype),
                    ("ETag", "\"big\""),
                ],
                "a".repeat(n),
            )
                .into_response()
        }
        "/s/ranged.bin" => {
            // An origin that answers ranges (one `bytes=a-b`), like Apache or S3.
            let body: Vec<u8> = (0..100u8).collect();
            let asked = headers
                .get("range")
                .and_then(|v| v.to_str().ok())
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.split_once('-'))
                .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
            match asked {
                Some((a, b)) if a <= b && b < body.len() => (
                    axum::http::StatusCode::PARTIAL_CONTENT,
                    [
                        ("Cache-Control", "max-age=3600".to_string()),
                        ("Content-Range", format!("bytes {a}-{b}/{}", body.len())),
                    ],
                    body[a..=b].to_vec(),
                )
                    .into_response(),
                _ => ([("Cache-Control", "max-age=3600")], body).into_response(),
            }
        }
        "/s/gone-then-down.js" => {
            if o.failing.load(Ordering::SeqCst) {
                (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response()
            } else {
                (axum::http::StatusCode::NOT_FOUND, "gone").into_response()
            }
        }
        "/s/slow-stale.js" => {
            // Stored stale on arrival; its revalidation waits for the gate, then 304.
            if headers.contains_key("if-none-match") {
                let _permit = o.gate.0.acquire().await.unwrap();
                return (
                    axum::http::StatusCode::NOT_MODIFIED,
                    [("ETag", "\"v1\""), ("Cache-Control", "max-age=0")],
                )
                    .into_response();
            }
            (
                [("Cache-Control", "max-age=0"), ("ETag", "\"v1\"")],
                format!("stale {n}"),
            )
                .into_response()
        }
        "/s/slow.js" => {
            let _permit = o.gate.0.acquire().await.unwrap();
            ([("Cache-Control", "max-age=3600")], format!("slow {n}")).into_response()
        }
        "/s/cookie-not-cached.js" => (
            [
                ("Cache-Control", "max-age=3600, no-cache=\"Set-Cookie\""),
                ("Set-Cookie", "JSESSIONID=for-the-first-viewer; Path=/"),
            ],
            format!("body {n}"),
        )
            .into_response(),
        "/s/broken.js" => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("down {n}"),
        )
            .into_response(),
        _ => ([("Cache-Control", "max-age=3600")], format!("other {n}")).into_response(),
    }
}

/// `max-age` query parameter of a path-and-query, if any.
fn req_query(pq: &str) -> Option<String> {
    pq.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix("max-age=").map(str::to_string))
}

async fn listen(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn start_origin() -> (Arc<Origin>, SocketAddr) {
    let o = Arc::new(Origin::default());
    let addr = listen(Router::new().fallback(origin_handler).with_state(o.clone())).await;
    (o, addr)
}

async fn start_edge(origin: SocketAddr, set: BehaviorSet, pops: &[&str]) -> String {
    let mut cfg = EdgeConfig::new(format!("http://{origin}/").parse().unwrap(), set);
    cfg.pops = pops.iter().map(|p| p.to_string()).collect();
    cfg.behavior_header = Some("X-Lab-Behavior".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(edge::serve(cfg, listener));
    format!("http://{addr}")
}

async fn setup(set: BehaviorSet) -> (Arc<Origin>, String, reqwest::Client) {
    let (o, addr) = start_origin().await;
    let edge = start_edge(addr, set, &["FRA56-P1"]).await;
    (o, edge, client())
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn x_cache(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-cache")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn get(c: &reqwest::Client, url: &str) -> reqwest::Response {
    c.get(url).send().await.unwrap()
}

#[tokio::test]
async fn max_age_resource_goes_miss_then_hit_with_age() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let r1 = get(&c, &format!("{edge}/s/max-age.js")).await;
    assert_eq!(x_cache(&r1), "Miss from cloudfront");
    assert!(r1.headers().get("age").is_none());
    let via = r1.headers()["via"].to_str().unwrap().to_string();
    assert!(
        via.starts_with("1.1 ") && via.ends_with(".cloudfront.net (CloudFront)"),
        "{via}"
    );
    assert_eq!(r1.headers()["x-amz-cf-pop"], "FRA56-P1");
    let id1 = r1.headers()["x-amz-cf-id"].to_str().unwrap().to_string();
    assert_eq!(r1.headers()["x-lab-behavior"], "#1 /s/*");
    let b1 = r1.text().await.unwrap();

    let r2 = get(&c, &format!("{edge}/s/max-age.js")).await;
    assert_eq!(x_cache(&r2), "Hit from cloudfront");
    assert!(r2.headers().get("age").is_some(), "Age on hits");
    assert_ne!(
        r2.headers()["x-amz-cf-id"].to_str().unwrap(),
        id1,
        "one id per request"
    );
    assert_eq!(r2.text().await.unwrap(), b1);
    assert_eq!(o.count("/s/max-age.js"), 1);

    // HEAD shares the GET entry.
    let r3 = c.head(format!("{edge}/s/max-age.js")).send().await.unwrap();
    assert_eq!(x_cache(&r3), "Hit from cloudfront");
    assert_eq!(o.count("/s/max-age.js"), 1);
}

#[tokio::test]
async fn expires_equal_to_date_never_hits_with_min_ttl_zero() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    for _ in 0..3 {
        let r = get(&c, &format!("{edge}/s/expires.js")).await;
        assert_eq!(x_cache(&r), "Miss from cloudfront");
    }
    assert_eq!(o.count("/s/expires.js"), 3);
}

/// Send back the cookie the previous response set, as a browser would.
async fn sticky_loop(c: &reqwest::Client, url: &str, n: usize) -> Vec<(String, Option<String>)> {
    let mut cookie: Option<String> = None;
    let mut out = Vec::new();
    for _ in 0..n {
        let mut rb = c.get(url);
        if let Some(ck) = &cookie {
            rb = rb.header("Cookie", format!("JSESSIONID=s1; {ck}"));
        }
        let r = rb.send().await.unwrap();
        let set = r
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
        if let Some(s) = &set {
            cookie = Some(s.clone());
        }
        out.push((x_cache(&r), set));
    }
    out
}

#[tokio::test]
async fn rotating_awsalb_with_all_cookies_forwarded_never_hits() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let seen = sticky_loop(&c, &format!("{edge}/s/sticky.js"), 4).await;
    for (xc, set) in &seen {
        assert_eq!(xc, "Miss from cloudfront");
        assert!(set.as_deref().unwrap().starts_with("AWSALB=rotated"));
    }
    assert_eq!(o.count("/s/sticky.js"), 4);
    let (_, h) = o.last("/s/sticky.js");
    let sent = h["cookie"].to_str().unwrap();
    assert!(
        sent.contains("AWSALB=") && sent.contains("JSESSIONID=s1"),
        "{sent}"
    );
}

#[tokio::test]
async fn rotating_awsalb_with_no_cookies_forwarded_hits_and_sets_no_cookie() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let url = format!("{edge}/download/resources/sticky.png");
    let r = c
        .get(&url)
        .header("Cookie", "AWSALB=fromabrowser; JSESSIONID=s1")
        .send()
        .await
        .unwrap();
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert!(
        r.headers().get("set-cookie").is_none(),
        "Set-Cookie removed"
    );
    let r = c
        .get(&url)
        .header("Cookie", "AWSALB=other; JSESSIONID=s1")
        .send()
        .await
        .unwrap();
    assert_eq!(x_cache(&r), "Hit from cloudfront");
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(o.count("/download/resources/sticky.png"), 1);
    let (_, h) = o.last("/download/resources/sticky.png");
    assert!(
        h.get("cookie").is_none(),
        "cookies stripped before the origin"
    );
}

#[tokio::test]
async fn default_behavior_forwarding_all_headers_never_caches() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    for _ in 0..3 {
        let r = get(&c, &format!("{edge}/secure/max-age")).await;
        assert_eq!(x_cache(&r), "Miss from cloudfront");
        assert_eq!(r.headers()["x-lab-behavior"], "#7 default (*)");
    }
    assert_eq!(o.count("/secure/max-age"), 3);
}

#[tokio::test]
async fn viewer_cache_control_no_cache_does_not_prevent_a_hit() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let url = format!("{edge}/s/max-age.js");
    assert_eq!(x_cache(&get(&c, &url).await), "Miss from cloudfront");
    let r = c
        .get(&url)
        .header("Cache-Control", "no-cache")
        .header("Pragma", "no-cache")
        .send()
        .await
        .unwrap();
    assert_eq!(x_cache(&r), "Hit from cloudfront");
    assert_eq!(o.count("/s/max-age.js"), 1);
}

#[tokio::test]
async fn origin_down_is_a_502_error_from_cloudfront() {
    // A port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let edge = start_edge(dead, BehaviorSet::seed_default(), &["FRA56-P1"]).await;
    let c = client();
    for _ in 0..2 {
        let r = get(&c, &format!("{edge}/s/max-age.js")).await;
        assert_eq!(r.status(), 502);
        assert_eq!(x_cache(&r), "Error from cloudfront");
        assert_eq!(r.headers()["server"], "CloudFront");
        let body = r.text().await.unwrap();
        assert!(body.contains("502 ERROR") && body.contains("The request could not be satisfied"));
    }
}

#[tokio::test]
async fn origin_errors_pass_through_and_are_cached_for_the_error_caching_ttl() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let r1 = get(&c, &format!("{edge}/s/broken.js")).await;
    assert_eq!(r1.status(), 503);
    assert_eq!(x_cache(&r1), "Error from cloudfront");
    let b1 = r1.text().await.unwrap();
    let r2 = get(&c, &format!("{edge}/s/broken.js")).await;
    assert_eq!(r2.status(), 503);
    assert_eq!(x_cache(&r2), "Error from cloudfront");
    assert_eq!(r2.text().await.unwrap(), b1, "served from the error cache");
    assert_eq!(o.count("/s/broken.js"), 1);
}

#[tokio::test]
async fn each_pop_has_its_own_cache() {
    let (o, addr) = start_origin().await;
    let edge = start_edge(addr, BehaviorSet::seed_default(), &["FRA56-P1", "LHR62-C2"]).await;
    let c = client();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let r = get(&c, &format!("{edge}/s/max-age.js")).await;
        seen.push((
            r.headers()["x-amz-cf-pop"].to_str().unwrap().to_string(),
            x_cache(&r),
        ));
    }
    let expect = [
        ("FRA56-P1", "Miss from cloudfront"),
        ("LHR62-C2", "Miss from cloudfront"),
        ("FRA56-P1", "Hit from cloudfront"),
        ("LHR62-C2", "Hit from cloudfront"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(seen, expect);
    assert_eq!(o.count("/s/max-age.js"), 2);
}

/// Origin Shield enabled on the origin of every behavior of the seed.
fn shielded_seed() -> BehaviorSet {
    let mut set = BehaviorSet::seed_default();
    for b in &mut set.behaviors {
        b.origin = Some(cdnprobe::cloudfront::behavior::OriginSettings {
            id: "alb".into(),
            origin_shield_region: Some("eu-central-1".into()),
            ..Default::default()
        });
    }
    set
}

#[tokio::test]
async fn origin_shield_answers_a_second_pops_miss_without_the_origin() {
    let (o, addr) = start_origin().await;
    let edge = start_edge(addr, shielded_seed(), &["FRA56-P1", "LHR62-C2"]).await;
    let c = client();
    let r1 = get(&c, &format!("{edge}/s/max-age.js")).await;
    assert_eq!(r1.headers()["x-amz-cf-pop"], "FRA56-P1");
    assert_eq!(x_cache(&r1), "Miss from cloudfront");
    let body = r1.text().await.unwrap();
    assert_eq!(o.count("/s/max-age.js"), 1);
    // Age counts whole seconds since the origin fetch: let one pass so the shield's copy has
    // an Age to show.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r2 = get(&c, &format!("{edge}/s/max-age.js")).await;
    assert_eq!(r2.headers()["x-amz-cf-pop"], "LHR62-C2");
    assert_eq!(x_cache(&r2), "Miss from cloudfront", "a miss at this POP");
    let age: u64 = r2.headers()["age"].to_str().unwrap().parse().unwrap();
    assert!(
        age >= 1,
        "Age {age}: the object's age since the origin fetch"
    );
    assert_eq!(r2.text().await.unwrap(), body);
    assert_eq!(
        o.count("/s/max-age.js"),
        1,
        "the shield answered, not the origin"
    );
    // The second POP now holds it too.
    let _ = get(&c, &format!("{edge}/s/max-age.js")).await;
    let r4 = get(&c, &format!("{edge}/s/max-age.js")).await;
    assert_eq!(r4.headers()["x-amz-cf-pop"], "LHR62-C2");
    assert_eq!(x_cache(&r4), "Hit from cloudfront");
    assert_eq!(o.count("/s/max-age.js"), 1);
    // An invalidation empties the shield too.
    c.post(format!("{edge}/__edge/invalidate"))
        .send()
        .await
        .unwrap();
    let r5 = get(&c, &format!("{edge}/s/max-age.js")).await;
    assert_eq!(x_cache(&r5), "Miss from cloudfront");
    assert!(r5.headers().get("age").is_none());
    assert_eq!(o.count("/s/max-age.js"), 2);
    // Without Origin Shield each POP goes to the origin (each_pop_has_its_own_cache).
}

#[tokio::test]
async fn cache_key_without_cookies_but_forwarded_cookies_leaks_a_users_page() {
    let toml = r#"
[[behavior]]
pattern = "/secure/Dashboard.jspa"
cache_policy = "CachingOptimized"
origin_request_policy = "AllViewer"
"#;
    let set = load::from_toml_str(toml, Path::new("leak.toml")).unwrap();
    let (o, edge, c) = setup(set).await;
    let url = format!("{edge}/secure/Dashboard.jspa");
    let a = c
        .get(&url)
        .header("Cookie", "JSESSIONID=alice")
        .send()
        .await
        .unwrap();
    assert_eq!(x_cache(&a), "Miss from cloudfront");
    assert_eq!(a.text().await.unwrap(), "dashboard of alice");
    let b = c
        .get(&url)
        .header("Cookie", "JSESSIONID=bob")
        .send()
        .await
        .unwrap();
    assert_eq!(x_cache(&b), "Hit from cloudfront");
    assert_eq!(
        b.text().await.unwrap(),
        "dashboard of alice",
        "bob is served alice's page"
    );
    assert_eq!(o.count("/secure/Dashboard.jspa"), 1);
}

#[tokio::test]
async fn whitelisted_origin_header_reaches_the_origin_and_cors_answer_the_client() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let r = c
        .get(format!("{edge}/s/font.woff"))
        .header("Origin", "https://cdn.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://cdn.example.com"
    );
    let (_, h) = o.last("/s/font.woff");
    assert_eq!(h["origin"], "https://cdn.example.com");
    // Origin is in the key: another origin is its own object.
    let r = c
        .get(format!("{edge}/s/font.woff"))
        .header("Origin", "https://other.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://other.example.com"
    );
}

#[tokio::test]
async fn origin_header_not_whitelisted_never_reaches_the_origin() {
    let mut set = BehaviorSet::seed_default();
    set.behaviors[0].key.headers = NameSet::None;
    set.behaviors[0].origin_forward.headers = NameSet::None;
    // With a cache policy only what it lists is forwarded (a legacy behavior sends Origin anyway).
    set.behaviors[0].cache_policy = Some("CachingOptimized".into());
    let (o, edge, c) = setup(set).await;
    let r = c
        .get(format!("{edge}/s/font.woff"))
        .header("Origin", "https://cdn.example.com")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let (_, h) = o.last("/s/font.woff");
    assert!(h.get("origin").is_none());
    assert_eq!(h["user-agent"], "Amazon CloudFront");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
}

/// The fix the findings give for fonts when Origin is not in the key: a CORS response headers
/// policy. The edge then answers every origin itself, from the cache as from the origin.
#[tokio::test]
async fn a_cors_response_headers_policy_answers_every_origin_from_the_cache() {
    let mut set = BehaviorSet::seed_default();
    set.behaviors[0].key.headers = NameSet::None;
    set.behaviors[0].origin_forward.headers = NameSet::None;
    set.behaviors[0].cache_policy = Some("CachingOptimized".into());
    let (name, cors) =
        cdnprobe::cloudfront::managed::response_headers_policy("Managed-SimpleCORS").unwrap();
    set.behaviors[0].response_headers_policy = Some(name.into());
    set.behaviors[0].cors = cors;
    let (o, edge, c) = setup(set).await;
    for (origin, cache) in [
        ("https://cdn.example.com", "Miss from cloudfront"),
        ("https://other.example.com", "Hit from cloudfront"),
    ] {
        let r = c
            .get(format!("{edge}/s/font.woff"))
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(x_cache(&r), cache);
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{origin}");
    }
    // The origin never saw an Origin header: the edge answered CORS itself.
    let (_, h) = o.last("/s/font.woff");
    assert!(h.get("origin").is_none());
    // A request without Origin is not a CORS request: nothing is added.
    let r = c.get(format!("{edge}/s/font.woff")).send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn methods_not_allowed_get_403_from_cloudfront() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let r = c
        .post(format!("{edge}/download/resources/x.png"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(x_cache(&r), "Error from cloudfront");
    assert_eq!(o.count("/download/resources/x.png"), 0);
    // POST is allowed on /s/* and never cached.
    for _ in 0..2 {
        let r = c
            .post(format!("{edge}/s/max-age.js"))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(x_cache(&r), "Miss from cloudfront");
    }
}

#[tokio::test]
async fn query_forward_all_cache_on_whitelist() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let r = get(
        &c,
        &format!("{edge}/secure/projectavatar?pid=10000&size=small"),
    )
    .await;
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert_eq!(
        o.last("/secure/projectavatar").0,
        "/secure/projectavatar?pid=10000&size=small"
    );
    let r = get(
        &c,
        &format!("{edge}/secure/projectavatar?size=large&pid=10000"),
    )
    .await;
    assert_eq!(
        x_cache(&r),
        "Hit from cloudfront",
        "size is forwarded but not in the key"
    );
    let r = get(&c, &format!("{edge}/robots.txt?x=1")).await;
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert_eq!(
        o.last("/robots.txt").0,
        "/robots.txt",
        "query strings: none"
    );
}

#[tokio::test]
async fn invalidation_empties_the_caches() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let url = format!("{edge}/s/max-age.js");
    get(&c, &url).await;
    assert_eq!(x_cache(&get(&c, &url).await), "Hit from cloudfront");
    // How many cached objects an invalidation removed.
    let invalidate = async |query: &str| {
        let r = c
            .post(format!("{edge}/__edge/invalidate{query}"))
            .send()
            .await
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&r.text().await.unwrap()).unwrap()["invalidated"]
            .clone()
    };
    assert_eq!(invalidate("?path=/download/*").await, 0);
    assert_eq!(x_cache(&get(&c, &url).await), "Hit from cloudfront");
    assert_eq!(invalidate("").await, 1);
    assert_eq!(x_cache(&get(&c, &url).await), "Miss from cloudfront");
    assert_eq!(o.count("/s/max-age.js"), 2);
}

#[tokio::test]
async fn behaviors_can_be_swapped_while_running() {
    let (o, addr) = start_origin().await;
    let mut cfg = EdgeConfig::new(
        format!("http://{addr}/").parse().unwrap(),
        BehaviorSet::seed_default(),
    );
    let shared = cfg.behaviors.clone();
    cfg.pops = vec!["FRA56-P1".into()];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let edge = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(edge::serve(cfg, listener));
    let c = client();
    {
        let mut set = shared.write().unwrap();
        set.behaviors[0].key = KeyPolicy {
            headers: NameSet::All,
            ..set.behaviors[0].key.clone()
        };
    }
    for _ in 0..2 {
        assert_eq!(
            x_cache(&get(&c, &format!("{edge}/s/max-age.js")).await),
            "Miss from cloudfront"
        );
    }
    assert_eq!(o.count("/s/max-age.js"), 2);
}

#[tokio::test]
async fn vary_is_honoured_for_accept_encoding_but_not_for_unforwarded_headers() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let url = format!("{edge}/s/vary.js");
    let send = |ae: &'static str, ua: &'static str| {
        c.get(&url)
            .header("Accept-Encoding", ae)
            .header("User-Agent", ua)
            .send()
    };
    assert_eq!(
        x_cache(&send("gzip", "a").await.unwrap()),
        "Miss from cloudfront"
    );
    assert_eq!(
        x_cache(&send("br", "a").await.unwrap()),
        "Miss from cloudfront"
    );
    assert_eq!(
        x_cache(&send("gzip", "a").await.unwrap()),
        "Hit from cloudfront"
    );
    // User-Agent is not forwarded by /s/*: its Vary is ignored.
    assert_eq!(
        x_cache(&send("gzip", "b").await.unwrap()),
        "Hit from cloudfront"
    );
    assert_eq!(o.count("/s/vary.js"), 2);
}

/// The seed, with `/download/resources/*` at MinTTL 0 (so stale-on-arrival objects are stored
/// stale and revalidated: it forwards no cookies).
fn min_ttl_zero_downloads() -> BehaviorSet {
    let mut set = BehaviorSet::seed_default();
    set.behaviors[3].ttl = cdnprobe::cloudfront::TtlSettings::new(0, 86_400, 31_536_000);
    set
}

#[tokio::test]
async fn errors_cached_by_code_and_header_as_the_guide_lists_them() {
    let mut set = BehaviorSet::seed_default();
    set.error_caching_min_ttl.insert(500, 0);
    let (o, edge, c) = setup(set).await;
    // (path, cached?) — 404 always; 403 only with max-age; 416 never; 500 with
    // ErrorCachingMinTTL 0 from CustomErrorResponses and no max-age: not cached.
    let cases = [
        ("/s/status/404", true),
        ("/s/status/403", false),
        ("/s/status/403?max-age=60", true),
        ("/s/status/416?max-age=60", false),
        ("/s/status/500", false),
        ("/s/status/401?max-age=60", false),
    ];
    for (path, cached) in cases {
        let url = format!("{edge}{path}");
        let r1 = get(&c, &url).await;
        assert_eq!(x_cache(&r1), "Error from cloudfront", "{path}");
        let b1 = r1.text().await.unwrap();
        let r2 = get(&c, &url).await;
        assert_eq!(x_cache(&r2), "Error from cloudfront", "{path}");
        assert!(
            r2.headers().get("age").is_some() == cached,
            "{path}: Age only when cached"
        );
        assert_eq!(r2.text().await.unwrap() == b1, cached, "{path}");
        let p = path.split('?').next().unwrap();
        let expected = if cached { 1 } else { 2 };
        let seen = o
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(pq, _)| pq == path)
            .count();
        assert_eq!(seen, expected, "{p}: origin requests");
    }
}

#[tokio::test]
async fn stale_on_arrival_is_revalidated_unless_cookies_are_forwarded() {
    let (o, edge, c) = setup(min_ttl_zero_downloads()).await;
    let url = format!("{edge}/download/resources/revalidate.js");
    let r1 = get(&c, &url).await;
    assert_eq!(x_cache(&r1), "Miss from cloudfront");
    let b1 = r1.text().await.unwrap();
    for _ in 0..2 {
        let r = get(&c, &url).await;
        assert_eq!(x_cache(&r), "RefreshHit from cloudfront");
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), b1, "the stored body, revalidated");
        let (_, h) = o.last("/download/resources/revalidate.js");
        assert_eq!(h["if-none-match"], "\"v1\"");
    }
    assert_eq!(o.count("/download/resources/revalidate.js"), 3);

    // /s/* forwards all cookies: CloudFront sends no conditional request, every load is a Miss.
    let url = format!("{edge}/s/revalidate.js");
    for _ in 0..2 {
        let r = c
            .get(&url)
            .header("Cookie", "JSESSIONID=a")
            .send()
            .await
            .unwrap();
        assert_eq!(x_cache(&r), "Miss from cloudfront");
        assert!(o.last("/s/revalidate.js").1.get("if-none-match").is_none());
    }
}

#[tokio::test]
async fn an_expired_copy_is_served_when_the_origin_answers_5xx() {
    let mut set = min_ttl_zero_downloads();
    // A long error caching minimum TTL keeps the test free of timing.
    set.error_caching_min_ttl.insert(503, 3600);
    let (o, edge, c) = setup(set).await;
    let url = format!("{edge}/download/resources/flaky.js");
    let r1 = get(&c, &url).await;
    assert_eq!(x_cache(&r1), "Miss from cloudfront");
    let b1 = r1.text().await.unwrap();
    o.failing.store(true, Ordering::SeqCst);
    let r2 = get(&c, &url).await;
    assert_eq!(r2.status(), 200, "the stale copy, not the 503");
    assert_eq!(x_cache(&r2), "RefreshHit from cloudfront");
    assert_eq!(r2.text().await.unwrap(), b1);
    assert_eq!(o.count("/download/resources/flaky.js"), 2);
    // Then served from the edge for the error caching minimum TTL, without asking the origin.
    let r3 = get(&c, &url).await;
    assert_eq!(x_cache(&r3), "Hit from cloudfront");
    assert_eq!(r3.text().await.unwrap(), b1);
    assert_eq!(o.count("/download/resources/flaky.js"), 2);
    // Without a stored copy the 503 goes through.
    c.post(format!("{edge}/__edge/invalidate"))
        .send()
        .await
        .unwrap();
    let r4 = get(&c, &url).await;
    assert_eq!(r4.status(), 503);
    assert_eq!(x_cache(&r4), "Error from cloudfront");
}

/// An origin on a raw socket: the first connection gets a stale-on-arrival object, every later
/// one is closed without an answer (the origin "does not respond").
async fn origin_that_stops_answering() -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            if first {
                first = false;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\nETag: \"a\"\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
                    .await;
            }
            drop(sock);
        }
    });
    addr
}

#[tokio::test]
async fn an_expired_copy_is_served_when_the_origin_does_not_answer() {
    let addr = origin_that_stops_answering().await;
    let edge = start_edge(addr, min_ttl_zero_downloads(), &["FRA56-P1"]).await;
    let c = client();
    let url = format!("{edge}/download/resources/gone.js");
    let r1 = get(&c, &url).await;
    assert_eq!(x_cache(&r1), "Miss from cloudfront");
    let r2 = get(&c, &url).await;
    assert_eq!(r2.status(), 200);
    assert_eq!(x_cache(&r2), "RefreshHit from cloudfront");
    assert_eq!(r2.text().await.unwrap(), "hello");
    // A path never cached: the edge's own 502.
    let r3 = get(&c, &format!("{edge}/download/resources/other.js")).await;
    assert_eq!(r3.status(), 502);
}

#[tokio::test]
async fn no_cache_set_cookie_stores_the_object_without_the_cookie() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let url = format!("{edge}/s/cookie-not-cached.js");
    let r1 = get(&c, &url).await;
    assert_eq!(x_cache(&r1), "Miss from cloudfront");
    assert!(
        r1.headers().get("set-cookie").is_some(),
        "the first viewer gets it"
    );
    let r2 = get(&c, &url).await;
    assert_eq!(
        x_cache(&r2),
        "Hit from cloudfront",
        "not read as bare no-cache"
    );
    assert!(
        r2.headers().get("set-cookie").is_none(),
        "not replayed from the cache"
    );
    assert_eq!(o.count("/s/cookie-not-cached.js"), 1);
}

#[tokio::test]
async fn legacy_behavior_without_origin_in_the_key_serves_the_first_origins_cors_answer() {
    let mut set = BehaviorSet::seed_default();
    set.behaviors[0].key.headers = NameSet::None;
    set.behaviors[0].origin_forward.headers = NameSet::None;
    let (o, edge, c) = setup(set).await;
    let url = format!("{edge}/s/font.woff");
    let send = |origin: &'static str| c.get(&url).header("Origin", origin).send();
    let a = send("https://wiki.example.com").await.unwrap();
    assert_eq!(x_cache(&a), "Miss from cloudfront");
    assert_eq!(
        a.headers()["access-control-allow-origin"],
        "https://wiki.example.com"
    );
    assert_eq!(
        o.last("/s/font.woff").1["origin"],
        "https://wiki.example.com",
        "a legacy behavior forwards Origin without keying on it"
    );
    // Vary: Origin does not split the object: one object per cache key.
    let b = send("https://jira.example.com").await.unwrap();
    assert_eq!(x_cache(&b), "Hit from cloudfront");
    assert_eq!(
        b.headers()["access-control-allow-origin"],
        "https://wiki.example.com",
        "the first requester's answer, served to another origin"
    );
    assert_eq!(o.count("/s/font.woff"), 1);
}

/// Poll until `cond` holds (no deadline of its own: the test harness bounds the test).
/// Wait for `cond`; a minute without it fails the test instead of hanging the suite.
async fn until(mut cond: impl AsyncFnMut() -> bool) {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !cond().await {
        assert!(
            std::time::Instant::now() < give_up,
            "the condition never held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn concurrent_misses_for_one_key_are_collapsed_into_one_origin_request() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let url = format!("{edge}/s/slow.js");
    let first = tokio::spawn(c.get(&url).send());
    until(async || o.count("/s/slow.js") == 1).await;
    let twin = tokio::spawn(c.get(&url).send());
    // Another cache key (/s/* keys on cookies): not collapsed, it goes to the origin.
    let other = tokio::spawn(c.get(&url).header("Cookie", "a=1").send());
    let stats = format!("{edge}/__edge/stats");
    until(async || {
        let v: serde_json::Value =
            serde_json::from_str(&c.get(&stats).send().await.unwrap().text().await.unwrap())
                .unwrap();
        v["collapsed_waiting"] == 1 && o.count("/s/slow.js") == 2
    })
    .await;
    o.gate.0.add_permits(10);
    let (first, twin, other) = (
        first.await.unwrap().unwrap(),
        twin.await.unwrap().unwrap(),
        other.await.unwrap().unwrap(),
    );
    assert_eq!(x_cache(&first), "Miss from cloudfront");
    assert_eq!(
        x_cache(&twin),
        "Hit from cloudfront",
        "collapsed onto the first"
    );
    assert_eq!(x_cache(&other), "Miss from cloudfront");
    let body = first.text().await.unwrap();
    assert_eq!(twin.text().await.unwrap(), body);
    assert_eq!(o.count("/s/slow.js"), 2, "the twin made no origin request");
}

#[tokio::test]
async fn concurrent_revalidations_of_one_expired_copy_are_collapsed_into_one_conditional_request() {
    // No cookies forwarded: an expired copy is revalidated (a behavior forwarding cookies
    // fetches it again instead).
    let toml = "[[behavior]]\npattern = \"/s/*\"\ncookies = \"none\"\n";
    let set = load::from_toml_str(toml, Path::new("reval.toml")).unwrap();
    let (o, edge, c) = setup(set).await;
    let url = format!("{edge}/s/slow-stale.js");
    let first = get(&c, &url).await;
    assert_eq!(x_cache(&first), "Miss from cloudfront");
    let body = first.text().await.unwrap();
    // The copy is stale on arrival: the next request revalidates, and waits at the origin.
    let leader = tokio::spawn(c.get(&url).send());
    until(async || o.count("/s/slow-stale.js") == 2).await;
    let twins: Vec<_> = (0..2).map(|_| tokio::spawn(c.get(&url).send())).collect();
    let stats = format!("{edge}/__edge/stats");
    until(async || {
        let v: serde_json::Value =
            serde_json::from_str(&c.get(&stats).send().await.unwrap().text().await.unwrap())
                .unwrap();
        v["collapsed_waiting"] == 2
    })
    .await;
    o.gate.0.add_permits(10);
    let leader = leader.await.unwrap().unwrap();
    assert_eq!(x_cache(&leader), "RefreshHit from cloudfront");
    assert!(o.last("/s/slow-stale.js").1.contains_key("if-none-match"));
    for t in twins {
        let r = t.await.unwrap().unwrap();
        assert_eq!(
            x_cache(&r),
            "Hit from cloudfront",
            "collapsed onto the revalidation"
        );
        assert_eq!(r.text().await.unwrap(), body);
    }
    assert_eq!(
        o.count("/s/slow-stale.js"),
        2,
        "one fetch and one conditional request for three viewers"
    );
}

#[tokio::test]
async fn compress_gzips_listed_types_and_keys_the_copies_apart() {
    let mut set = BehaviorSet::seed_default();
    set.behaviors[0].compress = true;
    let (o, edge, _) = setup(set).await;
    // A client that shows the bytes as sent (no transparent decompression).
    let c = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    let get_ae = |path: &str, ae: Option<&str>| {
        let mut r = c.get(format!("{edge}{path}"));
        if let Some(ae) = ae {
            r = r.header("Accept-Encoding", ae);
        }
        r.send()
    };
    let r = get_ae("/s/big.css", Some("gzip, deflate, br"))
        .await
        .unwrap();
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(
        r.headers()["etag"],
        "W/\"big\"",
        "a strong ETag becomes weak"
    );
    let zipped = r.bytes().await.unwrap();
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut plain)
        .unwrap();
    assert_eq!(plain, "a".repeat(5_000));
    assert_eq!(
        o.last("/s/big.css").1["accept-encoding"],
        "br,gzip",
        "normalised before the origin"
    );
    let r = get_ae("/s/big.css", Some("gzip")).await.unwrap();
    assert_eq!(
        x_cache(&r),
        "Miss from cloudfront",
        "another normalised value, another copy"
    );
    let r = get_ae("/s/big.css", Some("deflate, gzip")).await.unwrap();
    assert_eq!(
        x_cache(&r),
        "Hit from cloudfront",
        "deflate is dropped: same as gzip"
    );
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let r = get_ae("/s/big.css", None).await.unwrap();
    assert_eq!(
        x_cache(&r),
        "Miss from cloudfront",
        "the plain copy is kept apart"
    );
    assert!(r.headers().get("content-encoding").is_none());
    assert!(o.last("/s/big.css").1.get("accept-encoding").is_none());
    assert_eq!(r.bytes().await.unwrap().len(), 5_000);
    // Too small, or a type not listed: served as the origin sent it.
    for path in ["/s/small.css", "/s/big.png"] {
        let r = get_ae(path, Some("gzip")).await.unwrap();
        assert!(r.headers().get("content-encoding").is_none(), "{path}");
        assert_eq!(r.headers()["etag"], "\"big\"", "{path}");
    }
}

#[tokio::test]
async fn compress_with_a_brotli_caching_policy_answers_br_and_keys_br_and_gzip_apart() {
    // CachingOptimized caches Gzip and Brotli objects: a viewer taking both gets Brotli.
    let toml =
        "[[behavior]]\npattern = \"/s/*\"\ncache_policy = \"CachingOptimized\"\ncompress = true\n";
    let set = load::from_toml_str(toml, Path::new("br.toml")).unwrap();
    let (o, edge, _) = setup(set).await;
    let c = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    let get_ae = |ae: &str| {
        c.get(format!("{edge}/s/big.css"))
            .header("Accept-Encoding", ae)
            .send()
    };
    let r = get_ae("gzip, deflate, br, zstd").await.unwrap();
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(r.headers()["etag"], "W/\"big\"");
    let squeezed = r.bytes().await.unwrap();
    assert!(squeezed.len() < 5_000, "{} bytes", squeezed.len());
    let mut plain = Vec::new();
    brotli::BrotliDecompress(&mut std::io::Cursor::new(&squeezed[..]), &mut plain).unwrap();
    assert_eq!(plain, "a".repeat(5_000).into_bytes());
    assert_eq!(o.last("/s/big.css").1["accept-encoding"], "br,gzip");
    // `br` alone is another key (`br`), answered in Brotli too.
    let r = get_ae("br").await.unwrap();
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert_eq!(r.headers()["content-encoding"], "br");
    let r = get_ae("br, zstd").await.unwrap();
    assert_eq!(
        x_cache(&r),
        "Hit from cloudfront",
        "zstd is dropped: same key as br"
    );
    // gzip only: gzip.
    let r = get_ae("gzip").await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    // Neither: the origin gets `identity` (the policy caches compressed objects).
    let r = get_ae("deflate").await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(o.last("/s/big.css").1["accept-encoding"], "identity");
    assert_eq!(o.count("/s/big.css"), 4);

    // CachingOptimizedForUncompressedObjects caches neither: Accept-Encoding is an ordinary
    // header, not forwarded, and nothing is compressed.
    let toml = "[[behavior]]\npattern = \"/s/*\"\ncache_policy = \"CachingOptimizedForUncompressedObjects\"\ncompress = true\n";
    let set = load::from_toml_str(toml, Path::new("plain.toml")).unwrap();
    let (o, edge, _) = setup(set).await;
    let r = c
        .get(format!("{edge}/s/big.css"))
        .header("Accept-Encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert!(o.last("/s/big.css").1.get("accept-encoding").is_none());
}

#[tokio::test]
async fn a_range_on_a_miss_goes_to_the_origin_and_its_206_is_cached_for_that_range() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    let url = format!("{edge}/s/ranged.bin");
    let ranged = |r: &'static str| c.get(&url).header("Range", r).send();
    let r = ranged("bytes=0-9").await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert_eq!(r.headers()["content-range"], "bytes 0-9/100");
    assert_eq!(o.last("/s/ranged.bin").1["range"], "bytes=0-9", "forwarded");
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        (0..10u8).collect::<Vec<_>>()
    );
    // The same range again: from the cache.
    let r = ranged("bytes=0-9").await.unwrap();
    assert_eq!(
        (r.status().as_u16(), x_cache(&r)),
        (206, "Hit from cloudfront".into())
    );
    assert_eq!(o.count("/s/ranged.bin"), 1);
    // Another range is not in the cache: the origin again.
    let r = ranged("bytes=10-19").await.unwrap();
    assert_eq!(
        (r.status().as_u16(), x_cache(&r)),
        (206, "Miss from cloudfront".into())
    );
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        (10..20u8).collect::<Vec<_>>()
    );
    assert_eq!(o.count("/s/ranged.bin"), 2);
    // A request without Range is not answered by a cached range: the whole object, then any
    // range comes from it.
    let r = get(&c, &url).await;
    assert_eq!(
        (r.status().as_u16(), x_cache(&r)),
        (200, "Miss from cloudfront".into())
    );
    assert!(o.last("/s/ranged.bin").1.get("range").is_none());
    let r = ranged("bytes=50-59").await.unwrap();
    assert_eq!(
        (r.status().as_u16(), x_cache(&r)),
        (206, "Hit from cloudfront".into())
    );
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        (50..60u8).collect::<Vec<_>>()
    );
    assert_eq!(o.count("/s/ranged.bin"), 3);
}

#[tokio::test]
async fn head_ranges_and_redirects_as_cloudfront_answers_them() {
    let (o, edge, c) = setup(BehaviorSet::seed_default()).await;
    // A HEAD miss: the origin's Content-Length, not 0.
    let r = c.head(format!("{edge}/s/big.css")).send().await.unwrap();
    assert_eq!(x_cache(&r), "Miss from cloudfront");
    assert_eq!(r.headers()["content-length"], "5000");
    // A Range on a miss to an origin that ignores it: the whole object (200), cached; then ranges
    // come from the edge (206).
    let url = format!("{edge}/s/big.png");
    let r = c
        .get(&url)
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), x_cache(&r)),
        (200, "Miss from cloudfront".into())
    );
    assert_eq!(r.bytes().await.unwrap().len(), 5_000);
    let r = c
        .get(&url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), x_cache(&r)),
        (206, "Hit from cloudfront".into())
    );
    assert_eq!(r.headers()["content-range"], "bytes 10-19/5000");
    assert_eq!(r.bytes().await.unwrap().len(), 10);
    let r = c
        .get(&url)
        .header("Range", "bytes=20-29,0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "several ranges: the whole object");
    assert_eq!(o.count("/s/big.png"), 1);
    // 307 without Cache-Control is not cached; 301 is (DefaultTTL).
    for (path, cached) in [("/s/status/307", false), ("/s/status/301", true)] {
        let no_redirect = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        no_redirect
            .get(format!("{edge}{path}"))
            .send()
            .await
            .unwrap();
        let r = no_redirect
            .get(format!("{edge}{path}"))
            .send()
            .await
            .unwrap();
        let hit = x_cache(&r) == "Hit from cloudfront";
        assert_eq!(hit, cached, "{path}: {}", x_cache(&r));
    }
}

#[tokio::test]
async fn an_expired_cached_error_is_retried_not_served_stale() {
    let mut set = BehaviorSet::seed_default();
    set.error_caching_min_ttl.insert(404, 1);
    let (o, edge, c) = setup(set).await;
    let url = format!("{edge}/s/gone-then-down.js");
    let r = get(&c, &url).await;
    assert_eq!(r.status(), 404);
    let r = get(&c, &url).await;
    assert_eq!(
        (r.status().as_u16(), r.headers().get("age").is_some()),
        (404, true)
    );
    // Let the 1 s error caching TTL run out; the origin now fails.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    o.failing.store(true, Ordering::SeqCst);
    let r = get(&c, &url).await;
    assert_eq!(
        r.status(),
        503,
        "an expired error is not a stale copy to stand in"
    );
    assert_eq!(o.count("/s/gone-then-down.js"), 2);
}
