/* ravine plot: SVG pictures of the lab — contour maps with optimizer paths,
   loss curves, schedules and learning-rate sweeps. Every number drawn is
   computed here by the library (rv_lab_trace, rv_lab_race_one,
   rv_schedule_lr); svg.c only draws. */
#include "commands.h"
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 12
#define MAX_LRS 64

/* ---- runs ------------------------------------------------------------- */

void plot_run_trace(plot_run *r, const rv_surface *s, const char *optim,
                    const rv_schedule *sched, const double start[2], long steps)
{
    memset(r, 0, sizeof *r);
    r->label = cli_strf("%s", optim);
    r->steps = steps;
    size_t rows = (size_t)steps + 1;
    double *buf = malloc(rows * 3 * sizeof *buf), *all = malloc(rows * 4 * sizeof *all);
    if (!buf || !all)
        cli_die("plot", "out of memory for %ld steps", steps);
    rv_status st = rv_lab_trace(s, optim, sched, start, steps, buf);
    if (st)
        cli_die_status(optim, st);
    r->step = all, r->x = all + rows, r->y = all + 2 * rows, r->loss = all + 3 * rows;
    for (size_t k = 0; k < rows; k++) {
        r->step[k] = (double)k;
        r->x[k] = buf[3 * k], r->y[k] = buf[3 * k + 1], r->loss[k] = buf[3 * k + 2];
    }
    free(buf);
}

void plot_run_free(plot_run *r)
{
    free(r->label);
    free(r->step);
    memset(r, 0, sizeof *r);
}

/* ---- pictures --------------------------------------------------------- */

static double surface_value(void *ctx, double x, double y)
{
    double p[2] = {x, y}, f;
    return rv_surface_eval(ctx, p, &f, NULL, NULL) == RV_OK ? f : NAN;
}

void plot_contour(svg_chart *c, const rv_surface *s, const plot_run *runs, size_t n)
{
    double lo[2], hi[2];
    rv_surface_window(s, lo, hi);
    svg_chart_range(c, lo[0], hi[0], lo[1], hi[1]);
    c->equal_aspect = 1;
    if (n && c->right < 120)
        c->right = 200;
    svg_chart_begin(c);
    svg_chart_heatmap(c, surface_value, (void *)s, 120, 80, 12);
    double xm[2], fm;
    if (rv_surface_minimum(s, xm, &fm)) {
        svg_chart_marker(c, xm[0], xm[1], SVG_MARK_STAR, "#222222", "minimum");
        svg_chart_legend_add(c, "minimum", "#222222", 0, 0, SVG_MARK_STAR);
    }
    for (size_t i = 0; i < n; i++) {
        const plot_run *r = &runs[i];
        svg_chart_line(c, r->x, r->y, (size_t)r->steps + 1, i, r->label);
        svg_chart_marker(c, r->x[0], r->y[0], SVG_MARK_CIRCLE, svg_color(i), "start");
        /* the end: the last finite point of the path */
        long k = r->steps;
        while (k > 0 && !(isfinite(r->x[k]) && isfinite(r->y[k])))
            k--;
        char *title = cli_strf("%s after %ld steps: loss %.9g", r->label, k, r->loss[k]);
        svg_chart_marker(c, r->x[k], r->y[k], SVG_MARK_SQUARE, svg_color(i), title);
        free(title);
    }
    if (n) {
        svg_chart_legend_add(c, "start", "#555555", 0, 0, SVG_MARK_CIRCLE);
        svg_chart_legend_add(c, "end", "#555555", 0, 0, SVG_MARK_SQUARE);
    }
    svg_chart_legend(c);
}

void plot_loss(svg_chart *c, const plot_run *runs, size_t n, int log_y, double floor,
               double threshold)
{
    c->log_y = log_y;
    int first = 1;
    double *excess[MAX_SERIES];
    if (n > MAX_SERIES)
        n = MAX_SERIES;
    for (size_t i = 0; i < n; i++) {
        size_t rows = (size_t)runs[i].steps + 1;
        excess[i] = malloc(rows * sizeof *excess[i]);
        if (!excess[i])
            cli_die("plot", "out of memory");
        for (size_t k = 0; k < rows; k++)
            excess[i][k] = runs[i].loss[k] - floor;
        svg_chart_fit(c, runs[i].step, excess[i], rows, first);
        first = 0;
    }
    if (log_y && c->y1 > 0) {
        /* diverging runs would squash everything else: cap at 1e4 x the largest start */
        double top = 0;
        for (size_t i = 0; i < n; i++)
            top = fmax(top, excess[i][0]);
        if (top > 0 && c->y1 > top * 1e4)
            c->y1 = top * 1e4;
        if (c->y0 < c->y1 * 1e-16)
            c->y0 = c->y1 * 1e-16;
    }
    if (!log_y && c->y0 > 0)
        c->y0 = 0;   /* a linear loss axis starts at 0, so a stall looks flat */
    if (!log_y && c->y1 > c->y0)
        c->y1 += 0.05 * (c->y1 - c->y0);   /* headroom: a flat line off the frame */
    if (c->right < 120 && n)
        c->right = 200;
    svg_chart_begin(c);
    if (threshold > floor) {
        char label[64];
        snprintf(label, sizeof label, "loss %.9g", threshold);
        svg_chart_hline(c, threshold - floor, label);
    }
    for (size_t i = 0; i < n; i++) {
        svg_chart_line(c, runs[i].step, excess[i], (size_t)runs[i].steps + 1, i, runs[i].label);
        free(excess[i]);
    }
    svg_chart_legend(c);
}

