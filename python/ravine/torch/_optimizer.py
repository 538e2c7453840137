"""The machinery every ravine.torch optimizer shares: a torch.optim.Optimizer
whose step is one call into libravine.

A step, in Python:
  1. each group's options are compared with those last given to the library
     (one tuple comparison per group) and re-sent as spec text only when they
     changed, the lr on its own (schedulers change it every step);
  2. every parameter's .grad and both data pointers are read and compared
     with the last step's; tensors whose parameter or gradient changed are
     validated (_tensors.py) and all pointers go to the library in one call;
  3. one rv_optim_step updates every tensor on the library's threads;
  4. the version counters of the parameters that stepped are bumped, as
     torch's in-place update bumps them, so that autograd refuses a graph
     saved before the step and backpropagated after it.
Nothing reaches the library before everything is validated, so a step that
raises has changed no parameter and no state.

Subclasses (_optimizers.py) give torch's constructor, the spec name, the
group keys that are spec keys, and torch's state layout (Layout).

Reduced precision: a torch.bfloat16 parameter is registered as such; the
library keeps its float32 master and writes the parameter back rounded. A
group's 'state' key ("fp32", "bf16" or "int8", present only when given) is
the spec key state= of the element-wise algorithms.
"""
import array
import copy
import inspect
import operator
from collections import namedtuple
from ctypes import byref, c_double, c_size_t

import torch

from .. import _lib
from .._lib import check, lib
from .._spec import format_overrides, parse_spec
from . import _tensors
from ._state import LiveCounts, State, buffer_view, MASTER, PRECISION, SCALES

# torch's state_dict layout for a class: key order, whether 'step' is kept
# per tensor, and which of the library's per-tensor scalars are state entries
Layout = namedtuple("Layout", "order step_in_state tensor_scalars")

_GRAD = operator.attrgetter("grad")
_PARAMS = operator.itemgetter("params")
_DATA_PTR = torch.Tensor.data_ptr
_POINTER_CODE = next(c for c in "QLI" if array.array(c).itemsize == 8)
# the library takes a NULL gradient for "no gradient"; an empty gradient's
# data pointer is NULL too, so it gets this one (never read: 0 elements)
_EMPTY = torch.zeros(1)
_EMPTY_GRAD = _EMPTY.data_ptr()
# an in-place operation on an empty view bumps its base's version counter at
# no cost; one call for every tensor
_bump_versions = torch._foreach_zero_

# group keys torch has for implementation choices; ravine has one implementation
_ANY_VALUE = ("foreach", "fused")
_MUST_BE_FALSE = ("capturable", "differentiable")
_FP32 = "fp32"
_ZERO_STATE = "; call rv_optim_zero_state first"     # the library's advice, for C


def _frozen(value):
    """A group value as a comparison sees it later: lists and tuples (also
    nested) become tuples, a tensor its values, so that an edit in place
    (group['betas'][0] = 0.0) differs from what was sent."""
    if isinstance(value, (list, tuple)):
        return tuple(map(_frozen, value))
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.reshape(-1).tolist()))
    return value


_MUTABLE = (list, tuple, torch.Tensor)


def with_state(defaults, state):
    """A class's defaults with its state precision: the group key 'state' is
    there only when it is not "fp32", so the groups keep torch's layout
    unless the extension is used."""
    if state != _FP32:
        defaults["state"] = state
    return defaults


class _Binding:
    """What the library holds for the optimizer: the handle, the registered
    tensors in its order, and the buffers and options it was last given."""

    def __init__(self, spec_name):
        self.handle = _lib.Handle(spec_name)
        self.params, self.shapes, self.dtypes, self.where = [], [], [], []
        self.index = {}                 # parameter -> its index in the library
        self.pp, self.gp, self.gs = [], [], []   # pointers and grads the library has
        self.empties = []               # per tensor: an empty view sharing its version counter
        self.bump = []                  # the empty views of the tensors with a gradient
        self.stateless = set()          # tensors without state as torch shows it
        self.options, self.lrs = [], []  # per group: options and lr last sent
        self.first = []                 # per group: index of its first tensor
        self.counts = []                # per group: its number of tensors
        self.pending = set()            # schedule-free: tensors whose z waits for their first step
        self.threads = None
        self.live = LiveCounts(self.handle)     # 'step' and scalar tensors handed out


