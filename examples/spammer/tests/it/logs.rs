//! `--log-format json`: one JSON object per log line on stderr, filtered by SPAM_LOG.

use crate::common::{files_in, spammer_env};

#[test]
fn json_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = spammer_env(
        dir.path(),
        &[
            "--log-format",
            "json",
            "loadgen",
            "--rate",
            "20",
            "--duration",
            "1s",
            "--no-db",
            "--quiet",
        ],
        &[("SPAM_LOG", "spam=debug")],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let logs: Vec<serde_json::Value> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
        .collect();
    assert!(!logs.is_empty(), "{}", out.stderr);
    assert!(
        logs.iter()
            .all(|l| l.get("level").is_some() && l.get("target").is_some())
    );
    assert!(files_in(dir.path()).is_empty());

    let bad = spammer_env(dir.path(), &["--log-format", "xml", "loadgen"], &[]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
}

/// Text logs into a pipe (or a file) carry no colour escapes; nor with NO_COLOR.
#[test]
fn text_logs_into_a_pipe_are_plain() {
    let dir = tempfile::tempdir().unwrap();
    for env in [
        vec![("SPAM_LOG", "spam=debug")],
        vec![("SPAM_LOG", "spam=debug"), ("NO_COLOR", "1")],
    ] {
        let out = spammer_env(
            dir.path(),
            &[
                "loadgen",
                "--rate",
                "20",
                "--duration",
                "1s",
                "--no-db",
                "--quiet",
            ],
            &env,
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stderr.contains("DEBUG"), "{}", out.stderr);
        assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    }
}
