/* common/svg.h — a small line-chart writer for the examples: curves,
   reference lines, axes, ticks, labels and a legend, as a standalone SVG.

       ex_series s[] = {{"adamw", steps, losses, n}};
       ex_hline b[] = {{"5-gram", 1.75}};
       ex_svg_chart("out.svg", "title", "step", "loss", s, 1, b, 1);

   ex_svg_charts stacks several panels (the same runs against steps and
   against seconds, say) under one title, with one legend taken from the
   first panel's series.

   The y range covers the curves' final values and the reference lines and
   is clipped above (early losses near log V would squash the interesting
   part), so every curve's end and every baseline stay readable. */
#ifndef EXAMPLES_COMMON_SVG_H
#define EXAMPLES_COMMON_SVG_H

#include <math.h>
#include <stdio.h>

typedef struct ex_series {
    const char *label;
    const double *x, *y;
    size_t n;
    int dashed;
    int color;   /* index into the palette; series may share one */
} ex_series;

typedef struct ex_hline {
    const char *label;
    double y;
} ex_hline;

/* One panel: its axes, curves and reference lines. */
typedef struct ex_panel {
    const char *xlabel, *ylabel;
    const ex_series *series;
    size_t ns;
    const ex_hline *lines;
    size_t nh;
} ex_panel;

static inline void ex_svg_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

/* A "nice" tick spacing (1, 2 or 5 times a power of ten) for about n ticks. */
static inline double ex_nice_step(double range, int n)
{
    double raw = range / n, p = pow(10, floor(log10(raw))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

static const char *const ex_palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                         "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

static inline const char *ex_color(int i)
{
    return ex_palette[(size_t)i % (sizeof ex_palette / sizeof ex_palette[0])];
}

/* Draw panel c (index id, for its clip path) with its plot area at
   (left, top), pw x ph. */
static inline void ex_svg_panel(FILE *f, const ex_panel *c, int id, double left, double top,
                                double pw, double ph)
{
    const ex_series *s = c->series;
    const ex_hline *h = c->lines;
    double xmax = 0, ymin = INFINITY, ymax = -INFINITY, ylast_max = -INFINITY;
    for (size_t i = 0; i < c->ns; i++)
        for (size_t k = 0; k < s[i].n; k++) {
            if (!isfinite(s[i].y[k]))
                continue;
            xmax = s[i].x[k] > xmax ? s[i].x[k] : xmax;
            ymin = s[i].y[k] < ymin ? s[i].y[k] : ymin;
            ymax = s[i].y[k] > ymax ? s[i].y[k] : ymax;
            if (k + 1 == s[i].n)
                ylast_max = s[i].y[k] > ylast_max ? s[i].y[k] : ylast_max;
        }
    for (size_t i = 0; i < c->nh; i++) {
        ymin = h[i].y < ymin ? h[i].y : ymin;
        ylast_max = h[i].y > ylast_max ? h[i].y : ylast_max;
    }
    if (!isfinite(ymin))
        ymin = 0, ymax = 1, ylast_max = 1;
    if (!(xmax > 0))
        xmax = 1;
    /* clip the top: show the final values' spread and as much again above */
    double top_y = ylast_max + 1.5 * (ylast_max - ymin) + 0.25;
    ymax = ymax < top_y ? ymax : top_y;
    double ystep = ex_nice_step(ymax - ymin > 0 ? ymax - ymin : 1, 6);
    ymin = floor(ymin / ystep) * ystep;
    ymax = ceil(ymax / ystep) * ystep;
    if (!(ymax > ymin))
        ymax = ymin + ystep;
    double xstep = ex_nice_step(xmax, 6);
    xmax = ceil(xmax / xstep) * xstep;
#define EX_X(v) (left + (v) / xmax * pw)
#define EX_Y(v) (top + (ymax - (v)) / (ymax - ymin) * ph)
    /* grid and ticks */
    for (int i = 0; ymin + i * ystep <= ymax + ystep / 2; i++) {
        double v = ymin + i * ystep;
        if (fabs(v) < ystep * 1e-6)   /* 0, not the rounding left by the steps before it */
            v = 0;
        fprintf(f, "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
                left, left + pw, EX_Y(v), EX_Y(v));
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", left - 8,
                EX_Y(v) + 4, v);
    }
    for (double v = 0; v <= xmax + xstep / 2; v += xstep) {
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%g\" y2=\"%g\" stroke=\"#e0e0e0\"/>\n",
                EX_X(v), EX_X(v), top, top + ph);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>\n", EX_X(v),
                top + ph + 20, v);
    }
    fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
               "stroke=\"#333\"/>\n", left, top, pw, ph);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">", left + pw / 2, top + ph + 45);
    ex_svg_text(f, c->xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(%g %g) rotate(-90)\" "
               "text-anchor=\"middle\">", left - 58, top + ph / 2);
    ex_svg_text(f, c->ylabel);
    fputs("</text>\n", f);
    /* clip curves to the plot area */
    fprintf(f, "<clipPath id=\"plot%d\"><rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\"/>"
               "</clipPath>\n", id, left, top, pw, ph);
    for (size_t i = 0; i < c->nh; i++) {
        fprintf(f, "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" "
                   "stroke-dasharray=\"6 4\" clip-path=\"url(#plot%d)\"/>\n",
                left, left + pw, EX_Y(h[i].y), EX_Y(h[i].y), id);
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" fill=\"#555\" font-size=\"11\">", left + 6,
                EX_Y(h[i].y) - 4);
        ex_svg_text(f, h[i].label);
        fprintf(f, " %.3f</text>\n", h[i].y);
    }
    for (size_t i = 0; i < c->ns; i++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
                   "clip-path=\"url(#plot%d)\" points=\"", ex_color(s[i].color),
                s[i].dashed ? " stroke-dasharray=\"8 4\"" : "", id);
        for (size_t k = 0; k < s[i].n; k++)
            if (isfinite(s[i].y[k]))
                fprintf(f, "%.1f,%.1f ", EX_X(s[i].x[k]), EX_Y(s[i].y[k]));
        fputs("\"/>\n", f);
    }
