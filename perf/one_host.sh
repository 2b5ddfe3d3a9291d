#!/usr/bin/env bash
# The seed project's scenario, side by side in one lab (scripts/lab.sh up oh):
# one host (198.19.0.5), the first 1,000 / 10,000 / all 65,535 ports, wall
# time from start to committed results, and the open ports each tool found.
#   wirespeed  default flags (adaptive rate, default --wait; ends when every port answered)
#   nmap       -sS -T5 --max-retries 0 (its fastest SYN scan)
#   masscan    --rate 1000000 --wait 1
#
#   perf/one_host.sh [BUILD_DIR]      (default build/main; run as root)
#
# Safety: every tool runs under `ip netns exec oh-scan` and `timeout`, aims at
# 198.19.0.5 only, and the lab is torn down on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
P=oh
HOST=198.19.0.5
# shellcheck source=perf/lab_env.sh
source perf/lab_env.sh "$@"
report() { # TOOL PORTS T0 T1 OPEN
  python3 -c "import sys; t, p, a, b, o = sys.argv[1:]; print(f'RESULT {t:<10} ports {p:>5}  wall {float(b)-float(a):6.3f} s  open {o}')" "$@"
}

for last in 1000 10000 65535; do
  ports=1-$last
  rm -f "$work/ws.db"
  t0=$(now)
  ip netns exec "$SCAN_NS" timeout 120 "$WS" scan "$HOST" -p "$ports" --interface "$IF" --source-ip "$SRC" \
    --blocklist config/lab-blocklist.conf --db "$work/ws.db" -q --metadata "$work/ws.json" 2>"$work/ws.err" || cat "$work/ws.err"
  t1=$(now)
  report wirespeed "$last" "$t0" "$t1" "$(sqlite3 "$work/ws.db" "SELECT count(*) FROM results WHERE state='open'")"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('  wirespeed phases', d['phases'], 'all_answered', d['all_answered'])" "$work/ws.json"

  t0=$(now)
  ip netns exec "$SCAN_NS" timeout 120 nmap -sS -T5 --max-retries 0 -n -Pn -e "$IF" -p "$ports" "$HOST" \
    -oG "$work/nmap.gnmap" >/dev/null 2>&1 || true
  t1=$(now)
  report nmap "$last" "$t0" "$t1" "$(grep -o '[0-9]*/open' "$work/nmap.gnmap" | wc -l)"

  t0=$(now)
  ip netns exec "$SCAN_NS" timeout 15 masscan "$HOST" -p"$ports" --interface "$IF" --source-ip "$SRC" \
    --router-mac "$T_MAC" --rate 1000000 --wait 1 -oL "$work/masscan.txt" >/dev/null 2>&1 || true
  t1=$(now)
  report masscan "$last" "$t0" "$t1" "$(grep -c '^open' "$work/masscan.txt" || true)"
done
