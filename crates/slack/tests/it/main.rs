//! Integration tests of sm-slack: the client against sm-slack-emulator, the shared rate-limit gate on
//! the test Redis, rendering snapshots, and the reconcile decisions as tables.

mod decisions;
mod gate;
mod manager_client;
mod methods;
mod render;
mod retries;
mod support;
