/* ravine/bind.h: the whole-optimizer calls language bindings use, against
   the per-tensor calls they stand for. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdint.h>

/* Two tensors in two groups; buffers swapped in at once, NULL grads skip. */
static void all_buffers(void)
{
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "sgd(lr=0.5)"), RV_OK);
    CHECK_STATUS(rv_optim_add_group_spec(o, "lr=0.25", NULL), RV_OK);
    float a[2] = {1, 1}, b[3] = {2, 2, 2};
    CHECK_STATUS(rv_optim_add_param(o, 0, "a", a, NULL, 2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param(o, 1, "b", b, NULL, 3, NULL), RV_OK);

    float a2[2] = {10, 20}, ga[2] = {1, 2}, gb[3] = {4, 4, 4};
    float *params[2] = {a2, b}, *grads[2] = {ga, gb};
    size_t bad = 99;
    CHECK_STATUS(rv_optim_set_all_buffers(o, 2, params, grads, &bad), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK(a2[0] == 9.5f && a2[1] == 19.0f);    /* p -= 0.5 g, in the new buffer */
    CHECK(a[0] == 1 && a[1] == 1);             /* the old buffer untouched */
    CHECK(b[0] == 1.0f && b[2] == 1.0f);       /* p -= 0.25 g */

    /* a NULL gradient leaves its tensor out of the step */
    grads[0] = NULL;
    CHECK_STATUS(rv_optim_set_all_buffers(o, 2, params, grads, &bad), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK(a2[0] == 9.5f && b[0] == 0.0f);
    long steps[2] = {-1, -1};
    CHECK_STATUS(rv_optim_param_steps(o, 2, steps), RV_OK);
    CHECK(steps[0] == 1 && steps[1] == 2);

    /* a misaligned pointer anywhere: nothing is set, bad names it */
    grads[0] = ga;
    float *odd = (float *)((uintptr_t)gb + 2);
    grads[1] = odd;
    CHECK_STATUS(rv_optim_set_all_buffers(o, 2, params, grads, &bad), RV_ERR_ALIGN);
    CHECK(bad == 1);
    CHECK(strstr(rv_errmsg(), "tensor 1 ('b'): grad pointer") != NULL);
    rv_param_view v;
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK(v.grad == NULL);                     /* tensor 0 kept its NULL grad */

    /* a NULL parameter is refused for a tensor with elements */
    params[0] = NULL;
    grads[1] = gb;
    CHECK_STATUS(rv_optim_set_all_buffers(o, 2, params, grads, &bad), RV_ERR_NULL);
    CHECK(bad == 0);
    /* the count must be the optimizer's */
    CHECK_STATUS(rv_optim_set_all_buffers(o, 1, params, grads, NULL), RV_ERR_SIZE);
    CHECK_STATUS(rv_optim_set_all_buffers(NULL, 0, NULL, NULL, NULL), RV_ERR_NULL);
    rv_optim_free(o);
}

/* Group options as spec text: set, read back canonically, refused whole. */
static void group_specs(void)
{
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "adamw"), RV_OK);
    CHECK_STATUS(rv_optim_add_group_spec(o, "weight_decay=0", NULL), RV_OK);
    CHECK_STATUS(rv_optim_group_set_spec(o, 1, "lr=0.003, betas=(0.8,0.95), amsgrad=true"), RV_OK);
    char buf[512];
    size_t need = rv_optim_group_spec(o, 1, buf, sizeof buf);
    CHECK_STR(buf, "adamw(lr=0.003,betas=(0.8,0.95),eps=1e-08,weight_decay=0,amsgrad=true,"
                   "maximize=false,decay=before)");
    CHECK(need == strlen(buf));
    char tiny[8];
    CHECK(rv_optim_group_spec(o, 1, tiny, sizeof tiny) == need && strlen(tiny) == 7);
    CHECK(rv_optim_group_spec(o, 2, buf, sizeof buf) == 0 && buf[0] == '\0');

    /* one bad value refuses the whole text */
    CHECK_STATUS(rv_optim_group_set_spec(o, 1, "lr=0.5, betas=(0.9,1.5)"), RV_ERR_BETA2);
    rv_hparams h;
    CHECK_STATUS(rv_optim_group_hparams(o, 1, &h), RV_OK);
    CHECK(h.lr == 0.003 && h.beta2 == 0.95);
    CHECK_STATUS(rv_optim_group_set_spec(o, 1, "wd=0"), RV_ERR_SPEC_UNKNOWN_KEY);
    CHECK_STATUS(rv_optim_group_set_spec(o, 5, "lr=1"), RV_ERR_INDEX);

    /* a change of the state buffers' count under existing state is refused */
    float p[2] = {1, 2}, g[2] = {1, 1};
    CHECK_STATUS(rv_optim_add_param(o, 1, "p", p, g, 2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK_STATUS(rv_optim_group_set_spec(o, 1, "amsgrad=false"), RV_ERR_ARG);
    rv_optim_free(o);
}

/* Per-tensor step, buffers and scalars, as rv_optim_param_view gives them. */
static void per_tensor(void)
{
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "nadam(lr=0.01)"), RV_OK);
    float p[6] = {1, 2, 3, 4, 5, 6}, g[6] = {1, -1, 1, -1, 1, -1};
    size_t shape[2] = {2, 3};
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "m", p, g, 2, shape, NULL), RV_OK);
    long step = -1;
    size_t n_state = 9, n_scalars = 9;
    CHECK_STATUS(rv_optim_param_info(o, 0, &step, &n_state, &n_scalars), RV_OK);
    CHECK(step == 0 && n_state == 2 && n_scalars == 1);
    float *buf = p;
    size_t len = 0;
    const char *name = NULL;
    CHECK_STATUS(rv_optim_param_state(o, 0, 1, &buf, &len, &name), RV_OK);
    CHECK(buf == NULL && len == 6);            /* not allocated before the first step */
    CHECK_STR(name, "exp_avg_sq");
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK_STATUS(rv_optim_param_info(o, 0, &step, NULL, NULL), RV_OK);
    CHECK(step == 2);
    rv_param_view v;
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK_STATUS(rv_optim_param_state(o, 0, 0, &buf, &len, &name), RV_OK);
    CHECK(buf == v.state[0] && len == 6 && buf[0] != 0.0f);
    CHECK_STR(name, "exp_avg");
    CHECK_STATUS(rv_optim_param_state(o, 0, 2, &buf, NULL, NULL), RV_ERR_INDEX);
    double mu = 0;
    CHECK_STATUS(rv_optim_param_scalar(o, 0, 0, &mu, &name), RV_OK);
    /* mu_t = beta1 (1 - 0.96^(t momentum_decay) / 2), multiplied in float32 as torch */
    float want = (float)(0.9 * (1.0 - 0.5 * pow(0.96, 0.004)));
    want = want * (float)(0.9 * (1.0 - 0.5 * pow(0.96, 0.008)));
    CHECK(mu == v.scalar[0]);
    CHECK_MSG(mu == (double)want, "mu_product %.9g, want %.9g", mu, (double)want);
    CHECK_STR(name, "mu_product");
    CHECK_STATUS(rv_optim_param_scalar(o, 0, 1, &mu, NULL), RV_ERR_INDEX);
    CHECK_STATUS(rv_optim_param_info(o, 1, NULL, NULL, NULL), RV_ERR_INDEX);
    long steps[2];
    CHECK_STATUS(rv_optim_param_steps(o, 2, steps), RV_ERR_INDEX);
    rv_optim_free(o);

    /* adafactor's factored buffers have their own lengths */
    CHECK_STATUS(rv_optim_create_spec(&o, "adafactor"), RV_OK);
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "f", p, g, 2, shape, NULL), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK_STATUS(rv_optim_param_state(o, 0, 0, &buf, &len, &name), RV_OK);
    CHECK(len == 2);
    CHECK_STR(name, "row_var");
    CHECK_STATUS(rv_optim_param_state(o, 0, 1, &buf, &len, &name), RV_OK);
    CHECK(len == 3);
    CHECK_STR(name, "col_var");
    rv_optim_free(o);
    CHECK(rv_checkpoint_info_size() == sizeof(rv_checkpoint_info));
}

