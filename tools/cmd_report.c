/* ravine report: the lab's report on the seeds' problems as one HTML page
   (SVGs inline, and also written beside it). Every number on the page is
   computed by this run: traces and races by rv_lab_*, curvature by
   rv_surface_curvature, schedules by rv_schedule_lr, verdicts by
   rv_diagnose, memory by rv_state_count. */
#include "commands.h"
#include "svg.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STEPS 100
#define THRESHOLD 0.2   /* seed 000: "which one first reaches loss < 0.2" */
#define MAX_RUNS 8

typedef struct page {
    svg_buf html;           /* written to index.html at the end, whole */
    const char *dir;
    int figures;
} page;

static void out(page *p, const char *fmt, ...) CLI_PRINTF(2, 3);
static void out(page *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(text = malloc((size_t)n + 1)))
        cli_die("report", "out of memory");
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    svg_printf(&p->html, "%s", text);
    free(text);
}

static void esc(page *p, const char *s) { svg_escape(&p->html, s); }

/* A number as ravine prints numbers (%.9g); "diverged" for NaN/inf. */
static void num(page *p, double v)
{
    if (isfinite(v))
        out(p, "%.9g", v);
    else
        out(p, "diverged (%s)", isnan(v) ? "NaN" : "inf");
}

/* A table cell carrying a machine-readable key, so tests can find it. */
static void cell_num(page *p, const char *key, double v)
{
    out(p, "<td class=\"num\"");
    if (*key) {
        out(p, " data-key=\"");
        esc(p, key);
        out(p, "\"");
    }
    out(p, ">");
    num(p, v);
    out(p, "</td>");
}

static char *path_in(const page *p, const char *file)
{
    size_t len = strlen(p->dir) + strlen(file) + 2;
    char *path = malloc(len);
    if (!path)
        cli_die("report", "out of memory");
    snprintf(path, len, "%s/%s", p->dir, file);
    return path;
}

/* Finish a chart, write it beside the page and inline it. */
static void figure(page *p, svg_chart *c, const char *file, const char *caption)
{
    svg_chart_end(c);
    char *path = path_in(p, file);
    cli_write_file(path, c->out.data, c->out.len);
    free(path);
    out(p, "<figure>\n");
    svg_printf(&p->html, "%.*s", (int)c->out.len, c->out.data);
    out(p, "<figcaption>");
    esc(p, caption);
    out(p, " <a href=\"%s\">%s</a></figcaption>\n</figure>\n", file, file);
    svg_chart_free(c);
    p->figures++;
}

static rv_surface *surface(const char *spec)
{
    rv_surface *s;
    rv_status st = rv_surface_parse(spec, &s);
    if (st)
        cli_die_status(spec, st);
    return s;
}

static rv_curvature curvature_at(const rv_surface *s, const double x[2])
{
    rv_curvature c;
    rv_status st = rv_surface_curvature(s, x, &c);
    if (st)
        cli_die_status("report", st);
    return c;
}

static void curvature_line(page *p, const char *name, const rv_curvature *c)
{
    out(p, "<p class=\"curv\">Hessian of %s: eigenvalues <span data-key=\"%s:eig0\">%.9g</span> and "
           "<span data-key=\"%s:eig1\">%.9g</span>, condition number <b data-key=\"%s:condition\">%.9g</b>; "
           "plain SGD diverges above lr = 2/&lambda;<sub>max</sub> = <span data-key=\"%s:lr_max\">%.9g</span>.</p>\n",
        name, name, c->eig[0], name, c->eig[1], name, c->condition, name, c->sgd_lr_max);
}

typedef struct race_row {
    const char *optim;
    rv_race_result r;
} race_row;

static int by_steps(const void *a, const void *b)
{
    const race_row *x = a, *y = b;
    long sx = x->r.steps_to_threshold < 0 ? LONG_MAX : x->r.steps_to_threshold;
    long sy = y->r.steps_to_threshold < 0 ? LONG_MAX : y->r.steps_to_threshold;
    return (sx > sy) - (sx < sy);
}

