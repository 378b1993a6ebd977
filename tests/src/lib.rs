//! End-to-end scenarios across the workspace crates live in `tests/`.
