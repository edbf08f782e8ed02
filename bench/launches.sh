#!/usr/bin/env bash
# Launches benchmark (goal: >= 5,000 first launches/s with 10 million
# touches for 1 million devices in the store, p99 < 10 ms, server RSS
# < 500 MB). Seeds a store once (touchpoint bench seed; kept in BENCH_DATA
# for later runs), then, ROUNDS times, runs wrk against the bare net/http
# baseline and against touchpoint serve on that store, each round launching
# devices no earlier round launched. After each touchpoint run it checks
# that the server decided exactly as many launches as it answered 200, and
# reads the server's peak RSS.
#
#   bench/launches.sh                          # 3 rounds of 20 s each side
#   ROUNDS=5 BENCH_DATA=/tmp/bench10m bench/launches.sh
#   TOUCHES=1000000 DEVICES=100000 bench/launches.sh   # a smaller store
#   PG=postgres://postgres@127.0.0.1 bench/launches.sh   # serve --db: the store
#                      # seeded once into database touchpoint_bench_<TOUCHES>
#
# Loopback only; every run stops by itself (wrk -d). Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20s}
CONNS=${CONNS:-32}
TOUCHES=${TOUCHES:-10000000}
DEVICES=${DEVICES:-1000000}
BENCH_DATA=${BENCH_DATA:-/tmp/touchpoint-bench-$TOUCHES}
TP_ADDR=127.0.0.1:18182
BASE_ADDR=127.0.0.1:18191
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/touchpoint" ./cmd/touchpoint
go build -o "$work/baseline" ./bench/baseline

PG=${PG:-}
store=(--data-dir "$BENCH_DATA")
if [ -n "$PG" ]; then
	BENCH_DATA=${BENCH_DATA}-pg
	db=touchpoint_bench_$TOUCHES
	# Loopback: no TLS, as a server beside its database would connect.
	store=(--db "$PG/$db?sslmode=disable" --admin-token bench-launches)
fi
if [ ! -s "$BENCH_DATA/dev-key" ]; then
	rm -rf "$BENCH_DATA"
	if [ -n "$PG" ]; then
		mkdir -p "$BENCH_DATA"
		psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
	fi
	"$work/touchpoint" bench seed "${store[@]:0:2}" --touches "$TOUCHES" --devices "$DEVICES" > "$work/key"
	mv "$work/key" "$BENCH_DATA/dev-key"
fi
export BENCH_KEY=$(cat "$BENCH_DATA/dev-key")
# A production server's store is in the OS page cache; read it in, so the
# first round does not measure the disk. (The store must fit in free RAM.)
if [ -z "$PG" ]; then cat "$BENCH_DATA/touchpoint.db" > /dev/null; fi
# Rounds start at fresh devices: past the launches of earlier runs.
offset=$( [ -f "$BENCH_DATA/offset" ] && cat "$BENCH_DATA/offset" || echo 0)

run_wrk() { # url -> "rps p99_ms requests non2xx"
	wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s bench/launches.lua "$1" | awk '
		/Requests\/sec/ {rps=$2}
		/ 99%/ {p=$2; if (p ~ /us$/) {sub(/us/,"",p); p=p/1000} else if (p ~ /ms$/) {sub(/ms/,"",p)} else if (p ~ /s$/) {sub(/s/,"",p); p=p*1000}; p99=p}
		/requests in/ {n=$1}
		/Non-2xx/ {bad=$NF}
		END {printf "%s %s %s %d\n", rps, p99, n, bad}'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

"$work/baseline" -addr "$BASE_ADDR" & sleep 0.5
"$work/touchpoint" serve --addr "$TP_ADDR" "${store[@]}" --log-level warn > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://$TP_ADDR/readyz" >/dev/null && break; sleep 0.1; done
printf '%-6s %-10s %12s %10s %10s %9s %s\n' round server launches/s p99_ms requests rss_mb check
for r in $(seq 1 "$ROUNDS"); do
	read -r rps p99 n bad < <(BENCH_OFFSET=0 run_wrk "http://$BASE_ADDR")
	printf '%-6s %-10s %12s %10s %10s\n' "$r" baseline "$rps" "$p99" "$n"
	echo "$rps" >> "$work/base.rps"

	before=$(curl -s "http://$TP_ADDR/metrics" | awk '/^touchpoint_launches_total\{type="install"\}/ {print $NF}')
	read -r rps p99 n bad < <(BENCH_OFFSET=$offset run_wrk "http://$TP_ADDR")
	offset=$((offset + n + 1000)); echo "$offset" > "$BENCH_DATA/offset"
	after=$(curl -s "http://$TP_ADDR/metrics" | awk '/^touchpoint_launches_total\{type="install"\}/ {print $NF}')
	rss=$(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$pid/status)
	installs=$(( ${after:-0} - ${before:-0} ))
	# wrk stops counting at the deadline while up to CONNS launches are in
	# flight; the server still decides those.
	check="200s=$((n - bad)) installs=$installs"
	extra=$((installs - (n - bad)))
	[ "$bad" = 0 ] && [ "$extra" -ge 0 ] && [ "$extra" -le "$CONNS" ] && check="$check ok" || check="$check MISMATCH"
	printf '%-6s %-10s %12s %10s %10s %9s %s\n' "$r" touchpoint "$rps" "$p99" "$n" "$rss" "$check"
	echo "$rps" >> "$work/tp.rps"; echo "$p99" >> "$work/tp.p99"; echo "$rss" >> "$work/tp.rss"
done
kill -TERM "$pid"; wait "$pid" || true
base=$(median < "$work/base.rps"); tp=$(median < "$work/tp.rps"); p99=$(median < "$work/tp.p99"); rss=$(sort -g "$work/tp.rss" | tail -1)
echo
echo "median baseline:   $base req/s"
echo "median touchpoint: $tp first launches/s, p99 $p99 ms, peak RSS $rss MB"
echo "ratio:             $(awk -v a="$tp" -v b="$base" 'BEGIN {printf "%.2f", a/b}')"
