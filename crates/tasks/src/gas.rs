//! Gas limits of the tasks' transactions: what each used on anvil 1.7.1 (the README's gas
//! table) with headroom, so a busy or slightly different chain does not run them out of gas.
//! Limits only cap what a transaction may use; it pays for what it uses.

pub(crate) const DEPLOY_COUNTER: u64 = 150_000;
pub(crate) const DEPLOY_TOKEN: u64 = 700_000;
pub(crate) const DEPLOY_NFT: u64 = 900_000;
pub(crate) const DEPLOY_SMALL: u64 = 400_000;
pub(crate) const DEPLOY_MEDIUM: u64 = 800_000;
pub(crate) const DEPLOY_POOL: u64 = 1_200_000;
pub(crate) const COUNTER_INCREMENT: u64 = 80_000;
pub(crate) const CREATE2_DEPLOY: u64 = 160_000;
pub(crate) const ERC20_MINT: u64 = 110_000;
pub(crate) const ERC20_APPROVE: u64 = 80_000;
pub(crate) const ERC20_TRANSFER: u64 = 100_000;
pub(crate) const ERC20_TRANSFER_FROM: u64 = 110_000;
pub(crate) const ERC721_MINT: u64 = 150_000;
pub(crate) const ERC721_TRANSFER: u64 = 120_000;
pub(crate) const POOL_SEED: u64 = 400_000;
pub(crate) const POOL_ADD: u64 = 200_000;
pub(crate) const POOL_SWAP: u64 = 160_000;
pub(crate) const REVERT: u64 = 60_000;
pub(crate) const EIP7702: u64 = 120_000;

/// `StorageWriter.write(n)`: ~22k per new slot.
pub(crate) const fn storage_write(slots: u64) -> u64 {
    60_000 + 30_000 * slots
}

/// `EventEmitter.fire(n)`: ~2k per log.
pub(crate) const fn events(logs: u64) -> u64 {
    40_000 + 5_000 * logs
}

/// `Multicall.aggregate` of `n` counter increments.
pub(crate) const fn multicall(calls: u64) -> u64 {
    60_000 + 12_000 * calls
}

/// `Disperse.disperseEther` to `n` new accounts (25k new-account charge each).
pub(crate) const fn disperse_eth(recipients: u64) -> u64 {
    60_000 + 40_000 * recipients
}

/// `Disperse.disperseToken` to `n` new holders.
pub(crate) const fn disperse_erc20(recipients: u64) -> u64 {
    80_000 + 35_000 * recipients
}

/// `n` bytes of calldata to an account without code: 21k plus at most 40 gas a byte (the
/// EIP-7623 floor for non-zero bytes; 16 before Prague).
pub(crate) const fn calldata(bytes: u64) -> u64 {
    21_000 + 40 * bytes
}

/// `GasBurner.burn(target)`: the target plus the call around it.
pub(crate) const fn gas_burn(target: u64) -> u64 {
    target + 60_000
}
