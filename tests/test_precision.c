/* Storage below float32: bf16 conversion, the int8 quantization maps, and
   optimizers whose state is bf16 or int8 or whose parameters are bf16. */
#include "ravine/ravine.h"
#include "check.h"
#include "kernels/bf16.h"
#include "kernels/quant.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* round to nearest even, written out on the bits of a double */
static uint16_t bf16_reference(float f)
{
    if (f != f)
        return 0x7fc0;
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t lo = u & 0xffffu, hi = u >> 16;
    if (lo > 0x8000u || (lo == 0x8000u && (hi & 1u)))
        hi++;
    return (uint16_t)hi;
}

static void bf16_conversion(void)
{
    CHECK(rv_f32_to_bf16(1.0f) == 0x3f80 && rv_bf16_to_f32(0x3f80) == 1.0f);
    /* ties go to the even neighbour */
    float tie_down, tie_up;
    uint32_t a = 0x3f808000u, b = 0x3f818000u;
    memcpy(&tie_down, &a, 4);
    memcpy(&tie_up, &b, 4);
    CHECK(rv_f32_to_bf16(tie_down) == 0x3f80 && rv_f32_to_bf16(tie_up) == 0x3f82);
    CHECK(rv_f32_to_bf16(NAN) == 0x7fc0 && rv_f32_to_bf16(INFINITY) == 0x7f80);
    CHECK(rv_f32_to_bf16(-INFINITY) == 0xff80 && rv_f32_to_bf16(3.4e38f) == 0x7f80);
    CHECK(rv_bf16_nonfinite(0x7f80) && rv_bf16_nonfinite(0x7fc0) && !rv_bf16_nonfinite(0x7f7f));
    uint32_t x = 12345;
    int same = 1;
    for (int i = 0; i < 1000000; i++) {
        x = x * 1664525u + 1013904223u;
        float f;
        memcpy(&f, &x, 4);
        same &= rv_f32_to_bf16(f) == bf16_reference(f);
        same &= rv_bf16_to_f32(rv_f32_to_bf16(f)) == f || f != f || (x & 0xffffu);
    }
    CHECK_MSG(same, "bf16 rounding differs from round-to-nearest-even");
}

/* the maps: codes decode to ascending magnitudes from 0 to 1, and the
   encoder picks the nearest code for every kind of magnitude */
static void quant_maps(void)
{
    for (int nonneg = 0; nonneg < 2; nonneg++) {
        int top = nonneg ? RV_QUANT_UNSIGNED_BIAS << 3 : RV_QUANT_SIGNED_BIAS << 3;
        float v[256];
        int ascending = 1;
        for (int c = 0; c <= top; c++) {
            v[c] = rv_quant_decode(nonneg, (uint8_t)c, 1.0f);
            ascending &= c == 0 || v[c] > v[c - 1];
        }
        CHECK(ascending && v[0] == 0.0f && v[top] == 1.0f);
        /* 3 fraction bits: neighbours 6.25% to 12.5% apart above the linear bottom */
        CHECK(v[top - 1] == 0.9375f && v[8] == ldexpf(1.0f, nonneg ? -30 : -14));
        CHECK(v[1] == ldexpf(1.0f, nonneg ? -33 : -17));
        uint32_t x = 777;
        int nearest = 1;
        for (int i = 0; i < 300000; i++) {
            x = x * 1664525u + 1013904223u;
            float a = (i % 3 == 0)   ? (float)(x >> 8) / 16777216.0f
                      : (i % 3 == 1) ? ldexpf((float)(x >> 8) / 16777216.0f, -(int)(x % 40))
                                     : v[x % (unsigned)(top + 1)];
            uint8_t c = (uint8_t)rv_quant_encode(nonneg, a, 1.0f);
            float best = INFINITY;
            for (int k = 0; k <= top; k++)
                best = fminf(best, fabsf(a - v[k]));
            nearest &= fabsf(a - v[c]) == best;
        }
        CHECK_MSG(nearest, "map %d: the encoder misses the nearest code", nonneg);
        /* signed: a sign bit over the same magnitudes; above 1 clamps to 1 */
        if (!nonneg)
            CHECK(rv_quant_encode(0, -0.5f, 1.0f) == (0x80 | rv_quant_encode(0, 0.5f, 1.0f)) &&
                  rv_quant_decode(0, 0x80 | 5, 1.0f) == -v[5]);
        CHECK(rv_quant_encode(nonneg, 1.5f, 1.0f) == (uint32_t)top);
        /* -0 is zero in either map (not the largest magnitude) */
        CHECK(rv_quant_encode(nonneg, -0.0f, 1.0f) == 0u &&
              rv_quant_decode(nonneg, rv_quant_encode(nonneg, -0.0f, 1.0f), 1.0f) == 0.0f);
    }
    /* scales: non-finite blocks NaN, blocks below the smallest normal float zeros */
    float inv;
    CHECK(isnan(rv_quant_scale(0x7f800000u, &inv)) && inv == 0.0f);
    CHECK(rv_quant_scale(0x00400000u, &inv) == 0.0f && inv == 0.0f);
    CHECK(rv_quant_scale(0x00800000u, &inv) == ldexpf(1.0f, -126) && inv == ldexpf(1.0f, 126));
    CHECK(rv_quant_encode(0, -ldexpf(1.0f, -140), 0.0f) == 0x00u ||
          rv_quant_encode(0, -ldexpf(1.0f, -140), 0.0f) == 0x80u);
}

