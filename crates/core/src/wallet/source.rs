//! [`WalletSource`]: any of the three sources behind one async `load`.

use super::{KeystoreDir, MnemonicSource, RawKeys, Wallet, WalletError};

/// Where a run's wallets come from: one value a configuration or CLI can hold.
///
/// # Examples
/// ```
/// use spam_core::{MnemonicSource, WalletSource};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), spam_core::WalletError> {
/// let source = WalletSource::from(MnemonicSource::dev().with_indices(0..3));
/// assert_eq!(source.load().await?.len(), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WalletSource {
    /// A BIP-39 phrase and an index range.
    Mnemonic(MnemonicSource),
    /// A directory of encrypted keystore files.
    Keystore(KeystoreDir),
    /// Hex keys from an environment variable or a file.
    RawKeys(RawKeys),
}

impl WalletSource {
    /// Loads the wallets. Key derivation and keystore decryption run on tokio's blocking
    /// threads, so the calling task's worker is never held for long.
    ///
    /// # Errors
    /// Whatever the source's own `load` returns: see [`MnemonicSource::load`],
    /// [`KeystoreDir::load`] and [`RawKeys::load`].
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads. Work already running on a blocking thread finishes there
    /// and its keys are dropped (zeroized).
    pub async fn load(&self) -> Result<Vec<Wallet>, WalletError> {
        match self {
            Self::Keystore(dir) => dir.load().await,
            Self::Mnemonic(source) => {
                let source = source.clone();
                blocking(move || source.load()).await
            }
            Self::RawKeys(keys) => {
                let keys = keys.clone();
                blocking(move || keys.load()).await
            }
        }
    }
}

async fn blocking(
    load: impl FnOnce() -> Result<Vec<Wallet>, WalletError> + Send + 'static,
) -> Result<Vec<Wallet>, WalletError> {
    match tokio::task::spawn_blocking(load).await {
        Ok(loaded) => loaded,
        // Never cancelled (the handle is awaited right here), so this is a panic: pass it on.
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}

impl From<MnemonicSource> for WalletSource {
    fn from(source: MnemonicSource) -> Self {
        Self::Mnemonic(source)
    }
}

impl From<KeystoreDir> for WalletSource {
    fn from(dir: KeystoreDir) -> Self {
        Self::Keystore(dir)
    }
}

impl From<RawKeys> for WalletSource {
    fn from(keys: RawKeys) -> Self {
        Self::RawKeys(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_variant_loads_through_the_enum() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.txt");
        std::fs::write(
            &file,
            "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n",
        )
        .unwrap();
        let from_mnemonic = WalletSource::from(MnemonicSource::dev().with_indices(1..2))
            .load()
            .await
            .unwrap();
        let from_file = WalletSource::from(RawKeys::from_file(&file))
            .load()
            .await
            .unwrap();
        assert_eq!(from_mnemonic, from_file);
        let err = WalletSource::from(KeystoreDir::new(dir.path().join("none")))
            .load()
            .await;
        assert!(err.is_err());
    }
}
