//! The execution-layer capability table: what each client offers a load generator.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// An execution-layer client, for its [`Capabilities`].
///
/// Select one by name (`"reth"`, `"op-reth"`, `"geth"`, `"erigon"`, `"cdk-erigon"`,
/// `"gravity-reth"`, `"anvil"`) or [detect](Self::detect) it from `web3_clientVersion`.
///
/// # Examples
///
/// ```
/// use spam_core::ExecutionLayer;
///
/// let el: ExecutionLayer = "op-reth".parse().unwrap();
/// assert!(el.capabilities().preconfirmations);
/// assert_eq!(ExecutionLayer::detect("anvil/v1.7.1"), ExecutionLayer::Anvil);
/// assert!("besu".parse::<ExecutionLayer>().unwrap_err().to_string().contains("op-reth"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ExecutionLayer {
    /// Foundry's dev node.
    Anvil,
    /// go-ethereum.
    Geth,
    /// reth.
    Reth,
    /// reth's OP Stack build (sequencer / builder setups).
    OpReth,
    /// Erigon.
    Erigon,
    /// Polygon's cdk-erigon.
    CdkErigon,
    /// Gravity's reth fork, whose builder answers `eth_getPendingNonce`.
    GravityReth,
    /// Any other client: only the portable methods are assumed.
    Other,
}

/// What a client offers that changes how the load generator works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Answers `eth_getPendingNonce` (the builder's view of a sender's next nonce); otherwise
    /// nonces are read with `eth_getTransactionCount(addr, "pending")`.
    pub pending_nonce_method: bool,
    /// Serves `eth_subscribe("newHeads")` over WebSocket, so blocks are seen when they are
    /// made instead of by polling.
    pub ws_new_heads: bool,
    /// Can push per-transaction preconfirmation events.
    pub preconfirmations: bool,
    /// Answers `eth_sendRawTransactionSync` (EIP-7966: the send returns the receipt).
    pub sync_send: bool,
}

const ALL: [(ExecutionLayer, &str); 8] = [
    (ExecutionLayer::Anvil, "anvil"),
    (ExecutionLayer::Geth, "geth"),
    (ExecutionLayer::Reth, "reth"),
    (ExecutionLayer::OpReth, "op-reth"),
    (ExecutionLayer::Erigon, "erigon"),
    (ExecutionLayer::CdkErigon, "cdk-erigon"),
    (ExecutionLayer::GravityReth, "gravity-reth"),
    (ExecutionLayer::Other, "other"),
];

impl ExecutionLayer {
    /// What this client offers. The table reflects the clients' releases of late 2026; a
    /// setting the engine cannot use on a client is refused at start with this name.
    pub const fn capabilities(self) -> Capabilities {
        let (pending_nonce_method, ws_new_heads, preconfirmations, sync_send) = match self {
            Self::Anvil => (false, true, false, true),
            Self::Geth => (false, true, false, true),
            Self::Reth => (false, true, false, true),
            Self::OpReth => (false, true, true, true),
            Self::Erigon | Self::CdkErigon => (false, true, false, false),
            Self::GravityReth => (true, true, true, true),
            Self::Other => (false, true, true, true),
        };
        Capabilities {
            pending_nonce_method,
            ws_new_heads,
            preconfirmations,
            sync_send,
        }
    }

    /// The client named by a `web3_clientVersion` answer (`"reth/v1.9.0-…"`,
    /// `"Geth/v1.16.5-stable/…"`, `"anvil/v1.7.1"`), [`Other`](Self::Other) when unknown.
    pub fn detect(client_version: &str) -> Self {
        let name = client_version
            .split('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match name.as_str() {
            "anvil" => Self::Anvil,
            "geth" => Self::Geth,
            "reth" => Self::Reth,
            "op-reth" => Self::OpReth,
            "erigon" => Self::Erigon,
            "cdk-erigon" => Self::CdkErigon,
            "gravity-reth" => Self::GravityReth,
            _ => Self::Other,
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(el, _)| *el == self)
            .map_or("other", |(_, n)| n)
    }
}

impl fmt::Display for ExecutionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An execution-layer name that is not in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown execution layer {given:?}; known: {}", known())]
pub struct UnknownExecutionLayer {
    given: String,
}

fn known() -> String {
    ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
}

impl FromStr for ExecutionLayer {
    type Err = UnknownExecutionLayer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        ALL.iter()
            .find(|(_, name)| *name == wanted)
            .map(|(el, _)| *el)
            .ok_or_else(|| UnknownExecutionLayer {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (el, name) in ALL {
            assert_eq!(name.parse::<ExecutionLayer>().unwrap(), el);
            assert_eq!(el.to_string(), name);
            let json = serde_json::to_string(&el).unwrap();
            assert_eq!(json, format!("\"{name}\""));
        }
        assert_eq!(
            "OP_Reth".parse::<ExecutionLayer>(),
            Ok(ExecutionLayer::OpReth)
        );
    }

    #[test]
    fn detection_from_client_versions() {
        for (version, el) in [
            ("anvil/v1.7.1", ExecutionLayer::Anvil),
            (
                "Geth/v1.16.5-stable-737ffd1b/linux-amd64/go1.24.4",
                ExecutionLayer::Geth,
            ),
            (
                "reth/v1.9.0-abc/x86_64-unknown-linux-gnu",
                ExecutionLayer::Reth,
            ),
            ("erigon/3.0.2/linux-amd64/go1.23", ExecutionLayer::Erigon),
            ("Nethermind/v1.31", ExecutionLayer::Other),
            ("", ExecutionLayer::Other),
        ] {
            assert_eq!(ExecutionLayer::detect(version), el, "{version}");
        }
    }

    #[test]
    fn only_gravity_answers_the_pending_nonce_method() {
        for (el, _) in ALL {
            assert_eq!(
                el.capabilities().pending_nonce_method,
                el == ExecutionLayer::GravityReth
            );
        }
    }
}
