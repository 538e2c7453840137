"""Optimizer state as torch shows it, over the library's own buffers.

The library keeps every tensor's state in its arenas (laid out for the fused
step); here each buffer becomes a torch tensor over that memory, with no copy,
in torch's shape (Adafactor's row_var [..., R, 1], col_var [..., 1, C]). A
tensor over library memory holds a reference to the optimizer handle that
owns it, so it stays valid after the Python optimizer is gone or has been
rebuilt by load_state_dict. 'step' and per-tensor scalars (NAdam's
mu_product) are read from the library when asked for, as fresh float32 0-d
tensors, the way torch stores them.

Below float32 (docs/torch.md, "Reduced precision"): a bf16 buffer is a
torch.bfloat16 tensor; an int8 buffer is a torch.uint8 tensor of its codes
under the buffer's name and a float32 tensor of its block scales under the
name + '.absmax'; a bf16 parameter's float32 master is 'master'; and
'state_precision' says how the buffers are stored when it is not float32.
"""
import ctypes
from collections.abc import Mapping

import torch

from .. import _lib

MASTER = "master"                 # a bf16 parameter's float32 master copy
SCALES = ".absmax"                # appended to an int8 buffer's name: its block scales
PRECISION = "state_precision"     # "bf16" or "int8", when the buffers are stored so

_CTYPE = {torch.float32: ctypes.c_float, torch.bfloat16: ctypes.c_uint16,
          torch.uint8: ctypes.c_uint8}
_DTYPE = {_lib.FP32: torch.float32, _lib.BF16: torch.bfloat16, _lib.INT8: torch.uint8}


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


class TensorState(Mapping):
    """One parameter's state: buffers (and a bf16 parameter's master) as live
    tensors over library memory, 'step' and scalars read from the library on
    access."""

    def __init__(self, handle, index, shape, layout):
        self._handle, self._index = handle, index
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
            value = self._handle.scalar(self._index, self._scalars[key])[0]
            return torch.tensor(value, dtype=torch.float32)
        if key == "step" and key in self._keys:
            return torch.tensor(float(self._handle.info(self._index)[0]))
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
            entry = (b.handle, TensorState(b.handle, i, b.shapes[i], type(self._opt)._layout))
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
