//! The lab's Atlassian-like origin: one server per product (Jira, Confluence), answering with the
//! headers the real ones send, so that the edge in front of it behaves as CloudFront does in front
//! of a real Data Center node.
//!
//! Header policy (healthy): versioned `/s/` resources `Cache-Control: max-age=31536000, public`
//! with `Last-Modified` and `ETag`; HTML `no-cache, no-store, must-revalidate` with Jira's
//! `Expires: Thu, 01 Jan 1970 00:00:00 GMT`, REST the same with `Expires` = `Date` (both happen on
//! real nodes); avatars `private, max-age=31536000` (Jira's "cache privately for about a year");
//! favicon and robots.txt as Tomcat's default servlet serves files (no `Cache-Control`, weak ETag).
//! Fonts answer CORS only when the request carries `Origin`. Faults bend these (see `faults`).
//!
//! The origin listens twice: once as the app host users (or `bypass-static` pages) reach
//! directly, once as the address the edge uses. Only the second one breaks under `font-502`: that
//! fault is about the edge's link to the origin, not the origin itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use sha2::Digest;
use url::Url;

use super::assets;
use super::faults::{Fault, FaultSwitch, Faults};
use super::pages::{self, StaticUrls};
use super::synchrony;

/// Which application an origin impersonates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Product {
    Jira,
    Confluence,
}

impl Product {
    pub const ALL: [Product; 2] = [Product::Jira, Product::Confluence];

    pub fn name(self) -> &'static str {
        match self {
            Product::Jira => "jira",
            Product::Confluence => "confluence",
        }
    }

    /// The page a successful login lands on (without context path).
    pub(crate) fn dashboard_path(self) -> &'static str {
        match self {
            Product::Jira => "/secure/Dashboard.jspa",
            Product::Confluence => "/dashboard.action",
        }
    }

    pub(crate) fn login_path(self) -> &'static str {
        match self {
            Product::Jira => "/login.jsp",
            Product::Confluence => "/login.action",
        }
    }
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A lab account. The same directory serves both products (as Crowd would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabUser {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub email: String,
    pub avatar_id: u32,
}

impl LabUser {
    pub fn new(username: &str, password: &str, display_name: &str, avatar_id: u32) -> Self {
        LabUser {
            username: username.into(),
            password: password.into(),
            display_name: display_name.into(),
            email: format!("{username}@lab.cdnprobe.invalid"),
            avatar_id,
        }
    }
}

/// The lab's fixed accounts: two, so that a leak test can log in as A and as B.
pub(crate) fn default_users() -> Vec<LabUser> {
    vec![
        LabUser::new("alice", "cdnprobe-lab-alice", "Alice Example", 10122),
        LabUser::new("bob", "cdnprobe-lab-bob", "Bob Example", 10123),
    ]
}

/// Server-side sessions (`JSESSIONID` -> user index), shared by both products: with only ports to
/// tell the two apart, browsers send one `JSESSIONID` to both, so both must accept it.
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, usize>>>);

impl Sessions {
    fn create(&self, user: usize) -> String {
        let id = format!(
            "{:016X}{:016X}",
            rand::random::<u64>(),
            rand::random::<u64>()
        );
        self.0.lock().expect("sessions").insert(id.clone(), user);
        id
    }

    fn lookup(&self, id: &str) -> Option<usize> {
        self.0.lock().expect("sessions").get(id).copied()
    }

    fn remove(&self, id: &str) {
        self.0.lock().expect("sessions").remove(id);
    }
}

/// What the lab remembers about people beyond their session: who confirmed their password for
/// administration (WebSudo, per session) and who went through the first-login onboarding.
#[derive(Clone, Default)]
pub struct People {
    sudo: Arc<Mutex<std::collections::HashSet<String>>>,
    onboarded: Arc<Mutex<std::collections::HashSet<(Product, usize)>>>,
}

/// Everything one product's origin needs to know.
#[derive(Clone)]
pub struct OriginConfig {
    pub product: Product,
    /// `""` or `/jira`.
    pub context_path: String,
    /// The app host as users reach it directly (`bypass-static` URLs point here).
    pub public_url: Url,
    /// `cdn-host` topology: the CDN host static resources are referenced on.
    pub cdn_url: Option<Url>,
    pub faults: Faults,
    pub sessions: Sessions,
    pub people: People,
    pub version: super::LabVersion,
    pub onboarding: bool,
    pub users: Arc<Vec<LabUser>>,
    /// What `POST/DELETE /__lab/fault/<name>` calls (the lab also swaps edge behaviors there).
    pub switch: FaultSwitch,
}

struct OriginState {
    cfg: OriginConfig,
    /// This listener is the one the edge talks to.
    via_edge: bool,
    counter: AtomicU64,
}

/// The router for one listener. `via_edge`: this is the address the edge uses as its origin.
pub fn router(cfg: OriginConfig, via_edge: bool) -> Router {
    let state = Arc::new(OriginState {
        cfg,
        via_edge,
        counter: AtomicU64::new(1),
    });
    Router::new().fallback(handle).with_state(state)
}

/// Build date of the lab's "deployment": the `Last-Modified` of static resources.
const BUILD_DATE: &str = "Tue, 04 Nov 2025 09:12:44 GMT";
const EPOCH_EXPIRES: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

struct Req {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    fn param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    fn cookies(&self) -> Vec<(String, String)> {
        cookies_of(&self.headers)
    }
}

/// The `(name, value)` pairs of every `Cookie` header.
fn cookies_of(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(crate::exchange::cookie_pairs)
        .collect()
}

