//! Integration tests of spam-nonce: reservations against a reference model, under concurrency,
//! and against a real anvil.

#[cfg(feature = "alloy")]
mod anvil;
mod concurrency;
mod model;
