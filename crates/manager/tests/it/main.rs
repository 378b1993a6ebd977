//! Integration tests of sm-manager: the runtime over in-memory queues, the sm-store memory store,
//! a recording Slack client and (for multi-instance safety) the Redis channel locker.

mod alerts;
mod commands;
mod conflicts;
mod emulator;
mod periodic;
mod startup;
mod support;
mod two_instances;
