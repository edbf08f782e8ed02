#!/usr/bin/env bash
# Memory benchmark: 32 concurrent maximum-size uploads (/batch, 2,000 events
# in about 19 MB each), then the same with an api_key no project has.
# Starts touchpoint serve on a fresh store, runs `touchpoint bench uploads`
# ROUNDS times per phase, and prints the server's peak RSS (VmHWM, reset
# before each phase) with what was answered. Goal: peak RSS under 600 MB.
#
#   bench/uploads.sh                                  # 3 rounds per phase
#   SERVE_FLAGS="--max-decoding-bytes 2147483647" bench/uploads.sh   # unbounded, to compare
#
# Loopback only; every run stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
REQUESTS=${REQUESTS:-2}
TP_ADDR=127.0.0.1:18420
ADMIN=bench-admin
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/touchpoint" ./cmd/touchpoint
"$work/touchpoint" serve --addr "$TP_ADDR" --data-dir "$work/data" --admin-token "$ADMIN" --log-level warn ${SERVE_FLAGS:-} > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://$TP_ADDR/readyz" >/dev/null && break; sleep 0.1; done
project=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -X POST "http://$TP_ADDR/api/v1/projects" -d '{"name":"Bench"}')
key=$(echo "$project" | sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
rss() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-10s %-6s %10s %9s  %s\n' phase round peak_MB seconds answers
for phase in good bogus; do
	k=$key; [ "$phase" = bogus ] && k=bogus-key-0123456789abcdef
	: > "$work/$phase"
	for r in $(seq 1 "$ROUNDS"); do
		echo 5 > "/proc/$pid/clear_refs"   # reset VmHWM
		out=$("$work/touchpoint" bench uploads --server "http://$TP_ADDR" --api-key "$k" --conns "$CONNS" --requests "$REQUESTS" --run "$phase$r")
		peak=$(rss)
		echo "$peak" >> "$work/$phase"
		printf '%-10s %-6s %10s %9.1f  %s\n' "$phase" "$r" "$peak" "$(echo "$out" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p')" \
			"$(echo "$out" | sed -n 's/.*"uploads":\({[^}]*}\).*/\1/p')"
	done
	echo "median peak RSS ($phase key): $(median < "$work/$phase") MB"
done
kill -TERM "$pid"; wait "$pid" || true
