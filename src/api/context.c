#include "api/context.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/log.h"

struct ctx {
	struct ctx *next;
	uint32_t id;
	struct vm_config cfg;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;
static struct ctx *contexts; /* a handful at most: a list is enough */
static uint32_t next_id;     /* ids are never reused, as in libkrun */

/* A client may fork while another of its threads is inside a call (crun
 * configures in a forked child): hold the lock across fork() so the child's
 * copy is consistent and unlocked. */
static void lock_for_fork(void)
{
	pthread_mutex_lock(&table_lock);
}

static void unlock_after_fork(void)
{
	pthread_mutex_unlock(&table_lock);
}

static void register_fork_handlers(void)
{
	pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}

static void table_lock_acquire(void)
{
	pthread_once(&fork_handlers_once, register_fork_handlers);
	pthread_mutex_lock(&table_lock);
}

/* The link pointing at ctx_id's entry, or at the list's NULL end. */
static struct ctx **find(uint32_t ctx_id)
{
	struct ctx **link = &contexts;

	while (*link && (*link)->id != ctx_id)
		link = &(*link)->next;
	return link;
}

int32_t ctx_create(void)
{
	struct ctx *ctx = calloc(1, sizeof(*ctx));
	int32_t id;

	if (!ctx)
		return -ENOMEM;
	ctx->cfg.nr_vcpus = 1;
	ctx->cfg.ram_mib = 128;

	table_lock_acquire();
	if (next_id > INT32_MAX) {
		pthread_mutex_unlock(&table_lock);
		free(ctx);
		LOG_ERR("krun_create_ctx: all context ids are used up");
		return -ENOSPC;
	}
	id = (int32_t)next_id++;
	ctx->id = (uint32_t)id;
	ctx->next = contexts;
	contexts = ctx;
	pthread_mutex_unlock(&table_lock);
	return id;
}

struct vm_config *ctx_lock(uint32_t ctx_id, const char *caller)
{
	struct ctx *ctx;

	table_lock_acquire();
	ctx = *find(ctx_id);
	if (!ctx) {
		pthread_mutex_unlock(&table_lock);
		LOG_ERR("%s: no context %u", caller, ctx_id);
		return NULL;
	}
	return &ctx->cfg;
}

void ctx_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}

int ctx_take(uint32_t ctx_id, const char *caller, struct vm_config *out)
{
	struct ctx **link, *ctx;

	table_lock_acquire();
	link = find(ctx_id);
	ctx = *link;
	if (ctx)
		*link = ctx->next;
	pthread_mutex_unlock(&table_lock);

	if (!ctx) {
		LOG_ERR("%s: no context %u", caller, ctx_id);
		return -ENOENT;
	}
	*out = ctx->cfg;
	free(ctx);
	return 0;
}

int ctx_check(uint32_t ctx_id, const char *caller)
{
	if (!ctx_lock(ctx_id, caller))
		return -ENOENT;
	ctx_unlock();
	return 0;
}
