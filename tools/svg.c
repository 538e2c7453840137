/* SVG chart writer (see svg.h). Coordinates are written with one decimal:
   a tenth of a pixel is finer than any screen shows. */
#include "svg.h"
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Okabe-Ito, reordered so the colours that read best on a pale background
   come first (yellow last). */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000", "#F0E442"};
#define N_PALETTE (sizeof palette / sizeof palette[0])

const char *svg_color(size_t i) { return palette[i % N_PALETTE]; }

void svg_printf(svg_buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int need = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? room : 0, fmt, ap);
        va_end(ap);
        if (need < 0)
            cli_die("svg", "formatting failed");
        if (b->data && (size_t)need < room) {
            b->len += (size_t)need;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= (size_t)need)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            cli_die("svg", "out of memory");
        b->data = grown;
        b->cap = cap;
    }
}

/* XML text: markup escaped; control bytes XML forbids and bytes that are
   not UTF-8 become U+FFFD, so the picture stays well-formed. */
void svg_escape(svg_buf *b, const char *text)
{
    for (const char *p = text; *p;) {
        unsigned char c = (unsigned char)*p;
        size_t k = cli_utf8_char(p);
        switch (c) {
        case '&': svg_printf(b, "&amp;"); break;
        case '<': svg_printf(b, "&lt;"); break;
        case '>': svg_printf(b, "&gt;"); break;
        case '"': svg_printf(b, "&quot;"); break;
        default:
            if (!k || (c < 0x20 && c != '\t' && c != '\n' && c != '\r'))
                svg_printf(b, "\xEF\xBF\xBD");
            else
                svg_printf(b, "%.*s", (int)k, p);
        }
        p += k ? k : 1;
    }
}

void svg_buf_free(svg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static char *copy_text(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        cli_die("svg", "out of memory");
    return d;
}

void svg_chart_init(svg_chart *c, double width, double height, const char *title,
                    const char *x_label, const char *y_label)
{
    static unsigned counter;
    memset(c, 0, sizeof *c);
    c->width = width;
    c->height = height;
    c->left = 72;
    c->right = 24;
    c->top = 52;
    c->bottom = 52;
    c->x0 = 0, c->x1 = 1, c->y0 = 0, c->y1 = 1;
    c->title = copy_text(title);
    c->x_label = copy_text(x_label);
    c->y_label = copy_text(y_label);
    snprintf(c->id, sizeof c->id, "rvc%u", ++counter);
}

void svg_chart_range(svg_chart *c, double x0, double x1, double y0, double y1)
{
    c->x0 = x0, c->x1 = x1, c->y0 = y0, c->y1 = y1;
}

void svg_chart_fit(svg_chart *c, const double *x, const double *y, size_t n, int first)
{
    int seen = !first;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]) || (c->log_x && x[i] <= 0) ||
            (c->log_y && y[i] <= 0))
            continue;
        if (!seen) {
            c->x0 = c->x1 = x[i];
            c->y0 = c->y1 = y[i];
            seen = 1;
            continue;
        }
        c->x0 = fmin(c->x0, x[i]), c->x1 = fmax(c->x1, x[i]);
        c->y0 = fmin(c->y0, y[i]), c->y1 = fmax(c->y1, y[i]);
    }
}

static double plot_x0(const svg_chart *c) { return c->left; }
static double plot_x1(const svg_chart *c) { return c->width - c->right; }
static double plot_y0(const svg_chart *c) { return c->top; }
static double plot_y1(const svg_chart *c) { return c->height - c->bottom; }

/* Position of v in [lo, hi] as a fraction, on a log or linear axis. */
static double frac(double v, double lo, double hi, int log_axis)
{
    if (log_axis)
        return (log10(v) - log10(lo)) / (log10(hi) - log10(lo));
    return (v - lo) / (hi - lo);
}

