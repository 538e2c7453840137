/* ravine bench: optimizer steps against a same-traffic bandwidth baseline,
   on one flat buffer and on GPT-2 124M's tensor list, either llm.c style
   (every tensor points into one flat parameter buffer and one flat gradient
   buffer) or as separately allocated tensors, the way frameworks hold them. */
#include "commands.h"
#include "ravine/bench.h"
#include "shard.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIMS 32
#define MAX_SHAPES 3
#define DEFAULT_PARAMS ((size_t)64 << 20)

static const char *const default_optims[] = {
    "adamw", "adamw(state=bf16)", "adamw(state=int8)", "sgd", "sgd(momentum=0.9)", "polyak",
    "adam(amsgrad=true)", "rmsprop(centered=true, momentum=0.9)", "adagrad", "nadam", "radam",
    "adamax", "lion", "sfadamw",
};

typedef struct shape {
    const char *name;
    size_t numel, n_tensors;
    const size_t *sizes;       /* n_tensors sizes */
    int separate;              /* one allocation per tensor instead of slices of one buffer */
    float **p, **g;            /* the tensors' parameter and gradient buffers */
} shape;

typedef struct result {
    const char *optim;         /* as given */
    const shape *shape;
    double bytes_per_param;
    const char *baseline;      /* kernel name */
    rv_bench_timing run, base, indep;
} result;

static double gbs(double bytes_per_param, size_t numel, double ms)
{
    return bytes_per_param * (double)numel / (ms * 1e6);
}

/* Deterministic values in [-scale, scale]: no zeros, NaNs or subnormals. */
static void fill(float *x, size_t n, uint32_t seed, float scale)
{
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = scale * ((float)(s >> 8) / 8388608.0f - 1.0f + 0.5f / 8388608.0f);
    }
}

static float *alloc_floats(size_t n)
{
    float *x = aligned_alloc(64, ((n + 15) & ~(size_t)15) * sizeof(float));
    if (!x)
        cli_die("bench", "out of memory for %zu parameters", n);
    return x;
}

/* Parameter and gradient buffers of every tensor of sh, filled. */
static void alloc_shape(shape *sh)
{
    sh->p = malloc(sh->n_tensors * sizeof *sh->p);
    sh->g = malloc(sh->n_tensors * sizeof *sh->g);
    if (!sh->p || !sh->g)
        cli_die("bench", "out of memory");
    float *flat_p = sh->separate ? NULL : alloc_floats(sh->numel);
    float *flat_g = sh->separate ? NULL : alloc_floats(sh->numel);
    size_t off = 0;
    for (size_t t = 0; t < sh->n_tensors; t++) {
        size_t n = sh->sizes[t];
        sh->p[t] = sh->separate ? alloc_floats(n) : flat_p + off;
        sh->g[t] = sh->separate ? alloc_floats(n) : flat_g + off;
        fill(sh->p[t], n, 1 + (uint32_t)t, 1.0f);
        fill(sh->g[t], n, 7919 + (uint32_t)t, 0.01f);
        off += n;
    }
}

static void free_shape(shape *sh)
{
    for (size_t t = 0; t < (sh->separate ? sh->n_tensors : 1); t++) {
        free(sh->p[t]);
        free(sh->g[t]);
    }
    free(sh->p);
    free(sh->g);
}

static void add_tensors(rv_optim *o, const shape *sh)
{
    for (size_t t = 0; t < sh->n_tensors; t++) {
        rv_status s = rv_optim_add_param_shaped(o, 0, NULL, sh->p[t], sh->g[t], 1, &sh->sizes[t],
                                                NULL);
        if (s)
            cli_die_status("bench", s);
    }
}

/* One optimizer on every shape, each beside its same-traffic baseline and
   the independent loop of its layout, all stepped in one interleaved loop:
   drift in the machine's bandwidth then touches the optimizer, the
   yardsticks and both shapes alike, which keeps the ratios and the
   GPT-2-versus-flat comparison fair. The same-traffic baseline is the
   library's own kernel through the same threaded step when the state is
   float32, and the independent loop (the only kernel with those byte
   counts) when it is stored below. */
