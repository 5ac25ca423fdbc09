/*
 * subreaper.c: the daemon as a child subreaper.
 *
 * runc leaves a container's init (and every exec'd process) behind when
 * it exits; with PR_SET_CHILD_SUBREAPER they are re-parented to the
 * daemon instead of to pid 1, so their exit statuses can be known.  The
 * price is that every orphan below the daemon lands here too, and must
 * be reaped by someone: proc.c's SIGCHLD sweep reaps those nobody spares.
 *
 * Spared are the children someone will reap by pidfd: procmgr's own procs
 * (proc.c checks its tree first), runc.c's invocations and the process a
 * create or exec just named (runc.c), and the pids given to
 * subreaper_track.  The last covers a caller that learns a pid before it
 * can watch it.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "reapint.h"
#include "runc.h"
#include "tree.h"
#include "xmalloc.h"

struct tracked {
	RB_ENTRY(tracked)	 entry;
	pid_t			 pid;
	unsigned int		 refs;		/* subreaper_track calls */
};

RB_HEAD(tracked_tree, tracked);
static int	tracked_cmp(struct tracked *, struct tracked *);
RB_PROTOTYPE(tracked_tree, tracked, entry, tracked_cmp);
RB_GENERATE(tracked_tree, tracked, entry, tracked_cmp);

static struct tracked_tree	tracked_pids = RB_INITIALIZER(&tracked_pids);

/* Order by pid. */
static int
tracked_cmp(struct tracked *a, struct tracked *b)
{
	return (a->pid < b->pid ? -1 : a->pid > b->pid);
}

/* The entry for pid, or NULL. */
static struct tracked *
tracked_find(pid_t pid)
{
	struct tracked	key;

	key.pid = pid;
	return (RB_FIND(tracked_tree, &tracked_pids, &key));
}

/* Become the reaper of every orphan below the daemon. */
int
subreaper_enable(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1) {
		log_warn("%s: prctl", __func__);
		return (-1);
	}
	return (0);
}

/* The caller will reap pid itself: the sweep must leave it. */
void
subreaper_track(pid_t pid)
{
	struct tracked	*t;

	if ((t = tracked_find(pid)) != NULL) {
		t->refs++;
		return;
	}
	t = xcalloc(1, sizeof *t);
	t->pid = pid;
	t->refs = 1;
	RB_INSERT(tracked_tree, &tracked_pids, t);
}

/*
 * Undo one subreaper_track.  The sweep stops at a spared zombie, so one
 * left now may hold others back: sweep again.
 */
void
subreaper_untrack(pid_t pid)
{
	struct tracked	*t;

	if ((t = tracked_find(pid)) == NULL || --t->refs > 0)
		return;
	RB_REMOVE(tracked_tree, &tracked_pids, t);
	free(t);
	proc_reap_untracked();
}

/* Did someone say they track pid? */
bool
subreaper_tracked(pid_t pid)
{
	return (tracked_find(pid) != NULL);
}

/* The sweep found an untracked zombie: must it leave it? */
bool
subreaper_spared(pid_t pid)
{
	return (subreaper_tracked(pid) || runc_spares(pid));
}

/*
 * signalfd mode reaped pid with waitpid(-1): hand the status to runc.c if
 * it is one of its invocations.  Anything else is an orphan's, or a
 * tracked pid's whose owner will find it gone (logged: it was lost).
 */
bool
subreaper_reaped(pid_t pid, int wstatus)
{
	if (runc_reaped(pid, wstatus))
		return (true);
	if (subreaper_tracked(pid))
		log_warnx("%s: pid %d reaped before its owner could",
		    __func__, (int)pid);
	return (false);
}