static float *fill(size_t n, float scale, unsigned seed)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = scale * ((float)(seed >> 8) / 8388608.0f - 1.0f);
    }
    return x;
}

/* the same problem with state fp32, bf16 and int8: close runs, and int8
   state's block scales and thread-count independence */
static void reduced_state(void)
{
    enum { N = 3000, STEPS = 50 };
    const char *specs[] = {"adamw(lr=0.01)", "adamw(lr=0.01, state=bf16)",
                           "adamw(lr=0.01, state=int8)"};
    float *runs[3];
    for (int r = 0; r < 3; r++) {
        float *p = fill(N, 1.0f, 1), *g = malloc(N * sizeof *g);
        rv_optim *o;
        CHECK_STATUS(rv_optim_create_spec(&o, specs[r]), RV_OK);
        CHECK_STATUS(rv_optim_add_param(o, 0, "w", p, g, N, NULL), RV_OK);
        for (int k = 0; k < STEPS; k++) {
            for (int i = 0; i < N; i++)
                g[i] = p[i] * (0.5f + (float)(i % 7) / 7.0f) + 0.01f * (float)((i * 31 + k) % 13 - 6);
            CHECK_STATUS(rv_optim_step(o), RV_OK);
        }
        rv_param_view v;
        CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
        CHECK(v.n_state == 2 && v.state_precision[0] == (rv_precision)r);
        CHECK((r == 0) == (v.state[0] != NULL) && v.state_data[0] != NULL);
        if (r == 2) {
            /* each block's scale is its largest magnitude, stored exactly */
            const uint8_t *codes = v.state_data[1];
            const float *scale = v.state_absmax[1];
            int top_exact = 1;
            for (size_t b = 0; b * RV_QUANT_BLOCK < N; b++) {
                int has_top = 0;
                for (size_t i = b * RV_QUANT_BLOCK; i < N && i < (b + 1) * RV_QUANT_BLOCK; i++)
                    has_top |= codes[i] == RV_QUANT_UNSIGNED_BIAS << 3;
                top_exact &= has_top && scale[b] > 0;
            }
            CHECK_MSG(top_exact, "every int8 block holds its largest value exactly");
        }
        rv_optim_free(o);
        free(g);
        runs[r] = p;
    }
    float *start = fill(N, 1.0f, 1);
    double moved = 0;
    for (int i = 0; i < N; i++)
        moved += fabs((double)runs[0][i] - start[i]) / N;
    free(start);
    for (int r = 1; r < 3; r++) {
        double off = 0;
        for (int i = 0; i < N; i++)
            off += fabs((double)runs[r][i] - runs[0][i]) / N;
        /* the state's rounding moves parameters far less than the steps do:
           measured 0.16% (bf16) and 2.9% (int8) of the mean movement */
        CHECK_MSG(off < (r == 1 ? 0.005 : 0.05) * moved && off > 0, "%s: mean |dp| %g of %g moved",
                  specs[r], off, moved);
        printf("%s: mean |p - p_fp32| = %.3g, %.2g%% of the mean movement %.3g\n", specs[r], off,
               100 * off / moved, moved);
    }
    for (int r = 0; r < 3; r++)
        free(runs[r]);

    /* int8 state: the same bits for 1 and 2 threads (blocks never straddle threads) */
    enum { BIG = (1 << 17) + 300 };
    float *out[2];
    for (int t = 0; t < 2; t++) {
        float *p = fill(BIG, 1.0f, 3), *g = fill(BIG, 0.1f, 4);
        rv_optim *o;
        CHECK_STATUS(rv_optim_create_spec(&o, "lion(lr=0.001, state=int8)"), RV_OK);
        CHECK_STATUS(rv_optim_set_threads(o, t + 1), RV_OK);
        CHECK_STATUS(rv_optim_add_param(o, 0, "a", p, g, 1000, NULL), RV_OK);
        CHECK_STATUS(rv_optim_add_param(o, 0, "b", p + 1000, g + 1000, BIG - 1000, NULL), RV_OK);
        for (int k = 0; k < 3; k++)
            CHECK_STATUS(rv_optim_step(o), RV_OK);
        rv_optim_free(o);
        free(g);
        out[t] = p;
    }
    CHECK(memcmp(out[0], out[1], BIG * sizeof(float)) == 0);
    free(out[0]);
    free(out[1]);
}

