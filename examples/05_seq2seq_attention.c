/*
 * examples/05_seq2seq_attention.c - the course's sequence patterns, and an
 * attention encoder-decoder that translates human-written dates to ISO.
 *
 * The tutorial is docs/tutorials/05_seq2seq_attention.md.  What this
 * program does:
 *
 *   1. The course's pattern table, the small patterns runnable on the
 *      date strings of 2: many-to-one (which month?), many-to-many of equal
 *      length (tag each character as day, month, year or other) and
 *      one-to-many (a month name generated from one vector through a
 *      RepeatVector written as a custom layer).
 *   2. Generates a character-level translation task: dates written in 37
 *      formats in English, German and French ("3rd of March 1998",
 *      "Di 03.03.98", "march 3, 1998", "le 3 mars 1998") -> "1998-03-03".
 *      One date in five and 7 of the 37 formats are kept for the test set
 *      only (never seen in training).
 *   3. Three encoder-decoders on the same data: no attention (the
 *      encoder's final state only), Bahdanau (additive) and Luong (general)
 *      attention; trained with teacher forcing.
 *   4. Inference as a host application runs it: an encoder model and a
 *      decoder-step model that take the trained weights, greedy and beam
 *      search one step at a time with the states carried; exact match and
 *      character accuracy on the test set, against input length.
 *   5. Alignment heat maps (attention weights, input characters against
 *      output characters) for Bahdanau and Luong.
 *   6. The bottleneck isolated: copying strings of 3-32 digits, without
 *      attention and with Luong attention, exact match against length.
 *
 * Every number printed also goes to <out>/report.md, with the figures.
 *
 *   build/openblas/examples/05_seq2seq_attention [--out DIR] [--seed N]
 *       [--epochs N] [--quick] [--beam K]
 *   build/openblas/examples/05_seq2seq_attention --translate "3 mars 1998"
 *       [--model FILE] [--beam K]
 *
 * --quick uses 5000 training pairs and small models (a CI smoke test, well
 * under 2 minutes on 2 cores); the full run takes 5-7 minutes.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/example.h"

/* ------------------------------------------------------------ settings */

typedef struct settings {
    int n_train;           /* training pairs (10% of them validation)       */
    int n_test_seen;       /* test pairs in training formats, unseen dates  */
    int n_test_unseen;     /* test pairs in held-out formats, unseen dates  */
    int emb, units;        /* embedding width, encoder units per direction  */
    int att_units;         /* Bahdanau score width                          */
    int epochs, batch;
    float lr;
    int demo_epochs;       /* the pattern demos                             */
    int n_beam_eval;       /* test pairs also decoded with beam search      */
    int n_demo;            /* training pairs the pattern demos use          */
    int copy_train, copy_test, copy_max; /* section 6: digit strings      */
    int copy_epochs;
} settings;

static settings settings_for(const ex_args *args)
{
    settings s = { 30000, 2000, 1000, 24, 32, 32, 6, 64, 3e-3f, 3, 600,
                   12000, 20000, 1000, 32, 12 };
    if (args->quick) {
        settings q = { 5000, 300, 200, 16, 24, 24, 4, 64, 5e-3f, 2, 60,
                       3000, 3000, 300, 20, 4 };
        s = q;
    }
    if (args->epochs > 0)
        s.epochs = s.copy_epochs = args->epochs;
    return s;
}

/* ------------------------------------------------------------ dates */

enum { EN = 0, DE = 1, FR = 2, N_LANG = 3 };
static const char *const lang_name[N_LANG] = { "English", "German",
                                               "French" };

static const char *const month_full[N_LANG][12] = {
    { "January", "February", "March", "April", "May", "June", "July",
      "August", "September", "October", "November", "December" },
    { "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
      "September", "Oktober", "November", "Dezember" },
    { "janvier", "février", "mars", "avril", "mai", "juin", "juillet",
      "août", "septembre", "octobre", "novembre", "décembre" }
};
static const char *const month_abbr[N_LANG][12] = {
    { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
      "Nov", "Dec" },
    { "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.",
      "Sept.", "Okt.", "Nov.", "Dez." },
    { "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
      "sept.", "oct.", "nov.", "déc." }
};
/* Monday first. */
static const char *const day_full[N_LANG][7] = {
    { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
      "Sunday" },
    { "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag",
      "Sonntag" },
    { "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
      "dimanche" }
};
static const char *const day_abbr[N_LANG][7] = {
    { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" },
    { "Mo", "Di", "Mi", "Do", "Fr", "Sa", "So" },
    { "lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim." }
};
static const char *const ordinal_word[31] = {
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
    "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth",
    "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth", "twentieth", "twenty-first", "twenty-second",
    "twenty-third", "twenty-fourth", "twenty-fifth", "twenty-sixth",
    "twenty-seventh", "twenty-eighth", "twenty-ninth", "thirtieth",
    "thirty-first"
};

/* A format: placeholders %d day, %D day 2 digits, %o 3rd, %O third,
 * %e French day (1er), %M month, %N month 2 digits, %B month name, %b
 * abbreviated, %Y year, %y 2 digits (50-99 -> 19yy, 00-49 -> 20yy), %A
 * weekday, %a abbreviated.  case_ 1 = lower, 2 = upper.  The numeric
 * formats follow one rule, so that every string has one reading: '/' with
 * the year last is month first (US), '.' is day first, year first is ISO
 * order. */
typedef struct format {
    int lang;
    const char *fmt;
    int case_;
    int held_out;          /* test only: never seen in training */
} format;

static const format formats[] = {
    { EN, "%B %d, %Y", 0, 0 },          { EN, "%b %d, %Y", 0, 0 },
    { EN, "%d %B %Y", 0, 0 },           { EN, "%o of %B %Y", 0, 0 },
    { EN, "%A, %B %d, %Y", 0, 0 },      { EN, "%a %N/%D/%y", 0, 0 },
    { EN, "%M/%d/%Y", 0, 0 },           { EN, "%b %o %Y", 0, 0 },
    { EN, "%A %o %B %Y", 0, 0 },        { EN, "%d %b %y", 0, 0 },
    { EN, "the %O of %B, %Y", 0, 0 },   { EN, "%A, the %O of %B %Y", 0, 0 },
    { EN, "%B %d, %Y", 1, 0 },          { EN, "%d %b %Y", 2, 0 },
    { EN, "%Y-%N-%D", 0, 0 },           { EN, "%Y/%N/%D", 0, 0 },
    { DE, "%d. %B %Y", 0, 0 },          { DE, "%D.%N.%Y", 0, 0 },
    { DE, "%a %D.%N.%y", 0, 0 },        { DE, "%A, %d. %B %Y", 0, 0 },
    { DE, "%d. %b %Y", 0, 0 },          { DE, "%d.%M.%y", 0, 0 },
    { DE, "am %d. %B %Y", 0, 0 },       { DE, "%A, den %d. %B %Y", 0, 0 },
    { FR, "%e %B %Y", 0, 0 },           { FR, "%A %e %B %Y", 0, 0 },
    { FR, "le %e %B %Y", 0, 0 },        { FR, "%e %b %Y", 0, 0 },
    { FR, "%a %D.%N.%Y", 0, 0 },        { FR, "le %A %e %B %Y", 0, 0 },
    /* held out: new combinations of parts seen in other formats */
    { EN, "%A, %o of %B %Y", 0, 1 },    { EN, "%a, %b %d, %Y", 0, 1 },
    { EN, "the %O of %B %Y", 1, 1 },    { DE, "%A, %D.%N.%Y", 0, 1 },
    { DE, "%a, %d. %B %Y", 0, 1 },      { FR, "%a %e %B %Y", 0, 1 },
    { FR, "le %e %b %Y", 0, 1 },
};
enum { N_FORMATS = (int)(sizeof formats / sizeof formats[0]) };

/* Tags of the many-to-many demo, one per input character. */
enum { TAG_OTHER = 0, TAG_DAY = 1, TAG_MONTH = 2, TAG_YEAR = 3, N_TAGS = 4 };
static const char tag_char[N_TAGS] = { '.', 'D', 'M', 'Y' };

/* Days since 1970-01-01 to (y, m, d) (Howard Hinnant's civil_from_days). */
static void civil(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Dates from 1950-01-01 (day -7305) over 100 years. */
enum { FIRST_DAY = -7305, N_DAYS = 36524 };

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One date in five belongs to the test set only (fixed, seed-free). */
static int is_test_date(int k)
{
    uint64_t s = (uint64_t)k * 7919u + 12345u;
    return splitmix(&s) % 5 == 0;
}

/* Appends text to out (UTF-8) and its tag to every code point. */
typedef struct strbuf {
    char s[96];
    uint8_t tag[96];       /* per code point */
    int bytes, chars;
} strbuf;

static void put(strbuf *b, const char *text, int tag)
{
    for (const char *p = text; *p; p++) {
        if (b->bytes + 1 >= (int)sizeof b->s)
            return;
        b->s[b->bytes++] = *p;
        if (((unsigned char)*p & 0xC0) != 0x80)
            b->tag[b->chars++] = (uint8_t)tag;
    }
    b->s[b->bytes] = '\0';
}

static const char *ordinal_suffix(int d)
{
    if (d >= 11 && d <= 13)
        return "th";
    switch (d % 10) {
    case 1: return "st";
    case 2: return "nd";
    case 3: return "rd";
    default: return "th";
    }
}

/* Writes date k (days from FIRST_DAY) in format f into b. */
static void render(const format *f, int k, strbuf *b)
{
    int y, m, d;
    long z = (long)FIRST_DAY + k;
    civil(z, &y, &m, &d);
    int wd = (int)(((z + 3) % 7 + 7) % 7);   /* 1970-01-01 was a Thursday */
    char num[32];
    memset(b, 0, sizeof *b);
    for (const char *p = f->fmt; *p; p++) {
        if (*p != '%') {
            char c[2] = { *p, 0 };
            put(b, c, TAG_OTHER);
            continue;
        }
        p++;
        switch (*p) {
        case 'd': snprintf(num, sizeof num, "%d", d); put(b, num, TAG_DAY); break;
        case 'D': snprintf(num, sizeof num, "%02d", d); put(b, num, TAG_DAY); break;
        case 'o':
            snprintf(num, sizeof num, "%d%s", d, ordinal_suffix(d));
            put(b, num, TAG_DAY);
            break;
        case 'O': put(b, ordinal_word[d - 1], TAG_DAY); break;
        case 'e':
            snprintf(num, sizeof num, d == 1 ? "1er" : "%d", d);
            put(b, num, TAG_DAY);
            break;
        case 'M': snprintf(num, sizeof num, "%d", m); put(b, num, TAG_MONTH); break;
        case 'N': snprintf(num, sizeof num, "%02d", m); put(b, num, TAG_MONTH); break;
        case 'B': put(b, month_full[f->lang][m - 1], TAG_MONTH); break;
        case 'b': put(b, month_abbr[f->lang][m - 1], TAG_MONTH); break;
        case 'Y': snprintf(num, sizeof num, "%d", y); put(b, num, TAG_YEAR); break;
        case 'y': snprintf(num, sizeof num, "%02d", y % 100); put(b, num, TAG_YEAR); break;
        case 'A': put(b, day_full[f->lang][wd], TAG_OTHER); break;
        case 'a': put(b, day_abbr[f->lang][wd], TAG_OTHER); break;
        default: break;
        }
    }
    /* case changes only touch ASCII letters, so tags stay aligned */
    for (int i = 0; i < b->bytes; i++) {
        unsigned char c = (unsigned char)b->s[i];
        if (c < 0x80)
            b->s[i] = (char)(f->case_ == 1 ? tolower(c)
                             : f->case_ == 2 ? toupper(c) : c);
    }
}

static void iso_of(int k, char out[11])
{
    int y, m, d;
    civil((long)FIRST_DAY + k, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* ------------------------------------------------------------ characters */

/* Input ids: 0 padding, 1 unknown, 2.. the alphabet below (code points).
 * Fixed here rather than learned, so that a saved model needs nothing
 * else to translate. */
static const char alphabet_utf8[] =
    " ,.'/-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "äöüßéèêëàâîïôûùçÄÖÜÉÈÊÀÂÎÔÛÇ";
enum { MAX_ALPHA = 128 };
static uint32_t alphabet[MAX_ALPHA];
static int n_alphabet;

/* Decodes one UTF-8 code point at *p (invalid bytes read as themselves). */
static uint32_t utf8_next(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c = s[0];
    int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (n)
        c &= 0x3Fu >> n;
    int i = 1;
    for (; i <= n && (s[i] & 0xC0) == 0x80; i++)
        c = (c << 6) | (s[i] & 0x3Fu);
    *p += i;
    return c;
}

static void utf8_put(uint32_t c, char out[5])
{
    if (c < 0x80) {
        out[0] = (char)c, out[1] = 0;
    } else if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6)), out[1] = (char)(0x80 | (c & 0x3F));
        out[2] = 0;
    } else {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        out[3] = 0;
    }
}

static void alphabet_init(void)
{
    const char *p = alphabet_utf8;
    n_alphabet = 0;
    while (*p && n_alphabet < MAX_ALPHA)
        alphabet[n_alphabet++] = utf8_next(&p);
}

enum { V_IN_EXTRA = 2 };
static int vocab_in(void) { return n_alphabet + V_IN_EXTRA; }

/* Writes the ids of text (at most cap) and returns how many. */
static int encode(const char *text, int32_t *ids, int cap)
{
    int n = 0;
    const char *p = text;
    while (*p && n < cap) {
        uint32_t c = utf8_next(&p);
        int id = 1;
        for (int i = 0; i < n_alphabet; i++)
            if (alphabet[i] == c) {
                id = i + V_IN_EXTRA;
                break;
            }
        ids[n++] = id;
    }
    return n;
}

/* Output ids: 0 padding (unused), 1 start, 2 end, 3.. "0123456789-". */
enum { OUT_START = 1, OUT_END = 2, V_OUT = 14, T_OUT = 11, ISO_LEN = 10,
       MAX_OUT = 48 };

static int out_id(char c) { return c == '-' ? 13 : 3 + (c - '0'); }
static char out_char(int id)
{
    return id == 13 ? '-' : id >= 3 && id <= 12 ? (char)('0' + id - 3)
                                                 : '?';
}

/* ------------------------------------------------------------ data sets */

enum { MAX_IN = 64 };

typedef struct pairs {
    int n, tin;            /* pairs, padded input length                  */
    int32_t *src;          /* [n, tin] input character ids, 0-padded      */
    int *len;              /* [n] input characters                        */
    int tout;              /* decoder steps (T_OUT for dates)             */
    int32_t *dec_in;       /* [n, tout] start, then the target's chars    */
    float *dec_tgt;        /* [n, tout] the target's chars, then end      */
    float *tags;           /* [n, tin] tag per character (0 on padding)   */
    float *month;          /* [n] month - 1                               */
    int *fmt;              /* [n] format index                            */
    char (*text)[96];      /* [n] the input, UTF-8                        */
    char (*tgt)[MAX_OUT + 1]; /* [n] the target ("1998-03-03")          */
} pairs;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    ex_check(p != NULL ? SN_OK : SN_ERR_NOMEM, "calloc");
    return p;
}

