#!/usr/bin/env bash
# Postback benchmark (goal: the outbox delivers >= 5,000 postbacks/s to a
# local sink that answers 200, while the server keeps taking launches).
# Starts touchpoint serve on a fresh store with one app and PARTNERS
# partners, each sending every install to the sink (send_all_installs), so
# every first launch owes PARTNERS postbacks; runs wrk with
# bench/launches.lua for DURATION and reads, from /metrics, the postbacks
# that succeeded meanwhile. Then it lets the backlog drain (at most DRAIN
# seconds) and checks that the sink got every delivery exactly once.
# With BACKLOG=N, N postbacks are written into the store before each round
# (server stopped; touchpoint bench backlog), so the round measures what
# the outbox can do while launches come in, not only what they offer.
#
#   bench/postbacks.sh                       # 3 rounds of 20 s
#   ROUNDS=1 DURATION=10s bench/postbacks.sh
#
# Loopback only; every run stops by itself. Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20s}
CONNS=${CONNS:-16}
PARTNERS=${PARTNERS:-10}
DRAIN=${DRAIN:-120}
BACKLOG=${BACKLOG:-0}
TP_ADDR=127.0.0.1:18183
SINK_PORT=18192
SINK_ADDR=127.0.0.1:$SINK_PORT
ADMIN=bench-admin
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/touchpoint" ./cmd/touchpoint
go build -o "$work/sink" ./bench/sink
# Partner i posts to 127.0.0.(i+1): a host of its own, as real networks
# have (the per-host bound applies to each).
addrs=$SINK_ADDR
for i in $(seq 1 "$PARTNERS"); do addrs="$addrs,127.0.0.$((i + 1)):$SINK_PORT"; done
"$work/sink" -addr "$addrs" & sleep 0.3

api() { curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "$@"; }
succeeded() {
	curl -s "http://$TP_ADDR/metrics" | awk '/^touchpoint_delivery_attempts_total\{.*state="succeeded"/ {n += $NF} END {printf "%d\n", n}'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

start_server() {
	"$work/touchpoint" serve --addr "$TP_ADDR" --data-dir "$work/data" --admin-token "$ADMIN" --log-level warn \
		--allow-private-postback-hosts ${SERVE_FLAGS:-} >> "$work/serve.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -sf "http://$TP_ADDR/readyz" >/dev/null && break; sleep 0.1; done
}
start_server
key=$(api -X POST "http://$TP_ADDR/api/v1/apps" -d '{"app_id":"com.bench.game","platform":"android","name":"Bench"}' |
	sed -n 's/.*"dev_key": *"\([^"]*\)".*/\1/p')
for i in $(seq 1 "$PARTNERS"); do
	api -X POST "http://$TP_ADDR/api/v1/apps/com.bench.game/partners" -d '{"pid":"net_'"$i"'_int","send_all_installs":true,
		"postbacks":[{"kind":"install_postback","url":"http://127.0.0.'"$((i + 1))"':'"$SINK_PORT"'/pb/net_'"$i"'_int?d=(appsflyer-device-id)&ts=(install-unix-ts)&mt=(match-type)"}]}' >/dev/null
done

[ -n "${PROFILE:-}" ] && (sleep 5; curl -s -H "Authorization: Bearer $ADMIN" "http://$TP_ADDR/debug/pprof/profile?seconds=5" > "$PROFILE") &
printf '%-6s %12s %14s %12s %16s\n' round launches/s postbacks/s backlog drain_postbacks/s
offset=0
for r in $(seq 1 "$ROUNDS"); do
	if [ "$BACKLOG" -gt 0 ]; then
		kill -TERM "$pid"; wait "$pid" || true
		"$work/touchpoint" bench backlog --data-dir "$work/data" --deliveries "$BACKLOG" --partners "$PARTNERS" --port "$SINK_PORT"
		start_server
		backlog_total=$(( ${backlog_total:-0} + BACKLOG ))
	fi
	before=$(succeeded); t0=$(date +%s.%N)
	out=$(BENCH_KEY=$key BENCH_OFFSET=$offset wrk -t1 -c"$CONNS" -d"$DURATION" -s bench/launches.lua "http://$TP_ADDR")
	after=$(succeeded); t1=$(date +%s.%N)
	n=$(echo "$out" | awk '/requests in/ {print $1}'); offset=$((offset + n + 1000))
	lps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	pps=$(awk -v a="$after" -v b="$before" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f", (a-b)/(t1-t0)}')
	backlog=0
	for i in $(seq 1 "$PARTNERS"); do
		b=$(api "http://$TP_ADDR/api/v1/apps/com.bench.game/partners/net_${i}_int/postback-health" | sed -n 's/.*"backlog": *\([0-9]*\).*/\1/p')
		backlog=$((backlog + b))
	done
	echo "$pps" >> "$work/pps"
	# Let the backlog drain before the next round, and time it: the
	# outbox's rate with no launches coming in.
	d0=$(succeeded); t0=$(date +%s.%N)
	for _ in $(seq $((DRAIN * 5))); do
		api "http://$TP_ADDR/api/v1/deliveries?app_id=com.bench.game&state=pending&limit=1" | grep -Eq '"deliveries": *\[\]' && break
		sleep 0.2
	done
	dps=$(awk -v a="$(succeeded)" -v b="$d0" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN {printf "%.0f", (a-b)/(t1-t0)}')
	printf '%-6s %12s %14s %12s %16s\n' "$r" "$lps" "$pps" "$backlog" "$dps"
	echo "$dps" >> "$work/dps"
done
# Every delivery in the store succeeded once (the health API counts from
# the store, across restarts), and the sink saw each exactly once.
owed=0
for i in $(seq 1 "$PARTNERS"); do
	n=$(api "http://$TP_ADDR/api/v1/apps/com.bench.game/partners/net_${i}_int/postback-health?from=2000-01-01T00:00:00Z" |
		sed -n 's/.*"succeeded": *\([0-9]*\).*/\1/p')
	owed=$((owed + n))
done
pending=$(api "http://$TP_ADDR/api/v1/deliveries?app_id=com.bench.game&state=pending&limit=1" | grep -Ec '"id"' || true)
read -r total distinct < <(curl -s "http://$SINK_ADDR/_count")
echo
echo "median: $(median < "$work/pps") postbacks/s while taking launches; $(median < "$work/dps") postbacks/s draining the backlog after"
check="succeeded=$owed pending=$pending received=$total distinct=$distinct"
[ "$pending" = 0 ] && [ "$total" = "$owed" ] && [ "$distinct" = "$owed" ] && echo "$check: every postback exactly once" || echo "$check: MISMATCH"
kill -TERM "$pid"; wait "$pid" || true
