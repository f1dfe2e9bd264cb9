//! Several RPC endpoints behind one run: a set for reads and a set for sends, each endpoint
//! with its own breaker, health probe, request cap and figures.
//!
//! - **spread**: each sender is assigned a send endpoint, sticky and balanced (the healthy
//!   endpoint holding the fewest senders), so its nonces stay in one mempool;
//! - **failover**: every sender uses the first healthy endpoint in the order given, and
//!   comes back to the primary when it recovers;
//! - **broadcast**: every signed transaction goes to every healthy send endpoint; the first
//!   acceptance counts, the others are counted as duplicates.
//!
//! An endpoint is healthy while its breaker is closed. The breaker counts what the node
//! does, not what it says: no answer, a broken connection, an HTTP 5xx fail; a JSON-RPC
//! refusal is an answer. A sender whose endpoint turns unhealthy moves at its next request;
//! the engine then reconciles it against the new endpoint's pending view (its mempool is
//! another) before it takes a new nonce. Probes (`eth_blockNumber`) keep the state of
//! endpoints that carry no traffic current, so a recovered primary is seen.

mod config;
mod health;
mod member;
mod nonces;
mod router;
mod transport;

pub use self::config::{EndpointStrategy, Endpoints, ParseStrategyError};
pub(crate) use self::{
    member::{Endpoint, Kind},
    nonces::RoutedNonces,
    router::Router,
    transport::Route,
};
