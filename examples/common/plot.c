/*
 * plot.c - the figures of example.h, drawn with PLplot into 900x600 PNG
 * files (pngcairo device).  Each figure is its own PLplot stream, begun
 * and ended here, so a program can draw as many as it likes.
 */
#include "example.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <plplot.h>

/* Colour map 0: 0 is the (white) background, 15 the axes and text (black),
 * 1..10 the series (the Tableau-10 palette, readable on white), 14 a light
 * grey for grid lines. */
#define COL_BG 0
#define COL_FG 15
#define COL_GRID 14
#define N_SERIES_COLS 10

/* Width of a character of text over its PLplot height (plgchr), roughly:
 * used to size margins to tick labels. */
#define CHAR_W 0.85

static const unsigned char series_rgb[N_SERIES_COLS][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
    {188, 189, 34}, {23, 190, 207},
};

/* Opens a new stream writing path.  Returns 0, or -1 if the file cannot be
 * written (checked first: PLplot itself would only print a warning). */
static int fig_begin(const char *path)
{
    PLINT strm;
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write figure %s\n", path);
        return -1;
    }
    fclose(f);

    plmkstrm(&strm);
    plsdev("pngcairo");
    plsfnam(path);
    plsetopt("geometry", "900x600");
    plscmap0n(16);
    plscolbg(255, 255, 255);
    for (int i = 0; i < N_SERIES_COLS; i++)
        plscol0(1 + i, series_rgb[i][0], series_rgb[i][1], series_rgb[i][2]);
    plscol0(COL_GRID, 220, 220, 220);
    plscol0(COL_FG, 0, 0, 0);
    plinit();
    /* Up to 8 digits before scientific notation (2019.5, not 2019). */
    plsxax(8, 0);
    plsyax(8, 0);
    pladv(0);
    plcol0(COL_FG);
    plschr(0.0, 0.95);
    return 0;
}

static void fig_end(void)
{
    plend1();
}

/* Character height in mm and the page height/width in mm, to size the
 * margins to the text that goes in them. */
