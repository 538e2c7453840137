/* expr(f="..."): a formula in x and y, parsed by ravine and differentiated
   exactly by second-order forward-mode automatic differentiation (jet.h).

   Grammar (whitespace ignored; ^ and ** are the same, right-associative,
   and bind tighter than unary minus, so -x^2 = -(x^2) and 2^-1 = 0.5):

       sum     := product { ("+" | "-") product }
       product := unary { ("*" | "/") unary }
       unary   := ("-" | "+") unary | power
       power   := atom [ ("^" | "**") unary ]
       atom    := number | "x" | "y" | "pi" | "e" | func "(" sum ")" | "(" sum ")"
       func    := sin cos tan exp log sqrt tanh abs

   The formula compiles to a tape of nodes (children before parents) that
   one pass evaluates. Evaluation checks every operation at the point
   (log of a non-positive number, division by zero, a negative base with a
   non-integer power, overflow) and names the operation, its column and the
   point. abs uses sign(0) = 0 as its derivative at 0. */
#include "surface/kind.h"
#include "surface/jet.h"
#include "core/error.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPR_MAX_NODES 256
#define EXPR_MAX_DEPTH 200
#define EXPR_MAX_LENGTH 1000
#define EXPR_DEFAULT "0.5*(x^2+10*y^2)"

typedef enum op { OP_NUM, OP_X, OP_Y, OP_NEG, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_FUNC } op;
typedef enum fn { F_SIN, F_COS, F_TAN, F_EXP, F_LOG, F_SQRT, F_TANH, F_ABS, F_COUNT } fn;

static const char *const func_names[] = {"sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "abs",
                                         NULL};
static const char *const all_names[] = {"x",    "y",    "pi",  "e",   "sin", "cos",
                                        "tan",  "exp",  "log", "sqrt", "tanh", "abs", NULL};

typedef struct node {
    op op;
    fn fn;
    int a, b;       /* operand node indices */
    double num;
    int col;        /* 1-based column of the operator or atom, for messages */
    int constant;   /* no x or y below: derivatives are zero */
} node;

typedef struct program {
    node nodes[EXPR_MAX_NODES];
    int n;
    char *formula;
} program;

/* ---- parsing ------------------------------------------------------------ */

typedef struct parser {
    const char *src;
    const char *p;
    program *prog;
    int depth;
} parser;

static void skip(parser *ps)
{
    while (*ps->p && isspace((unsigned char)*ps->p))
        ps->p++;
}

static int column(const parser *ps, const char *at) { return (int)(at - ps->src) + 1; }

static rv_status syntax(parser *ps, const char *at, const char *what)
{
    return rv_fail(RV_ERR_EXPR, "expr '%s': %s at column %d", ps->src, what, column(ps, at));
}

static rv_status add_node(parser *ps, node nd, int *index)
{
    program *pr = ps->prog;
    if (pr->n >= EXPR_MAX_NODES)
        return rv_fail(RV_ERR_EXPR, "expr '%s': too long (more than %d terms)", ps->src,
                       EXPR_MAX_NODES);
    if (nd.op == OP_NUM)
        nd.constant = 1;
    else if (nd.op == OP_X || nd.op == OP_Y)
        nd.constant = 0;
    else if (nd.op == OP_NEG || nd.op == OP_FUNC)
        nd.constant = pr->nodes[nd.a].constant;
    else
        nd.constant = pr->nodes[nd.a].constant && pr->nodes[nd.b].constant;
    pr->nodes[pr->n] = nd;
    *index = pr->n++;
    return RV_OK;
}

static rv_status parse_sum(parser *ps, int *out);
static rv_status parse_unary(parser *ps, int *out);

