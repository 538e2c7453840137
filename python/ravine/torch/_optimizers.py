"""The optimizers: torch's constructors and defaults over ravine's algorithms.

This is the one place that maps torch's names to the library's: each class
names its algorithm (the spec name), the group keys that are spec keys (the
same names as torch's arguments), and torch's state layout. Every rule, check
and number lives in the C library.

Every class takes state="fp32"|"bf16"|"int8" (keyword only): how its state
buffers are stored, the library's spec key state= (Adafactor and Muon keep
float32 state and refuse the others).
"""
from ctypes import c_double

import torch

from .. import _lib
from .._lib import check, lib
from .._spec import parse_spec
from ._optimizer import Layout, Optimizer, _bump_versions, with_state
from ._state import buffer_view

_ADAM_STATE = Layout(("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"), True, ())


class SGD(Optimizer):
    """torch.optim.SGD: momentum, dampening, Nesterov, weight decay, maximize."""
    _spec_name = "sgd"
    _option_keys = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")
    _layout = Layout(("momentum_buffer",), False, ())

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None,
                 state="fp32"):
        super().__init__(params, with_state(dict(lr=lr, momentum=momentum, dampening=dampening,
                                                 weight_decay=weight_decay, nesterov=nesterov,
                                                 maximize=maximize, foreach=foreach,
                                                 differentiable=differentiable, fused=fused),
                                            state))


class Polyak(Optimizer):
    """Polyak (heavy-ball EMA) momentum: v = beta*v + (1-beta)*g (g += wd*p first);
    p -= lr*v; v starts at 0. State: 'velocity'."""
    _spec_name = "polyak"
    _option_keys = ("lr", "beta", "weight_decay")
    _layout = Layout(("velocity",), False, ())

    def __init__(self, params, lr=1e-3, beta=0.9, weight_decay=0, *, state="fp32"):
        super().__init__(params, with_state(dict(lr=lr, beta=beta, weight_decay=weight_decay),
                                            state))


class Adam(Optimizer):
    """torch.optim.Adam (amsgrad, maximize)."""
    _spec_name = "adam"
    _option_keys = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")
    _layout = _ADAM_STATE

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, state="fp32"):
        super().__init__(params, with_state(dict(lr=lr, betas=betas, eps=eps,
                                                 weight_decay=weight_decay, amsgrad=amsgrad,
                                                 maximize=maximize, foreach=foreach,
                                                 capturable=capturable,
                                                 differentiable=differentiable, fused=fused),
                                            state))


class AdamW(Optimizer):
    """torch.optim.AdamW. ravine extension: decay="after" applies the decoupled
    weight decay after the Adam step (p -= lr*wd*p), as seed 000 writes it;
    the default "before" is torch's order."""
    _spec_name = "adamw"
    _option_keys = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")
    _extra_keys = ("decay",)
    _layout = _ADAM_STATE

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None, decay="before", state="fp32"):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        foreach=foreach, maximize=maximize, capturable=capturable,
                        differentiable=differentiable, fused=fused)
        if decay != "before":       # torch's group layout unless the extension is used
            defaults["decay"] = decay
        super().__init__(params, with_state(defaults, state))

    def _group_options(self, group):
        return dict(super()._group_options(group), decay=group.get("decay", "before"))

    @classmethod
    def _torch_options(cls, spec_options):
        options = super()._torch_options(spec_options)
        if options.get("decay") == "before":
            del options["decay"]
        return options


class RMSprop(Optimizer):
    """torch.optim.RMSprop (centered, momentum, maximize)."""
    _spec_name = "rmsprop"
    _option_keys = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")
    _layout = Layout(("step", "square_avg", "momentum_buffer", "grad_avg"), True, ())

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False, *, state="fp32"):
        super().__init__(params, with_state(dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                                 centered=centered, weight_decay=weight_decay,
                                                 capturable=capturable, foreach=foreach,
                                                 maximize=maximize,
                                                 differentiable=differentiable), state))


class Adagrad(Optimizer):
    """torch.optim.Adagrad. As torch does, every parameter has its state
    ('step' 0, 'sum' = initial_accumulator_value) from the start."""
    _spec_name = "adagrad"
    _option_keys = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps",
                    "maximize")
    _layout = Layout(("step", "sum"), True, ())

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None,
                 state="fp32"):
        super().__init__(params, with_state(dict(
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach,
            maximize=maximize, differentiable=differentiable, fused=fused), state))

    def _register(self, b, gi, group):
        super()._register(b, gi, group)
        check(lib.rv_optim_ensure_state(b.handle.ptr), self._owner(), MemoryError)
        b.stateless.clear()


class NAdam(Optimizer):
    """torch.optim.NAdam as torch >= 2.0 computes it (torch 1.13 multiplied mu
    into mu_product_next twice), with decoupled_weight_decay (torch >= 2.1)."""
    _spec_name = "nadam"
    _option_keys = ("lr", "betas", "eps", "weight_decay", "momentum_decay",
                    "decoupled_weight_decay", "maximize")
    _layout = Layout(("step", "mu_product", "exp_avg", "exp_avg_sq"), True, ("mu_product",))

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False, state="fp32"):
        super().__init__(params, with_state(dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
            momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable), state))


