/* Explanations of optimizer updates, from the kernels' traced form (the
   rv_optim_type update_traced hook), so the numbers shown are the numbers
   the real update computes. */
#include "ravine/explain.h"
#include "optim/type.h"
#include "core/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rv_explainer {
    const rv_optim_type *type;
    rv_hparams h;
    char spec[512];
    size_t n, n_state;
    float *params;
    float *state;              /* n_state buffers of n floats */
    double scalars[RV_MAX_SCALARS];
    rv_coeffs coeffs;          /* of the last update */
    rv_explain_value *values;
    rv_explain_step last;
    long t;
};

rv_status rv_explainer_create(rv_explainer **out, const char *optim_spec, size_t n,
                              const float *params)
{
    if (!out || !optim_spec || (n && !params))
        return rv_fail(RV_ERR_NULL, "rv_explainer_create: NULL argument");
    if (n == 0)
        return rv_fail(RV_ERR_SIZE, "rv_explainer_create: no parameters to explain");
    const rv_optim_type *type;
    rv_hparams h;
    rv_status st = rv_hparams_parse(optim_spec, &type, &h);
    if (st)
        return st;
    if (!type->update_traced)
        return rv_fail(RV_ERR_ARG,
                       "%s updates whole matrices (row and column statistics, matrix products): "
                       "explanations cover the element-wise optimizers",
                       type->name);
    if (h.state != RV_FP32)
        return rv_fail(RV_ERR_STATE_PRECISION,
                       "explanations show every float32 value of the state: drop state=%s",
                       h.state == RV_BF16 ? "bf16" : "int8");
    rv_explainer *e = calloc(1, sizeof *e);
    size_t k = rv_state_count(type, &h);
    if (e) {
        e->params = malloc(n * sizeof *e->params);
        e->state = calloc(k ? k * n : 1, sizeof *e->state);
        e->values = calloc(n, sizeof *e->values);
    }
    if (!e || !e->params || !e->state || !e->values) {
        rv_explainer_free(e);
        return rv_fail(RV_ERR_NOMEM, "out of memory explaining %zu parameters", n);
    }
    e->type = type;
    e->h = h;
    e->n = n;
    e->n_state = k;
    memcpy(e->params, params, n * sizeof *params);
    rv_state fresh;
    memset(&fresh, 0, sizeof fresh);
    for (size_t j = 0; j < k; j++)
        fresh.buf[j] = e->state + j * n;
    if ((st = rv_state_start(type, &h, n, e->params, &fresh))) {
        rv_explainer_free(e);
        return st;
    }
    memcpy(e->scalars, fresh.scalar, sizeof e->scalars);
    rv_hparams_format(type, &h, e->spec, sizeof e->spec);
    *out = e;
    return RV_OK;
}

rv_status rv_explainer_set_lr(rv_explainer *e, double lr)
{
    if (!e)
        return rv_fail(RV_ERR_NULL, "rv_explainer_set_lr: explainer is NULL");
    rv_status st = rv_check_min(RV_ERR_LR, "lr", lr, 0.0);
    if (!st)
        e->h.lr = lr;
    return st;
}

void rv_explainer_free(rv_explainer *e)
{
    if (!e)
        return;
    free(e->params);
    free(e->state);
    free(e->values);
    free(e);
}

const float *rv_explainer_params(const rv_explainer *e) { return e ? e->params : NULL; }
const char *rv_explainer_spec(const rv_explainer *e) { return e ? e->spec : ""; }