/* The race table: who first gets below threshold, sorted by steps. */
static void race_table(page *p, const char *name, const rv_surface *s, const char *const *optims,
                       size_t n, const double start[2], double threshold)
{
    race_row rows[MAX_RUNS];
    for (size_t i = 0; i < n; i++) {
        rows[i].optim = optims[i];
        rv_status st = rv_lab_race_one(s, optims[i], NULL, start, STEPS, threshold, &rows[i].r);
        if (st)
            cli_die_status(optims[i], st);
    }
    qsort(rows, n, sizeof rows[0], by_steps);
    out(p, "<table class=\"race\">\n<tr><th>optimizer</th><th>first step with loss &lt; %.9g</th>"
           "<th>loss after %d steps</th><th>diverged</th></tr>\n",
        threshold, STEPS);
    for (size_t i = 0; i < n; i++) {
        char key[300];
        out(p, "<tr%s><td><code>", i == 0 && rows[i].r.steps_to_threshold >= 0 ? " class=\"win\"" : "");
        esc(p, rows[i].optim);
        out(p, "</code></td>");
        snprintf(key, sizeof key, "%s:%s:steps", name, rows[i].optim);
        if (rows[i].r.steps_to_threshold >= 0)
            cell_num(p, key, (double)rows[i].r.steps_to_threshold);
        else {
            out(p, "<td class=\"num\" data-key=\"");
            esc(p, key);
            out(p, "\">never</td>");
        }
        snprintf(key, sizeof key, "%s:%s:final", name, rows[i].optim);
        cell_num(p, key, rows[i].r.final_loss);
        out(p, "<td>%s</td></tr>\n", rows[i].r.diverged ? "yes" : "no");
    }
    out(p, "</table>\n");
    if (rows[0].r.steps_to_threshold >= 0) {
        out(p, "<p>First below %.9g: <b><code>", threshold);
        esc(p, rows[0].optim);
        out(p, "</code></b> after %ld step%s.</p>\n", rows[0].r.steps_to_threshold,
            rows[0].r.steps_to_threshold == 1 ? "" : "s");
    } else {
        out(p, "<p>No optimizer got below %.9g in %d steps.</p>\n", threshold, STEPS);
    }
}

static void contour_and_loss(page *p, const rv_surface *s, const char *const *optims, size_t n,
                             const double start[2], const char *title, const char *x_label,
                             const char *y_label, const char *file_stem, double threshold)
{
    double xm[2], fm = 0;
    if (!rv_surface_minimum(s, xm, &fm))
        fm = 0;
    plot_run runs[MAX_RUNS];
    for (size_t i = 0; i < n; i++)
        plot_run_trace(&runs[i], s, optims[i], NULL, start, STEPS);
    svg_chart c;
    char t[300], file[128], cap[300];
    snprintf(t, sizeof t, "%s: paths of %d steps", title, STEPS);
    svg_chart_init(&c, 700, 460, t, x_label, y_label);
    plot_contour(&c, s, runs, n);
    snprintf(file, sizeof file, "%s_contour.svg", file_stem);
    snprintf(cap, sizeof cap, "Contours of %s (shading: log of the loss above its minimum); "
                              "circle = start, square = end.", title);
    figure(p, &c, file, cap);
    snprintf(t, sizeof t, "%s: loss per step", title);
    svg_chart_init(&c, 700, 400, t, "step",
                   fm != 0 ? "loss above the minimum (log scale)" : "loss (log scale)");
    plot_loss(&c, runs, n, 1, fm, threshold);
    snprintf(file, sizeof file, "%s_loss.svg", file_stem);
    if (fm != 0)
        snprintf(cap, sizeof cap, "Loss minus the least loss %.9g against step on %s (a run at the "
                                  "minimum sits on the bottom edge); dotted: the race threshold.",
                 fm, title);
    else
        snprintf(cap, sizeof cap, "Loss against step on %s (a run at loss 0 sits on the bottom "
                                  "edge); dotted: the race threshold.", title);
    figure(p, &c, file, cap);
    for (size_t i = 0; i < n; i++)
        plot_run_free(&runs[i]);
}

