#!/usr/bin/env bash
# Sets everything up and runs every suite: unit tests, the hermetic data-plane
# tests, the unit tests again under ASan+UBSan, a bounded fuzz smoke of every
# parser, CLI error checks, and the lab end-to-end scans. The last line is
# "N passed, N failed" summed over all suites; the exit code is non-zero on
# any failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# Ten parsers: 4 s each keeps the whole suite near CI's budget (20 min on
# 2 cores); fuzz longer by hand with FUZZ_SECONDS.
FUZZ_SECONDS=${FUZZ_SECONDS:-4}
# Debian's python3 (installed by setup.sh) first: the lab and CLI tests start
# it hundreds of times, and a version manager's shim in front of it (pyenv)
# costs a fraction of a second per start, seconds under load.
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
passed=0
failed=0
failures=()

log() { printf '\n=== %s (at %ds)\n' "$*" "$SECONDS"; }
count() { # SUITE PASSED FAILED
  passed=$((passed + $2))
  failed=$((failed + $3))
  ((${3} == 0)) || failures+=("$1 ($3)")
  echo "--- $1: $2 passed, $3 failed"
}
finish() {
  ((${#failures[@]})) && echo "failed suites: ${failures[*]}"
  echo "$passed passed, $failed failed"
  ((failed == 0))
  exit $?
}

log "setup"
if ! ./scripts/setup.sh; then count setup 0 1; finish; fi

# gtest binary -> counts from its JSON report (a crash counts as one failure).
run_gtest() { # SUITE BINARY [ARGS...]
  local suite=$1 bin=$2; shift 2
  local report; report=$(mktemp /tmp/ws-gtest-XXXXXX.json)
  timeout -k 10 600 "$bin" --gtest_output="json:$report" "$@"
  local rc=$?
  local counts
  counts=$(python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1])); print(d["tests"] - d["failures"] - d.get("disabled", 0), d["failures"])
except Exception:
    print(0, 0)' "$report")
  rm -f "$report"
  set -- $counts
  local ok=$1 bad=$2
  if ((rc != 0 && bad == 0)); then bad=1; fi
  count "$suite" "$ok" "$bad"
}

build() { # DIR MESON_ARGS...
  local dir=$1; shift
  if [[ ! -f $dir/build.ninja ]]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -40 "$dir.build.log"; return 1; }
}

# A script printing PASS:/FAIL: lines -> its failures, and counts.
run_script() { # SUITE DESCRIPTION SCRIPT ARGS...
  local suite=$1 what=$2 out; shift 2
  log "$what"
  out=$("$@")
  echo "$out" | grep '^FAIL' || true
  count "$suite" "$(echo "$out" | grep -c '^PASS')" "$(echo "$out" | grep -c '^FAIL')"
}

mkdir -p build
# Debian's nmap-service-probes: the plain unit tests compile its Hyperscan
# databases (~25 s of CPU) into this cache and the ASan run loads them back
# (compiling them under ASan costs ~5 min of CPU). Fresh on every run.
rm -rf build/service-cache
export WS_SERVICE_TEST_CACHE="$ROOT/build/service-cache"
log "build (gcc, -Werror)"
if build build/main --werror --buildtype=debugoptimized; then
  log "unit tests"
  run_gtest unit build/main/tests/unit_tests
  log "hermetic data-plane tests (net_ring pair, in-process reflector)"
  run_gtest dataplane build/main/tests/dataplane/dataplane_tests
  log "interface lookups (addresses, default routes: /proc parsers, a fresh namespace)"
  run_gtest net-info build/main/tests/dataplane/net_info_tests
  WS=build/main/src/app/wirespeed
  run_script cli "CLI: bad input gives one line naming the value" tests/cli/bad_input.sh "$WS"
  run_script cli-config "CLI: config files, --echo round trip, plan" tests/cli/config.sh "$WS"
  run_script cli-docs "CLI: every option documented in docs/USAGE.md and docs/wirespeed.1" tests/cli/docs_in_step.sh "$WS"
  run_script cli-lifecycle "CLI: a scan's life: files opened before the first packet, write errors, one scan per database, resume rules, rate caps" \
    tests/cli/lifecycle.sh "$WS"
  run_script cli-files "CLI: files: collisions refused, write errors reach the exit code (/dev/full)" tests/cli/file_errors.sh "$WS"
  run_script cli-fail-open "CLI: a file that cannot be opened (LD_PRELOAD failopen.so) gives a clean error" \
    tests/cli/fail_open.sh "$WS" build/main/tests/cli/failopen.so
  log "lab end-to-end (namespaces, veth, real kernel TCP)"
  out=$(tests/lab/run.sh build/main/src/app/wirespeed 2>&1)
  echo "$out"
  count lab "$(echo "$out" | grep -c '^PASS')" "$(echo "$out" | grep -c '^FAIL')"
else
  count build 0 1
fi

log "ASan + UBSan build of the pure core"
# -O1: the sanitized builds compile about a third faster than at -O2 and
# still catch what they are for; CI's 2 cores spend most of the suite compiling.
if build build/asan -Db_ndebug=false -Db_sanitize=address,undefined -Db_lundef=false -Ddataplane=false -Dperf=false \
     -Doptimization=1; then
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_gtest unit-asan build/asan/tests/unit_tests
else
  count asan-build 0 1
fi

log "fuzz smoke (libFuzzer, ${FUZZ_SECONDS}s per parser)"
if CXX=clang++ build build/fuzz -Dfuzz=true -Ddataplane=false -Dperf=false -Dtests=false -Doptimization=1; then
  for target in targets ports protocol_ports reply target_file udp_payloads reflect service_probes tcp_stream service_match; do
    work=$(mktemp -d /tmp/ws-fuzz-XXXXXX)
    cp -r "tests/fuzz/corpus/$target/." "$work/"
    if timeout -k 10 $((FUZZ_SECONDS + 60)) "build/fuzz/tests/fuzz/fuzz_$target" -max_total_time="$FUZZ_SECONDS" \
         -print_final_stats=0 -artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
      count "fuzz-$target" 1 0
    else
      tail -30 "$work.log"
      count "fuzz-$target" 0 1
    fi
    rm -rf "$work" "$work.log"
  done
else
  count fuzz-build 0 1
fi

finish
