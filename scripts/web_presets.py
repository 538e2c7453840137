#!/usr/bin/env python3
"""Default learning rates of the live page, measured with `ravine sweep`.

For each surface of the page and each optimizer given, races the slider's 101
learning rates (10^-4 .. 10, 20 per decade, 2 significant digits: exactly the
values the slider can take) over the page's 150 updates from the surface's
default start (the page's start), against `ravine sweep`'s default threshold,
and picks:

  - the lrs that reach the sweep's threshold (99.9% of the way from the start's
    loss to the known minimum) and still end below it: the geometric middle of
    that band (the swept lr nearest to it), away from both the slow end and the
    edge of stability;
  - if none does: the lowest final loss of the runs that did not diverge;
  - on the saddle (no minimum): the lr whose path leaves the window's edge
    (loss < -4.5, |y| = 3 at x = 0) nearest to update 75, so that the approach
    and the escape both show.

usage: scripts/web_presets.py build/ravine lion,nadam,radam,adamax,sfadamw
"""
import json
import math
import subprocess
import sys

SURFACES = {
    "bowl": "bowl(kappa=10)",
    "rosenbrock": "rosenbrock",
    "beale": "beale",
    "himmelblau": "himmelblau",
    "saddle": "saddle",
    "rastrigin": "rastrigin",
    "delivery": "delivery",
    "delivery_std": "delivery(standardize=true)",
    # the page's default formula is seed 002's bowl; no known minimum, so its threshold
    "custom": 'expr(f="0.5*(x^2 + 10*y^2)")',
}
THRESHOLD = {"saddle": -4.5, "custom": 0.013}
STEPS = 150


def run(ravine, *args):
    out = subprocess.run([ravine, *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def ends_below(r, threshold):
    return (r["steps_to_threshold"] is not None and not r["diverged"]
            and r["final_loss"] is not None and r["final_loss"] < threshold)


def slider_lrs():
    """The page's lrFromSlider over its range input (min -4, max 1, step 0.05)."""
    return [float("%.2g" % 10 ** (-4 + 0.05 * i)) for i in range(101)]


def pick(key, res, t):
    if key == "saddle":
        left = [r for r in res if r["steps_to_threshold"] is not None]
        return min(left, key=lambda r: (abs(r["steps_to_threshold"] - STEPS // 2), r["lr"])), "escape"
    band = [r for r in res if ends_below(r, t)]
    if band:
        mid = math.sqrt(min(r["lr"] for r in band) * max(r["lr"] for r in band))
        return min(band, key=lambda r: abs(math.log(r["lr"] / mid))), "band %.2g..%.2g" % (
            min(r["lr"] for r in band), max(r["lr"] for r in band))
    alive = [r for r in res if not r["diverged"] and r["final_loss"] is not None]
    return min(alive, key=lambda r: r["final_loss"]), "lowest final loss"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ravine, optims = sys.argv[1], sys.argv[2].split(",")
    table = {}
    for key, surface in SURFACES.items():
        table[key] = {}
        for o in optims:
            t = THRESHOLD.get(key)
            if t is None:   # the sweep's default: 99.9% of the way to the minimum
                t = run(ravine, "sweep", "--surface", surface, "--optim", o, "--lr", "1:2:2",
                        "--steps", "0", "--json")["threshold"]
            lrs = slider_lrs()
            res = []
            for i in range(0, len(lrs), 50):   # race takes 64 optimizers at most
                res += run(ravine, "race", "--surface", surface, "--steps", str(STEPS),
                           "--threshold", repr(t), "--json", "--optims",
                           ";".join("%s(lr=%r)" % (o, lr) for lr in lrs[i:i + 50]))["results"]
            for r, lr in zip(res, lrs):
                r["lr"] = lr
            best, why = pick(key, res, t)
            table[key][o] = best["lr"]
            print("%-13s %-8s lr %-7g steps %-5s final %-10.3g %s" % (
                key, o, best["lr"], best["steps_to_threshold"], best["final_loss"], why))
    print(json.dumps(table))


if __name__ == "__main__":
    main()
