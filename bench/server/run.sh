#!/usr/bin/env bash
# Feature server latency benchmark (run by hand, not by ctest):
#   bench/server/run.sh [BUILD_DIR]    (default: build/ in this repo)
# Generates a repo with one 50-feature view over 10k drivers, materializes it into a fresh
# redis-server, starts `featureforge serve` and drives POST /get-online-features with wrk for
# 1, 10 and 100 entities x 50 features: one connection (latency) and 16 connections
# (throughput). Beside it, in the same run, the raw Redis round trip of the same reads
# (ff-bench-redis-rtt: one pipeline of N HMGETs). Prints a Markdown table.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build}"
FF="$BUILD/worker/featureforge"
GEN="$BUILD/examples/ff-sample-data"
RTT="$BUILD/bench/server/ff-bench-redis-rtt"
DURATION="${DURATION:-10s}"
SERVER_THREADS="${SERVER_THREADS:-2}"
# PERF_OUT=/tmp/serve.perf.data: also `perf record -g` the server during the 1-entity,
# 1-connection run (then: perf report -i "$PERF_OUT" --no-children).
PERF_OUT="${PERF_OUT:-}"
# ONLY_ENTITIES="1": measure only these entity counts.
ONLY_ENTITIES="${ONLY_ENTITIES:-1 10 100}"
for bin in "$FF" "$GEN" "$RTT"; do
  [[ -x "$bin" ]] || { echo "missing $bin: build featureforge ff-sample-data ff-bench-redis-rtt" >&2; exit 1; }
done
for tool in wrk redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/setup installs it)" >&2; exit 1; }
done

WORK="$(mktemp -d /tmp/ff-bench-server.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# The repo: the sample generator's driver stats, widened to 50 features by a batch view.
REPO="$WORK/repo"
mkdir -p "$REPO/definitions"
cat >"$REPO/feature_store.yaml" <<YAML
project: bench
registry: data/registry.pb
provider: local
offline_store:
  type: duckdb
online_store:
  type: redis
  connection_string: "127.0.0.1:$REDIS_PORT"
batch_engine:
  type: local
  chunk_size: 10000
entity_key_serialization_version: 3
YAML
{
  echo "entities:"
  echo "  - {name: driver, join_keys: [driver_id], value_type: INT64}"
  echo "sources:"
  echo "  - {name: driver_stats_source, path: data/driver_stats.parquet, timestamp_field: event_timestamp, created_timestamp_column: created}"
  echo "batch_feature_views:"
  echo "  - name: wide_stats"
  echo "    entities: [driver]"
  echo "    ttl: 30d"
  echo "    sources: [driver_stats_source]"
  echo "    timestamp_field: event_timestamp"
  echo "    query: |"
  echo "      SELECT driver_id, event_timestamp,"
  for i in $(seq 0 49); do
    sep=","; [[ $i == 49 ]] && sep=""
    if (( i < 25 )); then
      printf "        CAST(conv_rate * %d AS FLOAT) AS f%02d%s\n" $((i + 1)) "$i" "$sep"
    else
      printf "        avg_daily_trips + %d AS f%02d%s\n" "$i" "$i" "$sep"
    fi
  done
  echo "      FROM driver_stats_source"
  echo "    schema:"
  echo "      - {name: driver_id, dtype: Int64}"
  for i in $(seq 0 49); do
    if (( i < 25 )); then t=Float32; else t=Int64; fi
    printf "      - {name: f%02d, dtype: %s}\n" "$i" "$t"
  done
} >"$REPO/definitions/bench.yaml"

END="$(date -u +%Y-%m-%dT%H:00:00)"
"$GEN" --repo "$REPO" --drivers 10000 --days 1 --end "$END" >/dev/null
"$FF" --repo "$REPO" apply >/dev/null
"$FF" --repo "$REPO" materialize-incremental "$END" --quiet >/dev/null

