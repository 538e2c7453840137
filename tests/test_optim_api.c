/* The stateful optimizer API: param groups, lazy state, counters, lr
   changes, and failures that change nothing. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdlib.h>

/* Param groups: group 1 has no weight decay, so with zero gradients only
   group 0's tensor moves (AdamW decays p by lr*wd per step). */
static void param_groups(void)
{
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "adamw(lr=0.1, weight_decay=0.5)"), RV_OK);
    size_t g1 = 99;
    CHECK_STATUS(rv_optim_add_group_spec(o, "weight_decay=0", &g1), RV_OK);
    CHECK(g1 == 1);
    CHECK(rv_optim_group_count(o) == 2);
    float w[3] = {1, 2, 3}, gw[3] = {0, 0, 0};
    float b[2] = {1, -1}, gb[2] = {0, 0};
    size_t iw = 9, ib = 9;
    CHECK_STATUS(rv_optim_add_param(o, 0, "w", w, gw, 3, &iw), RV_OK);
    CHECK_STATUS(rv_optim_add_param(o, g1, "b", b, gb, 2, &ib), RV_OK);
    CHECK(iw == 0 && ib == 1 && rv_optim_param_count(o) == 2 && rv_optim_numel(o) == 5);

    rv_param_view v;
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK(v.state[0] == NULL && v.n_state == 2); /* lazily allocated */

    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK(rv_optim_step_count(o) == 1);
    /* torch AdamW: p *= 1 - lr*wd = 0.95; the Adam step of a zero gradient is 0 */
    CHECK_NEAR(w[0], 0.95f, 0);
    CHECK_NEAR(w[2], 3 * 0.95f, 1e-7);
    CHECK(b[0] == 1 && b[1] == -1);
    CHECK_STATUS(rv_optim_param_view(o, 1, &v), RV_OK);
    CHECK(v.state[0] != NULL && v.state[1] != NULL && v.step == 1 && v.group == 1);
    CHECK_STR(v.name, "b");

    /* per-group lr */
    CHECK_STATUS(rv_optim_group_set_lr(o, 0, 0.2), RV_OK);
    rv_hparams h;
    CHECK_STATUS(rv_optim_group_hparams(o, 0, &h), RV_OK);
    CHECK(h.lr == 0.2 && h.weight_decay == 0.5);
    CHECK_STATUS(rv_optim_group_hparams(o, 1, &h), RV_OK);
    CHECK(h.lr == 0.1 && h.weight_decay == 0);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK_NEAR(w[0], 0.95f * 0.9f, 1e-7);

    /* all groups */
    CHECK_STATUS(rv_optim_set_lr(o, 0.01), RV_OK);
    CHECK_STATUS(rv_optim_group_hparams(o, 1, &h), RV_OK);
    CHECK(h.lr == 0.01);

    CHECK_STATUS(rv_optim_zero_state(o), RV_OK);
    CHECK(rv_optim_step_count(o) == 0);
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK(v.state[0] == NULL && v.step == 0);
    rv_optim_free(o);
}

