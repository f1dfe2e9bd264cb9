//! What a scenario's values can be: literals checked against their ABI type at load time,
//! and placeholders filled per transaction.

use alloy::{
    dyn_abi::{DynSolType, DynSolValue},
    primitives::{Address, I256, U256},
};
use rand::{Rng, rngs::StdRng};

/// One argument of a call, as the file writes it and once checked against its type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// A literal, encoded once.
    Value(DynSolValue),
    /// `{rand:a..b}`: a number drawn from the run's seeded RNG, `a` included, `b` excluded.
    Rand { lo: U256, hi: U256, ty: DynSolType },
    /// `{sender}`: the sending wallet.
    Sender,
    /// `{seq}`: how many transactions of this `[[tx]]` came before (from 0).
    Seq(DynSolType),
    /// `{Name}`: the address of contract `Name`.
    Contract(String),
}

/// Where the arguments of a transaction come from when it is built.
pub(crate) struct Fill<'a> {
    pub(crate) sender: Address,
    pub(crate) seq: u64,
    pub(crate) rng: &'a mut StdRng,
    pub(crate) contract: &'a dyn Fn(&str) -> Address,
}

impl Arg {
    /// Reads `text` as an argument of type `ty`; `contracts` are the names `{Name}` may take.
    pub(crate) fn parse(text: &str, ty: &DynSolType, contracts: &[String]) -> Result<Self, String> {
        let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
            return ty
                .coerce_str(text)
                .map(Self::Value)
                .map_err(|_| format!("`{text}` is not a valid {ty}"));
        };
        let number = matches!(ty, DynSolType::Uint(_) | DynSolType::Int(_));
        if let Some(range) = inner.strip_prefix("rand:") {
            if !number {
                return Err(format!(
                    "{{rand:…}} gives a number, but the argument is a {ty}"
                ));
            }
            let (lo, hi) = range
                .split_once("..")
                .ok_or_else(|| format!("`{text}`: expected {{rand:LOW..HIGH}}"))?;
            let parse = |s: &str| {
                s.trim()
                    .parse::<U256>()
                    .map_err(|_| format!("`{text}`: `{s}` is not a whole number"))
            };
            let (lo, hi) = (parse(lo)?, parse(hi)?);
            if lo >= hi {
                return Err(format!(
                    "`{text}`: the range is empty (LOW must be below HIGH)"
                ));
            }
            // The highest draw must fit the type.
            ty.coerce_str(&(hi - U256::from(1)).to_string())
                .map_err(|_| format!("`{text}`: {hi} does not fit a {ty}"))?;
            return Ok(Self::Rand {
                lo,
                hi,
                ty: ty.clone(),
            });
        }
        match inner {
            "sender" => {
                if *ty == DynSolType::Address {
                    Ok(Self::Sender)
                } else {
                    Err(format!(
                        "{{sender}} is an address, but the argument is a {ty}"
                    ))
                }
            }
            "seq" => {
                if number {
                    Ok(Self::Seq(ty.clone()))
                } else {
                    Err(format!("{{seq}} is a number, but the argument is a {ty}"))
                }
            }
            name if contracts.iter().any(|c| c == name) => {
                if *ty == DynSolType::Address {
                    Ok(Self::Contract(name.to_string()))
                } else {
                    Err(format!(
                        "{{{name}}} is an address, but the argument is a {ty}"
                    ))
                }
            }
            other => Err(format!(
                "unknown placeholder `{{{other}}}`: expected {{rand:LOW..HIGH}}, {{sender}}, {{seq}} \
                 or a contract name ({})",
                if contracts.is_empty() {
                    "none declared".to_string()
                } else {
                    contracts.join(", ")
                }
            )),
        }
    }

    /// The value for one transaction.
    pub(crate) fn fill(&self, fill: &mut Fill<'_>) -> DynSolValue {
        match self {
            Self::Value(v) => v.clone(),
            Self::Rand { lo, hi, ty } => {
                let span = *hi - *lo;
                // Uniform enough for load: two 128-bit halves reduced modulo the span.
                let draw = U256::from_limbs([
                    fill.rng.random(),
                    fill.rng.random(),
                    fill.rng.random(),
                    fill.rng.random(),
                ]) % span;
                number(ty, *lo + draw)
            }
            Self::Sender => DynSolValue::Address(fill.sender),
            Self::Seq(ty) => number(ty, U256::from(fill.seq)),
            Self::Contract(name) => DynSolValue::Address((fill.contract)(name)),
        }
    }
}

