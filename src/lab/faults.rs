//! The seed's real failures, as switches on the lab.
//!
//! Each `Fault` reproduces one way a CloudFront-fronted Jira/Confluence goes wrong in the community
//! thread (DESIGN.md): the origin's headers (`expires-now`, `no-cache-static`), a load balancer's
//! stickiness cookie (`alb-stickiness`), the edge failing to reach the origin (`font-502`), the
//! distribution's behaviors (`cors-missing`, `private-cached`) or the pages' URLs (`bypass-static`,
//! `query-buster`). Two more break Confluence's Synchrony websocket rather than caching, the
//! way the ALB guide (seeds/003) warns: a behavior that does not pass the upgrade
//! (`websocket-blocked`) and an ALB without stickiness for Synchrony (`synchrony-no-stickiness`).
//! They are switchable at run time so that a demo (or a test) can show the same page before and
//! after.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use crate::cloudfront::behavior::{ALL_METHODS, ForwardPolicy, KeyPolicy};
use crate::cloudfront::{Behavior, BehaviorSet, NameSet, TtlSettings};

/// One reproducible failure. Names (`Display`/`FromStr`) are the CLI's `--fault NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The origin sends `Expires` equal to `Date` and no `max-age` on `/s/`: stale on arrival, and
    /// `/s/*` forwards cookies, so an edge with MinTTL 0 cannot revalidate it: always a Miss.
    ExpiresNow,
    /// An ALB with stickiness in front of the origin sets a new `AWSALB`/`AWSALBCORS` on every
    /// response; with `/s/*` forwarding all cookies every request has a new cache key.
    AlbStickiness,
    /// The origin sends `Cache-Control: no-cache` on `/s/`.
    NoCacheStatic,
    /// The origin drops the connection on font requests: the edge answers 502 `Error from
    /// cloudfront` (what a TLS or port problem between edge and origin looks like to a browser).
    Font502,
    /// The font behavior uses a cache policy without `Origin` (and no origin request policy): the
    /// origin never sees it and never answers with `Access-Control-Allow-Origin`. Only visible
    /// cross-origin (the `cdn-host` topology).
    CorsMissing,
    /// The font behavior is legacy (`ForwardedValues`) and does not whitelist `Origin`: CloudFront
    /// still forwards `Origin`, the origin echoes it in `Access-Control-Allow-Origin`, and the
    /// first requester's answer is cached for everyone. Another site sharing the distribution
    /// (the other product's origin) fetched the fonts first, so this site's pages are refused.
    /// Only visible cross-origin (`cdn-host`).
    CorsFirstOrigin,
    /// The default behavior caches authenticated HTML/REST: MinTTL > 0, no cookies in the cache
    /// key, all cookies forwarded by an origin request policy. User A's pages are served to B.
    PrivateCached,
    /// Pages reference static resources on the app host directly instead of through the edge.
    BypassStatic,
    /// Pages add a changing `_=<n>` query parameter to every `/s/` URL.
    QueryBuster,
    /// A `/synchrony/*` behavior that does not forward `Sec-WebSocket-Key`/`-Version`: the
    /// origin gets a plain GET and refuses it (400), so the editor's websocket fails.
    WebsocketBlocked,
    /// The ALB sends Synchrony's websocket to a node without the editing session: the socket
    /// opens (101), the bayeux handshake is refused (`402::Unknown client`) and closed.
    SynchronyNoStickiness,
}