/* Errors name the field and leave the optimizer, parameters and state as they were. */
static void failures_change_nothing(void)
{
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "sgd(lr=0.1, momentum=0.9)"), RV_OK);
    float p[2] = {1, 2}, g[2] = {0.5f, -0.5f};
    CHECK_STATUS(rv_optim_add_param(o, 0, "p", p, g, 2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    float p_after[2] = {p[0], p[1]};

    CHECK_STATUS(rv_optim_add_param(o, 5, "x", p, g, 2, NULL), RV_ERR_INDEX);
    CHECK_STR(rv_errmsg(), "param group 5 does not exist (1 groups)");
    CHECK_STATUS(rv_optim_add_param(o, 0, "x", NULL, g, 2, NULL), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "tensor 'x': param is NULL");
    CHECK_STATUS(rv_optim_add_param(o, 0, "y", (float *)((char *)p + 1), g, 1, NULL), RV_ERR_ALIGN);
    CHECK_STATUS(rv_optim_add_param(o, 0, "y", p, (float *)((char *)g + 2), 1, NULL), RV_ERR_ALIGN);
    CHECK_STATUS(rv_optim_set_buffers(o, 0, p, (float *)((char *)g + 1)), RV_ERR_ALIGN);
    CHECK(rv_optim_param_count(o) == 1);

    CHECK_STATUS(rv_optim_set_lr(o, -1), RV_ERR_LR);
    CHECK_STR(rv_errmsg(), "lr must be >= 0, got -1");
    CHECK_STATUS(rv_optim_set_lr(o, NAN), RV_ERR_LR);
    CHECK_STR(rv_errmsg(), "lr must be finite, got nan");
    CHECK_STATUS(rv_optim_group_set_lr(o, 3, 0.1), RV_ERR_INDEX);

    rv_hparams h = rv_sgd_defaults();
    h.momentum = 0; /* would need 0 state buffers, but the state has 1 */
    CHECK_STATUS(rv_optim_group_set_hparams(o, 0, &h), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "param group 0: the new hyperparameters need 0 state buffers, the "
                           "existing state has 1; call rv_optim_zero_state first");
    h.momentum = 0.9;
    h.eps = 0; /* not read by sgd: fine */
    h.dampening = -0.5;
    CHECK_STATUS(rv_optim_group_set_hparams(o, 0, &h), RV_ERR_DAMPENING);
    CHECK_STATUS(rv_optim_group_hparams(o, 0, &h), RV_OK);
    CHECK(h.lr == 0.1 && h.momentum == 0.9 && h.dampening == 0);

    CHECK_STATUS(rv_optim_set_threads(o, -1), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "threads must be in [0, 4096] (0 = all cores), got -1");
    CHECK_STATUS(rv_optim_set_nonfinite(o, (rv_nonfinite_policy)7), RV_ERR_ARG);
    CHECK_STATUS(rv_optim_param_view(o, 1, &(rv_param_view){0}), RV_ERR_INDEX);
    CHECK(p[0] == p_after[0] && p[1] == p_after[1]);
    CHECK(rv_optim_step_count(o) == 1);

    CHECK_STATUS(rv_optim_create(NULL, rv_adam, NULL), RV_ERR_NULL);
    rv_optim *none = NULL;
    CHECK_STATUS(rv_optim_create(&none, NULL, NULL), RV_ERR_NULL);
    rv_hparams bad = rv_adam_defaults();
    bad.beta2 = 1.0;
    CHECK_STATUS(rv_optim_create(&none, rv_adam, &bad), RV_ERR_BETA2);
    CHECK_STR(rv_errmsg(), "beta2 must be in [0, 1), got 1");
    CHECK(none == NULL);
    CHECK_STATUS(rv_optim_step(NULL), RV_ERR_NULL);
    rv_optim_free(NULL);
    rv_optim_free(o);
}

/* The stateless kernel validates before writing anything. */
static void stateless_validation(void)
{
    rv_hparams h = rv_adam_defaults();
    float p[2] = {1, 2}, g[2] = {1, 1}, m[2] = {0}, v[2] = {0};
    float *state[] = {m, v};
    h.eps = -1;
    CHECK_STATUS(rv_update(rv_adam, &h, 1, 2, p, g, state), RV_ERR_EPS);
    CHECK_STR(rv_errmsg(), "eps must be >= 0, got -1");
    h = rv_adam_defaults();
    CHECK_STATUS(rv_update(rv_adam, &h, 0, 2, p, g, state), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "step must be >= 1 (the 1-based index of this update), got 0");
    CHECK_STATUS(rv_update(rv_adam, &h, 1, 2, p, g, NULL), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "adam needs 2 state buffers, got state = NULL");
    float *half[] = {m, NULL};
    CHECK_STATUS(rv_update(rv_adam, &h, 1, 2, p, g, half), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "adam: state buffer 1 (exp_avg_sq) is NULL");
    h.amsgrad = 1;
    float *two[] = {m, v, NULL};
    CHECK_STATUS(rv_update(rv_adam, &h, 1, 2, p, g, two), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "adam: state buffer 2 (max_exp_avg_sq) is NULL");
    CHECK_STATUS(rv_update(rv_adam, &h, 1, 2, NULL, g, state), RV_ERR_NULL);
    CHECK(p[0] == 1 && p[1] == 2 && m[0] == 0 && v[1] == 0);
    /* n = 0 is a valid no-op */
    h.amsgrad = 0;
    CHECK_STATUS(rv_update(rv_adam, &h, 1, 0, NULL, NULL, NULL), RV_OK);

    /* adagrad state starts at initial_accumulator_value */
    rv_hparams a = rv_adagrad_defaults();
    a.initial_accumulator_value = 0.25;
    float sum[3];
    float *s1[] = {sum};
    CHECK_STATUS(rv_state_init(rv_adagrad, &a, 3, s1), RV_OK);
    CHECK(sum[0] == 0.25f && sum[2] == 0.25f);
    CHECK_STR(rv_state_name(rv_rmsprop, &(rv_hparams){.centered = 1, .momentum = 0.9}, 2),
              "momentum_buffer");
    CHECK(rv_state_count(rv_rmsprop, &(rv_hparams){.centered = 1, .momentum = 0.9}) == 3);
    CHECK(rv_state_count(rv_sgd, &(rv_hparams){.momentum = 0}) == 0);
}

/* rv_optim_step and rv_update compute the same bits for every algorithm. */
static void stateful_equals_stateless(void)
{
    static const char *const specs[] = {
        "sgd(lr=0.1)", "sgd(lr=0.1, momentum=0.9, nesterov=true, weight_decay=0.01)",
        "sgd(lr=0.1, momentum=0.8, dampening=0.3, maximize=true)", "polyak(lr=0.05, beta=0.8)",
        "adam(lr=0.01, amsgrad=true)", "adamw(lr=0.01, weight_decay=0.1, decay=after)",
        "rmsprop(lr=0.01, centered=true, momentum=0.5)", "adagrad(lr=0.1, lr_decay=0.01)",
    };
    enum { N = 37, STEPS = 5 };
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        const rv_optim_type *t;
        rv_hparams h;
        CHECK_STATUS(rv_hparams_parse(specs[s], &t, &h), RV_OK);
        rv_optim *o;
        CHECK_STATUS(rv_optim_create(&o, t, &h), RV_OK);
        float p1[N], p2[N], g[N], st[4][N];
        float *state[4] = {st[0], st[1], st[2], st[3]};
        for (int i = 0; i < N; i++)
            p1[i] = p2[i] = (float)((i * 7919 % 23) - 11) / 7.0f;
        CHECK_STATUS(rv_state_init(t, &h, N, state), RV_OK);
        CHECK_STATUS(rv_optim_add_param(o, 0, NULL, p2, g, N, NULL), RV_OK);
        for (long k = 1; k <= STEPS; k++) {
            for (int i = 0; i < N; i++)
                g[i] = (float)(((i + 3 * k) * 104729 % 31) - 15) / 10.0f;
            CHECK_STATUS(rv_update(t, &h, k, N, p1, g, state), RV_OK);
            CHECK_STATUS(rv_optim_step(o), RV_OK);
        }
        CHECK_MSG(memcmp(p1, p2, sizeof p1) == 0, "%s", specs[s]);
        rv_param_view v;
        CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
        for (size_t k = 0; k < v.n_state; k++)
            CHECK_MSG(memcmp(v.state[k], st[k], sizeof st[k]) == 0, "%s state %zu", specs[s], k);
        rv_optim_free(o);
    }
}

int main(void)
{
    param_groups();
    failures_change_nothing();
    stateless_validation();
    stateful_equals_stateless();
    return check_summary("optim_api");
}
