#!/usr/bin/env bash
# The closed loop (`spammer run`) on fresh anvils: 1 s blocks and automine, 100 and 1 000
# workers, self-transfers. Per run: tasks/s and included transactions counted from the chain
# (blocks stamped within the run), CPU µs per task of the spammer process (GNU time; anvil
# excluded) and its peak RSS.
#
#   ./benches/closed.sh
#   WORKERS="100" SECS=20 ./benches/closed.sh
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=${WORKERS:-"100 1000"}
SECS=${SECS:-15}
ANVIL=${ANVIL_BIN:-.tools/bin/anvil}
CAST=${CAST_BIN:-.tools/bin/cast}
[ -x "$ANVIL" ] || { echo "anvil not found at $ANVIL: run ./scripts/setup.sh" >&2; exit 1; }
echo "building release binaries" >&2
cargo build --release --locked -q -p spammer

WORK=$(mktemp -d)
ANVIL_PID=""
trap '[ -n "$ANVIL_PID" ] && kill "$ANVIL_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

printf '%-9s %7s %9s %10s %11s %8s %s\n' blocks workers "tasks/s" "on chain" "cpu µs/task" "rss MB" exit
for mode in 1s automine; do
  for workers in $WORKERS; do
    PORT=$((18700 + RANDOM % 200))
    RPC="http://127.0.0.1:$PORT"
    block_args=(--block-time 1)
    [ "$mode" = automine ] && block_args=()
    "$ANVIL" --port "$PORT" "${block_args[@]}" --gas-limit 1000000000 --accounts "$workers" \
      --balance 1000000 --silent >/dev/null 2>&1 &
    ANVIL_PID=$!
    for _ in $(seq 1 100); do "$CAST" block-number --rpc-url "$RPC" >/dev/null 2>&1 && break; sleep 0.1; done
    from=$("$CAST" block-number --rpc-url "$RPC")
    status=0
    /usr/bin/time -f "%U %S %M" -o "$WORK/time" target/release/spammer run --rpc-url "$RPC" \
      --workers "$workers" --duration "${SECS}s" --tasks transfer_self --quiet \
      >"$WORK/out" 2>&1 || status=$?
    head=$("$CAST" block-number --rpc-url "$RPC")
    total=0
    for n in $(seq $((from + 1)) "$head"); do
      total=$((total + $("$CAST" rpc --rpc-url "$RPC" eth_getBlockTransactionCountByNumber "$(printf '0x%x' "$n")" | tr -d '"' | xargs printf '%d')))
    done
    kill "$ANVIL_PID" 2>/dev/null || true
    wait "$ANVIL_PID" 2>/dev/null || true
    ANVIL_PID=""
    read -r user sys rss <"$WORK/time"
    tasks=$(grep -E '^total ' "$WORK/out" | awk '{print $2}')
    printf '%-9s %7s %9.0f %10s %11.0f %8.0f %s\n' "$mode" "$workers" \
      "$(echo "${tasks:-0} / $SECS" | bc -l)" "$total" \
      "$(echo "($user + $sys) * 1000000 / (${tasks:-0} + (${tasks:-0} == 0))" | bc -l)" \
      "$(echo "$rss / 1024" | bc -l)" "$status"
  done
done