static void measure(const char *spec, const shape *shapes, size_t n_shapes, int threads,
                    int warmup, int reps, result *out)
{
    const rv_optim_type *type;
    rv_hparams h;
    rv_status s = rv_hparams_parse(spec, &type, &h);
    if (s)
        cli_die_status("bench", s);
    if (rv_optim_type_shape_need(type) == RV_SHAPE_MATRIX)
        cli_die("--optim", "'%s': muon is measured on GPT-2's matrices against sgemm in its own "
                "table (--muon)", spec);
    rv_bench_traffic traffic;
    int uniform = rv_bench_traffic_of(type, &h, RV_FP32, &traffic);
    int own = h.state == RV_FP32 && traffic.n_state <= 3;
    size_t k = rv_state_count(type, &h);
    enum { JOBS = 3 };
    rv_bench_job jobs[JOBS * MAX_SHAPES];
    rv_bench_timing t[JOBS * MAX_SHAPES];
    memset(jobs, 0, sizeof jobs);
    for (size_t si = 0; si < n_shapes; si++) {
        rv_bench_job *j = &jobs[JOBS * si];
        if ((s = rv_optim_create(&j[0].opt, type, &h)))
            cli_die_status("bench", s);
        if (own && (s = rv_optim_create(&j[1].opt, rv_bench_traffic_type(k), NULL)))
            cli_die_status("bench", s);
        for (int i = 0; i < 2; i++) {
            if (!j[i].opt)
                continue;
            add_tensors(j[i].opt, &shapes[si]);
            if ((s = rv_optim_set_threads(j[i].opt, threads)) ||
                (s = rv_optim_ensure_state(j[i].opt)))
                cli_die_status("bench", s);
        }
        /* sfadamw keeps z in float32 under state=bf16|int8: its loop is the
           nearest uniform layout, and the ratio says so by its kernel name */
        if ((s = rv_bench_stream_create(&j[2].stream, &traffic, shapes[si].numel, threads)))
            cli_die_status("bench", s);
    }
    /* State below float32 has no baseline of its own: the independent loop
       is both, timed once and reported for both. at[] maps every slot to
       the job timed for it. */
    rv_bench_job timed[JOBS * MAX_SHAPES];
    size_t at[JOBS * MAX_SHAPES], n_timed = 0;
    for (size_t i = 0; i < JOBS * n_shapes; i++)
        if (jobs[i].opt || jobs[i].stream) {
            at[i] = n_timed;
            timed[n_timed++] = jobs[i];
        }
    for (size_t si = 0; si < n_shapes; si++)
        if (!own)
            at[JOBS * si + 1] = at[JOBS * si + 2];
    if ((s = rv_bench_run(timed, n_timed, warmup, reps, t)))
        cli_die_status("bench", s);
    static char names[MAX_OPTIMS * MAX_SHAPES][48];
    static size_t n_names;
    char *name = names[n_names++ % (MAX_OPTIMS * MAX_SHAPES)];
    snprintf(name, sizeof names[0], "%s%s", own ? rv_optim_type_name(rv_bench_traffic_type(k))
                                              : "loop", uniform ? "" : "~");
    for (size_t si = 0; si < n_shapes; si++) {
        rv_bench_job *j = &jobs[JOBS * si];
        out[si] = (result){spec, &shapes[si], rv_bench_traffic_bytes(&traffic), name,
                           t[at[JOBS * si]], t[at[JOBS * si + 1]], t[at[JOBS * si + 2]]};
        rv_optim_free(j[0].opt);
        rv_optim_free(j[1].opt);
        rv_bench_stream_free(j[2].stream);
    }
}

/* Muon on GPT-2's matrices: step time, the FLOP rate of its Newton-Schulz
   iteration, and a plain sgemm's rate through the same BLAS. */
typedef struct muon_result {
    size_t rows, cols;
    rv_bench_timing run;
    double flops, sgemm_gflops;
} muon_result;

static void measure_muon(int threads, int reps, muon_result *out, size_t n)
{
    static const size_t dims[][2] = {{768, 768}, {768, 3072}};
    for (size_t i = 0; i < n; i++) {
        size_t r = dims[i][0], c = dims[i][1];
        float *p = alloc_floats(r * c), *g = alloc_floats(r * c);
        fill(p, r * c, 3, 0.05f);
        fill(g, r * c, 5, 0.01f);
        rv_optim *o;
        rv_status s = rv_optim_create_spec(&o, "muon(lr=0.02)");
        if (s || (s = rv_optim_add_param_shaped(o, 0, NULL, p, g, 2, dims[i], NULL)) ||
            (s = rv_optim_set_threads(o, threads)) || (s = rv_bench_steps(&o, 1, 1, reps, &out[i].run)))
            cli_die_status("bench", s);
        rv_hparams h = rv_muon_defaults();
        out[i].rows = r;
        out[i].cols = c;
        out[i].flops = rv_bench_muon_flops(&h, r, c);
        /* the iteration's largest product, m x k times k x m */
        out[i].sgemm_gflops = rv_bench_sgemm_gflops(r < c ? r : c, r < c ? r : c, r < c ? c : r, reps);
        rv_optim_free(o);
        free(p);
        free(g);
    }
}