#undef EX_X
#undef EX_Y
}

/* The panels stacked under one title, one legend on the right (the first
   panel's series, each with its final value). Returns 0, or -1 if the file
   cannot be written. */
static inline int ex_svg_charts(const char *path, const char *title, const ex_panel *panels,
                                size_t n)
{
    const double W = 980, left = 80, right = 290, top = 50, gap = 60, bottom = 60;
    const double ph = n > 1 ? 380 : 450, pw = W - left - right;
    double H = top + (double)n * ph + (double)(n - 1) * gap + bottom;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
               "viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"13\">\n",
            W, H, W, H);
    fprintf(f, "<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%g\" y=\"28\" font-size=\"17\" font-weight=\"bold\">", left);
    ex_svg_text(f, title);
    fputs("</text>\n", f);
    for (size_t p = 0; p < n; p++)
        ex_svg_panel(f, &panels[p], (int)p, left, top + (double)p * (ph + gap), pw, ph);
    const ex_series *s = n ? panels[0].series : NULL;
    for (size_t i = 0; n && i < panels[0].ns; i++) {
        const char *color = ex_color(s[i].color);
        double ly = top + 10 + 22 * (double)i;
        fprintf(f, "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/>\n", W - right + 15, W - right + 45, ly, ly, color,
                s[i].dashed ? " stroke-dasharray=\"8 4\"" : "");
        fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"12\">", W - right + 52, ly + 4);
        ex_svg_text(f, s[i].label);
        if (s[i].n && isfinite(s[i].y[s[i].n - 1]))
            fprintf(f, " %.3f", s[i].y[s[i].n - 1]);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
    int bad = ferror(f);
    return (fclose(f) == 0 && !bad) ? 0 : -1;
}

/* One panel. Returns 0, or -1 if the file cannot be written. */
static inline int ex_svg_chart(const char *path, const char *title, const char *xlabel,
                               const char *ylabel, const ex_series *s, size_t ns,
                               const ex_hline *h, size_t nh)
{
    ex_panel p = {xlabel, ylabel, s, ns, h, nh};
    return ex_svg_charts(path, title, &p, 1);
}

#endif
