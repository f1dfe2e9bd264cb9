//! The load of a prepared scenario: each `[[tx]]` as a closed-loop task, the weighted mix as
//! the open loop's transaction builder.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicU64, Ordering},
};

use alloy::{
    consensus::TypedTransaction,
    dyn_abi::JsonAbiExt,
    primitives::{Address, Bytes, TxKind},
};
use async_trait::async_trait;
use rand::{Rng, rngs::StdRng};
use spam_core::{BuildRequest, Task, TaskContext, TaskError, TaskOutcome, TxBuilder};

use super::{Call, Input, Scenario, args::Fill};
use crate::tx::{call_tx, send_value};

/// What the tasks and the builder share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) scenario: Scenario,
    pub(crate) addresses: BTreeMap<String, Address>,
    /// Gas limit per `[[tx]]`.
    pub(crate) gas: Vec<u64>,
    /// Transactions built so far per `[[tx]]` (`{seq}`).
    seq: Vec<AtomicU64>,
    /// Running sums of the weights, for a draw.
    cumulative: Vec<u64>,
    /// The builder's name in reports: `scenario:NAME`.
    label: String,
    /// The `[[tx]]` names, in file order: the open loop counts each transaction under its own.
    kinds: Vec<String>,
}

impl Inner {
    pub(crate) fn new(scenario: Scenario, addresses: BTreeMap<String, Address>) -> Self {
        let mut total = 0;
        let cumulative = scenario
            .txs
            .iter()
            .map(|t| {
                total += u64::from(t.weight);
                total
            })
            .collect();
        let n = scenario.txs.len();
        Self {
            label: format!("scenario:{}", scenario.name),
            kinds: scenario.txs.iter().map(|t| t.name.clone()).collect(),
            gas: vec![0; n],
            seq: (0..n).map(|_| AtomicU64::new(0)).collect(),
            cumulative,
            addresses,
            scenario,
        }
    }

    /// A `[[tx]]` drawn by weight.
    pub(crate) fn pick(&self, rng: &mut StdRng) -> usize {
        let total = *self.cumulative.last().expect("at least one [[tx]]");
        let draw = rng.random_range(0..total);
        self.cumulative.partition_point(|&c| c <= draw)
    }

    /// The next `{seq}` of `[[tx]]` `index`.
    pub(crate) fn next_seq(&self, index: usize) -> u64 {
        self.seq[index].fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn fill_tx(
        &self,
        index: usize,
        sender: Address,
        seq: u64,
        rng: &mut StdRng,
    ) -> (Address, Bytes) {
        self.fill(&self.scenario.txs[index], sender, seq, rng)
    }

    pub(crate) fn fill_setup(
        &self,
        index: usize,
        sender: Address,
        rng: &mut StdRng,
    ) -> (Address, Bytes) {
        self.fill(&self.scenario.setup[index], sender, 0, rng)
    }

    fn fill(&self, call: &Call, sender: Address, seq: u64, rng: &mut StdRng) -> (Address, Bytes) {
        let to = call.to.resolve(&self.addresses);
        let input = match &call.input {
            Input::Data(data) => data.clone(),
            Input::Call { func, args } => {
                let contract = |name: &str| self.addresses[name];
                let mut fill = Fill {
                    sender,
                    seq,
                    rng,
                    contract: &contract,
                };
                let values: Vec<_> = args.iter().map(|a| a.fill(&mut fill)).collect();
                func.abi_encode_input(&values)
                    .expect("arguments checked against the signature when the file was read")
                    .into()
            }
        };
        (to, input)
    }
}

/// One `[[tx]]` of a prepared scenario as a closed-loop task: build, send, wait for the
/// receipt (a revert fails the task with its reason). Named like the `[[tx]]`.
#[derive(Debug, Clone)]
pub struct ScenarioTask {
    pub(crate) inner: std::sync::Arc<Inner>,
    pub(crate) index: usize,
}

#[async_trait]
impl Task for ScenarioTask {
    fn name(&self) -> &str {
        &self.inner.scenario.txs[self.index].name
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let call = &self.inner.scenario.txs[self.index];
        let seq = self.inner.next_seq(self.index);
        let (to, input) = {
            let mut rng = ctx.rng();
            self.inner
                .fill_tx(self.index, ctx.wallet().address(), seq, &mut rng)
        };
        send_value(
            ctx,
            &call.name,
            to,
            call.value,
            input,
            self.inner.gas[self.index],
        )
        .await
    }

    fn cost_hint(&self) -> Option<(u64, alloy::primitives::U256)> {
        let call = &self.inner.scenario.txs[self.index];
        Some((self.inner.gas[self.index], call.value))
    }
}

/// A prepared scenario's weighted mix as the open loop's transaction builder: each
/// transaction counts under its `[[tx]]`'s name in reports ([`kinds`](TxBuilder::kinds));
/// ticks dropped before a transaction was drawn count under `scenario:NAME`.
#[derive(Debug, Clone)]
pub struct ScenarioTx {
    pub(crate) inner: std::sync::Arc<Inner>,
}

impl TxBuilder for ScenarioTx {
    fn name(&self) -> &str {
        &self.inner.label
    }

    fn build(&self, r: BuildRequest<'_>) -> TypedTransaction {
        self.build_kind(r).0
    }

    fn kinds(&self) -> &[String] {
        &self.inner.kinds
    }

    fn build_kind(&self, r: BuildRequest<'_>) -> (TypedTransaction, Option<usize>) {
        let index = self.inner.pick(r.rng);
        let seq = self.inner.next_seq(index);
        let (to, input) = self.inner.fill_tx(index, r.sender, seq, r.rng);
        let call = &self.inner.scenario.txs[index];
        let tx = call_tx(
            &r.fees,
            r.chain_id,
            r.nonce,
            TxKind::Call(to),
            call.value,
            input,
            self.inner.gas[index],
        );
        (tx, Some(index))
    }
}
