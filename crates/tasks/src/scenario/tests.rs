//! Malformed scenario files: each is refused with one line naming the place and the fix.

use super::Scenario;

const HEAD: &str = "name = \"t\"\n";

/// The error for `body` (after a `name` line), as `LINE:COL: message`.
fn refused(body: &str) -> String {
    let err = Scenario::parse(&format!("{HEAD}{body}"), env!("CARGO_MANIFEST_DIR")).unwrap_err();
    let (line, column) = err.position();
    format!("{line}:{column}: {}", err.message())
}

const COUNTER: &str = "[[contract]]\nname = \"Counter\"\nartifact = \"contracts/out/ScenarioCounter.json\"\nconstructor = \"constructor(uint256)\"\nargs = [\"7\"]\n";

#[test]
fn the_examples_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/scenarios");
    for name in ["counter", "erc20", "storage"] {
        let scenario = Scenario::from_file(format!("{dir}/{name}.toml"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(scenario.name(), name);
    }
}

#[test]
fn malformed_files_name_the_place_and_the_fix() {
    let tx = |rest: &str| format!("{COUNTER}[[tx]]\nname = \"a\"\nto = \"{{Counter}}\"\n{rest}");
    let cases: Vec<(String, &str)> = vec![
        (tx("call = \"set(uint256)\"\nargs = [\"{foo}\"]\n"), "unknown placeholder `{foo}`"),
        (tx("call = \"set(uint256)\"\nargs = [\"abc\"]\n"), "`abc` is not a valid uint256"),
        (tx("call = \"set(uint256)\"\nargs = [\"1\", \"2\"]\n"), "takes 1 argument(s), `args` has 2"),
        (tx("call = \"set(uint256\"\n"), "bad function signature"),
        (tx("call = \"set(uint257)\"\n"), "unknown type `uint257`"),
        (
            "[[contract]]\nname = \"C\"\nartifact = \"nope.json\"\n[[tx]]\nname = \"a\"\nto = \"{C}\"\n".into(),
            "cannot read artifact",
        ),
        ("[[tx]]\nname = \"a\"\nto = \"{Missing}\"\n".into(), "no contract named `Missing`"),
        (tx("weight = -1\n"), "`weight` must be from 1 to 1000000, got -1"),
        (tx("weight = 0\n"), "`weight` must be from 1 to 1000000, got 0"),
        (format!("{}[[tx]]\nname = \"a\"\nto = \"{{Counter}}\"\n", tx("")), "`a` is named twice"),
        (tx("wieght = 2\n"), "unknown key `wieght`; did you mean `weight`?"),
        (tx("call = \"increment()\"\ndata = \"0x\"\n"), "has both `call` and `data`"),
        (COUNTER.into(), "no [[tx]]"),
        (tx("call = \"set(uint256)\"\nargs = [\"{sender}\"]\n"), "{sender} is an address, but the argument is a uint256"),
        (tx("value = \"lots\"\n"), "`lots` is not an amount"),
        (tx("value = \"-1\"\n"), "is negative"),
        (tx("gas_limit = 100\n"), "`gas_limit` must be from 21000"),
        (format!("{COUNTER}{COUNTER}[[tx]]\nname = \"a\"\nto = \"{{Counter}}\"\n"), "contract `Counter` is declared twice"),
        ("[[tx]]\nto = \"0x000000000000000000000000000000000000dEaD\"\n".into(), "[[tx]] needs a `name`"),
        ("[[tx]]\nname = \"a\"\nto = \"0xdead\"\n".into(), "`to` must be an address or {ContractName}"),
        ("[[setup]]\nto = \"0x000000000000000000000000000000000000dEaD\"\nweight = 2\n[[tx]]\nname = \"a\"\nto = \"0x000000000000000000000000000000000000dEaD\"\n".into(), "`weight` is for [[tx]]"),
        (
            "[[contract]]\nname = \"C\"\nbytecode = \"0x00\"\nartifact = \"x.json\"\n[[tx]]\nname = \"a\"\nto = \"{C}\"\n".into(),
            "needs exactly one of `artifact`, `bytecode` or `address`",
        ),
        ("[[contract]]\nname = \"C\"\nbytecode = \"0x00\"\nargs = [\"1\"]\n[[tx]]\nname = \"a\"\nto = \"{C}\"\n".into(), "`args` without a `constructor"),
        (tx("call = \"set(uint256)\"\nargs = [\"{rand:9..3}\"]\n"), "the range is empty"),
        ("[[tx]\nname = \"a\"\n".into(), "unclosed array table"),
    ];
    assert!(cases.len() >= 15);
    for (body, says) in cases {
        let message = refused(&body);
        assert!(
            message.contains(says),
            "{says:?} not in {message:?} for\n{body}"
        );
        assert!(!message.contains('\n'), "one line: {message}");
        assert!(
            !message.starts_with("0:"),
            "a position: {message} for\n{body}"
        );
    }
}

#[test]
fn the_position_is_the_value_at_fault() {
    let body = format!(
        "{COUNTER}[[tx]]\nname = \"a\"\nto = \"{{Counter}}\"\ncall = \"set(uint256)\"\nargs = [\"abc\"]\n"
    );
    // Line 1 is `name`, the contract takes 5, then the tx: `args` is on line 11.
    assert_eq!(refused(&body), "11:9: `abc` is not a valid uint256");
}
