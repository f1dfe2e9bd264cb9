//! [`KeystoreDir`]: a directory of Web3 Secret Storage files, decrypted in parallel.

use std::{
    fmt,
    num::NonZeroUsize,
    path::{Path, PathBuf},
    sync::Arc,
};

use tokio::task::JoinSet;
use zeroize::Zeroizing;

use super::{Wallet, WalletError, keys::read_env, signer::dedup};

/// Every keystore file in one directory (the Web3 Secret Storage JSON that `cast wallet new`,
/// geth and `eth-keystore` write), all encrypted with one password.
///
/// The password comes from an environment variable,
/// [`DEFAULT_PASSWORD_ENV`](Self::DEFAULT_PASSWORD_ENV) unless
/// [`with_password_env`](Self::with_password_env) names another, and is held in
/// [`Zeroizing`] while decrypting. Every regular file whose name does not start with `.` is
/// read as a keystore, whatever its extension (cast names files by UUID, geth `UTC--…`);
/// sub-directories are ignored. Wallets come back sorted by file name.
///
/// Decryption runs scrypt (geth's "light" parameters: 8 MiB and tens of milliseconds per file,
/// much more in an unoptimised build), so [`load`](Self::load) decrypts on tokio's blocking
/// threads, several files at a time.
///
/// # Examples
/// ```no_run
/// use spam_core::KeystoreDir;
///
/// # async fn run() -> Result<(), spam_core::WalletError> {
/// // Password from $DEPLOY_PASSWORD instead of $SPAM_KEYSTORE_PASSWORD.
/// let wallets = KeystoreDir::new("./keystores")
///     .with_password_env("DEPLOY_PASSWORD")
///     .load()
///     .await?;
/// println!("loaded {}", wallets.len());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct KeystoreDir {
    dir: PathBuf,
    password: Password,
    parallelism: NonZeroUsize,
}

#[derive(Clone)]
enum Password {
    Env(String),
    Given(Zeroizing<String>),
}

impl KeystoreDir {
    /// The environment variable read for the password unless another is set.
    pub const DEFAULT_PASSWORD_ENV: &'static str = "SPAM_KEYSTORE_PASSWORD";

