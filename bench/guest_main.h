/* What the benchmarks' guest programs share. Each is the workload in our VM
 * and PID 1 (the initramfs's /init) in QEMU's: guest_main.c's main makes a
 * /dev and a console when it is PID 1, runs the program's bench_run, and
 * then powers the VM off, as nothing else would. */
#ifndef KRUN_BENCH_GUEST_MAIN_H
#define KRUN_BENCH_GUEST_MAIN_H

/* The program's name, for its output lines ("netbench: ..."). */
extern const char bench_name[];

/* The benchmark itself: an exit status. */
int bench_run(int argc, char **argv);

/* Print "NAME: what: strerror(errno)" and return 1 (a failed run's status). */
int bench_fail(const char *what);

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

#endif
