/* The option parsers' one error line: "krun: " and fmt with arg, on stderr. */
#ifndef KRUN_CLI_SAID_H
#define KRUN_CLI_SAID_H

#include <stdio.h>

/* -1, for the parser to return. */
static inline int said(const char *fmt, const char *arg)
{
	fputs("krun: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -1;
}

#endif
