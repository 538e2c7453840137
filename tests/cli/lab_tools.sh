# ravine gradcheck, curvature, explain and memory: figures, exit codes, errors.
. "$(dirname "$0")/../cli_lib.sh"

# gradcheck passes for every surface at its three default points (exit 0)
for s in bowl 'quadratic(a=2,b=1,c=3,d=1,e=-1)' rosenbrock beale himmelblau saddle rastrigin \
         delivery 'delivery(standardize=true)' 'delivery(km=true)' expr \
         'expr(f="sin(x)*exp(y/3) + log(2 + x^2)*sqrt(1 + y^2) - tanh(x*y)")'; do
  "$RAVINE" gradcheck --surface "$s" > "$tmp/gc.txt"; rc=$?
  check "gradcheck_pass: $s" test $rc -eq 0
  check "gradcheck_three_points: $s" test "$(grep -c '  pass$' "$tmp/gc.txt")" -eq 3
done
# a mismatch exits 1: |x| within a difference step of its kink
"$RAVINE" gradcheck --surface 'expr(f="abs(x)")' --at '5e-6,0;1,1' > "$tmp/gc.txt"; rc=$?
check gradcheck_mismatch_exit test $rc -eq 1
check gradcheck_mismatch_row grep -q '^(5e-06, 0) .* FAIL$' "$tmp/gc.txt"
"$RAVINE" gradcheck --surface rosenbrock --at '1,1;-1.2,1' --json > "$tmp/gc.json"
check gradcheck_json python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['pass'] and len(d['points']) == 2
p = d['points'][0]
assert p['at'] == [1, 1] and p['grad'] == [0, 0] and p['hess'] == [802, -400, -400, 200]
" "$tmp/gc.json"

# curvature of seed 002's bowl: eigenvalues 1 and 10, lr < 2/10, beta = (1 - sqrt(0.1))^2
expect_out curvature_bowl_json '{"surface":"bowl(kappa=10)","at":[-4,1],"f":13,"gradient":[-4,10],"hessian":[[1,0],[0,10]],"eigenvalues":[1,10],"eigenvectors":[[1,0],[0,1]],"condition":10,"sgd_lr_max":0.2,"momentum":{"lr":0.1,"beta":0.467544468},"newton_step":[4,-1]}' \
  "$RAVINE" curvature --surface bowl --json
"$RAVINE" curvature --surface saddle --at 1,1 --json > "$tmp/saddle.json"
check curvature_saddle python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['eigenvalues'] == [-1, 1] and d['condition'] == 1
assert d['momentum'] == {'lr': 1, 'beta': None}, d['momentum']
" "$tmp/saddle.json"
check curvature_text sh -c "'$RAVINE' curvature --surface rosenbrock --at 1,1 | grep -q '^condition    2508.0096 '"

# explain: seed 000's worked numbers
"$RAVINE" explain --optim 'sgd(lr=0.05)' --params 0.8,1.5 --grads 18,0.22 > "$tmp/sgd.txt"
check explain_sgd_w2 grep -q '^  p   = p - lr\*d = 1.5 - 0.05\*0.22 = 1.489$' "$tmp/sgd.txt"
check explain_sgd_last grep -q '^params after 1 update: -0.100000001,1.48899996$' "$tmp/sgd.txt"
"$RAVINE" explain --optim 'adamw(lr=0.1, decay=after)' --params 1,-1 --grads 0.25,-0.5 > "$tmp/adamw.txt"
check explain_adamw_mhat grep -q '^  m_hat = m/(1-beta1^1) = 0.025/0.1 = 0.25$' "$tmp/adamw.txt"
check explain_adamw_decay grep -q '^  decay (after, seed 000): p = p - lr\*weight_decay\*p = 0.90000004 - 0.001\*0.90000004 = 0.89910007$' "$tmp/adamw.txt"
check explain_adamw_last grep -q '^params after 1 update: 0.899100065,-0.899100065$' "$tmp/adamw.txt"
# explain's parameters are replay's: same kernels
printf '0.25,-0.5\n0.1,0.3\n-0.2,0.05\n' > "$tmp/g.csv"
check explain_equals_replay test "$("$RAVINE" explain --optim 'adam(lr=0.1)' --params 1,-1 --grads '0.25,-0.5;0.1,0.3;-0.2,0.05' | tail -1 | sed 's/.*: //')" = \
  "$("$RAVINE" replay --optim 'adam(lr=0.1)' --init 1,-1 --grads "$tmp/g.csv" | tail -1 | cut -d, -f2-)"
