/* The workload document the init reads: any bytes survive, parsed back with
 * json-c (the init's parser). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vmm/workload_json.h"

static const char *string_at(json_object *array, size_t i)
{
	return json_object_get_string(json_object_array_get_idx(array, i));
}

int main(void)
{
	char *argv[] = { "-c", "echo \"quoted\" \\ back\\slash\nnew line\ttab \x01 ü", NULL };
	char *envp[] = { "A=1", "B=\"x\"", NULL };
	char *rlimits[] = { "7=1024:2048", "6=100:200", NULL };
	struct vm_config cfg = {
		.exec_path = "/bin/sh", .argv = argv, .envp = envp, .rlimits = rlimits,
		.workdir = "/tmp/dir with space",
	};

	char *doc = workload_json(&cfg);
	CHECK(doc != NULL);
	json_object *root = json_tokener_parse(doc);
	CHECK(root != NULL);
	json_object *process, *args, *env, *cwd;
	CHECK(json_object_object_get_ex(root, "process", &process));
	CHECK(json_object_object_get_ex(process, "args", &args));
	CHECK(json_object_object_get_ex(process, "env", &env));
	CHECK(json_object_object_get_ex(process, "cwd", &cwd));
	CHECK_EQ_INT(json_object_array_length(args), 3);
	CHECK(!strcmp(string_at(args, 0), "/bin/sh"));
	CHECK(!strcmp(string_at(args, 1), "-c"));
	CHECK(!strcmp(string_at(args, 2), argv[1]));
	CHECK_EQ_INT(json_object_array_length(env), 3);
	CHECK(!strcmp(string_at(env, 1), "B=\"x\""));
	CHECK(!strcmp(string_at(env, 2), "KRUN_RLIMITS=7=1024:2048,6=100:200"));
	CHECK(!strcmp(json_object_get_string(cwd), "/tmp/dir with space"));
	json_object_put(root);
	free(doc);

	/* no arguments, environment, limits or directory */
	struct vm_config bare = { .exec_path = "/bin/true" };
	doc = workload_json(&bare);
	CHECK(doc && !strcmp(doc, "{\"process\":{\"args\":[\"/bin/true\"],\"env\":[]}}\n"));
	free(doc);
	return CHECK_DONE();
}
