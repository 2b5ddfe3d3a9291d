#!/usr/bin/env bash
# Bad input gets a clear error: each case must exit with the expected code,
# print at most three lines on stderr, and name the offending value.
# None of these reach the network: they fail before EAL starts.
set -uo pipefail
WS=${1:?usage: $0 WIRESPEED_BINARY}
WORK=$(mktemp -d /tmp/ws-cli-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
printf '198.19.0.1\n198.19.0.0/33\n' > "$WORK/bad-targets.txt"
printf '# nothing but a comment\n' > "$WORK/empty-targets.txt"

# Common valid options so each case has exactly one bad value.
OK=(--vdev net_null0 --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02 --no-db --blocklist /dev/null)

check() { # NAME EXPECTED_CODE NEEDLE ARGS...
  local name=$1 code=$2 needle=$3; shift 3
  timeout 20 "$WS" "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$? lines; lines=$(wc -l < "$WORK/err")
  if [[ $rc -ne $code ]]; then echo "FAIL: $name: exit $rc, expected $code: $(head -1 "$WORK/err")"; return; fi
  if ((lines > 3)); then echo "FAIL: $name: $lines lines on stderr"; return; fi
  if ! grep -qF -- "$needle" "$WORK/err"; then echo "FAIL: $name: stderr does not name '$needle': $(head -1 "$WORK/err")"; return; fi
  echo "PASS: $name"
}

check port-zero 1 '"0"' scan 198.19.0.1 -p 0 "${OK[@]}"
check port-too-big 1 '"70000"' scan 198.19.0.1 -p 70000 "${OK[@]}"
check port-reversed 1 '"1024-1"' scan 198.19.0.1 -p 1024-1 "${OK[@]}"
check port-empty-item 1 '22,,80' scan 198.19.0.1 -p 22,,80 "${OK[@]}"
check port-junk 1 '"http"' scan 198.19.0.1 -p http "${OK[@]}"
check ports-missing 1 'ports' scan 198.19.0.1 "${OK[@]}"
check target-prefix 1 '198.19.0.0/33' scan 198.19.0.0/33 -p 80 "${OK[@]}"
check target-octet 1 '198.19.0.256' scan 198.19.0.256 -p 80 "${OK[@]}"
check target-range-reversed 1 '198.19.0.9-198.19.0.1' scan 198.19.0.9-198.19.0.1 -p 80 "${OK[@]}"
check target-junk 1 'example' scan example -p 80 "${OK[@]}"
check target-file-line 1 'bad-targets.txt:2' scan -iL "$WORK/bad-targets.txt" -p 80 "${OK[@]}"
check target-file-missing 1 "$WORK/nope.txt" scan -iL "$WORK/nope.txt" -p 80 "${OK[@]}"
check target-file-empty 1 'no targets left' scan -iL "$WORK/empty-targets.txt" -p 80 "${OK[@]}"
check no-targets 1 'no targets' scan -p 80 "${OK[@]}"
check all-blocklisted 1 'no targets left' scan 10.0.0.0/8 -p 80 --vdev net_null0 --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02 --no-db
check exclude-bad 1 '1.2.3' scan 198.19.0.0/24 -p 80 --exclude 1.2.3 "${OK[@]}"
check blocklist-missing 1 "$WORK/none.conf" scan 198.19.0.1 -p 80 --vdev net_null0 --blocklist "$WORK/none.conf" --no-db
check near-full-no-exclusion 1 'more than 2^30' scan 0.0.0.0/0 -p 80 "${OK[@]}"
check rate-junk 1 '"fast"' scan 198.19.0.1 -p 80 --rate fast "${OK[@]}"
check rate-negative 1 '"-5"' scan 198.19.0.1 -p 80 --rate=-5 "${OK[@]}"
check rate-mode 1 '"turbo"' scan 198.19.0.1 -p 80 --rate-mode turbo "${OK[@]}"
check shard-out-of-range 1 '"2/2"' scan 198.19.0.1 -p 80 --shard 2/2 "${OK[@]}"
check shard-zero 1 '"0/0"' scan 198.19.0.1 -p 80 --shard 0/0 "${OK[@]}"
check shard-junk 1 '"a/b"' scan 198.19.0.1 -p 80 --shard a/b "${OK[@]}"
check source-ip 1 '"198.18.0"' scan 198.19.0.1 -p 80 --source-ip 198.18.0 --vdev net_null0 --no-db
check source-port-range 1 '"70000-1"' scan 198.19.0.1 -p 80 --source-port 70000-1 "${OK[@]}"
check gateway-mac 1 '"02:00:00"' scan 198.19.0.1 -p 80 --vdev net_null0 --source-ip 198.18.0.1 --gateway-mac 02:00:00 --no-db
check gateway-ip 1 '"999.1.1.1"' scan 198.19.0.1 -p 80 --gateway-ip 999.1.1.1 "${OK[@]}"
check wait-junk 1 '"soon"' scan 198.19.0.1 -p 80 --wait soon "${OK[@]}"
check retries-junk 1 '"-1"' scan 198.19.0.1 -p 80 --retries=-1 "${OK[@]}"
check seed-junk 1 '"0x12"' scan 198.19.0.1 -p 80 --seed 0x12 "${OK[@]}"
check show-junk 1 '"everything"' scan 198.19.0.1 -p 80 --show everything "${OK[@]}"
check tcp-options 1 '"linux"' scan 198.19.0.1 -p 80 --tcp-options linux "${OK[@]}"
check tx-cores 1 'tx-cores' scan 198.19.0.1 -p 80 --tx-cores 0 "${OK[@]}"
check no-such-interface 1 '"ws-nonexistent0"' scan 198.19.0.1 -p 80 --interface ws-nonexistent0 --source-ip 198.18.0.1 --no-db --blocklist /dev/null
check no-port-source 1 'no port' scan 198.19.0.1 -p 80 --source-ip 198.18.0.1 --no-db --blocklist /dev/null
check unknown-flag 1 '--frobnicate' scan 198.19.0.1 -p 80 --frobnicate "${OK[@]}"
check unknown-subcommand 1 'frob' frob
check db-uncreatable 2 '/nonexistent-dir/x.db' scan 198.19.0.1 -p 80 --vdev net_null0 --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02 --blocklist /dev/null --db /nonexistent-dir/x.db --wait 0
check reflect-hosts 1 '198.19.0.0/40' reflect --hosts 198.19.0.0/40 --print-truth --truth-ports 80 --vdev net_null0
