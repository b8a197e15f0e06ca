#include "devices/console/stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/console/console.h"
#include "guest_abi.h"

struct stdio_console {
	struct vmm_device dev; /* first: the ops cast it back */
	const struct vmm_device_env *env;
	unsigned int nr_consoles; /* set up, or in part (console_destroy undoes it) */
	unsigned int nr_plugged;  /* of those, the ones on an MMIO slot */
	struct console consoles[2]; /* the console, then the named ports' one */
};

static struct stdio_console *stdio_console_of(const struct vmm_device *dev)
{
	return (struct stdio_console *)dev;
}

unsigned int stdio_console_count(const struct vm_config *cfg)
{
	return !cfg->implicit_console_disabled + cfg->nr_consoles;
}

static int add_console(struct stdio_console *sc, const struct console_port_config *ports,
		       unsigned int nr_ports, int term_fd)
{
	struct console *c = &sc->consoles[sc->nr_consoles++];
	int ret = console_init(c, ports, nr_ports, term_fd, sc->env->loop);

	if (ret < 0) /* said by console_init */
		return ret;
	if ((ret = sc->env->plug_virtio(sc->env->vmm, &c->vdev)) < 0)
		return ret;
	sc->nr_plugged++;
	return 0;
}

/* A console, and a second one with a named port for each of the fds that
 * is not a terminal. How many named ports, or -errno. */
static int add_stdio(struct stdio_console *sc, int in, int out, int err)
{
	struct console_port_config console, named[3];
	int term_fd, ret;
	unsigned int nr_named = console_stdio_ports(in, out, err, &console, named, &term_fd);

	if ((ret = add_console(sc, &console, 1, term_fd)) < 0)
		return ret;
	if (nr_named && (ret = add_console(sc, named, nr_named, -1)) < 0)
		return ret;
	return nr_named;
}

/* The console's output alone, into the file at path. */
static int add_output_file(struct stdio_console *sc, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		int err = errno;
		LOG_ERR("cannot open the console output file %s: %s", path, strerror(err));
		return -err;
	}
	const struct console_port_config console = { .in_fd = -1, .out_fd = fd };
	int ret = add_console(sc, &console, 1, -1);
	close(fd); /* the console writes its own duplicate */
	return ret;
}

static void on_resize(void *opaque)
{
	struct stdio_console *sc = opaque;

	for (unsigned int i = 0; i < sc->nr_consoles; i++)
		console_resized(&sc->consoles[i]);
}

static void on_interrupt(void *opaque)
{
	struct stdio_console *sc = opaque;

	console_interrupt(&sc->consoles[0]);
}

/* The consoles of device index; how many named ports device 0 has, or
 * -errno. */
static int add_consoles(struct stdio_console *sc, const struct vm_config *cfg, unsigned int index)
{
	const struct vmm_device_env *env = sc->env;
	bool implicit = !cfg->implicit_console_disabled;
	int nr_named;

	if (implicit && index == 0 && cfg->console_output)
		return add_output_file(sc, cfg->console_output);
	if (implicit && index == 0) {
		nr_named = add_stdio(sc, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO);
		if (nr_named >= 0 && !isatty(STDIN_FILENO)) {
			int ret = env->watch_signal(env->vmm, SIGINT, on_interrupt, sc);
			if (ret < 0)
				return ret;
		}
		return nr_named;
	}
	const struct vm_console *vc = &cfg->consoles[index - implicit];
	return add_stdio(sc, vc->in_fd, vc->out_fd, vc->err_fd);
}

static const struct vmm_device_ops stdio_console_ops;

int stdio_console_create(const struct vm_config *cfg, unsigned int index, int host_fd,
			 const struct vmm_device_env *env, struct vmm_device **dev)
{
	struct stdio_console *sc = calloc(1, sizeof(*sc));

	(void)host_fd; /* -1: the kind opens nothing before KVM */
	if (!sc) {
		LOG_ERR("cannot allocate console device %u: %s", index, strerror(ENOMEM));
		return -ENOMEM;
	}
	sc->dev.ops = &stdio_console_ops;
	sc->env = env;
	int ret = add_consoles(sc, cfg, index);
	if (ret > 0 && index == 0) {
		char count[12];
		snprintf(count, sizeof(count), "%d", ret);
		ret = env->add_guest_env(env->vmm, KRUN_ENV_STDIO_PORTS, count);
	}
	if (ret >= 0 && sc->consoles[0].term_fd >= 0)
		ret = env->watch_signal(env->vmm, SIGWINCH, on_resize, sc);
	if (ret < 0) {
		stdio_console_ops.destroy(&sc->dev);
		return ret;
	}
	*dev = &sc->dev;
	return 0;
}

static void stdio_console_flush(struct vmm_device *dev)
{
	struct stdio_console *sc = stdio_console_of(dev);

	for (unsigned int i = 0; i < sc->nr_consoles; i++)
		console_flush(&sc->consoles[i]);
}

static void stdio_console_release_host(struct vmm_device *dev)
{
	struct stdio_console *sc = stdio_console_of(dev);

	for (unsigned int i = 0; i < sc->nr_consoles; i++)
		console_restore(&sc->consoles[i]);
}

/* What went through each port: a workload whose output seems lost, or a
 * reader too slow for it, shows here. */
static void stdio_console_log_stats(const struct vmm_device *dev)
{
	const struct stdio_console *sc = stdio_console_of(dev);
	char ports[256] = ""; /* 4 ports at most, each under 60 characters */
	size_t len = 0;
	uint64_t errors = 0, bad_control = 0;

	for (unsigned int i = 0; i < sc->nr_consoles; i++) {
		const struct console *c = &sc->consoles[i];
		bad_control += c->bad_control;
		for (unsigned int p = 0; p < c->nr_ports && len < sizeof(ports); p++) {
			const struct console_port_counters *n = &c->ports[p].counters;
			errors += n->output_errors;
			len += snprintf(ports + len, sizeof(ports) - len, "%s%s %llu/%llu",
					len ? ", " : "",
					c->ports[p].name[0] ? c->ports[p].name : "console",
					(unsigned long long)n->bytes_out, (unsigned long long)n->bytes_in);
		}
	}
	LOG_INF("console %u: bytes out/in %s; %llu output errors, %llu control messages ignored",
		dev->index, ports, (unsigned long long)errors, (unsigned long long)bad_control);
}

static void stdio_console_destroy(struct vmm_device *dev)
{
	struct stdio_console *sc = stdio_console_of(dev);

	for (unsigned int i = sc->nr_consoles; i-- > 0;) {
		if (i < sc->nr_plugged)
			sc->env->unplug_virtio(sc->env->vmm, &sc->consoles[i].vdev);
		console_destroy(&sc->consoles[i]);
	}
	free(sc);
}

static const struct vmm_device_ops stdio_console_ops = {
	.flush = stdio_console_flush,
	.release_host = stdio_console_release_host,
	.log_stats = stdio_console_log_stats,
	.destroy = stdio_console_destroy,
};
