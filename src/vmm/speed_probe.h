/* Does this /dev/kvm run guest code at hardware speed? PVM and other
 * emulating hosts accept the KVM API but interpret every guest instruction;
 * a standard Linux guest never finishes booting there. The probe runs a tiny
 * long-mode loop guest and times it: milliseconds on hardware, seconds when
 * emulated. Nothing is decided by host name. */
#ifndef KRUN_VMM_SPEED_PROBE_H
#define KRUN_VMM_SPEED_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#define KVM_PROBE_ITERATIONS 1000000u
/* 1 M iterations: ~1 ms on hardware, 36 ms nested under TCG+SVM, ~1 s on PVM. */
#define KVM_PROBE_HARDWARE_LIMIT_S 0.25

/* Run the loop guest for the given iterations; its wall time in *seconds.
 * Returns 0, or -errno with a message in err (for the user) on failure. */
int kvm_speed_probe(const char *kvm_path, uint32_t iterations, double *seconds, char *err,
		    unsigned long err_len);

static inline bool kvm_probe_is_hardware_speed(double seconds)
{
	return seconds < KVM_PROBE_HARDWARE_LIMIT_S;
}

#endif
