use std::sync::Arc;

use async_trait::async_trait;

use super::{Task, TaskContext, TaskError, TaskOutcome};

/// Runs tasks in order on one wallet (deploy, then call; or one task to debug it). Stops at
/// the first failure.
#[derive(Debug, Clone)]
pub struct Sequence {
    name: String,
    steps: Vec<Arc<dyn Task>>,
}

impl Sequence {
    /// A sequence called `name` (default: the step names joined by `,`).
    pub fn new(steps: Vec<Arc<dyn Task>>) -> Self {
        let name = steps.iter().map(|s| s.name()).collect::<Vec<_>>().join(",");
        Self { name, steps }
    }

    /// Renames the sequence.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

#[async_trait]
impl Task for Sequence {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let mut outcome = TaskOutcome::default();
        for step in &self.steps {
            outcome.absorb(step.run(ctx).await?);
        }
        Ok(outcome)
    }
}
