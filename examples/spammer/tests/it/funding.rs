//! Funding through the real binary against real anvil: a plain anvil works with default flags,
//! one funded key turns into a funded set of derived senders and back, and a run that cannot
//! be paid for is refused with nothing sent.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use spam_devnet::Devnet;

use crate::common::spammer_env;

/// A phrase that is not the dev mnemonic: its accounts hold nothing unless anvil funds them.
const OTHER_MNEMONIC: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().unwrap().block_on(future)
}

/// (block number, funder's nonce, funder's balance).
fn chain_state(devnet: &Devnet, funder: Address) -> (u64, u64, U256) {
    block_on(async {
        let p = devnet.provider();
        (
            p.get_block_number().await.unwrap(),
            p.get_transaction_count(funder).await.unwrap(),
            p.get_balance(funder).await.unwrap(),
        )
    })
}

#[test]
fn a_plain_anvil_works_with_default_flags_for_both_engines() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder()) else {
        return;
    };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        // 20 senders by default, 10 of them funded by anvil.
        &["loadgen", "--rate", "50", "--duration", "3s"][..],
        // 32 workers on 32 senders.
        &["run", "--duration", "3s"][..],
    ] {
        let mut all = args.to_vec();
        all.extend([
            "--rpc-url",
            url.as_str(),
            "--no-db",
            "-q",
            "--min-success",
            "0.99",
        ]);
        let out = spammer_env(dir.path(), &all, &[]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout
                .contains("funding (before the load, not in its figures)")
                && out
                    .stdout
                    .contains("senders topped up from 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("errors: none"), "{}", out.stdout);
    }
}

#[test]
fn one_funded_key_funds_derived_senders_and_gets_them_back() {
    let Some(devnet) = spam_devnet::for_test(
        Devnet::builder()
            .accounts(1)
            .arg("--mnemonic")
            .arg(OTHER_MNEMONIC),
    ) else {
        return;
    };
    let signer = devnet.signers().remove(0);
    let funder = signer.address();
    let key = signer.to_bytes().to_string();
    let env = [("FUNDER_KEY", key.as_str())];
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let (_, _, before) = chain_state(&devnet, funder);
    let common = [
        "--rpc-url",
        url.as_str(),
        "--funder-key-env",
        "FUNDER_KEY",
        "--wallet-seed",
        "7",
        "--no-db",
        "-q",
        "--min-success",
        "0.99",
    ];

    let mut run = vec!["run", "--workers", "8", "--duration", "3s"];
    run.extend(common);
    let out = spammer_env(dir.path(), &run, &env);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "8 senders topped up from {funder}, 0 already held enough"
        )),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&key[2..]) && !out.stderr.contains(&key[2..]));
    // "…; 0.109487 ETH sent, …": what the funder handed out, in micro-ETH.
    let funded_micro: u64 = out
        .stdout
        .split(" ETH sent")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .map(|eth| eth.replace('.', "").parse().unwrap())
        .unwrap();

    // The same seed: the same eight senders, already funded; then swept back.
    let mut loadgen = vec![
        "loadgen",
        "--senders",
        "8",
        "--rate",
        "40",
        "--duration",
        "2s",
        "--sweep",
    ];
    loadgen.extend(common);
    let out = spammer_env(dir.path(), &loadgen, &env);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("0 senders topped up") && out.stdout.contains("8 already held enough"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains(&format!("swept 8 senders back to {funder}")),
        "{}",
        out.stderr
    );

    // Every sender keeps less than one transfer's fee; the funder got back all the load did
    // not burn in fees (two short runs: far less than half of what it handed out).
    let parent = spam_core::Wallet::new(signer);
    let left: Vec<U256> = block_on(async {
        let p = devnet.provider();
        let mut left = Vec::new();
        for i in 0..8 {
            let child = parent.derive_child(7, i).address();
            left.push(p.get_balance(child).await.unwrap());
        }
        left
    });
    let one_fee = U256::from(21_000_u64 * 10_000_000_000);
    assert!(left.iter().all(|&b| b < one_fee), "{left:?}");
    let (_, _, after) = chain_state(&devnet, funder);
    let spent = before - after;
    let funded = U256::from(funded_micro) * U256::from(1_000_000_000_000_u64);

    // `wallets fund` and `wallets sweep` take the same funder and sender sources.
    for (command, expect) in [
        ("fund", "funded: 3 transfer(s)"),
        ("sweep", "swept: 3 transfer(s)"),
    ] {
        let mut args = vec![
            "wallets",
            command,
            "--rpc-url",
            url.as_str(),
            "--funder-key-env",
            "FUNDER_KEY",
            "--wallet-seed",
            "9",
            "--count",
            "3",
        ];
        if command == "fund" {
            args.extend(["--amount", "0.01eth"]);
        }
        let out = spammer_env(dir.path(), &args, &env);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains(expect), "{}", out.stdout);
    }
    assert!(
        spent < funded / U256::from(2),
        "spent {spent} wei of {funded} handed out"
    );
}

