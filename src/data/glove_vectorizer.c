/*
 * glove_vectorizer.c - word vectors for a vectorizer's vocabulary: the
 * vectorizer's tokens by id are exactly the vocab array that
 * sn_embedding_load_vectors wants, so this only gathers them.
 */
#include "internal.h"

SN_API sn_status sn_embedding_load_vectors_for(sn_model_t *model,
                                               sn_layer_t *embedding,
                                               const char *path,
                                               const sn_vectorizer_t *v,
                                               const sn_glove_opts *opts,
                                               int *found)
{
    if (v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_embedding_load_vectors_for: vectorizer is NULL");
    int n = sn_vectorizer_vocab_size(v);
    if (n <= 2) /* only padding and OOV: nothing learned yet */
        return sn_fail(SN_ERR_STATE, "sn_embedding_load_vectors_for: the "
                       "vectorizer has no vocabulary (adapt it first)");
    sn_mem mem = sn_mem_current();
    const char **vocab = sn_mem_calloc(&mem, (size_t)n, sizeof *vocab);
    if (vocab == NULL)
        return SN_ERR_NOMEM;
    for (int id = 0; id < n; id++)
        vocab[id] = sn_vectorizer_token(v, id);
    sn_status st = sn_embedding_load_vectors(model, embedding, path, vocab, n,
                                             opts, found);
    sn_mem_free(&mem, vocab);
    return st;
}
