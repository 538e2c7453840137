"""ravine.torch with optimizer state stored below float32 (state="bf16" and
"int8") and with bf16 parameters: training tracks the float32 run, the
state dict shows the stored buffers as documented (docs/torch.md), round
trips continue bit for bit, torch.optim's state dicts load with their values
converted by the library, and refused tensors, options and loads change
nothing.
"""
import copy
import io
import unittest

import harness
from harness import rt, torch
from test_torch_errors import Snapshot

BF16 = torch.bfloat16
V = harness.VOCAB
STEPS = 200
LAST = 20
# Measured with the cases below (200 steps, loss from 2.6 down to 0.02-2.2
# nats): the mean loss of the last 20 steps moved by at most 0.013 nats with
# bf16 state (Adamax) and 0.018 with int8 state (Lion); the loss of any one
# step by at most 0.057 (Adamax, bf16) and 0.053 (Lion, int8). The bounds
# leave room for another machine's rounding of torch's own kernels.
FINAL_BOUND = 0.03
STEP_BOUND = 0.1


class WideLM(torch.nn.Module):
    """Concatenated context embeddings -> LayerNorm -> Linear -> tanh ->
    Linear: tensors of several int8 blocks (256 values each), and a task it
    learns in a few hundred steps."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(V, 32)
        self.norm = torch.nn.LayerNorm(96)
        self.hidden = torch.nn.Linear(96, 64)
        self.out = torch.nn.Linear(64, V)

    def forward(self, tokens):
        x = self.norm(self.embed(tokens).flatten(1))
        return self.out(torch.tanh(self.hidden(x)))


def make_model(dtype=torch.float32):
    torch.manual_seed(0)
    return WideLM().to(dtype)


def data(steps, seed=1):
    """A learnable task: the next token is (t0 + 2 t1) mod V."""
    return [(t, (t[:, 0] + 2 * t[:, 1]) % V) for t, _ in harness.batches(steps, seed, size=64)]


def train(model, opt, batches):
    losses = []
    for tokens, target in batches:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tokens).float(), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


TRACKED = [
    (rt.SGD, dict(lr=0.1, momentum=0.9)), (rt.Polyak, dict(lr=0.5)),
    (rt.Adam, dict(lr=0.01)), (rt.AdamW, dict(lr=0.01, weight_decay=0.1)),
    (rt.RMSprop, dict(lr=0.003, momentum=0.5)), (rt.Adagrad, dict(lr=0.1)),
    (rt.NAdam, dict(lr=0.01)), (rt.RAdam, dict(lr=0.01)), (rt.Adamax, dict(lr=0.02)),
    (rt.Lion, dict(lr=2e-3)), (rt.ScheduleFreeAdamW, dict(lr=0.02)),
]


def decode(codes, scales, nonnegative):
    """int8 codes to values, from docs/optimizers.md's description of the
    maps (apart from the library's bit arithmetic): signed, a sign bit, 4
    exponent and 3 fraction bits, (1 + m/8) 2^(e-15), e = 0 linear m/8 2^-14;
    unsigned, 5 and 3 bits, bias 31. Each block of 256 values is in units of
    its scale."""
    c = codes.reshape(-1).long()
    bias = 31 if nonnegative else 15
    mag = c if nonnegative else c & 0x7F
    e, m = (mag >> 3).double(), (mag & 7).double()
    x = torch.where(e > 0, (1 + m / 8) * torch.pow(2.0, e - bias), m / 8 * 2.0 ** (1 - bias))
    if not nonnegative:
        x = torch.where(c & 0x80 > 0, -x, x)
    block = torch.arange(c.numel()) // 256
    return x * scales.double()[block]


class Tracking(unittest.TestCase):
    """bf16 and int8 state follow the float32 run on a model that learns."""
    figures = []

    @classmethod
    def tearDownClass(cls):
        print("\n|loss - loss with fp32 state|: mean of the last 20 steps / worst step")
        for name, state, final, worst in cls.figures:
            print(f"  {name:18s} {state}  {final:.4f}  {worst:.4f}")

    def track(self, cls, kw, dtype=torch.float32):
        batches = data(STEPS)
        runs = {}
        for state in ("fp32", "bf16", "int8"):
            model = make_model(dtype)
            opt = cls(model.parameters(), state=state, **kw)
            if isinstance(opt, rt.ScheduleFreeAdamW):
                opt.train()
            runs[state] = (train(model, opt, batches), opt)
        base = runs["fp32"][0]
        name = cls.__name__ + (" (bf16 params)" if dtype == BF16 else "")
        self.assertLess(sum(base[-LAST:]) / LAST, base[0] - 0.4, f"{name}: hardly learned")
        for state in ("bf16", "int8"):
            losses, opt = runs[state]
            final = abs(sum(losses[-LAST:]) - sum(base[-LAST:])) / LAST
            worst = max(abs(a - b) for a, b in zip(losses, base))
            self.figures.append((name, state, final, worst))
            self.assertLessEqual(final, FINAL_BOUND, f"{name}, state={state}: final loss")
            self.assertLessEqual(worst, STEP_BOUND, f"{name}, state={state}: worst step")
            self.assertNotEqual(losses, base, f"{name}, state={state}: same as fp32 state")
            entry = opt.state_dict()["state"][0]
            self.assertEqual(entry["state_precision"], state)

    def test_every_elementwise_optimizer(self):
        for cls, kw in TRACKED:
            with self.subTest(cls.__name__):
                self.track(cls, kw)

    def test_bf16_parameters(self):
        self.track(rt.AdamW, dict(lr=0.01, weight_decay=0.1), BF16)


def trained(cls, steps=5, dtype=torch.float32, seed=0, **kw):
    model = make_model(dtype)
    opt = cls(model.parameters(), **kw)
    train(model, opt, data(steps, seed=seed + 1))
    return model, opt


class Layout(unittest.TestCase):
    """The state dict's entries below float32, as docs/torch.md describes them."""

    def test_int8_state_of_a_bf16_parameter(self):
        model, opt = trained(rt.AdamW, dtype=BF16, lr=0.01, state="int8")
        entry = opt.state_dict()["state"][3]            # hidden.weight: 64 x 96 = 24 blocks
        self.assertEqual(list(entry), ["step", "exp_avg", "exp_avg.absmax", "exp_avg_sq",
                                       "exp_avg_sq.absmax", "master", "state_precision"])
        w = model.hidden.weight
        self.assertEqual((entry["exp_avg"].dtype, entry["exp_avg"].shape), (torch.uint8, w.shape))
        self.assertEqual((entry["exp_avg.absmax"].dtype, entry["exp_avg.absmax"].shape),
                         (torch.float32, (24,)))
        self.assertEqual((entry["master"].dtype, entry["master"].shape), (torch.float32, w.shape))
        self.assertEqual(entry["state_precision"], "int8")
        self.assertEqual(float(entry["step"]), 5)
        # the parameter is its master rounded; the codes decode to moments of the
        # size the gradients give (|m| <= max |g|, v <= max g^2 over the steps)
        self.assertTrue(torch.equal(w, entry["master"].to(BF16)))
        m = decode(entry["exp_avg"], entry["exp_avg.absmax"], False)
        v = decode(entry["exp_avg_sq"], entry["exp_avg_sq.absmax"], True)
        scales = entry["exp_avg.absmax"].double()
        for k in range(24):     # each block's scale is one of its values, exactly
            self.assertEqual(m[256 * k:256 * (k + 1)].abs().max().item(), scales[k].item())
        self.assertTrue(bool((v >= 0).all()) and v.max().item() > 0)
        # a bias: fewer values than a block
        bias = opt.state_dict()["state"][4]
        self.assertEqual(bias["exp_avg.absmax"].shape, (1,))

    def test_bf16_state_and_live_views(self):
        model, opt = trained(rt.RMSprop, lr=0.003, momentum=0.5, state="bf16")
        entry = opt.state[model.hidden.weight]
        self.assertEqual(list(entry), ["step", "square_avg", "momentum_buffer", "state_precision"])
        for key in ("square_avg", "momentum_buffer"):
            self.assertEqual(entry[key].dtype, BF16)
            self.assertEqual(entry[key].shape, model.hidden.weight.shape)
        before = entry["square_avg"].clone()
        train(model, opt, data(1, seed=7))
        self.assertFalse(torch.equal(before, entry["square_avg"]))   # a view of the live buffer

    def test_float32_layout_unchanged(self):
        """state='fp32' and float32 parameters: torch's keys and groups, nothing more."""
        model, opt = trained(rt.Adam, lr=0.01)
        sd = opt.state_dict()
        self.assertEqual(list(sd["state"][0]), ["step", "exp_avg", "exp_avg_sq"])
        self.assertNotIn("state", sd["param_groups"][0])
        model, opt = trained(rt.Adam, lr=0.01, state="bf16")
        self.assertEqual(opt.state_dict()["param_groups"][0]["state"], "bf16")

    def test_schedule_free_z_stays_float32(self):
        model, opt = trained(rt.ScheduleFreeAdamW, lr=0.01, state="int8", steps=0)
        opt.train()
        train(model, opt, data(2))
        entry = opt.state_dict()["state"][0]
        self.assertEqual(entry["z"].dtype, torch.float32)
        self.assertEqual(entry["exp_avg_sq"].dtype, torch.uint8)
        self.assertEqual(entry["state_precision"], "int8")

    def test_sgd_without_momentum_keeps_the_master(self):
        model, opt = trained(rt.SGD, dtype=BF16, lr=0.1)
        self.assertEqual(list(opt.state_dict()["state"][0]), ["master"])

    def test_per_group_state_and_mixed_dtypes(self):
        model = make_model(BF16)
        model.norm.float()
        norm = model.norm       # float32 inside a bf16 model
        model.norm.forward = lambda x: torch.nn.LayerNorm.forward(norm, x.float()).to(BF16)
        opt = rt.Adam([{"params": [model.embed.weight, model.hidden.weight], "state": "int8"},
                       {"params": [model.norm.weight, model.hidden.bias], "state": "bf16"},
                       {"params": [model.norm.bias, model.out.weight, model.out.bias]}],
                      lr=0.01)
        train(model, opt, data(3))
        sd = opt.state_dict()["state"]
        self.assertEqual([sd[i]["state_precision"] for i in (0, 1, 2, 3)],
                         ["int8", "int8", "bf16", "bf16"])
        self.assertNotIn("state_precision", sd[4])
        self.assertEqual(sd[4]["exp_avg"].dtype, torch.float32)
        self.assertNotIn("master", sd[2])               # norm.weight is float32
        self.assertIn("master", sd[3])
        self.assertNotIn("state", opt.param_groups[2])

    def test_from_spec(self):
        model = make_model()
        opt = rt.from_spec("adamw(lr=0.01, state=int8)", model.parameters())
        self.assertIsInstance(opt, rt.AdamW)
        self.assertEqual(opt.param_groups[0]["state"], "int8")
        self.assertIs(type(rt.from_spec("adafactor", model.parameters())), rt.Adafactor)


def state_equal(a, b):
    """Two state dicts' per-parameter states identical, bit for bit."""
    if a.keys() != b.keys():
        return False
    for i in a:
        if list(a[i]) != list(b[i]):
            return False
        for key, x in a[i].items():
            y = b[i][key]
            if torch.is_tensor(x) != torch.is_tensor(y):
                return False
            if not (torch.equal(x, y) if torch.is_tensor(x) else x == y):
                return False
    return True


def bits_equal_models(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


class RoundTrips(unittest.TestCase):
    """A loaded state dict continues exactly as the optimizer it came from."""

    def continue_identically(self, cls, dtype, load, **kw):
        model, opt = trained(cls, dtype=dtype, steps=4, **kw)
        twin = copy.deepcopy(model)
        other = cls(twin.parameters(), **{k: v for k, v in kw.items() if k != "state"})
        load(other, opt)
        self.assertTrue(state_equal(opt.state_dict()["state"], other.state_dict()["state"]))
        batches = data(6, seed=9)
        self.assertEqual(train(model, opt, batches), train(twin, other, batches))
        self.assertTrue(bits_equal_models(model, twin))
        self.assertTrue(state_equal(opt.state_dict()["state"], other.state_dict()["state"]))

    def test_state_dict_round_trips(self):
        def direct(other, opt):
            other.load_state_dict(copy.deepcopy(opt.state_dict()))

        def saved(other, opt):
            buf = io.BytesIO()
            torch.save(opt.state_dict(), buf)
            buf.seek(0)
            other.load_state_dict(torch.load(buf))

        for cls, kw in [(rt.AdamW, dict(lr=0.01, state="int8")),
                        (rt.SGD, dict(lr=0.1, momentum=0.9, state="bf16")),
                        (rt.NAdam, dict(lr=0.01, state="int8")),
                        (rt.Adagrad, dict(lr=0.1, state="int8")),
                        (rt.ScheduleFreeAdamW, dict(lr=0.01, state="bf16"))]:
            for dtype in (torch.float32, BF16):
                for load in (direct, saved):
                    with self.subTest(f"{cls.__name__} {dtype} {load.__name__}"):
                        if cls is rt.ScheduleFreeAdamW:
                            self.schedule_free(dtype, load, **kw)
                        else:
                            self.continue_identically(cls, dtype, load, **kw)

    def schedule_free(self, dtype, load, **kw):
        model = make_model(dtype)
        opt = rt.ScheduleFreeAdamW(model.parameters(), **kw)
        opt.train()
        train(model, opt, data(4))
        twin = copy.deepcopy(model)
        other = rt.ScheduleFreeAdamW(twin.parameters(), lr=0.01)
        load(other, opt)
        batches = data(6, seed=9)
        self.assertEqual(train(model, opt, batches), train(twin, other, batches))
        opt.eval()
        other.eval()
        self.assertTrue(bits_equal_models(model, twin))

    def test_deepcopy(self):
        model, opt = trained(rt.Lion, dtype=BF16, lr=1e-3, state="int8")
        twin, clone = copy.deepcopy((model, opt))     # rebuilt around the copied parameters
        self.assertTrue(state_equal(opt.state_dict()["state"], clone.state_dict()["state"]))
        batches = data(3, seed=4)
        self.assertEqual(train(model, opt, batches), train(twin, clone, batches))
        self.assertTrue(bits_equal_models(model, twin))


class Conversions(unittest.TestCase):
    """torch.optim's float32 state loads into bf16 and int8 state through the
    library's rounding and quantization."""

    def torch_adamw(self, steps=5):
        model = make_model()
        ref = torch.optim.AdamW(model.parameters(), lr=0.01)
        train(model, ref, data(steps))
        return model, ref

    def test_into_bf16_state(self):
        model, ref = self.torch_adamw()
        opt = rt.AdamW(model.parameters(), lr=0.01, state="bf16")
        opt.load_state_dict(ref.state_dict())
        self.assertEqual(opt.param_groups[0]["state"], "bf16")   # the optimizer's choice kept
        for i, entry in ref.state_dict()["state"].items():
            mine = opt.state_dict()["state"][i]
            for key in ("exp_avg", "exp_avg_sq"):
                self.assertTrue(torch.equal(mine[key], entry[key].to(BF16)), f"{i} {key}")
            self.assertEqual(float(mine["step"]), float(entry["step"]))

    def test_into_int8_state(self):
        model, ref = self.torch_adamw()
        opt = rt.AdamW(model.parameters(), lr=0.01, state="int8")
        opt.load_state_dict(ref.state_dict())
        for i, entry in ref.state_dict()["state"].items():
            mine = opt.state_dict()["state"][i]
            for key, nonneg in (("exp_avg", False), ("exp_avg_sq", True)):
                want = entry[key].double().reshape(-1)
                scales = mine[key + ".absmax"]
                got = decode(mine[key], scales, nonneg)
                blocks = want.split(256)
                self.assertEqual(scales.tolist(), [b.abs().max().item() for b in blocks])
                # within the maps' spacing: 6.25% of the value, or the linear
                # grid's step below 2^-14 (2^-30) of the block's scale
                scale = scales.double()[torch.arange(want.numel()) // 256]
                floor = scale * 2.0 ** (-30 if nonneg else -14) / 16
                err = (got - want).abs()
                self.assertTrue(bool((err <= 0.0625 * want.abs() + floor).all()),
                                f"{i} {key}: worst {(err / want.abs().clamp(min=1e-30)).max()}")
        # and it trains on from there, close to torch
        twin = copy.deepcopy(model)
        ref2 = torch.optim.AdamW(twin.parameters(), lr=0.01)
        ref2.load_state_dict(ref.state_dict())
        batches = data(20, seed=5)
        a, b = train(model, opt, batches), train(twin, ref2, batches)
        self.assertLess(max(abs(x - y) for x, y in zip(a, b)), 0.05)

    def test_bf16_dict_into_torch(self):
        """torch.optim widens bf16 state to its parameters' float32, exactly."""
        model, opt = trained(rt.AdamW, lr=0.01, state="bf16")
        ref = torch.optim.AdamW(copy.deepcopy(model).parameters(), lr=0.01)
        ref.load_state_dict(opt.state_dict())
        for i, entry in ref.state_dict()["state"].items():
            mine = opt.state_dict()["state"][i]
            self.assertEqual(entry["exp_avg"].dtype, torch.float32)
            self.assertTrue(torch.equal(entry["exp_avg"], mine["exp_avg"].float()))

    def test_int8_dict_into_fp32_optimizer_takes_its_precision(self):
        model, opt = trained(rt.AdamW, lr=0.01, state="int8")
        twin = copy.deepcopy(model)
        other = rt.AdamW(twin.parameters(), lr=0.01)
        other.load_state_dict(opt.state_dict())
        self.assertEqual(other.param_groups[0]["state"], "int8")
        self.assertTrue(state_equal(opt.state_dict()["state"], other.state_dict()["state"]))


class Refused(unittest.TestCase):
    """Clear errors; nothing changes."""

    def test_other_dtypes(self):
        for dtype in (torch.float16, torch.float64):
            p = torch.nn.Parameter(torch.zeros(3, dtype=dtype))
            with self.assertRaises(TypeError) as cm:
                rt.AdamW([{"params": [torch.nn.Parameter(torch.zeros(2))]},
                          {"params": [torch.nn.Parameter(torch.zeros(2, dtype=BF16)), p]}])
            text = str(cm.exception)
            self.assertIn("param group 1, parameter 1", text)
            self.assertIn(str(dtype), text)
            self.assertIn("float32 and bfloat16", text)

    def test_gradient_of_another_dtype(self):
        model, opt = trained(rt.AdamW, dtype=BF16, lr=0.01, state="int8")
        params = list(model.parameters())
        snap = Snapshot(params, opt)
        steps = opt._b.handle.steps()
        for p in params:
            p.grad = torch.ones_like(p)
        params[3].grad.data = torch.ones(params[3].shape)    # float32 under a bf16 parameter
        with self.assertRaises(TypeError) as cm:
            opt.step()
        self.assertIn("param group 0, parameter 3: the gradient is torch.float32, the "
                      "parameter torch.bfloat16", str(cm.exception))
        self.assertTrue(snap.same_as(params, opt))
        self.assertEqual(opt._b.handle.steps(), steps)

    def test_parameter_changed_dtype(self):
        model, opt = trained(rt.Adam, dtype=BF16, lr=0.01)
        w = model.hidden.weight
        w.data = w.data.float()
        w.grad = torch.ones_like(w)
        with self.assertRaises(TypeError) as cm:
            opt.step()
        self.assertIn("parameter 3: the parameter is torch.float32, it was torch.bfloat16",
                      str(cm.exception))

    def test_state_option(self):
        params = [torch.nn.Parameter(torch.zeros(4, 4))]
        for cls in (rt.Muon, rt.Adafactor):
            cls(params, state="fp32")
            with self.assertRaises(ValueError) as cm:
                cls(params, state="bf16")
            self.assertIn(f"param group 0: state='bf16': {cls.__name__} keeps its state in "
                          "float32", str(cm.exception))
            opt = cls(params)
            with self.assertRaises(ValueError):
                opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2, 2))],
                                     "state": "int8"})
            self.assertEqual(len(opt.param_groups), 1)
        with self.assertRaises(ValueError) as cm:
            rt.RMSprop(params, centered=True, state="int8")
        self.assertIn("centered=true needs state=fp32", str(cm.exception))
        with self.assertRaises(ValueError) as cm:
            rt.AdamW(params, state="int4")
        self.assertIn("state=int4: expected one of fp32, bf16, int8", str(cm.exception))

    def test_state_precision_cannot_change_under_existing_state(self):
        model, opt = trained(rt.AdamW, lr=0.01, state="int8")
        params = list(model.parameters())
        snap = Snapshot(params, opt)
        opt.param_groups[0]["state"] = "bf16"
        for p in params:
            p.grad = torch.ones_like(p)
        with self.assertRaises(ValueError) as cm:
            opt.step()
        text = str(cm.exception)
        # the group named once; Python's advice, not the C library's
        self.assertTrue(text.startswith("ravine.torch.AdamW: param group 0: state='bf16': the "
                                        "group's state is stored as int8"), text)
        self.assertEqual(text.count("param group"), 1, text)
        self.assertNotIn("rv_optim", text)
        self.assertIn("int8 codes convert to no other precision", text)
        self.assertTrue(snap.same_as(params, opt))
        opt.param_groups[0]["state"] = "int8"
        opt.step()                                      # and steps again once restored
        self.assertFalse(snap.same_as(params, opt))

    def test_changed_state_precision_advice_works(self):
        """From bf16 state the error says how to change the precision, and
        doing what it says gives int8 state holding the bf16 values."""
        model, opt = trained(rt.AdamW, lr=0.01, state="bf16")
        params = list(model.parameters())
        opt.param_groups[0]["state"] = "int8"
        with self.assertRaises(ValueError) as cm:
            opt.step()
        text = str(cm.exception)
        self.assertEqual(text.count("param group"), 1, text)
        self.assertNotIn("rv_optim", text)
        self.assertIn("build a new optimizer with state='int8' and load this one's "
                      "state_dict() into it with the group's 'state' set to 'int8'", text)
        opt.param_groups[0]["state"] = "bf16"
        saved = opt.state_dict()
        saved["param_groups"][0]["state"] = "int8"
        other = rt.AdamW(params, lr=0.01, state="int8")
        other.load_state_dict(saved)
        self.assertEqual(other.param_groups[0]["state"], "int8")
        for i, entry in other.state_dict()["state"].items():
            self.assertEqual(entry["exp_avg"].dtype, torch.uint8)
            got = decode(entry["exp_avg"], entry["exp_avg.absmax"], False)
            want = saved["state"][i]["exp_avg"].double().reshape(-1)
            self.assertTrue(bool(((got - want).abs() <= 0.0625 * want.abs() + 1e-6).all()))

    def test_bad_loads_change_nothing(self):
        model, opt = trained(rt.AdamW, lr=0.01, state="int8")
        good = opt.state_dict()
        twin = copy.deepcopy(model)
        target = rt.AdamW(twin.parameters(), lr=0.01)
        train(twin, target, data(2))
        params = list(twin.parameters())

        def variant(edit):
            sd = copy.deepcopy(good)
            edit(sd)
            return sd

        def group_fp32(sd):
            sd["param_groups"][0]["state"] = "fp32"

        def no_scales(sd):
            del sd["state"][1]["exp_avg.absmax"]

        def short_scales(sd):
            sd["state"][2]["exp_avg_sq.absmax"] = sd["state"][2]["exp_avg_sq.absmax"][:-1]

        def float_scales_for_floats(sd):
            sd["param_groups"][0]["state"] = "fp32"
            for e in sd["state"].values():
                e["exp_avg"] = torch.zeros(e["exp_avg"].shape)
                e["exp_avg_sq"] = torch.zeros(e["exp_avg_sq"].shape)

        def negative_second_moment(sd):
            e = sd["state"][0]
            e["exp_avg_sq"] = -torch.ones(e["exp_avg_sq"].shape)
            del e["exp_avg_sq.absmax"]

        def bad_precision(sd):
            sd["state"][0]["state_precision"] = "int4"

        cases = [(group_fp32, "int8 codes load only into state='int8'"),
                 (no_scales, "'exp_avg.absmax' must be"),
                 (short_scales, "'exp_avg_sq.absmax' must be"),
                 (float_scales_for_floats, "'exp_avg.absmax' goes with int8 codes"),
                 (negative_second_moment, "holds non-negative values"),
                 (bad_precision, "'state_precision' is 'int4'")]
        for edit, words in cases:
            with self.subTest(edit.__name__):
                snap = Snapshot(params, target)
                groups = copy.deepcopy([{k: v for k, v in g.items() if k != "params"}
                                        for g in target.param_groups])
                with self.assertRaises(ValueError) as cm:
                    target.load_state_dict(variant(edit))
                self.assertIn(words, str(cm.exception))
                self.assertTrue(snap.same_as(params, target))
                self.assertEqual(groups, [{k: v for k, v in g.items() if k != "params"}
                                          for g in target.param_groups])

    def test_checkpoints_hold_the_stored_precision(self):
        """A checkpoint keeps bf16 parameters and the state as stored; loading
        takes the file's precision (the group's 'state' follows it)."""
        import os
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "run.safetensors")
            model, opt = trained(rt.AdamW, dtype=BF16, lr=0.01, state="int8")
            opt.save_checkpoint(path)
            other_model = make_model().to(BF16)
            other = rt.AdamW(other_model.parameters(), lr=0.01, state="bf16")
            other.load_checkpoint(path)
            self.assertEqual(other.param_groups[0]["state"], "int8")
            self.assertTrue(all(torch.equal(a, b) for a, b in zip(model.parameters(),
                                                                  other_model.parameters())))
            self.assertEqual(harness.state_diff(opt.state_dict(), other.state_dict()), 0.0)
            model, opt = trained(rt.AdamW, lr=0.01)
            opt.save_checkpoint(path)
            other = rt.AdamW(make_model().parameters(), lr=0.01, state="bf16")
            other.load_checkpoint(path)
            self.assertNotIn("state", other.param_groups[0])
            self.assertEqual(harness.state_diff(opt.state_dict(), other.state_dict()), 0.0)


if __name__ == "__main__":
    harness.main()