rv_status rv_explainer_step(rv_explainer *e, const float *grads, const rv_explain_step **out)
{
    if (!e || !grads)
        return rv_fail(RV_ERR_NULL, "rv_explainer_step: NULL argument");
    long t = e->t + 1;
    rv_coeffs c;
    e->type->prepare(&e->h, t, e->scalars, &c);
    e->coeffs = c;
    for (size_t i = 0; i < e->n; i++) {
        rv_explain_value *v = &e->values[i];
        memset(v, 0, sizeof *v);
        float *cells[RV_MAX_STATE] = {0};
        for (size_t j = 0; j < e->n_state; j++) {
            cells[j] = e->state + j * e->n + i;
            v->state_before[j] = *cells[j];
        }
        rv_trace tr = {0};
        e->type->update_traced(&c, &e->params[i], grads[i], cells, &tr);
        for (size_t j = 0; j < e->n_state; j++)
            v->state_after[j] = *cells[j];
        /* the parameter eval mode would hold, by the algorithm's own switch */
        v->param_eval = e->params[i];
        if (e->type->to_eval)
            e->type->to_eval(&e->h, 1, &v->param_eval, cells);
        v->grad = tr.grad;
        v->grad_used = tr.grad_used;
        v->buf = tr.buf;
        v->m = tr.m;
        v->v = tr.v;
        v->vmax = tr.vmax;
        v->denom = tr.denom;
        v->param_before = tr.param_before;
        v->param_decayed = tr.param_decayed;
        v->param_after = tr.param_after;
    }
    e->t = t;
    const char *name = e->type->name;
    int adam = !strcmp(name, "adam") || !strcmp(name, "adamw");
    e->last = (rv_explain_step){.t = t, .lr = e->h.lr, .bias1 = 1, .bias2 = 1,
                                .step_size = e->h.lr, .n = e->n, .values = e->values};
    if (adam) {
        e->last.bias1 = 1.0 - pow(e->h.beta1, (double)t);
        e->last.bias2 = 1.0 - pow(e->h.beta2, (double)t);
        e->last.step_size = e->h.lr / e->last.bias1;
    } else if (!strcmp(name, "adagrad")) {
        e->last.step_size = e->h.lr / (1.0 + (double)(t - 1) * e->h.lr_decay);
    } else if (!strcmp(name, "adamax")) {
        e->last.step_size = e->h.lr / (1.0 - pow(e->h.beta1, (double)t));
    } else if (!strcmp(name, "nadam")) {
        e->last.mu = rv_nadam_mu(&e->h, (double)t);
        e->last.mu_next = rv_nadam_mu(&e->h, (double)(t + 1));
        e->last.mu_product = e->scalars[0];
    } else if (!strcmp(name, "radam")) {
        e->last.rho = rv_radam_rho(&e->h, (double)t);
        e->last.rect = c.rectify ? c.rect : 0;
    } else if (!strcmp(name, "sfadamw")) {
        e->last.avg_weight = c.lerp_w;
        e->last.lr_max = e->scalars[0];
        e->last.weight_sum = e->scalars[1];
    }
    if (out)
        *out = &e->last;
    return RV_OK;
}

/* ---- text ---------------------------------------------------------------- */

typedef struct text {
    char *buf;
    size_t size, used;
} text;

static void put(text *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->used < o->size ? o->buf + o->used : NULL,
                      o->used < o->size ? o->size - o->used : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->used += (size_t)k;
}

/* shortest text that reads back to the same float32 */
typedef struct num {
    char s[32];
} num;

static num F(float v)
{
    num r;
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(r.s, sizeof r.s, "%.*g", prec, (double)v);
        if ((float)strtod(r.s, NULL) == v || v != v)
            break;
    }
    return r;
}

static num D(double v)
{
    num r;
    snprintf(r.s, sizeof r.s, "%.9g", v);
    return r;
}

/* as an operand: negative numbers in parentheses, so 0.001*(-0.5)^2 reads right */
static num paren(num a)
{
    if (a.s[0] != '-')
        return a;
    num r;
    size_t len = strlen(a.s);
    if (len > sizeof r.s - 3)
        len = sizeof r.s - 3;
    r.s[0] = '(';
    memcpy(r.s + 1, a.s, len);
    r.s[len + 1] = ')';
    r.s[len + 2] = '\0';
    return r;
}
static num FP(float v) { return paren(F(v)); }
static num DP(double v) { return paren(D(v)); }

/* the gradient as used: maximize and L2 weight decay */
static void describe_grad(text *o, const rv_hparams *h, const rv_explain_value *v, int has_wd,
                          const char *name)
{
    float g = h->maximize ? -v->grad : v->grad;
    if (h->maximize)
        put(o, "  maximize: g = -g = %s\n", F(g).s);
    if (has_wd)
        put(o, "  %s = g + weight_decay*p = %s + %s*%s = %s\n", name, F(g).s,
            DP(h->weight_decay).s, FP(v->param_before).s, F(v->grad_used).s);
}

