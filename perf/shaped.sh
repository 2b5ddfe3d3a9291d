#!/usr/bin/env bash
# A lossy reply path, side by side in one lab (scripts/lab.sh up sh): the
# target's side of the veth shaped with tbf (10 Mbit/s, 30 Mbit/s, unshaped),
# 198.19.0.0/16 x ports 22,443 (131,072 open pairs), every tool asked for
# 1 Mpps. Recall against the lab's ground truth and wall time.
#   wirespeed            --rate 1M (adaptive, default --wait, verify and repair on)
#   wirespeed-fixed      --rate 1M --rate-mode fixed --no-repair
#   masscan              --rate 1000000 --wait 2
#   zmap                 -r 1000000 -c 2
#
#   perf/shaped.sh [BUILD_DIR]          (default build/main; run as root)
#   SHAPES="10mbit unshaped" perf/shaped.sh
#
# Safety: every tool runs under `ip netns exec sh-scan` and `timeout`, aims at
# 198.19.0.0/16 only, and the lab is torn down on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
P=sh
NET=198.19.0.0/16
SHAPES=${SHAPES:-"10mbit 30mbit unshaped"}
TRUTH=/run/wirespeed-lab/$P/truth.txt
# shellcheck source=perf/lab_env.sh
source perf/lab_env.sh "$@"
: > "$work/empty.conf"
awk -F: '$2 == 22 || $2 == 443' "$TRUTH" | sort -u > "$work/truth.txt"
truth_n=$(wc -l < "$work/truth.txt")
echo "truth: $truth_n open pairs"
report() { # NAME SHAPE FOUND_FILE T0 T1 EXTRA
  local hits; hits=$(sort -u "$3" | comm -12 - "$work/truth.txt" | wc -l)
  python3 -c "import sys; n,s,h,t,a,b,e=sys.argv[1:]; print(f'RESULT {s:<9} {n:<16} recall {100*int(h)/int(t):7.3f}%  wall {float(b)-float(a):6.1f} s  {e}')" \
    "$1" "$2" "$hits" "$truth_n" "$4" "$5" "${6:-}"
}

ws() { # NAME SHAPE FLAGS...
  local name=$1 shape=$2; shift 2
  rm -f "$work/ws.db"
  local t0 t1; t0=$(now)
  ip netns exec "$SCAN_NS" timeout 600 "$WS" scan "$NET" -p 22,443 --interface "$IF" --source-ip "$SRC" \
    --blocklist config/lab-blocklist.conf --db "$work/ws.db" -q --metadata "$work/ws.json" "$@" 2>/dev/null || true
  t1=$(now)
  sqlite3 "$work/ws.db" "SELECT ip || ':' || port FROM results WHERE state='open'" > "$work/ws.found"
  report "$name" "$shape" "$work/ws.found" "$t0" "$t1" "$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['recall']; print('estimate', {k: r[k] for k in r if k in ('recall','recall_low','recall_high','repair_passes','all_answered')})" "$work/ws.json")"
}

for shape in $SHAPES; do
  ip netns exec "$TARGET_NS" tc qdisc del dev "$P-t" root 2>/dev/null || true
  [[ $shape == unshaped ]] || ip netns exec "$TARGET_NS" tc qdisc add dev "$P-t" root tbf rate "$shape" burst 32kbit latency 20ms
  ws wirespeed "$shape" --rate 1M
  ws wirespeed-fixed "$shape" --rate 1M --rate-mode fixed --no-repair --wait 2
  t0=$(now)
  ip netns exec "$SCAN_NS" timeout 120 zmap -i "$IF" -p 443 -r 1000000 -S "$SRC" -G "$T_MAC" -b "$work/empty.conf" -c 2 \
    -o "$work/zmap443.csv" -q "$NET" >/dev/null 2>&1 || true
  ip netns exec "$SCAN_NS" timeout 120 zmap -i "$IF" -p 22 -r 1000000 -S "$SRC" -G "$T_MAC" -b "$work/empty.conf" -c 2 \
    -o "$work/zmap22.csv" -q "$NET" >/dev/null 2>&1 || true
  t1=$(now)
  { grep -E '^[0-9]+\.' "$work/zmap443.csv" | sed 's/$/:443/'; grep -E '^[0-9]+\.' "$work/zmap22.csv" | sed 's/$/:22/'; } > "$work/zmap.found" || true
  report "zmap (2 runs)" "$shape" "$work/zmap.found" "$t0" "$t1"
  rm -f "$work/masscan.txt"
  t0=$(now)
  ip netns exec "$SCAN_NS" timeout 60 masscan "$NET" -p22,443 --interface "$IF" --source-ip "$SRC" --router-mac "$T_MAC" \
    --rate 1000000 --wait 2 -oL "$work/masscan.txt" >/dev/null 2>&1 || true
  t1=$(now)
  awk '$1 == "open" {print $4 ":" $3}' "$work/masscan.txt" > "$work/masscan.found" 2>/dev/null || true
  report masscan "$shape" "$work/masscan.found" "$t0" "$t1" "(masscan may hang after its wait; timeout 60 s)"
done
