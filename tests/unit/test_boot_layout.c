/* The x86_64 memory layout, e820 map, zero page and initramfs placement. */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/boot_params.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/long_mode.h"
#include "check.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void check_region(const struct x86_region *r, uint64_t gpa, uint64_t size,
			 enum x86_region_type type)
{
	CHECK_EQ_INT(r->gpa, gpa);
	CHECK_EQ_INT(r->size, size);
	CHECK_EQ_INT(r->type, type);
}

static void test_layout_small(void)
{
	struct x86_layout l;

	CHECK_EQ_INT(x86_layout_init(&l, 512 * MiB, 0, 0), 0);
	CHECK_EQ_INT(l.low_ram_end, 512 * MiB);
	CHECK_EQ_INT(l.high_ram_size, 0);
	CHECK_EQ_INT(l.nr_regions, 1);
	check_region(&l.regions[0], 0, 512 * MiB, X86_REGION_RAM);

	/* libkrunfw's image at 16 MiB splits low RAM in three */
	CHECK_EQ_INT(x86_layout_init(&l, 512 * MiB, 16 * MiB, 30 * MiB), 0);
	CHECK_EQ_INT(l.nr_regions, 3);
	check_region(&l.regions[0], 0, 16 * MiB, X86_REGION_RAM);
	check_region(&l.regions[1], 16 * MiB, 30 * MiB, X86_REGION_KERNEL_IMAGE);
	check_region(&l.regions[2], 46 * MiB, 466 * MiB, X86_REGION_RAM);

	/* an image that ends where RAM ends leaves no empty region behind */
	CHECK_EQ_INT(x86_layout_init(&l, 48 * MiB, 16 * MiB, 32 * MiB), 0);
	CHECK_EQ_INT(l.nr_regions, 2);
	check_region(&l.regions[1], 16 * MiB, 32 * MiB, X86_REGION_KERNEL_IMAGE);
}

static void test_layout_large(void)
{
	struct x86_layout l;

	CHECK_EQ_INT(x86_layout_init(&l, X86_MMIO_GAP_START, 0, 0), 0);
	CHECK_EQ_INT(l.nr_regions, 1);
	CHECK_EQ_INT(l.high_ram_size, 0);

	CHECK_EQ_INT(x86_layout_init(&l, 8 * GiB, 16 * MiB, 32 * MiB), 0);
	CHECK_EQ_INT(l.ram_size, 8 * GiB);
	CHECK_EQ_INT(l.low_ram_end, 0xd0000000);
	CHECK_EQ_INT(l.high_ram_size, 8 * GiB - 0xd0000000);
	CHECK_EQ_INT(l.nr_regions, 4);
	check_region(&l.regions[0], 0, 16 * MiB, X86_REGION_RAM);
	check_region(&l.regions[1], 16 * MiB, 32 * MiB, X86_REGION_KERNEL_IMAGE);
	check_region(&l.regions[2], 48 * MiB, 0xd0000000 - 48 * MiB, X86_REGION_RAM);
	check_region(&l.regions[3], 4 * GiB, 8 * GiB - 0xd0000000, X86_REGION_RAM);

	uint64_t total = 0;
	for (unsigned int i = 0; i < l.nr_regions; i++)
		total += l.regions[i].size;
	CHECK_EQ_INT(total, 8 * GiB);
}

static void test_layout_refused(void)
{
	struct x86_layout l;

	CHECK_EQ_INT(x86_layout_init(&l, 1 * MiB, 0, 0), -EINVAL);
	CHECK_EQ_INT(x86_layout_init(&l, 64 * MiB + 1, 0, 0), -EINVAL);
	CHECK_EQ_INT(x86_layout_init(&l, 1ull << 60, 0, 0), -EINVAL);
	CHECK_EQ_INT(x86_layout_init(&l, UINT64_MAX & ~0xfffull, 0, 0), -EINVAL);
	/* the image must stay out of the low MiB, be page-aligned and fit */
	CHECK_EQ_INT(x86_layout_init(&l, 64 * MiB, 0x80000, 1 * MiB), -EINVAL);
	CHECK_EQ_INT(x86_layout_init(&l, 64 * MiB, 16 * MiB + 1, 1 * MiB), -EINVAL);
	CHECK_EQ_INT(x86_layout_init(&l, 64 * MiB, 16 * MiB, 1 * MiB + 1), -EINVAL);
	CHECK_EQ_INT(x86_layout_init(&l, 64 * MiB, 16 * MiB, 64 * MiB), -ENOMEM);
	CHECK_EQ_INT(x86_layout_init(&l, 8 * GiB, 0xcff00000, 2 * MiB), -EINVAL);
	CHECK_EQ_INT(x86_layout_init(&l, 8 * GiB, 16 * MiB, UINT64_MAX & ~0xfffull), -EINVAL);
	CHECK_EQ_INT(x86_layout_init(&l, 8 * GiB, 5 * GiB, 1 * MiB), -EINVAL);
}