    /// The keystores in `dir`, password from [`DEFAULT_PASSWORD_ENV`](Self::DEFAULT_PASSWORD_ENV),
    /// decrypting as many files at once as the machine has cores.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            password: Password::Env(Self::DEFAULT_PASSWORD_ENV.to_owned()),
            parallelism: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
        }
    }

    /// Reads the password from environment variable `var` instead.
    pub fn with_password_env(mut self, var: impl Into<String>) -> Self {
        self.password = Password::Env(var.into());
        self
    }

    /// Uses `password` directly (for programs that obtained it some other way, e.g. a prompt).
    pub fn with_password(mut self, password: Zeroizing<String>) -> Self {
        self.password = Password::Given(password);
        self
    }

    /// Decrypts at most `files` at once (each takes one blocking thread and 8 MiB for scrypt).
    pub const fn with_parallelism(mut self, files: NonZeroUsize) -> Self {
        self.parallelism = files;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files [`load`](Self::load) decrypts, sorted by name.
    ///
    /// # Errors
    /// [`WalletError::Read`] when the directory cannot be listed.
    pub fn files(&self) -> Result<Vec<PathBuf>, WalletError> {
        let read = |source| WalletError::Read {
            path: self.dir.clone(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            let hidden = path
                .file_name()
                .is_some_and(|name| name.as_encoded_bytes().starts_with(b"."));
            if !hidden && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// Decrypts every keystore, several at a time on blocking threads; one wallet per file in
    /// file-name order (a key found in two files is kept once).
    ///
    /// # Errors
    /// [`WalletError::MissingPasswordEnv`] (naming the variable) before touching any file;
    /// [`WalletError::Read`] for the directory or a file; [`WalletError::Empty`] when there is
    /// no file; per file [`WalletError::WrongPassword`] or [`WalletError::CorruptKeystore`]. On
    /// the first failing file it stops scheduling and returns that file's error.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads. Dropped early, files not yet started are skipped; a
    /// decryption already running on a blocking thread finishes there and its key is dropped
    /// (zeroized) with the task.
    pub async fn load(&self) -> Result<Vec<Wallet>, WalletError> {
        let password = Arc::new(self.password()?);
        let files = self.files()?;
        if files.is_empty() {
            return Err(WalletError::Empty {
                what: format!("keystore directory {}", self.dir.display()),
            });
        }
        let mut wallets: Vec<Option<Wallet>> = vec![None; files.len()];
        let mut pending = files.into_iter().enumerate();
        let mut running = JoinSet::new();
        loop {
            while running.len() < self.parallelism.get() {
                let Some((i, path)) = pending.next() else {
                    break;
                };
                let password = Arc::clone(&password);
                running.spawn_blocking(move || (i, Wallet::from_keystore(&path, &password)));
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (i, wallet) = done.map_err(|source| WalletError::Task {
                path: self.dir.clone(),
                source,
            })?;
            wallets[i] = Some(wallet?);
        }
        let mut wallets: Vec<Wallet> = wallets.into_iter().flatten().collect();
        dedup(
            &mut wallets,
            &format!("keystore directory {}", self.dir.display()),
        );
        Ok(wallets)
    }

    fn password(&self) -> Result<Zeroizing<String>, WalletError> {
        match &self.password {
            Password::Given(password) => Ok(password.clone()),
            Password::Env(var) => {
                read_env(var)?.ok_or_else(|| WalletError::MissingPasswordEnv { var: var.clone() })
            }
        }
    }
}

impl fmt::Debug for KeystoreDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let password = match &self.password {
            Password::Env(var) => format!("env {var}"),
            Password::Given(_) => "<given>".to_owned(),
        };
        f.debug_struct("KeystoreDir")
            .field("dir", &self.dir)
            .field("password", &password)
            .field("parallelism", &self.parallelism)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use alloy::signers::local::PrivateKeySigner;

    use super::*;

    fn write_keystore(dir: &Path, name: &str, password: &str) -> Wallet {
        let mut rng = rand_08_free_rng();
        let (signer, _) =
            PrivateKeySigner::new_keystore(dir, &mut rng, password, Some(name)).unwrap();
        Wallet::new(signer)
    }

    /// eth-keystore takes a rand 0.8 RNG; alloy re-exports none, so use the OS RNG through
    /// k256's `rand_core`.
    fn rand_08_free_rng() -> alloy::signers::k256::elliptic_curve::rand_core::OsRng {
        alloy::signers::k256::elliptic_curve::rand_core::OsRng
    }

    fn given(dir: &Path, password: &str) -> KeystoreDir {
        KeystoreDir::new(dir).with_password(Zeroizing::new(password.to_owned()))
    }

    #[tokio::test]
    async fn loads_in_file_name_order_and_skips_hidden_files_and_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let b = write_keystore(dir.path(), "b", "pw");
        let a = write_keystore(dir.path(), "a", "pw");
        std::fs::write(dir.path().join(".DS_Store"), "junk").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let wallets = given(dir.path(), "pw").load().await.unwrap();
        assert_eq!(wallets, vec![a, b]);
    }

    #[tokio::test]
    async fn wrong_password_and_corrupt_json_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_keystore(dir.path(), "good", "pw");
        let err = given(dir.path(), "nope").load().await.unwrap_err();
        assert!(
            matches!(&err, WalletError::WrongPassword { path } if path.ends_with("good")),
            "{err:?}"
        );
        std::fs::write(dir.path().join("broken"), "{\"crypto\": ").unwrap();
        let err = given(dir.path(), "pw")
            .with_parallelism(NonZeroUsize::MIN)
            .load()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, WalletError::CorruptKeystore { path, .. } if path.ends_with("broken")),
            "{err:?}"
        );
        assert!(err.to_string().contains("broken"), "{err}");
    }

    #[tokio::test]
    async fn missing_env_empty_and_unreadable_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let var = "SPAM_TEST_SURELY_UNSET_KEYSTORE_PASSWORD";
        let err = KeystoreDir::new(dir.path())
            .with_password_env(var)
            .load()
            .await
            .unwrap_err();
        assert!(matches!(&err, WalletError::MissingPasswordEnv { var: v } if v == var));
        assert!(err.to_string().contains(var));

        let err = given(dir.path(), "pw").load().await.unwrap_err();
        assert!(matches!(err, WalletError::Empty { .. }), "{err:?}");

        let missing = dir.path().join("missing");
        let err = given(&missing, "pw").load().await.unwrap_err();
        assert!(matches!(&err, WalletError::Read { path, .. } if *path == missing));
    }

    #[test]
    fn debug_hides_a_given_password() {
        let shown = format!("{:?}", given(Path::new("k"), "hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<given>"));
    }
}