/* The same optimizer's flat-buffer result, to compare time per parameter. */
static const result *flat_of(const result *r, const result *all, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(all[i].shape->name, "flat") && !strcmp(all[i].optim, r->optim))
            return &all[i];
    return NULL;
}

static void print_json(const shape *shapes, size_t n_shapes, const result *res, size_t n,
                       const muon_result *mu, size_t n_mu, int threads, int warmup, int reps)
{
    printf("{\"threads\":%d,\"warmup\":%d,\"reps\":%d,\"shapes\":[", threads, warmup, reps);
    for (size_t i = 0; i < n_shapes; i++)
        printf("%s{\"shape\":\"%s\",\"params\":%zu,\"tensors\":%zu}", i ? "," : "",
               shapes[i].name, shapes[i].numel, shapes[i].n_tensors);
    printf("]");
    if (n) {
        const result *b = &res[0];
        printf(",\"baseline\":{\"kernel\":\"%s\",\"shape\":\"%s\",\"params\":%zu,"
               "\"bytes_per_param\":%.9g,\"ms_per_step\":%.9g,\"gbs\":%.9g}",
               b->baseline, b->shape->name, b->shape->numel, b->bytes_per_param,
               b->base.median_ms, gbs(b->bytes_per_param, b->shape->numel, b->base.median_ms));
    }
    printf(",\"results\":[");
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        size_t numel = r->shape->numel;
        printf("%s{\"optim\":", i ? "," : "");
        cli_json_string(stdout, r->optim);
        printf(",\"shape\":\"%s\",\"params\":%zu,\"tensors\":%zu,\"ms_per_step\":%.9g,"
               "\"min_ms_per_step\":%.9g,\"bytes_per_param\":%.9g,\"gbs\":%.9g,"
               "\"ns_per_param\":%.9g,\"baseline_kernel\":\"%s\",\"baseline_ms_per_step\":%.9g,"
               "\"baseline_gbs\":%.9g,\"ratio_to_baseline\":%.9g,"
               "\"independent_ms_per_step\":%.9g,\"ratio_to_independent\":%.9g",
               r->shape->name, numel, r->shape->n_tensors, r->run.median_ms, r->run.min_ms,
               r->bytes_per_param, gbs(r->bytes_per_param, numel, r->run.median_ms),
               r->run.median_ms * 1e6 / (double)numel, r->baseline, r->base.median_ms,
               gbs(r->bytes_per_param, numel, r->base.median_ms),
               r->base.median_ms / r->run.median_ms, r->indep.median_ms,
               r->indep.median_ms / r->run.median_ms);
        const result *f = flat_of(r, res, n);
        if (f && f != r)
            printf(",\"per_param_vs_flat\":%.9g",
                   (r->run.median_ms / (double)numel) / (f->run.median_ms / (double)f->shape->numel));
        putchar('}');
    }
    printf("],\"muon\":[");
    for (size_t i = 0; i < n_mu; i++) {
        const muon_result *m = &mu[i];
        double rate = m->flops / (m->run.median_ms * 1e6);
        printf("%s{\"rows\":%zu,\"cols\":%zu,\"ms_per_step\":%.9g,\"newton_schulz_gflop\":%.9g,"
               "\"gflops\":%.9g,\"sgemm_gflops\":%.9g,\"ratio_to_sgemm\":%.9g}",
               i ? "," : "", m->rows, m->cols, m->run.median_ms, m->flops * 1e-9, rate,
               m->sgemm_gflops, m->sgemm_gflops > 0 ? rate / m->sgemm_gflops : 0.0);
    }
    printf("]}\n");
}

