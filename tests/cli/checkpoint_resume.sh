# ravine replay --save / --resume: a run split by a checkpoint prints the same rows
# and saves the same bytes as the run in one go, for every optimizer, with schedules,
# shapes (--shape), bf16 parameters (--dtype bf16) and bf16/int8 state; --resume takes
# the shape and dtype from the file and refuses options that disagree with it.
. "$(dirname "$0")/../cli_lib.sh"

# 10 updates of 3 parameters, sign-changing
for k in 0 1 2 3 4 5 6 7 8 9; do
  awk -v k=$k 'BEGIN { printf "%.6f,%.6f,%.6f\n", sin(0.7*k), cos(1.3*k)*2, sin(0.3*k+1)-0.2 }'
done > "$tmp/all.csv"
head -n 4 "$tmp/all.csv" > "$tmp/first.csv"
tail -n 6 "$tmp/all.csv" > "$tmp/rest.csv"

# 10 updates of 6 parameters, for shaped tensors
for k in 0 1 2 3 4 5 6 7 8 9; do
  awk -v k=$k 'BEGIN { printf "%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", sin(0.7*k), cos(1.3*k)*2, sin(0.3*k+1)-0.2,
                       cos(0.5*k+2), sin(1.1*k)*0.5, cos(0.9*k)-0.3 }'
done > "$tmp/all6.csv"
head -n 4 "$tmp/all6.csv" > "$tmp/first6.csv"
tail -n 6 "$tmp/all6.csv" > "$tmp/rest6.csv"

