# The element-wise newcomers in the lab (nadam, radam, adamax, lion, sfadamw)
# on seed 002's bowl(kappa=10) from (-4, 1): traces, races, sweeps and plots
# checked against an independent float32 transcription of each update rule
# (written from torch.optim's NAdam, RAdam and Adamax, lion-pytorch and
# schedule_free's AdamWScheduleFree, one float32 operation at a time, with
# the single rounding of torch's fused ops: add_/sub_ with alpha, addcmul_
# and lerp_), and first steps by hand.
. "$(dirname "$0")/../cli_lib.sh"

BOWL='bowl(kappa=10)'
SPECS='nadam(lr=0.25); radam(lr=0.32); adamax(lr=0.89); lion(lr=0.25); sfadamw(lr=0.89)'

# First steps by hand (g = (x, 10y) = (-4, 10)):
# lion: c = 0.1 g, every coordinate moves by lr against sign(c);
# adamax: m = 0.1 g, u = |g| + eps, lr/(1 - 0.9) * m/u = lr * sign(g);
# radam: rho_1 = 1999 - 2*0.999/0.001 = 1 <= 5, an unadapted step lr * m/(1 - 0.9) = lr * g
#   = (-1.28, 3.2); in float32 m/(1 - 0.9) = 10 and 10 * 0.32f = 3.19999993 rounds to 3.19999981;
# sfadamw: the first weight is the whole sum (c = 1), y = z - lr * g/|g|, and x = y.
row1() { local o=$1; shift; "$RAVINE" trace --surface "$BOWL" --optim "$o" --start -4,1 --steps 1 "$@" | tail -1; }
expect_out lion_step1 '1,-3.75,0.75,9.84375' row1 'lion(lr=0.25)'
expect_out adamax_step1 '1,-3.11000013,0.110000014,4.89655043' row1 'adamax(lr=0.89)'
expect_out radam_step1 '1,-2.72000003,-2.19999981,27.8991959' row1 'radam(lr=0.32)'
expect_out sfadamw_step1 '1,-3.11000013,0.110000014,4.89655043' row1 'sfadamw(lr=0.89)'
expect_out sfadamw_step1_eval '1,-3.11000013,0.110000014,4.89655043' row1 'sfadamw(lr=0.89)' --eval

# The race of the page's bowl presets, exactly
expect_out race_json '{"results":[{"optim":"nadam(lr=0.25)","steps_to_threshold":27,"final_loss":2.05321991e-08,"diverged":false},{"optim":"radam(lr=0.32)","steps_to_threshold":44,"final_loss":1.79760115e-05,"diverged":false},{"optim":"adamax(lr=0.89)","steps_to_threshold":25,"final_loss":9.44758803e-05,"diverged":false},{"optim":"lion(lr=0.25)","steps_to_threshold":16,"final_loss":0,"diverged":false},{"optim":"sfadamw(lr=0.89)","steps_to_threshold":11,"final_loss":4.82273495e-07,"diverged":false}]}' \
  "$RAVINE" race --surface "$BOWL" --optims "$SPECS" --start -4,1 --steps 100 --threshold 0.013 --json
check race_table_winner sh -c "'$RAVINE' race --surface '$BOWL' --optims '$SPECS' --start -4,1 --steps 100 --threshold 0.013 |
  grep -q '^first below 0.013: sfadamw(lr=0.89), after 11 steps$'"

# ... and the same figures, with every trace, sweep and --eval row, from the transcription
"$RAVINE" race --surface "$BOWL" --optims "$SPECS" --start -4,1 --steps 100 --threshold 0.013 --json > "$tmp/race.json"
for o in nadam radam adamax lion sfadamw; do
  "$RAVINE" sweep --surface "$BOWL" --optim $o --lr 0.05:0.5:3 --steps 100 --json > "$tmp/sweep_$o.json"
done
check transcription python3 - "$RAVINE" "$tmp" <<'PY'
import json, math, struct, subprocess, sys

RAVINE, TMP = sys.argv[1], sys.argv[2]
STEPS, THRESHOLD = 100, 0.013

import json, math, struct, subprocess, sys
from fractions import Fraction

def f(x):  # round a double to float32: each + - * / sqrt of floats, done in double, is exact then
    return struct.unpack("f", struct.pack("f", x))[0]

def fma(a, b, c):  # a*b + c rounded once to float32 (nearest, ties to even), as torch's fused ops
    q = Fraction(a) * Fraction(b) + Fraction(c)
    if q == 0:
        return 0.0
    sign, q = (-1 if q < 0 else 1), abs(q)
    e = q.numerator.bit_length() - q.denominator.bit_length()
    e += 1 if Fraction(2) ** (e + 1) <= q else 0
    e -= 1 if Fraction(2) ** e > q else 0
    scale = Fraction(2) ** (23 - max(e, -126))
    n, r = divmod(q * scale, 1)
    n = int(n) + (1 if r > Fraction(1, 2) or (r == Fraction(1, 2) and int(n) % 2) else 0)
    return sign * float(n / scale)

