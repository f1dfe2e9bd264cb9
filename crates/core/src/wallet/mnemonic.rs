//! [`MnemonicSource`]: wallets derived from a BIP-39 phrase at `m/44'/60'/0'/0/i`.

use std::{fmt, ops::Range};

use alloy::signers::local::{
    LocalSignerError, MnemonicBuilder,
    coins_bip39::{English, MnemonicError, Wordlist},
};
use zeroize::Zeroizing;

use super::{MnemonicProblem, Wallet, WalletError, keys::read_env};

/// Highest non-hardened BIP-32 index plus one.
const HARDENED: u32 = 1 << 31;

/// Wallets derived from a BIP-39 English mnemonic at `m/44'/60'/0'/0/i` for `i` in a range.
///
/// The default is [`DEV_PHRASE`](Self::DEV_PHRASE), the public mnemonic whose first accounts
/// anvil and hardhat fund, with indices `0..10`. Keys are derived in memory and never written
/// anywhere.
///
/// The phrase is held in [`Zeroizing`]; alloy's `MnemonicBuilder` copies it into a plain
/// `String` while deriving, which this crate cannot zeroize.
///
/// # Examples
/// ```
/// use spam_core::MnemonicSource;
///
/// let wallets = MnemonicSource::dev().with_indices(0..2).load()?;
/// assert_eq!(
///     wallets[0].address().to_string(),
///     "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
/// );
/// # Ok::<(), spam_core::WalletError>(())
/// ```
#[derive(Clone)]
pub struct MnemonicSource {
    phrase: Zeroizing<String>,
    origin: String,
    indices: Range<u32>,
}

impl MnemonicSource {
    /// The well-known development mnemonic anvil funds by default. Public knowledge: its
    /// accounts are drained on any network where they hold value.
    pub const DEV_PHRASE: &'static str =
        "test test test test test test test test test test test junk";

    /// The development mnemonic with indices `0..10` (anvil's funded accounts).
    pub fn dev() -> Self {
        Self::with_origin(
            Self::DEV_PHRASE.to_owned().into(),
            "the dev mnemonic".to_owned(),
        )
    }

    /// A phrase given by the caller, with indices `0..10`. Extra whitespace is ignored and
    /// words are matched lowercase; the phrase is checked by [`load`](Self::load).
    pub fn new(phrase: impl Into<String>) -> Self {
        Self::with_origin(phrase.into().into(), "the given phrase".to_owned())
    }

    /// The phrase held by environment variable `var`, with indices `0..10`.
    ///
    /// # Errors
    /// [`WalletError::MissingEnv`] when unset, [`WalletError::EnvNotUnicode`] when not UTF-8.
    pub fn from_env(var: &str) -> Result<Self, WalletError> {
        let phrase = read_env(var)?.ok_or_else(|| WalletError::MissingEnv {
            var: var.to_owned(),
        })?;
        Ok(Self::with_origin(
            phrase,
            format!("environment variable {var}"),
        ))
    }

    fn with_origin(phrase: Zeroizing<String>, origin: String) -> Self {
        Self {
            phrase,
            origin,
            indices: 0..10,
        }
    }

    /// Derives the indices in `indices` (end excluded) instead of `0..10`.
    pub fn with_indices(mut self, indices: Range<u32>) -> Self {
        self.indices = indices;
        self
    }

    /// The indices that [`load`](Self::load) derives.
    pub fn indices(&self) -> Range<u32> {
        self.indices.clone()
    }

    /// Derives one wallet per index, in index order.
    ///
    /// Synchronous and CPU-bound: one PBKDF2 seed (2 048 HMAC-SHA512 rounds), then two curve
    /// multiplications per key (well under a millisecond each). For thousands of keys from
    /// async code, call it inside `tokio::task::spawn_blocking`, as
    /// [`WalletSource::load`](super::WalletSource::load) does.
    ///
    /// # Errors
    /// [`WalletError::BadMnemonic`] (word count, unknown word with its position, checksum),
    /// [`WalletError::BadIndexRange`] when the range reaches 2^31, [`WalletError::Empty`] for
    /// an empty range, [`WalletError::Derive`] if BIP-32 derivation fails.
    pub fn load(&self) -> Result<Vec<Wallet>, WalletError> {
        let Range { start, end } = self.indices;
        if end > HARDENED {
            return Err(WalletError::BadIndexRange { start, end });
        }
        if start >= end {
            return Err(WalletError::Empty {
                what: format!("mnemonic index range {start}..{end}"),
            });
        }
        let phrase = self.normalized()?;
        let builder = MnemonicBuilder::<English>::default()
            .phrase(phrase.as_str())
            .index(start)
            .map_err(|source| WalletError::Derive {
                index: start,
                source,
            })?;
        // The parent key `m/44'/60'/0'/0` is derived once; each wallet is one child step.
        let parent = builder.build_parent_key().map_err(|err| match err {
            // Every word is known and the count is right, so this is the checksum. Its source
            // is dropped on purpose: `InvalidPhrase` prints the whole phrase.
            LocalSignerError::Bip39Error(MnemonicError::InvalidPhrase(_)) => {
                self.bad(MnemonicProblem::Checksum)
            }
            source => WalletError::Derive {
                index: start,
                source,
            },
        })?;
        (start..end)
            .map(|index| {
                parent
                    .child(index)
                    .map(|key| Wallet::new(key.signer()))
                    .map_err(|source| WalletError::Derive { index, source })
            })
            .collect()
    }

