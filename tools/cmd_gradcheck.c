/* ravine gradcheck: a surface's analytic gradient and Hessian against
   central differences at test points (seed 002 checks three). */
#include "commands.h"
#include "lab_cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_POINTS 64
#define TOLERANCE 1e-6

/* three fixed points: the default start and two points inside the window */
static size_t default_points(const rv_surface *s, double pts[][2])
{
    double lo[2], hi[2];
    rv_surface_default_start(s, pts[0]);
    rv_surface_window(s, lo, hi);
    pts[1][0] = lo[0] + 0.3 * (hi[0] - lo[0]), pts[1][1] = lo[1] + 0.7 * (hi[1] - lo[1]);
    pts[2][0] = lo[0] + 0.8 * (hi[0] - lo[0]), pts[2][1] = lo[1] + 0.15 * (hi[1] - lo[1]);
    return 3;
}

static size_t parse_points(const char *text, double pts[][2])
{
    char *copy = strdup(text);
    if (!copy)
        cli_die("gradcheck", "out of memory");
    char *items[MAX_POINTS];
    size_t n = cli_split("--at", copy, ';', items, MAX_POINTS);
    if (!n)
        cli_die("--at", "'%s': expected points X,Y;X,Y;...", cli_echo(text));
    for (size_t i = 0; i < n; i++) {
        double v[3];
        if (cli_parse_numbers("--at", items[i], v, 3) != 2)
            cli_die("--at", "'%s': point %zu is not X,Y", cli_echo(text), i + 1);
        pts[i][0] = v[0], pts[i][1] = v[1];
    }
    free(copy);
    return n;
}

static int run(int argc, char **argv)
{
    const char *surface = NULL, *at = NULL, *json = NULL;
    const cli_option opts[] = {{"surface", 1, &surface}, {"at", 1, &at}, {"json", 0, &json}};
    cli_parse(&cmd_gradcheck, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    if (!surface)
        cli_die("gradcheck", "--surface SPEC is required");
    rv_surface *s = lab_cli_surface(surface);
    double pts[MAX_POINTS][2];
    size_t n = at ? parse_points(at, pts) : default_points(s, pts);
    rv_gradcheck c[MAX_POINTS];
    int all_pass = 1;
    for (size_t i = 0; i < n; i++) {
        rv_status st = rv_surface_gradcheck(s, pts[i], &c[i]);
        if (st)
            cli_die_status("--at", st);
        all_pass &= c[i].grad_err < TOLERANCE && c[i].hess_err < TOLERANCE;
    }
    char *spec = cli_surface_text(s);
    if (json) {
        printf("{\"surface\":");
        cli_json_string(stdout, spec);
        printf(",\"tolerance\":%.9g,\"points\":[", TOLERANCE);
        for (size_t i = 0; i < n; i++) {
            const rv_gradcheck *g = &c[i];
            printf("%s{\"at\":[%.9g,%.9g],\"grad\":[%.9g,%.9g],\"grad_fd\":[%.9g,%.9g],"
                   "\"hess\":[%.9g,%.9g,%.9g,%.9g],\"hess_fd\":[%.9g,%.9g,%.9g,%.9g],"
                   "\"grad_err\":%.9g,\"hess_err\":%.9g,\"pass\":%s}",
                   i ? "," : "", pts[i][0], pts[i][1], g->grad[0], g->grad[1], g->grad_fd[0],
                   g->grad_fd[1], g->hess[0], g->hess[1], g->hess[2], g->hess[3], g->hess_fd[0],
                   g->hess_fd[1], g->hess_fd[2], g->hess_fd[3], g->grad_err, g->hess_err,
                   g->grad_err < TOLERANCE && g->hess_err < TOLERANCE ? "true" : "false");
        }
        printf("],\"pass\":%s}\n", all_pass ? "true" : "false");
    } else {
        printf("gradcheck %s: analytic vs central differences (h = 1e-5 max(1,|x|)),\n"
               "error = max |analytic - difference| / max(1, |analytic|), pass below %.0e\n\n",
               spec, TOLERANCE);
        printf("%-28s %-32s %-32s %10s %10s  %s\n", "point", "gradient", "central difference",
               "grad_err", "hess_err", "result");
        for (size_t i = 0; i < n; i++) {
            const rv_gradcheck *g = &c[i];
            char p[64], a[64], d[64];
            snprintf(p, sizeof p, "(%.9g, %.9g)", pts[i][0], pts[i][1]);
            snprintf(a, sizeof a, "(%.9g, %.9g)", g->grad[0], g->grad[1]);
            snprintf(d, sizeof d, "(%.9g, %.9g)", g->grad_fd[0], g->grad_fd[1]);
            printf("%-28s %-32s %-32s %10.2e %10.2e  %s\n", p, a, d, g->grad_err, g->hess_err,
                   g->grad_err < TOLERANCE && g->hess_err < TOLERANCE ? "pass" : "FAIL");
        }
        printf("\n%s\n", all_pass ? "all points pass" : "mismatch: analytic and numerical derivatives disagree");
    }
    free(spec);
    rv_surface_free(s);
    return all_pass ? 0 : 1;
}

const cli_command cmd_gradcheck = {
    "gradcheck", "check a surface's analytic gradient and Hessian against central differences",
    "ravine gradcheck --surface SPEC [--at 'X,Y;X,Y;...'] [--json]\n"
    "  Compares the analytic gradient with central differences of the value and the\n"
    "  analytic Hessian with central differences of the gradient, at the given points\n"
    "  or at three fixed ones (the default start and two inside the plotting window).\n"
    "  Exit status 0 if every point passes (error < 1e-6), 1 on a mismatch, 2 on\n"
    "  errors in the input.",
    run};
