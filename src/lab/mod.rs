//! TODO(skeleton): filled in by its issue.

pub mod edge;
