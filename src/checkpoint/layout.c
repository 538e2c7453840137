/* What a tensor's state is stored as: the entries of a checkpoint beside
   "param/<key>", derived from the algorithm, the group's hyperparameters,
   the tensor's shape and dtype alone. The writer and the reader both take
   the list from here, so a file is read back exactly as it was laid out. */
#include "checkpoint/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a file's shape is a tensor's: as many dimensions at most */
_Static_assert(RV_CHECKPOINT_MAX_RANK == RV_MAX_DIMS, "checkpoint ranks are tensor ranks");

static const char *const dtype_names[] = {"F32", "BF16", "U8", "F64"};
static const size_t dtype_sizes[] = {4, 2, 1, 8};

const char *rv_checkpoint_dtype_name(rv_checkpoint_dtype d)
{
    return d < RV_DT_UNKNOWN ? dtype_names[d] : "?";
}

size_t rv_checkpoint_dtype_size(rv_checkpoint_dtype d)
{
    return d < RV_DT_UNKNOWN ? dtype_sizes[d] : 0;
}

rv_checkpoint_dtype rv_checkpoint_dtype_of(const char *name)
{
    for (int d = 0; d < RV_DT_UNKNOWN; d++)
        if (!strcmp(name, dtype_names[d]))
            return (rv_checkpoint_dtype)d;
    return RV_DT_UNKNOWN;
}

/* How state buffer k is held: the group's precision, except for buffers
   that copy parameters (schedule-free's z), always float32. */
rv_precision rv_checkpoint_buffer_precision(const rv_optim_type *type, const rv_hparams *h, size_t k)
{
    rv_buffer_kind kind = type->state_kind ? type->state_kind(h, k) : RV_BUF_SIGNED;
    return kind == RV_BUF_EXACT ? RV_FP32 : h->state;
}

static rv_checkpoint_dtype dtype_of_precision(rv_precision p)
{
    return p == RV_BF16 ? RV_DT_BF16 : p == RV_INT8 ? RV_DT_U8 : RV_DT_F32;
}

size_t rv_checkpoint_slots(const rv_optim_type *type, const rv_hparams *h, const rv_shape *shape,
                           rv_precision dtype, int version, rv_checkpoint_slot *out)
{
    size_t n = 0;
    if (version >= 2 && dtype == RV_BF16)
        out[n++] = (rv_checkpoint_slot){.kind = RV_SLOT_MASTER, .name = "master",
                                        .dtype = RV_DT_F32, .len = shape->n, .prec = RV_FP32};
    /* format 1 named and sized buffers as for a vector of the tensor's
       size, held as float32 */
    const rv_shape *s = version >= 2 ? shape : NULL;
    size_t k_max = type->state_count(h, s);
    for (size_t k = 0; k < k_max && k < RV_MAX_STATE; k++) {
        rv_precision prec = rv_checkpoint_buffer_precision(type, h, k);
        size_t len = version >= 2 ? rv_type_state_len(type, h, shape, k) : shape->n;
        int nonneg = type->state_kind && type->state_kind(h, k) == RV_BUF_NONNEG;
        const char *name = type->state_name(h, s, k);
        out[n++] = (rv_checkpoint_slot){.kind = RV_SLOT_BUFFER, .index = k, .name = name,
                                        .dtype = version >= 2 ? dtype_of_precision(prec) : RV_DT_F32,
                                        .len = len, .prec = prec, .nonnegative = nonneg};
        if (version >= 2 && prec == RV_INT8)
            out[n++] = (rv_checkpoint_slot){.kind = RV_SLOT_ABSMAX, .index = k, .name = name,
                                            .dtype = RV_DT_F32,
                                            .len = (len + RV_QUANT_BLOCK - 1) / RV_QUANT_BLOCK,
                                            .prec = RV_FP32};
    }
    for (size_t k = 0; k < type->n_scalars && k < RV_MAX_SCALARS; k++)
        out[n++] = (rv_checkpoint_slot){.kind = RV_SLOT_SCALAR, .index = k,
                                        .name = type->scalar_names[k], .dtype = RV_DT_F64, .len = 1,
                                        .prec = RV_FP32};
    return n;
}

char *rv_checkpoint_slot_key(const char *key, const rv_checkpoint_slot *s)
{
    const char *prefix = s->kind == RV_SLOT_SCALAR ? "scalar/" : "state/";
    const char *suffix = s->kind == RV_SLOT_ABSMAX ? RV_CHECKPOINT_ABSMAX : "";
    size_t len = strlen(prefix) + strlen(key) + 1 + strlen(s->name) + strlen(suffix) + 1;
    char *out = malloc(len);
    if (out)
        snprintf(out, len, "%s%s/%s%s", prefix, key, s->name, suffix);
    return out;
}

void rv_checkpoint_view_shape(const rv_param_view *v, rv_shape *out)
{
    memset(out, 0, sizeof *out);
    out->n = v->n;
    out->ndim = v->ndim;
    out->has_shape = v->has_shape;
    for (size_t d = 0; d < v->ndim && d < RV_MAX_DIMS; d++)
        out->dims[d] = v->shape[d];
}

size_t rv_checkpoint_format_shape(const size_t *dims, size_t ndim, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (size_t d = 0; d < ndim; d++)
        used += (size_t)snprintf(buf + (used < size ? used : size), used < size ? size - used : 0,
                                 "%s%zu", d ? ", " : "", dims[d]);
    used += (size_t)snprintf(buf + (used < size ? used : size), used < size ? size - used : 0, "]");
    return used;
}