/// `n` as a value of the integer type `ty` (checked to fit when the file was read).
fn number(ty: &DynSolType, n: U256) -> DynSolValue {
    match ty {
        DynSolType::Int(bits) => DynSolValue::Int(I256::try_from(n).unwrap_or(I256::MAX), *bits),
        DynSolType::Uint(bits) => DynSolValue::Uint(n, *bits),
        _ => unreachable!("checked when the file was read"),
    }
}

/// A value in wei: `"0"`, `"1000"` (wei), `"1gwei"`, `"0.01eth"` (or `ether`, `wei`).
pub(crate) fn parse_value(text: &str) -> Result<U256, String> {
    let t = text.trim().to_ascii_lowercase();
    let (number, decimals) = if let Some(n) = t.strip_suffix("gwei") {
        (n, 9)
    } else if let Some(n) = t.strip_suffix("ether").or_else(|| t.strip_suffix("eth")) {
        (n, 18)
    } else if let Some(n) = t.strip_suffix("wei") {
        (n, 0)
    } else {
        (t.as_str(), 0)
    };
    let number = number.trim();
    if number.starts_with('-') {
        return Err(format!("`{text}` is negative: an amount is at least 0"));
    }
    alloy::primitives::utils::parse_units(number, decimals)
        .map(Into::into)
        .map_err(|_| {
            format!("`{text}` is not an amount: expected e.g. \"0\", \"1gwei\", \"0.01eth\"")
        })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn names() -> Vec<String> {
        vec!["Counter".into()]
    }

    #[test]
    fn literals_and_placeholders_are_checked_against_the_type() {
        let uint = DynSolType::Uint(256);
        assert_eq!(
            Arg::parse("7", &uint, &names()).unwrap(),
            Arg::Value(DynSolValue::Uint(U256::from(7), 256))
        );
        assert!(
            Arg::parse("seven", &uint, &names())
                .unwrap_err()
                .contains("not a valid uint256")
        );
        assert!(matches!(
            Arg::parse("{rand:1..1000}", &uint, &names()),
            Ok(Arg::Rand { .. })
        ));
        assert!(
            Arg::parse("{rand:5..5}", &uint, &names())
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            Arg::parse("{rand:0..300}", &DynSolType::Uint(8), &names())
                .unwrap_err()
                .contains("does not fit")
        );
        assert!(
            Arg::parse("{sender}", &uint, &names())
                .unwrap_err()
                .contains("is an address")
        );
        assert_eq!(
            Arg::parse("{sender}", &DynSolType::Address, &names()).unwrap(),
            Arg::Sender
        );
        assert_eq!(
            Arg::parse("{Counter}", &DynSolType::Address, &names()).unwrap(),
            Arg::Contract("Counter".into())
        );
        assert!(
            Arg::parse("{Nope}", &DynSolType::Address, &names())
                .unwrap_err()
                .contains("unknown placeholder `{Nope}`")
        );
    }

    #[test]
    fn draws_stay_in_range_and_follow_the_seed() {
        let arg = Arg::parse("{rand:10..20}", &DynSolType::Uint(64), &[]).unwrap();
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            let contract = |_: &str| Address::ZERO;
            let mut fill = Fill {
                sender: Address::ZERO,
                seq: 0,
                rng: &mut rng,
                contract: &contract,
            };
            (0..100).map(|_| arg.fill(&mut fill)).collect::<Vec<_>>()
        };
        let a = draw(1);
        assert_eq!(a, draw(1));
        assert_ne!(a, draw(2));
        for v in a {
            let DynSolValue::Uint(n, 64) = v else {
                panic!()
            };
            assert!((U256::from(10)..U256::from(20)).contains(&n));
        }
    }

    #[test]
    fn amounts_take_units() {
        assert_eq!(parse_value("0").unwrap(), U256::ZERO);
        assert_eq!(parse_value("1gwei").unwrap(), U256::from(1_000_000_000u64));
        assert_eq!(
            parse_value("0.01eth").unwrap(),
            U256::from(10_000_000_000_000_000u64)
        );
        assert_eq!(parse_value("5 wei").unwrap(), U256::from(5));
        assert!(parse_value("-1").is_err());
        assert!(parse_value("lots").unwrap_err().contains("not an amount"));
    }
}
