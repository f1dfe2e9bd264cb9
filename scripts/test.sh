#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need (anvil, via setup.sh), then unit,
# property, integration (against real anvil) and doc tests of every crate.
# Under CI=true a test that cannot find anvil fails instead of skipping.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
export ANVIL_BIN="$root/.tools/bin/anvil"
# Under CI=true spam-store's PostgreSQL tests need a server; elsewhere they skip without one.
if [[ "${CI:-}" == "true" ]]; then
  export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
fi
# The Kubernetes recipe for sharded runs, against the API schemas (offline, strict).
"$root/.tools/bin/kubernetes-validate" --strict --quiet docs/deploy/kubernetes/{job,configmap,secret}.yaml
cargo test --workspace --locked --all-targets
cargo test --workspace --locked --doc
# The libsecp256k1 signing backend must sign byte for byte like k256.
cargo test -p spam-core --locked --features secp256k1 --lib wallet::
