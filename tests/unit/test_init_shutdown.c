/* The init's wait for its workload (init/shutdown.c): a request on the
 * shutdown port (a pipe here) gives the workload SIGTERM, one that ignores
 * it SIGKILL after the grace period, an ended port is no busy loop, and
 * orphans are reaped on the way. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shutdown.h"
#include "test_init_check.h"

static sigset_t child_mask;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void on_term(int signo)
{
	(void)signo;
	_exit(7); /* a workload that cleans up and leaves with a status of its own */
}

enum workload_kind { EXITS_AT_ONCE, TRAPS_TERM, IGNORES_TERM, SLEEPS };

/* A child as the workload, restoring the mask as the init's child does;
 * it writes a byte to ready once its SIGTERM disposition is set. */
static pid_t start_workload(enum workload_kind kind, int ready)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	sigprocmask(SIG_SETMASK, &child_mask, NULL);
	if (kind == EXITS_AT_ONCE)
		_exit(3);
	if (kind == TRAPS_TERM)
		signal(SIGTERM, on_term);
	if (kind == IGNORES_TERM)
		signal(SIGTERM, SIG_IGN);
	if (write(ready, "r", 1) != 1)
		_exit(100);
	if (kind == SLEEPS)
		usleep(500 * 1000);
	else
		pause();
	_exit(0);
}

static void wait_ready(int ready)
{
	char c;

	CHECK_EQ_INT(read(ready, &c, 1), 1);
}

/* A port whose host side has asked for the shutdown: a pipe with a byte
 * in it (the VMM passes the eventfd's 8-byte count). */
static void ask(int port_w)
{
	CHECK_EQ_INT(write(port_w, "\1\0\0\0\0\0\0\0", 8), 8);
}

static void test_plain_exit(void)
{
	int sync[2];

	CHECK_EQ_INT(pipe(sync), 0);
	/* an orphan-like extra child that exits first is reaped and skipped */
	pid_t other = fork();
	siginfo_t info;
	if (other == 0)
		_exit(9);
	CHECK_EQ_INT(waitid(P_PID, other, &info, WEXITED | WNOWAIT), 0); /* a zombie now */
	pid_t pid = start_workload(EXITS_AT_ONCE, sync[1]);
	int wstatus = shutdown_wait(pid, -1, 1000);
	CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 3);
	CHECK_EQ_INT(waitpid(other, NULL, WNOHANG), -1); /* already reaped */
	close(sync[0]);
	close(sync[1]);
}

static void test_sigterm(void)
{
	int sync[2], port[2];

	CHECK_EQ_INT(pipe(sync), 0);
	CHECK_EQ_INT(pipe2(port, O_NONBLOCK), 0);
	pid_t pid = start_workload(TRAPS_TERM, sync[1]);
	wait_ready(sync[0]);
	ask(port[1]);
	long long start = now_ms();
	int wstatus = shutdown_wait(pid, port[0], 5000);
	CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 7);
	CHECK(now_ms() - start < 2000); /* at once, not after the grace period */
	close(sync[0]);
	close(sync[1]);
	close(port[0]);
	close(port[1]);
}

static void test_sigkill_after_grace(void)
{
	int sync[2], port[2];

	CHECK_EQ_INT(pipe(sync), 0);
	CHECK_EQ_INT(pipe2(port, O_NONBLOCK), 0);
	pid_t pid = start_workload(IGNORES_TERM, sync[1]);
	wait_ready(sync[0]);
	ask(port[1]);
	ask(port[1]); /* a second request changes nothing */
	long long start = now_ms();
	int wstatus = shutdown_wait(pid, port[0], 300);
	long long took = now_ms() - start;
	CHECK(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
	CHECK(took >= 290 && took < 3000);
	close(sync[0]);
	close(sync[1]);
	close(port[0]);
	close(port[1]);
}

/* An ended port (EOF at every read) is looked at every 100 ms, not spun
 * on: the wait's CPU time stays small. */
static void test_closed_port_no_spin(void)
{
	int sync[2], port[2];
	struct rusage before, after;

	CHECK_EQ_INT(pipe(sync), 0);
	CHECK_EQ_INT(pipe2(port, O_NONBLOCK), 0);
	close(port[1]);
	pid_t pid = start_workload(SLEEPS, sync[1]);
	wait_ready(sync[0]);
	getrusage(RUSAGE_SELF, &before);
	int wstatus = shutdown_wait(pid, port[0], 300);
	getrusage(RUSAGE_SELF, &after);
	CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
	long long cpu_us = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000000LL +
			   (after.ru_utime.tv_usec - before.ru_utime.tv_usec) +
			   (after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1000000LL +
			   (after.ru_stime.tv_usec - before.ru_stime.tv_usec);
	CHECK(cpu_us < 100 * 1000);
	close(sync[0]);
	close(sync[1]);
	close(port[0]);
}

int main(void)
{
	CHECK_EQ_INT(shutdown_wait_prepare(&child_mask), 0);
	test_plain_exit();
	test_sigterm();
	test_sigkill_after_grace();
	test_closed_port_no_spin();
	CHECK_EQ_INT(shutdown_wait(getpid(), -1, 100), -1); /* not a child */
	return CHECK_DONE();
}
