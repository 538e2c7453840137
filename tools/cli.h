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

/* A long text shortened for a message: its start, "...", its end (at
   most about 200 bytes; a static buffer, valid until the next call). */
const char *cli_echo(const char *text);

/* "1,-2.5,3e-4" -> values. Dies naming `what` on malformed input, on a
   value past the range of a double (1e400) and on more than cap values.
   Returns count. */
size_t cli_parse_numbers(const char *what, const char *text, double *out, size_t cap);
/* One number (or nan/inf written as text) filling the whole text, spaces
   around it allowed: 1 and *out set, or 0 if the text is not a number or
   overflows a double (1e400 is not silently infinite). */
int cli_parse_value(const char *text, double *out);
/* The same, telling the two failures apart: 1 a number, 0 not a number,
   -1 past the range of a double. */
int cli_read_value(const char *text, double *out);
/* --shape R,C,...: the dimensions of one tensor of n values (row-major),
   into dims (RV_MAX_DIMS of them); text NULL is a vector of n. Dies naming
   `what` on a dimension that is not a whole number >= 1, on a product past
   a size_t ("overflows") and on one that is not n. Returns the count. */
size_t cli_parse_shape(const char *what, const char *text, size_t n, size_t *dims);
/* Parse an integer option value in [lo, hi]. */
long cli_parse_long(const char *what, const char *text, long lo, long hi);
/* Parse a finite number. */
double cli_parse_double(const char *what, const char *text);
/* v as float32, for the parameters and gradients optimizers hold: a finite
   v past float32's range (1e39) is not silently infinite, it is an error
   naming `what` (NaN and inf stay what they are). */
float cli_to_float(const char *what, double v);
int cli_fits_float(double v);

/* Split a ';'-separated list in place into at most cap items; more is an
   error naming `what` and the limit, never a silent cut. Returns count. */
size_t cli_split(const char *what, char *text, char sep, char **items, size_t cap);

/* ---- input: lines and numeric CSV, bounded ---------------------------- */

/* Longest line any reader accepts: an endless stream without a newline
   (/dev/zero) is refused at this length instead of growing memory. */
#define CLI_LINE_MAX ((size_t)1 << 20)

typedef struct cli_lines {
    FILE *f;
    const char *path;
    char *buf;
    size_t cap;
    long line_no;
} cli_lines;

/* Open path for reading (dies naming it on errors). */
void cli_lines_open(cli_lines *r, const char *path);
/* The next line without its "\n" / "\r\n" (NUL-terminated, *len bytes), or
   NULL at the end. Dies with "FILE line N: ..." on a NUL byte, a line past
   CLI_LINE_MAX, a read error, and out of memory (as such). */
char *cli_lines_next(cli_lines *r, size_t *len);
void cli_lines_close(cli_lines *r);

/* A numeric CSV file read row by row: every row has exactly `cols` numbers
   (cols 0: the count of the first row). Empty lines and lines starting with
   '#' are skipped. Memory is one row, whatever the file's length. */
typedef struct cli_csv {
    cli_lines in;
    size_t cols;
    double *row;
} cli_csv;

void cli_csv_open(cli_csv *c, const char *path, size_t cols);
/* 1 with c->row holding the next row, 0 at the end. Dies with
   "FILE line N: ..." on a bad row. */
int cli_csv_next(cli_csv *c);
void cli_csv_close(cli_csv *c);

/* ---- output: every write is checked ---------------------------------- */

/* Called first in main: a closed pipe becomes an error (EPIPE) instead of a
   silent death by SIGPIPE, and stdout is flushed and checked at exit; a
   write error anywhere ends the command with "ravine: stdout: write
   failed: <why>" and status 2. */
void cli_io_init(void);
/* Dies if an earlier write to stdout failed; commands that print many
   lines call it once per line, so a full disk or a closed pipe stops them. */
void cli_stdout_check(void);
/* Write n bytes to path as a whole: a regular file is replaced atomically
   (a failed write leaves the old one), a FIFO or device such as
   /dev/stdout is written in place, "-" is stdout. Dies on any error. */
void cli_write_file(const char *path, const void *data, size_t n);
/* Dies, naming `what`, if a checkpoint could not be saved at path (a
   folder, a device, a folder that is missing or not writable): the check
   the save itself makes, done before the work whose result it keeps.
   Leaves nothing behind. */
void cli_check_checkpoint_target(const char *what, const char *path);

/* printf into a new string (dies on out of memory). */
char *cli_strf(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Canonical specs as allocated text (no length limit; die on out of memory). */
char *cli_optim_text(const rv_optim_type *type, const rv_hparams *h);
char *cli_surface_text(const rv_surface *s);

/* Length of the valid UTF-8 character at p (1-4), or 0 if the bytes there
   are not one (p[0] is not NUL). */
size_t cli_utf8_char(const char *p);

/* A JSON string literal: quotes, backslashes and control bytes escaped,
   bytes that are not UTF-8 written as U+FFFD, so the output is always
   valid JSON. */
void cli_json_string(FILE *f, const char *s);

/* Print a double the way every ravine number is printed (%.9g). */
void cli_print_number(FILE *f, double v);
/* Human-readable figures: v rounded to a multiple of unit (what a
   measurement can tell, or the table needs), then written with %.9g like
   every ravine number. cli_round_text fills buf and returns it; cli_cell
   prints a space and the text right-aligned in width (a table cell). */
char *cli_round_text(char *buf, size_t size, double v, double unit);
void cli_cell(int width, double v, double unit);

#endif