void plot_schedules(svg_chart *c, rv_schedule *const *scheds, const char *const *labels, size_t n,
                    long steps, size_t highlight)
{
    double *t = malloc((size_t)steps * sizeof *t), *lr = malloc((size_t)steps * sizeof *lr);
    if (!t || !lr)
        cli_die("plot", "out of memory");
    for (long k = 0; k < steps; k++)
        t[k] = (double)k;
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        for (long k = 0; k < steps; k++)
            lr[k] = rv_schedule_lr(scheds[i], k);
        svg_chart_fit(c, t, lr, (size_t)steps, first);
        first = 0;
    }
    if (!c->log_y)
        c->y0 = fmin(c->y0, 0);
    c->y1 *= 1.05;
    if (c->right < 120)
        c->right = 250;
    svg_chart_begin(c);
    for (size_t pass = 0; pass < 2; pass++)   /* the highlighted schedule last, on top */
        for (size_t i = 0; i < n; i++) {
            if ((i == highlight) != (pass == 1))
                continue;
            for (long k = 0; k < steps; k++)
                lr[k] = rv_schedule_lr(scheds[i], k);
            if (i == highlight)
                svg_chart_line_style(c, t, lr, (size_t)steps, svg_color(i), 4.0, 0, labels[i]);
            else
                svg_chart_line_style(c, t, lr, (size_t)steps, svg_color(i), 2.0, i % 2,
                                     labels[i]);
        }
    svg_chart_legend(c);
    free(t);
    free(lr);
}

void plot_sweep_run(const rv_surface *s, const char *optim, const double start[2], long steps,
                    const double *lrs, size_t n_lr, double *final)
{
    const rv_optim_type *type;
    rv_hparams h;
    rv_status st = rv_hparams_parse(optim, &type, &h);
    if (st)
        cli_die_status("--optims", st);
    for (size_t k = 0; k < n_lr; k++) {
        h.lr = lrs[k];
        char *spec = cli_optim_text(type, &h);
        rv_race_result res;
        if ((st = rv_lab_race_one(s, spec, NULL, start, steps, 0.0, &res)))
            cli_die_status(optim, st);
        free(spec);
        final[k] = res.diverged ? INFINITY : res.final_loss;
    }
}

void plot_sweep(svg_chart *c, const char *const *labels, size_t n_optims, const double *lrs,
                size_t n_lr, const double *final, double lr_max)
{
    c->log_x = c->log_y = 1;
    int first = 1;
    for (size_t i = 0; i < n_optims; i++) {
        svg_chart_fit(c, lrs, final + i * n_lr, n_lr, first);
        first = 0;
    }
    c->x0 = lrs[0], c->x1 = lrs[n_lr - 1];
    c->y1 *= 10;
    c->y0 /= 10;
    if (c->right < 120)
        c->right = 200;
    svg_chart_begin(c);
    if (lr_max > 0) {
        char label[64];
        snprintf(label, sizeof label, "2/λmax = %.3g", lr_max);
        svg_chart_vline(c, lr_max, label);
    }
    for (size_t i = 0; i < n_optims; i++) {
        const double *f = final + i * n_lr;
        svg_chart_line(c, lrs, f, n_lr, i, labels[i]);
        for (size_t k = 0; k < n_lr; k++) {
            char *title;
            if (isfinite(f[k])) {
                title = cli_strf("%s lr=%.3g: final loss %.9g", labels[i], lrs[k], f[k]);
                svg_chart_marker(c, lrs[k], f[k], SVG_MARK_CIRCLE, svg_color(i), title);
            } else {
                title = cli_strf("%s lr=%.3g: diverged", labels[i], lrs[k]);
                svg_chart_marker(c, lrs[k], c->y1 / 1.5, SVG_MARK_CROSS, svg_color(i), title);
            }
            free(title);
        }
    }
    svg_chart_legend_add(c, "diverged", "#555555", 0, 0, SVG_MARK_CROSS);
    svg_chart_legend(c);
}

