/* Checksums the guest leaves to the device (VIRTIO_NET_F_CSUM), finished
 * for peers that take bare frames: passt, gvproxy and the like see only
 * whole checksums, as from a NIC. */
#ifndef KRUN_DEVICES_NET_CSUM_H
#define KRUN_DEVICES_NET_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* The frame's len bytes, whose header said VIRTIO_NET_HDR_F_NEEDS_CSUM with
 * start and offset: store at start + offset the Internet checksum of
 * frame[start, len), the field included (it holds the guest's partial sum,
 * its pseudo-header's), as the guest's stack would have. 0, or -EINVAL
 * when the field does not lie inside the frame (the guest's fault). */
int net_csum_complete(uint8_t *frame, size_t len, uint16_t start, uint16_t offset);

#endif
