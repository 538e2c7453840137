/* The optimizer API around tensors: shapes and the algorithms that need
   them, tensors left out of a step (grad NULL), per-tensor scalars,
   Schedule-Free's train/eval modes, state lengths that are not the tensor's
   (Adafactor), and hand-computed first steps of the newer algorithms. */
#include "ravine/ravine.h"
#include "check.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

static rv_optim *make(const char *spec)
{
    rv_optim *o = NULL;
    CHECK_STATUS(rv_optim_create_spec(&o, spec), RV_OK);
    return o;
}

/* muon needs a matrix, adafactor a shape; the message names the tensor */
static void shape_needs(void)
{
    float p[6] = {1, 2, 3, 4, 5, 6}, g[6] = {0};
    rv_optim *o = make("muon");
    CHECK_STATUS(rv_optim_add_param(o, 0, "w", p, g, 6, NULL), RV_ERR_SHAPE);
    CHECK(strstr(rv_errmsg(), "tensor 'w'") && strstr(rv_errmsg(), "muon"));
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "v", p, g, 1, (size_t[]){6}, NULL), RV_ERR_SHAPE);
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "w", p, g, 2, (size_t[]){2, 3}, NULL), RV_OK);
    /* the matrix products take int dimensions: larger ones are refused, not cut */
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "tall", p, g, 2, (size_t[]){(size_t)INT_MAX + 1, 1},
                                           NULL), RV_ERR_SHAPE);
    CHECK(strstr(rv_errmsg(), "tensor 'tall': dimension 0 is 2147483648") != NULL);
    CHECK(rv_optim_param_count(o) == 1);
    rv_optim_free(o);

    o = make("adafactor");
    CHECK_STATUS(rv_optim_add_param(o, 0, "b", p, g, 6, NULL), RV_ERR_SHAPE);
    CHECK(strstr(rv_errmsg(), "tensor 'b'") != NULL);
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "b", p, g, 1, (size_t[]){6}, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "w", p, g, 3, (size_t[]){1, 2, 3}, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "x", p, g, 2, (size_t[]){2, 2}, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "big", p, g, RV_MAX_DIMS + 1, (size_t[9]){1},
                                           NULL), RV_ERR_SHAPE);
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "huge", p, g, 2, (size_t[]){SIZE_MAX / 2, 3},
                                           NULL), RV_ERR_SIZE);
    /* an empty tensor whose other dimensions multiply past size_t */
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "empty", p, g, 3,
                                           (size_t[]){(size_t)1 << 33, 0, (size_t)1 << 33}, NULL),
                 RV_ERR_SIZE);
    CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "empty", p, g, 3, (size_t[]){1 << 16, 0, 1 << 16},
                                           NULL), RV_OK);
    CHECK_STATUS(rv_optim_ensure_state(o), RV_OK);
    rv_param_view v;
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK(v.n_state == 1 && !strcmp(v.state_name[0], "variance") && v.state_len[0] == 6);
    CHECK_STATUS(rv_optim_param_view(o, 1, &v), RV_OK);
    CHECK(v.n_state == 2 && !strcmp(v.state_name[0], "row_var") && v.state_len[0] == 2 &&
          !strcmp(v.state_name[1], "col_var") && v.state_len[1] == 3 && v.ndim == 3);
    rv_optim_free(o);

    /* the stateless kernels are for element-wise algorithms */
    rv_hparams h = rv_muon_defaults();
    float *bufs[1] = {g};
    CHECK_STATUS(rv_update(rv_muon, &h, 1, 6, p, g, bufs), RV_ERR_SHAPE);
    CHECK(rv_optim_type_elementwise(rv_adamw) && !rv_optim_type_elementwise(rv_adafactor));
    CHECK(rv_state_floats(rv_adafactor, &(rv_hparams){0}, 0, 2, (size_t[]){768, 3072}) == 3840);
    h = rv_adam_defaults();
    CHECK(rv_state_floats(rv_adam, &h, 10, 0, NULL) == 20);
}

