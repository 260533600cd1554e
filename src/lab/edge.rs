//! The lab's CloudFront-faithful edge: a reverse proxy that behaves, per request, the way the
//! `cloudfront` model says CloudFront would.
//!
//! It contains no CloudFront rule of its own: behavior matching, cache keys, what is forwarded
//! and how long a response is stored all come from `crate::cloudfront`. What lives here is the
//! plumbing: one cache per POP, the origin round trip, and CloudFront's response headers
//! (`X-Cache`, `Age`, `Via`, `X-Amz-Cf-Pop`, `X-Amz-Cf-Id`) and error pages.
//!
//! Faithful on purpose:
//! - cookies the behavior does not forward are stripped before the origin, and `Set-Cookie` is
//!   removed from its responses; forwarded cookies' `Set-Cookie` is cached and replayed on hits;
//! - the viewer's `Cache-Control` / `Pragma` never change what is stored (they reach the origin
//!   only when the behavior forwards them, e.g. all headers);
//! - one object per cache key whatever `Vary` says (only `Accept-Encoding` splits it): a header
//!   forwarded but not in the key (a legacy behavior sends `Origin` even when it is not
//!   whitelisted) gets the first requester's answer served to everyone;
//! - a connection failure is a 502 `Error from cloudfront`; errors are cached by the model's rules
//!   (which codes, the greater of `max-age` and the error caching minimum TTL per code);
//! - an expired object is kept (up to MaxTTL) and revalidated with `If-None-Match` /
//!   `If-Modified-Since` (`RefreshHit from cloudfront` on a 304), except on behaviors that forward
//!   cookies; `max-age=0` or `Expires` <= `Date` is stored stale and revalidated each time;
//! - when the origin answers 5xx or does not answer, the expired copy is served (within
//!   `stale-if-error`), then for the error caching minimum TTL without asking the origin;
//! - `no-cache="Set-Cookie"` stores the object without its `Set-Cookie`;
//! - a HEAD miss keeps the origin's `Content-Length`; a `Range` on a cached whole object is
//!   answered 206 from the edge; on a miss the `Range` goes to the origin: a 206 is served and
//!   cached for that range only, a whole 200 (an origin without ranges) is served and cached;
//!   `Vary: *` with MinTTL 0 always goes to the origin; 307/308 need `Cache-Control` to be cached;
//! - concurrent GET misses for one key (and `Accept-Encoding`, `Range`) are collapsed into one
//!   origin request, and so are concurrent revalidations of one expired copy (one conditional
//!   request): the others wait and get its answer as a Hit.
//!
//! WebSockets pass as CloudFront passes them: an upgrade on a behavior that forwards
//! `Sec-WebSocket-Key` and `Sec-WebSocket-Version` (or all headers) is sent to the origin with
//! `Upgrade`, and when the origin answers 101 the two connections are spliced byte for byte
//! (the 101 carries CloudFront's headers, `X-Cache: Miss from cloudfront` included). On any other
//! behavior `Upgrade` is dropped like any hop-by-hop header and the origin gets a plain GET without
//! the handshake headers — which is how a behavior that does not forward them breaks Synchrony.
//!
//! Origin Shield: when the behavior's origin enables it, every POP shares one more cache; a POP
//! miss the shield holds is answered from it (`Miss from cloudfront` with the object's `Age`, no
//! origin request), and what the origin answers is stored in both.
//!
//! Simplifications (documented, not hidden): no regional edge caches (one POP tier, plus the
//! shield when enabled; an expired POP copy is revalidated with the origin, not the shield), no
//! websocket idle timeout. `Accept-Encoding` reaches the origin
//! normalised as the behavior's settings say (compress.rs); a behavior with `Compress` compresses
//! listed types itself (br when its cache policy caches Brotli and the viewer takes it, else
//! gzip) and keeps compressed and plain copies apart.
//! `X-Forwarded-For` carries the viewer address when served through `serve` (which records it). The origin sees `User-Agent: Amazon CloudFront`
//! unless `User-Agent` is forwarded, as with CloudFront.
//!
//! Control: `POST /__edge/invalidate` empties every POP cache (`?path=/s/*` limits it to paths
//! matching a CloudFront pattern), like an invalidation; `GET /__edge/stats` says how many
//! requests wait on a collapsed miss.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::cloudfront::compress;
use crate::cloudfront::key::{cookie_header, forwarded_headers, select_cookies, select_query};
use crate::cloudfront::ttl::{self, CacheControl};
use crate::cloudfront::{Behavior, BehaviorSet, NameSet, cache_key, decide_for, pattern};
use crate::exchange::Headers;

/// How the edge is set up.
#[derive(Clone)]
pub struct EdgeConfig {
    /// Where misses go, e.g. `http://127.0.0.1:8081/`.
    pub origin: url::Url,
    /// Shared so the lab can swap behaviors while the edge runs.
    pub behaviors: Arc<RwLock<BehaviorSet>>,
    /// Edge locations, e.g. `["FRA56-P1"]`. More than one: round-robin per request, each POP with
    /// its own cache (a Hit on one POP and a Miss on the next is normal). Empty: one `FRA56-P1`.
    pub pops: Vec<String>,
    /// If set (e.g. `X-Lab-Behavior`), every response names its behavior in this header, like a
    /// response-headers policy with one custom header per behavior.
    pub behavior_header: Option<String>,
}

impl EdgeConfig {
    /// One POP, no behavior header.
    pub fn new(origin: url::Url, behaviors: BehaviorSet) -> Self {
        EdgeConfig {
            origin,
            behaviors: Arc::new(RwLock::new(behaviors)),
            pops: vec!["FRA56-P1".into()],
            behavior_header: None,
        }
    }
}

