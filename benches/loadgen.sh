#!/usr/bin/env bash
# The open-loop ceiling benchmark, in one run on one anvil (1 s blocks, 3 Ggas limit):
#   (a) a minimal hand-written sender posting pre-signed txs in JSON-RPC batches of 100,
#   (b) LoadGen's highest sustained rate, presigned and signed live, with the ratios to (a),
#       intended->sent lag p99 and CPU µs per transaction;
# then a soak run (default 1 000 000 txs, live signing) for CPU per tx and peak RSS.
#
#   ./benches/loadgen.sh                        # k256 signing
#   SECP256K1=1 ./benches/loadgen.sh            # libsecp256k1 signing (feature secp256k1)
#   SOAK=0 ./benches/loadgen.sh --trial-secs 5  # ceiling only; extra args go to `ceiling`
#   SOAK_TXS=300000 SOAK_RATE=6000 ./benches/loadgen.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh >/dev/null
export ANVIL_BIN="$root/.tools/bin/anvil"
features=()
if [ "${SECP256K1:-0}" = 1 ]; then features=(--features secp256k1); fi
cargo build --release --locked -p spam-core --example loadgen_bench "${features[@]}"
bin="$root/target/release/examples/loadgen_bench"
"$bin" ceiling "$@"
if [ "${SOAK:-1}" = 1 ]; then
  "$bin" soak --txs "${SOAK_TXS:-1000000}" --rate "${SOAK_RATE:-5000}"
fi
