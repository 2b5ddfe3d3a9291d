#!/usr/bin/env bash
# Pure TX rate on net_null (no wire, no kernel): dpdk-testpmd's txonly engine
# (the DPDK ceiling for this CPU: alloc, write a 64-byte UDP frame, tx_burst,
# free) against wirespeed with one TX lcore at unlimited rate (schedule,
# permutation, cookie, SYN template, tx_burst). Same CPUs (lcore 0 on CPU 0,
# the TX lcore on CPU 1), same PMD, one run after the other.
#
#   perf/txrate.sh [BUILD_DIR]            (default build-perf)
# Needs dpdk-testpmd (Debian package dpdk-dev). Prints both Mpps and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-perf}
WS=$BUILD/src/app/wirespeed
TESTPMD=${TESTPMD:-$(command -v dpdk-testpmd || true)}
TP_SECONDS=${TP_SECONDS:-12}   # testpmd needs ~3 s of EAL start-up before it sends
work=$(mktemp -d /tmp/wsperf-txrate.XXXXXX)
# testpmd leaves its EAL runtime directory behind when stopped by SIGINT.
trap 'rm -rf "$work" /var/run/dpdk/wsperf-tp-$$' EXIT

[[ -x $WS ]] || { echo "txrate: $WS not built (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
[[ -n $TESTPMD ]] || { echo "txrate: dpdk-testpmd not found: apt-get install dpdk-dev" >&2; exit 1; }

# ---- (a) dpdk-testpmd txonly, 64-byte frames, bursts of 32
tp_cmd=("$TESTPMD" --no-huge -m 1024 --no-shconf --no-pci --no-telemetry --file-prefix=wsperf-tp-$$
        --lcores=0@0,1@1 --vdev net_null0,no-rx=1 --log-level='*:warning'
        -- --forward-mode=txonly --txpkts=64 --burst=32 --stats-period 1)
echo "# (a) timeout -s INT $TP_SECONDS ${tp_cmd[*]}"
timeout -s INT "$TP_SECONDS" "${tp_cmd[@]}" < /dev/null > "$work/testpmd.out" 2>&1 || true
# One Tx-pps line a second (the first ones are 0 while the port starts); the
# figure is the median of the non-zero samples.
tp_pps=$(tr -d '\r' < "$work/testpmd.out" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' |
         awk '/Tx-pps:/ && $2 > 0 {print $2}' | sort -n |
         awk '{v[NR]=$1} END {if (NR == 0) print 0; else print v[int((NR + 1) / 2)]}')
tp_samples=$(grep -ac 'Tx-pps:' "$work/testpmd.out" || true)
tp_total=$(grep -a 'TX-total:' "$work/testpmd.out" | tail -1 | awk '{print $NF}')
if [[ ${tp_pps:-0} == 0 ]]; then
  echo "txrate: testpmd reported no Tx-pps sample; its output:" >&2
  tail -30 "$work/testpmd.out" >&2
  exit 1
fi
echo "testpmd txonly: median Tx-pps $tp_pps over $tp_samples one-second samples (TX-total $tp_total)"

# ---- (b) wirespeed: 198.19.0.0/16 x 1-1024 = 67,108,864 probes, unlimited rate
ws_cmd=("$WS" scan 198.19.0.0/16 -p 1-1024 --vdev net_null0,no-rx=1 --blocklist /dev/null
        --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02 --rate 0 --rate-mode fixed --wait 0
        --no-db --metadata "$work/ws.json" -q --tx-cores 1 --rx-cores 1 --lcores 0@0,1@1,2@0)
echo "# (b) timeout 60 ${ws_cmd[*]}"
timeout 60 "${ws_cmd[@]}" > "$work/ws.out" 2>&1 || { cat "$work/ws.out" >&2; exit 1; }
read -r ws_sent ws_pps ws_dur ws_simd < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["sent"], d["tx_pps"], d["duration_s"], d.get("simd_path", "?"))' "$work/ws.json")
echo "wirespeed: sent $ws_sent in $ws_dur s, tx_pps $ws_pps, SIMD path $ws_simd (WIRESPEED_SIMD forces one)"

