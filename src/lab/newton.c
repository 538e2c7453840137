/* The lab's reference method: damped Newton, x -= lr * (H + D I)^-1 g,
   in double precision. Exact on quadratics in one step (lr = 1, D = 0);
   attracted to saddles and maxima elsewhere, which is why it is a reference
   and not an optimizer of the library. */
#include "lab/method.h"
#include "spec/bind.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

int lab_newton_parse(const char *text, lab_newton *m, rv_status *st)
{
    rv_spec spec;
    *st = RV_OK;
    /* only a spec named newton is ours; anything else (errors too) goes to the optimizers */
    if (rv_spec_parse(text, &spec))
        return 0;
    if (strcmp(spec.name, "newton")) {
        rv_spec_free(&spec);
        return 0;
    }
    lab_newton n = {0.0, 1.0};
    const rv_binding table[] = {{.key = "damping", .kind = RV_BIND_NUMBER, .dst = &n.damping},
                                {.key = "lr", .kind = RV_BIND_NUMBER, .dst = &n.lr}};
    *st = rv_spec_bind(&spec, table, 2);
    if (!*st && !(n.damping >= 0))
        *st = rv_spec_range(&spec, RV_ERR_SPEC_RANGE, "damping", "must be >= 0");
    if (!*st && !(n.lr >= 0))
        *st = rv_spec_range(&spec, RV_ERR_LR, "lr", "must be >= 0");
    rv_spec_free(&spec);
    if (!*st)
        *m = n;
    return 1;
}

int lab_newton_step(const lab_newton *m, double lr, const double g[2], const double H[4],
                    double x[2])
{
    double a = H[0] + m->damping, b = H[1], c = H[2], d = H[3] + m->damping;
    double det = a * d - b * c;
    if (det == 0 || !isfinite(det))
        return 0;
    /* (H + D I)^-1 g by the 2x2 inverse */
    double s0 = (d * g[0] - b * g[1]) / det, s1 = (a * g[1] - c * g[0]) / det;
    x[0] -= lr * s0;
    x[1] -= lr * s1;
    return 1;
}
