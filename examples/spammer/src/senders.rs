//! Where `run` and `loadgen` take their senders from: keystores, a key file, or (by default)
//! the dev mnemonic. Keys are loaded before anything starts, so a bad source is bad input.

use std::path::PathBuf;

use spam_core::{KeystoreDir, MnemonicSource, RawKeys, Wallet};

use crate::input::{self, bad_input};

/// Sender sources, flattened into `run` and `loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SenderArgs {
    /// Senders from a directory of Web3 Secret Storage keystores (what `cast wallet new` and
    /// `spammer wallets new` write); the password comes from --password-env. Default: the dev
    /// mnemonic (--senders of them).
    #[arg(
        long,
        value_name = "DIR",
        env = "SPAM_KEYSTORE_DIR",
        conflicts_with = "keys_file"
    )]
    pub(crate) keystore_dir: Option<PathBuf>,
    /// The environment variable holding the keystores' password.
    #[arg(long, value_name = "VAR", default_value = "SPAM_KEYSTORE_PASSWORD")]
    pub(crate) password_env: String,
    /// Senders from a file of hex private keys, one per line (blank lines and `#` comments
    /// skipped).
    #[arg(long, value_name = "FILE", env = "SPAM_KEYS_FILE",
          conflicts_with_all = ["wallet_seed", "mnemonic_env"])]
    pub(crate) keys_file: Option<PathBuf>,
    /// Senders derived from the funder's key (--funder-key-env or --funder-keystore) and this
    /// seed: the same seed gives the same senders run after run, so leftovers can be swept.
    /// Never written to disk.
    #[arg(long, value_name = "N", value_parser = input::whole, allow_hyphen_values = true,
          conflicts_with_all = ["keystore_dir", "mnemonic_env"])]
    pub(crate) wallet_seed: Option<u64>,
    /// Senders from the BIP-39 phrase held in this environment variable (accounts
    /// --mnemonic-first, --mnemonic-first + 1, …; never printed).
    #[arg(long, value_name = "VAR", conflicts_with = "keystore_dir")]
    pub(crate) mnemonic_env: Option<String>,
    /// The first account index of --mnemonic-env.
    #[arg(long, value_name = "N", default_value = "0", requires = "mnemonic_env",
          value_parser = input::index, allow_hyphen_values = true)]
    pub(crate) mnemonic_first: u32,
}

impl SenderArgs {
    /// Whether the senders come from the dev mnemonic (which a local anvil funds).
    pub(crate) fn is_dev(&self) -> bool {
        self.keystore_dir.is_none()
            && self.keys_file.is_none()
            && self.wallet_seed.is_none()
            && self.mnemonic_env.is_none()
    }

    /// The senders: from the keystores or the key file, else `count` accounts derived from
    /// `funder` and --wallet-seed, or of --mnemonic-env, or of the dev mnemonic.
    pub(crate) async fn load(
        &self,
        count: u32,
        funder: Option<&Wallet>,
    ) -> anyhow::Result<Vec<Wallet>> {
        if let Some(seed) = self.wallet_seed {
            let Some(funder) = funder else {
                return Err(bad_input(
                    "--wallet-seed derives the senders from the funder's key: add \
                     --funder-key-env VAR or --funder-keystore FILE",
                ));
            };
            return Ok((0..count).map(|i| funder.derive_child(seed, i)).collect());
        }
        if let Some(var) = &self.mnemonic_env {
            let first = self.mnemonic_first;
            let last = first
                .checked_add(count)
                .filter(|&end| end <= 1 << 31)
                .ok_or_else(|| {
                    bad_input(format!(
                        "--mnemonic-first {first} with {count} senders goes past index 2^31"
                    ))
                })?;
            return MnemonicSource::from_env(var)
                .map_err(|err| bad_input(format!("--mnemonic-env {var}: {err}")))?
                .with_indices(first..last)
                .load()
                .map_err(|err| bad_input(format!("--mnemonic-env {var}: {err}")));
        }
        let wallets = if let Some(dir) = &self.keystore_dir {
            KeystoreDir::new(dir)
                .with_password_env(&self.password_env)
                .load()
                .await
                .map_err(|err| bad_input(format!("--keystore-dir {}: {err}", dir.display())))?
        } else if let Some(file) = &self.keys_file {
            RawKeys::from_file(file)
                .load()
                .map_err(|err| bad_input(format!("--keys-file {}: {err}", file.display())))?
        } else {
            return Ok(MnemonicSource::dev().with_indices(0..count).load()?);
        };
        if wallets.is_empty() {
            return Err(bad_input("the sender source holds no keys"));
        }
        Ok(wallets)
    }
}
