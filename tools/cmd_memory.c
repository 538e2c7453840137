/* ravine memory: seed 000's optimizer memory table with real bytes. */
#include "commands.h"
#include "lab_cli.h"

#include <stdint.h>
#include <string.h>

static const char *const rows[] = {
    "sgd", "sgd(momentum=0.9)", "polyak", "adam", "adamw", "adam(amsgrad=true)", "rmsprop",
    "rmsprop(momentum=0.9, centered=true)", "adagrad", "nadam", "radam", "adamax", "lion",
    "sfadamw", "muon", "adafactor",
};
#define N_ROWS (sizeof rows / sizeof rows[0])

/* whole-matrix optimizers are counted on one matrix of GPT-2's MLP */
static const size_t matrix[2] = {768, 3072};

/* Bytes per parameter of state for a spec at a state precision. */
static double state_per_param(const rv_optim_type *type, rv_hparams h, rv_precision state)
{
    h.state = state;
    double n = (double)matrix[0] * (double)matrix[1];
    return (double)rv_state_bytes(type, &h, 0, 2, matrix) / n;
}

static const char *const precision_names[] = {"fp32", "bf16", "int8"};

/* Every storage combination: parameters fp32, or bf16 over a float32
   master (2 + 4 bytes); state fp32, bf16 or int8 where the optimizer is
   element-wise. Bytes per parameter: parameter (+ master) + state, and
   with the gradient (as stored as the parameter). */
static void precision_table(int json)
{
    if (json)
        printf(",\"storage\":[");
    else
        printf("\nbytes per parameter by storage: parameter (+ float32 master for bf16 parameters) "
               "+ state [+ gradient]\n"
               "(muon and adafactor keep float32 state; adafactor counted on a %zux%zu matrix)\n\n"
               "%-38s %-6s %15s %15s %15s\n",
               matrix[0], matrix[1], "optimizer", "params", "state=fp32", "state=bf16",
               "state=int8");
    int first = 1;
    for (size_t i = 0; i < N_ROWS; i++) {
        const rv_optim_type *type;
        rv_hparams h;
        if (rv_hparams_parse(rows[i], &type, &h))
            cli_die_status("memory", RV_ERR_ARG);
        int elementwise = rv_optim_type_elementwise(type);
        for (int bf16 = 0; bf16 < 2; bf16++) {
            double param = bf16 ? 2.0 + 4.0 : 4.0, grad = bf16 ? 2.0 : 4.0;
            if (!json)
                printf("%-38s %-6s", rows[i], bf16 ? "bf16" : "fp32");
            for (int st = 0; st < 3; st++) {
                if (st && !elementwise) {
                    if (!json)
                        printf(" %15s", "-");
                    continue;
                }
                double b = param + state_per_param(type, h, (rv_precision)st);
                if (json) {
                    printf("%s{\"optim\":", first ? "" : ",");
                    cli_json_string(stdout, rows[i]);
                    printf(",\"params\":\"%s\",\"state\":\"%s\",\"bytes_per_param\":%.9g,"
                           "\"with_grads_bytes_per_param\":%.9g}",
                           bf16 ? "bf16" : "fp32", precision_names[st], b, b + grad);
                    first = 0;
                } else {
                    /* thousandths: int8 scales add 1/64 byte per value */
                    char with[40], without[40], cell[84];
                    snprintf(cell, sizeof cell, "%s [%s]", cli_round_text(without, sizeof without, b, 1e-3),
                             cli_round_text(with, sizeof with, b + grad, 1e-3));
                    printf(" %15s", cell);
                }
            }
            if (!json)
                printf("\n");
        }
    }
    if (json)
        printf("]");
}

static void human(char *buf, size_t size, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (bytes >= 1024 && u < 5)
        bytes /= 1024, u++;
    snprintf(buf, size, u ? "%.2f %s" : "%.0f %s", bytes, units[u]);
}

static int run(int argc, char **argv)
{
    const char *params_text = NULL, *json = NULL;
    const cli_option opts[] = {{"params", 1, &params_text}, {"json", 0, &json}};
    cli_parse(&cmd_memory, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    long n = params_text ? cli_parse_long("--params", params_text, 1, 1000000000000000L)
                         : 1000000000L;
    const double B = (double)sizeof(float);
    if (json)
        printf("{\"params\":%ld,\"bytes_per_value\":%.0f,\"grads_counted\":false,\"results\":[", n, B);
    else
        printf("memory for %ld float32 parameters (%.0f bytes each).\n"
               "'x params' counts parameters + optimizer state, as seed 000's table does;\n"
               "gradients (another 1x) are not counted there and are added in the last column.\n\n"
               "%-38s %-48s %8s %14s %14s\n",
               n, B, "optimizer", "state buffers (rv_state_count)", "x params",
               "params+state", "with grads");
    for (size_t i = 0; i < N_ROWS; i++) {
        const rv_optim_type *type;
        rv_hparams h;
        rv_status st = rv_hparams_parse(rows[i], &type, &h);
        if (st)
            cli_die_status("memory", st);
        if (!rv_optim_type_elementwise(type))
            continue;   /* their state depends on shapes: in the storage table */
        size_t k = rv_state_count(type, &h);
        char names[160] = "";
        for (size_t j = 0; j < k; j++) {
            strncat(names, j ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, rv_state_name(type, &h, j), sizeof names - strlen(names) - 1);
        }
        double total = (double)n * B * (double)(1 + k), grads = (double)n * B;
        if (json) {
            printf("%s{\"optim\":", i ? "," : "");
            cli_json_string(stdout, rows[i]);
            printf(",\"state_buffers\":[");
            for (size_t j = 0; j < k; j++) {
                printf("%s", j ? "," : "");
                cli_json_string(stdout, rv_state_name(type, &h, j));
            }
            printf("],\"state_bytes\":%.0f,\"params_and_state_bytes\":%.0f,\"multiple\":%zu,"
                   "\"with_grads_bytes\":%.0f}",
                   (double)n * B * (double)k, total, 1 + k, total + grads);
        } else {
            char a[32], b[32];
            human(a, sizeof a, total);
            human(b, sizeof b, total + grads);
            printf("%-38s %-48s %7zux %14s %14s\n", rows[i], k ? names : "(none)", 1 + k, a, b);
        }
    }
    if (json)
        printf("]");
    precision_table(json != NULL);
    if (json)
        printf("}\n");
    return 0;
}

const cli_command cmd_memory = {
    "memory", "optimizer memory per parameter count: params + state (seed 000's table)",
    "ravine memory [--params N] [--json]\n"
    "  For N float32 parameters (default 1e9): each optimizer's state buffers\n"
    "  (rv_state_count), the multiple of the parameter memory that params + state\n"
    "  take (sgd 1x, momentum 2x, adam/adamw 3x), and the bytes with gradients added.\n"
    "  Then bytes per parameter for every storage: fp32 or bf16 parameters (bf16 ones\n"
    "  with a float32 master) and state=fp32, bf16 or int8.",
    run};
