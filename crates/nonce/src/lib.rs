#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloy")]
mod alloy;
mod error;
mod manager;
mod reservation;
mod source;
mod state;

#[cfg(feature = "alloy")]
pub use crate::alloy::{AlloyNonceManager, ProviderSource};
pub use crate::{
    error::{Error, SourceError},
    manager::{NonceManager, SenderSnapshot},
    reservation::Reservation,
    source::{MemorySource, NonceSource},
    state::Resolution,
};
