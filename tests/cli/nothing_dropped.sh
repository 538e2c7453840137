# Nothing dropped or changed silently: a list past its limit is an error
# (not a cut), long option values are read whole, numbers past float32 or a
# double are errors (not infinity), diagnose reads rows in step order.
. "$(dirname "$0")/../cli_lib.sh"

# plot holds 12 series: the 13th is refused, not ignored
specs=$(for i in $(seq 1 13); do printf 'sgd(lr=0.0%d);' "$i"; done)
expect_err plot_13 "ravine: --optims: more than 12 items in the list (at most 12)" \
  "$RAVINE" plot loss --surface bowl --optims "$specs" --steps 5
specs12=$(for i in $(seq 1 12); do printf 'sgd(lr=0.0%d);' "$i"; done)
"$RAVINE" plot loss --surface bowl --optims "$specs12" --steps 5 > "$tmp/12.svg"
check plot_12_series test "$(grep -c 'class="series"' "$tmp/12.svg")" -eq 12
# bench measures at most 32: the 33rd, alone or in a list, is refused before any timing
args=(); for i in $(seq 1 33); do args+=(--optim "sgd(lr=0.$i)"); done
expect_err bench_33 "ravine: --optim: more than 32 optimizers (at most 32)" \
  "$RAVINE" bench --params 100 --reps 1 "${args[@]}"
list=$(for i in $(seq 1 33); do printf 'sgd(lr=0.%d);' "$i"; done)
expect_err bench_33_list "ravine: --optim: more than 32 items in the list (at most 32)" \
  "$RAVINE" bench --params 100 --reps 1 --optim "$list"
# race, explain, gradcheck: the same rule
expect_err explain_rows "ravine: --grads: more than 1000 items in the list (at most 1000)" \
  "$RAVINE" explain --optim sgd --params 1 --grads "$(for i in $(seq 1 1001); do printf '0.1;'; done)"
expect_err gradcheck_points "ravine: --at: more than 64 items in the list (at most 64)" \
  "$RAVINE" gradcheck --surface bowl --at "$(for i in $(seq 1 65); do printf '1,1;'; done)"

# sweep --lr read whole: 300 characters of one grid (was cut at 255)
lo="0.000$(printf '0%.0s' $(seq 1 270))1"
"$RAVINE" sweep --surface bowl --optim sgd --lr "$lo:0.1:3" --steps 5 --json > "$tmp/sweep.json"
check sweep_long_lr python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
lrs = [r['lr'] for r in d['results']]
assert len(lrs) == 3 and lrs[0] == 1e-274 and lrs[2] == 0.1, lrs
" "$tmp/sweep.json"

# numbers: past float32 (parameters and gradients are float32), past a double
printf '1e39\n' > "$tmp/big.csv"
expect_err grad_past_float "ravine: $tmp/big.csv line 1: value 1 (1e+39) is outside float32's range" \
  "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/big.csv"
printf '1\n' > "$tmp/one.csv"
expect_err init_past_float "ravine: --init: 1e+39 is outside float32's range (at most 3.40282347e+38 in magnitude)" \
  "$RAVINE" replay --optim sgd --init 1e39 --grads "$tmp/one.csv"
printf '0.5\n1e400\n' > "$tmp/huge.csv"
expect_err grad_past_double "ravine: $tmp/huge.csv line 2: value 1 ('1e400') is past the range of a double" \
  "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/huge.csv"
expect_err start_past_float "ravine: --start: start (1e+39, 1) is outside float32's range (at most 3.40282347e+38 in magnitude), which the optimizer's parameters are held in" \
  "$RAVINE" trace --surface bowl --optim sgd --start 1e39,1 --steps 2
expect_err explain_past_float "ravine: --grads: 1e+39 is outside float32's range (at most 3.40282347e+38 in magnitude)" \
  "$RAVINE" explain --optim sgd --params 1 --grads 1e39
expect_err list_past_double "ravine: --init: '1,1e999': value 2 is past the range of a double" \
  "$RAVINE" replay --optim sgd --init 1,1e999 --grads "$tmp/one.csv"
printf 'loss\n1\n1e999\n' > "$tmp/dbig.csv"
expect_err diagnose_past_double "ravine: $tmp/dbig.csv line 3: loss value '1e999' is past the range of a double" \
  "$RAVINE" diagnose "$tmp/dbig.csv"
# nan and inf written as such stay what they are (the nonfinite policies handle them)
printf 'nan\n' > "$tmp/nan.csv"
expect_out grad_nan "step,p0
1,nan" "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/nan.csv"

# diagnose judges rows in step order: a shuffled file gives the verdict and
# figures of the sorted one (a spike at step 150 on a falling curve)
printf 'step,loss\n' > "$tmp/sorted.csv"
for i in $(seq 0 199); do
  awk -v i="$i" 'BEGIN{v = 0.3 + 2*exp(-i/50); if (i == 150) v *= 3; printf "%d,%.6g\n", i, v}' >> "$tmp/sorted.csv"
done
{ head -1 "$tmp/sorted.csv"; tail -n +2 "$tmp/sorted.csv" | awk 'BEGIN{srand(7)} {print rand() "\t" $0}' | sort -n | cut -f2-; } > "$tmp/shuffled.csv"
check shuffled_differs sh -c '! cmp -s "$1" "$2"' _ "$tmp/sorted.csv" "$tmp/shuffled.csv"
field() { "$RAVINE" diagnose "$1" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]])" "$2"; }
expect_out sorted_verdict spiky field "$tmp/sorted.csv" verdict
expect_out shuffled_verdict spiky field "$tmp/shuffled.csv" verdict
expect_out shuffled_spike_step '[150]' field "$tmp/shuffled.csv" spike_steps
expect_out shuffled_first_last "0 199" sh -c '"$RAVINE" diagnose "$1" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d[\"first_step\"], d[\"last_step\"])"' _ "$tmp/shuffled.csv"
expect_out shuffled_noted True field "$tmp/shuffled.csv" sorted
expect_out sorted_not_noted False field "$tmp/sorted.csv" sorted
check shuffled_same_figures sh -c 'a=$("$RAVINE" diagnose "$1" --json | sed "s/\"sorted\":[a-z]*//"); b=$("$RAVINE" diagnose "$2" --json | sed "s/\"sorted\":[a-z]*//; s|$2|$1|"); [ "$a" = "$b" ]' _ "$tmp/sorted.csv" "$tmp/shuffled.csv"
printf 'step,loss\n0,1\n1,0.9\n1,0.8\n2,0.7\n' > "$tmp/dup.csv"
expect_err duplicate_step "ravine: $tmp/dup.csv: step 1 has two loss values (0.9 and 0.8); keep one run's rows per step" \
  "$RAVINE" diagnose "$tmp/dup.csv"
finish
