//! Wallet sources against the real tools: keystores written by Foundry's `cast wallet new`,
//! mnemonic derivation checked against anvil's accounts and `cast wallet address`, and the
//! errors a user sees for a wrong password, corrupt JSON, a bad mnemonic or a bad hex key.
//!
//! Tests that read environment variables never `set_var`: other tests of this binary run on
//! threads of the same process, and C code there (DNS lookups of `localhost`, for one) reads
//! the environment without Rust's lock. Such a test runs itself again in a child process of
//! this binary, started with the variables set ([`in_child_with_env`]).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use alloy::primitives::Address;
use spam_core::{
    KeyOrigin, KeyProblem, KeystoreDir, MnemonicProblem, MnemonicSource, RawKeys, Wallet,
    WalletError, WalletSource,
};

const PASSWORD: &str = "correct horse battery staple";
/// anvil's first three dev accounts.
const ANVIL: [&str; 3] = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
];
/// The dev mnemonic's key at index 0 (anvil's account 0).
const KEY0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// Set in the child process [`in_child_with_env`] starts, to the test's name.
const CHILD: &str = "SPAM_TEST_WALLET_SOURCES_CHILD";

/// In the test binary's own process: runs the calling test again, alone, in a child process of
/// this binary with `vars` set, asserts that it passed there, and returns `false` (the caller
/// returns). In that child: returns `true` (the caller goes on, its variables set).
fn in_child_with_env(vars: &[(&str, &str)]) -> bool {
    // libtest runs each test on a thread named after it
    let test = std::thread::current()
        .name()
        .expect("a test thread is named after its test")
        .to_owned();
    if std::env::var_os(CHILD).is_some_and(|name| name == *test) {
        return true;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, &test)
        .envs(vars.iter().copied())
        .output()
        .expect("the test binary runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // shown when this test fails, or with --nocapture
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} in a child process with {:?} set: {}",
        vars.iter().map(|(var, _)| var).collect::<Vec<_>>(),
        out.status
    );
    false
}

