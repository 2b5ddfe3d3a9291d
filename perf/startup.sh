#!/usr/bin/env bash
# Start-up time and memory (issue 10), on net_null: nothing reaches any wire.
#   (a) a one-probe scan, 5 runs: wall time, the metadata's start-up phases,
#       peak RSS, and the hugepages it held (EAL memory in hugepages is not RSS)
#   (b) peak RSS of the two shapes of an internet-wide scan, with lab-space
#       stand-ins of the same size so no other address is ever named:
#       0.0.0.0/0 x 443 is ~3.7e9 pairs (dedup bitmap of ~460 MB): 198.18.0.0/15
#       x ports 1-28000 is 3.67e9; 0.0.0.0/0 x 1-65535 is past the bitmap limit
#       (hash-set dedup): 198.18.0.0/15 x 1-65535. Each runs 3 s (--max-runtime).
#
#   perf/startup.sh [BUILD_DIR]      (default build/main; run as root)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/main}
WS=$PWD/$BUILD/src/app/wirespeed
[[ -x $WS ]] || { echo "startup: $WS not built" >&2; exit 1; }
work=$(mktemp -d /tmp/wsperf-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "startup.sh: $(date -u +%FT%TZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs," \
  "hugepages $(awk '/HugePages_Free/ {f=$2} /HugePages_Total/ {t=$2} END {print f "/" t}' /proc/meminfo) free"
common=(--vdev net_null0,no-rx=1 --blocklist /dev/null --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02 -q)

for run in 1 2 3 4 5; do
  rm -f "$work/one.db"*
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" timeout 30 "$WS" scan 198.18.0.7 -p 80 "${common[@]}" --wait 0 \
    --db "$work/one.db" --metadata "$work/one.json"
  t1=$(date +%s.%N)
  python3 - "$work/one.json" "$t0" "$t1" "$(tail -1 "$work/rss")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["phases"]
print(f"one probe: wall {float(sys.argv[3]) - float(sys.argv[2]):.3f} s, first probe at {p['first_probe_at_s']:.3f} s "
      f"(eal {p['eal_s']:.3f}, port {p['port_s']:.3f}, files {p['files_s']:.3f}), peak RSS {int(sys.argv[4]) // 1024} MiB, "
      f"EAL argv {' '.join(a for a in d['eal']['argv'] if a.startswith(('--in-memory', '--no-huge', '-m')) or a.isdigit())}")
PY
done

rss_of() { # NAME PORTS
  rm -f "$work/big.db"*
  /usr/bin/time -f "%M" -o "$work/rss" timeout 60 "$WS" scan 198.18.0.0/15 -p "$2" "${common[@]}" --rate 0 \
    --rate-mode fixed --max-runtime 3 --wait 0 --db "$work/big.db" --metadata "$work/big.json" || true
  python3 - "$work/big.json" "$1" "$(tail -1 "$work/rss")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]}: planned {d['probes_planned']} probes, sent {d['sent']} in 3 s, peak RSS {int(sys.argv[3]) // 1024} MiB, "
      f"EAL -m {d['eal']['argv'][d['eal']['argv'].index('-m') + 1] if '-m' in d['eal']['argv'] else '?'} MiB")
PY
}
rss_of "0/0 x 443 stand-in (198.18.0.0/15 x 1-28000)" 1-28000
rss_of "0/0 x 1-65535 stand-in (198.18.0.0/15 x 1-65535)" 1-65535
