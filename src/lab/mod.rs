//! The embedded lab: an Atlassian-like origin behind a CloudFront-faithful edge, on loopback.
//!
//! It is the demo (`cdnprobe lab`, and `cdnprobe run` with no target), and the ground truth for
//! tests: every fault of the community thread can be switched on and the tool must find it. It
//! has to behave like the real thing, so each piece models one real piece:
//!
//! - `origin`: a Jira and a Confluence node (pages, login, REST, `/s/` batches, fonts, avatars),
//!   with the headers those nodes send;
//! - `alb`: the load balancer in front of them (stickiness cookies, which Synchrony node a
//!   websocket reaches);
//! - `synchrony`: Confluence's collaborative-editing websocket (`/synchrony/v1/bayeux-sync1`);
//! - `edge` (the `cloudfront` model serving HTTP): ordered behaviors, TTL rules, cache key;
//! - `faults`: the switches.
//!
//! Topologies. `proxy`: viewer -> edge -> ALB -> origin, the whole site through CloudFront (the
//! thread's setup). `cdn-host`: Atlassian's built-in CDN support (`jira.fixed.cdn.prefix`): pages
//! come from the app host directly, static resources from the CDN host — a different host name
//! (`localhost` vs `127.0.0.1`), so fonts are cross-origin and need CORS.
//!
//! Each origin listens twice: the app host (what users, `cdn-host` pages and `bypass-static`
//! URLs reach) and an internal address that only the edge uses (so `font-502` can break the edge's
//! link without breaking the app host).

pub mod alb;
pub(crate) mod assets;
pub mod edge;
pub mod faults;
pub mod origin;
pub mod pages;
pub mod synchrony;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::cloudfront::BehaviorSet;
use crate::error::UserError;

pub use faults::{Fault, FaultSwitch, Faults, SwitchReport};
pub use origin::{LabUser, Product};

/// How viewer, edge and origin are wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Topology {
    /// viewer -> edge -> ALB -> origin: the user opens the edge.
    #[default]
    Proxy,
    /// Atlassian DC CDN support: the user opens the app host; `/s/`, fonts and
    /// `/download/resources` are referenced on the CDN host (the edge), cross-origin.
    CdnHost,
}

impl Topology {
    pub fn name(self) -> &'static str {
        match self {
            Topology::Proxy => "proxy",
            Topology::CdnHost => "cdn-host",
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Topology {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "proxy" => Ok(Topology::Proxy),
            "cdn-host" | "cdn_host" | "cdnhost" => Ok(Topology::CdnHost),
            other => Err(format!(
                "unknown topology `{other}` (known: proxy, cdn-host)"
            )),
        }
    }
}

/// Which product versions the lab's pages look like. Real instances differ in exactly the ways
/// that stop scripted journeys: Jira 10.x and Confluence 9.x may serve the newer login form (the
/// "2SV" one) on the same login URLs, and Jira 10.0 drops a login clicked before the page is
/// ready. Both versions have WebSudo on administrator pages and the web resource manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabVersion {
    /// Jira 9.12 and Confluence 8.5: the legacy login forms.
    #[default]
    Legacy,
    /// Jira 10.3 and Confluence 9.2 (the toolkit's current LTS): the newer login form, whose
    /// button only works once the page is ready.
    Current,
}

impl LabVersion {
    pub fn name(self) -> &'static str {
        match self {
            LabVersion::Legacy => "legacy",
            LabVersion::Current => "current",
        }
    }

    /// The version a product's pages announce (`ajs-version-number`, the footer).
    pub fn of(self, product: Product) -> &'static str {
        match (self, product) {
            (LabVersion::Legacy, Product::Jira) => "9.12.14",
            (LabVersion::Legacy, Product::Confluence) => "8.5.16",
            (LabVersion::Current, Product::Jira) => "10.3.15",
            (LabVersion::Current, Product::Confluence) => "9.2.13",
        }
    }
}

impl FromStr for LabVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "legacy" | "jira-9" | "9" => Ok(LabVersion::Legacy),
            "current" | "jira-10" | "10" | "lts" => Ok(LabVersion::Current),
            other => Err(format!(
                "unknown lab version `{other}` (known: legacy = Jira 9.12 / Confluence 8.5, current = Jira 10.3 / Confluence 9.2)"
            )),
        }
    }
}