"$FF" --repo "$REPO" serve --port 0 --port-file "$WORK/port" --threads "$SERVER_THREADS" \
  >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=($SERVE_PID)
for _ in $(seq 200); do [[ -s "$WORK/port" ]] && break; sleep 0.05; done
PORT="$(cat "$WORK/port")"
URL="http://127.0.0.1:$PORT/get-online-features"

# wrk's Lua script: a fixed POST body of N drivers x 50 features.
make_lua() {
  local n=$1 features ids
  features="$(for i in $(seq 0 49); do printf '"wide_stats:f%02d",' "$i"; done)"
  features="${features%,}"
  ids="$(seq -s, 1001 $((1000 + n)))"
  cat >"$WORK/post_$n.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"features": [$features], "entities": {"driver_id": [$ids]}}'
LUA
}

# Sanity check: every value PRESENT before measuring anything.
make_lua 100
BODY="$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$WORK/post_100.lua")"
curl -s -X POST -H 'Content-Type: application/json' -d "$BODY" "$URL" >"$WORK/check.json"
python3 - "$WORK/check.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = [s for col in r["results"][1:] for s in col["statuses"] if s != "PRESENT"]
assert len(r["results"]) == 51 and not bad, f"not all PRESENT: {len(bad)} bad"
PY

# wrk --latency prints "50%  1.23ms" lines; normalise to milliseconds.
to_ms() { python3 -c 'import re,sys
v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s)$", v)
x=float(m.group(1)); u=m.group(2)
print("%.3f" % (x/1000 if u=="us" else x*1000 if u=="s" else x))' "$1"; }

run_wrk() {  # threads connections n -> "p50 p99 req/s"
  local out
  out="$(wrk -t"$1" -c"$2" -d"$DURATION" --latency -s "$WORK/post_$3.lua" "$URL")"
  echo "$out" >>"$WORK/wrk.log"
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx responses: $out" >&2; exit 1; fi
  local p50 p99 rps
  p50="$(awk '$1=="50%"{print $2}' <<<"$out")"
  p99="$(awk '$1=="99%"{print $2}' <<<"$out")"
  rps="$(awk '/Requests\/sec/{print $2}' <<<"$out")"
  echo "$(to_ms "$p50") $(to_ms "$p99") $rps"
}

echo "| entities x features | server p50 ms (1 conn) | server p99 ms (1 conn) | server req/s (1 conn) | server p50 ms (16 conn) | server p99 ms (16 conn) | server req/s (16 conn) | raw Redis p50 ms | raw Redis p99 ms | raw Redis req/s (1 conn) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $ONLY_ENTITIES; do
  make_lua "$n"
  if [[ -n "$PERF_OUT" && "$n" == 1 ]]; then
    perf record --call-graph dwarf,16384 -F 999 -o "$PERF_OUT" -p "$SERVE_PID" >"$WORK/perf.log" 2>&1 &
    PERF_PID=$!
    sleep 0.5
  fi
  read -r l50 l99 lrps < <(run_wrk 1 1 "$n")
  if [[ -n "${PERF_PID:-}" ]]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; PERF_PID=; fi
  read -r t50 t99 trps < <(run_wrk 2 16 "$n")
  rtt="$("$RTT" --port "$REDIS_PORT" --project bench --view wide_stats --features 50 \
          --entities "$n" --iterations 20000)"
  r50="$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$rtt")"
  r99="$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$rtt")"
  rrps="$(sed -n 's/.*req_per_s=\([0-9.]*\).*/\1/p' <<<"$rtt")"
  printf "| %d x 50 | %s | %s | %s | %s | %s | %s | %.3f | %.3f | %s |\n" "$n" "$l50" "$l99" \
    "$lrps" "$t50" "$t99" "$trps" "$(bc -l <<<"$r50/1000")" "$(bc -l <<<"$r99/1000")" "$rrps"
done
echo
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); server threads: $SERVER_THREADS; wrk duration $DURATION"
