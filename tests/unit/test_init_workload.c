/* The guest init's decisions: the command and environment it gives the
 * workload, KRUN_RLIMITS and id parsing, and the exit statuses it reports. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "test_init_check.h"
#include "workload.h"

static void test_argv(void)
{
	char *init_args[] = { "-c", "echo hi", NULL };
	char *config_argv[] = { "/from/config", "x", NULL };
	char *no_args[] = { NULL };
	struct strv argv = { 0 };

	/* KRUN_INIT wins over the config, and takes the init's own arguments */
	CHECK_EQ_INT(workload_argv(&argv, "/bin/sh", init_args, config_argv), 0);
	CHECK(strv_is(&argv, (const char *[]){ "/bin/sh", "-c", "echo hi", NULL }));
	strv_free(&argv);

	CHECK_EQ_INT(workload_argv(&argv, "/bin/true", no_args, NULL), 0);
	CHECK(strv_is(&argv, (const char *[]){ "/bin/true", NULL }));
	strv_free(&argv);

	/* without KRUN_INIT: the config's command, stray init arguments aside */
	CHECK_EQ_INT(workload_argv(&argv, NULL, init_args, config_argv), 0);
	CHECK(strv_is(&argv, (const char *[]){ "/from/config", "x", NULL }));
	strv_free(&argv);

	/* neither: a shell */
	CHECK_EQ_INT(workload_argv(&argv, NULL, no_args, NULL), 0);
	CHECK(strv_is(&argv, (const char *[]){ DEFAULT_COMMAND, NULL }));
	strv_free(&argv);
	CHECK_EQ_INT(workload_argv(&argv, NULL, no_args, no_args), 0);
	CHECK(strv_is(&argv, (const char *[]){ DEFAULT_COMMAND, NULL }));
	strv_free(&argv);
}

static void test_env(void)
{
	char *init_env[] = { "HOME=/",	       "TERM=linux",	  "KRUN_INIT=/bin/app",
			     "KRUN_WORKDIR=/w", "KRUN_HOME=/root", "KRUN_TERM=xterm",
			     "KEEP=kernel",    "OVER=kernel",	  "KRUN_RLIMITS=7=1:2",
			     "KRUN_DHCP=1",    NULL };
	char *config_env[] = { "OVER=config", "NEW=1", "KRUN_SETUID=1000", "KRUN_HOMEX=kept",
			       NULL };
	struct strv settings = { 0 }, env = { 0 };

	/* the config overrides the kernel command line, settings included */
	CHECK_EQ_INT(env_merge(&settings, init_env, config_env), 0);
	CHECK(strcmp(env_lookup(settings.items, "OVER"), "config") == 0);
	CHECK(strcmp(env_lookup(settings.items, "KRUN_SETUID"), "1000") == 0);
	CHECK(strcmp(env_lookup(settings.items, "KRUN_INIT"), "/bin/app") == 0);
	CHECK_EQ_INT(settings.count, 13);

	CHECK_EQ_INT(workload_env(&env, settings.items), 0);
	CHECK(strv_is(&env, (const char *[]){ "HOME=/root", "TERM=xterm", "KEEP=kernel",
					      "OVER=config", "NEW=1", "KRUN_HOMEX=kept",
					      "PATH=" DEFAULT_PATH, NULL }));
	strv_free(&env);
	strv_free(&settings);

	/* a PATH given is kept */
	CHECK_EQ_INT(workload_env(&env, (char *[]){ "PATH=/opt/bin", NULL }), 0);
	CHECK(strv_is(&env, (const char *[]){ "PATH=/opt/bin", NULL }));
	strv_free(&env);

	CHECK_EQ_INT(workload_env(&env, NULL), 0);
	CHECK(strv_is(&env, (const char *[]){ "PATH=" DEFAULT_PATH, NULL }));
	strv_free(&env);
}

static void test_env_helpers(void)
{
	struct strv env = { 0 };
	CHECK(env_lookup(NULL, "A") == NULL);
	CHECK_EQ_INT(env_set(&env, "A=1"), 0);
	CHECK_EQ_INT(env_set(&env, "AB=2"), 0);
	CHECK_EQ_INT(env_set(&env, "A=3"), 0);
	CHECK_EQ_INT(env_set(&env, "EMPTY="), 0);
	CHECK(strv_is(&env, (const char *[]){ "A=3", "AB=2", "EMPTY=", NULL }));
	CHECK(strcmp(env_lookup(env.items, "EMPTY"), "") == 0);
	CHECK(env_lookup(env.items, "ABC") == NULL);
	env_unset(&env, "A");
	env_unset(&env, "MISSING");
	CHECK(strv_is(&env, (const char *[]){ "AB=2", "EMPTY=", NULL }));
	strv_free(&env);
	env_unset(&env, "A"); /* on an empty vector */
	CHECK(env.items == NULL);
}

