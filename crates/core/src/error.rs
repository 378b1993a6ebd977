//! Shared error plumbing.

/// A boxed error from a backend (Redis, HTTP, SQL), carried by the contract errors without
/// making `sm-core` depend on the backend's crate.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