    /// The phrase as single-space separated lowercase words, checked word by word so an error
    /// can say which word without repeating it.
    fn normalized(&self) -> Result<Zeroizing<String>, WalletError> {
        let mut out = Zeroizing::new(String::with_capacity(self.phrase.len()));
        let mut count = 0;
        for word in self.phrase.split_whitespace() {
            count += 1;
            let word = Zeroizing::new(word.to_lowercase());
            // Not `English::get_index`: its error keeps a plain copy of the unknown word.
            if !English::get_all().contains(&word.as_str()) {
                return Err(self.bad(MnemonicProblem::UnknownWord(count)));
            }
            if count > 1 {
                out.push(' ');
            }
            out.push_str(&word);
        }
        if !matches!(count, 12 | 15 | 18 | 21 | 24) {
            return Err(self.bad(MnemonicProblem::WordCount(count)));
        }
        Ok(out)
    }

    fn bad(&self, problem: MnemonicProblem) -> WalletError {
        WalletError::BadMnemonic {
            origin: self.origin.clone(),
            problem,
        }
    }
}

impl Default for MnemonicSource {
    fn default() -> Self {
        Self::dev()
    }
}

impl fmt::Debug for MnemonicSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MnemonicSource")
            .field("origin", &self.origin)
            .field("indices", &self.indices)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// anvil's first accounts for the dev mnemonic.
    const ANVIL: [&str; 3] = [
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    ];

    #[test]
    fn dev_mnemonic_gives_anvils_accounts() {
        let wallets = MnemonicSource::dev().with_indices(0..3).load().unwrap();
        let got: Vec<String> = wallets.iter().map(|w| w.address().to_string()).collect();
        assert_eq!(got, ANVIL);
    }

    #[test]
    fn ranges_not_starting_at_zero_match_the_full_derivation() {
        let tail = MnemonicSource::dev().with_indices(1..3).load().unwrap();
        assert_eq!(tail[0].address().to_string(), ANVIL[1]);
        assert_eq!(tail[1].address().to_string(), ANVIL[2]);
    }

    #[test]
    fn whitespace_and_case_are_normalised() {
        let messy = "  Test test\ttest test test test\n test test test test test JUNK ";
        let wallets = MnemonicSource::new(messy)
            .with_indices(0..1)
            .load()
            .unwrap();
        assert_eq!(wallets[0].address().to_string(), ANVIL[0]);
    }

    #[test]
    fn bad_phrases_say_what_without_echoing_words() {
        let cases = [
            ("test test test", MnemonicProblem::WordCount(3)),
            (
                "test test qwertyuiop test test test test test test test test junk",
                MnemonicProblem::UnknownWord(3),
            ),
            (
                "test test test test test test test test test test test test",
                MnemonicProblem::Checksum,
            ),
        ];
        for (phrase, want) in cases {
            let err = MnemonicSource::new(phrase).load().unwrap_err();
            match &err {
                WalletError::BadMnemonic { problem, origin } => {
                    assert_eq!(*problem, want);
                    assert_eq!(origin, "the given phrase");
                }
                other => panic!("{other:?}"),
            }
            let shown = format!("{err} {err:?}");
            assert!(
                !shown.contains("test") && !shown.contains("qwerty"),
                "{shown}"
            );
        }
    }

    #[test]
    fn range_checks() {
        let hardened = MnemonicSource::dev().with_indices(5..HARDENED + 1).load();
        assert!(matches!(hardened, Err(WalletError::BadIndexRange { .. })));
        let empty = MnemonicSource::dev().with_indices(4..4).load();
        assert!(matches!(empty, Err(WalletError::Empty { .. })));
    }

    #[test]
    fn debug_hides_the_phrase() {
        let shown = format!("{:?}", MnemonicSource::dev());
        assert!(!shown.contains("junk"), "{shown}");
    }
}
