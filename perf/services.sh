#!/usr/bin/env bash
# Service detection side by side (issue 12's measurement): on the service lab
# (scripts/lab.sh: real Debian daemons on every host of 198.18.3.0/24 in the
# psv-svc namespace), `nmap -sV` and `wirespeed scan --service` on the same
# targets and ports from the psv-scan namespace. Prints each tool's wall
# time, wirespeed's speed-up, and the agreement on service names and
# product/version (tests/lab/compare_services.py; the issue's targets are
# 95% / 90% in at most a tenth of nmap's time), and checks wirespeed's tls
# table against the served certificate.
#
#   perf/services.sh [BUILD_DIR]          (default build/main; run as root)
#   SVC_TARGETS=198.18.3.0/26 perf/services.sh      a share of the /24
#   NMAP_XML=old.xml perf/services.sh     reuse an earlier nmap -sV -oX of
#                                         the same targets and ports (nmap
#                                         takes minutes); KEEP=1 keeps the files
#
# wirespeed runs only if `wirespeed scan --help` mentions --service
# (otherwise: "skipped: no --service"). It scans from 198.18.2.7, an address
# no kernel owns (wirespeed answers ARP for it, so the scanner namespace's
# kernel never resets its connections), through psv-v, next hop 198.18.2.2.
#
# Safety: every packet stays inside the psv-* namespaces; both tools run
# under `ip netns exec psv-scan` and `timeout`; targets must lie in
# 198.18.3.0/24; the lab (daemons and namespaces) is torn down on exit,
# whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build/main}
WS=${WIRESPEED:-$ROOT/$BUILD/src/app/wirespeed}
P=${SVC_PREFIX:-psv}
export LAB_DIR=/run/wirespeed-lab/$P
SCAN_NS=$P-scan
IF=$P-v
SRC=198.18.2.7
GW=198.18.2.2
TARGETS=${SVC_TARGETS:-198.18.3.0/24}
PORTS=${SVC_PORTS:-21,22,25,80,443,6379}
NMAP_TIMEOUT=${NMAP_TIMEOUT:-1800}
WS_TIMEOUT=${WS_TIMEOUT:-600}

python3 -c 'import ipaddress, sys
net = ipaddress.ip_network(sys.argv[1], strict=False)
sys.exit(0 if net.subnet_of(ipaddress.ip_network("198.18.3.0/24")) else 1)' "$TARGETS" 2>/dev/null ||
  { echo "services: SVC_TARGETS must be a network inside 198.18.3.0/24, not \"$TARGETS\"" >&2; exit 1; }
command -v nmap >/dev/null || { echo "services: nmap not installed (scripts/setup.sh)" >&2; exit 1; }

work=$(mktemp -d "/tmp/wsperf-$P.XXXXXX")
cleanup() {
  scripts/lab.sh down "$P" >/dev/null 2>&1 || true
  if [[ -n ${KEEP:-} ]]; then echo "services: files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/lab.sh up "$P" >/dev/null
now() { date +%s.%N; }
hosts=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_network(sys.argv[1], strict=False).num_addresses)' "$TARGETS")
echo "services: $(date -u +%FT%TZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs;" \
  "$TARGETS ($hosts hosts) x ports $PORTS; $(dpkg-query -W -f='${Package} ${Version}, ' openssh-server nginx vsftpd exim4-daemon-light redis-server | sed 's/, $//')"

# nmap -sV: the kernel's TCP from 198.18.2.1 (the route to 198.18.3.0/24).
if [[ -n ${NMAP_XML:-} ]]; then
  cp "$NMAP_XML" "$work/nmap.xml"
  echo "nmap -sV:      reused $NMAP_XML"
  nmap_s=""
else
  t0=$(now)
  ip netns exec "$SCAN_NS" timeout -k 5 "$NMAP_TIMEOUT" nmap -sV -Pn -n -p "$PORTS" "$TARGETS" -oX "$work/nmap.xml" \
    >"$work/nmap.out" 2>&1 || { echo "services: nmap failed: $(tail -2 "$work/nmap.out")" >&2; exit 1; }
  t1=$(now)
  nmap_s=$(echo "$t1 - $t0" | bc)
  printf 'nmap -sV:      %8.2f s\n' "$nmap_s"
fi

help=$("$WS" scan --help 2>/dev/null || true) # (not piped into grep -q: pipefail would see wirespeed's SIGPIPE)
if ! grep -qE -- '--service([^-]|$)' <<<"$help"; then
  echo "wirespeed:     skipped: no --service"
  exit 0
fi
t0=$(now)
rc=0
timeout -k 5 "$WS_TIMEOUT" ip netns exec "$SCAN_NS" "$WS" scan "$TARGETS" -p "$PORTS" --service --interface "$IF" \
  --source-ip "$SRC" --gateway-ip "$GW" --blocklist "$ROOT/config/lab-blocklist.conf" \
  -oX "$work/ws.xml" --db "$work/ws.db" --metadata "$work/ws.json" -q 2>"$work/ws.err" || rc=$?
t1=$(now)
ws_s=$(echo "$t1 - $t0" | bc)
[[ $rc -eq 0 ]] || { echo "services: wirespeed exited $rc: $(tail -2 "$work/ws.err")" >&2; exit 1; }
printf 'wirespeed:     %8.2f s' "$ws_s"
[[ -z $nmap_s ]] || printf '  (%.1fx faster than nmap; target: 10x)' "$(echo "$nmap_s / $ws_s" | bc -l)"
echo
cmp_rc=0
python3 tests/lab/compare_services.py "$work/nmap.xml" "$work/ws.xml" --only-diff --min-name 0.95 --min-version 0.90 \
  --db "$work/ws.db" --cert "$LAB_DIR/svc/cert.pem" > "$work/compare.txt" 2>&1 || cmp_rc=$?
grep -v '^\(ok\|NAME\|VERSION\|MISSING\|EXTRA\) ' "$work/compare.txt"
disagree=$(grep -c '^\(NAME\|VERSION\|MISSING\|EXTRA\) ' "$work/compare.txt" || true)
if ((disagree)); then
  echo "disagreements ($disagree, the first 10):"
  grep '^\(NAME\|VERSION\|MISSING\|EXTRA\) ' "$work/compare.txt" | head -10
fi
[[ $cmp_rc -eq 0 ]] && echo "services: agreement within the targets (names >= 95%, product/version >= 90%)" ||
  { echo "services: agreement BELOW the targets"; exit 1; }
