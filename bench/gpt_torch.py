#!/usr/bin/env python3
"""Training throughput of the GPT example beside the same model in torch.

Builds examples/gpt's model in torch (pre-LayerNorm decoder, token and
position embeddings, causal multi-head attention, tanh-GELU MLP, output tied
to the token embedding; AdamW with the example's param groups and clipping),
trains it on windows of the example's training text (its split, rebuilt by
gpt_ngrams.py), and times full updates (forward, backward, clipping,
optimizer step). In the same run it trains the C example with the same
shape and reads its tokens_per_s (update time only, as here).
Both run on the same cores with the same thread count and the same
environment, and it says which BLAS each used.

    /usr/bin/python3 bench/gpt_torch.py --gpt build/examples/gpt --threads 2

Debian's torch 1.13 calls the libblas.so.3 that the alternatives system
selects (`update-alternatives --display libblas.so.3-x86_64-linux-gnu`):
this script refuses to compare unless that is OpenBLAS (the reference BLAS
is about 20x slower on matrix products). OpenBLAS 0.3.21 picks slow SSE3
kernels on CPUs it does not know; the script sets OPENBLAS_CORETYPE for both
sides the way the example does (and OMP_WAIT_POLICY=passive, as the example
does), unless they are set already. Nothing in the test suite runs it.
"""
import argparse
import ctypes
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_ngrams import corpus  # noqa: E402  (the example's split, in Python)

OLD_CORES = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "banias", "katmai",
             "northwood", "generic", "sandybridge"}
OPENBLAS = "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"


def cpu_flags():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def better_core():
    """The OPENBLAS_CORETYPE the example would set, or None."""
    try:
        core = ctypes.CDLL(OPENBLAS).openblas_get_corename
        core.restype = ctypes.c_char_p
        name = core().decode()
    except OSError:
        return None
    if name.lower() not in OLD_CORES:
        return None
    flags = cpu_flags()
    if {"avx512f", "avx512vl", "avx512bw", "avx512dq"} <= flags:
        return "SKYLAKEX"
    if {"avx2", "fma"} <= flags:
        return "HASWELL"
    return None


def tune_environment():
    """Set what the example sets, then run this script again (once)."""
    changed = False
    if "OPENBLAS_CORETYPE" not in os.environ:
        core = better_core()
        if core:
            os.environ["OPENBLAS_CORETYPE"] = core
            changed = True
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "passive"
        changed = True
    if changed:
        os.execv(sys.executable, [sys.executable] + sys.argv)


