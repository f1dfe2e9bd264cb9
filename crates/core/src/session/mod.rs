//! The run session under both engines: [`Session::open`] checks the settings and the node,
//! syncs nonces and fees and builds the wallet pool before anything is sent; at the end the
//! session settles nonce gaps, builds the [`Report`](crate::Report) and closes the run row.
//! The engines only decide *when* to send.

mod blocks;
mod clock;
mod config;
mod error;
mod finish;
mod open;
#[cfg(feature = "store")]
mod persist;
mod progress;
mod reconcile;
mod settle;
mod top_up;

#[cfg(feature = "store")]
pub(crate) use self::clock::UnixClock;
pub(crate) use self::{
    blocks::{BlockBook, BlockLite, BlockSeen},
    config::session_setters,
    finish::Running,
    progress::{Feed, spawn_progress},
    reconcile::{Fate, Reconciled, Reconciler, Unsettled},
    top_up::Parking,
};
pub use self::{
    config::{MAX_RUN_DURATION, SessionConfig},
    error::{StartError, StartErrorKind},
    open::Session,
    progress::{ChainProgress, Progress, ProgressHook, StoreProgress, TaskProgress},
    top_up::TopUp,
};
