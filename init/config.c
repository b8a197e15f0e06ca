#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

struct parse_error {
	char *buf;
	size_t size;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parse_error *e, const char *fmt,
						       ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->buf, e->size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Looks up obj[key] expecting type: 1 found, 0 absent or null, -1 wrong type. */
static int member(struct json_object *obj, const char *key, enum json_type type,
		  struct json_object **out, struct parse_error *e)
{
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, out) || !*out)
		return 0;
	if (!json_object_is_type(*out, type))
		return fail(e, "\"%s\" must be %s", key, json_type_to_name(type));
	return 1;
}

/* Appends obj[key], an array of strings, to v. Entries of environment
 * arrays must be NAME=value. Returns what member() does. */
static int string_array(struct json_object *obj, const char *key, bool env_entries,
			struct strv *v, struct parse_error *e)
{
	struct json_object *array;
	int found = member(obj, key, json_type_array, &array, e);
	if (found <= 0)
		return found;
	size_t length = json_object_array_length(array);
	for (size_t i = 0; i < length; i++) {
		struct json_object *item = json_object_array_get_idx(array, i);
		if (!json_object_is_type(item, json_type_string))
			return fail(e, "\"%s\" must be an array of strings", key);
		const char *s = json_object_get_string(item);
		if (env_entries && !strchr(s, '='))
			return fail(e, "\"%s\": \"%s\" is not NAME=value", key, s);
		if (strv_push(v, s))
			return fail(e, "out of memory");
	}
	return 1;
}

static int string_member(struct json_object *obj, const char *key, char **out,
			 struct parse_error *e)
{
	struct json_object *s;
	int found = member(obj, key, json_type_string, &s, e);
	if (found <= 0 || json_object_get_string_len(s) == 0)
		return found < 0 ? -1 : 0;
	*out = strdup(json_object_get_string(s));
	return *out ? 1 : fail(e, "out of memory");
}

static int parse_tmpfs_mount(struct json_object *entry, struct tmpfs_mount *m,
			     struct parse_error *e)
{
	if (string_member(entry, "destination", &m->destination, e) < 0)
		return -1;
	if (!m->destination || m->destination[0] != '/')
		return fail(e, "a tmpfs mount needs an absolute \"destination\"");
	if (string_member(entry, "source", &m->source, e) < 0)
		return -1;
	if (!m->source && !(m->source = strdup("tmpfs")))
		return fail(e, "out of memory");
	return string_array(entry, "options", false, &m->options, e) < 0 ? -1 : 0;
}

static int parse_mounts(struct json_object *root, struct init_config *cfg,
			struct parse_error *e)
{
	struct json_object *mounts;
	int found = member(root, "mounts", json_type_array, &mounts, e);
	if (found <= 0)
		return found;
	size_t length = json_object_array_length(mounts);
	cfg->mounts = calloc(length, sizeof(*cfg->mounts));
	if (length && !cfg->mounts)
		return fail(e, "out of memory");
	for (size_t i = 0; i < length; i++) {
		struct json_object *entry = json_object_array_get_idx(mounts, i), *type;
		if (!json_object_is_type(entry, json_type_object))
			return fail(e, "\"mounts\" must be an array of objects");
		if (member(entry, "type", json_type_string, &type, e) < 0)
			return -1;
		if (!type || strcmp(json_object_get_string(type), "tmpfs") != 0)
			continue;
		/* counted first so config_free() releases a half-filled entry */
		if (parse_tmpfs_mount(entry, &cfg->mounts[cfg->mount_count++], e))
			return -1;
	}
	return 0;
}

static int parse_document(struct json_object *root, struct init_config *cfg,
			  struct parse_error *e)
{
	struct json_object *process = NULL, *image = root;
	if (!json_object_is_type(root, json_type_object))
		return fail(e, "the document must be a JSON object");
	if (member(root, "process", json_type_object, &process, e) < 0 ||
	    member(root, "config", json_type_object, &image, e) < 0)
		return -1;
	if (!image)
		image = root;

	int found = process ? string_array(process, "args", false, &cfg->argv, e) : 0;
	if (found == 0) {
		found = string_array(image, "Entrypoint", false, &cfg->argv, e);
		if (found >= 0)
			found = string_array(image, "Cmd", false, &cfg->argv, e);
	}
	if (found < 0)
		return -1;

