"""ravine.torch as torch.optim's API: from_spec, closures, groups added and
options changed during training, threads, finding the library."""
import os
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import rt, torch

ALL = {"sgd": rt.SGD, "polyak": rt.Polyak, "adam": rt.Adam, "adamw": rt.AdamW,
       "rmsprop": rt.RMSprop, "adagrad": rt.Adagrad, "nadam": rt.NAdam, "radam": rt.RAdam,
       "adamax": rt.Adamax, "lion": rt.Lion, "adafactor": rt.Adafactor, "muon": rt.Muon,
       "sfadamw": rt.ScheduleFreeAdamW}


class FromSpec(unittest.TestCase):
    def test_every_algorithm_by_its_spec_name(self):
        for name, cls in ALL.items():
            opt = rt.from_spec(name, [torch.nn.Parameter(torch.zeros(2, 2))])
            self.assertIs(type(opt), cls)
            self.assertIsInstance(opt, torch.optim.Optimizer)
            for key, value in cls([torch.nn.Parameter(torch.zeros(2, 2))]).defaults.items():
                got = opt.param_groups[0][key]
                # the same value of the same type (Adafactor's d is 1.0, not 1;
                # Muon's adjust_lr_fn None, not 'original')
                self.assertEqual(repr(got), repr(value), f"{name}: default of {key}")

    def test_values_reach_the_groups(self):
        opt = rt.from_spec("adamw(lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1, amsgrad=True)",
                           [torch.nn.Parameter(torch.zeros(3))])
        group = opt.param_groups[0]
        self.assertEqual((group["lr"], group["betas"], group["weight_decay"], group["amsgrad"]),
                         (3e-4, (0.9, 0.95), 0.1, True))
        self.assertNotIn("decay", group)
        opt = rt.from_spec("adafactor(eps=(None, 1e-3), beta2_decay=-0.5)",
                           [torch.nn.Parameter(torch.zeros(3))])
        self.assertEqual(opt.param_groups[0]["eps"], (None, 1e-3))
        self.assertEqual(opt.param_groups[0]["beta2_decay"], -0.5)
        opt = rt.from_spec("adamw(decay=after)", [torch.nn.Parameter(torch.zeros(3))])
        self.assertEqual(opt.param_groups[0]["decay"], "after")


class Steps(unittest.TestCase):
    def test_closure(self):
        models = [harness.make_model(), harness.make_model()]
        opts = [rt.SGD(models[0].parameters(), lr=0.1, momentum=0.9),
                torch.optim.SGD(models[1].parameters(), lr=0.1, momentum=0.9)]
        tokens, target = harness.batches(1)[0]
        for _ in range(3):
            losses = []
            for m, o in zip(models, opts):
                def closure(m=m, o=o):
                    o.zero_grad()
                    loss = torch.nn.functional.cross_entropy(m(tokens), target)
                    loss.backward()
                    return loss
                losses.append(o.step(closure).item())
            self.assertEqual(losses[0], losses[1])
        self.assertEqual(harness.model_diff(*models), 0.0)

    def test_options_changed_and_groups_added_while_training(self):
        models = [harness.make_model(), harness.make_model()]
        first = [m.groups()[0] for m in models]
        rest = [m.groups()[1] for m in models]
        opts = [rt.SGD(first[0], lr=0.05, momentum=0.9),
                torch.optim.SGD(first[1], lr=0.05, momentum=0.9)]
        for k, batch in enumerate(harness.batches(12)):
            if k == 4:
                for o, r in zip(opts, rest):
                    o.add_param_group({"params": r, "lr": 0.2, "nesterov": True})
            if k == 8:
                for o in opts:
                    o.param_groups[0]["momentum"] = 0.5
                    o.param_groups[1]["weight_decay"] = 0.01
            for m, o in zip(models, opts):
                harness.train_step(m, o, batch)
            self.assertEqual(harness.model_diff(*models), 0.0, f"step {k + 1}")
        self.assertEqual(harness.state_diff(opts[0].state_dict(), opts[1].state_dict()), 0.0)

    def test_zero_grad_and_set_to_none(self):
        models = [harness.make_model(), harness.make_model()]
        opts = [rt.Adam(models[0].parameters()), torch.optim.Adam(models[1].parameters())]
        for k, batch in enumerate(harness.batches(6)):
            for m, o in zip(models, opts):
                o.zero_grad(set_to_none=k % 2 == 0)   # fresh gradient tensors every other step
                tokens, target = batch
                torch.nn.functional.cross_entropy(m(tokens), target).backward()
                o.step()
        self.assertEqual(harness.model_diff(*models), 0.0)
        opts[0].zero_grad(set_to_none=True)
        self.assertTrue(all(p.grad is None for p in models[0].parameters()))

    def test_threads_follow_torch_and_do_not_change_results(self):
        results = []
        old = torch.get_num_threads()
        for threads in (1, 2):
            torch.set_num_threads(threads)
            torch.manual_seed(0)
            p = torch.nn.Parameter(torch.randn(1 << 17))        # past the parallel threshold
            opt = rt.AdamW([p], lr=0.01)
            for k in range(3):
                p.grad = torch.sin(p.detach() * (k + 1))
                opt.step()
            self.assertEqual(opt._b.threads, threads)
            results.append(p.detach().clone())
        torch.set_num_threads(old)
        self.assertTrue(torch.equal(results[0], results[1]))