/* bf16 tensors beside float32 ones: rv_optim_set_all_data checks each
   pointer against its tensor's dtype; the float32 call refuses them. */
static void all_data(void)
{
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "sgd(lr=0.5)"), RV_OK);
    float a[2] = {1, 1}, ga[2] = {1, 2};
    /* bf16 1.0 = 0x3f80, 2.0 = 0x4000; room for an odd-aligned copy */
    uint16_t b[4] = {0x3f80, 0x3f80, 0x3f80, 0x3f80}, gb[4] = {0x4000, 0x4000, 0x4000, 0x4000};
    size_t n2 = 2, shape3 = 3;
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "a", a, NULL, 1, &n2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param_bf16(o, 0, "b", b, NULL, 1, &shape3, NULL), RV_OK);
    rv_precision dtype = RV_INT8;
    float *master = a;
    CHECK_STATUS(rv_optim_param_dtype(o, 1, &dtype, &master), RV_OK);
    CHECK(dtype == RV_BF16 && master == NULL);     /* no master before state exists */
    CHECK_STATUS(rv_optim_param_dtype(o, 0, &dtype, &master), RV_OK);
    CHECK(dtype == RV_FP32 && master == NULL);

    /* the float32 call refuses the bf16 tensor and sets nothing */
    float *fp[2] = {a, (float *)(void *)b}, *fg[2] = {ga, (float *)(void *)gb};
    size_t bad = 99;
    CHECK_STATUS(rv_optim_set_all_buffers(o, 2, fp, fg, &bad), RV_ERR_ARG);
    CHECK(bad == 1 && strstr(rv_errmsg(), "tensor 1 ('b') is bf16") != NULL);
    rv_param_view v;
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK(v.grad == NULL);

    /* a bf16 pointer needs 2-byte alignment only: b + 1 is fine, a byte off is not */
    void *params[2] = {a, b + 1}, *grads[2] = {ga, gb + 1};
    CHECK_STATUS(rv_optim_set_all_data(o, 2, params, grads, &bad), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK(a[0] == 0.5f && a[1] == 0.0f);
    CHECK(b[0] == 0x3f80 && b[1] == 0 && b[3] == 0);  /* 1 - 0.5 * 2 = 0 in b[1..3] */
    CHECK_STATUS(rv_optim_param_dtype(o, 1, NULL, &master), RV_OK);
    CHECK(master != NULL && master[0] == 0.0f);
    params[1] = (char *)(void *)b + 1;
    grads[0] = NULL;
    CHECK_STATUS(rv_optim_set_all_data(o, 2, params, grads, &bad), RV_ERR_ALIGN);
    CHECK(bad == 1 && strstr(rv_errmsg(), "not aligned for bf16") != NULL);
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK(v.grad == ga);                           /* tensor 0 kept its gradient */
    params[0] = (char *)(void *)a + 2;             /* 2-byte aligned is not enough for float */
    params[1] = b;
    CHECK_STATUS(rv_optim_set_all_data(o, 2, params, grads, &bad), RV_ERR_ALIGN);
    CHECK(bad == 0 && strstr(rv_errmsg(), "not aligned for float") != NULL);
    CHECK_STATUS(rv_optim_set_all_data(o, 1, params, grads, &bad), RV_ERR_SIZE);
    CHECK_STATUS(rv_optim_set_all_data(o, 2, NULL, grads, &bad), RV_ERR_NULL);
    CHECK_STATUS(rv_optim_param_dtype(o, 2, &dtype, NULL), RV_ERR_INDEX);
    rv_optim_free(o);
}

