"""ravine.torch's state: torch's state_dict layout, round trips through torch
(and the reference classes) that continue identically, live state tensors
over the library's memory, deepcopy."""
import copy
import gc
import unittest

import harness
from harness import TOL, rt, torch
from test_torch_parity import CASES, AdamWDecayAfter, build

# the cases whose reference keeps the same group keys (AdamWDecayAfter stores
# its decay under another key)
ROUND_TRIP = [c for c in CASES if c[2] is not AdamWDecayAfter]


def copy_of(model):
    other = harness.make_model()
    other.load_state_dict(model.state_dict())
    return other


def started(case, cls, batches):
    """A fresh model and optimizer of the case (cls: ravine's or the reference
    class) after training on batches."""
    _, _, _, kw, overrides, _, matrices_only = case
    model = harness.make_model()
    opt = build(model, cls, kw, overrides, matrices_only)
    if hasattr(opt, "train"):
        opt.train()
    for batch in batches:
        harness.train_step(model, opt, batch)
    return model, opt


def loaded_copy(case, cls, model, opt):
    """A copy of the model with a new optimizer of class cls loaded from opt's
    state dict."""
    _, _, _, kw, overrides, _, matrices_only = case
    other_model = copy_of(model)
    other = build(other_model, cls, kw, overrides, matrices_only)
    other.load_state_dict(opt.state_dict())
    return other_model, other


def continue_both(case, model_a, opt_a, model_b, opt_b, batches, what):
    for k, batch in enumerate(batches):
        harness.train_step(model_a, opt_a, batch)
        harness.train_step(model_b, opt_b, batch)
        d = harness.model_diff(model_a, model_b)
        if d > TOL:
            raise AssertionError(f"{case[0]}: {what}: step {k + 1} after loading: parameters "
                                 f"differ by {d:.3g}")


class RoundTrip(unittest.TestCase):
    def round_trip(self, case):
        """reference -> ravine -> reference, each time continuing side by side."""
        _, ours_cls, ref_cls = case[:3]
        data = harness.batches(15, seed=7)
        ref_model, ref = started(case, ref_cls, data[:5])

        ours_model, ours = loaded_copy(case, ours_cls, ref_model, ref)
        self.assertEqual(harness.state_diff(ours.state_dict(), ref.state_dict()), 0.0)
        continue_both(case, ours_model, ours, ref_model, ref, data[5:10], "reference -> ravine")

        back_model, back = loaded_copy(case, ref_cls, ours_model, ours)
        continue_both(case, ours_model, ours, back_model, back, data[10:], "ravine -> reference")
        self.assertLessEqual(harness.state_diff(ours.state_dict(), back.state_dict()), TOL)

    def test_ravine_to_ravine_is_exact(self):
        for case in CASES:
            name, cls = case[:2]
            data = harness.batches(8, seed=3)
            a_model, a = started(case, cls, data[:4])
            b_model, b = loaded_copy(case, cls, a_model, a)
            # a deep copy of model and optimizer together (pickling's path): the
            # optimizer is rebuilt around the copied parameters with its own state
            c_model, c = copy.deepcopy((a_model, a))
            self.assertIsNot(c.param_groups[0]["params"][0], a.param_groups[0]["params"][0])
            for batch in data[4:]:
                for m, o in ((a_model, a), (b_model, b)):
                    harness.train_step(m, o, batch)
            self.assertEqual(harness.model_diff(a_model, b_model), 0.0, name)
            self.assertEqual(harness.state_diff(a.state_dict(), b.state_dict()), 0.0, name)
            c_params = {id(p) for p in c_model.parameters()}
            self.assertTrue(all(id(p) in c_params for g in c.param_groups for p in g["params"]),
                            f"{name}: the deep copy's groups hold the copied model's parameters")
            for batch in data[4:]:
                harness.train_step(c_model, c, batch)
            self.assertEqual(harness.model_diff(a_model, c_model), 0.0, f"{name}: deepcopy")

    def test_torch_1_13_nadam_state_dict_loads(self):
        """torch 1.13's NAdam computes another rule, but its state layout is
        torch's: it loads, and continues as the reference from that state."""
        data = harness.batches(8, seed=5)
        src_model = harness.make_model()
        src = torch.optim.NAdam(src_model.parameters(), lr=0.01)
        for batch in data[:4]:
            harness.train_step(src_model, src, batch)
        saved = src.state_dict()
        ours_model, ref_model = copy_of(src_model), copy_of(src_model)
        ours = rt.NAdam(ours_model.parameters(), lr=0.01)
        ref = harness.REFERENCE["NAdam"](ref_model.parameters(), lr=0.01)
        ours.load_state_dict(saved)
        ref.load_state_dict(saved)
        # 1.13's group lacks the later keys: they take the defaults
        self.assertLessEqual(set(src.param_groups[0]), set(ours.param_groups[0]))
        self.assertIs(ours.param_groups[0]["decoupled_weight_decay"], False)
        continue_both(("nadam_1_13",), ours_model, ours, ref_model, ref, data[4:], "1.13 NAdam")