/// Largest viewer request body the edge forwards.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long the edge waits for the origin (CloudFront's default origin response timeout).
const ORIGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Cache size (keys per POP) at which expired entries are swept out.
const SWEEP_AT: usize = 4096;

#[derive(Clone)]
struct Entry {
    /// `(lower-case header name, request value)` for each honoured `Vary` header.
    vary: Vec<(String, String)>,
    path: String,
    status: u16,
    headers: Headers,
    body: Bytes,
    stored_at: Instant,
    ttl: Duration,
    /// Kept this long after `stored_at` (stale after `ttl`): CloudFront serves a stale object up
    /// to the behavior's MaxTTL (HTTPStatusCodes.html, Expiration.html).
    keep: Duration,
    /// `stale-if-error`: how long after expiry the copy may stand in for an origin error.
    stale_if_error: Option<Duration>,
    /// After an origin error was answered with this copy: served without asking the origin
    /// until then (the error caching minimum TTL).
    hold_until: Option<Instant>,
}

impl Entry {
    /// Whether this copy answers a request with this `Accept-Encoding` variant and `Range`: a
    /// whole object answers any range (sliced on the way out), a cached range only its own.
    fn fits(&self, variant: &str, range: Option<&str>) -> bool {
        self.vary.iter().all(|(n, v)| {
            if n == "range" {
                Some(v.as_str()) == range
            } else {
                v == variant
            }
        })
    }

    fn held(&self) -> bool {
        self.hold_until.is_some_and(|t| Instant::now() < t)
    }
}

type Cache = HashMap<String, Vec<Entry>>;

struct Edge {
    cfg: EdgeConfig,
    pops: Vec<String>,
    caches: Vec<Mutex<Cache>>,
    /// Origin Shield: one more cache shared by every POP, for behaviors whose origin enables it.
    shield: Mutex<Cache>,
    next_pop: AtomicUsize,
    client: reqwest::Client,
    /// For WebSocket upgrades: HTTP/1.1 only and no overall timeout (the spliced connection lives
    /// as long as the editor stays open; the handshake itself is bounded by `ORIGIN_TIMEOUT`).
    ws_client: reqwest::Client,
    /// The `<id>` of `Via: 1.1 <id>.cloudfront.net (CloudFront)`, one per edge.
    via_id: String,
    /// Misses in flight per POP, by cache key: identical requests that arrive meanwhile wait for
    /// the first one's answer instead of going to the origin (request collapsing).
    inflight: Vec<Mutex<HashMap<String, Flight>>>,
    /// Requests waiting on another's miss right now (`GET /__edge/stats`).
    waiting: AtomicUsize,
}

/// The first request's answer, once the origin gave it.
type Flight = tokio::sync::watch::Receiver<Option<Arc<Stored>>>;

/// The leader of a collapsed miss: publishes the answer; leaves the in-flight map when dropped
/// (also when the request fails), so waiters then go to the origin themselves.
struct FlightGuard {
    edge: Arc<Edge>,
    pop_idx: usize,
    key: String,
    tx: tokio::sync::watch::Sender<Option<Arc<Stored>>>,
}

impl FlightGuard {
    fn publish(&self, r: &Stored) {
        let _ = self.tx.send(Some(Arc::new(Stored {
            status: r.status,
            headers: r.headers.clone(),
            body: r.body.clone(),
        })));
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        lock(&self.edge.inflight[self.pop_idx]).remove(&self.key);
    }
}

/// The edge as an axum router (serve it with `axum::serve`, or use `serve`).
pub fn router(cfg: EdgeConfig) -> Router {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pops = if cfg.pops.is_empty() {
        vec!["FRA56-P1".to_string()]
    } else {
        cfg.pops.clone()
    };
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ORIGIN_TIMEOUT)
        .build()
        .expect("a plain reqwest client always builds");
    let ws_client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_proxy()
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(ORIGIN_TIMEOUT)
        .build()
        .expect("a plain reqwest client always builds");
    let n_pops = pops.len();
    let edge = Arc::new(Edge {
        ws_client,
        caches: pops.iter().map(|_| Mutex::new(Cache::new())).collect(),
        shield: Mutex::new(Cache::new()),
        pops,
        cfg,
        next_pop: AtomicUsize::new(0),
        client,
        via_id: hex::encode(rand::random::<[u8; 16]>()),
        inflight: (0..n_pops).map(|_| Mutex::new(HashMap::new())).collect(),
        waiting: AtomicUsize::new(0),
    });
    Router::new()
        .route("/__edge/invalidate", post(invalidate))
        .route("/__edge/stats", axum::routing::get(stats))
        .fallback(handle)
        .with_state(edge)
}

