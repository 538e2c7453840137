/* A small SVG chart writer for the CLI's pictures: axes with "nice" ticks
   (linear or log), polylines, markers, a legend, and a heat map with
   contour lines of a 2-D function (marching squares). Output goes to a
   growing string so the same picture can be written to a file and inlined
   into an HTML page.

       svg_chart c;
       svg_chart_init(&c, 640, 420, "Loss on the bowl", "step", "loss");
       svg_chart_range(&c, 0, 100, 1e-6, 20);
       c.log_y = 1;
       svg_chart_begin(&c);                          // frame, grid, ticks, labels
       svg_chart_line(&c, steps, loss, 101, 0, "adam(lr=0.1)");
       svg_chart_legend(&c);
       svg_chart_end(&c);                            // c.out.data holds the SVG
       cli_write_file("loss.svg", c.out.data, c.out.len);
       svg_chart_free(&c);

   Series colours come from the Okabe-Ito palette (safe for the common
   colour-vision deficiencies) by index; every series is one <path> with
   class "series" and every legend entry a <g class="legend-entry">, so
   tests can count them. */
#ifndef RAVINE_TOOLS_SVG_H
#define RAVINE_TOOLS_SVG_H

#include <stddef.h>

#define SVG_MAX_LEGEND 16

typedef struct svg_buf {
    char *data;
    size_t len, cap;
} svg_buf;

/* Append formatted text (dies on out of memory, as the CLI does). */
void svg_printf(svg_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append text with &, <, >, " escaped. */
void svg_escape(svg_buf *b, const char *text);
void svg_buf_free(svg_buf *b);

/* The i-th series colour (#rrggbb), cycling through the palette. */
const char *svg_color(size_t i);

typedef enum svg_marker { SVG_MARK_CIRCLE, SVG_MARK_SQUARE, SVG_MARK_STAR, SVG_MARK_CROSS } svg_marker;

typedef struct svg_legend_entry {
    char *label;
    const char *color;
    int dashed, highlight;
    int marker;             /* -1: a line sample; else an svg_marker */
} svg_legend_entry;

typedef struct svg_chart {
    svg_buf out;
    double width, height;
    double left, right, top, bottom;  /* margins around the plot area */
    double x0, x1, y0, y1;            /* data range */
    int log_x, log_y;
    int equal_aspect;                 /* contour maps: one unit is as long on both axes */
    char *title, *subtitle, *x_label, *y_label;   /* owned; subtitle may stay NULL */
    char id[40];                      /* unique prefix for clip paths (inline pages) */
    svg_legend_entry legend[SVG_MAX_LEGEND];
    size_t n_legend;
} svg_chart;

void svg_chart_init(svg_chart *c, double width, double height, const char *title,
                    const char *x_label, const char *y_label);
void svg_chart_range(svg_chart *c, double x0, double x1, double y0, double y1);
/* Widen the range to include the finite points of a series (positive ones on log axes). */
void svg_chart_fit(svg_chart *c, const double *x, const double *y, size_t n, int first);
/* Open the picture: background, title, grid, ticks, axis labels, clip path. */
void svg_chart_begin(svg_chart *c);
/* Data coordinates to picture coordinates. */
double svg_px(const svg_chart *c, double x);
double svg_py(const svg_chart *c, double y);

/* A series: one path, broken where a value is NaN/inf (or <= 0 on a log
   axis). label NULL: no legend entry. */
void svg_chart_line(svg_chart *c, const double *x, const double *y, size_t n, size_t color,
                    const char *label);
/* The same with a chosen colour, width and dash (highlight draws it bold). */
void svg_chart_line_style(svg_chart *c, const double *x, const double *y, size_t n,
                          const char *color, double width, int dashed, const char *label);
void svg_chart_marker(svg_chart *c, double x, double y, svg_marker shape, const char *color,
                      const char *title);
/* A vertical reference line with a label at the top. */
void svg_chart_vline(svg_chart *c, double x, const char *label);
void svg_chart_hline(svg_chart *c, double y, const char *label);
/* Add a legend entry without drawing (for markers). */
void svg_chart_legend_add(svg_chart *c, const char *label, const char *color, int dashed,
                          int highlight, int marker);
/* Draw the legend in the top-right corner of the plot area. */
void svg_chart_legend(svg_chart *c);

/* Heat map of f over the data range on an nx x ny grid of cells, coloured
   on a log scale of (f - fmin), with n_levels contour lines (marching
   squares) at log-spaced levels. f returns NaN outside its domain. */
typedef double (*svg_field_fn)(void *ctx, double x, double y);
void svg_chart_heatmap(svg_chart *c, svg_field_fn f, void *ctx, int nx, int ny, int n_levels);

/* Set the line under the title (copied). */
void svg_chart_subtitle(svg_chart *c, const char *text);
/* Close the picture. */
void svg_chart_end(svg_chart *c);
void svg_chart_free(svg_chart *c);

/* ---- the lab's pictures (built in cmd_plot.c; used by plot and report) -- */

#include "ravine/ravine.h"

/* One optimizer's run on a surface: rows 0..steps of x, y, loss. */
typedef struct plot_run {
    char *label;
    long steps;
    double *step, *x, *y, *loss;
} plot_run;

/* Run optim on s (dies naming the spec on errors). */
void plot_run_trace(plot_run *r, const rv_surface *s, const char *optim,
                    const rv_schedule *sched, const double start[2], long steps);
void plot_run_free(plot_run *r);

/* Heat map and contours of s over its window, each run's path with its
   start (circle) and end (square) marked, and a legend. */
void plot_contour(svg_chart *c, const rv_surface *s, const plot_run *runs, size_t n);
/* Loss against step for each run (log_y: log scale), minus `floor` (the
   surface's least loss, so runs that converge to it keep falling on a log
   scale; 0 plots the loss itself). threshold > 0 draws a dotted line there. */
void plot_loss(svg_chart *c, const plot_run *runs, size_t n, int log_y, double floor,
               double threshold);
/* Learning rate against step for each schedule; `highlight` drawn bold. */
void plot_schedules(svg_chart *c, rv_schedule *const *scheds, const char *const *labels, size_t n,
                    long steps, size_t highlight);
/* Final loss after `steps` updates against lr for each optimizer (log-log).
   final[i * n_lr + k] is optimizer i at lrs[k]; non-finite means diverged
   and is drawn as a cross on the top edge. lr_max > 0 draws SGD's 2/lambda_max. */
void plot_sweep(svg_chart *c, const char *const *labels, size_t n_optims, const double *lrs,
                size_t n_lr, const double *final, double lr_max);
/* The final losses for plot_sweep: spec with lr replaced by each of lrs. */
void plot_sweep_run(const rv_surface *s, const char *optim, const double start[2], long steps,
                    const double *lrs, size_t n_lr, double *final);

#endif