class InPlaceOptions(unittest.TestCase):
    def test_list_values_edited_in_place_reach_the_next_step(self):
        """torch.optim reads group['betas'][0] at every step, also when the
        list is edited in place rather than replaced."""
        params = [torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))]
        opts = [rt.Adam([params[0]], lr=0.1, betas=[0.9, 0.999]),
                torch.optim.Adam([params[1]], lr=0.1, betas=[0.9, 0.999])]
        for k in range(4):
            for p, o in zip(params, opts):
                if k == 2:
                    o.param_groups[0]["betas"][0] = 0.0
                if k == 3:
                    o.param_groups[0]["betas"][1] = 0.5
                p.grad = torch.tensor([1.0, -2.0]) * (k + 1)
                o.step()
            self.assertLessEqual(harness.scaled_diff(*params), harness.TOL, f"step {k + 1}")
        self.assertLessEqual(harness.state_diff(opts[0].state_dict(), opts[1].state_dict()),
                             harness.TOL)

    def test_nested_list_values(self):
        """Adafactor's eps pair given as a list, its second value edited in place."""
        p = torch.nn.Parameter(torch.ones(3, 2))
        opt = rt.Adafactor([p], lr=0.1, eps=[None, 1e-3])
        opt.param_groups[0]["eps"][1] = -1.0
        p.grad = torch.ones(3, 2)
        with self.assertRaises(ValueError) as cm:        # the library sees the new value
            opt.step()
        self.assertIn("eps", str(cm.exception))


