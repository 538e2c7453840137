"""Every tensor kind ravine cannot update in place gets its own clear error
(naming the param group, the parameter's index and why), bad options are
refused, and a step or a load that fails changes nothing."""
import unittest
import warnings

import harness
from harness import rt, torch


def misaligned(shape):
    """A float32 tensor whose data pointer is 2 bytes off float alignment."""
    n = 1
    for d in shape:
        n *= d
    return torch.frombuffer(bytearray(4 * n + 2), dtype=torch.float32, offset=2,
                            count=n).view(shape)


class Snapshot:
    """Parameters, state tensors and step counts, to check that nothing changed."""

    def __init__(self, params, opt):
        self.params = [p.detach().clone() for p in params]
        self.state = {i: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
                      for i, s in opt.state_dict()["state"].items()}

    def same_as(self, params, opt):
        now = Snapshot(params, opt)
        if any(not torch.equal(a, b) for a, b in zip(self.params, now.params)):
            return False
        if self.state.keys() != now.state.keys():
            return False
        return all(torch.equal(v, now.state[i][k]) if torch.is_tensor(v) else v == now.state[i][k]
                   for i, s in self.state.items() for k, v in s.items())


class TensorKinds(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.good = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(5))]

    def refused(self, exc, make_param, *words):
        bad = make_param()
        with self.assertRaises(exc) as cm:
            rt.AdamW([{"params": self.good}, {"params": [self.good_extra(), bad]}])
        text = str(cm.exception)
        self.assertIn("param group 1, parameter 1", text)
        for w in words:
            self.assertIn(w, text)

    def good_extra(self):
        return torch.nn.Parameter(torch.randn(2))

    def test_float64_parameter(self):
        self.refused(TypeError, lambda: torch.nn.Parameter(torch.randn(3, dtype=torch.float64)),
                     "torch.float64", "float32")

    def test_parameter_on_another_device(self):
        self.refused(TypeError, lambda: torch.nn.Parameter(torch.empty(3, device="meta")),
                     "meta", "CPU")

    def test_non_contiguous_parameter(self):
        self.refused(ValueError, lambda: torch.nn.Parameter(torch.randn(4, 3).t()),
                     "not contiguous")

    def test_sparse_parameter(self):
        self.refused(TypeError, lambda: torch.nn.Parameter(torch.randn(3, 3).to_sparse()),
                     "sparse")

    def test_misaligned_parameter(self):
        self.refused(ValueError, lambda: torch.nn.Parameter(misaligned((3,))), "aligned")

    def test_muon_needs_matrices(self):
        with self.assertRaises(ValueError) as cm:
            rt.Muon(self.good)
        self.assertIn("param group 0, parameter 1", str(cm.exception))
        self.assertIn("2-D", str(cm.exception))


