#!/usr/bin/env bash
# One run over N local shard processes: the same `spammer` command N times with --shard
# i/N, one anvil (started here unless RPC_URL is set) and one PostgreSQL (DATABASE_URL,
# default the local service), then the merged report. What a Kubernetes Indexed Job does
# (docs/deploy/kubernetes), on one machine.
#
#   ./scripts/shards.sh 3 loadgen --rate 3000 --duration 30s --senders 300
#   RUN_ID=nightly-7 RPC_URL=http://10.0.0.5:8545 ./scripts/shards.sh 4 run --workers 400
#
# Each shard's output goes to target/shards/RUN_ID/shard-I.log; the merged report (JSON and
# HTML too) to target/shards/RUN_ID/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ "$#" -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 N (run|loadgen) [spammer flags…]" >&2
  exit 2
fi
n="$1"
shift
db="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
run_id="${RUN_ID:-shards-$(date +%Y%m%d-%H%M%S)}"
out="target/shards/$run_id"
mkdir -p "$out"

./scripts/setup.sh >/dev/null
cargo build --release --locked -p spammer
spammer="$root/target/release/spammer"

anvil_pid=""
cleanup() { [ -n "$anvil_pid" ] && kill "$anvil_pid" 2>/dev/null || true; }
trap cleanup EXIT
rpc_url="${RPC_URL:-}"
if [ -z "$rpc_url" ]; then
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # 1 s blocks and a large gas limit, as `spammer loadgen` starts its own; enough funded
  # dev accounts for the senders of every shard.
  "$root/.tools/bin/anvil" --port "$port" --block-time 1 --gas-limit 1000000000 \
    --accounts "${ACCOUNTS:-2000}" --silent >"$out/anvil.log" 2>&1 &
  anvil_pid=$!
  rpc_url="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -sf -o /dev/null -H 'content-type: application/json' \
      -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}' "$rpc_url" && break
    sleep 0.1
  done
  echo "shards: anvil at $rpc_url"
fi

echo "shards: run $run_id, $n shards of: spammer $* (logs in $out)"
pids=()
for i in $(seq 0 $((n - 1))); do
  "$spammer" "$@" --rpc-url "$rpc_url" --db "$db" --run-id "$run_id" --shard "$i/$n" \
    >"$out/shard-$i.log" 2>&1 &
  pids+=("$!")
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "shards: shard $i/$n failed (see $out/shard-$i.log)" >&2
    failed=1
  fi
done
"$spammer" report --run "$run_id" --db "$db" --report-dir "$out"
exit "$failed"
