#!/usr/bin/env bash
# Analytics charts benchmark (goals, with 10 million events of 1 million
# users over 90 days in the store: a 30-day segmentation < 1 s, a 3-step
# funnel < 3 s, a 30-day retention table < 3 s, peak RSS < 1 GB). Seeds a
# store once (touchpoint bench charts; kept in BENCH_DATA for later runs:
# a directory seeded with other sizes is refused, not reseeded), then
# computes five charts RUNS times each in one process (touchpoint bench
# charts calls package chart on the store directly, no HTTP): uniques of
# session_start by media source, session_start → tutorial_complete →
# purchase, retention of session_start, LTV, and revenue by media source
# and campaign. Prints each chart's first (cold) time and the median of
# the rest as a markdown table, what it answered, and the peak RSS. The
# data and the charts are fixed (an anchor date, not today), so runs
# compare.
#
#   bench/charts.sh                                   # 1M users, 10M events
#   USERS=100000 EVENTS=1000000 bench/charts.sh       # a smaller store
#   RUNS=5 BENCH_DATA=/tmp/bench-charts-10m bench/charts.sh
#   ONLY=4 PROFILE=/tmp/ltv.prof bench/charts.sh      # one chart, CPU profile
#
# Seeding 10M events takes a few minutes; it happens once per BENCH_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-1000000}
EVENTS=${EVENTS:-10000000}
DAYS=${DAYS:-90}
RUNS=${RUNS:-3}
BENCH_DATA=${BENCH_DATA:-/tmp/touchpoint-bench-charts-$EVENTS}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/touchpoint" ./cmd/touchpoint

# A production server's store is in the OS page cache; read it in, so the
# cold run does not measure the disk. (The store must fit in free RAM.)
for f in "$BENCH_DATA/touchpoint.db" "$BENCH_DATA/touchpoint.db-wal"; do
	if [ -f "$f" ]; then cat "$f" > /dev/null; fi
done

extra=()
if [ -n "${ONLY:-}" ]; then extra+=(--only "$ONLY"); fi
if [ -n "${PROFILE:-}" ]; then extra+=(--cpuprofile "$PROFILE"); fi
"$work/touchpoint" bench charts --data-dir "$BENCH_DATA" --users "$USERS" --events "$EVENTS" --days "$DAYS" --runs "$RUNS" "${extra[@]}"
if [ -n "${PROFILE:-}" ]; then
	echo
	go tool pprof -top -cum -nodecount=30 "$work/touchpoint" "$PROFILE" 2>/dev/null | head -40
fi
