//! `spammer proxies check FILE`: health-check every proxy of a list and print a table.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use alloy::transports::http::reqwest::Url;
use anyhow::Context as _;
use spam_devnet::Devnet;
use spam_proxy::{CheckResult, PoolConfig, Probe, ProxyPool};

/// `spammer proxies …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ProxiesCommand {
    /// Sends JSON-RPC `eth_chainId` through every proxy of FILE and prints a table (proxy with
    /// credentials redacted, status, latency, reason).
    ///
    /// Exit code 0 if at least one proxy is healthy, 1 if none is, 2 if FILE cannot be read or
    /// has a bad line. Without --rpc-url, starts its own anvil as the target.
    Check(CheckArgs),
}

/// Options of `spammer proxies check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Proxy list: one `scheme://[user:password@]host:port` per line (http, https, socks5,
    /// socks5h); blank lines and `#` comments are skipped.
    file: PathBuf,
    /// JSON-RPC URL the probe asks through each proxy. Without it, spammer starts its own anvil.
    #[arg(long, env = "SPAM_RPC_URL")]
    rpc_url: Option<Url>,
    /// Longest one check may take.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print JSON: one object per proxy (id, proxy with credentials redacted, status,
    /// latency_ms, reason).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn main(command: ProxiesCommand) -> ExitCode {
    let ProxiesCommand::Check(args) = command;
    // A list that cannot be used is the caller's mistake: exit 2, naming the file and line.
    let pool = match ProxyPool::from_file(
        &args.file,
        PoolConfig::default().with_check_timeout(args.timeout),
    ) {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("error: {}: {err}", args.file.display());
            return ExitCode::from(2);
        }
    };
    match check(pool, args.rpc_url).await {
        Ok(results) => {
            let healthy = results.iter().filter(|r| r.health.is_healthy()).count();
            if args.json {
                println!("{}", json(&results));
            } else {
                print!("{}", table(&results));
                println!("{healthy} of {} healthy", results.len());
            }
            if healthy > 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn check(pool: ProxyPool, rpc_url: Option<Url>) -> anyhow::Result<Vec<CheckResult>> {
    let (_devnet, url) = match rpc_url {
        Some(url) => (None, url),
        None => {
            let devnet = Devnet::builder()
                .start()
                .context("starting a local anvil (no --rpc-url given)")?;
            let url = devnet.endpoint().parse().context("anvil endpoint")?;
            eprintln!("started anvil at {url}");
            (Some(devnet), url)
        }
    };
    eprintln!("checking {} proxies against {url}", pool.len());
    Ok(pool.check_all(&Probe::chain_id(url)).await)
}

/// One object per proxy, as `--json` prints them.
fn json(results: &[CheckResult]) -> serde_json::Value {
    results
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id.to_string(),
                // `ProxyUrl`'s Display replaces user and password with `***`.
                "proxy": r.proxy.to_string(),
                "status": r.health.status().to_string(),
                "latency_ms": r.health.latency().map(|l| l.as_secs_f64() * 1e3),
                "reason": r.health.failure().map(|f| f.detail().to_string()),
            })
        })
        .collect()
}

/// One row per proxy: `#`, proxy (redacted), status, latency, reason.
fn table(results: &[CheckResult]) -> String {
    let rows = results.iter().map(|r| {
        vec![
            r.id.to_string(),
            // `ProxyUrl`'s Display replaces user and password with `***`.
            r.proxy.to_string(),
            r.health.status().to_string(),
            r.health
                .latency()
                .map_or_else(|| "-".into(), |l| format!("{:.1}ms", l.as_secs_f64() * 1e3)),
            r.health
                .failure()
                .map_or_else(|| "-".into(), |f| f.detail().to_string()),
        ]
    });
    crate::table::render(&["#", "proxy", "status", "latency", "reason"], rows, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_table_aligns_and_redacts() {
        let list = format!(
            "http://alice:s3cret@127.0.0.1:{}\nsocks5h://127.0.0.1:{}",
            dead_port(),
            dead_port()
        );
        let pool = ProxyPool::from_list(&list, PoolConfig::default()).unwrap();
        let probe = Probe::chain_id(format!("http://127.0.0.1:{}", dead_port()).parse().unwrap());
        let text = table(&pool.check_all(&probe).await);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("#   proxy"), "{text}");
        assert!(
            lines[1].starts_with("#0  http://***:***@127.0.0.1:"),
            "{text}"
        );
        assert!(
            !text.contains("s3cret") && !text.contains("alice"),
            "{text}"
        );
        let at = lines[0].find("status").unwrap();
        for line in &lines[1..] {
            assert!(line[at..].starts_with("connect "), "{text}");
        }
    }

    /// A loopback port nothing listens on.
    fn dead_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port()
    }
}
