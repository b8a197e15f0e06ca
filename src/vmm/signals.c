/* Process signals a device asked for (SIGWINCH, SIGINT for the consoles),
 * read through one signalfd in the event loop. They are blocked on the
 * builder's thread, which starts every other, so that only the signalfd
 * sees them, and unblocked when the VM is torn down: the caller gets its
 * thread back as it was. Watches are added on the builder's thread before
 * the loop runs; handlers run on the loop's thread. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/log.h"
#include "vmm/vm.h"

static void on_signal(void *opaque, uint32_t events)
{
	struct vm_signals *s = opaque;
	struct signalfd_siginfo info;
	(void)events;
	while (read(s->fd, &info, sizeof(info)) == sizeof(info)) {
		for (unsigned int i = 0; i < s->nr_watches; i++) {
			if (s->watches[i].signo == (int)info.ssi_signo)
				s->watches[i].fn(s->watches[i].opaque);
		}
	}
}

int vm_watch_signal(void *opaque, int signo, void (*fn)(void *opaque), void *fn_opaque)
{
	struct vm *vm = opaque;
	struct vm_signals *s = &vm->signals;
	bool first = s->fd < 0;
	sigset_t one;
	int ret;

	if (s->nr_watches == VM_MAX_SIGNAL_WATCHES) {
		LOG_ERR("more than %d signal watches", VM_MAX_SIGNAL_WATCHES);
		return -ENOSPC;
	}
	sigemptyset(&one);
	sigaddset(&one, signo);
	pthread_sigmask(SIG_BLOCK, &one, s->blocked ? NULL : &s->saved_mask);
	s->blocked = true;
	sigaddset(&s->watched, signo);
	/* A new signalfd, or the one there told of one more signal. */
	int fd = signalfd(s->fd, &s->watched, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		LOG_ERR("cannot watch signal %d: %s", signo, strerror(-ret));
		return ret;
	}
	s->fd = fd;
	if (first && (ret = event_loop_add(&vm->loop, fd, EPOLLIN, on_signal, s)) < 0)
		return ret;
	s->watches[s->nr_watches++] = (struct vm_signal_watch){
		.signo = signo, .fn = fn, .opaque = fn_opaque,
	};
	return 0;
}

void vm_signals_destroy(struct vm *vm)
{
	struct vm_signals *s = &vm->signals;

	if (s->fd >= 0) {
		event_loop_remove(&vm->loop, s->fd);
		close(s->fd);
	}
	if (s->blocked)
		pthread_sigmask(SIG_SETMASK, &s->saved_mask, NULL);
	s->fd = -1;
	s->blocked = false;
}