class FailedStep(unittest.TestCase):
    """A step with one bad gradient raises and changes no parameter, no state
    and no step count; fixed, the next step is the one torch would take."""

    def setUp(self):
        torch.manual_seed(1)
        self.params = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(7)),
                       torch.nn.Parameter(torch.randn(2, 2))]
        self.ref_params = [torch.nn.Parameter(p.detach().clone()) for p in self.params]
        self.opt = rt.Adam([{"params": self.params[:2]}, {"params": self.params[2:], "lr": 0.1}],
                           lr=0.01)
        self.ref = torch.optim.Adam([{"params": self.ref_params[:2]},
                                     {"params": self.ref_params[2:], "lr": 0.1}], lr=0.01)
        self.step_both()            # so that there is state to keep

    def grads(self, k):
        gen = torch.Generator().manual_seed(k)
        return [torch.randn(p.shape, generator=gen) for p in self.params]

    def step_both(self, k=0):
        for ps, o in ((self.params, self.opt), (self.ref_params, self.ref)):
            for p, g in zip(ps, self.grads(k)):
                p.grad = g.clone()
            o.step()

    def fails(self, exc, spoil, *words):
        for p, g in zip(self.params, self.grads(1)):
            p.grad = g.clone()
        before = Snapshot(self.params, self.opt)
        spoil()
        with self.assertRaises(exc) as cm:
            self.opt.step()
        for w in words:
            self.assertIn(w, str(cm.exception))
        self.assertTrue(before.same_as(self.params, self.opt), "the failed step changed something")
        # repaired, the next step is torch's
        for p, g in zip(self.params, self.grads(1)):
            p.grad = g.clone()
        self.step_both(1)
        self.assertEqual(harness.model_diff(_Holder(self.params), _Holder(self.ref_params)), 0.0)
        self.assertEqual(self.opt.state[self.params[0]]["step"].item(), 2.0)

    def test_non_contiguous_gradient(self):
        def spoil():
            self.params[2].grad = torch.randn(2, 2).t()
        self.fails(ValueError, spoil, "param group 1, parameter 0", "gradient is not contiguous")

    def test_float64_gradient(self):
        def spoil():
            p = self.params[1]
            p.data = p.data.double()
            p.grad = torch.randn(7, dtype=torch.float64)
            p.data = p.data.float()
        self.fails(TypeError, spoil, "param group 0, parameter 1", "gradient is torch.float64")

    def test_misaligned_gradient(self):
        def spoil():
            self.params[0].grad = misaligned((4, 3))
        self.fails(ValueError, spoil, "param group 0, parameter 0", "not aligned")

    def test_parameter_changed_shape(self):
        old = {}

        def spoil():
            old["data"] = self.params[1].data
            self.params[1].data = torch.zeros(8)
            self.params[1].grad = None
        exc_words = ("param group 0, parameter 1", "has shape [8]")
        for p, g in zip(self.params, self.grads(1)):
            p.grad = g.clone()
        spoil()
        before = Snapshot([p for i, p in enumerate(self.params) if i != 1], self.opt)
        with self.assertRaises(ValueError) as cm:
            self.opt.step()
        for w in exc_words:
            self.assertIn(w, str(cm.exception))
        self.assertTrue(before.same_as([p for i, p in enumerate(self.params) if i != 1],
                                       self.opt))

    def test_bad_option_set_between_steps(self):
        for p, g in zip(self.params, self.grads(1)):
            p.grad = g.clone()
        before = Snapshot(self.params, self.opt)
        self.opt.param_groups[1]["betas"] = (0.9, 1.5)
        with self.assertRaises(ValueError) as cm:
            self.opt.step()
        self.assertIn("param group 1", str(cm.exception))
        self.assertIn("beta2", str(cm.exception))
        self.assertTrue(before.same_as(self.params, self.opt))
        self.opt.param_groups[1]["betas"] = (0.9, 0.999)
        self.step_both(1)
        self.assertEqual(harness.model_diff(_Holder(self.params), _Holder(self.ref_params)), 0.0)

    def test_sparse_gradient(self):
        emb = torch.nn.Embedding(5, 3, sparse=True)
        opt = rt.SGD(emb.parameters(), lr=0.1)
        emb(torch.tensor([1, 2])).sum().backward()
        before = emb.weight.detach().clone()
        with self.assertRaises(TypeError) as cm:
            opt.step()
        self.assertIn("param group 0, parameter 0", str(cm.exception))
        self.assertIn("sparse", str(cm.exception))
        self.assertTrue(torch.equal(before, emb.weight))


class _Holder(torch.nn.Module):
    def __init__(self, params):
        super().__init__()
        self.ps = torch.nn.ParameterList(params)


class Options(unittest.TestCase):
    def test_constructor_values_checked_by_the_library(self):
        p = [torch.nn.Parameter(torch.zeros(3))]
        for cls, kw, words in [(rt.Adam, dict(lr=-1.0), ("lr", "-1")),
                               (rt.AdamW, dict(betas=(0.9, 1.0)), ("beta2",)),
                               (rt.SGD, dict(nesterov=True), ("nesterov",)),
                               (rt.RMSprop, dict(alpha=-0.5), ("alpha",)),
                               (rt.Adagrad, dict(eps=-1e-10), ("eps",)),
                               (rt.Adafactor, dict(d=0.0), ("d",)),
                               (rt.Muon, dict(ns_steps=2.5), ("ns_steps",)),
                               (rt.Adam, dict(differentiable=True), ("differentiable",)),
                               (rt.ScheduleFreeAdamW, dict(inner_momentum=0.9),
                                ("inner_momentum",))]:
            with self.assertRaises(ValueError, msg=f"{cls.__name__} {kw}") as cm:
                cls([torch.nn.Parameter(torch.zeros(3, 3))] if cls is rt.Muon else p, **kw)
            for w in words:
                self.assertIn(w, str(cm.exception), f"{cls.__name__} {kw}")

    def test_refused_group_leaves_the_optimizer_as_it_was(self):
        a, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
        opt = rt.Adam([a], lr=0.1)
        with self.assertRaises(ValueError):
            opt.add_param_group({"params": [b], "lr": -1.0})
        self.assertEqual(len(opt.param_groups), 1)
        opt.add_param_group({"params": [b], "lr": 0.2})
        a.grad, b.grad = torch.ones(3), torch.ones(3)
        opt.step()
        # Adam's first step moves every element by lr (sign of the gradient)
        self.assertTrue(torch.allclose(a, torch.full((3,), 0.9)))
        self.assertTrue(torch.allclose(b, torch.full((3,), 0.8)))

    def test_schedule_free_needs_train_mode(self):
        p = torch.nn.Parameter(torch.ones(3))
        opt = rt.ScheduleFreeAdamW([p])
        p.grad = torch.ones(3)
        with self.assertRaises(RuntimeError) as cm:
            opt.step()
        self.assertIn("train", str(cm.exception))
        self.assertTrue(torch.equal(p, torch.ones(3)))

    def test_from_spec_errors_name_the_key(self):
        with self.assertRaises(ValueError) as cm:
            rt.from_spec("adamw(lr=3e-4, betas=(0.9, 0.95), wd=0.1)", [torch.zeros(2)])
        self.assertIn("unknown key 'wd'", str(cm.exception))