static void page_mm(double *char_mm, double *w_mm, double *h_mm)
{
    PLFLT def, ht, xmin, xmax, ymin, ymax;
    plgchr(&def, &ht);
    plgspa(&xmin, &xmax, &ymin, &ymax);
    *char_mm = ht > 0 ? ht : 2.5;
    *w_mm = xmax - xmin > 0 ? xmax - xmin : 240;
    *h_mm = ymax - ymin > 0 ? ymax - ymin : 160;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Makes a [lo, hi] range usable: not empty, a little padding. */
static void pad_range(double *lo, double *hi, double frac)
{
    double span;
    if (!(*lo <= *hi)) {
        *lo = 0;
        *hi = 1;
    }
    span = *hi - *lo;
    if (span <= 0) {
        double d = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 0.5;
        *lo -= d;
        *hi += d;
        return;
    }
    *lo -= span * frac;
    *hi += span * frac;
}

/* ------------------------------------------------------------ lines */

int ex_plot_lines(const char *path, const char *title, const char *xlabel,
                  const char *ylabel, const ex_series *series, int n_series,
                  int log_y)
{
    double xmin = HUGE_VAL, xmax = -HUGE_VAL;
    double ymin = HUGE_VAL, ymax = -HUGE_VAL;
    int total = 0;
    int corner_count[4] = {0, 0, 0, 0}; /* TR, BR, TL, BL */
    static const PLINT corner_pos[4] = {
        PL_POSITION_TOP | PL_POSITION_RIGHT,
        PL_POSITION_BOTTOM | PL_POSITION_RIGHT,
        PL_POSITION_TOP | PL_POSITION_LEFT,
        PL_POSITION_BOTTOM | PL_POSITION_LEFT,
    };
    int best = 0;
    PLFLT *px = NULL, *py = NULL;
    int maxn = 0;

    if (!path || (n_series > 0 && !series) || n_series < 0)
        return -1;
    for (int s = 0; s < n_series; s++) {
        for (int i = 0; i < series[s].n; i++) {
            double x = series[s].x ? series[s].x[i] : (double)i;
            double y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y) || (log_y && y <= 0))
                continue;
            if (log_y)
                y = log10(y);
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
            total++;
        }
        if (series[s].n > maxn)
            maxn = series[s].n;
    }
    if (total == 0) {
        xmin = 0;
        xmax = 1;
        ymin = 0;
        ymax = 1;
    }
    if (xmin == xmax)
        pad_range(&xmin, &xmax, 0);
    pad_range(&ymin, &ymax, 0.05);

    /* The legend goes in the corner with the fewest points. */
    for (int s = 0; s < n_series; s++) {
        for (int i = 0; i < series[s].n; i++) {
            double x = series[s].x ? series[s].x[i] : (double)i;
            double y = series[s].y[i];
            double u, v;
            if (!isfinite(x) || !isfinite(y) || (log_y && y <= 0))
                continue;
            if (log_y)
                y = log10(y);
            u = (x - xmin) / (xmax - xmin);
            v = (y - ymin) / (ymax - ymin);
            if (u > 0.55 && v > 0.6)
                corner_count[0]++;
            if (u > 0.55 && v < 0.4)
                corner_count[1]++;
            if (u < 0.45 && v > 0.6)
                corner_count[2]++;
            if (u < 0.45 && v < 0.4)
                corner_count[3]++;
        }
    }
    for (int c = 1; c < 4; c++)
        if (corner_count[c] < corner_count[best])
            best = c;

    px = malloc(sizeof *px * (size_t)(maxn > 0 ? maxn : 1));
    py = malloc(sizeof *py * (size_t)(maxn > 0 ? maxn : 1));
    if (!px || !py) {
        free(px);
        free(py);
        return -1;
    }
    if (fig_begin(path) < 0) {
        free(px);
        free(py);
        return -1;
    }

    plvpor(0.10, 0.96, 0.11, 0.91);
    plwind(xmin, xmax, ymin, ymax);
    /* Grid first, in light grey, then the frame and labels over it. */
    plcol0(COL_GRID);
    plwidth(1.0);
    /* On a log axis label every k-th decade so that at most ~10 labels
     * fit, however many decades the data spans (vanishing gradients span
     * dozens); PLplot's default labels every decade. */
    double ytick = 0.0;
    int ysub = 0;
    if (log_y) {
        double decades = ymax - ymin;
        ytick = decades > 10 ? ceil(decades / 10.0) : 1.0;
        ysub = ytick > 1 ? 1 : 0;
    }
    plbox("g", 0, 0, log_y ? "gl" : "g", ytick, ysub);
    plcol0(COL_FG);
    plbox("bcnst", 0, 0, log_y ? "bcnstvl" : "bcnstv", ytick, ysub);
    pllab(xlabel ? xlabel : "", ylabel ? ylabel : "", title ? title : "");

    {
        const char **text = calloc((size_t)(n_series > 0 ? n_series : 1),
                                   sizeof *text);
        PLINT *opt = calloc((size_t)(n_series > 0 ? n_series : 1),
                            sizeof *opt);
        PLINT *colors = calloc((size_t)(n_series > 0 ? n_series : 1),
                               sizeof *colors);
        PLINT *styles = calloc((size_t)(n_series > 0 ? n_series : 1),
                               sizeof *styles);
        PLFLT *widths = calloc((size_t)(n_series > 0 ? n_series : 1),
                               sizeof *widths);
        PLINT *text_colors = calloc((size_t)(n_series > 0 ? n_series : 1),
                                    sizeof *text_colors);
        int n_labelled = 0;

        for (int s = 0; s < n_series; s++) {
            int n = 0;
            PLINT col = 1 + s % N_SERIES_COLS;
            PLINT sty = 1 + (s / N_SERIES_COLS) % 8;
            for (int i = 0; i < series[s].n; i++) {
                double x = series[s].x ? series[s].x[i] : (double)i;
                double y = series[s].y[i];
                int ok = isfinite(x) && isfinite(y) && !(log_y && y <= 0);
                if (ok) {
                    px[n] = x;
                    py[n] = log_y ? log10(y) : y;
                    n++;
                }
                /* A gap (NaN, or <= 0 on a log axis) breaks the line. */
                if ((!ok || i == series[s].n - 1) && n > 0) {
                    plcol0(col);
                    pllsty(sty);
                    plwidth(2.0);
                    if (n == 1)
                        plpoin(1, px, py, 17);
                    else
                        plline(n, px, py);
                    n = 0;
                }
            }
            if (text && opt && colors && styles && widths && text_colors &&
                series[s].label && *series[s].label) {
                text[n_labelled] = series[s].label;
                opt[n_labelled] = PL_LEGEND_LINE;
                colors[n_labelled] = col;
                styles[n_labelled] = sty;
                widths[n_labelled] = 2.0;
                text_colors[n_labelled] = COL_FG;
                n_labelled++;
            }
        }
        pllsty(1);
        plwidth(1.0);
        plcol0(COL_FG);
        if (n_labelled > 0) {
            PLFLT lw, lh;
            pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                     corner_pos[best] | PL_POSITION_INSIDE, 0.02, 0.03, 0.07,
                     COL_BG, COL_FG, 1, 0, 0, n_labelled, opt, 1.0, 0.9, 2.0,
                     0.0, text_colors, text, NULL, NULL, NULL, NULL, colors,
                     styles, widths, NULL, NULL, NULL, NULL);
        }
        free(text);
        free(opt);
        free(colors);
        free(styles);
        free(widths);
        free(text_colors);
    }
    fig_end();
    free(px);
    free(py);
    return 0;
}