check explain_steps_cycle test "$("$RAVINE" explain --optim 'sgd(lr=0.1)' --params 1 --grads '1;2' --steps 3 | grep -c '^update ')" -eq 3

# memory: seed 000's multiples (sgd 1x, momentum 2x, adam/adamw 3x), real bytes
"$RAVINE" memory --params 1000 --json > "$tmp/mem.json"
check memory_json python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
m = {r['optim']: r for r in d['results']}
assert d['grads_counted'] is False
assert [m[k]['multiple'] for k in ('sgd', 'sgd(momentum=0.9)', 'adam', 'adamw')] == [1, 2, 3, 3]
assert m['adamw']['params_and_state_bytes'] == 12000 and m['adamw']['with_grads_bytes'] == 16000
assert m['adam(amsgrad=true)']['state_buffers'] == ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']
" "$tmp/mem.json"
# every storage: adamw keeps 8 bytes of state per parameter in fp32, 4 in bf16, and in int8
# 2 bytes plus a float32 scale per 256 values (2 * 4/256); bf16 parameters add a float32 master
check memory_storage python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
s = {(r['optim'], r['params'], r['state']): r for r in d['storage']}
assert s[('adamw', 'fp32', 'fp32')]['bytes_per_param'] == 12
assert s[('adamw', 'fp32', 'bf16')]['bytes_per_param'] == 8
assert s[('adamw', 'fp32', 'int8')]['bytes_per_param'] == 6.03125
assert s[('adamw', 'bf16', 'int8')]['bytes_per_param'] == 8.03125
assert s[('adamw', 'bf16', 'int8')]['with_grads_bytes_per_param'] == 10.03125
assert s[('sfadamw', 'fp32', 'int8')]['bytes_per_param'] == 4 + 4 + 1 + 4 / 256   # z stays float32
assert s[('lion', 'fp32', 'bf16')]['bytes_per_param'] == 6
assert ('muon', 'fp32', 'int8') not in s and s[('muon', 'fp32', 'fp32')]['bytes_per_param'] == 8
assert abs(s[('adafactor', 'fp32', 'fp32')]['bytes_per_param'] - (4 + 4 * (768 + 3072) / (768 * 3072))) < 1e-8
" "$tmp/mem.json"
check memory_table sh -c "'$RAVINE' memory --params 1000000000 | grep -q '^adamw  .* 3x  *11.18 GiB  *14.90 GiB$'"

expect_err gradcheck_at "ravine: --at: '1,2;3': point 2 is not X,Y" \
  "$RAVINE" gradcheck --surface bowl --at '1,2;3'
expect_err gradcheck_domain "ravine: --at: rastrigin(a=10): (6, 0) is outside the domain [-5.12, 5.12] x [-5.12, 5.12]" \
  "$RAVINE" gradcheck --surface rastrigin --at 6,0
expect_err curvature_expr_domain "ravine: --at: expr(f=\"1/x\") at (0, 1): division by zero (the divisor is 0) (column 2 of '1/x')" \
  "$RAVINE" curvature --surface 'expr(f="1/x")' --at 0,1
expect_err curvature_unknown "ravine: --surface: spec 'rosenbrok': unknown surface 'rosenbrok' (did you mean 'rosenbrock'?)" \
  "$RAVINE" curvature --surface rosenbrok
expect_err explain_rows "ravine: --grads: row 2 ('1') has 1 values, expected 2 (one per parameter)" \
  "$RAVINE" explain --optim sgd --params 1,2 --grads '1,2;1'
