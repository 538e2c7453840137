"""libravine through ctypes: finding the shared library, the prototypes of the
calls the package makes, and C status codes turned into Python exceptions.

The library is searched for in this order:
  1. the path in the environment variable RAVINE_LIBRARY;
  2. the copy `make install PREFIX=...` put beside this package (the
     relative path is written into _install.py at install time);
  3. build/libravine.so of the source tree this package sits in (after `make`).
"""
import ctypes
import os

from ctypes import POINTER, byref, c_char_p, c_double, c_int, c_long, c_size_t, c_void_p

HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("RAVINE_LIBRARY")
    if env:
        return [env]
    found = []
    try:
        from ravine import _install           # written by `make install`
        found.append(os.path.normpath(os.path.join(HERE, _install.LIBRARY)))
    except ImportError:
        pass
    found.append(os.path.normpath(os.path.join(HERE, "..", "..", "build", "libravine.so")))
    return found


def _load():
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            return ctypes.CDLL(path), path
        tried.append(path)
    raise ImportError("ravine: cannot find libravine.so (looked for " + ", ".join(tried) +
                      "); build it with `make`, or set RAVINE_LIBRARY to its path")


lib, LIBRARY_PATH = _load()

_SIGNATURES = {
    # name: (restype, argtypes)
    "rv_strerror": (c_char_p, [c_int]),
    "rv_errmsg": (c_char_p, []),
    "rv_clear_error": (None, []),
    "rv_optim_create_spec": (c_int, [POINTER(c_void_p), c_char_p]),
    "rv_optim_free": (None, [c_void_p]),
    "rv_optim_get_type": (c_void_p, [c_void_p]),
    "rv_optim_type_shape_need": (c_int, [c_void_p]),
    "rv_optim_type_name": (c_char_p, [c_void_p]),
    "rv_optim_type_find": (c_void_p, [c_char_p]),
    "rv_optim_type_elementwise": (c_int, [c_void_p]),
    "rv_optim_add_group_spec": (c_int, [c_void_p, c_char_p, POINTER(c_size_t)]),
    "rv_optim_add_param_shaped": (c_int, [c_void_p, c_size_t, c_char_p, c_void_p, c_void_p,
                                          c_size_t, POINTER(c_size_t), POINTER(c_size_t)]),
    "rv_optim_add_param_bf16": (c_int, [c_void_p, c_size_t, c_char_p, c_void_p, c_void_p,
                                        c_size_t, POINTER(c_size_t), POINTER(c_size_t)]),
    "rv_optim_step": (c_int, [c_void_p]),
    "rv_optim_group_set_lr": (c_int, [c_void_p, c_size_t, c_double]),
    "rv_optim_eval": (c_int, [c_void_p]),
    "rv_optim_train": (c_int, [c_void_p]),
    "rv_optim_param_count": (c_size_t, [c_void_p]),
    "rv_optim_step_count": (c_long, [c_void_p]),
    "rv_optim_set_threads": (c_int, [c_void_p, c_int]),
    "rv_optim_ensure_state": (c_int, [c_void_p]),
    "rv_optim_set_param_step": (c_int, [c_void_p, c_size_t, c_long]),
    "rv_optim_set_param_scalars": (c_int, [c_void_p, c_size_t, POINTER(c_double)]),
    "rv_optim_set_step_count": (c_int, [c_void_p, c_long]),
    # ravine/bind.h
    "rv_optim_set_all_buffers": (c_int, [c_void_p, c_size_t, c_void_p, c_void_p,
                                         POINTER(c_size_t)]),
    "rv_optim_set_all_data": (c_int, [c_void_p, c_size_t, c_void_p, c_void_p,
                                      POINTER(c_size_t)]),
    "rv_optim_group_set_spec": (c_int, [c_void_p, c_size_t, c_char_p]),
    "rv_optim_group_spec": (c_size_t, [c_void_p, c_size_t, c_char_p, c_size_t]),
    "rv_optim_param_steps": (c_int, [c_void_p, c_size_t, c_void_p]),
    "rv_optim_param_info": (c_int, [c_void_p, c_size_t, POINTER(c_long), POINTER(c_size_t),
                                    POINTER(c_size_t)]),
    "rv_optim_param_state": (c_int, [c_void_p, c_size_t, c_size_t, POINTER(c_void_p),
                                     POINTER(c_size_t), POINTER(c_char_p)]),
    "rv_optim_param_dtype": (c_int, [c_void_p, c_size_t, POINTER(c_int), POINTER(c_void_p)]),
    "rv_optim_param_state_stored": (c_int, [c_void_p, c_size_t, c_size_t, POINTER(c_void_p),
                                            POINTER(c_int), POINTER(c_size_t), POINTER(c_void_p),
                                            POINTER(c_size_t), POINTER(c_char_p)]),
    "rv_optim_param_state_store": (c_int, [c_void_p, c_size_t, c_size_t, c_void_p, c_size_t]),
    "rv_optim_param_scalar": (c_int, [c_void_p, c_size_t, c_size_t, POINTER(c_double),
                                      POINTER(c_char_p)]),
    "rv_checkpoint_info_size": (c_size_t, []),
    # ravine/checkpoint.h
    "rv_checkpoint_save_at": (c_int, [c_void_p, c_char_p, c_long, c_char_p]),
    "rv_checkpoint_load": (c_int, [c_void_p, c_char_p, c_void_p, c_void_p]),
    "rv_checkpoint_inspect": (c_int, [c_char_p, c_void_p]),
    "rv_checkpoint_info_free": (None, [c_void_p]),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args

MAX_DIMS = 8        # RV_MAX_DIMS
SHAPE_ANY, SHAPE_KNOWN, SHAPE_MATRIX = 0, 1, 2   # rv_shape_need
FP32, BF16, INT8 = 0, 1, 2                        # rv_precision
PRECISION_NAMES = ("fp32", "bf16", "int8")        # the spec words of state=
QUANT_BLOCK = 256                                 # RV_QUANT_BLOCK: values per int8 scale


class CheckpointInfo(ctypes.Structure):
    """rv_checkpoint_info (ravine/checkpoint.h): its texts are the library's
    allocations, released with rv_checkpoint_info_free."""
    _fields_ = [("version", c_int), ("optimizer", c_char_p),
                ("n_groups", c_size_t), ("n_params", c_size_t), ("numel", c_size_t),
                ("step", c_long), ("skipped", c_long), ("schedule", c_char_p),
                ("schedule_step", c_long), ("extra", c_void_p), ("n_extra", c_size_t),
                ("eval_mode", c_int), ("tensors", c_void_p)]


class CheckpointOptions(ctypes.Structure):
    """rv_checkpoint_options (ravine/checkpoint.h)."""
    _fields_ = [("keep_hparams", c_int)]


if ctypes.sizeof(CheckpointInfo) != lib.rv_checkpoint_info_size():
    raise ImportError(f"ravine: {LIBRARY_PATH} has another rv_checkpoint_info layout than this "
                      "package; use the package and the library of the same build")


def _code_of(sentence):
    """The status code whose rv_strerror() is sentence (the enum's numbering is
    the library's business; its sentences are stable)."""
    for code in range(1, 256):
        text = lib.rv_strerror(code).decode()
        if text == sentence:
            return code
        if text == "unknown status code":
            break
    return None


NOMEM = _code_of("out of memory")
IO = _code_of("input/output error")


def errmsg():
    return lib.rv_errmsg().decode("utf-8", "replace")


def error(status, prefix, kind=ValueError, message=None):
    """The exception for a failed call: kind, except for the codes that have a
    Python exception of their own (out of memory, input/output); message
    replaces the library's."""
    text = f"{prefix}: {message or errmsg() or lib.rv_strerror(status).decode()}"
    if status == NOMEM:
        return MemoryError(text)
    if status == IO:
        return OSError(text)
    return kind(text)


def check(status, prefix, kind=ValueError):
    if status:
        raise error(status, prefix, kind)


class Handle:
    """An rv_optim and its lifetime. Tensors that show its state buffers keep
    a reference to it, so the memory outlives the Python optimizer if they do."""

    def __init__(self, spec):
        ptr = c_void_p()
        check(lib.rv_optim_create_spec(byref(ptr), spec.encode()), f"optimizer '{spec}'")
        self.ptr = ptr

    def __del__(self):
        ptr, self.ptr = getattr(self, "ptr", None), None
        if ptr and lib is not None:
            lib.rv_optim_free(ptr)

    def group_spec(self, group):
        size = lib.rv_optim_group_spec(self.ptr, group, None, 0)
        buf = ctypes.create_string_buffer(size + 1)
        lib.rv_optim_group_spec(self.ptr, group, buf, size + 1)
        return buf.value.decode()

    def steps(self):
        n = lib.rv_optim_param_count(self.ptr)
        out = (c_long * n)()
        check(lib.rv_optim_param_steps(self.ptr, n, out), "step counts", RuntimeError)
        return list(out)

    def info(self, index):
        """(step count, state buffers, scalars) of a tensor."""
        step, n_state, n_scalars = c_long(), c_size_t(), c_size_t()
        check(lib.rv_optim_param_info(self.ptr, index, byref(step), byref(n_state),
                                      byref(n_scalars)), f"tensor {index}", RuntimeError)
        return step.value, n_state.value, n_scalars.value

    def state(self, index, k):
        """(address, length in floats, torch name) of state buffer k of a tensor."""
        buf, length, name = c_void_p(), c_size_t(), c_char_p()
        check(lib.rv_optim_param_state(self.ptr, index, k, byref(buf), byref(length),
                                       byref(name)), f"tensor {index}", RuntimeError)
        return buf.value, length.value, name.value.decode()

    def stored(self, index, k):
        """State buffer k of a tensor as the library stores it: (address,
        precision, length, address of the int8 block scales, their count, torch
        name); the scales are (0, 0) for other precisions."""
        data, prec, length = c_void_p(), c_int(), c_size_t()
        scales, n_scales, name = c_void_p(), c_size_t(), c_char_p()
        check(lib.rv_optim_param_state_stored(self.ptr, index, k, byref(data), byref(prec),
                                              byref(length), byref(scales), byref(n_scales),
                                              byref(name)), f"tensor {index}", RuntimeError)
        return (data.value, prec.value, length.value, scales.value, n_scales.value,
                name.value.decode())

    def dtype(self, index):
        """(FP32 or BF16, address of a bf16 tensor's float32 master or None)."""
        dtype, master = c_int(), c_void_p()
        check(lib.rv_optim_param_dtype(self.ptr, index, byref(dtype), byref(master)),
              f"tensor {index}", RuntimeError)
        return dtype.value, master.value

    def scalar(self, index, k):
        value, name = c_double(), c_char_p()
        check(lib.rv_optim_param_scalar(self.ptr, index, k, byref(value), byref(name)),
              f"tensor {index}", RuntimeError)
        return value.value, name.value.decode()
