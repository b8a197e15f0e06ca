#!/usr/bin/env bash
# Build a kernel from Debian's linux-source-6.12 with one of our config
# fragments, once per machine: the result is cached outside the clone under a
# key made of the source package version, the fragment, the patches and this
# script, and later calls only print where it is.
#
#   kernel/build.sh NAME FRAGMENT [PATCH_DIR]
#
# Prints the cache directory holding vmlinux, bzImage and config on its last
# line of stdout; progress goes to stderr.
set -euo pipefail

name=${1:?usage: kernel/build.sh NAME FRAGMENT [PATCH_DIR]}
fragment=${2:?usage: kernel/build.sh NAME FRAGMENT [PATCH_DIR]}
patch_dir=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
cache=${LIBKRUNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libkrun-c}
tarball=/usr/src/linux-source-6.12.tar.xz

say() { printf '[kernel %s] %s\n' "$name" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ -r "$fragment" ] || die "config fragment $fragment not found"
[ -r "$tarball" ] || die "$tarball missing: apt-get install linux-source-6.12"
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
	die "linux-source-6.12 is not installed (apt-get install linux-source-6.12)"

patches=()
if [ -n "$patch_dir" ] && [ -d "$patch_dir" ]; then
	mapfile -t patches < <(find "$patch_dir" -name '*.patch' | sort)
fi

key=$( {
	echo "$pkgver"
	cat "$fragment" "$0"
	for p in "${patches[@]}"; do cat "$p"; done
} | sha256sum | cut -c1-16)
out="$cache/kernel/$name-$pkgver-$key"
if [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache/kernel" "$cache/src"
exec 9>"$cache/kernel/.lock-$name"
flock 9
# Another build may have finished while we waited for the lock.
if [ -f "$out/vmlinux" ]; then echo "$out"; exit 0; fi

src="$cache/src/linux-$pkgver"
if [ ${#patches[@]} -gt 0 ]; then
	src="$src-$key"
fi
if [ ! -f "$src/.extracted" ]; then
	say "extracting $tarball"
	rm -rf "$src" && mkdir -p "$src"
	tar -xJf "$tarball" -C "$src" --strip-components=1
	for p in "${patches[@]}"; do
		say "applying $(basename "$p")"
		patch -d "$src" -p1 -s <"$p"
	done
	touch "$src/.extracted"
fi

build="$cache/build/$name-$key"
# Objects of earlier keys of this kernel are of no further use.
rm -rf "$cache/build/$name-"* && mkdir -p "$build"
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970'
export KBUILD_BUILD_USER=libkrun-c KBUILD_BUILD_HOST=libkrun-c KBUILD_BUILD_VERSION=1
kmake() { make -C "$src" O="$build" ARCH=x86_64 "$@"; }

say "configuring (tinyconfig + $(basename "$fragment"))"
kmake -s tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment" >/dev/null
kmake -s olddefconfig >/dev/null

# Kconfig silently drops options whose dependencies are missing: refuse that.
missing=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		if grep -q "^$opt=" "$build/.config"; then say "wanted $opt off, got $(grep "^$opt=" "$build/.config")"; missing=1; fi
	elif ! grep -qx "$opt=$val" "$build/.config"; then
		say "wanted $line, got: $(grep "^$opt=\|^# $opt is" "$build/.config" || echo absent)"
		missing=1
	fi
done <"$fragment"
[ $missing = 0 ] || die "the fragment does not hold after olddefconfig (see above)"

say "building vmlinux and bzImage with $(nproc) jobs (several minutes the first time)"
start=$SECONDS
objects=0
set +e
kmake -j"$(nproc)" vmlinux bzImage 2>&1 | tee "$build/build.log" | while IFS= read -r l; do
	case "$l" in "  CC "* | "  AS "* | "  LD "* | "  AR "*) objects=$((objects + 1)) ;; *) continue ;; esac
	if [ $((objects % 500)) = 0 ]; then say "$objects objects after $((SECONDS - start)) s"; fi
done
status=${PIPESTATUS[0]}
set -e
if [ "$status" != 0 ]; then
	tail -n 40 "$build/build.log" >&2
	die "make failed; full log in $build/build.log"
fi

tmp="$out.tmp"
rm -rf "$tmp" && mkdir -p "$tmp"
cp "$build/vmlinux" "$tmp/vmlinux"
cp "$build/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$build/.config" "$tmp/config"
echo "$((SECONDS - start))" >"$tmp/build-seconds"
rm -rf "$out" && mv "$tmp" "$out"
rm -rf "$build"
say "built in $((SECONDS - start)) s: $out"
echo "$out"
