/* Work bounded by the input's size, memory bounded: a spec with 100,000
   keys (the 892 KB checkpoint that took 68 s) is refused at once, at the
   limit that names itself; a checkpoint of 100,000 tensors saves and loads
   in time linear in its size; a hostile JSON header of tiny values costs a
   few times its own size in memory (a general JSON tree took 40x); and
   rv_diagnose works in 16 bytes per point. Times are bounds far above the
   measured ones, memory bounds are checked without sanitizers (which
   inflate every allocation). */
#include "ravine/ravine.h"
#include "checkpoint/internal.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_A "test_bounded_work_a.safetensors"
#define FILE_B "test_bounded_work_b.safetensors"
#include "checkpoint_kit.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* "name(k0=1,k1=1,...)" with n keys */
static char *many_keys(const char *name, size_t n)
{
    char *s = malloc(n * 16 + 64), *p = s;
    p += sprintf(p, "%s(", name);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%sk%zu=1", i ? "," : "", i);
    strcpy(p, ")");
    return s;
}

static void spec_limits(void)
{
    char *s = many_keys("adam", 100000);
    CHECK(strlen(s) > 880000);
    rv_spec spec;
    double t0 = now();
    CHECK_STATUS(rv_spec_parse(s, &spec), RV_ERR_SPEC_SYNTAX);
    double took = now() - t0;
    CHECK_MSG(took < 1.0, "a 100k-key spec took %.3f s to refuse", took);
    CHECK(strstr(rv_errmsg(), "more than 256 keys in one call at column") != NULL);
    CHECK(strlen(rv_errmsg()) < 1024);   /* the echo shortened, the reason kept */
    printf("bounded_work: 100,000-key spec (%zu bytes) refused in %.4f s\n", strlen(s), took);
    free(s);
    s = many_keys("adam", 256);
    CHECK_STATUS(rv_spec_parse(s, &spec), RV_OK);   /* 256 parse; binding names the first unknown */
    CHECK(spec.n_args == 256);
    rv_spec_free(&spec);
    free(s);
    /* tuples: 4096 values, not one more */
    char *t = malloc(4097 * 2 + 64), *p = t;
    p += sprintf(p, "f(x=(");
    for (int i = 0; i < 4096; i++)
        p += sprintf(p, "%s1", i ? "," : "");
    strcpy(p, "))");
    CHECK_STATUS(rv_spec_parse(t, &spec), RV_OK);
    CHECK(spec.args[0].value.n_items == 4096);
    rv_spec_free(&spec);
    strcpy(p, ",1))");
    CHECK_STATUS(rv_spec_parse(t, &spec), RV_ERR_SPEC_SYNTAX);
    CHECK(strstr(rv_errmsg(), "more than 4096 values in a tuple") != NULL);
    free(t);
    /* nesting */
    char deep[200] = "f(x=";
    for (int i = 0; i < 20; i++)
        strcat(deep, "(");
    strcat(deep, "1");
    for (int i = 0; i < 20; i++)
        strcat(deep, ")");
    strcat(deep, ")");
    CHECK_STATUS(rv_spec_parse(deep, &spec), RV_ERR_SPEC_SYNTAX);
    CHECK(strstr(rv_errmsg(), "values nested too deeply") != NULL);
}

/* The 892 KB attack: a checkpoint whose group spec has 100k keys. */
static void hostile_group_spec(void)
{
    blob x = saved_file();
    char *keys = many_keys("adam", 100000);
    char *to = malloc(strlen(keys) + 64);
    sprintf(to, "\"group/1/spec\":\"%s", keys);
    to[strlen(to) - 1] = '\0';   /* the old text's closing parenthesis stays */
    blob y = rewrite(&x, "\"group/1/spec\":\"adam(", to);
    spit(FILE_B, y.b, y.n);
    rv_checkpoint_info info;
    double t0 = now();
    CHECK_STATUS(rv_checkpoint_inspect(FILE_B, &info), RV_ERR_FORMAT);
    double took = now() - t0;
    CHECK_MSG(took < 2.0, "refusing it took %.3f s", took);
    CHECK(strstr(rv_errmsg(), "checkpoint '" FILE_B "': metadata 'group/1/spec': spec 'adam(") == rv_errmsg());
    CHECK(strstr(rv_errmsg(), "more than 256 keys in one call") != NULL);
    printf("bounded_work: %zu-byte checkpoint with a 100,000-key spec refused in %.4f s\n", y.n, took);
    free(keys);
    free(to);
    free(x.b);
    free(y.b);
}

