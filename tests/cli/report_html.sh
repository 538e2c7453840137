# ravine report: the page, its pictures, and its key numbers, each checked
# against what ravine's other commands compute on their own.
. "$(dirname "$0")/../cli_lib.sh"

dir="$tmp/a/report"   # parents are created
expect_out prints_path "report: $dir/index.html (12 figures)" "$RAVINE" report --out "$dir"
html="$dir/index.html"
pictures="bowl_contour bowl_loss delivery_raw_contour delivery_raw_loss delivery_std_contour delivery_std_loss
  sweep_bowl sweep_delivery_raw schedules diagnose_exploding diagnose_stalled diagnose_teeth"
for p in $pictures; do
  check "svg_$p" wellformed "$dir/$p.svg"
done
expect_out inline_svgs 12 sh -c 'grep -c "^<svg xmlns" "$1"' _ "$html"
check self_contained sh -c '! grep -q "<script\|<link\|<img" "$1"' _ "$html"
check sections sh -c 'for id in bowl delivery sweeps schedules diagnosis memory charlm gpt; do grep -q "<h2 id=\"$id\">" "$1" || exit 1; done' _ "$html"
# five optimizers on the bowl map: five paths and the minimum, five starts, five ends
expect_out bowl_paths 5 sh -c 'grep -o "class=\"series\"" "$1" | wc -l | tr -d " "' _ "$dir/bowl_contour.svg"

# key NAME: the text of the element carrying data-key="NAME"
key() {
  awk -v k="data-key=\"$1\">" '{ i = index($0, k); if (i) { s = substr($0, i + length(k)); sub(/<.*/, "", s); print s; exit } }' "$html"
}

# the race table against ravine race, optimizer by optimizer
race=$("$RAVINE" race --surface 'bowl(kappa=10)' --optims 'sgd(lr=0.19);sgd(lr=0.05, momentum=0.9);adam(lr=0.1);adamw(lr=0.1);newton' \
  --steps 100 --threshold 0.2 --json)
for o in 'sgd(lr=0.19)' 'sgd(lr=0.05, momentum=0.9)' 'adam(lr=0.1)' 'adamw(lr=0.1)' newton; do
  want_steps=$(printf '%s' "$race" | tr '{' '\n' | grep -F "\"optim\":\"$o\"" | sed 's/.*"steps_to_threshold":\([^,]*\).*/\1/')
  want_final=$(printf '%s' "$race" | tr '{' '\n' | grep -F "\"optim\":\"$o\"" | sed 's/.*"final_loss":\([^,]*\).*/\1/')
  expect_out "race_steps_$o" "$want_steps" key "bowl:$o:steps"
  expect_out "race_final_$o" "$want_final" key "bowl:$o:final"
done
# and against a trace: the least k with loss < 0.2
want=$("$RAVINE" trace --surface bowl --optim 'adam(lr=0.1)' --steps 100 | awk -F, 'NR > 1 && $4 < 0.2 { print $1; exit }')
expect_out race_matches_trace "$want" key "bowl:adam(lr=0.1):steps"
check winner_row grep -q '<tr class="win"><td><code>newton</code></td><td class="num" data-key="bowl:newton:steps">1</td>' "$html"
# the second race, of the newer rules, against ravine race
newer='nadam(lr=0.25);radam(lr=0.32);adamax(lr=0.89);lion(lr=0.25);sfadamw(lr=0.89);adam(lr=0.1)'
race=$("$RAVINE" race --surface 'bowl(kappa=10)' --optims "$newer" --steps 100 --threshold 0.2 --json)
for o in $(printf '%s' "$newer" | tr ';' ' '); do
  want_steps=$(printf '%s' "$race" | tr '{' '\n' | grep -F "\"optim\":\"$o\"" | sed 's/.*"steps_to_threshold":\([^,]*\).*/\1/')
  want_final=$(printf '%s' "$race" | tr '{' '\n' | grep -F "\"optim\":\"$o\"" | sed 's/.*"final_loss":\([^,]*\).*/\1/')
  expect_out "newer_steps_$o" "$want_steps" key "bowl_newer:$o:steps"
  expect_out "newer_final_$o" "$want_final" key "bowl_newer:$o:final"
