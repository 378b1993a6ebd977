//! Integration tests of sm-store: the conformance suite on every backend, and backend-specific checks.

mod cache;
mod conformance;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
