# Write errors are errors: every command's stdout on a full disk (/dev/full)
# or into a closed pipe, and every file a command writes on a full disk,
# ends with exit 2 and the reason, never a truncated result with exit 0.
. "$(dirname "$0")/../cli_lib.sh"

printf '0.25,-0.5\n0.5,1\n' > "$tmp/g.csv"
printf 'step,loss\n' > "$tmp/curve.csv"
for i in $(seq 0 49); do echo "$i,$(awk "BEGIN{print 2*0.95^$i}")" >> "$tmp/curve.csv"; done

# full_disk NAME CMD...: stdout to /dev/full must fail with the reason
full_disk() {
  local name=$1; shift
  "$@" > /dev/full 2> "$tmp/err"; local rc=$?
  if [ $rc -eq 2 ] && grep -qx 'ravine: stdout: write failed: No space left on device' "$tmp/err"; then
    pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL full_disk $name (rc $rc): $(cat "$tmp/err")"; fi
}
full_disk help "$RAVINE" --help
full_disk version "$RAVINE" --version
full_disk command_help "$RAVINE" trace --help
full_disk replay "$RAVINE" replay --optim 'adam(lr=0.1)' --init 1,-1 --grads "$tmp/g.csv"
full_disk optimizers "$RAVINE" optimizers
full_disk schedule "$RAVINE" schedule 'cosine(lr=1, t_max=10)' --steps 10
full_disk trace "$RAVINE" trace --surface bowl --optim 'adam(lr=0.1)' --steps 10
full_disk race "$RAVINE" race --steps 20 --json
full_disk sweep "$RAVINE" sweep --surface bowl --optim sgd --lr 1e-3:0.1:3 --steps 10
full_disk gradcheck "$RAVINE" gradcheck --surface bowl
full_disk curvature "$RAVINE" curvature --surface bowl --json
full_disk explain "$RAVINE" explain --optim 'adamw(lr=0.1, decay=after)' --params 1,-1 --grads 0.25,-0.5
full_disk memory "$RAVINE" memory --json
full_disk bench "$RAVINE" bench --params 1000 --reps 1 --warmup 0 --optim sgd --json
full_disk diagnose "$RAVINE" diagnose "$tmp/curve.csv" --json
full_disk plot "$RAVINE" plot schedule
mkdir -p "$tmp/rep"
full_disk report "$RAVINE" report --out "$tmp/rep"
# (a small write error that stdio only sees at exit: one short line)
full_disk short_output "$RAVINE" schedule 'constant(lr=1)' --steps 1

# a closed pipe: the reader went away; the command stops at once with the
# reason (no death by SIGPIPE), even with 10^8 lines still to print
start=$(date +%s)
"$RAVINE" schedule 'constant(lr=1)' --steps 100000000 2> "$tmp/err" | head -n 1 > "$tmp/out"
rc=${PIPESTATUS[0]}
took=$(( $(date +%s) - start ))
check closed_pipe_exit test "$rc" -eq 2
check closed_pipe_reason grep -qx 'ravine: stdout: write failed: Broken pipe' "$tmp/err"
check closed_pipe_quick test "$took" -le 10
check closed_pipe_first_line grep -qx 'step,lr' "$tmp/out"
"$RAVINE" trace --surface bowl --optim sgd --steps 1000000 2> "$tmp/err" | head -c 10 > /dev/null
check closed_pipe_trace test "${PIPESTATUS[0]}" -eq 2
yes 0.5 | head -n 200000 > "$tmp/many.csv"
"$RAVINE" replay --optim sgd --init 1 --grads "$tmp/many.csv" 2> "$tmp/err" | head -n 2 > /dev/null
check closed_pipe_replay test "${PIPESTATUS[0]}" -eq 2
check closed_pipe_replay_reason grep -qx 'ravine: stdout: write failed: Broken pipe' "$tmp/err"

# files: a device that is full is written in place and its failure named
expect_err plot_file_full "ravine: /dev/full: write failed: No space left on device; the output is incomplete" \
  "$RAVINE" plot schedule --out /dev/full
# a checkpoint is never written into a device
printf '1\n' > "$tmp/g1.csv"
expect_err save_to_device "ravine: --save: checkpoint '/dev/full': '/dev/full' is a character device, not a regular file; refusing to replace it" \
  "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/g1.csv" --save /dev/full

# a full file system: files are replaced whole or not at all. The folder
# $tmp/small fills up through a preloaded write() (tests/enospc/full_disk.c,
# built with the tests: $RAVINE_FULL_DISK), so no mount is needed and every
# case runs wherever the tests do. full BYTES CMD...: CMD with BYTES more
# bytes of room in $tmp/small, then ENOSPC there.
mkdir -p "$tmp/small"
full() {
  local bytes=$1; shift
  LD_PRELOAD="$RAVINE_FULL_DISK" RAVINE_FULL_DIR="$(cd "$tmp/small" && pwd -P)" RAVINE_FULL_BYTES=$bytes "$@"
}
if [ -z "${RAVINE_FULL_DISK:-}" ] || [ ! -f "$RAVINE_FULL_DISK" ]; then
  fail=$((fail + 1)); echo "FAIL full_disk_shim: RAVINE_FULL_DISK is not set to the built tests/enospc library"
else
  "$RAVINE" plot schedule --steps 10 --out "$tmp/small/plot.svg"
  check small_plot_first test -s "$tmp/small/plot.svg"
  cp "$tmp/small/plot.svg" "$tmp/plot.before"
  full 4096 "$RAVINE" plot contour --surface rosenbrock --optims 'adam(lr=0.1)' --steps 500 --out "$tmp/small/plot.svg" 2> "$tmp/err"
  check small_plot_exit test $? -eq 2
  check small_plot_reason grep -q "^ravine: $tmp/small/plot.svg: write failed: No space left on device; the old file is unchanged$" "$tmp/err"
  check small_plot_kept cmp -s "$tmp/small/plot.svg" "$tmp/plot.before"
  check small_plot_no_temp test -z "$(ls "$tmp/small" | grep tmp-)"
  # the same write with room enough succeeds (the shim fails only what does not fit)
  full 100000000 "$RAVINE" plot contour --surface rosenbrock --optims 'adam(lr=0.1)' --steps 500 --out "$tmp/small/plot2.svg" 2> "$tmp/err"
  check small_plot_room test $? -eq 0 -a -s "$tmp/small/plot2.svg"
  # a checkpoint too large for the space left (its header fits, its tensors do not)
  yes 0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5 | head -n 3 > "$tmp/g8.csv"
  full 300 "$RAVINE" replay --optim adam --init 1,2,3,4,5,6,7,8 --grads "$tmp/g8.csv" --save "$tmp/small/run.safetensors" > /dev/null 2> "$tmp/err"
  check small_save_exit test $? -eq 2
  check small_save_reason grep -q "^ravine: --save: checkpoint '$tmp/small/run.safetensors': write failed: No space left on device; no file was created$" "$tmp/err"
  check small_save_nothing test ! -e "$tmp/small/run.safetensors"
  check small_save_no_temp test -z "$(ls "$tmp/small" | grep tmp-)"
  # report: the page is written whole or not at all
  full 20000 "$RAVINE" report --out "$tmp/small/rep" > /dev/null 2> "$tmp/err"
  check small_report_exit test $? -eq 2
  check small_report_reason grep -q "No space left on device" "$tmp/err"
  check small_report_no_temp test -z "$(ls "$tmp/small/rep" 2>/dev/null | grep tmp-)"
fi
finish
