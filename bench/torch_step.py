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
  - reduced precision (--precision, on by default; --no-precision leaves
    it out): ravine.torch.AdamW with state="bf16" and state="int8" on the
    same float32 tensors; on bfloat16 copies of them (bf16 parameters and
    gradients over float32 masters) with float32 and int8 state; and torch's
    recipe for bf16 parameters (its faster AdamW on float32 masters,
    gradients widened into the masters' .grad, parameters copied back
    rounded), with each variant's bytes per parameter as held (parameter,
    gradient, master and state);
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


class TorchBf16Recipe:
    """torch's recipe for bf16 parameters: a float32 AdamW on float32 masters;
    each step widens the bf16 gradients into the masters' gradients, steps,
    and copies the masters back into the parameters rounded."""

    def __init__(self, params, foreach):
        self.pairs = [(p, p.detach().float()) for p in params]
        for p, m in self.pairs:
            m.grad = p.grad.float()
        self.opt = torch.optim.AdamW([m for _, m in self.pairs], lr=1e-3, foreach=foreach)

    def step(self):
        for p, m in self.pairs:
            m.grad.copy_(p.grad)
        self.opt.step()
        for p, m in self.pairs:
            p.copy_(m)


def bytes_per_param(opt):
    """Bytes per parameter as the optimizer holds them: the parameter and its
    gradient, and every state tensor (master, bf16 or int8 buffers with their
    scales) over the library's memory."""
    params = [p for g in opt.param_groups for p in g["params"]]
    numel = sum(p.numel() for p in params)
    held = sum(2 * p.numel() * p.element_size() for p in params)
    for p in params:
        held += sum(v.numel() * v.element_size() for v in opt.state[p].values()
                    if torch.is_tensor(v) and v.dim() > 0)
    return held / numel


def step_times(sizes, rounds, warmup, precision):
    """Median step times of torch (both paths), ravine.torch and the library
    step alone, and of the reduced-precision variants, interleaved round by
    round."""
    params = make_params(sizes)
    torch_foreach = torch.optim.AdamW(params, lr=1e-3, foreach=True)
    torch_loop = torch.optim.AdamW(params, lr=1e-3, foreach=False)
    ours = rt.AdamW(params, lr=1e-3)
    ours.step()
    library = library_step(ours)
    steps = {"torch_foreach": torch_foreach.step, "library": library,
             "torch_loop": torch_loop.step, "ravine": ours.step}
    held = {"ravine": bytes_per_param(ours)}
    if precision:
        # bf16 copies of the same values, for the bf16-parameter variants
        bf16 = []
        for p in params:
            q = torch.nn.Parameter(p.detach().to(torch.bfloat16))
            q.grad = p.grad.to(torch.bfloat16)
            bf16.append(q)
        variants = {"ravine_state_bf16": rt.AdamW(params, lr=1e-3, state="bf16"),
                    "ravine_state_int8": rt.AdamW(params, lr=1e-3, state="int8"),
                    "ravine_bf16_params": rt.AdamW(bf16, lr=1e-3),
                    "ravine_bf16_params_int8": rt.AdamW(bf16, lr=1e-3, state="int8")}
        for name, opt in variants.items():
            opt.step()
            held[name] = bytes_per_param(opt)
        # torch's faster path for the recipe, decided as the float32 one is
        foreach = timed(torch_foreach.step) <= timed(torch_loop.step)
        recipe = TorchBf16Recipe(bf16, foreach)
        held["torch_bf16_recipe"] = 2 * 2 + 4 + 4 + 8   # p, g; master, its grad; m, v
        # each ravine variant follows a torch step, as above
        steps.update({"ravine_state_bf16": variants["ravine_state_bf16"].step,
                      "torch_bf16_recipe": recipe.step,
                      "ravine_state_int8": variants["ravine_state_int8"].step,
                      "torch_foreach_2": torch_foreach.step,
                      "ravine_bf16_params": variants["ravine_bf16_params"].step,
                      "torch_loop_2": torch_loop.step,
                      "ravine_bf16_params_int8": variants["ravine_bf16_params_int8"].step})
    times = {k: [] for k in steps}
    with torch.no_grad():
        for r in range(warmup + rounds):
            # ravine.torch and the library alone each follow a torch step, so
            # that neither finds the other's data in cache
            row = {k: timed(step) for k, step in steps.items()}
            if r >= warmup:
                for k, v in row.items():
                    times[k].append(v)
    medians = {k: statistics.median(v) for k, v in times.items() if not k[-2:] == "_2"}
    return medians, held


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
    ap.add_argument("--shapes", default="gpt2,small",
                    help="comma-separated: gpt2, small (default: both)")
    ap.add_argument("--precision", action=argparse.BooleanOptionalAction, default=True,
                    help="the reduced-precision variants (on by default; --no-precision "
                    "leaves them out)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    names = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [name for name in names if name not in ("gpt2", "small")]
    if unknown or not names:
        ap.error(f"--shapes {args.shapes!r}: expected a comma-separated list of gpt2 and small")

    torch.set_num_threads(args.threads)     # ravine.torch follows torch's thread count
    shapes = {"gpt2": gpt2_124m_sizes(), "small": [args.small_size] * args.small_tensors}
    rows = []
    for name in names:
        sizes = shapes[name]
        m, held = step_times(sizes, args.rounds, args.warmup, args.precision)
        o = python_overhead(len(sizes), args.overhead_reps)
        best_torch = min(m["torch_foreach"], m["torch_loop"])
        precision = [dict(variant=k, ms=m[k], bytes_per_param=held[k],
                          speedup_vs_ravine_fp32=m["ravine"] / m[k])
                     for k in held if k != "ravine"]
        rows.append(dict(shape=name, tensors=len(sizes), params=sum(sizes),
                         threads=args.threads, **{k + "_ms": v for k, v in m.items()},
                         speedup=best_torch / m["ravine"],
                         speedup_library=best_torch / m["library"],
                         python_overhead_us=o["same_grads_us"],
                         python_overhead_fraction=o["same_grads_us"] / (m["library"] * 1e3),
                         python_overhead_per_tensor_ns=o["same_grads_us"] * 1e3 / len(sizes),
                         new_grads_overhead_us=o["new_grads_us"],
                         new_grads_overhead_per_tensor_ns=o["new_grads_us"] * 1e3 / len(sizes),
                         bytes_per_param=held["ravine"], precision=precision))
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
        if r["precision"]:
            print(f"  reduced precision (bytes per parameter held; fp32 AdamW "
                  f"{r['bytes_per_param']:.2f}):")
        for v in r["precision"]:
            print(f"    {v['variant']:28s} {v['ms']:10.3f} ms   {v['bytes_per_param']:5.2f} B/param"
                  f"   {v['speedup_vs_ravine_fp32']:.2f}x ravine.torch fp32's speed")


if __name__ == "__main__":
    main()
