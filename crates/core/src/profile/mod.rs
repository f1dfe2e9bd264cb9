//! What a run offers the node: the rate profile and the way signed transactions are submitted.
//! Below both engines and the report.

mod rate;
mod strategy;

pub use self::{
    rate::{Rate, RateError, Schedule, Step},
    strategy::SendStrategy,
};
