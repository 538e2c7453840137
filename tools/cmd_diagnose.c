/* ravine diagnose: read a loss curve from a CSV file (a training log, a W&B
   export, `ravine trace` output, or one number per line) and say what is
   wrong with it. The judging is rv_diagnose(); this file only reads files. */
#include "commands.h"
#include "ravine/diagnose.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS 4096
/* Points a file may hold: 16 bytes each here (loss and step) and 16 more
   in rv_diagnose (32 when some losses are missing). A stream without end
   stops while it is read, at about 160 MB; a file of that many points is
   judged in about 360-400 MB (docs/safety.md, "Limits"). */
#define MAX_POINTS 10000000

typedef struct curve {
    double *loss, *step;
    size_t n, cap;
    size_t empty_cells;   /* rows whose loss cell was empty (another metric's row) */
    char *column;         /* the loss column's name; "" for one number per line */
    int has_steps;        /* a step column (else the row number) */
    int sorted;           /* rows were not in step order and have been sorted */
} curve;

/* Split a CSV line in place; fields may be double-quoted ("a,b" and "" inside).
   Returns the number of fields, or 0 with *bad set on an unterminated quote. */
static size_t split_csv(char *line, char **fields, size_t cap, int *bad)
{
    size_t n = 0;
    char *p = line;
    *bad = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) {
                    *bad = 1;
                    return 0;
                }
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',')
                p++;
            out = p;
        }
        char *next = *p ? p + 1 : NULL;
        while (out > start && isspace((unsigned char)out[-1]))
            out--;
        *out = '\0';
        if (n < cap)
            fields[n] = start;
        n++;
        if (!next)
            break;
        p = next;
    }
    return n;
}

static int ends_with_loss(const char *name)
{
    size_t len = strlen(name);
    return len >= 4 && !strcasecmp(name + len - 4, "loss");
}

static int is_step_name(const char *name)
{
    return !strcasecmp(name, "step") || !strcasecmp(name, "_step") ||
           !strcasecmp(name, "iteration") || !strcasecmp(name, "iter");
}

static void push(curve *c, const char *path, long line_no, double step, double loss)
{
    if (c->n == MAX_POINTS)
        cli_die_line(path, line_no, "more than %d loss values (the limit of ravine diagnose)",
                     MAX_POINTS);
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        double *l = realloc(c->loss, cap * sizeof *l);
        if (l)
            c->loss = l;
        double *s = l ? realloc(c->step, cap * sizeof *s) : NULL;
        if (s)
            c->step = s;
        if (!l || !s)
            cli_die_line(path, line_no, "out of memory for %zu loss values", cap);
        c->cap = cap;
    }
    c->loss[c->n] = loss;
    c->step[c->n++] = step;
}

static const double *sort_steps;
static int by_step(const void *a, const void *b)
{
    double x = sort_steps[*(const size_t *)a], y = sort_steps[*(const size_t *)b];
    return (x > y) - (x < y);
}

/* Put the rows in step order: sort an index, then move the values along
   its cycles in place. */
static void sort_by_step(curve *c, const char *path)
{
    size_t *idx = malloc(c->n * sizeof *idx);
    if (!idx)
        cli_die(path, "out of memory sorting %zu rows by step", c->n);
    for (size_t i = 0; i < c->n; i++)
        idx[i] = i;
    sort_steps = c->step;
    qsort(idx, c->n, sizeof *idx, by_step);
    for (size_t i = 0; i < c->n; i++) {
        if (idx[i] == i || idx[i] == (size_t)-1)
            continue;
        double l = c->loss[i], s = c->step[i];
        size_t at = i;
        while (idx[at] != i) {
            size_t from = idx[at];
            c->loss[at] = c->loss[from], c->step[at] = c->step[from];
            idx[at] = (size_t)-1;
            at = from;
        }
        c->loss[at] = l, c->step[at] = s;
        idx[at] = (size_t)-1;
    }
    free(idx);
}