/* nadam keeps mu_product: rv_update (no scalars) refuses it, rv_update_state works */
static void scalars(void)
{
    rv_hparams h = rv_nadam_defaults();
    float p[2] = {1, -1}, g[2] = {0.25f, -0.5f}, m[2] = {0}, v[2] = {0};
    float *bufs[2] = {m, v};
    CHECK_STATUS(rv_update(rv_nadam, &h, 1, 2, p, g, bufs), RV_ERR_ARG);
    CHECK(strstr(rv_errmsg(), "mu_product") != NULL);
    CHECK(rv_scalar_count(rv_nadam, &h) == 1 && !strcmp(rv_scalar_name(rv_nadam, &h, 0), "mu_product"));
    rv_state st;
    memset(&st, 0, sizeof st);
    st.buf[0] = m;
    st.buf[1] = v;
    CHECK_STATUS(rv_state_start(rv_nadam, &h, 2, p, &st), RV_OK);
    CHECK(st.scalar[0] == 1.0);
    CHECK_STATUS(rv_update_state(rv_nadam, &h, 1, 2, p, g, &st), RV_OK);
    /* mu_1 = 0.9*(1 - 0.5*0.96^0.004), rounded to float as torch's tensor holds it */
    float mu1 = (float)(0.9 * (1 - 0.5 * pow(0.96, 0.004)));
    CHECK(st.scalar[0] == (double)(1.0f * mu1));
}

/* hand-computed first steps */
static void first_steps(void)
{
    /* lion: c = (1-b1)*g, p -= lr*sign(c): every element moves by exactly lr */
    float p[3] = {1, -1, 0.5f}, g[3] = {0.25f, -2, 0}, m[3] = {0};
    rv_hparams h = rv_lion_defaults();
    h.lr = 0.125;
    float *bufs[1] = {m};
    CHECK_STATUS(rv_update(rv_lion, &h, 1, 3, p, g, bufs), RV_OK);
    CHECK(p[0] == 0.875f && p[1] == -0.875f && p[2] == 0.5f);
    CHECK(m[0] == 0.01f * 0.25f && m[2] == 0.0f);

    /* radam: rho_1 = 1 <= 5, so the first step is lr * m/(1-beta1) = lr*g exactly */
    float q[2] = {1, -1}, gq[2] = {0.5f, -0.25f}, mq[2] = {0}, vq[2] = {0};
    float *b2[2] = {mq, vq};
    h = rv_radam_defaults();
    h.lr = 0.1;
    CHECK_STATUS(rv_update(rv_radam, &h, 1, 2, q, gq, b2), RV_OK);
    CHECK_NEAR(q[0], 0.95, 1e-7);
    CHECK_NEAR(q[1], -0.975, 1e-7);

    /* adamax: u = |g| + eps, m = 0.1 g, p -= lr/0.1 * m/u = lr * sign(g) (up to eps) */
    float r[1] = {2}, gr[1] = {-4}, mr[1] = {0}, ur[1] = {0};
    float *b3[2] = {mr, ur};
    h = rv_adamax_defaults();
    h.lr = 0.5;
    CHECK_STATUS(rv_update(rv_adamax, &h, 1, 1, r, gr, b3), RV_OK);
    CHECK_NEAR(r[0], 2.5, 1e-6);
}

/* schedule-free: z starts at p; x = lerp(y, z, 1 - 1/beta1) in eval mode;
   train mode gives y back; stepping in eval mode is refused */
