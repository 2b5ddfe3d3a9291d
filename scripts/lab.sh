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
#
# IPv6, on the same veth pair beside IPv4 (2001:db8::/32, the documentation
# range, never routed anywhere):
#
#   <P>-s  2001:db8::1/64  <== veth ==> <P>-t  2001:db8::2/64
#   default via 2001:db8::2            local 2001:db8:1::/112 dev lo (AnyIP)
#
# Who owns what, as on the IPv4 side: the scanner namespace's kernel owns
# 2001:db8::1 (like 198.18.0.1), the interface's address and a scan source at
# once; any other source (198.18.0.7, 2001:db8::7, ...) is wirespeed's alone,
# and wirespeed answers ARP / NDP for it itself (with --xdp the kernel sees no
# frame of the scan's queues, so it must for 198.18.0.1 / 2001:db8::1 too).
# The target's kernel owns 2001:db8::2 (the scanner's IPv6 default gateway,
# resolved by NDP) and answers for all of 2001:db8:1::/112. Addresses are
# nodad and DAD is off (usable at once); no router advertisement is sent or
# accepted, no forwarding; ICMPv6 errors are not rate-limited either. The
# kernels' own IPv6 chatter (MLD reports, NDP) is on the link like ARP is.
#
# An IPv6 lab host mirrors the IPv4 host of the same index: 198.19.X.Y is host
# X*256+Y, and 2001:db8:1::(X*256+Y in hex) is the same host, with the same
# open ports, as far as the /112 reaches (198.19.0.0/22 and 2001:db8:1::/118
# are the same 1024 hosts). Open TCP ports ($LAB_DIR/truth6.txt as [ip]:port,
# the address in RFC 5952 text, as python's ipaddress prints it):
#   every host of 2001:db8:1::/112:  22, 80, 443
#   a few hosts: 8080 on 2001:db8:1::a, 2001:db8:1::34d, 2001:db8:1::fc8
#                1023 on 2001:db8:1::202;  3306 on 2001:db8:1::101
#                65535 on 2001:db8:1::5, 2001:db8:1::909;  31337 on 2001:db8:1::5
#                53 on 2001:db8:1::35 (dnsmasq, DNS over TCP)
# Open UDP ports ($LAB_DIR/truth6_udp.txt): [2001:db8:1::35]:53, the same
# dnsmasq (dns.lab.test also has that AAAA record). NTP and SNMP are IPv4
# only: every other UDP port of every 2001:db8:1::/112 host is closed, the
# kernel answers ICMPv6 port unreachable; from the probed address itself in
# 2001:db8:1::/116 (the 4096 hosts the IPv4 /20 mirrors: they are real
# addresses on lo too), beyond it from 2001:db8::2 (an AnyIP address is never
# the source of the kernel's errors), which a scanner calls "filtered" (nmap's
# rule). Every 2001:db8:1::/112 host answers ping6. truth.txt / truth_udp.txt
# stay IPv4 only, as they always were.
#
# The service lab (issue 12: service detection), a third namespace on a second
# veth pair from the scanner namespace, where real Debian daemons listen on
# the wildcard, so every host of an AnyIP /24 runs every service:
#
#   <P>-scan namespace                  <P>-svc namespace
#   <P>-v  198.18.2.1/24  <== veth ==>  <P>-w  198.18.2.2/24
#          2001:db8:2::1/64                    2001:db8:2::2/64
#   198.18.3.0/24 via 198.18.2.2        local 198.18.3.0/24 dev lo (AnyIP)
#   2001:db8:3::/120 via 2001:db8:2::2  local 2001:db8:3::/120 dev lo
#
# Open TCP ports on every host of 198.18.3.0/24 and 2001:db8:3::/120:
#   21 vsftpd, 22 OpenSSH sshd, 25 Exim, 80 nginx (HTTP), 443 nginx (HTTPS),
#   6379 redis-server
# Every other port is closed (RST), 23 for instance. The HTTPS certificate is
# generated at each `up` (self-signed, RSA 2048): $LAB_DIR/svc/cert.pem,
# subject O=wirespeed lab, CN=svc.lab.test, SANs DNS:svc.lab.test and
# DNS:*.svc.lab.test. The kernel of the scanner namespace owns 198.18.2.1 and
# 2001:db8:2::1 (nmap's source, through the routes above); wirespeed scans
# from an address nobody owns, answering ARP for it itself, so the kernel
# never resets its connections: --interface <P>-v --source-ip 198.18.2.7
# --gateway-ip 198.18.2.2 (no default route on <P>-v; for IPv6 2001:db8:2::7
# and 2001:db8:2::2). Configs, host keys,
# certificate, pid files and logs: $LAB_DIR/svc. The daemons' versions are
# the installed Debian packages' (dpkg-query -W openssh-server nginx vsftpd
# exim4-daemon-light redis-server). LAB_SVC=0 leaves the service lab out.
set -euo pipefail

