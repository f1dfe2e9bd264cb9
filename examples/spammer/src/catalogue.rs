//! `spammer tasks`: the built-in workloads, what each does, its gas, and which engine takes it.

use std::process::ExitCode;

/// Lists the catalogue.
#[derive(Debug, clap::Args)]
pub(crate) struct TasksArgs {}

pub(crate) fn run(_: &TasksArgs) -> ExitCode {
    let registry = spam_tasks::registry();
    println!(
        "{:<22} {:<13} {:>10}  {:<22} what",
        "task", "category", "gas", "engines"
    );
    for info in spam_tasks::CATALOGUE {
        let gas = registry
            .get(info.name)
            .and_then(|task| task.cost_hint())
            .or_else(|| spam_tasks::prepared_tx_cost(info.name))
            .map_or_else(|| "-".to_string(), |(gas, _)| gas.to_string());
        let engines = if spam_tasks::TX_BUILDERS.contains(&info.name)
            || spam_tasks::PREPARED_TX_BUILDERS.contains(&info.name)
        {
            "run, loadgen --tx"
        } else {
            "run"
        };
        println!(
            "{:<22} {:<13} {:>10}  {:<22} {}",
            info.name,
            format!("{:?}", info.category),
            gas,
            engines,
            info.doc
        );
    }
    println!(
        "\ngas: the fixed gas limit where the task has one (- : set from the node or its setup). Your own contracts \
         and calls: --scenario FILE (docs/scenarios.md)."
    );
    ExitCode::SUCCESS
}
