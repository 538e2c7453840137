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

int main(void)
{
    all_buffers();
    group_specs();
    per_tensor();
    return check_summary("test_bind");
}
