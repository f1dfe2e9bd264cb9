//! `--config FILE`: a TOML file holding what the flags of `run` and `loadgen` can.
//!
//! The file's values become the defaults of the matching flags, so clap applies them with the
//! precedence it already has (flag > `SPAM_*` variable > file > built-in default) and checks
//! them with the same value parsers as the flags. Keys are the flags' names with `_` for `-`.
//! Mistakes in the file are reported with its path, line and column (exit 2).

use std::{
    ffi::OsString,
    ops::Range,
    path::{Path, PathBuf},
};

use clap::{
    CommandFactory, FromArgMatches,
    error::{ContextKind, ContextValue, ErrorKind},
    parser::ValueSource,
};
use toml::de::{DeTable, DeValue};

use crate::input::bad_input;

/// What a key holds, as the file writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A string: URL, path, name, address or a rate profile like `"50:500:30s"`.
    Text,
    /// A string like `"30s"`.
    Duration,
    /// A whole number.
    Count,
    /// A whole or decimal number.
    Number,
    /// `true` or `false`.
    Switch,
    /// A string, or a list of strings (several URLs).
    List,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Self::Text => "a string",
            Self::Duration => "a duration string like \"30s\"",
            Self::Count => "a whole number",
            Self::Number => "a number",
            Self::Switch => "true or false",
            Self::List => "a string or a list of strings",
        }
    }
}

/// Keys allowed at the top level (for both commands) and in both sections.
const SHARED: &[(&str, Kind)] = &[
    ("rpc_url", Kind::List),
    ("send_url", Kind::List),
    ("endpoint_strategy", Kind::Text),
    ("scenario", Kind::Text),
    ("max_rps_per_endpoint", Kind::Count),
    ("duration", Kind::Duration),
    ("seed", Kind::Count),
    ("grace", Kind::Duration),
    ("allow_mainnet", Kind::Switch),
    ("db", Kind::Text),
    ("run_id", Kind::Text),
    ("shard", Kind::Text),
    ("barrier_timeout", Kind::Duration),
    ("no_db", Kind::Switch),
    ("allow_store_loss", Kind::Switch),
    ("report_dir", Kind::Text),
    ("max_p99", Kind::Duration),
    ("min_success", Kind::Number),
    ("max_drop_rate", Kind::Number),
    ("max_errors", Kind::Count),
    ("quiet", Kind::Switch),
    ("metrics_addr", Kind::Text),
    ("keystore_dir", Kind::Text),
    ("password_env", Kind::Text),
    ("keys_file", Kind::Text),
    ("wallet_seed", Kind::Count),
    ("mnemonic_env", Kind::Text),
    ("mnemonic_first", Kind::Count),
    ("funder_key_env", Kind::Text),
    ("funder_keystore", Kind::Text),
    ("funder_index", Kind::Count),
    ("no_funding", Kind::Switch),
    ("fund_for", Kind::Duration),
    ("sweep", Kind::Switch),
    ("breaker_failure_rate", Kind::Number),
    ("breaker_min_calls", Kind::Count),
    ("breaker_window", Kind::Duration),
    ("recovery_rate", Kind::Number),
    ("no_breaker", Kind::Switch),
];

/// Keys of `[run]` only.
const RUN: &[(&str, Kind)] = &[
    ("workers", Kind::Count),
    ("senders", Kind::Count),
    ("tasks", Kind::Text),
    ("cooldown", Kind::Duration),
    ("proxies", Kind::Text),
    ("max_rate", Kind::Count),
];

/// Keys of `[loadgen]` only.
const LOADGEN: &[(&str, Kind)] = &[
    ("ws_url", Kind::Text),
    ("preconf_ws_url", Kind::Text),
    ("el", Kind::Text),
    ("rate", Kind::Number),
    ("ramp", Kind::Text),
    ("steps", Kind::Text),
    ("spike", Kind::Text),
    ("tx", Kind::Text),
    ("senders", Kind::Count),
    ("max_in_flight_per_wallet", Kind::Count),
    ("batch", Kind::Count),
    ("linger", Kind::Duration),
    ("sync", Kind::Switch),
    ("single", Kind::Switch),
    ("connections", Kind::Count),
    ("presign", Kind::Switch),
    ("no_receipts", Kind::Switch),
];

/// Settings of which one run uses one: the file may hold one of each, and a flag (or variable)
/// for any of them sets aside all of the file's.
const EXCLUSIVE: &[&[&str]] = &[
    &["rate", "ramp", "steps", "spike"],
    &["batch", "sync", "single"],
];

/// The commands that read `--config`, with the keys of their section.
const SECTIONS: &[(&str, &[(&str, Kind)])] = &[("run", RUN), ("loadgen", LOADGEN)];

/// `--config FILE`, flattened into the options of `run` and `loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConfigArg {
    /// TOML file of settings (keys are these flags' names with `_`, in `[run]`, `[loadgen]` or
    /// at the top for both); flags and SPAM_* variables override it. See
    /// spammer.example.toml.
    #[arg(long, env = "SPAM_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