static void section_bowl(page *p)
{
    rv_surface *s = surface("bowl(kappa=10)");
    double start[2];
    rv_surface_default_start(s, start);
    rv_curvature cv = curvature_at(s, start);
    static const char *const optims[] = {"sgd(lr=0.19)", "sgd(lr=0.05, momentum=0.9)",
                                         "adam(lr=0.1)", "adamw(lr=0.1)", "newton"};
    size_t n = sizeof optims / sizeof optims[0];
    out(p, "<h2 id=\"bowl\">1. The stretched bowl race</h2>\n"
           "<p>Seed 002's test function f(x, y) = &frac12;(x&sup2; + 10y&sup2;), from (%.9g, %.9g), "
           "%d steps each. SGD's lr is just below its stability limit, so it zig-zags across the "
           "steep y direction while crawling along x; momentum smooths the zig-zag, Adam scales each "
           "direction, Newton's method (a reference, not a training optimizer) solves the quadratic in "
           "one step.</p>\n",
        start[0], start[1], STEPS);
    curvature_line(p, "bowl", &cv);
    contour_and_loss(p, s, optims, n, start, "bowl(kappa=10)", "x", "y", "bowl", THRESHOLD);
    out(p, "<h3>Which optimizer first reaches loss &lt; %.9g?</h3>\n", THRESHOLD);
    race_table(p, "bowl", s, optims, n, start, THRESHOLD);
    /* the newer element-wise rules, at the live page's measured lrs */
    static const char *const newer[] = {"nadam(lr=0.25)", "radam(lr=0.32)", "adamax(lr=0.89)",
                                        "lion(lr=0.25)",  "sfadamw(lr=0.89)", "adam(lr=0.1)"};
    out(p, "<h3>The newer rules on the same bowl</h3>\n"
           "<p>NAdam, RAdam, Adamax, Lion and Schedule-Free AdamW, each at the learning rate the live "
           "page uses on this bowl (the middle of the band of rates that get 99.9%% of the way down "
           "and stay there), Adam from above for reference. Schedule-Free is raced on y, the point "
           "where it takes its gradients.</p>\n");
    race_table(p, "bowl_newer", s, newer, sizeof newer / sizeof newer[0], start, THRESHOLD);
    rv_surface_free(s);
}

