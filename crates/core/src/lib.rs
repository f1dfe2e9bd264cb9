#![doc = include_str!("../README.md")]

pub mod breaker;
mod endpoint;
mod fees;
mod loadgen;
mod metrics;
mod node;
mod pool;
mod profile;
pub mod prometheus;
mod report;
mod rpc;
#[cfg(feature = "store")]
mod runs;
mod session;
#[cfg(feature = "store")]
mod shard;
mod spammer;
mod task;
mod wallet;

pub use crate::{
    endpoint::{EndpointStrategy, Endpoints, ParseStrategyError},
    fees::{FeeOracle, FeeOracleConfig, Fees},
    loadgen::{
        LoadGen, LoadGenBuilder, MAX_PRESIGNED, PreconfError, PreconfEvent, PreconfSource,
        PreconfStatus, WsPreconfSource,
    },
    metrics::{LATENCY_BOUNDS, LatencyBuckets, Recorder},
    node::{
        Capabilities, ExecutionLayer, GuardError, KNOWN_MAINNETS, MainnetPolicy, MainnetRefused,
        UnknownExecutionLayer, check_chain_id, mainnet_name, read_chain_id,
    },
    pool::{Lease, LeaseStrategy, PoolError, PoolStats, WalletPool, WalletPoolConfig},
    profile::{Rate, RateError, Schedule, SendStrategy, Step},
    report::{
        BlockStats, BlockSummary, BreakerEvent, ClosedLoopStats, EndpointSummary,
        EndpointTransition, FundingStats, LatencySummary, NonceStats, OpenLoopStats, Pause,
        PreconfStats, ProxySummary, Report, RunInfo, SecondStats, ShardSummary, StoreStats,
        StoredRows, TaskStats, ThresholdError, Thresholds, Verdict,
    },
    rpc::{
        Action, ErrorClass, RetryPolicy, SendError, classify, classify_response,
        send_raw_transaction,
    },
    session::{
        ChainProgress, MAX_RUN_DURATION, Progress, ProgressHook, Session, SessionConfig,
        StartError, StartErrorKind, StoreProgress, TaskProgress, TopUp,
    },
    spammer::{Spammer, SpammerBuilder, Stop, TaskEvent, TaskHook},
    task::{
        BuildRequest, CreatedAsset, MixError, RunContext, Sequence, Task, TaskContext, TaskError,
        TaskMix, TaskOutcome, TaskRegistry, TxBuilder, TxTask, TxTiming, sample_cost,
    },
    wallet::{
        Budget, Funder, FundingConfig, FundingReport, KeyOrigin, KeyProblem, KeystoreDir,
        MnemonicProblem, MnemonicSource, RawKeys, TransferFailure, Wallet, WalletError,
        WalletSource, balances, eth,
    },
};

#[cfg(feature = "store")]
pub use crate::{
    report::FromStoreError,
    runs::{RunControl, RunRegistry, RunState, SendersInUse},
    shard::{DEFAULT_BARRIER_TIMEOUT, MAX_SHARDS, Shard, ShardError, ShardSpec},
};
