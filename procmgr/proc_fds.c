/*
 * proc_fds.c: the daemon's descriptor budget, as far as sandboxes go.
 *
 * Every running sandbox holds descriptors (its pidfd; while it starts,
 * the error and gate pipes), and so do connections and LevelDB, which
 * opens table files, a new log and a new manifest whenever it compacts:
 * if that open fails, the commit fails and the daemon must exit.  So a
 * Start is refused while fewer than proc_fds_reserve descriptors would
 * be left free after it: the reserve (set by main.c from the store's
 * needs and the connection cap) is never eaten by sandboxes.
 *
 * Counting /proc/self/fd is exact, where a count kept by hand would miss
 * libevent's and LevelDB's, but costs a readdir entry per open
 * descriptor (about a millisecond per 10 000): more than the clone of a
 * Start.  So a count is reused while it proves enough: since it was
 * taken, each Start let through may have added its PROC_FDS_PER_START
 * and everything else (connections, LevelDB) at most a reserve more;
 * while that bound, plus the reserve, still fits under the limit, the
 * exact count would let the Start through too.  Near the limit every
 * check counts again.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "procmgr.h"
#include "xmalloc.h"

static unsigned int	proc_fds_reserve;
static long		proc_fds_counted = -1;	/* at the last count */
static unsigned long	proc_fds_since;		/* let through since */

/* How many descriptors the process has open, or -1. */
static long
proc_fds_count(void)
{
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n - 1);		/* the directory's own */
}

/* Keep n descriptors free of sandboxes (store, connections, helpers). */
void
proc_fds_set_reserve(unsigned int n)
{
	proc_fds_reserve = n;
}

/*
 * Whether need more descriptors may go to a sandbox: 0, or -1 with
 * *cause saying how many are open of the limit.
 */
int
proc_fds_check(unsigned int need, char **cause)
{
	struct rlimit	rl;
	long		open_fds;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return (0);
	if (proc_fds_counted >= 0 && (rlim_t)proc_fds_counted +
	    proc_fds_since + need + 2 * (rlim_t)proc_fds_reserve <=
	    rl.rlim_cur) {
		proc_fds_since += need;
		return (0);
	}
	if ((open_fds = proc_fds_count()) == -1)
		return (0);
	proc_fds_counted = open_fds;
	proc_fds_since = 0;
	if ((rlim_t)open_fds + need + proc_fds_reserve <= rl.rlim_cur) {
		proc_fds_since = need;
		return (0);
	}
	xasprintf(cause, "too few file descriptors: %ld open of a limit of "
	    "%llu, %u kept for the store and connections", open_fds,
	    (unsigned long long)rl.rlim_cur, proc_fds_reserve);
	return (-1);
}
