//! Reading a scenario file: TOML into checked contracts, setup calls and the weighted mix.
//! Every mistake is found here, named by line and column, before anything is sent.

use std::{
    collections::HashSet,
    ops::Range,
    path::{Path, PathBuf},
};

use alloy::{
    dyn_abi::{DynSolType, JsonAbiExt, Specifier},
    json_abi::{Constructor, Function},
    primitives::{Address, Bytes, U256},
};
use serde::Deserialize;
use toml::Spanned;

use super::{
    Call, CodeSource, Contract, Input, Scenario, ScenarioError, Target,
    args::{Arg, parse_value},
};

/// Most `[[tx]]` entries, `[[setup]]` calls and contracts in one file.
const MAX_ENTRIES: usize = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    #[serde(default, rename = "contract")]
    contracts: Vec<RawContract>,
    #[serde(default, rename = "setup")]
    setup: Vec<RawCall>,
    #[serde(default, rename = "tx")]
    txs: Vec<RawCall>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContract {
    name: Spanned<String>,
    artifact: Option<Spanned<String>>,
    bytecode: Option<Spanned<String>>,
    constructor: Option<Spanned<String>>,
    #[serde(default)]
    args: Vec<Spanned<RawArg>>,
    address: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCall {
    name: Option<Spanned<String>>,
    to: Spanned<String>,
    call: Option<Spanned<String>>,
    data: Option<Spanned<String>>,
    #[serde(default)]
    args: Vec<Spanned<RawArg>>,
    value: Option<Spanned<RawArg>>,
    gas_limit: Option<Spanned<i64>>,
    weight: Option<Spanned<i64>>,
    for_each_sender: Option<Spanned<bool>>,
}

/// An argument as TOML writes it: a string, a whole number or a boolean.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawArg {
    Text(String),
    Number(i64),
    Switch(bool),
}

impl RawArg {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
            Self::Switch(b) => b.to_string(),
        }
    }
}

/// Which table a call is in, for its checks and messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Setup,
    Tx,
}

struct Reader<'a> {
    text: &'a str,
    path: String,
    dir: PathBuf,
}

impl Reader<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_column(self.text, span.start);
        ScenarioError {
            path: self.path.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    fn at<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> ScenarioError {
        self.error(spanned.span(), message)
    }
}

/// Reads and checks a scenario; `path` names the file in messages, `dir` is where artifact
/// paths start.
pub(super) fn parse(text: &str, path: &str, dir: &Path) -> Result<Scenario, ScenarioError> {
    let r = Reader {
        text,
        path: path.to_string(),
        dir: dir.to_path_buf(),
    };
    let raw: RawScenario = toml::from_str(text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        r.error(span, toml_message(&err))
    })?;
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(r.at(&raw.name, "`name` must not be empty"));
    }
    for (what, n, span) in [
        ("[[contract]]", raw.contracts.len(), 0..0),
        ("[[setup]]", raw.setup.len(), 0..0),
        ("[[tx]]", raw.txs.len(), 0..0),
    ] {
        if n > MAX_ENTRIES {
            return Err(r.error(
                span,
                format!("at most {MAX_ENTRIES} {what} entries, got {n}"),
            ));
        }
    }
    let names: Vec<String> = raw
        .contracts
        .iter()
        .map(|c| c.name.get_ref().clone())
        .collect();
    let mut contracts = Vec::new();
    let mut seen = HashSet::new();
    for raw in &raw.contracts {
        let contract = contract(&r, raw)?;
        if !seen.insert(contract.name.clone()) {
            return Err(r.at(
                &raw.name,
                format!("contract `{}` is declared twice", contract.name),
            ));
        }
        contracts.push(contract);
    }
    let setup = raw
        .setup
        .iter()
        .enumerate()
        .map(|(i, c)| call(&r, c, Table::Setup, i, &names))
        .collect::<Result<Vec<_>, _>>()?;
    if raw.txs.is_empty() {
        return Err(r.error(
            0..0,
            "no [[tx]]: a scenario needs at least one transaction to send",
        ));
    }
    let mut txs = Vec::new();
    let mut seen = HashSet::new();
    for (i, raw) in raw.txs.iter().enumerate() {
        let tx = call(&r, raw, Table::Tx, i, &names)?;
        if !seen.insert(tx.name.clone()) {
            let span = raw.name.as_ref().map_or(raw.to.span(), Spanned::span);
            return Err(r.error(span, format!("[[tx]] `{}` is named twice", tx.name)));
        }
        txs.push(tx);
    }
    Ok(Scenario {
        name,
        contracts,
        setup,
        txs,
    })
}

