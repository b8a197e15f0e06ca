/* The init's wait for its workload, and the orderly shutdown a host asks
 * for through the shutdown port (guest_abi.h's KRUN_PORT_SHUTDOWN): any
 * bytes there send the workload SIGTERM, and SIGKILL grace_ms later if it
 * is still there. Kept apart from init.c's system setup so the unit tests
 * drive it with a pipe for the port and a child of their own. */
#ifndef KRUN_INIT_SHUTDOWN_H
#define KRUN_INIT_SHUTDOWN_H

#include <signal.h>
#include <sys/types.h>

/* Block SIGCHLD and give it a handler that does nothing, so that a child's
 * exit interrupts the wait below and is never missed between its reaping
 * and its sleep. *old gets the mask to restore in each forked child
 * before exec (the mask survives exec). 0, or -1 with errno. */
int shutdown_wait_prepare(sigset_t *old);

/* Reap children until pid exits; its waitpid() status. shutdown_fd (-1 for
 * none) is watched meanwhile, non-blocking: bytes there ask for the
 * shutdown; its end (the host side closed) is looked at again every 100 ms
 * rather than watched. -1 (errno ECHILD) if pid is not a child. */
int shutdown_wait(pid_t pid, int shutdown_fd, int grace_ms);

#endif