/* ------------------------------------------------------------ bars */

static size_t max_label_len(const char *const *labels, int n)
{
    size_t m = 0;
    if (!labels)
        return m;
    for (int i = 0; i < n; i++)
        if (labels[i] && strlen(labels[i]) > m)
            m = strlen(labels[i]);
    return m;
}

int ex_plot_bars(const char *path, const char *title, const char *ylabel,
                 const char *const *labels, const double *values, int n)
{
    double lo = 0, hi = 0, span;
    double char_mm, w_mm, h_mm;
    size_t longest;
    int vertical;
    double bottom;

    if (!path || n < 0 || (n > 0 && !values))
        return -1;
    for (int i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            continue;
        lo = fmin(lo, values[i]);
        hi = fmax(hi, values[i]);
    }
    if (lo == hi)
        hi = lo + 1;
    span = hi - lo;
    if (hi > 0)
        hi += span * 0.10; /* room for the value on top of each bar */
    if (lo < 0)
        lo -= span * 0.10;

    if (fig_begin(path) < 0)
        return -1;
    page_mm(&char_mm, &w_mm, &h_mm);
    longest = max_label_len(labels, n);
    /* Horizontal labels while they fit under their bar, else vertical. */
    vertical = n > 0 &&
               (double)longest * char_mm * 0.65 * 0.85 > 0.95 * (0.86 * w_mm / n);
    bottom = vertical
                 ? (3.0 + (double)longest * 0.75 * 0.85) * char_mm / h_mm + 0.03
                      : 0.11;
    bottom = clampd(bottom, 0.11, 0.45);

    plvpor(0.10, 0.96, bottom, 0.91);
    plwind(-0.5, n > 0 ? n - 0.5 : 0.5, lo, hi);
    plcol0(COL_GRID);
    plbox("", 0, 0, "g", 0, 0);
    for (int i = 0; i < n; i++) {
        PLFLT bx[4], by[4];
        double v = isfinite(values[i]) ? values[i] : 0;
        char text[32];
        bx[0] = bx[1] = i - 0.4;
        bx[2] = bx[3] = i + 0.4;
        by[0] = by[3] = 0;
        by[1] = by[2] = v;
        plcol0(1 + i % N_SERIES_COLS);
        plpsty(0);
        plfill(4, bx, by);
        plcol0(COL_FG);
        plline(4, bx, by);
        if (n <= 40) {
            snprintf(text, sizeof text, n > 15 ? "%.2g" : "%.3g", values[i]);
            plschr(0.0, n > 15 ? 0.6 : 0.8);
            plptex(i, v >= 0 ? v + span * 0.035 : v - span * 0.035, 1.0, 0.0,
                   0.5, text);
            plschr(0.0, 0.95);
        }
    }
    plcol0(COL_FG);
    plbox("bc", 0, 0, "bcnstv", 0, 0);
    if (lo < 0) {
        PLFLT zx[2] = {-0.5, n - 0.5}, zy[2] = {0, 0};
        plline(2, zx, zy);
    }
    /* Bar labels under the bars (numbered when there are none). */
    {
        int stride = n > 60 ? (n + 59) / 60 : 1;
        for (int i = 0; i < n; i += stride) {
            char num[16];
            const char *lab = labels && labels[i] ? labels[i] : NULL;
            double pos = (i + 0.5) / (double)n;
            if (!lab) {
                snprintf(num, sizeof num, "%d", i);
                lab = num;
            }
            plschr(0.0, 0.85);
            if (vertical)
                plmtex("bv", 0.7, pos, 1.0, lab);
            else
                plmtex("b", 1.5, pos, 0.5, lab);
            plschr(0.0, 0.95);
        }
    }
    pllab("", ylabel ? ylabel : "", title ? title : "");
    fig_end();
    return 0;
}

