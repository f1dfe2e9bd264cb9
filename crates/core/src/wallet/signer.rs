//! [`Wallet`]: a local private key that prints as its address only.

use std::{collections::HashSet, fmt, path::Path};

use alloy::{
    consensus::{TxEnvelope, TypedTransaction},
    network::TxSignerSync,
    primitives::Address,
    signers::local::{LocalSignerError, PrivateKeySigner},
};

use super::WalletError;

/// One account whose private key is held in memory.
///
/// The key lives in alloy's [`PrivateKeySigner`], whose k256 `SigningKey` is zeroized on drop
/// (each clone too). [`Debug`](fmt::Debug) and [`Display`](fmt::Display) show the address only,
/// so a wallet can be logged or put in an error safely.
///
/// # Examples
/// ```
/// use spam_core::Wallet;
///
/// let wallet = Wallet::random();
/// assert_eq!(format!("{wallet}"), wallet.address().to_string());
/// assert_eq!(format!("{wallet:?}"), format!("Wallet {{ address: {} }}", wallet.address()));
/// ```
#[derive(Clone)]
pub struct Wallet {
    signer: PrivateKeySigner,
    /// With the `secp256k1` feature: the same key in libsecp256k1, which signs in about half
    /// the time of k256 (byte-identical signatures, RFC 6979). Its copy of the key is not
    /// zeroized on drop.
    #[cfg(feature = "secp256k1")]
    fast: alloy::signers::local::Secp256k1Signer,
    /// Cached: the signer recomputes nothing, but callers ask for it on every send.
    address: Address,
}

impl Wallet {
    /// Wraps a local signer.
    pub fn new(signer: PrivateKeySigner) -> Self {
        let address = signer.address();
        Self {
            #[cfg(feature = "secp256k1")]
            fast: signer.to_secp256k1(),
            signer,
            address,
        }
    }

    /// A wallet with a fresh random key (from the operating system's RNG).
    pub fn random() -> Self {
        Self::new(PrivateKeySigner::random())
    }

    /// Decrypts one Web3 Secret Storage keystore file (the format of `cast wallet new` and geth).
    ///
    /// Synchronous and CPU-heavy: the scrypt key derivation takes tens of milliseconds
    /// (seconds without optimisations). From async code use
    /// [`KeystoreDir::load`](super::KeystoreDir::load), which decrypts on blocking threads.
    ///
    /// # Errors
    /// [`WalletError::WrongPassword`] when the MAC does not match,
    /// [`WalletError::Read`] when the file cannot be read, and
    /// [`WalletError::CorruptKeystore`] when it is not a keystore; each names the file.
    pub fn from_keystore(path: &Path, password: &str) -> Result<Self, WalletError> {
        // Read once ourselves: eth-keystore flattens I/O errors into strings.
        std::fs::metadata(path).map_err(|source| WalletError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // eth-keystore's derived key and alloy's decrypted Vec are not zeroized; that is out of
        // our hands (eth-keystore 0.5).
        match PrivateKeySigner::decrypt_keystore(path, password.as_bytes()) {
            Ok(signer) => Ok(Self::new(signer)),
            Err(err) if is_mac_mismatch(&err) => Err(WalletError::WrongPassword {
                path: path.to_path_buf(),
            }),
            Err(source) => Err(WalletError::CorruptKeystore {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// A child wallet derived from this one's key, `seed` and `index`: the key is
    /// keccak-256 of a domain tag, this key, `seed` and `index` (hashed again in the
    /// negligible case it is not a valid key). The same parent, seed and index always give the
    /// same child, so a run's senders can be found again (and swept) from the funder's key and
    /// a seed alone; a child's key reveals nothing of the parent's. Nothing is written to disk.
    ///
    /// # Examples
    /// ```
    /// use spam_core::Wallet;
    ///
    /// let funder = Wallet::random();
    /// let a = funder.derive_child(7, 0);
    /// assert_eq!(a.address(), funder.derive_child(7, 0).address());
    /// assert_ne!(a.address(), funder.derive_child(7, 1).address());
    /// assert_ne!(a.address(), funder.derive_child(8, 0).address());
    /// ```
    pub fn derive_child(&self, seed: u64, index: u32) -> Self {
        use zeroize::Zeroize as _;
        let mut material = Vec::with_capacity(64);
        material.extend_from_slice(b"spam-sender/v1");
        let mut parent = self.signer.to_bytes();
        material.extend_from_slice(parent.as_slice());
        parent.0.zeroize();
        material.extend_from_slice(&seed.to_be_bytes());
        material.extend_from_slice(&index.to_be_bytes());
        let mut key = alloy::primitives::keccak256(&material);
        material.zeroize();
        loop {
            if let Ok(signer) = PrivateKeySigner::from_bytes(&key) {
                key.0.zeroize();
                return Self::new(signer);
            }
            key = alloy::primitives::keccak256(key);
        }
    }

    /// The account's address.
    pub const fn address(&self) -> Address {
        self.address
    }

    /// The signer, to sign anything alloy can sign.
    pub const fn signer(&self) -> &PrivateKeySigner {
        &self.signer
    }

    /// Gives up the wrapper and returns the signer.
    pub fn into_signer(self) -> PrivateKeySigner {
        self.signer
    }

    /// Signs `tx` offline and returns the envelope, ready for
    /// [`encoded_2718`](alloy::eips::eip2718::Encodable2718::encoded_2718) and
    /// `eth_sendRawTransaction`. The transaction's own chain id is used (EIP-155).
    ///
    /// # Errors
    /// [`WalletError::Sign`] when the signer refuses (e.g. a chain id mismatch).
    pub fn sign(&self, mut tx: TypedTransaction) -> Result<TxEnvelope, WalletError> {
        #[cfg(feature = "secp256k1")]
        let signer = &self.fast;
        #[cfg(not(feature = "secp256k1"))]
        let signer = &self.signer;
        let signature =
            signer
                .sign_transaction_sync(&mut tx)
                .map_err(|source| WalletError::Sign {
                    from: self.address,
                    source,
                })?;
        Ok((tx, signature).into())
    }
}

impl From<PrivateKeySigner> for Wallet {
    fn from(signer: PrivateKeySigner) -> Self {
        Self::new(signer)
    }
}

impl PartialEq for Wallet {
    fn eq(&self, other: &Self) -> bool {
        self.address == other.address
    }
}

impl Eq for Wallet {}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Checksummed, like `Display`, so logs show one spelling.
        f.debug_struct("Wallet")
            .field("address", &format_args!("{}", self.address))
            .finish()
    }
}

impl fmt::Display for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.address, f)
    }
}