class RAdam(Optimizer):
    """torch.optim.RAdam, with decoupled_weight_decay (torch >= 2.1)."""
    _spec_name = "radam"
    _option_keys = ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize")
    _layout = Layout(("step", "exp_avg", "exp_avg_sq"), True, ())

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False, state="fp32"):
        super().__init__(params, with_state(dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
            foreach=foreach, capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable),
            state))


class Adamax(Optimizer):
    """torch.optim.Adamax."""
    _spec_name = "adamax"
    _option_keys = ("lr", "betas", "eps", "weight_decay", "maximize")
    _layout = Layout(("step", "exp_avg", "exp_inf"), True, ())

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False,
                 state="fp32"):
        super().__init__(params, with_state(dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
            maximize=maximize, differentiable=differentiable, capturable=capturable), state))


class Lion(Optimizer):
    """Lion (Chen et al. 2023) with lion-pytorch's arguments and defaults."""
    _spec_name = "lion"
    _option_keys = ("lr", "betas", "weight_decay")
    _layout = Layout(("exp_avg",), False, ())

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, state="fp32"):
        super().__init__(params, with_state(dict(lr=lr, betas=betas, weight_decay=weight_decay),
                                            state))


class Adafactor(Optimizer):
    """torch.optim.Adafactor (torch >= 2.5): factored second moment for
    tensors of 2 or more dimensions ('row_var' [..., R, 1], 'col_var'
    [..., 1, C]), 'variance' for the others."""
    _spec_name = "adafactor"
    _option_keys = ("lr", "beta2_decay", "eps", "d", "weight_decay", "maximize")
    _layout = Layout(("step", "row_var", "col_var", "variance"), True, ())

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False, state="fp32"):
        super().__init__(params, with_state(dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                                                 weight_decay=weight_decay, foreach=foreach,
                                                 maximize=maximize), state))


