/*
 * make_seeds.c - writes the seed corpora of test/fuzz/corpus/ with the
 * library itself (`make fuzz-seeds`): model files of every layer type
 * (with and without training state), vectorizer files of every output
 * mode, BPE and Keras Tokenizer files,
 * GloVe text written by sn_glove_save_text (plain and gzip), and
 * small CSV, text and IMDB inputs in the targets' formats.  Deterministic:
 * running it again rewrites the same bytes.  Inputs that once crashed or
 * hung the library are kept beside these, named regress-*.
 */
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *out_dir;

static void die(const char *what)
{
    fprintf(stderr, "make_seeds: %s: %s\n", what, sn_last_error());
    exit(1);
}

#define OK(call) do { if ((call) != SN_OK) die(#call); } while (0)

static void put(const char *target, const char *name, const void *data,
                size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        die(path);
}

/* A string literal, NUL bytes included (not its terminating NUL). */
#define PUT_LIT(target, name, lit) put(target, name, lit, sizeof lit - 1)

static void put_model(const char *name, sn_model_t *m, int with_opt)
{
    void *data;
    size_t len;
    OK(sn_model_save_buffer(m, with_opt, &data, &len));
    put("model", name, data, len);
    sn_free(data);
}

static sn_model_t *new_model(uint64_t seed)
{
    sn_model_opts o = SN_MODEL_OPTS_INIT;
    o.seed = seed;
    sn_model_t *m = sn_model_new(&o);
    if (m == NULL)
        die("sn_model_new");
    return m;
}

static void compile_adam(sn_model_t *m, sn_loss_kind loss)
{
    sn_optimizer_opts oo;
    OK(sn_optimizer_defaults(SN_ADAM, &oo));
    sn_optimizer_t *opt = sn_optimizer_new(&oo);
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = loss;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = opt;
    co.loss = &lo;
    OK(sn_model_compile(m, &co));
}

static void models(void)
{
    /* Dense only, with Adam state after one step */
    sn_model_t *m = new_model(1);
    sn_input(m, SN_NO_TIME, 4);
    OK(sn_model_add(m, sn_dense(5, SN_RELU, NULL)));
    OK(sn_model_add(m, sn_dense(2, SN_SOFTMAX, NULL)));
    OK(sn_model_build(m));
    put_model("dense.snm", m, 0);
    compile_adam(m, SN_LOSS_CATEGORICAL_CROSSENTROPY);
    const float x[8] = { 1, 2, 3, 4, -1, 0, 0.5f, 2 }, y[4] = { 1, 0, 0, 1 };
    const void *in[1] = { x };
    const float *tg[1] = { y };
    OK(sn_model_train_on_batch(m, 2, in, NULL, tg, NULL, NULL));
    put_model("dense_adam.snm", m, 1);
    sn_model_free(m);

    /* tokens -> Embedding(mask) -> Conv1D(same) -> MaxPooling1D -> LayerNorm
     * -> Bidirectional(LSTM seq) -> MHA(self) -> Attention pooling -> Dense */
    m = new_model(2);
    int t = sn_input_tokens(m, 6);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int e = sn_apply(m, sn_embedding(12, 4, &eo), t);
    sn_conv1d_opts co = SN_CONV1D_OPTS_INIT;
    co.padding = SN_PAD_SAME;
    int c = sn_apply(m, sn_conv1d(4, 3, &co), e);
    int p = sn_apply(m, sn_max_pooling1d(2, 1, SN_PAD_SAME), c);
    int n = sn_apply(m, sn_layer_normalization(NULL), p);
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_sequences = 1;
    int b = sn_apply(m, sn_bidirectional(sn_lstm(3, &ro), SN_MERGE_CONCAT), n);
    int qv[2] = { b, b }, mh = -1;
    if (sn_apply_n(m, sn_multi_head_attention(2, 2, NULL), qv, 2, &mh, 1) != 1)
        die("mha");
    int a = sn_apply(m, sn_attention(SN_SCORE_ADDITIVE, NULL), mh);
    int o = sn_apply(m, sn_dense(2, SN_SOFTMAX, NULL), a);
    if (o < 0)
        die("graph");
    OK(sn_model_set_outputs(m, &o, 1));
    OK(sn_model_build(m));
    put_model("every_layer.snm", m, 0);
    compile_adam(m, SN_LOSS_CATEGORICAL_CROSSENTROPY);
    put_model("every_layer_compiled.snm", m, 1);
    sn_model_free(m);

    /* float sequences -> GRU seq -> SimpleRNN -> Dropout -> Dense */
    m = new_model(3);
    sn_input(m, 5, 2);
    OK(sn_model_add(m, sn_gru(3, &ro)));
    OK(sn_model_add(m, sn_simple_rnn(2, NULL)));
    OK(sn_model_add(m, sn_dropout(0.5f)));
    OK(sn_model_add(m, sn_dense(1, SN_SIGMOID, NULL)));
    OK(sn_model_build(m));
    put_model("gru_rnn.snm", m, 0);
    sn_model_free(m);
}

