"""Which tensors ravine updates in place, and the error for every other kind.

ravine reads and writes a tensor's memory through its data pointer, so a
parameter and its gradient must be dense CPU tensors laid out contiguously,
float32 (updated as they are) or bfloat16 (over a float32 master copy the
library keeps), the gradient of its parameter's dtype, with a pointer aligned
for the type. Anything else is refused with an error that names the param
group, the parameter's index in it and why: TypeError for the wrong kind of
tensor (device, dtype, sparse layout), ValueError for a usable kind in an
unusable arrangement (layout in memory, alignment, shape).
"""
import torch

from .. import _lib


_STRIDED = torch.strided
# the dtypes the library updates, and the alignment of each one's pointers
ALIGNMENT = {torch.float32: 4, torch.bfloat16: 2}


def usable(t, shape, dtype):
    """The quick test of every step: a dense contiguous CPU tensor of this
    dtype and shape with an aligned pointer (the checks below say what is
    wrong)."""
    return (t.layout is _STRIDED and t.dtype is dtype and t.is_cpu and t.shape == shape
            and t.is_contiguous() and t.data_ptr() % ALIGNMENT[dtype] == 0)


def where(owner, group, index):
    return f"{owner}: param group {group}, parameter {index}"


def check_param(owner, group, index, p, shape_need):
    """Raise unless p can be registered with the library."""
    at = where(owner, group, index)
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{at}: is a {type(p).__name__}, not a torch.Tensor")
    _check_kind(at, "parameter", p)
    if not p.is_contiguous():
        raise ValueError(f"{at}: the parameter is not contiguous (strides {tuple(p.stride())}); "
                         "ravine updates a tensor's memory in place (make it contiguous, e.g. "
                         "p.data = p.data.contiguous())")
    _check_aligned(at, "parameter", p)
    if p.dim() > _lib.MAX_DIMS:
        raise ValueError(f"{at}: the parameter has {p.dim()} dimensions, ravine takes at most "
                         f"{_lib.MAX_DIMS}")
    if shape_need == _lib.SHAPE_MATRIX and p.dim() != 2:
        raise ValueError(f"{at}: {owner} updates 2-D matrices only, this parameter has shape "
                         f"{list(p.shape)} (give the other parameters to another optimizer)")


def check_moved_param(owner, group, index, p, shape, dtype):
    """A parameter whose memory moved since the last step (p.data = ...): it
    must still be an updatable tensor of the shape and dtype it was
    registered with."""
    at = where(owner, group, index)
    _check_kind(at, "parameter", p)
    if p.dtype != dtype:
        raise TypeError(f"{at}: the parameter is {p.dtype}, it was {dtype} when it was added to "
                        "the optimizer (a new optimizer is needed for another dtype)")
    if tuple(p.shape) != shape:
        raise ValueError(f"{at}: the parameter has shape {list(p.shape)}, it had {list(shape)} "
                         "when it was added to the optimizer")
    if not p.is_contiguous():
        raise ValueError(f"{at}: the parameter is not contiguous (strides {tuple(p.stride())}); "
                         "ravine updates a tensor's memory in place")
    _check_aligned(at, "parameter", p)


def check_grad(owner, group, index, g, shape, dtype):
    at = where(owner, group, index)
    _check_kind(at, "gradient", g)
    if g.dtype != dtype:
        raise TypeError(f"{at}: the gradient is {g.dtype}, the parameter {dtype}; ravine reads a "
                        "gradient in its parameter's dtype")
    if tuple(g.shape) != shape:
        raise ValueError(f"{at}: the gradient has shape {list(g.shape)}, the parameter "
                         f"{list(shape)}")
    if not g.is_contiguous():
        raise ValueError(f"{at}: the gradient is not contiguous (strides {tuple(g.stride())}); "
                         "ravine reads a gradient's memory directly")
    _check_aligned(at, "gradient", g)


def _check_kind(at, what, t):
    if t.layout != torch.strided:
        raise TypeError(f"{at}: the {what} is sparse ({t.layout}); ravine updates dense tensors "
                        "only (nn.Embedding(..., sparse=False))")
    if t.device.type != "cpu":
        raise TypeError(f"{at}: the {what} is on {t.device}; ravine updates CPU tensors in "
                        "place (torch.optim handles other devices)")
    if t.dtype not in ALIGNMENT:
        raise TypeError(f"{at}: the {what} is {t.dtype}; ravine updates float32 and bfloat16 "
                        "tensors only (model.float(), or model.bfloat16() for bf16 parameters "
                        "over float32 master weights)")


def _check_aligned(at, what, t):
    ptr = t.data_ptr()
    if ptr % ALIGNMENT[t.dtype]:
        kind = "float" if t.dtype == torch.float32 else "bfloat16"
        raise ValueError(f"{at}: the {what}'s data pointer {ptr:#x} is not aligned for {kind}")