cmd=${1:-status}
P=${2:-${LAB_PREFIX:-ws}}
SCAN_NS="$P-scan"
TARGET_NS="$P-target"
S_IF="$P-s"
T_IF="$P-t"
LAB_DIR=${LAB_DIR:-/run/wirespeed-lab/$P}
NET=198.19.0.0/16
QUEUES=${LAB_QUEUES:-1} # veth queue pairs: as many as the scan's busier side has lcores (--xdp binds queues 0..N-1)
[[ $QUEUES =~ ^[1-9][0-9]?$ ]] || { echo "lab: LAB_QUEUES must be 1-99, not \"$QUEUES\"" >&2; exit 1; }

export LAB_EVERY_PORTS="22 80 443"
export LAB_FEW="198.19.0.10:8080 198.19.3.77:8080 198.19.15.200:8080 198.19.2.2:1023 198.19.1.1:3306 198.19.0.5:65535 198.19.9.9:65535 198.19.0.5:31337"
DNS_IP=198.19.0.53
NTP_IP=198.19.0.123
SNMP_IP=198.19.0.161
export LAB_UDP="$DNS_IP:53 $NTP_IP:123 $SNMP_IP:161"
export LAB_DAEMON_TCP="$DNS_IP:53" # TCP listeners the daemons open themselves
DAEMONS="dnsmasq chronyd snmpd"     # $LAB_DIR/NAME.pid each

# IPv6 (see the header): the scanner's and the target's addresses on the
# veth, the AnyIP block, and the IPv6 twins of the few-hosts listeners.
S_IP6=2001:db8::1
T_IP6=2001:db8::2
NET6=2001:db8:1::/112
NET6_HELD=2001:db8:1::/116 # also real addresses on lo (see up): UDP closed = unreachable from the host itself
export LAB_FEW6="[2001:db8:1::a]:8080 [2001:db8:1::34d]:8080 [2001:db8:1::fc8]:8080 [2001:db8:1::202]:1023 [2001:db8:1::101]:3306 [2001:db8:1::5]:65535 [2001:db8:1::909]:65535 [2001:db8:1::5]:31337"
DNS6_IP=2001:db8:1::35
export LAB_UDP6="[$DNS6_IP]:53"
export LAB_DAEMON_TCP6="[$DNS6_IP]:53"

# The service lab (see the header).
SVC=${LAB_SVC:-1}
[[ $SVC == 0 || $SVC == 1 ]] || { echo "lab: LAB_SVC must be 0 or 1, not \"$SVC\"" >&2; exit 1; }
SVC_NS="$P-svc"
V_IF="$P-v" # scanner side
W_IF="$P-w" # service side
V_IP=198.18.2.1
W_IP=198.18.2.2
V_IP6=2001:db8:2::1
W_IP6=2001:db8:2::2
SVC_NET=198.18.3.0/24
SVC_NET6=2001:db8:3::/120
SVC_DIR="$LAB_DIR/svc"
export LAB_SVC_PORTS="21 22 25 80 443 6379"
SVC_DAEMONS="sshd nginx vsftpd exim4 redis"

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

write_truth() {
  python3 - "$LAB_DIR/truth.txt" "$LAB_DIR/truth_udp.txt" "$LAB_DIR/truth6.txt" "$LAB_DIR/truth6_udp.txt" <<'PY'
import ipaddress, os, sys
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
# IPv6: [ip]:port, RFC 5952 text (ipaddress's), host = the low 16 bits.
base = int(ipaddress.IPv6Address("2001:db8:1::"))
def v6(host):
    return str(ipaddress.IPv6Address(base | host))
pairs6 = set()
for host in range(65536):
    ip = v6(host)
    for port in every:
        pairs6.add((host, port, ip))
def few6(var):
    out = set()
    for item in os.environ[var].split():
        ip, _, port = item.rpartition(":")
        addr = ipaddress.IPv6Address(ip.strip("[]"))
        host = int(addr) - base
        assert 0 <= host < 65536 and str(addr) == ip.strip("[]"), item
        out.add((host, int(port), str(addr)))
    return out
def write6(path, pairs):
    with open(path, "w") as f:
        for host, port, ip in sorted(pairs):
            f.write("[%s]:%d\n" % (ip, port))
write6(sys.argv[3], pairs6 | few6("LAB_FEW6") | few6("LAB_DAEMON_TCP6"))
write6(sys.argv[4], few6("LAB_UDP6"))
PY
}

