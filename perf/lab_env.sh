# Sourced by the perf/ lab comparisons: brings up lab $P (scripts/lab.sh),
# tears it down on exit whatever happens, and sets what every tool needs:
#   WS (the wirespeed binary of build dir $1, default build/main), SCAN_NS,
#   TARGET_NS, IF, SRC, S_MAC, T_MAC, work (a temporary directory), now().
# zmap and masscan spoof SRC, which no kernel owns: a static neighbour entry
# in the target namespace sends the replies back without ARP.
# Usage: P=xy; source perf/lab_env.sh "$@"   (from the repository root)
BUILD=${1:-build/main}
WS=$PWD/$BUILD/src/app/wirespeed
SCAN_NS=$P-scan
TARGET_NS=$P-target
IF=$P-s
SRC=198.18.0.100
[[ -x $WS ]] || { echo "$0: $WS not built" >&2; exit 1; }
work=$(mktemp -d "/tmp/wsperf-$P.XXXXXX")
cleanup() {
  scripts/lab.sh down "$P" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
scripts/lab.sh up "$P" >/dev/null
S_MAC=$(ip netns exec "$SCAN_NS" cat "/sys/class/net/$IF/address")
T_MAC=$(ip netns exec "$TARGET_NS" cat "/sys/class/net/$P-t/address")
ip netns exec "$TARGET_NS" ip neigh replace "$SRC" lladdr "$S_MAC" dev "$P-t" nud permanent
echo "$(basename "$0"): $(date -u +%FT%TZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs"
now() { date +%s.%N; }
