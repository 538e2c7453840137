/* Explanations come from the kernels: their parameters equal rv_update's bit
   for bit, and the seed's worked numbers appear in the text. */
#include "ravine/ravine.h"
#include "ravine/explain.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>

static const char *describe(rv_explainer *e)
{
    static char text[8192];
    size_t need = rv_explainer_describe(e, text, sizeof text);
    CHECK(need < sizeof text && need == strlen(text));
    return text;
}

#define HAS(text, piece) CHECK_MSG(strstr((text), (piece)) != NULL, "missing \"%s\" in:\n%s", (piece), (text))

/* every algorithm and its variants: K explained updates vs K rv_update calls */
static void bit_for_bit(void)
{
    static const char *const specs[] = {
        "sgd(lr=0.05)", "sgd(lr=0.05, momentum=0.9)",
        "sgd(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)",
        "sgd(lr=0.05, momentum=0.9, nesterov=true, maximize=true)", "polyak(lr=0.05)",
        "polyak(lr=0.05, weight_decay=0.1)", "adam(lr=0.1)", "adam(lr=0.1, weight_decay=0.1, amsgrad=true)",
        "adam(lr=0.1, maximize=true)", "adamw(lr=0.1)", "adamw(lr=0.1, decay=after)",
        "adamw(lr=0.1, amsgrad=true, weight_decay=0.3)", "rmsprop(lr=0.01)",
        "rmsprop(lr=0.01, momentum=0.9, centered=true, weight_decay=0.1)",
        "adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5)",
    };
    enum { N = 5, K = 7 };
    const float p0[N] = {0.8f, 1.5f, -2.0f, 3e-3f, 40.0f};
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        const rv_optim_type *type;
        rv_hparams h;
        CHECK_STATUS(rv_hparams_parse(specs[s], &type, &h), RV_OK);
        float p[N], st[4][N] = {{0}};
        memcpy(p, p0, sizeof p);
        float *state[4] = {st[0], st[1], st[2], st[3]};
        rv_state_init(type, &h, N, state);
        rv_explainer *e;
        CHECK_STATUS(rv_explainer_create(&e, specs[s], N, p0), RV_OK);
        int same = 1;
        for (long k = 1; k <= K; k++) {
            float g[N];
            for (int i = 0; i < N; i++)
                g[i] = (float)(sin(1.7 * (double)(k * N + i)) * (i + 1) * 3.0);
            CHECK_STATUS(rv_update(type, &h, k, N, p, g, state), RV_OK);
            const rv_explain_step *es;
            CHECK_STATUS(rv_explainer_step(e, g, &es), RV_OK);
            CHECK(es->t == k && es->n == N);
            const float *q = rv_explainer_params(e);
            for (int i = 0; i < N; i++) {
                same &= memcmp(&q[i], &p[i], sizeof(float)) == 0;
                same &= es->values[i].param_after == p[i];
                for (size_t j = 0; j < rv_state_count(type, &h); j++)
                    same &= es->values[i].state_after[j] == st[j][i];
            }
            CHECK(strlen(describe(e)) > 0);
        }
        CHECK_MSG(same, "%s: explained updates differ from rv_update", specs[s]);
        rv_explainer_free(e);
    }
}