start_listeners() {
  # One process holds every listening socket; IP_FREEBIND lets it bind the
  # AnyIP addresses even before the route settles.
  ip netns exec "$TARGET_NS" python3 - "$LAB_DIR/listeners.pid" >/dev/null 2>&1 <<'PY' &
import os, signal, socket, sys, time
IP_FREEBIND = 15
IPV6_FREEBIND = 78
socks = []
def listen(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    s.bind((addr, port))
    s.listen(4096)
    socks.append(s)
def listen6(addr, port):
    # IPv6 only: the IPv4 listeners above keep IPv4 to themselves.
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
    s.bind((addr, port))
    s.listen(4096)
    socks.append(s)
for port in os.environ["LAB_EVERY_PORTS"].split():
    listen("0.0.0.0", int(port))
    listen6("::", int(port))
for item in os.environ["LAB_FEW"].split():
    ip, port = item.split(":")
    listen(ip, int(port))
for item in os.environ["LAB_FEW6"].split():
    ip, _, port = item.rpartition(":")
    listen6(ip.strip("[]"), int(port))
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
  ip netns exec "$TARGET_NS" ip -6 addr replace "$DNS6_IP/128" dev lo nodad # (up added it already)

  # DNS: no resolv.conf, no /etc/hosts, no upstream; answers its own names
  # (REFUSED for any other: there is nowhere to forward it). One dnsmasq
  # serves both families: $DNS_IP and $DNS6_IP.
  ip netns exec "$TARGET_NS" dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
    --bind-interfaces --listen-address="$DNS_IP" --listen-address="$DNS6_IP" --port=53 \
    --host-record=dns.lab.test,"$DNS_IP","$DNS6_IP" --host-record=ntp.lab.test,"$NTP_IP" \
    --host-record=snmp.lab.test,"$SNMP_IP" --local=/lab.test/ \
    --pid-file="$LAB_DIR/dnsmasq.pid" --log-facility="$LAB_DIR/dnsmasq.log"
  wait_udp dnsmasq "$DNS_IP:53"
  wait_udp dnsmasq "[$DNS6_IP]:53"

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

# ---- The service lab's daemons (the header's last part). Each runs inside
# $SVC_NS with its config, pid file and log under $SVC_DIR.
svc_pidfile() { # NAME
  case $1 in
    redis) echo "$SVC_DIR/redis/redis.pid" ;;
    *) echo "$SVC_DIR/$1.pid" ;;
  esac
}

