"""Shared by the ravine.torch tests: skipping without torch, the reference
optimizers, a small model and data, and the parity measure.

CTest runs each tests/python/test_*.py with Debian's /usr/bin/python3,
PYTHONPATH=python and RAVINE_LIBRARY set to the build's libravine.so; exit
code 77 means skipped (torch is not installed).
"""
import os
import sys
import unittest

try:
    import torch
except ImportError:
    print("SKIP: torch is not installed (Debian: apt-get install python3-torch); "
          "the ravine.torch tests need it")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("RAVINE_FIXTURES", os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, FIXTURES)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

# The reference transcriptions the parity fixtures are generated with (float32
# torch operations following each algorithm's reference source); importing
# them also sets torch to one thread.
import gen_fixtures  # noqa: E402
import gen_modern  # noqa: E402

import ravine.torch as rt  # noqa: E402

__all__ = ["rt", "torch", "TOL", "REFERENCE"]

TOL = 1e-5      # |ravine - reference| <= TOL * max(1, |reference|), every element

REFERENCE = {
    "Polyak": gen_fixtures.Polyak,
    "NAdam": gen_modern.NAdamRef,
    "RAdam": gen_modern.RAdamRef,
    "Adamax": gen_modern.AdamaxRef,
    "Lion": gen_modern.LionRef,
    "Adafactor": gen_modern.AdafactorRef,
    "Muon": gen_modern.MuonRef,
    "ScheduleFreeAdamW": gen_modern.SFAdamWRef,
}

VOCAB, DIM, HIDDEN, CONTEXT = 13, 8, 16, 3


class TinyLM(torch.nn.Module):
    """Embedding -> LayerNorm -> Linear -> tanh -> Linear: next-token logits
    from the mean of a few context embeddings."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, DIM)
        self.norm = torch.nn.LayerNorm(DIM)
        self.hidden = torch.nn.Linear(DIM, HIDDEN)
        self.out = torch.nn.Linear(HIDDEN, VOCAB)

    def forward(self, tokens):
        x = self.norm(self.embed(tokens).mean(dim=1))
        return self.out(torch.tanh(self.hidden(x)))

    def groups(self, matrices_only=False):
        """Two param groups: the 2-D weights, and the rest (biases, norm) — or,
        for optimizers of matrices, the embedding and the linear weights."""
        if matrices_only:
            return [self.embed.weight, self.hidden.weight], [self.out.weight]
        decay = [self.embed.weight, self.hidden.weight, self.out.weight]
        rest = [self.norm.weight, self.norm.bias, self.hidden.bias, self.out.bias]
        return decay, rest


def make_model(seed=0):
    torch.manual_seed(seed)
    return TinyLM()


def batches(steps, seed=1, size=16):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, VOCAB, (size, CONTEXT), generator=gen),
             torch.randint(0, VOCAB, (size,), generator=gen)) for _ in range(steps)]


def train_step(model, opt, batch):
    tokens, target = batch
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(tokens), target)
    loss.backward()
    opt.step()
    return loss.item()


def scaled_diff(ours, ref):
    """max |ours - ref| / max(1, |ref|) over every element."""
    ours, ref = ours.detach().double(), ref.detach().double()
    if ours.numel() == 0:
        return 0.0
    return ((ours - ref).abs() / ref.abs().clamp(min=1.0)).max().item()


def model_diff(a, b):
    return max(scaled_diff(p, q) for p, q in zip(a.parameters(), b.parameters()))


def present(entry):
    """A state entry without its None values (torch 1.13's {'momentum_buffer': None})."""
    return {k: v for k, v in entry.items() if v is not None}


def state_diff(ours, ref):
    """Largest scaled difference between two optimizers' per-parameter states,
    after checking that they hold state for the same parameters under the same
    keys and shapes (an entry of Nones, torch 1.13's {'momentum_buffer': None},
    counts as no state). 'step' must be equal; torch 1.13's RMSprop keeps it
    as an int where later torch (and ravine) keep a float32 tensor. Other
    entries that are not tensors ('state_precision') must be equal."""
    a_all = {i: present(e) for i, e in ours["state"].items()}
    b_all = {i: present(e) for i, e in ref["state"].items()}
    a_all = {i: e for i, e in a_all.items() if e}
    b_all = {i: e for i, e in b_all.items() if e}
    if set(a_all) != set(b_all):
        raise AssertionError(f"state for parameters {sorted(a_all)} against {sorted(b_all)}")
    worst = 0.0
    for i, a in a_all.items():
        b = b_all[i]
        if set(a) != set(b):
            raise AssertionError(f"parameter {i}: state keys {sorted(a)} against {sorted(b)}")
        for key in a:
            x, y = a[key], b[key]
            if not torch.is_tensor(y):   # 'step' as a number, 'state_precision' as a word
                if (float(x) != float(y)) if key == "step" else x != y:
                    raise AssertionError(f"parameter {i}: '{key}' is {x!r}, the reference's {y!r}")
                continue
            if not torch.is_tensor(x) or tuple(x.shape) != tuple(y.shape) or x.dtype != y.dtype:
                raise AssertionError(f"parameter {i}: '{key}' is {x!r}, the reference's "
                                     f"{y.dtype} {tuple(y.shape)}")
            if key == "step" and x.item() != y.item():
                raise AssertionError(f"parameter {i}: step {x.item()} against {y.item()}")
            worst = max(worst, scaled_diff(x, y))
    return worst


def main():
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