/// How to start a lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Base port: Jira's user-facing port; Confluence +1, the other host of each +2/+3, the
    /// edge's internal origin addresses +4/+5. `None`: ephemeral ports.
    pub port: Option<u16>,
    pub topology: Topology,
    pub faults: Vec<Fault>,
    /// The edge's behaviors; `None`: the seed's (DESIGN.md "The seed's behaviors").
    pub behaviors: Option<BehaviorSet>,
    /// Context path for both products (`/jira`); `auto`: `/jira` and `/confluence`; `None`: none.
    pub context_path: Option<String>,
    /// Edge locations the edge answers from (`X-Amz-Cf-Pop`).
    pub pops: Vec<String>,
    /// A response header naming the behavior that served (the thread's debugging trick).
    pub behavior_header: Option<String>,
    /// Address to listen on (loopback).
    pub bind: IpAddr,
    /// Which product versions the pages look like.
    pub version: LabVersion,
    /// A user's first login goes through the products' onboarding pages first.
    pub onboarding: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            port: None,
            topology: Topology::Proxy,
            faults: Vec::new(),
            behaviors: None,
            context_path: None,
            pops: vec!["FRA56-P1".into()],
            behavior_header: None,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            version: LabVersion::Legacy,
            onboarding: false,
        }
    }
}

impl LabOptions {
    /// The context path one product runs under (`""` for none).
    pub(crate) fn context_path_for(&self, product: Product) -> String {
        match self.context_path.as_deref().map(str::trim) {
            None => String::new(),
            Some("auto") => format!("/{}", product.name()),
            Some(p) => crate::cloudfront::behavior::normalize_context_path(p),
        }
    }
}

/// One product's wiring.
#[derive(Debug, Clone)]
struct ProductLab {
    product: Product,
    context_path: String,
    /// What a user opens (edge in `proxy`, app host in `cdn-host`), with context path.
    user_url: Url,
    /// The app host, directly (no edge).
    app_url: Url,
    /// The edge (CDN host in `cdn-host`).
    edge_url: Url,
    /// The origin address the edge talks to.
    edge_origin: Url,
    behaviors: Arc<RwLock<BehaviorSet>>,
    base_behaviors: BehaviorSet,
}

impl ProductLab {
    fn font_path(&self) -> String {
        pages::font_path(self.product, &self.context_path)
    }
}

struct Shared {
    products: Vec<ProductLab>,
    faults: Faults,
    topology: Topology,
    http: reqwest::Client,
}

impl Shared {
    /// Switch a fault the way an operator would see it happen: flip it and update the edge's
    /// behaviors if it is a behavior fault. The edges' caches are left alone, as a deploy or a
    /// distribution update leaves CloudFront's: objects cached before the switch are served until
    /// they expire (and an expired one stands in when the origin fails), so a test or a demo that
    /// wants the switch's effect at once invalidates (`Lab::invalidate`, or the edge's
    /// `POST /__edge/invalidate`), like a CreateInvalidation.
    async fn switch(&self, fault: Fault, on: bool) -> SwitchReport {
        let changed = self.faults.set(fault, on);
        let mut notes = Vec::new();
        if !changed {
            notes.push(format!(
                "{fault} was already {}",
                if on { "on" } else { "off" }
            ));
            return SwitchReport { changed, notes };
        }
        if fault.changes_behaviors() {
            self.apply_behaviors();
            notes.push("edge behaviors updated".into());
        }
        if on && let Some(n) = self.ineffective_note(fault) {
            notes.push(n);
        }
        if on && fault.needs_cdn_host() && self.topology != Topology::CdnHost {
            notes.push(format!(
                "{fault} only shows cross-origin: restart the lab with --topology cdn-host to see it"
            ));
        }
        if on && let Some(n) = proxy_only_note(fault, self.topology) {
            notes.push(n);
        }
        if on && fault == Fault::CorsFirstOrigin {
            notes.extend(self.warm_from_another_origin().await);
        }
        notes.push(
            "edge caches kept: cached objects are served until they expire; invalidate to see the switch at once"
                .into(),
        );
        SwitchReport { changed, notes }
    }

    fn apply_behaviors(&self) {
        let active = self.faults.active();
        for p in &self.products {
            let set = faults::behaviors_with_faults(&p.base_behaviors, &active, &p.font_path());
            *p.behaviors.write().expect("behaviors lock") = set;
        }
    }

