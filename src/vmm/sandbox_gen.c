/* sandbox-gen OUTPUT.c: the build-time compiler of the VMM's seccomp
 * filters. libseccomp turns each thread kind's allow-list (sandbox_rules.c)
 * into a BPF program, written out as C arrays that the library carries
 * ready to install (sandbox_programs.h): a VMM start compiles nothing, and
 * the library needs no libseccomp at run time.
 *
 * Every rule is a constant (system call numbers, ioctl requests, flag
 * masks), so the programs are the same at every start. Each kind has two
 * programs, with and without what a sanitizer's runtime calls; the build
 * that compiles OUTPUT.c picks one (SANDBOX_FOR_SANITIZER). */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "vmm/sandbox_programs.h"
#include "vmm/sandbox_rules.h"

static const char *const kind_ids[SANDBOX_NR_KINDS] = {
	[SANDBOX_VCPU] = "vcpu",
	[SANDBOX_FS_WORKER] = "fs_worker",
	[SANDBOX_EVENT_LOOP] = "event_loop",
	[SANDBOX_EVENT_LOOP_USER_NET] = "event_loop_user_net",
	[SANDBOX_EVENT_LOOP_VSOCK] = "event_loop_vsock",
	[SANDBOX_EVENT_LOOP_TSI_UNIX] = "event_loop_tsi_unix",
};



static int add_rules(scmp_filter_ctx ctx, const struct sandbox_allow_list *list)
{
	for (unsigned int i = 0; i < list->nr_rules; i++) {
		const struct sandbox_rule *rule = &list->rules[i];
		uint32_t action = rule->enosys ? SCMP_ACT_ERRNO(ENOSYS) : SCMP_ACT_ALLOW;
		int ret = rule->arg < 0 ? seccomp_rule_add(ctx, action, rule->nr, 0)
					: seccomp_rule_add(ctx, action, rule->nr, 1,
							   SCMP_CMP(rule->arg, SCMP_CMP_MASKED_EQ,
								    rule->mask, rule->value));
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* A kind's own rules, then its base's, and so on. */
static int add_kind_rules(scmp_filter_ctx ctx, enum sandbox_kind kind)
{
	int ret = 0;

	for (; kind && ret == 0; kind = sandbox_kind_base[kind])
		ret = add_rules(ctx, &sandbox_kind_rules[kind]);
	return ret;
}

/* libseccomp writes a filter's BPF only to an fd: through a temporary
 * file, into memory. *len instructions, to be freed. */
static int export_program(scmp_filter_ctx ctx, struct sock_filter **insns, size_t *len)
{
	FILE *f = tmpfile();
	long size;
	int ret;

	if (!f)
		return -errno;
	if ((ret = seccomp_export_bpf(ctx, fileno(f))) < 0)
		goto out;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 ||
	    size % sizeof(struct sock_filter) || size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = -E2BIG;
		goto out;
	}
	*len = size / sizeof(struct sock_filter);
	*insns = malloc(size);
	rewind(f);
	if (!*insns || fread(*insns, sizeof(struct sock_filter), *len, f) != *len) {
		free(*insns);
		ret = -EIO;
	}
out:
	fclose(f);
	return ret;
}

/* libseccomp's trap carries no data; ours carries the thread's kind, which
 * the kernel hands to the SIGSYS handler in si_errno. */
static void mark_traps(struct sock_filter *insns, size_t len, enum sandbox_kind kind)
{
	for (size_t i = 0; i < len; i++)
		if (insns[i].code == (BPF_RET | BPF_K) && insns[i].k == SECCOMP_RET_TRAP)
			insns[i].k |= kind;
}

static int compile(enum sandbox_kind kind, bool sanitizer, struct sock_filter **insns,
		   size_t *len)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int ret;

	if (!ctx)
		return -ENOMEM;
	/* A call of another ABI (x32, int 0x80) traps too; the rules are
	 * sorted into a binary tree, so a call costs a few comparisons. */
	if ((ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP)) == 0 &&
	    (ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) == 0 &&
	    (ret = add_rules(ctx, &sandbox_common_rules)) == 0 &&
	    (ret = add_kind_rules(ctx, kind)) == 0 &&
	    (!sanitizer || (ret = add_rules(ctx, &sandbox_sanitizer_rules)) == 0) &&
	    (ret = export_program(ctx, insns, len)) == 0)
		mark_traps(*insns, *len, kind);
	seccomp_release(ctx);
	return ret;
}

/* Each kind's program as an array named after the kind. */
static int write_programs(FILE *out, bool sanitizer)
{
	for (unsigned int kind = 1; kind < SANDBOX_NR_KINDS; kind++) {
		struct sock_filter *insns = NULL;
		size_t len = 0;
		int ret = compile(kind, sanitizer, &insns, &len);

		if (ret < 0) {
			fprintf(stderr, "sandbox-gen: the %s filter%s: %s\n", kind_ids[kind],
				sanitizer ? " for a sanitizer build" : "", strerror(-ret));
			return ret;
		}
		fprintf(out, "static const struct sock_filter %s[%zu] = {\n", kind_ids[kind], len);
		for (size_t i = 0; i < len; i++)
			fprintf(out, "\t{ 0x%04x, %3u, %3u, 0x%08x },\n", insns[i].code, insns[i].jt,
				insns[i].jf, insns[i].k);
		fprintf(out, "};\n");
		free(insns);
	}
	return 0;
}

int main(int argc, char **argv)
{
	FILE *out;

	if (argc != 2) {
		fprintf(stderr, "usage: sandbox-gen OUTPUT.c\n");
		return 2;
	}
	if (!(out = fopen(argv[1], "w"))) {
		fprintf(stderr, "sandbox-gen: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fprintf(out, "/* Generated at build time by sandbox-gen (src/vmm/sandbox_gen.c) from the\n"
		     " * allow-lists of src/vmm/sandbox_rules.c, with libseccomp %u.%u.%u. */\n"
		     "#include \"vmm/sandbox_programs.h\"\n\n#if SANDBOX_FOR_SANITIZER\n",
		seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
	if (write_programs(out, true) < 0)
		goto fail;
	fprintf(out, "#else\n");
	if (write_programs(out, false) < 0)
		goto fail;
	fprintf(out, "#endif\n\nconst struct sandbox_program sandbox_programs[SANDBOX_NR_KINDS] = {\n");
	for (unsigned int kind = 1; kind < SANDBOX_NR_KINDS; kind++)
		fprintf(out, "\t[%u] = { %s, sizeof(%s) / sizeof(%s[0]) },\n", kind, kind_ids[kind],
			kind_ids[kind], kind_ids[kind]);
	fprintf(out, "};\n");
	if (fclose(out) == 0)
		return 0;
	fprintf(stderr, "sandbox-gen: %s: %s\n", argv[1], strerror(errno));
	remove(argv[1]);
	return 1;
fail:
	fclose(out);
	remove(argv[1]);
	return 1;
}