class Autograd(unittest.TestCase):
    """A step changes parameters in place, and autograd knows it: their
    version counters move as under torch.optim, so a graph saved before the
    step and backpropagated after it raises instead of using the new values."""

    def stale_backward(self, make, dtype=torch.float32, shape=(3,)):
        w = torch.nn.Parameter(torch.ones(shape, dtype=dtype))
        idle = torch.nn.Parameter(torch.ones(shape, dtype=dtype))   # no gradient: untouched
        opt = make([w, idle])
        y = (w * w).sum()
        versions = (w._version, idle._version)
        w.grad = torch.linspace(-1, 1, w.numel()).reshape(shape).to(dtype)
        opt.step()
        moved = (w._version != versions[0], idle._version != versions[1])
        try:
            y.backward()
            raised = False
        except RuntimeError as e:
            self.assertIn("modified by an inplace operation", str(e))
            raised = True
        return moved, raised

    def test_version_counters_move_as_under_torch_optim(self):
        for ours, ref in [(rt.SGD, torch.optim.SGD), (rt.AdamW, torch.optim.AdamW),
                          (rt.Adagrad, torch.optim.Adagrad)]:
            want = self.stale_backward(lambda ps: ref(ps, lr=0.1))
            self.assertEqual(want, ((True, False), True), ref.__name__)
            self.assertEqual(self.stale_backward(lambda ps: ours(ps, lr=0.1)), want,
                             ours.__name__)
        # torch 1.13 has neither: the same expectation
        self.assertEqual(self.stale_backward(lambda ps: rt.Lion(ps, lr=0.1)),
                         ((True, False), True))
        self.assertEqual(self.stale_backward(lambda ps: rt.Muon(ps, lr=0.1), shape=(2, 3)),
                         ((True, False), True))
        self.assertEqual(self.stale_backward(lambda ps: rt.AdamW(ps, lr=0.1), torch.bfloat16),
                         ((True, False), True))

    def test_new_gradients_and_moved_parameters(self):
        """The counters follow p.data = ... and gradients that come and go."""
        w = torch.nn.Parameter(torch.ones(4))
        opt = rt.Adam([w], lr=0.1)
        for k in range(3):
            w.grad = torch.full((4,), float(k + 1))        # a new gradient tensor each step
            before = w._version
            opt.step()
            self.assertGreater(w._version, before, f"step {k + 1}")
        w.data = torch.zeros(4)
        y = (w * w).sum()
        opt.step()
        with self.assertRaises(RuntimeError):
            y.backward()
        w.grad = None
        before = w._version
        opt.step()
        self.assertEqual(w._version, before, "a step without a gradient touches nothing")

    def test_schedule_free_modes_and_checkpoint_loads_move_the_counters(self):
        w = torch.nn.Parameter(torch.ones(3))
        opt = rt.ScheduleFreeAdamW([w], lr=0.1)
        opt.train()
        w.grad = torch.ones(3)
        opt.step()
        for move in (opt.eval, opt.train):
            before = w._version
            move()
            self.assertGreater(w._version, before, move.__name__)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "run.safetensors")
            opt.save_checkpoint(path)
            y = (w * w).sum()
            opt.load_checkpoint(path)
            with self.assertRaises(RuntimeError):
                y.backward()


class Library(unittest.TestCase):
    PACKAGE = os.path.normpath(os.path.join(harness.HERE, "..", "..", "python"))

    def run_python(self, code, **env):
        full = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=self.PACKAGE)
        full.update(env)
        for key, value in env.items():
            if value is None:
                del full[key]
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=full)

    def test_ravine_library_overrides_and_is_reported_when_missing(self):
        r = self.run_python("import ravine.torch", RAVINE_LIBRARY="/nonexistent/libravine.so")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot find libravine.so", r.stderr)
        self.assertIn("/nonexistent/libravine.so", r.stderr)

    def test_readme_training_loop(self):
        """README's "From PyTorch" example runs as written and learns."""
        source = os.path.normpath(os.path.join(harness.HERE, "..", ".."))
        with open(os.path.join(source, "README.md")) as f:
            readme = f.read()
        section = readme[readme.index("## From PyTorch"):]
        code = section[section.index("```python\n") + 10:]
        code = code[:code.index("```")]
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=tmp, env=dict(os.environ, PYTHONPATH=self.PACKAGE,
                                                 PYTHONDONTWRITEBYTECODE="1"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.exists(os.path.join(tmp, "ckpt.pt")))
        losses = [float(line.split()[-1]) for line in r.stdout.splitlines()]
        self.assertEqual(len(losses), 6, r.stdout)
        self.assertLess(losses[-1], 0.1 * losses[0], r.stdout)

    def test_source_tree_finds_build(self):
        source = os.path.normpath(os.path.join(harness.HERE, "..", ".."))
        if not os.path.exists(os.path.join(source, "build", "libravine.so")):
            self.skipTest("no build/libravine.so in this source tree")
        r = self.run_python("import ravine._lib as l, ravine.torch; print(l.LIBRARY_PATH)",
                            RAVINE_LIBRARY=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), os.path.join(source, "build", "libravine.so"))


if __name__ == "__main__":
    harness.main()