    /// A behavior fault that the configured behaviors make impossible (e.g. `cors-missing` when
    /// the font behavior forwards all headers): say so instead of pretending.
    fn ineffective_note(&self, fault: Fault) -> Option<String> {
        if !matches!(fault, Fault::CorsMissing | Fault::CorsFirstOrigin)
            || !self.faults.is_on(fault)
        {
            return None;
        }
        let p = self.products.first()?;
        let set = p.behaviors.read().expect("behaviors lock");
        let (_, b) = set.matching(&p.font_path());
        b.key.headers.contains_header("Origin").then(|| {
            format!(
                "{fault} has no effect: behavior {} forwards all headers, Origin included",
                b.name
            )
        })
    }

    /// `cors-first-origin`: another site sharing the distribution (the other product's pages)
    /// fetches each product's fonts through the edge first, so the answer cached under the
    /// Origin-less key carries its `Access-Control-Allow-Origin`.
    async fn warm_from_another_origin(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let n = self.products.len();
        for (i, p) in self.products.iter().enumerate().filter(|_| n > 1) {
            let other = &self.products[(i + 1) % n];
            let origin = other.app_url.origin().ascii_serialization();
            let woff = p.font_path();
            let dir = woff.trim_end_matches("adgs-icons.woff");
            for file in pages::FONT_FILES {
                let Ok(url) = p.edge_url.join(&format!("{dir}{file}")) else {
                    continue;
                };
                if let Err(e) = self.http.get(url).header("Origin", &origin).send().await {
                    notes.push(format!("{} font warm-up failed: {e}", p.product));
                }
            }
            notes.push(format!(
                "cors-first-origin: {} fonts fetched first with Origin {origin} (another site on the same distribution)",
                p.product
            ));
        }
        notes
    }

    /// Invalidate `pattern` (a CloudFront path pattern, `/*` for everything) on one product's
    /// edge; returns how many objects went.
    async fn invalidate(&self, p: &ProductLab, pattern: &str) -> anyhow::Result<u64> {
        let mut url = p.edge_url.join("/__edge/invalidate")?;
        url.query_pairs_mut().append_pair("path", pattern);
        let resp = self.http.post(url).send().await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "edge answered {}",
            resp.status()
        );
        let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await?)?;
        Ok(v["invalidated"].as_u64().unwrap_or(0))
    }
}

/// `websocket-blocked` is an edge fault; in `cdn-host` pages (and the editor's websocket) come
/// from the app host directly, as with Atlassian's CDN support, so the edge never sees it.
fn proxy_only_note(fault: Fault, topology: Topology) -> Option<String> {
    (fault.needs_proxy() && topology != Topology::Proxy).then(|| {
        format!(
            "{fault} has no effect in the {topology} topology: the editor's websocket goes to the app host, not the edge (use --topology proxy)"
        )
    })
}

/// A running lab. Shuts down on `shutdown()` or when dropped.
pub struct Lab {
    shared: Arc<Shared>,
    users: Arc<Vec<LabUser>>,
    switch: FaultSwitch,
    notes: Vec<String>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Start a lab: bind every listener first (so each server knows every URL), then serve.
pub async fn start(opts: LabOptions) -> anyhow::Result<Lab> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut opts = opts;
    let mut notes = Vec::new();
    if let Some(f) = opts.faults.iter().find(|f| f.needs_cdn_host())
        && opts.topology == Topology::Proxy
    {
        opts.topology = Topology::CdnHost;
        notes.push(format!(
            "{f} only shows cross-origin: switched to the cdn-host topology"
        ));
    }
    let faults = Faults::new(opts.faults.iter().copied());
    let users = Arc::new(origin::default_users());
    let sessions = origin::Sessions::default();
    let people = origin::People::default();
    let bind = opts.bind;