/* Keep off-chart points at a sane distance so renderers never see 1e300. */
static double clamp_px(double v, double lo, double hi)
{
    double pad = 4 * (hi - lo);
    if (!(v >= lo - pad))
        return lo - pad;
    return v > hi + pad ? hi + pad : v;
}

double svg_px(const svg_chart *c, double x)
{
    double f = frac(x, c->x0, c->x1, c->log_x);
    return clamp_px(plot_x0(c) + f * (plot_x1(c) - plot_x0(c)), plot_x0(c), plot_x1(c));
}

double svg_py(const svg_chart *c, double y)
{
    double f = frac(y, c->y0, c->y1, c->log_y);
    return clamp_px(plot_y1(c) - f * (plot_y1(c) - plot_y0(c)), plot_y0(c), plot_y1(c));
}

/* Make the range usable: not empty, positive on log axes, and for maps one
   unit as long on both axes. */
static void settle_range(svg_chart *c)
{
    if (c->log_x && !(c->x0 > 0))
        c->x0 = c->x1 > 0 ? c->x1 * 1e-3 : 1e-3;
    if (c->log_y && !(c->y0 > 0))
        c->y0 = c->y1 > 0 ? c->y1 * 1e-3 : 1e-3;
    if (!(c->x1 > c->x0)) {
        double m = c->log_x ? c->x0 : fabs(c->x0) * 0.1 + 1;
        c->x1 = c->log_x ? c->x0 * 10 : c->x0 + m, c->x0 = c->log_x ? c->x0 / 10 : c->x0 - m;
    }
    if (!(c->y1 > c->y0)) {
        double m = c->log_y ? c->y0 : fabs(c->y0) * 0.1 + 1;
        c->y1 = c->log_y ? c->y0 * 10 : c->y0 + m, c->y0 = c->log_y ? c->y0 / 10 : c->y0 - m;
    }
    if (c->equal_aspect && !c->log_x && !c->log_y) {
        double w = plot_x1(c) - plot_x0(c), h = plot_y1(c) - plot_y0(c);
        double sx = w / (c->x1 - c->x0), sy = h / (c->y1 - c->y0);
        if (sx < sy) {
            double mid = 0.5 * (c->y0 + c->y1), half = 0.5 * h / sx;
            c->y0 = mid - half, c->y1 = mid + half;
        } else {
            double mid = 0.5 * (c->x0 + c->x1), half = 0.5 * w / sy;
            c->x0 = mid - half, c->x1 = mid + half;
        }
    }
}

/* 1, 2 or 5 times a power of ten, giving about `target` ticks over span. */
static double nice_step(double span, int target)
{
    double raw = span / target, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void tick_label(svg_buf *b, double v, int log_axis)
{
    int k = (int)lround(log10(fabs(v) > 0 ? fabs(v) : 1));
    if (log_axis && fabs(v / pow(10, k) - 1) < 1e-9) {   /* a power of ten */
        if (k >= -2 && k <= 3)
            svg_printf(b, "%g", pow(10, k));
        else
            svg_printf(b, "10<tspan dy=\"-6\" font-size=\"9\">%d</tspan>", k);
        return;
    }
    if (fabs(v) < 1e-12)
        v = 0;
    svg_printf(b, "%g", v);
}

/* Tick values along one axis: returns count, fills ticks (at most cap). */
static int axis_ticks(double lo, double hi, int log_axis, int target, double *ticks, int cap)
{
    int n = 0;
    if (log_axis) {
        int k0 = (int)ceil(log10(lo) - 1e-9), k1 = (int)floor(log10(hi) + 1e-9);
        int every = (k1 - k0) / target + 1;
        for (int k = k0; k <= k1 && n < cap; k++)
            if (k % every == 0)   /* 10^-12, 10^-8, ...: round exponents */
                ticks[n++] = pow(10, k);
        if (n < 2) {   /* less than a decade: linear ticks inside it */
            n = 0;
            double step = nice_step(hi - lo, 4);
            for (double t = ceil(lo / step) * step; t <= hi * (1 + 1e-9) && n < cap; t += step)
                if (t > 0)
                    ticks[n++] = t;
        }
        return n;
    }
    double step = nice_step(hi - lo, target);
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step && n < cap; t += step)
        ticks[n++] = t;
    return n;
}

