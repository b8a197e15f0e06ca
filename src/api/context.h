/* The configurations clients are building, each under an integer id.
 *
 * One mutex guards the table; it is held only inside these calls, and fork
 * handlers keep a child from inheriting it locked. Nothing else is kept: no
 * thread, no descriptor. */
#ifndef KRUN_API_CONTEXT_H
#define KRUN_API_CONTEXT_H

#include <stdint.h>

#include "config/vm_config.h"

/* Add a configuration with libkrun's defaults; its id, or a negative errno. */
int32_t ctx_create(void);

/* Lock the table and return the configuration of ctx_id; ctx_unlock() when
 * done with it. An unknown id: NULL, the table unlocked and an error logged
 * on behalf of caller. */
struct vm_config *ctx_lock(uint32_t ctx_id, const char *caller);
void ctx_unlock(void);

/* 0 if ctx_id names a configuration, else -ENOENT (logged for caller). */
int ctx_check(uint32_t ctx_id, const char *caller);

/* Remove ctx_id from the table and move its configuration to *out, which the
 * caller then frees with vm_config_free(). -ENOENT (logged) if unknown. */
int ctx_take(uint32_t ctx_id, const char *caller, struct vm_config *out);

#endif