/* Derived figures (m_hat, v_hat, the step) are shown rounded to float32,
   the precision the kernel works in; the kernel's own values are exact. */
static void describe_adam(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    const rv_explain_step *s = &e->last;
    int adamw = !strcmp(e->type->name, "adamw");
    describe_grad(o, h, v, !adamw && h->weight_decay != 0, "g");
    if (adamw && h->weight_decay != 0 && h->decay == RV_DECAY_BEFORE)
        put(o, "  decay (before, torch): p = p*(1 - lr*weight_decay) = %s*%s = %s\n",
            FP(v->param_before).s, D(1.0 - h->lr * h->weight_decay).s, F(v->param_decayed).s);
    float g = v->grad_used;
    put(o, "  m     = beta1*m + (1-beta1)*g   = %s*%s + %s*%s = %s\n", D(h->beta1).s,
        FP(v->state_before[0]).s, D(1 - h->beta1).s, FP(g).s, F(v->m).s);
    put(o, "  v     = beta2*v + (1-beta2)*g^2 = %s*%s + %s*%s^2 = %s\n", D(h->beta2).s,
        FP(v->state_before[1]).s, D(1 - h->beta2).s, FP(g).s, F(v->v).s);
    if (h->amsgrad)
        put(o, "  v_max = max(v_max, v) = max(%s, %s) = %s\n", F(v->state_before[2]).s, F(v->v).s,
            F(v->vmax).s);
    double m_hat = v->m / s->bias1, v_hat = v->vmax / s->bias2;
    put(o, "  m_hat = m/(1-beta1^%ld) = %s/%s = %s\n", s->t, F(v->m).s, D(s->bias1).s,
        F((float)m_hat).s);
    put(o, "  v_hat = %s/(1-beta2^%ld) = %s/%s = %s\n", h->amsgrad ? "v_max" : "v", s->t,
        F(v->vmax).s, D(s->bias2).s, F((float)v_hat).s);
    /* as torch computes it: the root of v divided by the root of the correction */
    put(o, "  denom = sqrt(%s)/sqrt(1-beta2^%ld) + eps = %s/%s + %s = %s\n", h->amsgrad ? "v_max" : "v",
        s->t, F(sqrtf(v->vmax)).s, F((float)sqrt(s->bias2)).s, D(h->eps).s, F(v->denom).s);
    double step = h->lr * m_hat / (double)v->denom;
    put(o, "  step  = lr*m_hat/denom = %s*%s/%s = %s\n", D(h->lr).s, FP((float)m_hat).s,
        F(v->denom).s, F((float)step).s);
    if (adamw && h->weight_decay != 0 && h->decay == RV_DECAY_AFTER) {
        float mid = (float)((double)v->param_decayed - step);
        put(o, "  p     = p - step = %s - %s = %s\n", F(v->param_decayed).s, FP((float)step).s,
            F(mid).s);
        put(o, "  decay (after, seed 000): p = p - lr*weight_decay*p = %s - %s*%s = %s\n",
            F(mid).s, D(h->lr * h->weight_decay).s, FP(mid).s, F(v->param_after).s);
    } else {
        put(o, "  p     = p - step = %s - %s = %s\n", F(v->param_decayed).s, FP((float)step).s,
            F(v->param_after).s);
    }
}

static void describe_sgd(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    describe_grad(o, h, v, h->weight_decay != 0, "d");
    float d = v->grad_used;
    if (!h->maximize && h->weight_decay == 0)
        put(o, "  d   = g = %s\n", F(d).s);
    if (h->momentum > 0) {
        if (e->last.t == 1)
            put(o, "  buf = d = %s   (first step: torch starts the buffer at d)\n", F(v->buf).s);
        else
            put(o, "  buf = momentum*buf + (1-dampening)*d = %s*%s + %s*%s = %s\n",
                D(h->momentum).s, FP(v->state_before[0]).s, D(1 - h->dampening).s, FP(d).s,
                F(v->buf).s);
        if (h->nesterov) {
            float dn = d + (float)h->momentum * v->buf;
            put(o, "  d   = d + momentum*buf = %s + %s*%s = %s   (nesterov)\n", F(d).s,
                D(h->momentum).s, FP(v->buf).s, F(dn).s);
            d = dn;
        } else {
            put(o, "  d   = buf = %s\n", F(v->buf).s);
            d = v->buf;
        }
    }
    put(o, "  p   = p - lr*d = %s - %s*%s = %s\n", F(v->param_before).s, D(h->lr).s, FP(d).s,
        F(v->param_after).s);
}

