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
check reflect-drop-permille 1 '"1001"' reflect --drop-permille 1001 --print-truth --truth-ping --vdev net_null0
check reflect-truth-sctp 1 '"S:80"' reflect --print-truth --truth-ports S:80 --vdev net_null0
check reflect-open-ports-junk 1 '"22,U:"' reflect --open-ports 22,U: --print-truth --truth-ping --vdev net_null0
check reflect-banner-port 1 '"70000"' reflect --banner '70000:hi' --print-truth --truth-ping --vdev net_null0
check reflect-banner-escape 1 'unknown escape' reflect --banner-answer '80:a\q' --print-truth --truth-ping --vdev net_null0
check reflect-banner-fault 1 '"sometimes"' reflect --banner-fault 80:sometimes --print-truth --truth-ping --vdev net_null0
check reflect-truth-nothing 1 'truth-ping' reflect --print-truth --vdev net_null0
check reflect-hosts6 1 '2001:db8::/129' reflect --hosts 198.19.0.0/24,2001:db8::/129 --print-truth --truth-ping --vdev net_null0
check reflect-truth-huge6 1 '2001:db8::/64' reflect --hosts 2001:db8::/64 --print-truth --truth-ping --vdev net_null0
RANGES6=$(for i in $(seq 1 65); do printf '2001:db8:%x::1,' "$i"; done)
check reflect-many-ranges6 1 'more than 64 IPv6 ranges' reflect --hosts "${RANGES6%,}" --print-truth --truth-ping --vdev net_null0

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

