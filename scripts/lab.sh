#!/usr/bin/env bash
# The wirespeed lab: a scanner namespace and a target namespace joined by a
# veth pair. The target answers for every address of 198.19.0.0/16 (an AnyIP
# local route) with the real Linux TCP, UDP and ICMP stack and a few real UDP
# services. Nothing leaves the namespaces.
#
#   scripts/lab.sh up|down|status [PREFIX]      (PREFIX default "ws"; two labs with
#                                                different prefixes never collide)
#
#   <P>-scan namespace                 <P>-target namespace
#   <P>-s  198.18.0.1/24  <== veth ==> <P>-t  198.18.0.2/24
#   default via 198.18.0.2             local 198.19.0.0/16 dev lo (AnyIP)
#   scanner source: 198.18.0.100       listeners below; tcp_syncookies=2;
#                                      no ICMP rate limit (see up)
#
# Open TCP ports (the ground truth, written to $LAB_DIR/truth.txt as ip:port):
#   every host:  22, 80, 443
#   a few hosts: 8080 on 198.19.0.10, 198.19.3.77, 198.19.15.200
#                1023 on 198.19.2.2;  3306 on 198.19.1.1
#                65535 on 198.19.0.5, 198.19.9.9;  31337 on 198.19.0.5
#                53 on 198.19.0.53 (dnsmasq serves DNS over TCP too)
# Every other TCP port of every 198.19.0.0/16 host is closed (RST).
#
# Open UDP ports (real daemons in the target namespace, each bound to its one
# address; written to $LAB_DIR/truth_udp.txt as ip:port):
#   198.19.0.53:53    DNS   dnsmasq: no upstream; answers dns/ntp/snmp.lab.test
#   198.19.0.123:123  NTP   chronyd: server only, no sources, local stratum 10, -x
#   198.19.0.161:161  SNMP  snmpd: community "public", read-only
# Every other UDP port of every 198.19.0.0/16 host is closed: the kernel
# answers ICMP port unreachable. Every 198.19.0.0/16 host answers ping (ICMP
# echo). Neither is rate-limited. Daemon configs, pid files and logs live in
# $LAB_DIR, so labs with different prefixes never share a file.
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
DNS_IP=198.19.0.53
NTP_IP=198.19.0.123
SNMP_IP=198.19.0.161
export LAB_UDP="$DNS_IP:53 $NTP_IP:123 $SNMP_IP:161"
export LAB_DAEMON_TCP="$DNS_IP:53" # TCP listeners the daemons open themselves
DAEMONS="dnsmasq chronyd snmpd"     # $LAB_DIR/NAME.pid each

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

