#!/usr/bin/env bash
# --config, --echo and plan: the echo round trip (echo -> --config gives the
# same probes in the same order, and echoes back byte for byte), flags over
# file values, the shipped config/*.toml, and bad config files (exit 1, at most
# three stderr lines naming the path, line and key). Nothing here sends a
# packet: plan never starts DPDK; the one scan goes into net_null.
set -uo pipefail
WS=$(realpath "${1:?usage: $0 WIRESPEED_BINARY}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"   # the shipped configs name paths relative to the repository root
WORK=$(mktemp -d /tmp/ws-config-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
run() { timeout 60 "$WS" "$@"; }
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; }

# ---- echo round trip: plan FLAGS --list == plan --config <(plan FLAGS --echo) --list
roundtrip() { # NAME FLAGS...
  local name=$1; shift
  if ! run plan "$@" --echo > "$WORK/a.toml" 2>"$WORK/err"; then fail "roundtrip $name: --echo failed: $(head -1 "$WORK/err")"; return; fi
  run plan "$@" --list 1000 > "$WORK/flags.list" 2>"$WORK/err" || { fail "roundtrip $name: plan --list failed: $(head -1 "$WORK/err")"; return; }
  run plan --config "$WORK/a.toml" --list 1000 > "$WORK/config.list" 2>"$WORK/err" || { fail "roundtrip $name: plan --config failed: $(head -1 "$WORK/err")"; return; }
  if ! [[ -s $WORK/flags.list ]]; then fail "roundtrip $name: empty list"; return; fi
  if ! cmp -s "$WORK/flags.list" "$WORK/config.list"; then fail "roundtrip $name: --config of the echo gives other probes"; return; fi
  run plan --config "$WORK/a.toml" --echo > "$WORK/b.toml" 2>/dev/null
  if ! cmp -s "$WORK/a.toml" "$WORK/b.toml"; then fail "roundtrip $name: echo of the echo differs: $(diff "$WORK/a.toml" "$WORK/b.toml" | sed -n 2p)"; return; fi
  run plan "$@" > "$WORK/flags.plan" 2>/dev/null; run plan --config "$WORK/a.toml" > "$WORK/config.plan" 2>/dev/null
  if ! cmp -s "$WORK/flags.plan" "$WORK/config.plan"; then fail "roundtrip $name: plan summaries differ"; return; fi
  pass "roundtrip $name ($(wc -l < "$WORK/flags.list") probes, echo stable)"
}
B=(--blocklist /dev/null)
roundtrip seed 198.19.0.0/16 -p 22,80,443 --seed 42 "${B[@]}"
roundtrip shard 198.19.0.0/16 -p 1-1024 --seed 7 --shard 2/5 "${B[@]}"
roundtrip big-seed 198.19.0.0/20 198.19.64.0/24 -p 80,443 --seed 18446744073709551615 --shard 1/3 "${B[@]}"
roundtrip excludes 198.19.0.0/22 -p 22 --seed 5 --exclude 198.19.0.0/28 --exclude 198.19.1.7 "${B[@]}"
printf '198.19.8.0/26\n# comment\n198.19.9.1-198.19.9.40\n' > "$WORK/targets.txt"
printf '198.19.8.0/30\n' > "$WORK/skip.txt"
roundtrip files -iL "$WORK/targets.txt" --excludefile "$WORK/skip.txt" -p 8080 --seed 9 "${B[@]}"
roundtrip default-blocklist 198.19.0.0/16 192.0.2.0/24 100.64.0.0/24 1.2.3.0/24 -p 443 --seed 11
roundtrip lots-of-flags 198.19.0.0/24 -p - --seed 3 --shard 0/2 --rate 1.5M --rate-mode fixed --retries 2 --retry-delay 0.5 \
  --wait 0 --source-ip 198.18.0.1 --source-port 41000-42000 --gateway-mac 02:00:00:00:00:02 --tcp-options os-like --send-reset \
  --show closed -oL x.list -oJ x.json --no-db --vdev net_null0,no-rx=1 --tx-cores 2 --rx-cores 2 -vv --max-runtime 60 \
  --min-hitrate 0.001 --max-results 10 --status-json "${B[@]}"
roundtrip plain-quiet 198.19.0.0/24 -p 80 --seed 0 -q "${B[@]}"
printf 'udp 53,161 "\\x01\\x02"\nudp 7 "x"\n' > "$WORK/payloads"
roundtrip ping-udp 198.19.0.0/24 -p 80,443,U:53,123,161 --seed 4 --ping --nmap-payloads "$WORK/payloads" --udp-payload 53:0001 \
  --udp-payload 161:0a --udp-payload 123:E3000000 "${B[@]}"

# ---- --ping, --nmap-payloads, --udp-payload in --echo: defaults, values, a config file's
echo_has() { # NAME FILE LINE...
  local name=$1 file=$2; shift 2
  for line in "$@"; do
    grep -qxF -- "$line" "$file" || { fail "$name: --echo lacks '$line'"; return; }
  done
  pass "$name"
}
run plan 198.19.0.1 -p 80 "${B[@]}" --seed 1 --echo > "$WORK/d.toml" 2>/dev/null
echo_has echo-new-defaults "$WORK/d.toml" 'ping = false' 'nmap-payloads = "/usr/share/nmap/nmap-payloads"' 'udp-payload = []'
run plan 198.19.0.1 -p 80 "${B[@]}" --seed 1 --ping --nmap-payloads /tmp/p --udp-payload 53:00 --udp-payload 161:30 --echo > "$WORK/n.toml" 2>/dev/null
echo_has echo-new-values "$WORK/n.toml" 'ping = true' 'nmap-payloads = "/tmp/p"' 'udp-payload = ["53:00", "161:30"]'
printf 'ports = "80"\ntargets = ["198.19.0.1"]\nblocklist = "/dev/null"\nseed = 1\nping = true\nudp-payload = "53:00"\nnmap-payloads = "x"\n' > "$WORK/new.toml"
run plan --config "$WORK/new.toml" --echo > "$WORK/f.toml" 2>/dev/null
echo_has config-new-keys "$WORK/f.toml" 'ping = true' 'nmap-payloads = "x"' 'udp-payload = ["53:00"]'
run plan --config "$WORK/new.toml" --udp-payload 7:ff --echo > "$WORK/g.toml" 2>/dev/null
echo_has override-udp-payload "$WORK/g.toml" 'udp-payload = ["7:ff"]'
run plan --config "$WORK/new.toml" --udp-payload 7:0xff --echo > "$WORK/h.toml" 2>/dev/null # 0x in front, as the core parser takes it
echo_has udp-payload-0x "$WORK/h.toml" 'udp-payload = ["7:0xff"]'
# each --udp-payload takes one value: a target after it stays a target
if [[ $(run plan --udp-payload 53:00 198.19.0.7 -p 80,U:53 "${B[@]}" --list 5 2>&1 | sort | tr '\n' ' ') == "tcp:198.19.0.7:80 udp:198.19.0.7:53 " ]]; then pass "udp-payload takes one value per flag"
else fail "udp-payload takes one value per flag: $(run plan --udp-payload 53:00 198.19.0.7 -p 80,U:53 "${B[@]}" --list 5 2>&1 | head -1)"; fi
# --ping without ports passes the command line's "no ports" check (a ping-only scan)
if run plan 198.19.0.1 --ping "${B[@]}" --seed 1 --echo > "$WORK/p.toml" 2>"$WORK/err" && grep -qx 'ports = ""' "$WORK/p.toml"; then
  pass "ping without ports passes the CLI"
else fail "ping without ports: $(head -1 "$WORK/err")"; fi

# ---- no --seed: --echo writes a concrete seed; its config repeats the order; it equals --seed S
if run plan 198.19.0.0/16 -p 80 "${B[@]}" --echo > "$WORK/r.toml" 2>/dev/null &&
   seed=$(sed -nE 's/^seed = "?([0-9]+)"?$/\1/p' "$WORK/r.toml") && [[ -n $seed ]]; then
  run plan --config "$WORK/r.toml" --list 500 > "$WORK/r1"; run plan --config "$WORK/r.toml" --list 500 > "$WORK/r2"
  run plan 198.19.0.0/16 -p 80 "${B[@]}" --seed "$seed" --list 500 > "$WORK/r3"
  if cmp -s "$WORK/r1" "$WORK/r2" && cmp -s "$WORK/r1" "$WORK/r3" && [[ -s $WORK/r1 ]]; then pass "echo without --seed draws seed $seed once"
  else fail "echo without --seed: the echoed config does not repeat the order"; fi
else
  fail "echo without --seed: no concrete seed in the output"
fi

# ---- scan --echo prints the same file as plan --echo and sends nothing
if run scan 198.19.0.0/24 -p 80 --seed 1 "${B[@]}" --interface ws-nonexistent0 --echo > "$WORK/s.toml" 2>"$WORK/err" &&
   run plan 198.19.0.0/24 -p 80 --seed 1 "${B[@]}" --interface ws-nonexistent0 --echo > "$WORK/p.toml" 2>/dev/null &&
   cmp -s "$WORK/s.toml" "$WORK/p.toml"; then pass "scan --echo == plan --echo, no port touched"
else fail "scan --echo: $(head -1 "$WORK/err")"; fi

# ---- flags override file values
cat > "$WORK/base.toml" <<'TOML'
targets = ["198.19.0.0/24"]
ports = 80
blocklist = "/dev/null"
seed = 5
rate = "250k"
exclude = ["198.19.0.0/25"]
TOML
expect_same() { # NAME CONFIG_ARGS -- FLAG_ARGS
  local name=$1; shift; local a=() ; while [[ $1 != -- ]]; do a+=("$1"); shift; done; shift
  run plan "${a[@]}" --list 100000 > "$WORK/o1" 2>"$WORK/err" || { fail "override $name: $(head -1 "$WORK/err")"; return; }
  run plan "$@" --list 100000 > "$WORK/o2" 2>"$WORK/err" || { fail "override $name: $(head -1 "$WORK/err")"; return; }
  if cmp -s "$WORK/o1" "$WORK/o2" && [[ -s $WORK/o1 ]]; then pass "override $name"; else fail "override $name: file value not overridden"; fi
}
expect_same ports --config "$WORK/base.toml" -p 443 -- 198.19.0.0/24 -p 443 --blocklist /dev/null --seed 5 --exclude 198.19.0.0/25
expect_same targets --config "$WORK/base.toml" 198.19.1.0/28 -- 198.19.1.0/28 -p 80 --blocklist /dev/null --seed 5 --exclude 198.19.0.0/25
expect_same seed --config "$WORK/base.toml" --seed 6 -- 198.19.0.0/24 -p 80 --blocklist /dev/null --seed 6 --exclude 198.19.0.0/25
expect_same exclude-replaced --config "$WORK/base.toml" --exclude 198.19.0.200 -- 198.19.0.0/24 -p 80 --blocklist /dev/null --seed 5 --exclude 198.19.0.200
expect_same shard-added --config "$WORK/base.toml" --shard 1/2 -- 198.19.0.0/24 -p 80 --blocklist /dev/null --seed 5 --exclude 198.19.0.0/25 --shard 1/2
if run plan --config "$WORK/base.toml" --rate 1M --echo 2>/dev/null | grep -qx 'rate = "1M"' &&
   run plan --config "$WORK/base.toml" --echo 2>/dev/null | grep -qx 'rate = "250k"'; then pass "override rate in --echo"
else fail "override rate: --echo does not show the flag's value"; fi
if run plan --config "$WORK/base.toml" --list 1000 | grep -q '^198\.19\.0\.\([0-9]\|[0-9][0-9]\|1[01][0-9]\|12[0-7]\):'; then
  fail "file exclude not applied"; else pass "file exclude applied"; fi

# ---- the shipped configs load in plan (from the repository root)
for f in config/*.toml; do
  if run plan --config "$f" > "$WORK/plan.out" 2>"$WORK/err" && grep -q '^seed ' "$WORK/plan.out" &&
     run plan --config "$f" --list 3 > "$WORK/list.out" 2>>"$WORK/err" && [[ $(wc -l < "$WORK/list.out") -eq 3 ]]; then
    pass "$f loads in plan"
  else
    fail "$f: $(head -1 "$WORK/err")"
  fi
done
# bench-null goes into DPDK's null device only: a tiny run proves the scan side reads the file.
if [[ $(id -u) -eq 0 ]]; then
  if timeout 60 "$WS" scan --config config/bench-null.toml 198.19.0.0/28 -p 80 >"$WORK/out" 2>"$WORK/err"; then pass "scan --config config/bench-null.toml (net_null)"
  else fail "scan --config config/bench-null.toml: $(head -1 "$WORK/err")"; fi
fi

# ---- bad config files: exit 1, at most three stderr lines, naming what is wrong
bad() { # NAME NEEDLE... -- ARGS
  local name=$1; shift; local needles=(); while [[ $1 != -- ]]; do needles+=("$1"); shift; done; shift
  timeout 20 "$WS" "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$? lines; lines=$(wc -l < "$WORK/err")
  if ((rc != 1)); then fail "$name: exit $rc, expected 1: $(head -1 "$WORK/err")"; return; fi
  if ((lines > 3)); then fail "$name: $lines lines on stderr"; return; fi
  if [[ -s $WORK/out ]]; then fail "$name: wrote to stdout"; return; fi
  for n in "${needles[@]}"; do
    grep -qF -- "$n" "$WORK/err" || { fail "$name: stderr does not name '$n': $(head -1 "$WORK/err")"; return; }
  done
  pass "$name"
}
printf 'targets = ["198.19.0.0/24"]\nblocklist = "/dev/null"\n\n# ports\nprots = "80"\n' > "$WORK/unknown.toml"
bad unknown-key 'unknown.toml:5:' '"prots"' 'did you mean "ports"' -- plan --config "$WORK/unknown.toml" -p 80
printf 'ports = "80"\ntargets = ["198.19.0.1"]\nretries = [1, 2]\n' > "$WORK/type.toml"
bad wrong-type 'type.toml:3:' '"retries"' 'string or integer' 'array' -- plan --config "$WORK/type.toml"
printf 'ports = "80"\ntargets = ["198.19.0.1", 7]\n' > "$WORK/elem.toml"
bad wrong-element-type 'elem.toml:2:' '"targets"' 'array of strings' -- plan --config "$WORK/elem.toml"
printf 'ports = "80"\nno-db = "yes"\n' > "$WORK/bool.toml"
bad wrong-type-bool 'bool.toml:2:' '"no-db"' 'true or false' -- plan --config "$WORK/bool.toml"
printf 'ports = "80"\ntargets = ["198.19.0.1"\nrate = 5\n' > "$WORK/syntax.toml"
bad syntax-error 'syntax.toml:' -- plan --config "$WORK/syntax.toml"
printf 'ports = "80"\nports = "443"\n' > "$WORK/dup.toml"
bad duplicate-key 'dup.toml:2' -- plan --config "$WORK/dup.toml"
bad unreadable-path 'cannot read config file' "$WORK/none.toml" 'No such file or directory' -- plan --config "$WORK/none.toml"
bad directory-path 'cannot read config file' 'Is a directory' -- plan --config "$WORK"
printf 'ports = "80"\ntargets = ["198.19.0.1"]\nblocklist = "/dev/null"\n\nrate = "fast"\n' > "$WORK/value.toml"
bad bad-value-names-line 'value.toml:5:' '"fast"' -- plan --config "$WORK/value.toml"
printf '[scan]\nports = "80"\n' > "$WORK/table.toml"
bad table 'table.toml:1:' '"scan"' -- plan --config "$WORK/table.toml"
bad scan-unknown-key 'unknown.toml:5:' '"prots"' -- scan --config "$WORK/unknown.toml" -p 80 --vdev net_null0
