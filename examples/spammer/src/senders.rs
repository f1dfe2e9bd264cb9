//! Where `run` and `loadgen` take their senders from: keystores, a key file, or (by default)
//! the dev mnemonic. Keys are loaded before anything starts, so a bad source is bad input.

use std::path::PathBuf;

use spam_core::{KeystoreDir, MnemonicSource, RawKeys, Wallet};

use crate::input::bad_input;

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
    #[arg(long, value_name = "FILE", env = "SPAM_KEYS_FILE")]
    pub(crate) keys_file: Option<PathBuf>,
}

impl SenderArgs {
    /// Whether the senders come from the dev mnemonic (which a local anvil funds).
    pub(crate) fn is_dev(&self) -> bool {
        self.keystore_dir.is_none() && self.keys_file.is_none()
    }

    /// The senders: from the keystores or the key file, else `dev` dev-mnemonic accounts.
    pub(crate) async fn load(&self, dev: u32) -> anyhow::Result<Vec<Wallet>> {
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
            return Ok(MnemonicSource::dev().with_indices(0..dev).load()?);
        };
        if wallets.is_empty() {
            return Err(bad_input("the sender source holds no keys"));
        }
        Ok(wallets)
    }
}
