//! alloy integration: a provider-backed [`NonceSource`](crate::NonceSource) and an adapter for
//! alloy's nonce filler.

mod filler;
mod method;
mod source;

pub use filler::AlloyNonceManager;
pub use source::ProviderSource;
