#!/usr/bin/env bash
# The main job: installs anvil if needed, builds spammer (release) and runs it against an anvil
# it starts itself, then prints a report. Extra arguments go to `spammer run`, e.g.
#   ./scripts/run.sh --duration 30s --workers 64
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
cargo build --release --locked -p spammer
exec ./target/release/spammer run "$@"