impl Fault {
    pub const ALL: [Fault; 11] = [
        Fault::ExpiresNow,
        Fault::AlbStickiness,
        Fault::NoCacheStatic,
        Fault::Font502,
        Fault::CorsMissing,
        Fault::CorsFirstOrigin,
        Fault::PrivateCached,
        Fault::BypassStatic,
        Fault::QueryBuster,
        Fault::WebsocketBlocked,
        Fault::SynchronyNoStickiness,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::ExpiresNow => "expires-now",
            Fault::AlbStickiness => "alb-stickiness",
            Fault::NoCacheStatic => "no-cache-static",
            Fault::Font502 => "font-502",
            Fault::CorsMissing => "cors-missing",
            Fault::CorsFirstOrigin => "cors-first-origin",
            Fault::PrivateCached => "private-cached",
            Fault::BypassStatic => "bypass-static",
            Fault::QueryBuster => "query-buster",
            Fault::WebsocketBlocked => "websocket-blocked",
            Fault::SynchronyNoStickiness => "synchrony-no-stickiness",
        }
    }

    /// One line: what the fault does and what it looks like.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::ExpiresNow => {
                "origin sends Expires = Date and no max-age on /s/: stale on arrival, and /s/* forwards cookies so the edge cannot revalidate them (always Miss)"
            }
            Fault::AlbStickiness => {
                "an ALB sets a rotating AWSALB/AWSALBCORS cookie on every response: /s/* forwards all cookies, so every request has a new cache key (always Miss)"
            }
            Fault::NoCacheStatic => {
                "origin sends Cache-Control: no-cache on /s/: not stored with MinTTL 0 (always Miss)"
            }
            Fault::Font502 => {
                "origin drops the connection on font requests: the edge answers 502 Error from cloudfront"
            }
            Fault::CorsMissing => {
                "the font behavior's cache policy does not include Origin: the origin never sees it, no Access-Control-Allow-Origin, cross-origin fonts are blocked"
            }
            Fault::CorsFirstOrigin => {
                "the font behavior (legacy) does not key on Origin but still forwards it: the first requester's Access-Control-Allow-Origin (another site's) is cached and served to this site, whose fonts are blocked"
            }
            Fault::PrivateCached => {
                "the default behavior caches authenticated pages (MinTTL > 0, no cookies in the key, cookies forwarded): one user's dashboard is served to another"
            }
            Fault::BypassStatic => {
                "pages reference /s/ and /download/resources on the origin host directly: static traffic never touches the edge"
            }
            Fault::QueryBuster => {
                "pages add a changing _=<n> query parameter to every /s/ URL: every load is a new cache key"
            }
            Fault::WebsocketBlocked => {
                "a /synchrony/* behavior forwards cookies and query strings but not Sec-WebSocket-Key/-Version: the origin refuses the plain GET (400), the editor's websocket fails and falls back to XHR"
            }
            Fault::SynchronyNoStickiness => {
                "the ALB has no stickiness on the Synchrony target group: the editor's websocket opens (101) on a node without the editing session, which refuses the bayeux handshake and closes it"
            }
        }
    }

    /// Does switching this fault change the edge's behaviors (rather than the origin's answers)?
    pub(crate) fn changes_behaviors(self) -> bool {
        matches!(
            self,
            Fault::CorsMissing
                | Fault::CorsFirstOrigin
                | Fault::PrivateCached
                | Fault::WebsocketBlocked
        )
    }

    /// Only visible when fonts are fetched cross-origin (`cdn-host`).
    pub(crate) fn needs_cdn_host(self) -> bool {
        matches!(self, Fault::CorsMissing | Fault::CorsFirstOrigin)
    }

    /// Only visible when pages (and so the editor's websocket) go through the edge (`proxy`).
    pub(crate) fn needs_proxy(self) -> bool {
        matches!(self, Fault::WebsocketBlocked)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown fault name; lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault `{0}` (known: {known})", known = Fault::ALL.map(|f| f.name()).join(", "))]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Fault::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(t) || f.name().replace('-', "_") == t)
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

/// The set of active faults, shared by the origins, their ALB layer and the lab.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<RwLock<BTreeSet<Fault>>>);

impl Faults {
    pub fn new(initial: impl IntoIterator<Item = Fault>) -> Self {
        Faults(Arc::new(RwLock::new(initial.into_iter().collect())))
    }

    pub(crate) fn is_on(&self, f: Fault) -> bool {
        self.0.read().expect("faults lock").contains(&f)
    }

    /// Switch `f`; returns whether anything changed.
    pub fn set(&self, f: Fault, on: bool) -> bool {
        let mut set = self.0.write().expect("faults lock");
        if on { set.insert(f) } else { set.remove(&f) }
    }

    pub fn active(&self) -> Vec<Fault> {
        self.0
            .read()
            .expect("faults lock")
            .iter()
            .copied()
            .collect()
    }
}

/// What switching a fault did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchReport {
    /// The fault was not already in the requested state.
    pub changed: bool,
    /// What else happened (behaviors swapped, caches invalidated, caveats).
    pub notes: Vec<String>,
}