/* n pairs: dates of the test or the training part, formats held out or
 * not. */
static pairs make_pairs(int n, int test_dates, int held_out, uint64_t seed)
{
    pairs p = { 0 };
    p.n = n;
    p.tout = T_OUT;
    p.len = xcalloc((size_t)n, sizeof *p.len);
    p.dec_in = xcalloc((size_t)n * T_OUT, sizeof *p.dec_in);
    p.dec_tgt = xcalloc((size_t)n * T_OUT, sizeof *p.dec_tgt);
    p.month = xcalloc((size_t)n, sizeof *p.month);
    p.fmt = xcalloc((size_t)n, sizeof *p.fmt);
    p.text = xcalloc((size_t)n, sizeof *p.text);
    p.tgt = xcalloc((size_t)n, sizeof *p.tgt);
    int allowed[N_FORMATS], n_allowed = 0;
    for (int f = 0; f < N_FORMATS; f++)
        if (formats[f].held_out == held_out)
            allowed[n_allowed++] = f;
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + (uint64_t)test_dates * 17 +
                 (uint64_t)held_out * 101;
    strbuf b;
    uint8_t (*tags)[96] = xcalloc((size_t)n, sizeof *tags);
    for (int i = 0; i < n; i++) {
        int k;
        do
            k = (int)(splitmix(&s) % N_DAYS);
        while (is_test_date(k) != test_dates);
        int f = allowed[splitmix(&s) % (uint64_t)n_allowed];
        render(&formats[f], k, &b);
        memcpy(p.text[i], b.s, sizeof p.text[i]);
        memcpy(tags[i], b.tag, sizeof tags[i]);
        p.len[i] = b.chars;
        if (b.chars > p.tin)
            p.tin = b.chars;
        p.fmt[i] = f;
        iso_of(k, p.tgt[i]);
        p.month[i] = (float)((p.tgt[i][5] - '0') * 10 + p.tgt[i][6] - '0' - 1);
        p.dec_in[(size_t)i * T_OUT] = OUT_START;
        for (int t = 0; t < ISO_LEN; t++) {
            p.dec_in[(size_t)i * T_OUT + t + 1] = out_id(p.tgt[i][t]);
            p.dec_tgt[(size_t)i * T_OUT + t] = (float)out_id(p.tgt[i][t]);
        }
        p.dec_tgt[(size_t)i * T_OUT + ISO_LEN] = OUT_END;
    }
    p.src = xcalloc((size_t)n * p.tin, sizeof *p.src);
    p.tags = xcalloc((size_t)n * p.tin, sizeof *p.tags);
    for (int i = 0; i < n; i++) {
        int got = encode(p.text[i], p.src + (size_t)i * p.tin, p.tin);
        ex_check(got == p.len[i] ? SN_OK : SN_ERR_FORMAT, "encode");
        for (int t = 0; t < p.len[i]; t++) {
            ex_check(p.src[(size_t)i * p.tin + t] != 1 ? SN_OK
                                                        : SN_ERR_FORMAT,
                     "a generated character missing from the alphabet");
            p.tags[(size_t)i * p.tin + t] = tags[i][t];
        }
    }
    free(tags);
    return p;
}

/* The copy task of section 6: n strings of min_len .. max_len random
 * digits, each to be copied; the decoder has max_len + 1 steps (after the
 * end id, the target repeats it). */
static pairs make_copy_pairs(int n, int min_len, int max_len, uint64_t seed)
{
    pairs p = { 0 };
    p.n = n;
    p.tin = max_len;
    p.tout = max_len + 1;
    p.len = xcalloc((size_t)n, sizeof *p.len);
    p.src = xcalloc((size_t)n * p.tin, sizeof *p.src);
    p.dec_in = xcalloc((size_t)n * p.tout, sizeof *p.dec_in);
    p.dec_tgt = xcalloc((size_t)n * p.tout, sizeof *p.dec_tgt);
    p.text = xcalloc((size_t)n, sizeof *p.text);
    p.tgt = xcalloc((size_t)n, sizeof *p.tgt);
    uint64_t st = seed * 0x9E3779B97F4A7C15ull + 77;
    for (int i = 0; i < n; i++) {
        int len = min_len + (int)(splitmix(&st) % (uint64_t)(max_len -
                                                             min_len + 1));
        p.len[i] = len;
        for (int t = 0; t < len; t++)
            p.text[i][t] = (char)('0' + splitmix(&st) % 10);
        p.text[i][len] = 0;
        memcpy(p.tgt[i], p.text[i], (size_t)len + 1);
        encode(p.text[i], p.src + (size_t)i * p.tin, p.tin);
        int32_t *din = p.dec_in + (size_t)i * p.tout;
        float *dt = p.dec_tgt + (size_t)i * p.tout;
        din[0] = OUT_START;
        for (int t = 0; t < p.tout; t++) {
            int id = t < len ? out_id(p.text[i][t]) : OUT_END;
            dt[t] = (float)id;
            if (t + 1 < p.tout)
                din[t + 1] = id;
        }
    }
    return p;
}

static void free_pairs(pairs *p)
{
    free(p->src);
    free(p->len);
    free(p->dec_in);
    free(p->dec_tgt);
    free(p->tags);
    free(p->month);
    free(p->fmt);
    free(p->text);
    free(p->tgt);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------ helpers */

static sn_model_t *new_model(uint64_t seed, const char *name)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    mo.name = name;
    sn_model_t *m = sn_model_new(&mo);
    ex_check(m != NULL ? SN_OK : SN_ERR_NOMEM, "sn_model_new");
    return m;
}

