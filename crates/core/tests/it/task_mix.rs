//! Weighted task selection: reproducible with a seed, close to the weights.

use std::sync::Arc;

use async_trait::async_trait;
use rand::{SeedableRng, rngs::StdRng};
use spam_core::{MixError, Task, TaskContext, TaskError, TaskOutcome, TaskRegistry};

#[derive(Debug)]
struct Named(&'static str);

#[async_trait]
impl Task for Named {
    fn name(&self) -> &str {
        self.0
    }

    async fn run(&self, _ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        Ok(TaskOutcome::default())
    }
}

fn registry() -> TaskRegistry {
    let mut registry = TaskRegistry::default();
    registry
        .register(Arc::new(Named("transfer")))
        .register(Arc::new(Named("deploy")))
        .register(Arc::new(Named("call")));
    registry
}

#[test]
fn picks_follow_the_weights_within_three_percent() {
    let mix = registry()
        .mix(&[("transfer", 6), ("deploy", 3), ("call", 1)])
        .unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    let mut counts = std::collections::HashMap::new();
    for _ in 0..10_000 {
        *counts
            .entry(mix.pick(&mut rng).name().to_string())
            .or_insert(0u32) += 1;
    }
    for (name, weight) in [("transfer", 0.6), ("deploy", 0.3), ("call", 0.1)] {
        let share = f64::from(counts[name]) / 10_000.0;
        assert!((share - weight).abs() < 0.03, "{name}: {share} vs {weight}");
    }
}

#[test]
fn the_same_seed_picks_the_same_tasks() {
    let mix = registry().mix(&[("transfer", 3), ("deploy", 1)]).unwrap();
    let draw = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..1_000)
            .map(|_| mix.pick(&mut rng).name().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
}

#[test]
fn bad_mixes_say_what_is_wrong() {
    let err = registry().mix(&[("transfr", 1)]).unwrap_err();
    assert_eq!(
        err,
        MixError::Unknown {
            name: "transfr".into(),
            valid: "call, deploy, transfer".into()
        }
    );
    assert!(
        err.to_string()
            .contains("valid tasks: call, deploy, transfer")
    );
    assert_eq!(
        registry().mix(&[("transfer", 0)]).unwrap_err(),
        MixError::NoWeight
    );
    assert_eq!(registry().mix(&[]).unwrap_err(), MixError::NoWeight);
}
