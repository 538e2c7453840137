/* ravine curvature: the Hessian at a point and the step sizes it implies. */
#include "commands.h"
#include "lab_cli.h"

#include <math.h>
#include <stdlib.h>

static int run(int argc, char **argv)
{
    const char *surface = NULL, *at = NULL, *json = NULL;
    const cli_option opts[] = {{"surface", 1, &surface}, {"at", 1, &at}, {"json", 0, &json}};
    cli_parse(&cmd_curvature, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    if (!surface)
        cli_die("curvature", "--surface SPEC is required");
    rv_surface *s = lab_cli_surface(surface);
    double x[2];
    if (at) {
        double v[3];
        if (cli_parse_numbers("--at", at, v, 3) != 2)
            cli_die("--at", "'%s': expected X,Y (two numbers)", at);
        x[0] = v[0], x[1] = v[1];
    } else {
        rv_surface_default_start(s, x);
    }
    rv_curvature c;
    rv_status st = rv_surface_curvature(s, x, &c);
    if (st)
        cli_die_status("--at", st);
    char *spec = cli_surface_text(s);
    if (json) {
        FILE *o = stdout;
        fprintf(o, "{\"surface\":");
        cli_json_string(o, spec);
        fprintf(o, ",\"at\":[%.9g,%.9g],\"f\":%.9g,\"gradient\":[%.9g,%.9g]", x[0], x[1], c.f,
                c.grad[0], c.grad[1]);
        fprintf(o, ",\"hessian\":[[%.9g,%.9g],[%.9g,%.9g]]", c.hess[0], c.hess[1], c.hess[2],
                c.hess[3]);
        fprintf(o, ",\"eigenvalues\":[%.9g,%.9g]", c.eig[0], c.eig[1]);
        fprintf(o, ",\"eigenvectors\":[[%.9g,%.9g],[%.9g,%.9g]]", c.evec[0][0], c.evec[0][1],
                c.evec[1][0], c.evec[1][1]);
        fprintf(o, ",\"condition\":");
        lab_cli_json_number(o, c.condition);
        fprintf(o, ",\"sgd_lr_max\":");
        lab_cli_json_number(o, c.sgd_lr_max);
        fprintf(o, ",\"momentum\":{\"lr\":");
        lab_cli_json_number(o, c.momentum_lr);
        fprintf(o, ",\"beta\":");
        lab_cli_json_number(o, c.momentum_beta);
        fprintf(o, "},\"newton_step\":[");
        lab_cli_json_number(o, c.newton_step[0]);
        fprintf(o, ",");
        lab_cli_json_number(o, c.newton_step[1]);
        fprintf(o, "]}\n");
    } else {
        printf("surface      %s\n", spec);
        printf("at           (%.9g, %.9g)\n", x[0], x[1]);
        printf("f            %.9g\n", c.f);
        printf("gradient     (%.9g, %.9g)\n", c.grad[0], c.grad[1]);
        printf("hessian      [[%.9g, %.9g], [%.9g, %.9g]]\n", c.hess[0], c.hess[1], c.hess[2],
               c.hess[3]);
        printf("eigenvalues  %.9g along (%.9g, %.9g)\n", c.eig[0], c.evec[0][0], c.evec[0][1]);
        printf("             %.9g along (%.9g, %.9g)\n", c.eig[1], c.evec[1][0], c.evec[1][1]);
        printf("condition    %.9g   (max |eigenvalue| / min |eigenvalue|)\n", c.condition);
        if (c.eig[1] > 0)
            printf("sgd          lr < 2/lambda_max = %.9g, or plain SGD diverges\n", c.sgd_lr_max);
        else
            printf("sgd          no positive curvature here: every lr moves away\n");
        if (c.eig[0] > 0)
            printf("momentum     at lr = 1/lambda_max = %.9g, beta = (1 - sqrt(lr*lambda_min))^2 = "
                   "%.9g\n             critically damps the flattest direction "
                   "(sgd momentum, dampening 0)\n",
                   c.momentum_lr, c.momentum_beta);
        else
            printf("momentum     not positive definite here: no critically damped beta\n");
        if (isfinite(c.newton_step[0]))
            printf("newton step  (%.9g, %.9g) -> (%.9g, %.9g)%s\n", c.newton_step[0],
                   c.newton_step[1], x[0] + c.newton_step[0], x[1] + c.newton_step[1],
                   c.eig[0] > 0 ? "" : "  (towards a saddle or maximum: H is not positive definite)");
        else
            printf("newton step  undefined: the Hessian is singular\n");
    }
    free(spec);
    rv_surface_free(s);
    return 0;
}

const cli_command cmd_curvature = {
    "curvature", "Hessian, eigenvalues, condition number and step sizes at a point",
    "ravine curvature --surface SPEC [--at X,Y] [--json]\n"
    "  At the point (default: the surface's start): the Hessian, its eigenvalues and\n"
    "  eigenvectors (closed form for a symmetric 2x2), the condition number, the largest\n"
    "  stable plain-SGD lr 2/lambda_max, the heavy-ball momentum beta =\n"
    "  (1 - sqrt(lr*lambda_min))^2 that critically damps the flattest direction at\n"
    "  lr = 1/lambda_max, and the Newton step -H^-1 g.",
    run};