static sn_layer_t *named(sn_layer_t *layer, const char *name)
{
    ex_check(sn_layer_set_name(layer, name), "sn_layer_set_name");
    return layer;
}

static sn_layer_t *lstm(int units, int return_sequences, int return_state)
{
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_sequences = return_sequences;
    ro.return_state = return_state;
    return sn_lstm(units, &ro);
}

/* Adam, sparse categorical crossentropy, accuracy. */
static void compile(sn_model_t *m, float lr)
{
    sn_optimizer_opts oo;
    ex_check(sn_optimizer_defaults(SN_ADAM, &oo), "sn_optimizer_defaults");
    oo.learning_rate = lr;
    oo.global_clipnorm = 5.0f;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    sn_metric_kind metric = SN_METRIC_ACCURACY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.loss = &lo;
    co.metrics = &metric;
    co.n_metrics = 1;
    ex_check(sn_model_compile(m, &co), "sn_model_compile");
}

static int argmax(const float *p, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best])
            best = i;
    return best;
}

/* A table from a flat array of printf'ed cells. */
typedef struct cells {
    int rows, cols;
    char (*c)[64];
    const char **p;
} cells;

static cells cells_new(int rows, int cols)
{
    cells t = { rows, cols, xcalloc((size_t)rows * cols, 64),
                xcalloc((size_t)rows * cols, sizeof(char *)) };
    for (int i = 0; i < rows * cols; i++)
        t.p[i] = t.c[i];
    return t;
}

static void cell(cells *t, int r, int c, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cell(cells *t, int r, int c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->c[r * t->cols + c], 64, fmt, ap);
    va_end(ap);
}

static void cells_emit(ex_report *rep, cells *t, const char *const *head)
{
    ex_table(rep, t->cols, head, t->rows, t->p);
    free(t->c);
    free(t->p);
}

/* ------------------------------------------------- pattern: many-to-one */

/* Which month does the date string name?  Embedding -> LSTM (last state
 * only: return_sequences = 0) -> Dense(12, softmax). */
static void demo_many_to_one(ex_report *rep, const settings *s,
                             const pairs *tr, const pairs *te_seen,
                             const pairs *te_new, uint64_t seed)
{
    sn_model_t *m = new_model(seed, "month_of");
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int x = sn_input_tokens(m, SN_ANY_TIME);
    x = sn_apply(m, sn_embedding(vocab_in(), s->emb, &eo), x);
    x = sn_apply(m, lstm(2 * s->units, 0, 0), x);
    x = sn_apply(m, sn_dense(12, SN_SOFTMAX, NULL), x);
    ex_check(x, "building the many-to-one model");
    compile(m, s->lr);
    const void *in[1] = { tr->src };
    const float *tg[1] = { tr->month };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = tr->n;
    d.inputs = in;
    d.timesteps = &tr->tin;
    d.targets = tg;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = s->demo_epochs;
    fo.batch_size = s->batch;
    fo.progress = stdout;
    printf("\nmany-to-one: the month of a date\n");
    ex_check(sn_model_fit(m, &d, &fo, NULL), "sn_model_fit");
    double acc[2];
    const pairs *sets[2] = { te_seen, te_new };
    for (int k = 0; k < 2; k++) {
        const void *ti[1] = { sets[k]->src };
        const float *tt[1] = { sets[k]->month };
        sn_dataset dt = SN_DATASET_INIT;
        dt.n_samples = sets[k]->n;
        dt.inputs = ti;
        dt.timesteps = &sets[k]->tin;
        dt.targets = tt;
        double ev[2];
        ex_check(sn_model_evaluate(m, &dt, 256, ev, 2), "sn_model_evaluate");
        acc[k] = ev[1];
    }
    ex_say(rep, "**Many-to-one** (Embedding -> LSTM(%d), last state only -> "
           "Dense(12, softmax)): the month of each date string.  Test "
           "accuracy %.4f on training formats, %.4f on held-out formats "
           "(%zu parameters).", 2 * s->units, acc[0], acc[1],
           sn_model_count_params(m, NULL));
    sn_model_free(m);
}

/* ----------------------------------------- pattern: many-to-many (tags) */

/* One tag per character: Embedding -> BiLSTM(return_sequences) ->
 * Dense(4, softmax) at every step. */
static void demo_many_to_many(ex_report *rep, const settings *s,
                              const pairs *tr, const pairs *te,
                              uint64_t seed)
{
    sn_model_t *m = new_model(seed, "tagger");
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int x = sn_input_tokens(m, SN_ANY_TIME);
    x = sn_apply(m, sn_embedding(vocab_in(), s->emb, &eo), x);
    x = sn_apply(m, sn_bidirectional(lstm(s->units, 1, 0), SN_MERGE_CONCAT),
                 x);
    x = sn_apply(m, sn_dense(N_TAGS, SN_SOFTMAX, NULL), x);
    ex_check(x, "building the tagger");
    compile(m, s->lr);
    const void *in[1] = { tr->src };
    const float *tg[1] = { tr->tags };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = tr->n;
    d.inputs = in;
    d.timesteps = &tr->tin;
    d.targets = tg;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = s->demo_epochs;
    fo.batch_size = s->batch;
    fo.progress = stdout;
    printf("\nmany-to-many: a tag per character\n");
    ex_check(sn_model_fit(m, &d, &fo, NULL), "sn_model_fit");

    /* accuracy over real characters only (padding is not scored) */
    float *pred = xcalloc((size_t)te->n * te->tin * N_TAGS, sizeof *pred);
    const void *ti[1] = { te->src };
    float *po[1] = { pred };
    ex_check(sn_model_predict_batches(m, te->n, ti, &te->tin, po, 256),
             "sn_model_predict_batches");
    long right[N_TAGS] = { 0 }, total[N_TAGS] = { 0 }, rows_ok = 0;
    for (int i = 0; i < te->n; i++) {
        int ok = 1;
        for (int t = 0; t < te->len[i]; t++) {
            size_t at = (size_t)i * te->tin + t;
            int want = (int)te->tags[at];
            int got = argmax(pred + at * N_TAGS, N_TAGS);
            total[want]++;
            right[want] += got == want;
            ok &= got == want;
        }
        rows_ok += ok;
    }
    ex_say(rep, "**Many-to-many, equal length** (Embedding -> "
           "Bidirectional(LSTM(%d), return_sequences) -> Dense(4, softmax) "
           "at every step): each character tagged as day, month, year or "
           "other.  On %d test strings (unseen dates) every tag right in "
           "%.4f of them:", s->units, te->n, (double)rows_ok / te->n);
    static const char *const head[] = { "tag", "characters", "accuracy" };
    static const char *const names[N_TAGS] = { "other (.)", "day (D)",
                                               "month (M)", "year (Y)" };
    cells t = cells_new(N_TAGS, 3);
    for (int k = 0; k < N_TAGS; k++) {
        cell(&t, k, 0, "%s", names[k]);
        cell(&t, k, 1, "%ld", total[k]);
        cell(&t, k, 2, "%.4f", total[k] ? (double)right[k] / total[k] : 0);
    }
    cells_emit(rep, &t, head);
    /* three examples, as text */
    for (int i = 0; i < 3 && i < te->n; i++) {
        char line[128];
        int k;
        for (k = 0; k < te->len[i] && k < 127; k++)
            line[k] = tag_char[argmax(pred + ((size_t)i * te->tin + k) *
                                                  N_TAGS, N_TAGS)];
        line[k] = 0;
        ex_say(rep, "`%s` -> `%s`", te->text[i], line);
    }
    free(pred);
    sn_model_free(m);
}

/* ---------------------------------- pattern: one-to-many (RepeatVector) */

/* Keras' RepeatVector(n), written as a custom layer: [D] -> [n, D].  The
 * backward pass sums the gradient over the n copies. */
static int repeat_infer(const void *state, const sn_tensor_shape *in,
                        int n_in, sn_tensor_shape *out, int max_out)
{
    (void)n_in;
    (void)max_out;
    if (in[0].dtype != SN_FLOAT32 || in[0].rank != 1)
        return sn_custom_fail(SN_ERR_SHAPE, "expected a float vector");
    out[0].dtype = SN_FLOAT32;
    out[0].rank = 2;
    out[0].dims[0] = *(const int *)state;
    out[0].dims[1] = in[0].dims[0];
    return 1;
}

static sn_status repeat_forward(const void *state, sn_custom_call_t *c)
{
    int n = *(const int *)state, batch = sn_custom_batch(c);
    sn_tensor_shape sh = SN_TENSOR_SHAPE_INIT;
    sn_custom_input_shape(c, 0, &sh);
    int d = sh.dims[0];
    const float *x = sn_custom_input(c, 0);
    float *y = sn_custom_output(c, 0);
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < n; t++)
            memcpy(y + ((size_t)b * n + t) * d, x + (size_t)b * d,
                   (size_t)d * sizeof *y);
    return SN_OK;
}

static sn_status repeat_backward(const void *state, sn_custom_call_t *c)
{
    int n = *(const int *)state, batch = sn_custom_batch(c);
    sn_tensor_shape sh = SN_TENSOR_SHAPE_INIT;
    sn_custom_input_shape(c, 0, &sh);
    int d = sh.dims[0];
    const float *g = sn_custom_output_grad(c, 0);
    float *dx = sn_custom_input_grad(c, 0);
    if (dx == NULL)
        return SN_OK;
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < n; t++)
            for (int i = 0; i < d; i++)
                dx[(size_t)b * d + i] += g[((size_t)b * n + t) * d + i];
    return SN_OK;
}

static sn_layer_t *repeat_vector(int n)
{
    static const sn_custom_layer_ops ops = {
        .size = sizeof(sn_custom_layer_ops),
        .type = "course.RepeatVector",
        .min_inputs = 1,
        .max_inputs = 1,
        .infer = repeat_infer,
        .forward = repeat_forward,
        .backward = repeat_backward,
        .destroy = free,
    };
    int *state = malloc(sizeof *state);
    if (state == NULL)
        return NULL;
    *state = n;
    return sn_custom_layer(&ops, state);
}

