/*
 * keep_pids.c: sandboxd-keeper also holds a copy of the pidfd of every
 * process the daemon watches (procmgr/proc_hold.c, keeper/keeper_pidfd.c),
 * so that a sandbox or container that exits while the daemon is down
 * still has a pidfd open at its reap, and the kernel keeps its exit
 * status for the next daemon.
 *
 * After a crash the keeper's copies are taken back before recovery, into
 * procmgr's stash, and recovery re-adopts with them: a process that
 * exited meanwhile then reports its real status (Wait, Status, TaskExit)
 * instead of 255.  The connection made for that is the one keep_resume
 * goes on with.
 */
#include <stdlib.h>

#include "keeper.h"
#include "log.h"
#include "procmgr.h"
#include "server.h"
#include "xmalloc.h"

static int	keep_pid_hold_cb(void *, int, pid_t, uint64_t);
static void	keep_pid_drop_cb(void *, pid_t, uint64_t);

static const struct proc_holder keep_holder = {
	keep_pid_hold_cb, keep_pid_drop_cb, NULL
};

/* procmgr: a process is watched; the keeper gets a copy of its pidfd. */
static int
keep_pid_hold_cb(__attribute__((unused)) void *arg, int pidfd, pid_t pid,
    uint64_t start_time)
{
	return (keeper_hold_pid(pidfd, (int)pid, start_time));
}

/* A process whose exit was seen, waiting for the commit that records it. */
struct keep_pid_drop {
	pid_t		pid;
	uint64_t	start_time;
};

/*
 * The record of the exit is on disk: the keeper may close its copy.  If
 * it could not be written the daemon is exiting; the copy stays, so the
 * next daemon still reads the real status.
 */
static void
keep_pid_dropped_cb(bool committed, void *arg)
{
	struct keep_pid_drop	*d = arg;

	if (committed)
		keeper_drop_pid((int)d->pid, d->start_time);
	free(d);
}

/*
 * procmgr: its exit was seen.  The keeper closes its copy only after the
 * commit that records the exit (the exit callback writes it later in
 * this same iteration, which is what the hook waits for): dropped before,
 * a crash in between would leave the next daemon neither the record nor
 * a pidfd to read the status from, and it would report 255.
 */
static void
keep_pid_drop_cb(__attribute__((unused)) void *arg, pid_t pid,
    uint64_t start_time)
{
	struct keep_pid_drop	*d;

	d = xmalloc(sizeof(*d));
	d->pid = pid;
	d->start_time = start_time;
	call_after_commit(keep_pid_dropped_cb, d);
}

/* keeper_take_pids: into procmgr's stash, for proc_adopt. */
static void
keep_pid_take_cb(__attribute__((unused)) void *arg, int pid,
    uint64_t start_time, int fd)
{
	proc_stash((pid_t)pid, start_time, fd);
}

/*
 * Start-up (not a re-exec), before recovery: connect to the keeper and
 * take back the pidfds it kept; from now on every watched process is
 * held there.
 */
void
keep_pids_take(void)
{
	char	*cause = NULL;
	int	 n;

	if (!keep_enabled() || (!keeper_active() && !keep_connect(true)))
		return;
	proc_set_holder(&keep_holder);
	if ((n = keeper_take_pids(keep_pid_take_cb, NULL, &cause)) == -1) {
		log_warnx("keeper: its pidfds were not all taken back (%s): "
		    "processes that exited while sandboxd was down may be "
		    "reported with status 255", cause);
		free(cause);
		return;
	}
	if (n > 0)
		log_info("keeper: %d pidfds of watched processes taken back",
		    n);
}

/* After recovery: the pidfds no record claimed are let go. */
void
keep_pids_done(void)
{
	size_t	n;

	if ((n = proc_stash_flush()) > 0)
		log_info("keeper: %zu pidfds of processes no record names "
		    "let go", n);
}

/* Re-exec: hold from now on (the previous image's copies stand). */
void
keep_pids_attach(void)
{
	if (keeper_active())
		proc_set_holder(&keep_holder);
}
