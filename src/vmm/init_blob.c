#include "vmm/init_blob.h"

/* From the assembler file gen_init_blob.sh writes around the binary. */
extern const uint8_t krun_init_blob[];
extern const uint8_t krun_init_blob_end[];

bool init_blob_get(const uint8_t **data, size_t *len)
{
	*data = krun_init_blob;
	*len = krun_init_blob_end - krun_init_blob;
	return true;
}