/* The stored state of a reduced-state step is exactly the float32 rule run
   on the decoded state, then encoded: for the loops that convert inside the
   update (adam, adamw) and the generic float32 chunks (the rest), every
   flag combination, two tensors (the second starting mid-buffer) and
   several blocks, one of them partial. */
static void encode_reference(rv_precision prec, int nonneg, const float *x, size_t n,
                             void *data, float *absmax)
{
    if (prec == RV_BF16) {
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)data)[i] = bf16_reference(x[i]);
        return;
    }
    for (size_t b = 0; b * RV_QUANT_BLOCK < n; b++) {
        size_t lo = b * RV_QUANT_BLOCK, hi = lo + RV_QUANT_BLOCK < n ? lo + RV_QUANT_BLOCK : n;
        float top = 0;
        int finite = 1;   /* (a block below the smallest normal float is stored as zeros) */
        for (size_t i = lo; i < hi; i++) {
            top = fabsf(x[i]) > top ? fabsf(x[i]) : top;
            finite &= isfinite(x[i]) != 0;
        }
        if (!finite) {   /* a block that cannot be scaled: scale NaN, codes 0 */
            absmax[b] = NAN;
            memset((uint8_t *)data + lo, 0, hi - lo);
            continue;
        }
        absmax[b] = top >= FLT_MIN ? top : 0.0f;
        for (size_t i = lo; i < hi; i++)
            ((uint8_t *)data)[i] =
                (uint8_t)rv_quant_encode(nonneg, x[i], top >= FLT_MIN ? 1.0f / top : 0.0f);
    }
}

static float decode_one(const rv_param_view *v, size_t j, int nonneg, size_t i)
{
    if (v->state_precision[j] == RV_BF16)
        return rv_bf16_to_f32(((const uint16_t *)v->state_data[j])[i]);
    return rv_quant_decode(nonneg, ((const uint8_t *)v->state_data[j])[i],
                           v->state_absmax[j][i / RV_QUANT_BLOCK]);
}