static rv_status parse_number(parser *ps, int *out)
{
    const char *b = ps->p, *c = ps->p;
    while (isdigit((unsigned char)*c))
        c++;
    if (*c == '.')
        for (c++; isdigit((unsigned char)*c);)
            c++;
    if (c == b + 1 && *b == '.')
        return syntax(ps, b, "malformed number");
    if (*c == 'e' || *c == 'E') {
        const char *d = c + 1;
        if (*d == '+' || *d == '-')
            d++;
        if (isdigit((unsigned char)*d)) {
            while (isdigit((unsigned char)*d))
                d++;
            c = d;
        }
    }
    char buf[64];
    size_t len = (size_t)(c - b);
    if (len >= sizeof buf)
        return syntax(ps, b, "number too long");
    memcpy(buf, b, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return syntax(ps, b, "number out of range");
    ps->p = c;
    return add_node(ps, (node){.op = OP_NUM, .num = v, .col = column(ps, b)}, out);
}

static rv_status parse_atom(parser *ps, int *out)
{
    rv_status st;
    skip(ps);
    const char *at = ps->p;
    if (isdigit((unsigned char)*at) || *at == '.')
        return parse_number(ps, out);
    if (*at == '(') {
        ps->p++;
        if ((st = parse_sum(ps, out)))
            return st;
        skip(ps);
        if (*ps->p != ')')
            return syntax(ps, ps->p, *ps->p ? "expected ')'" : "expected ')', found the end");
        ps->p++;
        return RV_OK;
    }
    if (isalpha((unsigned char)*at) || *at == '_') {
        const char *c = at;
        while (isalnum((unsigned char)*c) || *c == '_')
            c++;
        char name[32];
        size_t len = (size_t)(c - at);
        snprintf(name, sizeof name, "%.*s", (int)(len < 31 ? len : 31), at);
        ps->p = c;
        int col = column(ps, at);
        if (len < 31) {
            if (!strcmp(name, "x"))
                return add_node(ps, (node){.op = OP_X, .col = col}, out);
            if (!strcmp(name, "y"))
                return add_node(ps, (node){.op = OP_Y, .col = col}, out);
            if (!strcmp(name, "pi"))
                return add_node(ps, (node){.op = OP_NUM, .num = 3.14159265358979323846, .col = col}, out);
            if (!strcmp(name, "e"))
                return add_node(ps, (node){.op = OP_NUM, .num = 2.71828182845904523536, .col = col}, out);
            for (int f = 0; f < F_COUNT; f++) {
                if (strcmp(name, func_names[f]))
                    continue;
                skip(ps);
                if (*ps->p != '(')
                    return syntax(ps, ps->p, "expected '(' after a function name");
                ps->p++;
                int arg;
                if ((st = parse_sum(ps, &arg)))
                    return st;
                skip(ps);
                if (*ps->p != ')')
                    return syntax(ps, ps->p, *ps->p ? "expected ')'" : "expected ')', found the end");
                ps->p++;
                return add_node(ps, (node){.op = OP_FUNC, .fn = (fn)f, .a = arg, .col = col}, out);
            }
        }
        const char *near = rv_closest_word(name, all_names);
        char what[128];
        if (near)
            snprintf(what, sizeof what, "unknown name '%s' (did you mean '%s'?)", name, near);
        else
            snprintf(what, sizeof what, "unknown name '%s' (known: x, y, pi, e, sin, cos, tan, "
                                        "exp, log, sqrt, tanh, abs)", name);
        return syntax(ps, at, what);
    }
    return syntax(ps, at, *at ? "expected a number, x, y, a function or '('"
                              : "expected a number, x, y, a function or '(', found the end");
}

static rv_status parse_power(parser *ps, int *out)
{
    rv_status st;
    int base;
    if ((st = parse_atom(ps, &base)))
        return st;
    skip(ps);
    const char *at = ps->p;
    if (*at == '^' || (at[0] == '*' && at[1] == '*')) {
        ps->p += *at == '^' ? 1 : 2;
        int exponent;
        if ((st = parse_unary(ps, &exponent)))
            return st;
        return add_node(ps, (node){.op = OP_POW, .a = base, .b = exponent, .col = column(ps, at)}, out);
    }
    *out = base;
    return RV_OK;
}

static rv_status parse_unary(parser *ps, int *out)
{
    rv_status st;
    skip(ps);
    const char *at = ps->p;
    if (++ps->depth > EXPR_MAX_DEPTH)
        return syntax(ps, at, "nested too deeply");
    if (*at == '-' || *at == '+') {
        ps->p++;
        int a;
        if ((st = parse_unary(ps, &a)))
            return st;
        ps->depth--;
        if (*at == '+') {
            *out = a;
            return RV_OK;
        }
        return add_node(ps, (node){.op = OP_NEG, .a = a, .col = column(ps, at)}, out);
    }
    st = parse_power(ps, out);
    ps->depth--;
    return st;
}

static rv_status parse_product(parser *ps, int *out)
{
    rv_status st;
    int left;
    if ((st = parse_unary(ps, &left)))
        return st;
    for (;;) {
        skip(ps);
        const char *at = ps->p;
        if (*at != '*' && *at != '/')
            break;
        ps->p++;
        int right;
        if ((st = parse_unary(ps, &right)))
            return st;
        if ((st = add_node(ps, (node){.op = *at == '*' ? OP_MUL : OP_DIV, .a = left, .b = right,
                                      .col = column(ps, at)}, &left)))
            return st;
    }
    *out = left;
    return RV_OK;
}

static rv_status parse_sum(parser *ps, int *out)
{
    rv_status st;
    int left;
    if (++ps->depth > EXPR_MAX_DEPTH)
        return syntax(ps, ps->p, "nested too deeply");
    if ((st = parse_product(ps, &left)))
        return st;
    for (;;) {
        skip(ps);
        const char *at = ps->p;
        if (*at != '+' && *at != '-')
            break;
        ps->p++;
        int right;
        if ((st = parse_product(ps, &right)))
            return st;
        if ((st = add_node(ps, (node){.op = *at == '+' ? OP_ADD : OP_SUB, .a = left, .b = right,
                                      .col = column(ps, at)}, &left)))
            return st;
    }
    ps->depth--;
    *out = left;
    return RV_OK;
}

/* ---- evaluation --------------------------------------------------------- */

typedef struct eval_ctx {
    const rv_surface *s;
    const program *pr;
    double x, y;
} eval_ctx;

static rv_status domain(const eval_ctx *c, const node *nd, const char *fmt, double v)
{
    char what[160];
    snprintf(what, sizeof what, fmt, v);
    return rv_fail(RV_ERR_SURFACE_DOMAIN, "%s at (%.9g, %.9g): %s (column %d of '%s')",
                   c->s->spec, c->x, c->y, what, nd->col, c->pr->formula);
}

static rv_status eval_func(const eval_ctx *c, const node *nd, rv_jet a, rv_jet *r)
{
    double v = a.v;
    switch (nd->fn) {
    case F_SIN: *r = rv_jet_chain(a, sin(v), cos(v), -sin(v)); break;
    case F_COS: *r = rv_jet_chain(a, cos(v), -sin(v), -cos(v)); break;
    case F_TAN: {
        double t = tan(v), sec2 = 1.0 + t * t;
        *r = rv_jet_chain(a, t, sec2, 2.0 * t * sec2);
        break;
    }
    case F_EXP: {
        double ev = exp(v);
        if (!isfinite(ev))
            return domain(c, nd, "exp(%.9g) overflows", v);
        *r = rv_jet_chain(a, ev, ev, ev);
        break;
    }
    case F_LOG:
        if (!(v > 0))
            return domain(c, nd, "log of %.9g: log needs a positive argument", v);
        *r = rv_jet_chain(a, log(v), 1.0 / v, -1.0 / (v * v));
        break;
    case F_SQRT:
        if (v < 0)
            return domain(c, nd, "sqrt of %.9g: sqrt needs a non-negative argument", v);
        if (v == 0 && !c->pr->nodes[nd->a].constant)
            return domain(c, nd, "sqrt at %.9g: not differentiable at 0", v);
        if (v == 0) {
            *r = rv_jet_const(0);
            break;
        }
        {
            double sq = sqrt(v);
            *r = rv_jet_chain(a, sq, 0.5 / sq, -0.25 / (sq * v));
        }
        break;
    case F_TANH: {
        double t = tanh(v), d1 = 1.0 - t * t;
        *r = rv_jet_chain(a, t, d1, -2.0 * t * d1);
        break;
    }
    case F_ABS: *r = rv_jet_chain(a, fabs(v), (v > 0) - (v < 0), 0.0); break;
    default: return rv_fail(RV_ERR_EXPR, "internal: unknown function");
    }
    return RV_OK;
}

static rv_status eval_pow(const eval_ctx *c, const node *nd, rv_jet a, rv_jet b, rv_jet *r)
{
    const program *pr = c->pr;
    if (!pr->nodes[nd->b].constant) {
        /* a^b = exp(b log a): needs a positive base */
        if (!(a.v > 0))
            return domain(c, nd, "base %.9g of '^' must be positive when the exponent depends on x or y",
                          a.v);
        rv_jet t = rv_jet_mul(b, rv_jet_chain(a, log(a.v), 1.0 / a.v, -1.0 / (a.v * a.v)));
        double ev = exp(t.v);
        *r = rv_jet_chain(t, ev, ev, ev);
        return RV_OK;
    }
    double n = b.v;
    if (pr->nodes[nd->a].constant) {
        *r = rv_jet_const(pow(a.v, n));
        if (a.v < 0 && n != floor(n))
            return domain(c, nd, "negative base %.9g with a non-integer power", a.v);
        if (a.v == 0 && n < 0)
            return domain(c, nd, "division by zero: %.9g to a negative power", a.v);
        return RV_OK;
    }
    if (n == 0) {
        *r = rv_jet_const(1.0);
        return RV_OK;
    }
    if (n == 1) {
        *r = a;
        return RV_OK;
    }
    if (n == floor(n)) {
        if (a.v == 0 && n < 0)
            return domain(c, nd, "division by zero: %.9g to a negative power", a.v);
    } else {
        if (a.v < 0)
            return domain(c, nd, "negative base %.9g with a non-integer power", a.v);
        if (a.v == 0 && n < 2)
            return domain(c, nd, "base %.9g: a power below 2 is not twice differentiable at 0", a.v);
    }
    *r = rv_jet_chain(a, pow(a.v, n), n * pow(a.v, n - 1), n * (n - 1) * pow(a.v, n - 2));
    return RV_OK;
}

static int jet_finite(const rv_jet *j)
{
    return isfinite(j->v) && isfinite(j->d[0]) && isfinite(j->d[1]) && isfinite(j->h[0]) &&
           isfinite(j->h[1]) && isfinite(j->h[2]);
}

static rv_status expr_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                           double H[4])
{
    const program *pr = s->data;
    eval_ctx c = {s, pr, x[0], x[1]};
    rv_jet v[EXPR_MAX_NODES];
    for (int i = 0; i < pr->n; i++) {
        const node *nd = &pr->nodes[i];
        rv_status st = RV_OK;
        switch (nd->op) {
        case OP_NUM: v[i] = rv_jet_const(nd->num); break;
        case OP_X: v[i] = rv_jet_var(0, x[0]); break;
        case OP_Y: v[i] = rv_jet_var(1, x[1]); break;
        case OP_NEG: v[i] = rv_jet_neg(v[nd->a]); break;
        case OP_ADD: v[i] = rv_jet_add(v[nd->a], v[nd->b]); break;
        case OP_SUB: v[i] = rv_jet_sub(v[nd->a], v[nd->b]); break;
        case OP_MUL: v[i] = rv_jet_mul(v[nd->a], v[nd->b]); break;
        case OP_DIV:
            if (v[nd->b].v == 0)
                return domain(&c, nd, "division by zero (the divisor is %.9g)", v[nd->b].v);
            v[i] = rv_jet_div(v[nd->a], v[nd->b]);
            break;
        case OP_POW: st = eval_pow(&c, nd, v[nd->a], v[nd->b], &v[i]); break;
        case OP_FUNC: st = eval_func(&c, nd, v[nd->a], &v[i]); break;
        }
        if (st)
            return st;
        if (!jet_finite(&v[i]))
            return domain(&c, nd, "the value or its derivatives overflow (value %.9g)", v[i].v);
    }
    const rv_jet *r = &v[pr->n - 1];
    *f = r->v;
    g[0] = r->d[0];
    g[1] = r->d[1];
    H[0] = r->h[0];
    H[1] = H[2] = r->h[1];
    H[3] = r->h[2];
    return RV_OK;
}

