/* What the init runs and how its end is reported: the pure decisions, kept
 * apart from the system calls so the unit tests can check them. */
#ifndef KRUN_INIT_WORKLOAD_H
#define KRUN_INIT_WORKLOAD_H

#include <stddef.h>
#include <sys/resource.h>

#include "strv.h"

/* Exit statuses the init reports itself, as shells and container
 * runtimes do. */
#define STATUS_SETUP_FAILED 125	   /* the init could not prepare the workload */
#define STATUS_NOT_EXECUTABLE 126 /* found, but exec refused it */
#define STATUS_NOT_FOUND 127

#define DEFAULT_COMMAND "/bin/sh"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The workload's status from a waitpid() status: its exit code, or 128+N
 * when signal N killed it. */
int status_from_wait(int wstatus);
/* The status for an exec that failed with err. */
int status_from_exec_errno(int err);

/* The command: krun_init (KRUN_INIT) followed by the init's own arguments
 * (the kernel command line's words after "--"), else the config's, else
 * DEFAULT_COMMAND. 0, or -1 when out of memory. */
int workload_argv(struct strv *argv, const char *krun_init, char *const *init_args,
		  char *const *config_argv);

/* The environment the init reads its settings from: its own (the kernel
 * command line's KEY=value words) with the config's entries overriding, as
 * libkrun lets a config carry KRUN_* settings. 0, or -1 when out of memory. */
int env_merge(struct strv *env, char *const *init_env, char *const *config_env);

/* The workload's environment: settings_env with HOME and TERM taken from
 * KRUN_HOME and KRUN_TERM, less the variables meant for the init alone;
 * PATH defaults to DEFAULT_PATH. 0, or -1 when out of memory. */
int workload_env(struct strv *env, char *const *settings_env);

/* KRUN_RLIMITS: comma-separated "ID=CUR:MAX" with ID a Linux RLIMIT_*
 * number and decimal limits (18446744073709551615 = RLIM_INFINITY). */
struct rlimit_setting {
	int resource;
	struct rlimit limit;
};
#define RLIMITS_MAX 32

/* Fills up to max settings. 0, or -1 when spec is malformed (nothing is
 * to be applied then). */
int rlimits_parse(const char *spec, struct rlimit_setting *settings, size_t max,
		  size_t *count);

/* A decimal uid or gid (KRUN_SETUID, KRUN_SETGID). 0, or -1 when malformed. */
int id_parse(const char *s, unsigned int *id);

#endif
