/* The allow-lists of the VMM's threads, as tables (sandbox_rules.c), which
 * sandbox-gen (sandbox_gen.c) compiles into seccomp filters at build time. */
#ifndef KRUN_VMM_SANDBOX_RULES_H
#define KRUN_VMM_SANDBOX_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/sandbox.h"

/* A system call a thread may make: always (arg < 0), or when its argument
 * arg, masked with mask, equals value. enosys: not run but answered ENOSYS,
 * for a call glibc has a fallback for. */
struct sandbox_rule {
	int nr;
	int arg;
	uint64_t mask, value;
	bool enosys;
};

struct sandbox_allow_list {
	const struct sandbox_rule *rules;
	unsigned int nr_rules;
};

/* Every kind's filter is the common list, the kind's own, its base's and, for a
 * sanitizer build, what the sanitizer runtime calls on any thread. */
extern const struct sandbox_allow_list sandbox_common_rules;
extern const struct sandbox_allow_list sandbox_kind_rules[SANDBOX_NR_KINDS];
/* A kind whose filter also takes another kind's list (0: none). */
extern const enum sandbox_kind sandbox_kind_base[SANDBOX_NR_KINDS];
extern const struct sandbox_allow_list sandbox_sanitizer_rules;

#endif
