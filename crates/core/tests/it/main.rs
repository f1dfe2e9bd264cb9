//! Integration tests of spam-core: the engines, pool, breaker, retries, fees, wallets and
//! reports, against models, in-process fault injectors and real anvil nodes.

mod support;

mod breaker_anvil;
mod breaker_faults;
mod breaker_model;
mod breaker_policy;
mod embedding;
mod endpoints;
mod error_classes;
mod error_sources;
mod faults_loadgen;
mod faults_spammer;
mod fees_anvil;
mod loadgen_anvil;
mod pool_fairness;
mod pool_model;
mod pool_stress;
mod pool_wakeups;
mod registry;
#[cfg(feature = "html")]
mod report_html;
mod report_output;
mod report_props;
mod report_thresholds;
mod send_retry;
mod session;
mod shards;
mod spammer_anvil;
mod spammer_proxies;
mod store_reports;
mod task_mix;
mod wallet_funding;
mod wallet_sources;
