/* The guest's side of the disk boot tests (static, run by the init):
 *   write   vda's and vdb's serials; vda (ext4, made on the host) mounted,
 *           files written; 16 MiB written, removed and trimmed (FITRIM:
 *           the device's DISCARD); vdb, a read-only disk, refusing to be
 *           opened for writing while it reads
 *   verify  vda mounted again in a second VM: the files read back
 *   root    run from a root on a disk: / is /dev/vda, and a file written
 *           there
 * Prints what it saw; exits 0 when all went as it should. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#define HELLO "hello from the guest's disk\n"
#define BIG_BYTES (4u << 20)
#define TRASH_BYTES (16u << 20)

static int failures;

static void bad(const char *what)
{
	printf("diskguest: FAIL %s: %s\n", what, strerror(errno));
	failures++;
}

static void print_serial(const char *disk)
{
	char path[64], serial[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/serial", disk);
	if (!(f = fopen(path, "r")) || !fgets(serial, sizeof(serial), f)) {
		bad(path);
	} else {
		serial[strcspn(serial, "\n")] = '\0';
		printf("diskguest: %s serial %s\n", disk, serial);
	}
	if (f)
		fclose(f);
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 31 + i / 4096);
}

/* len bytes of pattern (or zeroes) to path, fsync'd. */
static int write_file(const char *path, size_t len, int use_pattern)
{
	static unsigned char buf[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = use_pattern ? pattern(off + i) : 0x5a;
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	}
	if (fsync(fd)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int check_big(const char *path)
{
	static unsigned char buf[65536];
	int fd = open(path, O_RDONLY);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(off + (size_t)i)) {
				close(fd);
				errno = EILSEQ;
				return -1;
			}
		off += (size_t)n;
	}
	close(fd);
	if (off != BIG_BYTES)
		return errno = EMSGSIZE, -1;
	return 0;
}

static int mount_vda(void)
{
	mkdir("/mnt", 0755);
	if (mount("/dev/vda", "/mnt", "ext4", 0, NULL)) {
		bad("mount /dev/vda");
		return -1;
	}
	return 0;
}

static void write_mode(void)
{
	struct fstrim_range range = { .len = UINT64_MAX };
	unsigned char sector[512];
	int fd;

	print_serial("vda");
	print_serial("vdb");
	if (mount_vda())
		return;
	if (write_file("/mnt/hello.txt", 0, 0) || (fd = open("/mnt/hello.txt", O_WRONLY)) < 0 ||
	    write(fd, HELLO, strlen(HELLO)) != (ssize_t)strlen(HELLO) || fsync(fd) || close(fd))
		bad("write hello.txt");
	if (write_file("/mnt/big.bin", BIG_BYTES, 1))
		bad("write big.bin");
	if (write_file("/mnt/trash.bin", TRASH_BYTES, 0) || unlink("/mnt/trash.bin"))
		bad("write and remove trash.bin");
	sync();
	if ((fd = open("/mnt", O_RDONLY | O_DIRECTORY)) < 0 || ioctl(fd, FITRIM, &range))
		bad("FITRIM on /mnt");
	else
		printf("diskguest: trimmed %llu bytes\n", (unsigned long long)range.len);
	if (fd >= 0)
		close(fd);
	if (umount("/mnt"))
		bad("umount /mnt");
	else
		printf("diskguest: files written\n");

	/* the read-only disk reads, and refuses writers */
	if ((fd = open("/dev/vdb", O_RDONLY)) < 0 || read(fd, sector, sizeof(sector)) != 512)
		bad("read /dev/vdb");
	else
		printf("diskguest: vdb reads \"%.8s\"\n", (const char *)sector);
	if (fd >= 0)
		close(fd);
	fd = open("/dev/vdb", O_WRONLY);
	if (fd >= 0 && write(fd, sector, sizeof(sector)) == 512 && fsync(fd) == 0) {
		printf("diskguest: FAIL vdb took a write\n");
		failures++;
	} else {
		printf("diskguest: vdb refused a write: %s\n", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
}

static void verify_mode(void)
{
	char buf[128] = "";
	int fd;

	if (mount_vda())
		return;
	if ((fd = open("/mnt/hello.txt", O_RDONLY)) < 0 || read(fd, buf, sizeof(buf) - 1) < 0 ||
	    strcmp(buf, HELLO))
		bad("read hello.txt back");
	if (fd >= 0)
		close(fd);
	if (check_big("/mnt/big.bin"))
		bad("read big.bin back");
	if (access("/mnt/trash.bin", F_OK) == 0) {
		printf("diskguest: FAIL trash.bin is back\n");
		failures++;
	}
	umount("/mnt");
	if (!failures)
		printf("diskguest: verified\n");
}

static void root_mode(void)
{
	char line[256];
	FILE *f = fopen("/proc/mounts", "r");
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "/dev/vda / ext4 ", 16) == 0)
			found = 1;
	if (f)
		fclose(f);
	if (!found) {
		printf("diskguest: FAIL / is not /dev/vda's ext4\n");
		failures++;
	} else {
		printf("diskguest: / is /dev/vda\n");
	}
	if (write_file("/written-in-guest.bin", BIG_BYTES, 1))
		bad("write /written-in-guest.bin");
	print_serial("vda");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: diskguest write|verify|root\n");
		return 2;
	}
	if (strcmp(argv[1], "write") == 0)
		write_mode();
	else if (strcmp(argv[1], "verify") == 0)
		verify_mode();
	else if (strcmp(argv[1], "root") == 0)
		root_mode();
	sync();
	printf("diskguest: %s, %d failures\n", argv[1], failures);
	return failures ? 1 : 0;
}
