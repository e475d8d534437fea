/*
 * example.h - what the four course examples share: command-line options,
 * the output folder and its report.md, timing, and figures drawn with
 * PLplot (cairo PNG driver).  Not part of the library: examples link it
 * beside libseqnet.
 */
#ifndef SN_EXAMPLE_H
#define SN_EXAMPLE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <seqnet.h>

/* ------------------------------------------------------------ options */

/* The options every example takes:
 *   --data DIR    data folder (default: data/ of the repo, made by
 *                 `make data`, or ../shared/data for stocks/GloVe)
 *   --out DIR     output folder (default out/NN/)
 *   --seed N      model and shuffling seed (default 42)
 *   --epochs N    override the example's epoch count (0 = its default)
 *   --quick       small subset, under 2 minutes on 2 cores (CI smoke test)
 * Unknown options are left for the example (see ex_args_extra). */
typedef struct ex_args {
    const char *data_dir;
    const char *out_dir;
    uint64_t seed;
    int epochs;
    int quick;
    int argc;           /* the arguments ex_parse_args did not consume */
    char **argv;
} ex_args;

/* Parses argv; number is "01".."04" (for the default out/NN/).  Returns 0,
 * or prints usage to stderr and returns -1 (also for --help, returning 1). */
int ex_parse_args(int argc, char **argv, const char *number,
                  const char *usage_extra, ex_args *args);
/* The value after option name among the unconsumed arguments, or NULL. */
const char *ex_arg_value(const ex_args *args, const char *name);
/* Whether a flag (e.g. "--full-grid") is among the unconsumed arguments. */
int ex_arg_flag(const ex_args *args, const char *name);

/* Finds the IMDB folder (aclImdb): <data_dir>/aclImdb, then data/aclImdb,
 * then runs scripts/get-data.sh if it exists; NULL with a message if
 * nothing works.  The string is static storage of the example. */
const char *ex_imdb_dir(const ex_args *args);
/* Finds a file under ../shared/data (e.g. "stocks/AAPL.csv") or under
 * data_dir; NULL if absent. */
const char *ex_shared_file(const ex_args *args, const char *relative);

/* One IMDB split as a model sees it: ids [n, maxlen], 0/1 labels [n]
 * (malloc'ed; free both). */
typedef struct ex_imdb_set {
    int n, maxlen;
    int32_t *ids;
    float *labels;
} ex_imdb_set;

/* Loads IMDB (ex_imdb_dir), shuffles each split with the seed, keeps the
 * first n_train / n_test reviews, learns a vocabulary of vocab tokens from
 * the training subset only (the test set must not leak into it) and turns
 * both subsets into ids of length maxlen (post padding and truncation, as
 * Keras TextVectorization).  Returns the vectorizer; exits on failure. */
sn_vectorizer_t *ex_imdb_subsets(const ex_args *args, int n_train,
                                 int n_test, int vocab, int maxlen,
                                 ex_imdb_set *train, ex_imdb_set *test);

/* One split as an sn_dataset (ids in, labels as targets); in[0] and
 * tg[0] are set to point at the split and must live as long as it. */
sn_dataset ex_imdb_dataset(const ex_imdb_set *s, const void **in,
                           const float **tg);

/* ------------------------------------------------------------ models */

/* Copies every weight of dst from the weight of src with the same name,
 * or with the name src_name(name) gives when src_name is not NULL.
 * Exits when one is missing or shaped differently. */
void ex_copy_weights(sn_model_t *dst, sn_model_t *src,
                     const char *(*src_name)(const char *dst_name));

/* ------------------------------------------------------------ output */

/* Creates the output folder (and parents) and opens report.md in it with
 * a title.  Every ex_say line also goes to the report. */
typedef struct ex_report {
    FILE *md;
    char dir[512];
} ex_report;

int ex_report_open(ex_report *r, const char *dir, const char *title);
void ex_report_close(ex_report *r);
/* printf to stdout AND append to report.md (as a paragraph line). */
void ex_say(ex_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A section heading in report.md and on stdout. */
void ex_section(ex_report *r, const char *title);
/* A Markdown table: header cells, then rows of cells (printed aligned on
 * stdout too).  cells is rows x cols strings, row-major. */
void ex_table(ex_report *r, int cols, const char *const *header, int rows,
              const char *const *cells);
/* Links a figure file (relative to the output dir) into report.md. */
void ex_figure(ex_report *r, const char *file, const char *caption);
/* path = <dir>/<name> into buf. */
const char *ex_path(const ex_report *r, const char *name, char *buf,
                    size_t len);

/* Stops the program with a message naming what failed and sn_last_error(),
 * when status < 0 (for example code, not library code). */
void ex_check(int status, const char *what);

/* Seconds since an arbitrary start (monotonic). */
double ex_now(void);

/* ------------------------------------------------------------ figures */

/* One line of a line plot. */
typedef struct ex_series {
    const char *label;
    const double *x;
    const double *y;
    int n;
} ex_series;

/* Line plot with a legend, written as PNG to path (900x600). log_y = 1
 * draws y on a log10 axis (values <= 0 are skipped). Returns 0 or -1. */
int ex_plot_lines(const char *path, const char *title, const char *xlabel,
                  const char *ylabel, const ex_series *series, int n_series,
                  int log_y);
/* Bar chart: one bar per label. */
int ex_plot_bars(const char *path, const char *title, const char *ylabel,
                 const char *const *labels, const double *values, int n);
/* Heat map of z [rows, cols] (row-major) with optional tick labels for
 * the columns (x) and rows (y), e.g. words; a colour bar. */
int ex_plot_heatmap(const char *path, const char *title, const char *xlabel,
                    const char *ylabel, const double *z, int rows, int cols,
                    const char *const *col_labels,
                    const char *const *row_labels);

#endif /* SN_EXAMPLE_H */
