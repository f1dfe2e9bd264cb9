use std::{collections::BTreeMap, fmt, sync::Arc};

use rand::{
    Rng,
    distr::{Distribution, weighted::WeightedIndex},
};

use super::Task;

/// Tasks by name: the catalogue a run's mix is drawn from.
#[derive(Debug, Default, Clone)]
pub struct TaskRegistry {
    tasks: BTreeMap<String, Arc<dyn Task>>,
}

impl TaskRegistry {
    /// Adds `task` under its [`Task::name`], replacing one of the same name.
    pub fn register(&mut self, task: Arc<dyn Task>) -> &mut Self {
        self.tasks.insert(task.name().to_string(), task);
        self
    }

    /// The task called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Task>> {
        self.tasks.get(name)
    }

    /// All names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tasks.keys().map(String::as_str)
    }

    /// A weighted mix of registered tasks, e.g. `[("transfer", 3), ("erc20_transfer", 1)]`.
    ///
    /// # Errors
    /// [`MixError::Unknown`] naming the valid tasks, [`MixError::NoWeight`] when every weight
    /// is zero or the list is empty.
    pub fn mix(&self, weights: &[(&str, u32)]) -> Result<TaskMix, MixError> {
        let tasks = weights
            .iter()
            .map(|&(name, weight)| {
                let task = self.get(name).ok_or_else(|| MixError::Unknown {
                    name: name.to_string(),
                    valid: self.names().collect::<Vec<_>>().join(", "),
                })?;
                Ok((Arc::clone(task), weight))
            })
            .collect::<Result<Vec<_>, MixError>>()?;
        TaskMix::new(tasks)
    }
}

/// An invalid task mix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MixError {
    /// No task of that name.
    #[error("unknown task `{name}`; valid tasks: {valid}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The registered names.
        valid: String,
    },
    /// No task has a positive weight.
    #[error("a task mix needs at least one task with a positive weight")]
    NoWeight,
}

/// Tasks with weights; [`pick`](Self::pick) draws one with the caller's (seeded) RNG, so a run
/// with a fixed seed picks the same sequence.
#[derive(Clone)]
pub struct TaskMix {
    tasks: Vec<(Arc<dyn Task>, u32)>,
    index: WeightedIndex<u32>,
}

impl TaskMix {
    /// A mix of `tasks` with their weights.
    ///
    /// # Errors
    /// [`MixError::NoWeight`] when the list is empty or every weight is zero.
    pub fn new(tasks: Vec<(Arc<dyn Task>, u32)>) -> Result<Self, MixError> {
        let index =
            WeightedIndex::new(tasks.iter().map(|(_, w)| *w)).map_err(|_| MixError::NoWeight)?;
        Ok(Self { tasks, index })
    }

    /// One task, alone.
    pub fn single(task: Arc<dyn Task>) -> Self {
        Self::new(vec![(task, 1)]).expect("weight 1")
    }

    /// Draws a task by weight.
    pub fn pick(&self, rng: &mut impl Rng) -> &Arc<dyn Task> {
        &self.tasks[self.index.sample(rng)].0
    }

    /// The tasks and their weights.
    pub fn tasks(&self) -> impl Iterator<Item = (&Arc<dyn Task>, u32)> {
        self.tasks.iter().map(|(t, w)| (t, *w))
    }
}

impl fmt::Debug for TaskMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.tasks.iter().map(|(t, w)| (t.name(), w)))
            .finish()
    }
}