/// Runs `cast wallet new <dir> --unsafe-password <pw> -n <count>`; returns (file, address)
/// pairs parsed from its output.
fn cast_new(cast: &Path, dir: &Path, count: usize) -> Vec<(PathBuf, Address)> {
    let out = Command::new(cast)
        .args(["wallet", "new"])
        .arg(dir)
        .args(["--unsafe-password", PASSWORD, "-n", &count.to_string()])
        .env_remove("CAST_PASSWORD")
        .output()
        .expect("cast runs");
    assert!(
        out.status.success(),
        "cast failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut files = text
        .lines()
        .filter_map(|l| l.strip_prefix("Created new encrypted keystore file:"))
        .map(|p| PathBuf::from(p.trim()));
    let created: Vec<(PathBuf, Address)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Address:"))
        .map(|a| {
            (
                files.next().expect("a file per address"),
                a.trim().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(created.len(), count, "cast output:\n{text}");
    created
}

fn addresses(wallets: &[Wallet]) -> Vec<Address> {
    wallets.iter().map(Wallet::address).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_keystores_written_by_cast() {
    let var = "SPAM_TEST_CAST_KEYSTORE_PASSWORD";
    if !in_child_with_env(&[(var, PASSWORD)]) {
        return;
    }
    let Some(cast) = spam_devnet::cast_for_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut created = cast_new(&cast, dir.path(), 3);
    created.sort();

    let source = KeystoreDir::new(dir.path()).with_password_env(var);
    assert_eq!(source.files().unwrap().len(), 3);
    let wallets = WalletSource::from(source).load().await.unwrap();
    let want: Vec<Address> = created.iter().map(|(_, a)| *a).collect();
    assert_eq!(
        addresses(&wallets),
        want,
        "file-name order, cast's addresses"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystore_errors_name_the_file_and_the_variable() {
    let (wrong, corrupt) = (
        "SPAM_TEST_WRONG_KEYSTORE_PASSWORD",
        "SPAM_TEST_CORRUPT_KEYSTORE_PASSWORD",
    );
    if !in_child_with_env(&[(wrong, "hunter2"), (corrupt, PASSWORD)]) {
        return;
    }
    let Some(cast) = spam_devnet::cast_for_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let created = cast_new(&cast, dir.path(), 1);

    // Wrong password: names the keystore, never the password tried.
    let var = wrong;
    let err = KeystoreDir::new(dir.path())
        .with_password_env(var)
        .load()
        .await
        .unwrap_err();
    match &err {
        WalletError::WrongPassword { path } => assert_eq!(*path, created[0].0),
        other => panic!("expected WrongPassword, got {other:?}"),
    }
    let shown = format!("{err} / {err:?}");
    assert!(
        shown.contains(&created[0].0.display().to_string()),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "{shown}");

    // Corrupt JSON next to a good file: names the broken file.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"crypto": {"cipher": "aes-128-ctr", "#).unwrap();
    let var = corrupt;
    let err = KeystoreDir::new(dir.path())
        .with_password_env(var)
        .load()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WalletError::CorruptKeystore { path, .. } if *path == broken),
        "{err:?}"
    );
    assert!(err.to_string().contains("broken.json"), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the json error is kept"
    );
}

#[test]
fn dev_mnemonic_matches_anvil_and_cast() {
    let wallets = MnemonicSource::dev().with_indices(0..3).load().unwrap();
    let want: Vec<Address> = ANVIL.iter().map(|a| a.parse().unwrap()).collect();
    assert_eq!(addresses(&wallets), want);
    assert_eq!(MnemonicSource::DEV_PHRASE, spam_devnet::DEV_MNEMONIC);

    // Indices anvil does not fund, checked against cast's own derivation.
    let Some(cast) = spam_devnet::cast_for_test() else {
        return;
    };
    let wallets = MnemonicSource::dev()
        .with_indices(1000..1003)
        .load()
        .unwrap();
    for (i, wallet) in (1000..).zip(&wallets) {
        let out = Command::new(&cast)
            .args(["wallet", "address", "--mnemonic", spam_devnet::DEV_MNEMONIC])
            .args(["--mnemonic-index", &i.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success());
        let address: Address = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(wallet.address(), address, "index {i}");
    }
}

#[test]
fn mnemonic_from_env_and_bad_mnemonics() {
    let (good, bad) = ("SPAM_TEST_GOOD_MNEMONIC", "SPAM_TEST_BAD_MNEMONIC");
    let bad_phrase = "test test test test test test test test test test test test";
    if !in_child_with_env(&[(good, spam_devnet::DEV_MNEMONIC), (bad, bad_phrase)]) {
        return;
    }
    let var = good;
    let wallets = MnemonicSource::from_env(var)
        .unwrap()
        .with_indices(0..1)
        .load()
        .unwrap();
    assert_eq!(wallets[0].address().to_string(), ANVIL[0]);

    let var = bad;
    let err = MnemonicSource::from_env(var).unwrap().load().unwrap_err();
    match &err {
        WalletError::BadMnemonic { origin, problem } => {
            assert_eq!(*problem, MnemonicProblem::Checksum);
            assert!(origin.contains(var));
        }
        other => panic!("expected BadMnemonic, got {other:?}"),
    }
    assert!(!err.to_string().contains("test test"), "{err}");

    let err = MnemonicSource::new("test test tset test test test test test test test test junk")
        .load()
        .unwrap_err();
    assert!(matches!(
        err,
        WalletError::BadMnemonic {
            problem: MnemonicProblem::UnknownWord(3),
            ..
        }
    ));
    assert!(matches!(
        MnemonicSource::from_env("SPAM_TEST_NEVER_SET_MNEMONIC"),
        Err(WalletError::MissingEnv { .. })
    ));
}

#[test]
fn raw_keys_from_file_and_env_with_clear_errors() {
    let key1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let (good_var, bad_var) = ("SPAM_TEST_RAW_KEYS", "SPAM_TEST_BAD_RAW_KEYS");
    let (good_keys, bad_keys) = (
        format!("{KEY0},{key1}"),
        format!("{KEY0}\n0x{}zz", &KEY0[..62]),
    );
    if !in_child_with_env(&[(good_var, &good_keys), (bad_var, &bad_keys)]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.txt");
    std::fs::write(&file, format!("# dev keys\n{KEY0}\n\n{key1}  # second\n")).unwrap();
    let wallets = RawKeys::from_file(&file).load().unwrap();
    assert_eq!(
        addresses(&wallets),
        [
            ANVIL[0].parse::<Address>().unwrap(),
            ANVIL[1].parse().unwrap()
        ]
    );

    // A bad line: the file and the line number, not the text.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, format!("{KEY0}\n# ok so far\n0x{}\n", &KEY0[..40])).unwrap();
    let err = RawKeys::from_file(&bad).load().unwrap_err();
    match &err {
        WalletError::BadKey {
            origin: KeyOrigin::File { path, line },
            problem,
        } => {
            assert_eq!((path, *line), (&bad, 3));
            assert_eq!(*problem, KeyProblem::Length(40));
        }
        other => panic!("expected BadKey, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}:3: ", bad.display())),
        "{shown}"
    );
    assert!(!format!("{shown} {err:?}").contains(&KEY0[..40]));

    // The environment: the variable and the entry.
    let var = good_var;
    let wallets = RawKeys::from_env(var).load().unwrap();
    assert_eq!(wallets.len(), 2);
    let var = bad_var;
    let err = RawKeys::from_env(var).load().unwrap_err();
    match &err {
        WalletError::BadKey {
            origin: KeyOrigin::Env { var: v, entry },
            problem,
        } => assert_eq!((v.as_str(), *entry, *problem), (var, 2, KeyProblem::NotHex)),
        other => panic!("expected BadKey, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!("environment variable {var}, entry 2: not a valid private key (not hex)")
    );

    let err = RawKeys::from_file(dir.path().join("missing.txt"))
        .load()
        .unwrap_err();
    assert!(matches!(err, WalletError::Read { .. }));
    assert!(err.to_string().contains("missing.txt"));
}

#[test]
fn nothing_that_holds_a_key_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.txt");
    std::fs::write(&file, format!("0x{KEY0}\n")).unwrap();
    let wallets = RawKeys::from_file(&file).load().unwrap();
    let source = WalletSource::from(MnemonicSource::dev());
    let shown = format!(
        "{wallets:?} {wallets:#?} {} {source:?} {:?}",
        wallets[0],
        wallets[0].signer()
    );
    assert!(shown.contains(ANVIL[0]), "{shown}");
    for secret in [KEY0, &KEY0.to_uppercase(), "junk", "test test"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}
