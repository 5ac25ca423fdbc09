/*
 * proc_hold.c: pidfds kept outside the daemon, so that exit statuses
 * outlive it.
 *
 * The kernel keeps a reaped process's exit status only for a pidfd that
 * was open at the reap (pidinfo.c).  When the daemon dies, its pidfds
 * close with it, and a sandbox or container that exits before the next
 * daemon has opened new ones leaves nothing to read.  So a holder (the
 * server gives sandboxd-keeper's functions) gets a duplicate of every
 * watched process's pidfd, keyed by pid and start time, and is told to
 * let it go once the exit has been seen.  A proc freed while its process
 * runs is not let go: the daemon is stopping, or gave the process up, and
 * a later daemon's recovery settles it.
 *
 * After a crash the server hands the holder's pidfds back (proc_stash)
 * before recovery.  Recovery asks proc_stash_exited first: a process that
 * exited meanwhile is recorded as stopped with its status there and then,
 * before any client can ask.  Else proc_adopt takes the stashed pidfd
 * instead of opening a new one (a zombie whose status /proc hides, say,
 * reports it once reaped).  proc_stash_flush, after recovery, lets the
 * unclaimed ones go.
 */
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "procint.h"
#include "tree.h"
#include "xmalloc.h"

/* A pidfd handed back, until proc_adopt claims it. */
struct stashed {
	RB_ENTRY(stashed)	 entry;
	pid_t			 pid;
	uint64_t		 start_time;
	int			 pidfd;
};

RB_HEAD(stash_tree, stashed);
static int	stash_cmp(struct stashed *, struct stashed *);
RB_PROTOTYPE(stash_tree, stashed, entry, stash_cmp);
RB_GENERATE(stash_tree, stashed, entry, stash_cmp);

static struct stash_tree	 stash = RB_INITIALIZER(&stash);
static const struct proc_holder	*holder;

/* Order by pid, then start time. */
static int
stash_cmp(struct stashed *a, struct stashed *b)
{
	if (a->pid != b->pid)
		return (a->pid < b->pid ? -1 : 1);
	if (a->start_time != b->start_time)
		return (a->start_time < b->start_time ? -1 : 1);
	return (0);
}

/* Who holds pidfds from now on (NULL: nobody). */
void
proc_set_holder(const struct proc_holder *h)
{
	holder = h;
}

/* Give the holder a duplicate of p's pidfd (it dups it itself). */
void
proc_hold(const struct proc *p)
{
	if (holder == NULL || p->pidfd == -1 || p->start_time == 0)
		return;
	if (holder->hold(holder->arg, p->pidfd, p->pid, p->start_time) == -1)
		log_debug("%s: pid %d not held", __func__, (int)p->pid);
}

/* p's exit has been seen: the holder may close its copy. */
void
proc_unhold(const struct proc *p)
{
	if (holder != NULL && p->start_time != 0)
		holder->drop(holder->arg, p->pid, p->start_time);
}

/* A held pidfd given back after a crash; the stash owns it now. */
void
proc_stash(pid_t pid, uint64_t start_time, int pidfd)
{
	struct stashed	*s, *old;

	s = xcalloc(1, sizeof *s);
	s->pid = pid;
	s->start_time = start_time;
	s->pidfd = pidfd;
	if ((old = RB_INSERT(stash_tree, &stash, s)) != NULL) {
		/* Given twice: keep the newer descriptor. */
		close(old->pidfd);
		old->pidfd = pidfd;
		free(s);
	}
}

/* Forget a stashed pidfd: closed, and the holder lets its copy go. */
static void
stash_drop(struct stashed *s)
{
	RB_REMOVE(stash_tree, &stash, s);
	if (holder != NULL)
		holder->drop(holder->arg, s->pid, s->start_time);
	close(s->pidfd);
	free(s);
}

/*
 * Has the stashed process already exited (while no daemon ran)?  Its
 * pidfd is readable if so; then pidinfo.c says with what.  Known either
 * way (0, 1), the pidfd is done with.
 */
int
proc_stash_exited(pid_t pid, uint64_t start_time, int *status)
{
	struct stashed	 key, *s;
	struct pollfd	 pfd;
	int		 wst;

	key.pid = pid;
	key.start_time = start_time;
	if ((s = RB_FIND(stash_tree, &stash, &key)) == NULL)
		return (-1);
	pfd.fd = s->pidfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 1)
		return (-1);
	switch (pidinfo_exit(s->pidfd, pid, start_time, &wst)) {
	case PIDINFO_EXITED:
		*status = proc_wstatus(wst);
		stash_drop(s);
		return (0);
	case PIDINFO_UNKNOWN:
		*status = PROC_STATUS_UNKNOWN;
		stash_drop(s);
		return (1);
	case PIDINFO_WAIT:
		break;
	}
	return (-1);
}

/* The stashed pidfd of pid with this start time, now the caller's; -1. */
int
proc_stash_take(pid_t pid, uint64_t start_time)
{
	struct stashed	 key, *s;
	int		 fd;

	key.pid = pid;
	key.start_time = start_time;
	if ((s = RB_FIND(stash_tree, &stash, &key)) == NULL)
		return (-1);
	RB_REMOVE(stash_tree, &stash, s);
	fd = s->pidfd;
	free(s);
	return (fd);
}

/*
 * After recovery: the pidfds no record claimed (processes the daemon no
 * longer tracks) are closed, and the holder lets its copies go.
 */
size_t
proc_stash_flush(void)
{
	struct stashed	*s, *next;
	size_t		 n = 0;

	RB_FOREACH_SAFE(s, stash_tree, &stash, next) {
		stash_drop(s);
		n++;
	}
	return (n);
}