/// Serve the edge on `listener` until the task is dropped.
pub async fn serve(cfg: EdgeConfig, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(cfg).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

#[derive(serde::Deserialize)]
struct InvalidateQuery {
    path: Option<String>,
}

async fn invalidate(State(edge): State<Arc<Edge>>, Query(q): Query<InvalidateQuery>) -> Response {
    let mut removed = 0usize;
    // An invalidation removes the object from every tier, the shield's too.
    for cache in edge.caches.iter().chain(std::iter::once(&edge.shield)) {
        let mut cache = lock(cache);
        match &q.path {
            None => {
                removed += cache.values().map(Vec::len).sum::<usize>();
                cache.clear();
            }
            Some(p) => cache.retain(|_, entries| {
                let before = entries.len();
                entries.retain(|e| !pattern::matches(p, &e.path));
                removed += before - entries.len();
                !entries.is_empty()
            }),
        }
    }
    axum::Json(serde_json::json!({ "invalidated": removed })).into_response()
}

/// Requests waiting on a collapsed miss (for tests and demos: collapsing is otherwise invisible).
async fn stats(State(edge): State<Arc<Edge>>) -> Response {
    axum::Json(serde_json::json!({
        "collapsed_waiting": edge.waiting.load(Ordering::SeqCst)
    }))
    .into_response()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn to_headers(map: &HeaderMap) -> Headers {
    Headers::from_pairs(
        map.iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    )
}

/// Hop-by-hop and framing headers never copied between the two legs.
fn is_hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// A viewer request. A behavior with a response headers policy that answers CORS gets the
/// policy's headers on the way out, as CloudFront adds them "to HTTP responses that it sends for
/// CORS requests" (AWS, "Understand response headers policies": requests with an `Origin`),
/// whether the response came from the cache or the origin.
async fn handle(State(edge): State<Arc<Edge>>, req: Request) -> Response {
    let origin = req
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cors = origin.as_ref().and_then(|_| {
        let set = edge.cfg.behaviors.read().unwrap_or_else(|e| e.into_inner());
        set.matching(req.uri().path()).1.cors.clone()
    });
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key("access-control-request-method");
    let mut resp = handle_viewer(edge, req).await;
    if let (Some(origin), Some(policy)) = (origin, cors) {
        apply_cors_policy(resp.headers_mut(), &policy, &origin, preflight);
    }
    resp
}

/// The CORS headers a response headers policy adds for a request from `origin`. The origin's own
/// `Access-Control-Allow-Origin` stands unless the policy overrides it (`OriginOverride`); an
/// origin the policy does not list gets nothing added.
fn apply_cors_policy(
    headers: &mut HeaderMap,
    policy: &crate::cloudfront::behavior::CorsPolicy,
    origin: &str,
    preflight: bool,
) {
    let any = policy.allow_origins.iter().any(|o| o == "*");
    let listed = any
        || policy
            .allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin));
    if !listed || (headers.contains_key("access-control-allow-origin") && !policy.origin_override) {
        return;
    }
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set(
        "access-control-allow-origin",
        if any && !policy.allow_credentials {
            "*".into()
        } else {
            origin.to_string()
        },
    );
    if policy.allow_credentials {
        set("access-control-allow-credentials", "true".into());
    }
    if preflight {
        set(
            "access-control-allow-methods",
            policy.allow_methods.join(", "),
        );
        set(
            "access-control-allow-headers",
            policy.allow_headers.join(", "),
        );
    }
}

