#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* fopencookie: stdout's writes seen as they fail */
#endif
#include "cli.h"
#include "core/atomic.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- numbers ---------------------------------------------------------- */

const char *cli_echo(const char *text)
{
    static char buf[256];
    size_t len = strlen(text);
    if (len < 200)
        return text;
    size_t head = 120, tail = len - 60;
    while (head > 0 && ((unsigned char)text[head] & 0xC0) == 0x80)
        head--;
    while (tail < len && ((unsigned char)text[tail] & 0xC0) == 0x80)
        tail++;
    snprintf(buf, sizeof buf, "%.*s ... %s", (int)head, text, text + tail);
    return buf;
}

/* [begin, end) ends at a delimiter (',' or the string's end), which strtod
   never consumes, so the number can be read in place. 1: a number; 0: not a
   number; -1: past the range of a double (written finite, read as inf). */
static int parse_one(const char *begin, const char *end, double *out)
{
    while (begin < end && isspace((unsigned char)*begin))
        begin++;
    if (begin == end)
        return 0;
    char *stop;
    errno = 0;
    double v = strtod(begin, &stop);
    int overflow = errno == ERANGE && isinf(v);
    if (stop == begin || stop > end)
        return 0;
    while (stop < end && isspace((unsigned char)*stop))
        stop++;
    if (stop != end)
        return 0;
    if (overflow)
        return -1;
    *out = v;
    return 1;
}

int cli_read_value(const char *text, double *out) { return parse_one(text, text + strlen(text), out); }

int cli_parse_value(const char *text, double *out)
{
    return parse_one(text, text + strlen(text), out) == 1;
}

size_t cli_parse_numbers(const char *what, const char *text, double *out, size_t cap)
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        double v;
        int got = parse_one(p, end, &v);
        if (got < 0)
            cli_die(what, "'%s': value %zu is past the range of a double", cli_echo(text), n + 1);
        if (!got)
            cli_die(what, "'%s' is not a comma-separated list of numbers", cli_echo(text));
        if (!isfinite(v))
            cli_die(what, "'%s': values must be finite", cli_echo(text));
        if (n >= cap)
            cli_die(what, "'%s' has more than %zu values", cli_echo(text), cap);
        out[n++] = v;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

size_t cli_parse_shape(const char *what, const char *text, size_t n, size_t *dims)
{
    dims[0] = n;
    if (!text)
        return 1;
    double d[RV_MAX_DIMS];
    size_t ndim = cli_parse_numbers(what, text, d, RV_MAX_DIMS), total = 1;
    int overflow = 0;
    for (size_t i = 0; i < ndim; i++) {
        if (!(d[i] >= 1) || d[i] != floor(d[i]))
            cli_die(what, "'%s': dimensions must be whole numbers >= 1", text);
        /* 2^64 and above are past a size_t (converting them is undefined) */
        if (d[i] >= 18446744073709551616.0 || total > SIZE_MAX / (size_t)d[i]) {
            overflow = 1;
            continue;
        }
        dims[i] = (size_t)d[i];
        total *= dims[i];
    }
    if (overflow)
        cli_die(what, "'%s': the product of the dimensions overflows (the parameters are %zu)", text, n);
    if (total != n)
        cli_die(what, "'%s' holds %zu values, the parameters are %zu", text, total, n);
    return ndim;
}

long cli_parse_long(const char *what, const char *text, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!*text || *end || errno)
        cli_die(what, "'%s' is not a whole number%s", cli_echo(text),
                errno == ERANGE ? " in the range of a long" : "");
    if (v < lo || v > hi)
        cli_die(what, "%ld is out of range [%ld, %ld]", v, lo, hi);
    return v;
}

double cli_parse_double(const char *what, const char *text)
{
    double v;
    if (parse_one(text, text + strlen(text), &v) != 1 || !isfinite(v))
        cli_die(what, "'%s' is not a finite number", cli_echo(text));
    return v;
}

int cli_fits_float(double v) { return !isfinite(v) || fabs(v) <= FLT_MAX; }

float cli_to_float(const char *what, double v)
{
    if (!cli_fits_float(v))
        cli_die(what, "%.9g is outside float32's range (at most %.9g in magnitude)", v, (double)FLT_MAX);
    return (float)v;
}

