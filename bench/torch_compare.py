#!/usr/bin/env python3
"""ravine's fp32 AdamW step beside torch.optim.AdamW's, same sizes, same threads.

Times torch.optim.AdamW (lr=1e-3, torch defaults otherwise) with foreach=True
and foreach=False and keeps the faster, on one flat tensor of --params
elements and on GPT-2 124M's 148 tensors; runs `ravine bench --json` on the
same shapes before and after torch and keeps ravine's slower time; prints
both with the speedup torch_ms / ravine_ms.

    python3 bench/torch_compare.py --ravine build/ravine --threads 2

Needs torch (Debian: python3-torch). Optional: nothing in the test suite
runs it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def gpt2_124m_sizes():
    """The tensor list of ravine's rv_bench_gpt2_124m(), in the same order."""
    C, V, T = 768, 50257, 1024
    block = [C, C, C * 3 * C, 3 * C, C * C, C, C, C, C * 4 * C, 4 * C, 4 * C * C, C]
    return [V * C, T * C] + block * 12 + [C, C]


def time_torch(torch, sizes, threads, foreach, warmup, reps):
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    params = []
    for n in sizes:
        p = torch.nn.Parameter(torch.rand(n, generator=gen) * 2 - 1)
        p.grad = (torch.rand(n, generator=gen) * 2 - 1) * 0.01
        params.append(p)
    opt = torch.optim.AdamW(params, lr=1e-3, foreach=foreach)
    times = []
    with torch.no_grad():
        for r in range(warmup + reps):
            t0 = time.perf_counter()
            opt.step()
            dt = (time.perf_counter() - t0) * 1e3
            if r >= warmup:
                times.append(dt)
    del opt, params
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ravine", default="build/ravine", help="the ravine CLI (default build/ravine)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--params", type=int, default=64 << 20, help="flat tensor size")
    ap.add_argument("--shapes", default="flat,gpt2")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("torch_compare: torch is not installed (Debian: apt-get install python3-torch)")

    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    sizes = {"flat": [args.params], "gpt2": gpt2_124m_sizes()}

    def ravine_run():
        out = subprocess.run(
            [args.ravine, "bench", "--json", "--optim", "adamw", "--threads", str(args.threads),
             "--params", str(args.params), "--shapes", ",".join(shapes), "--reps",
             str(args.reps), "--warmup", str(args.warmup)],
            check=True, capture_output=True, text=True).stdout
        return {r["shape"]: r for r in json.loads(out)["results"]}

    # ravine runs before and after torch and the slower of the two counts:
    # the memory bandwidth of a shared machine drifts between processes
    before = ravine_run()
    rows = []
    for shape in shapes:
        row = {"shape": shape, "params": sum(sizes[shape]), "tensors": len(sizes[shape]),
               "threads": args.threads}
        for foreach in (True, False):
            med, best = time_torch(torch, sizes[shape], args.threads, foreach, args.warmup,
                                   args.reps)
            row["torch_foreach_%s_ms" % str(foreach).lower()] = med
        row["torch_ms"] = min(row["torch_foreach_true_ms"], row["torch_foreach_false_ms"])
        rows.append(row)

    after = ravine_run()
    for row in rows:
        runs = [before[row["shape"]], after[row["shape"]]]
        r = max(runs, key=lambda r: r["ms_per_step"])
        row["ravine_ms_before_after"] = [x["ms_per_step"] for x in runs]
        row["ravine_ms"] = r["ms_per_step"]
        row["ravine_ratio_to_baseline"] = r["ratio_to_baseline"]
        row["speedup"] = row["torch_ms"] / r["ms_per_step"]

    if args.json:
        print(json.dumps({"torch": torch.__version__, "optim": "adamw", "results": rows}))
        return
    print("fp32 AdamW step, %d thread(s), median of %d steps; torch %s"
          % (args.threads, args.reps, torch.__version__))
    print("%-6s %10s %7s %13s %13s %10s %12s %8s"
          % ("shape", "params", "tensors", "torch foreach", "torch loop", "ravine ms",
             "ravine/base", "speedup"))
    for row in rows:
        print("%-6s %10d %7d %13.1f %13.1f %10.1f %12.3f %7.2fx"
              % (row["shape"], row["params"], row["tensors"], row["torch_foreach_true_ms"],
                 row["torch_foreach_false_ms"], row["ravine_ms"],
                 row["ravine_ratio_to_baseline"], row["speedup"]))


if __name__ == "__main__":
    main()
