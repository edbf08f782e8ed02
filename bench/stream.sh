#!/usr/bin/env bash
# Event streaming benchmark (goal: with streaming on, ingestion at
# 50,000 events/s into /2/httpapi keeps up, the stream backlog stays
# bounded and drains within 60 s after the load stops).
#
# Starts touchpoint serve on a fresh store with one project, and bench/sink
# as the AppsFlyer end: it answers every S2S request "ok" and keeps how
# long after its eventTime each event arrived. Two phases offer RATE
# events/s to /2/httpapi for DURATION each (touchpoint bench events
# --rate): first with no destination (the baseline), then with an
# appsflyer-events destination streaming the TYPES event types to the
# sink. During the second phase and after it, the stream's backlog
# (touchpoint_delivery_backlog) is sampled every second until it is empty.
# Prints, per phase, the events/s acknowledged and the latency; then the
# peak backlog, the time to drain after the load stopped, the delay from
# event time to arrival at the sink (p50, p95, max), and checks that the
# sink got one request per streamed event stored.
#
#   bench/stream.sh                                     # 50,000/s, purchases (a tenth)
#   RATE=20000 TYPES=all DURATION=20s bench/stream.sh   # every event
#
# Loopback only; every run stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-50000}
DURATION=${DURATION:-30s}
TYPES=${TYPES:-purchase}
CONNS=${CONNS:-16}
DEVICES=${DEVICES:-100000}
TP_ADDR=127.0.0.1:18400
SINK_ADDR=127.0.0.1:18402
ADMIN=bench-admin
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/touchpoint" ./cmd/touchpoint
go build -o "$work/sink" ./bench/sink
"$work/sink" -addr "$SINK_ADDR" & sleep 0.3
"$work/touchpoint" serve --addr "$TP_ADDR" --data-dir "$work/data" --admin-token "$ADMIN" --log-level warn \
	--allow-private-postback-hosts ${SERVE_FLAGS:-} > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://$TP_ADDR/readyz" >/dev/null && break; sleep 0.1; done
api() { curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "$@"; }
project=$(api -X POST "http://$TP_ADDR/api/v1/projects" -d '{"name":"Bench"}')
id=$(echo "$project" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
key=$(echo "$project" | sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
field() { sed -n 's/.*"'"$1"'":\([0-9.]*\).*/\1/p'; }
all=(session_start screen_view level_start level_complete purchase ad_impression button_click tutorial_step item_equipped session_end)
if [ "$TYPES" = all ]; then types=("${all[@]}") filter='{}'; else
	IFS=, read -r -a types <<< "$TYPES"
	filter="{\"event_types\":[$(printf '"%s",' "${types[@]}" | sed 's/,$//')]}"
fi
load() { "$work/touchpoint" bench events --server "http://$TP_ADDR" --api-key "$key" --conns "$CONNS" --devices "$DEVICES" \
	--duration "$DURATION" --rate "$RATE" --offset "$1"; }
report() { printf '%-10s %12.0f %9.1f %9.1f\n' "$1" "$(echo "$2" | field events_per_sec)" "$(echo "$2" | field p50_ms)" "$(echo "$2" | field p99_ms)"; }

start=$(date -u -d yesterday +%F); end=$(date -u -d tomorrow +%F)
count() {
	local total=0 c
	for t in "${types[@]}"; do
		c=$(api "http://$TP_ADDR/api/v1/projects/$id/segmentation?event_type=$t&start=$start&end=$end" | awk '/"total"/ {gsub(/[^0-9]/, "", $2); s += $2} END {print s+0}')
		total=$((total + c))
	done
	echo "$total"
}

# Every user gets an AppsFlyer id first, as installs forwarded from the
# attribution plane give them: the S2S API requires one.
"$work/touchpoint" bench events --server "http://$TP_ADDR" --api-key "$key" --devices "$DEVICES" --set-appsflyer-ids > /dev/null
printf '%-10s %12s %9s %9s\n' phase events/s p50_ms p99_ms
base=$(load 0)
report "no stream" "$base"
before=$(count)
dest=$(api -X POST "http://$TP_ADDR/api/v1/projects/$id/destinations" -d "{\"name\":\"bench\",\"appsflyer_app_id\":\"com.example.bench\",
	\"key\":\"bench-key\",\"url\":\"http://$SINK_ADDR\",\"filter\":$filter}")
did=$(echo "$dest" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
backlog() { curl -s "http://$TP_ADDR/metrics" | awk -v p="destination/$did" 'index($0, "touchpoint_delivery_backlog{") == 1 && index($0, "pid=\"" p "\"") {n = $2} END {print n + 0}'; }
load "$(echo "$base" | field next_offset)" > "$work/streamed" &
loader=$!
[ -n "${PROFILE:-}" ] && (sleep "${PROFILE_AT:-3}"; curl -s -H "Authorization: Bearer $ADMIN" "http://$TP_ADDR/debug/pprof/profile?seconds=5" > "$PROFILE") &
peak=0
while kill -0 "$loader" 2>/dev/null; do
	b=$(backlog); [ "$b" -gt "$peak" ] && peak=$b
	echo "$b" >> "$work/samples"; sleep 1
done
wait "$loader"
stopped=$(date +%s.%N)
report "stream on" "$(cat "$work/streamed")"
drained=""
for _ in $(seq 120); do
	b=$(backlog); [ "$b" -gt "$peak" ] && peak=$b
	if [ "$b" = 0 ]; then drained=$(awk -v a="$(date +%s.%N)" -v b="$stopped" 'BEGIN {printf "%.1f", a-b}'); break; fi
	sleep 1
done
echo
echo "backlog samples during the load (1/s): $(tr '\n' ' ' < "$work/samples")"
echo "peak backlog: $peak; drained ${drained:-NOT within 120} s after the load stopped"
read -r n p50 p95 mx < <(curl -s "http://$SINK_ADDR/_delays")
echo "event time to arrival at the sink: p50 ${p50} ms, p95 ${p95} ms, max ${mx} ms ($n events)"
streamed=$(( $(count) - before ))
read -r got _ < <(curl -s "http://$SINK_ADDR/_count")
[ "$got" = "$streamed" ] && verdict="one each" || verdict="MISMATCH"
echo "events of the streamed types stored while streaming: $streamed; S2S requests at the sink: $got ($verdict)"
rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
echo "peak RSS ${rss} MB"
kill -TERM "$pid"; wait "$pid" || true