    // Listeners: [front x2, second x2, internal x2] (front = what the user opens).
    let mut listeners = Vec::new();
    for i in 0..6u16 {
        let port = match opts.port {
            Some(base) => base.checked_add(i).ok_or_else(|| {
                UserError::input(
                    format!("base port {base} leaves no room for the lab's 6 ports"),
                    "pick a base port below 65530, or omit --port for ephemeral ports",
                )
            })?,
            None => 0,
        };
        let l = TcpListener::bind(SocketAddr::new(bind, port))
            .await
            .map_err(|e| {
                UserError::input(
                    format!("cannot listen on {bind}:{port}: {e}"),
                    "the lab needs 6 consecutive free ports from --port; pick another base port or omit --port",
                )
            })?;
        listeners.push(l);
    }
    let port_of = |i: usize| -> anyhow::Result<u16> { Ok(listeners[i].local_addr()?.port()) };
    let host = match bind {
        IpAddr::V4(a) if a.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    let base_behaviors = opts
        .behaviors
        .clone()
        .unwrap_or_else(BehaviorSet::seed_default);

    let mut products = Vec::new();
    for (i, product) in Product::ALL.into_iter().enumerate() {
        let ctx = opts.context_path_for(product);
        let front = port_of(i)?;
        let second = port_of(i + 2)?;
        let internal = port_of(i + 4)?;
        let (app_port, edge_port, edge_host) = match opts.topology {
            Topology::Proxy => (second, front, host.clone()),
            // A different host name makes the CDN host cross-origin, as a real CDN domain is.
            Topology::CdnHost => (front, second, "localhost".to_string()),
        };
        let app_url = Url::parse(&format!("http://{host}:{app_port}/"))?;
        let edge_url = Url::parse(&format!("http://{edge_host}:{edge_port}/"))?;
        let edge_origin = Url::parse(&format!("http://{host}:{internal}/"))?;
        let user_base = match opts.topology {
            Topology::Proxy => &edge_url,
            Topology::CdnHost => &app_url,
        };
        let user_url = user_base.join(&ctx)?;
        let mut set = base_behaviors.clone();
        if set.context_path.is_empty() && !ctx.is_empty() {
            set = set.with_context_path(&ctx);
        }
        products.push(ProductLab {
            product,
            context_path: ctx,
            user_url,
            app_url,
            edge_url,
            edge_origin,
            behaviors: Arc::new(RwLock::new(set.clone())),
            base_behaviors: set,
        });
    }

    let shared = Arc::new(Shared {
        products: products.clone(),
        faults: faults.clone(),
        topology: opts.topology,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .context("building the lab's HTTP client")?,
    });
    shared.apply_behaviors();
    notes.extend(shared.ineffective_note(Fault::CorsMissing));
    notes.extend(shared.ineffective_note(Fault::CorsFirstOrigin));
    notes.extend(
        opts.faults
            .iter()
            .filter_map(|f| proxy_only_note(*f, opts.topology)),
    );
    let switch = {
        let shared = shared.clone();
        FaultSwitch::new(move |fault, on| {
            let shared = shared.clone();
            async move { shared.switch(fault, on).await }
        })
    };

    let (stop, _) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut listeners: Vec<Option<TcpListener>> = listeners.into_iter().map(Some).collect();
    for (i, p) in products.iter().enumerate() {
        let cfg = origin::OriginConfig {
            product: p.product,
            context_path: p.context_path.clone(),
            public_url: p.app_url.clone(),
            cdn_url: (opts.topology == Topology::CdnHost).then(|| p.edge_url.clone()),
            faults: faults.clone(),
            sessions: sessions.clone(),
            people: people.clone(),
            version: opts.version,
            onboarding: opts.onboarding,
            users: users.clone(),
            switch: switch.clone(),
        };
        let edge_cfg = edge::EdgeConfig {
            origin: p.edge_origin.clone(),
            behaviors: p.behaviors.clone(),
            pops: opts.pops.clone(),
            behavior_header: opts.behavior_header.clone(),
        };
        let (app_idx, edge_idx) = match opts.topology {
            Topology::Proxy => (i + 2, i),
            Topology::CdnHost => (i, i + 2),
        };
        let take = |v: &mut Vec<Option<TcpListener>>, k: usize| v[k].take().expect("listener");
        let app = origin::router(cfg.clone(), false);
        let internal = origin::router(cfg, true);
        let edge_router = edge::router(edge_cfg);
        tasks.push(serve(take(&mut listeners, app_idx), app, stop.subscribe()));
        tasks.push(serve(
            take(&mut listeners, i + 4),
            internal,
            stop.subscribe(),
        ));
        if opts.topology == Topology::CdnHost && bind.is_loopback() {
            // `localhost` may resolve to ::1 first; answer there too when IPv6 loopback exists.
            let port = p.edge_url.port().unwrap_or(80);
            if let Ok(l6) =
                TcpListener::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)).await
            {
                tasks.push(serve(l6, edge_router.clone(), stop.subscribe()));
            }
        }
        tasks.push(serve(
            take(&mut listeners, edge_idx),
            edge_router,
            stop.subscribe(),
        ));
    }

    if shared.faults.is_on(Fault::CorsFirstOrigin) {
        notes.extend(shared.warm_from_another_origin().await);
    }
    Ok(Lab {
        shared,
        users,
        switch,
        notes,
        stop,
        tasks,
    })
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        // Peer addresses let the edge send X-Forwarded-For, as CloudFront does.
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("lab server stopped: {e}");
        }
    })
}

