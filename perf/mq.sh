#!/usr/bin/env bash
# Issue 13's figures, side by side in one run (docs/PERFORMANCE.md, "More
# than one lcore"):
#  (1) net_null, 1 and 2 TX lcores, alternating, ROUNDS rounds each: the
#      command of perf/txrate.sh (b) with --tx-cores N;
#  (2) the memif lab (scripts/lab.sh memif), 2 and 4 scanner lcores in total
#      (1 TX + 1 RX, 2 TX + 2 RX), fixed and adaptive rate mode, on
#      198.19.0.0/16 x 400-499 against `reflect --open-ports 443`: probes/s,
#      replies/s, recall (exact or not), and with MEMIF_PERF=1 where the CPU
#      time goes, per thread of the scanner and of the reflector (perf
#      record; per-thread sample shares).
# Run as root on an otherwise idle machine (the load average is printed).
#
#   perf/mq.sh [BUILD_DIR]            (default build/main)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/main}
WS=$(realpath "$BUILD/src/app/wirespeed")
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d /tmp/wsperf-mq.XXXXXX)
trap 'rm -rf "$work"; rm -rf /run/wirespeed-lab/wsperf-mq$$' EXIT
[[ -x $WS ]] || { echo "mq: $WS not built" >&2; exit 1; }

echo "date:   $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "cpu:    $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs online"
echo "load:   $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

echo "== (1) net_null TX rate, 1 vs 2 TX lcores ($ROUNDS rounds, alternating)"
null_run() { # TX_LCORES LCORE_MAP
  local cmd=("$WS" scan 198.19.0.0/16 -p 1-1024 --vdev net_null0,no-rx=1 --blocklist /dev/null
             --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02 --rate 0 --rate-mode fixed --wait 0
             --no-db --metadata "$work/null.json" -q --tx-cores "$1" --rx-cores 1 --lcores "$2")
  [[ $round -eq 1 ]] && echo "# timeout 60 ${cmd[*]}" >&2
  timeout 60 "${cmd[@]}" > "$work/null.out" 2>&1 || { cat "$work/null.out" >&2; return 1; }
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print("%.2f" % (d["tx_pps"] / 1e6))' "$work/null.json"
}
one=() two=()
for round in $(seq "$ROUNDS"); do
  one+=("$(null_run 1 0@0,1@1,2@0)")
  two+=("$(null_run 2 0@0,1@1,2@0,3@0)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
echo "1 TX lcore:  ${one[*]} Mpps (median $(median "${one[@]}"))"
echo "2 TX lcores: ${two[*]} Mpps (median $(median "${two[@]}"))"

echo "== (2) memif lab: 198.19.0.0/16 x 400-499, --rate 0"
P=wsperf-mq$$
for mode in fixed adaptive; do
  for layout in 1:1 2:2; do
    tx=${layout%%:*} rx=${layout#*:}
    echo "# MEMIF_TX=$tx MEMIF_RX=$rx MEMIF_PERF=1 scripts/lab.sh memif $P -q --rate-mode $mode"
    out=$(MEMIF_TX=$tx MEMIF_RX=$rx MEMIF_PERF=1 KEEP=1 WIRESPEED="$WS" LAB_DIR="/run/wirespeed-lab/$P" \
          timeout 300 scripts/lab.sh memif "$P" -q --rate-mode "$mode" 2>&1) || true
    echo "$out" | grep '^memif lab' || echo "$out" | tail -3
    dir="/run/wirespeed-lab/$P/memif"
    # Where the CPU time goes: each thread's share of all samples of the
    # process (perf record -F 999; an lcore that sleeps when idle takes none).
    # Scanner lcores 1..TX are TX, the next RX; "wirespeed" threads are the
    # main lcore (control loop, tid = pid) and the collector.
    for who in scan reflector; do
      [[ -f $dir/$who.perf ]] || continue
      # CPU seconds per thread ~ samples / 999 (perf record -F 999).
      echo "  $who CPU by thread: $(perf report -i "$dir/$who.perf" --sort pid -n --stdio 2>/dev/null |
        awk '/^ +[0-9.]+%/ {printf "%s %.2f s (%s); ", $3, $2 / 999, $1}')"
    done
    python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print("  metadata: sent %d, send %.3f s, duration %.3f s, replies %d, tx_sent %s, rx_received %s, final_rate %d"
      % (m["sent"], m["send_duration_s"], m["duration_s"], m["replies"], m["eal"]["tx_sent"], m["eal"]["rx_received"], m["final_rate"]))' \
      "$dir/scan.json" 2>/dev/null || true
    rm -rf "/run/wirespeed-lab/$P"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
