"""bf16 parameters through ravine.torch against torch's recipe, bit for bit.

A bfloat16 model hands the optimizer bfloat16 gradients; the optimizer keeps
a float32 master of each bf16 parameter. torch's recipe for that, around any
float32 optimizer:

    master = p.float()                         # once, at the start
    each step: master.grad = p.grad.float()    # exact: bf16 widens to fp32
               the float32 optimizer's step on the masters
               p.copy_(master.to(torch.bfloat16))   # round to nearest even

Every element-wise optimizer trains the bf16 Embedding-LayerNorm-Linear model
of the parity test (two param groups, a torch LR scheduler) beside the same
model under that recipe, and after every step the bf16 parameters and the
masters must be identical bit for bit, and at the end every state buffer.
The float32 step is the reference the float32 parity test uses, except for
RAdam and Adamax, whose torch 1.13 classes round differently from torch's
current code (test_torch_parity measures 1e-7): here, as in the bf16 parity
fixtures, gen_modern.py's transcriptions. A model whose LayerNorm stays
float32 puts float32 and bf16 parameters in one group (a float32 parameter
is its own master). Adafactor and Muon reduce over whole tensors in an
order of their own, so they agree with the recipe to rounding: they get the
same gradients as ravine each step and their masters are compared within
the float32 parity bound.
"""
import unittest

import harness
from harness import REFERENCE, TOL, rt, torch
from test_torch_parity import CASES, STEPS

BF16 = torch.bfloat16

# references that agree with ravine bit for bit (see the module's docstring)
EXACT_REFERENCE = {"radam_torch": REFERENCE["RAdam"], "adamax": REFERENCE["Adamax"]}
WHOLE_TENSOR = ("adafactor", "muon")


class MasterRecipe:
    """torch's bf16 recipe around a float32 optimizer class: masters for the
    bf16 parameters (float32 ones are their own), the step on the masters,
    then the parameters rounded from them. `opt` is the float32 optimizer
    (schedulers attach to it)."""

    def __init__(self, groups, cls, **kw):
        self.pairs, master_groups = [], []
        for group in groups:
            masters = []
            for p in group["params"]:
                if p.dtype == BF16:
                    m = p.detach().float()
                    self.pairs.append((p, m))
                    masters.append(m)
                else:
                    masters.append(p)
            master_groups.append(dict(group, params=masters))
        self.opt = cls(master_groups, **kw)

    def zero_grad(self):
        self.opt.zero_grad()
        for p, _ in self.pairs:
            p.grad = None

    def step(self):
        for p, m in self.pairs:
            m.grad = None if p.grad is None else p.grad.float()
        self.opt.step()
        self.copy_back()

    @torch.no_grad()
    def copy_back(self):
        for p, m in self.pairs:
            p.copy_(m.to(BF16))

    def master(self, p):
        return next(m for q, m in self.pairs if q is p)

    # schedule-free's modes move the masters; the parameters follow
    def train(self):
        self.opt.train()
        self.copy_back()

    def eval(self):
        self.opt.eval()
        self.copy_back()


class MixedLM(harness.TinyLM):
    """The parity model in bfloat16 with its LayerNorm in float32: the
    second param group holds float32 and bf16 parameters together."""

    def forward(self, tokens):
        x = self.norm(self.embed(tokens).mean(dim=1).float()).to(BF16)
        return self.out(torch.tanh(self.hidden(x)))


def make_model(mixed):
    torch.manual_seed(0)
    model = MixedLM() if mixed else harness.TinyLM()
    model.to(BF16)
    if mixed:
        model.norm.float()
    return model


def groups_of(model, overrides, matrices_only):
    first, second = model.groups(matrices_only)
    return [dict(params=first), dict(params=second, **overrides)]


def bits_equal(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.view(-1), b.view(-1))


def backward(model, batch):
    tokens, target = batch
    torch.nn.functional.cross_entropy(model(tokens), target).float().backward()


