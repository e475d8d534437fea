/*
 * custom.h - what the custom-layer adapter (custom_layer.c) and the layer
 * registry (registry.c) share with each other and with model_io.c.
 */
#ifndef SN_CUSTOM_H
#define SN_CUSTOM_H

#include "internal.h"

typedef struct sn_registry sn_registry;

/* Validates a caller's ops and copies them into *out (zero-filled past
 * the caller's size; out->type still points at the caller's string).
 * who names the public function in messages. */
sn_status sn_custom_ops_check(const sn_custom_layer_ops *ops,
                              sn_custom_layer_ops *out, const char *who);

/* The registered ops of a type, or NULL (also for a NULL registry). */
const sn_custom_layer_ops *sn_registry_find(const sn_registry *registry,
                                            const char *type);

/* Makes a layer of a registered type from its saved config: hands every
 * byte left in r to ops->load_config.  NULL on failure, with a message. */
sn_layer *sn_custom_layer_load(const sn_custom_layer_ops *ops, sn_reader *r);

#endif /* SN_CUSTOM_H */
