"""The library's safetensors checkpoints from Python: save, inspect, load
into a fresh model and optimizer, resume bit-identically; errors that
change nothing."""
import os
import tempfile
import unittest

import harness
from harness import rt, torch

S = torch.optim.lr_scheduler


class Checkpoints(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "run.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def make(self, cls, **kw):
        model = harness.make_model()
        decay, rest = model.groups()
        opt = cls([{"params": decay}, {"params": rest, "weight_decay": 0.0}], **kw)
        return model, opt

    def resume(self, cls, **kw):
        data = harness.batches(10, seed=11)
        model, opt = self.make(cls, **kw)
        for batch in data[:5]:
            harness.train_step(model, opt, batch)
        opt.save_checkpoint(self.path, schedule="cosine(lr=0.01, t_max=10)")
        info = rt.inspect_checkpoint(self.path)
        self.assertEqual((info["step"], info["n_groups"], info["n_params"]), (5, 2, 7))
        self.assertEqual(info["schedule_step"], 5)
        self.assertTrue(info["schedule"].startswith("cosine("))

        fresh_model, fresh = self.make(cls, lr=0.5)     # other options: the file's win
        loaded = fresh.load_checkpoint(self.path)
        self.assertEqual(loaded["step"], 5)
        self.assertEqual(fresh.param_groups[0]["lr"], opt.param_groups[0]["lr"])
        self.assertEqual(harness.model_diff(model, fresh_model), 0.0, "parameters restored")
        self.assertEqual(harness.state_diff(opt.state_dict(), fresh.state_dict()), 0.0)
        for batch in data[5:]:
            harness.train_step(model, opt, batch)
            harness.train_step(fresh_model, fresh, batch)
        self.assertEqual(harness.model_diff(model, fresh_model), 0.0, f"{cls.__name__} resumed")

    def test_resume_is_exact(self):
        for cls, kw in [(rt.AdamW, dict(lr=0.01)), (rt.SGD, dict(lr=0.1, momentum=0.9)),
                        (rt.RMSprop, dict(lr=0.01, centered=True)), (rt.Adagrad, {}),
                        (rt.RAdam, {}), (rt.Adamax, {}), (rt.Lion, dict(lr=1e-3)),
                        (rt.Polyak, dict(lr=0.05))]:
            with self.subTest(cls.__name__):
                self.resume(cls, **kw)

    def test_state_the_format_cannot_hold_is_refused(self):
        for cls in (rt.NAdam, rt.Adafactor, rt.ScheduleFreeAdamW):
            model, opt = self.make(cls)
            with self.assertRaises(NotImplementedError) as cm:
                opt.save_checkpoint(self.path)
            self.assertIn("state_dict()", str(cm.exception))
            self.assertFalse(os.path.exists(self.path))

    def test_failed_loads_change_nothing(self):
        model, opt = self.make(rt.AdamW, lr=0.01)
        for batch in harness.batches(3):
            harness.train_step(model, opt, batch)
        opt.save_checkpoint(self.path)

        other = torch.nn.Linear(3, 2)
        other_opt = rt.AdamW(other.parameters(), lr=0.01)
        before = [p.detach().clone() for p in other.parameters()]
        with self.assertRaises(ValueError) as cm:
            other_opt.load_checkpoint(self.path)
        self.assertIn("run.safetensors", str(cm.exception))
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(before, other.parameters())))
        self.assertEqual(len(other_opt.state), 0)

        with self.assertRaises(OSError):
            opt.load_checkpoint(os.path.join(self.dir.name, "missing.safetensors"))
        with open(self.path, "r+b") as f:          # damage one byte of tensor data
            f.seek(-3, os.SEEK_END)
            byte = f.read(1)
            f.seek(-3, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x40]))
        state = {i: {k: v.clone() for k, v in s.items()}
                 for i, s in opt.state_dict()["state"].items()}
        with self.assertRaises(ValueError) as cm:
            opt.load_checkpoint(self.path)
        self.assertIn("checksum", str(cm.exception))
        self.assertTrue(all(torch.equal(v, opt.state_dict()["state"][i][k])
                            for i, s in state.items() for k, v in s.items()))


if __name__ == "__main__":
    harness.main()
