//! Classification: pure readings of one `Exchange` — which cache answered and how
//! ([`cache_status`]), what kind of asset it is ([`asset`]), and its CORS outcome ([`cors`]).
//!
//! Each reading depends only on the exchange, so it runs the same on a live capture, a HAR import
//! or a repeat load, and is unit tested on header fixtures.

pub mod asset;
pub(crate) mod cache_status;
pub mod cors;
pub mod edge;
pub mod record;

pub use asset::{AssetKind, asset_kind, is_dynamic, is_static};
pub use cache_status::{CacheOutcome, CacheStatus, Provider, parse as parse_cache_status};
pub use cors::{CorsOutcome, cors_outcome};
pub use edge::{Distribution, EdgeTreatment, Serving};
pub use record::{Classification, Record, Served};