type SwitchFn =
    dyn Fn(Fault, bool) -> Pin<Box<dyn Future<Output = SwitchReport> + Send>> + Send + Sync;

/// How a fault is switched at run time: the lab's own procedure (flip the set, swap the edge's
/// behaviors, invalidate its caches), callable from the origins' control endpoint.
#[derive(Clone)]
pub struct FaultSwitch(Arc<SwitchFn>);

impl FaultSwitch {
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(Fault, bool) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = SwitchReport> + Send + 'static,
    {
        FaultSwitch(Arc::new(move |fault, on| Box::pin(f(fault, on))))
    }

    /// A switch that only flips the set (an origin on its own, without an edge).
    pub fn plain(faults: Faults) -> Self {
        FaultSwitch::new(move |fault, on| {
            let changed = faults.set(fault, on);
            async move {
                SwitchReport {
                    changed,
                    notes: Vec::new(),
                }
            }
        })
    }

    pub async fn switch(&self, fault: Fault, on: bool) -> SwitchReport {
        (self.0)(fault, on).await
    }
}

impl fmt::Debug for FaultSwitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FaultSwitch")
    }
}

/// The behaviors the edge should run with, given the configured ones and the active faults.
///
/// `font_path` is a font URL path the lab's pages use (with context path), so that the behavior
/// which really serves fonts is the one that loses `Origin`.
pub(crate) fn behaviors_with_faults(
    base: &BehaviorSet,
    faults: &[Fault],
    font_path: &str,
) -> BehaviorSet {
    let mut set = base.clone();
    if faults.contains(&Fault::CorsMissing) {
        let (idx, _) = set.matching(font_path);
        if let Some(b) = set.behaviors.get_mut(idx) {
            strip_header(&mut b.key.headers, "Origin");
            strip_header(&mut b.origin_forward.headers, "Origin");
            // A cache policy forwards only what it (and an origin request policy) lists: a legacy
            // behavior would still send Origin (that is `cors-first-origin`).
            b.cache_policy = Some("lab-cors-missing (cache policy without Origin)".into());
            b.origin_request_policy = None;
            b.warnings.push(
                "lab fault cors-missing: a cache policy without Origin, no origin request policy"
                    .into(),
            );
        }
    } else if faults.contains(&Fault::CorsFirstOrigin) {
        let (idx, _) = set.matching(font_path);
        if let Some(b) = set.behaviors.get_mut(idx) {
            strip_header(&mut b.key.headers, "Origin");
            strip_header(&mut b.origin_forward.headers, "Origin");
            b.warnings.push(
                "lab fault cors-first-origin: Origin removed from the whitelist (still forwarded: legacy)"
                    .into(),
            );
        }
    }
    if faults.contains(&Fault::PrivateCached)
        && let Some(b) = set.behaviors.iter_mut().find(|b| b.is_default)
    {
        // A custom cache policy that caches everything for at least a minute and keys on no cookie,
        // plus the managed AllViewer origin request policy (cookies reach the origin, so the
        // pages are personal, yet every user shares one cache entry).
        b.ttl = TtlSettings::new(60, 300, 3600);
        b.key.cookies = NameSet::None;
        b.key.headers = NameSet::None;
        b.key.query = NameSet::All;
        b.origin_forward.cookies = NameSet::All;
        b.origin_forward.query = NameSet::All;
        b.origin_forward.headers = NameSet::All;
        b.cache_policy = Some("lab-private-cached (MinTTL 60, no cookies)".into());
        b.origin_request_policy = Some("AllViewer".into());
        b.warnings.push(
            "lab fault private-cached: authenticated pages cached without cookies in the key"
                .into(),
        );
    }
    if faults.contains(&Fault::WebsocketBlocked) {
        block_websockets(&mut set);
    }
    set
}

