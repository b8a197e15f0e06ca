/* The guest init's configuration file: OCI and image-config fields, their
 * precedence, and the documents that must end in the setup-failure path;
 * and TSI's settings (the kernel's switch, the host's name servers, the
 * resolv.conf written only where the root has none). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "test_init_check.h"
#include "config.h"
#include "tsi_net.h"

static char err[512];

static int parse(const char *json, struct init_config *cfg)
{
	err[0] = '\0';
	return config_parse(json, strlen(json), cfg, err, sizeof(err));
}

static void test_oci_process(void)
{
	struct init_config cfg;
	CHECK_EQ_INT(parse("{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"/bin/echo\",\"hi\"],"
			   "\"env\":[\"A=1\",\"B=x=y\"],\"cwd\":\"/srv\",\"terminal\":true}}",
			   &cfg),
		     0);
	CHECK(strv_is(&cfg.argv, (const char *[]){ "/bin/echo", "hi", NULL }));
	CHECK(strv_is(&cfg.env, (const char *[]){ "A=1", "B=x=y", NULL }));
	CHECK(cfg.cwd && strcmp(cfg.cwd, "/srv") == 0);
	CHECK_EQ_INT(cfg.mount_count, 0);
	config_free(&cfg);
}

static void test_image_config(void)
{
	struct init_config cfg;
	/* Entrypoint then Cmd, at the top level */
	CHECK_EQ_INT(parse("{\"Entrypoint\":[\"/entry\",\"-v\"],\"Cmd\":[\"run\"],"
			   "\"Env\":[\"PATH=/bin\"],\"WorkingDir\":\"/app\"}",
			   &cfg),
		     0);
	CHECK(strv_is(&cfg.argv, (const char *[]){ "/entry", "-v", "run", NULL }));
	CHECK(strv_is(&cfg.env, (const char *[]){ "PATH=/bin", NULL }));
	CHECK(cfg.cwd && strcmp(cfg.cwd, "/app") == 0);
	config_free(&cfg);

	/* nested under "config" as image configs have them; null and "" are absent */
	CHECK_EQ_INT(parse("{\"architecture\":\"amd64\",\"config\":{\"Entrypoint\":null,"
			   "\"Cmd\":[\"/bin/bash\"],\"Env\":null,\"WorkingDir\":\"\"}}",
			   &cfg),
		     0);
	CHECK(strv_is(&cfg.argv, (const char *[]){ "/bin/bash", NULL }));
	CHECK_EQ_INT(cfg.env.count, 0);
	CHECK(cfg.cwd == NULL);
	config_free(&cfg);

	/* an Entrypoint alone */
	CHECK_EQ_INT(parse("{\"config\":{\"Entrypoint\":[\"/e\"]}}", &cfg), 0);
	CHECK(strv_is(&cfg.argv, (const char *[]){ "/e", NULL }));
	config_free(&cfg);
}

static void test_precedence(void)
{
	struct init_config cfg;
	/* each process.* field wins over its image-config counterpart */
	CHECK_EQ_INT(parse("{\"process\":{\"args\":[\"/oci\"],\"env\":[\"O=1\"],\"cwd\":\"/o\"},"
			   "\"Entrypoint\":[\"/img\"],\"Cmd\":[\"c\"],\"Env\":[\"I=1\"],"
			   "\"WorkingDir\":\"/i\"}",
			   &cfg),
		     0);
	CHECK(strv_is(&cfg.argv, (const char *[]){ "/oci", NULL }));
	CHECK(strv_is(&cfg.env, (const char *[]){ "O=1", NULL }));
	CHECK(strcmp(cfg.cwd, "/o") == 0);
	config_free(&cfg);

	/* fields the process object lacks come from the image config */
	CHECK_EQ_INT(parse("{\"process\":{\"env\":[\"O=1\"]},\"config\":{\"Cmd\":[\"/c\"],"
			   "\"WorkingDir\":\"/i\"}}",
			   &cfg),
		     0);
	CHECK(strv_is(&cfg.argv, (const char *[]){ "/c", NULL }));
	CHECK(strv_is(&cfg.env, (const char *[]){ "O=1", NULL }));
	CHECK(strcmp(cfg.cwd, "/i") == 0);
	config_free(&cfg);

	/* nothing at all: no command, the init falls back to its default */
	CHECK_EQ_INT(parse(" {} \n", &cfg), 0);
	CHECK_EQ_INT(cfg.argv.count, 0);
	CHECK(cfg.argv.items == NULL && cfg.cwd == NULL);
	config_free(&cfg);
}

