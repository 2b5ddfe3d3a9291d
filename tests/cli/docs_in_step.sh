#!/usr/bin/env bash
# The docs keep up with the code: every long option that `wirespeed scan
# --help`, `plan`, `reflect`, `export` and `merge --help` list, and every one
# of the option table (`scan --list-options`, `plan --list-options`), must
# appear in docs/USAGE.md and in the man page docs/wirespeed.1 (roff's \- read
# as -), and every config key (the table's, and what `plan --echo` writes)
# must appear in the man page. One PASS or FAIL
# line per option and document. Also: --help's usage line names the program
# ("Usage: wirespeed scan [OPTIONS] ...").
set -uo pipefail
WS=${1:?usage: $0 WIRESPEED_BINARY}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/ws-docs-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cp "$ROOT/docs/USAGE.md" "$WORK/usage.txt" 2>/dev/null || { echo "FAIL: docs/USAGE.md missing"; exit 0; }
sed 's/\\-/-/g' "$ROOT/docs/wirespeed.1" > "$WORK/man.txt" 2>/dev/null || { echo "FAIL: docs/wirespeed.1 missing"; exit 0; }

options=()
for command in scan plan reflect export merge; do
  if ! timeout 20 "$WS" "$command" --help > "$WORK/help-$command" 2>&1; then
    echo "FAIL: $command --help exits non-zero"
    continue
  fi
  # option lines: "  -p,--ports TEXT  description" -> --ports
  mapfile -t found < <(grep -oE '^ +(-[A-Za-z],)?--[a-z][a-z0-9-]*' "$WORK/help-$command" | grep -oE -- '--[a-z][a-z0-9-]*')
  if ((${#found[@]} == 0)); then echo "FAIL: no options found in $command --help"; continue; fi
  options+=("${found[@]}")
done
# The option table itself (scan/plan --list-options: "NAME KEY" per option,
# KEY "-" for a command-line-only flag), so that an option missing from the
# --help scrape (an odd help line) is still checked.
table_keys=()
for command in scan plan; do
  if ! timeout 20 "$WS" "$command" --list-options > "$WORK/table-$command" 2>"$WORK/err" || ! [[ -s $WORK/table-$command ]]; then
    echo "FAIL: $command --list-options gives no option table: $(head -1 "$WORK/err")"
    continue
  fi
  mapfile -t found < <(awk '$1 ~ /^--/ {print $1}' "$WORK/table-$command")
  options+=("${found[@]}")
  mapfile -t found < <(awk '$2 != "-" {print $2}' "$WORK/table-$command")
  table_keys+=("${found[@]}")
done
mapfile -t options < <(printf '%s\n' "${options[@]}" | sort -u)

# a whole-word match: --output-list must not be satisfied by --output-list-foo, nor --db by --db-x
present() { grep -qE -- "(^|[^a-z0-9-])$1([^a-z0-9-]|\$)" "$2"; }

for option in "${options[@]}"; do
  for doc in usage:docs/USAGE.md man:docs/wirespeed.1; do
    if present "$option" "$WORK/${doc%%:*}.txt"; then echo "PASS: $option in ${doc#*:}"
    else echo "FAIL: $option is not documented in ${doc#*:}"; fi
  done
done

# Config keys (what --echo writes) in the man page.
if timeout 20 "$WS" plan 198.19.0.1 -p 80 --blocklist /dev/null --seed 1 --echo > "$WORK/echo.toml" 2>"$WORK/err"; then
  mapfile -t keys < <({ sed -nE 's/^#? ?([a-z][a-z0-9-]*) = .*/\1/p' "$WORK/echo.toml"; printf '%s\n' "${table_keys[@]}"; } | sort -u)
  for key in "${keys[@]}"; do
    if present "$key" "$WORK/man.txt"; then echo "PASS: key $key in docs/wirespeed.1"
    else echo "FAIL: config key $key is not documented in docs/wirespeed.1"; fi
  done
else
  echo "FAIL: plan --echo exits non-zero: $(head -1 "$WORK/err")"
fi

# --help's usage line names the program: "Usage: wirespeed scan [OPTIONS] ...".
usage_names_program() { # EXPECTED ARGS...
  local expected=$1 line; shift
  line=$(timeout 20 "$WS" "$@" --help 2>&1 | grep -m1 '^Usage:')
  if [[ $line == "$expected"* ]]; then echo "PASS: wirespeed ${*:+$* }--help: $line"
  else echo "FAIL: wirespeed ${*:+$* }--help: usage line is '$line', expected it to start with '$expected'"; fi
}
usage_names_program "Usage: wirespeed [OPTIONS] SUBCOMMAND"
for command in scan plan reflect export merge; do
  usage_names_program "Usage: wirespeed $command [OPTIONS]" "$command"
done

# The man page renders without warnings.
if command -v groff >/dev/null; then
  if [[ -z $(groff -man -ww -z "$ROOT/docs/wirespeed.1" 2>&1) ]]; then echo "PASS: man page renders cleanly"
  else echo "FAIL: groff warns about docs/wirespeed.1: $(groff -man -ww -z "$ROOT/docs/wirespeed.1" 2>&1 | head -1)"; fi
fi
