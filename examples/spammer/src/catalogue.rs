//! `spammer tasks`: the built-in workloads, what each does, its gas, and which engine takes it.

use std::process::ExitCode;

/// Lists the catalogue.
#[derive(Debug, clap::Args)]
pub(crate) struct TasksArgs {
    /// Print JSON: one object per workload (name, category, gas, engines, doc).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &TasksArgs) -> ExitCode {
    let registry = spam_tasks::registry();
    let rows: Vec<_> = spam_tasks::CATALOGUE
        .iter()
        .map(|info| {
            let gas = registry
                .get(info.name)
                .and_then(|task| task.cost_hint())
                .or_else(|| spam_tasks::prepared_tx_cost(info.name))
                .map(|(gas, _)| gas);
            let loadgen = spam_tasks::TX_BUILDERS.contains(&info.name)
                || spam_tasks::PREPARED_TX_BUILDERS.contains(&info.name);
            (info, gas, loadgen)
        })
        .collect();
    if args.json {
        let json: Vec<_> = rows
            .iter()
            .map(|(info, gas, loadgen)| {
                serde_json::json!({
                    "name": info.name,
                    "category": format!("{:?}", info.category),
                    "gas": gas,
                    "engines": if *loadgen { vec!["run", "loadgen"] } else { vec!["run"] },
                    "doc": info.doc,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(json));
        return ExitCode::SUCCESS;
    }
    let lines = rows.iter().map(|(info, gas, loadgen)| {
        vec![
            info.name.to_owned(),
            format!("{:?}", info.category),
            gas.map_or_else(|| "-".to_owned(), |gas| gas.to_string()),
            if *loadgen { "run, loadgen --tx" } else { "run" }.to_owned(),
            info.doc.to_owned(),
        ]
    });
    print!(
        "{}",
        crate::table::render(&["task", "category", "gas", "engines", "what"], lines, &[2])
    );
    println!(
        "\ngas: the fixed gas limit where the task has one (- : set from the node or its setup). Your own contracts \
         and calls: --scenario FILE (docs/scenarios.md)."
    );
    ExitCode::SUCCESS
}
