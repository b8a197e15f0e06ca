#!/usr/bin/env bash
# A guest kernel tree kept for work on our kernel patches (TSI, issue 12;
# docs/tsi-design.md): Debian's linux-source-6.12 extracted once into the
# cache as a git repository (its first commit the pristine source), built
# out of tree with the released guest kernel's configuration, and rebuilt
# incrementally on each call: a minute or two after an edit, where
# kernel/build.sh takes 17 to 29 minutes for a fresh key here.
#
#   kernel/dev.sh          build; the last line of stdout is the vmlinux
#   kernel/dev.sh --where  print the source tree and stop
#
# Edit the source tree, build, boot the result by pointing a build of ours
# at it (meson setup BUILD -Dguest_vmlinux=VMLINUX), and when it works,
# `git -C SRC diff > kernel/patches/NNNN-what.patch` (a fresh tree carries
# kernel/patches, uncommitted: the diff is the whole series; split it by
# file when there are several): only kernel/build.sh's kernels are
# released, and they come from the patches alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${LIBKRUNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libkrun-c}
tarball=/usr/src/linux-source-6.12.tar.xz
say() { printf '[kernel dev] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
	die "linux-source-6.12 is not installed (apt-get install linux-source-6.12)"
src="$cache/dev/guest-$pkgver/src" build="$cache/dev/guest-$pkgver/build"
if [ "${1:-}" = --where ]; then
	echo "$src"
	exit 0
fi

if [ ! -f "$src/.git/krun-pristine" ]; then
	say "extracting $tarball into $src"
	rm -rf "$src" && mkdir -p "$src"
	tar -xJf "$tarball" -C "$src" --strip-components=1
	# Debian's packaging ignores everything at the top level ("/*"), new
	# files included: not in this tree, which is for making patches.
	sed -i -e '\|^/\*$|d' -e '\|^!/debian/$|d' "$src/.gitignore"
	git -C "$src" init -q
	git -C "$src" add -A
	git -C "$src" -c user.name=libkrun-c -c user.email=libkrun-c@localhost \
		commit -q -m "Debian's linux-source-6.12 $pkgver"
	touch "$src/.git/krun-pristine"
	# Our patches on top, uncommitted (new files marked with add -N), so
	# that `git diff` is the series as it stands, edits included.
	for p in "$here"/patches/*.patch; do
		[ -e "$p" ] || continue
		say "applying $(basename "$p")"
		patch -d "$src" -p1 -s <"$p"
	done
	git -C "$src" add -N .
fi
if [ ! -f "$build/.config" ]; then
	# The released guest kernel's configuration (built first if need be),
	# so that what works here works there.
	released=$("$here/build.sh" guest "$here/guest.config" "$here/patches" | tail -n 1)
	mkdir -p "$build"
	cp "$released/config" "$build/.config"
fi
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970'
export KBUILD_BUILD_USER=libkrun-c KBUILD_BUILD_HOST=libkrun-c KBUILD_BUILD_VERSION=1
make -C "$src" O="$build" ARCH=x86_64 -s olddefconfig
say "building in $build with $(nproc) jobs"
make -C "$src" O="$build" ARCH=x86_64 -j"$(nproc)" vmlinux bzImage >"$build/build.log" 2>&1 || {
	tail -n 40 "$build/build.log" >&2
	die "make failed; full log in $build/build.log"
}
echo "$build/vmlinux"
