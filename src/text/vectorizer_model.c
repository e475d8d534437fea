/*
 * vectorizer_model.c - the text vectorizer a model carries: attached as a
 * copy (through the serialised form, vectorizer_io.c), freed with the
 * model (SN_PART_VECTORIZER), and written to / read from the model file's
 * optional "vocb" section (io/model_io.c).  Above vectorizer.c and
 * vectorizer_io.c, so those two never call back into their callers.
 */
#include "model/model.h"
#include "text/text_impl.h"

/* SN_PART_VECTORIZER: called by sn_model_free and on replacement. */
static void free_model_vectorizer(sn_model *m)
{
    sn_vectorizer_free(m->vectorizer);
    m->vectorizer = NULL;
}

/* A copy through the serialised form: the same validation as loading, and
 * the copy is allocated with the model's allocator. */
static sn_status copy_with(const sn_vectorizer_t *v, const sn_mem *mem,
                           sn_vectorizer_t **copy)
{
    sn_writer w;
    sn_writer_init(&w, mem);
    sn_vectorizer_write(v, &w);
    sn_status st = w.status;
    if (st == SN_OK) {
        sn_reader r;
        sn_reader_init(&r, w.data, w.len);
        sn_clear_error();
        *copy = sn_vectorizer_read(&r, mem);
        if (*copy == NULL)
            st = r.status != SN_OK ? r.status
                 : sn_last_status() != SN_OK ? sn_last_status()
                                             : SN_ERR_NOMEM;
    }
    sn_writer_free(&w);
    return st;
}

SN_API sn_status sn_model_set_vectorizer(sn_model_t *m,
                                         const sn_vectorizer_t *v)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_vectorizer: model "
                       "is NULL");
    sn_vectorizer_t *copy = NULL;
    if (v != NULL) {
        sn_status st = copy_with(v, &m->mem, &copy);
        if (st != SN_OK)
            return st;
    }
    free_model_vectorizer(m);
    m->vectorizer = copy;
    sn_model_attach(m, SN_PART_VECTORIZER, free_model_vectorizer);
    return SN_OK;
}

SN_API const sn_vectorizer_t *sn_model_vectorizer(const sn_model_t *m)
{
    if (m == NULL || m->vectorizer == NULL)
        sn_fail(m == NULL ? SN_ERR_INVALID_ARG : SN_ERR_NOT_FOUND,
                "sn_model_vectorizer: %s", m == NULL ? "model is NULL"
                : "the model has no vectorizer (sn_model_set_vectorizer)");
    return m != NULL ? m->vectorizer : NULL;
}

void sn_model_save_vectorizer(const sn_model *m, sn_writer *w)
{
    sn_vectorizer_write(m->vectorizer, w);
}

sn_status sn_model_load_vectorizer(sn_model *m, sn_reader *r)
{
    if (m->vectorizer != NULL)
        return sn_fail(SN_ERR_FORMAT, "a second vectorizer section");
    sn_clear_error();
    sn_vectorizer_t *v = sn_vectorizer_read(r, &m->mem);
    if (v == NULL)
        return r->status != SN_OK ? r->status
               : sn_last_status() != SN_OK ? sn_last_status()
                                           : SN_ERR_FORMAT;
    m->vectorizer = v;
    sn_model_attach(m, SN_PART_VECTORIZER, free_model_vectorizer);
    return SN_OK;
}