static void describe_polyak(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    if (h->weight_decay != 0)
        put(o, "  d = g + weight_decay*p = %s + %s*%s = %s\n", F(v->grad).s, DP(h->weight_decay).s,
            FP(v->param_before).s, F(v->grad_used).s);
    put(o, "  v = beta*v + (1-beta)*%s = %s*%s + %s*%s = %s\n", h->weight_decay != 0 ? "d" : "g",
        D(h->beta).s, FP(v->state_before[0]).s, D(1 - h->beta).s, FP(v->grad_used).s,
        F(v->buf).s);
    put(o, "  p = p - lr*v = %s - %s*%s = %s\n", F(v->param_before).s, D(h->lr).s, FP(v->buf).s,
        F(v->param_after).s);
}

static void describe_rmsprop(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    describe_grad(o, h, v, h->weight_decay != 0, "g");
    float g = v->grad_used;
    put(o, "  square_avg = alpha*square_avg + (1-alpha)*g^2 = %s*%s + %s*%s^2 = %s\n",
        D(h->alpha).s, FP(v->state_before[0]).s, D(1 - h->alpha).s, FP(g).s, F(v->v).s);
    if (h->centered) {
        put(o, "  grad_avg   = alpha*grad_avg + (1-alpha)*g = %s*%s + %s*%s = %s\n", D(h->alpha).s,
            FP(v->state_before[1]).s, D(1 - h->alpha).s, FP(g).s, F(v->m).s);
        put(o, "  avg        = sqrt(square_avg - grad_avg^2) + eps = %s\n", F(v->denom).s);
    } else {
        put(o, "  avg        = sqrt(square_avg) + eps = sqrt(%s) + %s = %s\n", F(v->v).s,
            D(h->eps).s, F(v->denom).s);
    }
    if (h->momentum > 0) {
        put(o, "  buf        = momentum*buf + g/avg = %s*%s + %s/%s = %s\n", D(h->momentum).s,
            FP(v->state_before[1 + (h->centered != 0)]).s, FP(g).s, F(v->denom).s, F(v->buf).s);
        put(o, "  p          = p - lr*buf = %s - %s*%s = %s\n", F(v->param_before).s, D(h->lr).s,
            FP(v->buf).s, F(v->param_after).s);
    } else {
        put(o, "  p          = p - lr*g/avg = %s - %s*%s/%s = %s\n", F(v->param_before).s,
            D(h->lr).s, FP(g).s, F(v->denom).s, F(v->param_after).s);
    }
}

static void describe_adagrad(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    describe_grad(o, h, v, h->weight_decay != 0, "g");
    float g = v->grad_used;
    put(o, "  sum = sum + g^2 = %s + %s^2 = %s\n", F(v->state_before[0]).s, FP(g).s, F(v->v).s);
    put(o, "  std = sqrt(sum) + eps = %s\n", F(v->denom).s);
    put(o, "  clr = lr/(1 + (t-1)*lr_decay) = %s\n", D(e->last.step_size).s);
    put(o, "  p   = p - clr*g/std = %s - %s*%s/%s = %s\n", F(v->param_before).s,
        D(e->last.step_size).s, FP(g).s, F(v->denom).s, F(v->param_after).s);
}

/* torch's lerp, written out: m + w*(g - m) */
static void describe_lerp(text *o, const char *name, float before, const char *target, float to,
                          double w, const char *wname, float after)
{
    put(o, "  %-5s = lerp(%s, %s, %s) = %s + %s*(%s - %s) = %s\n", name, name, target, wname,
        FP(before).s, D(w).s, FP(to).s, FP(before).s, F(after).s);
}

static void describe_decoupled(text *o, const rv_hparams *h, const rv_explain_value *v)
{
    put(o, "  decay: p = p*(1 - lr*weight_decay) = %s*%s = %s\n", FP(v->param_before).s,
        D(1.0 - h->lr * h->weight_decay).s, F(v->param_decayed).s);
}

