#!/usr/bin/env bash
# Files a command writes: no command overwrites one of its own inputs or
# another of its outputs (every pair of scan outputs, every input against
# every output, the database's -wal/-journal siblings, export and merge
# outputs against their inputs: exit 1, one line naming both options and the
# file, the file untouched, nothing started), and every write error reaches
# the exit code (/dev/full as every output: exit 2, a line naming the file,
# no "complete" claimed). Table-driven; net_null sends nowhere.
set -uo pipefail
WS=$(realpath "${1:?usage: $0 WIRESPEED_BINARY}")
WORK=$(mktemp -d /tmp/ws-files-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
PORT=(--vdev net_null0,no-rx=1 --source-ip 198.18.0.1 --gateway-mac 02:00:00:00:00:02)
NULL=("${PORT[@]}" --blocklist /dev/null --wait 0)

# check NAME EXPECTED_CODE NEEDLE ARGS...: the exit code, at most three
# stderr lines, the needle (fixed string) on stderr.
check() {
  local name=$1 code=$2 needle=$3; shift 3
  timeout 60 "$WS" "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$? lines; lines=$(wc -l < "$WORK/err")
  if [[ $rc -ne $code ]]; then echo "FAIL: $name: exit $rc, expected $code: $(head -1 "$WORK/err")"; return 1; fi
  if ((lines > 3)); then echo "FAIL: $name: $lines lines on stderr"; return 1; fi
  if [[ -n $needle ]] && ! grep -qF -- "$needle" "$WORK/err"; then echo "FAIL: $name: stderr does not name '$needle': $(head -1 "$WORK/err")"; return 1; fi
  return 0
}

# ---- a database with results, for export and merge
"$WS" scan 198.19.0.0/28 -p 80 "${NULL[@]}" --db "$WORK/r.db" -q 2>/dev/null
sqlite3 "$WORK/r.db" "PRAGMA journal_mode=DELETE; INSERT INTO results(scan_id, ip, port, proto, state, reason, ttl, window, seen_at) VALUES(1,'198.19.0.1',80,'tcp','open','syn-ack',64,65535,1700000000.5);
  INSERT INTO results(scan_id, ip, port, proto, state, reason, ttl, window, seen_at) VALUES(1,'198.19.0.2',80,'tcp','open','syn-ack',64,65535,1700000001.5);" >/dev/null
cp "$WORK/r.db" "$WORK/r2.db"
DB_SUM=$(md5sum < "$WORK/r.db")

# ---- every pair of scan outputs, and every input against every output
# option  -> a file name; an input's file holds valid content for it.
OUTPUTS=(--db -oL -oJ -oC -oX -oG --metadata --status-file)
INPUTS=(-iL --excludefile --blocklist --config)
content_for() { case $1 in --config) printf 'seed = 1\n' ;; -iL|--excludefile|--blocklist) printf '198.19.0.0/28\n' ;; esac; }
collide() { # NAME OPTION_A OPTION_B [SPELLING_B]: both name one existing file
  local name=$1 a=$2 b=$3 file="$WORK/same-$RANDOM"
  { content_for "$a"; echo '# keep'; } > "$file"
  local before; before=$(md5sum < "$file")
  local spelled=${4:-$file}
  local args=(scan 198.19.0.0/28 -p 80 "${PORT[@]}" --wait 0 -q)
  [[ $a == --blocklist ]] || args+=(--blocklist /dev/null)
  [[ $a == --db || $b == --db ]] || args+=(--no-db)
  if check "$name" 1 "name the same file" "${args[@]}" "$a" "$file" "$b" "$spelled"; then
    local line; line=$(grep 'name the same file' "$WORK/err")
    if [[ $line != *"$a and $b name"* && $line != *"$b and $a name"* ]]; then echo "FAIL: $name: does not name both options: $line"
    elif [[ $line != *"\"$file\""* ]]; then echo "FAIL: $name: does not name the file: $line"
    elif [[ $(md5sum < "$file") != "$before" ]]; then echo "FAIL: $name: the file was modified"
    elif grep -q 'EAL' "$WORK/err"; then echo "FAIL: $name: EAL started"
    else echo "PASS: $name"; fi
  fi
  rm -f "$file"*
}
for ((i = 0; i < ${#OUTPUTS[@]}; i++)); do
  for ((j = i + 1; j < ${#OUTPUTS[@]}; j++)); do
    collide "collision ${OUTPUTS[i]} ${OUTPUTS[j]}" "${OUTPUTS[i]}" "${OUTPUTS[j]}"
  done
done
for in in "${INPUTS[@]}"; do
  for out in "${OUTPUTS[@]}"; do
    collide "collision $in $out" "$in" "$out"
  done
done
# other spellings of one file: ./, dir/.., a hard link, a symbolic link
mkdir -p "$WORK/d"
f=$WORK/linked; echo keep > "$f"; ln -f "$f" "$WORK/hardlink"; ln -sf "$f" "$WORK/symlink"
check "collision hard link" 1 "name the same file" scan 198.19.0.1 -p 80 "${NULL[@]}" --no-db -oL "$f" -oJ "$WORK/hardlink" && echo "PASS: collision hard link"
check "collision symbolic link" 1 "name the same file" scan 198.19.0.1 -p 80 "${NULL[@]}" --no-db -oX "$WORK/symlink" -oG "$f" && echo "PASS: collision symbolic link"
check "collision not yet existing, dir/.. spelling" 1 "name the same file" scan 198.19.0.1 -p 80 "${NULL[@]}" --no-db \
  -oL "$WORK/new.out" -oC "$WORK/d/../new.out" && [[ ! -e $WORK/new.out ]] && echo "PASS: collision not yet existing, dir/.. spelling"
# the database's siblings
for sib in -wal -journal -shm; do
  check "collision --db and its $sib" 1 "name the same file" scan 198.19.0.1 -p 80 "${NULL[@]}" --db "$WORK/s.db" -oL "$WORK/s.db$sib" &&
    [[ ! -e $WORK/s.db ]] && echo "PASS: collision --db and its $sib"
done

# ---- export and merge against their inputs
for fmt in json csv list xml grepable; do
  check "export -o DB --format $fmt" 1 "name the same file" export "$WORK/r.db" -o "$WORK/r.db" --format $fmt &&
    [[ $(md5sum < "$WORK/r.db") == "$DB_SUM" ]] && echo "PASS: export -o DB --format $fmt"
done
check "export -o ./DB" 1 "name the same file" export "$WORK/r.db" -o "$WORK/./r.db" && echo "PASS: export -o ./DB"
check "export -o DB-wal" 1 "write-ahead log" export "$WORK/r.db" -o "$WORK/r.db-wal" && echo "PASS: export -o DB-wal"
check "export -o DB-journal" 1 "rollback journal" export "$WORK/r.db" -o "$WORK/r.db-journal" && echo "PASS: export -o DB-journal"
check "merge -o first input" 1 "name the same file" merge "$WORK/r.db" "$WORK/r2.db" -o "$WORK/r.db" && echo "PASS: merge -o first input"
check "merge -o second input, other spelling" 1 "name the same file" merge "$WORK/r2.db" "$WORK/r.db" -o "$WORK/d/../r.db" &&
  echo "PASS: merge -o second input, other spelling"
check "merge -o an input's -wal" 1 "write-ahead log" merge "$WORK/r.db" -o "$WORK/r.db-wal" && echo "PASS: merge -o an input's -wal"
[[ $(md5sum < "$WORK/r.db") == "$DB_SUM" ]] && echo "PASS: the input database is untouched" || echo "FAIL: the input database was modified"
printf 'plain text, not SQLite, long enough for a header......................................\n' > "$WORK/text.out"
check "merge into a text file" 2 'file is not a database' merge "$WORK/r.db" -o "$WORK/text.out" &&
  grep -q 'plain text' "$WORK/text.out" && echo "PASS: merge into a text file: SQLite's own words, the file untouched"

# ---- not collisions: character devices, two inputs, the same input twice
if check "/dev/null as every output" 0 "" scan 198.19.0.1 -p 80 "${NULL[@]}" --no-db -oL /dev/null -oJ /dev/null -oC /dev/null \
     -oX /dev/null -oG /dev/null --metadata /dev/null --status-file /dev/null -q; then
  [[ -c /dev/null ]] && echo "PASS: /dev/null as every output" || echo "FAIL: /dev/null is no longer a device"
fi
if timeout 60 "$WS" export "$WORK/r.db" -o /dev/stdout --format list 2>"$WORK/err" | cat > "$WORK/piped" &&
   timeout 60 "$WS" scan 198.19.0.1 -p 80 "${NULL[@]}" --no-db -oL /dev/stdout -oJ /dev/stdout -q 2>>"$WORK/err" | cat > /dev/null &&
   grep -q 198.19.0.2 "$WORK/piped"; then echo "PASS: /dev/stdout on a pipe, twice"
else echo "FAIL: /dev/stdout on a pipe, twice: $(head -1 "$WORK/err")"; fi
timeout 60 "$WS" export "$WORK/r.db" -o /dev/stdout >> "$WORK/r.db" 2>"$WORK/err"
rc=$?
if ((rc == 1)) && grep -q "name the same file" "$WORK/err" && [[ $(md5sum < "$WORK/r.db") == "$DB_SUM" ]]; then
  echo "PASS: /dev/stdout redirected onto the input database is refused"
else echo "FAIL: /dev/stdout redirected onto the input database: exit $rc: $(head -1 "$WORK/err")"; fi
printf '198.19.0.0/28\n' > "$WORK/t.txt"
check "same file as -iL and --excludefile" 1 "no targets left" scan -iL "$WORK/t.txt" --excludefile "$WORK/t.txt" -p 80 "${NULL[@]}" --no-db &&
  echo "PASS: same file as -iL and --excludefile is not a collision"
check "export to /dev/null" 0 "" export "$WORK/r.db" -o /dev/null --format xml && echo "PASS: export to /dev/null"
check "export to /dev/stdout" 0 "" export "$WORK/r.db" -o /dev/stdout --format list && grep -q '198.19.0.2' "$WORK/out" &&
  echo "PASS: export to /dev/stdout"

# ---- export replaces its output atomically: a failing export leaves the old file whole
echo old > "$WORK/keep.json"
check "export of a missing database keeps the old output" 1 "nope.db" export "$WORK/nope.db" -o "$WORK/keep.json" &&
  [[ $(cat "$WORK/keep.json") == old ]] && echo "PASS: export of a missing database keeps the old output"
check "export replaces" 0 "" export "$WORK/r.db" -o "$WORK/keep.json" && grep -q 198.19.0.1 "$WORK/keep.json" &&
  [[ -z $(find "$WORK" -name '.keep.json.tmp-*') ]] && echo "PASS: export replaces the output, no temporary file left"

check "export into a missing directory" 2 "cannot create output file \"$WORK/nodir/x.json\": No such file or directory" \
  export "$WORK/r.db" -o "$WORK/nodir/x.json" && echo "PASS: export into a missing directory"

# ---- write errors: /dev/full as every output
for fmt in json csv list xml grepable; do
  check "export --format $fmt to /dev/full" 2 '"/dev/full"' export "$WORK/r.db" -o /dev/full --format $fmt &&
    echo "PASS: export --format $fmt to /dev/full"
done
full_scan() { # NAME OPTION [EXTRA...]
  local name=$1 option=$2; shift 2
  rm -f "$WORK/f.db"*
  if check "$name" 2 '"/dev/full"' scan 198.19.0.0/28 -p 80 "${PORT[@]}" --blocklist /dev/null --db "$WORK/f.db" "$option" /dev/full "$@"; then
    local status; status=$(sqlite3 "$WORK/f.db" "SELECT group_concat(status) FROM scans" 2>&1)
    if grep -q 'complete in' "$WORK/err"; then echo "FAIL: $name: says complete after the error: $(grep 'complete in' "$WORK/err" | cut -c1-80)"
    elif [[ $status == *complete* || $status == *running* ]]; then echo "FAIL: $name: the scans row says $status"
    else echo "PASS: $name (scans row: ${status:-none})"; fi
  fi
}
full_scan "-oL /dev/full" -oL --wait 0
full_scan "-oC /dev/full" -oC --wait 0
full_scan "-oX /dev/full" -oX --wait 0
full_scan "-oG /dev/full" -oG --wait 0
full_scan "--metadata /dev/full" --metadata --wait 0
full_scan "--status-file /dev/full" --status-file --wait 1.5  # a status line a second

# ---- standard output is an output too
stdout_full() { # NAME ARGS...
  local name=$1; shift
  timeout 60 "$WS" "$@" >/dev/full 2>"$WORK/err"
  local rc=$?
  if ((rc == 2)) && grep -q 'cannot write standard output: No space left on device' "$WORK/err" && (($(wc -l < "$WORK/err") <= 3)); then
    echo "PASS: $name > /dev/full"
  else echo "FAIL: $name > /dev/full: exit $rc: $(head -1 "$WORK/err")"; fi
}
stdout_full "plan --list" plan 198.19.0.0/24 -p 80 --blocklist /dev/null --seed 1 --list 5
stdout_full "plan" plan 198.19.0.0/24 -p 80 --blocklist /dev/null --seed 1
stdout_full "plan --echo" plan 198.19.0.0/24 -p 80 --blocklist /dev/null --seed 1 --echo
stdout_full "reflect --print-truth" reflect --hosts 198.19.0.0/24 --open-ports 80 --print-truth --truth-ports 80 --vdev net_null0
stdout_full "version" version

# ---- a read-only file system (a private read-only bind mount, when we may make one)
mkdir -p "$WORK/rw" "$WORK/ro"
cp "$WORK/r.db" "$WORK/rw/x.db"; cp "$WORK/r.db" "$WORK/rw/y.db"
if unshare -m true 2>/dev/null; then
  unshare -m bash -c '
    WS=$1; W=$2; shift 2
    mount --bind "$W/rw" "$W/ro" && mount -o remount,bind,ro "$W/ro" || { echo "SKIP: no read-only bind mount"; exit 0; }
    ro_case() { # NAME CODE NEEDLE ARGS...
      local name=$1 code=$2 needle=$3; shift 3
      timeout 60 "$WS" "$@" >/dev/null 2>"$W/ro-err"; local rc=$?
      if ((rc == code)) && { [[ -z $needle ]] || grep -qF -- "$needle" "$W/ro-err"; }; then echo "PASS: read-only: $name"
      else echo "FAIL: read-only: $name: exit $rc: $(head -1 "$W/ro-err")"; fi
    }
    ro_case "scan --db" 2 "\"$W/ro/x.db\": Read-only file system" scan 198.19.0.0/28 -p 80 "${@}" --db "$W/ro/x.db" -q
    ro_case "merge -o" 2 "cannot merge into \"$W/ro/x.db\": the database is read-only" merge "$W/ro/y.db" -o "$W/ro/x.db"
    ro_case "export -o" 2 "cannot create output file \"$W/ro/out.json\": Read-only file system" export "$W/ro/x.db" -o "$W/ro/out.json"
    ro_case "export from it" 0 "" export "$W/ro/x.db" -o "$W/ro-export.json"
  ' _ "$WS" "$WORK" "${NULL[@]}"
else
  echo "SKIP: unshare -m is not available: no read-only file system cases"
fi