# The pid in NAME's pid file, if that process runs in this lab's service namespace.
svc_pid() { # NAME
  local pid
  pid=$(cat "$(svc_pidfile "$1")" 2>/dev/null) || return 1
  pid=${pid//[[:space:]]/}
  [[ $pid =~ ^[0-9]+$ ]] && [[ $(ip netns identify "$pid" 2>/dev/null) == "$SVC_NS" ]] && echo "$pid"
}

# Up to 10 s for NAME's pid file and a listening socket on PORT. (Some take
# both families on one [::] socket, some open 0.0.0.0 and [::] each; either
# way both answer: the status line and the service_truth test check both.)
wait_tcp() { # NAME PORT
  local i
  for i in $(seq 100); do
    if svc_pid "$1" >/dev/null && ip netns exec "$SVC_NS" ss -ltnH "sport = :$2" | grep -q .; then return 0; fi
    sleep 0.1
  done
  echo "lab: $1 did not come up on tcp port $2 (pid $(svc_pid "$1" || echo none)); its log:" >&2
  tail -5 "$SVC_DIR/$1.log" "$SVC_DIR/$1/$1.log" "$SVC_DIR/exim/mainlog" "$SVC_DIR/exim/paniclog" >&2 2>/dev/null || true
  return 1
}

svc_net() {
  ip link add "$V_IF" netns "$SCAN_NS" type veth peer name "$W_IF" netns "$SVC_NS"
  ip netns exec "$SVC_NS" ip link set lo up
  ip netns exec "$SCAN_NS" ip addr add "$V_IP/24" dev "$V_IF"
  ip netns exec "$SCAN_NS" ip -6 addr add "$V_IP6/64" dev "$V_IF" nodad
  ip netns exec "$SCAN_NS" ip link set "$V_IF" up
  ip netns exec "$SCAN_NS" ip route add "$SVC_NET" via "$W_IP" dev "$V_IF"
  ip netns exec "$SCAN_NS" ip -6 route add "$SVC_NET6" via "$W_IP6" dev "$V_IF"
  ip netns exec "$SVC_NS" ip addr add "$W_IP/24" dev "$W_IF"
  ip netns exec "$SVC_NS" ip -6 addr add "$W_IP6/64" dev "$W_IF" nodad
  ip netns exec "$SVC_NS" ip link set "$W_IF" up
  ip netns exec "$SVC_NS" ip route add local "$SVC_NET" dev lo
  ip netns exec "$SVC_NS" ip -6 route add local "$SVC_NET6" dev lo
  # Replies to any lab source (198.18.2.7 is wirespeed's, on the link).
  ip netns exec "$SVC_NS" ip route add default via "$V_IP"
  ip netns exec "$SVC_NS" ip -6 route add default via "$V_IP6" dev "$W_IF"
  # A scan opens thousands of connections at once: deep SYN and accept
  # queues, no ICMP rate limit.
  ip netns exec "$SVC_NS" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 \
    net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
  for pair in "$SCAN_NS:$V_IF" "$SVC_NS:$W_IF"; do
    ip netns exec "${pair%%:*}" ethtool -K "${pair#*:}" tx off rx off >/dev/null 2>&1 || true
  done
}

start_svc() {
  local cmd
  for cmd in /usr/sbin/sshd nginx vsftpd exim4 redis-server openssl ssh-keygen setpriv; do
    command -v "$cmd" >/dev/null ||
      { echo "lab: $cmd not installed (scripts/setup.sh installs it; LAB_SVC=0 leaves the service lab out)" >&2; return 1; }
  done
  mkdir -p "$SVC_DIR"
  # The HTTPS certificate: self-signed, known subject and SANs.
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 365 -keyout "$SVC_DIR/key.pem" -out "$SVC_DIR/cert.pem" \
    -subj "/O=wirespeed lab/CN=svc.lab.test" -addext "subjectAltName=DNS:svc.lab.test,DNS:*.svc.lab.test" \
    >/dev/null 2>&1 || { echo "lab: openssl req failed" >&2; return 1; }
  chmod 600 "$SVC_DIR/key.pem"

  # SSH: its own host key and config; nobody can log in (no password, no
  # keys, no PAM); many unauthenticated connections at once (a scan's).
  ssh-keygen -q -t ed25519 -N '' -C "wirespeed lab $P" -f "$SVC_DIR/ssh_host_ed25519_key"
  mkdir -p /run/sshd # Debian's privilege separation directory (the package's tmpfiles.d makes it at boot)
  cat > "$SVC_DIR/sshd_config" <<CONF
# wirespeed lab $P: OpenSSH on port 22 of every service-lab address; no login possible
Port 22
ListenAddress 0.0.0.0
ListenAddress ::
HostKey $SVC_DIR/ssh_host_ed25519_key
PidFile $SVC_DIR/sshd.pid
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
MaxStartups 10000
LoginGraceTime 20
CONF
  ip netns exec "$SVC_NS" /usr/sbin/sshd -f "$SVC_DIR/sshd_config" -E "$SVC_DIR/sshd.log"
  wait_tcp sshd 22

  # nginx: HTTP on 80, HTTPS on 443, a static page.
  mkdir -p "$SVC_DIR/www" "$SVC_DIR/nginx"
  echo "<html><body>wirespeed lab $P</body></html>" > "$SVC_DIR/www/index.html"
  cat > "$SVC_DIR/nginx.conf" <<CONF
# wirespeed lab $P: nginx on ports 80 and 443 of every service-lab address
user www-data;
worker_processes 1;
worker_rlimit_nofile 16384;
pid $SVC_DIR/nginx.pid;
error_log $SVC_DIR/nginx.log;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $SVC_DIR/nginx/body;
  proxy_temp_path $SVC_DIR/nginx/proxy;
  fastcgi_temp_path $SVC_DIR/nginx/fastcgi;
  scgi_temp_path $SVC_DIR/nginx/scgi;
  uwsgi_temp_path $SVC_DIR/nginx/uwsgi;
  default_type text/html;
  server {
    listen 80 default_server backlog=4096;
    listen [::]:80 default_server backlog=4096;
    listen 443 ssl default_server backlog=4096;
    listen [::]:443 ssl default_server backlog=4096;
    server_name svc.lab.test;
    ssl_certificate $SVC_DIR/cert.pem;
    ssl_certificate_key $SVC_DIR/key.pem;
    root $SVC_DIR/www;
  }
}
CONF
  ip netns exec "$SVC_NS" nginx -c "$SVC_DIR/nginx.conf" -p "$SVC_DIR/" -e "$SVC_DIR/nginx.log"
  wait_tcp nginx 80
  wait_tcp nginx 443

  # FTP: vsftpd in the foreground (its pid is ours to record), anonymous
  # read-only on an empty root; no local users, no writes.
  mkdir -p "$SVC_DIR/ftp" "$SVC_DIR/vsftpd-empty"
  chmod 555 "$SVC_DIR/ftp" "$SVC_DIR/vsftpd-empty"
  cat > "$SVC_DIR/vsftpd.conf" <<CONF
# wirespeed lab $P: vsftpd on port 21 of every service-lab address
listen=NO
listen_ipv6=YES
listen_port=21
background=NO
anonymous_enable=YES
anon_root=$SVC_DIR/ftp
no_anon_password=YES
local_enable=NO
write_enable=NO
seccomp_sandbox=NO
secure_chroot_dir=$SVC_DIR/vsftpd-empty
xferlog_enable=NO
vsftpd_log_file=$SVC_DIR/vsftpd.log
max_clients=0
max_per_ip=0
CONF
  ip netns exec "$SVC_NS" vsftpd "$SVC_DIR/vsftpd.conf" </dev/null >>"$SVC_DIR/vsftpd.log" 2>&1 &
  echo $! > "$SVC_DIR/vsftpd.pid" # ip netns exec execs vsftpd in place: $! is vsftpd
  wait_tcp vsftpd 21 # (one [::] socket: listen_ipv6 takes IPv4 too)

  # SMTP: Exim (its banner carries its version; postfix's does not), refusing
  # every recipient, no TLS, no DNS or ident lookups. Its logs go where its
  # own user can write them (Exim creates them as Debian-exim).
  mkdir -p "$SVC_DIR/exim"
  chown Debian-exim:Debian-exim "$SVC_DIR/exim"
  cat > "$SVC_DIR/exim4.conf" <<CONF
# wirespeed lab $P: Exim on port 25 of every service-lab address; accepts no mail
primary_hostname = mail.svc.lab.test
daemon_smtp_ports = 25
# (no local_interfaces: every address of both families, one [::] socket where the kernel allows)
spool_directory = $SVC_DIR/exim
log_file_path = $SVC_DIR/exim/%slog
keep_environment =
pid_file_path = $SVC_DIR/exim4.pid
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
tls_advertise_hosts =
smtp_accept_max = 4000
smtp_accept_max_per_host =
smtp_connect_backlog = 4096
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  deny message = no mail in the wirespeed lab
begin routers
begin transports
CONF
  ip netns exec "$SVC_NS" exim4 -C "$SVC_DIR/exim4.conf" -bd >>"$SVC_DIR/exim4.log" 2>&1 ||
    { echo "lab: exim4 failed: $(tail -3 "$SVC_DIR/exim4.log" "$SVC_DIR"/exim/*log 2>/dev/null)" >&2; return 1; }
  wait_tcp exim4 25

  # Redis: no persistence, reachable from the lab (protected-mode off), as the redis user.
  mkdir -p "$SVC_DIR/redis"
  chown redis:redis "$SVC_DIR/redis"
  cat > "$SVC_DIR/redis.conf" <<CONF
# wirespeed lab $P: redis-server on port 6379 of every service-lab address
bind 0.0.0.0 ::
port 6379
protected-mode no
daemonize yes
pidfile $SVC_DIR/redis/redis.pid
logfile $SVC_DIR/redis/redis.log
dir $SVC_DIR/redis
save ""
appendonly no
tcp-backlog 4096
CONF
  ip netns exec "$SVC_NS" setpriv --reuid=redis --regid=redis --init-groups redis-server "$SVC_DIR/redis.conf"
  wait_tcp redis 6379
}