static void section_delivery(page *p)
{
    rv_surface *raw = surface("delivery"), *std = surface("delivery(standardize=true)");
    double start[2];
    rv_surface_default_start(raw, start);
    rv_curvature cr = curvature_at(raw, start), cs = curvature_at(std, start);
    /* a plain SGD that is stable on the raw data: 1/lambda_max, computed */
    char safe_sgd[64];
    snprintf(safe_sgd, sizeof safe_sgd, "sgd(lr=%.3g)", 1.0 / cr.eig[1]);
    const char *optims[] = {"sgd(lr=0.05)", safe_sgd, "polyak(lr=0.05, beta=0.9)",
                            "adam(lr=0.1)", "adamw(lr=0.1, decay=after)", "newton"};
    size_t n = sizeof optims / sizeof optims[0];
    char spec[256];
    rv_surface_format(raw, spec, sizeof spec);
    out(p, "<h2 id=\"delivery\">2. The delivery ravine: raw against standardized features</h2>\n"
           "<p>Seed 000's two-weight delivery-time predictor y &asymp; w1&middot;x1 + w2&middot;x2 "
           "(x1 distance in hundreds of km, x2 weight in kg) on seeded synthetic data, "
           "<code>");
    esc(p, spec);
    out(p, "</code>, mean squared error / 2, from w = (%.9g, %.9g). The optimizers are the seed's: "
           "SGD and Polyak momentum at lr 0.05, Adam and AdamW (the seed's decay order) at lr 0.1, "
           "plus <code>%s</code> = 1/&lambda;<sub>max</sub> of the raw Hessian and Newton's method as "
           "a reference.</p>\n",
        start[0], start[1], safe_sgd);
    curvature_line(p, "delivery_raw", &cr);
    curvature_line(p, "delivery_std", &cs);
    out(p, "<p>Raw features make a valley %.3g times steeper across than along: a learning rate safe "
           "for the steep direction is far too small for the flat one. Standardizing the features "
           "brings the condition number down to %.3g.</p>\n",
        cr.condition, cs.condition);
    double xm[2], fm = 0;
    double raw_threshold = rv_surface_minimum(raw, xm, &fm) ? 1.1 * fm : THRESHOLD;
    contour_and_loss(p, raw, optims, n, start, "delivery, raw features", "w1 (distance)",
                     "w2 (weight)", "delivery_raw", raw_threshold);
    contour_and_loss(p, std, optims, n, start, "delivery, standardized", "w1 (distance, standardized)",
                     "w2 (weight, standardized)", "delivery_std", THRESHOLD);
    out(p, "<h3>Race on the standardized data: first to loss &lt; %.9g</h3>\n", THRESHOLD);
    race_table(p, "delivery_std", std, optims, n, start, THRESHOLD);
    out(p, "<h3>Race on the raw data: first within 10%% of the least loss</h3>\n"
           "<p>Raw losses are in hours&sup2;: the least possible loss is <span data-key=\"delivery_raw:min\">%.9g</span> "
           "(the noise), so 0.2 is out of reach; the threshold here is 1.1 &times; that minimum.</p>\n",
        fm);
    race_table(p, "delivery_raw", raw, optims, n, start, raw_threshold);
    rv_surface_free(raw);
    rv_surface_free(std);
}

static void sweep_figure(page *p, const rv_surface *s, const char *title, const char *const *optims,
                         size_t n, double lo, double hi, int per_decade, const char *file,
                         const char *key)
{
    double lrs[64];
    size_t n_lr = 0;
    int decades = (int)lround(log10(hi / lo));
    for (; n_lr <= (size_t)(decades * per_decade) && n_lr < 64; n_lr++)
        lrs[n_lr] = lo * pow(10, (double)n_lr / per_decade);
    double start[2];
    rv_surface_default_start(s, start);
    double *final = malloc(n * n_lr * sizeof *final);
    if (!final)
        cli_die("report", "out of memory");
    for (size_t i = 0; i < n; i++)
        plot_sweep_run(s, optims[i], start, STEPS, lrs, n_lr, final + i * n_lr);
    rv_curvature cv = curvature_at(s, start);
    svg_chart c;
    char t[300];
    snprintf(t, sizeof t, "%s: loss after %d steps against lr", title, STEPS);
    svg_chart_init(&c, 700, 420, t, "learning rate (log scale)", "final loss (log scale)");
    plot_sweep(&c, optims, n, lrs, n_lr, final, cv.sgd_lr_max);
    char cap[300];
    snprintf(cap, sizeof cap, "Learning-rate sweep on %s, %zu rates from %g to %g; crosses: diverged; "
                              "dashed: SGD's limit 2/lambda_max.", title, n_lr, lo, hi);
    figure(p, &c, file, cap);
    out(p, "<table class=\"sweep\"><tr><th>optimizer</th><th>largest lr that did not diverge</th>"
           "<th>its final loss</th><th>best lr</th><th>best final loss</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        const double *f = final + i * n_lr;
        double stable = NAN, stable_loss = NAN, best = NAN, best_loss = INFINITY;
        for (size_t k = 0; k < n_lr; k++)
            if (isfinite(f[k])) {
                stable = lrs[k], stable_loss = f[k];
                if (f[k] < best_loss)
                    best_loss = f[k], best = lrs[k];
            }
        char k1[200], k2[200];
        out(p, "<tr><td><code>");
        esc(p, optims[i]);
        out(p, "</code></td>");
        snprintf(k1, sizeof k1, "%s:%s:stable_lr", key, optims[i]);
        cell_num(p, k1, stable);
        cell_num(p, "", stable_loss);
        snprintf(k2, sizeof k2, "%s:%s:best_lr", key, optims[i]);
        cell_num(p, k2, best);
        cell_num(p, "", best_loss);
        out(p, "</tr>\n");
    }
    out(p, "</table>\n");
    free(final);
}

