/* ravine explain: optimizer updates written out with their actual numbers
   (seed 000's worked examples), from the kernels' own intermediate values. */
#include "commands.h"
#include "lab_cli.h"
#include "ravine/explain.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 64
#define MAX_ROWS 1000

static int run(int argc, char **argv)
{
    const char *optim = NULL, *params_text = NULL, *grads_text = NULL, *steps_text = NULL;
    const cli_option opts[] = {{"optim", 1, &optim},
                               {"params", 1, &params_text},
                               {"grads", 1, &grads_text},
                               {"steps", 1, &steps_text}};
    cli_parse(&cmd_explain, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    if (!optim)
        cli_die("explain", "--optim SPEC is required");
    if (!params_text)
        cli_die("explain", "--params P0,P1,... is required");
    if (!grads_text)
        cli_die("explain", "--grads G0,G1,...[;G0,G1,...] is required");
    double pv[MAX_PARAMS];
    size_t n = cli_parse_numbers("--params", params_text, pv, MAX_PARAMS);

    char *copy = strdup(grads_text);
    if (!copy)
        cli_die("explain", "out of memory");
    char *items[MAX_ROWS];
    size_t rows = cli_split("--grads", copy, ';', items, MAX_ROWS);
    if (!rows)
        cli_die("--grads", "'%s': expected G0,G1,...[;G0,G1,...]", cli_echo(grads_text));
    float *grads = malloc(rows * n * sizeof *grads);
    if (!grads)
        cli_die("explain", "out of memory");
    for (size_t r = 0; r < rows; r++) {
        double gv[MAX_PARAMS + 1];
        size_t k = cli_parse_numbers("--grads", items[r], gv, MAX_PARAMS + 1);
        if (k != n)
            cli_die("--grads", "row %zu ('%s') has %zu values, expected %zu (one per parameter)",
                    r + 1, cli_echo(items[r]), k, n);
        for (size_t i = 0; i < n; i++)
            grads[r * n + i] = cli_to_float("--grads", gv[i]);
    }
    long steps = steps_text ? cli_parse_long("--steps", steps_text, 1, 1000) : (long)rows;

    float p[MAX_PARAMS];
    for (size_t i = 0; i < n; i++)
        p[i] = cli_to_float("--params", pv[i]);
    lab_cli_elementwise("--optim", optim, "; explanations cover the element-wise optimizers");
    rv_explainer *e;
    rv_status st = rv_explainer_create(&e, optim, n, p);
    if (st)
        cli_die_status("--optim", st);
    size_t cap = 1 << 16;
    char *text = malloc(cap);
    if (!text)
        cli_die("explain", "out of memory");
    for (long k = 0; k < steps; k++) {
        /* update k uses gradient row k (cycling when --steps exceeds the rows) */
        if ((st = rv_explainer_step(e, grads + (size_t)k % rows * n, NULL)))
            cli_die_status("explain", st);
        size_t need = rv_explainer_describe(e, text, cap);
        if (need >= cap) {
            cap = need + 1;
            char *grown = realloc(text, cap);
            if (!grown)
                cli_die("explain", "out of memory");
            text = grown;
            rv_explainer_describe(e, text, cap);
        }
        printf("%s%s", k ? "\n" : "", text);
        cli_stdout_check();
    }
    const float *out = rv_explainer_params(e);
    printf("\nparams after %ld update%s:", steps, steps == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        printf("%s%.9g", i ? "," : " ", (double)out[i]);
    printf("\n");
    free(text);
    free(grads);
    free(copy);
    rv_explainer_free(e);
    return 0;
}

const cli_command cmd_explain = {
    "explain", "write optimizer updates out step by step with their actual numbers",
    "ravine explain --optim SPEC --params P0,P1,... --grads G0,G1,...[;G0,G1,...] [--steps K]\n"
    "  Applies K updates (default: one per gradient row; update k uses row k, cycling)\n"
    "  and writes each one out: for adam/adamw m, v, m_hat, v_hat, the denominator,\n"
    "  the step and the decay; for sgd d and the momentum buffer; and so on. The\n"
    "  numbers come from the update kernel itself (float32), shown in their shortest\n"
    "  exact form; the last line gives the parameters with %.9g.\n"
    "  Example (seed 000): --optim 'adamw(lr=0.1, decay=after)' --params 1,-1 --grads 0.25,-0.5",
    run};
