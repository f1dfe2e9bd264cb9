//! Reads the nonce out of a raw transaction, and nothing else.
//!
//! The sink does not decode transactions: it only needs the nonce to answer
//! `eth_getTransactionCount`. A full decoder (alloy's) would allocate and check far more than
//! that, so this walks the RLP headers by hand: bounds are checked (a short or lying input is an
//! error, never a panic or an out-of-bounds read), canonical encoding is not (a node would
//! reject a non-canonical integer; the sink validates nothing).

/// Why a raw transaction's nonce could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// No bytes at all.
    #[error("empty transaction")]
    Empty,
    /// The first byte is neither a known EIP-2718 type (1 to 4) nor an RLP list (legacy).
    #[error("unsupported transaction type 0x{0:02x}")]
    UnsupportedType(u8),
    /// A length points past the end of the input (or of the enclosing list).
    #[error("rlp: input too short")]
    Truncated,
    /// The transaction is not an RLP list.
    #[error("rlp: expected a list")]
    ExpectedList,
    /// The nonce (or the chain id before it) is a list where a string was expected.
    #[error("rlp: expected a string")]
    ExpectedString,
    /// The nonce has more than 8 bytes, or a length of more than 8 bytes.
    #[error("rlp: integer overflows u64")]
    Overflow,
}

/// The nonce of a raw transaction as sent to `eth_sendRawTransaction`: an EIP-2718 typed
/// envelope (`type || rlp([chain_id, nonce, ...])`, types 1 to 4) or a legacy transaction
/// (`rlp([nonce, ...])`).
///
/// # Errors
///
/// A [`DecodeError`] when the bytes do not start like a transaction of a known type, or a
/// length runs past the input.
pub(crate) fn nonce(raw: &[u8]) -> Result<u64, DecodeError> {
    let (&first, rest) = raw.split_first().ok_or(DecodeError::Empty)?;
    match first {
        // Typed: skip the chain id, then the nonce.
        0x01..=0x04 => {
            let mut fields = list(rest)?;
            string(&mut fields)?;
            uint(string(&mut fields)?)
        }
        // Legacy: the whole input is the list; its first item is the nonce.
        0xc0..=0xff => {
            let mut fields = list(raw)?;
            uint(string(&mut fields)?)
        }
        other => Err(DecodeError::UnsupportedType(other)),
    }
}

/// One item's header: whether it is a list and where its payload is.
struct Item<'a> {
    list: bool,
    payload: &'a [u8],
}

/// Splits the next item off `input`, leaving the rest in `input`.
fn item<'a>(input: &mut &'a [u8]) -> Result<Item<'a>, DecodeError> {
    let (&first, rest) = input.split_first().ok_or(DecodeError::Truncated)?;
    let (list, header, len) = match first {
        // A single byte is its own payload.
        0x00..=0x7f => {
            let (payload, after) = input.split_at(1);
            *input = after;
            return Ok(Item {
                list: false,
                payload,
            });
        }
        0x80..=0xb7 => (false, 1, usize::from(first - 0x80)),
        0xb8..=0xbf => (
            false,
            1 + usize::from(first - 0xb7),
            length(rest, first - 0xb7)?,
        ),
        0xc0..=0xf7 => (true, 1, usize::from(first - 0xc0)),
        0xf8..=0xff => (
            true,
            1 + usize::from(first - 0xf7),
            length(rest, first - 0xf7)?,
        ),
    };
    let end = header.checked_add(len).ok_or(DecodeError::Truncated)?;
    let payload = input.get(header..end).ok_or(DecodeError::Truncated)?;
    *input = &input[end..];
    Ok(Item { list, payload })
}

/// The big-endian length of `len_of_len` bytes at the start of `rest`.
fn length(rest: &[u8], len_of_len: u8) -> Result<usize, DecodeError> {
    let bytes = rest
        .get(..usize::from(len_of_len))
        .ok_or(DecodeError::Truncated)?;
    usize::try_from(uint(bytes)?).map_err(|_| DecodeError::Truncated)
}

/// The payload of the list at the start of `input` (what follows the list is ignored: a
/// signature-less tail or trailing bytes are not the sink's business).
fn list(mut input: &[u8]) -> Result<&[u8], DecodeError> {
    let it = item(&mut input)?;
    if it.list {
        Ok(it.payload)
    } else {
        Err(DecodeError::ExpectedList)
    }
}

/// The payload of the next string in `fields`.
fn string<'a>(fields: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let it = item(fields)?;
    if it.list {
        Err(DecodeError::ExpectedString)
    } else {
        Ok(it.payload)
    }
}

