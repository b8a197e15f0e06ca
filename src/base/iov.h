/* Flat bytes in and out of a list of buffers (struct iovec): a request read
 * from the guest's buffers, a reply written into them. Every copy stops at
 * the end of the shorter side. */
#ifndef KRUN_BASE_IOV_H
#define KRUN_BASE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* The bytes of all n buffers; SIZE_MAX if they add up to more. */
size_t iov_total(const struct iovec *iov, unsigned int n);

/* Copy up to len bytes from the start of iov into dst: how many. */
size_t iov_gather(void *dst, size_t len, const struct iovec *iov, unsigned int n);

/* Copy up to len bytes of src into iov from its start: how many. */
size_t iov_scatter(const struct iovec *iov, unsigned int n, const void *src, size_t len);

/* Up to len bytes of the n buffers from byte skip on, as buffers into out
 * (room for max_out): how many, none empty; -EINVAL if they need more. */
int iov_slice(const struct iovec *iov, unsigned int n, size_t skip, size_t len,
	      struct iovec *out, unsigned int max_out);

#endif
