#!/usr/bin/env bash
# Bytes each node writes to disk per message delivered, over one `parley bench` run: /proc/<pid>/io write_bytes of
# the two nodes (WAL frames, checkpoints and syncs; what the kernel sent to the device), read every 0.3 s while the
# bench runs and divided by the messages delivered in all phases. It moves far less from run to run than msgs/s on
# a shared 2-core machine, so it shows a change in the store's write amplification that the throughput hides.
#
#   bash Benchmarks/bytes_per_message.sh .build-rel/release/parley [bench options, default: --duration 8 --rate 100]
#   VAR=value bash Benchmarks/bytes_per_message.sh ...    # the environment reaches the nodes
#
# Prints: msgs_per_s (saturation), messages delivered, write_bytes per node, KB per message per node
# (sender first, then receiver).
set -euo pipefail
bin=${1:?usage: bytes_per_message.sh PARLEY_BINARY [bench options]}
shift
[ $# -gt 0 ] || set -- --duration 8 --rate 100
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$bin" bench "$@" > "$log" 2>&1 &
bench=$!
pids=""
for _ in $(seq 1 100); do
  pids=$(grep -o 'pid [0-9]*' "$log" | awk '{print $2}' | paste -sd' ' || true)
  [ -n "$pids" ] && break
  sleep 0.2
done
last=""
while kill -0 "$bench" 2>/dev/null; do
  current=""
  for pid in $pids; do
    bytes=$(awk '/^write_bytes/ {print $2}' "/proc/$pid/io" 2>/dev/null || true)
    [ -n "$bytes" ] && current="$current $bytes"
  done
  [ "$(echo $current | wc -w)" -eq "$(echo $pids | wc -w)" ] && last="$current"
  sleep 0.3
done
wait "$bench" || { cat "$log"; exit 1; }
messages=$(grep -E '^ +(warm-up|offered|saturation)' "$log" | grep -oE 'delivered [0-9]+|[0-9]+ messages delivered' \
  | grep -oE '[0-9]+' | paste -sd+ | bc)
per=$(for b in $last; do echo "scale=1; $b / 1024 / $messages" | bc; done | paste -sd' ')
echo "$(tail -1 "$log" | grep -oE '^msgs_per_s=[0-9.]+') messages=$messages write_bytes=$(echo $last | tr ' ' ',') kb_per_msg=$(echo $per | tr ' ' ',')"
