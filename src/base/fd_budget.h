/* The share of RLIMIT_NOFILE a device may spend on the guest's behalf
 * (the user-mode network's sockets, vsock's connections): each host fd
 * the guest makes the VMM open counts against the process's limit, beside
 * the VMM's own. */
#ifndef KRUN_BASE_FD_BUDGET_H
#define KRUN_BASE_FD_BUDGET_H

/* want, or fewer when RLIMIT_NOFILE leaves less than want beside headroom
 * fds for the rest of the VMM; then a warning names who gets how many. */
unsigned int fd_budget(const char *who, unsigned int want, unsigned int headroom);

#endif