static void vectorizers(void)
{
    static const char *const texts[4] = {
        "The film was great, GREAT!", "a terrible <br /> film",
        "caf\xc3\xa9 na\xc3\xafve \xff", "one two three two one" };
    for (int mode = 0; mode < 4; mode++) {
        sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
        o.output_mode = (sn_output_mode)mode;
        o.ngrams = 1 + (mode & 1);
        o.max_tokens = mode == 2 ? 8 : 0;
        sn_vectorizer_t *v = sn_vectorizer_new(&o);
        if (v == NULL)
            die("sn_vectorizer_new");
        OK(sn_vectorizer_adapt(v, texts, 4));
        void *data;
        size_t len;
        OK(sn_vectorizer_save_buffer(v, &data, &len));
        char name[32];
        snprintf(name, sizeof name, "mode%d.snv", mode);
        put("vectorizer", name, data, len);
        sn_free(data);
        sn_vectorizer_free(v);
    }
}

/* BPE and Keras Tokenizer files (text/bpe_io.c, text/tokenizer_io.c). */
static void subwords(void)
{
    static const char *const texts[4] = {
        "The film was great, GREAT! lower lowest", "a terrible <br /> film",
        "caf\xc3\xa9 na\xc3\xafve \xff", "one two three two one 1234" };
    for (int k = 0; k < 2; k++) {
        sn_bpe_opts o = SN_BPE_OPTS_INIT;
        o.vocab_size = k == 0 ? 260 : 300;
        o.min_frequency = 1;
        o.standardize = k == 0 ? SN_STANDARDIZE_NONE : SN_STANDARDIZE_DEFAULT;
        sn_bpe_t *b = NULL;
        OK(sn_bpe_train(texts, 4, &o, &b));
        void *data;
        size_t len;
        OK(sn_bpe_save_buffer(b, &data, &len));
        put("bpe", k == 0 ? "bytes.snb" : "merges.snb", data, len);
        sn_free(data);
        sn_bpe_free(b);
        sn_tokenizer_opts to = SN_TOKENIZER_OPTS_INIT;
        to.num_words = k == 0 ? 0 : 5;
        to.oov_token = k == 0 ? NULL : "<OOV>";
        sn_tokenizer_t *t = sn_tokenizer_new(&to);
        if (t == NULL)
            die("sn_tokenizer_new");
        OK(sn_tokenizer_fit(t, texts, 4));
        OK(sn_tokenizer_save_buffer(t, &data, &len));
        put("tokenizer", k == 0 ? "plain.snt" : "oov.snt", data, len);
        sn_free(data);
        sn_tokenizer_free(t);
    }
}

