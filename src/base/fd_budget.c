#include "base/fd_budget.h"

#include <stdint.h>
#include <sys/resource.h>

#include "base/log.h"

unsigned int fd_budget(const char *who, unsigned int want, unsigned int headroom)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	uint64_t limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
	uint64_t room = limit > headroom ? limit - headroom : 0;
	if (room >= want)
		return want;
	LOG_WRN("%s: RLIMIT_NOFILE (%llu) leaves the guest %llu, not %u", who,
		(unsigned long long)limit, (unsigned long long)room, want);
	return (unsigned int)room;
}
