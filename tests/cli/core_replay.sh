# ravine replay: exact rows for the seed's examples, schedules, and errors.
. "$(dirname "$0")/../cli_lib.sh"

printf '0.25,-0.5\n' > "$tmp/g1.csv"
# Seed 000's AdamW example: torch order 0.899, the seed's order 0.8991 (float32, %.9g);
# torch.optim.AdamW gives 0.8990000486373901 (its denominator rounds to 0.25000003)
expect_out adamw_torch_order "step,p0,p1
1,0.899000049,-0.899000049" \
  "$RAVINE" replay --optim 'adamw(lr=0.1, weight_decay=0.01)' --init 1,-1 --grads "$tmp/g1.csv"
expect_out adamw_seed_order "step,p0,p1
1,0.899100065,-0.899100065" \
  "$RAVINE" replay --optim 'adamw(lr=0.1, weight_decay=0.01, decay=after)' --init 1,-1 --grads "$tmp/g1.csv"

# Seed 000's SGD step on the delivery batch (torch.optim.SGD: -0.10000000149011612, 1.4889999628067017)
printf '18.0,0.22\n' > "$tmp/g2.csv"
expect_out sgd_delivery "step,p0,p1
1,-0.100000001,1.48899996" \
  "$RAVINE" replay --optim 'sgd(lr=0.05)' --init 0.8,1.5 --grads "$tmp/g2.csv"

# A schedule sets update k's lr to schedule(k): step(lr=1, step_size=1, gamma=0.5)
# gives lr 1, 0.5, 0.25 for a constant gradient of 1 on sgd: 0 -> -1 -> -1.5 -> -1.75
printf '1\n1\n\n# comment lines and blank lines are skipped\n1\n' > "$tmp/g3.csv"
expect_out schedule "step,p0
1,-1
2,-1.5
3,-1.75" \
  "$RAVINE" replay --optim sgd --init 0 --grads "$tmp/g3.csv" --schedule 'step(lr=1, step_size=1, gamma=0.5)'

# momentum buffer starts as a copy of the first gradient (torch): 0 -> -1 -> -2.9
printf '1\n1\n' > "$tmp/g4.csv"
expect_out sgd_momentum "step,p0
1,-1
2,-2.9000001" \
  "$RAVINE" replay --optim 'sgd(lr=1, momentum=0.9)' --init 0 --grads "$tmp/g4.csv"

# errors: exit 2, one line naming what and why
printf '1,2\n3\n' > "$tmp/bad.csv"
expect_err short_row "ravine: $tmp/bad.csv line 2: expected 2 values, got 1" \
  "$RAVINE" replay --optim sgd --init 0,0 --grads "$tmp/bad.csv"
printf '1,x\n' > "$tmp/bad2.csv"
expect_err not_a_number "ravine: $tmp/bad2.csv line 1: value 2 ('x') is not a number" \
  "$RAVINE" replay --optim sgd --init 0,0 --grads "$tmp/bad2.csv"
: > "$tmp/empty.csv"
expect_err empty "ravine: $tmp/empty.csv: no data rows" \
  "$RAVINE" replay --optim sgd --init 0 --grads "$tmp/empty.csv"
expect_err missing_file "ravine: $tmp/nope.csv: cannot open: No such file or directory" \
  "$RAVINE" replay --optim sgd --init 0 --grads "$tmp/nope.csv"
expect_err bad_spec "ravine: --optim: spec 'adam(lr=-1)': lr must be >= 0, got -1" \
  "$RAVINE" replay --optim 'adam(lr=-1)' --init 0 --grads "$tmp/g3.csv"
expect_err bad_key "ravine: --optim: spec 'adam(betas=(0.9,0.99),lrr=1)': unknown key 'lrr' for adam (did you mean 'lr'?)" \
  "$RAVINE" replay --optim 'adam(betas=(0.9,0.99), lrr=1)' --init 0 --grads "$tmp/g3.csv"
expect_err bad_schedule "ravine: --schedule: spec 'cosine(lr=1)': cosine needs the key 't_max'" \
  "$RAVINE" replay --optim sgd --init 0 --grads "$tmp/g3.csv" --schedule 'cosine(lr=1)'
expect_err bad_init "ravine: --init: '1,,2' is not a comma-separated list of numbers" \
  "$RAVINE" replay --optim sgd --init 1,,2 --grads "$tmp/g3.csv"
expect_err no_optim "ravine: replay: --optim SPEC is required" \
  "$RAVINE" replay --init 0 --grads "$tmp/g3.csv"
expect_err unknown_option "ravine: replay: unknown option '--optimizer' (did you mean '--optim'?)" \
  "$RAVINE" replay --optimizer sgd --init 0 --grads "$tmp/g3.csv"
expect_err unknown_command "ravine: replya: unknown command (did you mean 'replay'?)" "$RAVINE" replya
check help_lists_replay sh -c '"$RAVINE" --help | grep -q "^  replay "'
check replay_help sh -c '"$RAVINE" replay --help | grep -q -- "--schedule SPEC"'

# --dtype bf16: a float32 master stepped by torch's AdamW rule, the parameters rounded to
# nearest even: bf16(0.899000049) = 0.8984375, bf16(0.808243513) = 0.80859375,
# bf16(-0.878951252) = -0.87890625 (bf16 steps near 0.9 are 2^-8)
printf '0.25,-0.5\n0.1,0.3\n' > "$tmp/g5.csv"
expect_out bf16_adamw "step,p0,p1
1,0.8984375,-0.8984375
2,0.80859375,-0.87890625" \
  "$RAVINE" replay --optim 'adamw(lr=0.1)' --init 1,-1 --grads "$tmp/g5.csv" --dtype bf16
# the initial parameters are rounded too: 1.001 is 1 in bf16, and sgd then moves it by 0.25
printf '1\n' > "$tmp/g6.csv"
expect_out bf16_init_rounded "step,p0
1,0.75" \
  "$RAVINE" replay --optim 'sgd(lr=0.25)' --init 1.001 --grads "$tmp/g6.csv" --dtype bf16
expect_err bf16_bad_dtype "ravine: --dtype: 'fp16': expected fp32 or bf16" \
  "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/g6.csv" --dtype fp16
# --shape: the dimensions must multiply to the parameter count, and a
# product past a size_t is named as such (2^32 * 2^32 wraps to 0)
expect_err shape_mismatch "ravine: --shape: '2,2' holds 4 values, the parameters are 3" \
  "$RAVINE" replay --optim sgd --init 1,2,3 --grads "$tmp/g6.csv" --shape 2,2
expect_err shape_not_whole "ravine: --shape: '1.5,2': dimensions must be whole numbers >= 1" \
  "$RAVINE" replay --optim sgd --init 1,2,3 --grads "$tmp/g6.csv" --shape 1.5,2
expect_err shape_overflow "ravine: --shape: '4294967296,4294967296': the product of the dimensions overflows (the parameters are 1)" \
  "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/g6.csv" --shape 4294967296,4294967296
expect_err shape_past_size_t "ravine: --shape: '1e30': the product of the dimensions overflows (the parameters are 1)" \
  "$RAVINE" replay --optim sgd --init 1 --grads "$tmp/g6.csv" --shape 1e30
finish
