/* virtio-rng: the guest's entropy source (its /dev/hwrng), from the host's
 * getrandom(2). One device, always there, as libkrun adds one to every VM.
 *
 * A hostile guest can ask without end, so the bytes are rationed by a
 * token bucket: RNG_RATE_BYTES_PER_S, bursts up to RNG_BURST_BYTES, each
 * request served with at most RNG_MAX_REQUEST_BYTES and charged at least
 * RNG_REQUEST_COST_MIN (so that empty or tiny requests cost as much as a
 * small one: a flood of chains drains the bucket too). Requests beyond it
 * wait in the guest's ring; a timerfd wakes the device when the bucket
 * holds RNG_REFILL_WAIT_BYTES again, so the host does at most
 * RNG_RATE_BYTES_PER_S / RNG_REQUEST_COST_MIN requests and
 * RNG_RATE_BYTES_PER_S / RNG_REFILL_WAIT_BYTES timer wake-ups a second,
 * whatever the guest does. A Linux guest seeds its pool with a few dozen
 * bytes at boot and tops it up now and then: far below the bound.
 *
 * Threads: made and destroyed on the builder's thread; activate and reset
 * on vCPU threads, kicks and the timer on the event loop's; the device's
 * lock guards the queue, the bucket and the timer (lock order: the
 * transport's, then the device's). */
#ifndef KRUN_DEVICES_RNG_H
#define KRUN_DEVICES_RNG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/vm_config.h"
#include "devices/device.h"
#include "virtio/device.h"

#define RNG_QUEUE_SIZE 256
#define RNG_RATE_BYTES_PER_S (256u * 1024)
#define RNG_BURST_BYTES (64u * 1024)
#define RNG_MAX_REQUEST_BYTES (16u * 1024)
#define RNG_REQUEST_COST_MIN 64u
#define RNG_REFILL_WAIT_BYTES 4096u

struct rng_counters {
	_Atomic uint64_t bytes;	   /* given to the guest */
	_Atomic uint64_t requests; /* chains served (empty ones too) */
	_Atomic uint64_t deferred; /* times the bucket ran dry and the timer was set */
	_Atomic uint64_t errors;   /* getrandom failures (the request got fewer bytes) */
};

struct rng {
	struct virtio_device vdev;
	struct virtq queue;
	struct virtq_chain *chain;
	struct event_loop *loop;
	int timer_fd;
	bool timer_watched; /* timer_fd is in the loop */
	bool timer_armed;
	bool active;
	uint64_t tokens;      /* bytes the bucket holds */
	uint64_t refilled_ns; /* CLOCK_MONOTONIC of the last refill */
	pthread_mutex_t lock; /* guards everything above */
	struct rng_counters counters;
};

/* The virtio device, its timer watched in loop; -errno (logged). */
int rng_init(struct rng *r, struct event_loop *loop);
void rng_destroy(struct rng *r);

/* The device kind (devices/registry.c). */
unsigned int rng_count(const struct vm_config *cfg);
int rng_create(const struct vm_config *cfg, unsigned int index, int host_fd,
	       const struct vmm_device_env *env, struct vmm_device **dev);

#endif