fn contract(r: &Reader<'_>, raw: &RawContract) -> Result<Contract, ScenarioError> {
    let name = raw.name.get_ref().clone();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(r.at(
            &raw.name,
            format!("contract name `{name}`: use letters, digits and _"),
        ));
    }
    if ["sender", "seq"].contains(&name.as_str()) {
        return Err(r.at(
            &raw.name,
            format!("contract name `{name}` is a placeholder's name"),
        ));
    }
    let source = match (&raw.address, &raw.artifact, &raw.bytecode) {
        (Some(address), None, None) => {
            CodeSource::At(address.get_ref().parse::<Address>().map_err(|_| {
                r.at(
                    address,
                    format!("`{}` is not an address", address.get_ref()),
                )
            })?)
        }
        (None, Some(artifact), None) => {
            CodeSource::Deploy(constructor(r, raw, read_artifact(r, artifact, &name)?)?)
        }
        (None, None, Some(code)) => {
            let bytes = code
                .get_ref()
                .parse::<Bytes>()
                .map_err(|_| r.at(code, "`bytecode` is not hex (0x…)"))?;
            CodeSource::Deploy(constructor(r, raw, bytes)?)
        }
        _ => {
            return Err(r.at(
                &raw.name,
                format!(
                    "contract `{name}` needs exactly one of `artifact`, `bytecode` or `address`"
                ),
            ));
        }
    };
    Ok(Contract { name, source })
}

/// The creation code: the bytecode, then the encoded constructor arguments.
fn constructor(r: &Reader<'_>, raw: &RawContract, code: Bytes) -> Result<Bytes, ScenarioError> {
    let Some(signature) = &raw.constructor else {
        if let Some(arg) = raw.args.first() {
            return Err(r.at(
                arg,
                "`args` without a `constructor = \"constructor(…)\"` signature",
            ));
        }
        return Ok(code);
    };
    let ctor = Constructor::parse(signature.get_ref()).map_err(|err| {
        r.at(
            signature,
            format!("bad constructor signature: {}", first_line(&err)),
        )
    })?;
    let types = types(r, signature, &ctor.inputs)?;
    let values = fixed_args(r, signature, &types, &raw.args)?;
    let encoded = ctor
        .abi_encode_input(&values)
        .map_err(|err| r.at(signature, format!("cannot encode the arguments: {err}")))?;
    Ok([code.as_ref(), &encoded].concat().into())
}

/// Constructor arguments: literals only (no placeholder has a value before the run).
fn fixed_args(
    r: &Reader<'_>,
    signature: &Spanned<String>,
    types: &[DynSolType],
    args: &[Spanned<RawArg>],
) -> Result<Vec<alloy::dyn_abi::DynSolValue>, ScenarioError> {
    arity(r, signature, types.len(), args.len())?;
    types
        .iter()
        .zip(args)
        .map(
            |(ty, arg)| match Arg::parse(&arg.get_ref().text(), ty, &[]) {
                Ok(Arg::Value(v)) => Ok(v),
                Ok(_) => Err(r.at(arg, "constructor arguments must be literal values")),
                Err(message) => Err(r.at(arg, message)),
            },
        )
        .collect()
}

fn arity(
    r: &Reader<'_>,
    at: &Spanned<String>,
    want: usize,
    got: usize,
) -> Result<(), ScenarioError> {
    if want == got {
        Ok(())
    } else {
        Err(r.at(
            at,
            format!(
                "`{}` takes {want} argument(s), `args` has {got}",
                at.get_ref()
            ),
        ))
    }
}

fn types(
    r: &Reader<'_>,
    at: &Spanned<String>,
    params: &[alloy::json_abi::Param],
) -> Result<Vec<DynSolType>, ScenarioError> {
    params
        .iter()
        .map(|p| {
            p.resolve()
                .map_err(|err| r.at(at, format!("unknown type `{}`: {}", p.ty, first_line(&err))))
        })
        .collect()
}

