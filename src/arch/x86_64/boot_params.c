#include "arch/x86_64/boot_params.h"

#include <errno.h>
#include <string.h>

#include "arch/x86_64/long_mode.h"

#define BOOT_FLAG_MAGIC 0xaa55
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define LOADER_UNDEFINED 0xff  /* type_of_loader: a loader without an assigned ID */

static void add_entry(struct x86_e820 *map, uint64_t start, uint64_t end, uint32_t type)
{
	map->entries[map->nr_entries++] = (struct boot_e820_entry){
		.addr = start, .size = end - start, .type = type,
	};
}

void x86_e820_build(const struct x86_layout *layout, struct x86_e820 *map)
{
	map->nr_entries = 0;
	add_entry(map, 0, X86_EBDA_START, E820_RAM);
	/* The MP table lives in the EBDA; Linux looks for it there. */
	add_entry(map, X86_EBDA_START, X86_EBDA_END, E820_RESERVED);
	add_entry(map, X86_BIOS_START, X86_HIMEM_START, E820_RESERVED);
	add_entry(map, X86_HIMEM_START, layout->low_ram_end, E820_RAM);
	if (layout->high_ram_size)
		add_entry(map, X86_MMIO_GAP_END, X86_MMIO_GAP_END + layout->high_ram_size,
			  E820_RAM);
}

int x86_check_boot_info(const struct guest_memory *gm, const struct x86_boot_info *info)
{
	const char *cmdline;

	if (info->cmdline_len >= X86_CMDLINE_SIZE)
		return -E2BIG;
	cmdline = gm_ptr(gm, info->cmdline_gpa, info->cmdline_len + 1ull);
	if (!cmdline || cmdline[info->cmdline_len] != '\0')
		return -EFAULT;
	if (info->initramfs_size && !gm_ptr(gm, info->initramfs_gpa, info->initramfs_size))
		return -EFAULT;
	return 0;
}

int x86_write_zero_page(const struct guest_memory *gm, const struct x86_layout *layout,
			const struct x86_boot_info *info)
{
	struct boot_params params;
	struct x86_e820 map;
	int ret = x86_check_boot_info(gm, info);

	if (ret < 0)
		return ret;
	memset(&params, 0, sizeof(params));
	params.hdr.boot_flag = BOOT_FLAG_MAGIC;
	params.hdr.header = HDRS_MAGIC;
	params.hdr.type_of_loader = LOADER_UNDEFINED;
	params.hdr.loadflags = LOADED_HIGH;
	params.hdr.cmd_line_ptr = (uint32_t)info->cmdline_gpa;
	params.ext_cmd_line_ptr = (uint32_t)(info->cmdline_gpa >> 32);
	params.hdr.cmdline_size = info->cmdline_len;
	if (info->initramfs_size) {
		params.hdr.ramdisk_image = (uint32_t)info->initramfs_gpa;
		params.ext_ramdisk_image = (uint32_t)(info->initramfs_gpa >> 32);
		params.hdr.ramdisk_size = (uint32_t)info->initramfs_size;
		params.ext_ramdisk_size = (uint32_t)(info->initramfs_size >> 32);
	}
	x86_e820_build(layout, &map);
	memcpy(params.e820_table, map.entries, map.nr_entries * sizeof(map.entries[0]));
	params.e820_entries = map.nr_entries;
	return gm_write(gm, X86_ZERO_PAGE_ADDR, &params, sizeof(params));
}

int x86_initramfs_addr(const struct x86_layout *layout, uint64_t size, uint64_t min_gpa,
		       uint32_t initrd_addr_max, uint64_t *gpa)
{
	uint64_t limit = layout->low_ram_end;

	if (size == 0)
		return -EINVAL;
	if (initrd_addr_max && (uint64_t)initrd_addr_max + 1 < limit)
		limit = (uint64_t)initrd_addr_max + 1;
	/* From the highest region down: the first RAM region that holds it. */
	for (unsigned int i = layout->nr_regions; i-- > 0;) {
		const struct x86_region *r = &layout->regions[i];
		uint64_t end = r->gpa + r->size < limit ? r->gpa + r->size : limit;
		uint64_t floor = r->gpa > min_gpa ? r->gpa : min_gpa;
		uint64_t start;

		if (r->type != X86_REGION_RAM || end <= floor || end - floor < size)
			continue;
		start = (end - size) & ~(X86_PAGE_SIZE - 1);
		if (start < floor)
			continue;
		*gpa = start;
		return 0;
	}
	return -ENOMEM;
}
