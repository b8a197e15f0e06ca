#!/usr/bin/env bash
# The run command: on a fresh Debian 12 x86_64 machine (as root, or with
# sudo), installs what it needs, builds, makes the default guest root from
# Debian's busybox-static (build/rootfs) and runs CMD in a microVM with that
# root, through the krun tool:
#   ./run.sh [CMD [ARG...]]     (default: a greeting and uname -a)
# Where this machine's /dev/kvm cannot run a standard guest at hardware
# speed, it runs inside the nested test host.
set -euo pipefail
cd "$(dirname "$0")"
. tools/setup.sh

step "dependencies"
install_dependencies
step "kernels"
build_kernels
step "build"
build_dir build
[ -d build/rootfs ] || tools/mkroot.sh build/rootfs
[ $# -gt 0 ] || set -- sh -c 'echo "hello from a libkrun-c microVM"; uname -a'
step "krun build/rootfs $*"
run_guest_command build/cli/krun build/rootfs "$@"
