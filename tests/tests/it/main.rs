//! End-to-end scenarios: real Redis queues and locker, a SQLite store, the Slack emulator and the
//! real Slack client, with one or two managers running.

mod periodic;
mod posts;
mod robustness;
mod support;