static void describe_nadam(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    long t = e->last.t;
    int decoupled = h->decoupled_weight_decay && h->weight_decay != 0;
    if (decoupled)
        describe_decoupled(o, h, v);
    describe_grad(o, h, v, !decoupled && h->weight_decay != 0, "g");
    describe_lerp(o, "m", v->state_before[0], "g", v->grad_used, 1 - h->beta1, "1-beta1", v->m);
    put(o, "  v     = beta2*v + (1-beta2)*g^2 = %s*%s + %s*%s^2 = %s\n", D(h->beta2).s,
        FP(v->state_before[1]).s, D(1 - h->beta2).s, FP(v->grad_used).s, F(v->v).s);
    const rv_explain_step *s = &e->last;
    put(o, "  mu_t  = beta1*(1 - 0.5*0.96^(t*momentum_decay)) = %s, mu_t+1 = %s, "
        "mu_product = %s\n", D(s->mu).s, D(s->mu_next).s, D(s->mu_product).s);
    put(o, "  denom = sqrt(v/(1-beta2^%ld)) + eps = %s\n", t, F(v->denom).s);
    put(o, "  p     = p - lr*(1-mu_t)/(1-mu_product)*g/denom - lr*mu_t+1/(1-mu_product*mu_t+1)*m/denom"
        "\n        = %s + %s*%s/%s + %s*%s/%s = %s\n", F(v->param_decayed).s, F(e->coeffs.neg_lr).s,
        FP(v->grad_used).s, F(v->denom).s, F(e->coeffs.neg_lr2).s, FP(v->m).s, F(v->denom).s,
        F(v->param_after).s);
}

static void describe_radam(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    const rv_coeffs *c = &e->coeffs;
    long t = e->last.t;
    int decoupled = h->decoupled_weight_decay && h->weight_decay != 0;
    if (decoupled)
        describe_decoupled(o, h, v);
    describe_grad(o, h, v, !decoupled && h->weight_decay != 0, "g");
    describe_lerp(o, "m", v->state_before[0], "g", v->grad_used, 1 - h->beta1, "1-beta1", v->m);
    put(o, "  v     = beta2*v + (1-beta2)*g^2 = %s*%s + %s*%s^2 = %s\n", D(h->beta2).s,
        FP(v->state_before[1]).s, D(1 - h->beta2).s, FP(v->grad_used).s, F(v->v).s);
    put(o, "  rho_inf = 2/(1-beta2) - 1 = %s, rho_t = %s\n", D(2 / (1 - h->beta2) - 1).s,
        D(e->last.rho).s);
    if (c->rectify)
        put(o, "  rho_t > 5: p = p - lr*m/(1-beta1^%ld) * sqrt(1-beta2^%ld)/(sqrt(v)+eps) * r_t, "
            "r_t = %s, sqrt(v)+eps = %s\n", t, t, F(c->rect).s, F(v->denom).s);
    else
        put(o, "  rho_t <= 5 (variance not yet tractable): p = p - lr*m/(1-beta1^%ld)\n", t);
    put(o, "  p     = %s\n", F(v->param_after).s);
}

static void describe_adamax(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    describe_grad(o, h, v, h->weight_decay != 0, "g");
    describe_lerp(o, "m", v->state_before[0], "g", v->grad_used, 1 - h->beta1, "1-beta1", v->m);
    put(o, "  u     = max(beta2*u, |g| + eps) = max(%s*%s, %s) = %s\n", D(h->beta2).s,
        FP(v->state_before[1]).s, F(fabsf(v->grad_used) + (float)h->eps).s, F(v->vmax).s);
    put(o, "  p     = p - lr/(1-beta1^%ld)*m/u = %s - %s*%s/%s = %s\n", e->last.t,
        F(v->param_before).s, D(e->last.step_size).s, FP(v->m).s, F(v->vmax).s,
        F(v->param_after).s);
}

