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

    def make(self, cls, dtype=torch.float32, **kw):
        model = harness.make_model().to(dtype)
        decay, rest = model.groups(matrices_only=cls is rt.Muon)
        opt = cls([{"params": decay}, {"params": rest, "weight_decay": 0.0}], **kw)
        if cls is rt.ScheduleFreeAdamW:
            opt.train()
        return model, opt

    def resume(self, cls, dtype=torch.float32, eval_at_save=False, **kw):
        """5 steps, save, load into a fresh model and optimizer, 5 more steps:
        the same bits as 10 steps straight."""
        data = harness.batches(10, seed=11)
        model, opt = self.make(cls, dtype, **kw)
        for batch in data[:5]:
            harness.train_step(model, opt, batch)
        if eval_at_save:
            opt.eval()
        opt.save_checkpoint(self.path, schedule="cosine(lr=0.01, t_max=10)")
        info = rt.inspect_checkpoint(self.path)
        self.assertEqual((info["step"], info["n_groups"]), (5, 2))
        self.assertEqual(info["n_params"], 3 if cls is rt.Muon else 7)
        self.assertEqual((info["version"], info["mode"]), (2, "eval" if eval_at_save else "train"))
        self.assertEqual(info["schedule_step"], 5)
        self.assertTrue(info["schedule"].startswith("cosine("))

        fresh_model, fresh = self.make(cls, dtype, **dict(kw, lr=0.5))   # other options: the file's win
        loaded = fresh.load_checkpoint(self.path)
        self.assertEqual(loaded["step"], 5)
        self.assertEqual(fresh.param_groups[0]["lr"], opt.param_groups[0]["lr"])
        self.assertEqual(harness.model_diff(model, fresh_model), 0.0, "parameters restored")
        self.assertEqual(harness.state_diff(opt.state_dict(), fresh.state_dict()), 0.0)
        if cls is rt.ScheduleFreeAdamW:
            for a, b in zip(opt.param_groups, fresh.param_groups):
                self.assertEqual({k: a[k] for k in ("k", "lr_max", "weight_sum", "train_mode")},
                                 {k: b[k] for k in ("k", "lr_max", "weight_sum", "train_mode")})
        if eval_at_save:
            opt.train()
            fresh.train()
        for batch in data[5:]:
            harness.train_step(model, opt, batch)
            harness.train_step(fresh_model, fresh, batch)
        self.assertEqual(harness.model_diff(model, fresh_model), 0.0, f"{cls.__name__} resumed")
        self.assertEqual(harness.state_diff(opt.state_dict(), fresh.state_dict()), 0.0)

    def test_resume_is_exact(self):
        for cls, kw in [(rt.AdamW, dict(lr=0.01)), (rt.SGD, dict(lr=0.1, momentum=0.9)),
                        (rt.RMSprop, dict(lr=0.01, centered=True)), (rt.Adagrad, {}),
                        (rt.RAdam, {}), (rt.Adamax, {}), (rt.Lion, dict(lr=1e-3)),
                        (rt.Polyak, dict(lr=0.05)), (rt.NAdam, {}), (rt.Adafactor, {}),
                        (rt.Muon, dict(lr=0.02)), (rt.ScheduleFreeAdamW, dict(lr=0.01))]:
            with self.subTest(cls.__name__):
                self.resume(cls, **kw)

    def test_resume_reduced_precision(self):
        """bf16 parameters over float32 masters, bf16 and int8 state, stored as held."""
        for cls, dtype, kw in [(rt.AdamW, torch.bfloat16, dict(lr=0.01)),
                               (rt.AdamW, torch.float32, dict(lr=0.01, state="int8")),
                               (rt.AdamW, torch.bfloat16, dict(lr=0.01, state="bf16")),
                               (rt.NAdam, torch.bfloat16, dict(state="int8")),
                               (rt.Adafactor, torch.bfloat16, {}),
                               (rt.Muon, torch.bfloat16, dict(lr=0.02)),
                               (rt.ScheduleFreeAdamW, torch.bfloat16, dict(lr=0.01, state="int8"))]:
            with self.subTest(f"{cls.__name__} {dtype} {kw}"):
                self.resume(cls, dtype, **kw)

    def test_schedule_free_saved_in_eval_mode(self):
        for state in ("fp32", "bf16"):
            with self.subTest(state):
                self.resume(rt.ScheduleFreeAdamW, eval_at_save=True, lr=0.01, state=state)

    def test_other_dtype_or_precision_is_refused(self):
        model, opt = self.make(rt.AdamW, torch.bfloat16, lr=0.01, state="int8")
        for batch in harness.batches(2):
            harness.train_step(model, opt, batch)
        opt.save_checkpoint(self.path)
        other_model, other = self.make(rt.AdamW, lr=0.01, state="int8")
        before = [p.detach().clone() for p in other_model.parameters()]
        with self.assertRaises(ValueError) as cm:
            other.load_checkpoint(self.path)
        self.assertIn("is bfloat16 (BF16) in the file, the optimizer's is float32 (F32)", str(cm.exception))
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(before, other_model.parameters())))
        same_model, same = self.make(rt.AdamW, torch.bfloat16, lr=0.01, state="bf16")
        with self.assertRaises(ValueError) as cm:
            same.load_checkpoint(self.path, keep_hparams=True)
        self.assertIn("keeps its state as int8", str(cm.exception))
        same.load_checkpoint(self.path)         # the file's precision by default
        self.assertEqual(same.param_groups[0]["state"], "int8")
        self.assertEqual(harness.model_diff(model, same_model), 0.0)

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
