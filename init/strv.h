/* A growable, NULL-terminated vector of owned strings: the shape execve()
 * wants for argv and envp, so the init builds both with it. */
#ifndef KRUN_INIT_STRV_H
#define KRUN_INIT_STRV_H

#include <stddef.h>

struct strv {
	char **items; /* NULL-terminated once anything was pushed; else NULL */
	size_t count;
	size_t capacity;
};

/* Appends a copy of s. 0, or -1 when out of memory. */
int strv_push(struct strv *v, const char *s);
void strv_free(struct strv *v);

/* Environment vectors: entries are "NAME=value". */
const char *env_lookup(char *const *env, const char *name);
/* Replaces the entry of the same name, or appends. entry must contain '='. */
int env_set(struct strv *env, const char *entry);
int env_set_value(struct strv *env, const char *name, const char *value);
void env_unset(struct strv *env, const char *name);

#endif
