#!/usr/bin/python3
"""One AdamW step from Python: ravine.torch.AdamW beside torch.optim.AdamW
(foreach=True and foreach=False), same tensors, same threads, same run.

    make && PYTHONPATH=python python3 bench/torch_step.py --threads 2

Shapes: GPT-2 124M's 148 tensors (the tensor list of `ravine bench`), and
--small-tensors tensors of --small-size elements (default 10,000 of 256).
For each, the optimizers step in turn, round after round (so that a drift of
the machine's memory bandwidth hits them alike), and the median step time of
each is reported, with:
  - speedup: torch's faster variant / ravine.torch (and / the library's own
    step, rv_optim_step called directly on the same optimizer);
  - Python overhead: what the binding adds to the library's step (reading
    options, .grad and data pointers), measured apart on as many tensors of
    16 elements each, on one thread, where the library's step costs next to
    nothing: ravine.torch's step minus the library's, best of
    --overhead-reps; and the same when every step brings new gradient
    tensors (as after zero_grad(set_to_none=True)), which ravine.torch
    validates afresh.
Parameters and gradients are shared by all optimizers; each keeps its own
state. Needs torch (Debian: python3-torch); nothing in the tests runs it.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import torch  # noqa: E402

import ravine.torch as rt  # noqa: E402
from ravine._lib import lib  # noqa: E402
from torch_compare import gpt2_124m_sizes  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def make_params(sizes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    params = []
    for n in sizes:
        p = torch.nn.Parameter(torch.rand(n, generator=gen) * 2 - 1)
        p.grad = (torch.rand(n, generator=gen) * 2 - 1) * 0.01
        params.append(p)
    return params


def library_step(opt):
    """The library's step alone on a ravine.torch optimizer's tensors (as the
    last ravine.torch step bound them)."""
    handle = opt._b.handle.ptr
    return lambda: lib.rv_optim_step(handle)


def step_times(sizes, rounds, warmup):
    """Median step times of torch (both paths), ravine.torch and the library
    step alone, interleaved round by round."""
    params = make_params(sizes)
    torch_foreach = torch.optim.AdamW(params, lr=1e-3, foreach=True)
    torch_loop = torch.optim.AdamW(params, lr=1e-3, foreach=False)
    ours = rt.AdamW(params, lr=1e-3)
    ours.step()
    library = library_step(ours)
    times = {k: [] for k in ("torch_foreach", "torch_loop", "ravine", "library")}
    with torch.no_grad():
        for r in range(warmup + rounds):
            # ravine.torch and the library alone each follow a torch step, so
            # that neither finds the other's data in cache
            row = {"torch_foreach": timed(torch_foreach.step), "library": timed(library),
                   "torch_loop": timed(torch_loop.step), "ravine": timed(ours.step)}
            if r >= warmup:
                for k, v in row.items():
                    times[k].append(v)
    return {k: statistics.median(v) for k, v in times.items()}


def python_overhead(count, reps):
    """What ravine.torch adds to the library's step for `count` tensors: both
    timed on tensors of one cache line each, where the library's step costs
    next to nothing and no memory traffic blurs the difference; best of reps
    (the cost of the code, not of the machine's other work). Also with fresh
    gradient tensors before every step (zero_grad(set_to_none=True)), which
    are validated afresh."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # no parallel region in the library's tiny step
    params = make_params([16] * count, seed=1)
    fresh = [p.grad.clone() for p in params]
    opt = rt.AdamW(params, lr=1e-3)
    opt.step()
    library = library_step(opt)
    ravine, lib_only, new_grads = [], [], []
    for _ in range(reps):
        ravine.append(timed(opt.step))
        lib_only.append(timed(library))
        for p, g in zip(params, fresh):
            p.grad = g.clone()
        new_grads.append(timed(opt.step))
    torch.set_num_threads(threads)
    return {"same_grads_us": (min(ravine) - min(lib_only)) * 1e3,
            "new_grads_us": (min(new_grads) - min(lib_only)) * 1e3}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--overhead-reps", type=int, default=200)
    ap.add_argument("--small-tensors", type=int, default=10000)
    ap.add_argument("--small-size", type=int, default=256)
    ap.add_argument("--shapes", default="gpt2,small")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)     # ravine.torch follows torch's thread count
    shapes = {"gpt2": gpt2_124m_sizes(), "small": [args.small_size] * args.small_tensors}
    rows = []
    for name in [s.strip() for s in args.shapes.split(",") if s.strip()]:
        sizes = shapes[name]
        m = step_times(sizes, args.rounds, args.warmup)
        o = python_overhead(len(sizes), args.overhead_reps)
        best_torch = min(m["torch_foreach"], m["torch_loop"])
        rows.append(dict(shape=name, tensors=len(sizes), params=sum(sizes),
                         threads=args.threads, **{k + "_ms": v for k, v in m.items()},
                         speedup=best_torch / m["ravine"],
                         speedup_library=best_torch / m["library"],
                         python_overhead_us=o["same_grads_us"],
                         python_overhead_fraction=o["same_grads_us"] / (m["library"] * 1e3),
                         python_overhead_per_tensor_ns=o["same_grads_us"] * 1e3 / len(sizes),
                         new_grads_overhead_us=o["new_grads_us"],
                         new_grads_overhead_per_tensor_ns=o["new_grads_us"] * 1e3 / len(sizes)))
    if args.json:
        print(json.dumps({"torch": torch.__version__, "optim": "adamw(lr=1e-3)",
                          "rounds": args.rounds, "results": rows}))
        return
    print(f"fp32 AdamW step from Python, {args.threads} thread(s), median of {args.rounds} "
          f"rounds; torch {torch.__version__}")
    for r in rows:
        print(f"\n{r['shape']}: {r['tensors']} tensors, {r['params']} parameters")
        print(f"  torch.optim.AdamW foreach=True   {r['torch_foreach_ms']:10.3f} ms")
        print(f"  torch.optim.AdamW foreach=False  {r['torch_loop_ms']:10.3f} ms")
        print(f"  ravine.torch.AdamW               {r['ravine_ms']:10.3f} ms   "
              f"speedup {r['speedup']:.2f}x over torch's faster")
        print(f"  library step alone               {r['library_ms']:10.3f} ms   "
              f"speedup {r['speedup_library']:.2f}x")
        print(f"  Python overhead                  {r['python_overhead_us']:10.1f} us "
              f"({100 * r['python_overhead_fraction']:.3f}% of the library's step, "
              f"{r['python_overhead_per_tensor_ns']:.0f} ns per tensor)")
        print(f"  with new gradient tensors        {r['new_grads_overhead_us']:10.1f} us "
              f"({r['new_grads_overhead_per_tensor_ns']:.0f} ns per tensor)")


if __name__ == "__main__":
    main()