/* Month names generated from one vector: one-hot(month) ++ one-hot(lang)
 * -> Dense -> RepeatVector(12) -> LSTM(return_sequences) -> Dense(softmax)
 * over the characters (padding = end) at every step. */
static void demo_one_to_many(ex_report *rep, uint64_t seed, int quick)
{
    enum { N = 12 * N_LANG, T = 10, F = 12 + N_LANG };
    static float x[N * F], y[N * T];
    for (int l = 0; l < N_LANG; l++)
        for (int mo = 0; mo < 12; mo++) {
            int i = l * 12 + mo;
            x[i * F + mo] = 1.0f;
            x[i * F + 12 + l] = 1.0f;
            int32_t ids[T] = { 0 };
            encode(month_full[l][mo], ids, T);
            for (int t = 0; t < T; t++)
                y[i * T + t] = (float)ids[t];
        }
    sn_model_t *m = new_model(seed, "month_names");
    int v = sn_input(m, SN_NO_TIME, F);
    v = sn_apply(m, sn_dense(32, SN_TANH, NULL), v);
    v = sn_apply(m, repeat_vector(T), v);
    v = sn_apply(m, lstm(64, 1, 0), v);
    v = sn_apply(m, sn_dense(vocab_in(), SN_SOFTMAX, NULL), v);
    ex_check(v, "building the one-to-many model");
    compile(m, 1e-2f);
    const void *in[1] = { x };
    const float *tg[1] = { y };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = N;
    d.inputs = in;
    d.targets = tg;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = quick ? 100 : 200;
    fo.batch_size = 12;
    printf("\none-to-many: month names from a vector (%d epochs)\n",
           fo.epochs);
    ex_check(sn_model_fit(m, &d, &fo, NULL), "sn_model_fit");
    static float p[N * T * 128];
    float *po[1] = { p };
    ex_check(sn_model_predict(m, N, in, NULL, po), "sn_model_predict");
    int right = 0;
    cells t = cells_new(12, 4);
    for (int mo = 0; mo < 12; mo++) {
        cell(&t, mo, 0, "%d", mo + 1);
        for (int l = 0; l < N_LANG; l++) {
            int i = l * 12 + mo;
            char word[64] = "";
            for (int k = 0; k < T; k++) {
                int id = argmax(p + ((size_t)i * T + k) * vocab_in(),
                                vocab_in());
                if (id < V_IN_EXTRA)
                    break;
                char u[5];
                utf8_put(alphabet[id - V_IN_EXTRA], u);
                strcat(word, u);
            }
            right += strcmp(word, month_full[l][mo]) == 0;
            cell(&t, mo, 1 + l, "%s", word);
        }
    }
    ex_say(rep, "**One-to-many** (one vector: one-hot month and language "
           "-> Dense(32, tanh) -> RepeatVector(%d), a custom layer here -> "
           "LSTM(64, return_sequences) -> Dense(softmax) over the "
           "characters at every step): %d of the %d month names generated "
           "letter for letter after %d epochs.  (A lookup table learned by "
           "heart: the point is the shape of the model, not "
           "generalisation.)", T, right, N, fo.epochs);
    static const char *const head[] = { "month", "English", "German",
                                        "French" };
    cells_emit(rep, &t, head);
    sn_model_free(m);
}

/* ------------------------------------------------------------ seq2seq */

enum decoder_kind { DEC_NONE = 0, DEC_BAHDANAU = 1, DEC_LUONG = 2 };
static const char *const dec_name[3] = { "no attention", "Bahdanau",
                                         "Luong" };
static const char *const dec_file[3] = { "no_attention.snm", "bahdanau.snm",
                                         "luong.snm" };

/* What an encoder-decoder is made of (read back from a saved model). */
typedef struct arch {
    enum decoder_kind kind;
    int emb, units;        /* encoder units per direction                  */
    int att_units;         /* Bahdanau score width                         */
    int tout;              /* decoder steps in training (T_OUT for dates)  */
} arch;

static sn_layer_t *attention_layer(const arch *a, int scores)
{
    sn_attention_opts ao = SN_ATTENTION_OPTS_INIT;
    ao.units = a->att_units;
    ao.return_attention_scores = scores;
    return named(sn_attention(a->kind == DEC_BAHDANAU ? SN_SCORE_ADDITIVE
                                                      : SN_SCORE_GENERAL,
                              &ao), "attention");
}

/* The encoder: Embedding(mask_zero) -> Bidirectional LSTM.  Writes the
 * ids of its sequence output [T, 2u] (or -1) and of the decoder's initial
 * states h0, c0 [2u] (the two directions' final states side by side). */
static void encoder(sn_model_t *m, const arch *a, int src, int *seq, int *h0,
                    int *c0)
{
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int e = sn_apply(m, named(sn_embedding(vocab_in(), a->emb, &eo),
                              "enc_emb"), src);
    int o[5];
    ex_check(sn_apply_n(m, named(sn_bidirectional(
                                     lstm(a->units, a->kind != DEC_NONE, 1),
                                     SN_MERGE_CONCAT), "encoder"),
                        &e, 1, o, 5), "applying the encoder");
    int hs[2] = { o[1], o[3] }, cs[2] = { o[2], o[4] };
    ex_check(sn_apply_n(m, sn_concatenate(-1), hs, 2, h0, 1), "h0");
    ex_check(sn_apply_n(m, sn_concatenate(-1), cs, 2, c0, 1), "c0");
    *seq = a->kind != DEC_NONE ? o[0] : -1;
}

/* The decoder on top of one decoder LSTM output q (a sequence [T, 2u] in
 * training, one step [2u] in the step model):
 *   attention: context = Attention(query q, values enc), then
 *              h~ = Dense(2u, tanh)([context, q])   (Luong's attentional
 *              hidden state)
 *   none:      h~ = Dense(2u, tanh)(q)
 *   y = Dense(V_OUT, softmax)(h~).
 * *weights gets the attention weights' id when scores is set. */
static int decoder_head(sn_model_t *m, const arch *a, int q, int enc,
                        int scores, int *weights)
{
    int x = q;
    if (a->kind != DEC_NONE) {
        int in[2] = { q, enc }, out[2];
        ex_check(sn_apply_n(m, attention_layer(a, scores), in, 2, out, 2),
                 "applying the attention");
        if (weights)
            *weights = out[1];
        int cat[2] = { out[0], q };
        ex_check(sn_apply_n(m, sn_concatenate(-1), cat, 2, &x, 1),
                 "concatenate");
    }
    x = sn_apply(m, named(sn_dense(2 * a->units, SN_TANH, NULL), "combine"),
                 x);
    return sn_apply(m, named(sn_dense(V_OUT, SN_SOFTMAX, NULL), "out"), x);
}

/* Training model (teacher forcing): inputs src ids [T] and the shifted
 * target [tout] (start, y_1 .. y_10 for a date); output [tout, V_OUT]. */
static sn_model_t *train_model(const arch *a, uint64_t seed)
{
    static const char *const names[3] = { "seq2seq_none",
                                          "seq2seq_bahdanau",
                                          "seq2seq_luong" };
    sn_model_t *m = new_model(seed, names[a->kind]);
    int src = sn_input_tokens(m, SN_ANY_TIME);
    int dec_in = sn_input_tokens(m, a->tout);
    int seq, h0, c0;
    encoder(m, a, src, &seq, &h0, &c0);
    int e = sn_apply(m, named(sn_embedding(V_OUT, a->emb, NULL), "dec_emb"),
                     dec_in);
    int in[3] = { e, h0, c0 }, q;
    ex_check(sn_apply_n(m, named(lstm(2 * a->units, 1, 0), "decoder"), in, 3,
                        &q, 1), "applying the decoder");
    int y = decoder_head(m, a, q, seq, 0, NULL);
    ex_check(y, "building the encoder-decoder");
    ex_check(sn_model_set_outputs(m, &y, 1), "sn_model_set_outputs");
    ex_check(sn_model_build(m), "sn_model_build");
    return m;
}

/* Inference: the encoder alone (outputs: sequence if any, h0, c0). */
static sn_model_t *encoder_model(const arch *a)
{
    sn_model_t *m = new_model(1, "encoder");
    int seq, h0, c0;
    encoder(m, a, sn_input_tokens(m, SN_ANY_TIME), &seq, &h0, &c0);
    int outs[3] = { h0, c0, seq };
    ex_check(sn_model_set_outputs(m, outs, a->kind != DEC_NONE ? 3 : 2),
             "sn_model_set_outputs");
    ex_check(sn_model_build(m), "sn_model_build");
    return m;
}

/* Inference: one decoder step.  Inputs: the previous output id [1], the
 * states h, c [2u] and (attention) the encoder's sequence [T, 2u].
 * Outputs: probabilities [V_OUT], the new h and c, and the attention
 * weights [T]. */
static sn_model_t *step_model(const arch *a)
{
    sn_model_t *m = new_model(1, "decoder_step");
    int tok = sn_input_tokens(m, 1);
    int h = sn_input(m, SN_NO_TIME, 2 * a->units);
    int c = sn_input(m, SN_NO_TIME, 2 * a->units);
    int enc = a->kind != DEC_NONE ? sn_input(m, SN_ANY_TIME, 2 * a->units)
                                  : -1;
    int e = sn_apply(m, named(sn_embedding(V_OUT, a->emb, NULL), "dec_emb"),
                     tok);
    int in[3] = { e, h, c }, o[3];
    ex_check(sn_apply_n(m, named(lstm(2 * a->units, 0, 1), "decoder"), in, 3,
                        o, 3), "applying the decoder step");
    int w = -1;
    int y = decoder_head(m, a, o[0], enc, 1, &w);
    int outs[4] = { y, o[1], o[2], w };
    ex_check(sn_model_set_outputs(m, outs, a->kind != DEC_NONE ? 4 : 3),
             "sn_model_set_outputs");
    ex_check(sn_model_build(m), "sn_model_build");
    return m;
}

/* A translator as a host application holds it: built once from a trained
 * (or loaded) model, then used one request - or one batch of equally long
 * requests - at a time. */
typedef struct translator {
    arch a;
    sn_model_t *enc, *step;
    int d;                 /* 2 * units: decoder width                     */
} translator;

