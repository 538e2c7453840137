/* charlm/svg.h — a small line-chart writer: curves, reference lines, axes,
   ticks, labels and a legend, as a standalone SVG file.

       charlm_series s[] = {{"adamw", steps, losses, n}};
       charlm_hline b[] = {{"5-gram", 1.75}};
       charlm_svg_chart("out.svg", "title", "step", "loss", s, 1, b, 1);

   The y range covers the curves' final values and the reference lines and
   is clipped above (early losses near log 27 would squash the interesting
   part), so every curve's end and every baseline stay readable. */
#ifndef CHARLM_SVG_H
#define CHARLM_SVG_H

#include <math.h>
#include <stdio.h>

typedef struct charlm_series {
    const char *label;
    const double *x, *y;
    size_t n;
    int dashed;
    int color;   /* index into the palette; series may share one */
} charlm_series;

typedef struct charlm_hline {
    const char *label;
    double y;
} charlm_hline;

static inline void charlm_svg_text(FILE *f, const char *s)
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
static inline double charlm_nice_step(double range, int n)
{
    double raw = range / n, p = pow(10, floor(log10(raw))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

/* Returns 0, or -1 if the file cannot be written. */
static inline int charlm_svg_chart(const char *path, const char *title, const char *xlabel,
                                   const char *ylabel, const charlm_series *s, size_t ns,
                                   const charlm_hline *h, size_t nh)
{
    static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                   "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
    const double W = 980, H = 560, left = 80, right = 290, top = 50, bottom = 60;
    double pw = W - left - right, ph = H - top - bottom;
    double xmax = 1, ymin = INFINITY, ymax = -INFINITY, ylast_max = -INFINITY;
    for (size_t i = 0; i < ns; i++)
        for (size_t k = 0; k < s[i].n; k++) {
            if (!isfinite(s[i].y[k]))
                continue;
            xmax = s[i].x[k] > xmax ? s[i].x[k] : xmax;
            ymin = s[i].y[k] < ymin ? s[i].y[k] : ymin;
            ymax = s[i].y[k] > ymax ? s[i].y[k] : ymax;
            if (k + 1 == s[i].n)
                ylast_max = s[i].y[k] > ylast_max ? s[i].y[k] : ylast_max;
        }
    for (size_t i = 0; i < nh; i++) {
        ymin = h[i].y < ymin ? h[i].y : ymin;
        ylast_max = h[i].y > ylast_max ? h[i].y : ylast_max;
    }
    if (!isfinite(ymin))
        ymin = 0, ymax = 1, ylast_max = 1;
    /* clip the top: show the final values' spread and as much again above */
    double top_y = ylast_max + 1.5 * (ylast_max - ymin) + 0.25;
    ymax = ymax < top_y ? ymax : top_y;
    double ystep = charlm_nice_step(ymax - ymin > 0 ? ymax - ymin : 1, 6);
    ymin = floor(ymin / ystep) * ystep;
    ymax = ceil(ymax / ystep) * ystep;
    double xstep = charlm_nice_step(xmax, 6);
    xmax = ceil(xmax / xstep) * xstep;

    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
#define CHARLM_X(v) (left + (v) / xmax * pw)
#define CHARLM_Y(v) (top + (ymax - (v)) / (ymax - ymin) * ph)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
               "viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"13\">\n",
            W, H, W, H);
    fprintf(f, "<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%g\" y=\"28\" font-size=\"17\" font-weight=\"bold\">", left);
    charlm_svg_text(f, title);
    fputs("</text>\n", f);
    /* grid and ticks */
    for (double v = ymin; v <= ymax + ystep / 2; v += ystep) {
        fprintf(f, "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
                left, left + pw, CHARLM_Y(v), CHARLM_Y(v));
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", left - 8,
                CHARLM_Y(v) + 4, v);
    }
    for (double v = 0; v <= xmax + xstep / 2; v += xstep) {
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%g\" y2=\"%g\" stroke=\"#e0e0e0\"/>\n",
                CHARLM_X(v), CHARLM_X(v), top, top + ph);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>\n", CHARLM_X(v),
                top + ph + 20, v);
    }
    fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
               "stroke=\"#333\"/>\n", left, top, pw, ph);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">", left + pw / 2, H - 15);
    charlm_svg_text(f, xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(22 %g) rotate(-90)\" "
               "text-anchor=\"middle\">", top + ph / 2);
    charlm_svg_text(f, ylabel);
    fputs("</text>\n", f);
    /* clip curves to the plot area */
    fprintf(f, "<clipPath id=\"plot\"><rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\"/>"
               "</clipPath>\n", left, top, pw, ph);
    for (size_t i = 0; i < nh; i++) {
        fprintf(f, "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" "
                   "stroke-dasharray=\"6 4\" clip-path=\"url(#plot)\"/>\n",
                left, left + pw, CHARLM_Y(h[i].y), CHARLM_Y(h[i].y));
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" fill=\"#555\" font-size=\"11\">", left + 6,
                CHARLM_Y(h[i].y) - 4);
        charlm_svg_text(f, h[i].label);
        fprintf(f, " %.3f</text>\n", h[i].y);
    }
    for (size_t i = 0; i < ns; i++) {
        const char *color = colors[(size_t)s[i].color % (sizeof colors / sizeof colors[0])];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
                   "clip-path=\"url(#plot)\" points=\"", color,
                s[i].dashed ? " stroke-dasharray=\"8 4\"" : "");
        for (size_t k = 0; k < s[i].n; k++)
            if (isfinite(s[i].y[k]))
                fprintf(f, "%.1f,%.1f ", CHARLM_X(s[i].x[k]), CHARLM_Y(s[i].y[k]));
        fputs("\"/>\n", f);
        /* legend entry, with the final value */
        double ly = top + 10 + 22 * (double)i;
        fprintf(f, "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/>\n", W - right + 15, W - right + 45, ly, ly, color,
                s[i].dashed ? " stroke-dasharray=\"8 4\"" : "");
        fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"12\">", W - right + 52, ly + 4);
        charlm_svg_text(f, s[i].label);
        if (s[i].n && isfinite(s[i].y[s[i].n - 1]))
            fprintf(f, " %.3f", s[i].y[s[i].n - 1]);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
#undef CHARLM_X
#undef CHARLM_Y
    return fclose(f) == 0 ? 0 : -1;
}

#endif