static void glove(void)
{
    static const char *const words[5] = { NULL, NULL, "the", "caf\xc3\xa9",
                                          "film" };
    const float vec[15] = { 0, 0, 0, 0, 0, 0, 0.5f, -1.25f, 3,
                            1e-3f, 2, -0.75f, 7, 0, 1 };
    char path[1024];
    snprintf(path, sizeof path, "%s/glove.tmp", out_dir);
    OK(sn_glove_save_text(path, words, 5, vec, 3));
    FILE *f = fopen(path, "rb");
    char text[512];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    remove(path);
    text[n] = '\0';
    /* byte 0 of a glove input: bit 0 gzip, bits 1-2 width - 1 (3 -> 4) */
    char buf[600];
    buf[0] = (char)(2 << 1);
    memcpy(buf + 1, text, n);
    put("glove", "plain_d3", buf, n + 1);
    buf[0] = (char)(2 << 1 | 1);
    put("glove", "gzip_d3", buf, n + 1);
    snprintf(buf + 1, sizeof buf - 1, "3 3\n%s", text);
    buf[0] = (char)(2 << 1);
    put("glove", "word2vec_d3", buf, strlen(buf + 1) + 1);
    /* a gzip stream as the file itself (bit 0 clear) */
    unsigned char gz[600];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (unsigned char *)text;
    zs.avail_in = (unsigned)n;
    zs.next_out = gz + 1;
    zs.avail_out = sizeof gz - 1;
    deflate(&zs, Z_FINISH);
    gz[0] = 2 << 1;
    put("glove", "gzip_raw_d3", gz, 1 + zs.total_out);
    deflateEnd(&zs);
}

static void csv(void)
{
    PUT_LIT("csv", "yahoo", "\x04" "Date,Open,High,Low,Close,Adj Close,Volume\n"
            "2020-01-02,74.06,75.15,73.80,75.09,73.45,135480400\n"
            "2020-01-03,74.29,75.14,74.13,74.36,72.74,146322800\n");
    PUT_LIT("csv", "quoted_missing", "\x14" "\"a\",\"b, c\",d\n1,\"2\",null\n"
            "\"3\",,5e-1\n-1.5,+.5,7\n");
    PUT_LIT("csv", "semicolon_noheader", "\x01" "1;2;3\r\n4;5;6\r\n");
    PUT_LIT("csv", "bom_tab", "\x06" "\xEF\xBB\xBF" "x\ty\n0.25\t1e3\n");
}

static void text(void)
{
    PUT_LIT("text", "words", "\x00" "The film was great\nA terrible film\n"
            "great great film");
    PUT_LIT("text", "bigrams_tfidf", "\x07" "caf\xc3\xa9 CAF\xc3\x89 "
            "na\xc3\xafve\n\xff\xfe invalid \xed\xa0\x80 utf8\n<br />x");
    PUT_LIT("text", "punct_multihot", "\x3a" "Hello, World!! ... it's\n"
            "\t tabs\vand\fforms\r\n\xd0\x9f\xd1\x80\xd0\xb8");
}

static void imdb(void)
{
    /* split byte, then records: kind, name '\n' contents, NUL-separated */
    static const char rec[] = "\x00"
        "\x00" "1_7.txt\nA fine film." "\0"
        "\x01" "2_2.txt\nAwful.<br />Really." "\0"
        "\x00" "3_10.txt\nBest \xc3\xa9ver";
    put("imdb", "train", rec, sizeof rec - 1);
    static const char bad[] = "\x01"
        "\x02" "5_9.txt\nok" "\0" "\x02" "x_1.txt\nbad name";
    put("imdb", "test_bad_name", bad, sizeof bad - 1);
    static const char fifo[] = "\x00" "F" "4_8.txt\n";
    put("imdb", "fifo", fifo, sizeof fifo - 1);
    static const char zero[] = "\x00" "L" "4_8.txt\n";
    put("imdb", "dev_zero_link", zero, sizeof zero - 1);
    static const char unsup[] = "\x02" "\x03" "7_0.txt\nno label";
    put("imdb", "unsup", unsup, sizeof unsup - 1);
}

/* Inputs of the defects issue 14 lists (regress-*): each used to crash,
 * hang or be accepted wrongly; replayed by make check. */
