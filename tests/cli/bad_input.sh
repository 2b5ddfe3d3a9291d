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
printf '198.19.0.1\n\n198.19.0.2 junk.example\n' > "$WORK/junk-line3.txt"
printf '198.19.0.0/24\n198.19.300.0/24\n' > "$WORK/bad-exclude.txt"
printf 'targets = ["198.19.0.0/24"]\nprots = "80"\n' > "$WORK/unknown-key.toml"
printf 'targets = ["198.19.0.0/24"]\nports = "80"\nretries = [1]\n' > "$WORK/wrong-type.toml"
printf 'ports = "80"\nsend-reset = 1\n' > "$WORK/wrong-bool.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nrate = = 5\n' > "$WORK/syntax.toml"
printf 'ports = "0"\ntargets = "198.19.0.1"\n' > "$WORK/port-zero.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nrate = "fast"\n' > "$WORK/bad-rate.toml"
printf 'ports = "80"\ntx-cores = 0\n' > "$WORK/tx-cores.toml"
printf 'ports = "80"\nverbose = -2\n' > "$WORK/verbose.toml"
printf '[scan]\nports = "80"\n' > "$WORK/table.toml"

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

# plan's --list, config files (see also tests/cli/config.sh), more values out of range
check plan-list-junk 1 '"abc"' plan 198.19.0.1 -p 80 --blocklist /dev/null --list abc
check plan-list-negative 1 '"-3"' plan 198.19.0.1 -p 80 --blocklist /dev/null --list=-3
check plan-list-no-value 1 'list' plan 198.19.0.1 -p 80 --blocklist /dev/null --list
check plan-no-ports 1 'ports' plan 198.19.0.1 --blocklist /dev/null
check plan-unknown-flag 1 '--frobnicate' plan 198.19.0.1 -p 80 --frobnicate
check plan-all-blocklisted 1 'no targets left' plan 10.0.0.0/8 -p 80
check echo-bad-value 1 '"fast"' plan 198.19.0.1 -p 80 --rate fast --echo
check config-unknown-key 1 'did you mean "ports"' scan --config "$WORK/unknown-key.toml" "${OK[@]}"
check config-wrong-type 1 'wrong-type.toml:3: key "retries" must be a string or integer, not an array' scan --config "$WORK/wrong-type.toml" "${OK[@]}"
check config-wrong-bool 1 'wrong-bool.toml:2: key "send-reset"' scan 198.19.0.1 --config "$WORK/wrong-bool.toml" "${OK[@]}"
check config-syntax 1 'syntax.toml:3' plan --config "$WORK/syntax.toml"
check config-missing 1 "cannot read config file \"$WORK/nope.toml\": No such file or directory" scan --config "$WORK/nope.toml" "${OK[@]}"
check config-directory 1 'Is a directory' plan --config "$WORK"
check config-table 1 'table.toml:1: unknown key "scan"' plan --config "$WORK/table.toml"
check config-port-zero 1 'port-zero.toml:1: invalid port "0"' plan --config "$WORK/port-zero.toml" --blocklist /dev/null
check config-bad-rate 1 'bad-rate.toml:3:' scan --config "$WORK/bad-rate.toml" "${OK[@]}"
check config-tx-cores 1 'tx-cores.toml:2: key "tx-cores"' scan 198.19.0.1 --config "$WORK/tx-cores.toml" "${OK[@]}"
check config-verbose 1 'verbose.toml:2: key "verbose"' plan 198.19.0.1 --config "$WORK/verbose.toml"
check config-twice 1 'config' plan --config "$WORK/port-zero.toml" --config "$WORK/bad-rate.toml"
check target-file-junk-line 1 'junk-line3.txt:3' scan -iL "$WORK/junk-line3.txt" -p 80 "${OK[@]}"
check target-file-directory 1 'cannot read target file' scan -iL "$WORK" -p 80 "${OK[@]}"
check excludefile-bad-line 1 'bad-exclude.txt:2' scan 198.19.0.0/16 -p 80 --excludefile "$WORK/bad-exclude.txt" "${OK[@]}"
check excludefile-missing 1 "$WORK/skip.txt" scan 198.19.0.0/16 -p 80 --excludefile "$WORK/skip.txt" "${OK[@]}"
check port-open-range 1 '80-' scan 198.19.0.1 -p 80- "${OK[@]}"
check port-negative 1 '"-5"' scan 198.19.0.1 --ports=-5 "${OK[@]}"
check ports-no-value 1 'ports' scan 198.19.0.1 "${OK[@]}" -p
check target-cidr-junk 1 '198.19.0.0/x' scan 198.19.0.0/x -p 80 "${OK[@]}"
check shard-negative 1 '"-1/2"' scan 198.19.0.1 -p 80 --shard=-1/2 "${OK[@]}"
check shard-no-slash 1 '"3"' scan 198.19.0.1 -p 80 --shard 3 "${OK[@]}"
check shard-huge 1 '"0/99999999999"' scan 198.19.0.1 -p 80 --shard 0/99999999999 "${OK[@]}"
check rate-too-big 1 '"20000M"' scan 198.19.0.1 -p 80 --rate 20000M "${OK[@]}"
check rate-empty 1 'rate' scan 198.19.0.1 -p 80 --rate '' "${OK[@]}"
check retries-too-many 1 '"101"' scan 198.19.0.1 -p 80 --retries 101 "${OK[@]}"
check wait-too-long 1 '"4000"' scan 198.19.0.1 -p 80 --wait 4000 "${OK[@]}"
check min-hitrate-range 1 '"1.5"' scan 198.19.0.1 -p 80 --min-hitrate 1.5 "${OK[@]}"
check max-runtime-junk 1 '"1h"' scan 198.19.0.1 -p 80 --max-runtime 1h "${OK[@]}"
check seed-too-big 1 '"18446744073709551616"' scan 198.19.0.1 -p 80 --seed 18446744073709551616 "${OK[@]}"
check tx-cores-too-many 1 'tx-cores' scan 198.19.0.1 -p 80 --tx-cores 65 "${OK[@]}"
check source-port-reversed 1 '"2000-1000"' scan 198.19.0.1 -p 80 --source-port 2000-1000 "${OK[@]}"
check xdp-without-interface 1 '--xdp' scan 198.19.0.1 -p 80 --xdp "${OK[@]}"
check two-port-sources 1 'only one' scan 198.19.0.1 -p 80 "${OK[@]}" --pci 0000:03:00.0
check no-subcommand 1 'subcommand'