def run_case(test, case, mixed=False):
    name, ours_cls, ref_cls, kw, overrides, scheduler, matrices_only = case
    ref_cls = EXACT_REFERENCE.get(name, ref_cls)
    exact = name not in WHOLE_TENSOR
    ours_model, ref_model = make_model(mixed), make_model(mixed)
    ours = ours_cls(groups_of(ours_model, overrides, matrices_only), **kw)
    ref = MasterRecipe(groups_of(ref_model, overrides, matrices_only), ref_cls, **kw)
    ours_sched, ref_sched = scheduler(ours), scheduler(ref.opt)
    if isinstance(ours, rt.ScheduleFreeAdamW):
        ours.train()
        ref.train()
    stepped = set(ours._b.index)      # Muon's groups leave the vectors out
    pairs = [(p, q) for p, q in zip(ours_model.parameters(), ref_model.parameters())
             if p in stepped]
    start = [p.detach().clone() for p, _ in pairs]
    worst = 0.0
    for k, batch in enumerate(harness.batches(STEPS)):
        ours.zero_grad()
        ref.zero_grad()
        backward(ours_model, batch)
        if exact:
            backward(ref_model, batch)
        else:       # the same gradients: the comparison is of the steps alone
            for p, q in pairs:
                q.grad = p.grad.clone()
        ours.step()
        ref.step()
        ours_sched.step()
        ref_sched.step()
        for j, (p, q) in enumerate(pairs):
            at = f"{name}: step {k + 1}, parameter {j}"
            if p.dtype != BF16:
                test.assertTrue(bits_equal(p, q), f"{at} (float32)")
                continue
            master = ours.state[p]["master"]
            test.assertTrue(bits_equal(p, master.to(BF16)), f"{at}: not its master rounded")
            if exact:
                test.assertTrue(bits_equal(p, q), f"{at}: bf16 parameters differ")
                test.assertTrue(bits_equal(master, ref.master(q)), f"{at}: masters differ")
            else:
                d = harness.scaled_diff(master, ref.master(q))
                worst = max(worst, d)
                test.assertLessEqual(d, TOL, f"{at}: masters differ by {d:.3g}")
    # the final state: every buffer torch keeps, and ravine's masters
    ours_state, ref_state = ours.state_dict()["state"], ref.opt.state_dict()["state"]
    ref_state = {i: e for i, e in ref_state.items() if harness.present(e)}
    for i in set(ours_state) - set(ref_state):   # SGD without momentum: the master alone
        test.assertEqual(list(ours_state[i]), ["master"], f"{name}: state {i}")
    test.assertLessEqual(set(ref_state), set(ours_state), f"{name}: parameters with state")
    for i, entry in ref_state.items():
        for key, value in harness.present(entry).items():
            mine = ours_state[i][key]
            if key == "step" or not exact:
                test.assertLessEqual(harness.scaled_diff(torch.as_tensor(mine).float(),
                                                         torch.as_tensor(value).float()),
                                     0 if key == "step" else TOL, f"{name}: state {i} '{key}'")
            else:
                test.assertTrue(bits_equal(mine, value), f"{name}: state {i} '{key}'")
        bf16 = ours._b.dtypes[i] == BF16
        test.assertEqual("master" in ours_state[i], bf16, f"{name}: state {i} keys")
    if isinstance(ours, rt.ScheduleFreeAdamW):
        ours.eval()
        ref.eval()
        for j, (p, q) in enumerate(pairs):
            test.assertTrue(bits_equal(p, q), f"{name}: eval-mode parameter {j}")
    moved = max((p.float() - s.float()).abs().max().item() for (p, _), s in zip(pairs, start))
    test.assertGreater(moved, 1e-2, f"{name}: parameters hardly moved")
    return worst


class Bf16Parity(unittest.TestCase):
    figures = {}

    @classmethod
    def tearDownClass(cls):
        print("\nAdafactor and Muon, worst |master - recipe's| / max(1, |recipe's|):")
        for name, worst in cls.figures.items():
            print(f"  {name:12s} {worst:.3g}")


def _add(case, mixed):
    suffix = "_mixed" if mixed else ""

    def test(self):
        worst = run_case(self, case, mixed)
        if case[0] in WHOLE_TENSOR:
            self.figures[case[0]] = worst
    setattr(Bf16Parity, f"test_{case[0]}{suffix}", test)


for _case in CASES:
    _add(_case, False)
    if _case[0] in ("sgd_nesterov", "adamw_onecycle_betas", "schedule_free_adamw", "lion"):
        _add(_case, True)


if __name__ == "__main__":
    harness.main()
