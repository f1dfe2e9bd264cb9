//! The committed artifacts (`contracts/out`) are what the pinned solc makes of the committed
//! sources (`contracts/src`).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

/// `SOLC_VERSION` from `scripts/versions.env`.
fn pinned_solc() -> String {
    let env = fs::read_to_string(root().join("scripts/versions.env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("SOLC_VERSION="))
        .expect("SOLC_VERSION in scripts/versions.env")
        .trim()
        .to_string()
}

fn json_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_artifact_names_the_pinned_compiler_and_has_code() {
    let pinned = format!("solc {}+", pinned_solc());
    let out = contracts().join("out");
    let files = json_files(&out);
    assert_eq!(files.len(), spam_tasks::contracts::artifacts().len());
    for file in files {
        let artifact: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join(&file)).unwrap()).unwrap();
        let compiler = artifact["compiler"].as_str().unwrap();
        assert!(
            compiler.starts_with(&pinned),
            "{file} was built by {compiler}, the pin is {pinned}: run ./scripts/compile-contracts.sh"
        );
        let source = artifact["source"].as_str().unwrap();
        assert!(
            contracts().join(source).is_file(),
            "{file}: {source} is missing"
        );
        assert!(artifact["bytecode"].as_str().unwrap().len() > 2, "{file}");
    }
}

/// Whether node and the pinned npm solc are installed (`./scripts/setup.sh` installs both).
fn solc_available() -> Result<(), String> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("node not found".into());
    }
    let package = root().join(".tools/node_modules/solc/package.json");
    let version = fs::read_to_string(&package)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|json| json["version"].as_str().map(str::to_string));
    match version {
        Some(v) if v == pinned_solc() => Ok(()),
        Some(v) => Err(format!("solc {v} installed, {} pinned", pinned_solc())),
        None => Err(format!("solc not installed at {}", package.display())),
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[test]
fn committed_artifacts_match_a_fresh_compile() {
    if let Err(why) = solc_available() {
        let message = format!("{why}: run ./scripts/setup.sh to install the pinned solc");
        assert!(!in_ci(), "{message} (CI never skips this check)");
        eprintln!("SKIPPED: artifact check: {message}");
        return;
    }
    let fresh = std::env::temp_dir().join(format!("spam-tasks-artifacts-{}", std::process::id()));
    let _ = fs::remove_dir_all(&fresh);
    let status = Command::new("bash")
        .arg(root().join("scripts/compile-contracts.sh"))
        .arg("--out")
        .arg(&fresh)
        .status()
        .unwrap();
    assert!(status.success(), "compile-contracts.sh failed");
    let committed = contracts().join("out");
    let (mine, theirs) = (json_files(&fresh), json_files(&committed));
    assert_eq!(
        mine, theirs,
        "artifact files differ: run ./scripts/compile-contracts.sh"
    );
    for file in &mine {
        let a = fs::read_to_string(fresh.join(file)).unwrap();
        let b = fs::read_to_string(committed.join(file)).unwrap();
        assert!(
            a == b,
            "{file} is stale: run ./scripts/compile-contracts.sh and commit contracts/out"
        );
    }
    fs::remove_dir_all(&fresh).unwrap();
}
