#!/usr/bin/env bash
# Side by side on the same veth pair of one lab (scripts/lab.sh up pf):
# wirespeed over net_af_packet, wirespeed --xdp (net_af_xdp), zmap and
# masscan, each scanning 198.19.0.0/16 port 443 from 198.18.0.100 inside
# the pf-scan namespace. Reports wall time, the send rate each reached, and
# recall against the lab's ground truth (65,536 open pairs on port 443).
#
#   perf/lab_compare.sh [BUILD_DIR]      (default build-perf; run as root)
#   RATES="300000 max" perf/lab_compare.sh
#
# Safety: every packet stays inside the pf-scan/pf-target namespaces; every
# tool runs under `ip netns exec pf-scan` and `timeout`; targets are only
# 198.19.0.0/16; the lab is torn down on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build-perf}
WS=$ROOT/$BUILD/src/app/wirespeed
P=pf
SCAN_NS=$P-scan
TARGET_NS=$P-target
IF=$P-s
SRC=198.18.0.100
TARGETS=198.19.0.0/16
PORT=443
WAIT=2
RATES=${RATES:-"300000 max"}
TRUTH=/run/wirespeed-lab/$P/truth.txt

[[ -x $WS ]] || { echo "lab_compare: $WS not built" >&2; exit 1; }
for tool in zmap masscan sqlite3; do
  command -v "$tool" >/dev/null || { echo "lab_compare: $tool not installed" >&2; exit 1; }
done

