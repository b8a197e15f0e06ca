#include "vmm/workload_json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_abi.h"

struct json_out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct json_out *j, const char *s, size_t n)
{
	if (j->failed)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = (j->len + n + 1) * 2;
		char *buf = realloc(j->buf, cap);
		if (!buf) {
			j->failed = true;
			return;
		}
		j->buf = buf;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void put_str(struct json_out *j, const char *s)
{
	put(j, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control bytes escaped; other bytes
 * (UTF-8 included) as they are. */
static void put_quoted(struct json_out *j, const char *s)
{
	put(j, "\"", 1);
	for (; *s; s++) {
		unsigned char c = *s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = c;
			put(j, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(j, esc, 6);
		} else {
			put(j, (const char *)&c, 1);
		}
	}
	put(j, "\"", 1);
}

/* "KRUN_RLIMITS=ID=CUR:MAX,...", the variable the init applies. */
static void put_rlimits(struct json_out *j, char **rlimits)
{
	struct json_out var = { 0 };

	put_str(&var, KRUN_ENV_RLIMITS "=");
	for (char **r = rlimits; *r; r++) {
		if (r != rlimits)
			put(&var, ",", 1);
		put_str(&var, *r);
	}
	if (var.failed)
		j->failed = true;
	else
		put_quoted(j, var.buf);
	free(var.buf);
}

char *workload_json(const struct vm_config *cfg)
{
	struct json_out j = { 0 };
	bool first = true;

	put_str(&j, "{\"process\":{\"args\":[");
	put_quoted(&j, cfg->exec_path);
	for (char **a = cfg->argv; a && *a; a++) {
		put(&j, ",", 1);
		put_quoted(&j, *a);
	}
	put_str(&j, "],\"env\":[");
	for (char **e = cfg->envp; e && *e; e++, first = false) {
		if (!first)
			put(&j, ",", 1);
		put_quoted(&j, *e);
	}
	if (cfg->rlimits && cfg->rlimits[0]) {
		if (!first)
			put(&j, ",", 1);
		put_rlimits(&j, cfg->rlimits);
	}
	put(&j, "]", 1);
	if (cfg->workdir) {
		put_str(&j, ",\"cwd\":");
		put_quoted(&j, cfg->workdir);
	}
	put_str(&j, "}}\n");
	if (j.failed) {
		free(j.buf);
		return NULL;
	}
	return j.buf;
}