/* seed 000's worked examples */
static void seed_numbers(void)
{
    rv_explainer *e;
    const rv_explain_step *st;
    /* SGD lr 0.05: w1 = 0.8 - 0.05*18 = -0.10, w2 = 1.5 - 0.05*0.22 = 1.489;
       torch.optim.SGD gives [-0.10000000149011612, 1.4889999628067017] */
    CHECK_STATUS(rv_explainer_create(&e, "sgd(lr=0.05)", 2, (float[]){0.8f, 1.5f}), RV_OK);
    CHECK_STATUS(rv_explainer_step(e, (float[]){18.0f, 0.22f}, &st), RV_OK);
    const char *t = describe(e);
    HAS(t, "  p   = p - lr*d = 1.5 - 0.05*0.22 = 1.489\n");
    /* one fused multiply-add, as torch's param.add_(g, alpha=-lr): 0.8f -
       18*0.05f rounds once, to float(-0.1) */
    HAS(t, "  p   = p - lr*d = 0.8 - 0.05*18 = -0.1\n");
    CHECK(st->values[0].param_after == -0.1f);
    CHECK(st->values[1].param_after == 1.489f);
    rv_explainer_free(e);

    /* momentum: velocity 0.9*0 + 0.1*18 = 1.8 (seed's Polyak form); 0.1 is
       0.100000001 in float32, so the product is 1.8000001 */
    CHECK_STATUS(rv_explainer_create(&e, "polyak(lr=0.05)", 1, (float[]){0.8f}), RV_OK);
    CHECK_STATUS(rv_explainer_step(e, (float[]){18.0f}, &st), RV_OK);
    HAS(describe(e), "  v = beta*v + (1-beta)*g = 0.9*0 + 0.1*18 = 1.8000001\n");
    CHECK_NEAR(st->values[0].buf, 1.8, 1e-6);
    rv_explainer_free(e);

    /* AdamW, w = [1, -1], g = [0.25, -0.5], lr 0.1: 0.8991 with the seed's decay
       after the step, 0.899 with torch's before it (the seed prints four
       digits). In float32 the denominator is sqrt(v)/sqrt(1-beta2) + eps =
       0.25000003, as torch computes it, so torch.optim.Adam moves p to
       0.9000000357627869 and torch.optim.AdamW to 0.8990000486373901. */
    CHECK_STATUS(rv_explainer_create(&e, "adamw(lr=0.1, decay=after)", 2, (float[]){1, -1}), RV_OK);
    CHECK_STATUS(rv_explainer_step(e, (float[]){0.25f, -0.5f}, &st), RV_OK);
    t = describe(e);
    HAS(t, "  bias corrections: 1-beta1^1 = 0.1, 1-beta2^1 = 0.001\n");
    HAS(t, "  m     = beta1*m + (1-beta1)*g   = 0.9*0 + 0.1*0.25 = 0.025\n");
    HAS(t, "  v     = beta2*v + (1-beta2)*g^2 = 0.999*0 + 0.001*(-0.5)^2 = 0.00025\n");
    HAS(t, "  m_hat = m/(1-beta1^1) = 0.025/0.1 = 0.25\n");
    HAS(t, "  v_hat = v/(1-beta2^1) = 6.25e-05/0.001 = 0.0625\n");
    HAS(t, "  denom = sqrt(v)/sqrt(1-beta2^1) + eps = 0.01581139/0.031622775 + 1e-08 = 0.50000006\n");
    HAS(t, "  step  = lr*m_hat/denom = 0.1*0.25/0.25000003 = 0.09999999\n");
    HAS(t, "  p     = p - step = 1 - 0.09999999 = 0.90000004\n");
    HAS(t, "  decay (after, seed 000): p = p - lr*weight_decay*p = 0.90000004 - 0.001*0.90000004 = "
           "0.89910007\n");
    HAS(t, "= -0.89910007\n");
    CHECK(st->values[0].param_after == 0.89910007f && st->values[1].param_after == -0.89910007f);
    CHECK(round(st->values[0].param_after * 1e4) == 8991);   /* the seed's printed 0.8991 */
    rv_explainer_free(e);
    CHECK_STATUS(rv_explainer_create(&e, "adamw(lr=0.1)", 2, (float[]){1, -1}), RV_OK);
    CHECK_STATUS(rv_explainer_step(e, (float[]){0.25f, -0.5f}, &st), RV_OK);
    t = describe(e);
    HAS(t, "  decay (before, torch): p = p*(1 - lr*weight_decay) = 1*0.999 = 0.999\n");
    HAS(t, "  p     = p - step = 0.999 - 0.09999999 = 0.89900005\n");
    CHECK(st->values[0].param_after == (float)0.8990000486373901);   /* torch.optim.AdamW */
    rv_explainer_free(e);
}

/* The newer element-wise rules: explained updates equal rv_optim_step's,
   schedule-free's param_eval equals the parameters after rv_optim_eval, and
   the step figures match their formulas. */