static void test_mmio_slots(void)
{
	uint64_t gpa;
	uint32_t irq;

	CHECK_EQ_INT(x86_mmio_slot(0, &gpa, &irq), 0);
	CHECK_EQ_INT(gpa, 0xd0000000);
	CHECK_EQ_INT(irq, 5);
	CHECK_EQ_INT(x86_mmio_slot(10, &gpa, &irq), 0);
	CHECK_EQ_INT(gpa, 0xd000a000);
	CHECK_EQ_INT(irq, 15);
	CHECK_EQ_INT(x86_mmio_slot(11, &gpa, &irq), -ENOSPC);
}

static void check_e820(const struct boot_e820_entry *e, uint64_t addr, uint64_t size,
		       uint32_t type)
{
	CHECK_EQ_INT(e->addr, addr);
	CHECK_EQ_INT(e->size, size);
	CHECK_EQ_INT(e->type, type);
}

static void test_e820(void)
{
	struct x86_layout plain, holed;
	struct x86_e820 a, b;

	CHECK_EQ_INT(x86_layout_init(&plain, 256 * MiB, 0, 0), 0);
	CHECK_EQ_INT(x86_layout_init(&holed, 256 * MiB, 16 * MiB, 20 * MiB), 0);
	x86_e820_build(&plain, &a);
	x86_e820_build(&holed, &b);
	CHECK_EQ_INT(a.nr_entries, 4);
	check_e820(&a.entries[0], 0, 0x9fc00, E820_RAM);
	check_e820(&a.entries[1], 0x9fc00, 0x400, E820_RESERVED);
	check_e820(&a.entries[2], 0xf0000, 0x10000, E820_RESERVED);
	check_e820(&a.entries[3], 1 * MiB, 255 * MiB, E820_RAM);
	/* the kernel image is RAM to the guest: the hole changes nothing */
	CHECK_EQ_INT(b.nr_entries, a.nr_entries);
	CHECK(memcmp(a.entries, b.entries, a.nr_entries * sizeof(a.entries[0])) == 0);

	CHECK_EQ_INT(x86_layout_init(&holed, 6 * GiB, 16 * MiB, 20 * MiB), 0);
	x86_e820_build(&holed, &b);
	CHECK_EQ_INT(b.nr_entries, 5);
	check_e820(&b.entries[3], 1 * MiB, 0xd0000000 - 1 * MiB, E820_RAM);
	check_e820(&b.entries[4], 4 * GiB, 6 * GiB - 0xd0000000, E820_RAM);
}

/* Guest memory for a layout, the image region backed by host memory of our own. */
static uint8_t kernel_image[2 * MiB] __attribute__((aligned(4096)));

