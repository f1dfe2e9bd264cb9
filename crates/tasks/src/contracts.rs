//! Bindings to the committed contract artifacts (`contracts/out/*.json`), made by `sol!`.
//!
//! Each module-level type is an `interface` with the contract's calls, events and errors, plus
//! `BYTECODE` (creation code) and `DEPLOYED_BYTECODE` (runtime code). The Solidity sources are in
//! `contracts/src`; `scripts/compile-contracts.sh` rebuilds the artifacts.

#![allow(missing_docs, unreachable_pub)]

use alloy::{primitives::Bytes, sol};

sol!(
    #[derive(Debug, PartialEq, Eq)]
    Counter,
    "contracts/out/Counter.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    Token,
    "contracts/out/Token.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    Nft,
    "contracts/out/Nft.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    StorageWriter,
    "contracts/out/StorageWriter.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    GasBurner,
    "contracts/out/GasBurner.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    EventEmitter,
    "contracts/out/EventEmitter.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    Multicall,
    "contracts/out/Multicall.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    Disperse,
    "contracts/out/Disperse.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    Reverter,
    "contracts/out/Reverter.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    Pool,
    "contracts/out/Pool.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    Create2Factory,
    "contracts/out/Create2Factory.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    ScenarioCounter,
    "contracts/out/ScenarioCounter.json"
);

/// The contracts spam-tasks deploys, by the name of their artifact.
///
/// # Examples
/// ```
/// let artifacts = spam_tasks::contracts::artifacts();
/// assert!(artifacts.iter().any(|c| c.name == "Token"));
/// assert!(artifacts.iter().all(|c| !c.bytecode.is_empty()));
/// ```
pub fn artifacts() -> Vec<Artifact> {
    let artifact = |name, bytecode: &Bytes, deployed: &Bytes| Artifact {
        name,
        bytecode: bytecode.clone(),
        deployed_bytecode: deployed.clone(),
    };
    vec![
        artifact("Counter", &Counter::BYTECODE, &Counter::DEPLOYED_BYTECODE),
        artifact("Token", &Token::BYTECODE, &Token::DEPLOYED_BYTECODE),
        artifact("Nft", &Nft::BYTECODE, &Nft::DEPLOYED_BYTECODE),
        artifact(
            "StorageWriter",
            &StorageWriter::BYTECODE,
            &StorageWriter::DEPLOYED_BYTECODE,
        ),
        artifact(
            "GasBurner",
            &GasBurner::BYTECODE,
            &GasBurner::DEPLOYED_BYTECODE,
        ),
        artifact(
            "EventEmitter",
            &EventEmitter::BYTECODE,
            &EventEmitter::DEPLOYED_BYTECODE,
        ),
        artifact(
            "Multicall",
            &Multicall::BYTECODE,
            &Multicall::DEPLOYED_BYTECODE,
        ),
        artifact(
            "Disperse",
            &Disperse::BYTECODE,
            &Disperse::DEPLOYED_BYTECODE,
        ),
        artifact(
            "Reverter",
            &Reverter::BYTECODE,
            &Reverter::DEPLOYED_BYTECODE,
        ),
        artifact("Pool", &Pool::BYTECODE, &Pool::DEPLOYED_BYTECODE),
        artifact(
            "Create2Factory",
            &Create2Factory::BYTECODE,
            &Create2Factory::DEPLOYED_BYTECODE,
        ),
        artifact(
            "ScenarioCounter",
            &ScenarioCounter::BYTECODE,
            &ScenarioCounter::DEPLOYED_BYTECODE,
        ),
    ]
}

/// One compiled contract: its creation and runtime code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Artifact {
    /// The contract's name (and artifact file stem).
    pub name: &'static str,
    /// Creation code, without constructor arguments.
    pub bytecode: Bytes,
    /// Runtime code, what `eth_getCode` returns once it is deployed.
    pub deployed_bytecode: Bytes,
}