class Muon(Optimizer):
    """torch.optim.Muon (torch >= 2.9), 2-D parameters only, with the
    Newton-Schulz iteration in float32 (torch runs it in bfloat16)."""
    _spec_name = "muon"
    _option_keys = ("lr", "weight_decay", "momentum", "nesterov", "ns_coefficients", "eps",
                    "ns_steps", "adjust_lr_fn")
    _layout = Layout(("momentum_buffer",), False, ())

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5,
                 adjust_lr_fn=None, *, state="fp32"):
        super().__init__(params, with_state(dict(
            lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
            ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
            adjust_lr_fn=adjust_lr_fn), state))

    def _group_options(self, group):
        options = super()._group_options(group)
        if options["adjust_lr_fn"] is None:         # torch: None means "original"
            options["adjust_lr_fn"] = "original"
        return options

    @classmethod
    def _torch_options(cls, spec_options):
        options = super()._torch_options(spec_options)
        if options.get("adjust_lr_fn") == "original":   # torch's default, None, says it
            options["adjust_lr_fn"] = None
        return options


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW (Defazio et al. 2024) as schedule_free's
    AdamWScheduleFree (v1.4) keeps it: call train() before training steps and
    eval() before evaluating or saving weights; the groups hold 'k',
    'lr_max', 'weight_sum', 'scheduled_lr' and 'train_mode' as upstream."""
    _spec_name = "sfadamw"
    _option_keys = ("lr", "betas", "eps", "weight_decay", "warmup_steps", "r",
                    "weight_lr_power")
    _layout = Layout(("z", "exp_avg_sq"), False, ())

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 warmup_steps=0, r=0.0, weight_lr_power=2.0, inner_momentum=0.0, foreach=True,
                 *, state="fp32"):
        super().__init__(params, with_state(dict(
            lr=lr, betas=betas, eps=eps, r=r, k=0, warmup_steps=warmup_steps, train_mode=False,
            weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0, weight_lr_power=weight_lr_power,
            weight_decay=weight_decay, inner_momentum=inner_momentum, foreach=foreach), state))

    # the library has one mode for all groups: group 0's
    def _check_flags(self, group, gi):
        super()._check_flags(group, gi)
        if group.get("inner_momentum", 0.0) != 0.0:
            raise ValueError(f"{self._owner()}: param group {gi}: inner_momentum="
                             f"{group['inner_momentum']} is not supported (only 0)")

    def _register(self, b, gi, group):
        super()._register(b, gi, group)
        if gi == 0 and not group["train_mode"]:     # no state yet: nothing moves
            check(lib.rv_optim_eval(b.handle.ptr), self._owner(), RuntimeError)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        self.param_groups[-1]["train_mode"] = self.param_groups[0]["train_mode"]

    def _move(self, to_eval):
        groups = self.param_groups
        if groups[0]["train_mode"] != (not to_eval):
            b = self._b
            self._bind_params(b)
            self._fill_pending(b, range(len(b.params)))
            call = lib.rv_optim_eval if to_eval else lib.rv_optim_train
            check(call(b.handle.ptr), self._owner(), RuntimeError)
            # the parameters with state moved in place, as upstream's lerp_ moves them
            moved = [b.empties[i] for i in range(len(b.params)) if i not in b.stateless]
            if moved:
                _bump_versions(moved)
        for group in groups:
            group["train_mode"] = not to_eval

    def eval(self):
        """Parameters to x, the average (for evaluation and saving weights)."""
        self._move(True)

    def train(self):
        """Parameters back to y, where gradients are taken."""
        self._move(False)

    def _before_closure(self):
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError("ravine.torch.ScheduleFreeAdamW: the optimizer was not in train "
                               "mode when step was called; call optimizer.train() before "
                               "training steps and optimizer.eval() before evaluation")

    def _fill_pending(self, b, indices):
        """z = p for tensors whose state the library holds but schedule_free
        would not have yet (loaded without state): it starts at the parameter
        when the tensor first steps, and moves nothing before."""
        if not b.pending:
            return
        with torch.no_grad():
            for i in [i for i in indices if i in b.pending]:
                address, length, _ = b.handle.state(i, 0)
                if length:
                    buffer_view(b.handle, address, length, (length,)).copy_(
                        b.params[i].reshape(-1))
                    master = b.handle.dtype(i)[1]
                    if master:      # a bf16 parameter: its master starts there too
                        buffer_view(b.handle, master, length, (length,)).copy_(
                            b.params[i].reshape(-1))

    def _before_update(self, b, gs):
        if b.pending:
            stepping = [i for i in b.pending if gs[i] is not None]
            self._fill_pending(b, stepping)
            b.pending.difference_update(stepping)

    def _after_update(self, b, gs):
        for gi, group in enumerate(self.param_groups):
            lo, hi = b.first[gi], b.first[gi + 1] if gi + 1 < len(b.first) else len(b.params)
            i = next((i for i in range(lo, hi) if gs[i] is not None), None)
            if i is not None:
                self._group_values(b, group, i)

    @staticmethod
    def _group_values(b, group, i):
        """The group's k, scheduled_lr, lr_max and weight_sum from tensor i's."""
        h = b.handle
        k = h.info(i)[0]
        warmup = group["warmup_steps"]
        group["scheduled_lr"] = group["lr"] * ((k / warmup) if k - 1 < warmup else 1.0)
        group["k"] = k
        group["lr_max"] = h.scalar(i, 0)[0]
        group["weight_sum"] = h.scalar(i, 1)[0]

    # a checkpoint holds the mode and every tensor's scalars: the groups follow
    def _after_checkpoint_load(self, b, eval_mode):
        for gi, group in enumerate(self.param_groups):
            group["train_mode"] = not eval_mode
            lo, hi = b.first[gi], b.first[gi + 1] if gi + 1 < len(b.first) else len(b.params)
            i = next((i for i in range(lo, hi) if i not in b.stateless), None)
            if i is not None:
                self._group_values(b, group, i)
            else:       # no tensor of the group has stepped: the values a new optimizer has
                group.update(k=0, lr_max=-1.0, weight_sum=0.0, scheduled_lr=0.0)
        # tensors the library holds state for but that have not stepped: z starts
        # at the parameter when they first step, as in upstream
        b.pending = {i for i in b.stateless if b.handle.state(i, 0)[0]}

    # loading: the group's k, lr_max and weight_sum are every tensor's
    def _prepare_load(self, b, groups):
        mode = groups[0]["train_mode"]
        for group in groups:
            group["train_mode"] = mode

    def _load_needs_state(self):
        return True

    def _saved_scalars(self, at, b, i, entry, group, n):
        return [float(group["lr_max"]), float(group["weight_sum"])]

    def _finish_load(self, b, groups):
        h = b.handle
        for i, (gi, _) in enumerate(b.where):
            group = groups[gi]
            at = f"{self._owner()}: param group {gi}"
            k = group["k"]
            if k < 0 or k != int(k):
                raise ValueError(f"{at}: 'k' is {k}, not a whole number >= 0")
            check(lib.rv_optim_set_param_step(h.ptr, i, int(k)), at)
            scalars = (c_double * 2)(float(group["lr_max"]), float(group["weight_sum"]))
            check(lib.rv_optim_set_param_scalars(h.ptr, i, scalars), at)
        b.pending = set(b.stateless)


_CLASSES = {cls._spec_name: cls for cls in (SGD, Polyak, Adam, AdamW, RMSprop, Adagrad, NAdam,
                                            RAdam, Adamax, Lion, Adafactor, Muon,
                                            ScheduleFreeAdamW)}


def from_spec(spec, params):
    """The optimizer a ravine spec names, e.g. from_spec("adamw(lr=3e-4,
    betas=(0.9,0.95))", model.parameters()): its class with the spec's values
    as constructor arguments (the library's defaults for the others)."""
    name, options = parse_spec(_lib.Handle(spec).group_spec(0))
    cls = _CLASSES[name]
    return cls(params, **cls._torch_options(options))