def _add(case):
    setattr(RoundTrip, f"test_round_trip_{case[0]}", lambda self: self.round_trip(case))


for _case in ROUND_TRIP:
    _add(_case)


class Layout(unittest.TestCase):
    def trained(self, cls, steps=3, **kw):
        model = harness.make_model()
        opt = cls(model.parameters(), **kw)
        for batch in harness.batches(steps):
            harness.train_step(model, opt, batch)
        return model, opt

    def test_keys_shapes_and_step_as_torch(self):
        for ours_cls, torch_cls, kw in [
                (rt.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
                (rt.Adam, torch.optim.Adam, dict(amsgrad=True)),
                (rt.AdamW, torch.optim.AdamW, {}),
                (rt.RMSprop, torch.optim.RMSprop, dict(centered=True, momentum=0.9)),
                (rt.Adagrad, torch.optim.Adagrad, {}),
                (rt.NAdam, torch.optim.NAdam, {}),
                (rt.RAdam, torch.optim.RAdam, {}),
                (rt.Adamax, torch.optim.Adamax, {})]:
            _, ours = self.trained(ours_cls, **kw)
            _, ref = self.trained(torch_cls, **kw)
            a, b = ours.state_dict(), ref.state_dict()
            for i, entry in b["state"].items():
                self.assertEqual(list(a["state"][i]), list(entry), ours_cls.__name__)
                for key, value in entry.items():
                    ours_value = a["state"][i][key]
                    if torch.is_tensor(value):
                        self.assertEqual((ours_value.dtype, ours_value.shape),
                                         (value.dtype, value.shape), f"{ours_cls.__name__} {key}")
                    else:       # torch 1.13's RMSprop: an int step
                        self.assertEqual(ours_value.dtype, torch.float32)
                        self.assertEqual(ours_value.item(), value)
            self.assertEqual(set(a["state"]), set(b["state"]))
            for g, h in zip(a["param_groups"], b["param_groups"]):
                self.assertEqual(g["params"], h["params"])
                self.assertLessEqual(set(h) - {"differentiable"}, set(g), ours_cls.__name__)

    def test_adafactor_factored_shapes(self):
        p3 = torch.nn.Parameter(torch.randn(2, 3, 5))
        p1 = torch.nn.Parameter(torch.randn(4))
        opt = rt.Adafactor([p3, p1], lr=0.01)
        ref = harness.REFERENCE["Adafactor"]([torch.nn.Parameter(p3.detach().clone()),
                                              torch.nn.Parameter(p1.detach().clone())], lr=0.01)
        for o in (opt, ref):
            for p in o.param_groups[0]["params"]:
                p.grad = torch.linspace(-1, 1, p.numel()).reshape(p.shape)
            o.step()
        state = opt.state_dict()["state"]
        self.assertEqual(list(state[0]), ["step", "row_var", "col_var"])
        self.assertEqual(tuple(state[0]["row_var"].shape), (2, 3, 1))
        self.assertEqual(tuple(state[0]["col_var"].shape), (2, 1, 5))
        self.assertEqual(list(state[1]), ["step", "variance"])
        self.assertLessEqual(harness.state_diff(opt.state_dict(), ref.state_dict()), TOL)

    def test_state_tensors_are_live_and_outlive_the_optimizer(self):
        model, opt = self.trained(rt.Adam, lr=0.01)
        p = next(model.parameters())
        exp_avg = opt.state[p]["exp_avg"]
        before = exp_avg.clone()
        self.assertEqual(opt.state[p]["step"].item(), 3.0)
        harness.train_step(model, opt, harness.batches(1, seed=9)[0])
        self.assertFalse(torch.equal(before, exp_avg), "the step updates the state in place")
        self.assertEqual(opt.state[p]["step"].item(), 4.0)
        saved = opt.state_dict()
        after = exp_avg.clone()
        del opt
        gc.collect()
        self.assertTrue(torch.equal(exp_avg, after))
        self.assertTrue(torch.equal(saved["state"][0]["exp_avg"], after))

    def test_state_dict_counts_stay_in_step_with_its_buffers(self):
        """torch's state_dict holds the live state tensors, 'step' included
        (a tensor updated in place): after another step the saved dict shows
        the new buffers and the new count, as torch's does."""
        for ours_cls, torch_cls in [(rt.Adam, torch.optim.Adam), (rt.NAdam, torch.optim.NAdam),
                                    (rt.Adagrad, torch.optim.Adagrad)]:
            (_, ours), (_, ref) = self.trained(ours_cls, lr=0.01), self.trained(torch_cls, lr=0.01)
            p = ours.param_groups[0]["params"][0]
            saved = [ours.state_dict(), ref.state_dict()]
            mine = ours.state[p]
            step = mine["step"]
            mu = mine["mu_product"] if ours_cls is rt.NAdam else None
            mu_before = mu.item() if mu is not None else None
            for o in (ours, ref):
                for q in o.param_groups[0]["params"]:
                    q.grad = torch.ones_like(q)
                o.step()
            for sd in saved:
                self.assertEqual(sd["state"][0]["step"].item(), 4.0, ours_cls.__name__)
            self.assertIs(ours.state[p]["step"], step, "the same live tensor every time")
            self.assertEqual(step.item(), 4.0)
            self.assertTrue(torch.equal(saved[0]["state"][0]["step"], ours.state[p]["step"]))
            key = "exp_avg" if "exp_avg" in saved[0]["state"][0] else "sum"
            self.assertTrue(torch.equal(saved[0]["state"][0][key], ours.state[p][key]))
            if mu is not None:
                # NAdam's mu_product, a tensor torch 1.13 also multiplies in place
                self.assertNotEqual(mu.item(), mu_before)
                self.assertEqual(mu.item(), ours.state[p]["mu_product"].item())
                self.assertEqual(saved[0]["state"][0]["mu_product"].item(), mu.item())
            # and the dict taken before the step loads as the optimizer is now
            model, other = self.trained(ours_cls, lr=0.01)
            other.load_state_dict(saved[0])
            self.assertEqual(harness.state_diff(other.state_dict(), ours.state_dict()), 0.0)

    def test_empty_parameter_counts_its_steps(self):
        """A parameter of 0 elements with a gradient steps (its count moves)
        as under torch."""
        made = []
        for cls in (rt.Adam, torch.optim.Adam):
            empty = torch.nn.Parameter(torch.zeros(0, 3))
            full = torch.nn.Parameter(torch.ones(2))
            opt = cls([empty, full], lr=0.1)
            for _ in range(2):
                empty.grad, full.grad = torch.zeros(0, 3), torch.ones(2)
                opt.step()
            made.append(opt.state_dict())
        self.assertEqual(made[0]["state"][0]["step"].item(), 2.0)
        self.assertEqual(harness.state_diff(made[0], made[1]), 0.0)

    def test_parameters_without_gradients_are_skipped_as_torch(self):
        models = [harness.make_model(), harness.make_model()]
        opts = [rt.Adam(models[0].parameters(), lr=0.01),
                torch.optim.Adam(models[1].parameters(), lr=0.01)]
        for m in models:
            m.norm.weight.requires_grad_(False)     # never gets a gradient
        for batch in harness.batches(4):
            for m, o in zip(models, opts):
                harness.train_step(m, o, batch)
        self.assertEqual(harness.model_diff(*models), 0.0)
        self.assertTrue(torch.equal(models[0].norm.weight, harness.make_model().norm.weight))
        self.assertNotIn(models[0].norm.weight, opts[0].state)
        self.assertEqual(opts[0].state[models[0].norm.weight], {})
        self.assertEqual(harness.state_diff(opts[0].state_dict(), opts[1].state_dict()), 0.0)


if __name__ == "__main__":
    harness.main()