size_t cli_split(const char *what, char *text, char sep, char **items, size_t cap)
{
    size_t n = 0;
    char *p = text;
    for (;;) {
        char *s = strchr(p, sep);
        if (s)
            *s = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p) {
            if (n == cap)
                cli_die(what, "more than %zu items in the list (at most %zu)", cap, cap);
            items[n++] = p;
        }
        if (!s)
            break;
        p = s + 1;
    }
    return n;
}

/* ---- lines ------------------------------------------------------------- */

void cli_lines_open(cli_lines *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->f = fopen(path, "r");
    if (!r->f)
        cli_die(path, "cannot open: %s", strerror(errno));
}

char *cli_lines_next(cli_lines *r, size_t *len)
{
    size_t n = 0;
    int c;
    errno = 0;
    while ((c = getc_unlocked(r->f)) != EOF && c != '\n') {
        if (c == '\0')
            cli_die_line(r->path, r->line_no + 1, "contains a NUL byte");
        if (n == CLI_LINE_MAX)
            cli_die_line(r->path, r->line_no + 1, "the line is longer than the %zu-byte limit",
                         CLI_LINE_MAX);
        if (n + 1 >= r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 256;
            if (cap > CLI_LINE_MAX + 1)
                cap = CLI_LINE_MAX + 1;
            char *grown = realloc(r->buf, cap);
            if (!grown)
                cli_die_line(r->path, r->line_no + 1, "out of memory for a %zu-byte line", cap);
            r->buf = grown;
            r->cap = cap;
        }
        r->buf[n++] = (char)c;
    }
    if (c == EOF) {
        if (ferror(r->f))
            cli_die(r->path, "cannot read: %s", strerror(errno ? errno : EIO));
        if (!n)
            return NULL;
    }
    if (!r->buf && !(r->buf = malloc(r->cap = 256)))
        cli_die(r->path, "out of memory");
    if (n && r->buf[n - 1] == '\r')
        n--;
    r->buf[n] = '\0';
    r->line_no++;
    *len = n;
    return r->buf;
}