static translator translator_new(const arch *a, sn_model_t *trained)
{
    translator tr = { *a, encoder_model(a), step_model(a), 2 * a->units };
    ex_copy_weights(tr.enc, trained, NULL);
    ex_copy_weights(tr.step, trained, NULL);
    return tr;
}

static void translator_free(translator *tr)
{
    sn_model_free(tr->enc);
    sn_model_free(tr->step);
}

/* One decoder step for batch rows: reads the previous ids tok and the
 * states h, c [batch, d], writes the probabilities p [batch, V_OUT] and
 * the attention weights w [batch, T], and replaces h, c by the new
 * states (the carried state). */
static void decode_step(const translator *tr, int batch, int T,
                        const int32_t *tok, float *h, float *c,
                        const float *seq, float *p, float *w)
{
    size_t n = (size_t)batch * tr->d;
    float *h2 = xcalloc(n, sizeof *h2), *c2 = xcalloc(n, sizeof *c2);
    const void *in[4] = { tok, h, c, seq };
    int ts[4] = { 1, 0, 0, T };
    float *o[4] = { p, h2, c2, w };
    ex_check(sn_model_predict(tr->step, batch, in, ts, o),
             "decoder step predict");
    memcpy(h, h2, n * sizeof *h);
    memcpy(c, c2, n * sizeof *c);
    free(h2);
    free(c2);
}

/* Greedy decoding of batch inputs of the same length T (no padding, so no
 * mask is needed): out[b] gets the ISO string ("" parts if the model ends
 * early); weights (if not NULL, batch must be 1) gets [tout, T] with the
 * attention weights of every step; returns the steps taken. */
static int greedy(const translator *tr, int batch, int T, const int32_t *src,
                  char (*out)[MAX_OUT + 1], float *weights)
{
    int d = tr->d, with_att = tr->a.kind != DEC_NONE;
    float *h = xcalloc((size_t)batch * d, sizeof *h);
    float *c = xcalloc((size_t)batch * d, sizeof *c);
    float *seq = with_att ? xcalloc((size_t)batch * T * d, sizeof *seq)
                          : NULL;
    float *p = xcalloc((size_t)batch * V_OUT, sizeof *p);
    float *w = xcalloc((size_t)batch * T, sizeof *w);
    int32_t *tok = xcalloc((size_t)batch, sizeof *tok);
    int *done = xcalloc((size_t)batch, sizeof *done);
    {
        const void *in[1] = { src };
        float *o[3] = { h, c, seq };
        ex_check(sn_model_predict(tr->enc, batch, in, &T, o),
                 "encoder predict");
    }
    for (int b = 0; b < batch; b++) {
        tok[b] = OUT_START;
        out[b][0] = 0;
    }
    int steps = 0;
    for (int t = 0; t < tr->a.tout; t++) {
        decode_step(tr, batch, T, tok, h, c, seq, p, w);
        steps++;
        int all_done = 1;
        for (int b = 0; b < batch; b++) {
            int id = argmax(p + (size_t)b * V_OUT, V_OUT);
            tok[b] = id;
            if (!done[b]) {
                if (id == OUT_END || id < 3 || t == tr->a.tout - 1) {
                    done[b] = 1;
                } else {
                    size_t n = strlen(out[b]);
                    out[b][n] = out_char(id);
                    out[b][n + 1] = 0;
                }
            }
            all_done &= done[b];
        }
        if (weights != NULL && with_att)
            memcpy(weights + (size_t)t * T, w, (size_t)T * sizeof *w);
        if (all_done)
            break;
    }
    free(h);
    free(c);
    free(seq);
    free(p);
    free(w);
    free(tok);
    free(done);
    return steps;
}

/* Beam search with width k on one input of T characters: k hypotheses
 * decoded as one batch of k rows, each with its own states; at each step
 * every hypothesis is extended by every output id and the k best by total
 * log-probability are kept; a hypothesis that emits the end id is
 * finished.  Writes the best finished one (or the best unfinished one
 * after tout steps) and returns its log-probability. */
static double beam(const translator *tr, int k, int T, const int32_t *src,
                   char out[MAX_OUT + 1])
{
    int d = tr->d, with_att = tr->a.kind != DEC_NONE;
    float *h = xcalloc((size_t)k * d, sizeof *h);
    float *c = xcalloc((size_t)k * d, sizeof *c);
    float *h2 = xcalloc((size_t)k * d, sizeof *h2);
    float *c2 = xcalloc((size_t)k * d, sizeof *c2);
    float *seq = with_att ? xcalloc((size_t)k * T * d, sizeof *seq) : NULL;
    float *p = xcalloc((size_t)k * V_OUT, sizeof *p);
    float *w = xcalloc((size_t)k * T, sizeof *w);
    int32_t *tok = xcalloc((size_t)k, sizeof *tok);
    double *score = xcalloc((size_t)k, sizeof *score);
    double *cand = xcalloc((size_t)k * V_OUT, sizeof *cand);
    char (*hyp)[MAX_OUT + 1] = xcalloc((size_t)k, sizeof *hyp);
    char (*hyp2)[MAX_OUT + 1] = xcalloc((size_t)k, sizeof *hyp2);
    int32_t *tok2 = xcalloc((size_t)k, sizeof *tok2);
    double *score2 = xcalloc((size_t)k, sizeof *score2);
    int *from = xcalloc((size_t)k, sizeof *from);
    /* encode once, then copy the result to every row */
    {
        const void *in[1] = { src };
        float *o[3] = { h, c, seq };
        ex_check(sn_model_predict(tr->enc, 1, in, &T, o), "encoder predict");
        for (int r = 1; r < k; r++) {
            memcpy(h + (size_t)r * d, h, (size_t)d * sizeof *h);
            memcpy(c + (size_t)r * d, c, (size_t)d * sizeof *c);
            if (seq)
                memcpy(seq + (size_t)r * T * d, seq,
                       (size_t)T * d * sizeof *seq);
        }
    }
    int alive = 1;         /* rows in use: one hypothesis at the start */
    tok[0] = OUT_START;
    double best_done = -INFINITY;
    char best[MAX_OUT + 1] = "";
    for (int t = 0; t < tr->a.tout && alive > 0; t++) {
        const void *in[4] = { tok, h, c, seq };
        int ts[4] = { 1, 0, 0, T };
        float *o[4] = { p, h2, c2, w };
        ex_check(sn_model_predict(tr->step, alive, in, ts, o),
                 "decoder step predict");
        for (int r = 0; r < alive; r++)
            for (int v = 0; v < V_OUT; v++)
                cand[(size_t)r * V_OUT + v] =
                    score[r] + log(fmax(p[(size_t)r * V_OUT + v], 1e-30));
        int kept = 0;
        /* take candidates best first until k live ones are kept */
        for (int pick = 0; pick < alive * V_OUT && kept < k; pick++) {
            int bi = -1;
            for (int i = 0; i < alive * V_OUT; i++)
                if (cand[i] > -INFINITY && (bi < 0 || cand[i] > cand[bi]))
                    bi = i;
            if (bi < 0)
                break;
            double sc = cand[bi];
            cand[bi] = -INFINITY;
            int r = bi / V_OUT, v = bi % V_OUT;
            if (sc <= best_done)
                break;             /* nothing left can beat a finished one */
            if (v == OUT_END || t == tr->a.tout - 1) {
                if (sc > best_done) {
                    best_done = sc;
                    memcpy(best, hyp[r], sizeof best);
                }
                continue;
            }
            if (v < 3)
                continue;          /* padding or start: never an output */
            memcpy(hyp2[kept], hyp[r], sizeof hyp2[kept]);
            size_t n = strlen(hyp2[kept]);
            hyp2[kept][n] = out_char(v);
            hyp2[kept][n + 1] = 0;
            tok2[kept] = v;
            score2[kept] = sc;
            from[kept] = r;        /* the row whose new state it takes */
            kept++;
        }
        /* move states: row i takes the new state of row from[i] */
        float *hn = xcalloc((size_t)k * d, sizeof *hn);
        float *cn = xcalloc((size_t)k * d, sizeof *cn);
        for (int i = 0; i < kept; i++) {
            memcpy(hn + (size_t)i * d, h2 + (size_t)from[i] * d,
                   (size_t)d * sizeof *hn);
            memcpy(cn + (size_t)i * d, c2 + (size_t)from[i] * d,
                   (size_t)d * sizeof *cn);
        }
        memcpy(h, hn, (size_t)k * d * sizeof *h);
        memcpy(c, cn, (size_t)k * d * sizeof *c);
        free(hn);
        free(cn);
        for (int i = 0; i < kept; i++) {
            memcpy(hyp[i], hyp2[i], sizeof hyp[i]);
            tok[i] = tok2[i];
            score[i] = score2[i];
        }
        alive = kept;
    }
    memcpy(out, best, MAX_OUT + 1);
    free(h);
    free(c);
    free(h2);
    free(c2);
    free(seq);
    free(p);
    free(w);
    free(tok);
    free(score);
    free(cand);
    free(hyp);
    free(hyp2);
    free(tok2);
    free(score2);
    free(from);
    return best_done;
}

/* The decoder-step model fed the true previous characters must give the
 * training model's teacher-forced probabilities.  This checks that the
 * weights were taken over, that carrying the states step by step equals
 * the LSTM over the whole sequence, and that the padding the training
 * model masks changes nothing (the step model sees unpadded inputs).
 * Returns the largest difference over n test pairs. */
static double check_step(const translator *tr, sn_model_t *trained,
                         const pairs *te, int n)
{
    n = n < te->n ? n : te->n;
    int d = tr->d;
    int to = te->tout;
    float *full = xcalloc((size_t)n * to * V_OUT, sizeof *full);
    {
        const void *in[2] = { te->src, te->dec_in };
        int ts[2] = { te->tin, to };
        float *o[1] = { full };
        ex_check(sn_model_predict(trained, n, in, ts, o),
                 "training model predict");
    }
    float *h = xcalloc((size_t)d, sizeof *h), *c = xcalloc((size_t)d,
                                                         sizeof *c);
    float *seq = xcalloc((size_t)te->tin * d, sizeof *seq);
    float *w = xcalloc((size_t)te->tin, sizeof *w), p[V_OUT];
    double md = 0;
    for (int i = 0; i < n; i++) {
        int T = te->len[i];
        const void *in[1] = { te->src + (size_t)i * te->tin };
        float *o[3] = { h, c, seq };
        ex_check(sn_model_predict(tr->enc, 1, in, &T, o), "encoder predict");
        for (int t = 0; t < to; t++) {
            decode_step(tr, 1, T, te->dec_in + (size_t)i * to + t, h, c,
                        seq, p, w);
            for (int v = 0; v < V_OUT; v++)
                md = fmax(md, fabs(p[v] - full[((size_t)i * to + t) *
                                                   V_OUT + v]));
        }
    }
    free(full);
    free(h);
    free(c);
    free(seq);
    free(w);
    return md;
}

