/* Range checks for hyperparameters: one message shape for every field. */
#include "optim/type.h"
#include "core/error.h"

#include <math.h>

rv_status rv_check_min(rv_status code, const char *field, double value, double lo)
{
    if (!isfinite(value))
        return rv_fail(code, "%s must be finite, got %.9g", field, value);
    if (value < lo)
        return rv_fail(code, "%s must be >= %.9g, got %.9g", field, lo, value);
    return RV_OK;
}

rv_status rv_check_open01(rv_status code, const char *field, double value)
{
    if (!isfinite(value) || value < 0.0 || value >= 1.0)
        return rv_fail(code, "%s must be in [0, 1), got %.9g", field, value);
    return RV_OK;
}

rv_status rv_check_closed01(rv_status code, const char *field, double value)
{
    if (!isfinite(value) || value < 0.0 || value > 1.0)
        return rv_fail(code, "%s must be in [0, 1], got %.9g", field, value);
    return RV_OK;
}

rv_status rv_check_positive(rv_status code, const char *field, double value)
{
    if (!isfinite(value) || value <= 0.0)
        return rv_fail(code, "%s must be > 0, got %.9g", field, value);
    return RV_OK;
}

rv_status rv_type_validate(const rv_optim_type *type, const rv_hparams *h)
{
    if (h->state != RV_FP32 && h->state != RV_BF16 && h->state != RV_INT8)
        return rv_fail(RV_ERR_STATE_PRECISION, "state must be fp32, bf16 or int8, got %d",
                       (int)h->state);
    if (h->state != RV_FP32 && !type->update)
        return rv_fail(RV_ERR_STATE_PRECISION,
                       "%s keeps float32 state only (state=bf16 and int8 are for the element-wise "
                       "optimizers)",
                       type->name);
    return type->validate(h);
}

rv_status rv_check_whole(rv_status code, const char *field, double value, double lo, double hi)
{
    if (!isfinite(value) || value != floor(value) || value < lo || value > hi)
        return rv_fail(code, "%s must be a whole number in [%.9g, %.9g], got %.9g", field, lo, hi,
                       value);
    return RV_OK;
}

rv_status rv_check_finite(rv_status code, const char *field, double value)
{
    if (!isfinite(value))
        return rv_fail(code, "%s must be finite, got %.9g", field, value);
    return RV_OK;
}
