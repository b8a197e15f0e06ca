/* What every fuzz target shares: its LLVMFuzzerInitialize, reading its
 * input as a stream of little numbers and byte strings (an exhausted input
 * reads as zeros, so every input is a valid one), and the check that stops
 * the run on a broken rule. Included once, by the target's file. formats.h
 * says how each target reads its input; make_corpus.c writes the seeds of
 * corpus/ with its constants. */
#ifndef KRUN_FUZZ_INPUT_H
#define KRUN_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "formats.h"

struct input {
	const uint8_t *p;
	size_t left;
};

static inline bool input_empty(const struct input *in)
{
	return in->left == 0;
}

/* Up to len bytes into dst, zeros for what the input lacks. */
static inline void take_bytes(struct input *in, void *dst, size_t len)
{
	size_t n = len < in->left ? len : in->left;

	memcpy(dst, in->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	in->p += n;
	in->left -= n;
}

/* Little-endian numbers, as the guest writes them. */
static inline uint64_t take_le(struct input *in, unsigned int bytes)
{
	uint8_t b[8];
	uint64_t v = 0;

	take_bytes(in, b, bytes);
	for (unsigned int i = bytes; i-- > 0;)
		v = v << 8 | b[i];
	return v;
}

static inline uint8_t take_u8(struct input *in)
{
	return take_le(in, 1);
}

static inline uint16_t take_u16(struct input *in)
{
	return take_le(in, 2);
}

static inline uint32_t take_u32(struct input *in)
{
	return take_le(in, 4);
}

static inline uint64_t take_u64(struct input *in)
{
	return take_le(in, 8);
}

/* A target's own setup, if it has one, run before any input. */
void fuzz_setup(void) __attribute__((weak));

/* Every target's: the setup, then every log line formatted, as a guest
 * makes them, and thrown away. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *null;

	(void)argc;
	(void)argv;
	if (fuzz_setup)
		fuzz_setup();
	null = fopen("/dev/null", "w");
	if (null)
		log_set_fd(fileno(null));
	log_set_level(LOG_TRACE);
	return 0;
}

/* A rule of the code under test broke: libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                               \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                \
			abort();                                                       \
		}                                                                      \
	} while (0)

#endif
