#!/usr/bin/env bash
# Every wirespeed performance figure in one run: builds build-perf, then the
# core micro-benchmarks, the collector -> SQLite comparison, the net_null TX
# rate against dpdk-testpmd, the lab comparison with zmap and masscan, and
# perf/mq.sh (1 vs 2 TX lcores on net_null, the memif lab).
# Run as root (the lab needs network namespaces). Output: stdout, and a copy
# in /tmp/wirespeed-perf-<UTC time>.txt unless RESULTS=/path is given.
#
#   perf/run_all.sh                 # everything
#   SKIP_LAB=1 perf/run_all.sh      # no namespaces (micro-benchmarks and net_null only)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-perf}
RESULTS=${RESULTS:-/tmp/wirespeed-perf-$(date -u +%Y%m%dT%H%M%SZ).txt}
exec > >(tee "$RESULTS") 2>&1

echo "== environment"
echo "date:   $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "cpu:    $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs online"
echo "kernel: $(uname -r)"
echo "load:   $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min: other work on the machine skews every figure)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown) $(git diff --quiet 2>/dev/null || echo '(work tree modified)')"

echo "== build ($BUILD)"
[[ -d $BUILD ]] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
echo "buildtype: $(meson introspect --buildoptions "$BUILD" | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')"

echo "== (2) core micro-benchmarks: $BUILD/perf/bench_core --benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true"
timeout 600 "$BUILD/perf/bench_core" --benchmark_min_time=0.5 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true 2>&1 | grep -v -E '_(mean|stddev|cv) '

echo "== (3) collector -> SQLite: $BUILD/perf/bench_collector --rows 1000000 --autocommit-rows 50000 --repeat 3"
timeout 600 "$BUILD/perf/bench_collector" --rows 1000000 --autocommit-rows 50000 --repeat 3

echo "== (4) TX rate on net_null: perf/txrate.sh $BUILD"
timeout 300 perf/txrate.sh "$BUILD"
echo "== (4b) IPv6 against IPv4 on net_null, a 10M-line IPv6 hitlist: perf/ipv6.sh $BUILD"
timeout 600 perf/ipv6.sh "$BUILD"

if [[ -z ${SKIP_LAB:-} ]]; then
  echo "== (5) lab comparison: perf/lab_compare.sh $BUILD"
  timeout 900 perf/lab_compare.sh "$BUILD"
  echo "== (6) several lcores: net_null 1 vs 2 TX lcores, the memif lab: perf/mq.sh $BUILD"
  timeout 900 perf/mq.sh "$BUILD"
fi
echo "== done; results in $RESULTS"
