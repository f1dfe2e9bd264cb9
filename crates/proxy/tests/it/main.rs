//! Integration tests of spam-proxy: selection and bans against a reference model, and the pool
//! against real proxies (tinyproxy, microsocks) in front of a real anvil.

mod model;
#[cfg(feature = "alloy")]
mod proxies;
