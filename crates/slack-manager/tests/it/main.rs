//! Integration tests of the `slack-manager` binary, started as a child process.
//!
//! Each test runs its own processes on free ports with their own data directories; tests that use
//! Redis give every process of the test one fresh key prefix (`SM_REDIS_KEY_PREFIX`), and the
//! PostgreSQL test a fresh schema (`SM_DATABASE_SCHEMA`) that it drops at the end. Processes are
//! killed when the test ends, passing or not.
//!
//! - [`embedded`]: no configuration at all → an alert over HTTP becomes a post on the embedded
//!   Slack emulator.
//! - [`validation`]: the endpoints' error answers, with the messages of the REST API spec.
//! - [`rate_limit`]: a burst over the per-channel limit is answered with 429 and `Ratelimit-*`.
//! - [`prometheus`]: an Alertmanager webhook becomes the right alerts and posts.
//! - [`shutdown`]: SIGTERM to the manager while alerts flow loses nothing (Redis queues).
//! - [`split`]: an API-only and a manager-only process sharing Redis and PostgreSQL.
//! - [`cli`]: `--print-config` masks secrets; `send-alert` reaches a running API.

mod cli;
mod embedded;
mod prometheus;
mod rate_limit;
mod settings;
mod shutdown;
mod split;
mod support;
mod validation;
