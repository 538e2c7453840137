# ravine race and sweep: CONTRACTS section 3 JSON, hand-checked figures, errors.
. "$(dirname "$0")/../cli_lib.sh"

# sgd lr 0.1 on the bowl: y = 0 after one step, x = -4*0.9^k, loss 8*0.81^k < 0.5
# first at k = 14 (ln 16 / ln(1/0.81) = 13.2); Newton is exact in one step;
# lr 0.3 > 2/kappa = 0.2 diverges (the loss passes 1e6 x its start)
expect_out race_json '{"results":[{"optim":"sgd(lr=0.1)","steps_to_threshold":14,"final_loss":0.0143760801,"diverged":false},{"optim":"newton","steps_to_threshold":1,"final_loss":0,"diverged":false},{"optim":"sgd(lr=0.3)","steps_to_threshold":null,"final_loss":5.76460752e+18,"diverged":true}]}' \
  "$RAVINE" race --surface bowl --optims 'sgd(lr=0.1); newton; sgd(lr=0.3)' --start -4,1 --steps 30 --threshold 0.5 --json

# the race agrees with the trace: row 14 is the first loss below 0.5
check race_matches_trace test "$("$RAVINE" trace --surface bowl --optim 'sgd(lr=0.1)' --start -4,1 --steps 30 |
  awk -F, 'NR > 1 && $4 < 0.5 { print $1; exit }')" = 14

# a start below the threshold already: k = 0 (at the minimum every lr stays put);
# overflow to inf/nan is reported as null
expect_out race_zero '{"results":[{"optim":"sgd","steps_to_threshold":0,"final_loss":0,"diverged":false},{"optim":"sgd(lr=1)","steps_to_threshold":0,"final_loss":0,"diverged":false}]}' \
  "$RAVINE" race --surface bowl --optims 'sgd;sgd(lr=1)' --start 0,0 --steps 5 --threshold 1e-9 --json
expect_out race_overflow_nan '{"results":[{"optim":"sgd(lr=1)","steps_to_threshold":null,"final_loss":null,"diverged":true}]}' \
  "$RAVINE" race --surface bowl --optims 'sgd(lr=1)' --start -4,1 --steps 200 --threshold 1e-9 --json

# the human table and the seed's default race (four optimizers, delivery, 0.2)
"$RAVINE" race > "$tmp/seed.txt"; rc=$?
check seed_race_runs test $rc -eq 0
check seed_race_surface grep -q '^race on delivery(standardize=true,n=64,seed=42,noise=2,km=false) from (0, 0), 100 steps, threshold 0.2$' "$tmp/seed.txt"
check seed_race_winner grep -q '^first below 0.2: sgd(lr=0.1, momentum=0.9), after 3 steps$' "$tmp/seed.txt"
"$RAVINE" race --json > "$tmp/seed.json"
check seed_race_json python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['results']
assert [x['optim'] for x in r] == ['sgd(lr=0.1)', 'sgd(lr=0.1, momentum=0.9)', 'adam(lr=0.1)', 'adamw(lr=0.1)']
assert [x['steps_to_threshold'] for x in r] == [6, 3, 4, 4], r
assert all(not x['diverged'] and x['final_loss'] < 0.014 for x in r)
" "$tmp/seed.json"

# sweep: lr 0.01, 0.1, 1 on the bowl; 0.1 is best, 1 diverges (|1 - 10| > 1)
expect_out sweep_json '{"surface":"bowl(kappa=10)","optim":"sgd","steps":50,"threshold":0.5,"results":[{"lr":0.01,"steps_to_threshold":null,"final_loss":2.92839242,"diverged":false},{"lr":0.1,"steps_to_threshold":14,"final_loss":0.000212491153,"diverged":false},{"lr":1,"steps_to_threshold":null,"final_loss":null,"diverged":true}],"best_lr":0.1}' \
  "$RAVINE" sweep --surface bowl --optim sgd --lr 0.01:1:3 --steps 50 --threshold 0.5 --json
"$RAVINE" sweep --surface rosenbrock --optim 'adam' --json > "$tmp/sweep.json"
check sweep_default_grid python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
lrs = [x['lr'] for x in d['results']]
assert len(lrs) == 25 and abs(lrs[0] - 1e-4) < 1e-12 and abs(lrs[-1] - 1) < 1e-12, lrs
assert abs(lrs[6] / lrs[5] - 10 ** (4 / 24)) < 1e-6
assert d['best_lr'] in lrs and abs(d['threshold'] - 0.0242) < 1e-12
" "$tmp/sweep.json"
check sweep_table sh -c "'$RAVINE' sweep --surface bowl --optim sgd --lr 0.01:1:3 --steps 50 --threshold 0.5 | grep -q '^best lr: 0.1$'"

expect_err race_bad_optim "ravine: --optims: spec 'adamm(lr=0.1)': unknown optimizer 'adamm' (did you mean 'adam'?)" \
  "$RAVINE" race --surface bowl --optims 'sgd; adamm(lr=0.1)'
expect_err race_empty "ravine: --optims: ' ; ': no optimizer specs (separate them with ';')" \
  "$RAVINE" race --optims ' ; '
expect_err race_threshold "ravine: --threshold: 'abc' is not a finite number" \
  "$RAVINE" race --threshold abc
expect_err race_start_domain "ravine: --start: rastrigin(a=10): (9, 9) is outside the domain [-5.12, 5.12] x [-5.12, 5.12]" \
  "$RAVINE" race --surface rastrigin --optims sgd --start 9,9
expect_err sweep_grid "ravine: --lr: '1:0.1:5': need 0 < LO < HI" \
  "$RAVINE" sweep --surface bowl --optim sgd --lr 1:0.1:5
expect_err sweep_count "ravine: --lr: '1e-3:1:2.5': N must be a whole number in [2, 1000]" \
  "$RAVINE" sweep --surface bowl --optim sgd --lr 1e-3:1:2.5
expect_err sweep_no_minimum "ravine: sweep: saddle has no known minimum: give --threshold T" \
  "$RAVINE" sweep --surface saddle --optim sgd
expect_err sweep_missing_optim "ravine: sweep: --optim SPEC is required" \
  "$RAVINE" sweep --surface bowl
finish