static void print_table(const result *res, size_t n, const muon_result *mu, size_t n_mu,
                        int threads, int warmup, int reps)
{
    printf("ravine bench: %d thread(s), median of %d steps after %d warm-up steps; baseline = "
           "same memory traffic, trivial arithmetic, measured interleaved\n\n",
           threads, reps, warmup);
    if (n)
        printf("%-7s %10s %7s  %-30s %9s %7s %7s %-9s %11s %9s %6s %6s %7s\n", "shape", "params",
               "tensors", "optim", "ms/step", "GB/s", "B/param", "baseline", "baseline ms",
               "base GB/s", "ratio", "indep", "vs flat");
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        size_t numel = r->shape->numel;
        printf("%-7s %10zu %7zu  %-30.30s", r->shape->name, numel, r->shape->n_tensors, r->optim);
        cli_cell(9, r->run.median_ms, 1e-3);
        cli_cell(7, gbs(r->bytes_per_param, numel, r->run.median_ms), 0.1);
        cli_cell(7, r->bytes_per_param, 0.01);
        printf(" %-9s", r->baseline);
        cli_cell(11, r->base.median_ms, 1e-3);
        cli_cell(9, gbs(r->bytes_per_param, numel, r->base.median_ms), 0.1);
        cli_cell(6, r->base.median_ms / r->run.median_ms, 1e-3);
        cli_cell(6, r->indep.median_ms / r->run.median_ms, 1e-3);
        const result *f = flat_of(r, res, n);
        if (f && f != r)
            cli_cell(7, (r->run.median_ms / (double)numel) /
                        (f->run.median_ms / (double)f->shape->numel), 1e-3);
        putchar('\n');
    }
    if (n)
        printf("\nratio = baseline time / optimizer time (1 = at the bandwidth limit); baseline "
               "traffic<B> = the library's same-traffic kernel through the same threaded step, "
               "loop = the independent loop of that layout (state stored below float32; '~': "
               "the nearest uniform layout); indep = the same for the independent loop "
               "(src/bench/stream.c), always; vs flat = time per parameter over the flat "
               "buffer's\n");
    if (n_mu)
        printf("\nmuon on GPT-2's matrices: Newton-Schulz (5 steps) in float32 through BLAS\n"
               "%-10s %9s %12s %9s %12s %7s\n", "matrix", "ms/step", "NS GFLOP", "GFLOP/s",
               "sgemm GF/s", "ratio");
    for (size_t i = 0; i < n_mu; i++) {
        const muon_result *m = &mu[i];
        double rate = m->flops / (m->run.median_ms * 1e6);
        char dims[32];
        snprintf(dims, sizeof dims, "%zux%zu", m->rows, m->cols);
        printf("%-10s", dims);
        cli_cell(9, m->run.median_ms, 1e-3);
        cli_cell(12, m->flops * 1e-9, 1e-3);
        cli_cell(9, rate, 0.1);
        cli_cell(12, m->sgemm_gflops, 0.1);
        cli_cell(7, m->sgemm_gflops > 0 ? rate / m->sgemm_gflops : 0.0, 1e-3);
        putchar('\n');
    }
    if (n_mu)
        printf("ratio = muon's rate over the iteration's FLOPs / sgemm's rate on the iteration's "
               "largest product (the momentum and the update add memory traffic on top)\n");
}