write_truth() {
  python3 - "$LAB_DIR/truth.txt" "$LAB_DIR/truth_udp.txt" <<'PY'
import os, sys
every = [int(p) for p in os.environ["LAB_EVERY_PORTS"].split()]
pairs = set()
for host in range(65536):
    ip = "198.19.%d.%d" % (host >> 8, host & 255)
    for port in every:
        pairs.add((host, port, ip))
def few(var):
    out = set()
    for item in os.environ[var].split():
        ip, port = item.split(":")
        a, b, c, d = map(int, ip.split("."))
        out.add(((c << 8) | d, int(port), ip))
    return out
def write(path, pairs):
    with open(path, "w") as f:
        for host, port, ip in sorted(pairs):
            f.write("%s:%d\n" % (ip, port))
write(sys.argv[1], pairs | few("LAB_FEW") | few("LAB_DAEMON_TCP"))
write(sys.argv[2], few("LAB_UDP"))
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

# The pid in $LAB_DIR/NAME.pid, if that process runs in this lab's target
# namespace (a stale pid file never names someone else's process).
lab_pid() { # NAME
  local pid
  pid=$(cat "$LAB_DIR/$1.pid" 2>/dev/null) || return 1
  pid=${pid//[[:space:]]/}
  [[ $pid =~ ^[0-9]+$ ]] && [[ $(ip netns identify "$pid" 2>/dev/null) == "$TARGET_NS" ]] && echo "$pid"
}

wait_udp() { # NAME IP:PORT: up to 5 s for the daemon's pid file and socket
  local i
  for i in $(seq 50); do
    if lab_pid "$1" >/dev/null && ip netns exec "$TARGET_NS" ss -lunH "src $2" | grep -q .; then return 0; fi
    sleep 0.1
  done
  echo "lab: $1 did not come up on udp $2; its log:" >&2
  tail -5 "$LAB_DIR/$1.log" >&2 2>/dev/null || true
  return 1
}

# Real UDP services, each bound to its own address (also added to lo, since
# dnsmasq binds only interface addresses). Each daemonizes inside the target
# namespace with its config, pid file and log in $LAB_DIR; none has an
# upstream server or anything to reach beyond the lab.
start_udp_services() {
  local ip
  for ip in $DNS_IP $NTP_IP $SNMP_IP; do
    ip netns exec "$TARGET_NS" ip addr add "$ip/32" dev lo
  done

  # DNS: no resolv.conf, no /etc/hosts, no upstream; answers its own names
  # (REFUSED for any other: there is nowhere to forward it).
  ip netns exec "$TARGET_NS" dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
    --bind-interfaces --listen-address="$DNS_IP" --port=53 \
    --host-record=dns.lab.test,"$DNS_IP" --host-record=ntp.lab.test,"$NTP_IP" \
    --host-record=snmp.lab.test,"$SNMP_IP" --local=/lab.test/ \
    --pid-file="$LAB_DIR/dnsmasq.pid" --log-facility="$LAB_DIR/dnsmasq.log"
  wait_udp dnsmasq "$DNS_IP:53"

  # NTP: a server with no sources at all (no server/pool line) serving its own
  # clock at stratum 10; -x never touches the clock; no command sockets.
  mkdir -p "$LAB_DIR/chrony"
  chown _chrony: "$LAB_DIR/chrony" 2>/dev/null || true
  cat > "$LAB_DIR/chrony.conf" <<CONF
# wirespeed lab $P: NTP server on $NTP_IP only, no upstream
port 123
bindaddress $NTP_IP
allow 198.18.0.0/15
local stratum 10
cmdport 0
bindcmdaddress /
pidfile $LAB_DIR/chronyd.pid
driftfile $LAB_DIR/chrony/drift
CONF
  ip netns exec "$TARGET_NS" chronyd -4 -x -f "$LAB_DIR/chrony.conf" -l "$LAB_DIR/chronyd.log"
  wait_udp chronyd "$NTP_IP:123"

  # SNMP: v1/v2c community "public", read-only, for the lab's networks only.
  mkdir -p "$LAB_DIR/snmp"
  chown Debian-snmp: "$LAB_DIR/snmp" 2>/dev/null || true
  cat > "$LAB_DIR/snmpd.conf" <<CONF
# wirespeed lab $P: SNMP agent on $SNMP_IP only
agentaddress udp:$SNMP_IP:161
rocommunity public 198.18.0.0/15
sysName snmp.lab.test
sysLocation wirespeed lab $P, target namespace
sysContact nobody
CONF
  # -C: no config file but ours (its agentaddress is the only endpoint); no
  # SMUX (TCP 199) nor trigger tables; persistent state in $LAB_DIR too; no
  # MIB files to parse; runs as Debian-snmp like the packaged service.
  ip netns exec "$TARGET_NS" env SNMP_PERSISTENT_DIR="$LAB_DIR/snmp" MIBS= \
    snmpd -C -c "$LAB_DIR/snmpd.conf" -I -smux,mteTrigger,mteTriggerConf \
    -u Debian-snmp -g Debian-snmp -p "$LAB_DIR/snmpd.pid" -Lf "$LAB_DIR/snmpd.log"
  wait_udp snmpd "$SNMP_IP:161"
}

stop_pidfile() { # NAME: TERM, KILL after 3 s
  local pid i
  pid=$(lab_pid "$1") || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

lab_alive() {
  local name
  ns_exists "$SCAN_NS" && ns_exists "$TARGET_NS" || return 1
  for name in listeners $DAEMONS; do lab_pid "$name" >/dev/null || return 1; done
}

up() {
  if lab_alive; then
    echo "lab $P: already up"
    return 0
  fi
  down >/dev/null 2>&1 || true
  # A lab that fails half-way up is taken down again, daemons and all.
  trap 'echo "lab $P: up failed; taking it down" >&2; down >/dev/null 2>&1' EXIT
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
  # Every closed UDP port answers port unreachable and every host answers
  # ping, however fast the probes come: no per-destination ICMP rate limit,
  # no ICMP type in the rate mask, and a global ICMP budget far above any lab
  # rate (per namespace since Linux 6.2; on older kernels it is host-wide and
  # absent here, and the empty rate mask alone exempts every type from it).
  ip netns exec "$TARGET_NS" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_ratemask=0 \
    net.ipv4.icmp_echo_ignore_all=0
  ip netns exec "$TARGET_NS" sysctl -qw net.ipv4.icmp_msgs_per_sec=100000000 \
    net.ipv4.icmp_msgs_burst=100000000 2>/dev/null || true
  # Full checksums on the wire, so captures and parsers see what a NIC would.
  for pair in "$SCAN_NS:$S_IF" "$TARGET_NS:$T_IF"; do
    ip netns exec "${pair%%:*}" ethtool -K "${pair#*:}" tx off rx off >/dev/null 2>&1 || true
  done
  start_listeners
  start_udp_services
  write_truth
  trap - EXIT
  echo "lab $P: up: scanner namespace $SCAN_NS (interface $S_IF), targets $NET in $TARGET_NS; truth $LAB_DIR/truth.txt (tcp), $LAB_DIR/truth_udp.txt (udp)"
}

down() {
  local name
  # Daemons first and waited for: none may write into $LAB_DIR after it is gone.
  for name in $DAEMONS listeners; do stop_pidfile "$name"; done
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
    ip netns exec "$TARGET_NS" ss -ltnH | awk '{print "  listening tcp " $4}' | sort -u | head -20
    ip netns exec "$TARGET_NS" ss -lunH | awk '{print "  listening udp " $4}' | sort -u
    local name pid
    for name in $DAEMONS; do
      if pid=$(lab_pid "$name"); then echo "  $name: pid $pid"; else echo "  $name: not running"; fi
    done
    [[ -f "$LAB_DIR/truth.txt" ]] && echo "  truth: $(wc -l < "$LAB_DIR/truth.txt") open tcp pairs in $LAB_DIR/truth.txt"
    [[ -f "$LAB_DIR/truth_udp.txt" ]] &&
      echo "  truth: $(wc -l < "$LAB_DIR/truth_udp.txt") open udp pairs in $LAB_DIR/truth_udp.txt (every other udp port closed; every host answers ping)"
  fi
  return 0
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status [PREFIX]" >&2; exit 1 ;;
esac
