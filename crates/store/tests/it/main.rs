//! Integration tests of spam-store: record round trips, the buffered writer, report reads, and
//! the SQLite and PostgreSQL backends.

mod common;
mod losses;
mod postgres;
mod roundtrip;
mod shards;
mod sqlite;
mod statuses;
mod summary;
mod writer;
