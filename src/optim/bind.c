/* Calls for language bindings (ravine/bind.h), on the public optimizer API:
   whole-optimizer versions of per-tensor calls, and hyperparameters as text;
   storing state values goes through the library's own conversions
   (optim/precision.h), so a binding never repeats bf16 rounding or int8
   quantization. */
#include "ravine/bind.h"
#include "ravine/checkpoint.h"
#include "optim/precision.h"
#include "optim/type.h"
#include "core/error.h"

#include <stdint.h>

static int misaligned(const void *x, size_t align) { return x && (uintptr_t)x % align != 0; }

/* The check of one tensor's new pointers against its dtype: RV_OK or the
   failure, with the message naming the tensor. */
static rv_status check_pair(const char *fn, const rv_param_view *v, size_t i, const void *param,
                            const void *grad, int float_only)
{
    const char *type = v->dtype == RV_BF16 ? "bf16" : "float";
    size_t align = v->dtype == RV_BF16 ? _Alignof(uint16_t) : _Alignof(float);
    if (float_only && v->dtype != RV_FP32)
        return rv_fail(RV_ERR_ARG, "%s: tensor %zu ('%s') is bf16; use rv_optim_set_all_data",
                       fn, i, v->name);
    if (!param && v->n)
        return rv_fail(RV_ERR_NULL, "tensor %zu ('%s'): param is NULL", i, v->name);
    if (misaligned(param, align))
        return rv_fail(RV_ERR_ALIGN, "tensor %zu ('%s'): param pointer %p is not aligned for %s",
                       i, v->name, param, type);
    if (misaligned(grad, align))
        return rv_fail(RV_ERR_ALIGN, "tensor %zu ('%s'): grad pointer %p is not aligned for %s",
                       i, v->name, grad, type);
    return RV_OK;
}

/* An array of pointers as either call takes it (float * or void *). */
typedef struct pointers {
    float *const *floats;
    void *const *any;
} pointers;

static void *at(pointers p, size_t i) { return p.floats ? (void *)p.floats[i] : p.any[i]; }

/* Check every tensor's pointers, then set them all: a bad pointer anywhere
   changes nothing. The dtype comes from each tensor's view (some 30 ns). */
