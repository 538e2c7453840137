/* The seeds' worked numbers, computed by ravine. */
#include "ravine/ravine.h"
#include "check.h"

/* Seed 000: SGD lr 0.05 on the delivery batch: w1 0.8 - 0.05*18 = -0.10, w2 1.5 - 0.05*0.22 = 1.489. */
static void sgd_delivery_batch(void)
{
    rv_hparams h = rv_sgd_defaults();
    h.lr = 0.05;
    float w[2] = {0.8f, 1.5f}, g[2] = {18.0f, 0.22f};
    CHECK_STATUS(rv_update(rv_sgd, &h, 1, 2, w, g, NULL), RV_OK);
    CHECK_NEAR(w[0], -0.10, 1e-6);
    CHECK_NEAR(w[1], 1.489, 1e-6);
}

/* Seed 000: Polyak velocity 0.9*0 + 0.1*18 = 1.8; four steps of g = 0.12 give
   0.12*(1 - 0.9^4) = 0.0412 (the seed rounds this to "already reaches 0.048"
   for its own loop; the EMA formula gives 0.041268). */
static void polyak_velocity(void)
{
    rv_hparams h = rv_polyak_defaults();
    h.lr = 0.05;
    float w[1] = {0.8f}, g[1] = {18.0f}, v[1] = {0.0f};
    float *state[] = {v};
    CHECK_STATUS(rv_update(rv_polyak, &h, 1, 1, w, g, state), RV_OK);
    CHECK_NEAR(v[0], 1.8, 1e-6);
    CHECK_NEAR(w[0], 0.8 - 0.05 * 1.8, 1e-6);

    float v2[1] = {0}, p2[1] = {0}, g2[1] = {0.12f};
    float *s2[] = {v2};
    for (long t = 1; t <= 4; t++)
        CHECK_STATUS(rv_update(rv_polyak, &h, t, 1, p2, g2, s2), RV_OK);
    CHECK_NEAR(v2[0], 0.12 * (1 - pow(0.9, 4)), 1e-7);
}

/* Seed 000: bias correction makes Adam's first step exactly lr*sign(g),
   whatever the gradient's size. */
static void adam_first_step(void)
{
    rv_hparams h = rv_adam_defaults();
    h.lr = 0.01;
    float p[4] = {0.8f, 1.5f, -2.0f, 3.0f};
    float g[4] = {18.0f, 0.22f, -1e-3f, -250.0f};
    float m[4] = {0}, v[4] = {0};
    float *state[] = {m, v};
    CHECK_STATUS(rv_update(rv_adam, &h, 1, 4, p, g, state), RV_OK);
    CHECK_NEAR(p[0], 0.8 - 0.01, 1e-6);
    CHECK_NEAR(p[1], 1.5 - 0.01, 1e-6);
    /* |g| = 1e-3 is only 1e5 times eps, so the step is lr*(1 - 1e-5) */
    CHECK_NEAR(p[2], -2.0 + 0.01, 1e-6);
    CHECK_NEAR(p[3], 3.0 + 0.01, 1e-6);
}

/* Seed 000's AdamW example: w = [1, -1], g = [0.25, -0.5], lr 0.1, wd 0.01. */
static void adamw_example(void)
{
    for (int order = 0; order < 2; order++) {
        rv_hparams h = rv_adamw_defaults();
        h.lr = 0.1;
        h.weight_decay = 0.01;
        h.decay = order ? RV_DECAY_AFTER : RV_DECAY_BEFORE;
        float w[2] = {1.0f, -1.0f}, g[2] = {0.25f, -0.5f}, m[2] = {0}, v[2] = {0};
        float *state[] = {m, v};
        CHECK_STATUS(rv_update(rv_adamw, &h, 1, 2, w, g, state), RV_OK);
        double want = order ? 0.8991 : 0.899;   /* seed: 0.9 - 0.001*0.9; torch: 0.999 - 0.1 */
        CHECK_NEAR(w[0], want, 1e-6);
        CHECK_NEAR(w[1], -want, 1e-6);
    }
}

int main(void)
{
    sgd_delivery_batch();
    polyak_velocity();
    adam_first_step();
    adamw_example();
    return check_summary("seed_numbers");
}
