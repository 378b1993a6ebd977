//! Integration tests of sm-webhooks against real HTTP servers on loopback.

mod concurrency;
mod delivery;
mod policy;
mod registry;
mod server;
mod signing;