class Optimizer(torch.optim.Optimizer):
    """Base of the ravine.torch optimizers (see the package's documentation)."""

    _spec_name = None       # the library's algorithm
    _option_keys = ()       # group keys that are the algorithm's spec keys, lr first
    _extra_keys = ()        # more group keys that feed the library (AdamW's decay)
    _watch_keys = ()        # set for each subclass: the option keys except lr, and the extra
    _elementwise = True     # set for each subclass from the library: takes state=bf16|int8
    _layout = Layout((), True, ())

    def __init__(self, params, defaults):
        self._b = None
        super().__init__(params, defaults)
        self.state = State(self)

    # ---- naming ----------------------------------------------------------

    def _owner(self):
        return f"ravine.torch.{type(self).__name__}"

    # ---- groups and options ------------------------------------------------

    def _group_options(self, group):
        """The group's spec keys and values (subclasses translate torch values)."""
        options = {k: group[k] for k in self._option_keys}
        if self._elementwise:
            options["state"] = group.get("state", _FP32)
        return options

    def _watch(self, group):
        """What decides whether the library's copy of a group's options is stale."""
        values = [group.get(k) for k in type(self)._watch_keys]
        return tuple([_frozen(v) if isinstance(v, _MUTABLE) else v for v in values])

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls._spec_name:
            kind = lib.rv_optim_type_find(cls._spec_name.encode())
            cls._elementwise = bool(lib.rv_optim_type_elementwise(kind))
        state = ("state",) if cls._elementwise else ()
        cls._watch_keys = (tuple(k for k in cls._option_keys if k != "lr") + cls._extra_keys
                           + state)

    def _check_flags(self, group, gi):
        for key in _MUST_BE_FALSE:
            if group.get(key):
                raise ValueError(f"{self._owner()}: param group {gi}: {key}=True is not "
                                 "supported (ravine steps CPU tensors outside autograd)")
        state = group.get("state", _FP32)
        if not self._elementwise and state != _FP32:
            raise ValueError(f"{self._owner()}: param group {gi}: state={state!r}: "
                             f"{type(self).__name__} keeps its state in float32 (its statistics "
                             "are whole-tensor; state='bf16' and 'int8' are for the element-wise "
                             "optimizers)")

    def _overrides(self, group, gi):
        self._check_flags(group, gi)
        try:
            return format_overrides(self._group_options(group))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{self._owner()}: param group {gi}: {e}") from None

    def _send_group(self, b, gi, group):
        text = self._overrides(group, gi)
        status = lib.rv_optim_group_set_spec(b.handle.ptr, gi, text.encode())
        if status:
            raise self._group_error(b, gi, group, status)
        b.options[gi] = self._watch(group)
        b.lrs[gi] = float(group["lr"])

    def _group_error(self, b, gi, group, status):
        """The library's refusal of a group's new options, in Python's terms:
        the group named once, and advice a Python user can follow."""
        at = f"{self._owner()}: param group {gi}"
        message = _lib.errmsg()
        named = f"param group {gi}: "
        if message.startswith(named):
            message = message[len(named):]
        if "existing state" in message and message.endswith(_ZERO_STATE):
            if "precision" in message:
                was = b.options[gi][type(self)._watch_keys.index("state")]
                now = group.get("state", _FP32)
                fixed = (f"{at}: state={now!r}: the group's state is stored as {was}, and a "
                         "group's state precision is fixed once its tensors have state")
                if was == "int8":
                    return ValueError(f"{fixed}; int8 codes convert to no other precision, so "
                                      f"only a new optimizer built with state={now!r} (its "
                                      "state starting afresh) has it")
                return ValueError(f"{fixed}; to change it, build a new optimizer with "
                                  f"state={now!r} and load this one's state_dict() into it with "
                                  f"the group's 'state' set to {now!r} (the buffers are "
                                  "converted)")
            message = (message[:-len(_ZERO_STATE)] + "; the existing state cannot change its "
                       "buffers: build a new optimizer with these options")
        return _lib.error(status, at, message=message)

    def _sync_options(self, b):
        for gi, group in enumerate(self.param_groups):
            if self._watch(group) != b.options[gi]:
                self._send_group(b, gi, group)
            lr = group["lr"]
            if lr != b.lrs[gi]:
                lr = float(lr)
                check(lib.rv_optim_group_set_lr(b.handle.ptr, gi, lr),
                      f"{self._owner()}: param group {gi}")
                b.lrs[gi] = lr

    # ---- registering tensors -----------------------------------------------

    def add_param_group(self, param_group):
        before = len(self.param_groups)
        super().add_param_group(param_group)
        try:
            if self._b is None:
                self._b = _Binding(self._spec_name)
            self._register(self._b, before, self.param_groups[before])
        except BaseException:
            del self.param_groups[before:]
            raise

    def _register(self, b, gi, group):
        """Add a group and its tensors to the library: everything is checked
        first, so a refused group leaves the library as it was."""
        h = b.handle.ptr
        need = lib.rv_optim_type_shape_need(lib.rv_optim_get_type(h))
        seen = {}
        for j, p in enumerate(group["params"]):
            _tensors.check_param(self._owner(), gi, j, p, need)
            if p in seen:
                # torch warns and updates such a tensor twice per step, over one state
                raise ValueError(f"{_tensors.where(self._owner(), gi, j)}: the same tensor as "
                                 f"parameter {seen[p]} of the group; ravine updates each tensor "
                                 "once per step: give it once")
            seen[p] = j
        text = self._overrides(group, gi)
        if gi == 0:
            status = lib.rv_optim_group_set_spec(h, 0, text.encode())
        else:
            status = lib.rv_optim_add_group_spec(h, text.encode(), byref(c_size_t()))
        check(status, f"{self._owner()}: param group {gi}")
        b.options.append(self._watch(group))
        b.lrs.append(float(group["lr"]))
        b.first.append(len(b.params))
        b.counts.append(len(group["params"]))
        # after the checks above only an allocation can fail here
        for j, p in enumerate(group["params"]):
            i = len(b.params)
            shape = tuple(p.shape)
            dims = (c_size_t * max(1, len(shape)))(*shape)
            add = (lib.rv_optim_add_param_bf16 if p.dtype == torch.bfloat16
                   else lib.rv_optim_add_param_shaped)
            check(add(h, gi, f"param{i}".encode(), p.data_ptr(), None, len(shape), dims, None),
                  _tensors.where(self._owner(), gi, j))
            b.params.append(p)
            b.shapes.append(shape)
            b.dtypes.append(p.dtype)
            b.where.append((gi, j))
            b.index[p] = i
            b.pp.append(p.data_ptr())
            b.empties.append(_empty_view(p))
            b.gp.append(0)
            b.gs.append(None)
            b.stateless.add(i)

    # ---- the step ----------------------------------------------------------

    def _check_groups(self, b):
        """The groups hold the tensors registered with the library: a
        parameter appended to (or removed from) a group's list afterwards is
        refused, not silently left out."""
        groups = self.param_groups
        if len(groups) != len(b.counts):
            raise RuntimeError(f"{self._owner()}: the optimizer has {len(groups)} param groups, "
                               f"{len(b.counts)} were added to it; add a group with "
                               "add_param_group()")
        counts = list(map(len, map(_PARAMS, groups)))
        if counts != b.counts:
            gi = next(gi for gi, n in enumerate(counts) if n != b.counts[gi])
            raise RuntimeError(f"{self._owner()}: param group {gi} holds {counts[gi]} "
                               f"parameters, {b.counts[gi]} when it was added; ravine registers "
                               "a group's tensors when the group is added: give new parameters "
                               "with add_param_group(), or build a new optimizer")

    def _bind(self, b):
        """Give the library this step's buffers; returns the gradients."""
        params = b.params
        gs = list(map(_GRAD, params))
        try:
            pp = list(map(_DATA_PTR, params))
            gp = [0 if g is None else (g.data_ptr() or _EMPTY_GRAD) for g in gs]
        except RuntimeError:        # a tensor without plain storage (sparse, meta)
            self._check_all(b, gs)
            raise
        if pp != b.pp or gp != b.gp or not all(map(operator.is_, gs, b.gs)):
            self._rebind(b, pp, gs, gp)
        return gs

    def _check_all(self, b, gs):
        """Validate every parameter and gradient (raises the first error)."""
        owner = self._owner()
        for i, (p, g) in enumerate(zip(b.params, gs)):
            _tensors.check_moved_param(owner, *b.where[i], p, b.shapes[i], b.dtypes[i])
            if g is not None:
                _tensors.check_grad(owner, *b.where[i], g, b.shapes[i], b.dtypes[i])

    def _rebind(self, b, pp, gs, gp):
        usable = _tensors.usable
        for i, g in enumerate(gs):
            shape, dtype = b.shapes[i], b.dtypes[i]
            if pp[i] != b.pp[i] and not usable(b.params[i], shape, dtype):
                _tensors.check_moved_param(self._owner(), *b.where[i], b.params[i], shape, dtype)
            if (g is not None and (g is not b.gs[i] or gp[i] != b.gp[i])
                    and not usable(g, shape, dtype)):
                _tensors.check_grad(self._owner(), *b.where[i], g, shape, dtype)
        self._send_buffers(b, pp, gp)
        b.pp, b.gp, b.gs = pp, gp, gs
        b.bump = [e for e, g in zip(b.empties, gp) if g]

    def _send_buffers(self, b, pp, gp):
        ap, ag = array.array(_POINTER_CODE, pp), array.array(_POINTER_CODE, gp)
        bad = c_size_t()
        status = lib.rv_optim_set_all_data(b.handle.ptr, len(pp), ap.buffer_info()[0],
                                           ag.buffer_info()[0], byref(bad))
        if status:
            gi, j = b.where[bad.value] if bad.value < len(b.where) else (None, None)
            check(status, _tensors.where(self._owner(), gi, j))
        moved = [i for i in range(len(pp)) if pp[i] != b.pp[i]]    # p.data = ...
        for i in moved:
            b.empties[i] = _empty_view(b.params[i])
        if moved:
            b.bump = [e for e, g in zip(b.empties, b.gp) if g]

    def _bind_params(self, b):
        """Current parameter pointers (validated) for calls that read or write
        the parameters outside a step (eval/train, checkpoints)."""
        self._check_groups(b)
        try:
            pp = list(map(_DATA_PTR, b.params))
        except RuntimeError:
            self._check_all(b, [None] * len(b.params))
            raise
        if pp != b.pp:
            for i in range(len(pp)):
                if pp[i] != b.pp[i]:
                    _tensors.check_moved_param(self._owner(), *b.where[i], b.params[i],
                                               b.shapes[i], b.dtypes[i])
            self._send_buffers(b, pp, b.gp)
            b.pp = pp

    def _set_threads(self, b):
        threads = torch.get_num_threads()
        if threads != b.threads:
            check(lib.rv_optim_set_threads(b.handle.ptr, threads), self._owner())
            b.threads = threads

    def step(self, closure=None):
        """One update of every parameter that has a gradient (torch's step)."""
        self._before_closure()
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        b = self._b
        self._check_groups(b)
        self._sync_options(b)
        gs = self._bind(b)
        self._set_threads(b)
        self._before_update(b, gs)
        check(lib.rv_optim_step(b.handle.ptr), f"{self._owner()}: step", RuntimeError)
        if b.bump:
            _bump_versions(b.bump)
        if b.stateless:
            b.stateless.difference_update([i for i in b.stateless if gs[i] is not None])
        b.live.refresh()
        self._after_update(b, gs)
        return loss

    # hooks for algorithms with more to do around a step (schedule-free)
    def _before_closure(self):
        pass

    def _before_update(self, b, gs):
        pass

    def _after_update(self, b, gs):
        pass

    # ---- state dicts ---------------------------------------------------------

    def state_dict(self):
        """torch's layout: {'state': {index: {...}}, 'param_groups': [...]}, with
        the state tensors over the library's buffers and the step counts,
        all live, as torch's are."""
        b = self._b
        self._check_groups(b)
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [b.index[p] for p in group["params"]]
            groups.append(packed)
        state = {}
        for i, p in enumerate(b.params):
            if i not in b.stateless:
                entry = dict(self.state[p])
                if entry:
                    state[i] = entry
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state dict of this class, of torch.optim's class of the same
        name (torch 1.13 and later layouts) or of the reference classes.
        Everything is checked before anything changes."""
        saved_groups = state_dict["param_groups"]
        groups = self.param_groups
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(groups, saved_groups):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        id_map = {}
        for g, s in zip(groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))
        new_groups = []
        for g, s in zip(groups, saved_groups):
            new = {k: copy.deepcopy(v) for k, v in s.items() if k != "params"}
            if "state" not in s and "state" in g:
                # a state dict that does not say how state is stored (torch.optim's)
                # keeps this optimizer's choice; its buffers are converted
                new["state"] = g["state"]
            for k, v in self.defaults.items():
                new.setdefault(k, copy.deepcopy(v))
            new["params"] = g["params"]
            new_groups.append(new)
        saved = {id_map[k]: v for k, v in state_dict["state"].items() if k in id_map}
        self._rebuild(new_groups, saved)

    def _rebuild(self, groups, saved):
        """A new library optimizer for these groups with the saved state
        (parameter -> torch-layout dict); swapped in only when complete."""
        b = _Binding(self._spec_name)
        for gi, group in enumerate(groups):
            self._register(b, gi, group)
        self._prepare_load(b, groups)
        h = b.handle
        if saved or self._load_needs_state():
            check(lib.rv_optim_ensure_state(h.ptr), self._owner(), MemoryError)
        steps = [0]
        for p, entry in saved.items():
            i = b.index[p]
            if self._load_tensor(b, i, entry, groups[b.where[i][0]]):
                b.stateless.discard(i)
        self._finish_load(b, groups)
        for i in range(len(b.params)):
            steps.append(h.info(i)[0])
        check(lib.rv_optim_set_step_count(h.ptr, max(steps)), self._owner())
        self._b = b
        self.param_groups[:] = groups
        self.state = State(self)

    def _load_tensor(self, b, i, entry, group):
        """Copy one parameter's saved state into the library; False when the
        entry holds neither buffers nor a master (a parameter that has not
        stepped). Buffers saved as stored (float32, bf16, int8 codes with
        their block scales) are copied as they are; float values for a group
        that stores bf16 or int8 state go through the library's conversion,
        as a step would store them; int8 codes load only into int8 state."""
        at = _tensors.where(self._owner(), *b.where[i])
        h = b.handle
        _, n_state, n_scalars = h.info(i)
        buffers = [h.stored(i, k) for k in range(n_state)]
        dtype, master = h.dtype(i)
        saved_master = _tensor_or_none(entry.get(MASTER)) if dtype == _lib.BF16 else None
        given = [s[5] for s in buffers if _tensor_or_none(entry.get(s[5])) is not None]
        if not given and saved_master is None:
            return False
        missing = [s[5] for s in buffers if s[5] not in given]
        if given and missing:
            raise ValueError(f"{at}: the saved state has {', '.join(given)} but not "
                             f"{', '.join(missing)}")
        precision = entry.get(PRECISION, _FP32)
        if precision not in _lib.PRECISION_NAMES:
            raise ValueError(f"{at}: the saved '{PRECISION}' is {precision!r}, not one of "
                             f"{', '.join(_lib.PRECISION_NAMES)}")
        with torch.no_grad():
            for k, stored in enumerate(buffers if given else ()):
                self._load_buffer(at, h, i, k, stored, entry)
            if saved_master is not None:
                n = b.params[i].numel()
                if saved_master.numel() != n or not saved_master.is_floating_point():
                    raise ValueError(f"{at}: the saved '{MASTER}' is {saved_master.dtype} of "
                                     f"{saved_master.numel()} elements; the parameter's float32 "
                                     f"master has {n}")
                buffer_view(h, master, n, (n,)).copy_(saved_master.reshape(-1))
        if not given:
            return True
        step = self._saved_step(at, entry)
        check(lib.rv_optim_set_param_step(h.ptr, i, step), at)
        if n_scalars:
            values = self._saved_scalars(at, b, i, entry, group, n_scalars)
            check(lib.rv_optim_set_param_scalars(h.ptr, i, (c_double * n_scalars)(*values)), at)
        return True

    @staticmethod
    def _load_buffer(at, h, i, k, stored, entry):
        address, precision, length, scales, n_scales, name = stored
        value, scale = entry[name], _tensor_or_none(entry.get(name + SCALES))
        kind = _lib.PRECISION_NAMES[precision]
        if value.numel() != length:
            raise ValueError(f"{at}: saved '{name}' has {value.numel()} elements, "
                             f"this parameter's has {length}")
        if value.dtype == torch.uint8:          # int8 codes
            if precision != _lib.INT8:
                raise ValueError(f"{at}: saved '{name}' holds int8 codes; this parameter's group "
                                 f"stores its state as {kind} (state='{kind}'), and int8 codes "
                                 "load only into state='int8'")
            if scale is None or scale.dtype != torch.float32 or scale.numel() != n_scales:
                found = ("missing" if scale is None
                         else f"{scale.dtype} of {scale.numel()} elements")
                raise ValueError(f"{at}: saved '{name}' holds int8 codes, whose block scales "
                                 f"'{name}{SCALES}' must be {n_scales} float32 values "
                                 f"(one per {_lib.QUANT_BLOCK}); found {found}")
            buffer_view(h, address, length, (length,), torch.uint8).copy_(value.reshape(-1))
            buffer_view(h, scales, n_scales, (n_scales,)).copy_(scale.reshape(-1))
            return
        if scale is not None:
            raise ValueError(f"{at}: saved '{name}{SCALES}' goes with int8 codes, but '{name}' "
                             f"is {value.dtype}")
        if not value.is_floating_point():
            raise ValueError(f"{at}: saved '{name}' is {value.dtype}, not a floating-point "
                             "tensor (nor torch.uint8 int8 codes)")
        if precision == _lib.FP32:
            buffer_view(h, address, length, (length,)).copy_(value.reshape(-1))
        elif precision == _lib.BF16 and value.dtype == torch.bfloat16:
            buffer_view(h, address, length, (length,), torch.bfloat16).copy_(value.reshape(-1))
        else:   # rounded to bf16 or quantized by the library, as a step stores them
            values = value.detach().reshape(-1).to(device="cpu", dtype=torch.float32)
            values = values.contiguous()
            check(lib.rv_optim_param_state_store(h.ptr, i, k, values.data_ptr(), length),
                  f"{at}: saved '{name}'")

    def _saved_step(self, at, entry):
        if not self._layout.step_in_state:
            return 1          # torch keeps no count; the library needs only "started"
        if "step" not in entry:
            raise ValueError(f"{at}: the saved state has no 'step'")
        step = float(entry["step"])
        if step < 0 or step != int(step):
            raise ValueError(f"{at}: the saved 'step' is {step}, not a whole number >= 0")
        return int(step)

    def _saved_scalars(self, at, b, i, entry, group, n):
        values = []
        for k in range(n):
            name = b.handle.scalar(i, k)[1]
            if name not in entry:
                raise ValueError(f"{at}: the saved state has no '{name}'")
            values.append(float(entry[name]))
        return values

    # hooks for algorithms with more state than torch's per-tensor dicts
    def _prepare_load(self, b, groups):
        pass

    def _load_needs_state(self):
        return False

    def _finish_load(self, b, groups):
        pass

    # ---- pickling (copy.deepcopy, torch.save of the optimizer) ----------------

    def __getstate__(self):
        return {"defaults": self.defaults, "param_groups": self.param_groups,
                "state": {p: dict(s) for p, s in self.state.items()}}

    def __setstate__(self, state):
        saved = state.pop("state", {})
        groups = state["param_groups"]
        state["param_groups"] = []
        super().__setstate__(state)
        self._b = None
        self.param_groups = []
        self._rebuild(groups, saved)

    # ---- checkpoints -------------------------------------------------------

    def save_checkpoint(self, path, schedule=None, schedule_step=None):
        """Write parameters, state, step counts and group options to a
        safetensors checkpoint (ravine/checkpoint.h), with an optional schedule
        spec and position (default: the optimizer's step count)."""
        b = self._b
        self._check_groups(b)
        self._sync_options(b)
        self._bind_params(b)
        if schedule_step is None:
            schedule_step = lib.rv_optim_step_count(b.handle.ptr)
        check(lib.rv_checkpoint_save_at(b.handle.ptr, schedule.encode() if schedule else None,
                                        schedule_step, str(path).encode()),
              f"{self._owner()}: saving '{path}'", RuntimeError)

    def load_checkpoint(self, path, keep_hparams=False):
        """Restore parameters (in place), state and step counts from a
        checkpoint saved with the same groups and parameter sizes; the groups
        take the file's options unless keep_hparams. Returns the file's
        description (step, schedule, schedule_step, ...). Nothing changes on
        error."""
        b = _Binding(self._spec_name)
        for gi, group in enumerate(self.param_groups):
            self._register(b, gi, group)
        options = _lib.CheckpointOptions(int(bool(keep_hparams)))
        info = _lib.CheckpointInfo()
        check(lib.rv_checkpoint_load(b.handle.ptr, str(path).encode(), byref(options),
                                     byref(info)), f"{self._owner()}: loading '{path}'")
        for i in range(len(b.params)):
            if b.handle.info(i)[0] > 0:
                b.stateless.discard(i)
        if not keep_hparams:
            for gi, group in enumerate(self.param_groups):
                options = self._torch_options(parse_spec(b.handle.group_spec(gi))[1])
                if "state" not in options:      # the file's state is float32
                    group.pop("state", None)
                group.update(options)
                b.options[gi] = self._watch(group)
                b.lrs[gi] = float(group["lr"])
        self._after_checkpoint_load(b, bool(info.eval_mode))
        self._b = b
        self.state = State(self)
        _bump_versions(b.empties)           # the parameters were written in place
        return _info_dict(info)

    def _after_checkpoint_load(self, b, eval_mode):
        """Group values that mirror the library's (schedule-free's mode and scalars)."""

    @classmethod
    def _torch_options(cls, spec_options):
        """Spec keys and values -> the group's keys and values (inverse of
        _group_options), of the types of the constructor's defaults (the spec
        text writes 1.0 as 1)."""
        options = dict(spec_options)
        if options.get("state") == _FP32:
            del options["state"]
        defaults = {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items()}
        for key, value in options.items():
            if key in defaults:
                options[key] = _typed_like(value, defaults[key])
        return options


def _typed_like(value, default):
    """value with default's float type where it is a whole number (nested in
    tuples alike)."""
    if type(default) is float and type(value) is int:
        return float(value)
    if isinstance(default, tuple) and isinstance(value, tuple) and len(default) == len(value):
        return tuple(map(_typed_like, value, default))
    return value


def _empty_view(p):
    """An empty view of a parameter: it shares the parameter's version
    counter (detach() does), and an in-place operation on it bumps that
    counter while touching no memory."""
    return p.detach().view(-1)[:0]


def _tensor_or_none(value):
    if value is None:
        return None
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"a saved state buffer is a {type(value).__name__}, not a tensor")
    return value


def _info_dict(info):
    """The file's description as a dict; releases the library's texts."""
    d = {"version": info.version, "optimizer": (info.optimizer or b"").decode(),
         "n_groups": info.n_groups, "n_params": info.n_params, "numel": info.numel,
         "step": info.step, "skipped": info.skipped, "schedule": (info.schedule or b"").decode(),
         "schedule_step": info.schedule_step, "mode": "eval" if info.eval_mode else "train"}
    lib.rv_checkpoint_info_free(byref(info))
    return d


def inspect_checkpoint(path):
    """Verify a checkpoint completely and describe it (a dict), without an optimizer."""
    info = _lib.CheckpointInfo()
    check(lib.rv_checkpoint_inspect(str(path).encode(), byref(info)), f"checkpoint '{path}'")
    return _info_dict(info)