async fn handle(State(st): State<Arc<OriginState>>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    // Synchrony's websocket: behind the ALB's `/synchrony/*` rule, before any body is read
    // (the upgrade needs the connection as it is).
    if st.cfg.product == Product::Confluence
        && parts.uri.path() == format!("{}{}", st.ctx(), synchrony::BAYEUX_PATH)
    {
        let peer = synchrony::Peer {
            username: st.user_of(&parts.headers).map(|u| u.username.clone()),
            node: super::alb::synchrony_node(&st.cfg.faults),
        };
        let mut resp = synchrony::connect(&mut parts, peer);
        super::alb::apply(&st.cfg.faults, resp.headers_mut());
        return resp;
    }
    let body = axum::body::to_bytes(body, 256 * 1024)
        .await
        .unwrap_or_default();
    let r = Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
    };
    let mut resp = st.dispatch(&r).await;
    super::alb::apply(&st.cfg.faults, resp.headers_mut());
    resp
}

/// Kinds of dynamic (never cacheable) answers: Jira sends `Expires` in the past on pages and
/// `Expires` = `Date` on REST.
#[derive(Clone, Copy)]
enum Dynamic {
    Html,
    Rest,
}

/// Kinds of static answers, each with its real caching headers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Static {
    /// Versioned `/s/` batch or resource.
    Versioned,
    /// A font under `/s/` (CORS, `font-502`).
    Font,
    /// Project and user avatars.
    Avatar,
    /// Unversioned `/download/resources/...`.
    Download,
    /// A file served by Tomcat's default servlet (favicon, robots.txt, profile pictures).
    Tomcat,
    /// `synchrony.min.js`.
    Synchrony,
}

impl OriginState {
    fn product(&self) -> Product {
        self.cfg.product
    }

    fn ctx(&self) -> &str {
        &self.cfg.context_path
    }

    fn urls(&self) -> StaticUrls {
        let f = &self.cfg.faults;
        let static_origin = if f.is_on(Fault::BypassStatic) {
            origin_string(&self.cfg.public_url)
        } else if let Some(cdn) = &self.cfg.cdn_url {
            origin_string(cdn)
        } else {
            String::new()
        };
        let buster = f.is_on(Fault::QueryBuster).then(|| {
            // Millisecond clock plus a counter: unique per page view, like jQuery's `_=`.
            let ms = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            ms * 1000 + self.counter.fetch_add(1, Ordering::Relaxed) % 1000
        });
        StaticUrls {
            product: self.product(),
            ctx: self.cfg.context_path.clone(),
            static_origin,
            buster,
            version: self.cfg.version,
        }
    }

    fn session_user(&self, r: &Req) -> Option<&LabUser> {
        self.user_of(&r.headers)
    }

    fn user_of(&self, headers: &HeaderMap) -> Option<&LabUser> {
        cookies_of(headers)
            .iter()
            .filter(|(k, _)| k == "JSESSIONID")
            .find_map(|(_, v)| self.cfg.sessions.lookup(v))
            .and_then(|i| self.cfg.users.get(i))
    }

    fn session_id(&self, r: &Req) -> Option<String> {
        r.cookies()
            .into_iter()
            .filter(|(k, _)| k == "JSESSIONID")
            .map(|(_, v)| v)
            .find(|v| self.cfg.sessions.lookup(v).is_some())
    }

    fn user_index(&self, user: &LabUser) -> usize {
        self.cfg
            .users
            .iter()
            .position(|x| x.username == user.username)
            .unwrap_or(0)
    }

    fn token(&self, user: Option<&LabUser>) -> String {
        // Jira's atlassian.xsrf.token shape: XXXX-XXXX-XXXX-XXXX_<sha1-ish>_lin|lout.
        let who = user.map(|u| u.username.as_str()).unwrap_or("");
        let digest = hex::encode(sha2::Sha256::digest(format!("lab-xsrf:{who}").as_bytes()));
        let suffix = if user.is_some() { "lin" } else { "lout" };
        format!("B3QK-3K8U-Q5T6-2FOP_{}_{suffix}", &digest[..40])
    }