static void section_sweeps(page *p)
{
    out(p, "<h2 id=\"sweeps\">3. Learning-rate sweeps</h2>\n"
           "<p>Each point is a full run of %d steps from the default start with only lr changed "
           "(the other keys of the spec kept). SGD's loss falls as lr grows until 2/&lambda;<sub>max</sub>, "
           "then it diverges; Adam's step is about lr in every direction, so its best lr does not depend on "
           "the curvature.</p>\n",
        STEPS);
    rv_surface *bowl = surface("bowl(kappa=10)");
    static const char *const bowl_optims[] = {"sgd", "sgd(momentum=0.9)", "adam"};
    sweep_figure(p, bowl, "bowl(kappa=10)", bowl_optims, 3, 1e-3, 1, 4, "sweep_bowl.svg", "sweep_bowl");
    rv_surface_free(bowl);
    rv_surface *raw = surface("delivery");
    static const char *const raw_optims[] = {"sgd", "polyak(beta=0.9)", "adam"};
    sweep_figure(p, raw, "delivery, raw features", raw_optims, 3, 1e-4, 1, 4,
                 "sweep_delivery_raw.svg", "sweep_delivery_raw");
    rv_surface_free(raw);
}

static void section_schedules(page *p)
{
    static const char *const specs[] = {
        "step(lr=1e-3, step_size=300, gamma=0.3)",
        "cosine(lr=1e-3, t_max=1000)",
        "linear(lr=1e-3, start_factor=0.01, total_iters=100)",
        "warmup_cosine(peak=1e-3, warmup_steps=100, decay_steps=1000)",
    };
    static const char *const names[] = {"step decay", "cosine", "linear warmup", "warmup + cosine"};
    static const long at[] = {0, 50, 100, 300, 600, 999};
    rv_schedule *s[4];
    for (int i = 0; i < 4; i++) {
        rv_status st = rv_schedule_parse(specs[i], &s[i]);
        if (st)
            cli_die_status(specs[i], st);
    }
    out(p, "<h2 id=\"schedules\">4. The four schedules</h2>\n"
           "<p>Seed 000's step, cosine, warmup and warmup + cosine (the production pattern, bold) over "
           "1000 updates at peak lr 1e-3; the lr of update t is a pure function of t.</p>\n");
    svg_chart c;
    svg_chart_init(&c, 700, 400, "Learning-rate schedules (1000 updates)", "update t", "learning rate");
    plot_schedules(&c, s, names, 4, 1000, 3);
    figure(p, &c, "schedules.svg", "The four schedules; warmup + cosine highlighted.");
    out(p, "<table class=\"sched\"><tr><th>schedule</th><th>spec</th>");
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
        out(p, "<th>lr at t = %ld</th>", at[k]);
    out(p, "</tr>\n");
    for (int i = 0; i < 4; i++) {
        out(p, "<tr><td>%s</td><td><code>", names[i]);
        esc(p, specs[i]);
        out(p, "</code></td>");
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
            char key[64];
            snprintf(key, sizeof key, "schedule%d:%ld", i, at[k]);
            cell_num(p, key, rv_schedule_lr(s[i], at[k]));
        }
        out(p, "</tr>\n");
        rv_schedule_free(s[i]);
    }
    out(p, "</table>\n");
}

