//! Integration tests of the `spammer` binary, run as a child process: bad input, every
//! command, config files, logs, live output, reports (JSON, store, HTML in a browser), senders
//! and proxies.

mod common;

mod bad_input;
mod commands;
mod config;
mod endpoints;
mod funding;
mod html_report;
mod limits;
mod live;
mod logs;
mod metrics;
mod proxies_check;
mod reports;
mod scenarios;
mod senders;
mod shards;
