//! Refuses to send on known public mainnets unless the caller opts in.

use alloy::{network::Network, providers::Provider, transports::TransportError};

/// Chain ids of well-known public mainnets, with their names.
pub const KNOWN_MAINNETS: &[(u64, &str)] = &[
    (1, "Ethereum"),
    (10, "OP Mainnet"),
    (25, "Cronos"),
    (56, "BNB Smart Chain"),
    (100, "Gnosis"),
    (130, "Unichain"),
    (137, "Polygon PoS"),
    (146, "Sonic"),
    (250, "Fantom"),
    (288, "Boba"),
    (324, "zkSync Era"),
    (480, "World Chain"),
    (1088, "Metis"),
    (1101, "Polygon zkEVM"),
    (1284, "Moonbeam"),
    (2741, "Abstract"),
    (5000, "Mantle"),
    (7777777, "Zora"),
    (8453, "Base"),
    (34443, "Mode"),
    (42161, "Arbitrum One"),
    (42170, "Arbitrum Nova"),
    (42220, "Celo"),
    (43114, "Avalanche C-Chain"),
    (59144, "Linea"),
    (60808, "BOB"),
    (80094, "Berachain"),
    (81457, "Blast"),
    (167000, "Taiko"),
    (534352, "Scroll"),
];

/// Whether known public mainnets may be loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MainnetPolicy {
    /// Refuse them (the default).
    #[default]
    Refuse,
    /// The caller states the network is theirs to load.
    Allow,
}

/// The chain id belongs to a known public mainnet and the policy refuses it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "chain id {chain_id} is {name}, a public mainnet: spam-* is for networks you operate or \
     test on (opt in with MainnetPolicy::Allow / --allow-mainnet if this really is yours)"
)]
pub struct MainnetRefused {
    /// The refused chain id.
    pub chain_id: u64,
    /// The network's name.
    pub name: &'static str,
}

/// Errors of [`read_chain_id`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// `eth_chainId` failed.
    #[error("reading the chain id failed")]
    Rpc(#[source] TransportError),
    /// The chain is a known public mainnet.
    #[error(transparent)]
    Refused(#[from] MainnetRefused),
}

/// The name of a known public mainnet with this chain id.
pub fn mainnet_name(chain_id: u64) -> Option<&'static str> {
    KNOWN_MAINNETS
        .iter()
        .find(|(id, _)| *id == chain_id)
        .map(|(_, name)| *name)
}

/// Checks `chain_id` against [`KNOWN_MAINNETS`].
///
/// # Errors
/// [`MainnetRefused`] for a known mainnet under [`MainnetPolicy::Refuse`].
///
/// # Examples
/// ```
/// use spam_core::{MainnetPolicy, check_chain_id};
///
/// assert!(check_chain_id(31337, MainnetPolicy::Refuse).is_ok()); // anvil
/// assert!(check_chain_id(1, MainnetPolicy::Refuse).is_err()); // Ethereum
/// assert!(check_chain_id(1, MainnetPolicy::Allow).is_ok());
/// ```
pub fn check_chain_id(chain_id: u64, policy: MainnetPolicy) -> Result<(), MainnetRefused> {
    match (mainnet_name(chain_id), policy) {
        (Some(name), MainnetPolicy::Refuse) => Err(MainnetRefused { chain_id, name }),
        _ => Ok(()),
    }
}

/// Reads the chain id through `provider` and checks it; call before the first send.
///
/// # Errors
/// [`GuardError::Rpc`] when the node does not answer, [`GuardError::Refused`] for a refused mainnet.
///
/// # Cancel safety
/// Cancel safe: it only reads.
pub async fn read_chain_id<P, N>(provider: &P, policy: MainnetPolicy) -> Result<u64, GuardError>
where
    P: Provider<N>,
    N: Network,
{
    let chain_id = provider.get_chain_id().await.map_err(GuardError::Rpc)?;
    check_chain_id(chain_id, policy)?;
    Ok(chain_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_mainnets_the_issue_names() {
        for id in [1, 10, 56, 137, 8453, 42161, 43114, 324, 59144, 534352, 100] {
            let err = check_chain_id(id, MainnetPolicy::Refuse).unwrap_err();
            assert_eq!(err.chain_id, id);
            assert!(err.to_string().contains("public mainnet"));
            assert!(check_chain_id(id, MainnetPolicy::Allow).is_ok());
        }
    }

    #[test]
    fn allows_devnets_and_testnets() {
        for id in [
            31337, 1337, 11155111, 17000, 560048, 84532, 11155420, 421614,
        ] {
            assert!(check_chain_id(id, MainnetPolicy::Refuse).is_ok(), "{id}");
        }
    }

    #[test]
    fn table_has_no_duplicates() {
        let mut ids: Vec<u64> = KNOWN_MAINNETS.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), KNOWN_MAINNETS.len());
    }
}
