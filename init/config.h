/* The workload's configuration file (/.krun_config.json or $KRUN_CONFIG), as
 * libkrun's init reads it. Each field comes from the OCI runtime spec's
 * process object when that has it, else from the image config (Docker's
 * Entrypoint+Cmd, Env, WorkingDir), found at the top level or under "config"
 * as image configs nest them. JSON null reads as absent. */
#ifndef KRUN_INIT_CONFIG_H
#define KRUN_INIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "strv.h"

/* Larger files are rejected rather than read: the config is small, and a
 * runaway file must not exhaust a small guest's memory. */
#define CONFIG_MAX_SIZE (1024 * 1024)

struct tmpfs_mount {
	char *source; /* "tmpfs" when the entry names none */
	char *destination;
	struct strv options;
};

struct init_config {
	struct strv argv; /* empty: the config names no command */
	struct strv env;  /* "NAME=value" entries */
	char *cwd;	  /* NULL: none */
	struct tmpfs_mount *mounts;
	size_t mount_count;
};

/* Fills cfg from a JSON document of len bytes. 0, or -1 with a message in
 * err (and cfg left empty) when the document is malformed, has a field of
 * the wrong type, or is larger than CONFIG_MAX_SIZE. */
int config_parse(const char *json, size_t len, struct init_config *cfg, char *err,
		 size_t err_size);

/* Reads and parses the file at path. 0 when loaded, 1 when the file does
 * not exist and !required (cfg left empty), -1 with a message in err. */
int config_load(const char *path, bool required, struct init_config *cfg, char *err,
		size_t err_size);

void config_free(struct init_config *cfg);

/* Splits OCI mount options into mount(2) flags and the filesystem's own
 * options, comma-joined into data. 0, or -1 when data is too small. */
int mount_options_parse(char *const *options, unsigned long *flags, char *data,
			size_t data_size);

#endif