void svg_chart_begin(svg_chart *c)
{
    settle_range(c);
    svg_buf *b = &c->out;
    double X0 = plot_x0(c), X1 = plot_x1(c), Y0 = plot_y0(c), Y1 = plot_y1(c);
    /* the <svg> element itself is written by svg_chart_end, once the legend
       has said how wide the picture must be */
    svg_printf(b, "<title>");
    svg_escape(b, c->title);
    svg_printf(b, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    svg_printf(b, "<defs><clipPath id=\"%s-clip\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                  "height=\"%.1f\"/></clipPath></defs>\n",
               c->id, X0, Y0, X1 - X0, Y1 - Y0);
    svg_printf(b, "<text class=\"title\" x=\"%.1f\" y=\"22\" font-size=\"15\" font-weight=\"bold\" "
                  "fill=\"#222\">",
               X0);
    svg_escape(b, c->title);
    svg_printf(b, "</text>\n");
    if (c->subtitle && c->subtitle[0]) {
        svg_printf(b, "<text x=\"%.1f\" y=\"40\" fill=\"#555\">", X0);
        svg_escape(b, c->subtitle);
        svg_printf(b, "</text>\n");
    }
    /* grid and ticks */
    double ticks[64];
    int n = axis_ticks(c->x0, c->x1, c->log_x, (int)((X1 - X0) / 90) + 1, ticks, 64);
    svg_printf(b, "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
    for (int i = 0; i < n; i++)
        svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                   svg_px(c, ticks[i]), Y0, svg_px(c, ticks[i]), Y1);
    double yt[64];
    int m = axis_ticks(c->y0, c->y1, c->log_y, (int)((Y1 - Y0) / 60) + 1, yt, 64);
    for (int i = 0; i < m; i++)
        svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", X0,
                   svg_py(c, yt[i]), X1, svg_py(c, yt[i]));
    svg_printf(b, "</g>\n<g class=\"ticks\" fill=\"#333\">\n");
    for (int i = 0; i < n; i++) {
        svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", svg_px(c, ticks[i]),
                   Y1 + 17);
        tick_label(b, ticks[i], c->log_x);
        svg_printf(b, "</text>\n");
    }
    for (int i = 0; i < m; i++) {
        svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", X0 - 6,
                   svg_py(c, yt[i]) + 4);
        tick_label(b, yt[i], c->log_y);
        svg_printf(b, "</text>\n");
    }
    svg_printf(b, "</g>\n");
    svg_printf(b, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                  "font-size=\"13\" fill=\"#222\">",
               0.5 * (X0 + X1), c->height - 12);
    svg_escape(b, c->x_label);
    svg_printf(b, "</text>\n<text class=\"ylabel\" transform=\"translate(16 %.1f) rotate(-90)\" "
                  "text-anchor=\"middle\" font-size=\"13\" fill=\"#222\">",
               0.5 * (Y0 + Y1));
    svg_escape(b, c->y_label);
    svg_printf(b, "</text>\n");
    svg_printf(b, "<g clip-path=\"url(#%s-clip)\">\n", c->id);
}

void svg_chart_legend_add(svg_chart *c, const char *label, const char *color, int dashed,
                          int highlight, int marker)
{
    if (!label || c->n_legend >= SVG_MAX_LEGEND)
        return;
    svg_legend_entry *e = &c->legend[c->n_legend++];
    e->label = copy_text(label);
    e->color = color;
    e->dashed = dashed;
    e->highlight = highlight;
    e->marker = marker;
}

static int point_ok(const svg_chart *c, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!c->log_x || x > 0) && (!c->log_y || y > 0);
}