impl Lab {
    fn product(&self, product: Product) -> &ProductLab {
        self.shared
            .products
            .iter()
            .find(|p| p.product == product)
            .expect("every product runs")
    }

    pub fn topology(&self) -> Topology {
        self.shared.topology
    }

    /// What a user opens for `product` (with context path).
    pub fn url(&self, product: Product) -> Url {
        self.product(product).user_url.clone()
    }

    pub fn jira_url(&self) -> Url {
        self.url(Product::Jira)
    }

    pub fn confluence_url(&self) -> Url {
        self.url(Product::Confluence)
    }

    /// The CDN host static resources are referenced on (`cdn-host` topology only).
    pub fn cdn_url(&self, product: Product) -> Option<Url> {
        (self.topology() == Topology::CdnHost).then(|| self.product(product).edge_url.clone())
    }

    /// The edge, whatever the topology (in `proxy` the same host as `url`).
    pub fn edge_url(&self, product: Product) -> Url {
        self.product(product).edge_url.clone()
    }

    /// The app host directly, without the edge (with context path).
    pub fn app_url(&self, product: Product) -> Url {
        let p = self.product(product);
        p.app_url
            .join(&p.context_path)
            .unwrap_or_else(|_| p.app_url.clone())
    }

    pub fn context_path(&self, product: Product) -> &str {
        &self.product(product).context_path
    }

    /// The lab's accounts (both products accept both).
    pub fn credentials(&self) -> &[LabUser] {
        &self.users
    }

    /// The variables the bundled journeys read, set to the first lab user.
    pub fn journey_env(&self) -> HashMap<String, String> {
        let u = &self.users[0];
        let mut env = HashMap::new();
        for p in ["JIRA", "CONFLUENCE"] {
            env.insert(format!("CDNPROBE_{p}_USER"), u.username.clone());
            env.insert(format!("CDNPROBE_{p}_PASSWORD"), u.password.clone());
        }
        env
    }

    /// The behaviors the edge of `product` runs with right now (faults applied).
    pub fn behaviors(&self, product: Product) -> BehaviorSet {
        self.product(product)
            .behaviors
            .read()
            .expect("behaviors lock")
            .clone()
    }

