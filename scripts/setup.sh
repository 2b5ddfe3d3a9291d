#!/usr/bin/env bash
# Installs exactly the Debian packages wirespeed's build, tests, lab and perf/
# need. Idempotent: runs `apt-get update` only when something is missing.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config g++ python3
  libdpdk-dev dpdk dpdk-dev libtbb-dev libsqlite3-dev sqlite3 libcli11-dev libfmt-dev libdivide-dev libtomlplusplus-dev
  # tests, sanitizers, fuzzing
  libgtest-dev libgmock-dev clang libclang-rt-14-dev
  # lab and packet checks
  iproute2 tcpdump ethtool procps libxml2-utils xsltproc
  # perf/ side-by-side comparisons and nmap's DTD for XML output
  libbenchmark-dev zmap masscan nmap
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all ${#packages[@]} packages present"