void cli_lines_close(cli_lines *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* ---- numeric CSV ------------------------------------------------------- */

void cli_csv_open(cli_csv *c, const char *path, size_t cols)
{
    memset(c, 0, sizeof *c);
    c->cols = cols;
    cli_lines_open(&c->in, path);
}

int cli_csv_next(cli_csv *c)
{
    size_t len;
    char *line;
    while ((line = cli_lines_next(&c->in, &len))) {
        char *s = line;
        while (*s && isspace((unsigned char)*s))
            s++;
        if (*s && *s != '#')
            break;
    }
    if (!line)
        return 0;
    size_t n = 1;
    for (char *q = line; *q; q++)
        n += *q == ',';
    if (!c->cols)
        c->cols = n;
    if (n != c->cols)
        cli_die_line(c->in.path, c->in.line_no, "expected %zu values, got %zu", c->cols, n);
    if (!c->row && !(c->row = malloc(c->cols * sizeof *c->row)))
        cli_die(c->in.path, "out of memory for a row of %zu values", c->cols);
    char *p = line;
    for (size_t k = 0; k < c->cols; k++) {
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        int got = parse_one(p, end, &c->row[k]);
        *end = '\0';
        if (got < 0)
            cli_die_line(c->in.path, c->in.line_no, "value %zu ('%s') is past the range of a double",
                         k + 1, cli_echo(p));
        if (!got)
            cli_die_line(c->in.path, c->in.line_no, "value %zu ('%s') is not a number", k + 1,
                         cli_echo(p));
        p = end + 1;
    }
    return 1;
}

void cli_csv_close(cli_csv *c)
{
    cli_lines_close(&c->in);
    free(c->row);
    memset(c, 0, sizeof *c);
}

/* ---- output ------------------------------------------------------------ */

static int stdout_errno;   /* the first failed write's reason */

#ifdef __GLIBC__
/* stdout's bytes go through here, so the reason of the first failed write
   is kept whatever later calls do to errno */
static ssize_t stdout_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(STDOUT_FILENO, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (!stdout_errno)
                stdout_errno = w < 0 ? errno : EIO;
            errno = stdout_errno;
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}
#endif

static void stdout_die(int e) CLI_NORETURN;
static void stdout_die(int e)
{
    fprintf(stderr, "ravine: stdout: write failed: %s\n", e ? strerror(e) : "an earlier write failed");
    _exit(2);
}

void cli_stdout_check(void)
{
    if (ferror(stdout)) {
        if (!stdout_errno)
            stdout_errno = errno;
        stdout_die(stdout_errno);
    }
}

static void check_stdout_at_exit(void)
{
    int failed = fflush(stdout) != 0, e = errno;
    if (failed || ferror(stdout))
        stdout_die(stdout_errno ? stdout_errno : failed ? e : 0);
}

void cli_io_init(void)
{
    /* EPIPE, reported, instead of a silent death by signal */
    signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
    cookie_io_functions_t io = {.write = stdout_write};
    FILE *out = fopencookie(NULL, "w", io);
    if (out && setvbuf(out, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, 1 << 16) == 0)
        stdout = out;
#endif
    atexit(check_stdout_at_exit);
}

void cli_write_file(const char *path, const void *data, size_t n)
{
    if (!strcmp(path, "-")) {
        if (n && fwrite(data, 1, n, stdout) != n)
            cli_stdout_check();
        return;
    }
    rv_atomic_file f;
    rv_status s = rv_atomic_open(&f, path, path, RV_ATOMIC_STREAM_OTHERS, NULL, NULL);
    if (!s && (s = rv_atomic_write(&f, data, n)))
        rv_atomic_abort(&f);
    else if (!s)
        s = rv_atomic_commit(&f);
    if (s) {
        /* the library's message already starts with the path */
        fprintf(stderr, "ravine: %s\n", rv_errmsg());
        exit(2);
    }
}

void cli_check_checkpoint_target(const char *what, const char *path)
{
    if (!path[0])
        cli_die(what, "the path is empty");
    /* the label the library's save gives its messages, so both read alike */
    size_t len = strlen(path) + 16;
    char *label = malloc(len);
    if (!label)
        cli_die(what, "out of memory");
    snprintf(label, len, "checkpoint '%s'", path);
    rv_atomic_file f;
    rv_status s = rv_atomic_open(&f, path, label, RV_ATOMIC_REGULAR_ONLY, NULL, NULL);
    if (!s)
        rv_atomic_abort(&f);
    free(label);
    if (s)
        cli_die_status(what, s);
}

size_t cli_utf8_char(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    unsigned c = p[0], v;
    size_t more;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) more = 1, v = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) more = 2, v = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) more = 3, v = c & 0x07;
    else return 0;
    for (size_t k = 1; k <= more; k++) {
        if ((p[k] & 0xC0) != 0x80)   /* also stops at the NUL */
            return 0;
        v = v << 6 | (p[k] & 0x3F);
    }
    static const unsigned min[4] = {0, 0x80, 0x800, 0x10000};
    if (v < min[more] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    return more + 1;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    while (*s) {
        unsigned char c = (unsigned char)*s;
        size_t k = cli_utf8_char(s);
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            fprintf(f, "\\u%04x", c);
        else if (k)
            fwrite(s, 1, k, f);
        else
            fputs("\\ufffd", f);   /* a byte that is not UTF-8 */
        s += k ? k : 1;
    }
    fputc('"', f);
}

char *cli_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        cli_die("ravine", "out of memory");
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *cli_optim_text(const rv_optim_type *type, const rv_hparams *h)
{
    size_t n = rv_hparams_format(type, h, NULL, 0);
    char *s = malloc(n + 1);
    if (!s)
        cli_die("ravine", "out of memory");
    rv_hparams_format(type, h, s, n + 1);
    return s;
}

char *cli_surface_text(const rv_surface *surface)
{
    size_t n = rv_surface_format(surface, NULL, 0);
    char *s = malloc(n + 1);
    if (!s)
        cli_die("ravine", "out of memory");
    rv_surface_format(surface, s, n + 1);
    return s;
}

void cli_print_number(FILE *f, double v) { fprintf(f, "%.9g", v); }

char *cli_round_text(char *buf, size_t size, double v, double unit)
{
    snprintf(buf, size, "%.9g", round(v / unit) * unit);
    return buf;
}

void cli_cell(int width, double v, double unit)
{
    char buf[40];
    printf(" %*s", width, cli_round_text(buf, sizeof buf, v, unit));
}
