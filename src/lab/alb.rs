//! The load balancer in front of the origin, as far as caching cares: with target-group
//! stickiness on, an AWS ALB sets `AWSALB` (and `AWSALBCORS`, for cross-site requests) on every
//! response, with a new value each time. A CDN behavior that forwards all cookies then sees a new
//! cache key on every request and never hits (the seed thread's central finding).
//!
//! Synchrony has its own target group behind a `/synchrony/*` listener rule (seeds/003), and
//! needs stickiness there: a bayeux client's editing session lives on the node it started on. The
//! lab has one origin process per product, so "which node" is the ALB's routing decision, made
//! here: with stickiness the socket reaches the node holding the session; without
//! (`synchrony-no-stickiness`) it reaches another node — always, in the lab, so that the failure
//! is reproducible rather than a coin flip between nodes.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, header};

use super::faults::{Fault, Faults};

/// Add the ALB's stickiness cookies when `alb-stickiness` is on.
pub(crate) fn apply(faults: &Faults, headers: &mut HeaderMap) {
    if !faults.is_on(Fault::AlbStickiness) {
        return;
    }
    for c in stickiness_cookies(SystemTime::now()) {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
}

/// Where the ALB sends a Synchrony request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynchronyNode {
    /// The node that holds the user's editing session (stickiness honoured).
    HoldsSession,
    /// Another node, named as Synchrony would log it.
    Other(&'static str),
}

/// The node a Synchrony request lands on, given the faults.
pub(crate) fn synchrony_node(faults: &Faults) -> SynchronyNode {
    if faults.is_on(Fault::SynchronyNoStickiness) {
        SynchronyNode::Other("synchrony-node-2")
    } else {
        SynchronyNode::HoldsSession
    }
}

/// `AWSALB=<rotating>; Expires=<+7 days>; Path=/` and its `SameSite=None; Secure` twin.
pub(crate) fn stickiness_cookies(now: SystemTime) -> [String; 2] {
    let value = rotating_value();
    let expires = httpdate::fmt_http_date(now + Duration::from_secs(7 * 24 * 3600));
    [
        format!("AWSALB={value}; Expires={expires}; Path=/"),
        format!("AWSALBCORS={value}; Expires={expires}; Path=/; SameSite=None; Secure"),
    ]
}

/// A base64-looking opaque value like the ALB's (it encodes the target and an expiry).
fn rotating_value() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..128)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_rotate_and_look_like_the_albs() {
        let now = SystemTime::now();
        let a = stickiness_cookies(now);
        let b = stickiness_cookies(now);
        assert!(a[0].starts_with("AWSALB="));
        assert!(a[0].ends_with("; Path=/"));
        assert!(a[0].contains("; Expires="));
        assert!(a[1].starts_with("AWSALBCORS="));
        assert!(a[1].ends_with("; SameSite=None; Secure"));
        assert_ne!(a[0], b[0], "a new value on every response");
    }

    #[test]
    fn synchrony_lands_on_another_node_without_stickiness() {
        let f = Faults::default();
        assert_eq!(synchrony_node(&f), SynchronyNode::HoldsSession);
        f.set(Fault::SynchronyNoStickiness, true);
        assert!(matches!(synchrony_node(&f), SynchronyNode::Other(_)));
    }

    #[test]
    fn only_when_the_fault_is_on() {
        let f = Faults::default();
        let mut h = HeaderMap::new();
        apply(&f, &mut h);
        assert!(h.get(header::SET_COOKIE).is_none());
        f.set(Fault::AlbStickiness, true);
        apply(&f, &mut h);
        assert_eq!(h.get_all(header::SET_COOKIE).iter().count(), 2);
    }
}
