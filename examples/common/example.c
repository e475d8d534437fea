/*
 * example.c - the non-figure half of example.h: command-line options, data
 * lookup, the output folder with its report.md, error checks and timing.
 * Figures are in plot.c.
 */
#include "example.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ options */

static void usage(const char *prog, const char *number, const char *extra)
{
    fprintf(stderr,
            "usage: %s [options]\n"
            "  --data DIR    data folder (default: data, made by `make data`;\n"
            "                stocks and GloVe also come from ../shared/data)\n"
            "  --out DIR     output folder for report.md and figures"
            " (default: out/%s)\n"
            "  --seed N      model and shuffling seed (default: 42)\n"
            "  --epochs N    override the example's epoch count"
            " (0 = its default)\n"
            "  --quick       small subset, under 2 minutes (smoke test)\n"
            "  --help        this text\n",
            prog, number ? number : "NN");
    if (extra && *extra) {
        fputs(extra, stderr);
        if (extra[strlen(extra) - 1] != '\n')
            fputc('\n', stderr);
    }
}

/* The unconsumed arguments of the last ex_parse_args (never freed). */
static char **ex_args_kept;

/* The value of --name V or --name=V at argv[*i]; advances *i past V.
 * Returns NULL when argv[*i] is not that option; sets *missing when it is
 * but has no value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name,
                             int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_int(const char *s, int *out)
{
    char *end;
    long v;
    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

int ex_parse_args(int argc, char **argv, const char *number,
                  const char *usage_extra, ex_args *args)
{
    static char out_default[64];
    const char *prog = argc > 0 && argv[0] ? argv[0] : "example";
    char **rest;
    int nrest = 0;

    snprintf(out_default, sizeof out_default, "out/%s",
             number ? number : "NN");
    args->data_dir = "data";
    args->out_dir = out_default;
    args->seed = 42;
    args->epochs = 0;
    args->quick = 0;
    args->argc = 0;
    args->argv = NULL;

    /* Lives as long as the program (like argv itself). */
    rest = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof *rest);
    if (!rest) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        int missing = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(prog, number, usage_extra);
            free(rest);
            return 1;
        } else if (strcmp(a, "--quick") == 0) {
            args->quick = 1;
        } else if ((v = opt_value(argc, argv, &i, "--data", &missing))) {
            args->data_dir = v;
        } else if (!missing &&
                   (v = opt_value(argc, argv, &i, "--out", &missing))) {
            args->out_dir = v;
        } else if (!missing &&
                   (v = opt_value(argc, argv, &i, "--seed", &missing))) {
            if (parse_u64(v, &args->seed) < 0) {
                fprintf(stderr, "%s: --seed wants a number, got '%s'\n",
                        prog, v);
                usage(prog, number, usage_extra);
                free(rest);
                return -1;
            }
        } else if (!missing &&
                   (v = opt_value(argc, argv, &i, "--epochs", &missing))) {
            if (parse_int(v, &args->epochs) < 0) {
                fprintf(stderr, "%s: --epochs wants a number >= 0, got '%s'\n",
                        prog, v);
                usage(prog, number, usage_extra);
                free(rest);
                return -1;
            }
        } else if (missing) {
            /* fall through to the error below */
        } else {
            rest[nrest++] = argv[i];
        }
        if (missing) {
            fprintf(stderr, "%s: %s wants a value\n", prog, a);
            usage(prog, number, usage_extra);
            free(rest);
            return -1;
        }
    }
    rest[nrest] = NULL;
    ex_args_kept = rest; /* reachable from a global: no leak for LSan */
    args->argc = nrest;
    args->argv = rest;
    return 0;
}

const char *ex_arg_value(const ex_args *args, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < args->argc; i++) {
        const char *a = args->argv[i];
        if (strncmp(a, name, n) != 0)
            continue;
        if (a[n] == '=')
            return a + n + 1;
        if (a[n] == '\0' && i + 1 < args->argc)
            return args->argv[i + 1];
    }
    return NULL;
}