def lerp(a, b, w):  # torch.lerp on float32: w*(b - a) + a, or (w - 1)*(b - a) + b, fused
    w = f(w)
    return fma(w, f(b - a), a) if abs(w) < 0.5 else fma(f(w - 1), f(b - a), b)

def grad(p):  # the lab: the gradient in double at the float32 point, rounded to float
    return [f(p[0]), f(10.0 * p[1])]

def loss(p):
    return 0.5 * (p[0] * p[0] + 10.0 * p[1] * p[1])

def nadam(lr, steps, b1=0.9, b2=0.999, eps=1e-8, psi=4e-3):
    p, m, v, prod, out = [f(-4.0), f(1.0)], [0.0, 0.0], [0.0, 0.0], 1.0, []
    for t in range(1, steps + 1):
        g = grad(p)
        mu, mu_next = b1 * (1 - 0.5 * 0.96 ** (t * psi)), b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod = f(prod * f(mu))
        c1, c2 = f(-lr * (1 - mu) / (1 - prod)), f((-lr * mu_next) / (1 - prod * mu_next))
        for i in range(2):
            m[i] = lerp(m[i], g[i], 1 - b1)
            v[i] = fma(f(f(1 - b2) * g[i]), g[i], f(v[i] * f(b2)))
            d = f(f(math.sqrt(f(v[i] / f(1 - b2 ** t)))) + f(eps))
            p[i] = f(p[i] + f(f(c1 * g[i]) / d))   # addcdiv: self + value * t1 / t2, left to right
            p[i] = f(p[i] + f(f(c2 * m[i]) / d))
        out.append(list(p))
    return out

def radam(lr, steps, b1=0.9, b2=0.999, eps=1e-8):
    p, m, v, out = [f(-4.0), f(1.0)], [0.0, 0.0], [0.0, 0.0], []
    rho_inf = 2 / (1 - b2) - 1
    for t in range(1, steps + 1):
        g = grad(p)
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        rho = rho_inf - 2 * t * b2 ** t / bc2
        for i in range(2):
            m[i] = lerp(m[i], g[i], 1 - b1)
            v[i] = fma(f(f(1 - b2) * g[i]), g[i], f(v[i] * f(b2)))
            step = f(f(m[i] / f(bc1)) * f(lr))
            if rho > 5:
                rect = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
                adaptive = f(f(1 / f(f(math.sqrt(v[i])) + f(eps))) * f(math.sqrt(bc2)))
                step = f(f(step * adaptive) * f(rect))
            p[i] = f(p[i] - step)
        out.append(list(p))
    return out

def adamax(lr, steps, b1=0.9, b2=0.999, eps=1e-8):
    p, m, u, out = [f(-4.0), f(1.0)], [0.0, 0.0], [0.0, 0.0], []
    for t in range(1, steps + 1):
        g = grad(p)
        clr = f(-(lr / (1 - b1 ** t)))
        for i in range(2):
            m[i] = lerp(m[i], g[i], 1 - b1)
            u[i] = max(f(u[i] * f(b2)), f(abs(g[i]) + f(eps)))
            p[i] = f(p[i] + f(f(clr * m[i]) / u[i]))
        out.append(list(p))
    return out

def lion(lr, steps, b1=0.9, b2=0.99):
    p, m, out = [f(-4.0), f(1.0)], [0.0, 0.0], []
    for t in range(1, steps + 1):
        g = grad(p)
        for i in range(2):
            c = fma(g[i], f(1 - b1), f(m[i] * f(b1)))
            p[i] = fma((c > 0) - (c < 0), f(-lr), p[i])
            m[i] = fma(g[i], f(1 - b2), f(m[i] * f(b2)))
        out.append(list(p))
    return out

def sfadamw(lr, steps, b1=0.9, b2=0.999, eps=1e-8, eval_mode=False):
    y, z, v, out = [f(-4.0), f(1.0)], [f(-4.0), f(1.0)], [0.0, 0.0], []
    lr_max, weight_sum = -1.0, 0.0
    for k in range(steps):
        g = grad(y)
        bc2 = 1 - b2 ** (k + 1)
        lr_max = max(lr, lr_max)
        weight = (k + 1) ** 0 * lr_max ** 2
        weight_sum += weight
        ckp1 = weight / weight_sum
        for i in range(2):
            v[i] = fma(f(f(1 - b2) * g[i]), g[i], f(v[i] * f(b2)))
            n = f(g[i] / f(f(math.sqrt(f(v[i] / f(bc2)))) + f(eps)))
            y[i] = lerp(y[i], z[i], ckp1)
            y[i] = fma(n, f(lr * (b1 * (1 - ckp1) - 1)), y[i])
            z[i] = fma(n, -f(lr), z[i])
        out.append([lerp(y[i], z[i], 1 - 1 / b1) for i in range(2)] if eval_mode else list(y))
    return out