static void stored_state_is_rule_then_encode(void)
{
    /* each rule, and which of its buffers hold non-negative statistics */
    const char *rules[] = {"adamw(lr=0.01, weight_decay=0.1)",
                           "adam(lr=0.01, maximize=true, weight_decay=0.05)",
                           "adamw(lr=0.01, decay=after, weight_decay=0.1)",
                           "adam(lr=0.003)",
                           "rmsprop(lr=0.001, alpha=0.9, momentum=0.5)",
                           "sgd(lr=0.01, momentum=0.9, dampening=0.1)"};
    const unsigned nonneg_mask[] = {2, 2, 2, 2, 1, 0};
    const char *states[] = {"bf16", "int8"};
    enum { N1 = 1300, N2 = 700, STEPS = 4 };
    for (size_t r = 0; r < sizeof rules / sizeof *rules; r++)
        for (int st = 0; st < 2; st++) {
            char spec[160];
            snprintf(spec, sizeof spec, "%.*s, state=%s)", (int)strlen(rules[r]) - 1, rules[r],
                     states[st]);
            rv_precision prec = st ? RV_INT8 : RV_BF16;
            float *p = fill(N1 + N2, 1.0f, 11), *q = malloc((N1 + N2) * sizeof *q);
            float *g = fill(N1 + N2, 0.3f, 12);
            rv_optim *red, *ref;
            CHECK_STATUS(rv_optim_create_spec(&red, spec), RV_OK);
            CHECK_STATUS(rv_optim_create_spec(&ref, rules[r]), RV_OK);
            CHECK_STATUS(rv_optim_set_threads(red, 2), RV_OK);
            rv_optim *both[2] = {red, ref};
            for (int k = 0; k < 2; k++) {
                float *pp = k ? q : p;
                CHECK_STATUS(rv_optim_add_param(both[k], 0, "a", pp, g, N1, NULL), RV_OK);
                CHECK_STATUS(rv_optim_add_param(both[k], 0, "b", pp + N1, g + N1, N2, NULL), RV_OK);
                CHECK_STATUS(rv_optim_ensure_state(both[k]), RV_OK);
            }
            int same = 1;
            for (int step = 0; step < STEPS; step++) {
                memcpy(q, p, (N1 + N2) * sizeof *q);
                for (size_t t = 0; t < 2; t++) {
                    rv_param_view vr, vf;
                    CHECK_STATUS(rv_optim_param_view(red, t, &vr), RV_OK);
                    CHECK_STATUS(rv_optim_param_view(ref, t, &vf), RV_OK);
                    for (size_t j = 0; j < vr.n_state; j++)
                        for (size_t i = 0; i < vr.n; i++)
                            vf.state[j][i] = decode_one(&vr, j, nonneg_mask[r] >> j & 1, i);
                }
                for (size_t i = 0; i < N1 + N2; i++)
                    g[i] = 0.3f * sinf(0.7f * (float)i + (float)step) + 0.05f * p[i];
                if (step == STEPS - 1) {   /* non-finite values reach the state */
                    g[600] = NAN;
                    g[N1 + 300] = INFINITY;
                }
                CHECK_STATUS(rv_optim_step(red), RV_OK);
                CHECK_STATUS(rv_optim_step(ref), RV_OK);
                for (size_t i = 0; i < N1 + N2; i++)   /* equal, or both NaN */
                    same &= p[i] == q[i] || (p[i] != p[i] && q[i] != q[i]);
                for (size_t t = 0; t < 2; t++) {
                    rv_param_view vr, vf;
                    CHECK_STATUS(rv_optim_param_view(red, t, &vr), RV_OK);
                    CHECK_STATUS(rv_optim_param_view(ref, t, &vf), RV_OK);
                    for (size_t j = 0; j < vr.n_state; j++) {
                        size_t blocks = (vr.n + RV_QUANT_BLOCK - 1) / RV_QUANT_BLOCK;
                        size_t bytes = vr.n * (prec == RV_BF16 ? 2 : 1);
                        void *data = malloc(bytes);
                        float *absmax = malloc(blocks * sizeof *absmax);
                        encode_reference(prec, nonneg_mask[r] >> j & 1, vf.state[j], vr.n, data,
                                         absmax);
                        same &= memcmp(data, vr.state_data[j], bytes) == 0;
                        if (prec == RV_INT8)
                            same &= memcmp(absmax, vr.state_absmax[j], blocks * sizeof *absmax) == 0;
                        free(data);
                        free(absmax);
                    }
                }
            }
            CHECK_MSG(same, "%s: parameters and stored state = float32 rule on the decoded state, encoded",
                      spec);
            rv_optim_free(red);
            rv_optim_free(ref);
            free(p);
            free(q);
            free(g);
        }
}

