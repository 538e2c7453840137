#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_die(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ravine: %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

void cli_die_line(const char *path, long line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ravine: %s line %ld: ", path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

void cli_die_status(const char *what, rv_status s)
{
    const char *detail = rv_errmsg();
    cli_die(what, "%s", detail[0] ? detail : rv_strerror(s));
}

void cli_parse(const cli_command *cmd, int argc, char **argv, const cli_option *opts,
               size_t n_opts, const char **positional, size_t max_positional,
               size_t *n_positional)
{
    size_t np = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            printf("usage: %s\n", cmd->usage);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            if (np >= max_positional)
                cli_die(cmd->name, "unexpected argument '%s' (see ravine %s --help)", arg,
                        cmd->name);
            positional[np++] = arg;
            continue;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_option *o = NULL;
        for (size_t k = 0; k < n_opts; k++)
            if (strlen(opts[k].name) == len && !strncmp(opts[k].name, name, len))
                o = &opts[k];
        if (!o) {
            const char *names[64];
            size_t k = 0;
            for (; k < n_opts && k < 63; k++)
                names[k] = opts[k].name;
            names[k] = NULL;
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(len < 63 ? len : 63), name);
            const char *near = rv_closest_word(key, names);
            if (near)
                cli_die(cmd->name, "unknown option '--%s' (did you mean '--%s'?)", key, near);
            cli_die(cmd->name, "unknown option '--%s' (see ravine %s --help)", key, cmd->name);
        }
        if (!o->takes_value) {
            if (eq)
                cli_die(cmd->name, "option '--%s' takes no value", o->name);
            *o->value = "1";
        } else if (eq) {
            *o->value = eq + 1;
        } else {
            if (i + 1 >= argc)
                cli_die(cmd->name, "option '--%s' needs a value", o->name);
            *o->value = argv[++i];
        }
    }
    if (n_positional)
        *n_positional = np;
}

/* [begin, end) ends at a delimiter (',' or the string's end), which strtod
   never consumes, so the number can be read in place. */
static int parse_one(const char *begin, const char *end, double *out)
{
    while (begin < end && isspace((unsigned char)*begin))
        begin++;
    if (begin == end)
        return 0;
    char *stop;
    double v = strtod(begin, &stop);
    if (stop == begin || stop > end)
        return 0;
    while (stop < end && isspace((unsigned char)*stop))
        stop++;
    if (stop != end)
        return 0;
    *out = v;
    return 1;
}

int cli_parse_value(const char *text, double *out)
{
    return parse_one(text, text + strlen(text), out);
}

size_t cli_parse_numbers(const char *what, const char *text, double *out, size_t cap)
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        double v;
        if (!parse_one(p, end, &v))
            cli_die(what, "'%s' is not a comma-separated list of numbers", text);
        if (!isfinite(v))
            cli_die(what, "'%s': values must be finite", text);
        if (n >= cap)
            cli_die(what, "'%s' has more than %zu values", text, cap);
        out[n++] = v;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

long cli_parse_long(const char *what, const char *text, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!*text || *end || errno)
        cli_die(what, "'%s' is not a whole number", text);
    if (v < lo || v > hi)
        cli_die(what, "%ld is out of range [%ld, %ld]", v, lo, hi);
    return v;
}

double cli_parse_double(const char *what, const char *text)
{
    double v;
    if (!parse_one(text, text + strlen(text), &v) || !isfinite(v))
        cli_die(what, "'%s' is not a finite number", text);
    return v;
}

void cli_read_numeric_csv(const char *path, size_t cols, cli_table *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        cli_die(path, "cannot open: %s", strerror(errno));
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    long line_no = 0;
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        line_no++;
        if (memchr(line, '\0', (size_t)got))
            cli_die_line(path, line_no, "contains a NUL byte");
        while (got > 0 && isspace((unsigned char)line[got - 1]))
            line[--got] = '\0';   /* "\n" and "\r\n" endings */
        char *s = line;
        while (*s && isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '#')
            continue;
        size_t n = 1;
        for (char *c = s; *c; c++)
            n += *c == ',';
        if (!cols)
            cols = n;
        if (n != cols) {
            fclose(f);
            cli_die_line(path, line_no, "expected %zu values, got %zu", cols, n);
        }
        if (out->rows == cap) {
            cap = cap ? 2 * cap : 64;
            double *grown = realloc(out->values, cap * cols * sizeof *grown);
            if (!grown)
                cli_die(path, "out of memory");
            out->values = grown;
        }
        char *p = s;
        for (size_t k = 0; k < cols; k++) {
            char *comma = strchr(p, ',');
            char *end = comma ? comma : p + strlen(p);
            double v;
            if (!parse_one(p, end, &v)) {
                *end = '\0';
                cli_die_line(path, line_no, "value %zu ('%s') is not a number", k + 1, p);
            }
            out->values[out->rows * cols + k] = v;
            p = end + 1;
        }
        out->rows++;
    }
    free(line);
    if (ferror(f))
        cli_die(path, "read error");
    fclose(f);
    out->cols = cols;
    if (!out->rows)
        cli_die(path, "no data rows");
}

void cli_table_free(cli_table *t)
{
    free(t->values);
    memset(t, 0, sizeof *t);
}

size_t cli_split(char *text, char sep, char **items, size_t cap)
{
    size_t n = 0;
    char *p = text;
    while (n < cap) {
        char *s = strchr(p, sep);
        if (s)
            *s = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p)
            items[n++] = p;
        if (!s)
            break;
        p = s + 1;
    }
    return n;
}

void cli_print_number(FILE *f, double v) { fprintf(f, "%.9g", v); }
