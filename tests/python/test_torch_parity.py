"""ravine.torch against torch.optim on real training loops.

Every optimizer trains the same small nn.Module (Embedding, LayerNorm,
Linear) on the same batches with two param groups and a torch LR scheduler;
its reference trains an identical copy. After every step every parameter
must agree within 1e-5 * max(1, |reference|), and at the end the state too.
The reference is torch 1.13's own class where it has the algorithm with
these semantics (SGD, Adam, AdamW, RMSprop, Adagrad, RAdam and Adamax
without decoupled decay), else the float32 transcription the parity
fixtures are generated with (tests/fixtures/gen_modern.py, gen_fixtures.py).
"""
import math
import unittest

import harness
from harness import REFERENCE, TOL, rt, torch

S = torch.optim.lr_scheduler
STEPS = 30


class AdamWDecayAfter(torch.optim.Adam):
    """AdamW with decay="after" (seed 000's order): the Adam step without
    decay, then p -= lr*wd*p with the step's lr."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 decay="after"):
        groups = [dict(g) for g in params]
        for g in groups:        # Adam's own (L2) weight decay stays 0
            g["decoupled"] = g.pop("weight_decay", weight_decay)
        super().__init__(groups, lr=lr, betas=betas, eps=eps)

    @torch.no_grad()
    def step(self):
        super().step()
        for group in self.param_groups:
            for p in group["params"]:
                p.sub_(p * (group["lr"] * group["decoupled"]))


def onecycle(momentum):
    return lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=STEPS, cycle_momentum=momentum)


# (test name, ravine class, reference class, group-0 kwargs, group-1 overrides,
#  scheduler, 2-D parameters only)
CASES = [
    ("sgd_nesterov", rt.SGD, torch.optim.SGD,
     dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), dict(lr=0.05, weight_decay=0),
     onecycle(True), False),
    ("sgd_plain_maximize", rt.SGD, torch.optim.SGD,
     dict(lr=0.05, dampening=0.1, momentum=0.5, maximize=True), dict(lr=0.02, momentum=0),
     lambda o: S.StepLR(o, step_size=7, gamma=0.5), False),
    ("polyak", rt.Polyak, REFERENCE["Polyak"],
     dict(lr=0.1, beta=0.8, weight_decay=0.01), dict(lr=0.3, weight_decay=0.0),
     lambda o: S.ExponentialLR(o, gamma=0.95), False),
    ("adam_amsgrad", rt.Adam, torch.optim.Adam,
     dict(lr=0.01, amsgrad=True, weight_decay=0.01), dict(lr=0.003, betas=(0.8, 0.99)),
     lambda o: S.CosineAnnealingLR(o, T_max=STEPS, eta_min=1e-4), False),
    ("adamw_onecycle_betas", rt.AdamW, torch.optim.AdamW,
     dict(lr=0.01, weight_decay=0.1), dict(weight_decay=0.0),
     onecycle(True), False),
    ("adamw_decay_after", rt.AdamW, AdamWDecayAfter,
     dict(lr=0.01, weight_decay=0.1, decay="after"), dict(weight_decay=0.0, lr=0.02),
     lambda o: S.LinearLR(o, start_factor=0.2, total_iters=10), False),
    ("rmsprop_centered_momentum", rt.RMSprop, torch.optim.RMSprop,
     dict(lr=0.003, centered=True, momentum=0.5, weight_decay=0.01), dict(lr=0.001, alpha=0.9),
     onecycle(True), False),
    ("adagrad", rt.Adagrad, torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01),
     dict(lr=0.05, eps=1e-6), lambda o: S.MultiStepLR(o, milestones=[10, 20], gamma=0.5), False),
    ("nadam_decoupled", rt.NAdam, REFERENCE["NAdam"],
     dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True), dict(weight_decay=0.0),
     onecycle(True), False),
    ("nadam_l2", rt.NAdam, REFERENCE["NAdam"],
     dict(lr=0.005, weight_decay=0.01, momentum_decay=0.01), dict(lr=0.01, maximize=False),
     lambda o: S.StepLR(o, step_size=10, gamma=0.3), False),
    ("radam_torch", rt.RAdam, torch.optim.RAdam,
     dict(lr=0.01, weight_decay=0.01), dict(lr=0.02, betas=(0.8, 0.99)),
     lambda o: S.CosineAnnealingLR(o, T_max=STEPS), False),
    ("radam_decoupled", rt.RAdam, REFERENCE["RAdam"],
     dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(weight_decay=0.0),
     onecycle(True), False),
    ("adamax", rt.Adamax, torch.optim.Adamax,
     dict(lr=0.02, weight_decay=0.01), dict(lr=0.005, betas=(0.8, 0.99)),
     lambda o: S.ExponentialLR(o, gamma=0.97), False),
    ("lion", rt.Lion, REFERENCE["Lion"],
     dict(lr=3e-3, weight_decay=0.1), dict(lr=1e-3, weight_decay=0.0),
     onecycle(True), False),
    ("adafactor", rt.Adafactor, REFERENCE["Adafactor"],
     dict(lr=0.05, weight_decay=0.01), dict(lr=0.02, eps=(1e-3, 1e-3), d=2.0),
     lambda o: S.StepLR(o, step_size=10, gamma=0.5), False),
    ("muon", rt.Muon, REFERENCE["Muon"],
     dict(lr=0.02, weight_decay=0.05), dict(lr=0.01, nesterov=False,
                                            adjust_lr_fn="match_rms_adamw"),
     lambda o: S.CosineAnnealingLR(o, T_max=STEPS), True),
    ("schedule_free_adamw", rt.ScheduleFreeAdamW, REFERENCE["ScheduleFreeAdamW"],
     dict(lr=0.01, warmup_steps=5, weight_decay=0.01), dict(lr=0.005, weight_decay=0.0),
     lambda o: S.LinearLR(o, start_factor=0.5, total_iters=10), False),
]


def build(model, cls, kw, overrides, matrices_only):
    first, second = model.groups(matrices_only)
    return cls([dict(params=first), dict(params=second, **overrides)], **kw)


def train_pair(case, steps=STEPS):
    name, ours_cls, ref_cls, kw, overrides, scheduler, matrices_only = case
    ours_model, ref_model = harness.make_model(), harness.make_model()
    ours = build(ours_model, ours_cls, kw, overrides, matrices_only)
    ref = build(ref_model, ref_cls, kw, overrides, matrices_only)
    ours_sched, ref_sched = scheduler(ours), scheduler(ref)
    if hasattr(ref, "train"):
        ours.train()
        ref.train()
    worst = 0.0
    for k, batch in enumerate(harness.batches(steps)):
        harness.train_step(ours_model, ours, batch)
        harness.train_step(ref_model, ref, batch)
        ours_sched.step()
        ref_sched.step()
        d = harness.model_diff(ours_model, ref_model)
        worst = max(worst, d)
        if d > TOL:
            raise AssertionError(f"{name}: step {k + 1}: parameters differ by {d:.3g} "
                                 f"(bound {TOL})")
    return ours_model, ours, ref_model, ref, worst


class Parity(unittest.TestCase):
    figures = {}

    @classmethod
    def tearDownClass(cls):
        print("\nworst |ravine - reference| / max(1, |reference|) over the run:")
        for name, (params, state) in cls.figures.items():
            print(f"  {name:28s} params {params:.3g}  state {state:.3g}")

    def check_case(self, case):
        name = case[0]
        ours_model, ours, ref_model, ref, worst = train_pair(case)
        state = harness.state_diff(ours.state_dict(), ref.state_dict())
        self.assertLessEqual(state, TOL, f"{name}: final state")
        if isinstance(ours, rt.ScheduleFreeAdamW):
            ours.eval()
            ref.eval()
            x = harness.model_diff(ours_model, ref_model)
            self.assertLessEqual(x, TOL, f"{name}: eval-mode parameters (x)")
            for g, h in zip(ours.param_groups, ref.param_groups):
                for key in ("k", "lr_max", "weight_sum", "scheduled_lr", "train_mode"):
                    self.assertTrue(math.isclose(g[key], h[key], rel_tol=1e-12),
                                    f"{name}: group '{key}' {g[key]} against {h[key]}")
        # the parameters moved: the comparison is not between two idle models
        moved = max((p - q).abs().max().item() for p, q in
                    zip(ours_model.parameters(), harness.make_model().parameters()))
        self.assertGreater(moved, 1e-3, f"{name}: parameters hardly moved")
        self.figures[name] = (worst, state)


def _add(case):
    setattr(Parity, f"test_{case[0]}", lambda self: self.check_case(case))


for _case in CASES:
    _add(_case)


if __name__ == "__main__":
    harness.main()
