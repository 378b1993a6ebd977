//! Integration tests of the Slack emulator over real loopback HTTP and WebSocket connections.

mod binary;
mod config;
mod control;
mod page;
mod socket_mode;
mod support;
mod web_api;