/* 100,000 tensors: names checked for duplicates and matched by sorting. */
static void many_tensors(void)
{
    /* under sanitizers 5,000: their realloc always copies, and registering
       tensors grows the optimizer's table one entry at a time */
    enum { N = SANITIZED ? 5000 : 100000 };
    static float p[N], g[N], q[N];
    static char names[N][12];
    rv_optim *a, *b;
    CHECK_STATUS(rv_optim_create_spec(&a, "sgd(lr=0.1, momentum=0.9)"), RV_OK);
    CHECK_STATUS(rv_optim_create_spec(&b, "sgd(lr=0.1, momentum=0.9)"), RV_OK);
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "t%zu", i);
        p[i] = (float)i, g[i] = 1;
        rv_optim_add_param(a, 0, names[i], &p[i], &g[i], 1, NULL);
    }
    for (size_t i = N; i-- > 0;)   /* the other way round: matched by name */
        rv_optim_add_param(b, 0, names[i], &q[i], &g[i], 1, NULL);
    rv_optim_set_threads(a, 1);
    rv_optim_step(a);
    double t0 = now();
    CHECK_STATUS(rv_checkpoint_save(a, NULL, FILE_A), RV_OK);
    double saved = now() - t0;
    t0 = now();
    CHECK_STATUS(rv_checkpoint_load(b, FILE_A, NULL, NULL), RV_OK);
    double loaded = now() - t0;
    CHECK(q[0] == p[0] && q[N - 1] == p[N - 1] && q[N / 2] == p[N / 2]);
    CHECK_MSG(saved < 20 && loaded < 20, "%d tensors: save %.2f s, load %.2f s", N, saved, loaded);
    printf("bounded_work: %d tensors: save %.3f s, load %.3f s\n", N, saved, loaded);
    /* a duplicate among them is found and named */
    rv_optim_add_param(a, 0, "t3333", &p[0], &g[0], 1, NULL);
    t0 = now();
    CHECK_STATUS(rv_checkpoint_save(a, NULL, FILE_B), RV_ERR_ARG);
    char want[200];
    snprintf(want, sizeof want,
             "checkpoint '" FILE_B "': tensors 3333 and %d are both named 't3333'; checkpoints need "
             "unique names",
             N);
    CHECK_STR(rv_errmsg(), want);
    CHECK(now() - t0 < 20);
    rv_optim_free(a);
    rv_optim_free(b);
}

/* Resident memory now, in bytes (Linux /proc; 0 elsewhere). */
static long resident_now(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* How far fn raises the peak resident memory of a fresh child process. */
static long child_peak(void (*fn)(void))
{
    int fds[2];
    if (pipe(fds))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        long start = resident_now();
        fn();
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        long grew = ru.ru_maxrss * 1024L - start;
        (void)!write(fds[1], &grew, sizeof grew);
        _exit(0);
    }
    int status;
    long grew = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(read(fds[0], &grew, sizeof grew) == sizeof grew);
    close(fds[0]);
    close(fds[1]);
    return grew;
}

#define HEADER_MB 24
static size_t hostile_len;

/* a header of 3.4 million metadata entries "kN":"" */
static void write_hostile_header(void)
{
    size_t cap = (size_t)HEADER_MB << 20;
    char *h = malloc(cap + 64);
    size_t k = (size_t)sprintf(h, "{\"__metadata__\":{");
    for (size_t i = 0; k < cap; i++)
        k += (size_t)sprintf(h + k, "%s\"%zx\":\"\"", i ? "," : "", i);
    k += (size_t)sprintf(h + k, "}}");
    while (k % 8)
        h[k++] = ' ';
    unsigned char len8[8];
    for (int b = 0; b < 8; b++)
        len8[b] = (unsigned char)((uint64_t)k >> (8 * b));
    FILE *f = fopen(FILE_B, "wb");
    fwrite(len8, 1, 8, f);
    fwrite(h, 1, k, f);
    fclose(f);
    hostile_len = k;
    free(h);
}

static void inspect_hostile(void)
{
    rv_checkpoint_info info;
    if (rv_checkpoint_inspect(FILE_B, &info) != RV_ERR_FORMAT)
        _exit(1);
}

static double *curve;
enum { CURVE_N = 2000000 };
static void diagnose_curve(void)
{
    rv_diagnosis d;
    if (rv_diagnose(curve, NULL, CURVE_N, &d))
        _exit(1);
}

static void memory_bounds(void)
{
    write_hostile_header();
    double t0 = now();
    long peak = child_peak(inspect_hostile);
    double took = now() - t0;
    printf("bounded_work: a %zu-byte header of tiny metadata entries: refused in %.2f s, peak %.1f MB "
           "(%.2fx the header)\n",
           hostile_len, took, (double)peak / 1048576, (double)peak / (double)hostile_len);
    CHECK_MSG(took < 30, "%.1f s", took);
    if (!SANITIZED)
        CHECK_MSG(peak < 6 * (long)hostile_len, "peak %ld bytes for a %zu-byte header", peak, hostile_len);

    curve = malloc(CURVE_N * sizeof *curve);
    for (size_t i = 0; i < CURVE_N; i++)
        curve[i] = 0.3 + 2.0 * exp(-(double)i / 400000.0) * (1 + 0.01 * (double)(i % 7));
    peak = child_peak(diagnose_curve);
    printf("bounded_work: rv_diagnose on %d points: peak %.1f MB over the input (%.1f bytes a point)\n",
           CURVE_N, (double)peak / 1048576, (double)peak / CURVE_N);
    if (!SANITIZED)
        CHECK_MSG(peak < 20L * CURVE_N, "rv_diagnose took %ld bytes for %d points", peak, CURVE_N);
    free(curve);
}

static int no_fsync(int fd)
{
    (void)fd;
    return 0;
}

int main(void)
{
    rv_checkpoint_fsync_fn = no_fsync;   /* the disk's speed is not under test */
    spec_limits();
    hostile_group_spec();
    many_tensors();
    memory_bounds();
    remove(FILE_A);
    remove(FILE_B);
    return check_summary("bounded_work");
}