static void newer_rules(void)
{
    static const char *const specs[] = {
        "nadam(lr=0.05)", "nadam(lr=0.05, weight_decay=0.1, decoupled_weight_decay=true)",
        "radam(lr=0.05)", "adamax(lr=0.05, weight_decay=0.1)", "lion(lr=0.01, weight_decay=0.5)",
        "sfadamw(lr=0.1)", "sfadamw(lr=0.1, warmup_steps=3, weight_decay=0.1, r=1)",
    };
    enum { N = 3, K = 8 };
    const float p0[N] = {0.8f, -1.5f, 3e-3f};
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        rv_optim *opt;
        float p[N], g[N];
        memcpy(p, p0, sizeof p);
        CHECK_STATUS(rv_optim_create_spec(&opt, specs[s]), RV_OK);
        CHECK_STATUS(rv_optim_add_param(opt, 0, "w", p, g, N, NULL), RV_OK);
        rv_explainer *e;
        CHECK_STATUS(rv_explainer_create(&e, specs[s], N, p0), RV_OK);
        int same = 1, eval_same = 1;
        const rv_explain_step *es = NULL;
        for (long k = 1; k <= K; k++) {
            for (int i = 0; i < N; i++)
                g[i] = (float)(cos(0.9 * (double)(k * N + i)) * (i + 1));
            CHECK_STATUS(rv_optim_step(opt), RV_OK);
            CHECK_STATUS(rv_explainer_step(e, g, &es), RV_OK);
            for (int i = 0; i < N; i++)
                same &= es->values[i].param_after == p[i];
            CHECK(strlen(describe(e)) > 0);
            /* eval mode holds param_eval; back to training changes nothing else */
            CHECK_STATUS(rv_optim_eval(opt), RV_OK);
            for (int i = 0; i < N; i++)
                eval_same &= es->values[i].param_eval == p[i];
            CHECK_STATUS(rv_optim_train(opt), RV_OK);
            for (int i = 0; i < N; i++)
                p[i] = es->values[i].param_after;   /* train() need not restore y bit for bit */
        }
        CHECK_MSG(same, "%s: explained updates differ from rv_optim_step", specs[s]);
        CHECK_MSG(eval_same, "%s: param_eval differs from rv_optim_eval", specs[s]);
        if (!strncmp(specs[s], "nadam", 5)) {
            CHECK_NEAR(es->mu, 0.9 * (1 - 0.5 * pow(0.96, K * 0.004)), 1e-15);
            CHECK_NEAR(es->mu_next, 0.9 * (1 - 0.5 * pow(0.96, (K + 1) * 0.004)), 1e-15);
            float prod = 1;
            for (int t = 1; t <= K; t++)
                prod *= (float)(0.9 * (1 - 0.5 * pow(0.96, t * 0.004)));
            CHECK(es->mu_product == prod);
        } else if (!strncmp(specs[s], "radam", 5)) {
            double b2t = pow(0.999, K), rho = 1999 - 2.0 * K * b2t / (1 - b2t);
            CHECK_NEAR(es->rho, rho, 1e-9);
            CHECK_NEAR(es->rect, sqrt((rho - 4) * (rho - 2) * 1999 / (1995.0 * 1997.0 * rho)), 1e-7);
        } else if (!strcmp(specs[s], "sfadamw(lr=0.1)")) {
            CHECK_NEAR(es->avg_weight, 1.0 / K, 1e-8);   /* equal weights lr^2: a plain mean */
            CHECK(es->lr_max == 0.1);
            CHECK_NEAR(es->weight_sum, K * 0.01, 1e-15);
        } else if (!strncmp(specs[s], "sfadamw", 7)) {
            /* warmup: lr_t = 0.1 min(1, t/3); weights t^r lr_max^2 with r = 1 */
            double sum = 0, w = 0;
            for (int t = 1; t <= K; t++)
                sum += w = t * pow(0.1 * fmin(1.0, t / 3.0), 2);
            CHECK_NEAR(es->weight_sum, sum, 1e-12);
            CHECK_NEAR(es->avg_weight, w / sum, 1e-7);
        } else {
            CHECK(es->mu == 0 && es->rho == 0 && es->avg_weight == 0);
            for (int i = 0; i < N; i++)
                CHECK(es->values[i].param_eval == es->values[i].param_after);
        }
        rv_explainer_free(e);
        rv_optim_free(opt);
    }
}