static void read_curve(const char *path, const char *want_column, curve *c)
{
    memset(c, 0, sizeof *c);
    cli_lines in;
    cli_lines_open(&in, path);
    char *line;
    size_t len;
    int have_header = 0, headerless = 0;
    size_t n_cols = 0, loss_col = 0, step_col = (size_t)-1;
    static char *fields[MAX_FIELDS];
    int any_line = 0;
    while ((line = cli_lines_next(&in, &len))) {
        if (in.line_no == 1 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
            (unsigned char)line[2] == 0xBF)
            memmove(line, line + 3, len - 2);   /* UTF-8 byte-order mark */
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '#')
            continue;
        any_line = 1;
        int bad;
        size_t nf = split_csv(s, fields, MAX_FIELDS, &bad);
        if (bad)
            cli_die_line(path, in.line_no, "unterminated quote");
        if (nf > MAX_FIELDS)
            cli_die_line(path, in.line_no, "more than %d fields", MAX_FIELDS);
        if (!have_header && !headerless) {
            double v;
            if (nf == 1 && cli_parse_value(fields[0], &v) && !want_column) {
                headerless = 1;   /* one number per line */
                c->column = strdup("");
            } else {
                size_t numeric = 0;
                for (size_t k = 0; k < nf; k++)
                    numeric += cli_parse_value(fields[k], &v);
                if (numeric == nf)
                    cli_die_line(path, in.line_no,
                                 "expected a header naming a loss column (such as step,loss), "
                                 "or one number per line");
                have_header = 1;
                n_cols = nf;
                size_t found = (size_t)-1;
                for (size_t k = 0; k < nf && found == (size_t)-1; k++)
                    if (want_column ? !strcmp(fields[k], want_column)
                                    : !strcasecmp(fields[k], "loss"))
                        found = k;
                for (size_t k = 0; k < nf && found == (size_t)-1 && !want_column; k++)
                    if (ends_with_loss(fields[k]))
                        found = k;
                if (found == (size_t)-1) {
                    if (want_column)
                        cli_die_line(path, in.line_no, "no column named '%s' in the header",
                                     cli_echo(want_column));
                    cli_die_line(path, in.line_no,
                                 "no loss column in the header (want 'loss' or a name ending in "
                                 "'loss', such as train/loss)");
                }
                loss_col = found;
                c->column = strdup(fields[found]);
                for (size_t k = 0; k < nf; k++)
                    if (is_step_name(fields[k]) && step_col == (size_t)-1)
                        step_col = k;
                c->has_steps = step_col != (size_t)-1;
                if (!c->column)
                    cli_die(path, "out of memory");
                continue;
            }
            if (!c->column)
                cli_die(path, "out of memory");
        }
        double v;
        if (headerless) {
            if (nf != 1)
                cli_die_line(path, in.line_no, "expected one number per line, got %zu values", nf);
            int got = cli_read_value(fields[0], &v);
            if (got <= 0)
                cli_die_line(path, in.line_no, "'%s' is %s", cli_echo(fields[0]),
                             got ? "past the range of a double" : "not a number");
            push(c, path, in.line_no, (double)c->n, v);
            continue;
        }
        if (nf != n_cols)
            cli_die_line(path, in.line_no, "expected %zu fields as in the header, got %zu", n_cols, nf);
        if (!fields[loss_col][0]) {
            c->empty_cells++;
            continue;
        }
        double step = (double)(c->n + c->empty_cells);
        int got = cli_read_value(fields[loss_col], &v);
        if (got <= 0)
            cli_die_line(path, in.line_no, "loss value '%s' is %s", cli_echo(fields[loss_col]),
                         got ? "past the range of a double" : "not a number");
        if (step_col != (size_t)-1 &&
            (!cli_parse_value(fields[step_col], &step) || !isfinite(step)))
            cli_die_line(path, in.line_no, "step value '%s' is not a number", cli_echo(fields[step_col]));
        push(c, path, in.line_no, step, v);
    }
    cli_lines_close(&in);
    if (!any_line)
        cli_die(path, "empty file: expected a header with a loss column, or one number per line");
    if (!c->n)
        cli_die(path, "no loss values (%zu empty cells in column '%s')", c->empty_cells,
                cli_echo(c->column));
    /* judged in step order, whatever order the rows came in (logs merged
       from several writers, exports sorted by another column) */
    for (size_t i = 1; i < c->n && !c->sorted; i++)
        c->sorted = c->step[i] < c->step[i - 1];
    if (c->sorted)
        sort_by_step(c, path);
    for (size_t i = 1; i < c->n; i++)
        if (c->step[i] == c->step[i - 1])
            cli_die(path, "step %.9g has two loss values (%.9g and %.9g); keep one run's rows per step",
                    c->step[i], c->loss[i - 1], c->loss[i]);
}

/* JSON has no NaN/inf: they are written as null. */
static void json_number(const char *key, double v)
{
    printf(",\"%s\":", key);
    if (isfinite(v))
        printf("%.9g", v);
    else
        printf("null");
}

