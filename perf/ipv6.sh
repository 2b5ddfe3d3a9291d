#!/usr/bin/env bash
# IPv6 against IPv4 on net_null (issue 11), one run, same CPUs and PMD:
#   (a) dpdk-testpmd txonly with 78-byte frames (an IPv6 SYN with MSS is 78 bytes)
#   (b) wirespeed IPv4 SYN, 198.19.0.0/16 x 1-1024 (2^26 probes), one TX lcore, fixed unlimited rate
#   (c) wirespeed IPv6 SYN, 2001:db8:1::/112 x 1-1024 (2^26 probes), the same flags
#   (d) wirespeed IPv4 SYN from three source addresses (the general TX loop), the flags of (b)
#   (e) OLD_WS (optional): (b) with an older binary, to show the IPv4 path is unchanged
#   (f) a hitlist of HITLIST_LINES (default 10,000,000) random IPv6 addresses: `plan -iL`
#       wall time and peak RSS (/usr/bin/time)
#
#   perf/ipv6.sh [BUILD_DIR]            (default build/main; OLD_WS=path/to/old/wirespeed)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/main}
WS=$BUILD/src/app/wirespeed
TESTPMD=${TESTPMD:-$(command -v dpdk-testpmd || true)}
TP_SECONDS=${TP_SECONDS:-12}
LINES=${HITLIST_LINES:-10000000}
work=$(mktemp -d /tmp/wsperf-ipv6.XXXXXX)
trap 'rm -rf "$work" /var/run/dpdk/wsperf-tp6-$$' EXIT

[[ -x $WS ]] || { echo "ipv6: $WS not built" >&2; exit 1; }
[[ -n $TESTPMD ]] || { echo "ipv6: dpdk-testpmd not found: apt-get install dpdk-dev" >&2; exit 1; }

# ---- (a)
tp_cmd=("$TESTPMD" --no-huge -m 1024 --no-shconf --no-pci --no-telemetry --file-prefix=wsperf-tp6-$$
        --lcores=0@0,1@1 --vdev net_null0,no-rx=1 --log-level='*:warning'
        -- --forward-mode=txonly --txpkts=78 --burst=32 --stats-period 1)
echo "# (a) timeout -s INT $TP_SECONDS ${tp_cmd[*]}"
timeout -s INT "$TP_SECONDS" "${tp_cmd[@]}" < /dev/null > "$work/testpmd.out" 2>&1 || true
tp_pps=$(tr -d '\r' < "$work/testpmd.out" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' |
         awk '/Tx-pps:/ && $2 > 0 {print $2}' | sort -n |
         awk '{v[NR]=$1} END {if (NR == 0) print 0; else print v[int((NR + 1) / 2)]}')
[[ ${tp_pps:-0} != 0 ]] || { echo "ipv6: testpmd gave no Tx-pps sample" >&2; tail -20 "$work/testpmd.out" >&2; exit 1; }
echo "testpmd txonly 78 B: median Tx-pps $tp_pps"

run_ws() { # NAME BINARY ARGS... -> "NAME pps sent"
  local name=$1 bin=$2; shift 2
  timeout 120 "$bin" scan "$@" --vdev net_null0,no-rx=1 --blocklist /dev/null --gateway-mac 02:00:00:00:00:02 \
    --rate 0 --rate-mode fixed --wait 0 --no-db --metadata "$work/$name.json" -q \
    --tx-cores 1 --rx-cores 1 --lcores 0@0,1@1,2@0 > "$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; exit 1; }
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(sys.argv[2], d["tx_pps"], d["sent"])' "$work/$name.json" "$name"
}
echo "# (b)-(d) $WS scan TARGETS -p 1-1024 --vdev net_null0,no-rx=1 --blocklist /dev/null --gateway-mac 02:00:00:00:00:02 --rate 0 --rate-mode fixed --wait 0 --no-db -q --tx-cores 1 --rx-cores 1 --lcores 0@0,1@1,2@0 --source-ip S"
read -r _ v4_pps v4_sent < <(run_ws v4 "$WS" 198.19.0.0/16 -p 1-1024 --source-ip 198.18.0.1)
read -r _ v6_pps v6_sent < <(run_ws v6 "$WS" 2001:db8:1::/112 -p 1-1024 --source-ip 2001:db8::1)
read -r _ many_pps many_sent < <(run_ws many "$WS" 198.19.0.0/16 -p 1-1024 --source-ip 198.18.0.1,198.18.0.7,198.18.0.9)
echo "ipv4: sent $v4_sent, tx_pps $v4_pps; ipv6: sent $v6_sent, tx_pps $v6_pps; ipv4 from 3 sources: sent $many_sent, tx_pps $many_pps"
old_pps=0
if [[ -n ${OLD_WS:-} ]]; then
  read -r _ old_pps old_sent < <(run_ws old "$OLD_WS" 198.19.0.0/16 -p 1-1024 --source-ip 198.18.0.1)
  echo "ipv4 with $OLD_WS: sent $old_sent, tx_pps $old_pps"
fi

# ---- (f) hitlist
python3 - "$work/hitlist.txt" "$LINES" <<'PY'
import random, sys
random.seed(11)
with open(sys.argv[1], "w") as f:
    n = int(sys.argv[2])
    for start in range(0, n, 100000):
        f.write("".join("2001:db8:%x:%x::%x:%x\n" % (random.getrandbits(16), random.getrandbits(16),
                                                      random.getrandbits(16), random.getrandbits(16))
                        for _ in range(min(100000, n - start))))
PY
echo "# (f) /usr/bin/time -v $WS plan -iL hitlist.txt ($LINES lines, $(du -m "$work/hitlist.txt" | cut -f1) MiB) -p 443 --blocklist /dev/null --max-targets 100000000"
/usr/bin/time -v "$WS" plan -iL "$work/hitlist.txt" -p 443 --blocklist /dev/null --max-targets 100000000 \
  > "$work/plan.out" 2> "$work/time.out" || { cat "$work/time.out" >&2; exit 1; }
head -1 "$work/plan.out"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.out")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.out")

python3 - "$tp_pps" "$v4_pps" "$v6_pps" "$many_pps" "$old_pps" "$wall" "$rss" "$LINES" <<'PY'
import sys
tp, v4, v6, many, old = (float(v) for v in sys.argv[1:6])
wall, rss_kb, lines = sys.argv[6], int(sys.argv[7]), int(sys.argv[8])
print(f"IPV6 testpmd78_mpps={tp/1e6:.2f} ipv4_mpps={v4/1e6:.2f} ipv6_mpps={v6/1e6:.2f} ipv6/ipv4={v6/v4:.2f} "
      f"({'meets' if v6 / v4 >= 0.8 else 'BELOW'} the 0.8 target) ipv6/testpmd78={v6/tp:.2f} "
      f"three_sources_mpps={many/1e6:.2f} three_sources/ipv4={many/v4:.2f}"
      + (f" ipv4_old_mpps={old/1e6:.2f} ipv4/old={v4/old:.2f}" if old else ""))
print(f"HITLIST lines={lines} wall={wall} peak_rss_mib={rss_kb/1024:.0f}")
PY
