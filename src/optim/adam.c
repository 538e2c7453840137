/* torch.optim.Adam and AdamW (+amsgrad, maximize); AdamW's decay either in
   torch's order (before the Adam step) or the seed's (after it). */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/adam.h"
#include "kernels/bf16.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

static const char *const adam_keys[] = {"lr", "betas", "eps", "weight_decay", "amsgrad",
                                        "maximize", "state", NULL};
static const char *const adamw_keys[] = {"lr", "betas", "eps", "weight_decay", "amsgrad",
                                         "maximize", "decay", "state", NULL};

static void adam_defaults(rv_hparams *h)
{
    h->lr = 1e-3;
    h->beta1 = 0.9;
    h->beta2 = 0.999;
    h->eps = 1e-8;
}

static void adamw_defaults(rv_hparams *h)
{
    adam_defaults(h);
    h->weight_decay = 1e-2;
    h->decay = RV_DECAY_BEFORE;
}

static rv_status adam_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_open01(RV_ERR_BETA1, "beta1", h->beta1)) ||
        (s = rv_check_open01(RV_ERR_BETA2, "beta2", h->beta2)) ||
        (s = rv_check_min(RV_ERR_EPS, "eps", h->eps, 0.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)))
        return s;
    return RV_OK;
}

static rv_status adamw_validate(const rv_hparams *h)
{
    rv_status s = adam_validate(h);
    if (s)
        return s;
    if (h->decay != RV_DECAY_BEFORE && h->decay != RV_DECAY_AFTER)
        return rv_fail(RV_ERR_DECAY_ORDER, "decay must be before or after, got %d", (int)h->decay);
    return RV_OK;
}

static size_t adam_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)shape;
    return h->amsgrad ? 3 : 2;
}

static const char *adam_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)shape;
    static const char *const names[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return i < adam_state_count(h, shape) ? names[i] : NULL;
}

/* exp_avg is signed; exp_avg_sq and max_exp_avg_sq are not */
static rv_buffer_kind adam_kind(const rv_hparams *h, size_t i)
{
    (void)h;
    return i == 0 ? RV_BUF_SIGNED : RV_BUF_NONNEG;
}

static void prepare_common(const rv_hparams *h, long step, rv_coeffs *c)
{
    *c = (rv_coeffs){0};
    double bc1 = 1.0 - pow(h->beta1, (double)step);
    double bc2 = 1.0 - pow(h->beta2, (double)step);
    c->neg_lr = (float)-(h->lr / bc1);
    c->bc2_sqrt = (float)sqrt(bc2);
    c->beta1 = (float)h->beta1;
    c->one_minus_beta1 = (float)(1.0 - h->beta1);
    c->beta2 = (float)h->beta2;
    c->one_minus_beta2 = (float)(1.0 - h->beta2);
    c->eps = (float)h->eps;
    c->maximize = h->maximize != 0;
    c->amsgrad = h->amsgrad != 0;
}

static void adam_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    prepare_common(h, step, c);
    c->wd = (float)h->weight_decay;
    c->has_wd = h->weight_decay != 0.0;
}

static void adamw_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    prepare_common(h, step, c);
    if (h->weight_decay != 0.0)
        c->decay = h->decay == RV_DECAY_AFTER ? 2 : 1;
    c->decay_mul = (float)(1.0 - h->lr * h->weight_decay);
    c->decay_lr_wd = (float)(h->lr * h->weight_decay);
}

