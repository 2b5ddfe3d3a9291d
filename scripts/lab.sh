#!/usr/bin/env bash
# The wirespeed lab: a scanner namespace and a target namespace joined by a
# veth pair. The target answers for every address of 198.19.0.0/16 (an AnyIP
# local route) with the real Linux TCP stack. Nothing leaves the namespaces.
#
#   scripts/lab.sh up|down|status [PREFIX]      (PREFIX default "ws"; two labs with
#                                                different prefixes never collide)
#
#   <P>-scan namespace                 <P>-target namespace
#   <P>-s  198.18.0.1/24  <== veth ==> <P>-t  198.18.0.2/24
#   default via 198.18.0.2             local 198.19.0.0/16 dev lo (AnyIP)
#   scanner source: 198.18.0.100       listeners below; tcp_syncookies=2
#
# Open ports (the ground truth, written to $LAB_DIR/truth.txt as ip:port):
#   every host:  22, 80, 443
#   a few hosts: 8080 on 198.19.0.10, 198.19.3.77, 198.19.15.200
#                1023 on 198.19.2.2;  3306 on 198.19.1.1
#                65535 on 198.19.0.5, 198.19.9.9;  31337 on 198.19.0.5
# Everything else is closed (RST).
set -euo pipefail

cmd=${1:-status}
P=${2:-${LAB_PREFIX:-ws}}
SCAN_NS="$P-scan"
TARGET_NS="$P-target"
S_IF="$P-s"
T_IF="$P-t"
LAB_DIR=${LAB_DIR:-/run/wirespeed-lab/$P}
NET=198.19.0.0/16

export LAB_EVERY_PORTS="22 80 443"
export LAB_FEW="198.19.0.10:8080 198.19.3.77:8080 198.19.15.200:8080 198.19.2.2:1023 198.19.1.1:3306 198.19.0.5:65535 198.19.9.9:65535 198.19.0.5:31337"

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

write_truth() {
  python3 - "$LAB_DIR/truth.txt" <<'PY'
import os, sys
every = [int(p) for p in os.environ["LAB_EVERY_PORTS"].split()]
pairs = set()
for host in range(65536):
    ip = "198.19.%d.%d" % (host >> 8, host & 255)
    for port in every:
        pairs.add((host, port, ip))
for item in os.environ["LAB_FEW"].split():
    ip, port = item.split(":")
    a, b, c, d = map(int, ip.split("."))
    pairs.add(((c << 8) | d, int(port), ip))
with open(sys.argv[1], "w") as f:
    for host, port, ip in sorted(pairs):
        f.write("%s:%d\n" % (ip, port))
PY
}

start_listeners() {
  # One process holds every listening socket; IP_FREEBIND lets it bind the
  # AnyIP addresses even before the route settles.
  ip netns exec "$TARGET_NS" python3 - "$LAB_DIR/listeners.pid" >/dev/null 2>&1 <<'PY' &
import os, signal, socket, sys, time
IP_FREEBIND = 15
socks = []
def listen(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    s.bind((addr, port))
    s.listen(4096)
    socks.append(s)
for port in os.environ["LAB_EVERY_PORTS"].split():
    listen("0.0.0.0", int(port))
for item in os.environ["LAB_FEW"].split():
    ip, port = item.split(":")
    listen(ip, int(port))
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(3600)
PY
  for _ in $(seq 50); do
    [[ -s "$LAB_DIR/listeners.pid" ]] && return 0
    sleep 0.1
  done
  echo "lab: listeners did not start" >&2
  return 1
}

up() {
  if ns_exists "$SCAN_NS" && ns_exists "$TARGET_NS" && [[ -s "$LAB_DIR/listeners.pid" ]] &&
     kill -0 "$(cat "$LAB_DIR/listeners.pid")" 2>/dev/null; then
    echo "lab $P: already up"
    return 0
  fi
  down >/dev/null 2>&1 || true
  mkdir -p "$LAB_DIR"
  ip netns add "$SCAN_NS"
  ip netns add "$TARGET_NS"
  ip link add "$S_IF" netns "$SCAN_NS" type veth peer name "$T_IF" netns "$TARGET_NS"
  for ns in "$SCAN_NS" "$TARGET_NS"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$ns" ip link set lo up
  done
  ip netns exec "$SCAN_NS" ip addr add 198.18.0.1/24 dev "$S_IF"
  ip netns exec "$SCAN_NS" ip link set "$S_IF" up
  ip netns exec "$SCAN_NS" ip route add default via 198.18.0.2
  ip netns exec "$TARGET_NS" ip addr add 198.18.0.2/24 dev "$T_IF"
  ip netns exec "$TARGET_NS" ip link set "$T_IF" up
  ip netns exec "$TARGET_NS" ip route add local "$NET" dev lo
  # Stateless SYN-ACKs: no SYN queue to overflow, no SYN-ACK retransmits.
  ip netns exec "$TARGET_NS" sysctl -qw net.ipv4.tcp_syncookies=2 net.ipv4.tcp_synack_retries=0
  ip netns exec "$TARGET_NS" sysctl -qw net.core.netdev_max_backlog=100000 2>/dev/null || true
  # Full checksums on the wire, so captures and parsers see what a NIC would.
  for pair in "$SCAN_NS:$S_IF" "$TARGET_NS:$T_IF"; do
    ip netns exec "${pair%%:*}" ethtool -K "${pair#*:}" tx off rx off >/dev/null 2>&1 || true
  done
  start_listeners
  write_truth
  echo "lab $P: up: scanner namespace $SCAN_NS (interface $S_IF), targets $NET in $TARGET_NS; truth $LAB_DIR/truth.txt"
}

down() {
  if [[ -s "$LAB_DIR/listeners.pid" ]]; then
    kill "$(cat "$LAB_DIR/listeners.pid")" 2>/dev/null || true
  fi
  for ns in "$SCAN_NS" "$TARGET_NS"; do
    if ns_exists "$ns"; then
      # Nothing may outlive the lab: kill whatever still runs inside.
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns delete "$ns"
    fi
  done
  rm -rf "$LAB_DIR"
  echo "lab $P: down"
}

status() {
  local state=down
  ns_exists "$SCAN_NS" && ns_exists "$TARGET_NS" && state=up
  echo "lab $P: $state"
  if [[ $state == up ]]; then
    ip netns exec "$TARGET_NS" ss -ltnH | awk '{print "  listening " $4}' | sort -u | head -20
    [[ -f "$LAB_DIR/truth.txt" ]] && echo "  truth: $(wc -l < "$LAB_DIR/truth.txt") open pairs in $LAB_DIR/truth.txt"
  fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status [PREFIX]" >&2; exit 1 ;;
esac