static int run(int argc, char **argv)
{
    const char *params = NULL, *threads_s = NULL, *optim = NULL, *shapes_s = NULL;
    const char *reps_s = NULL, *warmup_s = NULL, *json = NULL, *shard = NULL, *muon = NULL;
    const cli_option opts[] = {
        {"params", 1, &params}, {"threads", 1, &threads_s}, {"optim", 1, &optim},
        {"shapes", 1, &shapes_s}, {"reps", 1, &reps_s},      {"warmup", 1, &warmup_s},
        {"json", 0, &json},     {"shard", 0, &shard},       {"muon", 0, &muon},
    };
    cli_parse(&cmd_bench, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    /* --optim may be repeated, and each value may list several specs split by ';' */
    char *specs[MAX_OPTIMS], *copies[MAX_OPTIMS];
    size_t n_optims = 0, n_copies = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--optim") && i + 1 < argc)
            v = argv[++i];
        else if (!strncmp(argv[i], "--optim=", 8))
            v = argv[i] + 8;
        if (!v)
            continue;
        if (n_copies == MAX_OPTIMS)
            cli_die("--optim", "more than %d optimizers (at most %d)", MAX_OPTIMS, MAX_OPTIMS);
        char *copy = strdup(v);
        if (!copy)
            cli_die("--optim", "out of memory");
        copies[n_copies++] = copy;
        char *some[MAX_OPTIMS];
        size_t got = cli_split("--optim", copy, ';', some, MAX_OPTIMS);
        if (n_optims + got > MAX_OPTIMS)
            cli_die("--optim", "more than %d optimizers (at most %d)", MAX_OPTIMS, MAX_OPTIMS);
        memcpy(specs + n_optims, some, got * sizeof *some);
        n_optims += got;
        if (!got)
            cli_die("--optim", "'%s' names no optimizer", cli_echo(v));
    }
    if (shard) {   /* one optimizer on a flat buffer, one rank per core by default */
        if (n_optims > 1)
            cli_die("--optim", "bench --shard times one optimizer, got %zu", n_optims);
        if (shapes_s)
            cli_die("--shapes", "bench --shard times one flat buffer of --params values; leave "
                                "--shapes out");
        if (muon)
            cli_die("--muon", "bench --shard times one optimizer on a flat buffer; run --muon "
                              "without --shard");
        int rc = bench_shard(&(bench_shard_args){
            params ? (size_t)cli_parse_long("--params", params, 1, 1L << 32) : (size_t)1 << 22,
            threads_s ? (int)cli_parse_long("--threads", threads_s, 0, 4096) : 1,
            reps_s ? (int)cli_parse_long("--reps", reps_s, 1, 100000) : 11,
            warmup_s ? (int)cli_parse_long("--warmup", warmup_s, 0, 100000) : 2, json != NULL,
            n_optims ? specs[0] : NULL});
        for (size_t i = 0; i < n_copies; i++)
            free(copies[i]);
        return rc;
    }
    /* the full picture by default: the element-wise optimizers, then muon; --muon alone: muon */
    if (!optim && !muon)
        for (size_t i = 0; i < sizeof default_optims / sizeof default_optims[0]; i++)
            specs[n_optims++] = (char *)default_optims[i];
    int run_muon = muon || (!optim && !params);
    for (size_t i = 0; i < n_optims; i++) {
        const rv_optim_type *type;
        rv_hparams h;
        rv_status s = rv_hparams_parse(specs[i], &type, &h);
        if (s)
            cli_die_status("bench", s);
    }

    size_t flat_n = params ? (size_t)cli_parse_long("--params", params, 1, 1L << 32)
                           : DEFAULT_PARAMS;
    int threads = threads_s ? (int)cli_parse_long("--threads", threads_s, 0, 4096) : 0;
    int reps = reps_s ? (int)cli_parse_long("--reps", reps_s, 1, 100000) : 11;
    int warmup = warmup_s ? (int)cli_parse_long("--warmup", warmup_s, 0, 100000) : 2;
    /* the full picture by default; a chosen --params means the flat buffer only */
    char *shape_list = strdup(shapes_s ? shapes_s : params ? "flat" : "flat,gpt2");
    if (!shape_list)
        cli_die("bench", "out of memory");
    /* shapes in a fixed order, each at most once */
    static const char *const shape_names[MAX_SHAPES] = {"flat", "gpt2", "gpt2sep"};
    int wanted[MAX_SHAPES] = {0};
    char *items[3 * MAX_SHAPES];
    size_t n_items = cli_split("--shapes", shape_list, ',', items, 3 * MAX_SHAPES);
    for (size_t i = 0; i < n_items; i++) {
        size_t k = 0;
        while (k < MAX_SHAPES && strcmp(items[i], shape_names[k]))
            k++;
        if (k == MAX_SHAPES)
            cli_die("--shapes", "unknown shape '%s' (flat, gpt2, gpt2sep)", cli_echo(items[i]));
        wanted[k] = 1;
    }
    if (!n_items)
        cli_die("--shapes", "'%s' names no shape (flat, gpt2, gpt2sep)", cli_echo(shapes_s));
    free(shape_list);

    size_t n_gpt2 = rv_bench_gpt2_124m(NULL, 0), gpt2_total = 0;
    rv_bench_tensor *list = malloc(n_gpt2 * sizeof *list);
    size_t *gpt2_sizes = malloc(n_gpt2 * sizeof *gpt2_sizes);
    if (!list || !gpt2_sizes)
        cli_die("bench", "out of memory");
    rv_bench_gpt2_124m(list, n_gpt2);
    for (size_t t = 0; t < n_gpt2; t++)
        gpt2_total += gpt2_sizes[t] = list[t].rows * list[t].cols;
    free(list);
    const shape all_shapes[MAX_SHAPES] = {
        {"flat", flat_n, 1, &flat_n, 0, NULL, NULL},
        {"gpt2", gpt2_total, n_gpt2, gpt2_sizes, 0, NULL, NULL},
        {"gpt2sep", gpt2_total, n_gpt2, gpt2_sizes, 1, NULL, NULL},
    };
    shape shapes[MAX_SHAPES];
    size_t n_shapes = 0;
    for (size_t k = 0; k < MAX_SHAPES; k++)
        if (wanted[k])
            shapes[n_shapes++] = all_shapes[k];

    {
        rv_optim *probe;
        if (!rv_optim_create(&probe, rv_sgd, NULL)) {
            rv_optim_set_threads(probe, threads);
            threads = rv_optim_get_threads(probe);
            rv_optim_free(probe);
        }
    }
    for (size_t si = 0; si < n_shapes; si++)
        alloc_shape(&shapes[si]);
    /* results in shape-major order: every optimizer on the flat buffer, then on GPT-2 */
    result res[MAX_SHAPES * MAX_OPTIMS], by_optim[MAX_SHAPES];
    for (size_t i = 0; i < n_optims; i++) {
        measure(specs[i], shapes, n_shapes, threads, warmup, reps, by_optim);
        for (size_t si = 0; si < n_shapes; si++)
            res[si * n_optims + i] = by_optim[si];
    }
    size_t n_res = n_shapes * n_optims;
    for (size_t si = 0; si < n_shapes; si++)
        free_shape(&shapes[si]);
    muon_result mu[2];
    size_t n_mu = run_muon ? 2 : 0;
    if (run_muon)   /* seconds per step on GPT-2's big matrix: fewer repetitions */
        measure_muon(threads, reps < 5 ? reps : 5, mu, n_mu);
    if (json)
        print_json(shapes, n_shapes, res, n_res, mu, n_mu, threads, warmup, reps);
    else
        print_table(res, n_res, mu, n_mu, threads, warmup, reps);
    free(gpt2_sizes);
    for (size_t i = 0; i < n_copies; i++)
        free(copies[i]);
    return 0;
}

