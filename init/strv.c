#include "strv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int strv_push(struct strv *v, const char *s)
{
	if (v->count + 1 >= v->capacity) {
		size_t capacity = v->capacity ? v->capacity * 2 : 8;
		char **items = realloc(v->items, capacity * sizeof(*items));
		if (!items)
			return -1;
		v->items = items;
		v->capacity = capacity;
	}
	char *copy = strdup(s);
	if (!copy)
		return -1;
	v->items[v->count++] = copy;
	v->items[v->count] = NULL;
	return 0;
}

void strv_free(struct strv *v)
{
	for (size_t i = 0; i < v->count; i++)
		free(v->items[i]);
	free(v->items);
	*v = (struct strv){ 0 };
}

static bool env_entry_matches(const char *entry, const char *name, size_t name_len)
{
	return strncmp(entry, name, name_len) == 0 && entry[name_len] == '=';
}

const char *env_lookup(char *const *env, const char *name)
{
	size_t name_len = strlen(name);
	for (; env && *env; env++) {
		if (env_entry_matches(*env, name, name_len))
			return *env + name_len + 1;
	}
	return NULL;
}

int env_set(struct strv *env, const char *entry)
{
	size_t name_len = strcspn(entry, "=");
	for (size_t i = 0; i < env->count; i++) {
		if (strncmp(env->items[i], entry, name_len + 1) == 0) {
			char *copy = strdup(entry);
			if (!copy)
				return -1;
			free(env->items[i]);
			env->items[i] = copy;
			return 0;
		}
	}
	return strv_push(env, entry);
}

int env_set_value(struct strv *env, const char *name, const char *value)
{
	char *entry;
	if (asprintf(&entry, "%s=%s", name, value) < 0)
		return -1;
	int ret = env_set(env, entry);
	free(entry);
	return ret;
}

void env_unset(struct strv *env, const char *name)
{
	size_t name_len = strlen(name), kept = 0;
	for (size_t i = 0; i < env->count; i++) {
		if (env_entry_matches(env->items[i], name, name_len))
			free(env->items[i]);
		else
			env->items[kept++] = env->items[i];
	}
	env->count = kept;
	if (env->items)
		env->items[kept] = NULL;
}