async fn handle_viewer(edge: Arc<Edge>, req: Request) -> Response {
    let pop_idx = edge.next_pop.fetch_add(1, Ordering::Relaxed) % edge.pops.len();
    let pop = edge.pops[pop_idx].clone();
    let cf_id = cf_id();
    let (mut parts, body) = req.into_parts();
    let method = parts.method.clone();
    let req_headers = to_headers(&parts.headers);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let host = req_headers
        .get("host")
        .unwrap_or("edge.invalid")
        .to_string();
    let viewer_url = url::Url::parse(&format!("http://{host}{path_and_query}"))
        .or_else(|_| url::Url::parse(&format!("http://edge.invalid{path_and_query}")));
    let Ok(viewer_url) = viewer_url else {
        return edge.finish(
            error_page(400, "Bad request.", &cf_id),
            "Error from cloudfront",
            None,
            &pop,
            &cf_id,
            None,
        );
    };

    let (behavior, errors): (Behavior, ttl::ErrorCachingMinTtl) = {
        let set = edge.cfg.behaviors.read().unwrap_or_else(|e| e.into_inner());
        (
            set.matching(viewer_url.path()).1.clone(),
            set.error_caching_min_ttl.clone(),
        )
    };

    if !behavior.allows(method.as_str()) {
        let page = error_page(
            403,
            "This distribution is not configured to allow the HTTP request method that was used for this request. The distribution supports only cachable requests.",
            &cf_id,
        );
        return edge.finish(
            page,
            "Error from cloudfront",
            None,
            &pop,
            &cf_id,
            Some(&behavior),
        );
    }

    let websocket = method == Method::GET
        && super::synchrony::is_upgrade(&parts.headers)
        && behavior.forwards_websockets();
    if websocket {
        let out = edge.origin_headers(&behavior, &req_headers, &parts, &cf_id);
        let origin_url = origin_url(
            &edge.cfg.origin,
            &viewer_url,
            &behavior.origin_forward.query,
        );
        let viewer = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
        return edge
            .tunnel(viewer, origin_url, out, &behavior, &pop, &cf_id)
            .await;
    }

    let key = cache_key(&behavior, method.as_str(), &viewer_url, &req_headers);
    // The normalised `Accept-Encoding` this behavior keeps copies apart by (compress.rs).
    let variant = compress::variant(behavior.accept_encoding, &req_headers);
    // A GET's `Range`: served from a whole cached object, or sent to the origin on a miss.
    let range = (method == Method::GET)
        .then(|| req_headers.get("range").map(str::to_string))
        .flatten();
    let cacheable = behavior.caches_method(method.as_str()) && !behavior.caching_off();

    let mut stale = None;
    if cacheable {
        match edge.lookup(pop_idx, &key, &variant, range.as_deref(), &method) {
            Lookup::Fresh(r, x_cache, age) => {
                let r = match req_headers.get("range") {
                    Some(range) if method == Method::GET => serve_range(r, range),
                    _ => r,
                };
                return edge.finish(r, x_cache, Some(age), &pop, &cf_id, Some(&behavior));
            }
            Lookup::Stale(copy) => stale = Some(copy),
            Lookup::Nothing => {}
        }
    }

    // Origin Shield (origin-shield.html): "all requests from all of CloudFront's caching layers
    // to your origin go through Origin Shield", and the other layers "can retrieve the object
    // from Origin Shield". What the viewer sees then is not documented: AWS names no X-Cache
    // value for it, so this edge answers as the POP saw it, `Miss from cloudfront`, with the
    // `Age` the object has had since the origin fetch (RFC 9111) and no origin request.
    let shielded = behavior
        .origin
        .as_ref()
        .is_some_and(|o| o.origin_shield_region.is_some());
    if cacheable
        && shielded
        && stale.is_none()
        && method != Method::HEAD
        && let Some((r, age)) =
            edge.shield_lookup(pop_idx, &key, &variant, range.as_deref(), &method)
    {
        let r = match req_headers.get("range") {
            Some(range) if method == Method::GET => serve_range(r, range),
            _ => r,
        };
        let age = (age > 0).then_some(age);
        let x_cache = miss_or_error(r.status);
        return edge.finish(r, x_cache, age, &pop, &cf_id, Some(&behavior));
    }

    // Request collapsing (RequestAndResponseBehaviorCustomOrigin.html, "Simultaneous requests for
    // the same object"): a GET miss whose identical twin is already at the origin waits for its
    // answer; requests that differ in the key (or Accept-Encoding) go on their own.
    let mut leader = None;
    // An expired copy's revalidation is collapsed the same way: the guide's rule covers an object
    // that "isn't currently in the cache or ... has expired".
    if cacheable && method == Method::GET {
        let flight_key = format!("{key}\n{variant}\n{}", range.as_deref().unwrap_or(""));
        let twin = {
            let mut map = lock(&edge.inflight[pop_idx]);
            match map.get(&flight_key) {
                Some(rx) => Some(rx.clone()),
                None => {
                    let (tx, rx) = tokio::sync::watch::channel(None);
                    map.insert(flight_key.clone(), rx);
                    leader = Some(FlightGuard {
                        edge: edge.clone(),
                        pop_idx,
                        key: flight_key,
                        tx,
                    });
                    None
                }
            }
        };
        if let Some(mut rx) = twin {
            edge.waiting.fetch_add(1, Ordering::SeqCst);
            let answer = rx
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|a| a.clone());
            edge.waiting.fetch_sub(1, Ordering::SeqCst);
            if let Some(a) = answer {
                // Served from the edge without an origin request of its own: a Hit, even when
                // the answer is not stored (the guide's traffic-spike note on `no-cache`).
                let x_cache = if a.status >= 400 {
                    "Error from cloudfront"
                } else {
                    "Hit from cloudfront"
                };
                let r = copy_for(a.status, a.headers.clone(), &a.body, &method);
                return edge.finish(r, x_cache, Some(0), &pop, &cf_id, Some(&behavior));
            }
        }
    }

    // Miss (or an expired copy): ask the origin with only what the behavior forwards.
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let page = error_page(413, "The request body is too large.", &cf_id);
            return edge.finish(
                page,
                "Error from cloudfront",
                None,
                &pop,
                &cf_id,
                Some(&behavior),
            );
        }
    };
    let origin_url = origin_url(
        &edge.cfg.origin,
        &viewer_url,
        &behavior.origin_forward.query,
    );
    let mut out = edge.origin_headers(&behavior, &req_headers, &parts, &cf_id);
    // RangeGETs.html: "If the cache doesn't contain the requested range, CloudFront forwards the
    // request to the origin" (it "may request a larger range": this edge asks for the same one).
    if let Some(r) = &range
        && !out.contains_key("range")
    {
        append(&mut out, "range", r);
    }
    // An expired copy is revalidated with its validators (RequestAndResponseBehaviorCustomOrigin
    // "Conditional requests"), except when the behavior forwards cookies (Cookies.html).
    let conditional = stale
        .as_ref()
        .filter(|_| ttl::revalidates(&behavior))
        .is_some_and(|copy| add_validators(&mut out, &copy.headers));
    let reqwest_method =
        reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
    let sent = edge
        .client
        .request(reqwest_method, origin_url)
        .headers(out)
        .body(body)
        .send()
        .await;

    let origin_response = match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers = to_headers(resp.headers());
            match resp.bytes().await {
                Ok(body) => Some((status, headers, body)),
                Err(_) => None,
            }
        }
        Err(_) => None,
    };

    if let Some(copy) = stale {
        let status = origin_response.as_ref().map(|r| r.0);
        if conditional && status == Some(304) {
            let fresh = origin_response.map(|r| r.1).unwrap_or_default();
            let r = edge.refresh(pop_idx, &key, &behavior, &errors, copy, &fresh, &method);
            if let Some(leader) = &leader {
                leader.publish(&r);
            }
            return edge.finish(
                r,
                "RefreshHit from cloudfront",
                Some(0),
                &pop,
                &cf_id,
                Some(&behavior),
            );
        }
        // The origin answers 5xx or not at all: the expired copy is served, and keeps being served
        // for the error caching minimum TTL (HTTPStatusCodes.html, "The requested object is in the
        // edge cache"; up to MaxTTL, and not past `stale-if-error`: Expiration.html). The X-Cache
        // value is our reading of the log's RefreshHit ("found the object in the edge cache but it
        // had expired, so CloudFront contacted the origin"): AWS does not name it for this case.
        if status.is_none_or(|s| s >= 500) && copy.may_serve_on_error {
            let hold = ttl::error_caching_min_ttl(&errors, status.unwrap_or(502));
            let r = edge.hold(pop_idx, &key, copy, hold, &method);
            if let Some(leader) = &leader {
                leader.publish(&r);
            }
            return edge.finish(
                r,
                "RefreshHit from cloudfront",
                None,
                &pop,
                &cf_id,
                Some(&behavior),
            );
        }
    }

    let (status, mut headers, mut body) = origin_response.unwrap_or_else(|| {
        let page = origin_unreachable(&cf_id);
        (page.status, page.headers, page.body)
    });
    let had_length = headers.get("content-length").is_some();
    // A HEAD answer has no body: its Content-Length is the origin's, not 0.
    let head_length = (method == Method::HEAD)
        .then(|| headers.get("content-length").map(str::to_string))
        .flatten();
    headers
        .pairs_mut()
        .retain(|(n, _)| !is_hop_by_hop(n) && !n.eq_ignore_ascii_case("age"));
    // Edge compression (ServingCompressedFiles.html), stored as the viewer's variant: Brotli
    // when the cache policy caches it and the viewer takes it, else gzip.
    let coding = (method != Method::HEAD)
        .then(|| {
            compress::edge_coding(
                behavior.compress,
                behavior.accept_encoding,
                &variant,
                status,
                &headers,
                body.len(),
                had_length,
            )
        })
        .flatten();
    if let Some(coding) = coding {
        body = if coding == "br" {
            brotli_compress(&body)
        } else {
            gzip(&body)
        };
        headers.set("Content-Encoding", coding);
        if let Some(tag) = headers.get("etag").map(str::to_string) {
            headers.remove("etag");
            if let Some(weak) = compress::compressed_etag(&tag) {
                headers.set("ETag", weak);
            }
        }
    }
    if behavior.origin_forward.cookies.is_none() {
        headers.remove("set-cookie");
    }

    let mut stored = Stored {
        status,
        headers,
        body,
    };
    if let Some(len) = &head_length {
        stored.headers.set("content-length", len.clone());
    }
    // A HEAD answer has no body: storing it would serve empty GETs.
    if cacheable && method != Method::HEAD {
        // A 206 to a forwarded Range is cached as that range (RangeGETs.html: the origin "returns
        // the requested range. CloudFront serves the requested range and also caches it"), by
        // the rules of a whole answer, and only ever served to the same Range.
        let partial = status == 206 && range.is_some();
        let decision = decide_for(
            &behavior,
            &errors,
            if partial { 200 } else { status },
            &stored.headers,
            SystemTime::now(),
        );
        let mut vary = honoured_vary(&stored.headers, &variant, behavior.compress);
        if let (true, Some(r)) = (partial, &range) {
            vary.push(("range".to_string(), r.clone()));
        }
        let mut cache = lock(&edge.caches[pop_idx]);
        if decision.store {
            let cc = CacheControl::parse(&stored.headers);
            // `no-cache="Set-Cookie"` (and `private="..."`): the object is stored without the
            // fields it names; this viewer still gets them (Cookies.html).
            let mut kept = stored.headers.clone();
            for f in &cc.strip_fields {
                kept.remove(f);
            }
            let ttl_secs = decision.ttl_secs;
            let entry = Entry {
                vary,
                path: viewer_url.path().to_string(),
                status,
                headers: kept,
                body: stored.body.clone(),
                stored_at: Instant::now(),
                ttl: Duration::from_secs(ttl_secs),
                // A cached error is not kept stale: it is retried once its time is up.
                keep: Duration::from_secs(if status >= 400 {
                    ttl_secs
                } else {
                    ttl_secs.max(behavior.ttl.max)
                }),
                stale_if_error: cc.stale_if_error.map(Duration::from_secs),
                hold_until: None,
            };
            if cache.len() >= SWEEP_AT {
                // Rotating keys (AWSALB in the key) would otherwise grow the cache forever.
                cache.retain(|_, entries| {
                    entries.retain(|e| e.stored_at.elapsed() < e.keep);
                    !entries.is_empty()
                });
            }
            if shielded {
                let mut shield = lock(&edge.shield);
                let slot = shield.entry(key.clone()).or_default();
                slot.retain(|e| e.vary != entry.vary);
                slot.push(entry.clone());
            }
            let slot = cache.entry(key).or_default();
            slot.retain(|e| e.vary != entry.vary);
            slot.push(entry);
        } else if let Some(slot) = cache.get_mut(&key) {
            // The origin's new answer may not be stored: the old copy is gone too.
            slot.retain(|e| e.vary != vary);
        }
    }
    if let Some(leader) = &leader {
        let mut shared = Stored {
            status: stored.status,
            headers: stored.headers.clone(),
            body: stored.body.clone(),
        };
        for f in CacheControl::parse(&stored.headers).strip_fields {
            shared.headers.remove(&f);
        }
        leader.publish(&shared);
    }
    edge.finish(
        stored,
        miss_or_error(status),
        None,
        &pop,
        &cf_id,
        Some(&behavior),
    )
}

