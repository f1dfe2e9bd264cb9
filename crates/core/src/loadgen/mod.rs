//! The open-loop engine: a pacer sends at the intended times of a rate profile, whatever the
//! node does; confirmations come from a block scan. See [`LoadGen`].

mod background;
mod builder;
mod deliver;
mod gate;
mod ledger;
mod limit;
mod pacer;
mod preconf;
mod prepare;
mod receipts;
mod repair;
mod report;
mod run;
mod send;
mod sink;
mod sizing;
mod tracker;
mod watch;

pub(crate) use self::ledger::DropReason;
pub use self::{
    builder::{LoadGen, LoadGenBuilder, MAX_PRESIGNED},
    preconf::{PreconfError, PreconfEvent, PreconfSource, PreconfStatus, WsPreconfSource},
};
