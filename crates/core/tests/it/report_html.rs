//! `Report::to_html` as a test author embedding the engines uses it: run a short `LoadGen`
//! against anvil, write `report.html` beside the test's other outputs, and find the run in it.
//! Text taken from the run comes out escaped.

use std::time::Duration;

use spam_core::{LoadGen, NonceStats, Rate, Recorder, Report, RunInfo, Wallet};
use spam_devnet::Devnet;

use crate::support::NamedSelfTransfer;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loadgen_run_writes_a_page_that_shows_it() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4)) else {
        return;
    };
    let report = LoadGen::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(devnet.signers().into_iter().map(Wallet::new).collect())
        .tx(NamedSelfTransfer("html_self_transfer"))
        .rate(Rate::constant(20.0))
        .duration(Duration::from_secs(2))
        .grace(Duration::from_secs(15))
        .run()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    std::fs::write(dir.path().join("report.html"), report.to_html()).unwrap();

    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let o = report.open_loop.as_ref().unwrap();
    assert!(o.offered > 0 && o.offered < 1_000, "{}", o.offered); // no thousands separator
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"), "{html}");
    assert!(
        html.contains("<title>LoadGen report (open loop)</title>"),
        "{html}"
    );
    for needle in [
        format!("chain {} (", report.run.chain_id),
        format!("<td>{}</td>", report.run.chain_id),
        "html_self_transfer".to_owned(),
        format!(
            "offered {} = dropped {} + sent {}",
            o.offered, o.dropped, o.sent
        ),
        format!(
            "sent {} = accepted {} + rejected {} + unanswered {}",
            o.sent, o.accepted, o.rejected, o.unanswered
        ),
        format!("{} transactions included", report.totals.txs_included),
    ] {
        assert!(html.contains(&needle), "{needle} missing from\n{html}");
    }
    assert!(!html.contains("does not hold"), "the run's sums hold");
    assert!(html.matches("<svg").count() >= 4, "charts: {html}");
    // Self-contained: nothing to run, nothing to fetch.
    for banned in ["<script", "src=", "href=\"http", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in {html}");
    }
}

#[test]
fn text_from_the_run_is_escaped() {
    let t0 = Instant::now();
    let mut recorder = Recorder::new(t0);
    let evil = "<script>alert(\"pwned\")</script> & co";
    recorder.task(evil, t0, t0 + Duration::from_millis(40), Ok(()));
    recorder.task(
        evil,
        t0,
        t0 + Duration::from_millis(60),
        Err("<b>bold</b> & bad"),
    );
    let mut run = RunInfo::default();
    run.chain_id = 31_337;
    run.client_version = "anvil & <friends>".into();
    run.config = serde_json::json!({ "note": "</pre><script>" });
    let report = Report::build(
        run,
        &recorder,
        NonceStats::default(),
        Duration::from_secs(1),
    );

    let html = report.to_html();

    assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
    for escaped in [
        "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; co",
        "&lt;b&gt;bold&lt;/b&gt; &amp; bad",
        "anvil &amp; &lt;friends&gt;",
        "&quot;&lt;/pre&gt;&lt;script&gt;&quot;",
    ] {
        assert!(html.contains(escaped), "{escaped} missing from\n{html}");
    }
}