static void print_json(const char *path, const curve *c, const rv_diagnosis *d)
{
    printf("{\"verdict\":");
    cli_json_string(stdout, rv_verdict_name(d->verdict));
    printf(",\"file\":");
    cli_json_string(stdout, path);
    printf(",\"column\":");
    cli_json_string(stdout, c->column);
    printf(",\"points\":%zu,\"missing\":%zu,\"empty_cells\":%zu,\"limited\":%s,\"scale\":\"%s\"",
           d->points, d->missing, c->empty_cells, d->limited ? "true" : "false",
           d->log_scale ? "log" : "linear");
    json_number("first_step", d->first_step);
    json_number("last_step", d->last_step);
    json_number("first_nonfinite_step", d->first_nonfinite_step);
    json_number("early_loss", d->early_loss);
    json_number("late_loss", d->late_loss);
    json_number("late_to_early", d->late_to_early);
    json_number("min_loss", d->min_loss);
    json_number("min_step", d->min_step);
    json_number("slope", d->slope);
    json_number("late_improvement", d->late_improvement);
    json_number("sign_change_rate", d->sign_change_rate);
    json_number("tooth_autocorr", d->tooth_autocorr);
    json_number("tooth_size", d->tooth_size);
    json_number("noise", d->noise);
    json_number("max_spike_z", d->max_spike_z);
    printf(",\"spikes\":%zu,\"strong_spikes\":%zu,\"noise_tail\":%zu,\"spike_steps\":[", d->spikes,
           d->strong_spikes, d->noise_tail);
    for (size_t i = 0; i < d->n_spike_steps; i++)
        printf("%s%.9g", i ? "," : "", d->spike_steps[i]);
    printf("],\"sorted\":%s,\"reason\":", c->sorted ? "true" : "false");
    cli_json_string(stdout, d->reason);
    printf(",\"advice\":");
    cli_json_string(stdout, d->advice);
    printf(",\"findings\":[");
    for (size_t i = 0; i < d->n_findings; i++) {
        printf("%s{\"kind\":", i ? "," : "");
        cli_json_string(stdout, rv_verdict_name(d->findings[i].kind));
        printf(",\"evidence\":");
        cli_json_string(stdout, d->findings[i].evidence);
        printf(",\"advice\":");
        cli_json_string(stdout, d->findings[i].advice);
        printf("}");
    }
    printf("]}\n");
}

static void print_text(const char *path, const curve *c, const rv_diagnosis *d)
{
    printf("%s: %s%s\n", path, rv_verdict_name(d->verdict),
           d->limited ? " (limited: short curve)" : "");
    printf("  why:     %s\n", d->reason);
    printf("  advice:  %s\n", d->advice);
    for (size_t i = 1; i < d->n_findings; i++)   /* the others, less urgent */
        printf("  also %s: %s\n    advice: %s\n", rv_verdict_name(d->findings[i].kind),
               d->findings[i].evidence, d->findings[i].advice);
    printf("  curve:   %zu points of '%s', steps %.9g to %.9g", d->points,
           c->column[0] ? c->column : "loss", d->first_step, d->last_step);
    if (d->missing || c->empty_cells)
        printf(", %zu empty and %zu non-finite values skipped", c->empty_cells, d->missing);
    if (c->sorted)
        printf(" (rows sorted by step)");
    printf("\n");
    if (isfinite(d->first_nonfinite_step))
        printf("  NaN/inf: from step %.9g on\n", d->first_nonfinite_step);
    if (isfinite(d->early_loss))
        printf("  loss:    early %.9g, late %.9g, lowest %.9g at step %.9g\n", d->early_loss,
               d->late_loss, d->min_loss, d->min_step);
    if (isfinite(d->tooth_autocorr)) {
        printf("  shape:   late_improvement %.9g, sign_change_rate %.9g, tooth_autocorr %.9g, "
               "tooth_size %.9g, noise %.9g\n",
               d->late_improvement, d->sign_change_rate, d->tooth_autocorr, d->tooth_size,
               d->noise);
        printf("  spikes:  %zu (%zu over z = 10; %zu noise points at z 4-6), largest z %.9g",
               d->spikes, d->strong_spikes, d->noise_tail, d->max_spike_z);
        for (size_t i = 0; i < d->n_spike_steps; i++)
            printf("%s%.9g", i ? ", " : " at steps ", d->spike_steps[i]);
        printf("\n");
    }
}

static int run(int argc, char **argv)
{
    const char *json = NULL, *column = NULL, *path = NULL;
    size_t np = 0;
    const cli_option opts[] = {{"json", 0, &json}, {"column", 1, &column}};
    cli_parse(&cmd_diagnose, argc, argv, opts, 2, &path, 1, &np);
    if (!np)
        cli_die("diagnose", "a loss-curve file is required, e.g. ravine diagnose train.csv --json");
    curve c;
    read_curve(path, column, &c);
    rv_diagnosis d;
    rv_status s = rv_diagnose(c.loss, c.step, c.n, &d);
    if (s)
        cli_die_status(path, s);
    if (json)
        print_json(path, &c, &d);
    else
        print_text(path, &c, &d);
    free(c.loss);
    free(c.step);
    free(c.column);
    return 0;
}

const cli_command cmd_diagnose = {
    "diagnose", "say what is wrong with a loss curve (healthy, diverging, oscillating, plateau, spiky)",
    "ravine diagnose FILE [--json] [--column NAME]\n"
    "  FILE: CSV with a header naming a loss column ('loss', or a name ending in 'loss'\n"
    "  such as train/loss; --column picks another) and optionally a step column (step,\n"
    "  Step, _step); or one number per line. Empty cells are skipped; NaN/inf are read as\n"
    "  such. Rows are judged in step order (sorted when the file has them in another\n"
    "  order; a step given twice is an error). At most 10,000,000 values, 1 MiB a line.\n"
    "  Prints every finding with its figures and advice, the most urgent as the verdict\n"
    "  (--json: one object).",
    run};