/// What the cache holds for a request.
enum Lookup {
    /// Fresh (or held after an origin error): (response, X-Cache, age).
    Fresh(Stored, &'static str, u64),
    /// Expired but kept: revalidate it, or serve it if the origin fails.
    Stale(StaleCopy),
    Nothing,
}

/// An expired entry, as found.
struct StaleCopy {
    vary: Vec<(String, String)>,
    status: u16,
    headers: Headers,
    body: Bytes,
    /// Not past `stale-if-error` (when the origin sent one).
    may_serve_on_error: bool,
}

/// Add `If-None-Match` / `If-Modified-Since` from a stored response's `ETag` / `Last-Modified`;
/// false when it has neither (nothing to revalidate with).
fn add_validators(out: &mut reqwest::header::HeaderMap, stored: &Headers) -> bool {
    let mut any = false;
    for (from, to) in [
        ("etag", "if-none-match"),
        ("last-modified", "if-modified-since"),
    ] {
        if let Some(v) = stored.get(from) {
            out.remove(to);
            append(out, to, v);
            any = true;
        }
    }
    any
}

/// A `Range: bytes=a-b` request answered from a whole cached object: 206 with the bytes
/// (RangeGETs.html: once the entire object is cached, CloudFront "responds to Range GET
/// requests by serving the requested range"). Several ranges, or one it cannot satisfy: the
/// whole object, 200 (the page: invalid ranges get "status code 200 with the full object").
fn serve_range(r: Stored, range: &str) -> Stored {
    let len = r.body.len();
    let parsed = range
        .trim()
        .strip_prefix("bytes=")
        .filter(|spec| !spec.contains(','))
        .and_then(|spec| spec.split_once('-'))
        .and_then(|(a, b)| match (a.trim(), b.trim()) {
            ("", n) => n
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| (len.saturating_sub(n), len.saturating_sub(1))),
            (a, "") => a.parse::<usize>().ok().map(|a| (a, len.saturating_sub(1))),
            (a, b) => a
                .parse::<usize>()
                .ok()
                .zip(b.parse::<usize>().ok())
                .map(|(a, b)| (a, b.min(len.saturating_sub(1)))),
        })
        .filter(|(a, b)| r.status == 200 && len > 0 && a <= b && *a < len);
    let Some((a, b)) = parsed else {
        return r;
    };
    let mut headers = r.headers;
    headers.set("Content-Range", format!("bytes {a}-{b}/{len}"));
    Stored {
        status: 206,
        headers,
        body: r.body.slice(a..=b),
    }
}