RULES = {"nadam": nadam, "radam": radam, "adamax": adamax, "lion": lion, "sfadamw": sfadamw}
g9 = lambda v: float("%.9g" % v)
bad = []

def trace(spec, *extra):
    out = subprocess.run([RAVINE, "trace", "--surface", "bowl(kappa=10)", "--optim", spec, "--start", "-4,1",
                          "--steps", str(STEPS), *extra], capture_output=True, text=True, check=True).stdout
    return [[float(v) for v in line.split(",")[1:]] for line in out.strip().split("\n")[2:]]

def summary(rows):   # race: the least k with loss < T (row 0 is the start, loss 13), the last loss
    losses = [13.0] + [loss(p) for p in rows]
    first = next((k for k, l in enumerate(losses) if l < THRESHOLD), None)
    return first, g9(losses[-1])

# every row of every trace equals the transcription as printed (%.9g)
for name, lr in [("nadam", 0.25), ("radam", 0.32), ("adamax", 0.89), ("lion", 0.25), ("sfadamw", 0.89)]:
    ref = RULES[name](lr, STEPS)
    got = trace("%s(lr=%r)" % (name, lr))
    for k, (r, q) in enumerate(zip(got, ref), 1):
        if r != [g9(q[0]), g9(q[1]), g9(loss(q))]:
            bad.append("%s row %d: ravine %s, transcription %s" % (name, k, r, q)); break
ref_x = sfadamw(0.89, STEPS, eval_mode=True)
got_x = trace("sfadamw(lr=0.89)", "--eval")
for k, (r, q) in enumerate(zip(got_x, ref_x), 1):
    if r != [g9(q[0]), g9(q[1]), g9(loss(q))]:
        bad.append("sfadamw --eval row %d: ravine %s, transcription %s" % (k, r, q)); break

# the race
for res, (name, lr) in zip(json.load(open(TMP + "/race.json"))["results"],
                           [("nadam", 0.25), ("radam", 0.32), ("adamax", 0.89), ("lion", 0.25), ("sfadamw", 0.89)]):
    want = summary(RULES[name](lr, STEPS))
    if (res["steps_to_threshold"], res["final_loss"]) != want or res["diverged"]:
        bad.append("race %s: ravine %s, transcription %s" % (name, res, want))

# the sweeps: each lr's run and the best lr (fewest steps to T, then lowest final loss)
for name, rule in RULES.items():
    d = json.load(open("%s/sweep_%s.json" % (TMP, name)))
    lrs = [0.05 * (0.5 / 0.05) ** (i / 2) for i in range(3)]
    runs = [summary(rule(lr, STEPS)) for lr in lrs]
    for res, lr, want in zip(d["results"], lrs, runs):
        if res["lr"] != g9(lr) or (res["steps_to_threshold"], res["final_loss"]) != want:
            bad.append("sweep %s lr %g: ravine %s, transcription %s" % (name, lr, res, want))
    best = min(range(3), key=lambda i: (runs[i][0] is None, runs[i][0] or 0, runs[i][1]))
    if d["best_lr"] != g9(lrs[best]):
        bad.append("sweep %s: best lr %s, transcription %s" % (name, d["best_lr"], lrs[best]))

print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

# plots take them through their specs too: a path and a legend entry each
"$RAVINE" plot contour --surface "$BOWL" --optims 'lion(lr=0.25);sfadamw(lr=0.89);radam(lr=0.32)' --steps 40 \
  --out "$tmp/contour.svg" 2>/dev/null
check contour_wellformed wellformed "$tmp/contour.svg"
expect_out contour_series 3 sh -c 'grep -o "class=\"series\"" "$1" | wc -l | tr -d " "' _ "$tmp/contour.svg"
check contour_legend_label grep -q '>sfadamw(lr=0.89)</text>' "$tmp/contour.svg"

# --eval: the same rows as a plain trace for an optimizer without modes
check eval_plain sh -c "[ \"\$('$RAVINE' trace --surface bowl --optim 'lion(lr=0.1)' --steps 20 --eval)\" = \
  \"\$('$RAVINE' trace --surface bowl --optim 'lion(lr=0.1)' --steps 20)\" ]"
expect_err trace_eval_value "ravine: trace: option '--eval' takes no value" "$RAVINE" trace --surface bowl --optim sfadamw --eval=1
finish