static void diagnosis_example(page *p, const char *surface_spec, const char *optim,
                              const double start[2], long steps, const char *what,
                              const char *why, int log_y, const char *file, const char *key)
{
    rv_surface *s = surface(surface_spec);
    plot_run r;
    plot_run_trace(&r, s, optim, NULL, start, steps);
    rv_diagnosis d;
    rv_status st = rv_diagnose(r.loss, r.step, (size_t)steps + 1, &d);
    if (st)
        cli_die_status("report", st);
    svg_chart c;
    char t[300], cap[400];
    snprintf(t, sizeof t, "%s: %s on %s", what, optim, surface_spec);
    svg_chart_init(&c, 700, 340, t, "step", log_y ? "loss (log scale)" : "loss");
    plot_loss(&c, &r, 1, log_y, 0, 0);
    snprintf(cap, sizeof cap, "%s on %s from (%g, %g), %ld steps: %s.", optim, surface_spec,
             start[0], start[1], steps, why);
    figure(p, &c, file, cap);
    out(p, "<div class=\"verdict\"><p><code>ravine diagnose</code>: <b data-key=\"%s:verdict\">%s</b> "
           "&mdash; ", key, rv_verdict_name(d.verdict));
    esc(p, d.reason);
    out(p, ".</p>\n<p>Advice: ");
    esc(p, d.advice);
    out(p, ".</p>\n<p class=\"figures\">Figures: early loss %.9g, late loss %.9g (%.3g&times;), "
           "lowest %.9g at step %.9g; share of consecutive changes that flip sign %.3g; lag-1 "
           "autocorrelation of the detrended last half %.3g; first non-finite step ",
        d.early_loss, d.late_loss, d.late_to_early, d.min_loss, d.min_step, d.sign_change_rate,
        d.tooth_autocorr);
    if (isfinite(d.first_nonfinite_step))
        out(p, "<span data-key=\"%s:first_nonfinite\">%.9g</span>", key, d.first_nonfinite_step);
    else
        out(p, "none");
    out(p, ".</p></div>\n");
    plot_run_free(&r);
    rv_surface_free(s);
}

static void section_diagnosis(page *p)
{
    out(p, "<h2 id=\"diagnosis\">5. Diagnosing a loss curve</h2>\n"
           "<p><code>ravine diagnose FILE</code> reads a training log or a W&amp;B export and names "
           "what is wrong. Here it reads the loss curves of three real runs on the lab's surfaces.</p>\n");
    double bowl_start[2] = {-4, 1}, him_start[2] = {2.5, 2.5};
    diagnosis_example(p, "bowl(kappa=10)", "sgd(lr=0.25)", bowl_start, STEPS,
                      "Exploding", "lr above 2/lambda_max = 0.2", 1, "diagnose_exploding.svg",
                      "exploding");
    diagnosis_example(p, "bowl(kappa=10)", "sgd(lr=1e-05)", bowl_start, 200,
                      "Stalled", "lr far too small for 200 steps", 0, "diagnose_stalled.svg",
                      "stalled");
    diagnosis_example(p, "himmelblau", "sgd(lr=0.028)", him_start, 200,
                      "Teeth", "past the edge of stability near the minimum (3, 2), GD settles "
                      "into a cycle", 1, "diagnose_teeth.svg", "teeth");
    out(p, "<p>A zig-zag path does not always mean a zig-zag loss: on the bowl, sgd(lr=0.19) "
           "crosses the valley every step, yet on a quadratic each direction's share of the loss "
           "shrinks every step, so its loss curve is smooth (section 1). Teeth in a loss curve need "
           "a non-quadratic surface, noisy gradients or a cycle, as on Himmelblau's function here.</p>\n");
}