/// One value of the file for a flag.
#[derive(Debug, Clone, PartialEq)]
struct Setting {
    /// The flag's id (its long name with `_`).
    key: &'static str,
    /// The value as the flag would be written.
    value: String,
    /// `[run]`, `[loadgen]` or `the top level`, for messages.
    place: String,
    /// `line:column` of the value.
    at: String,
}

/// Parses the command line, with the settings of `--config FILE` (or `SPAM_CONFIG`) as the
/// defaults of `run` and `loadgen`.
///
/// Help, version and the flags' own mistakes exit as clap does (code 2).
///
/// # Errors
/// [`BadInput`](crate::input::BadInput) when the file cannot be read, is not TOML, has an
/// unknown key, a value of the wrong type or one its flag would refuse.
pub(crate) fn parse<T: CommandFactory + FromArgMatches>() -> anyhow::Result<T> {
    parse_from(std::env::args_os())
}

fn parse_from<T: CommandFactory + FromArgMatches>(
    args: impl IntoIterator<Item = OsString>,
) -> anyhow::Result<T> {
    let args: Vec<OsString> = args.into_iter().collect();
    let command = T::command();
    let matches = command
        .clone()
        .try_get_matches_from(&args)
        .unwrap_or_else(|err| err.exit());
    let file = match matches.subcommand() {
        Some((name, sub)) if SECTIONS.iter().any(|(s, _)| *s == name) => sub
            .get_one::<PathBuf>("config")
            .map(|path| (name.to_string(), path.clone(), sub.clone())),
        _ => None,
    };
    let Some((name, path, sub)) = file else {
        return T::from_arg_matches(&matches).map_err(|err| err.exit());
    };
    let text = std::fs::read_to_string(&path).map_err(|err| {
        bad_input(format!(
            "--config {}: cannot read it ({err})",
            path.display()
        ))
    })?;
    let settings = settings(&text, &name)
        .map_err(|err| bad_input(format!("--config {}{err}", path.display())))?;
    // A flag or variable for one of a set of exclusive settings replaces the file's whole set.
    let given = |key: &str| {
        matches!(
            sub.value_source(key),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let settings: Vec<Setting> = settings
        .into_iter()
        .filter(|s| {
            !EXCLUSIVE
                .iter()
                .any(|set| set.contains(&s.key) && set.iter().any(|k| given(k)))
        })
        .collect();
    let command = command.mut_subcommand(&name, |mut sub| {
        for s in &settings {
            sub = sub.mut_arg(s.key, |arg| arg.default_value(s.value.clone()));
        }
        sub
    });
    let sub_command = command
        .find_subcommand(&name)
        .expect("the subcommand just parsed")
        .clone();
    let matches = command
        .try_get_matches_from(&args)
        .map_err(|err| refused_value(err, &sub_command, &settings, &path))?;
    T::from_arg_matches(&matches).map_err(|err| err.exit())
}

/// A value the file gave that its flag's parser refused, named by its place in the file; any
/// other clap error exits as clap does.
fn refused_value(
    err: clap::Error,
    sub: &clap::Command,
    settings: &[Setting],
    path: &Path,
) -> anyhow::Error {
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        err.exit()
    };
    // clap names the flag as `--long <VALUE>`.
    let flag = arg.split(' ').next().unwrap_or_default();
    let Some(setting) = settings.iter().find(|s| {
        sub.get_arguments().any(|a| {
            a.get_id() == s.key && a.get_long().is_some_and(|long| flag == format!("--{long}"))
        })
    }) else {
        err.exit()
    };
    let why = match err.kind() {
        ErrorKind::InvalidValue => match err.get(ContextKind::ValidValue) {
            Some(ContextValue::Strings(valid)) => {
                format!("`{}` is not one of {}", setting.value, valid.join(", "))
            }
            _ => format!("`{}` is not a valid value", setting.value),
        },
        _ => std::error::Error::source(&err).map_or_else(
            || format!("`{}` is not valid", setting.value),
            ToString::to_string,
        ),
    };
    bad_input(format!(
        "--config {}:{}: `{}` in {}: {why}",
        path.display(),
        setting.at,
        setting.key,
        setting.place,
    ))
}

/// The settings `text` holds for `command`: the top level's, then its section's (which win).
/// An error reads after the file's path: `:LINE:COL: …`.
fn settings(text: &str, command: &str) -> Result<Vec<Setting>, String> {
    let at = |span: Range<usize>| line_column(text, span.start);
    let root = DeTable::parse(text).map_err(|err| {
        let message = err.message().trim().replace('\n', "; ");
        match err.span() {
            Some(span) => format!(":{}: not valid TOML: {message}", at(span)),
            None => format!(": not valid TOML: {message}"),
        }
    })?;
    let mut top = Vec::new();
    let mut section = Vec::new();
    let top_keys: Vec<&str> = SHARED
        .iter()
        .map(|(k, _)| *k)
        .chain(SECTIONS.iter().map(|(s, _)| *s))
        .collect();
    for (key, value) in in_file_order(root.get_ref()) {
        let span = key.span();
        let name = key.get_ref().as_ref();
        if let Some((section_name, keys)) = SECTIONS.iter().find(|(s, _)| *s == name) {
            let DeValue::Table(table) = value.get_ref() else {
                return Err(format!(
                    ":{}: `{name}` must be a table ([{name}]), not {}",
                    at(value.span()),
                    article(value.get_ref().type_str())
                ));
            };
            let place = format!("[{section_name}]");
            let all: Vec<(&'static str, Kind)> =
                SHARED.iter().chain(keys.iter()).copied().collect();
            let found = read_table(table, &all, &place, &at)?;
            if *section_name == command {
                section = found;
            }
        } else if let Some(kind) = SHARED.iter().find(|(k, _)| *k == name).map(|(_, k)| *k) {
            top.push(setting(name, kind, value, "the top level", &at)?);
        } else {
            return Err(unknown(name, span, "the top level", &top_keys, &at));
        }
    }
    for set in EXCLUSIVE {
        let mut both = section.iter().filter(|s| set.contains(&s.key));
        if let (Some(first), Some(second)) = (both.next(), both.next()) {
            return Err(format!(
                ":{}: `{}` and `{}` in {} cannot both be set: a run uses one of {}",
                second.at,
                first.key,
                second.key,
                second.place,
                set.join(", ")
            ));
        }
    }
    let mut settings: Vec<Setting> = top
        .into_iter()
        .filter(|t| !section.iter().any(|s| s.key == t.key))
        .collect();
    settings.extend(section);
    Ok(settings)
}

/// The settings of one section, every key checked.
fn read_table(
    table: &DeTable<'_>,
    keys: &[(&'static str, Kind)],
    place: &str,
    at: &impl Fn(Range<usize>) -> String,
) -> Result<Vec<Setting>, String> {
    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    in_file_order(table)
        .map(|(key, value)| {
            let name = key.get_ref().as_ref();
            match keys.iter().find(|(k, _)| *k == name) {
                Some((key, kind)) => setting(key, *kind, value, place, at),
                None => Err(unknown(name, key.span(), place, &names, at)),
            }
        })
        .collect()
}

type Entry<'a, 'i> = (
    &'a toml::Spanned<std::borrow::Cow<'i, str>>,
    &'a toml::Spanned<DeValue<'i>>,
);

/// The entries of `table` in the order the file writes them, so the first mistake is reported.
fn in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> impl Iterator<Item = Entry<'a, 'i>> {
    let mut entries: Vec<Entry<'a, 'i>> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries.into_iter()
}

/// The flag value of `key = value`, or why it has the wrong type.
fn setting(
    key: &str,
    kind: Kind,
    value: &toml::Spanned<DeValue<'_>>,
    place: &str,
    at: &impl Fn(Range<usize>) -> String,
) -> Result<Setting, String> {
    let text = match (kind, value.get_ref()) {
        (Kind::Text | Kind::Duration | Kind::List, DeValue::String(s)) => Some(s.to_string()),
        // The flag's values, as a comma list (its delimiter).
        (Kind::List, DeValue::Array(items)) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) if !s.contains(',') => Some(s.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .filter(|items| !items.is_empty())
            .map(|items| items.join(",")),
        (Kind::Count | Kind::Number, DeValue::Integer(i)) => {
            i128::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|i| i.to_string())
        }
        (Kind::Number, DeValue::Float(f)) => Some(f.as_str().to_string()),
        (Kind::Switch, DeValue::Boolean(b)) => Some(b.to_string()),
        _ => None,
    };
    let at = at(value.span());
    let Some(value_text) = text else {
        return Err(format!(
            ":{at}: `{key}` in {place} must be {}, not {}",
            kind.expected(),
            article(value.get_ref().type_str())
        ));
    };
    let key = SHARED
        .iter()
        .chain(RUN)
        .chain(LOADGEN)
        .map(|(k, _)| *k)
        .find(|k| *k == key)
        .expect("a known key");
    Ok(Setting {
        key,
        value: value_text,
        place: place.to_string(),
        at,
    })
}

/// `an integer`, `a string`.
fn article(type_name: &str) -> String {
    let a = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{a} {type_name}")
}

/// An unknown key, with the closest valid one (or where it belongs).
fn unknown(
    name: &str,
    span: Range<usize>,
    place: &str,
    valid: &[&str],
    at: &impl Fn(Range<usize>) -> String,
) -> String {
    let hint = if let Some((section, _)) = SECTIONS
        .iter()
        .find(|(s, keys)| format!("[{s}]") != place && keys.iter().any(|(k, _)| *k == name))
    {
        format!("; it belongs in [{section}]")
    } else if let Some(close) = closest(name, valid) {
        format!("; did you mean `{close}`?")
    } else {
        format!("; valid keys: {}", valid.join(", "))
    };
    format!(":{}: unknown key `{name}` in {place}{hint}", at(span))
}

/// The name of `valid` closest to `name`, if it is close enough to be a typo.
fn closest<'a>(name: &str, valid: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    valid
        .iter()
        .map(|v| (edit_distance(name, v), *v))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// Levenshtein distance: the fewest insertions, deletions and substitutions from `a` to `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// `LINE:COLUMN` (both from 1, columns in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    format!("{line}:{column}")
}

#[cfg(test)]
mod tests;