/// The body of a stored response for `method` (HEAD: none, with the GET's length).
fn copy_for(status: u16, mut headers: Headers, body: &Bytes, method: &Method) -> Stored {
    let body = if *method == Method::HEAD {
        headers.set("content-length", body.len().to_string());
        Bytes::new()
    } else {
        body.clone()
    };
    Stored {
        status,
        headers,
        body,
    }
}

/// A response as stored or about to be sent, before the edge's own headers.
struct Stored {
    status: u16,
    headers: Headers,
    body: Bytes,
}

impl Edge {
    /// The headers the origin gets: what the behavior forwards, plus CloudFront's own.
    fn origin_headers(
        &self,
        behavior: &Behavior,
        req_headers: &Headers,
        parts: &axum::http::request::Parts,
        cf_id: &str,
    ) -> reqwest::header::HeaderMap {
        let mut out = reqwest::header::HeaderMap::new();
        for (name, value) in forwarded_headers(behavior, req_headers) {
            if is_hop_by_hop(&name) || name == "x-forwarded-for" {
                continue;
            }
            append(&mut out, &name, &value);
        }
        // `Accept-Encoding`: legacy settings send it normalised to gzip/br, or not at all (the
        // guide's header table); a cache policy caching compressed objects always sends its own
        // normalisation (or `identity`), whatever an origin request policy forwards
        // (controlling-the-cache-key.html, "Cache compressed objects").
        let ae = compress::origin_accept_encoding(behavior.accept_encoding, req_headers);
        match behavior.accept_encoding {
            Some(p) if p.gzip || p.br => {
                out.remove("accept-encoding");
                if let Some(ae) = ae {
                    append(&mut out, "accept-encoding", &ae);
                }
            }
            Some(_) => {}
            None => {
                if let Some(ae) = ae.filter(|_| !out.contains_key("accept-encoding")) {
                    append(&mut out, "accept-encoding", &ae);
                }
            }
        }
        // CloudFront always passes the body's type, and names itself.
        if let Some(ct) = req_headers.get("content-type") {
            append(&mut out, "content-type", ct);
        }
        if !out.contains_key("user-agent") {
            append(&mut out, "user-agent", "Amazon CloudFront");
        }
        append(
            &mut out,
            "via",
            &format!("1.1 {}.cloudfront.net (CloudFront)", self.via_id),
        );
        append(&mut out, "x-amz-cf-id", cf_id);
        if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            let xff = match req_headers.get("x-forwarded-for") {
                Some(prev) => format!("{prev}, {}", peer.ip()),
                None => peer.ip().to_string(),
            };
            append(&mut out, "x-forwarded-for", &xff);
        }
        let cookies = select_cookies(&behavior.origin_forward.cookies, req_headers);
        if !cookies.is_empty() {
            append(&mut out, "cookie", &cookie_header(&cookies));
        }
        out
    }

    /// A WebSocket through the edge: the upgrade goes to the origin; a 101 is relayed with
    /// CloudFront's headers and both connections are spliced until either side closes. Anything
    /// else the origin answers goes back as an ordinary (never cached) response.
    async fn tunnel(
        &self,
        viewer: Option<hyper::upgrade::OnUpgrade>,
        origin_url: url::Url,
        mut out: reqwest::header::HeaderMap,
        behavior: &Behavior,
        pop: &str,
        cf_id: &str,
    ) -> Response {
        append(&mut out, "connection", "Upgrade");
        append(&mut out, "upgrade", "websocket");
        let sent = tokio::time::timeout(
            ORIGIN_TIMEOUT,
            self.ws_client.get(origin_url).headers(out).send(),
        )
        .await;
        let Ok(Ok(resp)) = sent else {
            return self.finish(
                origin_unreachable(cf_id),
                "Error from cloudfront",
                None,
                pop,
                cf_id,
                Some(behavior),
            );
        };
        let status = resp.status().as_u16();
        let mut headers = to_headers(resp.headers());
        if behavior.origin_forward.cookies.is_none() {
            headers.remove("set-cookie");
        }
        if status != 101 {
            headers
                .pairs_mut()
                .retain(|(n, _)| !is_hop_by_hop(n) && !n.eq_ignore_ascii_case("age"));
            let body = resp.bytes().await.unwrap_or_default();
            let stored = Stored {
                status,
                headers,
                body,
            };
            let x_cache = miss_or_error(status);
            return self.finish(stored, x_cache, None, pop, cf_id, Some(behavior));
        }
        let Some(viewer) = viewer else {
            // An HTTP/2 viewer connection cannot be upgraded this way.
            return self.finish(
                origin_unreachable(cf_id),
                "Error from cloudfront",
                None,
                pop,
                cf_id,
                Some(behavior),
            );
        };
        tokio::spawn(async move {
            match (resp.upgrade().await, viewer.await) {
                (Ok(mut origin), Ok(viewer)) => {
                    let mut viewer = hyper_util::rt::TokioIo::new(viewer);
                    let _ = tokio::io::copy_bidirectional(&mut viewer, &mut origin).await;
                }
                (o, v) => tracing::debug!(
                    "edge websocket not spliced: origin {:?}, viewer {:?}",
                    o.err(),
                    v.err()
                ),
            }
        });
        // The 101 keeps its Upgrade/Connection headers (hop-by-hop, but they are the answer).
        headers.remove("content-length");
        let stored = Stored {
            status,
            headers,
            body: Bytes::new(),
        };
        self.finish(
            stored,
            "Miss from cloudfront",
            None,
            pop,
            cf_id,
            Some(behavior),
        )
    }

    /// The entry for `key` whose `Vary` values match this request, fresh or stale.
    fn lookup(
        &self,
        pop_idx: usize,
        key: &str,
        variant: &str,
        range: Option<&str>,
        method: &Method,
    ) -> Lookup {
        lookup_in(&self.caches[pop_idx], key, variant, range, method)
    }

    /// A POP miss answered by Origin Shield: its fresh copy is stored in the POP too (with the
    /// shield's storage time, so `Age` and expiry carry on from the origin fetch) and served
    /// without an origin request.
    fn shield_lookup(
        &self,
        pop_idx: usize,
        key: &str,
        variant: &str,
        range: Option<&str>,
        method: &Method,
    ) -> Option<(Stored, u64)> {
        let (r, age) = match lookup_in(&self.shield, key, variant, range, method) {
            Lookup::Fresh(r, _, age) => (r, age),
            _ => return None,
        };
        let entry = lock(&self.shield)
            .get(key)
            .and_then(|es| es.iter().find(|e| e.fits(variant, range)).cloned())?;
        let mut cache = lock(&self.caches[pop_idx]);
        let slot = cache.entry(key.to_string()).or_default();
        slot.retain(|e| e.vary != entry.vary);
        slot.push(entry);
        Some((r, age))
    }
}