/* ------------------------------------------------------------ scoring */

typedef struct score {
    long n, exact, chars_right, chars_total;
    long len_n[MAX_IN + 1], len_exact[MAX_IN + 1];  /* per input length */
} score;

/* Exact match, and characters right position by position (a short
 * prediction scores its missing characters wrong). */
static void score_add(score *s, const char *pred, const char *want, int len)
{
    size_t nw = strlen(want), np = strlen(pred);
    int ok = strcmp(pred, want) == 0;
    for (size_t i = 0; i < nw; i++)
        s->chars_right += i < np && pred[i] == want[i];
    s->chars_total += (long)nw;
    s->n++;
    s->exact += ok;
    len = len < MAX_IN ? len : MAX_IN;
    s->len_n[len]++;
    s->len_exact[len] += ok;
}

static score score_sum(const score *a, const score *b)
{
    score s = *a;
    s.n += b->n;
    s.exact += b->exact;
    s.chars_right += b->chars_right;
    s.chars_total += b->chars_total;
    for (int i = 0; i <= MAX_IN; i++) {
        s.len_n[i] += b->len_n[i];
        s.len_exact[i] += b->len_exact[i];
    }
    return s;
}

static double exact_rate(const score *s)
{
    return s->n ? (double)s->exact / s->n : 0;
}
static double char_rate(const score *s)
{
    return s->chars_total ? (double)s->chars_right / s->chars_total : 0;
}

/* Greedy-decodes a test set in groups of equal input length and scores
 * it; *wrong gets up to 3 examples of errors. */
static score evaluate_greedy(const translator *tr, const pairs *te,
                             char wrong[3][200])
{
    score s = { 0 };
    int n_wrong = 0;
    int32_t *src = xcalloc((size_t)te->n * te->tin, sizeof *src);
    int *idx = xcalloc((size_t)te->n, sizeof *idx);
    char (*out)[MAX_OUT + 1] = xcalloc((size_t)te->n, sizeof *out);
    for (int T = 1; T <= te->tin; T++) {
        int n = 0;
        for (int i = 0; i < te->n; i++)
            if (te->len[i] == T) {
                memcpy(src + (size_t)n * T, te->src + (size_t)i * te->tin,
                       (size_t)T * sizeof *src);
                idx[n++] = i;
            }
        for (int b0 = 0; b0 < n; b0 += 256) {
            int nb = n - b0 < 256 ? n - b0 : 256;
            greedy(tr, nb, T, src + (size_t)b0 * T, out + b0, NULL);
        }
        for (int j = 0; j < n; j++) {
            int i = idx[j];
            score_add(&s, out[j], te->tgt[i], T);
            if (strcmp(out[j], te->tgt[i]) != 0 && n_wrong < 3 && wrong)
                snprintf(wrong[n_wrong++], 200, "`%s` -> `%s` (want %s)",
                         te->text[i], out[j], te->tgt[i]);
        }
    }
    for (int k = n_wrong; wrong && k < 3; k++)
        wrong[k][0] = 0;
    free(src);
    free(idx);
    free(out);
    return s;
}

/* ------------------------------------------------------------ training */

typedef struct result {
    arch a;
    sn_model_t *model;
    size_t params;
    double train_s;
    int epochs;
    double *val_loss, *val_acc;  /* per epoch (teacher-forced)            */
    score seen, unseen;          /* greedy, on the two test parts         */
    double beam_exact, greedy_exact_sub; /* on the beam subset            */
    int beam_n;
    char wrong[3][200];
} result;

static void train_one(ex_report *rep, result *r, const settings *s,
                      const pairs *tr, uint64_t seed)
{
    r->model = train_model(&r->a, seed);
    compile(r->model, s->lr);
    /* cosine decay of the learning rate to 5% over the whole training */
    sn_lr_schedule ls = SN_LR_SCHEDULE_INIT;
    ls.kind = SN_LR_COSINE;
    ls.initial_learning_rate = s->lr;
    ls.decay_steps = s->epochs * ((tr->n - tr->n / 10 + s->batch - 1) /
                                  s->batch);
    ls.alpha = 0.05f;
    ex_check(sn_optimizer_set_schedule(sn_model_optimizer(r->model), &ls),
             "sn_optimizer_set_schedule");
    r->params = sn_model_count_params(r->model, NULL);
    const void *in[2] = { tr->src, tr->dec_in };
    int ts[2] = { tr->tin, tr->tout };
    const float *tg[1] = { tr->dec_tgt };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = tr->n;
    d.inputs = in;
    d.timesteps = ts;
    d.targets = tg;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = s->epochs;
    fo.batch_size = s->batch;
    fo.validation_split = 0.1f;
    fo.progress = stdout;
    printf("\nencoder-decoder, %s\n", dec_name[r->a.kind]);
    sn_history_t *h = NULL;
    double t0 = ex_now();
    ex_check(sn_model_fit(r->model, &d, &fo, &h), "sn_model_fit");
    r->train_s = ex_now() - t0;
    r->epochs = sn_history_epochs(h);
    r->val_loss = xcalloc((size_t)r->epochs, sizeof(double));
    r->val_acc = xcalloc((size_t)r->epochs, sizeof(double));
    const double *vl = sn_history_values(h, "val_loss");
    const double *va = sn_history_values(h, "val_accuracy");
    for (int e = 0; e < r->epochs; e++) {
        r->val_loss[e] = vl ? vl[e] : NAN;
        r->val_acc[e] = va ? va[e] : NAN;
    }
    sn_history_free(h);
    ex_say(rep, "%s: %zu parameters, trained %d epochs in %.1f s; "
           "validation loss %.4f, per-character accuracy with teacher "
           "forcing %.4f.", dec_name[r->a.kind], r->params, r->epochs,
           r->train_s, r->val_loss[r->epochs - 1], r->val_acc[r->epochs - 1]);
}

/* ------------------------------------------------------------ figures */

static void plot_curves(ex_report *rep, const result *r, int n)
{
    ex_series ls[3], as[3];
    double *xs = xcalloc(64, sizeof *xs);
    for (int i = 0; i < 64; i++)
        xs[i] = i + 1;
    for (int k = 0; k < n; k++) {
        ex_series a = { dec_name[r[k].a.kind], xs, r[k].val_loss,
                        r[k].epochs };
        ex_series b = { dec_name[r[k].a.kind], xs, r[k].val_acc,
                        r[k].epochs };
        ls[k] = a;
        as[k] = b;
    }
    char path[600];
    ex_check(ex_plot_lines(ex_path(rep, "training_loss.png", path,
                                   sizeof path),
                           "Validation loss (teacher forcing)", "epoch",
                           "sparse categorical crossentropy", ls, n, 1),
             "ex_plot_lines");
    ex_figure(rep, "training_loss.png", "Validation loss per epoch");
    ex_check(ex_plot_lines(ex_path(rep, "training_accuracy.png", path,
                                   sizeof path),
                           "Validation per-character accuracy (teacher "
                           "forcing)", "epoch", "accuracy", as, n, 0),
             "ex_plot_lines");
    ex_figure(rep, "training_accuracy.png",
              "Validation per-character accuracy per epoch");
    free(xs);
}

/* Exact match against input length, in bins of width characters: a
 * table and a figure, one column / line per model (names[k], scores
 * sc[k]). */
static void report_length(ex_report *rep, const char *file,
                          const char *title, const char *const *names,
                          const score *sc, int n, int width)
{
    enum { MAX_BINS = MAX_IN + 1 };
    static double xs[4][MAX_BINS], ys[4][MAX_BINS];
    ex_series ls[4];
    int n_bins = MAX_IN / width + 1;
    cells t = cells_new(n_bins, 2 + n);
    int rows = 0;
    for (int k = 0; k < n && k < 4; k++) {
        ex_series e = { names[k], xs[k], ys[k], 0 };
        ls[k] = e;
    }
    for (int b = 0; b < n_bins; b++) {
        int lo = b * width + 1, hi = (b + 1) * width;
        long bn = 0;
        for (int L = lo; L <= hi && L <= MAX_IN; L++)
            bn += sc[0].len_n[L];
        if (bn == 0)
            continue;
        cell(&t, rows, 0, "%d-%d", lo, hi);
        cell(&t, rows, 1, "%ld", bn);
        for (int k = 0; k < n && k < 4; k++) {
            long be = 0;
            for (int L = lo; L <= hi && L <= MAX_IN; L++)
                be += sc[k].len_exact[L];
            cell(&t, rows, 2 + k, "%.4f", (double)be / bn);
            if (bn >= 5) {
                xs[k][ls[k].n] = (lo + hi) / 2.0;
                ys[k][ls[k].n] = (double)be / bn;
                ls[k].n++;
            }
        }
        rows++;
    }
    t.rows = rows;
    const char *head[6] = { "input length", "pairs" };
    for (int k = 0; k < n && k < 4; k++)
        head[2 + k] = names[k];
    cells_emit(rep, &t, head);
    char path[600], xl[64];
    snprintf(xl, sizeof xl, "input characters (bins of %d)", width);
    ex_check(ex_plot_lines(ex_path(rep, file, path, sizeof path), title, xl,
                           "exact match", ls, n < 4 ? n : 4, 0),
             "ex_plot_lines");
    ex_figure(rep, file, title);
}

/* Attention weights of one input: rows the output characters, columns
 * the input characters. */