/* ---- the command ------------------------------------------------------ */

static void finish(svg_chart *c, const char *out)
{
    svg_chart_end(c);
    cli_write_file(out ? out : "-", c->out.data, c->out.len);
    if (out && strcmp(out, "-"))
        fprintf(stderr, "wrote %s\n", out);
    svg_chart_free(c);
}

/* At most MAX_SERIES specs: a picture holds that many series, and more is
   an error, not a silent cut. *copy is the split text (free it). */
static size_t split_specs(const char *what, const char *text, char **copy, char **items)
{
    if (!(*copy = strdup(text)))
        cli_die(what, "out of memory");
    size_t n = cli_split(what, *copy, ';', items, MAX_SERIES);
    if (!n)
        cli_die(what, "'%s': expected one or more specs separated by ';'", cli_echo(text));
    return n;
}

static const char *const seed_schedules[] = {
    "step(lr=1e-3, step_size=300, gamma=0.3)",
    "cosine(lr=1e-3, t_max=1000)",
    "linear(lr=1e-3, start_factor=0.01, total_iters=100)",
    "warmup_cosine(peak=1e-3, warmup_steps=100, decay_steps=1000)",
};

static int run(int argc, char **argv)
{
    const char *surface = NULL, *optims = NULL, *start_text = NULL, *steps_text = NULL,
               *out = NULL, *log_flag = NULL, *schedules = NULL, *highlight_text = NULL,
               *lrs_text = NULL, *title = NULL, *threshold_text = NULL, *kind = NULL;
    const cli_option opts[] = {
        {"surface", 1, &surface}, {"optims", 1, &optims},       {"start", 1, &start_text},
        {"steps", 1, &steps_text}, {"out", 1, &out},            {"log", 0, &log_flag},
        {"schedules", 1, &schedules}, {"highlight", 1, &highlight_text},
        {"lrs", 1, &lrs_text},    {"title", 1, &title},         {"threshold", 1, &threshold_text},
    };
    size_t np = 0;
    cli_parse(&cmd_plot, argc, argv, opts, sizeof opts / sizeof opts[0], &kind, 1, &np);
    if (!np)
        cli_die("plot", "what to plot is required: contour, loss, schedule or sweep");
    long steps = steps_text ? cli_parse_long("--steps", steps_text, 1, 1000000) : 0;
    char *copy = NULL, *items[MAX_SERIES];
    svg_chart c;

    if (!strcmp(kind, "schedule")) {
        size_t n = 0;
        const char *specs[MAX_SERIES];
        if (schedules) {
            n = split_specs("--schedules", schedules, &copy, items);
            for (size_t i = 0; i < n; i++)
                specs[i] = items[i];
        } else {
            for (; n < 4; n++)
                specs[n] = seed_schedules[n];
        }
        size_t highlight = highlight_text
                               ? (size_t)cli_parse_long("--highlight", highlight_text, 1, (long)n) - 1
                               : (schedules ? n : 3);
        rv_schedule *sched[MAX_SERIES];
        for (size_t i = 0; i < n; i++) {
            rv_status st = rv_schedule_parse(specs[i], &sched[i]);
            if (st)
                cli_die_status("--schedules", st);
        }
        svg_chart_init(&c, 760, 420, title ? title : "Learning-rate schedules", "step", "learning rate");
        c.log_y = log_flag != NULL;
        plot_schedules(&c, sched, specs, n, steps ? steps : 1000, highlight);
        for (size_t i = 0; i < n; i++)
            rv_schedule_free(sched[i]);
        finish(&c, out);
        free(copy);
        return 0;
    }

    if (strcmp(kind, "contour") && strcmp(kind, "loss") && strcmp(kind, "sweep")) {
        static const char *const kinds[] = {"contour", "loss", "schedule", "sweep", NULL};
        const char *near = rv_closest_word(kind, kinds);
        if (near)
            cli_die("plot", "unknown picture '%s' (did you mean '%s'?)", kind, near);
        cli_die("plot", "unknown picture '%s': contour, loss, schedule or sweep", kind);
    }
    if (!surface)
        cli_die("plot", "--surface SPEC is required for a %s picture", kind);
    rv_surface *s;
    rv_status st = rv_surface_parse(surface, &s);
    if (st)
        cli_die_status("--surface", st);
    double start[2];
    if (start_text) {
        double v[3];
        if (cli_parse_numbers("--start", start_text, v, 3) != 2)
            cli_die("--start", "'%s': expected X,Y (two numbers)", start_text);
        start[0] = v[0], start[1] = v[1];
    } else {
        rv_surface_default_start(s, start);
    }
    char *name = cli_surface_text(s);
    size_t n = optims ? split_specs("--optims", optims, &copy, items) : 0;
    if (!n && strcmp(kind, "contour"))
        cli_die("plot", "--optims 'SPEC;SPEC;...' is required for a %s picture", kind);

    if (!strcmp(kind, "sweep")) {
        double lrs[MAX_LRS];
        size_t n_lr = 0;
        if (lrs_text) {
            n_lr = cli_parse_numbers("--lrs", lrs_text, lrs, MAX_LRS);
        } else {
            for (; n_lr < 13; n_lr++)
                lrs[n_lr] = 1e-3 * pow(10, n_lr / 4.0);   /* 1e-3 .. 1, 4 per decade */
        }
        for (size_t k = 0; k < n_lr; k++)
            if (!(lrs[k] > 0) || (k && lrs[k] <= lrs[k - 1]))
                cli_die("--lrs", "'%s': learning rates must be positive and increasing",
                        lrs_text ? lrs_text : "");
        double *final = malloc(n * n_lr * sizeof *final);
        if (!final)
            cli_die("plot", "out of memory");
        for (size_t i = 0; i < n; i++)
            plot_sweep_run(s, items[i], start, steps ? steps : 100, lrs, n_lr, final + i * n_lr);
        char *t = cli_strf("Final loss after %ld steps on %s", steps ? steps : 100, name);
        svg_chart_init(&c, 760, 440, title ? title : t, "learning rate", "final loss");
        free(t);
        double lr_max = 0;
        rv_curvature cv;
        if (rv_surface_curvature(s, start, &cv) == RV_OK && isfinite(cv.sgd_lr_max))
            lr_max = cv.sgd_lr_max;
        plot_sweep(&c, (const char *const *)items, n, lrs, n_lr, final, lr_max);
        free(final);
        rv_surface_free(s);
        finish(&c, out);
        free(name);
        free(copy);
        return 0;
    }

    plot_run runs[MAX_SERIES];
    for (size_t i = 0; i < n; i++)
        plot_run_trace(&runs[i], s, items[i], NULL, start, steps ? steps : 100);
    char *t;
    if (!strcmp(kind, "contour")) {
        t = cli_strf("Optimizer paths on %s", name);
        svg_chart_init(&c, 760, 480, title ? title : t, "x", "y");
        plot_contour(&c, s, runs, n);
    } else {
        double threshold = threshold_text ? cli_parse_double("--threshold", threshold_text) : 0;
        t = cli_strf("Loss on %s", name);
        /* on a log scale, plot the loss above the surface's minimum when it is known */
        double xm[2], fm = 0;
        int above = log_flag && rv_surface_minimum(s, xm, &fm) && fm != 0;
        svg_chart_init(&c, 760, 420, title ? title : t, "step",
                       above ? "loss above the minimum" : "loss");
        plot_loss(&c, runs, n, log_flag != NULL, above ? fm : 0, threshold);
    }
    for (size_t i = 0; i < n; i++)
        plot_run_free(&runs[i]);
    rv_surface_free(s);
    finish(&c, out);
    free(t);
    free(name);
    free(copy);
    return 0;
}

const cli_command cmd_plot = {
    "plot", "draw the lab as SVG: contour maps with paths, loss curves, schedules, lr sweeps",
    "ravine plot contour|loss|schedule|sweep [options] [--out FILE.svg]\n"
    "  contour  --surface SPEC [--optims 'SPEC;SPEC;...'] [--start X,Y] [--steps N]\n"
    "           heat map and contours of the surface, each optimizer's path (start o, end [])\n"
    "  loss     --surface SPEC --optims '...' [--start X,Y] [--steps N] [--log] [--threshold T]\n"
    "  schedule [--schedules 'SPEC;SPEC;...'] [--steps N] [--highlight K] [--log]\n"
    "           default: the seed's step, cosine, warmup and warmup+cosine (highlighted)\n"
    "  sweep    --surface SPEC --optims '...' [--lrs A,B,...] [--steps N] [--start X,Y]\n"
    "           final loss against lr, log-log (default lrs 1e-3..1, 4 per decade);\n"
    "           each optimizer's spec keeps its keys, lr is replaced\n"
    "  --steps defaults to 100 (1000 for schedules); --title replaces the title;\n"
    "  without --out (or with --out -) the SVG goes to stdout.",
    run};