static rv_status set_all(const char *fn, rv_optim *opt, size_t n, pointers params,
                         pointers grads, size_t *bad, int float_only)
{
    if (!opt || (n && ((!params.floats && !params.any) || (!grads.floats && !grads.any))))
        return rv_fail(RV_ERR_NULL, "%s: NULL argument", fn);
    size_t count = rv_optim_param_count(opt);
    if (n != count)
        return rv_fail(RV_ERR_SIZE, "%s: %zu buffer pairs given, the optimizer has %zu tensors",
                       fn, n, count);
    rv_param_view v;
    for (size_t i = 0; i < n; i++) {
        rv_optim_param_view(opt, i, &v);
        rv_status s = check_pair(fn, &v, i, at(params, i), at(grads, i), float_only);
        if (s) {
            if (bad)
                *bad = i;
            return s;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rv_optim_param_view(opt, i, &v);
        rv_status s = v.dtype == RV_BF16
                          ? rv_optim_set_buffers_bf16(opt, i, at(params, i), at(grads, i))
                          : rv_optim_set_buffers(opt, i, at(params, i), at(grads, i));
        if (s) {   /* cannot happen after the checks above; reported all the same */
            if (bad)
                *bad = i;
            return s;
        }
    }
    return RV_OK;
}

rv_status rv_optim_set_all_buffers(rv_optim *opt, size_t n, float *const *params,
                                   float *const *grads, size_t *bad)
{
    return set_all("rv_optim_set_all_buffers", opt, n, (pointers){params, NULL},
                   (pointers){grads, NULL}, bad, 1);
}

rv_status rv_optim_set_all_data(rv_optim *opt, size_t n, void *const *params,
                                void *const *grads, size_t *bad)
{
    return set_all("rv_optim_set_all_data", opt, n, (pointers){NULL, params},
                   (pointers){NULL, grads}, bad, 0);
}

rv_status rv_optim_group_set_spec(rv_optim *opt, size_t group, const char *overrides)
{
    if (!opt || !overrides)
        return rv_fail(RV_ERR_NULL, "rv_optim_group_set_spec: NULL argument");
    rv_hparams h;
    rv_status s = rv_optim_group_hparams(opt, group, &h);
    if (!s)
        s = rv_hparams_override(rv_optim_get_type(opt), &h, overrides);
    return s ? s : rv_optim_group_set_hparams(opt, group, &h);
}

size_t rv_optim_group_spec(const rv_optim *opt, size_t group, char *buf, size_t size)
{
    rv_hparams h;
    if (size)
        buf[0] = '\0';
    if (!opt || rv_optim_group_hparams(opt, group, &h))
        return 0;
    return rv_hparams_format(rv_optim_get_type(opt), &h, buf, size);
}

rv_status rv_optim_param_steps(const rv_optim *opt, size_t n, long *steps)
{
    if (!opt || (n && !steps))
        return rv_fail(RV_ERR_NULL, "rv_optim_param_steps: NULL argument");
    if (n > rv_optim_param_count(opt))
        return rv_fail(RV_ERR_INDEX, "rv_optim_param_steps: %zu tensors asked for, the optimizer "
                       "has %zu", n, rv_optim_param_count(opt));
    for (size_t i = 0; i < n; i++) {
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        steps[i] = v.step;
    }
    return RV_OK;
}

rv_status rv_optim_param_info(const rv_optim *opt, size_t index, long *step, size_t *n_state,
                              size_t *n_scalars)
{
    rv_param_view v;
    rv_status s = rv_optim_param_view(opt, index, &v);
    if (s)
        return s;
    if (step)
        *step = v.step;
    if (n_state)
        *n_state = v.n_state;
    if (n_scalars)
        *n_scalars = v.n_scalars;
    return RV_OK;
}

/* A tensor's view, when it has state buffer k. */
static rv_status view_with_buffer(const rv_optim *opt, size_t index, size_t k, rv_param_view *v)
{
    rv_status s = rv_optim_param_view(opt, index, v);
    if (s)
        return s;
    if (k >= v->n_state)
        return rv_fail(RV_ERR_INDEX, "tensor %zu ('%s') has %zu state buffers, asked for buffer %zu",
                       index, v->name, v->n_state, k);
    return RV_OK;
}

rv_status rv_optim_param_state(const rv_optim *opt, size_t index, size_t k, float **buf,
                               size_t *len, const char **name)
{
    rv_param_view v;
    rv_status s = view_with_buffer(opt, index, k, &v);
    if (s)
        return s;
    if (buf)
        *buf = v.state[k];
    if (len)
        *len = v.state_len[k];
    if (name)
        *name = v.state_name[k];
    return RV_OK;
}

rv_status rv_optim_param_dtype(const rv_optim *opt, size_t index, rv_precision *dtype,
                               float **master)
{
    rv_param_view v;
    rv_status s = rv_optim_param_view(opt, index, &v);
    if (s)
        return s;
    if (dtype)
        *dtype = v.dtype;
    if (master)
        *master = v.dtype == RV_BF16 ? v.master : NULL;
    return RV_OK;
}

rv_status rv_optim_param_state_stored(const rv_optim *opt, size_t index, size_t k, void **data,
                                      rv_precision *precision, size_t *len, float **scales,
                                      size_t *n_scales, const char **name)
{
    rv_param_view v;
    rv_status s = view_with_buffer(opt, index, k, &v);
    if (s)
        return s;
    int int8 = v.state_precision[k] == RV_INT8;
    if (data)
        *data = v.state_data[k];
    if (precision)
        *precision = v.state_precision[k];
    if (len)
        *len = v.state_len[k];
    if (scales)
        *scales = int8 ? v.state_absmax[k] : NULL;
    if (n_scales)
        *n_scales = int8 ? rv_quant_blocks(v.state_len[k]) : 0;
    if (name)
        *name = v.state_name[k];
    return RV_OK;
}

rv_status rv_optim_param_state_store(rv_optim *opt, size_t index, size_t k, const float *values,
                                     size_t len)
{
    rv_param_view v;
    rv_status s = view_with_buffer(opt, index, k, &v);
    if (s)
        return s;
    if (len != v.state_len[k])
        return rv_fail(RV_ERR_SIZE, "tensor %zu ('%s'): state buffer '%s' holds %zu values, %zu "
                       "given", index, v.name, v.state_name[k], v.state_len[k], len);
    if (len && !v.state_data[k])
        return rv_fail(RV_ERR_ARG, "tensor %zu ('%s'): its state is not allocated yet (step "
                       "once, or call rv_optim_ensure_state)", index, v.name);
    if (len && !values)
        return rv_fail(RV_ERR_NULL, "rv_optim_param_state_store: values is NULL");
    rv_hparams h;
    rv_optim_group_hparams(opt, v.group, &h);
    const rv_optim_type *type = rv_optim_get_type(opt);
    rv_buffer b = {v.state_data[k], v.state_absmax[k], v.state_precision[k],
                   type->state_kind && type->state_kind(&h, k) == RV_BUF_NONNEG};
    if (b.prec == RV_INT8 && b.nonnegative)
        for (size_t i = 0; i < len; i++)
            if (values[i] < 0.0f)
                return rv_fail(RV_ERR_ARG, "tensor %zu ('%s'): state buffer '%s' holds "
                               "non-negative values (its int8 map has no sign), value %zu is "
                               "%.9g", index, v.name, v.state_name[k], i, (double)values[i]);
    for (size_t i = 0; i < len; i += RV_QUANT_BLOCK)
        rv_buffer_store(&b, i, len - i < RV_QUANT_BLOCK ? len - i : RV_QUANT_BLOCK, values + i);
    return RV_OK;
}

rv_status rv_optim_param_scalar(const rv_optim *opt, size_t index, size_t k, double *value,
                                const char **name)
{
    rv_param_view v;
    rv_status s = rv_optim_param_view(opt, index, &v);
    if (s)
        return s;
    if (k >= v.n_scalars)
        return rv_fail(RV_ERR_INDEX, "tensor %zu ('%s') has %zu scalars, asked for scalar %zu",
                       index, v.name, v.n_scalars, k);
    if (value)
        *value = v.scalar[k];
    if (name)
        *name = v.scalar_name[k];
    return RV_OK;
}

size_t rv_checkpoint_info_size(void) { return sizeof(rv_checkpoint_info); }
