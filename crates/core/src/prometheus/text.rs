//! [`Text`]: writes families and samples in the Prometheus text format.

use std::fmt::Write as _;

use super::{Kind, family_named};
use crate::{LATENCY_BOUNDS, LatencyBuckets};

/// The exposition being written; samples go to the family last started.
#[derive(Default)]
pub(super) struct Text {
    out: String,
    family: &'static str,
}

impl Text {
    /// Starts family `name` (one of [`FAMILIES`](super::FAMILIES)): its `# HELP` and
    /// `# TYPE` lines.
    pub(super) fn family(&mut self, name: &'static str) {
        let family = family_named(name).unwrap_or_else(|| panic!("{name} is not in FAMILIES"));
        self.family = name;
        let _ = writeln!(self.out, "# HELP {name} {}", family.help);
        let _ = writeln!(self.out, "# TYPE {name} {}", family.kind.as_str());
    }

    /// One sample of the current family.
    pub(super) fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        self.line(self.family, "", labels, None, value);
    }

    /// Starts family `name` with one sample.
    pub(super) fn value(&mut self, name: &'static str, labels: &[(&str, &str)], value: f64) {
        self.family(name);
        self.sample(labels, value);
    }

    /// One histogram of the current family (a histogram family).
    pub(super) fn histogram(&mut self, labels: &[(&str, &str)], b: &LatencyBuckets) {
        debug_assert_eq!(
            family_named(self.family).map(|f| f.kind),
            Some(Kind::Histogram)
        );
        let name = self.family;
        for (bound, n) in LATENCY_BOUNDS.iter().zip(&b.cumulative) {
            self.line(name, "_bucket", labels, Some(&bound.to_string()), *n as f64);
        }
        self.line(name, "_bucket", labels, Some("+Inf"), b.count as f64);
        self.line(name, "_sum", labels, None, b.sum);
        self.line(name, "_count", labels, None, b.count as f64);
    }

    /// The text so far.
    pub(super) fn finish(self) -> String {
        self.out
    }

    fn line(
        &mut self,
        name: &str,
        suffix: &str,
        labels: &[(&str, &str)],
        le: Option<&str>,
        value: f64,
    ) {
        let out = &mut self.out;
        out.push_str(name);
        out.push_str(suffix);
        let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
        for (i, (key, v)) in all.enumerate() {
            out.push(if i == 0 { '{' } else { ',' });
            out.push_str(key);
            out.push_str("=\"");
            escape(out, v);
            out.push('"');
        }
        if !labels.is_empty() || le.is_some() {
            out.push('}');
        }
        let _ = writeln!(out, " {value}");
    }
}

/// A label value with `\`, `"` and line feeds escaped.
fn escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
