"""Optimizer state as torch shows it, over the library's own buffers.

The library keeps every tensor's state in its arenas (laid out for the fused
step); here each buffer becomes a torch tensor over that memory, with no copy,
in torch's shape (Adafactor's row_var [..., R, 1], col_var [..., 1, C]). A
tensor over library memory holds a reference to the optimizer handle that
owns it, so it stays valid after the Python optimizer is gone or has been
rebuilt by load_state_dict. 'step' and per-tensor scalars (NAdam's
mu_product) are float32 0-d tensors, the way torch stores them, kept live as
torch's are: every step writes the library's values into the ones handed out
(LiveCounts), so a state dict's counts stay in step with its buffers.

Below float32 (docs/torch.md, "Reduced precision"): a bf16 buffer is a
torch.bfloat16 tensor; an int8 buffer is a torch.uint8 tensor of its codes
under the buffer's name and a float32 tensor of its block scales under the
name + '.absmax'; a bf16 parameter's float32 master is 'master'; and
'state_precision' says how the buffers are stored when it is not float32.
"""
import ctypes
import weakref
from collections.abc import Mapping

import torch

from .. import _lib

MASTER = "master"                 # a bf16 parameter's float32 master copy
SCALES = ".absmax"                # appended to an int8 buffer's name: its block scales
PRECISION = "state_precision"     # "bf16" or "int8", when the buffers are stored so

_CTYPE = {torch.float32: ctypes.c_float, torch.bfloat16: ctypes.c_uint16,
          torch.uint8: ctypes.c_uint8}
_DTYPE = {_lib.FP32: torch.float32, _lib.BF16: torch.bfloat16, _lib.INT8: torch.uint8}
_LONG = {4: torch.int32, 8: torch.int64}[ctypes.sizeof(ctypes.c_long)]   # a C long's tensor dtype


def buffer_view(handle, address, length, shape, dtype=torch.float32):
    """A tensor of the given dtype and shape over length values of library memory."""
    if length == 0:
        return torch.zeros(shape, dtype=dtype)
    if not address:
        raise RuntimeError("ravine: a state buffer is not allocated")
    memory = (_CTYPE[dtype] * length).from_address(address)
    memory.owner = handle
    return torch.frombuffer(memory, dtype=dtype).view(shape)


def state_shape(name, shape):
    """torch's shape for a state buffer of a parameter of this shape."""
    if name == "row_var":
        return shape[:-1] + (1,)
    if name == "col_var":
        return shape[:-2] + (1,) + shape[-1:]
    return shape


class LiveCounts:
    """The 'step' and per-tensor scalar tensors handed out for one library
    optimizer, refreshed from the library after every step (torch updates
    its own in place). The step counts are views of float32 tensors, one per
    run of tensor indices (a group added later gets another), filled by one
    bulk read and one copy each; a scalar tensor is refreshed while anything
    still holds it."""

    def __init__(self, handle):
        self.handle = handle
        self.counts = None          # C longs: every tensor's count, read in one call
        self.chunks = []            # (first index, float32 tensor, its 0-d views)
        self.scalars = weakref.WeakValueDictionary()    # (tensor, k) -> 0-d tensor

    def step(self, index):
        for first, _, views in self.chunks:
            if first <= index < first + len(views):
                return views[index - first]
        first = self.chunks[-1][0] + len(self.chunks[-1][2]) if self.chunks else 0
        values = torch.zeros(_lib.lib.rv_optim_param_count(self.handle.ptr) - first)
        self.chunks.append((first, values, values.unbind()))
        self.refresh()
        return self.step(index)

    def scalar(self, index, k):
        value = self.scalars.get((index, k))
        if value is None:
            value = torch.tensor(self.handle.scalar(index, k)[0], dtype=torch.float32)
            self.scalars[(index, k)] = value
        return value

    def refresh(self):
        if self.chunks:
            n = _lib.lib.rv_optim_param_count(self.handle.ptr)
            if self.counts is None or len(self.counts) != n:
                self.counts = torch.zeros(n, dtype=_LONG)
            _lib.check(_lib.lib.rv_optim_param_steps(self.handle.ptr, n,
                                                     self.counts.data_ptr()),
                       "step counts", RuntimeError)
            for first, values, _ in self.chunks:
                values.copy_(self.counts[first:first + len(values)])
        for (index, k), value in list(self.scalars.items()):
            value.fill_(self.handle.scalar(index, k)[0])


