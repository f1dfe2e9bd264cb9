//! Before the load: contracts deployed through CREATE2 (or found where an earlier run put
//! them), setup calls sent, gas limits estimated once per `[[tx]]`.

use std::{collections::BTreeMap, fmt, sync::Arc};

use alloy::{
    primitives::{Address, B256, Bytes, U256, address, keccak256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolValue,
};
use rand::{SeedableRng, rngs::StdRng};
use spam_core::{CreatedAsset, Session, TaskContext, TaskMix};

use super::{
    CodeSource, Scenario, Target,
    load::{Inner, ScenarioTask, ScenarioTx},
};
use crate::tx::send_value;

/// The deterministic deployment proxy (Arachnid's), at the same address on anvil, most
/// devnets and public chains: `salt ++ init_code` in, the contract at
/// `create2(DEPLOYER, salt, keccak(init_code))` out.
pub const CREATE2_DEPLOYER: Address = address!("4e59b44847b379578588920cA78FbF26c0B4956C");

/// Gas for a deploy when the node cannot estimate it.
const DEPLOY_GAS: u64 = 5_000_000;

/// A scenario on a chain: its contracts' addresses, and the gas of each `[[tx]]`.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(crate) inner: Arc<Inner>,
    reused: Vec<String>,
    /// Who sent the deploys (the session's first sender).
    deployer: Address,
}

/// A step of [`Scenario::prepare`] that failed: which, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareError {
    step: String,
    reason: String,
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.reason)
    }
}

impl std::error::Error for PrepareError {}

fn fail(step: impl Into<String>, reason: impl fmt::Display) -> PrepareError {
    PrepareError {
        step: step.into(),
        reason: reason.to_string(),
    }
}

impl Scenario {
    /// The address contract `name` gets with `seed`: CREATE2 through [`CREATE2_DEPLOYER`]
    /// with a salt from the scenario's name, the seed and the contract's name — the same on
    /// every chain for the same scenario and seed. `None` for an unknown name.
    pub fn address_of(&self, name: &str, seed: u64) -> Option<Address> {
        let contract = self.contracts.iter().find(|c| c.name == name)?;
        Some(match &contract.source {
            CodeSource::At(address) => *address,
            CodeSource::Deploy(code) => {
                CREATE2_DEPLOYER.create2(self.salt(name, seed), keccak256(code))
            }
        })
    }

    fn salt(&self, contract: &str, seed: u64) -> B256 {
        keccak256((self.name.as_str(), seed, contract).abi_encode())
    }

    /// Deploys the contracts (from the session's first sender; a contract whose code is
    /// already at its address is reused), sends the setup calls (from the first sender, or
    /// from each with `for_each_sender`), and estimates the gas of each `[[tx]]` once.
    ///
    /// # Errors
    /// A [`PrepareError`] naming the step: no CREATE2 deployer on the chain, a refused or
    /// reverted deploy or setup call, a `[[tx]]` the node says would fail.
    ///
    /// # Cancel safety
    /// Not cancel safe in effect: dropped midway, what was already sent stays on chain (a
    /// contract deployed, some setup calls made). Preparing again with the same seed finds the
    /// contracts and reuses them; setup calls are sent again.
    pub async fn prepare(&self, session: &Session, seed: u64) -> Result<Prepared, PrepareError> {
        let run = Arc::new(session.run_context());
        let wallets = session.wallets();
        let first = TaskContext::new(Arc::clone(&run), Arc::clone(&wallets[0]), 0, seed);
        let provider = session.provider();
        let mut addresses = BTreeMap::new();
        let mut reused = Vec::new();
        for contract in &self.contracts {
            let address = self
                .address_of(&contract.name, seed)
                .expect("a declared contract");
            let step = format!("contract {}", contract.name);
            let code = provider
                .get_code_at(address)
                .await
                .map_err(|err| fail(&step, format!("reading the code at {address}: {err}")))?;
            match &contract.source {
                CodeSource::At(_) if code.is_empty() => {
                    return Err(fail(&step, format!("no code at {address}")));
                }
                CodeSource::Deploy(_) if !code.is_empty() => reused.push(contract.name.clone()),
                CodeSource::At(_) => {}
                CodeSource::Deploy(init_code) => {
                    let deployer = provider
                        .get_code_at(CREATE2_DEPLOYER)
                        .await
                        .map_err(|err| fail(&step, err))?;
                    if deployer.is_empty() {
                        return Err(fail(
                            &step,
                            format!(
                                "the chain has no CREATE2 deployer at {CREATE2_DEPLOYER} (anvil has \
                                 one): deploy it, or give the contract's `address`"
                            ),
                        ));
                    }
                    let salt = self.salt(&contract.name, seed);
                    let input: Bytes = [salt.as_slice(), init_code].concat().into();
                    let gas = estimate(
                        provider,
                        wallets[0].address(),
                        CREATE2_DEPLOYER,
                        U256::ZERO,
                        &input,
                    )
                    .await
                    .map_or(DEPLOY_GAS, |g| g.saturating_mul(5) / 4);
                    send_value(
                        &first,
                        &format!("deploy {}", contract.name),
                        CREATE2_DEPLOYER,
                        U256::ZERO,
                        input,
                        gas,
                    )
                    .await
                    .map_err(|err| fail(&step, err))?;
                    let code = provider
                        .get_code_at(address)
                        .await
                        .map_err(|err| fail(&step, err))?;
                    if code.is_empty() {
                        return Err(fail(&step, format!("deployed, but no code at {address}")));
                    }
                }
            }
            addresses.insert(contract.name.clone(), address);
        }
        let mut inner = Inner::new(self.clone(), addresses);
        for (i, call) in self.setup.iter().enumerate() {
            let senders: Vec<_> = if call.for_each_sender {
                wallets.to_vec()
            } else {
                vec![Arc::clone(&wallets[0])]
            };
            for wallet in senders {
                let ctx = TaskContext::new(Arc::clone(&run), Arc::clone(&wallet), 0, seed);
                let (to, input) = inner.fill_setup(i, wallet.address(), &mut ctx.rng());
                let step = format!("[[setup]] {} from {}", call.name, wallet.address());
                let gas = match call.gas_limit {
                    Some(gas) => gas,
                    None => {
                        estimate(provider, wallet.address(), to, call.value, &input)
                            .await
                            .map_err(|err| fail(&step, err))?
                            .saturating_mul(5)
                            / 4
                    }
                };
                send_value(&ctx, &call.name, to, call.value, input, gas)
                    .await
                    .map_err(|err| fail(&step, err))?;
            }
        }
        // Gas per [[tx]]: as given, else estimated once on a sample, with a quarter to spare
        // for arguments that cost more than the sample's.
        let mut rng = StdRng::seed_from_u64(seed);
        for i in 0..self.txs.len() {
            let call = &self.txs[i];
            let gas = match call.gas_limit {
                Some(gas) => gas,
                None => {
                    let (to, input) = inner.fill_tx(i, wallets[0].address(), 0, &mut rng);
                    estimate(provider, wallets[0].address(), to, call.value, &input)
                        .await
                        .map_err(|err| fail(format!("[[tx]] {}", call.name), err))?
                        .saturating_mul(5)
                        / 4
                }
            };
            inner.gas[i] = gas;
        }
        Ok(Prepared {
            inner: Arc::new(inner),
            reused,
            deployer: wallets[0].address(),
        })
    }
}