static void test_tmpfs_mounts(void)
{
	struct init_config cfg;
	CHECK_EQ_INT(parse("{\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\","
			   "\"source\":\"proc\"},"
			   "{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
			   "\"options\":[\"nosuid\",\"mode=755\",\"size=64m\"]},"
			   "{\"destination\":\"/scratch/a\",\"type\":\"tmpfs\"},"
			   "{\"destination\":\"/b\",\"type\":\"bind\",\"source\":\"/x\"}]}",
			   &cfg),
		     0);
	CHECK_EQ_INT(cfg.mount_count, 2);
	CHECK(strcmp(cfg.mounts[0].destination, "/run") == 0);
	CHECK(strcmp(cfg.mounts[0].source, "tmpfs") == 0);
	CHECK(strv_is(&cfg.mounts[0].options,
		      (const char *[]){ "nosuid", "mode=755", "size=64m", NULL }));
	CHECK(strcmp(cfg.mounts[1].destination, "/scratch/a") == 0);
	CHECK(strcmp(cfg.mounts[1].source, "tmpfs") == 0);
	CHECK_EQ_INT(cfg.mounts[1].options.count, 0);
	config_free(&cfg);
}

static void test_rejected(void)
{
	static const char *const documents[] = {
		"",
		"{",
		"{\"process\":{\"args\":[\"/bin/sh\"]}",
		"{\"process\":{\"args\":[\"/bin/sh\"]}} trailing",
		"{\"process\":{\"args\":[\"/bin/sh\"]}}{}",
		"not json",
		"{\"Cmd\":[\"a\",]}",
		"[\"/bin/sh\"]",
		"42",
		"{\"process\":[]}",
		"{\"process\":{\"args\":\"/bin/sh\"}}",
		"{\"process\":{\"args\":[\"/bin/sh\",1]}}",
		"{\"process\":{\"env\":[\"NOEQUALS\"]}}",
		"{\"process\":{\"cwd\":7}}",
		"{\"Cmd\":{\"a\":1}}",
		"{\"Env\":[null]}",
		"{\"config\":[]}",
		"{\"config\":{\"Entrypoint\":\"/e\"}}",
		"{\"mounts\":{}}",
		"{\"mounts\":[1]}",
		"{\"mounts\":[{\"type\":5}]}",
		"{\"mounts\":[{\"type\":\"tmpfs\"}]}",
		"{\"mounts\":[{\"type\":\"tmpfs\",\"destination\":\"rel\"}]}",
		"{\"mounts\":[{\"type\":\"tmpfs\",\"destination\":\"/t\",\"options\":\"ro\"}]}",
		"{\"mounts\":[{\"type\":\"tmpfs\",\"destination\":\"/t\",\"source\":[]}]}",
	};
	for (size_t i = 0; i < sizeof(documents) / sizeof(documents[0]); i++) {
		struct init_config cfg;
		int ret = parse(documents[i], &cfg);
		CHECK_EQ_INT(ret, -1);
		if (ret != -1)
			fprintf(stderr, "  accepted: %s\n", documents[i]);
		CHECK(err[0] != '\0');
		/* a rejected document leaves nothing behind */
		CHECK(cfg.argv.items == NULL && cfg.env.items == NULL && cfg.mounts == NULL);
	}

	/* the length bounds the document: a NUL inside is not its end */
	struct init_config cfg;
	CHECK_EQ_INT(config_parse("{}\0{}", 5, &cfg, err, sizeof(err)), -1);
}

