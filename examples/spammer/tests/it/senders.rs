//! Senders from a key file instead of the dev mnemonic, through the real binary.

use crate::common::{files_in, spammer_env};

#[test]
fn loadgen_sends_from_a_key_file() {
    let dir = tempfile::tempdir().unwrap();
    // Two of the accounts anvil funds (keys of the public dev mnemonic, indices 0 and 1).
    std::fs::write(
        dir.path().join("keys.txt"),
        "# two dev accounts\n\
         ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n\
         0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n",
    )
    .unwrap();
    let out = spammer_env(
        dir.path(),
        &[
            "loadgen",
            "--keys-file",
            "keys.txt",
            "--rate",
            "20",
            "--duration",
            "2s",
            "--no-db",
            "--quiet",
            "--min-success",
            "1",
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("from 2 senders"), "{}", out.stderr);
    assert!(out.stdout.contains("thresholds: passed"), "{}", out.stdout);
    assert_eq!(files_in(dir.path()), ["keys.txt"], "--no-db writes nothing");
    assert!(
        !out.stdout.contains("ac0974bec") && !out.stderr.contains("ac0974bec"),
        "keys never printed"
    );
}