/* A value of exactly 0 or below on a log y axis (a run that reached the
   minimum) is drawn on the bottom edge rather than left out. */
static double floor_y(const svg_chart *c, double y)
{
    return c->log_y && isfinite(y) && y <= 0 ? c->y0 : y;
}

static void path_data(svg_chart *c, const double *x, const double *y, size_t n)
{
    int pen = 0;
    for (size_t i = 0; i < n; i++) {
        double yi = floor_y(c, y[i]);
        if (!point_ok(c, x[i], yi)) {
            pen = 0;
            continue;
        }
        svg_printf(&c->out, "%s%.1f %.1f", pen ? " L" : (i ? " M" : "M"), svg_px(c, x[i]),
                   svg_py(c, yi));
        pen = 1;
    }
}

void svg_chart_line_style(svg_chart *c, const double *x, const double *y, size_t n,
                          const char *color, double width, int dashed, const char *label)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += point_ok(c, x[i], floor_y(c, y[i]));
    svg_buf *b = &c->out;
    /* a white halo keeps the line readable over a heat map or other lines */
    svg_printf(b, "<path class=\"halo\" fill=\"none\" stroke=\"#ffffff\" stroke-opacity=\"0.8\" "
                  "stroke-width=\"%.1f\" stroke-linejoin=\"round\" stroke-linecap=\"round\" d=\"",
               width + 2.5);
    if (ok)
        path_data(c, x, y, n);
    else
        svg_printf(b, "M0 0");
    svg_printf(b, "\"/>\n<path class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
                  "stroke-linejoin=\"round\" stroke-linecap=\"round\"%s d=\"",
               color, width, dashed ? " stroke-dasharray=\"7 4\"" : "");
    if (ok)
        path_data(c, x, y, n);
    else
        svg_printf(b, "M0 0");
    svg_printf(b, "\"><title>");
    svg_escape(b, label ? label : "");
    svg_printf(b, "</title></path>\n");
    if (label)
        svg_chart_legend_add(c, label, color, dashed, width > 2.5, -1);
}

void svg_chart_line(svg_chart *c, const double *x, const double *y, size_t n, size_t color,
                    const char *label)
{
    svg_chart_line_style(c, x, y, n, svg_color(color), 2.0, 0, label);
}

static void marker_at(svg_buf *b, double px, double py, svg_marker shape, const char *color,
                      double r)
{
    switch (shape) {
    case SVG_MARK_SQUARE:
        svg_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                      "stroke=\"#ffffff\" stroke-width=\"1.5\"",
                   px - r, py - r, 2 * r, 2 * r, color);
        break;
    case SVG_MARK_STAR: {
        svg_printf(b, "<polygon fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\" points=\"", color);
        for (int k = 0; k < 10; k++) {
            double a = -M_PI / 2 + k * M_PI / 5, rr = k % 2 ? 0.45 * r * 1.5 : r * 1.5;
            svg_printf(b, "%s%.1f,%.1f", k ? " " : "", px + rr * cos(a), py + rr * sin(a));
        }
        svg_printf(b, "\"");
        break;
    }
    case SVG_MARK_CROSS:
        svg_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" d=\"M%.1f %.1f L%.1f "
                      "%.1f M%.1f %.1f L%.1f %.1f\"",
                   color, px - r, py - r, px + r, py + r, px - r, py + r, px + r, py - r);
        break;
    default:
        svg_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" stroke=\"#ffffff\" "
                      "stroke-width=\"1.5\"",
                   px, py, r, color);
    }
}