# ---- input files: bounded reads, the file and line named, the real cause (issue 8)
head -c 5000 /dev/zero | tr '\0' '1' > "$WORK/longline.txt"; printf '198.19.0.1\n%s\n' "$(cat "$WORK/longline.txt")" > "$WORK/long-line2.txt"
printf '198.19.0.1\n198.19.0.2\n%s\n' "$(head -c 4097 /dev/zero | tr '\0' ' ')" > "$WORK/long-blank3.txt"
printf '%s\n' "$(head -c 4096 /dev/zero | tr '\0' ' ')" '198.19.0.9' > "$WORK/exactly-4096.txt"
printf '198.19.0.0/24\n10.0.0.300\n' > "$WORK/bad-blocklist.txt"
printf '\xff\xfe\x00junk\n' > "$WORK/binary.txt"
printf 'plain\n' > "$WORK/plain-file"
mkfifo "$WORK/fifo"
{ printf '# %s\n' "$(head -c 70000 /dev/zero | tr '\0' 'x')"; printf 'ports = "80"\n'; } > "$WORK/long-line.toml"
{ printf 'ports = "80"\n'; for i in $(seq 1 20); do printf '# %s\n' "$(head -c 60000 /dev/zero | tr '\0' 'x')"; done; } > "$WORK/huge.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nrate = true\n' > "$WORK/rate-bool.toml"
printf 'ports = 1.5\ntargets = "198.19.0.1"\n' > "$WORK/ports-float.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nwait = "soon"\n' > "$WORK/wait-word.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nmin-hitrate = 2\n' > "$WORK/hitrate.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\noutput-list = 5\n' > "$WORK/output-int.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nexcludefile = [1]\n' > "$WORK/excludefile-int.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nseed = -1\n' > "$WORK/seed-negative.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\ndb = []\n' > "$WORK/db-array.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nshard = 3\n' > "$WORK/shard-int.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nblocklist = "%s"\n' "$WORK/none.conf" > "$WORK/blocklist-missing.toml"
printf 'ports = "80"\n\xef\xbb\xbftargets = "198.19.0.1"\nfoo = \x01\n' > "$WORK/control.toml"
printf 'not a database at all, just text that is long enough to look like a header............\n' > "$WORK/text.db"
sqlite3 "$WORK/other.db" 'CREATE TABLE t(x)' 2>/dev/null
check iL-dev-zero 1 '/dev/zero:1: line longer than 4096 bytes' scan -iL /dev/zero -p 80 "${OK[@]}"
check excludefile-dev-zero 1 '/dev/zero:1: line longer than 4096 bytes' scan 198.19.0.0/24 --excludefile /dev/zero -p 80 "${OK[@]}"
check blocklist-dev-zero 1 '/dev/zero:1: line longer than 4096 bytes' scan 198.19.0.1 -p 80 --vdev net_null0 --no-db --blocklist /dev/zero
check config-dev-zero 1 '/dev/zero:1: line longer than 65536 bytes' scan --config /dev/zero "${OK[@]}"
check iL-long-line 1 'long-line2.txt:2: line longer than 4096 bytes' scan -iL "$WORK/long-line2.txt" -p 80 "${OK[@]}"
check iL-long-blank-line 1 'long-blank3.txt:3: line longer than 4096' scan -iL "$WORK/long-blank3.txt" -p 80 "${OK[@]}"
check excludefile-long-line 1 'long-line2.txt:2' scan 198.19.0.0/24 --excludefile "$WORK/long-line2.txt" -p 80 "${OK[@]}"
check blocklist-long-line 1 'long-line2.txt:2' scan 198.19.0.1 -p 80 --vdev net_null0 --no-db --blocklist "$WORK/long-line2.txt"
check iL-long-line-stdin 1 '/dev/stdin:2: line longer than 4096' scan -iL /dev/stdin -p 80 "${OK[@]}" < <(cat "$WORK/long-line2.txt")
check iL-exactly-4096-ok 1 'no targets left' scan -iL "$WORK/exactly-4096.txt" --exclude 198.19.0.9 -p 80 "${OK[@]}"
check iL-binary 1 'binary.txt:1' scan -iL "$WORK/binary.txt" -p 80 "${OK[@]}"
check iL-fifo-no-writer 1 'FIFO' scan -iL "$WORK/fifo" -p 80 "${OK[@]}"
check excludefile-fifo-no-writer 1 "cannot read exclude file \"$WORK/fifo\"" scan 198.19.0.0/24 --excludefile "$WORK/fifo" -p 80 "${OK[@]}"
check blocklist-fifo-no-writer 1 "cannot read blocklist file \"$WORK/fifo\"" scan 198.19.0.1 -p 80 --vdev net_null0 --no-db --blocklist "$WORK/fifo"
check config-fifo-no-writer 1 "cannot read config file \"$WORK/fifo\"" plan --config "$WORK/fifo"
# an endless writer (a second descriptor keeps a writer on the FIFO whatever the race): the first bad line stops it
exec 4<>"$WORK/fifo"; yes 'not-an-address' >&4 2>/dev/null & writer=$!
check iL-endless-fifo 1 'fifo:1: invalid target "not-an-address"' scan -iL "$WORK/fifo" -p 80 "${OK[@]}"
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null; exec 4>&-
check excludefile-directory 1 "cannot read exclude file \"$WORK\": Is a directory" scan 198.19.0.0/24 --excludefile "$WORK" -p 80 "${OK[@]}"
check blocklist-directory 1 "cannot read blocklist file \"$WORK\": Is a directory" scan 198.19.0.1 -p 80 --vdev net_null0 --no-db --blocklist "$WORK"
check iL-not-a-directory 1 'Not a directory' scan -iL "$WORK/plain-file/targets.txt" -p 80 "${OK[@]}"
check excludefile-missing-names-kind 1 'cannot read exclude file' scan 198.19.0.0/16 -p 80 --excludefile "$WORK/skip.txt" "${OK[@]}"
check blocklist-missing-names-kind 1 'cannot read blocklist file' scan 198.19.0.1 -p 80 --vdev net_null0 --blocklist "$WORK/none.conf" --no-db
check blocklist-bad-line 1 'bad-blocklist.txt:2' scan 198.19.0.1 -p 80 --vdev net_null0 --no-db --blocklist "$WORK/bad-blocklist.txt"
check config-long-line 1 'long-line.toml:1: line longer than 65536 bytes' plan --config "$WORK/long-line.toml"
check config-too-large 1 'larger than 1048576 bytes' plan --config "$WORK/huge.toml"
check config-not-a-directory 1 'Not a directory' plan --config "$WORK/plain-file/x.toml"
check config-rate-bool 1 'rate-bool.toml:3: key "rate"' scan --config "$WORK/rate-bool.toml" "${OK[@]}"
check config-ports-float 1 'ports-float.toml:1: key "ports"' plan --config "$WORK/ports-float.toml"
check config-wait-word 1 '"soon"' scan --config "$WORK/wait-word.toml" "${OK[@]}"
check config-min-hitrate 1 'expected a fraction from 0 to 1' scan --config "$WORK/hitrate.toml" "${OK[@]}"
check config-output-int 1 'output-int.toml:3: key "output-list"' scan --config "$WORK/output-int.toml" "${OK[@]}"
check config-excludefile-int 1 'excludefile-int.toml:3: key "excludefile"' plan --config "$WORK/excludefile-int.toml"
check config-seed-negative 1 '"-1"' plan --config "$WORK/seed-negative.toml"
check config-db-array 1 'db-array.toml:3: key "db"' scan --config "$WORK/db-array.toml" "${OK[@]}"
check config-shard-int 1 'shard' plan --config "$WORK/shard-int.toml"
check config-blocklist-missing 1 "cannot read blocklist file \"$WORK/none.conf\"" plan --config "$WORK/blocklist-missing.toml"
check config-control-char 1 'control.toml:' plan --config "$WORK/control.toml"
# ---- --ping, --nmap-payloads, --udp-payload: the shape of PORT:HEX, their config types
printf 'ports = "80"\ntargets = "198.19.0.1"\nping = "yes"\n' > "$WORK/ping-string.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nudp-payload = [53]\n' > "$WORK/udp-int.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nblocklist = "/dev/null"\nudp-payload = ["53:00", "x"]\n' > "$WORK/udp-bad.toml"
printf 'ports = "80"\ntargets = "198.19.0.1"\nnmap-payloads = 5\n' > "$WORK/nmap-int.toml"
check udp-payload-no-colon 1 '"53"' scan 198.19.0.1 -p 80 --udp-payload 53 "${OK[@]}"
check udp-payload-port-zero 1 '"0:00"' scan 198.19.0.1 -p 80 --udp-payload 0:00 "${OK[@]}"
check udp-payload-port-too-big 1 '"70000:00"' scan 198.19.0.1 -p 80 --udp-payload 70000:00 "${OK[@]}"
check udp-payload-port-junk 1 '"dns:00"' scan 198.19.0.1 -p 80 --udp-payload dns:00 "${OK[@]}"
check udp-payload-odd-hex 1 '"53:012"' scan 198.19.0.1 -p 80 --udp-payload 53:012 "${OK[@]}"
check udp-payload-not-hex 1 '"53:0g12"' scan 198.19.0.1 -p 80 --udp-payload 53:0g12 "${OK[@]}"
check udp-payload-empty 1 '"53:"' scan 198.19.0.1 -p 80 --udp-payload 53: "${OK[@]}"
check udp-payload-empty-0x 1 '"53:0x"' scan 198.19.0.1 -p 80 --udp-payload 53:0x "${OK[@]}"
check udp-payload-second-bad 1 '"161:zz"' scan 198.19.0.1 -p 80 --udp-payload 53:00 --udp-payload 161:zz "${OK[@]}"
check udp-payload-says-shape 1 'expected PORT:HEX' plan 198.19.0.1 -p 80 --blocklist /dev/null --udp-payload 53
check ports-missing-without-ping 1 'ports' plan 198.19.0.1 --blocklist /dev/null --nmap-payloads /dev/null
check config-ping-string 1 'ping-string.toml:3: key "ping" must be true or false, not a string' plan --config "$WORK/ping-string.toml"
check config-udp-payload-int 1 'udp-int.toml:3: key "udp-payload" must be an array of strings' plan --config "$WORK/udp-int.toml"
check config-udp-payload-bad 1 'udp-bad.toml:4: invalid --udp-payload "x"' plan --config "$WORK/udp-bad.toml"
check config-nmap-payloads-int 1 'nmap-int.toml:3: key "nmap-payloads" must be a string, not an integer' plan --config "$WORK/nmap-int.toml"

