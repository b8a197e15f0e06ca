#include "arch/x86_64/layout.h"

#include <errno.h>

static void add_region(struct x86_layout *layout, uint64_t start, uint64_t end,
		       enum x86_region_type type)
{
	if (start == end)
		return;
	layout->regions[layout->nr_regions++] = (struct x86_region){
		.gpa = start, .size = end - start, .type = type,
	};
}

uint64_t x86_layout_min_ram(uint64_t kernel_load, uint64_t kernel_size)
{
	uint64_t least = X86_HIMEM_START + X86_PAGE_SIZE;

	return kernel_size && kernel_load + kernel_size > least ? kernel_load + kernel_size : least;
}

int x86_layout_init(struct x86_layout *layout, uint64_t ram_size, uint64_t kernel_load,
		    uint64_t kernel_size)
{
	uint64_t low_ram_end = ram_size < X86_MMIO_GAP_START ? ram_size : X86_MMIO_GAP_START;

	if (ram_size <= X86_HIMEM_START || ram_size % X86_PAGE_SIZE ||
	    ram_size - low_ram_end > X86_MAX_PHYS_ADDR - X86_MMIO_GAP_END)
		return -EINVAL;
	if (kernel_size) {
		if (kernel_load < X86_HIMEM_START || kernel_load % X86_PAGE_SIZE ||
		    kernel_size % X86_PAGE_SIZE || kernel_load >= X86_MMIO_GAP_START ||
		    kernel_size > X86_MMIO_GAP_START - kernel_load)
			return -EINVAL;
	}
	if (ram_size < x86_layout_min_ram(kernel_load, kernel_size))
		return -ENOMEM;

	*layout = (struct x86_layout){
		.ram_size = ram_size,
		.low_ram_end = low_ram_end,
		.high_ram_size = ram_size - low_ram_end,
	};
	if (kernel_size) {
		add_region(layout, 0, kernel_load, X86_REGION_RAM);
		add_region(layout, kernel_load, kernel_load + kernel_size,
			   X86_REGION_KERNEL_IMAGE);
		add_region(layout, kernel_load + kernel_size, low_ram_end, X86_REGION_RAM);
	} else {
		add_region(layout, 0, low_ram_end, X86_REGION_RAM);
	}
	add_region(layout, X86_MMIO_GAP_END, X86_MMIO_GAP_END + layout->high_ram_size,
		   X86_REGION_RAM);
	return 0;
}

int x86_mmio_slot(unsigned int index, uint64_t *gpa, uint32_t *irq)
{
	if (index >= X86_MAX_MMIO_DEVICES)
		return -ENOSPC;
	*gpa = X86_MMIO_GAP_START + index * X86_MMIO_SLOT_SIZE;
	*irq = X86_MMIO_FIRST_IRQ + index;
	return 0;
}