stop_svc() {
  local name pid i
  for name in $SVC_DAEMONS; do
    pid=$(svc_pid "$name") || continue
    kill "$pid" 2>/dev/null || true
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
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
  if [[ $SVC == 1 ]]; then
    ns_exists "$SVC_NS" || return 1
    for name in $SVC_DAEMONS; do svc_pid "$name" >/dev/null || return 1; done
  fi
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
  namespaces=("$SCAN_NS" "$TARGET_NS")
  if [[ $SVC == 1 ]]; then
    ip netns add "$SVC_NS"
    namespaces+=("$SVC_NS")
  fi
  # IPv6 on, but quiet and immediate: set in "default" before the veth exists,
  # so its ends are created with them (lo already is: it only needs IPv6 on).
  # No DAD (addresses usable at once), no router solicitation or
  # advertisement taken, no autoconfiguration, no forwarding.
  for ns in "${namespaces[@]}"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
    for conf in all default; do
      ip netns exec "$ns" sysctl -qw net.ipv6.conf.$conf.forwarding=0 net.ipv6.conf.$conf.accept_ra=0 \
        net.ipv6.conf.$conf.autoconf=0 net.ipv6.conf.$conf.router_solicitations=0 \
        net.ipv6.conf.$conf.accept_dad=0 net.ipv6.conf.$conf.dad_transmits=0 net.ipv6.conf.$conf.accept_redirects=0
    done
  done
  # LAB_QUEUES queue pairs on both ends: the target's kernel spreads its
  # replies over its TX queues by flow hash, and each arrives on the scanner
  # side's RX queue of the same number (one af_xdp socket per queue).
  ip link add "$S_IF" netns "$SCAN_NS" numtxqueues "$QUEUES" numrxqueues "$QUEUES" type veth \
    peer name "$T_IF" netns "$TARGET_NS" numtxqueues "$QUEUES" numrxqueues "$QUEUES"
  for ns in "$SCAN_NS" "$TARGET_NS"; do
    ip netns exec "$ns" ip link set lo up
  done
  ip netns exec "$SCAN_NS" ip addr add 198.18.0.1/24 dev "$S_IF"
  ip netns exec "$SCAN_NS" ip -6 addr add "$S_IP6/64" dev "$S_IF" nodad
  ip netns exec "$SCAN_NS" ip link set "$S_IF" up
  ip netns exec "$SCAN_NS" ip route add default via 198.18.0.2
  ip netns exec "$SCAN_NS" ip -6 route add default via "$T_IP6" dev "$S_IF"
  ip netns exec "$TARGET_NS" ip addr add 198.18.0.2/24 dev "$T_IF"
  ip netns exec "$TARGET_NS" ip -6 addr add "$T_IP6/64" dev "$T_IF" nodad
  ip netns exec "$TARGET_NS" ip link set "$T_IF" up
  ip netns exec "$TARGET_NS" ip route add local "$NET" dev lo
  ip netns exec "$TARGET_NS" ip -6 route add local "$NET6" dev lo
  # ... and every address of $NET6_HELD on lo as well: the AnyIP route alone
  # answers TCP, UDP and ping for all of $NET6, but the kernel's ICMPv6
  # errors (port unreachable) leave from 2001:db8::2, not from the probed
  # address (icmp6_send takes the destination as source only for an address
  # an interface holds), and an unreachable from another host says
  # "filtered", not "closed" (nmap's rule, and wirespeed's). Not all 65536:
  # adding addresses slows down with each one held (4096 take about a
  # second, 30000 two minutes). Before any daemon starts: dnsmasq re-reads
  # every address on each notification.
  python3 -c 'import ipaddress, sys
net = ipaddress.IPv6Network(sys.argv[1])
for address in net:
    print("address add %s/128 dev lo nodad" % address)' "$NET6_HELD" |
    ip netns exec "$TARGET_NS" timeout 60 ip -batch -
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
  # The same for ICMPv6 (whose errors share the global budget above): no
  # per-destination limit, and every echo answered, anycast-looking
  # destinations (2001:db8:1::, the AnyIP block's first address) included.
  ip netns exec "$TARGET_NS" sysctl -qw net.ipv6.icmp.ratelimit=0 net.ipv6.icmp.echo_ignore_all=0 \
    net.ipv6.icmp.echo_ignore_anycast=0
  # Full checksums on the wire, so captures and parsers see what a NIC would.
  for pair in "$SCAN_NS:$S_IF" "$TARGET_NS:$T_IF"; do
    ip netns exec "${pair%%:*}" ethtool -K "${pair#*:}" tx off rx off >/dev/null 2>&1 || true
  done
  start_listeners
  start_udp_services
  if [[ $SVC == 1 ]]; then
    svc_net
    start_svc
  fi
  write_truth
  trap - EXIT
  echo "lab $P: up: scanner namespace $SCAN_NS (interface $S_IF), targets $NET and $NET6 in $TARGET_NS; truth $LAB_DIR/truth.txt (tcp), $LAB_DIR/truth_udp.txt (udp), $LAB_DIR/truth6.txt, $LAB_DIR/truth6_udp.txt (IPv6)"
  [[ $SVC == 0 ]] || echo "lab $P: services (tcp $LAB_SVC_PORTS) on every host of $SVC_NET and $SVC_NET6 in $SVC_NS, reached through $V_IF (wirespeed: --interface $V_IF --source-ip 198.18.2.7 --gateway-ip $W_IP); $SVC_DIR"
}