int ex_arg_flag(const ex_args *args, const char *name)
{
    for (int i = 0; i < args->argc; i++)
        if (strcmp(args->argv[i], name) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------ data */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The repository root when the program is <repo>/build/<variant>/examples/
 * NN_name (found through /proc/self/exe), else NULL. */
static const char *repo_root(void)
{
    static char root[PATH_MAX];
    static int done;
    if (!done) {
        char exe[PATH_MAX];
        ssize_t n;
        done = 1;
        root[0] = '\0';
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            char probe[PATH_MAX + 32];
            exe[n] = '\0';
            for (int up = 0; up < 4; up++) {
                char *slash = strrchr(exe, '/');
                if (!slash)
                    break;
                *slash = '\0';
                snprintf(probe, sizeof probe, "%s/include/seqnet.h", exe);
                if (is_file(probe)) {
                    snprintf(root, sizeof root, "%s", exe);
                    break;
                }
            }
        }
    }
    return root[0] ? root : NULL;
}

static int imdb_ok(const char *dir)
{
    char sub[PATH_MAX + 16];
    if (!is_dir(dir))
        return 0;
    snprintf(sub, sizeof sub, "%s/train", dir);
    if (!is_dir(sub))
        return 0;
    snprintf(sub, sizeof sub, "%s/test", dir);
    return is_dir(sub);
}

static const char *find_imdb(const ex_args *args, char *buf, size_t len)
{
    const char *root = repo_root();
    if (args->data_dir) {
        snprintf(buf, len, "%s/aclImdb", args->data_dir);
        if (imdb_ok(buf))
            return buf;
    }
    snprintf(buf, len, "data/aclImdb");
    if (imdb_ok(buf))
        return buf;
    if (root) {
        snprintf(buf, len, "%s/data/aclImdb", root);
        if (imdb_ok(buf))
            return buf;
    }
    return NULL;
}

const char *ex_imdb_dir(const ex_args *args)
{
    static char dir[PATH_MAX];
    const char *root = repo_root();
    char script[PATH_MAX];

    if (find_imdb(args, dir, sizeof dir))
        return dir;

    script[0] = '\0';
    if (is_file("scripts/get-data.sh"))
        snprintf(script, sizeof script, "scripts/get-data.sh");
    else if (root) {
        snprintf(script, sizeof script, "%s/scripts/get-data.sh", root);
        if (!is_file(script))
            script[0] = '\0';
    }
    if (script[0]) {
        char cmd[PATH_MAX + 32];
        int rc;
        /* get-data.sh works from the repository root by itself. */
        snprintf(cmd, sizeof cmd, "bash '%s'", script);
        fprintf(stderr, "IMDB reviews not found; running %s\n", script);
        fflush(NULL);
        rc = system(cmd);
        if (rc != 0)
            fprintf(stderr, "%s failed (status %d)\n", script, rc);
        if (find_imdb(args, dir, sizeof dir))
            return dir;
    }
    fprintf(stderr,
            "IMDB reviews (aclImdb) not found in %s/aclImdb or data/aclImdb;"
            " run `make data` in the repository (docs/DATA.md) or pass"
            " --data DIR\n",
            args->data_dir ? args->data_dir : "data");
    return NULL;
}

const char *ex_shared_file(const ex_args *args, const char *relative)
{
    /* A few buffers, so that an example can hold several paths at once. */
    static char ring[8][PATH_MAX];
    static int next;
    char *buf = ring[next];
    const char *env = getenv("SN_SHARED");
    const char *root = repo_root();
    next = (next + 1) % 8;

    snprintf(buf, PATH_MAX, "../shared/data/%s", relative);
    if (is_file(buf))
        return buf;
    if (args && args->data_dir) {
        snprintf(buf, PATH_MAX, "%s/%s", args->data_dir, relative);
        if (is_file(buf))
            return buf;
    }
    if (env && *env) {
        snprintf(buf, PATH_MAX, "%s/data/%s", env, relative);
        if (is_file(buf))
            return buf;
    }
    if (root) {
        snprintf(buf, PATH_MAX, "%s/../shared/data/%s", root, relative);
        if (is_file(buf))
            return buf;
    }
    return NULL;
}

/* ------------------------------------------------------------ output */

static int mkdir_p(const char *path)
{
    char tmp[512];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return -1;
    return is_dir(tmp) ? 0 : -1;
}

int ex_report_open(ex_report *r, const char *dir, const char *title)
{
    char path[600];
    char date[64];
    time_t now = time(NULL);
    struct tm tm;

    r->md = NULL;
    if (!dir || strlen(dir) >= sizeof r->dir) {
        fprintf(stderr, "output folder name too long\n");
        return -1;
    }
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    if (mkdir_p(dir) < 0) {
        fprintf(stderr, "cannot create output folder %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/report.md", dir);
    r->md = fopen(path, "w");
    if (!r->md) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (localtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
    else
        snprintf(date, sizeof date, "unknown date");
    fprintf(r->md, "# %s\n\n_%s, libseqnet %s_\n\n", title, date,
            sn_version());
    fflush(r->md);
    printf("%s\n(report: %s)\n\n", title, path);
    fflush(stdout);
    return 0;
}

void ex_report_close(ex_report *r)
{
    if (r && r->md) {
        fclose(r->md);
        r->md = NULL;
    }
}

void ex_say(ex_report *r, const char *fmt, ...)
{
    char small[1024];
    char *text = small;
    va_list ap;
    int n;
    size_t len;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof small) {
        text = malloc((size_t)n + 1);
        if (!text)
            return;
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    /* One line on stdout and one paragraph in the report, whether or not
     * the format ended with a newline. */
    len = strlen(text);
    while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    printf("%s\n", text);
    fflush(stdout);
    if (r && r->md) {
        fprintf(r->md, "%s\n\n", text);
        fflush(r->md);
    }
    if (text != small)
        free(text);
}

void ex_section(ex_report *r, const char *title)
{
    printf("\n== %s ==\n", title);
    fflush(stdout);
    if (r && r->md) {
        fprintf(r->md, "## %s\n\n", title);
        fflush(r->md);
    }
}

static void md_cell(FILE *f, const char *s)
{
    fputc(' ', f);
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
    fputs(" |", f);
}

void ex_table(ex_report *r, int cols, const char *const *header, int rows,
              const char *const *cells)
{
    size_t *w;
    if (cols <= 0 || rows < 0)
        return;
    w = calloc((size_t)cols, sizeof *w);
    if (!w)
        return;
    for (int c = 0; c < cols; c++) {
        if (header && header[c])
            w[c] = strlen(header[c]);
        for (int i = 0; i < rows; i++) {
            const char *s = cells[(size_t)i * (size_t)cols + (size_t)c];
            size_t n = s ? strlen(s) : 0;
            if (n > w[c])
                w[c] = n;
        }
    }
    /* stdout: aligned columns, numbers read best right-aligned, so the
     * first column (usually a name) is left-aligned, the others right. */
    if (header) {
        for (int c = 0; c < cols; c++)
            printf(c == 0 ? "%-*s" : "  %*s", (int)w[c],
                   header[c] ? header[c] : "");
        printf("\n");
        for (int c = 0; c < cols; c++) {
            printf(c == 0 ? "" : "  ");
            for (size_t k = 0; k < w[c]; k++)
                putchar('-');
        }
        printf("\n");
    }
    for (int i = 0; i < rows; i++) {
        for (int c = 0; c < cols; c++) {
            const char *s = cells[(size_t)i * (size_t)cols + (size_t)c];
            printf(c == 0 ? "%-*s" : "  %*s", (int)w[c], s ? s : "");
        }
        printf("\n");
    }
    printf("\n");
    fflush(stdout);

    if (r && r->md) {
        fputc('|', r->md);
        for (int c = 0; c < cols; c++)
            md_cell(r->md, header ? header[c] : "");
        fputs("\n|", r->md);
        for (int c = 0; c < cols; c++)
            fputs(c == 0 ? " --- |" : " ---: |", r->md);
        fputc('\n', r->md);
        for (int i = 0; i < rows; i++) {
            fputc('|', r->md);
            for (int c = 0; c < cols; c++)
                md_cell(r->md, cells[(size_t)i * (size_t)cols + (size_t)c]);
            fputc('\n', r->md);
        }
        fputc('\n', r->md);
        fflush(r->md);
    }
    free(w);
}

void ex_figure(ex_report *r, const char *file, const char *caption)
{
    char path[600];
    printf("figure: %s%s%s\n", ex_path(r, file, path, sizeof path),
           caption ? " - " : "", caption ? caption : "");
    fflush(stdout);
    if (r && r->md) {
        fprintf(r->md, "![%s](%s)\n\n", caption ? caption : file, file);
        if (caption && *caption)
            fprintf(r->md, "*%s*\n\n", caption);
        fflush(r->md);
    }
}

const char *ex_path(const ex_report *r, const char *name, char *buf,
                    size_t len)
{
    if (r && r->dir[0])
        snprintf(buf, len, "%s/%s", r->dir, name);
    else
        snprintf(buf, len, "%s", name);
    return buf;
}

void ex_check(int status, const char *what)
{
    if (status >= 0)
        return;
    fflush(stdout);
    fprintf(stderr, "error: %s failed (status %d): %s\n", what, status,
            sn_last_error() ? sn_last_error() : "");
    exit(EXIT_FAILURE);
}

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ex_copy_weights(sn_model_t *dst, sn_model_t *src,
                     const char *(*src_name)(const char *dst_name))
{
    for (int i = 0; i < sn_model_num_weights(dst); i++) {
        const char *name;
        size_t nd, ns;
        ex_check(sn_model_weight_info(dst, i, &name, NULL, 0, NULL),
                 "sn_model_weight_info");
        int j = sn_model_find_weight(src, src_name ? src_name(name) : name);
        ex_check(j, name);
        float *d = sn_model_weight_data(dst, i, &nd);
        const float *w = sn_model_weight_data(src, j, &ns);
        ex_check(d != NULL && w != NULL && nd == ns ? SN_OK : SN_ERR_SHAPE,
                 "ex_copy_weights");
        memcpy(d, w, nd * sizeof *d);
    }
}