static void section_memory(page *p)
{
    static const char *const specs[] = {"sgd",  "sgd(momentum=0.9)", "polyak", "adam",
                                        "adam(amsgrad=true)", "adamw", "rmsprop",
                                        "rmsprop(centered=true, momentum=0.9)", "adagrad"};
    static const double models[] = {124e6, 7e9};
    out(p, "<h2 id=\"memory\">6. Memory</h2>\n"
           "<p>Optimizer state buffers per parameter (float32), from <code>rv_state_count</code>; "
           "the memory column counts weights + state in units of the weights, as in seed 000's table; "
           "bytes add the gradient.</p>\n<table class=\"memory\"><tr><th>optimizer</th><th>state "
           "buffers</th><th>memory</th><th>bytes / parameter (weights, gradient, state)</th>"
           "<th>GB for 124M parameters</th><th>GB for 7B parameters</th></tr>\n");
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        const rv_optim_type *type;
        rv_hparams h;
        rv_status st = rv_hparams_parse(specs[i], &type, &h);
        if (st)
            cli_die_status(specs[i], st);
        size_t ns = rv_state_count(type, &h);
        out(p, "<tr><td><code>");
        esc(p, specs[i]);
        out(p, "</code></td><td>%zu", ns);
        for (size_t k = 0; k < ns; k++)
            out(p, "%s%s", k ? ", " : " (", rv_state_name(type, &h, k));
        out(p, "%s</td><td>%zu&times;</td>", ns ? ")" : "", 1 + ns);
        double bytes = 4.0 * (double)(2 + ns);
        char key[80];
        snprintf(key, sizeof key, "memory:%s", specs[i]);
        cell_num(p, key, bytes);
        for (size_t m = 0; m < 2; m++)
            cell_num(p, "", bytes * models[m] / 1e9);
        out(p, "</tr>\n");
    }
    out(p, "</table>\n");
}

/* An example program's chart, DIR/file, inlined from its <svg element on
   (an XML prolog is not valid inside HTML); when absent, how to make it. */
static void example_chart(page *p, const char *file, const char *intro, const char *command)
{
    char *path = path_in(p, file);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f) {
        out(p, "<p>Not included: <code>%s</code> is not in this folder. Run <code>%s", file,
            command);
        esc(p, p->dir);
        out(p, "</code> (from the build folder) and run the report again.</p>\n");
        return;
    }
    svg_buf b = {0};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        svg_printf(&b, "%.*s", (int)got, chunk);
    fclose(f);
    const char *svg = b.data ? strstr(b.data, "<svg") : NULL;
    if (svg) {
        out(p, "<p>%s</p>\n<figure>\n%s\n<figcaption><a href=\"%s\">%s</a></figcaption></figure>\n",
            intro, svg, file, file);
        p->figures++;
    } else {
        out(p, "<p><code>%s</code> is present but holds no &lt;svg&gt; element.</p>\n", file);
    }
    svg_buf_free(&b);
}

static void section_charlm(page *p)
{
    out(p, "<h2 id=\"charlm\">7. A small language model</h2>\n");
    example_chart(p, "charlm_compare.svg",
                  "Training curves of the character-level language model with ravine's optimizers "
                  "(written by the charlm example).",
                  "examples/charlm --compare --out ");
    example_chart(p, "charlm_states.svg",
                  "The same model with AdamW's state held in float32, bfloat16 and int8, on the "
                  "same batches: validation loss, and each curve minus float32's (written by the "
                  "charlm example, docs/charlm.md).",
                  "examples/charlm --states --out ");
}

static void section_gpt(page *p)
{
    out(p, "<h2 id=\"gpt\">8. A GPT's race to a target loss</h2>\n");
    example_chart(p, "gpt_race.svg",
                  "Validation loss of a small GPT trained on the fortunes corpus, each optimizer at "
                  "the best learning rate of the same grid, on the same batches, against update "
                  "steps and against training seconds; the legend gives each one's steps and "
                  "seconds to the target (written by the gpt example, docs/gpt.md).",
                  "examples/gpt --race --out ");
}