/// `websocket-blocked`: the behavior serving Synchrony stops passing the upgrade. If only the
/// default serves it (the seed), the admin added a `/synchrony/*` behavior above it — the usual
/// way in: CachingDisabled plus an origin request policy forwarding cookies, query strings and
/// `Origin`, but not the `Sec-WebSocket-*` headers.
fn block_websockets(set: &mut BehaviorSet) {
    let bayeux = format!("{}{}", set.context_path, super::synchrony::BAYEUX_PATH);
    let (idx, b) = set.matching(&bayeux);
    let idx = if b.is_default || idx >= set.behaviors.len() {
        let at = set
            .behaviors
            .iter()
            .position(|b| b.is_default)
            .unwrap_or(set.behaviors.len());
        let fresh = Behavior::legacy(
            "/synchrony/*",
            &ALL_METHODS,
            TtlSettings::new(0, 0, 0),
            KeyPolicy::none(),
        );
        set.behaviors.insert(at, fresh);
        at
    } else {
        idx
    };
    let b = &mut set.behaviors[idx];
    b.ttl = TtlSettings::new(0, 0, 0);
    b.key = KeyPolicy::none();
    b.origin_forward = ForwardPolicy {
        cookies: NameSet::All,
        query: NameSet::All,
        headers: NameSet::Whitelist(vec!["Origin".into()]),
    };
    b.cache_policy = Some("CachingDisabled".into());
    b.origin_request_policy =
        Some("lab-websocket-blocked (cookies, query strings, Origin; no Sec-WebSocket-*)".into());
    b.warnings
        .push("lab fault websocket-blocked: Sec-WebSocket-Key/-Version not forwarded".into());
    *set = set.clone().relabel();
}

