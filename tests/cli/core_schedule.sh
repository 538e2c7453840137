# ravine schedule: exact rows and errors.
. "$(dirname "$0")/../cli_lib.sh"

expect_out cosine "step,lr
0,0.1
1,0.0853553391
2,0.05
3,0.0146446609
4,0
5,0" "$RAVINE" schedule 'cosine(lr=0.1, t_max=4)' --steps 6
expect_out warmup_cosine "step,lr
0,0
1,0.5
2,1
3,0.5
4,0" "$RAVINE" schedule 'warmup_cosine(peak=1, warmup_steps=2, decay_steps=4)' --steps 5
expect_out step "step,lr
0,1
1,1
2,0.1
3,0.1" "$RAVINE" schedule 'step(lr=1, step_size=2)' --steps=4
expect_out zero_steps "step,lr" "$RAVINE" schedule 'constant(lr=1)' --steps 0
expect_err no_steps "ravine: schedule: --steps N is required" "$RAVINE" schedule 'constant(lr=1)'
expect_err bad_steps "ravine: --steps: 'ten' is not a whole number" "$RAVINE" schedule 'constant(lr=1)' --steps ten
expect_err negative_steps "ravine: --steps: -1 is out of range [0, 100000000]" "$RAVINE" schedule 'constant(lr=1)' --steps -1
expect_err unknown "ravine: schedule: spec 'cosin(lr=1)': unknown schedule 'cosin' (did you mean 'cosine'?)" \
  "$RAVINE" schedule 'cosin(lr=1)' --steps 3
expect_err range "ravine: schedule: spec 'exponential(lr=1,gamma=-2)': gamma=-2: must be >= 0" \
  "$RAVINE" schedule 'exponential(lr=1, gamma=-2)' --steps 3
expect_err syntax "ravine: schedule: spec 'cosine(lr=1,': expected key=value (arguments are keywords only) at column 13" \
  "$RAVINE" schedule 'cosine(lr=1,' --steps 3
finish