/* mkdir -p */
static void make_dirs(const char *dir)
{
    char path[4096];
    if (strlen(dir) >= sizeof path)
        cli_die(dir, "path too long");
    strcpy(path, dir);
    for (char *q = path + 1;; q++) {
        if (*q != '/' && *q)
            continue;
        char saved = *q;
        *q = '\0';
        if (mkdir(path, 0777) && errno != EEXIST)
            cli_die(dir, "cannot create %s: %s", path, strerror(errno));
        *q = saved;
        if (!saved)
            break;
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        cli_die(dir, "not a directory");
}

static const char style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1000px;margin:24px auto;"
    "padding:0 16px;color:#222;line-height:1.45}"
    "h1{margin-bottom:4px}h2{margin-top:40px;border-bottom:1px solid #ccc;padding-bottom:4px}"
    "figure{margin:16px 0}figure svg{max-width:100%;height:auto}"
    "figcaption{color:#555;font-size:90%}"
    "table{border-collapse:collapse;margin:12px 0;font-size:92%}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}tr.win td{background:#e8f3ea;font-weight:bold}"
    "code{background:#f3f3f3;padding:0 3px}.verdict{background:#f7f7f2;border-left:4px solid #0072B2;"
    "padding:4px 12px}.meta{color:#555}nav a{margin-right:12px}";

static int run(int argc, char **argv)
{
    const char *dir = NULL;
    const cli_option opts[] = {{"out", 1, &dir}};
    cli_parse(&cmd_report, argc, argv, opts, 1, NULL, 0, NULL);
    if (!dir)
        cli_die("report", "--out DIR is required (the folder for index.html and the pictures)");
    if (!*dir)
        cli_die("--out", "the folder name is empty");
    make_dirs(dir);
    page p = {0};
    p.dir = dir;
    char *index = path_in(&p, "index.html");
    out(&p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>ravine lab report</title>\n<style>%s</style>\n</head>\n<body>\n", style);
    out(&p, "<h1>ravine lab report</h1>\n<p class=\"meta\">Made by <code>ravine report</code> "
            "(ravine %s). Every number and picture on this page was computed by ravine in that "
            "run: optimizers use the library's float32 update kernels (the same as "
            "<code>ravine trace</code> and <code>ravine race</code>), curvature is the surfaces' "
            "exact Hessian.</p>\n<nav><a href=\"#bowl\">bowl race</a><a href=\"#delivery\">delivery "
            "ravine</a><a href=\"#sweeps\">lr sweeps</a><a href=\"#schedules\">schedules</a><a "
            "href=\"#diagnosis\">diagnosis</a><a href=\"#memory\">memory</a><a "
            "href=\"#charlm\">language model</a><a href=\"#gpt\">GPT race</a></nav>\n",
        RAVINE_VERSION);
    section_bowl(&p);
    section_delivery(&p);
    section_sweeps(&p);
    section_schedules(&p);
    section_diagnosis(&p);
    section_memory(&p);
    section_charlm(&p);
    section_gpt(&p);
    out(&p, "</body>\n</html>\n");
    cli_write_file(index, p.html.data, p.html.len);
    svg_buf_free(&p.html);
    char cwd[4096];
    int relative = index[0] != '/' && getcwd(cwd, sizeof cwd);
    printf("report: %s%s%s (%d figures)\n", relative ? cwd : "", relative ? "/" : "", index,
           p.figures);
    free(index);
    return 0;
}

const cli_command cmd_report = {
    "report", "write the lab's HTML report on the seeds' problems (index.html + SVGs)",
    "ravine report --out DIR\n"
    "  Writes DIR/index.html (pictures inline) and each picture as DIR/*.svg: the bowl\n"
    "  race, the delivery ravine raw against standardized, lr sweeps, the four\n"
    "  schedules, diagnosed loss curves, the memory table, and DIR/charlm_compare.svg,\n"
    "  DIR/charlm_states.svg and DIR/gpt_race.svg when those files exist. Prints the\n"
    "  path of index.html.",
    run};