void svg_chart_marker(svg_chart *c, double x, double y, svg_marker shape, const char *color,
                      const char *title)
{
    if (!point_ok(c, x, y))
        return;
    svg_buf *b = &c->out;
    svg_printf(b, "<g class=\"marker\">");
    marker_at(b, svg_px(c, x), svg_py(c, y), shape, color, 5);
    svg_printf(b, "><title>");
    svg_escape(b, title ? title : "");
    svg_printf(b, "</title>%s\n", shape == SVG_MARK_STAR ? "</polygon></g>"
                                  : shape == SVG_MARK_SQUARE ? "</rect></g>"
                                  : shape == SVG_MARK_CROSS  ? "</path></g>"
                                                             : "</circle></g>");
}

static void ref_line(svg_chart *c, double x1, double y1, double x2, double y2, double tx,
                     double ty, const char *anchor, const char *label)
{
    svg_buf *b = &c->out;
    svg_printf(b, "<g class=\"reference\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                  "stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"3 3\"/>",
               x1, y1, x2, y2);
    if (label) {
        svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#333\" "
                      "font-size=\"11\">",
                   tx, ty, anchor);
        svg_escape(b, label);
        svg_printf(b, "</text>");
    }
    svg_printf(b, "</g>\n");
}

void svg_chart_vline(svg_chart *c, double x, const char *label)
{
    if (!point_ok(c, x, c->log_y ? c->y1 : 0))
        return;
    double px = svg_px(c, x);
    ref_line(c, px, plot_y0(c), px, plot_y1(c), px + 4, plot_y0(c) + 14, "start", label);
}

void svg_chart_hline(svg_chart *c, double y, const char *label)
{
    if (!point_ok(c, c->log_x ? c->x1 : 0, y))
        return;
    double py = svg_py(c, y);
    ref_line(c, plot_x0(c), py, plot_x1(c), py, plot_x1(c) - 4, py - 5, "end", label);
}

void svg_chart_legend(svg_chart *c)
{
    if (!c->n_legend)
        return;
    svg_buf *b = &c->out;
    double longest = 0;   /* text width estimate: ~7 px a character at 12 px, bold wider */
    for (size_t i = 0; i < c->n_legend; i++)
        longest = fmax(longest, (c->legend[i].highlight ? 7.6 : 7.0) *
                                    (double)strlen(c->legend[i].label));
    double row = 18, w = 48 + longest, h = row * (double)c->n_legend + 10;
    /* outside the plot when the right margin was made room for it */
    int outside = c->right >= 120;
    double x = outside ? plot_x1(c) + 12 : plot_x1(c) - w - 8;
    if (outside && x + w + 8 > c->width) {   /* widen the picture, not the plot */
        c->right += x + w + 8 - c->width;
        c->width = x + w + 8;
    }
    double y = plot_y0(c) + (outside ? 0 : 8);
    svg_printf(b, "</g>\n<g class=\"legend\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                  "height=\"%.1f\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\" rx=\"3\"/>\n",
               x, y, w, h);
    for (size_t i = 0; i < c->n_legend; i++) {
        const svg_legend_entry *e = &c->legend[i];
        double cy = y + 14 + row * (double)i;
        svg_printf(b, "<g class=\"legend-entry\">");
        if (e->marker >= 0) {
            marker_at(b, x + 20, cy - 4, (svg_marker)e->marker, e->color, 5);
            svg_printf(b, "/>");
        } else {
            svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                          "stroke-width=\"%s\"%s/>",
                       x + 8, cy - 4, x + 32, cy - 4, e->color, e->highlight ? "4" : "2.5",
                       e->dashed ? " stroke-dasharray=\"7 4\"" : "");
        }
        svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\"%s>", x + 38, cy,
                   e->highlight ? " font-weight=\"bold\"" : "");
        svg_escape(b, e->label);
        svg_printf(b, "</text></g>\n");
    }
    /* reopen the clipped group so svg_chart_end closes the same structure */
    svg_printf(b, "</g>\n<g>\n");
}

/* ---- heat map and contours ------------------------------------------- */

/* Pale sequential ramp (low = near the minimum): light enough that the
   palette's trajectories stay readable on top of it. */