fn strip_header(set: &mut NameSet, name: &str) {
    match set {
        NameSet::Whitelist(names) => names.retain(|n| !n.eq_ignore_ascii_case(name)),
        // `All` forwards Origin by definition; a fault cannot take it away without inventing a
        // whitelist, so it stays (and the fault is then invisible, as it would be in reality).
        NameSet::All | NameSet::None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Fault::ALL {
            assert_eq!(f.to_string().parse::<Fault>(), Ok(f));
        }
        assert_eq!("expires-now".parse::<Fault>(), Ok(Fault::ExpiresNow));
        assert_eq!("alb-stickiness".parse::<Fault>(), Ok(Fault::AlbStickiness));
        assert_eq!("no-cache-static".parse::<Fault>(), Ok(Fault::NoCacheStatic));
        assert_eq!("font-502".parse::<Fault>(), Ok(Fault::Font502));
        assert_eq!("cors-missing".parse::<Fault>(), Ok(Fault::CorsMissing));
        assert_eq!(
            "cors-first-origin".parse::<Fault>(),
            Ok(Fault::CorsFirstOrigin)
        );
        assert_eq!("private-cached".parse::<Fault>(), Ok(Fault::PrivateCached));
        assert_eq!("bypass-static".parse::<Fault>(), Ok(Fault::BypassStatic));
        assert_eq!("query-buster".parse::<Fault>(), Ok(Fault::QueryBuster));
        assert_eq!(
            "websocket-blocked".parse::<Fault>(),
            Ok(Fault::WebsocketBlocked)
        );
        assert_eq!(
            "synchrony-no-stickiness".parse::<Fault>(),
            Ok(Fault::SynchronyNoStickiness)
        );
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = "expires".parse::<Fault>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown fault `expires`"), "{msg}");
        assert!(msg.contains("alb-stickiness"), "{msg}");
    }

    #[test]
    fn shared_set_switches() {
        let f = Faults::new([Fault::ExpiresNow]);
        let g = f.clone();
        assert!(g.is_on(Fault::ExpiresNow));
        assert!(f.set(Fault::Font502, true));
        assert!(!f.set(Fault::Font502, true), "already on");
        assert!(g.is_on(Fault::Font502));
        assert!(g.set(Fault::ExpiresNow, false));
        assert_eq!(f.active(), vec![Fault::Font502]);
    }

    const FONT: &str = "/s/x-CDN/en_US/1/y/1.0/_/download/resources/com.atlassian.auiplugin:aui-fonts/adgs-icons.woff";

    #[test]
    fn cors_missing_removes_origin_from_the_font_behavior_only() {
        let base = BehaviorSet::seed_default();
        let (idx, b) = base.matching(FONT);
        assert!(b.key.headers.contains_header("Origin"));
        let set = behaviors_with_faults(&base, &[Fault::CorsMissing], FONT);
        assert!(!set.behaviors[idx].key.headers.contains_header("Origin"));
        assert!(
            !set.behaviors[idx]
                .origin_forward
                .headers
                .contains_header("Origin")
        );
        let others = set
            .behaviors
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != idx)
            .all(|(i, b)| b == &base.behaviors[i]);
        assert!(others, "only the font behavior changes");
        assert_eq!(behaviors_with_faults(&base, &[], FONT), base);
        assert!(
            !set.behaviors[idx].forwards_header("Origin"),
            "cache policy"
        );
    }

    #[test]
    fn cors_first_origin_keeps_origin_forwarded_but_out_of_the_key() {
        let base = BehaviorSet::seed_default();
        let (idx, _) = base.matching(FONT);
        let set = behaviors_with_faults(&base, &[Fault::CorsFirstOrigin], FONT);
        let b = &set.behaviors[idx];
        assert!(!b.key.headers.contains_header("Origin"));
        assert!(b.is_legacy());
        assert!(b.forwards_header("Origin"), "legacy: forwarded by default");
    }

    #[test]
    fn private_cached_makes_the_default_behavior_store_without_cookies() {
        let base = BehaviorSet::seed_default();
        let set = behaviors_with_faults(&base, &[Fault::PrivateCached], FONT);
        let d = set.behaviors.iter().find(|b| b.is_default).unwrap();
        assert!(d.ttl.min > 0);
        assert!(d.can_store());
        assert!(d.key.cookies.is_none());
        assert!(d.origin_forward.cookies.contains("JSESSIONID"));
        let base_default = base.behaviors.iter().find(|b| b.is_default).unwrap();
        assert!(
            !base_default.can_store(),
            "the seed's default caches nothing"
        );
    }

    #[test]
    fn websocket_blocked_adds_a_synchrony_behavior_that_drops_the_handshake_headers() {
        let base = BehaviorSet::seed_default().with_context_path("/confluence");
        let bayeux = "/confluence/synchrony/v1/bayeux-sync1";
        assert!(base.matching(bayeux).1.forwards_websockets());
        let set = behaviors_with_faults(&base, &[Fault::WebsocketBlocked], FONT);
        assert_eq!(set.behaviors.len(), base.behaviors.len() + 1);
        let (idx, b) = set.matching(bayeux);
        assert_eq!(b.name, "#7 /confluence/synchrony/*");
        assert!(!b.forwards_websockets());
        assert!(!b.can_store(), "CachingDisabled");
        assert!(b.allows("POST"));
        assert!(set.behaviors[idx + 1].is_default);
        assert!(set.behaviors.last().unwrap().forwards_websockets());
        // A distribution that already has a /synchrony/* behavior: that one loses the headers.
        let again = behaviors_with_faults(&set, &[Fault::WebsocketBlocked], FONT);
        assert_eq!(again.behaviors.len(), set.behaviors.len());
        let mut fixed = set.clone();
        fixed.behaviors[idx].origin_forward.headers = NameSet::All;
        assert!(fixed.behaviors[idx].forwards_websockets());
        let broken = behaviors_with_faults(&fixed, &[Fault::WebsocketBlocked], FONT);
        assert!(!broken.behaviors[idx].forwards_websockets());
    }

    #[test]
    fn origin_side_faults_leave_behaviors_alone() {
        let base = BehaviorSet::seed_default();
        let origin_side: Vec<Fault> = Fault::ALL
            .into_iter()
            .filter(|f| !f.changes_behaviors())
            .collect();
        assert_eq!(behaviors_with_faults(&base, &origin_side, FONT), base);
    }
}
