/* Shared helpers of the ravine command-line tool: option parsing, errors in
   the `ravine: <what>: <why>` form (exit status 2), number lists and CSV. */
#ifndef RAVINE_TOOLS_CLI_H
#define RAVINE_TOOLS_CLI_H

#include <stddef.h>
#include <stdio.h>
#include "ravine/ravine.h"

#if defined(__GNUC__)
#define CLI_NORETURN __attribute__((noreturn))
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_NORETURN
#define CLI_PRINTF(a, b)
#endif

/* A subcommand: name, one-line summary, usage text, entry point. */
typedef struct cli_command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv);   /* argv[0] is the command name */
} cli_command;

/* Print "ravine: <what>: <why>" to stderr and exit with status 2. */
void cli_die(const char *what, const char *fmt, ...) CLI_NORETURN CLI_PRINTF(2, 3);
/* Print "ravine: <path> line <n>: <why>" and exit 2 (errors inside files). */
void cli_die_line(const char *path, long line, const char *fmt, ...) CLI_NORETURN CLI_PRINTF(3, 4);
/* Die with a library status: "ravine: <what>: <rv_errmsg()>". */
void cli_die_status(const char *what, rv_status s) CLI_NORETURN;

/* Options: --name VALUE, --name=VALUE, or --flag. */
typedef struct cli_option {
    const char *name;      /* without the dashes */
    int takes_value;
    const char **value;    /* set to the value, or "1" for a flag */
} cli_option;

/* Parse argv[1..] into opts; positional arguments are collected into
   positional[] (at most max_positional). --help prints usage and exits 0.
   Unknown options are errors with the closest option suggested. */
void cli_parse(const cli_command *cmd, int argc, char **argv, const cli_option *opts,
               size_t n_opts, const char **positional, size_t max_positional,
               size_t *n_positional);

/* "1,-2.5,3e-4" -> values. Dies naming `what` on malformed input. Returns count. */
size_t cli_parse_numbers(const char *what, const char *text, double *out, size_t cap);
/* One number (or nan/inf written as text) filling the whole text, spaces
   around it allowed: 1 and *out set, or 0 if the text is not a number. */
int cli_parse_value(const char *text, double *out);
/* Parse an integer option value in [lo, hi]. */
long cli_parse_long(const char *what, const char *text, long lo, long hi);
/* Parse a finite number. */
double cli_parse_double(const char *what, const char *text);

/* A numeric CSV file read whole: rows of doubles. Empty lines and lines
   starting with '#' are skipped. Dies with "FILE line N: ..." on errors. */
typedef struct cli_table {
    double *values;        /* rows * cols */
    size_t rows, cols;
} cli_table;

/* Read a file where every row has exactly `cols` numbers (cols 0: take the
   count of the first row). */
void cli_read_numeric_csv(const char *path, size_t cols, cli_table *out);
void cli_table_free(cli_table *t);

/* Split a ';'-separated list in place; returns count (at most cap). */
size_t cli_split(char *text, char sep, char **items, size_t cap);

/* Print a double the way every ravine number is printed (%.9g). */
void cli_print_number(FILE *f, double v);

#endif