/// The entry for `key` in `cache` whose `Vary` values match this request, fresh or stale.
fn lookup_in(
    cache: &Mutex<Cache>,
    key: &str,
    variant: &str,
    range: Option<&str>,
    method: &Method,
) -> Lookup {
    let mut cache = lock(cache);
    let Some(entries) = cache.get_mut(key) else {
        return Lookup::Nothing;
    };
    entries.retain(|e| e.stored_at.elapsed() < e.keep || e.held());
    let Some(e) = entries.iter().find(|e| e.fits(variant, range)) else {
        return Lookup::Nothing;
    };
    let age = e.stored_at.elapsed();
    if age < e.ttl || e.held() {
        let x_cache = if e.status >= 400 {
            "Error from cloudfront"
        } else {
            "Hit from cloudfront"
        };
        let r = copy_for(e.status, e.headers.clone(), &e.body, method);
        return Lookup::Fresh(r, x_cache, age.as_secs());
    }
    Lookup::Stale(StaleCopy {
        vary: e.vary.clone(),
        status: e.status,
        headers: e.headers.clone(),
        body: e.body.clone(),
        may_serve_on_error: e
            .stale_if_error
            .is_none_or(|s| age.saturating_sub(e.ttl) <= s),
    })
}

impl Edge {
    /// A 304 to our revalidation: the stored copy takes the 304's headers and starts a new TTL.
    #[allow(clippy::too_many_arguments)]
    fn refresh(
        &self,
        pop_idx: usize,
        key: &str,
        behavior: &Behavior,
        errors: &ttl::ErrorCachingMinTtl,
        copy: StaleCopy,
        fresh: &Headers,
        method: &Method,
    ) -> Stored {
        let mut headers = copy.headers;
        for (n, v) in fresh.iter() {
            if !is_hop_by_hop(n) && !n.eq_ignore_ascii_case("age") {
                headers.set(n, v.to_string());
            }
        }
        if behavior.origin_forward.cookies.is_none() {
            headers.remove("set-cookie");
        }
        let d = decide_for(behavior, errors, copy.status, &headers, SystemTime::now());
        let mut cache = lock(&self.caches[pop_idx]);
        if let Some(e) = cache
            .get_mut(key)
            .and_then(|entries| entries.iter_mut().find(|e| e.vary == copy.vary))
        {
            e.headers = headers.clone();
            e.stored_at = Instant::now();
            e.ttl = Duration::from_secs(d.ttl_secs);
            e.keep = Duration::from_secs(d.ttl_secs.max(behavior.ttl.max));
            e.hold_until = None;
        }
        copy_for(copy.status, headers, &copy.body, method)
    }

