//! Tests of the parent module.
use super::*;

#[derive(Debug, clap::Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Run(Box<crate::run::RunArgs>),
    Loadgen(Box<crate::loadgen::LoadgenArgs>),
}

fn values(text: &str, command: &str) -> Vec<(&'static str, String)> {
    settings(text, command)
        .unwrap()
        .into_iter()
        .map(|s| (s.key, s.value))
        .collect()
}

#[test]
fn every_key_is_a_flag_of_its_command() {
    let command = <Cli as CommandFactory>::command();
    for (name, keys) in SECTIONS {
        let sub = command.find_subcommand(name).unwrap();
        for (key, _) in SHARED.iter().chain(keys.iter()) {
            assert!(
                sub.get_arguments().any(|a| a.get_id() == key),
                "`{key}` is not an option of {name}"
            );
        }
    }
    for set in EXCLUSIVE {
        for key in *set {
            assert!(LOADGEN.iter().any(|(k, _)| k == key), "{key}");
        }
    }
}

#[test]
fn the_section_wins_over_the_top_level() {
    let text = "rpc_url = \"http://a:1\"\nduration = \"5s\"\n[loadgen]\nduration = \"2m\"\nrate = 500\n[run]\nworkers = 4\n";
    assert_eq!(
        values(text, "loadgen"),
        [
            ("rpc_url", "http://a:1".to_string()),
            ("duration", "2m".to_string()),
            ("rate", "500".to_string())
        ]
    );
    assert_eq!(
        values(text, "run"),
        [
            ("rpc_url", "http://a:1".to_string()),
            ("duration", "5s".to_string()),
            ("workers", "4".to_string())
        ]
    );
    assert_eq!(
        values(
            "[loadgen]\nrate = 2.5\nbatch = 0x10\npresign = true",
            "loadgen"
        ),
        [
            ("rate", "2.5".to_string()),
            ("batch", "16".to_string()),
            ("presign", "true".to_string())
        ]
    );
}

#[test]
fn mistakes_name_line_and_column() {
    let err = |text: &str| settings(text, "loadgen").unwrap_err();
    assert_eq!(
        err("[loadgen]\nrpc_ur = \"x\""),
        ":2:1: unknown key `rpc_ur` in [loadgen]; did you mean `rpc_url`?"
    );
    assert_eq!(
        err("[loadgen]\nworkers = 3"),
        ":2:1: unknown key `workers` in [loadgen]; it belongs in [run]"
    );
    assert_eq!(
        err("[loadgen]\n  senders = \"four\""),
        ":2:13: `senders` in [loadgen] must be a whole number, not a string"
    );
    assert_eq!(
        err("duration = 30"),
        ":1:12: `duration` in the top level must be a duration string like \"30s\", not an integer"
    );
    assert!(err("[loadgen\nrate = 1").starts_with(":1:"));
    assert!(
        err("[loadgen]\nrate = 1\nramp = \"1:2:3s\"")
            .contains(":3:8: `rate` and `ramp` in [loadgen] cannot both be set")
    );
    assert!(err("zzzzzzzzz = 1").contains("valid keys: rpc_url"));
}

#[test]
fn edit_distances() {
    assert_eq!(edit_distance("rpc_ur", "rpc_url"), 1);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(closest("worker", &["workers", "tasks"]), Some("workers"));
    assert_eq!(closest("xyz", &["workers", "tasks"]), None);
    assert_eq!(line_column("ab\ncdé\nf", 7), "2:4");
    assert_eq!(line_column("ab", 0), "1:1");
}

#[test]
fn flags_and_variables_win_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "[loadgen]\nrate = 7\nsenders = 3\nduration = \"2m\"\n",
    )
    .unwrap();
    let parse = |extra: &[&str]| {
        let mut args = vec!["spammer", "loadgen", "--config", path.to_str().unwrap()];
        args.extend(extra);
        match parse_from::<Cli>(args.into_iter().map(OsString::from))
            .unwrap()
            .command
        {
            Command::Loadgen(args) => args,
            Command::Run(_) => unreachable!(),
        }
    };
    let from_file = parse(&[]);
    assert_eq!(from_file.rate(), spam_core::Rate::constant(7.0));
    let shown = format!("{from_file:?}");
    assert!(
        shown.contains("senders: Some(3),") && shown.contains("duration: 120s"),
        "{shown}"
    );
    let flags = parse(&["--ramp", "1:2:3s", "--senders", "5"]);
    let ramp = spam_core::Rate::ramp(1.0, 2.0, std::time::Duration::from_secs(3));
    assert_eq!(flags.rate(), ramp, "a profile flag sets aside the file's");
    assert!(format!("{flags:?}").contains("senders: Some(5),"));
}

#[test]
fn breaker_keys_are_shared_by_both_commands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "breaker_window = \"5s\"\nrecovery_rate = 2.5\n[run]\nbreaker_min_calls = 40\n\
         [loadgen]\nbreaker_failure_rate = 0.25\nbreaker_min_calls = 30\n",
    )
    .unwrap();
    let parse = |command: &str, extra: &[&str]| {
        let mut args = vec!["spammer", command, "--config", path.to_str().unwrap()];
        args.extend(extra);
        let parsed = parse_from::<Cli>(args.into_iter().map(OsString::from))
            .unwrap()
            .command;
        match parsed {
            Command::Loadgen(args) => format!("{args:?}"),
            Command::Run(args) => format!("{args:?}"),
        }
    };
    let loadgen = parse("loadgen", &[]);
    for part in [
        "breaker_failure_rate: Some(0.25)",
        "breaker_min_calls: Some(30)",
        "breaker_window: Some(5s)",
        "recovery_rate: Some(2.5)",
        "no_breaker: false",
    ] {
        assert!(loadgen.contains(part), "{part} in {loadgen}");
    }
    let run = parse("run", &["--breaker-window", "1s"]);
    for part in [
        "breaker_failure_rate: None",
        "breaker_min_calls: Some(40)",
        "breaker_window: Some(1s)",
        "recovery_rate: Some(2.5)",
    ] {
        assert!(run.contains(part), "{part} in {run}");
    }
}

#[test]
fn url_lists_become_comma_lists_and_bad_items_are_refused() {
    let text = "rpc_url = [\"http://a:1\", \"http://b:1\"]\nsend_url = \"http://c:1\"\n[run]\nmax_rate = 100\n";
    assert_eq!(
        values(text, "run"),
        [
            ("rpc_url", "http://a:1,http://b:1".to_string()),
            ("send_url", "http://c:1".to_string()),
            ("max_rate", "100".to_string()),
        ]
    );
    let err = |text: &str| settings(text, "run").unwrap_err();
    for bad in [
        "rpc_url = []",
        "rpc_url = [1]",
        "rpc_url = [\"http://a:1,http://b:1\"]",
    ] {
        assert!(
            err(bad).contains("must be a string or a list of strings"),
            "{bad}: {}",
            err(bad)
        );
    }
}
