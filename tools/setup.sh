# Sourced by test.sh and run.sh: installs the Debian packages the build and
# the guests need, builds both kernels (cached outside the clone) and
# configures and builds the project in each directory given to build_dirs.
set -euo pipefail

step() { printf '\n==== %s\n' "$*"; }

install_dependencies() {
	# clang and libclang-rt-14-dev (libFuzzer, clang's sanitizer runtimes;
	# clang only recommends it) for the fuzzers
	local deps=(build-essential meson ninja-build pkg-config linux-source-6.12 flex bison bc
		libelf-dev libssl-dev libjson-c-dev libseccomp-dev cpio xz-utils busybox-static
		qemu-system-x86 time clang libclang-rt-14-dev)
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
	guest_kernel=$(kernel/build.sh guest kernel/guest.config | tail -n 1)
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

# run_guest_command CMD...: runs CMD here when this /dev/kvm runs guests at
# hardware speed, else (an emulating /dev/kvm, or none at all: QEMU TCG needs
# none) inside the nested test host. QEMU TCG's nested SVM fails now and
# then: a test host whose nested KVM never returns from a guest, not even
# the probe's loop, or one that freezes or dies (testhost/run exits 98)
# while CMD runs. CMD runs only after the probe answered in the same test
# host (within 20 s: it takes milliseconds there, and a test host that fails
# it was seen to fail it for good); after either failure it starts again in
# a new test host, at most twice: the failure is the test host's, and a
# fresh one runs CMD from the start. CMD's own status, whatever it is, ends
# it (the test host records it in a file of the shared directory), unless
# CMD failed after a boot test wrote to $TESTHOST_BROKEN that the test host
# crashed a guest (a triple fault, or a state no guest can be in: see
# tests/boot/lib.sh): that too starts CMD again in a new one.
run_guest_command() {
	local probe_status=0
	build/tools/kvm-speed-probe || probe_status=$?
	case $probe_status in
	0)
		"$@"
		return
		;;
	1) echo "this /dev/kvm emulates guest code: running inside the test host (testhost/run)" ;;
	2) echo "this machine has no usable /dev/kvm: running inside the test host (testhost/run)" ;;
	*)
		echo "build/tools/kvm-speed-probe failed (status $probe_status): is the project built?" >&2
		return "$probe_status"
		;;
	esac
	local attempt status cmd_status broken
	cmd_status=$(mktemp "$PWD/.guest-command-status.XXXXXX")
	broken=$(mktemp "$PWD/.guest-command-broken.XXXXXX")
	for attempt in 1 2 3; do
		status=0
		: >"$cmd_status"
		: >"$broken"
		# the whole boot suite in one test host: minutes of guests under TCG
		TESTHOST_BROKEN=$broken testhost/run --timeout 2700 sh -c \
			'timeout -k 5 20 build/tools/kvm-speed-probe || exit 99
			"$@"; status=$?; echo $status >"$0"; exit $status' "$cmd_status" "$@" || status=$?
		if [ -s "$cmd_status" ]; then
			# CMD ran: its status ends it, unless it failed after the
			# test host crashed a guest
			[ "$status" != 0 ] && [ -s "$broken" ] && [ $attempt -lt 3 ] || break
			echo "test host $attempt crashed a guest ($(head -n 1 "$broken")); running the command again in another" >&2
			continue
		fi
		case $status in
		99) echo "test host $attempt: its nested KVM did not run the probe guest; starting another" >&2 ;;
		98) echo "test host $attempt froze or died under the command; starting it again in another" >&2 ;;
		*) break ;;
		esac
	done
	rm -f "$cmd_status" "$broken"
	return "$status"
}