static void test_rlimits(void)
{
	struct rlimit_setting s[RLIMITS_MAX];
	size_t count;

	CHECK_EQ_INT(rlimits_parse("7=1024:4096", s, RLIMITS_MAX, &count), 0);
	CHECK_EQ_INT(count, 1);
	CHECK_EQ_INT(s[0].resource, RLIMIT_NOFILE);
	CHECK_EQ_INT(s[0].limit.rlim_cur, 1024);
	CHECK_EQ_INT(s[0].limit.rlim_max, 4096);

	/* several, and RLIM_INFINITY as libkrun writes it */
	CHECK_EQ_INT(rlimits_parse("6=100:200,4=0:18446744073709551615,3=8388608:8388608", s,
				   RLIMITS_MAX, &count),
		     0);
	CHECK_EQ_INT(count, 3);
	CHECK_EQ_INT(s[0].resource, RLIMIT_NPROC);
	CHECK_EQ_INT(s[1].resource, RLIMIT_CORE);
	CHECK(s[1].limit.rlim_cur == 0 && s[1].limit.rlim_max == RLIM_INFINITY);
	CHECK_EQ_INT(s[2].limit.rlim_max, 8388608);

	CHECK_EQ_INT(rlimits_parse("", s, RLIMITS_MAX, &count), 0);
	CHECK_EQ_INT(count, 0);

	static const char *const malformed[] = {
		"7",	     "7=",	    "7=1",	 "7=1:",	"7:1:2",      "=1:2",
		"x=1:2",     "7=a:2",	    "7=1:b",	 "7=1:2,",	",7=1:2",     "7=1:2,,6=1:1",
		"7=1:2 ",    " 7=1:2",	    "7=-1:2",	 "7=+1:2",	"7=1:2;6=1:1", "16=1:2",
		"99999999999999999999=1:2", "7=18446744073709551616:1", "7=5:4",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		int ret = rlimits_parse(malformed[i], s, RLIMITS_MAX, &count);
		CHECK_EQ_INT(ret, -1);
		if (ret != -1)
			fprintf(stderr, "  accepted: %s\n", malformed[i]);
	}

	/* more entries than room */
	CHECK_EQ_INT(rlimits_parse("7=1:2,6=1:2,5=1:2", s, 2, &count), -1);
	CHECK_EQ_INT(rlimits_parse("7=1:2,6=1:2", s, 2, &count), 0);
}

static void test_ids(void)
{
	unsigned int id = 7;
	CHECK_EQ_INT(id_parse("0", &id), 0);
	CHECK_EQ_INT(id, 0);
	CHECK_EQ_INT(id_parse("1000", &id), 0);
	CHECK_EQ_INT(id, 1000);
	CHECK_EQ_INT(id_parse("4294967294", &id), 0);
	CHECK_EQ_INT(id, 4294967294u);
	static const char *const malformed[] = { "", "-1", "+1", " 1", "1 ", "1a", "root",
						 "4294967295", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		CHECK_EQ_INT(id_parse(malformed[i], &id), -1);
}

static void test_statuses(void)
{
	/* waitpid() statuses, built as the kernel encodes them */
	CHECK_EQ_INT(status_from_wait(0), 0);
	CHECK_EQ_INT(status_from_wait(3 << 8), 3);
	CHECK_EQ_INT(status_from_wait(255 << 8), 255);
	CHECK_EQ_INT(status_from_wait(SIGKILL), 128 + SIGKILL);
	CHECK_EQ_INT(status_from_wait(SIGTERM), 143);
	CHECK_EQ_INT(status_from_wait(SIGSEGV | 0x80), 128 + SIGSEGV); /* core dumped */

	CHECK_EQ_INT(status_from_exec_errno(ENOENT), STATUS_NOT_FOUND);
	CHECK_EQ_INT(status_from_exec_errno(ENOENT), 127);
	CHECK_EQ_INT(status_from_exec_errno(EACCES), 126);
	CHECK_EQ_INT(status_from_exec_errno(ENOEXEC), 126);
	CHECK_EQ_INT(status_from_exec_errno(EPERM), 126);
	CHECK_EQ_INT(status_from_exec_errno(EISDIR), 126);
	CHECK_EQ_INT(status_from_exec_errno(ENOTDIR), 126);
	CHECK_EQ_INT(status_from_exec_errno(ETXTBSY), 126);
	CHECK_EQ_INT(status_from_exec_errno(ENOMEM), STATUS_SETUP_FAILED);
	CHECK_EQ_INT(status_from_exec_errno(E2BIG), 125);
}

int main(void)
{
	test_argv();
	test_env();
	test_env_helpers();
	test_rlimits();
	test_ids();
	test_statuses();
	return CHECK_DONE();
}
