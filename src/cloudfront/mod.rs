//! The one model of CloudFront: behaviors, path patterns, TTL rules and the cache key.
//!
//! The lab's edge serves with it and classification/diagnosis explain captures with it, so the
//! tool can never disagree with itself about what CloudFront would do. Everything here is pure.
//!
//! - `pattern`: path-pattern matching;
//! - `behavior`: `Behavior`, `BehaviorSet` (ordered, first match wins, default last), key and
//!   forwarding policies, the seed's default set;
//! - `ttl`: whether and how long a response is stored, and which rule said so;
//! - `key`: the cache key and the cookie/query/header selection it is built from;
//! - `compress`: `Accept-Encoding` normalisation and which responses the edge compresses (gzip, br);
//! - `managed`: AWS-managed cache and origin request policies;
//! - `load`: TOML behaviors files and `get-distribution-config` JSON.

pub mod behavior;
pub mod compress;
pub mod key;
pub mod load;
pub mod managed;
pub mod pattern;
pub mod ttl;

pub use behavior::{
    ALL_METHODS, Behavior, BehaviorSet, CookieSet, Expect, ForwardPolicy, GET_HEAD, HeaderSet,
    KeyPolicy, NameSet, QuerySet, TtlSettings,
};
pub use key::cache_key;
pub use pattern::matches;
pub use ttl::{StoreDecision, TtlRule, decide, decide_for};
