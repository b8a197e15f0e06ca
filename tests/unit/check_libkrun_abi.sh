#!/bin/sh
# The public surface of libkrun.so: its soname, exactly the functions the
# header declares as its exports, and a header that C and C++ both accept.
# usage: check_libkrun_abi.sh LIBKRUN_SO LIBKRUN_H
set -eu
lib=$1
header=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" != libkrun.so.1 ]; then
	echo "soname is '$soname', expected libkrun.so.1"
	failed=1
fi

nm -D --defined-only "$lib" | awk '{ print $3 }' | sort >"$tmp/exported"
grep -o '\<krun_[a-z0-9_]*(' "$header" | tr -d '(' | sort -u >"$tmp/declared"
if grep -v '^krun_' "$tmp/exported"; then
	echo "^ exported without the krun_ prefix"
	failed=1
fi
if ! diff -u "$tmp/declared" "$tmp/exported"; then
	echo "exports differ from the header's declarations (- declared only, + exported only)"
	failed=1
fi

printf '#include "libkrun.h"\nint main(void) { return krun_create_ctx() < 0; }\n' >"$tmp/use.c"
incdir=$(dirname "$header")
cc -std=c99 -Wall -Wextra -Werror -pedantic -I"$incdir" -fsyntax-only "$tmp/use.c" ||
	{ echo "the header does not compile as C99"; failed=1; }
if command -v c++ >/dev/null; then
	c++ -x c++ -Wall -Wextra -Werror -pedantic -I"$incdir" -fsyntax-only "$tmp/use.c" ||
		{ echo "the header does not compile as C++"; failed=1; }
fi

[ $failed = 0 ] && echo "libkrun.so.1 exports the $(wc -l <"$tmp/exported") functions of libkrun.h"
exit $failed