    async fn dispatch(&self, r: &Req) -> Response {
        // Lab control: reachable with and without the context path.
        let ctl = r
            .path
            .strip_prefix(self.ctx())
            .filter(|p| p.starts_with("/__lab/"))
            .or_else(|| Some(r.path.as_str()).filter(|p| p.starts_with("/__lab/")));
        if let Some(p) = ctl {
            return self.control(r, p).await;
        }
        let ctx = self.ctx().to_string();
        let path = if ctx.is_empty() {
            r.path.clone()
        } else if r.path == ctx {
            return redirect(&format!("{ctx}/"));
        } else if let Some(rest) = r.path.strip_prefix(&format!("{ctx}/")) {
            format!("/{rest}")
        } else if r.path == "/" {
            return redirect(&format!("{ctx}/"));
        } else {
            return self.not_found(r, None);
        };
        if path.starts_with("/s/") {
            return self.serve_s(r, &path);
        }
        if let Some(rest) = path.strip_prefix("/download/resources/") {
            return self.serve_download(r, rest);
        }
        match path.as_str() {
            "/favicon.ico" => {
                return self.serve_static(
                    r,
                    Static::Tomcat,
                    "image/x-icon",
                    assets::favicon_ico(7),
                );
            }
            "/robots.txt" => {
                return self.serve_static(
                    r,
                    Static::Tomcat,
                    "text/plain;charset=UTF-8",
                    robots(self.product()).into(),
                );
            }
            "/status" => {
                return self.dynamic(
                    Dynamic::Rest,
                    None,
                    StatusCode::OK,
                    json_body(&json!({"state": "RUNNING"})),
                );
            }
            "/rest/static-asset-caching/health-checks" => return self.health(),
            // The web resource manager: a page asks, after it loaded, for the batches of the
            // contexts it needs next, and loads the `/s/` URLs the answer names.
            "/rest/webResources/1.0/resources" if r.method == Method::POST => {
                return self.web_resources(r);
            }
            // Browser-metrics and analytics beacons (sendBeacon after load).
            "/rest/analytics/1.0/publish/bulk" if r.method == Method::POST => {
                let user = self.session_user(r);
                return self.dynamic(Dynamic::Rest, user, StatusCode::OK, json_body(&json!({})));
            }
            _ => {}
        }
        if let Some(resp) = self.websudo(r, &path) {
            return resp;
        }
        if let Some(resp) = self.onboarding(r, &path) {
            return resp;
        }
        match self.product() {
            Product::Jira => self.jira(r, &path),
            Product::Confluence => self.confluence(r, &path),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Jira

    fn jira(&self, r: &Req, path: &str) -> Response {
        let user = self.session_user(r);
        let u = self.urls();
        let get = r.method == Method::GET || r.method == Method::HEAD;
        match (get, path) {
            (true, "/") | (true, "/secure/MyJiraHome.jspa") => {
                return redirect(&u.app("/secure/Dashboard.jspa"));
            }
            (true, "/login.jsp") => {
                let dest = r.param("os_destination").unwrap_or_default();
                let token = self.token(None);
                let mut resp = self.dynamic(
                    Dynamic::Html,
                    None,
                    StatusCode::OK,
                    html_body(pages::jira_login(&u, &dest, false, &token)),
                );
                self.set_xsrf_cookie(&mut resp, &token);
                return resp;
            }
            (false, "/login.jsp") if r.method == Method::POST => return self.login(r, &u),
            (true, "/logout") | (true, "/secure/Logout!default.jspa") => {
                return self.logout(r, &u);
            }
            (_, "/rest/api/2/serverInfo") => {
                return self.dynamic(
                    Dynamic::Rest,
                    user,
                    StatusCode::OK,
                    json_body(
                        &json!({"baseUrl": self.cfg.public_url.as_str().trim_end_matches('/'),
                        "version": "9.12.14", "buildNumber": 912014, "deploymentType": "Server",
                        "serverTitle": "Lab Jira"}),
                    ),
                );
            }
            (true, p) if p.starts_with("/secure/projectavatar") => return self.avatar(r, "pid"),
            (true, p)
                if p.starts_with("/secure/viewavatar") || p.starts_with("/secure/useravatar") =>
            {
                return self.avatar(r, "avatarId");
            }
            _ => {}
        }
        let rest = path.starts_with("/rest/");
        let Some(user) = user else {
            return if rest {
                self.unauthenticated_rest()
            } else {
                let dest = match &r.query {
                    Some(q) => format!("{path}?{q}"),
                    None => path.to_string(),
                };
                let loc = format!("{}?os_destination={}", u.app("/login.jsp"), encode(&dest));
                self.redirect_dynamic(&loc, None)
            };
        };
        let token = self.token(Some(user));
        let page =
            |html: String| self.dynamic(Dynamic::Html, Some(user), StatusCode::OK, html_body(html));
        let rest_ok =
            |v: Value| self.dynamic(Dynamic::Rest, Some(user), StatusCode::OK, json_body(&v));
        match (get, path) {
            (true, "/secure/Dashboard.jspa") => page(pages::jira_dashboard(&u, user, &token)),
            (true, "/issues/") | (true, "/issues") => {
                let jql = r.param("jql").unwrap_or_default();
                page(pages::jira_search(&u, user, &token, &jql))
            }
            (true, "/projects/LAB/summary") | (true, "/browse/LAB") => {
                page(pages::jira_project(&u, user, &token))
            }
            (true, p) if p.starts_with("/browse/") => match pages::issue(&p[8..]) {
                Some(i) => page(pages::jira_issue(&u, user, &token, i)),
                None => self.not_found(r, Some(user)),
            },
            (_, "/secure/QuickCreateIssue!default.jspa") => {
                rest_ok(pages::jira_quick_create_json(&token))
            }
            (_, "/secure/CreateIssue!default.jspa") => {
                page(pages::jira_dashboard(&u, user, &token))
            }
            (true, "/rest/api/2/myself") => rest_ok(pages::jira_myself(&u, user)),
            (true, "/rest/api/2/search") => {
                let jql = r.param("jql").unwrap_or_default();
                rest_ok(pages::jira_search_json(&u, user, &jql))
            }
            (true, "/rest/api/2/project") => rest_ok(pages::jira_projects_json(&u)),
            (true, "/rest/api/2/project/LAB") | (true, "/rest/api/2/project/10000") => {
                rest_ok(pages::jira_project_json(&u))
            }
            (true, p) if p.starts_with("/rest/api/2/issue/") => {
                let rest = &p["/rest/api/2/issue/".len()..];
                let (key, sub) = rest.split_once('/').unwrap_or((rest, ""));
                match (pages::issue(key), sub) {
                    (Some(i), "") => rest_ok(pages::jira_issue_json(&u, i)),
                    (Some(i), "comment") => rest_ok(pages::jira_comments_json(i)),
                    _ => self.rest_not_found(Some(user)),
                }
            }
            _ if rest => self.rest_not_found(Some(user)),
            _ => self.not_found(r, Some(user)),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Confluence

    fn confluence(&self, r: &Req, path: &str) -> Response {
        let user = self.session_user(r);
        let u = self.urls();
        let get = r.method == Method::GET || r.method == Method::HEAD;
        match (get, path) {
            (true, "/") => return redirect(&u.app("/dashboard.action")),
            (true, "/login.action") => {
                let dest = r.param("os_destination").unwrap_or_default();
                let token = self.token(None);
                return self.dynamic(
                    Dynamic::Html,
                    None,
                    StatusCode::OK,
                    html_body(pages::confluence_login(&u, &dest, false, &token)),
                );
            }
            (false, "/dologin.action") | (false, "/login.action") if r.method == Method::POST => {
                return self.login(r, &u);
            }
            (true, "/logout.action") => return self.logout(r, &u),
            (true, "/synchrony-proxy/resources/js/synchrony.min.js") => {
                return self.serve_static(
                    r,
                    Static::Synchrony,
                    "application/javascript;charset=UTF-8",
                    assets::SYNCHRONY_JS.into(),
                );
            }
            (_, "/synchrony/heartbeat") => {
                return self.dynamic(Dynamic::Rest, user, StatusCode::OK, text_body("OK"));
            }
            (true, "/images/icons/profilepics/default.svg") => {
                return self.serve_static(
                    r,
                    Static::Tomcat,
                    "image/svg+xml",
                    assets::profile_svg().into(),
                );
            }
            _ => {}
        }
        let rest = path.starts_with("/rest/");
        let Some(user) = user else {
            return if rest {
                self.unauthenticated_rest()
            } else {
                let dest = match &r.query {
                    Some(q) => format!("{path}?{q}"),
                    None => path.to_string(),
                };
                let loc = format!(
                    "{}?os_destination={}&permissionViolation=true",
                    u.app("/login.action"),
                    encode(&dest)
                );
                self.redirect_dynamic(&loc, None)
            };
        };
        let token = self.token(Some(user));
        let page =
            |html: String| self.dynamic(Dynamic::Html, Some(user), StatusCode::OK, html_body(html));
        let rest_ok =
            |v: Value| self.dynamic(Dynamic::Rest, Some(user), StatusCode::OK, json_body(&v));
        let page_id = r.param("pageId").and_then(|p| p.parse::<u64>().ok());
        match (get, path) {
            (true, "/dashboard.action") => page(pages::confluence_dashboard(&u, user, &token)),
            (true, "/pages/viewpage.action") => match page_id.and_then(pages::content_by_id) {
                Some(c) => page(pages::confluence_view(&u, user, &token, c)),
                None => self.not_found(r, Some(user)),
            },
            (true, "/pages/editpage.action") | (true, "/pages/editblogpost.action") => {
                match page_id.and_then(pages::content_by_id) {
                    Some(c) => page(pages::confluence_editor(&u, user, &token, c)),
                    None => self.not_found(r, Some(user)),
                }
            }
            (false, "/pages/doeditpage.action") => match page_id.and_then(pages::content_by_id) {
                Some(c) => self.redirect_dynamic(&u.app(c.url), Some(user)),
                None => self.not_found(r, Some(user)),
            },
            (true, "/dosearchsite.action") => {
                let q = r.param("queryString").unwrap_or_default();
                page(pages::confluence_search(&u, user, &token, &q))
            }
            (true, p) if p.starts_with("/display/") => match pages::content_by_url(p) {
                Some(c) => page(pages::confluence_view(&u, user, &token, c)),
                None => self.not_found(r, Some(user)),
            },
            (true, "/rest/api/user/current") => rest_ok(pages::confluence_user_json(&u, user)),
            (true, "/rest/api/search") => {
                let cql = r.param("cql").unwrap_or_default();
                rest_ok(pages::confluence_search_json(&cql))
            }
            (true, p) if p.starts_with("/rest/dashboardmacros/1.0/updates") => {
                rest_ok(pages::confluence_updates_json())
            }
            (true, "/rest/api/space") => rest_ok(pages::confluence_spaces_json(&u)),
            (true, p) if p.starts_with("/rest/api/space/") => {
                match pages::confluence_space(&u, &p["/rest/api/space/".len()..]) {
                    Some(space) => rest_ok(space),
                    None => self.rest_not_found(Some(user)),
                }
            }
            (true, "/rest/api/content") => {
                let kind = r.param("type").unwrap_or_else(|| "page".into());
                let space = r.param("spaceKey");
                rest_ok(pages::confluence_contents_json(&u, &kind, space.as_deref()))
            }
            (true, p) if p.starts_with("/rest/api/content/") => {
                let rest = &p["/rest/api/content/".len()..];
                let (id, sub) = rest.split_once('/').unwrap_or((rest, ""));
                match (id.parse().ok().and_then(pages::content_by_id), sub) {
                    (Some(c), "") => rest_ok(pages::confluence_content_json(&u, c)),
                    (Some(c), "child/comment") => rest_ok(pages::confluence_comments_json(c)),
                    _ => self.rest_not_found(Some(user)),
                }
            }
            (true, p) if p.starts_with("/rest/likes/1.0/content/") && p.ends_with("/likes") => {
                let id = p
                    .trim_start_matches("/rest/likes/1.0/content/")
                    .trim_end_matches("/likes");
                rest_ok(json!({"content_id": id.parse::<u64>().unwrap_or(0),
                    "likes": [{"user": {"name": "bob", "fullName": "Bob Example"}}]}))
            }
            (true, p) if p.starts_with("/rest/quickreload/") => self.dynamic(
                Dynamic::Rest,
                Some(user),
                StatusCode::NO_CONTENT,
                (None, Body::empty()),
            ),
            _ if rest => self.rest_not_found(Some(user)),
            _ => self.not_found(r, Some(user)),
        }
    }

    /// `POST /rest/webResources/1.0/resources` with `{"c": [contexts], ...}`: the context batches
    /// for those contexts, as Atlassian's WRM answers (`resources[].url`, `resourceType`).
    fn web_resources(&self, r: &Req) -> Response {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let contexts: Vec<String> = body["c"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let u = self.urls();
        let mut resources = Vec::new();
        if !contexts.is_empty() {
            let key = contexts.join(",");
            resources.push(
                json!({"url": u.contextbatch("js", &key), "resourceType": "JAVASCRIPT",
                "key": key, "batchType": "context"}),
            );
            resources.push(
                json!({"url": u.contextbatch("css", &key), "resourceType": "CSS",
                "key": key, "batchType": "context", "media": "all"}),
            );
        }
        let user = self.session_user(r);
        self.dynamic(
            Dynamic::Rest,
            user,
            StatusCode::OK,
            json_body(&json!({"resources": resources, "unparsedData": {}, "unparsedErrors": {}})),
        )
    }

    /// Administrator pages ask for the password again (WebSudo) until the session confirmed it.
    fn websudo(&self, r: &Req, path: &str) -> Option<Response> {
        let (admin, auth) = match self.product() {
            Product::Jira => (
                "/secure/admin/ViewApplicationProperties.jspa",
                "/secure/admin/WebSudoAuthenticate.jspa",
            ),
            Product::Confluence => ("/admin/viewgeneralconfig.action", "/doauthenticate.action"),
        };
        if path != admin && path != auth {
            return None;
        }
        let u = self.urls();
        let user = self.session_user(r)?;
        let session = self.session_id(r)?;
        if path == auth && r.method == Method::POST {
            let form = r.form();
            let typed = form
                .get("webSudoPassword")
                .or_else(|| form.get("password"))
                .map(String::as_str)
                .unwrap_or("");
            if typed == user.password {
                self.cfg.people.sudo.lock().expect("sudo").insert(session);
                return Some(redirect(&u.app(admin)));
            }
            let html = pages::websudo(&u, user, admin, true, &self.token(Some(user)));
            return Some(self.dynamic(Dynamic::Html, Some(user), StatusCode::OK, html_body(html)));
        }
        let confirmed = self
            .cfg
            .people
            .sudo
            .lock()
            .expect("sudo")
            .contains(&session);
        let html = if confirmed {
            pages::admin_page(&u, user, &self.token(Some(user)))
        } else {
            pages::websudo(&u, user, admin, false, &self.token(Some(user)))
        };
        Some(self.dynamic(Dynamic::Html, Some(user), StatusCode::OK, html_body(html)))
    }

    /// `--lab-onboarding`: until a user went through it, their pages are the product's first-login
    /// onboarding (Jira's "Welcome" with `#next`, Confluence's with
    /// `#grow-intro-video-skip-button`); its button finishes it and goes on to the page asked for.
    fn onboarding(&self, r: &Req, path: &str) -> Option<Response> {
        if !self.cfg.onboarding || r.method != Method::GET || path.starts_with("/rest/") {
            return None;
        }
        let user = self.session_user(r)?;
        let key = (self.product(), self.user_index(user));
        let done = "/__onboarding/done";
        let u = self.urls();
        if path == done {
            self.cfg
                .people
                .onboarded
                .lock()
                .expect("onboarded")
                .insert(key);
            let dest = r.param("dest").unwrap_or_default();
            let target = if dest.starts_with('/') && !dest.starts_with("//") {
                u.app(&dest)
            } else {
                u.app(self.product().dashboard_path())
            };
            return Some(redirect(&target));
        }
        if self
            .cfg
            .people
            .onboarded
            .lock()
            .expect("onboarded")
            .contains(&key)
        {
            return None;
        }
        let html_page = matches!(path.rsplit('.').next(), Some("jspa" | "action" | "jsp"))
            || path.starts_with("/browse/")
            || path.starts_with("/display/")
            || path.starts_with("/projects/")
            || path.starts_with("/issues/");
        if !html_page {
            return None;
        }
        let dest = match &r.query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let next = format!("{}?dest={}", u.app(done), encode(&dest));
        let html = pages::onboarding(&u, user, &next, &self.token(Some(user)));
        Some(self.dynamic(Dynamic::Html, Some(user), StatusCode::OK, html_body(html)))
    }

    // -----------------------------------------------------------------------------------------
    // Login

    fn login(&self, r: &Req, u: &StaticUrls) -> Response {
        let form = r.form();
        let name = form.get("os_username").map(String::as_str).unwrap_or("");
        let pass = form.get("os_password").map(String::as_str).unwrap_or("");
        let dest = form.get("os_destination").map(String::as_str).unwrap_or("");
        let found = self
            .cfg
            .users
            .iter()
            .position(|x| x.username == name && x.password == pass);
        let Some(idx) = found else {
            let token = self.token(None);
            let html = match self.product() {
                Product::Jira => pages::jira_login(u, dest, true, &token),
                Product::Confluence => pages::confluence_login(u, dest, true, &token),
            };
            let mut resp = self.dynamic(Dynamic::Html, None, StatusCode::OK, html_body(html));
            set(&mut resp, "X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
            return resp;
        };
        let user = &self.cfg.users[idx];
        let session = self.cfg.sessions.create(idx);
        // Only a local path may be a destination (no open redirect).
        let target = if dest.starts_with('/') && !dest.starts_with("//") {
            u.app(dest)
        } else {
            u.app(self.product().dashboard_path())
        };
        let mut resp = self.redirect_dynamic(&target, Some(user));
        let cookie_path = self.cookie_path();
        add(
            &mut resp,
            header::SET_COOKIE,
            &format!("JSESSIONID={session}; Path={cookie_path}; HttpOnly"),
        );
        if self.product() == Product::Jira {
            let token = self.token(Some(user));
            self.set_xsrf_cookie(&mut resp, &token);
        }
        set(&mut resp, "X-Seraph-LoginReason", "OK");
        resp
    }

    fn logout(&self, r: &Req, u: &StaticUrls) -> Response {
        for (k, v) in r.cookies() {
            if k == "JSESSIONID" {
                self.cfg.sessions.remove(&v);
            }
        }
        let mut resp = self.redirect_dynamic(&u.app(self.product().login_path()), None);
        add(
            &mut resp,
            header::SET_COOKIE,
            &format!(
                "JSESSIONID=; Path={}; Expires={EPOCH_EXPIRES}; HttpOnly",
                self.cookie_path()
            ),
        );
        resp
    }

    fn cookie_path(&self) -> String {
        if self.ctx().is_empty() {
            "/".into()
        } else {
            self.ctx().to_string()
        }
    }

    fn set_xsrf_cookie(&self, resp: &mut Response, token: &str) {
        add(
            resp,
            header::SET_COOKIE,
            &format!("atlassian.xsrf.token={token}; Path={}", self.cookie_path()),
        );
    }

    // -----------------------------------------------------------------------------------------
    // Dynamic answers

    /// A never-cacheable answer with the node's request headers.
    fn dynamic(
        &self,
        kind: Dynamic,
        user: Option<&LabUser>,
        status: StatusCode,
        body: (Option<&'static str>, Body),
    ) -> Response {
        let now = SystemTime::now();
        let date = httpdate::fmt_http_date(now);
        let mut b = Response::builder()
            .status(status)
            .header(header::DATE, &date)
            .header(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")
            .header(header::PRAGMA, "no-cache")
            .header(
                header::EXPIRES,
                match kind {
                    Dynamic::Html => EPOCH_EXPIRES,
                    Dynamic::Rest => date.as_str(),
                },
            )
            .header("X-Content-Type-Options", "nosniff")
            .header("X-XSS-Protection", "1; mode=block")
            .header("X-Frame-Options", "SAMEORIGIN")
            .header("Content-Security-Policy", "frame-ancestors 'self'")
            .header(
                "X-AUSERNAME",
                user.map(|u| u.username.as_str()).unwrap_or("anonymous"),
            );
        if let Some(ct) = body.0 {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let minute = (now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            / 60)
            % 1440;
        b = match self.product() {
            Product::Jira => b
                .header("X-AREQUESTID", format!("{minute}x{n}x1"))
                .header("X-ASEN", "SEN-L19283746"),
            Product::Confluence => b
                .header("X-ASEN", "SEN-L19283747")
                .header("X-Confluence-Request-Time", {
                    now.duration_since(SystemTime::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_millis()
                        .to_string()
                })
                .header("X-AREQUESTID", format!("{minute}x{n}x2")),
        };
        if user.is_some() {
            b = b.header("X-Seraph-LoginReason", "OK");
        }
        b.body(body.1).expect("valid response")
    }

    fn redirect_dynamic(&self, location: &str, user: Option<&LabUser>) -> Response {
        let mut resp = self.dynamic(
            Dynamic::Html,
            user,
            StatusCode::FOUND,
            (None, Body::empty()),
        );
        set(&mut resp, "Location", location);
        resp
    }

    fn unauthenticated_rest(&self) -> Response {
        let mut resp = self.dynamic(
            Dynamic::Rest,
            None,
            StatusCode::UNAUTHORIZED,
            json_body(&json!({"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}})),
        );
        set(&mut resp, "WWW-Authenticate", "OAuth realm=\"lab\"");
        resp
    }

    fn rest_not_found(&self, user: Option<&LabUser>) -> Response {
        self.dynamic(
            Dynamic::Rest,
            user,
            StatusCode::NOT_FOUND,
            json_body(&json!({"errorMessages": ["Not found"], "errors": {}})),
        )
    }

    fn not_found(&self, r: &Req, user: Option<&LabUser>) -> Response {
        let u = self.urls();
        self.dynamic(
            Dynamic::Html,
            user,
            StatusCode::NOT_FOUND,
            html_body(pages::not_found(&u, user, &r.path)),
        )
    }

    /// `/rest/static-asset-caching/health-checks`: what the node knows about its CDN setup, in
    /// the shape of Atlassian's health-check answers (a list of named checks with `isHealthy`).
    fn health(&self) -> Response {
        let f = &self.cfg.faults;
        let headers_ok = !f.is_on(Fault::ExpiresNow) && !f.is_on(Fault::NoCacheStatic);
        let cdn = self.cfg.cdn_url.as_ref().map(origin_string);
        let check = |key: &str, name: &str, ok: bool, failure: &str| {
            json!({"completeKey": format!("com.atlassian.plugins.static-assets-url:{key}"),
                   "name": name, "isHealthy": ok, "failureReason": if ok { "" } else { failure },
                   "severity": if ok { "undefined" } else { "warning" }})
        };
        let statuses = vec![
            check(
                "cdn-enabled",
                "CDN prefix configured",
                cdn.is_some(),
                "jira.fixed.cdn.enabled is false: static resources are served by the node",
            ),
            check(
                "static-headers",
                "Static resources are cacheable",
                headers_ok,
                "static resources are sent without a long max-age",
            ),
            check(
                "stateless-resources",
                "Static resources are stateless",
                !f.is_on(Fault::QueryBuster),
                "a plugin adds a changing query parameter to static resource URLs",
            ),
        ];
        self.dynamic(
            Dynamic::Rest,
            None,
            StatusCode::OK,
            json_body(&json!({"cdnPrefix": cdn, "statuses": statuses})),
        )
    }

    // -----------------------------------------------------------------------------------------
    // Static answers

    fn serve_s(&self, r: &Req, path: &str) -> Response {
        let Some((_, rest)) = path.split_once("/_/download/") else {
            return self.static_not_found();
        };
        let (ctype, body, kind): (&str, Vec<u8>, Static) =
            if let Some(kind) = rest.strip_prefix("superbatch/") {
                match kind {
                    "js/batch.js" => (JS, assets::SUPER_JS.into(), Static::Versioned),
                    "css/batch.css" => (
                        CSS,
                        assets::super_css(&format!(
                            "{}{}",
                            self.ctx(),
                            pages::s_prefix(self.product())
                        ))
                        .into_bytes(),
                        Static::Versioned,
                    ),
                    _ => return self.static_not_found(),
                }
            } else if let Some(rest) = rest.strip_prefix("contextbatch/") {
                match rest.split('/').collect::<Vec<_>>().as_slice() {
                    ["js", contexts, "batch.js"] => {
                        let js: String = contexts
                            .split(',')
                            .filter(|c| !c.starts_with('-'))
                            .map(|c| format!("/* context: {c} */\n{}\n", assets::context_js(c)))
                            .collect();
                        (JS, js.into_bytes(), Static::Versioned)
                    }
                    ["css", contexts, "batch.css"] => (
                        CSS,
                        assets::context_css(contexts).into_bytes(),
                        Static::Versioned,
                    ),
                    _ => return self.static_not_found(),
                }
            } else if let Some(rest) = rest.strip_prefix("batch/") {
                let Some((key, file)) = rest.split_once('/') else {
                    return self.static_not_found();
                };
                if file == format!("{key}.js") {
                    match assets::module_js(key) {
                        Some(js) => (JS, js.as_bytes().to_vec(), Static::Versioned),
                        None => return self.static_not_found(),
                    }
                } else if file == format!("{key}.css") {
                    (CSS, assets::module_css(key).into_bytes(), Static::Versioned)
                } else {
                    return self.static_not_found();
                }
            } else if let Some(rest) = rest.strip_prefix("resources/") {
                let Some((_module, file)) = rest.split_once('/') else {
                    return self.static_not_found();
                };
                if let Some((mime, bytes)) = assets::font(file) {
                    (mime, bytes, Static::Font)
                } else if file.ends_with(".png") {
                    ("image/png", assets::avatar_png(24, 5), Static::Versioned)
                } else {
                    return self.static_not_found();
                }
            } else {
                return self.static_not_found();
            };
        if kind == Static::Font && self.via_edge && self.cfg.faults.is_on(Fault::Font502) {
            return dropped_connection(ctype);
        }
        self.serve_static(r, kind, ctype, body)
    }

    fn serve_download(&self, r: &Req, rest: &str) -> Response {
        if rest.ends_with(".png") {
            let seed = rest.len() as u64;
            self.serve_static(
                r,
                Static::Download,
                "image/png",
                assets::avatar_png(32, seed),
            )
        } else if rest.ends_with(".svg") {
            self.serve_static(
                r,
                Static::Download,
                "image/svg+xml",
                assets::profile_svg().into(),
            )
        } else {
            self.static_not_found()
        }
    }

    fn avatar(&self, r: &Req, key_param: &str) -> Response {
        let size = match r.param("size").as_deref() {
            Some("xsmall") => 16,
            Some("small") => 24,
            Some("medium") => 32,
            _ => 48,
        };
        let seed = r
            .param("avatarId")
            .or_else(|| r.param(key_param))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        self.serve_static(
            r,
            Static::Avatar,
            "image/png",
            assets::avatar_png(size, seed),
        )
    }

    fn static_not_found(&self) -> Response {
        // Atlassian answers unknown resources with a plain 404 that is itself cacheable-neutral.
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::DATE, httpdate::fmt_http_date(SystemTime::now()))
            .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from("Not found"))
            .expect("valid response")
    }

    /// A static answer with the caching headers of its kind (and the faults that bend them),
    /// honouring `If-None-Match` / `If-Modified-Since` with 304.
    fn serve_static(&self, r: &Req, kind: Static, ctype: &str, body: Vec<u8>) -> Response {
        let now = SystemTime::now();
        let date = httpdate::fmt_http_date(now);
        let f = &self.cfg.faults;
        let tag = hex::encode(&sha2::Sha256::digest(&body)[..10]);
        let etag = match kind {
            Static::Tomcat => format!("W/\"{}-1762247564000\"", body.len()),
            _ => format!("\"{tag}\""),
        };
        let mut h: Vec<(&str, String)> = vec![("Date", date.clone())];
        match kind {
            Static::Versioned | Static::Font => {
                let expires_now = f.is_on(Fault::ExpiresNow);
                let no_cache = f.is_on(Fault::NoCacheStatic);
                if no_cache {
                    h.push(("Cache-Control", "no-cache".into()));
                } else if !expires_now {
                    h.push(("Cache-Control", "max-age=31536000, public".into()));
                }
                if expires_now {
                    h.push(("Expires", date.clone()));
                }
                h.push(("Last-Modified", BUILD_DATE.into()));
                h.push(("ETag", etag.clone()));
            }
            Static::Avatar => {
                h.push(("Cache-Control", "private, max-age=31536000".into()));
                h.push((
                    "Expires",
                    httpdate::fmt_http_date(now + Duration::from_secs(31_536_000)),
                ));
                h.push(("Last-Modified", BUILD_DATE.into()));
                h.push(("ETag", etag.clone()));
            }
            Static::Download => {
                h.push(("Cache-Control", "max-age=86400, public".into()));
                h.push(("Last-Modified", BUILD_DATE.into()));
                h.push(("ETag", etag.clone()));
            }
            Static::Tomcat => {
                h.push(("Accept-Ranges", "bytes".into()));
                h.push(("Last-Modified", BUILD_DATE.into()));
                h.push(("ETag", etag.clone()));
            }
            Static::Synchrony => {
                h.push(("Cache-Control", "max-age=86400, public".into()));
                h.push(("Last-Modified", BUILD_DATE.into()));
                h.push(("ETag", etag.clone()));
            }
        }
        if kind == Static::Font
            && let Some(origin) = r.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        {
            h.push(("Access-Control-Allow-Origin", origin.to_string()));
            h.push(("Vary", "Origin".into()));
        }
        let not_modified = match r.headers.get(header::IF_NONE_MATCH) {
            Some(v) => v
                .to_str()
                .map(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
                .unwrap_or(false),
            None => r
                .headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .zip(httpdate::parse_http_date(BUILD_DATE).ok())
                .is_some_and(|(since, built)| built <= since),
        };
        let mut b = Response::builder();
        for (k, v) in &h {
            b = b.header(*k, v);
        }
        if not_modified {
            return b
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .expect("valid response");
        }
        b.status(StatusCode::OK)
            .header(header::CONTENT_TYPE, ctype)
            .body(Body::from(body))
            .expect("valid response")
    }

    // -----------------------------------------------------------------------------------------
    // Lab control

    async fn control(&self, r: &Req, path: &str) -> Response {
        let reply = |status: StatusCode, v: Value| {
            Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CACHE_CONTROL, "no-store")
                .body(Body::from(v.to_string()))
                .expect("valid response")
        };
        let list = |faults: &Faults| {
            let active = faults.active();
            json!({
                "active": active.iter().map(|f| f.name()).collect::<Vec<_>>(),
                "known": Fault::ALL.iter().map(|f| json!({"name": f.name(), "active": active.contains(f), "description": f.describe()})).collect::<Vec<_>>(),
            })
        };
        if path == "/__lab/faults" && r.method == Method::GET {
            return reply(StatusCode::OK, list(&self.cfg.faults));
        }
        if let Some(name) = path.strip_prefix("/__lab/fault/") {
            let on = match r.method {
                Method::POST | Method::PUT => true,
                Method::DELETE => false,
                _ => {
                    return reply(
                        StatusCode::METHOD_NOT_ALLOWED,
                        json!({"error": "use POST to switch a fault on, DELETE to switch it off"}),
                    );
                }
            };
            let fault: Fault = match name.parse() {
                Ok(f) => f,
                Err(e) => return reply(StatusCode::NOT_FOUND, json!({"error": e.to_string()})),
            };
            let report = self.cfg.switch.switch(fault, on).await;
            let mut v = list(&self.cfg.faults);
            v["fault"] = json!(fault.name());
            v["on"] = json!(on);
            v["changed"] = json!(report.changed);
            v["notes"] = json!(report.notes);
            return reply(StatusCode::OK, v);
        }
        reply(
            StatusCode::NOT_FOUND,
            json!({"error": "lab control: GET /__lab/faults, POST|DELETE /__lab/fault/<name>"}),
        )
    }
}

const JS: &str = "application/javascript;charset=UTF-8";
const CSS: &str = "text/css;charset=UTF-8";

fn html_body(s: String) -> (Option<&'static str>, Body) {
    (Some("text/html;charset=UTF-8"), Body::from(s))
}

fn json_body(v: &Value) -> (Option<&'static str>, Body) {
    (
        Some("application/json;charset=UTF-8"),
        Body::from(v.to_string()),
    )
}

fn text_body(s: &'static str) -> (Option<&'static str>, Body) {
    (Some("text/plain;charset=UTF-8"), Body::from(s))
}

fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

fn add(resp: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(name, v);
    }
}

fn redirect(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")
        .body(Body::empty())
        .expect("valid response")
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `http://host:port` (no trailing slash, no path).
pub(crate) fn origin_string(u: &Url) -> String {
    u.origin().ascii_serialization()
}

fn robots(product: Product) -> &'static str {
    match product {
        Product::Jira => {
            "# robots.txt for Jira\n# By default, all SearchRequestViews and IssueViews are excluded.\n\nUser-agent: *\nDisallow: /sr/\nDisallow: /si/\n"
        }
        Product::Confluence => "User-agent: *\nDisallow: /\n",
    }
}

/// The `font-502` fault: headers are promised, then the connection is torn down before the body.
/// To the edge this is an origin it cannot talk to: it answers 502.
fn dropped_connection(ctype: &str) -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "lab fault font-502: origin dropped the connection",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, ctype)
        .header(header::CONTENT_LENGTH, "2048")
        .body(Body::from_stream(stream))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_paths() {
        assert_eq!(Product::Jira.login_path(), "/login.jsp");
        assert_eq!(Product::Confluence.dashboard_path(), "/dashboard.action");
        assert_eq!(Product::Jira.to_string(), "jira");
    }

    #[test]
    fn users_are_two_and_not_guessable() {
        let users = default_users();
        assert_eq!(users.len(), 2);
        for u in &users {
            assert_ne!(u.username, u.password);
            assert!(u.password.len() >= 12);
        }
    }

    #[test]
    fn origin_string_drops_the_path() {
        let u = Url::parse("http://127.0.0.1:8080/jira/").unwrap();
        assert_eq!(origin_string(&u), "http://127.0.0.1:8080");
    }
}