down() {
  local name
  # Daemons first and waited for: none may write into $LAB_DIR after it is gone.
  for name in $DAEMONS listeners; do stop_pidfile "$name"; done
  stop_svc # (whatever LAB_SVC says: a lab is taken down whole)
  for ns in "$SCAN_NS" "$TARGET_NS" "$SVC_NS"; do
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
    [[ -f "$LAB_DIR/truth6.txt" ]] &&
      echo "  truth: $(wc -l < "$LAB_DIR/truth6.txt") open tcp pairs in $LAB_DIR/truth6.txt, $(wc -l < "$LAB_DIR/truth6_udp.txt") open udp in $LAB_DIR/truth6_udp.txt (IPv6, $NET6)"
  fi
  if ns_exists "$SVC_NS"; then
    echo "  services: $SVC_NS, tcp $LAB_SVC_PORTS on every host of $SVC_NET and $SVC_NET6"
    for name in $SVC_DAEMONS; do
      if pid=$(svc_pid "$name"); then echo "  $name: pid $pid"; else echo "  $name: not running"; fi
    done
  fi
  return 0
}

# The DPDK-to-DPDK lab: wirespeed against its own reflector over net_memif
# (a unix socket and shared memory between two local processes; no kernel,
# no namespace, nothing on any interface), so the scan runs at Mpps and what
# is measured is wirespeed itself. The reflector is the memif server, the
# scanner the client. Exact means: every open pair found (hosts x the open
# port, if scanned) and every probe answered, with the reflector's counters
# (printed in full) agreeing. Settings (environment):
#   WIRESPEED        binary (default build/main/src/app/wirespeed)
#   MEMIF_NET        targets (default 198.19.0.0/16; must stay in 198.18.0.0/15)
#   MEMIF_PORTS      -p (default 400-499: 100 ports, 443 among them)
#   MEMIF_OPEN       the reflector's --open-ports (default 443: open on every host)
#   MEMIF_RATE       --rate (default 0: as fast as it goes)
#   MEMIF_TX, MEMIF_RX  scanner TX / RX lcores (default 1 and 1; the reflector
#                    gets as many queue pairs as the busier side)
#   MEMIF_SCAN_LCORES, MEMIF_REFLECT_LCORES  --lcores maps (default: EAL's spread)
#   MEMIF_TIMEOUT    seconds for the whole run (default 300)
# Extra arguments after PREFIX go to `wirespeed scan`. The scan's metadata,
# database and both logs are in $LAB_DIR/memif (kept with KEEP=1).
memif() {
  local ws=${WIRESPEED:-$(cd "$(dirname "$0")/.." && pwd)/build/main/src/app/wirespeed}
  local net=${MEMIF_NET:-198.19.0.0/16} ports=${MEMIF_PORTS:-400-499} open=${MEMIF_OPEN:-443}
  local rate=${MEMIF_RATE:-0} tx=${MEMIF_TX:-1} rx=${MEMIF_RX:-1} limit=${MEMIF_TIMEOUT:-300}
  local queues
  # Globals, not locals: the EXIT trap runs after this function has returned.
  dir="$LAB_DIR/memif"
  queues=$((tx > rx ? tx : rx))
  [[ -x $ws ]] || { echo "lab memif: no wirespeed binary at $ws (set WIRESPEED)" >&2; return 1; }
  case $net in 198.18.*|198.19.*) ;; *) echo "lab memif: MEMIF_NET must be inside 198.18.0.0/15" >&2; return 1 ;; esac
  sock="$dir/memif.sock" reflector_pid=""
  # Everything this run started goes, however it ends: the reflector (its
  # pid only), the socket, the files unless KEEP=1. Each process removes its
  # own EAL runtime directory; one killed hard is swept by the next run.
  memif_cleanup() {
    if [[ -n $reflector_pid ]]; then
      kill -INT "$reflector_pid" 2>/dev/null || true
      local i
      for i in $(seq 50); do kill -0 "$reflector_pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$reflector_pid" 2>/dev/null || true
      wait "$reflector_pid" 2>/dev/null || true
      reflector_pid=""
    fi
    rm -f "$sock"
    [[ -n ${KEEP:-} ]] || rm -rf "$dir"
    rmdir "$LAB_DIR" 2>/dev/null || true
  }
  trap memif_cleanup EXIT
  trap 'exit 130' INT TERM
  rm -rf "$dir"
  mkdir -p "$dir"
  local vdev="net_memif0,id=0,socket=$sock,socket-abstract=no"
  local reflect_lcores=() scan_lcores=()
  [[ -n ${MEMIF_REFLECT_LCORES:-} ]] && reflect_lcores=(--lcores "$MEMIF_REFLECT_LCORES")
  [[ -n ${MEMIF_SCAN_LCORES:-} ]] && scan_lcores=(--lcores "$MEMIF_SCAN_LCORES")
  # MEMIF_PERF=1: both processes under `perf record` (profiles in the run's directory; see KEEP).
  local reflect_wrap=() scan_wrap=()
  if [[ -n ${MEMIF_PERF:-} ]]; then
    reflect_wrap=(perf record -q -F 999 -o "$dir/reflector.perf" --)
    scan_wrap=(perf record -q -F 999 -o "$dir/scan.perf" --)
  fi
  timeout -k 5 "$limit" "${reflect_wrap[@]}" "$ws" reflect --vdev "$vdev,role=server" --hosts "$net" --open-ports "$open" \
    --queues "$queues" "${reflect_lcores[@]}" 2>"$dir/reflector.log" &
  reflector_pid=$!
  local i
  for i in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
  [[ -S $sock ]] || { echo "lab memif: the reflector did not come up: $(tail -2 "$dir/reflector.log")" >&2; return 1; }
  local scan_rc=0
  timeout -k 5 "$limit" "${scan_wrap[@]}" "$ws" scan "$net" -p "$ports" --vdev "$vdev,role=client" --source-ip 198.18.0.100 \
    --gateway-ip "${net%%/*}" --blocklist "$(cd "$(dirname "$0")/.." && pwd)/config/lab-blocklist.conf" \
    --rate "$rate" --tx-cores "$tx" --rx-cores "$rx" "${scan_lcores[@]}" --db "$dir/scan.db" \
    --metadata "$dir/scan.json" "${@:3}" 2>"$dir/scan.log" || scan_rc=$?
  kill -INT "$reflector_pid" 2>/dev/null || true
  wait "$reflector_pid" 2>/dev/null || true
  reflector_pid=""
  grep -h '^wirespeed: \(complete\|interrupted\|stopped\|failed\)' "$dir/scan.log" || tail -3 "$dir/scan.log"
  grep -h '^wirespeed: reflector:' "$dir/reflector.log" || tail -3 "$dir/reflector.log"
  [[ $scan_rc -eq 0 ]] || { echo "lab memif: the scan exited $scan_rc"; return 1; }
  # Exactness from the database, the metadata and the reflector's own counts.
  python3 - "$dir/scan.db" "$dir/scan.json" "$dir/reflector.log" "$net" "$ports" "$open" <<'PY'
