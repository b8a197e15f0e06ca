/* The seccomp programs of the VMM's threads, one per thread kind, as BPF
 * the kernel takes: compiled at build time by sandbox-gen (sandbox_gen.c)
 * from the allow-lists of sandbox_rules.c into sandbox_programs.c of the
 * build tree. sandbox.c installs them. */
#ifndef KRUN_VMM_SANDBOX_PROGRAMS_H
#define KRUN_VMM_SANDBOX_PROGRAMS_H

#include <linux/filter.h>

#include "vmm/sandbox.h"

struct sandbox_program {
	const struct sock_filter *insns;
	unsigned short len;
};

/* Indexed by enum sandbox_kind; [0] is empty. */
extern const struct sandbox_program sandbox_programs[SANDBOX_NR_KINDS];

/* A sanitizer's runtime makes calls of its own on the VMM's threads
 * (sandbox_rules.c): a build with one gets the programs that allow them. */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define SANDBOX_FOR_SANITIZER 1
#else
#define SANDBOX_FOR_SANITIZER 0
#endif

#endif
