/* Checksums the guest leaves to the device (VIRTIO_NET_F_CSUM), finished
 * for peers that take bare frames: passt, gvproxy and the like see only
 * whole checksums, as from a NIC. Also the sums tcp_guard.c checks. */
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

/* The Internet checksum in two steps, for data in pieces (a pseudo-header,
 * then a segment): the sum of len bytes added to sum (only the last piece
 * may have an odd length), then folded and complemented. A received header
 * or segment whose field is right folds to 0 over all of it. */
uint64_t net_csum_add(uint64_t sum, const uint8_t *p, size_t len);
uint16_t net_csum_fold(uint64_t sum);

#endif