done
check newer_winner grep -q '<tr class="win"><td><code>radam(lr=0.32)</code></td><td class="num" data-key="bowl_newer:radam(lr=0.32):steps">5</td>' "$html"

# curvature against ravine curvature: the bowl's is exact (1 and 10)
expect_out bowl_condition 10 key bowl:condition
expect_out bowl_lr_max 0.2 key bowl:lr_max
for v in raw std; do
  spec=delivery; [ $v = std ] && spec='delivery(standardize=true)'
  want=$("$RAVINE" curvature --surface "$spec" --json | sed 's/.*"condition":\([^,]*\).*/\1/')
  expect_out "delivery_${v}_condition" "$want" key "delivery_$v:condition"
done
# standardizing removes the ravine: raw condition number over 40, standardized under 2
check raw_is_a_ravine awk -v c="$(key delivery_raw:condition)" 'BEGIN { exit !(c > 40) }'
check std_is_round awk -v c="$(key delivery_std:condition)" 'BEGIN { exit !(c < 2) }'
# the seed's SGD lr 0.05 is above 2/lambda_max on the raw data and diverges there
expect_out raw_sgd_diverges "diverged (NaN)" key "delivery_raw:sgd(lr=0.05):final"
expect_out raw_sgd_never never key "delivery_raw:sgd(lr=0.05):steps"

# schedules against ravine schedule
for t in 0 50 100 300 600 999; do
  want=$("$RAVINE" schedule 'warmup_cosine(peak=1e-3, warmup_steps=100, decay_steps=1000)' --steps 1000 | awk -F, -v t=$t '$1 == t { print $2 }')
  expect_out "schedule_t$t" "$want" key "schedule3:$t"
done
expect_out step_schedule_300 0.0003 key schedule0:300

# diagnosis of real runs
expect_out exploding_verdict diverging key exploding:verdict
expect_out stalled_verdict plateau key stalled:verdict
expect_out teeth_verdict oscillating key teeth:verdict

# memory: 4 bytes each for weights, gradient and every state buffer
expect_out memory_sgd 8 key memory:sgd
expect_out memory_adam 16 key memory:adam
expect_out memory_amsgrad 20 key 'memory:adam(amsgrad=true)'

# the language model's picture is included when it is there
check charlm_absent grep -q "Not included: <code>charlm_compare.svg</code> is not in this folder.* <code>examples/charlm --compare --out $dir</code>" "$html"
printf '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>charlm-marker</text></svg>\n' > "$dir/charlm_compare.svg"
expect_out charlm_counted "report: $dir/index.html (13 figures)" "$RAVINE" report --out "$dir"
check charlm_inlined grep -q '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>charlm-marker</text></svg>' "$html"
check charlm_no_prolog sh -c '! grep -q "<?xml" "$1"' _ "$html"

# and the GPT race's
check gpt_absent grep -q "Not included: <code>gpt_race.svg</code> is not in this folder.* <code>examples/gpt --race --out $dir</code>" "$html"
printf '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>gpt-marker</text></svg>\n' > "$dir/gpt_race.svg"
expect_out gpt_counted "report: $dir/index.html (14 figures)" "$RAVINE" report --out "$dir"
check gpt_inlined grep -q '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>gpt-marker</text></svg>' "$html"
check gpt_no_prolog sh -c '! grep -q "<?xml" "$1"' _ "$html"

# and the state-precision curves'
check states_absent grep -q "Not included: <code>charlm_states.svg</code> is not in this folder.* <code>examples/charlm --states --out $dir</code>" "$html"
printf '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>states-marker</text></svg>\n' > "$dir/charlm_states.svg"
expect_out states_counted "report: $dir/index.html (15 figures)" "$RAVINE" report --out "$dir"
check states_inlined grep -q '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>states-marker</text></svg>' "$html"

# a relative --out prints an absolute path
(cd "$tmp" && "$RAVINE" report --out rel > out.txt)
expect_out relative_path "report: $(cd "$tmp" && pwd)/rel/index.html (12 figures)" cat "$tmp/out.txt"

expect_err no_out "ravine: report: --out DIR is required (the folder for index.html and the pictures)" "$RAVINE" report
: > "$tmp/file"
expect_err out_is_a_file "ravine: $tmp/file: not a directory" "$RAVINE" report --out "$tmp/file"
finish