static void errors(void)
{
    rv_explainer *e = (rv_explainer *)&e, *before = e;
    CHECK_STATUS(rv_explainer_create(&e, "adamw(lr=-1)", 1, (float[]){1}), RV_ERR_LR);
    CHECK_STR(rv_errmsg(), "spec 'adamw(lr=-1)': lr must be >= 0, got -1");
    CHECK_STATUS(rv_explainer_create(&e, "adan", 1, (float[]){1}), RV_ERR_SPEC_UNKNOWN_NAME);
    CHECK_STATUS(rv_explainer_create(&e, "adam", 0, (float[]){1}), RV_ERR_SIZE);
    CHECK_STATUS(rv_explainer_create(&e, "adam", 1, NULL), RV_ERR_NULL);
    /* explanations show float32 state; reduced precision is refused, not started from zeros */
    CHECK_STATUS(rv_explainer_create(&e, "nadam(state=bf16)", 1, (float[]){1}),
                 RV_ERR_STATE_PRECISION);
    CHECK(strstr(rv_errmsg(), "drop state=bf16") != NULL);
    CHECK_STATUS(rv_explainer_create(&e, "adagrad(state=int8)", 1, (float[]){1}),
                 RV_ERR_STATE_PRECISION);
    CHECK(e == before);
    CHECK_STATUS(rv_explainer_create(&e, "adam", 1, (float[]){1}), RV_OK);
    char buf[16] = "x";
    CHECK(rv_explainer_describe(e, buf, sizeof buf) == 0 && buf[0] == '\0');
    CHECK_STATUS(rv_explainer_step(e, NULL, NULL), RV_ERR_NULL);
    CHECK_STR(rv_explainer_spec(e), "adam(lr=0.001,betas=(0.9,0.999),eps=1e-08,weight_decay=0,"
                                    "amsgrad=false,maximize=false)");
    rv_explainer_free(e);
}

/* A schedule drives the explainer through rv_explainer_set_lr: each update
   equals rv_update with that lr, and a bad lr changes nothing. */
static void scheduled_lr(void)
{
    rv_explainer *e;
    float p[2] = {1.0f, -2.0f}, g[2] = {0.5f, 0.25f}, m[2] = {0}, v[2] = {0};
    float *state[] = {m, v};
    rv_hparams h = rv_adam_defaults();
    CHECK_STATUS(rv_explainer_create(&e, "adam", 2, p), RV_OK);
    for (long t = 1; t <= 3; t++) {
        h.lr = 0.1 / (double)t;
        CHECK_STATUS(rv_explainer_set_lr(e, h.lr), RV_OK);
        CHECK_STATUS(rv_update(rv_adam, &h, t, 2, p, g, state), RV_OK);
        const rv_explain_step *st;
        CHECK_STATUS(rv_explainer_step(e, g, &st), RV_OK);
        CHECK(st->lr == h.lr);
        CHECK(memcmp(rv_explainer_params(e), p, sizeof p) == 0);
    }
    CHECK_STATUS(rv_explainer_set_lr(e, -1), RV_ERR_LR);
    CHECK_STR(rv_errmsg(), "lr must be >= 0, got -1");
    CHECK_STATUS(rv_explainer_set_lr(NULL, 0.1), RV_ERR_NULL);
    const rv_explain_step *st;
    h.lr = 0.1 / 3.0;
    CHECK_STATUS(rv_update(rv_adam, &h, 4, 2, p, g, state), RV_OK);
    CHECK_STATUS(rv_explainer_step(e, g, &st), RV_OK);
    CHECK(st->lr == 0.1 / 3.0);
    CHECK(memcmp(rv_explainer_params(e), p, sizeof p) == 0);
    rv_explainer_free(e);
}

int main(void)
{
    scheduled_lr();
    bit_for_bit();
    seed_numbers();
    newer_rules();
    errors();
    return check_summary("test_explain");
}
