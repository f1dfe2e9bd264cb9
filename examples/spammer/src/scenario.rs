//! `--scenario FILE` of `run` and `loadgen`: read and checked before anything starts, then
//! deployed and set up on the node once the senders are funded.

use std::path::PathBuf;

use spam_core::{MainnetPolicy, Session, SessionConfig, Wallet};
use spam_tasks::{Prepared, Scenario};

use crate::{input::bad_input, node::Node};

/// The scenario flag.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ScenarioArg {
    /// A scenario file (TOML): contracts to deploy, setup calls and a weighted mix of calls,
    /// instead of the built-in workloads. See docs/scenarios.md and examples/scenarios/.
    #[arg(long, env = "SPAM_SCENARIO", value_name = "FILE")]
    pub(crate) scenario: Option<PathBuf>,
}

impl ScenarioArg {
    /// The checked scenario, if one was given.
    ///
    /// # Errors
    /// [`BadInput`](crate::input::BadInput): `--scenario FILE:LINE:COL: what to fix`.
    pub(crate) fn load(&self) -> anyhow::Result<Option<Scenario>> {
        self.scenario
            .as_ref()
            .map(|path| {
                Scenario::from_file(path).map_err(|err| bad_input(format!("--scenario {err}")))
            })
            .transpose()
    }
}

/// A session on the run's endpoints, to deploy and set up before the engine opens its own.
pub(crate) async fn open_session(
    node: &Node,
    endpoints: spam_core::Endpoints,
    wallets: &[Wallet],
    allow_mainnet: bool,
) -> anyhow::Result<Session> {
    let config = SessionConfig::new(node.url.clone())
        .with_endpoints(endpoints)
        .with_wallets(wallets.to_vec())
        .with_mainnet(if allow_mainnet {
            MainnetPolicy::Allow
        } else {
            MainnetPolicy::Refuse
        });
    Ok(Session::open(config).await?)
}

/// A catalogue workload that needs a shared contract (see
/// [`spam_tasks::PREPARED_TX_BUILDERS`]): the contract deployed, the builder ready.
///
/// # Errors
/// The deployment failed.
pub(crate) async fn prepare_tx(
    name: &str,
    node: &Node,
    endpoints: spam_core::Endpoints,
    wallets: &[Wallet],
    seed: u64,
    allow_mainnet: bool,
) -> anyhow::Result<std::sync::Arc<dyn spam_core::TxBuilder>> {
    let session = open_session(node, endpoints, wallets, allow_mainnet).await?;
    let builder = spam_tasks::prepare_tx_builder(name, &session, seed)
        .await
        .expect("--tx accepts only known names")
        .map_err(|err| anyhow::anyhow!("--tx {name}: deploying its contract: {err}"))?;
    eprintln!("{name}: its contract is deployed");
    Ok(builder)
}

/// Deploys and sets up `scenario` from `wallets` on the run's endpoints; prints where its
/// contracts are.
///
/// # Errors
/// The node refused or reverted a deploy or setup call, or a `[[tx]]` would fail.
pub(crate) async fn prepare(
    scenario: &Scenario,
    node: &Node,
    endpoints: spam_core::Endpoints,
    wallets: &[Wallet],
    seed: u64,
    allow_mainnet: bool,
) -> anyhow::Result<Prepared> {
    let session = open_session(node, endpoints, wallets, allow_mainnet).await?;
    let prepared = scenario
        .prepare(&session, seed)
        .await
        .map_err(|err| anyhow::anyhow!("scenario {}: {err}", scenario.name()))?;
    for (name, address) in prepared.addresses() {
        let how = if prepared.reused().contains(name) {
            "found (reused)"
        } else {
            "ready"
        };
        eprintln!("scenario {}: {name} at {address} {how}", scenario.name());
    }
    Ok(prepared)
}