static void plot_alignment(ex_report *rep, const translator *tr,
                           const char *text, const char *file)
{
    int32_t src[MAX_IN] = { 0 };
    int T = encode(text, src, MAX_IN);
    static float w[MAX_OUT * MAX_IN];
    char out[1][MAX_OUT + 1];
    memset(w, 0, sizeof w);
    int steps = greedy(tr, 1, T, src, out, w);
    double *z = xcalloc((size_t)steps * T, sizeof *z);
    for (int i = 0; i < steps * T; i++)
        z[i] = w[i];
    static char colb[MAX_IN][8], rowb[MAX_OUT][8];
    const char *cols[MAX_IN], *rows[MAX_OUT];
    const char *p = text;
    for (int j = 0; j < T; j++) {
        uint32_t ch = utf8_next(&p);
        if (ch == ' ')
            snprintf(colb[j], sizeof colb[j], "_");
        else
            utf8_put(ch, colb[j]);
        cols[j] = colb[j];
    }
    for (int t = 0; t < steps; t++) {
        if (t < (int)strlen(out[0]))
            snprintf(rowb[t], sizeof rowb[t], "%c", out[0][t]);
        else
            snprintf(rowb[t], sizeof rowb[t], "<end>");
        rows[t] = rowb[t];
    }
    char title[200], path[600];
    snprintf(title, sizeof title, "%s: \"%s\" -> %s", dec_name[tr->a.kind],
             text, out[0]);
    ex_check(ex_plot_heatmap(ex_path(rep, file, path, sizeof path), title,
                             "input character", "output character", z,
                             steps, T, cols, rows), "ex_plot_heatmap");
    ex_figure(rep, file, title);
    free(z);
}

/* ------------------------------------------------------------ copying */

/* Section 6.  Dates carry the same information whatever their length, so
 * a long date is not harder to squeeze into the final state than a short
 * one.  Copying a string of digits is: the final state must hold every
 * digit, and the longer the string, the more it must hold.  The same
 * encoder-decoders, without attention and with Luong attention. */
static void copy_task(ex_report *rep, const settings *s, uint64_t seed)
{
    ex_section(rep, "6. The bottleneck, isolated: copying digit strings");
    pairs tr = make_copy_pairs(s->copy_train, 3, s->copy_max, seed + 10);
    pairs te = make_copy_pairs(s->copy_test, 3, s->copy_max, seed + 11);
    settings sc_set = *s;  /* the copy task's own epoch count */
    sc_set.epochs = s->copy_epochs;
    s = &sc_set;
    ex_say(rep, "Strings of 3 to %d random digits, to be copied: %d "
           "training strings (10%% for validation), %d test strings.  The "
           "same encoder and decoder sizes, %d decoder steps, %d epochs.",
           s->copy_max, tr.n, te.n, tr.tout, s->epochs);
    static const enum decoder_kind kinds[2] = { DEC_NONE, DEC_LUONG };
    const char *names[2] = { dec_name[DEC_NONE], dec_name[DEC_LUONG] };
    score sc[2];
    for (int k = 0; k < 2; k++) {
        result r;
        memset(&r, 0, sizeof r);
        arch a = { kinds[k], s->emb, s->units, s->att_units, tr.tout };
        r.a = a;
        train_one(rep, &r, s, &tr, seed);
        translator trn = translator_new(&a, r.model);
        sc[k] = evaluate_greedy(&trn, &te, r.wrong);
        ex_say(rep, "Copying, %s: exact match %.4f, character accuracy "
               "%.4f on the test strings (greedy).", names[k],
               exact_rate(&sc[k]), char_rate(&sc[k]));
        if (r.wrong[0][0])
            ex_say(rep, "  for example %s", r.wrong[0]);
        if (kinds[k] == DEC_LUONG) {
            char digits[MAX_IN + 1];
            int n = s->copy_max < 24 ? s->copy_max : 24;
            for (int i = 0; i < n; i++)
                digits[i] = "31415926535897932384626433"[i];
            digits[n] = 0;
            plot_alignment(rep, &trn, digits, "alignment_copy.png");
        }
        translator_free(&trn);
        sn_model_free(r.model);
        free(r.val_loss);
        free(r.val_acc);
    }
    report_length(rep, "copy_accuracy_vs_length.png",
                  "Copying digits: exact match vs length (greedy)", names,
                  sc, 2, 4);
    free_pairs(&tr);
    free_pairs(&te);
}

/* ------------------------------------------------------------ --translate */

/* Reads the architecture back from a saved training model. */
static arch arch_of(sn_model_t *m)
{
    arch a = { DEC_NONE, 0, 0, 0, 0 };
    int dims[SN_MAX_RANK];
    ex_check(sn_model_tensor_shape(m, sn_model_input_id(m, 1), dims, SN_MAX_RANK, NULL),
             "the decoder input's shape");
    a.tout = dims[0];
    int i = sn_model_find_weight(m, "enc_emb/embeddings");
    ex_check(i, "enc_emb/embeddings (not a model of this example?)");
    sn_model_weight_info(m, i, NULL, dims, SN_MAX_RANK, NULL);
    a.emb = dims[1];
    ex_check(dims[0] == vocab_in() ? SN_OK : SN_ERR_SHAPE,
             "the model's input vocabulary");
    i = sn_model_find_weight(m, "decoder/recurrent_kernel");
    ex_check(i, "decoder/recurrent_kernel");
    sn_model_weight_info(m, i, NULL, dims, SN_MAX_RANK, NULL);
    a.units = dims[0] / 2;
    const sn_layer_t *att = sn_model_find_layer(m, "attention");
    sn_clear_error();
    if (att != NULL) {
        if (strcmp(sn_layer_type(att), "AdditiveAttention") == 0) {
            a.kind = DEC_BAHDANAU;
            i = sn_model_find_weight(m, "attention/W1");
            ex_check(i, "attention/W1");
            sn_model_weight_info(m, i, NULL, dims, SN_MAX_RANK, NULL);
            a.att_units = dims[1];
        } else {
            a.kind = DEC_LUONG;
        }
    }
    return a;
}

static int translate_cmd(const ex_args *args, const char *text)
{
    char def[600];
    const char *path = ex_arg_value(args, "--model");
    if (path == NULL) {
        snprintf(def, sizeof def, "%s/%s", args->out_dir,
                 dec_file[DEC_BAHDANAU]);
        path = def;
    }
    const char *bs = ex_arg_value(args, "--beam");
    int k = bs ? atoi(bs) : 3;
    if (k < 1 || k > 32) {
        fprintf(stderr, "--beam wants 1 .. 32\n");
        return 2;
    }
    sn_model_t *m = NULL;
    sn_status st = sn_model_load(path, &m);
    if (st != SN_OK) {
        fprintf(stderr, "cannot load %s: %s\n(train first: run the example "
                "without --translate, or give --model FILE)\n", path,
                sn_last_error());
        return 1;
    }
    arch a = arch_of(m);
    translator tr = translator_new(&a, m);
    int32_t src[MAX_IN];
    int T = encode(text, src, MAX_IN);
    if (T == 0) {
        fprintf(stderr, "nothing to translate\n");
        return 1;
    }
    static float w[MAX_OUT * MAX_IN];
    char out[1][MAX_OUT + 1], bout[MAX_OUT + 1];
    int steps = greedy(&tr, 1, T, src, out, w);
    printf("%s (%s decoder, %s)\n", path, dec_name[a.kind],
           sn_version());
    printf("greedy:      %s\n", out[0]);
    if (k > 1) {
        double lp = beam(&tr, k, T, src, bout);
        printf("beam (k=%d): %s   (log-probability %.4f)\n", k, bout, lp);
    }
    if (a.kind != DEC_NONE) {
        /* where each output character looked: the input character with
         * the largest weight */
        printf("alignment (output <- most attended input character):\n");
        for (int t = 0; t < steps && t < (int)strlen(out[0]); t++) {
            int j = 0;
            for (int u = 1; u < T; u++)
                if (w[t * T + u] > w[t * T + j])
                    j = u;
            const char *p = text;
            uint32_t ch = 0;
            for (int u = 0; u <= j; u++)
                ch = utf8_next(&p);
            char u8[5];
            utf8_put(ch, u8);
            printf("  %c <- '%s' (position %d, weight %.2f)\n", out[0][t],
                   u8, j + 1, w[t * T + j]);
        }
    }
    translator_free(&tr);
    sn_model_free(m);
    return 0;
}

/* ------------------------------------------------------------ main */

static const char usage_extra[] =
    "  --beam K          beam width for beam search (default 3)\n"
    "  --translate TEXT  translate TEXT with a saved model and exit\n"
    "  --model FILE      with --translate: the model (default "
    "<out>/bahdanau.snm)\n";