class GroupLists(unittest.TestCase):
    """A group's tensors are registered with the library when the group is
    added: a tensor given twice, or one appended to group['params']
    afterwards, gets a clear error and changes nothing."""

    def test_same_tensor_twice_in_a_group(self):
        a, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")             # torch's own warning for duplicates
            with self.assertRaises(ValueError) as cm:
                rt.Adam([a, b, a], lr=0.1)
            self.assertIn("param group 0, parameter 2: the same tensor as parameter 0",
                          str(cm.exception))
            opt = rt.Adam([b], lr=0.1)
            with self.assertRaises(ValueError):
                opt.add_param_group({"params": [a, a]})
        self.assertEqual(len(opt.param_groups), 1)
        a.grad, b.grad = torch.ones(3), torch.ones(2)
        opt.step()                                      # the optimizer works on as it was
        self.assertTrue(torch.allclose(b, torch.full((2,), 0.9)))
        self.assertTrue(torch.equal(a, torch.ones(3)))

    def test_parameter_appended_after_construction(self):
        a, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
        opt = rt.Adam([a], lr=0.1)
        a.grad, b.grad = torch.ones(3), torch.ones(2)
        opt.step()
        snap = Snapshot([a, b], opt)
        opt.param_groups[0]["params"].append(b)
        for call in (opt.step, opt.state_dict):
            with self.assertRaises(RuntimeError) as cm:
                call()
            self.assertIn("param group 0 holds 2 parameters, 1 when it was added",
                          str(cm.exception))
            self.assertIn("add_param_group()", str(cm.exception))
        opt.param_groups[0]["params"].pop()
        self.assertTrue(snap.same_as([a, b], opt))
        opt.param_groups.append({"params": [b], **opt.defaults})      # not add_param_group
        with self.assertRaises(RuntimeError) as cm:
            opt.step()
        self.assertIn("the optimizer has 2 param groups, 1 were added to it", str(cm.exception))
        opt.param_groups.pop()
        self.assertTrue(snap.same_as([a, b], opt))


class FailedLoad(unittest.TestCase):
    def test_bad_state_dicts_change_nothing(self):
        model = harness.make_model()
        opt = rt.AdamW(model.parameters(), lr=0.01)
        for batch in harness.batches(2):
            harness.train_step(model, opt, batch)
        good = opt.state_dict()
        before = Snapshot(list(model.parameters()), opt)

        wrong_groups = {"state": {}, "param_groups": good["param_groups"] * 2}
        missing = {"state": {0: {"step": good["state"][0]["step"],
                                 "exp_avg": good["state"][0]["exp_avg"]}},
                   "param_groups": good["param_groups"]}
        short = {"state": {0: dict(good["state"][0], exp_avg=torch.zeros(3))},
                 "param_groups": good["param_groups"]}
        bad_option = {"state": good["state"],
                      "param_groups": [dict(good["param_groups"][0], eps=-1.0)]}
        for sd, words in [(wrong_groups, "number of parameter groups"),
                          (missing, "exp_avg_sq"), (short, "elements"), (bad_option, "eps")]:
            with self.assertRaises(ValueError) as cm:
                opt.load_state_dict(sd)
            self.assertIn(words, str(cm.exception))
            self.assertTrue(before.same_as(list(model.parameters()), opt))
            self.assertEqual(opt.param_groups[0]["eps"], 1e-8)


if __name__ == "__main__":
    harness.main()