def libblas_selected():
    out = subprocess.run(["update-alternatives", "--display", "libblas.so.3-x86_64-linux-gnu"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "link currently points to" in line:
            return line.split("points to", 1)[1].strip()
    return "unknown"


def loaded_blas():
    """The BLAS libraries mapped into this process, with OpenBLAS's kernels."""
    paths = set()
    for line in open("/proc/self/maps"):
        path = line.split()[-1] if len(line.split()) >= 6 else ""
        base = os.path.basename(path)
        if base.startswith(("libblas", "libopenblas", "libmkl", "libblis")):
            paths.add(path)
    described = []
    for path in sorted(paths):
        text = path
        try:
            lib = ctypes.CDLL(path)
            core = lib.openblas_get_corename
            core.restype = ctypes.c_char_p
            config = lib.openblas_get_config
            config.restype = ctypes.c_char_p
            text += " (%s, %s kernels)" % (config().decode(), core().decode())
        except (OSError, AttributeError):
            pass
        described.append(text)
    return described


def build_model(torch, V, T, L, H, C):
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(C)
            self.c_attn = nn.Linear(C, 3 * C)
            self.c_proj = nn.Linear(C, C)
            self.ln_2 = nn.LayerNorm(C)
            self.c_fc = nn.Linear(C, 4 * C)
            self.mlp_proj = nn.Linear(4 * C, C)
            self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

        def forward(self, x):
            B, t, _ = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (z.view(B, t, H, C // H).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
            att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, t, C)
            x = x + self.c_proj(y)
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(V, C)
            self.wpe = nn.Embedding(T, C)
            self.h = nn.ModuleList(Block() for _ in range(L))
            self.ln_f = nn.LayerNorm(C)

        def forward(self, idx, targets):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.h:
                x = block(x)
            logits = self.ln_f(x) @ self.wte.weight.t()
            return F.cross_entropy(logits.view(-1, V), targets.view(-1))

    model = GPT()
    for name, p in model.named_parameters():   # GPT-2's initialisation, as the example
        if name.endswith("weight") and p.dim() == 2:
            std = 0.02 / math.sqrt(2 * L) if "proj" in name else 0.01 if name == "wpe.weight" else 0.02
            torch.nn.init.normal_(p, 0.0, std)
        elif name.endswith("bias"):
            torch.nn.init.zeros_(p)
    return model


def time_torch(torch, tokens, args):
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    V, T, B = 98, args.context, args.batch
    model = build_model(torch, V, T, args.layers, args.heads, args.channels)
    matrices = [p for n, p in model.named_parameters() if p.dim() == 2 and n.startswith("h.")]
    others = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n.startswith("h."))]
    opt = torch.optim.AdamW([{"params": matrices, "weight_decay": 0.1},
                             {"params": others, "weight_decay": 0.0}],
                            lr=4e-3, betas=(0.9, 0.95))
    data = torch.tensor(tokens, dtype=torch.long)
    gen = torch.Generator().manual_seed(1)
    params = sum(p.numel() for p in model.parameters())

    def step():
        at = torch.randint(0, len(tokens) - T - 1, (B,), generator=gen)
        x = torch.stack([data[i:i + T] for i in at])
        y = torch.stack([data[i + 1:i + T + 1] for i in at])
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    seconds = time.perf_counter() - t0
    return {"tokens_per_s": args.steps * B * T / seconds, "seconds": seconds, "params": params,
            "last_loss": loss}


def run_ours(args):
    cmd = [args.gpt, "--steps", str(args.steps + args.warmup), "--eval-every",
           str(args.steps + args.warmup), "--eval-tokens", "64", "--samples", "0", "--quiet",
           "--json", "--threads", str(args.threads), "--layers", str(args.layers), "--heads",
           str(args.heads), "--channels", str(args.channels), "--context", str(args.context),
           "--batch", str(args.batch)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.splitlines()[-1])
    return {"tokens_per_s": r["tokens_per_s"], "seconds": r["train_seconds"], "params": r["params"],
            "blas": r["blas"], "threads": r["threads"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpt", default="build/examples/gpt", help="the example (default build/examples/gpt)")
    ap.add_argument("--data", default="/usr/share/games/fortunes")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=100, help="timed updates per side (default 100)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--channels", type=int, default=128)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tune_environment()
    selected = libblas_selected()
    if "openblas" not in selected:
        sys.exit("gpt_torch: libblas.so.3 points to %s, not OpenBLAS: torch would use it for its "
                 "matrix products; select OpenBLAS with update-alternatives first" % selected)
    try:
        import torch
    except ImportError:
        sys.exit("gpt_torch: torch is not installed (Debian: apt-get install python3-torch)")
    tokens = corpus(args.data)[0]   # the training stream of the example's split

    # ours before and after torch, the slower counts (a shared machine drifts)
    ours = [run_ours(args)]
    theirs = time_torch(torch, tokens, args)
    ours.append(run_ours(args))
    slow = min(ours, key=lambda r: r["tokens_per_s"])
    result = {
        "model": {"layers": args.layers, "heads": args.heads, "channels": args.channels,
                  "context": args.context, "batch": args.batch},
        "threads": args.threads, "steps": args.steps,
        "environment": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OMP_WAIT_POLICY")},
        "ours": {"tokens_per_s": slow["tokens_per_s"],
                 "tokens_per_s_before_after": [r["tokens_per_s"] for r in ours],
                 "params": slow["params"], "blas": slow["blas"]},
        "torch": {"version": torch.__version__, "tokens_per_s": theirs["tokens_per_s"],
                  "params": theirs["params"], "libblas.so.3": selected, "blas": loaded_blas()},
        "speedup": slow["tokens_per_s"] / theirs["tokens_per_s"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print("GPT %d layers x %d channels, %d heads, batch %d x %d, %d thread(s), %d timed updates"
          % (args.layers, args.channels, args.heads, args.batch, args.context, args.threads,
             args.steps))
    print("environment: %s" % result["environment"])
    print("ours : %8.0f tokens/s (runs before and after torch: %s), %d parameters\n       BLAS: %s"
          % (slow["tokens_per_s"], ", ".join("%.0f" % r["tokens_per_s"] for r in ours),
             slow["params"], slow["blas"]))
    print("torch: %8.0f tokens/s, torch %s, %d parameters\n       libblas.so.3 -> %s\n       "
          "loaded: %s" % (theirs["tokens_per_s"], torch.__version__, theirs["params"], selected,
                          "; ".join(result["torch"]["blas"])))
    print("ours / torch: %.2fx" % result["speedup"])


if __name__ == "__main__":
    main()
