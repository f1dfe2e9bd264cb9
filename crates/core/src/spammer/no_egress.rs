//! Without the `proxy` feature every sender talks to the node directly: no egress can exist.

use std::sync::Arc;

use alloy::providers::RootProvider;

use crate::{pool::WalletPool, report::ProxySummary, wallet::Wallet};

#[derive(Debug)]
pub(super) enum Egress {}

impl Egress {
    pub(super) fn provider(&self, _: usize) -> RootProvider {
        match *self {}
    }

    pub(super) fn len(&self) -> usize {
        match *self {}
    }

    pub(super) fn spawn_rebalancer(
        self: &Arc<Self>,
        _: WalletPool<Arc<Wallet>>,
    ) -> tokio_util::task::AbortOnDropHandle<()> {
        match **self {}
    }

    pub(super) fn summaries(&self) -> Vec<ProxySummary> {
        match *self {}
    }
}
