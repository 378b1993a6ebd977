//! End-to-end scenarios across the workspace crates live in `tests/it` (test binary `e2e`).
//!
//! Every scenario runs the whole stack for real: alerts and commands on Redis queues
//! (`sm-redis-queue`), the Redis channel locker (`sm-redis-lock`), a SQLite store in a temporary
//! directory (`sm-store`), the Slack client (`sm-slack`) talking to the loopback Slack emulator
//! (`sm-slack-emulator`), and one or two `sm-manager` instances. Assertions are made on the
//! messages the emulator holds.
//!
//! Run them with `cargo test -p sm-tests` (a Redis must be reachable at `REDIS_URL`, default
//! `redis://127.0.0.1:6379`).
//!
//! Dev-dependency not listed in `[workspace.dependencies]`: `metrics-util` (feature `debugging`),
//! whose in-memory recorder lets the invalid-alert scenario read the manager's drop counter.
