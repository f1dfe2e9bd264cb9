//! Refuses to load public mainnets unless the user opts in.

/// Chain ids of well-known public mainnets.
const MAINNETS: &[(u64, &str)] = &[
    (1, "Ethereum"),
    (10, "OP Mainnet"),
    (25, "Cronos"),
    (56, "BNB Smart Chain"),
    (100, "Gnosis"),
    (130, "Unichain"),
    (137, "Polygon PoS"),
    (250, "Fantom"),
    (324, "zkSync Era"),
    (480, "World Chain"),
    (1101, "Polygon zkEVM"),
    (1284, "Moonbeam"),
    (5000, "Mantle"),
    (8453, "Base"),
    (34443, "Mode"),
    (42161, "Arbitrum One"),
    (42170, "Arbitrum Nova"),
    (42220, "Celo"),
    (43114, "Avalanche C-Chain"),
    (59144, "Linea"),
    (81457, "Blast"),
    (534352, "Scroll"),
    (7777777, "Zora"),
];

/// Errors unless `chain_id` is not a known mainnet or `allow_mainnet` is set.
pub(crate) fn check_chain(chain_id: u64, allow_mainnet: bool) -> anyhow::Result<()> {
    match MAINNETS.iter().find(|(id, _)| *id == chain_id) {
        Some((_, name)) if !allow_mainnet => anyhow::bail!(
            "chain id {chain_id} is {name} mainnet; spammer is for networks you operate or test on \
             (pass --allow-mainnet if this really is your own network)"
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_mainnets_unless_allowed() {
        assert!(check_chain(1, false).is_err());
        assert!(check_chain(8453, false).is_err());
        assert!(check_chain(1, true).is_ok());
        assert!(check_chain(31337, false).is_ok());
        assert!(check_chain(11155111, false).is_ok()); // Sepolia
    }
}
