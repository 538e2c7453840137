/* common/cli.h — what the example programs share on the command line:
   errors (`<program>: <what>: <why>` on stderr, exit status 2), number
   parsing with ranges, --name VALUE / --name=VALUE options and JSON output
   helpers.

       ex_program = "charlm";
       ex_option opts[] = {{"steps", 1, NULL}, {"json", 0, NULL}};
       ex_parse_options(argc, argv, opts, 2, usage);
       long steps = ex_parse_long("--steps", opts[0].value ? opts[0].value : "100", 0, 1000000);

   One translation unit per program includes it (static inline functions). */
#ifndef EXAMPLES_COMMON_CLI_H
#define EXAMPLES_COMMON_CLI_H

#include "ravine/status.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The name errors start with; set by main. */
static const char *ex_program = "example";

static inline void ex_die(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static inline void ex_die(const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: ", ex_program, what);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* A failed ravine call: its detailed message, or the code's sentence. */
static inline void ex_die_status(const char *what, rv_status s) __attribute__((noreturn));
static inline void ex_die_status(const char *what, rv_status s)
{
    ex_die(what, "%s", *rv_errmsg() ? rv_errmsg() : rv_strerror(s));
}

static inline long ex_parse_long(const char *what, const char *text, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno)
        ex_die(what, "expected an integer, got \"%s\"", text);
    if (v < lo || v > hi)
        ex_die(what, "must be in [%ld, %ld], got %ld", lo, hi, v);
    return v;
}

static inline double ex_parse_double(const char *what, const char *text, double lo)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v))
        ex_die(what, "expected a number, got \"%s\"", text);
    if (v < lo)
        ex_die(what, "must be >= %g, got %s", lo, text);
    return v;
}

typedef struct ex_option {
    const char *name;
    int takes_value;     /* 0: a flag; 1: needs a value; 2: takes one if the next word is not an option */
    const char *value;   /* NULL if not given; "1" for a given flag, "" for an option given bare */
} ex_option;

/* Fill opts from argv; --help prints usage and exits 0. */
static inline void ex_parse_options(int argc, char **argv, ex_option *opts, size_t n, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0)
            ex_die("options", "unexpected argument \"%s\" (see --help)", arg);
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        ex_option *o = NULL;
        for (size_t k = 0; k < n; k++)
            if (strlen(opts[k].name) == len && strncmp(opts[k].name, name, len) == 0)
                o = &opts[k];
        if (!o)
            ex_die("options", "unknown option \"%s\" (see --help)", arg);
        if (!o->takes_value) {
            if (eq)
                ex_die(o->name, "takes no value");
            o->value = "1";
        } else if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc && (o->takes_value == 1 || strncmp(argv[i + 1], "--", 2) != 0)) {
            o->value = argv[++i];
        } else if (o->takes_value == 2) {
            o->value = "";
        } else {
            ex_die(o->name, "needs a value");
        }
    }
}

/* ---- JSON --------------------------------------------------------------- */

static inline void ex_json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

/* A JSON string: control bytes escaped, and any byte outside printable
   ASCII written as U+FFFD unless it is part of a valid UTF-8 character, so
   the output is valid JSON whatever a path holds. */
static inline void ex_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t k = 0;
        if (*p >= 0xC2 && *p <= 0xF4) {   /* lead bytes of well-formed sequences */
            size_t more = *p < 0xE0 ? 1 : *p < 0xF0 ? 2 : 3;
            unsigned c = *p & (0x3F >> more);
            for (k = 1; k <= more && (p[k] & 0xC0) == 0x80; k++)
                c = c << 6 | (p[k] & 0x3F);
            k = k == more + 1 && c >= (more == 2 ? 0x800u : more == 3 ? 0x10000u : 0x80u) &&
                        c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF)
                    ? more + 1
                    : 0;
        }
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(f, "\\u%04x", *p);
        else if (*p < 0x80)
            fputc(*p, f);
        else if (k)
            fwrite(p, 1, k, f);
        else
            fputs("\\ufffd", f);
        p += k ? k : 1;
    }
    fputc('"', f);
}

/* ---- files ------------------------------------------------------------------- */

/* A folder that exists or is created (one level). */
static inline void ex_ensure_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            ex_die(dir, "exists and is not a directory");
        return;
    }
    if (mkdir(dir, 0777) != 0)
        ex_die(dir, "cannot create directory: %s", strerror(errno));
}

#endif