# ---- (c) the other probe modules, same lcores and PMD, fixed unlimited rate.
# UDP: 198.19.0.0/16 x U:1-1014 with nmap's payloads: 1,024 probe slots (ports
# with several payloads get several), so 2^26 probes, the size of (b). (U:1-1024
# is 1,034 slots: a space just above 2^26 makes the permutation cycle-walk a
# 2^28 domain and halves any module's rate.) Most slots share the empty
# datagram's template; the others are copied in only when the mbuf held another.
# ICMP echo and a SYN baseline of the same shape: 198.18.0.0/15 (131,072 hosts,
# the lab's range) sent 101 times each (--retries 100, --retry-delay 0), since
# a ping sweep has one probe per host.
run_ws() { # NAME ARGS... -> prints "NAME pps" (RUN_CORES overrides the lcore flags)
  local name=$1; shift
  local cores=(${RUN_CORES:---tx-cores 1 --rx-cores 1 --lcores 0@0,1@1,2@0})
  timeout 120 "$WS" scan "$@" --vdev net_null0,no-rx=1 --blocklist /dev/null --source-ip 198.18.0.1 \
    --gateway-mac 02:00:00:00:00:02 --rate 0 --rate-mode fixed --wait 0 --no-db --metadata "$work/$name.json" -q \
    "${cores[@]}" > "$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; exit 1; }
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(sys.argv[2], d["tx_pps"], d["sent"])' "$work/$name.json" "$name"
}
echo "# (c) the same flags as (b) for: udp 198.19.0.0/16 -p U:1-1014; syn101/icmp101 198.18.0.0/15 (-p 80 | --ping) --retries 100 --retry-delay 0"
read -r _ udp_pps udp_sent < <(run_ws udp 198.19.0.0/16 -p U:1-1014)
read -r _ syn512_pps syn512_sent < <(run_ws syn101 198.18.0.0/15 -p 80 --retries 100 --retry-delay 0)
read -r _ icmp_pps icmp_sent < <(run_ws icmp101 198.18.0.0/15 --ping --retries 100 --retry-delay 0)
echo "udp: sent $udp_sent, tx_pps $udp_pps; syn x101: sent $syn512_sent, tx_pps $syn512_pps; icmp x101: sent $icmp_sent, tx_pps $icmp_pps"

# ---- (d) (b) with two TX lcores: the second shares CPU 0 with the main and RX lcores (2 CPUs here).
echo "# (d) the same flags as (b) with --tx-cores 2 --rx-cores 1 --lcores 0@0,1@1,2@0,3@0"
read -r _ tx2_pps tx2_sent < <(RUN_CORES="--tx-cores 2 --rx-cores 1 --lcores 0@0,1@1,2@0,3@0" run_ws tx2 198.19.0.0/16 -p 1-1024)
echo "2 TX lcores: sent $tx2_sent, tx_pps $tx2_pps"

# ---- (e) (b) in the default adaptive mode (--rate 0: no cap, slow start from 1M): the whole send phase's
# rate, ramp included (issue 10: at least 0.45 of testpmd).
echo "# (e) the flags of (b) with the default --rate-mode adaptive"
timeout 120 "$WS" scan 198.19.0.0/16 -p 1-1024 --vdev net_null0,no-rx=1 --blocklist /dev/null --source-ip 198.18.0.1 \
  --gateway-mac 02:00:00:00:00:02 --rate 0 --wait 0 --no-db --metadata "$work/adaptive.json" -q \
  --tx-cores 1 --rx-cores 1 --lcores 0@0,1@1,2@0 > "$work/adaptive.out" 2>&1 || { cat "$work/adaptive.out" >&2; exit 1; }
adaptive_pps=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["tx_pps"])' "$work/adaptive.json")
echo "adaptive: tx_pps $adaptive_pps"

python3 - "$tp_pps" "$ws_pps" "$udp_pps" "$syn512_pps" "$icmp_pps" "$tx2_pps" "$ws_simd" "$adaptive_pps" <<'PY'
import sys
tp, ws, udp, syn512, icmp, tx2 = (float(v) for v in sys.argv[1:7])
adaptive = float(sys.argv[8])
print(f"TXRATE_ADAPTIVE adaptive_mpps={adaptive/1e6:.2f} ratio={adaptive/tp:.2f} "
      f"({'meets' if adaptive / tp >= 0.45 else 'BELOW'} the 0.45 target) of_fixed={adaptive/ws:.2f}")
ratio = ws / tp
print(f"TXRATE simd={sys.argv[7]} testpmd_mpps={tp/1e6:.2f} wirespeed_mpps={ws/1e6:.2f} ratio={ratio:.2f} "
      f"({'meets' if ratio >= 0.7 else 'BELOW'} the 0.7 target) tx_lcores2_mpps={tx2/1e6:.2f}")
print(f"TXRATE_MODULES udp_mpps={udp/1e6:.2f} udp/syn={udp/ws:.2f} icmp_mpps={icmp/1e6:.2f} "
      f"syn_same_shape_mpps={syn512/1e6:.2f} icmp/syn={icmp/syn512:.2f} (target >= 0.9 each)")
PY
