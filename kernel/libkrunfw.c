/* libkrunfw.so.5: the guest kernel bundle, with libkrunfw's C ABI. The image
 * and its layout come from the assembler file krunfw-bundle generates. */
#include <stddef.h>
#include <stdint.h>

#define KRUNFW_ABI_VERSION 5
#define KRUNFW_EXPORT __attribute__((visibility("default")))

extern char krunfw_kernel_image[];
extern const uint64_t krunfw_kernel_layout[3]; /* load address, entry, size */

KRUNFW_EXPORT char *krunfw_get_kernel(size_t *load_addr, size_t *entry_addr, size_t *size);
KRUNFW_EXPORT int krunfw_get_version(void);

char *krunfw_get_kernel(size_t *load_addr, size_t *entry_addr, size_t *size)
{
	*load_addr = krunfw_kernel_layout[0];
	*entry_addr = krunfw_kernel_layout[1];
	*size = krunfw_kernel_layout[2];
	return krunfw_kernel_image;
}

int krunfw_get_version(void)
{
	return KRUNFW_ABI_VERSION;
}