check min-hitrate-says-fraction 1 'expected a fraction from 0 to 1' scan 198.19.0.1 -p 80 --min-hitrate 1.5 "${OK[@]}"
check min-hitrate-junk 1 '"often"' scan 198.19.0.1 -p 80 --min-hitrate often "${OK[@]}"

# ---- databases read by export, merge and --resume: the real cause, not a guess
check export-missing-db 1 "cannot open database \"$WORK/none.db\"" export "$WORK/none.db" -o "$WORK/x.json"
check export-directory-db 1 'is a directory' export "$WORK" -o "$WORK/x.json"
check export-text-file 1 'file is not a database' export "$WORK/text.db" -o "$WORK/x.json"
check export-other-sqlite 1 'not a wirespeed database' export "$WORK/other.db" -o "$WORK/x.json"
check export-bad-format 1 '"yaml"' export "$WORK/other.db" -o "$WORK/x.json" --format yaml
check export-bad-scan-id 1 '"two"' export "$WORK/other.db" -o "$WORK/x.json" --scan two
check resume-missing-db 1 "cannot open database \"$WORK/none.db\": No such file or directory" scan --resume "$WORK/none.db"
check resume-text-file 1 'file is not a database' scan --resume "$WORK/text.db"
check resume-other-sqlite 1 'not a wirespeed database' scan --resume "$WORK/other.db"
check merge-text-file 1 'file is not a database' merge "$WORK/text.db" -o "$WORK/m.db"
