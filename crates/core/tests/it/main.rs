//! Integration tests of sm-core: wire compatibility, validation rules, cleaning properties and the in-memory queue.

mod clean_props;
mod fixtures;
mod memory_queue;
mod validation;
