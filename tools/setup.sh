# Sourced by test.sh and run.sh: installs the Debian packages the build and
# the guests need, builds both kernels (cached outside the clone) and
# configures and builds the project in each directory given to build_dirs.
set -euo pipefail

step() { printf '\n==== %s\n' "$*"; }

install_dependencies() {
	# clang and libclang-rt-14-dev (libFuzzer, clang's sanitizer runtimes;
	# clang only recommends it) for the fuzzers; libslirp-dev (and glib's
	# headers, which its pkg-config file requires) for the user-mode network;
	# zlib1g-dev for qcow2's compressed clusters; qemu-utils (qemu-img) and
	# e2fsprogs as the disk tests' peers; crun, whose config.json the boot
	# tests hand the init
	local deps=(build-essential meson ninja-build pkg-config linux-source-6.12 flex bison bc
		libelf-dev libssl-dev libjson-c-dev libseccomp-dev cpio xz-utils busybox-static
		qemu-system-x86 time clang libclang-rt-14-dev passt libslirp-dev libglib2.0-dev
		zlib1g-dev qemu-utils e2fsprogs crun)
	local missing=() p sudo=
	for p in "${deps[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		[ "$(id -u)" = 0 ] || sudo=sudo
		$sudo apt-get update
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
	fi
}

# Sets guest_kernel to the guest kernel's cache directory.
build_kernels() {
	guest_kernel=$(kernel/build.sh guest kernel/guest.config kernel/patches | tail -n 1)
	kernel/build.sh testhost testhost/kernel.config >/dev/null
}

# build_dir DIR [MESON_OPTION...]: the compiler is $CC's (cc without it) when
# DIR is set up: CC=clang build_dir DIR ... for a clang build.
build_dir() {
	local dir=$1
	shift
	local opts=(-Dguest_vmlinux="$guest_kernel/vmlinux" "$@")
	if [ -d "$dir" ]; then
		meson configure "$dir" "${opts[@]}" >/dev/null
	else
		meson setup "$dir" "${opts[@]}" >/dev/null
	fi
	ninja -C "$dir"
}

# run_guest_command [--tests 'NAME...'] CMD...: runs CMD here when this
# /dev/kvm runs guests at hardware speed, else (an emulating /dev/kvm, or
# none at all: QEMU TCG needs none) inside the nested test host through
# testhost/run, which alone decides what to run again when the test host
# fails (see there). With --tests, CMD is a test command run once per NAME
# (`CMD NAME`), each test a unit that can run again on its own.
run_guest_command() {
	local names=()
	if [ "${1:-}" = --tests ]; then
		read -r -d "" -a names <<<"$2" || true
		shift 2
	fi
	local probe_status=0
	build/tools/kvm-speed-probe || probe_status=$?
	case $probe_status in
	0)
		[ ${#names[@]} -gt 0 ] || { "$@"; return; }
		local name status=0
		for name in "${names[@]}"; do "$@" "$name" || status=1; done
		return $status
		;;
	1) echo "this /dev/kvm emulates guest code: running inside the test host (testhost/run)" ;;
	2) echo "this machine has no usable /dev/kvm: running inside the test host (testhost/run)" ;;
	*)
		echo "build/tools/kvm-speed-probe failed (status $probe_status): is the project built?" >&2
		return "$probe_status"
		;;
	esac
	# the whole boot suite in one test host when all goes well: minutes of
	# guests under TCG
	testhost/run --timeout 2700 --probe build/tools/kvm-speed-probe \
		${names[0]+--tests "${names[*]}"} "$@"
}
