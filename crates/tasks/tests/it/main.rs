//! Integration tests of spam-tasks: the committed contract artifacts, and every task of the
//! catalogue against anvil, one by one and all together.

mod common;

mod artifacts;
mod catalogue;
mod mixed;
mod prepared;
mod scenarios;
