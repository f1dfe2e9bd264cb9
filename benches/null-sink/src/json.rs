//! Hand-written JSON output: quoted hex, quantities, zero-filled fields.
//!
//! Answers are appended to one `Vec<u8>` per HTTP response. Writing them through
//! `serde_json::Value` would allocate a map per object and a string per hash; here a hash is
//! 66 bytes appended in place.

use alloy_primitives::hex;

/// Appends `"0x<hex of bytes>"`.
pub(crate) fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(b"\"0x");
    let start = out.len();
    out.resize(start + 2 * bytes.len(), 0);
    hex::encode_to_slice(bytes, &mut out[start..]).expect("the slice is twice the input");
    out.push(b'"');
}

/// Appends `"0x"` followed by `digits` zeros (an all-zero address, bloom or hash).
pub(crate) fn push_zeros(out: &mut Vec<u8>, digits: usize) {
    out.extend_from_slice(b"\"0x");
    out.resize(out.len() + digits, b'0');
    out.push(b'"');
}

/// Appends a JSON-RPC quantity: `"0x"` and the hex digits without leading zeros (`"0x0"`).
pub(crate) fn push_quantity(out: &mut Vec<u8>, n: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut rest = n;
    loop {
        i -= 1;
        buf[i] = DIGITS[(rest & 0xf) as usize];
        rest >>= 4;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(b"\"0x");
    out.extend_from_slice(&buf[i..]);
    out.push(b'"');
}

/// Appends `s` as a JSON string, escaped.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("writing a string to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quantities_have_no_leading_zeros() {
        for (n, s) in [
            (0, "\"0x0\""),
            (1, "\"0x1\""),
            (0x5208, "\"0x5208\""),
            (u64::MAX, "\"0xffffffffffffffff\""),
        ] {
            assert_eq!(written(|o| push_quantity(o, n)), s);
        }
    }

    #[test]
    fn hex_and_zeros() {
        assert_eq!(written(|o| push_hex(o, &[0xab, 0x01])), "\"0xab01\"");
        assert_eq!(written(|o| push_hex(o, &[])), "\"0x\"");
        assert_eq!(written(|o| push_zeros(o, 4)), "\"0x0000\"");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(written(|o| push_str(o, "a\"b\\")), r#""a\"b\\""#);
    }
}
