#!/usr/bin/env bash
# A file that cannot be opened gets a clean error: for every file a scan
# opens (database, every output, metadata, status file, -iL, --excludefile,
# --config), run one net_null scan whose open() of that file fails (the
# LD_PRELOAD shim tests/cli/failopen.c, built as failopen.so next to this
# suite's build directory) and assert: the exit code is 1 or 2 (not a signal,
# not 0), at most three lines on stderr, the message names the file, and
# where the database exists its scans row is not left "running". Each file
# fails once with EACCES and once with EIO. net_null sends nowhere.
set -uo pipefail
WS=$(realpath "${1:?usage: $0 WIRESPEED_BINARY [failopen.so]}")
SHIM=$(realpath "${2:-$(dirname "$WS")/../../tests/cli/failopen.so}")
[[ -f $SHIM ]] || { echo "FAIL: no LD_PRELOAD shim at $SHIM (ninja -C BUILD tests/cli/failopen.so)"; exit 0; }
WORK=$(mktemp -d /tmp/ws-failopen-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
NULL=(--vdev net_null0,no-rx=1 --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02 --blocklist /dev/null --wait 0)

# option  file name (a unique substring of its path)
CASES=(
  "--db scan.db"
  "-oL out.list"
  "-oJ out.ndjson"
  "-oC out.csv"
  "-oX out.xml"
  "-oG out.gnmap"
  "--metadata meta.json"
  "--status-file status.ndjson"
  "-iL targets.txt"
  "--excludefile skip.txt"
  "--config scan.toml"
)

run_case() { # OPTION NAME ERRNO ERRNO_NAME
  local option=$1 name=$2 err=$3 errname=$4 dir
  dir=$(mktemp -d "$WORK/run-XXXXXX")
  printf '198.19.0.0/28\n' > "$dir/targets.txt"
  printf '198.19.0.3\n' > "$dir/skip.txt"
  printf 'seed = 7\nrate = "10k"\n' > "$dir/scan.toml"
  (cd "$dir" && WS_FAIL_OPEN=$name WS_FAIL_ERRNO=$err LD_PRELOAD=$SHIM timeout 60 "$WS" scan 198.19.0.0/28 -p 80 "${NULL[@]}" \
     --db scan.db -oL out.list -oJ out.ndjson -oC out.csv -oX out.xml -oG out.gnmap --metadata meta.json \
     --status-file status.ndjson -iL targets.txt --excludefile skip.txt --config scan.toml -q >"$dir/out" 2>"$dir/err")
  local rc=$? lines; lines=$(wc -l < "$dir/err")
  local label="$option $name ($errname)"
  if ((rc != 1 && rc != 2)); then echo "FAIL: $label: exit $rc, expected 1 or 2: $(head -1 "$dir/err")"; return; fi
  if ((lines > 3)); then echo "FAIL: $label: $lines lines on stderr: $(head -1 "$dir/err")"; return; fi
  if ! grep -qF -- "$name" "$dir/err"; then echo "FAIL: $label: stderr does not name $name: $(head -1 "$dir/err")"; return; fi
  if [[ -s $dir/scan.db ]]; then
    local running
    running=$(sqlite3 "$dir/scan.db" "SELECT count(*) FROM scans WHERE status = 'running'" 2>&1)
    if [[ $running != 0 ]]; then echo "FAIL: $label: the scans row is left running ($running)"; return; fi
  fi
  echo "PASS: $label: exit $rc: $(head -1 "$dir/err")"
}

for c in "${CASES[@]}"; do
  set -- $c
  run_case "$1" "$2" 13 EACCES
  run_case "$1" "$2" 5 EIO
done

# The shim itself works: with nothing matching, the same scan succeeds.
dir=$(mktemp -d "$WORK/run-XXXXXX")
if (cd "$dir" && WS_FAIL_OPEN=no-such-file-name LD_PRELOAD=$SHIM timeout 60 "$WS" scan 198.19.0.0/28 -p 80 "${NULL[@]}" \
      --db scan.db -oL out.list -q >/dev/null 2>"$dir/err") && [[ -s $dir/out.list ]]; then
  echo "PASS: shim loaded, nothing matching: the scan succeeds"
else
  echo "FAIL: shim loaded, nothing matching: the scan fails: $(head -1 "$dir/err")"
fi