fn call(
    r: &Reader<'_>,
    raw: &RawCall,
    table: Table,
    index: usize,
    contracts: &[String],
) -> Result<Call, ScenarioError> {
    let place = match table {
        Table::Setup => "[[setup]]",
        Table::Tx => "[[tx]]",
    };
    let name = match (&raw.name, table) {
        (Some(name), _) if name.get_ref().trim().is_empty() => {
            return Err(r.at(name, "`name` must not be empty"));
        }
        (Some(name), _) => name.get_ref().trim().to_string(),
        (None, Table::Tx) => {
            return Err(r.at(&raw.to, "[[tx]] needs a `name` (reports count by it)"));
        }
        (None, Table::Setup) => format!("setup {}", index + 1),
    };
    if let (Table::Setup, Some(weight)) = (table, &raw.weight) {
        return Err(r.at(weight, "`weight` is for [[tx]], not [[setup]]"));
    }
    if let (Table::Tx, Some(at)) = (table, &raw.for_each_sender) {
        return Err(r.at(at, "`for_each_sender` is for [[setup]], not [[tx]]"));
    }
    let to = target(r, &raw.to, contracts)?;
    let input = match (&raw.call, &raw.data) {
        (Some(signature), None) => {
            let func = Function::parse(signature.get_ref()).map_err(|err| {
                r.at(
                    signature,
                    format!(
                        "bad function signature: {} (write e.g. \"set(uint256)\")",
                        first_line(&err)
                    ),
                )
            })?;
            let types = types(r, signature, &func.inputs)?;
            arity(r, signature, types.len(), raw.args.len())?;
            let args = types
                .iter()
                .zip(&raw.args)
                .map(|(ty, arg)| {
                    Arg::parse(&arg.get_ref().text(), ty, contracts).map_err(|m| r.at(arg, m))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Input::Call { func, args }
        }
        (None, Some(data)) => {
            if let Some(arg) = raw.args.first() {
                return Err(r.at(arg, "`args` go with `call`, not with raw `data`"));
            }
            Input::Data(
                data.get_ref()
                    .parse::<Bytes>()
                    .map_err(|_| r.at(data, "`data` is not hex (0x…)"))?,
            )
        }
        (Some(signature), Some(_)) => {
            return Err(r.at(
                signature,
                format!("{place} `{name}` has both `call` and `data`: give one"),
            ));
        }
        (None, None) => Input::Data(Bytes::new()),
    };
    let value = match &raw.value {
        None => U256::ZERO,
        Some(v) => parse_value(&v.get_ref().text()).map_err(|m| r.at(v, m))?,
    };
    let gas_limit = match &raw.gas_limit {
        None => None,
        Some(g) if (21_000..=1_000_000_000).contains(g.get_ref()) => Some(*g.get_ref() as u64),
        Some(g) => return Err(r.at(g, "`gas_limit` must be from 21000 to 1000000000")),
    };
    let weight = match &raw.weight {
        None => 1,
        Some(w) if (1..=1_000_000).contains(w.get_ref()) => *w.get_ref() as u32,
        Some(w) => {
            return Err(r.at(
                w,
                format!("`weight` must be from 1 to 1000000, got {}", w.get_ref()),
            ));
        }
    };
    Ok(Call {
        name,
        to,
        input,
        value,
        gas_limit,
        weight,
        for_each_sender: raw.for_each_sender.as_ref().is_some_and(|b| *b.get_ref()),
    })
}

fn target(
    r: &Reader<'_>,
    to: &Spanned<String>,
    contracts: &[String],
) -> Result<Target, ScenarioError> {
    let text = to.get_ref().trim();
    if let Some(name) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        return if contracts.iter().any(|c| c == name) {
            Ok(Target::Contract(name.to_string()))
        } else {
            Err(r.at(
                to,
                format!(
                    "`to`: no contract named `{name}` (declared: {})",
                    list(contracts)
                ),
            ))
        };
    }
    text.parse::<Address>().map(Target::Address).map_err(|_| {
        r.at(
            to,
            format!("`to` must be an address or {{ContractName}}, got `{text}`"),
        )
    })
}

/// The bytecode of `name` in an artifact: our `contracts/out` JSON or Foundry's
/// (`bytecode` as a string or `{object}`), or `solc --combined-json` (`contracts.*:Name.bin`).
fn read_artifact(
    r: &Reader<'_>,
    artifact: &Spanned<String>,
    name: &str,
) -> Result<Bytes, ScenarioError> {
    let path = r.dir.join(artifact.get_ref());
    let text = std::fs::read_to_string(&path).map_err(|err| {
        r.at(
            artifact,
            format!("cannot read artifact {}: {err}", path.display()),
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|err| {
        r.at(
            artifact,
            format!("artifact {} is not JSON: {err}", path.display()),
        )
    })?;
    let hex = match &json["bytecode"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("object").and_then(|v| v.as_str()).map(String::from),
        _ => json["contracts"].as_object().and_then(|all| {
            all.iter()
                .find(|(key, _)| key.rsplit(':').next() == Some(name))
                .and_then(|(_, c)| c["bin"].as_str().map(String::from))
        }),
    };
    let hex = hex.ok_or_else(|| {
        r.at(
            artifact,
            format!("artifact {} has no bytecode for `{name}`", path.display()),
        )
    })?;
    let hex = if hex.starts_with("0x") {
        hex
    } else {
        format!("0x{hex}")
    };
    let code = hex.parse::<Bytes>().map_err(|_| {
        r.at(
            artifact,
            format!("artifact {}: the bytecode is not hex", path.display()),
        )
    })?;
    if code.is_empty() {
        return Err(r.at(
            artifact,
            format!(
                "artifact {}: empty bytecode (an interface?)",
                path.display()
            ),
        ));
    }
    Ok(code)
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn first_line(err: &impl std::fmt::Display) -> String {
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// toml's message, with the closest valid key for an unknown one.
fn toml_message(err: &toml::de::Error) -> String {
    let message = err.message().trim().replace('\n', "; ");
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message;
    };
    let Some((unknown, expected)) = rest.split_once("`, expected ") else {
        return message;
    };
    let valid: Vec<&str> = expected
        .split(['`', ',', ' '])
        .filter(|s| !s.is_empty() && *s != "one" && *s != "of")
        .collect();
    match valid.iter().min_by_key(|v| edit_distance(unknown, v)) {
        Some(close) if edit_distance(unknown, close) <= 3 => {
            format!("unknown key `{unknown}`; did you mean `{close}`?")
        }
        _ => format!("unknown key `{unknown}`; valid keys: {}", valid.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