/// Drops wallets whose address was already seen (the same key in two files or lines), keeping
/// the first, so a sender never appears twice in a pool.
pub(crate) fn dedup(wallets: &mut Vec<Wallet>, what: &str) {
    let mut seen = HashSet::with_capacity(wallets.len());
    let before = wallets.len();
    wallets.retain(|w| seen.insert(w.address));
    if wallets.len() != before {
        tracing::warn!(
            target: "spam::wallet",
            dropped = before - wallets.len(),
            "{what} holds the same key more than once; duplicates dropped"
        );
    }
}

/// Whether the keystore reader said the MAC does not match: the password is wrong.
fn is_mac_mismatch(err: &LocalSignerError) -> bool {
    // eth-keystore is not a direct dependency, so its `KeystoreError::MacMismatch` cannot be
    // named; its `Debug` is the bare variant name. Covered by the keystore tests.
    match err {
        LocalSignerError::EthKeystoreError(inner) => format!("{inner:?}") == "MacMismatch",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use alloy::{
        consensus::Transaction, eips::eip2718::Encodable2718, primitives::U256,
        signers::k256::ecdsa::SigningKey,
    };

    use super::*;
    use crate::fees::Fees;

    const KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn assert_zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}

    #[test]
    fn the_signing_key_is_zeroized_on_drop() {
        assert_zeroize_on_drop::<SigningKey>();
    }

    /// The `secp256k1` backend signs exactly as k256 does (RFC 6979 nonces), so turning the
    /// feature on changes speed, never bytes.
    #[test]
    fn both_backends_produce_the_same_bytes() {
        let wallet = Wallet::new(KEY.parse().unwrap());
        let fees = Fees::Eip1559 {
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1,
        };
        let tx = fees.transfer(31_337, 3, wallet.address(), U256::from(5));
        let ours = wallet.sign(tx.clone()).unwrap().encoded_2718();
        let mut k256 = tx;
        let signature = wallet.signer().sign_transaction_sync(&mut k256).unwrap();
        let reference = TxEnvelope::from((k256, signature)).encoded_2718();
        assert_eq!(ours, reference);
    }

    #[test]
    fn debug_and_display_show_the_address_only() {
        let wallet = Wallet::new(KEY.parse().unwrap());
        assert_eq!(
            format!("{wallet:?}"),
            "Wallet { address: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 }"
        );
        let debug = format!("{wallet:?} {wallet:#?} {wallet}");
        assert!(!debug.to_lowercase().contains(KEY), "{debug}");
        assert!(!debug.contains("ac0974"), "{debug}");
        let wallets = vec![wallet.clone(), wallet];
        assert!(!format!("{wallets:?}").contains("ac0974"));
    }

    #[test]
    fn signs_a_transfer_the_chain_can_recover() {
        let wallet = Wallet::new(KEY.parse().unwrap());
        let fees = Fees::Eip1559 {
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
        };
        let to = Address::repeat_byte(7);
        let envelope = wallet
            .sign(fees.transfer(31337, 5, to, U256::from(9)))
            .unwrap();
        let signed = envelope
            .as_eip1559()
            .expect("eip-1559 fees give an eip-1559 tx");
        let signer = signed
            .signature()
            .recover_address_from_prehash(&signed.signature_hash())
            .unwrap();
        assert_eq!(signer, wallet.address());
        assert_eq!(envelope.nonce(), 5);
        assert_eq!(envelope.to(), Some(to));
        assert_eq!(envelope.encoded_2718()[0], 2, "eip-1559 type byte");
    }

    #[test]
    fn dedup_keeps_the_first() {
        let a = Wallet::random();
        let b = Wallet::random();
        let mut wallets = vec![a.clone(), b.clone(), a.clone()];
        dedup(&mut wallets, "test");
        assert_eq!(wallets, vec![a, b]);
    }
}
