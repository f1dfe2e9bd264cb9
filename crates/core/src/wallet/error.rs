//! The one error of the wallet module, and the small kinds it carries.
//!
//! No message here ever holds key material, a phrase or a password: where an upstream error
//! would echo one (coins-bip39 prints the whole phrase, hex decoding prints the offending
//! character), it is replaced by a redacted kind instead of being kept as a source.

use std::{fmt, path::PathBuf, time::Duration};

use alloy::{
    primitives::{Address, U256},
    signers::local::LocalSignerError,
    transports::{RpcError, TransportErrorKind},
};

use crate::{node::GuardError, rpc::SendError};

/// Errors loading wallets or moving funds between them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// A file or directory could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// An environment variable that should hold keys or a phrase is not set.
    #[error("environment variable {var} is not set")]
    MissingEnv {
        /// The variable's name.
        var: String,
    },
    /// The environment variable that should hold the keystore password is not set.
    #[error("keystore password environment variable {var} is not set")]
    MissingPasswordEnv {
        /// The variable's name.
        var: String,
    },
    /// An environment variable is set but is not valid UTF-8.
    #[error("environment variable {var} is not valid utf-8")]
    EnvNotUnicode {
        /// The variable's name.
        var: String,
    },
    /// A keystore file is not a Web3 Secret Storage document (bad JSON, missing fields,
    /// unsupported parameters) or does not hold a valid key.
    #[error("keystore {} is not a valid web3 secret storage file", path.display())]
    CorruptKeystore {
        /// The keystore file.
        path: PathBuf,
        /// What the keystore reader reported (never key material: the file is encrypted).
        #[source]
        source: LocalSignerError,
    },
    /// The password does not decrypt the keystore (its MAC does not match).
    #[error("wrong password for keystore {}", path.display())]
    WrongPassword {
        /// The keystore file.
        path: PathBuf,
    },
    /// A mnemonic phrase is not valid BIP-39 English.
    #[error("invalid mnemonic from {origin}: {problem}")]
    BadMnemonic {
        /// Where the phrase came from, e.g. `environment variable SPAM_MNEMONIC`.
        origin: String,
        /// What is wrong, without echoing any word.
        problem: MnemonicProblem,
    },
    /// A mnemonic index range reaches the hardened indices (2^31 and above).
    #[error("mnemonic index range {start}..{end} must stay below 2^31")]
    BadIndexRange {
        /// First index.
        start: u32,
        /// One past the last index.
        end: u32,
    },
    /// Deriving the key at an index failed.
    #[error("cannot derive the key at index {index}")]
    Derive {
        /// The index, under `m/44'/60'/0'/0/`.
        index: u32,
        /// What the BIP-32 derivation reported.
        #[source]
        source: LocalSignerError,
    },
    /// A raw private key entry is not a valid secp256k1 key.
    #[error("{origin}: not a valid private key ({problem})")]
    BadKey {
        /// The file and line, or the environment variable and entry.
        origin: KeyOrigin,
        /// What is wrong, without echoing the text.
        problem: KeyProblem,
    },
    /// A source holds no keys at all.
    #[error("{what} holds no keys")]
    Empty {
        /// The source, e.g. `keystore directory ./keys`.
        what: String,
    },
    /// A background decryption task panicked.
    #[error("keystore decryption in {} panicked", path.display())]
    Task {
        /// The keystore directory being loaded.
        path: PathBuf,
        /// The join failure.
        #[source]
        source: tokio::task::JoinError,
    },
    /// Signing a transaction failed.
    #[error("signing a transaction from {from} failed")]
    Sign {
        /// The signer's address.
        from: Address,
        /// What the signer reported.
        #[source]
        source: alloy::signers::Error,
    },
    /// A nonce could not be reserved.
    #[error("no nonce for {}", source.sender())]
    Nonce {
        /// What the nonce manager reported.
        #[source]
        source: spam_nonce::Error,
    },
    /// The node refused a transaction the operation cannot do without (one filling a nonce gap
    /// that would keep later transfers queued).
    #[error("sending nonce {nonce} from {from} failed")]
    Send {
        /// The sender.
        from: Address,
        /// The transaction's nonce.
        nonce: u64,
        /// The node's answer, classified (boxed: it is large and rare).
        #[source]
        source: Box<SendError>,
    },
    /// A read from the node failed (balance, nonce).
    #[error("reading {what} of {address} failed")]
    Rpc {
        /// What was read, e.g. `balance`.
        what: &'static str,
        /// The account read.
        address: Address,
        /// What the transport reported.
        #[source]
        source: RpcError<TransportErrorKind>,
    },
    /// The chain id could not be read or belongs to a refused mainnet.
    #[error("chain check failed")]
    Chain {
        /// What the guard reported.
        #[source]
        source: GuardError,
    },
    /// The funder cannot pay for what was asked.
    #[error(
        "funder {funder} holds {available} wei but needs {needed} wei (values plus maximum fees)"
    )]
    InsufficientFunds {
        /// The funder's address.
        funder: Address,
        /// Sum of the values plus each transfer's maximum fee.
        needed: U256,
        /// The funder's balance.
        available: U256,
    },
    /// Sent transfers were not all included before the timeout.
    #[error(
        "{address} mined nonce {mined} but {expected} was expected within {waited:?}: transfers \
         are still pending or were dropped"
    )]
    InclusionTimeout {
        /// The sender waited for.
        address: Address,
        /// The next nonce once every sent transfer is included.
        expected: u64,
        /// The next nonce the node reported last.
        mined: u64,
        /// How long it waited.
        waited: Duration,
    },
}

