//! [`RawKeys`]: hex private keys from an environment variable or a file.

use std::{
    env,
    io::Read,
    path::{Path, PathBuf},
};

use alloy::{primitives::hex, signers::local::PrivateKeySigner};
use zeroize::Zeroizing;

use super::{KeyOrigin, KeyProblem, Wallet, WalletError, signer::dedup};

/// Hex private keys (64 digits, `0x` optional), from an environment variable or a file.
///
/// A file holds one key per line; blank lines are skipped and `#` starts a comment that runs to
/// the end of the line. An environment variable holds keys separated by newlines, commas or
/// spaces (`#` comments work there too). The text read is held in [`Zeroizing`] buffers and
/// wiped once parsed; errors name the file and line, or the variable and entry, never the text.
/// The same key given twice yields one wallet.
///
/// # Examples
/// ```
/// use spam_core::RawKeys;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("keys.txt");
/// std::fs::write(
///     &path,
///     "# deployer\n0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n",
/// )?;
/// let wallets = RawKeys::from_file(&path).load()?;
/// assert_eq!(
///     wallets[0].address().to_string(),
///     "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawKeys {
    from: Place,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Env(String),
    File(PathBuf),
}

impl RawKeys {
    /// Keys held by environment variable `var`.
    pub fn from_env(var: impl Into<String>) -> Self {
        Self {
            from: Place::Env(var.into()),
        }
    }

    /// Keys in the file at `path`, one per line.
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        Self {
            from: Place::File(path.into()),
        }
    }

    /// Reads and parses the keys, in order of appearance.
    ///
    /// Synchronous: one small read, then one curve multiplication per key.
    ///
    /// # Errors
    /// [`WalletError::MissingEnv`] / [`WalletError::EnvNotUnicode`] for an unset or non-UTF-8
    /// variable, [`WalletError::Read`] for an unreadable file, [`WalletError::BadKey`] naming
    /// the first bad line or entry, [`WalletError::Empty`] when there is no key at all.
    pub fn load(&self) -> Result<Vec<Wallet>, WalletError> {
        let mut wallets = match &self.from {
            Place::Env(var) => {
                let text =
                    read_env(var)?.ok_or_else(|| WalletError::MissingEnv { var: var.clone() })?;
                parse_env(var, &text)?
            }
            Place::File(path) => {
                let bytes = read_secret_file(path).map_err(|source| WalletError::Read {
                    path: path.clone(),
                    source,
                })?;
                parse_file(path, &bytes)?
            }
        };
        if wallets.is_empty() {
            return Err(WalletError::Empty { what: self.what() });
        }
        dedup(&mut wallets, &self.what());
        Ok(wallets)
    }

    fn what(&self) -> String {
        match &self.from {
            Place::Env(var) => format!("environment variable {var}"),
            Place::File(path) => format!("key file {}", path.display()),
        }
    }
}

/// Reads environment variable `var` into a zeroizing buffer; `None` when unset.
///
/// The process environment keeps its own copy, which this crate cannot wipe.
pub(crate) fn read_env(var: &str) -> Result<Option<Zeroizing<String>>, WalletError> {
    match env::var_os(var) {
        None => Ok(None),
        Some(value) => value
            .into_string()
            .map(|s| Some(Zeroizing::new(s)))
            // The rejected `OsString` is dropped unwiped; it is not put in the error.
            .map_err(|_| WalletError::EnvNotUnicode {
                var: var.to_owned(),
            }),
    }
}

/// Reads a whole file into a zeroizing buffer sized up front, so no grown-out copy of the
/// text is left behind in freed memory.
fn read_secret_file(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata().map_or(0, |m| m.len());
    let mut buf = Zeroizing::new(Vec::with_capacity(
        usize::try_from(len).unwrap_or(0).saturating_add(1),
    ));
    file.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Parses a key file's bytes: one key per line.
pub(crate) fn parse_file(path: &Path, bytes: &[u8]) -> Result<Vec<Wallet>, WalletError> {
    let mut wallets = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let origin = || KeyOrigin::File {
            path: path.to_path_buf(),
            line: i + 1,
        };
        let Ok(line) = std::str::from_utf8(line) else {
            return Err(WalletError::BadKey {
                origin: origin(),
                problem: KeyProblem::NotHex,
            });
        };
        let entry = strip_comment(line).trim();
        if entry.is_empty() {
            continue;
        }
        let wallet = parse_key(entry).map_err(|problem| WalletError::BadKey {
            origin: origin(),
            problem,
        })?;
        wallets.push(wallet);
    }
    Ok(wallets)
}

