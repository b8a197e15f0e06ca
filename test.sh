#!/usr/bin/env bash
# The test command: on a fresh Debian 12 x86_64 machine (as root, or with
# sudo), installs what the build and the tests need, builds the two kernels
# (cached outside the clone), the project normally and with ASan+UBSan, and
# runs every test. Boot tests run inside the nested test host whenever this
# machine's /dev/kvm cannot run a standard guest at hardware speed.
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
deps=(build-essential meson ninja-build pkg-config linux-source-6.12 flex bison bc
	libelf-dev libssl-dev cpio xz-utils busybox-static qemu-system-x86 time)
missing=()
for p in "${deps[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
[ -e /dev/kvm ] || { echo "test.sh: /dev/kvm is missing: the tests need KVM" >&2; exit 1; }

step "kernels (cached in ${LIBKRUNC_CACHE:-\$HOME/.cache/libkrun-c})"
guest=$(kernel/build.sh guest kernel/guest.config | tail -n 1)
kernel/build.sh testhost testhost/kernel.config >/dev/null

step "build"
for dir in build build-asan; do
	opts=(-Dguest_vmlinux="$guest/vmlinux")
	[ $dir = build-asan ] && opts+=(-Db_sanitize=address,undefined -Db_lundef=false)
	if [ -d $dir ]; then
		meson configure $dir "${opts[@]}" >/dev/null
	else
		meson setup $dir "${opts[@]}" >/dev/null
	fi
	ninja -C $dir
done

step "unit tests"
meson test -C build --suite unit --print-errorlogs
step "unit tests under ASan and UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --print-errorlogs

step "tests on this machine"
meson test -C build --suite host --print-errorlogs

step "boot tests"
if build/tools/kvm-speed-probe; then
	meson test -C build --suite boot --print-errorlogs
else
	echo "this /dev/kvm emulates guest code: running the boot tests inside the test host"
	testhost/run meson test -C "$root/build" --no-rebuild --suite boot --print-errorlogs
fi
step "all tests passed"
