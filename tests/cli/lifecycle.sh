#!/usr/bin/env bash
# A scan's life from the outside, on net_null (sends nowhere): every file is
# opened before the first packet and a bad one ends the scan cleanly (no
# signal, one line naming it, no `running` row); write errors reach the exit
# code and the scans row; one scan per database; --resume applies and records
# the options that may change and refuses, by name, those that would make it
# another scan; a scan killed in its first second resumes; rate caps are caps;
# no run leaves its EAL runtime directory behind.
# Prints PASS/FAIL lines. Usage: tests/cli/lifecycle.sh WIRESPEED_BINARY
set -uo pipefail
WS=$(realpath "${1:?usage: $0 WIRESPEED_BINARY}")
WORK=$(mktemp -d /tmp/ws-life-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
NULL=(--vdev net_null0,no-rx=1 --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02 --blocklist /dev/null)

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

# NAME EXPECTED_CODE NEEDLE ARGS...: exit code, at most 3 stderr lines, the needle named.
expect() {
  local name=$1 code=$2 needle=$3; shift 3
  timeout -k 5 60 "$WS" "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  if [[ $rc -ne $code ]]; then fail "$name" "exit $rc, expected $code: $(head -c 300 "$WORK/err")"; return 1; fi
  if (($(grep -vc '^wirespeed: \(complete\|failed\|interrupted\|stopped\) in' "$WORK/err") > 3)); then
    fail "$name" "more than 3 lines on stderr: $(head -c 300 "$WORK/err")"; return 1
  fi
  if [[ -n $needle ]] && ! grep -qF -- "$needle" "$WORK/err"; then fail "$name" "stderr does not name '$needle': $(head -c 300 "$WORK/err")"; return 1; fi
  return 0
}

row_status() { sqlite3 "$1" "SELECT group_concat(status) FROM scans" 2>/dev/null; }
# Until the scan's first checkpoint is committed (EAL start-up can take seconds on a loaded machine), 60 s at most.
wait_checkpoint() {
  for _ in $(seq 600); do
    [[ $(sqlite3 "$1" "SELECT count(*) FROM checkpoints" 2>/dev/null) == 1 ]] && return 0
    sleep 0.1
  done
  return 1
}

# --- every file a scan writes: a path that cannot be opened fails before the
# first packet, exit 2, one line naming it, and the database row (if any) is not `running`.
for opt in --status-file --metadata -oL -oJ -oC -oX -oG; do
  db="$WORK/open$opt.db"
  if expect "open-fails$opt" 2 "/nonexistent/f" scan 198.19.0.0/28 -p 80 "${NULL[@]}" --wait 0 --db "$db" -q "$opt" /nonexistent/f; then
    st=$(row_status "$db")
    if [[ $st == *running* ]]; then fail "open-fails$opt" "scans row left '$st'"; else pass "open-fails$opt"; fi
  fi
done
expect db-dir-missing 2 "/nonexistent/x.db" scan 198.19.0.0/28 -p 80 "${NULL[@]}" --wait 0 --db /nonexistent/x.db -q &&
  pass db-dir-missing
# The original crash: --no-db, a status file in a missing directory.
expect status-file-no-db 2 "/nonexistent/s.ndjson" scan 198.19.0.0/28 -p 80 "${NULL[@]}" --wait 0 --no-db -oL /dev/null \
  --status-file /nonexistent/s.ndjson && pass status-file-no-db

# --- write errors: exit 2, the file named, the scans row `failed`.
# (net_null has no replies: -oJ writes nothing, so it is covered by the resume case below.)
for opt in --metadata --status-file -oL -oC -oX -oG; do
  db="$WORK/full$opt.db"
  if expect "write-error$opt" 2 "/dev/full" scan 198.19.0.0/28 -p 80 "${NULL[@]}" --wait 1.2 --db "$db" -q "$opt" /dev/full; then
    st=$(row_status "$db")
    if [[ $st == failed ]]; then pass "write-error$opt"; else fail "write-error$opt" "scans row '$st', expected failed"; fi
  fi
done

# --- one scan per database: a second scan (or resume) is refused naming the first's pid.
db="$WORK/lock.db"
"$WS" scan 198.19.0.0/16 -p 1-1000 "${NULL[@]}" --rate 20000 --wait 0 --db "$db" -q 2>/dev/null &
first=$!
pids+=("$first")
wait_checkpoint "$db" || fail lock-second-scan "the first scan never committed a checkpoint"
expect lock-second-scan 2 "in use by another scan (pid $first)" scan 198.19.0.0/28 -p 80 "${NULL[@]}" --wait 0 --db "$db" -q &&
  pass lock-second-scan
expect lock-resume 2 "in use by another scan (pid $first)" scan --resume "$db" -q && pass lock-resume

# --- a scan killed in its first second still resumes (the first checkpoint is committed at start).
kill -9 "$first"
wait "$first" 2>/dev/null
[[ $(row_status "$db") == running ]] || fail killed-early "row '$(row_status "$db")', expected running"
if expect resume-killed-early 3 "" scan --resume "$db" -q --max-runtime 0.3; then
  pass resume-killed-early
fi

# --- --resume: options that may change apply and are recorded; others are refused by name.
cfg=$(sqlite3 "$db" "SELECT config FROM scans")
if [[ $cfg == *'"--max-runtime","0.3"'* && $cfg == *'"--rate","20000"'* ]]; then pass resume-records-options
else fail resume-records-options "scans.config is $cfg"; fi
rm -f "$WORK/m.json"
if expect resume-applies-rate 3 "" scan --resume "$db" -q --rate 5 --max-runtime 1 --metadata "$WORK/m.json"; then
  sent=$(sqlite3 "$db" "SELECT sent FROM scans")
  cfg=$(sqlite3 "$db" "SELECT config FROM scans")
  if grep -q '"rate_cap":5,' "$WORK/m.json" && ((sent <= 20)) && [[ $cfg == *'"--rate","5"'* && $cfg != *20000* ]]; then
    pass resume-applies-rate
  else fail resume-applies-rate "metadata $(head -c 200 "$WORK/m.json"), sent $sent, scans.config $cfg"; fi
fi
for change in "-p 1-2000:--ports" "--seed 9:--seed" "--shard 0/2:--shard" "--retries 1:--retries" "--source-ip 198.18.0.9:--source-ip" \
              "--exclude 198.19.0.1:--exclude" "--blocklist $WORK/none.conf:--blocklist" "198.19.0.0/24:targets" "--tx-cores 2:--tx-cores" \
              "--ping:--ping" "--nmap-payloads $WORK/payloads:--nmap-payloads"; do
  args=${change%%:*}
  name=${change##*:}
  # shellcheck disable=SC2086
  expect "resume-refuses$name" 1 "$name" scan --resume "$db" -q $args && pass "resume-refuses$name"
done
# (a PORT:HEX value holds a colon, so not in the list above)
expect resume-refuses--udp-payload 1 '--udp-payload "53:00" would make it another scan' scan --resume "$db" -q --udp-payload 53:00 &&
  pass resume-refuses--udp-payload

# Resume replays the committed results into recreated outputs: a write error
# there fails the resumed scan too (a killed scan with two results in its database).
db="$WORK/replay.db"
"$WS" scan 198.19.0.0/16 -p 1-1000 "${NULL[@]}" --rate 20000 --wait 0 --db "$db" -q 2>/dev/null &
victim=$!
pids+=("$victim")
wait_checkpoint "$db" || fail resume-write-error "the scan never committed a checkpoint"
kill -9 "$victim"
wait "$victim" 2>/dev/null
sqlite3 "$db" "INSERT INTO results(scan_id, ip, port, proto, state, reason, ttl, window, seen_at)
               VALUES(1, '198.19.0.1', 80, 'tcp', 'open', 'syn-ack', 64, 1024, 1.0), (1, '198.19.0.2', 80, 'tcp', 'open', 'syn-ack', 64, 1024, 1.0)"
for opt in -oJ -oL -oC; do
  sqlite3 "$db" ".backup '$WORK/replay$opt.db'" # the WAL's content too
  if expect "resume-write-error$opt" 2 "/dev/full" scan --resume "$WORK/replay$opt.db" -q --max-runtime 0.2 "$opt" /dev/full; then
    st=$(row_status "$WORK/replay$opt.db")
    if [[ $st == failed ]]; then pass "resume-write-error$opt"; else fail "resume-write-error$opt" "scans row '$st'"; fi
  fi
done

# --- rates: a cap below 1 pps is refused, never turned into 0 (= unlimited).
for r in 0.4 1e-9 -0 0.0001k; do
  expect "rate-below-one[$r]" 1 "\"$r\"" scan 198.19.0.0/28 -p 80 "${NULL[@]}" --no-db --rate="$r" && pass "rate-below-one[$r]"
done
# --rate 2 on 4 probes: adaptive mode holds the cap (under its 1000 pps floor): about 2 s, never instant.
start=$(date +%s%N)
timeout 30 "$WS" scan 198.19.0.0/30 -p 80 "${NULL[@]}" --no-db --wait 0 -q --rate 2 2>/dev/null
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if ((elapsed_ms >= 1000)); then pass rate-two-is-a-cap; else fail rate-two-is-a-cap "4 probes at --rate 2 took ${elapsed_ms} ms"; fi

# --- no run leaves its EAL runtime directory behind.
before=$(ls /var/run/dpdk 2>/dev/null | grep -c '^wirespeed-')
"$WS" scan 198.19.0.0/28 -p 80 "${NULL[@]}" --no-db --wait 0 -q 2>/dev/null
"$WS" scan 198.19.0.0/28 -p 80 --vdev net_nosuchpmd0 --source-ip 198.18.0.1 --no-db -q 2>/dev/null
after=$(ls /var/run/dpdk 2>/dev/null | grep -c '^wirespeed-')
if ((after <= before)); then pass eal-runtime-dir-removed; else fail eal-runtime-dir-removed "$before -> $after directories"; fi
