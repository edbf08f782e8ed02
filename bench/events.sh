#!/usr/bin/env bash
# Analytics ingestion benchmark (goal: POST /2/httpapi with batches of 100
# realistic events from 16 connections sustains >= 100,000 events/s into
# the embedded store, every acknowledged event stored).
# Starts touchpoint serve on a fresh store with one project and a bare
# net/http baseline (bench/baseline: reads the body, answers 200). Each
# round runs touchpoint bench events for DURATION against the baseline,
# then against touchpoint. At the end it counts the stored events (the
# segmentation chart of every event) and checks they are exactly the
# acknowledged ones. Prints events/s, latency, the ratio to the baseline,
# and the server's peak RSS.
#
#   bench/events.sh                          # 3 rounds of 20 s
#   ROUNDS=1 DURATION=10s bench/events.sh
#
# Loopback only; every run stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20s}
CONNS=${CONNS:-16}
DEVICES=${DEVICES:-100000}
TP_ADDR=127.0.0.1:18400
BASE_ADDR=127.0.0.1:18401
ADMIN=bench-admin
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/touchpoint" ./cmd/touchpoint
go build -o "$work/baseline" ./bench/baseline
"$work/baseline" -addr "$BASE_ADDR" & sleep 0.3
"$work/touchpoint" serve --addr "$TP_ADDR" --data-dir "$work/data" --admin-token "$ADMIN" --log-level warn ${SERVE_FLAGS:-} > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://$TP_ADDR/readyz" >/dev/null && break; sleep 0.1; done
api() { curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "$@"; }
project=$(api -X POST "http://$TP_ADDR/api/v1/projects" -d '{"name":"Bench"}')
id=$(echo "$project" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
key=$(echo "$project" | sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
field() { sed -n 's/.*"'"$1"'":\([0-9.]*\).*/\1/p'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

[ -n "${PROFILE:-}" ] && (sleep "${PROFILE_AT:-5}"; curl -s -H "Authorization: Bearer $ADMIN" "http://$TP_ADDR/debug/pprof/profile?seconds=10" > "$PROFILE") &
printf '%-6s %14s %12s %9s %9s %10s\n' round baseline_ev/s events/s p50_ms p99_ms ratio
offset=0 acked=0
for r in $(seq 1 "$ROUNDS"); do
	b=$("$work/touchpoint" bench events --server "http://$BASE_ADDR" --api-key "$key" --conns "$CONNS" --devices "$DEVICES" --duration "$DURATION" --offset 0)
	out=$("$work/touchpoint" bench events --server "http://$TP_ADDR" --api-key "$key" --conns "$CONNS" --devices "$DEVICES" --duration "$DURATION" --offset "$offset")
	offset=$(echo "$out" | field next_offset)
	acked=$((acked + $(echo "$out" | field events)))
	bev=$(echo "$b" | field events_per_sec); tev=$(echo "$out" | field events_per_sec)
	printf '%-6s %14.0f %12.0f %9.1f %9.1f %10.2f\n' "$r" "$bev" "$tev" "$(echo "$out" | field p50_ms)" "$(echo "$out" | field p99_ms)" \
		"$(awk -v a="$tev" -v b="$bev" 'BEGIN {print a/b}')"
	echo "$out" | grep -q '"refused":{}' || echo "refusals: $out"
	echo "$tev" >> "$work/tev"; echo "$bev" >> "$work/bev"
done
rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
start=$(date -u -d yesterday +%F); end=$(date -u -d tomorrow +%F)
stored=$(api -X POST "http://$TP_ADDR/api/v1/projects/$id/charts/segmentation" \
	-d '{"events":[{"event_type":"_all"}],"start":"'"$start"'","end":"'"$end"'"}' | sed -n 's/.*"total": *\([0-9]*\).*/\1/p' | head -1)
echo
tm=$(median < "$work/tev"); bm=$(median < "$work/bev")
echo "median: $tm events/s (baseline $bm, ratio $(awk -v a="$tm" -v b="$bm" 'BEGIN {printf "%.2f", a/b}')); peak RSS ${rss} MB"
[ "$stored" = "$acked" ] && echo "acknowledged=$acked stored=$stored: every acknowledged event stored" || echo "acknowledged=$acked stored=$stored: MISMATCH"
kill -TERM "$pid"; wait "$pid" || true