    /// Serve an expired copy because the origin failed, and keep serving it for `hold` seconds.
    fn hold(
        &self,
        pop_idx: usize,
        key: &str,
        copy: StaleCopy,
        hold: u64,
        method: &Method,
    ) -> Stored {
        let mut cache = lock(&self.caches[pop_idx]);
        if let Some(e) = cache
            .get_mut(key)
            .and_then(|entries| entries.iter_mut().find(|e| e.vary == copy.vary))
        {
            e.hold_until = Some(Instant::now() + Duration::from_secs(hold));
        }
        copy_for(copy.status, copy.headers, &copy.body, method)
    }

    /// Add CloudFront's response headers and build the response.
    fn finish(
        &self,
        r: Stored,
        x_cache: &str,
        age: Option<u64>,
        pop: &str,
        cf_id: &str,
        behavior: Option<&Behavior>,
    ) -> Response {
        let mut headers = r.headers;
        headers.set("X-Cache", x_cache);
        headers.set(
            "Via",
            format!("1.1 {}.cloudfront.net (CloudFront)", self.via_id),
        );
        headers.set("X-Amz-Cf-Pop", pop);
        headers.set("X-Amz-Cf-Id", cf_id);
        if let Some(age) = age {
            headers.set("Age", age.to_string());
        }
        if let Some(b) = behavior {
            for (n, v) in &b.response_headers {
                headers.set(n, v.clone());
            }
            if let Some(h) = &self.cfg.behavior_header {
                headers.set(h, b.name.clone());
            }
        }
        let mut resp = Response::new(Body::from(r.body));
        *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let map = resp.headers_mut();
        for (n, v) in headers.iter() {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(n.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                map.append(n, v);
            }
        }
        resp
    }
}

fn append(map: &mut reqwest::header::HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        reqwest::header::HeaderName::from_bytes(name.as_bytes()),
        reqwest::header::HeaderValue::from_str(value),
    ) {
        map.append(n, v);
    }
}

/// Origin base + viewer path + the query strings the behavior forwards.
fn origin_url(origin: &url::Url, viewer: &url::Url, query: &NameSet) -> url::Url {
    let mut u = origin.clone();
    let base = origin.path().trim_end_matches('/');
    u.set_path(&format!("{base}{}", viewer.path()));
    let q = select_query(query, viewer).join("&");
    u.set_query(if q.is_empty() { None } else { Some(&q) });
    u
}

/// The `Vary` headers that split an object: CloudFront keeps one object per cache key whatever
/// `Vary` says (a header that matters must be in the key), except `Accept-Encoding`, the one the
/// edge handles itself (RequestAndResponseBehaviorCustomOrigin.html, "HTTP response headers that
/// CloudFront removes or replaces": other `Vary` values are removed before the viewer sees them).
/// With `Compress` on, compressed and plain copies are kept apart whatever the origin says.
fn honoured_vary(response: &Headers, variant: &str, compress: bool) -> Vec<(String, String)> {
    let varies = response.get_all("vary").any(|line| {
        line.split(',')
            .any(|n| n.trim().eq_ignore_ascii_case("accept-encoding"))
    });
    if varies || compress {
        vec![("accept-encoding".to_string(), variant.to_string())]
    } else {
        Vec::new()
    }
}

/// Gzip `body` (a `Compress` behavior's answer to a viewer that accepts gzip).
fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body)
        .and_then(|_| enc.finish())
        .map(Bytes::from)
        .unwrap_or_else(|_| Bytes::copy_from_slice(body))
}

/// Brotli `body` (a `Compress` behavior's answer when its cache policy caches Brotli objects and
/// the viewer accepts br).
fn brotli_compress(body: &[u8]) -> Bytes {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams::default();
    match brotli::BrotliCompress(&mut std::io::Cursor::new(body), &mut out, &params) {
        Ok(_) => Bytes::from(out),
        Err(_) => Bytes::copy_from_slice(body),
    }
}

/// A CloudFront-style request id (56 URL-safe characters).
fn cf_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes: [u8; 56] = rand::random();
    bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect::<String>()
        + "=="
}

/// `X-Cache` of an answer that came from the origin just now.
fn miss_or_error(status: u16) -> &'static str {
    if status >= 400 {
        "Error from cloudfront"
    } else {
        "Miss from cloudfront"
    }
}

/// The 502 CloudFront answers when it cannot talk to the origin.
fn origin_unreachable(cf_id: &str) -> Stored {
    error_page(
        502,
        "CloudFront wasn't able to connect to the origin. We can't connect to the server for this app or website at this time. There might be too much traffic or a configuration error. Try again later, or contact the app or website owner.",
        cf_id,
    )
}

/// CloudFront's own HTML error page.
fn error_page(status: u16, message: &str, cf_id: &str) -> Stored {
    let body = super::pages::cloudfront_error(status, message, cf_id);
    let mut headers = Headers::new();
    headers.push("Server", "CloudFront");
    headers.push("Content-Type", "text/html");
    Stored {
        status,
        headers,
        body: Bytes::from(body),
    }
}