	found = process ? string_array(process, "env", true, &cfg->env, e) : 0;
	if (found == 0)
		found = string_array(image, "Env", true, &cfg->env, e);
	if (found < 0)
		return -1;

	found = process ? string_member(process, "cwd", &cfg->cwd, e) : 0;
	if (found == 0)
		found = string_member(image, "WorkingDir", &cfg->cwd, e);
	if (found < 0)
		return -1;

	return parse_mounts(root, cfg, e);
}

static bool only_whitespace(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0' || !strchr(" \t\r\n", s[i]))
			return false;
	}
	return true;
}

int config_parse(const char *json, size_t len, struct init_config *cfg, char *err,
		 size_t err_size)
{
	struct parse_error e = { err, err_size };
	*cfg = (struct init_config){ 0 };
	if (len > CONFIG_MAX_SIZE)
		return fail(&e, "larger than %d bytes", CONFIG_MAX_SIZE);

	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return fail(&e, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* JSON, not json-c's extensions */
	struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	int ret;
	if (jerr == json_tokener_continue || (!root && jerr == json_tokener_success))
		ret = fail(&e, "malformed JSON: unexpected end of the document");
	else if (jerr != json_tokener_success)
		ret = fail(&e, "malformed JSON at byte %zu: %s", end,
			   json_tokener_error_desc(jerr));
	else if (!only_whitespace(json + end, len - end))
		ret = fail(&e, "malformed JSON: trailing data at byte %zu", end);
	else
		ret = parse_document(root, cfg, &e);
	json_object_put(root);
	if (ret)
		config_free(cfg);
	return ret;
}

/* Reads at most CONFIG_MAX_SIZE + 1 bytes, enough to tell an oversized file. */
static ssize_t read_bounded(int fd, char *buf)
{
	size_t len = 0;
	while (len <= CONFIG_MAX_SIZE) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_SIZE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += n;
	}
	return len;
}

int config_load(const char *path, bool required, struct init_config *cfg, char *err,
		size_t err_size)
{
	*cfg = (struct init_config){ 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !required)
		return 1;
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *text = malloc(CONFIG_MAX_SIZE + 2);
	ssize_t len = text ? read_bounded(fd, text) : -1;
	int saved_errno = text ? errno : ENOMEM;
	close(fd);
	if (len < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(saved_errno));
		free(text);
		return -1;
	}
	text[len] = '\0';

	char detail[256];
	int ret = config_parse(text, len, cfg, detail, sizeof(detail));
	if (ret)
		snprintf(err, err_size, "%s: %s", path, detail);
	free(text);
	return ret;
}

void config_free(struct init_config *cfg)
{
	strv_free(&cfg->argv);
	strv_free(&cfg->env);
	free(cfg->cwd);
	for (size_t i = 0; i < cfg->mount_count; i++) {
		free(cfg->mounts[i].source);
		free(cfg->mounts[i].destination);
		strv_free(&cfg->mounts[i].options);
	}
	free(cfg->mounts);
	*cfg = (struct init_config){ 0 };
}

static const struct {
	const char *name;
	unsigned long set;
	unsigned long clear;
} mount_flags[] = {
	{ "ro", MS_RDONLY, 0 },		{ "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },	{ "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },	{ "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },	{ "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },	{ "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },	{ "noatime", MS_NOATIME, 0 },
	{ "atime", 0, MS_NOATIME },	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "diratime", 0, MS_NODIRATIME }, { "relatime", MS_RELATIME, 0 },
	{ "norelatime", 0, MS_RELATIME }, { "strictatime", MS_STRICTATIME, 0 },
};

int mount_options_parse(char *const *options, unsigned long *flags, char *data,
			size_t data_size)
{
	size_t used = 0;
	*flags = 0;
	if (data_size)
		data[0] = '\0';
	for (; options && *options; options++) {
		size_t i;
		for (i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]); i++) {
			if (strcmp(*options, mount_flags[i].name) == 0)
				break;
		}
		if (i < sizeof(mount_flags) / sizeof(mount_flags[0])) {
			*flags = (*flags & ~mount_flags[i].clear) | mount_flags[i].set;
			continue;
		}
		int n = snprintf(data + used, data_size - used, "%s%s", used ? "," : "", *options);
		if (n < 0 || (size_t)n >= data_size - used)
			return -1;
		used += n;
	}
	return 0;
}
