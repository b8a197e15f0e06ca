#!/usr/bin/env bash
# `meson install` into a scratch DESTDIR, then that tree as a distribution or
# a user of another prefix would have it: the files where they belong (and
# nothing else), libkrun.so.1's soname links, no RUNPATH into the build tree,
# a client built with pkg-config's flags for the installed libkrun.pc, and,
# run from there, that client's libkrun loading the installed libkrunfw.so.5
# (the DESTDIR tree lies outside the loader's search path, as an /opt or
# ~/.local prefix does, so the bundle is found beside libkrun.so.1). Without
# the installed bundle the same client must fail to find it. Needs no KVM:
# libkrun loads the bundle before it opens KVM, and the clients ask for
# memory that fails right after the bundle, before KVM, on any host.
#
#   install-tree.sh BUILD_ROOT WORK_DIR LIBDIR BINDIR INCLUDEDIR VERSION
# (LIBDIR, BINDIR and INCLUDEDIR absolute, as configured), with $MESON, $CC
# (the build's compiler) and $PKG_CONFIG set.
set -uo pipefail
build=$1 work=$2 libdir=$3 bindir=$4 includedir=$5 version=$6
# meson test points the loader at the build tree's libraries: nothing here
# may find them.
unset LD_LIBRARY_PATH
here=$(cd "$(dirname "$0")" && pwd)
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
ok() { echo "ok: $*"; }

rm -rf "$work" && mkdir -p "$work" || exit 1
root=$work/destdir
if ! $MESON install -C "$build" --no-rebuild --destdir "$root" >"$work/install.log" 2>&1; then
	cat "$work/install.log" >&2
	echo "FAIL: meson install" >&2
	exit 1
fi
lib=$root$libdir bin=$root$bindir inc=$root$includedir
major=${version%%.*}

# Every file and link, with its link target: exactly these.
fw_file=$(readlink "$build/kernel/libkrunfw.so.5")
expected=$(sort <<-LIST
	${bindir#/}/krun f
	${includedir#/}/libkrun.h f
	${libdir#/}/libkrun.so l libkrun.so.$major
	${libdir#/}/libkrun.so.$major l libkrun.so.$version
	${libdir#/}/libkrun.so.$version f
	${libdir#/}/libkrunfw.so l libkrunfw.so.5
	${libdir#/}/libkrunfw.so.5 l $fw_file
	${libdir#/}/$fw_file f
	${libdir#/}/pkgconfig/libkrun.pc f
LIST
)
actual=$(cd "$root" && find . ! -type d -printf '%P %y %l\n' | sed 's/ $//' | sort)
if [ "$actual" = "$expected" ]; then
	ok "installed files: $(wc -l <<<"$actual")"
else
	fail "installed files differ from the expected ones (< expected, > installed):"
	diff <(echo "$expected") <(echo "$actual") >&2
fi
[ -x "$bin/krun" ] || fail "$bin/krun is not executable"
cmp -s "$inc/libkrun.h" "$here/../../include/libkrun.h" || fail "the installed libkrun.h is not include/libkrun.h"

for f in "$lib/libkrun.so.$version" "$lib/$fw_file" "$bin/krun"; do
	if readelf -d "$f" | grep -Eq '\((RUNPATH|RPATH)\)'; then
		fail "$f keeps a search path: $(readelf -d "$f" | grep -E 'RUNPATH|RPATH')"
	fi
done
soname() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }
[ "$(soname "$lib/libkrun.so.$version")" = "libkrun.so.$major" ] ||
	fail "libkrun's soname is '$(soname "$lib/libkrun.so.$version")'"
[ "$(soname "$lib/$fw_file")" = libkrunfw.so.5 ] || fail "libkrunfw's soname is '$(soname "$lib/$fw_file")'"
ok "sonames libkrun.so.$major and libkrunfw.so.5, no RUNPATH"

# pkg-config, as for a tree installed at PREFIX, relocated into DESTDIR.
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
modversion=$($PKG_CONFIG --modversion libkrun)
[ "$modversion" = "$version" ] || fail "pkg-config --modversion libkrun: '$modversion'"
# (without pkg-config's trailing blank)
cflags=$($PKG_CONFIG --cflags libkrun | sed 's/ *$//') libs=$($PKG_CONFIG --libs libkrun | sed 's/ *$//')
[ "$cflags" = "-I$inc" ] || fail "pkg-config --cflags libkrun: '$cflags'"
[ "$libs" = "-L$lib -lkrun" ] || fail "pkg-config --libs libkrun: '$libs'"
# The client finds libkrun.so.1 through its own RUNPATH (only its own
# needed libraries use it), as a program built for /opt would.
# shellcheck disable=SC2086
if $CC -Wall -Wextra -Werror -o "$work/client" "$here/client.c" $cflags $libs \
	-Wl,--enable-new-dtags,-rpath,"$lib" 2>"$work/cc.log"; then
	ok "a client built with \`pkg-config --cflags --libs libkrun\` ($cflags $libs)"
else
	fail "the client does not build against the installed tree:"
	cat "$work/cc.log" >&2
	exit 1
fi

# The client's run: which libkrun it loaded, the bundle, and the end of the
# VM's build: its 1 MiB of RAM refused after the bundle, or a missing bundle.
run_client() {
	"$work/client" >"$work/client.log" 2>&1
	cat "$work/client.log"
}
out=$(run_client)
if grep -qxF "libkrun: $lib/libkrun.so.1" <<<"$out" &&
	grep -qF "guest kernel bundle: $lib/libkrunfw.so.5" <<<"$out" &&
	grep -qF "1 MiB of RAM is too small for this guest" <<<"$out" &&
	grep -qx 'krun_start_enter: -22' <<<"$out"; then
	ok "the installed libkrun loaded the installed libkrunfw.so.5 (and refused 1 MiB of RAM: EINVAL)"
else
	fail "the client did not load the installed libkrunfw.so.5 through the installed libkrun:"
	echo "$out" >&2
fi

# The installed krun, with the loader told where its libkrun is.
if ! usage=$(LD_LIBRARY_PATH=$lib "$bin/krun" --help 2>&1) || ! grep -q '^usage: krun' <<<"$usage"; then
	fail "installed krun --help: $usage"
fi
# Its guest RAM (1 TiB) cannot be mapped in a 1 GiB address space: the
# start fails after the bundle and before KVM.
mkdir -p "$work/rootdir"
out=$(ulimit -v 1048576 && LD_LIBRARY_PATH=$lib "$bin/krun" --log-level info --mem 1048576 \
	"$work/rootdir" true 2>&1)
status=$?
if [ $status = 125 ] && grep -qF "guest kernel bundle: $lib/libkrunfw.so.5" <<<"$out" &&
	grep -qF "cannot map" <<<"$out"; then
	ok "the installed krun runs, and its libkrun loads the installed bundle"
else
	fail "installed krun: status $status (wanted 125, the guest RAM not mapped after the bundle):"
	echo "$out" >&2
fi

# Without the installed bundle, the same client must say it found none.
rm "$lib/libkrunfw.so.5"
out=$(run_client)
if grep -q "cannot load the guest kernel bundle libkrunfw.so.5" <<<"$out" &&
	grep -qx 'krun_start_enter: -2' <<<"$out"; then
	ok "without the installed libkrunfw.so.5: ENOENT, and the log says where it looked"
else
	fail "the client did not miss the deleted libkrunfw.so.5:"
	echo "$out" >&2
fi

[ $failures = 0 ] || exit 1
rm -rf "$work"
