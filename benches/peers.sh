#!/usr/bin/env bash
# Side by side: `spammer loadgen` with default flags, other spammer builds, and any peer found on
# PATH (contender), at the same target rates, each run on a fresh anvil (1 s blocks, 1 Ggas).
# Included transactions are counted from the chain itself (block by block), not from any
# tool's report. Prints one line per run and the hand-written ceiling for the ratios.
#
#   ./benches/peers.sh                              # rates 1000 2000 4000 8000, 15 s each
#   RATES="2000 8000" SECS=20 ./benches/peers.sh
#   ALSO="before=/tmp/spammer-main" ./benches/peers.sh   # another spammer build, same flags
#   FACTORS="1 2 4" ./benches/peers.sh              # 1×, 2×, 4× the hand-written ceiling
#   CEILING=0 ./benches/peers.sh                    # skip the hand-written ceiling
#
# Per run: included during the load (blocks stamped within the sending window) per second,
# its ratio to the target and to the hand-written ceiling, everything included by the end,
# and the tool's CPU µs per included transaction and peak RSS (GNU time; anvil excluded).
# Each tool's output is kept in target/peers/ (OUT=dir to change).
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"1000 2000 4000 8000"}
# FACTORS="1 2 4": targets as multiples of the hand-written ceiling instead of RATES.
FACTORS=${FACTORS:-}
SECS=${SECS:-15}
ACCOUNTS=${ACCOUNTS:-2500}
ALSO=${ALSO:-}
CEILING=${CEILING:-1}
ANVIL=${ANVIL_BIN:-.tools/bin/anvil}
CAST=${CAST_BIN:-.tools/bin/cast}
# anvil's first dev key: public knowledge, for peers that fund their own senders (-p).
DEV_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

[ -x "$ANVIL" ] || { echo "anvil not found at $ANVIL: run ./scripts/setup.sh" >&2; exit 1; }
[ -x "$CAST" ] || { echo "cast not found at $CAST: run ./scripts/setup.sh" >&2; exit 1; }
echo "building release binaries" >&2
cargo build --release --locked -q -p spammer
cargo build --release --locked -q -p spam-core --example loadgen_bench

# Each tool's output stays here, one file per run.
WORK=${OUT:-target/peers}
mkdir -p "$WORK"
ANVIL_PID=""
cleanup() {
  [ -n "$ANVIL_PID" ] && kill "$ANVIL_PID" 2>/dev/null || true
}
trap cleanup EXIT

free_port() {
  local port
  for port in $(seq 18545 18645); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "no free port in 18545-18645" >&2
  exit 1
}

start_anvil() {
  PORT=$(free_port)
  RPC="http://127.0.0.1:$PORT"
  "$ANVIL" --port "$PORT" --block-time 1 --gas-limit 1000000000 --accounts "$ACCOUNTS" \
    --balance 1000000 --silent >/dev/null 2>&1 &
  ANVIL_PID=$!
  for _ in $(seq 1 100); do
    "$CAST" block-number --rpc-url "$RPC" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "anvil did not start on $PORT" >&2
  exit 1
}

stop_anvil() {
  kill "$ANVIL_PID" 2>/dev/null || true
  wait "$ANVIL_PID" 2>/dev/null || true
  ANVIL_PID=""
}

# Transactions in blocks after $1: "<in window> <total>", the window being blocks stamped
# from $2 to $2 + SECS (unix seconds).
count_included() {
  local from=$1 start=$2 head n ts txs in_window=0 total=0
  head=$("$CAST" block-number --rpc-url "$RPC")
  for n in $(seq $((from + 1)) "$head"); do
    read -r ts txs < <("$CAST" rpc --rpc-url "$RPC" eth_getBlockByNumber "$(printf '0x%x' "$n")" false \
      | jq -r '[(.timestamp | ltrimstr("0x") | ascii_downcase), (.transactions | length)] | "\(.[0]) \(.[1])"')
    ts=$((16#$ts))
    total=$((total + txs))
    if [ "$ts" -ge "$start" ] && [ "$ts" -le $((start + SECS)) ]; then
      in_window=$((in_window + txs))
    fi
  done
  echo "$in_window $total"
}

ceiling=0
if [ "$CEILING" = 1 ]; then
  ceiling=$(ANVIL_BIN="$ANVIL" target/release/examples/loadgen_bench handwritten --accounts 200 | tail -1)
  echo "hand-written ceiling (batches of 100, presigned, 8 connections): $ceiling tx/s"
  if [ -n "$FACTORS" ]; then
    RATES=""
    for f in $FACTORS; do RATES="$RATES $(printf '%.0f' "$(echo "$f * $ceiling" | bc -l)")"; done
  fi
fi

engines="spam=target/release/spammer"
for extra in $ALSO; do engines="$engines $extra"; done
command -v contender >/dev/null && engines="$engines contender=$(command -v contender)"

printf '%-10s %7s %10s %6s %8s %9s %10s %8s %s\n' \
  tool target "in-run/s" ratio "/ceil" "total" "cpu µs/tx" "rss MB" "exit"
for rate in $RATES; do
  for entry in $engines; do
    name=${entry%%=*}
    bin=${entry#*=}
    start_anvil
    from=$("$CAST" block-number --rpc-url "$RPC")
    start=$(date +%s)
    if [ "$name" = contender ]; then
      cmd=("$bin" spam --tps "$rate" -d "$SECS" -r "$RPC" -p "$DEV_KEY" transfers)
    else
      cmd=("$bin" loadgen --rpc-url "$RPC" --rate "$rate" --duration "${SECS}s" --quiet)
    fi
    status=0
    /usr/bin/time -f "%U %S %M" -o "$WORK/time" "${cmd[@]}" >"$WORK/$name-$rate.out" 2>&1 || status=$?
    read -r in_window total < <(count_included "$from" "$start")
    read -r user sys rss < "$WORK/time"
    stop_anvil
    per_s=$(echo "$in_window / $SECS" | bc -l)
    cpu=$(echo "($user + $sys) * 1000000 / ($total + ($total == 0))" | bc -l)
    ratio_ceiling="-"
    [ "$ceiling" != 0 ] && ratio_ceiling=$(printf '%.2f' "$(echo "$per_s / $ceiling" | bc -l)")
    printf '%-10s %7s %10.0f %6.2f %8s %9s %10.0f %8.0f %s\n' \
      "$name" "$rate" "$per_s" "$(echo "$per_s / $rate" | bc -l)" "$ratio_ceiling" \
      "$total" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$status"
  done
done