static void test_oversized(void)
{
	/* a valid document, but over the limit */
	size_t len = CONFIG_MAX_SIZE + 1;
	char *json = malloc(len + 1);
	memset(json, ' ', len);
	json[0] = '{';
	json[len - 1] = '}';
	json[len] = '\0';
	struct init_config cfg;
	CHECK_EQ_INT(config_parse(json, len, &cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, "larger") != NULL);
	/* one byte less is fine */
	json[len - 2] = '}';
	CHECK_EQ_INT(config_parse(json, len - 1, &cfg, err, sizeof(err)), 0);
	config_free(&cfg);
	free(json);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ_INT(fwrite(text, 1, len, f), len);
		fclose(f);
	}
}

static void test_load(void)
{
	char dir[] = "/tmp/test-init-config-XXXXXX", path[64], missing[64];
	struct init_config cfg;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	snprintf(missing, sizeof(missing), "%s/none.json", dir);

	/* the default file may be absent; a file named by KRUN_CONFIG may not */
	CHECK_EQ_INT(config_load(missing, false, &cfg, err, sizeof(err)), 1);
	CHECK_EQ_INT(config_load(missing, true, &cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, missing) != NULL);

	const char *doc = "{\"process\":{\"args\":[\"/bin/true\"]}}\n";
	write_file(path, doc, strlen(doc));
	CHECK_EQ_INT(config_load(path, true, &cfg, err, sizeof(err)), 0);
	CHECK(strv_is(&cfg.argv, (const char *[]){ "/bin/true", NULL }));
	config_free(&cfg);

	write_file(path, "{\"process\":", 11);
	CHECK_EQ_INT(config_load(path, false, &cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, path) != NULL && strstr(err, "malformed") != NULL);

	/* oversized files are refused without reading them whole */
	size_t big = 3 * CONFIG_MAX_SIZE;
	char *text = malloc(big);
	memset(text, ' ', big);
	write_file(path, text, big);
	free(text);
	CHECK_EQ_INT(config_load(path, false, &cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, "larger") != NULL);

	/* a directory cannot be read */
	CHECK_EQ_INT(config_load(dir, false, &cfg, err, sizeof(err)), -1);

	unlink(path);
	rmdir(dir);
}