/// A big-endian unsigned integer of at most 8 bytes (the empty string is 0).
fn uint(bytes: &[u8]) -> Result<u64, DecodeError> {
    if bytes.len() > 8 {
        return Err(DecodeError::Overflow);
    }
    Ok(bytes.iter().fold(0, |n, &b| (n << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::{SignableTransaction, TxEip1559, TxLegacy};
    use alloy::eips::Encodable2718;
    use alloy::primitives::{Address, Signature, TxKind, U256};

    const NONCES: [u64; 8] = [0, 1, 127, 128, 255, 256, 1 << 32, u64::MAX];

    fn eip1559(nonce: u64) -> Vec<u8> {
        let tx = TxEip1559 {
            chain_id: 31_337,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::repeat_byte(0x11)),
            value: U256::from(1),
            ..Default::default()
        };
        tx.into_signed(Signature::test_signature()).encoded_2718()
    }

    fn legacy(nonce: u64) -> Vec<u8> {
        let tx = TxLegacy {
            chain_id: Some(1),
            nonce,
            gas_price: 1_000_000_000,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(0x22)),
            value: U256::from(1),
            ..Default::default()
        };
        tx.into_signed(Signature::test_signature()).encoded_2718()
    }

    /// A hand-encoded RLP string (enough for the tests' integers and payloads).
    fn rlp_string(bytes: &[u8]) -> Vec<u8> {
        match bytes {
            [b] if *b < 0x80 => vec![*b],
            _ if bytes.len() < 56 => [&[0x80 + bytes.len() as u8], bytes].concat(),
            _ => {
                let len = (bytes.len() as u64).to_be_bytes();
                let len = &len[len.iter().position(|&b| b != 0).unwrap()..];
                [&[0xb7 + len.len() as u8], len, bytes].concat()
            }
        }
    }

    fn rlp_uint(n: u64) -> Vec<u8> {
        let be = n.to_be_bytes();
        let start = be.iter().position(|&b| b != 0).unwrap_or(8);
        rlp_string(&be[start..])
    }

    fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
        let payload = items.concat();
        if payload.len() < 56 {
            [&[0xc0 + payload.len() as u8][..], &payload].concat()
        } else {
            let len = (payload.len() as u64).to_be_bytes();
            let len = &len[len.iter().position(|&b| b != 0).unwrap()..];
            [&[0xf7 + len.len() as u8], len, &payload].concat()
        }
    }

    #[test]
    fn reads_eip1559_nonces() {
        for n in NONCES {
            assert_eq!(nonce(&eip1559(n)), Ok(n), "nonce {n}");
        }
    }

    #[test]
    fn reads_legacy_nonces() {
        for n in NONCES {
            assert_eq!(nonce(&legacy(n)), Ok(n), "nonce {n}");
        }
    }

    #[test]
    fn reads_hand_built_transactions() {
        for n in NONCES {
            // Typed: a long chain id, then the nonce, then a long data field.
            let typed = [
                &[0x02][..],
                &rlp_list(&[rlp_uint(u64::MAX), rlp_uint(n), rlp_string(&[0xab; 300])]),
            ]
            .concat();
            assert_eq!(nonce(&typed), Ok(n), "typed nonce {n}");
            let legacy = rlp_list(&[rlp_uint(n), rlp_uint(7)]);
            assert_eq!(nonce(&legacy), Ok(n), "legacy nonce {n}");
        }
    }

    #[test]
    fn known_nonce_encodings() {
        // rlp(0) = 0x80, rlp(127) = 0x7f, rlp(128) = 0x8180, rlp(256) = 0x820100.
        assert_eq!(nonce(&[0x02, 0xc3, 0x01, 0x80, 0x00]), Ok(0));
        assert_eq!(nonce(&[0x02, 0xc3, 0x01, 0x7f, 0x00]), Ok(127));
        assert_eq!(nonce(&[0x02, 0xc4, 0x01, 0x81, 0x80, 0x00]), Ok(128));
        assert_eq!(nonce(&[0xc4, 0x82, 0x01, 0x00, 0x00]), Ok(256));
    }

    #[test]
    fn rejects_what_is_not_a_transaction() {
        assert_eq!(nonce(&[]), Err(DecodeError::Empty));
        assert_eq!(
            nonce(&[0x05, 0xc0]),
            Err(DecodeError::UnsupportedType(0x05))
        );
        assert_eq!(nonce(&[0x80]), Err(DecodeError::UnsupportedType(0x80)));
        assert_eq!(nonce(&[0x02]), Err(DecodeError::Truncated));
        assert_eq!(nonce(&[0x02, 0x80]), Err(DecodeError::ExpectedList));
        // The list claims 5 bytes, has 2.
        assert_eq!(
            nonce(&[0x02, 0xc5, 0x01, 0x01]),
            Err(DecodeError::Truncated)
        );
        // The list ends before the nonce.
        assert_eq!(
            nonce(&[0x02, 0xc1, 0x01, 0x01]),
            Err(DecodeError::Truncated)
        );
        // A long list whose length bytes are missing.
        assert_eq!(nonce(&[0xf9, 0x01]), Err(DecodeError::Truncated));
        // A nonce that is a list.
        assert_eq!(nonce(&[0xc1, 0xc0]), Err(DecodeError::ExpectedString));
        // A 9-byte nonce.
        let nine = rlp_list(&[rlp_string(&[1; 9])]);
        assert_eq!(nonce(&nine), Err(DecodeError::Overflow));
        // A length of 2^64 - 1 bytes does not overflow the bounds arithmetic.
        let huge = [&[0x02, 0xff][..], &[0xff; 8]].concat();
        assert_eq!(nonce(&huge), Err(DecodeError::Truncated));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let raw = eip1559(1 << 32);
        for end in 0..raw.len() {
            let _ = nonce(&raw[..end]);
        }
        let raw = legacy(300);
        for end in 0..raw.len() {
            let _ = nonce(&raw[..end]);
        }
    }
}