import ipaddress, json, re, sqlite3, sys
db, meta, log, net, ports, open_spec = sys.argv[1:]
def port_set(spec):
    out = set()
    for part in spec.replace("T:", "").split(","):
        if part.startswith("U:"):
            continue
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out
hosts = ipaddress.ip_network(net).num_addresses
scanned, opened = port_set(ports), port_set(open_spec)
want_open = hosts * len(scanned & opened)
m = json.load(open(meta))
con = sqlite3.connect(db)
got_open = con.execute("SELECT count(*) FROM results WHERE state = 'open'").fetchone()[0]
distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT ip, port FROM results WHERE state = 'open')").fetchone()[0]
wrong = con.execute("SELECT count(*) FROM results WHERE state = 'open' AND port NOT IN (%s)"
                    % ",".join(str(p) for p in sorted(scanned & opened) or [0])).fetchone()[0]
text = open(log).read()
def counter(name):
    found = re.search(r"%s (\d+)" % re.escape(name), text)
    return int(found.group(1)) if found else -1
syns = re.search(r"(\d+) SYNs", text)
syns = int(syns.group(1)) if syns else -1
planned = m["probes_planned"]
probes = hosts * len(scanned)
secs = m["send_duration_s"]
print("memif lab: sent %d probes in %.3f s (%.2f Mpps), %d replies (%.2f M/s), open %d of %d, drops %d, "
      "reflector: %d SYNs, tx_full %d, nombuf %d, tx_dropped %d, all_answered %s"
      % (m["sent"], secs, m["sent"] / secs / 1e6 if secs else 0, m["replies"], m["replies"] / m["duration_s"] / 1e6,
         got_open, want_open, m["drops"], syns, counter("tx_full"),
         counter("nombuf"), counter("tx_dropped"), m["all_answered"]))
problems = []
if got_open != want_open or distinct != got_open or wrong:
    problems.append("open %d (distinct %d, on unopened ports %d), expected %d" % (got_open, distinct, wrong, want_open))
if not m["all_answered"]:
    problems.append("not every probe was answered")
if m["drops"]:
    problems.append("scanner drops %d" % m["drops"])
for name in ("nombuf", "tx_dropped"):
    if counter(name) != 0:
        problems.append("reflector %s %d" % (name, counter(name)))
if problems:
    print("memif lab: NOT exact: " + "; ".join(problems))
    sys.exit(1)
print("memif lab: exact: %d of %d open pairs, %d probes, every one answered" % (got_open, want_open, probes))
PY
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  memif) memif "$@" ;;
  *) echo "usage: $0 up|down|status|memif [PREFIX] [SCAN ARGS...]" >&2; exit 1 ;;
esac