static void test_mount_options(void)
{
	unsigned long flags;
	char data[64];
	CHECK_EQ_INT(mount_options_parse((char *[]){ "nosuid", "nodev", "mode=1777",
						     "size=1g", "ro", "rw", "noexec", NULL },
					 &flags, data, sizeof(data)),
		     0);
	CHECK_EQ_INT(flags, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	CHECK(strcmp(data, "mode=1777,size=1g") == 0);

	CHECK_EQ_INT(mount_options_parse(NULL, &flags, data, sizeof(data)), 0);
	CHECK_EQ_INT(flags, 0);
	CHECK(data[0] == '\0');

	CHECK_EQ_INT(mount_options_parse((char *[]){ "strictatime", "ro", NULL }, &flags, data,
					 sizeof(data)),
		     0);
	CHECK_EQ_INT(flags, MS_STRICTATIME | MS_RDONLY);

	/* filesystem options that do not fit are refused, not cut */
	CHECK_EQ_INT(mount_options_parse((char *[]){ "size=1g", "mode=0700", NULL }, &flags, data,
					 12),
		     -1);
	CHECK_EQ_INT(mount_options_parse((char *[]){ "size=1g", NULL }, &flags, data, 8), 0);
	CHECK_EQ_INT(mount_options_parse((char *[]){ "size=1g", NULL }, &flags, data, 7), -1);
}

/* TSI's settings (tsi_net.h): the kernel switch's words, KRUN_TSI_DNS's
 * addresses, and resolv.conf written only where the root has none. */
static char *tmp_file(const char *dir, const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (text) {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		fputs(text, f);
		fclose(f);
	}
	return path;
}

static void read_back(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t len = 0;
	CHECK(f != NULL);
	if (f) {
		len = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[len] = '\0';
}

static void test_tsi_net(void)
{
	char dir[] = "/tmp/test-init-tsi-XXXXXX", addrs[TSI_NET_DNS_MAX][INET6_ADDRSTRLEN];
	char buf[512], path[256];

	CHECK(mkdtemp(dir) != NULL);
	CHECK(tsi_net_inet(tmp_file(dir, "hijack", "inet\n")));
	CHECK(tsi_net_inet(tmp_file(dir, "hijack", "inet,unix\n")));
	CHECK(tsi_net_inet(tmp_file(dir, "hijack", "unix,inet")));
	CHECK(!tsi_net_inet(tmp_file(dir, "hijack", "unix\n")));
	CHECK(!tsi_net_inet(tmp_file(dir, "hijack", "\n")));
	CHECK(!tsi_net_inet(tmp_file(dir, "hijack", "inet6\n")));
	CHECK(!tsi_net_inet(tmp_file(dir, "none", NULL))); /* a kernel without TSI */
	unlink(tmp_file(dir, "hijack", NULL));

	CHECK_EQ_INT(tsi_net_dns_parse("127.0.0.53", addrs, TSI_NET_DNS_MAX), 1);
	CHECK(strcmp(addrs[0], "127.0.0.53") == 0);
	CHECK_EQ_INT(tsi_net_dns_parse("192.0.2.1,2001:db8::1,10.0.0.1", addrs, TSI_NET_DNS_MAX), 3);
	CHECK(strcmp(addrs[1], "2001:db8::1") == 0);
	CHECK_EQ_INT(tsi_net_dns_parse("1.1.1.1,1.0.0.1,8.8.8.8,8.8.4.4", addrs, TSI_NET_DNS_MAX), -1);
	CHECK_EQ_INT(tsi_net_dns_parse("1.1.1.1,", addrs, TSI_NET_DNS_MAX), -1);
	CHECK_EQ_INT(tsi_net_dns_parse("resolver.example", addrs, TSI_NET_DNS_MAX), -1);
	CHECK_EQ_INT(tsi_net_dns_parse("fe80::1%eth0", addrs, TSI_NET_DNS_MAX), -1);
	CHECK_EQ_INT(tsi_net_dns_parse("1.1.1.1\nsearch evil", addrs, TSI_NET_DNS_MAX), -1);

	/* none there: written */
	CHECK_EQ_INT(tsi_net_dns_parse("192.0.2.1,2001:db8::1", addrs, TSI_NET_DNS_MAX), 2);
	snprintf(path, sizeof(path), "%s", tmp_file(dir, "resolv.conf", NULL));
	CHECK_EQ_INT(tsi_net_write_resolv_conf(path, addrs, 2), 0);
	read_back(path, buf, sizeof(buf));
	CHECK(strcmp(buf, "# the host's name servers (TSI), written by init.krun\n"
			  "nameserver 192.0.2.1\nnameserver 2001:db8::1\n") == 0);
	/* the user's file stays, and so does a symlink, even a dangling one */
	tmp_file(dir, "resolv.conf", "nameserver 10.9.9.9\n");
	CHECK_EQ_INT(tsi_net_write_resolv_conf(path, addrs, 2), 0);
	read_back(path, buf, sizeof(buf));
	CHECK(strcmp(buf, "nameserver 10.9.9.9\n") == 0);
	unlink(path);
	CHECK_EQ_INT(symlink("/nonexistent/stub-resolv.conf", path), 0);
	CHECK_EQ_INT(tsi_net_write_resolv_conf(path, addrs, 2), 0);
	CHECK_EQ_INT(access(path, F_OK), -1);
	unlink(path);
	/* no /etc: said, not fatal */
	snprintf(path, sizeof(path), "%s/etc/resolv.conf", dir);
	CHECK_EQ_INT(tsi_net_write_resolv_conf(path, addrs, 2), -ENOENT);
	CHECK_EQ_INT(rmdir(dir), 0);
}

int main(void)
{
	test_oci_process();
	test_image_config();
	test_precedence();
	test_tmpfs_mounts();
	test_rejected();
	test_oversized();
	test_load();
	test_mount_options();
	test_tsi_net();
	return CHECK_DONE();
}