expect_err explain_optim "ravine: --optim: spec 'adam(betas=(0.9,1.5))': beta2 must be in [0, 1), got 1.5" \
  "$RAVINE" explain --optim 'adam(betas=(0.9,1.5))' --params 1 --grads 1
expect_err memory_params "ravine: --params: 0 is out of range [1, 1000000000000000]" \
  "$RAVINE" memory --params 0
# the storage table: cells rounded to thousandths, printed with %.9g
check memory_storage_cells sh -c "'$RAVINE' memory | grep -q '^adamw  *fp32  *12 \[16\]  *8 \[12\]  *6.031 \[10.031\]$'"
check memory_storage_adafactor sh -c "'$RAVINE' memory | grep -q '^adafactor  *fp32  *4.007 \[8.007\]  *-  *-$'"

# optimizers that update whole tensors need a shape: the lab's commands point to replay
why="updates whole tensors and needs their shape, which the lab's (x, y) point does not give"
expect_err trace_muon "ravine: --optim: muon $why: run it on recorded gradients with \`ravine replay --optim muon --shape R,C\`" \
  "$RAVINE" trace --surface bowl --optim 'muon(lr=0.02)' --steps 3
expect_err trace_adafactor "ravine: --optim: adafactor $why: run it on recorded gradients with \`ravine replay --optim adafactor --shape R,C\`" \
  "$RAVINE" trace --surface bowl --optim adafactor --steps 3
expect_err race_muon "ravine: --optims: muon $why: run it on recorded gradients with \`ravine replay --optim muon --shape R,C\`" \
  "$RAVINE" race --optims 'adam(lr=0.1); muon' --steps 3
expect_err sweep_adafactor "ravine: --optim: adafactor $why: run it on recorded gradients with \`ravine replay --optim adafactor --shape R,C\`" \
  "$RAVINE" sweep --surface bowl --optim adafactor --lr 0.01:0.1:2 --steps 3
expect_err explain_muon "ravine: --optim: muon updates whole tensors and needs their shape; explanations cover the element-wise optimizers: run it on recorded gradients with \`ravine replay --optim muon --shape R,C\`" \
  "$RAVINE" explain --optim muon --params 1,2 --grads 1,1
# (a spec that does not parse keeps its own message)
expect_err race_bad_spec_first "ravine: --optims: spec 'adam(lr=-1)': lr must be >= 0, got -1" \
  "$RAVINE" race --optims 'adam(lr=-1); muon' --steps 3

# ravine optimizers: every registered optimizer; the element-wise ones with
# their state precisions and bytes per parameter (int8: 1 + 4/256 a value)
"$RAVINE" optimizers > "$tmp/optimizers.txt"
check optimizers_list python3 - "$tmp/optimizers.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
specs = [l for l in lines if l and not l.startswith(' ')]
names = [s.split('(')[0] for s in specs]
assert names == ['sgd', 'polyak', 'adam', 'adamw', 'rmsprop', 'adagrad', 'nadam', 'radam', 'adamax',
                 'lion', 'adafactor', 'muon', 'sfadamw'], names
state = {}
for l in lines:
    if l and not l.startswith(' '):
        cur = l.split('(')[0]
    elif l.startswith('    state=fp32|bf16|int8 (default fp32): '):
        state[cur] = l.split(': ')[1]
assert state == {'sgd': '0|0|0 bytes per parameter', 'polyak': '4|2|1.015625 bytes per parameter',
                 'adam': '8|4|2.03125 bytes per parameter', 'adamw': '8|4|2.03125 bytes per parameter',
                 'rmsprop': '4|2|1.015625 bytes per parameter',
                 'adagrad': '4|2|1.015625 bytes per parameter', 'nadam': '8|4|2.03125 bytes per parameter',
                 'radam': '8|4|2.03125 bytes per parameter', 'adamax': '8|4|2.03125 bytes per parameter',
                 'lion': '4|2|1.015625 bytes per parameter',
                 'sfadamw': '8|6|5.015625 bytes per parameter'}, state   # sfadamw's z stays float32
assert '768x3072: 3840 floats, 0.0016 per parameter' in '\n'.join(lines)
PY
finish
