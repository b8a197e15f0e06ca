#!/usr/bin/env bash
# The test command: on a fresh Debian 12 x86_64 machine (as root, or with
# sudo), installs what the build and the tests need, builds the two kernels
# (cached outside the clone), the project normally, with ASan+UBSan and with
# clang's libFuzzer, and runs every test and a short run of each fuzzer.
# Boot tests run inside the nested test host whenever this machine's
# /dev/kvm cannot run a standard guest at hardware speed.
set -euo pipefail
cd "$(dirname "$0")"
. tools/setup.sh

step "dependencies"
install_dependencies
step "kernels (cached in ${LIBKRUNC_CACHE:-\$HOME/.cache/libkrun-c})"
build_kernels
step "build"
# Warnings fail the test command's builds (not a default of the project's,
# so that a newer compiler's new warnings do not break a distribution's).
build_dir build -Dwerror=true
build_dir build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
CC=clang build_dir build-fuzz -Dwerror=true -Dfuzzers=true

step "unit tests"
meson test -C build --suite unit --print-errorlogs
step "unit tests under ASan and UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --print-errorlogs

step "fuzzers (short runs)"
meson test -C build-fuzz --suite fuzz --print-errorlogs

step "tests on this machine"
meson test -C build --suite host --print-errorlogs

step "boot tests"
# One at a time, each a unit of its own: a test the test host fails runs
# again alone (testhost/run).
run_guest_command --tests "$(meson test -C build --no-rebuild --list --suite boot | sed -n 's|^.* / ||p')" \
	meson test -C "$PWD/build" --no-rebuild --print-errorlogs
step "all tests passed"
