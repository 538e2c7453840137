/* libFuzzer target: the CLI's input readers, the numeric CSV rows (any width
   and a fixed width) and `ravine diagnose`'s loss-curve reader, on arbitrary
   file contents. They report bad input with exit(2); csv_shim.h turns that
   exit into a jump back here and frees what the reader held, so an input
   that exits is a pass if it explained itself in one "ravine: ..." line
   (collected in memory, never printed: a fuzzer rejects millions of
   inputs), and a crash, sanitizer report, leak or silent exit is a failure. */
#include "cli.h"
#include "commands.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the shim: tracked allocations and files, exit as longjmp ---------- */

enum { MAX_LIVE = 4096 };
static void *live[MAX_LIVE];
static FILE *files[16];
static jmp_buf on_exit_jump;
static int exits;
FILE *fuzz_stderr;
static char messages[1 << 16];

static void track(void *p)
{
    for (size_t i = 0; p && i < MAX_LIVE; i++)
        if (!live[i]) {
            live[i] = p;
            return;
        }
    if (p)
        __builtin_trap();   /* more live blocks than a reader should hold */
}

static void untrack(void *p)
{
    for (size_t i = 0; p && i < MAX_LIVE; i++)
        if (live[i] == p) {
            live[i] = NULL;
            return;
        }
}

#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef free
#undef fopen
#undef fclose
#undef exit

void *fuzz_malloc(size_t n)
{
    void *p = malloc(n);
    track(p);
    return p;
}

void *fuzz_calloc(size_t k, size_t n)
{
    void *p = calloc(k, n);
    track(p);
    return p;
}

void *fuzz_realloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q) {
        untrack(p);
        track(q);
    }
    return q;
}

char *fuzz_strdup(const char *s)
{
    char *p = strdup(s);
    track(p);
    return p;
}

void fuzz_free(void *p)
{
    untrack(p);
    free(p);
}

FILE *fuzz_fopen(const char *path, const char *mode)
{
    FILE *f = fopen(path, mode);
    for (size_t i = 0; f && i < 16; i++)
        if (!files[i]) {
            files[i] = f;
            break;
        }
    return f;
}

int fuzz_fclose(FILE *f)
{
    for (size_t i = 0; i < 16; i++)
        if (files[i] == f)
            files[i] = NULL;
    return fclose(f);
}

void fuzz_exit(int status)
{
    if (status != 2)   /* the CLI's only error status */
        __builtin_trap();
    exits++;
    longjmp(on_exit_jump, 1);
}

static void release_all(void)
{
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (live[i]) {
            free(live[i]);
            live[i] = NULL;
        }
    for (size_t i = 0; i < 16; i++)
        if (files[i]) {
            fclose(files[i]);
            files[i] = NULL;
        }
}

/* ---- the target -------------------------------------------------------- */

static char path[512];

/* Messages of one reader run: none when it returned, one "ravine: " line
   when it exited. */
static void messages_reset(void)
{
    if (fuzz_stderr)
        fclose(fuzz_stderr);
    memset(messages, 0, sizeof messages);
    fuzz_stderr = fmemopen(messages, sizeof messages - 1, "w");
    if (!fuzz_stderr)
        __builtin_trap();
}

static void messages_check(int exited)
{
    fflush(fuzz_stderr);
    char *nl = strchr(messages, '\n');
    if (exited ? strncmp(messages, "ravine: ", 8) || !nl || nl[1] : messages[0] != '\0')
        __builtin_trap();
}

static void read_rows(size_t cols)
{
    volatile int exited = 1;
    messages_reset();
    if (!setjmp(on_exit_jump)) {
        cli_csv c;
        cli_csv_open(&c, path, cols);
        while (cli_csv_next(&c))
            for (size_t k = 0; k < c.cols; k++)
                (void)c.row[k];
        cli_csv_close(&c);
        exited = 0;
    }
    messages_check(exited);
    release_all();
}

static void diagnose(void)
{
    char *argv[] = {"diagnose", path, "--json", NULL};
    volatile int exited = 1;
    messages_reset();
    if (!setjmp(on_exit_jump)) {
        cmd_diagnose.run(3, argv);
        exited = 0;
    }
    messages_check(exited);
    release_all();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/ravine-fuzz-csv-%ld.csv", dir && dir[0] ? dir : "/tmp",
                 (long)getpid());
        /* diagnose prints JSON; the fuzzer's own output is on stderr */
        if (!freopen("/dev/null", "w", stdout))
            return 0;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    read_rows(0);
    read_rows(3);
    diagnose();
    unlink(path);
    return 0;
}