# NAME OPTIM [SCHEDULE [REPLAY OPTIONS...]]: 6 parameters when the options
# give a shape or a dtype; the resumed run takes both from the file
split_equals_straight() {
  local name=$1 optim=$2 sched=() more=() init=0.5,-1,2 all=all first=first rest=rest
  [ $# -ge 3 ] && [ -n "$3" ] && sched=(--schedule "$3")
  [ $# -ge 4 ] && { more=("${@:4}"); init=0.5,-1,2,0.25,-0.75,1.5; all=all6 first=first6 rest=rest6; }
  "$RAVINE" replay --optim "$optim" "${sched[@]}" "${more[@]}" --init $init --grads "$tmp/$all.csv" \
    --save "$tmp/straight.ckpt" > "$tmp/straight.out" 2>&1 || { fail=$((fail + 1)); echo "FAIL $name straight: $(cat "$tmp/straight.out")"; return; }
  "$RAVINE" replay --optim "$optim" "${sched[@]}" "${more[@]}" --init $init --grads "$tmp/$first.csv" \
    --save "$tmp/half.ckpt" > "$tmp/first.out" 2>&1 || { fail=$((fail + 1)); echo "FAIL $name first"; return; }
  # the second half in a new process, optimizer, schedule, shape and dtype read from the file
  "$RAVINE" replay --resume "$tmp/half.ckpt" --grads "$tmp/$rest.csv" \
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
split_equals_straight nadam 'nadam(lr=0.01)'
split_equals_straight radam 'radam(lr=0.01, decoupled_weight_decay=true, weight_decay=0.1)'
split_equals_straight adamax 'adamax(lr=0.01)'
split_equals_straight lion 'lion(lr=0.001, weight_decay=0.1)'
split_equals_straight sfadamw 'sfadamw(lr=0.01, warmup_steps=2)' 'cosine(lr=0.01, t_max=10)'
# shapes: adafactor's factored moments, muon's matrices; bf16 parameters; bf16 and int8 state
split_equals_straight adafactor_matrix 'adafactor(lr=0.01)' '' --shape 2,3
split_equals_straight adafactor_3d 'adafactor(lr=0.01)' '' --shape 1,2,3
split_equals_straight adafactor_vector 'adafactor(lr=0.01)' '' --shape 6
split_equals_straight muon 'muon(lr=0.02)' '' --shape 3,2
split_equals_straight muon_bf16 'muon(lr=0.02)' '' --shape 2,3 --dtype bf16
split_equals_straight adafactor_bf16 'adafactor(lr=0.01)' '' --shape 2,3 --dtype bf16
split_equals_straight adamw_bf16 'adamw(lr=0.01)' 'warmup_cosine(peak=0.02, warmup_steps=3, decay_steps=10)' --dtype bf16
split_equals_straight adamw_int8 'adamw(lr=0.01, state=int8)' '' --shape 2,3
split_equals_straight adamw_bf16_state_bf16 'adamw(lr=0.01, state=bf16)' '' --dtype bf16
split_equals_straight nadam_int8_bf16 'nadam(lr=0.01, state=int8)' '' --dtype bf16
split_equals_straight sfadamw_int8_bf16 'sfadamw(lr=0.01, state=int8)' '' --dtype bf16 --shape 3,2
# schedules (the last split's half.ckpt, adam's, is the file the errors below use)
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

# Python reads the file with json, struct and zlib alone: every checksum, the
# parameters by their dtype (BF16: the top half of a float32); with a second
# argument, the layout of int8 state over bf16 parameters
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
p = h["param/params"]
s, e = p["data_offsets"]
if p["dtype"] == "BF16":
    bits = struct.unpack("<%dH" % ((e - s) // 2), b[8 + n + s:8 + n + e])
    vals = [struct.unpack("<f", struct.pack("<I", x << 16))[0] for x in bits]
else:
    vals = struct.unpack("<%df" % ((e - s) // 4), b[8 + n + s:8 + n + e])
if len(sys.argv) > 2:
    assert p["dtype"] == "BF16" and p["shape"] == [2, 3], p
    assert h["state/params/exp_avg"]["dtype"] == "U8" and h["state/params/exp_avg.absmax"]["shape"] == [1]
    assert h["state/params/master"]["dtype"] == "F32" and m["mode"] == "train"
print(m["step"] + "," + ",".join("%.9g" % v for v in vals))
PY
  "$RAVINE" replay --optim 'adam(lr=0.01)' --init 0.5,-1,2 --grads "$tmp/first.csv" --save "$tmp/py.ckpt" > "$tmp/py.out"
  expect_out python_reads "$(tail -n 1 "$tmp/py.out")" python3 "$tmp/read.py" "$tmp/py.ckpt"
  "$RAVINE" replay --optim 'adamw(lr=0.01, state=int8)' --dtype bf16 --shape 2,3 --init 0.5,-1,2,0.25,-0.75,1.5 \
    --grads "$tmp/first6.csv" --save "$tmp/py16.ckpt" > "$tmp/py16.out"
  expect_out python_reads_bf16 "$(tail -n 1 "$tmp/py16.out")" python3 "$tmp/read.py" "$tmp/py16.ckpt" int8
fi

# --resume with options that disagree with the file: refused, naming both
"$RAVINE" replay --optim 'adamw(lr=0.01, state=int8)' --dtype bf16 --shape 2,3 --init 0.5,-1,2,0.25,-0.75,1.5 \
  --grads "$tmp/first6.csv" --save "$tmp/b16.ckpt" > /dev/null
expect_err resume_other_shape "ravine: --resume: checkpoint '$tmp/b16.ckpt': tensor 'params' has shape [2, 3], the optimizer's has [3, 2]" \
  "$RAVINE" replay --resume "$tmp/b16.ckpt" --shape 3,2 --grads "$tmp/rest6.csv"
expect_err resume_other_dtype "ravine: --resume: checkpoint '$tmp/b16.ckpt': tensor 'params' is bfloat16 (BF16) in the file, the optimizer's is float32 (F32)" \
  "$RAVINE" replay --resume "$tmp/b16.ckpt" --dtype fp32 --grads "$tmp/rest6.csv"
expect_err resume_other_precision "ravine: --resume: checkpoint '$tmp/b16.ckpt': tensor 'params' keeps its state as int8 (the file's param group 0: state=int8), the optimizer's param group 0 keeps state=bf16; load without keep_hparams to take the file's" \
  "$RAVINE" replay --resume "$tmp/b16.ckpt" --optim 'adamw(lr=0.01, state=bf16)' --grads "$tmp/rest6.csv"

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
# a target the save would refuse stops the replay before its first row
check save_no_folder_before_rows test ! -s "$tmp/out"
mkdir -p "$tmp/dir.ckpt"
expect_err save_folder "ravine: --save: checkpoint '$tmp/dir.ckpt': '$tmp/dir.ckpt' is a folder, not a regular file; refusing to replace it" \
  "$RAVINE" replay --optim sgd --init 0,0,0 --grads "$tmp/one.csv" --save "$tmp/dir.ckpt"
check save_folder_before_rows test ! -s "$tmp/out"
check save_folder_untouched test -z "$(ls -A "$tmp/dir.ckpt")"
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
