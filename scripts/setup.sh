#!/usr/bin/env bash
# Installs exactly the Debian packages wirespeed's build, tests, lab and perf/
# need. Idempotent: runs `apt-get update` only when something is missing.
#
# The lab's UDP services (dnsmasq, chronyd, snmpd) run only inside the lab's
# target namespace, its TCP services (sshd, nginx, vsftpd, exim4, redis-server)
# only inside the lab's service namespace (scripts/lab.sh). Installing their packages must not start
# them on this host: apt-get runs under a temporary /usr/sbin/policy-rc.d that
# refuses every service start (exit 101), restored afterwards, and any host
# instance that appeared during the install is stopped.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config g++ python3
  libdpdk-dev dpdk dpdk-dev libtbb-dev libsqlite3-dev sqlite3 libcli11-dev libfmt-dev libdivide-dev libtomlplusplus-dev
  nlohmann-json3-dev
  libssl-dev openssl
  libhyperscan-dev libpcre2-dev
  # tests, sanitizers, fuzzing
  libgtest-dev libgmock-dev clang libclang-rt-14-dev
  # lab and packet checks
  iproute2 tcpdump ethtool procps libxml2-utils xsltproc
  # lab UDP services (DNS, NTP, SNMP; never started on the host) and the tools checking them
  dnsmasq-base chrony snmpd bind9-dnsutils iputils-ping
  # lab TCP services for service detection (issue 12; never started on the host)
  openssh-server nginx vsftpd exim4-daemon-light redis-server
  # perf/ side-by-side comparisons (linux-perf: perf/mq.sh's per-thread profiles) and nmap's DTD for XML output
  libbenchmark-dev zmap masscan nmap linux-perf
)

POLICY=/usr/sbin/policy-rc.d
SAVED=/usr/sbin/policy-rc.d.wirespeed-saved
MARK="# wirespeed setup.sh: temporary, no service may start during the install"
DAEMONS=(dnsmasq chronyd snmpd sshd nginx vsftpd exim4 redis-server)

# Daemons in this (the host's) network namespace, as "pid" lines. Lab
# instances live in other namespaces and are never counted or touched here.
host_daemon_pids() {
  local self pid
  self=$(readlink /proc/self/ns/net)
  for pid in $(pgrep -x "$(IFS='|'; echo "${DAEMONS[*]}")" 2>/dev/null); do
    [[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) == "$self" ]] && echo "$pid"
  done
  return 0
}

# A policy-rc.d of ours (exit 101: "action forbidden") for the install; an
# existing one is kept aside and put back. A run killed half-way leaves ours
# in place with the original saved: the next run restores it first.
guard_services() {
  if [[ -e $SAVED ]] && grep -qxF "$MARK" "$POLICY" 2>/dev/null; then mv -f "$SAVED" "$POLICY"; fi
  if [[ -e $POLICY || -L $POLICY ]]; then mv -f "$POLICY" "$SAVED"; fi
  printf '#!/bin/sh\n%s\nexit 101\n' "$MARK" > "$POLICY"
  chmod 755 "$POLICY"
  trap unguard_services EXIT
  BEFORE=$(host_daemon_pids)
}

unguard_services() {
  if grep -qxF "$MARK" "$POLICY" 2>/dev/null; then
    rm -f "$POLICY"
    if [[ -e $SAVED || -L $SAVED ]]; then mv -f "$SAVED" "$POLICY"; fi
  fi
  trap - EXIT
}

# A package that started its daemon anyway (no policy-rc.d check in its
# maintainer scripts): stop exactly the instances that appeared meanwhile.
stop_new_host_daemons() {
  local pid left
  for pid in $(host_daemon_pids); do
    grep -qx "$pid" <<<"$BEFORE" && continue
    echo "setup: stopping $(ps -o comm= -p "$pid") (pid $pid) started on the host by its package" >&2
    kill "$pid" 2>/dev/null || true
  done
  sleep 0.5
  left=$(host_daemon_pids | grep -vxF -f <(echo "$BEFORE") || true)
  if [[ -n $left ]]; then
    echo "setup: a daemon still runs on the host: $(ps -o pid=,comm= -p "${left//$'\n'/,}")" >&2
    exit 1
  fi
}

find_missing() {
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
}

find_missing
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  # One install at a time (every worktree's test.sh runs this script): the
  # policy-rc.d guard is never swapped under another run's install.
  exec 9>/run/lock/wirespeed-setup.lock
  flock 9
  find_missing
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  trap 'exit 130' INT TERM
  guard_services
  apt-get update -qq 9>&-
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 9>&-
  unguard_services
  stop_new_host_daemons
fi
echo "setup: all ${#packages[@]} packages present"

# Hugepages for EAL (issue 10: start-up in milliseconds). A scan takes them
# when enough are free for its whole memory and falls back to --no-huge
# otherwise, so this is an optimisation, never a requirement: a machine that
# refuses the reservation (a container's read-only /proc/sys) still works.
# 1 GiB of 2 MiB pages: a scanner and a reflector (memif lab) at full size.
WANT_HUGEPAGES=${WIRESPEED_HUGEPAGES:-512}
if [[ $(id -u) -eq 0 && -w /proc/sys/vm/nr_hugepages ]]; then
  have=$(cat /proc/sys/vm/nr_hugepages)
  if ((have < WANT_HUGEPAGES)); then
    echo "$WANT_HUGEPAGES" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  fi
fi
echo "setup: hugepages $(awk '/HugePages_Total/ {t=$2} /HugePages_Free/ {f=$2} END {print f " free of " t}' /proc/meminfo) (2 MiB)"