RV_INLINE void adam_loop(const rv_coeffs *c, size_t n, float *restrict p, const float *restrict g,
                         float *const *s, int mx, int wd, int ams, int decay)
{
    float *restrict m = s[0];
    float *restrict v = s[1];
    float *restrict vm = ams ? s[2] : NULL;
    for (size_t i = 0; i < n; i++)
        rv_adam_elem(c, &p[i], g[i], &m[i], &v[i], ams ? &vm[i] : NULL, mx, wd, ams, decay, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void adam_update(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *s)
{
    int key = c->maximize | c->has_wd << 1 | c->amsgrad << 2 | c->decay << 3;
#define ADAM_CASE(k)                                                                          \
    case k:                                                                                   \
        adam_loop(c, n, p, g, s, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 1, (k) >> 3);            \
        break;
    switch (key) {
        RV_REP8(ADAM_CASE, 0)
        RV_REP8(ADAM_CASE, 8)
        RV_REP8(ADAM_CASE, 16)
    }
#undef ADAM_CASE
}

/* ---- state stored below float32, converted inside the loop ------------ */

RV_INLINE void adam_bf16_loop(const rv_coeffs *c, size_t n, float *restrict p,
                              const float *restrict g, uint16_t *restrict mb,
                              uint16_t *restrict vb, int mx, int wd, int decay)
{
    for (size_t i = 0; i < n; i++) {
        float m = rv_bf16_to_f32(mb[i]), v = rv_bf16_to_f32(vb[i]);
        rv_adam_elem(c, &p[i], g[i], &m, &v, NULL, mx, wd, 0, decay, NULL);
        mb[i] = rv_f32_to_bf16(m);
        vb[i] = rv_f32_to_bf16(v);
    }
}

/* int8 state, block by block. A block's codes need its new scale, known
   only once the whole block is updated, so each block is updated into
   float32 scratch (noting its largest magnitudes), and encoded while the
   next one updates: one loop does both, so the integer work of encoding
   fills the cycles the divider leaves idle in the update. Codes pass
   through 32-bit scratch so that every loop has one lane width (with
   bytes in it the compiler would pick 64 lanes and run out of registers). */
typedef struct adam_int8_scratch {
    float m[2][RV_QUANT_BLOCK], v[2][RV_QUANT_BLOCK];   /* updated blocks, alternately */
    uint32_t mc[RV_QUANT_BLOCK], vc[RV_QUANT_BLOCK];    /* codes in, then codes out */
} adam_int8_scratch;

/* the codes of the previous block into the buffers; a block that cannot
   be scaled (non-finite) keeps codes 0 */
static void int8_store_codes(const uint32_t *restrict mc, const uint32_t *restrict vc,
                             uint8_t *restrict mo, uint8_t *restrict vo, size_t len,
                             float ms, float vs)
{
    for (size_t i = 0; i < len; i++) {
        mo[i] = (uint8_t)(ms == ms ? mc[i] : 0);
        vo[i] = (uint8_t)(vs == vs ? vc[i] : 0);
    }
}

/* One block: decode its codes, update, keep the floats and their largest
   magnitudes; with `encode`, also encode the previous block's floats into
   the code scratch, slot by slot after this block's codes are read. */
RV_INLINE void adam_int8_block(const rv_coeffs *c, size_t n, float *restrict p,
                               const float *restrict g, uint32_t *restrict mc,
                               uint32_t *restrict vc, float ms, float vs, float *restrict m32,
                               float *restrict v32, uint32_t *top_m_out, uint32_t *top_v_out,
                               const float *restrict pm, const float *restrict pv, float pim,
                               float piv, int mx, int wd, int decay, int encode)
{
    uint32_t top_m = 0, top_v = 0;
    for (size_t i = 0; i < n; i++) {
        float m = rv_quant_decode(0, mc[i], ms), v = rv_quant_decode(1, vc[i], vs);
        rv_adam_elem(c, &p[i], g[i], &m, &v, NULL, mx, wd, 0, decay, NULL);
        m32[i] = m;
        v32[i] = v;
        uint32_t am = rv_quant_magnitude_bits(m), av = rv_quant_magnitude_bits(v);
        top_m = am > top_m ? am : top_m;
        top_v = av > top_v ? av : top_v;
        if (encode) {
            mc[i] = rv_quant_encode(0, pm[i], pim);
            vc[i] = rv_quant_encode(1, pv[i], piv);
        }
    }
    *top_m_out = top_m;
    *top_v_out = top_v;
}

RV_INLINE void adam_int8_loop(const rv_coeffs *c, size_t n, float *restrict p,
                              const float *restrict g, const rv_buffer *s, size_t off,
                              int mx, int wd, int decay)
{
    adam_int8_scratch w;
    size_t prev_len = 0, prev_block = 0;
    float pim = 0, piv = 0;   /* reciprocal scales of the previous block */
    for (size_t b = 0, k = 0; b < n; b += RV_QUANT_BLOCK, k++) {
        size_t len = n - b < RV_QUANT_BLOCK ? n - b : RV_QUANT_BLOCK;
        size_t block = (off + b) / RV_QUANT_BLOCK;
        const uint8_t *restrict mb = (const uint8_t *)s[0].data + off + b;
        const uint8_t *restrict vb = (const uint8_t *)s[1].data + off + b;
        uint32_t *restrict mc = w.mc, *restrict vc = w.vc;
        for (size_t i = 0; i < len; i++) {
            mc[i] = mb[i];
            vc[i] = vb[i];
        }
        float ms = s[0].absmax[block], vs = s[1].absmax[block];
        float *restrict m32 = w.m[k & 1], *restrict v32 = w.v[k & 1];
        const float *restrict pm = w.m[!(k & 1)], *restrict pv = w.v[!(k & 1)];
        uint32_t top_m = 0, top_v = 0;
        int both = k > 0 && len == RV_QUANT_BLOCK;   /* every block but a short last one */
        if (both)
            adam_int8_block(c, RV_QUANT_BLOCK, p + b, g + b, mc, vc, ms, vs, m32, v32, &top_m,
                            &top_v, pm, pv, pim, piv, mx, wd, decay, 1);
        else
            adam_int8_block(c, len, p + b, g + b, mc, vc, ms, vs, m32, v32, &top_m, &top_v,
                            pm, pv, pim, piv, mx, wd, decay, 0);
        if (k > 0) {
            if (!both)
                for (size_t i = 0; i < prev_len; i++) {
                    mc[i] = rv_quant_encode(0, pm[i], pim);
                    vc[i] = rv_quant_encode(1, pv[i], piv);
                }
            size_t at = prev_block * RV_QUANT_BLOCK - off;
            int8_store_codes(mc, vc, (uint8_t *)s[0].data + off + at,
                             (uint8_t *)s[1].data + off + at, prev_len,
                             s[0].absmax[prev_block], s[1].absmax[prev_block]);
        }
        s[0].absmax[block] = rv_quant_scale(top_m, &pim);
        s[1].absmax[block] = rv_quant_scale(top_v, &piv);
        prev_len = len;
        prev_block = block;
    }
    if (n > 0) {
        size_t last = ((n - 1) / RV_QUANT_BLOCK) & 1;
        for (size_t i = 0; i < prev_len; i++) {
            w.mc[i] = rv_quant_encode(0, w.m[last][i], pim);
            w.vc[i] = rv_quant_encode(1, w.v[last][i], piv);
        }
        size_t at = prev_block * RV_QUANT_BLOCK - off;
        int8_store_codes(w.mc, w.vc, (uint8_t *)s[0].data + off + at,
                         (uint8_t *)s[1].data + off + at, prev_len, s[0].absmax[prev_block],
                         s[1].absmax[prev_block]);
    }
}

RV_FUSED
static int adam_update_stored(const rv_coeffs *c, size_t n, float *p, const float *g,
                              const rv_buffer *s, size_t off)
{
    rv_precision prec = s[0].prec;
    if (c->amsgrad || s[1].prec != prec || (prec != RV_BF16 && prec != RV_INT8) ||
        s[0].nonnegative || !s[1].nonnegative)
        return 0;
    int key = c->maximize | c->has_wd << 1 | c->decay << 2 | (prec == RV_INT8) << 4;
#define ADAM_STORED_CASE(k)                                                                   \
    case k:                                                                                   \
        if ((k) >> 4)                                                                         \
            adam_int8_loop(c, n, p, g, s, off, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 3);        \
        else                                                                                  \
            adam_bf16_loop(c, n, p, g, (uint16_t *)s[0].data + off,                           \
                           (uint16_t *)s[1].data + off, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 3); \
        break;
    switch (key) {
        RV_REP8(ADAM_STORED_CASE, 0)
        RV_REP4(ADAM_STORED_CASE, 8)
        RV_REP8(ADAM_STORED_CASE, 16)
        RV_REP4(ADAM_STORED_CASE, 24)
    default:
        return 0;
    }
#undef ADAM_STORED_CASE
    return 1;
}

static void adam_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_adam_elem(c, p, g, s[0], s[1], c->amsgrad ? s[2] : NULL, c->maximize, c->has_wd,
                 c->amsgrad, c->decay, tr);
}

static const rv_optim_type adam_type = {
    .name = "adam",
    .summary = "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; "
               "p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)",
    .keys = adam_keys,
    .defaults = adam_defaults,
    .validate = adam_validate,
    .state_count = adam_state_count,
    .state_name = adam_state_name,
    .state_kind = adam_kind,
    .prepare = adam_prepare,
    .update = adam_update,
    .update_stored = adam_update_stored,
    .update_traced = adam_traced,
};
const rv_optim_type *const rv_adam = &adam_type;

static const rv_optim_type adamw_type = {
    .name = "adamw",
    .summary = "the Adam step with decoupled weight decay: p *= 1 - lr*wd before it "
               "(decay=before, torch) or p -= lr*wd*p after it (decay=after, seed 000)",
    .keys = adamw_keys,
    .defaults = adamw_defaults,
    .validate = adamw_validate,
    .state_count = adam_state_count,
    .state_name = adam_state_name,
    .state_kind = adam_kind,
    .prepare = adamw_prepare,
    .update = adam_update,
    .update_stored = adam_update_stored,
    .update_traced = adam_traced,
};
const rv_optim_type *const rv_adamw = &adamw_type;
