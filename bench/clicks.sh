#!/usr/bin/env bash
# Click-path benchmark (goal: 40,000 clicks/s, p99 < 20 ms, ratio to a bare
# net/http redirect >= 0.7). Runs wrk against a bare redirect server and
# against touchpoint serve (a fresh store each round), alternating, ROUNDS
# times, and prints each run and the medians. After every touchpoint run it
# checks that the store holds exactly as many touches as 302s were answered.
#
#   bench/clicks.sh                 # 3 rounds of 30 s each side
#   ROUNDS=5 DURATION=10s bench/clicks.sh
#   PG=postgres://postgres@127.0.0.1 bench/clicks.sh   # serve --db: a fresh database each round (sslmode=disable)
#
# Loopback only; every run stops by itself (wrk -d). Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-30s}
CONNS=${CONNS:-64}
SERVE_FLAGS=${SERVE_FLAGS:-}  # extra flags for touchpoint serve
PG=${PG:-}                    # a PostgreSQL server: serve --db on a database of its own each round
NODES=${NODES:-1}             # with PG: this many serve nodes over the one database, the connections split between them
TP_ADDR=127.0.0.1:18181
BASE_ADDR=127.0.0.1:18190
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/touchpoint" ./cmd/touchpoint
go build -o "$work/baseline" ./bench/baseline

run_wrk() { # url -> "rps p99_ms requests"
	wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s bench/clicks.lua "$1" | awk '
		/Requests\/sec/ {rps=$2}
		/ 99%/ {p=$2; if (p ~ /us$/) {sub(/us/,"",p); p=p/1000} else if (p ~ /ms$/) {sub(/ms/,"",p)} else if (p ~ /s$/) {sub(/s/,"",p); p=p*1000}; p99=p}
		/requests in/ {n=$1}
		END {printf "%s %s %s\n", rps, p99, n}'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

"$work/baseline" -addr "$BASE_ADDR" & sleep 0.5
printf '%-6s %-10s %12s %10s %12s %s\n' round server clicks/s p99_ms requests check
for r in $(seq 1 "$ROUNDS"); do
	read -r rps p99 n < <(run_wrk "http://$BASE_ADDR")
	printf '%-6s %-10s %12s %10s %12s\n' "$r" baseline "$rps" "$p99" "$n"
	echo "$rps" >> "$work/base.rps"

	data="$work/data$r"
	store=(--data-dir "$data")
	if [ -n "$PG" ]; then
		db="touchpoint_bench_clicks_$$_$r"
		psql -q "$PG/postgres" -c "CREATE DATABASE $db"
		# Loopback: no TLS, as a server beside its database would connect.
		store=(--db "$PG/$db?sslmode=disable" --admin-token bench-clicks)
		export TOUCHPOINT_ADMIN_TOKEN=bench-clicks
	fi
	pids=()
	for i in $(seq "$NODES"); do
		"$work/touchpoint" serve --addr "127.0.0.1:$((18180 + i))" "${store[@]}" --log-level warn $SERVE_FLAGS > "$work/serve$r-$i.log" 2>&1 &
		pids+=($!)
		for _ in $(seq 50); do curl -sf "http://127.0.0.1:$((18180 + i))/readyz" >/dev/null && break; sleep 0.1; done
	done
	pid=${pids[0]}
	export TOUCHPOINT_SERVER="http://$TP_ADDR" TOUCHPOINT_DATA_DIR="$data"
	"$work/touchpoint" apps create --platform android --name Game com.example.game >/dev/null
	"$work/touchpoint" partners create com.example.game examplenet_int >/dev/null
	if [ "$NODES" = 1 ]; then
		read -r rps p99 n < <(run_wrk "http://$TP_ADDR")
	else
		# Every node at once, each with its share of the connections, once
		# each has loaded the app (its catalog reloads every 10 s).
		sleep 11
		loads=()
		for i in $(seq "$NODES"); do
			CONNS=$((CONNS / NODES)) run_wrk "http://127.0.0.1:$((18180 + i))" > "$work/node$i" &
			loads+=($!)
		done
		wait "${loads[@]}"
		rps=$(cat "$work"/node* | awk '{s+=$1} END {print s}'); p99=$(cat "$work"/node* | awk '$2>m {m=$2} END {print m}')
		n=$(cat "$work"/node* | awk '{s+=$3} END {print s}'); rm -f "$work"/node*
	fi
	found=0
	for i in $(seq "$NODES"); do
		f=$(curl -s "http://127.0.0.1:$((18180 + i))/metrics" | grep -F 'touchpoint_http_requests_total{code="302",route="GET /c/{app_id}"}' | awk '{print $NF}')
		found=$((found + ${f:-0}))
	done
	stored=$("$work/touchpoint" touches count com.example.game | tr -dc '0-9')
	check="302s=$found stored=$stored"
	[ "$found" = "$stored" ] && check="$check ok" || check="$check MISMATCH"
	printf '%-6s %-10s %12s %10s %12s %s\n' "$r" touchpoint "$rps" "$p99" "$n" "$check"
	echo "$rps" >> "$work/tp.rps"; echo "$p99" >> "$work/tp.p99"
	kill -TERM "${pids[@]}"; wait "${pids[@]}" || true
	if [ -n "$PG" ]; then psql -q "$PG/postgres" -c "DROP DATABASE $db WITH (FORCE)"; fi
done
base=$(median < "$work/base.rps"); tp=$(median < "$work/tp.rps"); p99=$(median < "$work/tp.p99")
echo
echo "median baseline:   $base req/s"
echo "median touchpoint: $tp clicks/s, p99 $p99 ms"
echo "ratio:             $(awk -v a="$tp" -v b="$base" 'BEGIN {printf "%.2f", a/b}')"
