#![doc = include_str!("../README.md")]

use std::{
    env,
    path::{Path, PathBuf},
};

use alloy::{
    node_bindings::{Anvil, AnvilInstance, NodeError},
    primitives::Address,
    providers::{ProviderBuilder, RootProvider},
    signers::local::PrivateKeySigner,
};

/// The script that installs anvil into the project's `.tools/` folder.
pub const SETUP_SCRIPT: &str = "./scripts/setup.sh";

/// The mnemonic whose accounts anvil funds by default. Public knowledge: never use it on a
/// network where its funds matter.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Errors starting a devnet or finding a tool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No binary of the tool was found.
    #[error(
        "{tool} not found (looked at ${env_var}, {} and PATH): run {SETUP_SCRIPT} to install the pinned version",
        project_tool(tool).display()
    )]
    NotFound {
        /// The missing tool, e.g. `anvil`.
        tool: &'static str,
        /// The environment variable that can point at it, e.g. `ANVIL_BIN`.
        env_var: &'static str,
    },
    /// anvil was found but did not start.
    #[error("anvil at {path} failed to start")]
    Spawn {
        /// The binary that was run.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: NodeError,
    },
}

/// Where `./scripts/setup.sh` puts a tool (`anvil`, `cast`).
pub fn project_tool(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/bin")
        .join(tool)
}

/// Finds a tool: `$env_var`, then the project's `.tools/bin/<tool>`, then `PATH`.
fn tool_path(tool: &'static str, env_var: &'static str) -> Result<PathBuf, Error> {
    if let Some(bin) = env::var_os(env_var)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
    {
        return Ok(bin);
    }
    let project = project_tool(tool);
    if project.is_file() {
        return Ok(project.canonicalize().unwrap_or(project));
    }
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .ok_or(Error::NotFound { tool, env_var })
}

/// Finds anvil: `$ANVIL_BIN`, then the project's `.tools/bin/anvil`, then `PATH`.
///
/// # Errors
/// [`Error::NotFound`] when none exists.
pub fn anvil_path() -> Result<PathBuf, Error> {
    tool_path("anvil", "ANVIL_BIN")
}

/// Finds Foundry's cast: `$CAST_BIN`, then the project's `.tools/bin/cast`, then `PATH`.
///
/// # Errors
/// [`Error::NotFound`] when none exists.
pub fn cast_path() -> Result<PathBuf, Error> {
    tool_path("cast", "CAST_BIN")
}

/// How to start anvil; see [`Devnet::builder`].
#[derive(Debug, Clone)]
pub struct DevnetBuilder {
    accounts: u32,
    balance_eth: u64,
    block_time: Option<f64>,
    chain_id: Option<u64>,
    port: u16,
    args: Vec<String>,
}

impl Default for DevnetBuilder {
    fn default() -> Self {
        Self {
            accounts: 10,
            balance_eth: 10_000,
            block_time: None,
            chain_id: None,
            port: 0,
            args: Vec::new(),
        }
    }
}

impl DevnetBuilder {
    /// Number of funded dev-mnemonic accounts (default 10).
    pub const fn accounts(mut self, accounts: u32) -> Self {
        self.accounts = accounts;
        self
    }

    /// Balance of each funded account in ether (default 10 000).
    pub const fn balance_eth(mut self, eth: u64) -> Self {
        self.balance_eth = eth;
        self
    }

    /// Mine a block every `seconds` instead of one per transaction (automine, the default).
    pub const fn block_time(mut self, seconds: f64) -> Self {
        self.block_time = Some(seconds);
        self
    }

    /// Chain id (anvil's default is 31337).
    pub const fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// Listen on this port of 127.0.0.1 (default 0: a free one). Useful to restart a node
    /// where clients expect it.
    pub const fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// An extra anvil argument, e.g. `--gas-limit`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Starts anvil on a free port of 127.0.0.1.
    ///
    /// # Errors
    /// [`Error::NotFound`] without an anvil binary, [`Error::Spawn`] when it does not start.
    pub fn start(self) -> Result<Devnet, Error> {
        let path = anvil_path()?;
        let mut anvil = Anvil::at(&path)
            .port(self.port)
            .args(["--host", "127.0.0.1"])
            .args(["--accounts".to_string(), self.accounts.to_string()])
            .args(["--balance".to_string(), self.balance_eth.to_string()])
            .args(self.args)
            .timeout(20_000);
        if let Some(seconds) = self.block_time {
            anvil = anvil.block_time_f64(seconds);
        }
        if let Some(chain_id) = self.chain_id {
            anvil = anvil.chain_id(chain_id);
        }
        let instance = anvil
            .try_spawn()
            .map_err(|source| Error::Spawn { path, source })?;
        tracing::debug!(target: "spam::devnet", endpoint = %instance.endpoint(), "anvil started");
        Ok(Devnet { instance })
    }
}

/// A running anvil; killed when dropped.
#[derive(Debug)]
pub struct Devnet {
    instance: AnvilInstance,
}

impl Devnet {
    /// Options for starting anvil.
    pub fn builder() -> DevnetBuilder {
        DevnetBuilder::default()
    }

    /// HTTP endpoint, e.g. `http://localhost:40123`.
    pub fn endpoint(&self) -> String {
        self.instance.endpoint()
    }

    /// A plain HTTP provider for the node: no fillers, so tests control nonces and fees.
    pub fn provider(&self) -> RootProvider {
        ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(self.instance.endpoint_url())
    }

    /// WebSocket endpoint.
    pub fn ws_endpoint(&self) -> String {
        self.instance.ws_endpoint()
    }

    /// The port anvil listens on.
    pub fn port(&self) -> u16 {
        self.instance.port()
    }

    /// The chain id anvil reports.
    pub fn chain_id(&self) -> u64 {
        self.instance.chain_id()
    }

    /// Addresses of the funded dev accounts.
    pub fn addresses(&self) -> &[Address] {
        self.instance.addresses()
    }

    /// Signers of the funded dev accounts (derived from [`DEV_MNEMONIC`]).
    pub fn signers(&self) -> Vec<PrivateKeySigner> {
        self.instance
            .keys()
            .iter()
            .cloned()
            .map(PrivateKeySigner::from)
            .collect()
    }
}

/// Starts anvil for a test, with `builder`'s options.
///
/// Returns `None` only when anvil is missing, `CI` is not set and the developer opted out with
/// `SPAM_SKIP_ANVIL=1` (a notice is printed); the test should then return early.
///
/// # Panics
/// When anvil is missing (naming [`SETUP_SCRIPT`]) or fails to start. Under `CI=true` a
/// missing anvil always panics: CI never skips.
pub fn for_test(builder: DevnetBuilder) -> Option<Devnet> {
    required_for_test(builder.start())
}

/// Finds cast for a test, with the same policy as [`for_test`].
///
/// # Panics
/// When cast is missing, unless outside CI with `SPAM_SKIP_ANVIL=1`.
pub fn cast_for_test() -> Option<PathBuf> {
    required_for_test(cast_path())
}

fn required_for_test<T>(found: Result<T, Error>) -> Option<T> {
    match found {
        Ok(found) => Some(found),
        Err(err @ Error::NotFound { .. })
            if !in_ci() && env::var("SPAM_SKIP_ANVIL").is_ok_and(|v| v == "1") =>
        {
            eprintln!("SKIPPED: {err} (SPAM_SKIP_ANVIL=1)");
            None
        }
        Err(err) => {
            panic!("{err} (outside CI, SPAM_SKIP_ANVIL=1 skips tests that need Foundry tools)")
        }
    }
}

fn in_ci() -> bool {
    env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