class TensorState(Mapping):
    """One parameter's state: buffers (and a bf16 parameter's master) as live
    tensors over library memory, 'step' and scalars as live 0-d tensors
    (LiveCounts)."""

    def __init__(self, live, index, shape, layout):
        handle = live.handle
        self._live, self._index = live, index
        self._buffers, self._scalars, self._extra = {}, {}, {}
        _, n_state, n_scalars = handle.info(index)
        names, below = [], set()
        for k in range(n_state):
            address, prec, length, scales, n_scales, name = handle.stored(index, k)
            self._buffers[name] = buffer_view(handle, address, length, state_shape(name, shape),
                                              _DTYPE[prec])
            names.append(name)
            if prec == _lib.INT8:
                self._extra[name + SCALES] = buffer_view(handle, scales, n_scales, (n_scales,))
            if prec != _lib.FP32:
                below.add(_lib.PRECISION_NAMES[prec])
        dtype, master = handle.dtype(index)
        if dtype == _lib.BF16 and master:
            n = 1
            for d in shape:
                n *= d
            self._extra[MASTER] = buffer_view(handle, master, n, shape)
        if below:       # one precision per group (buffers that copy parameters stay float32)
            self._extra[PRECISION] = below.pop()
        for k in range(n_scalars):
            name = handle.scalar(index, k)[1]
            if name in layout.tensor_scalars:
                self._scalars[name] = k
        present = set(self._buffers) | set(self._scalars)
        if layout.step_in_state and self._buffers:
            present.add("step")
        keys = [k for k in layout.order if k in present]
        keys += [k for k in names if k not in keys]
        # each int8 buffer's scales right after it, then the master and the precision
        self._keys = []
        for key in keys:
            self._keys.append(key)
            if key + SCALES in self._extra:
                self._keys.append(key + SCALES)
        self._keys += [k for k in (MASTER, PRECISION) if k in self._extra]

    def __getitem__(self, key):
        if key in self._buffers:
            return self._buffers[key]
        if key in self._extra:
            return self._extra[key]
        if key in self._scalars:
            return self._live.scalar(self._index, self._scalars[key])
        if key == "step" and key in self._keys:
            return self._live.step(self._index)
        raise KeyError(key)

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)

    def __repr__(self):
        return repr(dict(self))


class State(Mapping):
    """optimizer.state: parameter -> its TensorState, for the parameters that
    have state; any other key gives an empty dict, as torch's defaultdict."""

    def __init__(self, opt):
        self._opt = opt
        self._cache = {}

    def _indices(self):
        b = self._opt._b
        return [i for i in range(len(b.params)) if i not in b.stateless]

    def __getitem__(self, param):
        b = self._opt._b
        i = b.index.get(param) if isinstance(param, torch.Tensor) else None
        if i is None or i in b.stateless:
            return {}
        entry = self._cache.get(i)
        if entry is None or entry[0] is not b.handle:
            entry = (b.handle, TensorState(b.live, i, b.shapes[i], type(self._opt)._layout))
            self._cache[i] = entry
        return entry[1]

    def __contains__(self, param):
        b = self._opt._b
        i = b.index.get(param) if isinstance(param, torch.Tensor) else None
        return i is not None and i not in b.stateless

    def __iter__(self):
        params = self._opt._b.params
        return iter([params[i] for i in self._indices()])

    def __len__(self):
        return len(self._indices())

    def __repr__(self):
        return "{" + ", ".join(f"<parameter {i}>: {self[self._opt._b.params[i]]!r}"
                               for i in self._indices()) + "}"