/* ---- the spec front end ------------------------------------------------- */

static char *copy_range(const char *b, const char *e)
{
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    char *s = malloc((size_t)(e - b) + 1);
    if (s) {
        memcpy(s, b, (size_t)(e - b));
        s[e - b] = '\0';
    }
    return s;
}

int rv_expr_spec_formula(const char *text, char **formula, rv_status *status)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "expr", 4) || isalnum((unsigned char)p[4]) || p[4] == '_' || p[4] == '.')
        return 0;
    const char *q = p + 4;
#define SKIP() while (isspace((unsigned char)*q)) q++
#define FAIL(code, ...) do { *status = rv_fail(code, __VA_ARGS__); return -1; } while (0)
    SKIP();
    const char *fb, *fe;
    if (!*q) {
        fb = EXPR_DEFAULT;
        fe = fb + strlen(fb);
    } else {
        if (*q != '(')
            FAIL(RV_ERR_SPEC_SYNTAX, "spec '%s': expected '(' after expr at column %d", text,
                 (int)(q - text) + 1);
        q++;
        SKIP();
        if (*q == ')') {
            fb = EXPR_DEFAULT;
            fe = fb + strlen(fb);
        } else {
            const char *kb = q;
            while (isalnum((unsigned char)*q) || *q == '_')
                q++;
            if (q == kb)
                FAIL(RV_ERR_SPEC_SYNTAX, "spec '%s': expected f=\"formula\" at column %d", text,
                     (int)(kb - text) + 1);
            if (q - kb != 1 || *kb != 'f')
                FAIL(RV_ERR_SPEC_UNKNOWN_KEY, "spec '%s': unknown key '%.*s' for expr (valid keys: f)",
                     text, (int)(q - kb), kb);
            SKIP();
            if (*q != '=')
                FAIL(RV_ERR_SPEC_SYNTAX, "spec '%s': expected '=' after a key at column %d", text,
                     (int)(q - text) + 1);
            q++;
            SKIP();
            if (*q == '"' || *q == '\'') {
                char quote = *q++;
                fb = q;
                while (*q && *q != quote)
                    q++;
                if (!*q)
                    FAIL(RV_ERR_SPEC_SYNTAX, "spec '%s': the formula's closing %c is missing", text,
                         quote);
                fe = q++;
            } else {
                /* unquoted: up to the ')' that closes expr( */
                int depth = 0;
                fb = q;
                for (; *q && !(*q == ')' && depth == 0); q++)
                    depth += (*q == '(') - (*q == ')');
                fe = q;
            }
            SKIP();
            if (*q != ')')
                FAIL(RV_ERR_SPEC_SYNTAX, "spec '%s': expected ')' at column %d", text,
                     (int)(q - text) + 1);
        }
        q++;
        SKIP();
        if (*q)
            FAIL(RV_ERR_SPEC_SYNTAX, "spec '%s': unexpected text after the spec at column %d",
                 text, (int)(q - text) + 1);
    }
