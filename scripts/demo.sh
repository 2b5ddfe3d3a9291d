#!/usr/bin/env bash
# Sets everything up, builds wirespeed, brings up the lab (two network
# namespaces joined by a veth pair, a real Linux TCP stack answering for
# 198.19.0.0/16), scans it, and compares what was found with the lab's ground
# truth. The lab is torn down at the end; the results stay in demo-results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
P=demo$$
export LAB_DIR="/run/wirespeed-lab/$P"
OUT="$ROOT/demo-results"
DB="$OUT/lab.db"
TARGETS=198.19.0.0/20
PORTS=1-1024,3306,8080,31337,65535

cleanup() { "$ROOT/scripts/lab.sh" down "$P" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== setup"
./scripts/setup.sh
echo "== build"
[[ -f build/main/build.ninja ]] || meson setup build/main --buildtype=debugoptimized >/dev/null
ninja -C build/main src/app/wirespeed >/dev/null
echo "== lab"
./scripts/lab.sh up "$P"
mkdir -p "$OUT"
rm -f "$DB" "$DB-wal" "$DB-shm"

echo "== scan: $TARGETS x ports $PORTS ($(( 4096 * 1028 )) probes) from namespace $P-scan"
ip netns exec "$P-scan" timeout -k 5 300 build/main/src/app/wirespeed scan "$TARGETS" -p "$PORTS" \
  --interface "$P-s" --source-ip 198.18.0.100 --blocklist config/lab-blocklist.conf \
  --rate 1M --wait 2 --db "$DB" -oL "$OUT/lab.list" --metadata "$OUT/lab.json"

echo "== report"
sqlite3 "$DB" "SELECT ip || ':' || port FROM results WHERE state = 'open'" | sort > "$OUT/found.txt"
awk -F'[.:]' '$3 < 16 && ($5 <= 1024 || $5 == 3306 || $5 == 8080 || $5 == 31337 || $5 == 65535)' \
  "$LAB_DIR/truth.txt" | sort > "$OUT/truth.txt"
found=$(wc -l < "$OUT/found.txt")
truth=$(wc -l < "$OUT/truth.txt")
missing=$(comm -13 "$OUT/found.txt" "$OUT/truth.txt" | wc -l)
extra=$(comm -23 "$OUT/found.txt" "$OUT/truth.txt" | wc -l)
echo "open ports found: $found; ground truth: $truth; missing: $missing; extra: $extra"
echo "open ports per port number:"
sqlite3 -header -column "$DB" "SELECT port, count(*) AS hosts FROM results WHERE state = 'open' GROUP BY port ORDER BY port"
echo "the few-hosts listeners:"
sqlite3 -header -column "$DB" "SELECT ip, port, reason, ttl FROM results WHERE port NOT IN (22, 80, 443) ORDER BY ip, port"
echo
echo "database: $DB   (try: sqlite3 $DB \"SELECT * FROM results LIMIT 5\")"
echo "masscan list: $OUT/lab.list   metadata: $OUT/lab.json"
if [[ $missing -eq 0 && $extra -eq 0 ]]; then
  echo "RESULT: exact match with the ground truth"
else
  echo "RESULT: differs from the ground truth"
  exit 1
fi