/* Decode an int8 code of the documented maps (docs/optimizers.md): signed,
   a sign bit, 4 exponent and 3 fraction bits, bias 15; unsigned, 5 and 3,
   bias 31; exponent 0 is linear. Written from the description, apart from
   the library's bit arithmetic. */
static double decode(int nonnegative, unsigned code, double scale)
{
    int bias = nonnegative ? 31 : 15;
    unsigned mag = nonnegative ? code : code & 0x7f;
    int e = (int)(mag >> 3), m = (int)(mag & 7);
    double x = e ? (1 + m / 8.0) * ldexp(1, e - bias) : m / 8.0 * ldexp(1, 1 - bias);
    return (!nonnegative && (code & 0x80) ? -x : x) * scale;
}

/* State buffers as stored, and filled from float32 values through the
   library's conversions. */
static void stored_state(void)
{
    enum { N = 300 };   /* two int8 blocks: 256 values and 44 */
    static float p[N], g[N], m[N], v[N];
    for (int i = 0; i < N; i++) {
        p[i] = 1.0f;
        g[i] = 0.5f;
        m[i] = (float)((i % 7) - 3) * ldexpf(1.0f, -(i % 11));  /* signed, many magnitudes */
        v[i] = (float)(i % 5) * ldexpf(1.0f, -(i % 23));         /* >= 0, down to 2^-22 */
    }
    m[100] = -5.0f;       /* block 0's largest magnitude, negative */
    m[280] = 8.0f;        /* block 1's */
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "adam(state=int8)"), RV_OK);
    size_t shape = N;
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "w", p, g, 1, &shape, NULL), RV_OK);
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 0, m, N), RV_ERR_ARG);  /* no state yet */
    CHECK_STATUS(rv_optim_ensure_state(o), RV_OK);
    void *data = NULL;
    rv_precision prec = RV_FP32;
    size_t len = 0, n_scales = 0;
    float *scales = NULL;
    const char *name = NULL;
    CHECK_STATUS(rv_optim_param_state_stored(o, 0, 0, &data, &prec, &len, &scales, &n_scales,
                                             &name), RV_OK);
    CHECK(data != NULL && prec == RV_INT8 && len == N && scales != NULL && n_scales == 2);
    CHECK_STR(name, "exp_avg");
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 0, m, N), RV_OK);
    CHECK(scales[0] == 5.0f && scales[1] == 8.0f);  /* each block's largest magnitude, exact */
    const uint8_t *codes = data;
    CHECK(codes[100] == 0xf8 && codes[280] == 0x78); /* -1 and 1 of the signed map */
    int close = 1;
    for (int i = 0; i < N; i++) {
        double want = m[i], got = decode(0, codes[i], scales[i / 256]);
        double unit = ldexp(scales[i / 256], -14);   /* below it the grid is linear */
        close &= fabs(got - want) <= (fabs(want) >= unit ? 0.0625 * fabs(want) : unit / 16);
    }
    CHECK_MSG(close, "exp_avg stored as int8 decodes to within the map's spacing");

    /* second moments: the unsigned map, and no negative values */
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 1, v, N), RV_OK);
    CHECK_STATUS(rv_optim_param_state_stored(o, 0, 1, &data, &prec, &len, &scales, NULL, &name),
                 RV_OK);
    CHECK_STR(name, "exp_avg_sq");
    codes = data;
    CHECK(scales[0] == 4.0f && codes[69] == 0xf8);  /* v[69] = 4: the top code, 31 << 3 */
    close = 1;
    for (int i = 0; i < N; i++) {
        double got = decode(1, codes[i], scales[i / 256]), want = v[i];
        close &= fabs(got - want) <= 0.0625 * want + ldexp(scales[i / 256], -34);
    }
    CHECK_MSG(close, "exp_avg_sq stored as int8 decodes to within the map's spacing");
    uint8_t before[N];
    memcpy(before, codes, N);
    v[299] = -1e-3f;
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 1, v, N), RV_ERR_ARG);
    CHECK(strstr(rv_errmsg(), "value 299 is -0.001") != NULL);
    CHECK(memcmp(before, codes, N) == 0);            /* nothing stored */
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 1, v, N - 1), RV_ERR_SIZE);
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 2, v, N), RV_ERR_INDEX);
    CHECK_STATUS(rv_optim_param_state_stored(o, 0, 2, NULL, NULL, NULL, NULL, NULL, NULL),
                 RV_ERR_INDEX);
    rv_optim_free(o);

    /* bf16 state: rounded to nearest, ties to even */
    CHECK_STATUS(rv_optim_create_spec(&o, "sgd(momentum=0.9, state=bf16)"), RV_OK);
    float q[3] = {0}, gq[3] = {0};
    shape = 3;
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "q", q, gq, 1, &shape, NULL), RV_OK);
    CHECK_STATUS(rv_optim_ensure_state(o), RV_OK);
    /* 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7 (even: 1); 1 + 3 * 2^-8 halfway
       between 1 + 2^-7 and 1 + 2^-6 (even: the latter); a hair above 1 + 2^-8 rounds up */
    float buf[3] = {1.00390625f, 1.01171875f, 1.00390625f + 0x1p-20f};
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 0, buf, 3), RV_OK);
    CHECK_STATUS(rv_optim_param_state_stored(o, 0, 0, &data, &prec, &len, &scales, &n_scales,
                                             NULL), RV_OK);
    const uint16_t *h = data;
    CHECK(prec == RV_BF16 && scales == NULL && n_scales == 0);
    CHECK(h[0] == 0x3f80 && h[1] == 0x3f82 && h[2] == 0x3f81);
    rv_optim_free(o);

    /* float32 state: the values as given, and the next step starts from them */
    float p1[2] = {1, -2}, g1[2] = {0.5f, 0.25f}, p2[2] = {1, -2};
    float m0[2] = {0.1f, -0.2f}, v0[2] = {0.01f, 0.04f}, m2[2], v2[2];
    memcpy(m2, m0, sizeof m2);
    memcpy(v2, v0, sizeof v2);
    CHECK_STATUS(rv_optim_create_spec(&o, "adam(lr=0.1)"), RV_OK);
    CHECK_STATUS(rv_optim_add_param(o, 0, "p", p1, g1, 2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_ensure_state(o), RV_OK);
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 0, m0, 2), RV_OK);
    CHECK_STATUS(rv_optim_param_state_store(o, 0, 1, v0, 2), RV_OK);
    CHECK_STATUS(rv_optim_set_param_step(o, 0, 4), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    rv_hparams hp = rv_adam_defaults();
    hp.lr = 0.1;
    float *st[2] = {m2, v2};
    CHECK_STATUS(rv_update(rv_adam, &hp, 5, 2, p2, g1, st), RV_OK);
    CHECK(p1[0] == p2[0] && p1[1] == p2[1]);
    rv_optim_free(o);
}

int main(void)
{
    all_buffers();
    group_specs();
    per_tensor();
    all_data();
    stored_state();
    return check_summary("test_bind");
}
