#!/usr/bin/env bash
# Dashboard benchmark (goal: first paint under 200 ms on localhost with a
# store of a million installs and ten million events). Seeds a store once
# (touchpoint bench dashboard --seed-only: the charts benchmark's ten
# million events of a million users, and an app with a million installs
# over the same 90 days; kept in BENCH_DATA for later runs), then:
#  1. touchpoint bench dashboard: each page's time to its last byte over
#     HTTP, signed in (the server's share of a paint);
#  2. BenchmarkFirstPaint (package web): each page opened RUNS times in
#     headless Chromium, with the median first contentful paint, time to
#     the last byte, and time until the parts fetched after the paint (a
#     chart, a long range's counts) are in; and a bare page's, as the
#     baseline of the same run.
#
#   bench/dashboard.sh
#   RUNS=9 BENCH_DATA=/tmp/bench-dash bench/dashboard.sh
#
# Seeding takes about four minutes; it happens once per BENCH_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BENCH_DATA=${BENCH_DATA:-/tmp/touchpoint-bench-dashboard}
go build -o /tmp/touchpoint-bench-dashboard-bin ./cmd/touchpoint
/tmp/touchpoint-bench-dashboard-bin bench dashboard --data-dir "$BENCH_DATA" --seed-only
/tmp/touchpoint-bench-dashboard-bin bench dashboard --data-dir "$BENCH_DATA" --runs "$RUNS"
echo
TOUCHPOINT_BENCH_DATA="$BENCH_DATA" go test ./web -run '^$' -bench FirstPaint -benchtime "${RUNS}x" | grep -E '^Benchmark|^ok'
