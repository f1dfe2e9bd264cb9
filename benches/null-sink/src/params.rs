//! Positional parameters, borrowed from the request body and parsed only when a method asks.

use crate::error::RpcError;
use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// How many parameters are kept; later ones are ignored (no method here reads more than 3).
const MAX: usize = 4;

/// A request's positional parameters as raw JSON slices of the body: no allocation, and a
/// parameter no method reads is never parsed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Params<'a> {
    items: [Option<&'a RawValue>; MAX],
}

impl<'a> Params<'a> {
    /// Parameter `i` parsed as `T`, `None` when absent or `null`.
    ///
    /// # Errors
    ///
    /// -32602 when it is present but not a `T`.
    pub(crate) fn get<T: Deserialize<'a>>(&self, i: usize) -> Result<Option<T>, RpcError> {
        match self.items.get(i).copied().flatten() {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<Option<T>>(raw.get())
                .map_err(|e| RpcError::invalid_params(format_args!("parameter {i}: {e}"))),
        }
    }

    /// Parameter `i` parsed as `T`.
    ///
    /// # Errors
    ///
    /// -32602 when it is absent or not a `T`.
    pub(crate) fn required<T: Deserialize<'a>>(&self, i: usize, what: &str) -> Result<T, RpcError> {
        self.get(i)?
            .ok_or_else(|| RpcError::invalid_params(format_args!("missing {what}")))
    }

    /// Parameter `i` as a block number: a tag (`latest`, `pending`, `safe` and `finalized` are
    /// the head, `earliest` is 0; a missing parameter is `latest`) or a hex quantity, which may
    /// be above `head`.
    ///
    /// # Errors
    ///
    /// -32602 for anything else.
    pub(crate) fn block(&self, i: usize, head: u64) -> Result<u64, RpcError> {
        let Some(tag) = self.get::<&str>(i)? else {
            return Ok(head);
        };
        match tag {
            "latest" | "pending" | "safe" | "finalized" => Ok(head),
            "earliest" => Ok(0),
            hex => quantity(hex).ok_or_else(|| {
                RpcError::invalid_params(format_args!("not a block tag or number: {hex}"))
            }),
        }
    }

    /// Parameter `i` as a count: a hex quantity string or a JSON number.
    ///
    /// # Errors
    ///
    /// -32602 when it is absent or neither.
    pub(crate) fn count(&self, i: usize, what: &str) -> Result<u64, RpcError> {
        let raw = self
            .items
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| RpcError::invalid_params(format_args!("missing {what}")))?;
        if raw.get().starts_with('"') {
            let s: &str = self.required(i, what)?;
            quantity(s).ok_or_else(|| RpcError::invalid_params(format_args!("{what}: {s}")))
        } else {
            self.required(i, what)
        }
    }
}

/// A `0x`-prefixed hex quantity of at most 64 bits.
fn quantity(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x")?;
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

impl<'de: 'a, 'a> Deserialize<'de> for Params<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Positional<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for Positional<'a> {
            type Value = Params<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of parameters")
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Params::default())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut params = Params::default();
                for slot in &mut params.items {
                    match seq.next_element::<&'de RawValue>()? {
                        Some(raw) => *slot = Some(raw),
                        None => return Ok(params),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(params)
            }
        }

        d.deserialize_any(Positional(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(json: &str) -> Params<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_positional_parameters() {
        let p = params(r#"["0xab", true, null, 3, 4, 5]"#);
        assert_eq!(p.get::<&str>(0).unwrap(), Some("0xab"));
        assert_eq!(p.get::<bool>(1).unwrap(), Some(true));
        assert_eq!(p.get::<bool>(2).unwrap(), None);
        assert_eq!(p.get::<u64>(3).unwrap(), Some(3));
        assert_eq!(p.get::<u64>(4).unwrap(), None, "past the kept ones");
        assert_eq!(p.get::<bool>(9).unwrap(), None);
        assert_eq!(p.get::<bool>(0).unwrap_err().code, -32602);
        assert_eq!(p.required::<&str>(2, "x").unwrap_err().code, -32602);
        assert!(serde_json::from_str::<Params<'_>>("null").is_ok());
        assert!(serde_json::from_str::<Params<'_>>(r#"{"a":1}"#).is_err());
    }

    #[test]
    fn reads_block_numbers_and_tags() {
        let head = 42;
        for (json, n) in [
            (r#"["latest"]"#, 42),
            (r#"["pending", false]"#, 42),
            (r#"["safe"]"#, 42),
            (r#"["finalized"]"#, 42),
            (r#"["earliest"]"#, 0),
            (r#"["0x0"]"#, 0),
            (r#"["0x2a"]"#, 42),
            (r#"["0x100"]"#, 256),
            ("[]", 42),
        ] {
            assert_eq!(params(json).block(0, head).unwrap(), n, "{json}");
        }
        for bad in [
            r#"["0x"]"#,
            r#"["12"]"#,
            r#"["0xzz"]"#,
            r#"["0x1ffffffffffffffff"]"#,
        ] {
            assert_eq!(
                params(bad).block(0, head).unwrap_err().code,
                -32602,
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_counts_as_hex_or_numbers() {
        assert_eq!(params(r#"["0x10"]"#).count(0, "n").unwrap(), 16);
        assert_eq!(params("[16]").count(0, "n").unwrap(), 16);
        assert!(params("[]").count(0, "n").is_err());
        assert!(params(r#"["16"]"#).count(0, "n").is_err());
    }
}