/// Parses an environment variable's value: keys separated by newlines, commas or spaces.
pub(crate) fn parse_env(var: &str, text: &str) -> Result<Vec<Wallet>, WalletError> {
    text.lines()
        .flat_map(|line| strip_comment(line).split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|entry| !entry.is_empty())
        .enumerate()
        .map(|(i, entry)| {
            parse_key(entry).map_err(|problem| WalletError::BadKey {
                origin: KeyOrigin::Env {
                    var: var.to_owned(),
                    entry: i + 1,
                },
                problem,
            })
        })
        .collect()
}

fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(before, _)| before)
}

/// One hex key, `0x` optional, into a wallet; the decoded bytes are wiped.
pub(crate) fn parse_key(text: &str) -> Result<Wallet, KeyProblem> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.len() != 64 {
        return Err(KeyProblem::Length(digits.chars().count()));
    }
    // Checked here, not by the decoder: its error names the offending character.
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyProblem::NotHex);
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(digits, &mut bytes[..]).map_err(|_| KeyProblem::NotHex)?;
    PrivateKeySigner::from_slice(&bytes[..])
        .map(Wallet::new)
        .map_err(|_| KeyProblem::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const K1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    const A0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const A1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    fn addresses(wallets: &[Wallet]) -> Vec<String> {
        wallets.iter().map(|w| w.address().to_string()).collect()
    }

    #[test]
    fn file_with_comments_blanks_and_optional_prefix() {
        let text = format!("# two keys\n\n  {K0}  \n{K1} # second\n\r\n");
        let wallets = parse_file(Path::new("k.txt"), text.as_bytes()).unwrap();
        assert_eq!(addresses(&wallets), [A0, A1]);
    }

    #[test]
    fn env_value_splits_on_commas_spaces_and_newlines() {
        let text = format!("{K0}, {K1}\n{K0}");
        let wallets = parse_env("KEYS", &text).unwrap();
        assert_eq!(addresses(&wallets), [A0, A1, A0]);
    }

    #[test]
    fn bad_lines_are_named_without_their_text() {
        let short = &K0[..63];
        let text = format!("{K0}\n\n# c\n{short}\n");
        let err = parse_file(Path::new("k.txt"), text.as_bytes()).unwrap_err();
        assert!(
            matches!(
                &err,
                WalletError::BadKey {
                    origin: KeyOrigin::File { line: 4, .. },
                    problem: KeyProblem::Length(63)
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "k.txt:4: not a valid private key (63 characters, expected 64 hex digits)"
        );
        assert!(!format!("{err:?}").contains(&K0[..16]));
    }

    #[test]
    fn key_problems() {
        let not_hex = format!("{}zz", &K0[..62]);
        assert_eq!(parse_key(&not_hex).unwrap_err(), KeyProblem::NotHex);
        assert_eq!(
            parse_key(&"0".repeat(64)).unwrap_err(),
            KeyProblem::OutOfRange
        );
        assert_eq!(
            parse_key(&"f".repeat(64)).unwrap_err(),
            KeyProblem::OutOfRange
        );
        assert_eq!(parse_key("0x").unwrap_err(), KeyProblem::Length(0));
        assert_eq!(
            parse_key(&K0.to_uppercase()).unwrap().address().to_string(),
            A0
        );
        let err = parse_env("KEYS", &format!("{K0},{not_hex}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable KEYS, entry 2: not a valid private key (not hex)"
        );
    }

    #[test]
    fn invalid_utf8_line_is_reported_by_number() {
        let mut bytes = format!("{K0}\n").into_bytes();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        let err = parse_file(Path::new("k.txt"), &bytes).unwrap_err();
        assert!(matches!(
            err,
            WalletError::BadKey {
                origin: KeyOrigin::File { line: 2, .. },
                problem: KeyProblem::NotHex
            }
        ));
    }

    #[test]
    fn missing_file_and_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.txt");
        let err = RawKeys::from_file(&missing).load().unwrap_err();
        assert!(matches!(err, WalletError::Read { ref path, .. } if *path == missing));
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# nothing\n\n").unwrap();
        let err = RawKeys::from_file(&empty).load().unwrap_err();
        assert!(matches!(err, WalletError::Empty { .. }));
        assert!(err.to_string().contains("empty.txt"), "{err}");
    }
}