static void schedule_free_modes(void)
{
    float p[2] = {1, -1}, g[2] = {0.25f, -0.5f};
    rv_optim *o = make("sfadamw(lr=0.1)");
    CHECK_STATUS(rv_optim_add_param(o, 0, "w", p, g, 2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_eval(o), RV_OK);   /* no state yet: nothing moves */
    CHECK(p[0] == 1 && p[1] == -1 && !rv_optim_is_training(o));
    CHECK_STATUS(rv_optim_step(o), RV_ERR_MODE);
    CHECK_STATUS(rv_optim_train(o), RV_OK);
    for (int k = 0; k < 3; k++)
        CHECK_STATUS(rv_optim_step(o), RV_OK);
    float y[2] = {p[0], p[1]};
    rv_param_view v;
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK(!strcmp(v.state_name[0], "z") && v.n_scalars == 2 && v.scalar[0] == 0.1);
    float z0 = v.state[0][0];
    CHECK_STATUS(rv_optim_eval(o), RV_OK);
    float w = (float)(1.0 - 1.0 / 0.9);
    CHECK(p[0] == y[0] + w * (z0 - y[0]));
    CHECK_STATUS(rv_optim_eval(o), RV_OK);   /* twice: still x */
    CHECK(p[0] == y[0] + w * (z0 - y[0]));
    CHECK_STATUS(rv_optim_train(o), RV_OK);
    CHECK_NEAR(p[0], y[0], 1e-6);
    CHECK_NEAR(p[1], y[1], 1e-6);
    rv_optim_free(o);
    /* an algorithm with one point: eval is a no-op, stepping goes on */
    o = make("adam(lr=0.1)");
    CHECK_STATUS(rv_optim_add_param(o, 0, "w", p, g, 2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    float before = p[0];
    CHECK_STATUS(rv_optim_eval(o), RV_OK);
    CHECK(rv_optim_is_training(o) && p[0] == before);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK(p[0] != before);
    rv_optim_free(o);
}

/* a tensor whose grad is NULL is left out: no state, no step count, no change */
static void skipped_tensors(void)
{
    float a[2] = {1, 2}, ga[2] = {0.5f, 0.5f}, b[2] = {3, 4}, gb[2] = {1, 1};
    rv_optim *o = make("adam(lr=0.1)");
    CHECK_STATUS(rv_optim_add_param(o, 0, "a", a, ga, 2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param(o, 0, "b", b, NULL, 2, NULL), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    rv_param_view v;
    CHECK_STATUS(rv_optim_param_view(o, 1, &v), RV_OK);
    CHECK(v.step == 0 && v.state[0] == NULL && b[0] == 3 && b[1] == 4);
    CHECK(a[0] != 1);
    CHECK_STATUS(rv_optim_set_buffers(o, 1, b, gb), RV_OK);
    CHECK_STATUS(rv_optim_set_buffers(o, 0, a, NULL), RV_OK);
    float a1 = a[0];
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    CHECK_STATUS(rv_optim_param_view(o, 1, &v), RV_OK);
    CHECK(v.step == 1 && v.state[0] != NULL);
    CHECK_NEAR(b[0], 2.9, 1e-6);   /* adam's first step: lr * sign(g) */
    CHECK(a[0] == a1);
    CHECK_STATUS(rv_optim_param_view(o, 0, &v), RV_OK);
    CHECK(v.step == 1);
    rv_optim_free(o);
}

/* whole-tensor algorithms give the same bits on 1 and 2 threads */
static void threads_do_not_matter(void)
{
    const char *specs[] = {"muon(lr=0.02)", "adafactor(weight_decay=0.1)"};
    enum { R = 24, C = 40, N = R * C };
    for (int s = 0; s < 2; s++) {
        float *runs[2];
        for (int t = 0; t < 2; t++) {
            float *p = malloc(N * sizeof *p), *g = malloc(N * sizeof *g);
            for (int i = 0; i < N; i++)
                p[i] = (float)sin(i * 0.37);
            rv_optim *o = make(specs[s]);
            CHECK_STATUS(rv_optim_set_threads(o, t + 1), RV_OK);
            CHECK_STATUS(rv_optim_add_param_shaped(o, 0, "w", p, g, 2, (size_t[]){R, C}, NULL),
                         RV_OK);
            for (int k = 0; k < 5; k++) {
                for (int i = 0; i < N; i++)
                    g[i] = (float)cos(i * 0.11 + k) * p[i];
                CHECK_STATUS(rv_optim_step(o), RV_OK);
            }
            rv_optim_free(o);
            free(g);
            runs[t] = p;
        }
        CHECK_MSG(memcmp(runs[0], runs[1], N * sizeof(float)) == 0, "%s differs by thread count",
                  specs[s]);
        free(runs[0]);
        free(runs[1]);
    }
}

/* torch accepts Adagrad's eps = 0; misaligned float pointers are refused */
static void edges(void)
{
    const rv_optim_type *t;
    rv_hparams h;
    CHECK_STATUS(rv_hparams_parse("adagrad(lr=0.5, eps=0)", &t, &h), RV_OK);
    float p[2] = {1, 1}, g[2] = {4, -0.25f}, sum[2] = {0, 0};
    float *bufs[1] = {sum};
    CHECK_STATUS(rv_update(t, &h, 1, 2, p, g, bufs), RV_OK);
    CHECK(p[0] == 0.5f && p[1] == 1.5f);   /* p - lr*g/sqrt(g^2) = p -/+ lr */
    CHECK_STATUS(rv_hparams_parse("adagrad(eps=-1e-10)", &t, &h), RV_ERR_EPS);

    float buf[8] = {0};
    float *odd = (float *)(void *)((char *)buf + 2);
    rv_hparams a = rv_adam_defaults();
    float *two[2] = {buf + 4, buf + 6};
    CHECK_STATUS(rv_update(rv_adam, &a, 1, 1, odd, buf, two), RV_ERR_ALIGN);
    CHECK_STATUS(rv_update(rv_adam, &a, 1, 1, buf, odd, two), RV_ERR_ALIGN);
    float *bad[2] = {odd, buf + 6};
    CHECK_STATUS(rv_update(rv_adam, &a, 1, 1, buf, buf + 1, bad), RV_ERR_ALIGN);
    CHECK(buf[0] == 0 && buf[4] == 0);
}

int main(void)
{
    edges();
    shape_needs();
    scalars();
    first_steps();
    schedule_free_modes();
    skipped_tensors();
    threads_do_not_matter();
    return check_summary("optim_tensors");
}