static void describe_lion(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    if (h->weight_decay != 0)
        describe_decoupled(o, h, v);
    put(o, "  c = beta1*m + (1-beta1)*g = %s*%s + %s*%s = %s\n", D(h->beta1).s,
        FP(v->state_before[0]).s, D(1 - h->beta1).s, FP(v->grad).s, F(v->buf).s);
    put(o, "  p = p - lr*sign(c) = %s - %s*%s = %s   (every element moves by lr)\n",
        F(v->param_decayed).s, D(h->lr).s, v->buf > 0 ? "1" : v->buf < 0 ? "(-1)" : "0",
        F(v->param_after).s);
    put(o, "  m = beta2*m + (1-beta2)*g = %s*%s + %s*%s = %s\n", D(h->beta2).s,
        FP(v->state_before[0]).s, D(1 - h->beta2).s, FP(v->grad).s, F(v->m).s);
}

static void describe_sfadamw(text *o, const rv_explainer *e, const rv_explain_value *v)
{
    const rv_hparams *h = &e->h;
    const rv_coeffs *c = &e->coeffs;
    put(o, "  v = beta2*v + (1-beta2)*g^2 = %s*%s + %s*%s^2 = %s\n", D(h->beta2).s,
        FP(v->state_before[1]).s, D(1 - h->beta2).s, FP(v->grad).s, F(v->v).s);
    put(o, "  n = g/(sqrt(v/(1-beta2^%ld)) + eps)%s = %s/%s%s = %s\n", e->last.t,
        h->weight_decay != 0 ? " + weight_decay*y" : "", FP(v->grad).s, F(v->denom).s,
        h->weight_decay != 0 ? " + wd*y" : "", F(v->grad_used).s);
    put(o, "  c = weight/weight_sum = %s   (this step's share of the average; lr_max = %s)\n",
        F(c->lerp_w).s, D(e->last.lr_max).s);
    put(o, "  y = lerp(y, z, c) + lr*(beta1*(1-c) - 1)*n = lerp(%s, %s, %s) + %s*%s = %s\n",
        FP(v->param_before).s, FP(v->state_before[0]).s, F(c->lerp_w).s, FP(c->y_coef).s,
        FP(v->grad_used).s, F(v->param_after).s);
    put(o, "  z = z - lr*n = %s - %s*%s = %s\n", F(v->state_before[0]).s, F(c->lr).s,
        FP(v->grad_used).s, F(v->m).s);
    put(o, "  x = lerp(y, z, 1 - 1/beta1) = %s   (the average: what eval mode evaluates)\n",
        F(v->param_eval).s);
}

size_t rv_explainer_describe(const rv_explainer *e, char *buf, size_t size)
{
    text o = {buf, buf ? size : 0, 0};
    if (buf && size)
        buf[0] = '\0';
    if (!e || e->t == 0)
        return 0;
    const rv_explain_step *s = &e->last;
    const char *name = e->type->name;
    put(&o, "update %ld of %s\n", s->t, e->spec);
    if (!strcmp(name, "adam") || !strcmp(name, "adamw"))
        put(&o, "  bias corrections: 1-beta1^%ld = %s, 1-beta2^%ld = %s\n", s->t, D(s->bias1).s,
            s->t, D(s->bias2).s);
    for (size_t i = 0; i < e->n; i++) {
        const rv_explain_value *v = &s->values[i];
        put(&o, "p%zu = %s, g = %s\n", i, F(v->param_before).s, F(v->grad).s);
        if (!strcmp(name, "adam") || !strcmp(name, "adamw"))
            describe_adam(&o, e, v);
        else if (!strcmp(name, "sgd"))
            describe_sgd(&o, e, v);
        else if (!strcmp(name, "polyak"))
            describe_polyak(&o, e, v);
        else if (!strcmp(name, "rmsprop"))
            describe_rmsprop(&o, e, v);
        else if (!strcmp(name, "adagrad"))
            describe_adagrad(&o, e, v);
        else if (!strcmp(name, "nadam"))
            describe_nadam(&o, e, v);
        else if (!strcmp(name, "radam"))
            describe_radam(&o, e, v);
        else if (!strcmp(name, "adamax"))
            describe_adamax(&o, e, v);
        else if (!strcmp(name, "lion"))
            describe_lion(&o, e, v);
        else if (!strcmp(name, "sfadamw"))
            describe_sfadamw(&o, e, v);
    }
    return o.used;
}
