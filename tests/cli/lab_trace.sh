# ravine trace: CONTRACTS section 3 rows, and every bad input is one line on stderr, exit 2.
. "$(dirname "$0")/../cli_lib.sh"

# sgd lr 0.1 on seed 002's bowl: y = 1 - 0.1*10*1 = 0 at once, x shrinks by 0.9; in float32
# (one fused multiply-add per update, as torch) y is 1 - 10*float(0.1) = -1.5e-8, then ~0
expect_out sgd_bowl "step,x,y,loss
0,-4,1,13
1,-3.5999999,-1.49011612e-08,6.47999966
2,-3.24000001,2.22044605e-16,5.24880003
3,-2.91599989,-3.30872245e-24,4.25152768" \
  "$RAVINE" trace --surface 'bowl(kappa=10)' --optim 'sgd(lr=0.1)' --start -4,1 --steps 3

# adam's first step is lr*sign(g) in each coordinate (bias correction)
expect_out adam_first_step "step,x,y,loss
0,-4,1,13
1,-3.9000001,0.899999976,11.6550002" \
  "$RAVINE" trace --surface bowl --optim 'adam(lr=0.1)' --start=-4,1 --steps 1

# Newton lands on the minimum of a quadratic in one step
expect_out newton "step,x,y,loss
0,-4,1,13
1,0,0,0" \
  "$RAVINE" trace --surface bowl --optim newton --start -4,1 --steps 1

# the expression surface is the same bowl, differentiated exactly
expect_out expr_equals_bowl "$("$RAVINE" trace --surface bowl --optim 'adam(lr=0.3)' --steps 40)" \
  "$RAVINE" trace --surface 'expr(f="0.5*(x^2+10*y^2)")' --optim 'adam(lr=0.3)' --steps 40

# with a schedule, update k uses schedule(k); constant(lr) is the plain optimizer
expect_out schedule_constant "$("$RAVINE" trace --surface rosenbrock --optim 'sgd(lr=0.001)' --steps 20)" \
  "$RAVINE" trace --surface rosenbrock --optim 'sgd(lr=0.5)' --schedule 'constant(lr=0.001)' --steps 20

# default: 100 steps from the surface's start, 101 rows + header
check default_rows test "$("$RAVINE" trace --surface himmelblau --optim adam | wc -l)" -eq 102
# leaving rastrigin's domain: nan rows from there on
expect_out leaves_domain "step,x,y,loss
0,2.20000005,-1.70000005,27.7300004
1,nan,nan,nan
2,nan,nan,nan" \
  "$RAVINE" trace --surface rastrigin --optim 'sgd(lr=1)' --steps 2

expect_err unknown_surface "ravine: --surface: spec 'bowll': unknown surface 'bowll' (did you mean 'bowl'?)" \
  "$RAVINE" trace --surface bowll --optim sgd
expect_err unknown_surface_far "ravine: --surface: spec 'zzz': unknown surface 'zzz' (known: bowl, quadratic, rosenbrock, beale, himmelblau, saddle, rastrigin, delivery, expr)" \
  "$RAVINE" trace --surface zzz --optim sgd
expect_err bad_key "ravine: --surface: spec 'bowl(kapa=3)': unknown key 'kapa' for bowl (did you mean 'kappa'?)" \
  "$RAVINE" trace --surface 'bowl(kapa=3)' --optim sgd
expect_err start_outside_domain "ravine: --start: rastrigin(a=10): (6, 0) is outside the domain [-5.12, 5.12] x [-5.12, 5.12]" \
  "$RAVINE" trace --surface rastrigin --optim sgd --start 6,0
expect_err expr_log_negative "ravine: --start: expr(f=\"log(x)\") at (-1, 0): log of -1: log needs a positive argument (column 1 of 'log(x)')" \
  "$RAVINE" trace --surface 'expr(f="log(x)")' --optim sgd --start -1,0
expect_err expr_syntax "ravine: --surface: expr 'x^': expected a number, x, y, a function or '(', found the end at column 3" \
  "$RAVINE" trace --surface 'expr(f="x^")' --optim sgd
expect_err start_three_numbers "ravine: --start: '1,2,3': expected X,Y (two numbers)" \
  "$RAVINE" trace --surface bowl --optim sgd --start 1,2,3
expect_err start_word "ravine: --start: 'a,b' is not a comma-separated list of numbers" \
  "$RAVINE" trace --surface bowl --optim sgd --start a,b
expect_err steps_negative "ravine: --steps: -3 is out of range [0, 10000000]" \
  "$RAVINE" trace --surface bowl --optim sgd --steps -3
expect_err bad_optim "ravine: --optim: spec 'adam(lr=-1)': lr must be >= 0, got -1" \
  "$RAVINE" trace --surface bowl --optim 'adam(lr=-1)'
expect_err missing_surface "ravine: trace: --surface SPEC is required (e.g. --surface 'bowl(kappa=10)')" \
  "$RAVINE" trace --optim sgd
expect_err unknown_option "ravine: trace: unknown option '--stpes' (did you mean '--steps'?)" \
  "$RAVINE" trace --surface bowl --optim sgd --stpes 3

# never a crash: odd inputs end in exit 2, not a signal
for args in "--surface ( --optim sgd" "--surface expr(f=((((((((((((((((((((((((((((((x --optim sgd" \
            "--surface bowl --optim sgd(lr=1e999)" "--surface bowl --optim sgd --start 1e400,0" \
            "--surface delivery(n=1e300) --optim sgd" "--surface expr(f=\"$(printf 'x+%.0s' $(seq 400))x\") --optim sgd"; do
  # shellcheck disable=SC2086
  "$RAVINE" trace $args >/dev/null 2>&1; rc=$?
  check "no_crash: $args" test $rc -eq 2
done
finish
