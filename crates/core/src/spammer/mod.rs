//! The closed-loop engine: workers lease a wallet, run a task picked by weight, record,
//! release. See [`Spammer`].

mod builder;
#[cfg(feature = "proxy")]
mod egress;
#[cfg(not(feature = "proxy"))]
#[path = "no_egress.rs"]
mod egress;
mod run;
mod sink;
mod watch;
mod worker;

pub use self::builder::{Spammer, SpammerBuilder, Stop, TaskEvent, TaskHook};
