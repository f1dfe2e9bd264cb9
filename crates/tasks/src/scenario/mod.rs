//! Scenario files: custom contracts and calls, without writing Rust.
//!
//! A TOML file names contracts to deploy (or already deployed), setup calls sent once before
//! the load, and a weighted mix of calls (`[[tx]]`) with typed arguments and placeholders.
//! [`Scenario::from_file`] reads and checks it (every mistake is an error naming the file,
//! line and column; nothing is sent); [`Scenario::prepare`] deploys and sets up on a
//! [`Session`]; the [`Prepared`] scenario gives the closed loop its tasks
//! ([`Prepared::tasks`]) and the open loop its transaction builder ([`Prepared::builder`]).
//! The reference of every key is `docs/scenarios.md`.
//!
//! # Examples
//!
//! ```
//! use spam_tasks::Scenario;
//!
//! let scenario = Scenario::parse(
//!     r#"
//! name = "ping"
//!
//! [[tx]]
//! name = "ping"
//! to = "0x000000000000000000000000000000000000dEaD"
//! value = "1gwei"
//! "#,
//!     ".",
//! )
//! .unwrap();
//! assert_eq!(scenario.name(), "ping");
//! assert_eq!(scenario.tx_names().collect::<Vec<_>>(), ["ping"]);
//!
//! let err = Scenario::parse("name = \"x\"\n[[tx]]\nname = \"a\"\nto = \"{Nope}\"\n", ".")
//!     .unwrap_err();
//! assert_eq!(err.to_string(), "<scenario>:4:6: `to`: no contract named `Nope` (declared: none)");
//! ```

mod args;
mod load;
mod prepare;
mod spec;
#[cfg(test)]
mod tests;

use std::{fmt, path::Path};

use alloy::{
    json_abi::Function,
    primitives::{Address, Bytes, U256},
};

use self::args::Arg;
pub use self::{
    load::{ScenarioTask, ScenarioTx},
    prepare::{CREATE2_DEPLOYER, PrepareError, Prepared},
};

/// A checked scenario file: contracts, setup calls and a weighted mix of calls (docs/scenarios.md
/// has every key).
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) contracts: Vec<Contract>,
    pub(crate) setup: Vec<Call>,
    pub(crate) txs: Vec<Call>,
}

/// A contract of the scenario.
#[derive(Debug, Clone)]
pub(crate) struct Contract {
    pub(crate) name: String,
    pub(crate) source: CodeSource,
}

/// Where a contract's code comes from.
#[derive(Debug, Clone)]
pub(crate) enum CodeSource {
    /// Deployed by the scenario (CREATE2): this creation code, constructor arguments included.
    Deploy(Bytes),
    /// Already on chain.
    At(Address),
}

/// A call: a `[[setup]]` entry or a `[[tx]]` of the mix.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) name: String,
    pub(crate) to: Target,
    pub(crate) input: Input,
    pub(crate) value: U256,
    pub(crate) gas_limit: Option<u64>,
    pub(crate) weight: u32,
    pub(crate) for_each_sender: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Target {
    Address(Address),
    Contract(String),
}

#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// A function and its argument templates.
    Call { func: Function, args: Vec<Arg> },
    /// Raw calldata (`0x` for a plain transfer).
    Data(Bytes),
}

/// A mistake in a scenario file: where, and what to fix. `Display`:
/// `FILE:LINE:COLUMN: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    path: String,
    line: usize,
    column: usize,
    message: String,
}

impl ScenarioError {
    /// The file as it was named.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Line and column (from 1) of the value at fault.
    pub const fn position(&self) -> (usize, usize) {
        (self.line, self.column)
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// Reads and checks the scenario in `path`; artifact paths are relative to its folder.
    ///
    /// # Errors
    /// A [`ScenarioError`] naming the line and column of the first mistake, or a file that
    /// cannot be read.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| ScenarioError {
            path: shown.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read it: {err}"),
        })?;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        spec::parse(&text, &shown, dir)
    }

    /// Reads and checks a scenario from `text` (named `<scenario>` in errors); artifact paths
    /// are relative to `dir`.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    pub fn parse(text: &str, dir: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        spec::parse(text, "<scenario>", dir.as_ref())
    }

    /// The scenario's name (reports show it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `[[tx]]` names, in file order.
    pub fn tx_names(&self) -> impl Iterator<Item = &str> {
        self.txs.iter().map(|t| t.name.as_str())
    }

    /// What the costliest `[[tx]]` may spend, for funding before the gas is estimated: its
    /// `gas_limit` (500 000 when estimated later) and its value.
    pub fn cost_hint(&self) -> (u64, U256) {
        self.txs
            .iter()
            .fold((21_000, U256::ZERO), |(gas, value), tx| {
                (
                    gas.max(tx.gas_limit.unwrap_or(500_000)),
                    value.max(tx.value),
                )
            })
    }

    /// The contract names, in file order.
    pub fn contract_names(&self) -> impl Iterator<Item = &str> {
        self.contracts.iter().map(|c| c.name.as_str())
    }
}
