//! What the node under load is: its execution layer and what it supports, and the guard that
//! refuses public mainnets. Below both engines and the report.

mod el;
mod guard;

pub use self::{
    el::{Capabilities, ExecutionLayer, UnknownExecutionLayer},
    guard::{
        GuardError, KNOWN_MAINNETS, MainnetPolicy, MainnetRefused, check_chain_id, mainnet_name,
        read_chain_id,
    },
};
