/* Calls for language bindings (ravine/bind.h), on the public optimizer API:
   whole-optimizer versions of per-tensor calls, and hyperparameters as text. */
#include "ravine/bind.h"
#include "ravine/checkpoint.h"
#include "core/error.h"

#include <stdint.h>

static int misaligned(const float *x) { return x && (uintptr_t)x % _Alignof(float) != 0; }

rv_status rv_optim_set_all_buffers(rv_optim *opt, size_t n, float *const *params,
                                   float *const *grads, size_t *bad)
{
    if (!opt || (n && (!params || !grads)))
        return rv_fail(RV_ERR_NULL, "rv_optim_set_all_buffers: NULL argument");
    size_t count = rv_optim_param_count(opt);
    if (n != count)
        return rv_fail(RV_ERR_SIZE, "rv_optim_set_all_buffers: %zu buffer pairs given, the "
                       "optimizer has %zu tensors", n, count);
    /* check all, then set all: a bad pointer anywhere changes nothing (the
       view, a few hundred bytes, is taken only for a suspect tensor) */
    for (size_t i = 0; i < n; i++) {
        if (params[i] && !misaligned(params[i]) && !misaligned(grads[i]))
            continue;
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        rv_status s = RV_OK;
        if (!params[i] && v.n)
            s = rv_fail(RV_ERR_NULL, "tensor %zu ('%s'): param is NULL", i, v.name);
        else if (misaligned(params[i]))
            s = rv_fail(RV_ERR_ALIGN, "tensor %zu ('%s'): param pointer %p is not aligned for float",
                        i, v.name, (const void *)params[i]);
        else if (misaligned(grads[i]))
            s = rv_fail(RV_ERR_ALIGN, "tensor %zu ('%s'): grad pointer %p is not aligned for float",
                        i, v.name, (const void *)grads[i]);
        if (s) {
            if (bad)
                *bad = i;
            return s;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rv_status s = rv_optim_set_buffers(opt, i, params[i], grads[i]);
        if (s) {   /* cannot happen after the checks above; reported all the same */
            if (bad)
                *bad = i;
            return s;
        }
    }
    return RV_OK;
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

rv_status rv_optim_param_state(const rv_optim *opt, size_t index, size_t k, float **buf,
                               size_t *len, const char **name)
{
    rv_param_view v;
    rv_status s = rv_optim_param_view(opt, index, &v);
    if (s)
        return s;
    if (k >= v.n_state)
        return rv_fail(RV_ERR_INDEX, "tensor %zu ('%s') has %zu state buffers, asked for buffer %zu",
                       index, v.name, v.n_state, k);
    if (buf)
        *buf = v.state[k];
    if (len)
        *len = v.state_len[k];
    if (name)
        *name = v.state_name[k];
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