/* bf16 parameters: the master is the float32 run, the parameter its rounding */
static void bf16_params(void)
{
    enum { N = 100 };
    float *p32 = fill(N, 1.0f, 9), g32[N];
    uint16_t p16[N], g16[N];
    for (int i = 0; i < N; i++) {
        p16[i] = rv_f32_to_bf16(p32[i]);
        p32[i] = rv_bf16_to_f32(p16[i]);
    }
    rv_optim *a, *b;
    CHECK_STATUS(rv_optim_create_spec(&a, "adam(lr=0.01)"), RV_OK);
    CHECK_STATUS(rv_optim_create_spec(&b, "adam(lr=0.01)"), RV_OK);
    CHECK_STATUS(rv_optim_add_param(a, 0, "w", p32, g32, N, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param_bf16(b, 0, "w", p16, g16, 1, (size_t[]){N}, NULL), RV_OK);
    CHECK_STATUS(rv_optim_set_buffers(b, 0, p32, g32), RV_ERR_ARG);
    int same = 1;
    for (int k = 0; k < 20; k++) {
        for (int i = 0; i < N; i++) {
            g16[i] = rv_f32_to_bf16(0.3f * (float)sin(i + k));
            g32[i] = rv_bf16_to_f32(g16[i]);
        }
        CHECK_STATUS(rv_optim_step(a), RV_OK);
        CHECK_STATUS(rv_optim_step(b), RV_OK);
        for (int i = 0; i < N; i++)
            same &= p16[i] == rv_f32_to_bf16(p32[i]);
    }
    CHECK_MSG(same, "bf16 parameters are not the float32 run rounded");
    rv_param_view v;
    CHECK_STATUS(rv_optim_param_view(b, 0, &v), RV_OK);
    CHECK(v.dtype == RV_BF16 && v.param == NULL && v.param_data == p16 && v.master != NULL);
    CHECK(memcmp(v.master, p32, N * sizeof(float)) == 0);
    /* clipping reads bf16 gradients widened and writes them back rounded */
    for (int i = 0; i < N; i++)
        g16[i] = rv_f32_to_bf16(i % 2 ? 3.0f : -4.0f);
    double norm = 0;
    CHECK_STATUS(rv_clip_grad_norm(b, 1.0, NULL, &norm), RV_OK);
    CHECK_NEAR(norm, sqrt(50.0 * 9 + 50.0 * 16), 1e-4);
    float coef = (float)(1.0 / ((float)norm + 1e-6));
    CHECK(g16[0] == rv_f32_to_bf16(-4.0f * coef) && g16[1] == rv_f32_to_bf16(3.0f * coef));
    CHECK_STATUS(rv_clip_grad_value(b, 0.01), RV_OK);
    CHECK(g16[0] == rv_f32_to_bf16(-0.01f) && g16[1] == rv_f32_to_bf16(0.01f));
    /* a non-finite bf16 gradient is found like a float32 one */
    CHECK_STATUS(rv_optim_set_nonfinite(b, RV_NONFINITE_ERROR), RV_OK);
    g16[7] = 0x7fc0;
    CHECK_STATUS(rv_optim_step(b), RV_ERR_NONFINITE_GRAD);
    CHECK(strstr(rv_errmsg(), "index 7") != NULL);
    rv_optim_free(a);
    rv_optim_free(b);
    free(p32);
}

static void errors(void)
{
    rv_optim *o;
    const rv_optim_type *t;
    rv_hparams h;
    CHECK_STATUS(rv_hparams_parse("muon(state=int8)", &t, &h), RV_ERR_SPEC_UNKNOWN_KEY);
    CHECK_STATUS(rv_hparams_parse("adam(state=int4)", &t, &h), RV_ERR_SPEC_RANGE);
    CHECK(strstr(rv_errmsg(), "fp32, bf16, int8") != NULL);
    h = rv_muon_defaults();
    h.state = RV_BF16;
    CHECK_STATUS(rv_hparams_validate(rv_muon, &h), RV_ERR_STATE_PRECISION);
    /* centered RMSprop's variance goes negative when its two averages are rounded apart */
    CHECK_STATUS(rv_hparams_parse("rmsprop(centered=true, state=bf16)", &t, &h),
                 RV_ERR_STATE_PRECISION);
    CHECK(strstr(rv_errmsg(), "centered=true needs state=fp32") != NULL);
    CHECK_STATUS(rv_hparams_parse("rmsprop(centered=true, state=int8)", &t, &h),
                 RV_ERR_STATE_PRECISION);
    CHECK_STATUS(rv_hparams_parse("rmsprop(centered=true, momentum=0.5, state=fp32)", &t, &h),
                 RV_OK);
    /* the stateless kernels take float32 state only */
    h = rv_adam_defaults();
    h.state = RV_INT8;
    float p[1] = {1}, g[1] = {1}, m[1] = {0}, v[1] = {0};
    float *bufs[2] = {m, v};
    CHECK_STATUS(rv_update(rv_adam, &h, 1, 1, p, g, bufs), RV_ERR_STATE_PRECISION);
    /* changing a group's state precision needs fresh state */
    CHECK_STATUS(rv_optim_create_spec(&o, "adam"), RV_OK);
    CHECK_STATUS(rv_optim_add_param(o, 0, "w", p, g, 1, NULL), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK_STATUS(rv_optim_group_set_hparams(o, 0, &h), RV_ERR_STATE_PRECISION);
    CHECK_STATUS(rv_optim_zero_state(o), RV_OK);
    CHECK_STATUS(rv_optim_group_set_hparams(o, 0, &h), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    rv_optim_free(o);
    /* canonical specs name state only below float32 */
    CHECK_STATUS(rv_hparams_parse("lion(state=bf16)", &t, &h), RV_OK);
    char buf[256];
    rv_hparams_format(t, &h, buf, sizeof buf);
    CHECK_STR(buf, "lion(lr=0.0001,betas=(0.9,0.99),weight_decay=0,state=bf16)");
}

int main(void)
{
    bf16_conversion();
    quant_maps();
    reduced_state();
    stored_state_is_rule_then_encode();
    bf16_params();
    errors();
    return check_summary("precision");
}