#[test]
fn a_run_the_funder_cannot_pay_for_is_refused_with_nothing_sent() {
    let Some(devnet) = spam_devnet::for_test(
        Devnet::builder()
            .accounts(1)
            .balance_eth(1)
            .arg("--mnemonic")
            .arg(OTHER_MNEMONIC),
    ) else {
        return;
    };
    let signer = devnet.signers().remove(0);
    let funder = signer.address();
    let key = signer.to_bytes().to_string();
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let before = chain_state(&devnet, funder);
    let out = spammer_env(
        dir.path(),
        &[
            "run",
            "--rpc-url",
            url.as_str(),
            "--funder-key-env",
            "FUNDER_KEY",
            "--wallet-seed",
            "3",
            "--workers",
            "64",
            "--duration",
            "30d",
        ],
        &[("FUNDER_KEY", key.as_str())],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("the funder {funder} holds 1.000000 ETH"))
            && out.stderr.contains("short by")
            && out.stderr.contains("nothing was sent"),
        "{}",
        out.stderr
    );
    assert_eq!(
        chain_state(&devnet, funder),
        before,
        "the chain is unchanged"
    );
    assert!(crate::common::files_in(dir.path()).is_empty());
}

#[test]
fn unfunded_senders_without_a_funder_off_a_dev_chain_are_refused() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().chain_id(999)) else {
        return;
    };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let first = devnet.addresses()[0];
    let before = chain_state(&devnet, first);
    let out = spammer_env(
        dir.path(),
        &["run", "--rpc-url", url.as_str(), "--duration", "2s"],
        &[],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("22 of 32 senders hold less than")
            && out.stderr.contains("--funder-key-env VAR")
            && out.stderr.contains("--no-funding"),
        "{}",
        out.stderr
    );
    assert_eq!(chain_state(&devnet, first), before, "nothing was sent");
    assert!(crate::common::files_in(dir.path()).is_empty());
}

#[test]
fn senders_that_drain_during_a_run_are_topped_up_without_insufficient_funds() {
    let Some(devnet) = spam_devnet::for_test(
        Devnet::builder()
            .accounts(1)
            .arg("--mnemonic")
            .arg(OTHER_MNEMONIC),
    ) else {
        return;
    };
    let key = devnet.signers().remove(0).to_bytes().to_string();
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    // Funded for one second of a ten-second run: the rest comes from top-ups.
    for (engine, seed) in [
        (&["run", "--workers", "4"][..], "21"),
        (&["loadgen", "--senders", "4", "--rate", "100"][..], "22"),
    ] {
        let mut args = engine.to_vec();
        args.extend([
            "--rpc-url",
            url.as_str(),
            "--funder-key-env",
            "FUNDER_KEY",
            "--wallet-seed",
            seed,
            "--duration",
            "10s",
            "--fund-for",
            "1s",
            "--no-db",
            "-q",
        ]);
        let out = spammer_env(dir.path(), &args, &[("FUNDER_KEY", key.as_str())]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("errors: none"), "{}", out.stdout);
        let during = out
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with("during the run:"))
            .unwrap_or_else(|| panic!("no top-ups: {}", out.stdout));
        let top_ups: u64 = during
            .trim_start()
            .trim_start_matches("during the run: ")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(top_ups > 0, "{during}");
        assert!(
            during.ends_with("0 senders parked for lack of funds"),
            "{during}"
        );
    }
}