/* ------------------------------------------------------------ heat map */

/* Every how many-th tick label to draw: labels need need_mm of room and
 * one comes every step_mm; 1, 2, 5, 10, 20, 50, ... */
static int label_stride(double need_mm, double step_mm)
{
    static const int nice[3] = {1, 2, 5};
    if (step_mm <= 0)
        return 1;
    for (int scale = 1; scale < 1000000; scale *= 10)
        for (int k = 0; k < 3; k++)
            if (nice[k] * scale * step_mm >= need_mm)
                return nice[k] * scale;
    return 1000000;
}

/* A viridis-like colour map 1: dark blue (low) to yellow (high). */
static void set_heat_cmap(void)
{
    static const PLFLT pos[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    static const PLFLT r[5] = {68 / 255.0, 59 / 255.0, 33 / 255.0,
                               94 / 255.0, 253 / 255.0};
    static const PLFLT g[5] = {1 / 255.0, 82 / 255.0, 145 / 255.0,
                               201 / 255.0, 231 / 255.0};
    static const PLFLT b[5] = {84 / 255.0, 139 / 255.0, 140 / 255.0,
                               98 / 255.0, 37 / 255.0};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

int ex_plot_heatmap(const char *path, const char *title, const char *xlabel,
                    const char *ylabel, const double *z, int rows, int cols,
                    const char *const *col_labels,
                    const char *const *row_labels)
{
    double zmin = HUGE_VAL, zmax = -HUGE_VAL;
    double char_mm, w_mm, h_mm;
    size_t xlong, ylong;
    int xvert;
    double left, bottom, right = 0.84, top = 0.91;
    int xstride, ystride;
    int annotate;
    const char *fmt;
    double text_scale;

    if (!path || !z || rows <= 0 || cols <= 0)
        return -1;
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) {
        if (!isfinite(z[i]))
            continue;
        zmin = fmin(zmin, z[i]);
        zmax = fmax(zmax, z[i]);
    }
    if (!(zmin <= zmax)) {
        zmin = 0;
        zmax = 1;
    }
    if (zmin == zmax)
        zmax = zmin + (zmin != 0 ? fabs(zmin) * 1e-3 : 1.0);

    if (fig_begin(path) < 0)
        return -1;
    set_heat_cmap();
    page_mm(&char_mm, &w_mm, &h_mm);

    /* Margins sized to the tick labels (words may be long). */
    {
        char num[16];
        snprintf(num, sizeof num, "%d", cols - 1);
        xlong = col_labels ? max_label_len(col_labels, cols) : strlen(num);
        snprintf(num, sizeof num, "%d", rows - 1);
        ylong = row_labels ? max_label_len(row_labels, rows) : strlen(num);
    }
    /* Horizontal column labels when they fit under their cell; every
     * stride-th label only, so that neighbours do not overlap. */
    {
        double cell_w = (right - 0.2) * w_mm / cols;
        double cell_h = (top - 0.2) * h_mm / rows;
        double lab_w = ((double)xlong * CHAR_W + 1.0) * char_mm * 0.85;
        xvert = lab_w > cell_w;
        xstride = label_stride(xvert ? 1.4 * char_mm * 0.85 : lab_w, cell_w);
        ystride = label_stride(1.4 * char_mm * 0.85, cell_h);
    }
    left = (3.5 + (double)ylong * CHAR_W) * char_mm / w_mm + 0.02;
    left = clampd(left, 0.08, 0.35);
    bottom = xvert ? (3.5 + (double)xlong * CHAR_W) * char_mm / h_mm + 0.02
                   : 0.12;
    bottom = clampd(bottom, 0.12, 0.40);

    plvpor(left, right, bottom, top);
    plwind(0, cols, 0, rows);

    /* One filled cell per value; row 0 at the top, like a matrix. */
    plpsty(0);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            double v = z[(size_t)r * (size_t)cols + (size_t)c];
            double y0 = rows - 1 - r;
            /* A hair of overlap hides the seams anti-aliasing leaves. */
            PLFLT bx[4] = {c - 0.01, c - 0.01, c + 1.01, c + 1.01};
            PLFLT by[4] = {y0 - 0.01, y0 + 1.01, y0 + 1.01, y0 - 0.01};
            if (!isfinite(v)) {
                plcol0(COL_BG);
            } else {
                plcol1((v - zmin) / (zmax - zmin));
            }
            plfill(4, bx, by);
        }
    }

    /* The values themselves in small matrices (confusion matrices). */
    {
        /* Whole numbers (counts) as such, fractions with two decimals. */
        int whole = 1, small = 1;
        double cell_w = (right - left) * w_mm / cols;
        for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) {
            if (!isfinite(z[i]))
                continue;
            if (z[i] != floor(z[i]) || fabs(z[i]) >= 1e9)
                whole = 0;
            if (fabs(z[i]) >= 100)
                small = 0;
        }
        fmt = whole ? "%.0f" : small ? "%.2f" : "%.3g";
        {
            char text[64];
            size_t w = 0;
            for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) {
                snprintf(text, sizeof text, fmt, z[i]);
                if (strlen(text) > w)
                    w = strlen(text);
            }
            text_scale = rows * cols <= 16 ? 1.2 : 0.8;
            annotate = rows * cols <= 400 &&
                       ((double)w * CHAR_W + 0.8) * char_mm * text_scale <
                           cell_w &&
                       1.5 * char_mm * text_scale < (top - bottom) * h_mm / rows;
        }
    }
    if (annotate) {
        plschr(0.0, text_scale);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                double v = z[(size_t)r * (size_t)cols + (size_t)c];
                double t = (v - zmin) / (zmax - zmin);
                char text[64];
                snprintf(text, sizeof text, fmt, v);
                /* Dark text on the light (yellow/green) end. */
                plcol0(t > 0.6 ? COL_FG : COL_BG);
                plptex(c + 0.5, rows - 1 - r + 0.5, 1.0, 0.0, 0.5, text);
            }
        }
        plschr(0.0, 0.95);
    }

    plcol0(COL_FG);
    plbox("bc", 0, 0, "bc", 0, 0);

    /* Tick labels: words (or indices) at the cell centres. */
    plschr(0.0, 0.85);
    for (int c = 0; c < cols; c += xstride) {
        char num[16];
        const char *lab = col_labels && col_labels[c] ? col_labels[c] : NULL;
        double pos = (c + 0.5) / cols;
        PLFLT tx[2] = {c + 0.5, c + 0.5}, ty[2] = {0, -0.015 * rows};
        if (!lab) {
            snprintf(num, sizeof num, "%d", c);
            lab = num;
        }
        plline(2, tx, ty);
        if (xvert)
            plmtex("bv", 0.8, pos, 1.0, lab);
        else
            plmtex("b", 1.4, pos, 0.5, lab);
    }
    for (int r = 0; r < rows; r += ystride) {
        char num[16];
        const char *lab = row_labels && row_labels[r] ? row_labels[r] : NULL;
        double pos = (rows - 1 - r + 0.5) / rows;
        if (!lab) {
            snprintf(num, sizeof num, "%d", r);
            lab = num;
        }
        plmtex("lv", 0.8, pos, 1.0, lab);
    }
    plschr(0.0, 0.95);

    /* Axis titles outside the tick labels, and the figure title. */
    {
        double xdisp = xvert ? 1.8 + (double)xlong * CHAR_W * 0.85 : 3.0;
        double ydisp = 2.2 + (double)ylong * CHAR_W;
        if (xlabel && *xlabel)
            plmtex("b", xdisp, 0.5, 0.5, xlabel);
        if (ylabel && *ylabel)
            plmtex("l", ydisp, 0.5, 0.5, ylabel);
        if (title && *title) {
            plschr(0.0, 1.15);
            plmtex("t", 1.5, 0.5, 0.5, title);
            plschr(0.0, 0.95);
        }
    }

    /* The colour bar on the right. */
    {
        PLFLT cw, ch;
        PLINT n_values[1] = {2};
        PLFLT range[2] = {zmin, zmax};
        const PLFLT *values[1] = {range};
        const char *axis_opts[1] = {"bcvtm"};
        PLFLT ticks[1] = {0.0};
        PLINT sub_ticks[1] = {0};
        PLINT label_opts[1] = {PL_COLORBAR_LABEL_RIGHT};
        const char *labels[1] = {""};
        plcolorbar(&cw, &ch, PL_COLORBAR_GRADIENT,
                   PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.03, 0.0, 0.03,
                   1.0, COL_BG, COL_FG, 1, 0.0, 1.0, 0, 0.0, 0, label_opts,
                   labels, 1, axis_opts, ticks, sub_ticks, n_values,
                   (const PLFLT *const *)values);
    }
    fig_end();
    return 0;
}