    /// What the lab changed on its own (e.g. a topology switch a fault needs).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn faults(&self) -> Vec<Fault> {
        self.shared.faults.active()
    }

    /// Switch a fault at run time (same procedure as the control endpoint). Edge caches are kept:
    /// call `invalidate` to see the switch's effect on objects already cached.
    pub async fn set_fault(&self, fault: Fault, on: bool) -> SwitchReport {
        self.switch.switch(fault, on).await
    }

    /// Invalidate `pattern` (`/*`, `/s/*`, with the context path if any) on every edge, like a
    /// CloudFront CreateInvalidation; returns how many objects were removed.
    pub async fn invalidate(&self, pattern: &str) -> anyhow::Result<u64> {
        let mut n = 0;
        for p in &self.shared.products {
            n += self.shared.invalidate(p, pattern).await?;
        }
        Ok(n)
    }

    /// Human description: URLs, topology, faults, credentials, how to switch faults.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let topo = match self.topology() {
            Topology::Proxy => "proxy (viewer -> edge -> ALB -> origin)",
            Topology::CdnHost => {
                "cdn-host (pages from the app host; /s/, fonts and /download/resources from the CDN host)"
            }
        };
        s.push_str(&format!("cdnprobe lab — topology {topo}\n"));
        s.push_str("  edge: one tier of POP caches (no regional edge cache; Origin Shield when the behaviors' origin enables it)\n");
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        for p in &self.shared.products {
            let name = match p.product {
                Product::Jira => "Jira",
                Product::Confluence => "Confluence",
            };
            s.push_str(&format!("\n{name:<11} {}\n", p.user_url));
            match self.topology() {
                Topology::Proxy => s.push_str(&format!(
                    "  edge {}  ->  origin {} (edge-facing); app host directly: {}\n",
                    p.edge_url,
                    p.edge_origin,
                    self.app_url(p.product)
                )),
                Topology::CdnHost => s.push_str(&format!(
                    "  CDN host (edge) {}  ->  origin {} (edge-facing)\n",
                    p.edge_url, p.edge_origin
                )),
            }
        }
        let active = self.faults();
        s.push_str("\nFaults:");
        if active.is_empty() {
            s.push_str(" none\n");
        } else {
            s.push('\n');
            for f in &active {
                s.push_str(&format!("  {f}: {}\n", f.describe()));
            }
        }
        s.push_str("\nUsers (both products):\n");
        for u in self.users.iter() {
            s.push_str(&format!(
                "  {:<6} password {:<20} ({})\n",
                u.username, u.password, u.display_name
            ));
        }
        let b = self.behaviors(Product::Jira);
        s.push_str("\nEdge behaviors (Jira; Confluence the same with its context path):\n");
        for x in &b.behaviors {
            s.push_str(&format!(
                "  {:<34} TTL {}/{}/{}  cookies {}  query {}  headers {}\n",
                x.name,
                x.ttl.min,
                x.ttl.default,
                x.ttl.max,
                x.key.cookies.describe(),
                x.key.query.describe(),
                x.key.headers.describe()
            ));
        }
        // On the app host directly: the control answers must not go through (or be cached by)
        // the edge whose behavior they change. Any origin's endpoint switches the whole lab.
        let ctl = self.app_url(Product::Jira);
        let base = ctl.as_str().trim_end_matches('/');
        s.push_str(&format!(
            "\nSwitch faults at run time (any origin, through the edge or not):\n  curl -X POST {base}/__lab/fault/expires-now    (DELETE to switch off)\n  curl {base}/__lab/faults\n  known: {}\nEdge caches survive a switch, as CloudFront's survive a deploy; invalidate (per edge):\n  curl -X POST '{}__edge/invalidate?path=/*'\n",
            Fault::ALL.map(|f| f.name()).join(", "),
            self.edge_url(Product::Jira)
        ));
        s.push_str(&format!(
            "\nJourneys: CDNPROBE_JIRA_USER={u} CDNPROBE_JIRA_PASSWORD={p} CDNPROBE_CONFLUENCE_USER={u} CDNPROBE_CONFLUENCE_PASSWORD={p}\n",
            u = self.users[0].username,
            p = self.users[0].password
        ));
        s
    }

    /// Stop every server (graceful, bounded).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Ask for a graceful stop; the servers finish on their own (or with the runtime).
        let _ = self.stop.send(true);
    }
}

/// `cdnprobe lab`: start, print URLs and credentials, serve until Ctrl-C (or SIGTERM/SIGHUP, as
/// `docker stop` or a closed terminal send: the servers then stop gracefully too).
pub(crate) async fn serve_forever(opts: LabOptions) -> anyhow::Result<()> {
    crate::interrupt::install(crate::interrupt::OnClosedPipe::Default)
        .context("listening for SIGINT/SIGTERM/SIGHUP")?;
    let lab = start(opts).await?;
    println!("{}", lab.describe());
    println!("Serving until Ctrl-C.");
    let signal = crate::interrupt::requested().await;
    eprintln!("{signal}: stopping the lab...");
    lab.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_names_round_trip() {
        for t in [Topology::Proxy, Topology::CdnHost] {
            assert_eq!(t.to_string().parse::<Topology>(), Ok(t));
        }
        assert!("edge".parse::<Topology>().is_err());
    }

    #[test]
    fn context_paths() {
        let mut o = LabOptions::default();
        assert_eq!(o.context_path_for(Product::Jira), "");
        o.context_path = Some("jira/".into());
        assert_eq!(o.context_path_for(Product::Confluence), "/jira");
        o.context_path = Some("auto".into());
        assert_eq!(o.context_path_for(Product::Confluence), "/confluence");
        o.context_path = Some("/".into());
        assert_eq!(o.context_path_for(Product::Jira), "");
    }
}