#undef SKIP
#undef FAIL
    *formula = copy_range(fb, fe);
    if (!*formula) {
        *status = rv_fail(RV_ERR_NOMEM, "out of memory");
        return -1;
    }
    return 1;
}

static void expr_release(rv_surface *s)
{
    program *pr = s->data;
    if (pr)
        free(pr->formula);
    free(pr);
}

rv_status rv_expr_setup(rv_surface *s, const char *formula)
{
    size_t len = strlen(formula);
    if (!len)
        return rv_fail(RV_ERR_EXPR, "expr '': the formula is empty");
    if (len > EXPR_MAX_LENGTH)
        return rv_fail(RV_ERR_EXPR, "expr: the formula is longer than %d characters",
                       EXPR_MAX_LENGTH);
    program *pr = calloc(1, sizeof *pr);
    char *copy = malloc(len + 1);
    if (!pr || !copy) {
        free(pr), free(copy);
        return rv_fail(RV_ERR_NOMEM, "out of memory");
    }
    memcpy(copy, formula, len + 1);
    pr->formula = copy;
    parser ps = {copy, copy, pr, 0};
    int root;
    rv_status st = parse_sum(&ps, &root);
    if (!st) {
        skip(&ps);
        if (*ps.p)
            st = syntax(&ps, ps.p, "unexpected text (an operator is missing?)");
    }
    if (st) {
        free(copy);
        free(pr);
        return st;
    }
    s->data = pr;
    return RV_OK;
}

/* reached only through the normal spec path, which expr does not take */
static rv_status expr_setup(rv_surface *s, const rv_spec *spec)
{
    (void)s;
    return rv_fail(RV_ERR_EXPR, "spec '%s': expr needs f=\"formula\"", spec->text);
}

static void expr_window(const rv_surface *s, double lo[2], double hi[2])
{
    (void)s;
    lo[0] = lo[1] = -5;
    hi[0] = hi[1] = 5;
}

static void expr_start(const rv_surface *s, double x[2])
{
    (void)s;
    x[0] = -4;
    x[1] = 1;
}

static int expr_minimum(const rv_surface *s, double x[2], double *f)
{
    (void)s;
    (void)x;
    (void)f;
    return 0;
}

const rv_surface_kind rv_surface_expr = {
    "expr", NULL, 0, expr_setup, expr_release, expr_eval, expr_window, expr_start, expr_minimum};
