//! Retries counted per error class, so a report says "332 retries: http 503" where the calls
//! finally succeeded and no error was left to count.

use std::collections::BTreeMap;

use parking_lot::Mutex;

use crate::rpc::ErrorClass;

/// Retries per error-class label; one short lock per retry (retries are rare next to calls).
#[derive(Debug, Default)]
pub(crate) struct RetryCounts {
    by_class: Mutex<BTreeMap<String, u64>>,
}

impl RetryCounts {
    /// Counts one retry caused by an error of `class`.
    pub(crate) fn count(&self, class: &ErrorClass) {
        let label = retry_label(class);
        let mut by_class = self.by_class.lock();
        match by_class.get_mut(label.as_str()) {
            Some(n) => *n += 1,
            None => {
                by_class.insert(label, 1);
            }
        }
    }

    /// The counts so far.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, u64> {
        self.by_class.lock().clone()
    }
}

/// The label a retry is counted under: the class's own label, without the details that vary
/// from one answer to the next (a rate limit's wait).
fn retry_label(class: &ErrorClass) -> String {
    match class {
        ErrorClass::RateLimited { .. } => ErrorClass::RateLimited { retry_after: None }.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn counts_per_stable_label() {
        let counts = RetryCounts::default();
        counts.count(&ErrorClass::Connection);
        counts.count(&ErrorClass::Connection);
        counts.count(&ErrorClass::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        });
        counts.count(&ErrorClass::RateLimited { retry_after: None });
        let snapshot = counts.snapshot();
        assert_eq!(snapshot[&ErrorClass::Connection.to_string()], 2);
        assert_eq!(snapshot["rate limited"], 2);
        assert_eq!(snapshot.len(), 2);
    }
}
