#include "vmm/init_blob.h"

bool init_blob_get(const uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	return false;
}