/// What is wrong with a mnemonic phrase. Never holds a word of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MnemonicProblem {
    /// The phrase has a word count BIP-39 does not allow (12, 15, 18, 21 or 24).
    WordCount(usize),
    /// The word at this 1-based position is not in the English BIP-39 list.
    UnknownWord(usize),
    /// Every word is known but the checksum does not match (a word is wrong or misplaced).
    Checksum,
}

impl fmt::Display for MnemonicProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WordCount(n) => write!(f, "{n} words, expected 12, 15, 18, 21 or 24"),
            Self::UnknownWord(i) => write!(f, "word {i} is not in the english bip-39 list"),
            Self::Checksum => f.write_str("checksum mismatch"),
        }
    }
}

/// Where a raw private key came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyOrigin {
    /// A line of a key file.
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// An entry of an environment variable.
    Env {
        /// The variable's name.
        var: String,
        /// 1-based position among the variable's entries.
        entry: usize,
    },
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, line } => write!(f, "{}:{line}", path.display()),
            Self::Env { var, entry } => write!(f, "environment variable {var}, entry {entry}"),
        }
    }
}

/// What is wrong with a raw private key. Never holds its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Not 64 hex digits (after an optional `0x`); holds how many characters there were.
    Length(usize),
    /// Holds a character that is not a hex digit.
    NotHex,
    /// Zero or not below the secp256k1 group order.
    OutOfRange,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(n) => write!(f, "{n} characters, expected 64 hex digits"),
            Self::NotHex => f.write_str("not hex"),
            Self::OutOfRange => f.write_str("zero or not below the secp256k1 order"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place_and_are_lowercase() {
        let cases = [
            (
                WalletError::BadKey {
                    origin: KeyOrigin::File {
                        path: "keys.txt".into(),
                        line: 7,
                    },
                    problem: KeyProblem::Length(63),
                },
                "keys.txt:7: not a valid private key (63 characters, expected 64 hex digits)",
            ),
            (
                WalletError::BadKey {
                    origin: KeyOrigin::Env {
                        var: "KEYS".into(),
                        entry: 2,
                    },
                    problem: KeyProblem::NotHex,
                },
                "environment variable KEYS, entry 2: not a valid private key (not hex)",
            ),
            (
                WalletError::MissingPasswordEnv {
                    var: "SPAM_KEYSTORE_PASSWORD".into(),
                },
                "keystore password environment variable SPAM_KEYSTORE_PASSWORD is not set",
            ),
            (
                WalletError::BadMnemonic {
                    origin: "the given phrase".into(),
                    problem: MnemonicProblem::UnknownWord(3),
                },
                "invalid mnemonic from the given phrase: word 3 is not in the english bip-39 list",
            ),
            (
                WalletError::WrongPassword {
                    path: "ks/a".into(),
                },
                "wrong password for keystore ks/a",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
            let first = want.chars().next().unwrap();
            assert!(!first.is_uppercase() && !want.ends_with('.'), "{want}");
        }
    }
}
