# ravine diagnose on the labelled curves of tests/fixtures/curves: the verdict
# must be the file name up to the first '_', and the key figures must be right.
. "$(dirname "$0")/../cli_lib.sh"
curves="$RAVINE_FIXTURES/curves"

n=0
for f in "$curves"/*.csv; do
  name=$(basename "$f" .csv)
  want=${name%%_*}
  got=$("$RAVINE" diagnose "$f" --json | sed -n 's/^{"verdict":"\([a-z]*\)".*/\1/p')
  n=$((n + 1))
  if [ "$got" = "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $name: verdict '$got', want '$want'"; "$RAVINE" diagnose "$f"; fi
done
check at_least_20_labelled_curves [ "$n" -ge 20 ]

# curves of live runs, straight from ravine trace
live() { "$RAVINE" trace "$@" > "$tmp/live.csv" && "$RAVINE" diagnose "$tmp/live.csv" --json | sed -n 's/^{"verdict":"\([a-z]*\)".*/\1/p'; }
expect_out live_sgd_above_limit diverging live --surface 'bowl(kappa=10)' --optim 'sgd(lr=0.25)' --steps 100
expect_out live_sgd_tiny_lr plateau live --surface 'bowl(kappa=10)' --optim 'sgd(lr=1e-5)' --steps 200
expect_out live_adam healthy live --surface 'bowl(kappa=10)' --optim 'adam(lr=0.1)' --steps 100
expect_out live_teeth oscillating live --surface himmelblau --optim 'sgd(lr=0.028)' --start 2.5,2.5 --steps 200

# field FILE KEY: the raw JSON value of KEY
field() { "$RAVINE" diagnose "$1" --json | sed -n "s/.*\"$2\":\(\[[^]]*\]\|\"[^\"]*\"\|[^,}]*\).*/\1/p"; }
expect_out nan_step 160 field "$curves/diverging_nan_tail.csv" first_nonfinite_step
expect_out inf_step 150 field "$curves/diverging_inf.csv" first_nonfinite_step
expect_out overflow_step 215 field "$curves/diverging_trace_bowl_sgd_lr0.25_overflow.csv" first_nonfinite_step
expect_out no_nonfinite null field "$curves/healthy_exp_noise.csv" first_nonfinite_step
expect_out spike_steps '[90,170,240]' field "$curves/spiky_three_spikes.csv" spike_steps
# steps come from the Step column (every 100 updates); 333 and 334 are one event
expect_out spike_steps_from_step_column '[33300,48000]' field "$curves/spiky_lm_loss_spikes.csv" spike_steps
expect_out wandb_column '"run-7 - train/loss"' field "$curves/healthy_wandb_export.csv" column
expect_out wandb_last_step 1990 field "$curves/healthy_wandb_export.csv" last_step
expect_out underscore_step 14950 field "$curves/diverging_from_start.csv" last_step
expect_out ends_with_loss '"lm/loss"' field "$curves/plateau_wandb_extra_columns.csv" column
# rows 3, 10, ..., 238 have an empty loss cell: 34 of 240
expect_out empty_cells 34 field "$curves/healthy_missing_cells.csv" empty_cells
expect_out points_with_empty_cells 206 field "$curves/healthy_missing_cells.csv" points
expect_out one_per_line_points 400 field "$curves/healthy_lm_one_per_line.csv" points
expect_out short_is_limited true field "$curves/healthy_short.csv" limited
expect_out negative_loss_linear '"linear"' field "$curves/healthy_negative_elbo.csv" scale
# a pure two-value zig-zag: every change flips sign, each tooth is log 2
printf 'loss\n' > "$tmp/teeth.csv"
for i in $(seq 1 20); do printf '1\n2\n' >> "$tmp/teeth.csv"; done
expect_out teeth_verdict '"oscillating"' field "$tmp/teeth.csv" verdict
expect_out teeth_sign_changes 1 field "$tmp/teeth.csv" sign_change_rate
expect_out teeth_size 0.693147181 field "$tmp/teeth.csv" tooth_size
# NaN in the middle is a missing value; the run recovers
printf 'step,loss\n' > "$tmp/gap.csv"
for i in $(seq 0 39); do
  if [ "$i" = 17 ]; then echo "$i,nan" >> "$tmp/gap.csv"; else echo "$i,$(awk "BEGIN{print 3*0.9^$i}")" >> "$tmp/gap.csv"; fi
done
expect_out nan_gap_missing 1 field "$tmp/gap.csv" missing
expect_out nan_gap_verdict '"healthy"' field "$tmp/gap.csv" verdict
# a column picked by name
printf 'step,train/loss,val/loss\n0,1,5\n1,0.9,8\n2,0.8,13\n' > "$tmp/two.csv"
expect_out column_default '"train/loss"' field "$tmp/two.csv" column
expect_out column_option '"diverging"' sh -c '"$RAVINE" diagnose "$1" --column val/loss --json | sed -n "s/^{\"verdict\":\(\"[a-z]*\"\).*/\1/p"' _ "$tmp/two.csv"
# readable report
check text_report sh -c '"$RAVINE" diagnose "$1" | grep -q "^  advice:  the loss is growing: lower the learning rate"' _ "$curves/diverging_late_growth.csv"
check text_verdict_line sh -c '"$RAVINE" diagnose "$1" | head -1 | grep -q ": plateau$"' _ "$curves/plateau_stuck.csv"
finish
