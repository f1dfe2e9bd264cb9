#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloy")]
mod alloy;
mod check;
mod clock;
mod config;
mod entry;
mod error;
mod failure;
mod health;
mod pool;
mod proxy_url;
mod route;
mod select;
mod stats;
#[cfg(feature = "test-utils")]
pub mod testing;

#[cfg(feature = "alloy")]
pub use crate::alloy::{ReportLayer, ReportService};
pub use crate::{
    check::HealthTask,
    clock::{Clock, ManualClock, SystemClock},
    config::{PoolConfig, Strategy},
    entry::ProxyId,
    error::{Error, ParseError},
    failure::{Failure, FailureKind},
    health::{CheckResult, Health, Probe},
    pool::ProxyPool,
    proxy_url::{ProxyUrl, Scheme, load_list, parse_list},
    route::Route,
    stats::{BanInfo, ProxyStats},
};
/// The reqwest this crate builds its clients with (the same major version alloy uses).
pub use reqwest;