work=$(mktemp -d /tmp/wsperf-lab.XXXXXX)
cleanup() {
  scripts/lab.sh down "$P" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/lab.sh up "$P"
S_MAC=$(ip netns exec "$SCAN_NS" cat /sys/class/net/$IF/address)
T_MAC=$(ip netns exec "$TARGET_NS" cat /sys/class/net/$P-t/address)
# zmap does not answer ARP for a source address the kernel does not own: a
# static neighbour entry in the target namespace lets the SYN-ACKs find their
# way back. Set for every tool, so none of them pays for ARP in the timings.
ip netns exec "$TARGET_NS" ip neigh replace "$SRC" lladdr "$S_MAC" dev "$P-t" nud permanent
: > "$work/empty.conf"
grep ":$PORT\$" "$TRUTH" | sort -u > "$work/truth.txt"
truth_n=$(wc -l < "$work/truth.txt")
echo "lab $P: scanner $IF ($S_MAC) -> gateway $P-t ($T_MAC); truth: $truth_n open pairs on port $PORT"

now() { date +%s.%N; }

# recall NAME FILE_OF_IP:PORT_LINES START END [EXTRA]
recall() {
  local name=$1 found=$2 t0=$3 t1=$4 extra=${5:-}
  sort -u "$found" > "$found.sorted"
  local hits total
  hits=$(comm -12 "$found.sorted" "$work/truth.txt" | wc -l)
  total=$(wc -l < "$found.sorted")
  if (( total > hits )); then
    echo "  $name reported pairs that are not open in the truth, e.g.: $(comm -23 "$found.sorted" "$work/truth.txt" | head -3 | tr '\n' ' ')"
  fi
  python3 - "$name" "$t0" "$t1" "$hits" "$truth_n" "$total" "$extra" <<'PY'
import sys
name, t0, t1, hits, truth, total, extra = sys.argv[1:]
wall = float(t1) - float(t0)
print(f"RESULT {name:<22} wall {wall:6.2f} s  recall {int(hits)}/{truth} = {100*int(hits)/int(truth):6.2f}%  "
      f"false {int(total)-int(hits)}  {extra}")
PY
}

run_wirespeed() { # label rate extra-flags...
  local label=$1 rate=$2; shift 2
  local db=$work/$label-$rate.db meta=$work/$label-$rate.json
  local ws_rate=$rate; [[ $rate == max ]] && ws_rate=0
  local cmd=(ip netns exec "$SCAN_NS" timeout 120 "$WS" scan "$TARGETS" -p "$PORT" --interface "$IF" "$@"
             --source-ip "$SRC" --blocklist config/lab-blocklist.conf --rate "$ws_rate" --rate-mode fixed
             --wait "$WAIT" --db "$db" --metadata "$meta" -q)
  echo "# ${cmd[*]}"
  local t0 t1; t0=$(now)
  "${cmd[@]}" > "$work/$label-$rate.log" 2>&1 || { echo "$label failed:" >&2; tail -5 "$work/$label-$rate.log" >&2; return 0; }
  t1=$(now)
  sqlite3 "$db" "SELECT ip || ':' || port FROM results WHERE state = 'open'" > "$work/$label-$rate.found"
  local extra
  extra=$(python3 - "$meta" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("sent %d at %.0fk pps, send+wait %.2f s, drops %d" % (d["sent"], d["tx_pps"] / 1e3, d["duration_s"], d["drops"]))
PY
)
  recall "$label@$rate" "$work/$label-$rate.found" "$t0" "$t1" "$extra"
}

run_zmap() {
  local rate=$1 zr=$1; [[ $rate == max ]] && zr=10000000
  local out=$work/zmap-$rate.csv
  local cmd=(ip netns exec "$SCAN_NS" timeout 120 zmap -i "$IF" -p "$PORT" -r "$zr" -S "$SRC" -G "$T_MAC"
             -b "$work/empty.conf" -c "$WAIT" -o "$out" -q "$TARGETS")
  echo "# ${cmd[*]}"
  local t0 t1; t0=$(now)
  "${cmd[@]}" > "$work/zmap-$rate.log" 2>&1 || { echo "zmap failed:" >&2; tail -5 "$work/zmap-$rate.log" >&2; return 0; }
  t1=$(now)
  grep -E '^[0-9]+\.' "$out" | sed "s/\$/:$PORT/" > "$work/zmap-$rate.found" || true
  recall "zmap@$rate" "$work/zmap-$rate.found" "$t0" "$t1" "cooldown $WAIT s"
}

# masscan 1.3.2 often never exits after its --wait on a veth (its known
# "waiting -N-secs" hang, masscan issue #144): the transmit/receive threads
# miss each other's end. Once its wait has run out, it gets SIGINT a few
# times (through timeout, which forwards it), which makes it close its output
# cleanly. Its wall time is taken when the wait ran out, not at the kill.
run_masscan() {
  local rate=$1 mr=$1; [[ $rate == max ]] && mr=10000000
  local out=$work/masscan-$rate.txt log=$work/masscan-$rate.log
  local cmd=(ip netns exec "$SCAN_NS" timeout 120 masscan "$TARGETS" -p"$PORT" --interface "$IF" --source-ip "$SRC"
             --router-mac "$T_MAC" --rate "$mr" --wait "$WAIT" -oL "$out")
  echo "# ${cmd[*]}"
  local t0 t1 pid hung=no
  : > "$log"
  t0=$(now)
  "${cmd[@]}" > "$log" 2>&1 &
  pid=$!
  t1=""
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -z $t1 ]] && tr '\r' '\n' < "$log" | grep -q 'waiting -1-secs'; then
      t1=$(now); hung=yes
      for _ in 1 2 3; do kill -INT "$pid" 2>/dev/null || true; sleep 0.3; done
      # Some runs ignore SIGINT as well: after 5 s, end masscan itself (the
      # child of our `timeout`, found by parent pid), first TERM, then KILL.
      for sig in TERM KILL; do
        for _ in $(seq 25); do kill -0 "$pid" 2>/dev/null || break 2; sleep 0.2; done
        hung="yes, needed SIG$sig"
        for child in $(pgrep -P "$pid" || true); do kill -"$sig" "$child" 2>/dev/null || true; done
      done
    fi
    sleep 0.05
  done
  wait "$pid" || true
  [[ -n $t1 ]] || t1=$(now)
  local rates
  rates=$(tr '\r' '\n' < "$log" | sed -n 's/.*rate: *\([0-9.]*\)-kpps.*/\1/p' | sort -g | tail -1)
  local status_found
  status_found=$(tr '\r' '\n' < "$log" | sed -n 's/.*found=\([0-9]*\).*/\1/p' | tail -1)
  # Only complete lines: a masscan ended by a signal can leave a cut last line.
  awk '$1 == "open" && $4 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ && $3 ~ /^[0-9]+$/ {print $4 ":" $3}' "$out" \
    > "$work/masscan-$rate.found" 2>/dev/null || : > "$work/masscan-$rate.found"
  recall "masscan@$rate" "$work/masscan-$rate.found" "$t0" "$t1" "peak status rate ${rates:-?}k pps, its status said found=${status_found:-?}, hung after wait: $hung"
}

for rate in $RATES; do
  echo "== rate cap: $rate pps ($TARGETS port $PORT, $WAIT s wait)"
  run_wirespeed wirespeed "$rate"
  run_wirespeed wirespeed-xdp "$rate" --xdp
  run_zmap "$rate"
  run_masscan "$rate"
done