int main(int argc, char **argv)
{
    ex_args args;
    int rc = ex_parse_args(argc, argv, "05", usage_extra, &args);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    alphabet_init();
    const char *text = ex_arg_value(&args, "--translate");
    if (text != NULL)
        return translate_cmd(&args, text);
    const char *bs = ex_arg_value(&args, "--beam");
    int beam_k = bs ? atoi(bs) : 3;
    if (beam_k < 1 || beam_k > 32) {
        fprintf(stderr, "--beam wants 1 .. 32\n");
        return 2;
    }
    settings s = settings_for(&args);
    ex_report rep;
    ex_check(ex_report_open(&rep, args.out_dir,
                            "05 - Sequence patterns and an attention "
                            "encoder-decoder"), "ex_report_open");
    double t0 = ex_now();

    pairs tr = make_pairs(s.n_train, 0, 0, args.seed);
    pairs te_seen = make_pairs(s.n_test_seen, 1, 0, args.seed + 1);
    pairs te_new = make_pairs(s.n_test_unseen, 1, 1, args.seed + 2);
    ex_section(&rep, "1. The sequence patterns");
    {
        static const char *const head[] = { "pattern", "Keras",
                                            "libseqnet", "here" };
        static const char *const rows[] = {
            "one-to-many",
            "`RepeatVector(n)` + `LSTM(return_sequences=True)`, or feed "
            "each output back as the next input",
            "a RepeatVector custom layer + `ro.return_sequences = 1`; or a "
            "decoder-step model",
            "a month name from one vector (below)",
            "many-to-one",
            "`LSTM(...)` (`return_sequences=False`, the default)",
            "`sn_lstm(u, NULL)` (`ro.return_sequences = 0`)",
            "the month of a date string (below); examples 01-03",
            "many-to-many, equal length",
            "`LSTM(return_sequences=True)` + `Dense` at every step",
            "`ro.return_sequences = 1`; `sn_dense` on `[T, F]` acts per step",
            "a tag per character (below)",
            "seq2seq (encoder-decoder)",
            "encoder `return_state=True`; decoder `LSTM(return_sequences="
            "True)(y, initial_state=[h, c])`; `Attention()([query, value])`",
            "`ro.return_state = 1`; states as extra inputs of `sn_apply_n`; "
            "`sn_attention(score, ...)` on (query, values)",
            "dates -> ISO (sections 3-6)",
        };
        ex_table(&rep, 4, head, 4, rows);
    }
    double td = ex_now();
    pairs demo = tr;       /* the first n_demo training pairs */
    demo.n = tr.n < s.n_demo ? tr.n : s.n_demo;
    ex_say(&rep, "The demos below use the date strings of section 2: "
           "the first %d training pairs, %d epochs.", demo.n,
           s.demo_epochs);
    demo_many_to_one(&rep, &s, &demo, &te_seen, &te_new, args.seed);
    demo_many_to_many(&rep, &s, &demo, &te_seen, args.seed);
    demo_one_to_many(&rep, args.seed, args.quick);
    ex_say(&rep, "The three demos took %.1f s.", ex_now() - td);

    ex_section(&rep, "2. The task: dates to ISO");
    int n_held = 0;
    for (int f = 0; f < N_FORMATS; f++)
        n_held += formats[f].held_out;
    ex_say(&rep, "libseqnet %s, seed %llu%s.  %d formats in %s, %s and %s "
           "(%d of them held out for the test set), dates 1950-2049 (one "
           "in five reserved for the test set).  %d training pairs (10%% "
           "for validation), %d test pairs in training formats and %d in "
           "held-out formats, every test date unseen in training.  Input "
           "alphabet %d characters (+ padding, unknown), longest input %d "
           "characters; output \"YYYY-MM-DD\" + end.", sn_version(),
           (unsigned long long)args.seed, args.quick ? ", --quick" : "",
           N_FORMATS, lang_name[0], lang_name[1], lang_name[2], n_held,
           tr.n, te_seen.n, te_new.n, n_alphabet, tr.tin);
    {
        static const char *const head[] = { "input (generated)", "target",
                                            "format" };
        cells t = cells_new(8, 3);
        for (int i = 0; i < 8; i++) {
            const pairs *p = i < 6 ? &tr : &te_new;
            int j = i < 6 ? i : i - 6;
            cell(&t, i, 0, "%s", p->text[j]);
            cell(&t, i, 1, "%s", p->tgt[j]);
            cell(&t, i, 2, "%s%s%s", formats[p->fmt[j]].fmt,
                 formats[p->fmt[j]].case_ == 1 ? " (lower case)"
                 : formats[p->fmt[j]].case_ == 2 ? " (upper case)" : "",
                 formats[p->fmt[j]].held_out ? " (held out)" : "");
        }
        cells_emit(&rep, &t, head);
    }

    ex_section(&rep, "3. Three encoder-decoders, trained with teacher "
               "forcing");
    ex_say(&rep, "Encoder: Embedding(%d, mask_zero) -> Bidirectional "
           "LSTM(%d) -> final states [h_fwd, h_bwd], [c_fwd, c_bwd] as the "
           "decoder's initial state.  Decoder: Embedding(%d) of the "
           "previous output character -> LSTM(%d) -> Dense(%d, tanh) -> "
           "Dense(%d, softmax); with attention, the context over the "
           "encoder states is concatenated to the decoder state before the "
           "tanh layer (Luong's attentional hidden state).  Bahdanau: "
           "additive score v . tanh(k W1 + q W2 + b) with %d units; Luong: "
           "general score q W k.  Adam lr %g, global clipnorm 5, batch %d, "
           "%d epochs.", s.emb, s.units, s.emb, 2 * s.units, 2 * s.units,
           V_OUT, s.att_units, (double)s.lr, s.batch, s.epochs);
    result r[3];
    memset(r, 0, sizeof r);
    for (int k = 0; k < 3; k++) {
        arch a = { (enum decoder_kind)k, s.emb, s.units, s.att_units,
                   T_OUT };
        r[k].a = a;
        train_one(&rep, &r[k], &s, &tr, args.seed);
        char path[600];
        ex_check(sn_model_save(r[k].model, ex_path(&rep, dec_file[k], path,
                                                   sizeof path), 0),
                 "sn_model_save");
    }
    plot_curves(&rep, r, 3);

    ex_section(&rep, "4. Decoding step by step: greedy and beam search");
    int n_beam = s.n_beam_eval < te_seen.n + te_new.n
                     ? s.n_beam_eval : te_seen.n + te_new.n;
    for (int k = 0; k < 3; k++) {
        translator trn = translator_new(&r[k].a, r[k].model);
        double diff = check_step(&trn, r[k].model, &te_seen, 32);
        ex_say(&rep, "%s: the encoder + decoder-step models reproduce the "
               "training model's teacher-forced probabilities on 32 test "
               "pairs to %.2g (largest difference).", dec_name[k], diff);
        if (!(diff < 1e-4)) {
            ex_say(&rep, "MISMATCH between the step-by-step decoder and the "
                   "training model.");
            exit(1);
        }
        double tg = ex_now();
        r[k].seen = evaluate_greedy(&trn, &te_seen, r[k].wrong);
        char more[3][200];
        r[k].unseen = evaluate_greedy(&trn, &te_new,
                                      r[k].wrong[0][0] ? more : r[k].wrong);
        tg = ex_now() - tg;
        /* beam search on a subset, one request at a time */
        long be = 0, ge = 0;
        double tb = ex_now();
        for (int i = 0; i < n_beam; i++) {
            const pairs *p = i % 2 ? &te_new : &te_seen;
            int j = i / 2 % p->n;
            char out[MAX_OUT + 1], g[1][MAX_OUT + 1];
            const int32_t *src = p->src + (size_t)j * p->tin;
            beam(&trn, beam_k, p->len[j], src, out);
            greedy(&trn, 1, p->len[j], src, g, NULL);
            be += strcmp(out, p->tgt[j]) == 0;
            ge += strcmp(g[0], p->tgt[j]) == 0;
        }
        tb = ex_now() - tb;
        r[k].beam_n = n_beam;
        r[k].beam_exact = n_beam ? (double)be / n_beam : 0;
        r[k].greedy_exact_sub = n_beam ? (double)ge / n_beam : 0;
        ex_say(&rep, "%s: greedy decoding of the %ld test pairs took %.2f "
               "s (batches of equal length); beam search (k=%d) plus "
               "greedy one request at a time on %d pairs %.2f s.",
               dec_name[k], r[k].seen.n + r[k].unseen.n, tg, beam_k, n_beam,
               tb);
        for (int w = 0; w < 3; w++)
            if (r[k].wrong[w][0])
                ex_say(&rep, "  %s error: %s", dec_name[k], r[k].wrong[w]);
        translator_free(&trn);
    }
    {
        static const char *const head[] = {
            "decoder", "parameters", "train s", "exact, training formats",
            "exact, held-out formats", "exact, all", "char accuracy, all",
            "greedy / beam exact (subset)" };
        cells t = cells_new(3, 8);
        for (int k = 0; k < 3; k++) {
            score all = score_sum(&r[k].seen, &r[k].unseen);
            cell(&t, k, 0, "%s", dec_name[k]);
            cell(&t, k, 1, "%zu", r[k].params);
            cell(&t, k, 2, "%.0f", r[k].train_s);
            cell(&t, k, 3, "%.4f", exact_rate(&r[k].seen));
            cell(&t, k, 4, "%.4f", exact_rate(&r[k].unseen));
            cell(&t, k, 5, "%.4f", exact_rate(&all));
            cell(&t, k, 6, "%.4f", char_rate(&all));
            cell(&t, k, 7, "%.4f / %.4f (%d)", r[k].greedy_exact_sub,
                 r[k].beam_exact, r[k].beam_n);
        }
        cells_emit(&rep, &t, head);
    }
    {
        score all[3];
        for (int k = 0; k < 3; k++)
            all[k] = score_sum(&r[k].seen, &r[k].unseen);
        ex_say(&rep, "Exact match against input length (both test "
               "parts):");
        report_length(&rep, "accuracy_vs_length.png",
                      "Dates: exact match vs input length (greedy)",
                      dec_name, all, 3, 5);
    }
    {
        static const char *labels[6];
        static double vals[6];
        static char lab[6][40];
        for (int k = 0; k < 3; k++) {
            snprintf(lab[2 * k], 40, "%s: seen fmt", dec_name[k]);
            snprintf(lab[2 * k + 1], 40, "%s: new fmt", dec_name[k]);
            labels[2 * k] = lab[2 * k];
            labels[2 * k + 1] = lab[2 * k + 1];
            vals[2 * k] = exact_rate(&r[k].seen);
            vals[2 * k + 1] = exact_rate(&r[k].unseen);
        }
        char path[600];
        ex_check(ex_plot_bars(ex_path(&rep, "exact_match.png", path,
                                      sizeof path),
                              "Exact match on the test set (greedy)",
                              "exact match", labels, vals, 6),
                 "ex_plot_bars");
        ex_figure(&rep, "exact_match.png", "Exact match per decoder");
    }

    ex_section(&rep, "5. Alignment: where the decoder looks");
    static const char *const samples[3] = {
        "Tuesday, the twenty-third of September 1998",
        "le 1er août 2007", "Di 03.03.98" };
    for (int k = 1; k < 3; k++) {
        translator trn = translator_new(&r[k].a, r[k].model);
        for (int i = 0; i < 3; i++) {
            char file[64];
            snprintf(file, sizeof file, "alignment_%s_%d.png",
                     k == DEC_BAHDANAU ? "bahdanau" : "luong", i + 1);
            plot_alignment(&rep, &trn, samples[i], file);
        }
        translator_free(&trn);
    }
    ex_say(&rep, "Translate with a saved model: `05_seq2seq_attention "
           "--out %s --translate \"%s\"` (models saved as %s, %s, %s).",
           args.out_dir, samples[1], dec_file[0], dec_file[1], dec_file[2]);
    copy_task(&rep, &s, args.seed);
    ex_say(&rep, "Total time %.1f s.", ex_now() - t0);
    for (int k = 0; k < 3; k++) {
        sn_model_free(r[k].model);
        free(r[k].val_loss);
        free(r[k].val_acc);
    }
    free_pairs(&tr);
    free_pairs(&te_seen);
    free_pairs(&te_new);
    ex_report_close(&rep);
    return 0;
}
