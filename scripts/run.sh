#!/usr/bin/env bash
# The main job: installs anvil if needed, builds spammer (release) and runs it against an anvil
# it starts itself, then prints a report (and writes reports/report.json, reports/spammer.db). Extra arguments go to `spammer run`, e.g.
#   ./scripts/run.sh --duration 30s --workers 64
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
cargo build --release --locked -p spammer
# Runs are kept in reports/ (git-ignored): the store `spammer report` reads, and report.json.
# Flags win over these, e.g. --db other.db or --no-db.
export SPAM_DB="${SPAM_DB:-reports/spammer.db}"
export SPAM_REPORT_DIR="${SPAM_REPORT_DIR:-reports}"
exec ./target/release/spammer run "$@"
