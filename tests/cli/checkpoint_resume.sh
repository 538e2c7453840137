# ravine replay --save / --resume: a run split by a checkpoint prints the same rows
# and saves the same bytes as the run in one go, for every optimizer and with schedules.
. "$(dirname "$0")/../cli_lib.sh"

# 10 updates of 3 parameters, sign-changing
for k in 0 1 2 3 4 5 6 7 8 9; do
  awk -v k=$k 'BEGIN { printf "%.6f,%.6f,%.6f\n", sin(0.7*k), cos(1.3*k)*2, sin(0.3*k+1)-0.2 }'
done > "$tmp/all.csv"
head -n 4 "$tmp/all.csv" > "$tmp/first.csv"
tail -n 6 "$tmp/all.csv" > "$tmp/rest.csv"

split_equals_straight() {   # NAME OPTIM [SCHEDULE]
  local name=$1 optim=$2 sched=(); [ $# -ge 3 ] && sched=(--schedule "$3")
  "$RAVINE" replay --optim "$optim" "${sched[@]}" --init 0.5,-1,2 --grads "$tmp/all.csv" \
    --save "$tmp/straight.ckpt" > "$tmp/straight.out" 2>&1 || { fail=$((fail + 1)); echo "FAIL $name straight"; return; }
  "$RAVINE" replay --optim "$optim" "${sched[@]}" --init 0.5,-1,2 --grads "$tmp/first.csv" \
    --save "$tmp/half.ckpt" > "$tmp/first.out" 2>&1 || { fail=$((fail + 1)); echo "FAIL $name first"; return; }
  # the second half in a new process, optimizer and schedule read from the file
  "$RAVINE" replay --resume "$tmp/half.ckpt" --grads "$tmp/rest.csv" \
    --save "$tmp/resumed.ckpt" > "$tmp/rest.out" 2>&1 || { fail=$((fail + 1)); echo "FAIL $name resume: $(cat "$tmp/rest.out")"; return; }
  check "$name rows" [ "$(tail -n 6 "$tmp/straight.out")" = "$(tail -n 6 "$tmp/rest.out")" ]
  check "$name first rows" [ "$(head -n 5 "$tmp/straight.out")" = "$(cat "$tmp/first.out")" ]
  check "$name same file bytes" cmp -s "$tmp/straight.ckpt" "$tmp/resumed.ckpt"
}

split_equals_straight sgd 'sgd(lr=0.1)'
split_equals_straight sgd_nesterov 'sgd(lr=0.05, momentum=0.9, nesterov=true, weight_decay=0.01)'
split_equals_straight polyak 'polyak(lr=0.1, beta=0.8)'
split_equals_straight adam 'adam(lr=0.01)'
split_equals_straight adam_amsgrad 'adam(lr=0.01, amsgrad=true, maximize=true)'
split_equals_straight adamw 'adamw(lr=0.01, weight_decay=0.1)'
split_equals_straight adamw_after 'adamw(lr=0.01, decay=after)'
split_equals_straight rmsprop 'rmsprop(lr=0.01, momentum=0.5, centered=true)'
split_equals_straight adagrad 'adagrad(lr=0.1, lr_decay=0.01)'
split_equals_straight adamw_warmup_cosine 'adamw(lr=0.01)' 'warmup_cosine(peak=0.02, warmup_steps=3, decay_steps=10)'
split_equals_straight sgd_onecycle 'sgd(lr=0.1, momentum=0.9)' 'onecycle(max_lr=0.5, total_steps=10)'
split_equals_straight adam_step 'adam(lr=0.1)' 'step(lr=0.1, step_size=3, gamma=0.5)'

# numbering continues from the checkpoint's step; --optim keeps its own lr
# sgd(lr=1) from 0 with gradients (1,2,3) twice: (-2,-4,-6); then lr 0.5, gradient 1: (-2.5,-4.5,-6.5)
printf '1,2,3\n1,2,3\n' > "$tmp/two_steps.csv"
printf '1,1,1\n' > "$tmp/one.csv"
"$RAVINE" replay --optim 'sgd(lr=1)' --init 0,0,0 --grads "$tmp/two_steps.csv" --save "$tmp/sgd.ckpt" >/dev/null
expect_out continue_numbering "step,p0,p1,p2
3,-2.5,-4.5,-6.5" \
  "$RAVINE" replay --resume "$tmp/sgd.ckpt" --optim 'sgd(lr=0.5)' --grads "$tmp/one.csv"

# Python reads the file with json, struct and zlib alone
if command -v python3 >/dev/null 2>&1; then
  cat > "$tmp/read.py" <<'PY'
import json, struct, sys, zlib
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
m = h.pop("__metadata__")
for k, v in h.items():
    s, e = v["data_offsets"]
    assert "%08x" % zlib.crc32(b[8 + n + s:8 + n + e]) == m["crc32/" + k], k
s, e = h["param/params"]["data_offsets"]
vals = struct.unpack("<%df" % ((e - s) // 4), b[8 + n + s:8 + n + e])
print(m["step"] + "," + ",".join("%.9g" % v for v in vals))
PY
  "$RAVINE" replay --optim 'adam(lr=0.01)' --init 0.5,-1,2 --grads "$tmp/first.csv" --save "$tmp/py.ckpt" > "$tmp/py.out"
  expect_out python_reads "$(tail -n 1 "$tmp/py.out")" python3 "$tmp/read.py" "$tmp/py.ckpt"
fi

# errors
expect_err resume_missing "ravine: --resume: checkpoint '$tmp/nope.ckpt': cannot open: No such file or directory" \
  "$RAVINE" replay --resume "$tmp/nope.ckpt" --grads "$tmp/rest.csv"
expect_err init_and_resume "ravine: replay: --init and --resume both give the starting parameters; use one" \
  "$RAVINE" replay --optim sgd --init 0 --resume "$tmp/half.ckpt" --grads "$tmp/rest.csv"
expect_err other_optimizer "ravine: --resume: checkpoint '$tmp/half.ckpt': saved by optimizer 'adam', this optimizer is 'sgd'" \
  "$RAVINE" replay --optim sgd --resume "$tmp/half.ckpt" --grads "$tmp/rest.csv"
printf '1,2\n' > "$tmp/two.csv"
expect_err wrong_width "ravine: $tmp/two.csv line 1: expected 3 values, got 2" \
  "$RAVINE" replay --resume "$tmp/half.ckpt" --grads "$tmp/two.csv"
expect_err save_no_folder "ravine: --save: checkpoint '$tmp/no/x.ckpt': cannot create a temporary file in '$tmp/no': No such file or directory" \
  "$RAVINE" replay --optim sgd --init 0,0,0 --grads "$tmp/one.csv" --save "$tmp/no/x.ckpt"
# a damaged file: one flipped data byte (the last byte of the file)
cp "$tmp/half.ckpt" "$tmp/bad.ckpt"
size=$(wc -c < "$tmp/bad.ckpt")
printf '\377' | dd of="$tmp/bad.ckpt" bs=1 seek=$((size - 1)) conv=notrunc status=none
"$RAVINE" replay --resume "$tmp/bad.ckpt" --grads "$tmp/rest.csv" > "$tmp/out" 2> "$tmp/err"; rc=$?
check damaged_exit [ $rc -eq 2 ]
check damaged_message grep -q "^ravine: --resume: checkpoint '$tmp/bad.ckpt': tensor 'state/params/exp_avg_sq' checksum mismatch (stored [0-9a-f]\{8\}, computed [0-9a-f]\{8\}): its data was changed or damaged$" "$tmp/err"
check damaged_no_output [ ! -s "$tmp/out" ]
# a truncated file
head -c 100 "$tmp/half.ckpt" > "$tmp/short.ckpt"
n=$(od -An -tu8 -N8 "$tmp/half.ckpt" | tr -d ' ')
expect_err truncated "ravine: --resume: checkpoint '$tmp/short.ckpt': header length $n is larger than the 92 bytes after it (truncated file?)" \
  "$RAVINE" replay --resume "$tmp/short.ckpt" --grads "$tmp/rest.csv"
finish
