//! Wallets: sources (mnemonic, keystores, raw keys), redaction, funding.
//!
//! - [`Wallet`]: one in-memory key; prints as its address only; zeroized on drop.
//! - Sources: [`MnemonicSource`] (BIP-39, `m/44'/60'/0'/0/i`), [`KeystoreDir`] (Web3 Secret
//!   Storage files, password from an environment variable), [`RawKeys`] (hex keys from an
//!   environment variable or a file), and [`WalletSource`] holding any of them. Derived keys
//!   are never written to disk; phrases, passwords and key text are held in `Zeroizing`
//!   buffers; errors name files, lines and variables but never echo secrets.
//! - [`Funder`]: fan out value to many addresses with pipelined sends, top up those below a
//!   threshold, sweep balances back; [`Budget`]: what each sender of a run needs to hold.

mod budget;
mod config;
mod error;
mod funding;
mod keys;
mod keystore;
mod mnemonic;
mod pipeline;
mod report;
mod send;
mod signer;
mod source;

pub(crate) use self::send::wait_mined;
pub use self::{
    budget::{Budget, eth},
    config::FundingConfig,
    error::{KeyOrigin, KeyProblem, MnemonicProblem, WalletError},
    funding::{Funder, balances},
    keys::RawKeys,
    keystore::KeystoreDir,
    mnemonic::MnemonicSource,
    report::{FundingReport, TransferFailure},
    signer::Wallet,
    source::WalletSource,
};
