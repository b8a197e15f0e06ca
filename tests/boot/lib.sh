# Shared by the boot tests: they need a /dev/kvm that runs standard guests at
# hardware speed (real hardware, or inside testhost/run). Elsewhere they fail
# loudly instead of hanging or skipping.
require_hardware_kvm() { # PROBE
	local out
	if ! out=$("$1"); then
		echo "FAIL: this /dev/kvm cannot run a standard guest at usable speed ($out);" \
			"run the boot tests through testhost/run" >&2
		exit 1
	fi
	echo "kvm: $out"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