async fn estimate(
    provider: &impl Provider,
    from: Address,
    to: Address,
    value: U256,
    input: &Bytes,
) -> Result<u64, String> {
    let request = TransactionRequest::default()
        .from(from)
        .to(to)
        .value(value)
        .input(input.clone().into());
    provider
        .estimate_gas(request)
        .await
        .map_err(|err| format!("the node says it would fail: {err}"))
}

impl Prepared {
    /// Each contract's address, by name.
    pub fn addresses(&self) -> &BTreeMap<String, Address> {
        &self.inner.addresses
    }

    /// The contracts found already deployed at their address (not deployed again).
    pub fn reused(&self) -> &[String] {
        &self.reused
    }

    /// The contracts as run assets (kind `scenario:NAME/Contract`), for the engines'
    /// `.assets(..)`: the store records them with the run, deployed or reused.
    pub fn assets(&self) -> Vec<CreatedAsset> {
        self.inner
            .addresses
            .iter()
            .map(|(name, address)| {
                let kind = format!("scenario:{}/{name}", self.inner.scenario.name);
                CreatedAsset::new(*address, kind, self.deployer)
            })
            .collect()
    }

    /// The gas limit of each `[[tx]]`, by name, in file order.
    pub fn gas_limits(&self) -> Vec<(&str, u64)> {
        self.inner
            .scenario
            .txs
            .iter()
            .zip(&self.inner.gas)
            .map(|(t, g)| (t.name.as_str(), *g))
            .collect()
    }

    /// The closed loop's tasks: one per `[[tx]]` (named like it), weighted as the file says.
    pub fn tasks(&self) -> TaskMix {
        let tasks = (0..self.inner.scenario.txs.len())
            .map(|index| {
                let task: Arc<dyn spam_core::Task> = Arc::new(ScenarioTask {
                    inner: Arc::clone(&self.inner),
                    index,
                });
                (task, self.inner.scenario.txs[index].weight)
            })
            .collect();
        TaskMix::new(tasks).expect("at least one [[tx]], every weight at least 1")
    }

    /// The open loop's transaction builder: a `[[tx]]` drawn by weight per transaction.
    pub fn builder(&self) -> ScenarioTx {
        ScenarioTx {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Where the `[[tx]]` mix sends and what: `(name, to, calldata)` for `n` transactions
    /// of `sender` drawn from `seed` as the open loop draws them (for reproducibility checks).
    pub fn sample(&self, n: usize, sender: Address, seed: u64) -> Vec<(String, Address, Bytes)> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let i = self.inner.pick(&mut rng);
                let seq = self.inner.next_seq(i);
                let (to, input) = self.inner.fill_tx(i, sender, seq, &mut rng);
                (self.inner.scenario.txs[i].name.clone(), to, input)
            })
            .collect()
    }
}

impl Target {
    pub(crate) fn resolve(&self, addresses: &BTreeMap<String, Address>) -> Address {
        match self {
            Self::Address(a) => *a,
            Self::Contract(name) => addresses[name],
        }
    }
}
