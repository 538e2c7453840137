# Endless or huge input: memory stays bounded and the limit names itself.
# /dev/zero (no newline, ever) stops at its first NUL byte; a line past
# 1 MiB stops there; an endless stream of valid rows stops diagnose at its
# 10,000,000-point limit and streams through replay in constant memory.
# Memory is measured (GNU time) only in builds without sanitizers.
. "$(dirname "$0")/../cli_lib.sh"

timed() { local t0=$(date +%s); "$@"; echo $(( $(date +%s) - t0 )) > "$tmp/took"; }

timed expect_err zero_grads "ravine: /dev/zero line 1: contains a NUL byte" \
  "$RAVINE" replay --optim sgd --init 1 --grads /dev/zero
check zero_grads_quick test "$(cat "$tmp/took")" -le 5
expect_err zero_diagnose "ravine: /dev/zero line 1: contains a NUL byte" "$RAVINE" diagnose /dev/zero
head -c 3000000 /dev/zero | tr '\0' '7' > "$tmp/long.csv"
expect_err long_line "ravine: $tmp/long.csv line 1: the line is longer than the 1048576-byte limit" \
  "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/long.csv"
{ printf 'loss\n1\n'; head -c 2000000 /dev/zero | tr '\0' ' '; } > "$tmp/spaces.csv"
expect_err long_line_diagnose "ravine: $tmp/spaces.csv line 3: the line is longer than the 1048576-byte limit" \
  "$RAVINE" diagnose "$tmp/spaces.csv"
# a line of exactly the limit is fine
{ printf '1'; head -c 1048575 /dev/zero | tr '\0' ' '; printf '\n'; } > "$tmp/edge.csv"
expect_out line_at_limit "step,p0
1,0.999000013" "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/edge.csv"
# a folder is not a file
mkdir -p "$tmp/dir"
expect_err folder_input "ravine: $tmp/dir: cannot read: Is a directory" "$RAVINE" diagnose "$tmp/dir"

# an endless stream of valid loss values stops at the limit
t0=$(date +%s)
yes 0.5 | "$RAVINE" diagnose /dev/stdin > /dev/null 2> "$tmp/err"
rc=${PIPESTATUS[1]}
check endless_diagnose_exit test "$rc" -eq 2
check endless_diagnose_reason grep -qx 'ravine: /dev/stdin line 10000001: more than 10000000 loss values (the limit of ravine diagnose)' "$tmp/err"
check endless_diagnose_time test $(( $(date +%s) - t0 )) -le 120

# replay streams: a million rows, one at a time
yes 0.5 | head -n 1000000 | "$RAVINE" replay --optim sgd --init 1 --grads /dev/stdin > "$tmp/out.csv"
check replay_streams_rows test "$(wc -l < "$tmp/out.csv")" -eq 1000001
check replay_streams_last grep -q '^1000000,' "$tmp/out.csv"

# memory, where it can be measured: replay's stays flat, diagnose's is
# about 40 bytes a point (16 read, 16 judged, room to grow)
if [ -x /usr/bin/time ] && ! nm "$RAVINE" 2>/dev/null | grep -q __asan_init; then
  row=$(printf '0.1%.0s,' $(seq 1 16)); row=${row%,}
  init=$(printf '1%.0s,' $(seq 1 16)); init=${init%,}
  yes "$row" | head -n 300000 > "$tmp/g16.csv"
  /usr/bin/time -f %M -o "$tmp/rss" "$RAVINE" replay --optim adam --init "$init" --grads "$tmp/g16.csv" > /dev/null
  check replay_memory_flat test "$(cat "$tmp/rss")" -lt 20000   # KB; 38 MB of gradients
  awk 'BEGIN{print "step,loss"; for(i=0;i<1000000;i++) printf "%d,%.6g\n", i, 0.3+2*exp(-i/200000)}' > "$tmp/c1m.csv"
  /usr/bin/time -f %M -o "$tmp/rss" "$RAVINE" diagnose "$tmp/c1m.csv" > /dev/null
  check diagnose_memory test "$(cat "$tmp/rss")" -lt 60000     # KB for 1,000,000 points
else
  echo "bounded_input: memory not measured (no GNU time, or a sanitizer build)"
fi
finish