static void regressions(void)
{
    /* finding 2: empty pos/ and neg/ folders (qsort(NULL, 0, ...)) */
    PUT_LIT("imdb", "regress-empty-folders", "\x00");
    /* finding 3: a header of 8,000 columns (the duplicate check was
     * quadratic), then one row */
    enum { COLS = 8000 };
    char *wide = malloc(COLS * 16);
    size_t n = 0;
    wide[n++] = 4;  /* delimiter ',', header auto */
    for (int j = 0; j < COLS; j++)
        n += (size_t)sprintf(wide + n, "%sc%d", j ? "," : "", j);
    wide[n++] = '\n';
    for (int j = 0; j < COLS; j++) {
        wide[n++] = '1';
        wide[n++] = j + 1 < COLS ? ',' : '\n';
    }
    put("csv", "regress-wide-header", wide, n);
    free(wide);
    /* finding 10: a hex float the GloVe loader used to take */
    PUT_LIT("glove", "regress-hex-float", "\x04the 0x1p-2 1 2\n");
    PUT_LIT("csv", "regress-hex-float", "\x04a,b\n0x1p-2,1\n");
    /* finding 5: a model file whose training state holds Adam slots of
     * another model (valid CRCs): refused at load */
    sn_model_t *a = new_model(4), *b = new_model(5);
    sn_input(a, SN_NO_TIME, 4);
    sn_input(b, SN_NO_TIME, 4);
    OK(sn_model_add(a, sn_dense(2, SN_SOFTMAX, NULL)));
    OK(sn_model_add(b, sn_dense(3, SN_RELU, NULL)));
    OK(sn_model_add(b, sn_dense(2, SN_SOFTMAX, NULL)));
    OK(sn_model_build(a));
    OK(sn_model_build(b));
    compile_adam(a, SN_LOSS_CATEGORICAL_CROSSENTROPY);
    compile_adam(b, SN_LOSS_CATEGORICAL_CROSSENTROPY);
    const float x[4] = { 1, 2, 3, 4 }, y[2] = { 1, 0 };
    const void *in[1] = { x };
    const float *tg[1] = { y };
    OK(sn_model_train_on_batch(a, 1, in, NULL, tg, NULL, NULL));
    OK(sn_model_train_on_batch(b, 1, in, NULL, tg, NULL, NULL));
    void *fa, *fb;
    size_t la, lb;
    OK(sn_model_save_buffer(a, 1, &fa, &la));
    OK(sn_model_save_buffer(b, 1, &fb, &lb));
    /* sections: tag[4] len[8] payload crc[4] after a 16-byte header */
    size_t ta = 16, tb = 16, sa = 0, sb = 0;
    const unsigned char *pa = fa, *pb = fb;
    for (;;) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | pa[ta + 4 + i];
        if (memcmp(pa + ta, "TRAN", 4) == 0) {
            sa = 16 + (size_t)len;
            break;
        }
        ta += 16 + (size_t)len;
    }
    for (;;) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | pb[tb + 4 + i];
        if (memcmp(pb + tb, "TRAN", 4) == 0) {
            sb = 16 + (size_t)len;
            break;
        }
        tb += 16 + (size_t)len;
    }
    size_t mn = la - sa + sb;
    unsigned char *mix = malloc(mn);
    memcpy(mix, pa, ta);
    memcpy(mix + ta, pb + tb, sb);
    memcpy(mix + ta + sb, pa + ta + sa, la - ta - sa);
    sn_model_t *bad = NULL;
    if (sn_model_load_buffer(mix, mn, &bad) == SN_OK) {
        fprintf(stderr, "make_seeds: the foreign optimizer state loaded\n");
        exit(1);
    }
    put("model", "regress-foreign-optimizer-state", mix, mn);
    free(mix);
    sn_free(fa);
    sn_free(fb);
    sn_model_free(a);
    sn_model_free(b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds <corpus dir>\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    models();
    vectorizers();
    subwords();
    glove();
    csv();
    text();
    imdb();
    regressions();
    return 0;
}