static void ramp(double t, int *r, int *g, int *bl)
{
    static const int stops[4][3] = {{252, 252, 246}, {226, 234, 238}, {190, 205, 218}, {150, 168, 189}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double s = t * 3;
    int k = s >= 3 ? 2 : (int)s;
    double u = s - k;
    *r = (int)lround(stops[k][0] + u * (stops[k + 1][0] - stops[k][0]));
    *g = (int)lround(stops[k][1] + u * (stops[k + 1][1] - stops[k][1]));
    *bl = (int)lround(stops[k][2] + u * (stops[k + 1][2] - stops[k][2]));
}

/* Interpolated crossing of level on the edge from a (value va) to b (vb). */
static double cross(double a, double b, double va, double vb, double level)
{
    double t = (level - va) / (vb - va);
    return a + t * (b - a);
}

void svg_chart_heatmap(svg_chart *c, svg_field_fn f, void *ctx, int nx, int ny, int n_levels)
{
    if (nx < 2 || ny < 2 || nx > 2000 || ny > 2000)
        return;
    svg_buf *b = &c->out;
    size_t nn = (size_t)(nx + 1) * (size_t)(ny + 1);
    double *v = malloc(nn * sizeof *v);
    if (!v)
        cli_die("svg", "out of memory");
    double dx = (c->x1 - c->x0) / nx, dy = (c->y1 - c->y0) / ny;
    double vmin = INFINITY, vmax = -INFINITY;
    for (int j = 0; j <= ny; j++)
        for (int i = 0; i <= nx; i++) {
            double val = f(ctx, c->x0 + i * dx, c->y0 + j * dy);
            v[(size_t)j * (size_t)(nx + 1) + (size_t)i] = val;
            if (isfinite(val))
                vmin = fmin(vmin, val), vmax = fmax(vmax, val);
        }
    if (!(vmax > vmin)) {
        free(v);
        return;
    }
    /* colour by log(1 + (f - min)/scale): detail near the minimum, where the optimizers end */
    double span = vmax - vmin, scale = span * 1e-3, top = log1p(span / scale);
#define V(i, j) v[(size_t)(j) * (size_t)(nx + 1) + (size_t)(i)]
    svg_printf(b, "<g class=\"heatmap\" shape-rendering=\"crispEdges\">\n");
    for (int j = 0; j < ny; j++) {
        int run_start = 0, run_q = -1;
        for (int i = 0; i <= nx; i++) {
            int q = -1;
            if (i < nx) {
                double avg = 0.25 * (V(i, j) + V(i + 1, j) + V(i, j + 1) + V(i + 1, j + 1));
                q = isfinite(avg) ? (int)lround(24 * log1p((avg - vmin) / scale) / top) : -1;
            }
            if (q == run_q)
                continue;
            if (run_q >= 0) {
                int r, g, bl;
                ramp(run_q / 24.0, &r, &g, &bl);
                double px0 = svg_px(c, c->x0 + run_start * dx), px1 = svg_px(c, c->x0 + i * dx);
                double py0 = svg_py(c, c->y0 + (j + 1) * dy), py1 = svg_py(c, c->y0 + j * dy);
                svg_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                              "fill=\"#%02x%02x%02x\"/>\n",
                           px0, py0, px1 - px0 + 0.5, py1 - py0 + 0.5, r, g, bl);
            }
            run_q = q;
            run_start = i;
        }
    }
    svg_printf(b, "</g>\n");
    /* contour levels spaced evenly on the same log scale as the colours */
    for (int l = 1; l <= n_levels; l++) {
        double level = vmin + scale * expm1(top * l / (n_levels + 1.0));
        svg_printf(b, "<path class=\"contour\" fill=\"none\" stroke=\"#5a6878\" "
                      "stroke-opacity=\"0.65\" stroke-width=\"0.8\" d=\"");
        int any = 0;
        for (int j = 0; j < ny; j++)
            for (int i = 0; i < nx; i++) {
                double a = V(i, j), bb = V(i + 1, j), cc = V(i + 1, j + 1), d = V(i, j + 1);
                if (!isfinite(a) || !isfinite(bb) || !isfinite(cc) || !isfinite(d))
                    continue;
                int idx = (a > level) | (bb > level) << 1 | (cc > level) << 2 | (d > level) << 3;
                if (idx == 0 || idx == 15)
                    continue;
                double x0 = c->x0 + i * dx, x1 = x0 + dx, y0 = c->y0 + j * dy, y1 = y0 + dy;
                /* edge crossings: bottom (a-b), right (b-c), top (d-c), left (a-d) */
                double ex[4], ey[4];
                ex[0] = cross(x0, x1, a, bb, level), ey[0] = y0;
                ex[1] = x1, ey[1] = cross(y0, y1, bb, cc, level);
                ex[2] = cross(x0, x1, d, cc, level), ey[2] = y1;
                ex[3] = x0, ey[3] = cross(y0, y1, a, d, level);
                int segs[2][2], ns = 0;
                int above_center = 0.25 * (a + bb + cc + d) > level;
                switch (idx) {
                case 1: case 14: segs[0][0] = 3, segs[0][1] = 0, ns = 1; break;
                case 2: case 13: segs[0][0] = 0, segs[0][1] = 1, ns = 1; break;
                case 3: case 12: segs[0][0] = 3, segs[0][1] = 1, ns = 1; break;
                case 4: case 11: segs[0][0] = 1, segs[0][1] = 2, ns = 1; break;
                case 6: case 9:  segs[0][0] = 0, segs[0][1] = 2, ns = 1; break;
                case 7: case 8:  segs[0][0] = 3, segs[0][1] = 2, ns = 1; break;
                case 5: case 10: /* saddle: the centre decides which corners connect */
                    if ((idx == 5) == above_center)
                        segs[0][0] = 3, segs[0][1] = 2, segs[1][0] = 0, segs[1][1] = 1;
                    else
                        segs[0][0] = 3, segs[0][1] = 0, segs[1][0] = 1, segs[1][1] = 2;
                    ns = 2;
                    break;
                }
                for (int s = 0; s < ns; s++) {
                    svg_printf(b, "%sM%.1f %.1fL%.1f %.1f", any ? " " : "",
                               svg_px(c, ex[segs[s][0]]), svg_py(c, ey[segs[s][0]]),
                               svg_px(c, ex[segs[s][1]]), svg_py(c, ey[segs[s][1]]));
                    any = 1;
                }
            }
        if (!any)
            svg_printf(b, "M0 0");
        svg_printf(b, "\"/>\n");
    }
#undef V
    free(v);
}

void svg_chart_end(svg_chart *c)
{
    svg_buf *b = &c->out;
    svg_printf(b, "</g>\n<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                  "fill=\"none\" stroke=\"#444\" stroke-width=\"1\"/>\n</svg>\n",
               plot_x0(c), plot_y0(c), plot_x1(c) - plot_x0(c), plot_y1(c) - plot_y0(c));
    svg_buf head = {0};
    svg_printf(&head,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
               "font-size=\"12\">\n",
               c->width, c->height, c->width, c->height);
    svg_printf(b, "%*s", (int)head.len, "");   /* room for the header */
    memmove(b->data + head.len, b->data, b->len - head.len);
    memcpy(b->data, head.data, head.len);
    svg_buf_free(&head);
}

void svg_chart_subtitle(svg_chart *c, const char *text)
{
    free(c->subtitle);
    c->subtitle = copy_text(text);
}

void svg_chart_free(svg_chart *c)
{
    svg_buf_free(&c->out);
    free(c->title);
    free(c->subtitle);
    free(c->x_label);
    free(c->y_label);
    for (size_t i = 0; i < c->n_legend; i++)
        free(c->legend[i].label);
    memset(c, 0, sizeof *c);
}
