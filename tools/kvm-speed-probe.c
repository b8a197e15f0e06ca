/* kvm-speed-probe [DEVICE]: says whether a /dev/kvm runs guests at hardware
 * speed. Exit status 0: hardware speed; 1: emulated (a standard guest kernel
 * will not boot at usable speed: use testhost/run); 2: no usable KVM. */
#include <stdio.h>
#include <stdlib.h>

#include "vmm/speed_probe.h"

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	char err[256];
	double seconds;

	if (kvm_speed_probe(dev, KVM_PROBE_ITERATIONS, &seconds, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvm-speed-probe: %s\n", err);
		return 2;
	}
	int hw = kvm_probe_is_hardware_speed(seconds);
	printf("%s %.4f s for %u iterations\n", hw ? "hardware-speed" : "emulated", seconds,
	       KVM_PROBE_ITERATIONS);
	return hw ? 0 : 1;
}
