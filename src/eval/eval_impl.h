/* eval_impl.h - what the evaluation files share (src/eval/). */
#ifndef SN_EVAL_IMPL_H
#define SN_EVAL_IMPL_H

#include "internal.h"

/* Non-NULL arrays, n > 0, labels exactly 0 or 1, finite scores; the
 * message names who and the first offending index. */
sn_status sn_eval_check_binary(const float *scores, const float *labels,
                               size_t n, const char *who);

#endif /* SN_EVAL_IMPL_H */
