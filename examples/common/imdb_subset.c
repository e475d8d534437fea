/*
 * imdb_subset.c - the IMDB subsets examples 01 and 02 train on: random
 * subsets of the training and test reviews, a vocabulary learned from the
 * training subset only, both turned into padded ids.
 */
#include <stdlib.h>

#include "example.h"

/* Vectorizes the first n reviews of imdb into *set. */
static void vectorize_subset(const sn_vectorizer_t *v, const sn_imdb_t *imdb,
                             int n, int maxlen, ex_imdb_set *set)
{
    set->n = n;
    set->maxlen = maxlen;
    set->ids = malloc((size_t)n * maxlen * sizeof *set->ids);
    set->labels = malloc((size_t)n * sizeof *set->labels);
    if (set->ids == NULL || set->labels == NULL)
        ex_check(SN_ERR_NOMEM, "allocating the IMDB arrays");
    ex_check(sn_vectorizer_transform(v, sn_imdb_texts(imdb), (size_t)n,
                                     set->ids), "sn_vectorizer_transform");
    for (int i = 0; i < n; i++)
        set->labels[i] = (float)sn_imdb_label(imdb, i);
}

/* Loads IMDB, keeps random subsets of n_train / n_test reviews, learns a
 * vocabulary of vocab tokens from the training subset only (the test set
 * must not leak into it), and turns both into ids. */
sn_vectorizer_t *ex_imdb_subsets(const ex_args *args, int n_train,
                                 int n_test, int vocab, int maxlen,
                                 ex_imdb_set *train, ex_imdb_set *test)
{
    const char *dir = ex_imdb_dir(args);
    if (dir == NULL)
        exit(1);
    sn_imdb_t *tr = NULL, *te = NULL;
    ex_check(sn_imdb_load(dir, "train", &tr), "sn_imdb_load(train)");
    ex_check(sn_imdb_load(dir, "test", &te), "sn_imdb_load(test)");
    /* The files come sorted, negatives first: shuffle before subsetting. */
    ex_check(sn_imdb_shuffle(tr, args->seed), "sn_imdb_shuffle");
    ex_check(sn_imdb_shuffle(te, args->seed + 1), "sn_imdb_shuffle");
    if (n_train > sn_imdb_count(tr))
        n_train = sn_imdb_count(tr);
    if (n_test > sn_imdb_count(te))
        n_test = sn_imdb_count(te);
    /* Post-padding and post-truncation (Keras TextVectorization): the
     * first maxlen tokens are kept, padding id 0 goes at the end and the
     * Embedding's mask makes the recurrent layers skip it. */
    sn_vectorizer_opts vo = SN_VECTORIZER_OPTS_INIT;
    vo.max_tokens = vocab;
    vo.output_sequence_length = maxlen;
    sn_vectorizer_t *v = sn_vectorizer_new(&vo);
    ex_check(v != NULL ? SN_OK : SN_ERR_INVALID_ARG, "sn_vectorizer_new");
    ex_check(sn_vectorizer_adapt(v, sn_imdb_texts(tr), (size_t)n_train),
             "sn_vectorizer_adapt");
    vectorize_subset(v, tr, n_train, maxlen, train);
    vectorize_subset(v, te, n_test, maxlen, test);
    sn_imdb_free(tr);
    sn_imdb_free(te);
    return v;
}

sn_dataset ex_imdb_dataset(const ex_imdb_set *s, const void **in,
                           const float **tg)
{
    sn_dataset d = SN_DATASET_INIT;
    in[0] = s->ids;
    tg[0] = s->labels;
    d.n_samples = s->n;
    d.inputs = in;
    d.targets = tg;
    return d;
}
