//! Tests of the parent module.
use super::*;

fn reason(s: &str) -> String {
    match s.parse::<ProxyUrl>() {
        Err(Error::InvalidProxy { reason, .. }) => reason.to_string(),
        other => panic!("{s}: expected InvalidProxy, got {other:?}"),
    }
}

#[test]
fn parses_every_scheme_with_and_without_credentials() {
    for (input, scheme, host, port, creds) in [
        (
            "http://127.0.0.1:3128",
            Scheme::Http,
            "127.0.0.1",
            3128,
            false,
        ),
        (
            "HTTPS://Proxy.Example:443/",
            Scheme::Https,
            "proxy.example",
            443,
            false,
        ),
        (
            "socks5://u:p@10.0.0.2:1080",
            Scheme::Socks5,
            "10.0.0.2",
            1080,
            true,
        ),
        ("socks5h://u:@h:1", Scheme::Socks5h, "h", 1, true),
        ("http://u:p@[::1]:8080", Scheme::Http, "::1", 8080, true),
        ("  http://a_b-c.d:9  ", Scheme::Http, "a_b-c.d", 9, false),
    ] {
        let p: ProxyUrl = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(
            (p.scheme(), p.host(), p.port(), p.has_credentials()),
            (scheme, host, port, creds),
            "{input}"
        );
    }
}

#[test]
fn bad_input_says_what_is_wrong() {
    for (input, expected) in [
        (
            "127.0.0.1:3128",
            "missing scheme (expected `scheme://host:port`)",
        ),
        (
            "socks4://h:1",
            "unsupported scheme `socks4` (expected http, https, socks5 or socks5h)",
        ),
        ("http://h", "missing port"),
        ("http://h:", "missing port"),
        ("http://h:0", "bad port `0` (expected 1-65535)"),
        ("http://h:99999", "bad port `99999` (expected 1-65535)"),
        ("http://:80", "missing host"),
        (
            "http://h h:80",
            "bad host (expected a host name or IP address)",
        ),
        (
            "http://[::1:80",
            "bad host (expected a host name or IP address)",
        ),
        (
            "http://h:80/path",
            "a proxy address has no path, query or fragment",
        ),
        (
            "http://user@h:80",
            "bad credentials: expected `user:password`",
        ),
        ("http://:p@h:80", "bad credentials: empty user name"),
        (
            "http://u:%zz@h:80",
            "bad credentials: invalid percent-encoding",
        ),
    ] {
        assert_eq!(reason(input), expected, "{input}");
    }
}

#[test]
fn credentials_never_appear_in_display_debug_or_errors() {
    let p: ProxyUrl = "http://alice:hunter2@10.0.0.1:3128".parse().unwrap();
    for shown in [p.to_string(), format!("{p:?}"), format!("{p:#?}")] {
        assert!(
            !shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("***:***@10.0.0.1:3128"), "{shown}");
    }
    for bad in [
        "http://alice:hunter2@10.0.0.1",
        "http://alice:hunter2@10.0.0.1:3128/x",
        "ftp://alice:hunter2@h:1",
        "alice:hunter2@h:1",
        "alice:hunter2@http://h:1",
    ] {
        let e = bad.parse::<ProxyUrl>().unwrap_err();
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(
                !shown.contains("alice") && !shown.contains("hunter2"),
                "{shown}"
            );
        }
        let e = parse_list(&format!("# c\n{bad}")).unwrap_err();
        assert!(matches!(e, Error::InvalidLine { line: 2, .. }), "{e:?}");
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(
                !shown.contains("alice") && !shown.contains("hunter2"),
                "{shown}"
            );
        }
    }
}

#[test]
fn credentials_are_percent_decoded() {
    let p: ProxyUrl = "http://al%40ice:p%3Ass@h:1".parse().unwrap();
    let c = p.auth.unwrap();
    assert_eq!((c.user.as_str(), c.password.as_str()), ("al@ice", "p:ss"));
}

#[test]
fn list_skips_blank_lines_and_comments_and_numbers_bad_lines() {
    let list = "\n# header\n  http://a:1\n\t\n  # indented comment\nsocks5h://b:2\nhttp://c\n";
    let err = parse_list(list).unwrap_err();
    assert!(matches!(err, Error::InvalidLine { line: 7, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "line 7: invalid proxy `http://c`: missing port"
    );
    let ok = parse_list(&list.replace("http://c\n", "")).unwrap();
    let shown: Vec<_> = ok.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["http://a:1", "socks5h://b:2"]);
    assert!(parse_list("").unwrap().is_empty());
}

#[test]
fn load_list_names_the_missing_file() {
    let err = load_list("/nonexistent/proxies.txt").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/proxies.txt"),
        "{err}"
    );
}

#[test]
fn new_validates_host_and_port() {
    assert!(ProxyUrl::new(Scheme::Http, "h", 0).is_err());
    assert!(ProxyUrl::new(Scheme::Http, "", 1).is_err());
    let p = ProxyUrl::new(Scheme::Socks5, "::1", 1080)
        .unwrap()
        .with_credentials("u", "p");
    assert_eq!(p.to_string(), "socks5://***:***@[::1]:1080");
    assert_eq!(p.without_credentials().to_string(), "socks5://[::1]:1080");
}