static void map_layout(struct guest_memory *gm, const struct x86_layout *l)
{
	memset(gm, 0, sizeof(*gm));
	for (unsigned int i = 0; i < l->nr_regions; i++) {
		const struct x86_region *r = &l->regions[i];
		if (r->type == X86_REGION_KERNEL_IMAGE)
			CHECK_EQ_INT(gm_add_host(gm, r->gpa, r->size, kernel_image), 0);
		else
			CHECK_EQ_INT(gm_add_anon(gm, r->gpa, r->size), 0);
	}
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void test_zero_page(void)
{
	static const char cmdline[] = "console=hvc0 quiet";
	struct x86_layout l;
	struct guest_memory gm;

	CHECK_EQ_INT(x86_layout_init(&l, 64 * MiB, 16 * MiB, sizeof(kernel_image)), 0);
	map_layout(&gm, &l);
	CHECK_EQ_INT(gm_write(&gm, X86_CMDLINE_ADDR, cmdline, sizeof(cmdline)), 0);
	struct x86_boot_info info = {
		.cmdline_gpa = X86_CMDLINE_ADDR,
		.cmdline_len = sizeof(cmdline) - 1,
		.initramfs_gpa = 60 * MiB,
		.initramfs_size = 3 * MiB + 5,
	};
	CHECK_EQ_INT(x86_write_zero_page(&gm, &l, &info), 0);

	/* read back by the offsets of Documentation/arch/x86/zero-page.rst and boot.rst */
	const uint8_t *zp = gm_ptr(&gm, X86_ZERO_PAGE_ADDR, 4096);
	CHECK_EQ_INT(zp[0x1fe] | zp[0x1ff] << 8, 0xaa55);
	CHECK(memcmp(zp + 0x202, "HdrS", 4) == 0);
	CHECK_EQ_INT(zp[0x210], 0xff);
	CHECK_EQ_INT(zp[0x211], LOADED_HIGH);
	CHECK_EQ_INT(le32(zp + 0x228), X86_CMDLINE_ADDR);
	CHECK_EQ_INT(le32(zp + 0x238), sizeof(cmdline) - 1);
	CHECK_EQ_INT(le32(zp + 0x0c8), 0);
	CHECK_EQ_INT(le32(zp + 0x218), 60 * MiB);
	CHECK_EQ_INT(le32(zp + 0x21c), 3 * MiB + 5);
	CHECK_EQ_INT(le32(zp + 0x0c0), 0);
	CHECK_EQ_INT(le32(zp + 0x0c4), 0);
	CHECK_EQ_INT(zp[0x1e8], 4);
	const uint8_t *e820 = zp + 0x2d0;
	CHECK_EQ_INT(le64(e820 + 3 * 20), 1 * MiB);
	CHECK_EQ_INT(le64(e820 + 3 * 20 + 8), 63 * MiB);
	CHECK_EQ_INT(le32(e820 + 3 * 20 + 16), E820_RAM);
	CHECK_EQ_INT(le64(e820 + 4 * 20 + 8), 0);

	/* no initramfs: the ramdisk fields stay 0 */
	info.initramfs_size = 0;
	CHECK_EQ_INT(x86_write_zero_page(&gm, &l, &info), 0);
	CHECK_EQ_INT(le32(zp + 0x218), 0);
	CHECK_EQ_INT(le32(zp + 0x21c), 0);
	gm_destroy(&gm);
}

static void test_zero_page_refused(void)
{
	char long_cmdline[X86_CMDLINE_SIZE + 1];
	struct x86_layout l;
	struct guest_memory gm;

	CHECK_EQ_INT(x86_layout_init(&l, 64 * MiB, 0, 0), 0);
	map_layout(&gm, &l);
	memset(long_cmdline, 'x', sizeof(long_cmdline) - 1);
	long_cmdline[sizeof(long_cmdline) - 1] = '\0';
	CHECK_EQ_INT(gm_write(&gm, X86_CMDLINE_ADDR, long_cmdline, sizeof(long_cmdline)), 0);
	struct x86_boot_info info = { .cmdline_gpa = X86_CMDLINE_ADDR, .cmdline_len = X86_CMDLINE_SIZE };

	CHECK_EQ_INT(x86_write_zero_page(&gm, &l, &info), -E2BIG);
	info.cmdline_len = X86_CMDLINE_SIZE - 1;
	CHECK_EQ_INT(x86_write_zero_page(&gm, &l, &info), -EFAULT); /* no NUL there */
	info.cmdline_len = 10;
	info.cmdline_gpa = 64 * MiB - 5;
	CHECK_EQ_INT(x86_write_zero_page(&gm, &l, &info), -EFAULT);
	info.cmdline_gpa = X86_CMDLINE_ADDR + X86_CMDLINE_SIZE - 10; /* its NUL */
	CHECK_EQ_INT(x86_write_zero_page(&gm, &l, &info), 0);
	info.initramfs_gpa = 63 * MiB;
	info.initramfs_size = 2 * MiB;
	CHECK_EQ_INT(x86_write_zero_page(&gm, &l, &info), -EFAULT);
	gm_destroy(&gm);
}

/* Addresses above 4 GiB reach the kernel through the ext_ fields. */
static void test_zero_page_high(void)
{
	static const char cmdline[] = "quiet";
	struct x86_layout l;
	struct guest_memory gm = { 0 };

	CHECK_EQ_INT(x86_layout_init(&l, 8 * GiB, 0, 0), 0);
	CHECK_EQ_INT(gm_add_anon(&gm, 0, 1 * MiB), 0);
	CHECK_EQ_INT(gm_add_anon(&gm, 5 * GiB, 4 * MiB), 0);
	CHECK_EQ_INT(gm_write(&gm, 5 * GiB, cmdline, sizeof(cmdline)), 0);
	struct x86_boot_info info = {
		.cmdline_gpa = 5 * GiB,
		.cmdline_len = sizeof(cmdline) - 1,
		.initramfs_gpa = 5 * GiB + 1 * MiB,
		.initramfs_size = 2 * MiB,
	};
	CHECK_EQ_INT(x86_write_zero_page(&gm, &l, &info), 0);
	const uint8_t *zp = gm_ptr(&gm, X86_ZERO_PAGE_ADDR, 4096);
	CHECK_EQ_INT(le32(zp + 0x228), 1 * GiB);
	CHECK_EQ_INT(le32(zp + 0x0c8), 1);
	CHECK_EQ_INT(le32(zp + 0x218), 1 * GiB + 1 * MiB);
	CHECK_EQ_INT(le32(zp + 0x0c0), 1);
	CHECK_EQ_INT(zp[0x1e8], 5);
	gm_destroy(&gm);
}

static void test_initramfs_addr(void)
{
	struct x86_layout l;
	uint64_t gpa;
	const uint64_t size = 10 * MiB + 100;

	CHECK_EQ_INT(x86_layout_init(&l, 512 * MiB, 16 * MiB, 32 * MiB), 0);
	CHECK_EQ_INT(x86_initramfs_addr(&l, size, 48 * MiB, 0, &gpa), 0);
	CHECK_EQ_INT(gpa % 4096, 0);
	CHECK(gpa + size <= 512 * MiB);
	CHECK(gpa + size > 512 * MiB - 4096);

	/* the kernel header's limit is the last byte it may use */
	CHECK_EQ_INT(x86_initramfs_addr(&l, size, 48 * MiB, 256 * MiB - 1, &gpa), 0);
	CHECK(gpa + size <= 256 * MiB);
	CHECK(gpa + size > 256 * MiB - 4096);

	/* with much RAM, still below the gap */
	CHECK_EQ_INT(x86_layout_init(&l, 8 * GiB, 16 * MiB, 32 * MiB), 0);
	CHECK_EQ_INT(x86_initramfs_addr(&l, size, 48 * MiB, 0, &gpa), 0);
	CHECK(gpa + size <= 0xd0000000);
	CHECK(gpa + size > 0xd0000000 - 4096);

	/* no room above the kernel: below the image if min_gpa allows, never in it */
	CHECK_EQ_INT(x86_layout_init(&l, 52 * MiB, 16 * MiB, 32 * MiB), 0);
	CHECK_EQ_INT(x86_initramfs_addr(&l, 8 * MiB, 48 * MiB, 0, &gpa), -ENOMEM);
	CHECK_EQ_INT(x86_initramfs_addr(&l, 8 * MiB, 0, 0, &gpa), 0);
	CHECK_EQ_INT(gpa, 8 * MiB);
	CHECK_EQ_INT(x86_initramfs_addr(&l, 3 * MiB, 0, 0, &gpa), 0);
	CHECK_EQ_INT(gpa, 49 * MiB);
	CHECK_EQ_INT(x86_initramfs_addr(&l, 17 * MiB, 0, 0, &gpa), -ENOMEM);
	CHECK_EQ_INT(x86_initramfs_addr(&l, 0, 0, 0, &gpa), -EINVAL);
	CHECK_EQ_INT(x86_initramfs_addr(&l, UINT64_MAX, 0, 0, &gpa), -ENOMEM);
}

int main(void)
{
	test_layout_small();
	test_layout_large();
	test_layout_refused();
	test_mmio_slots();
	test_e820();
	test_zero_page();
	test_zero_page_refused();
	test_zero_page_high();
	test_initramfs_addr();
	return CHECK_DONE();
}