const cli_command cmd_bench = {
    "bench", "time optimizer steps against a same-traffic memory-bandwidth baseline",
    "ravine bench [--params N] [--threads T] [--optim SPEC ...] [--shapes flat,gpt2]\n"
    "                    [--reps R] [--warmup W] [--json]\n"
    "mpirun -np P ravine bench --shard [--params N] [--optim SPEC] [--threads T] [--json]\n"
    "  --params N   flat buffer size (default 67108864); giving it measures the flat\n"
    "               buffer only unless --shapes says otherwise\n"
    "  --threads T  worker threads (default 0: one per core)\n"
    "  --optim SPEC optimizer to measure; repeat it or separate specs with ';'\n"
    "               (default: adamw with state fp32, bf16 and int8; sgd;\n"
    "               sgd(momentum=0.9); polyak; adam(amsgrad=true);\n"
    "               rmsprop(centered=true, momentum=0.9); adagrad; nadam; radam; adamax;\n"
    "               lion; sfadamw)\n"
    "  --muon       muon on GPT-2's 768x768 and 768x3072 matrices against sgemm's FLOP\n"
    "               rate (part of the default run; alone, it runs only that)\n"
    "  --shapes L   comma-separated: flat (one tensor), gpt2 (GPT-2 124M's 148 tensors\n"
    "               as slices of one flat buffer), gpt2sep (the same tensors, each its\n"
    "               own allocation); default flat,gpt2\n"
    "  --reps R     timed steps per optimizer (default 11; the median is reported)\n"
    "  --warmup W   untimed steps first (default 2)\n"
    "  --json       one JSON object instead of the table\n"
    "  --shard      under mpirun: the sharded optimizer (ZeRO-1) on a flat buffer of N\n"
    "               (default 4194304) parameters: ms per step and its parts, bytes each\n"
    "               rank sends (measured) against 2(P-1)/P*N*4, state bytes per rank;\n"
    "               one --optim (default adamw), --threads per rank (default 1)",
    run};
