/*
 * keeper_pids.c: the keeper's copies of the pidfds of the processes the
 * daemon watches (sandboxes, container inits, execs).
 *
 * The kernel keeps the exit status of a reaped process only for a pidfd
 * that is open when it is reaped.  The daemon's own pidfds close when it
 * dies; these copies do not, so a process that exits while no daemon
 * runs leaves its status for the next one, which takes the copies back
 * (TAKE_PIDS) before it re-adopts its processes.  Kept by pid and start
 * time, in a tree; a copy is closed on DROP_PID, or with everything else
 * (grace expiry, SIGTERM, a fresh daemon).  Taking leaves the copies
 * here: the next daemon may crash too.
 */
#include <sys/resource.h>

#include <bsd/sys/tree.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper_prog.h"
#include "keeper_wire.h"
#include "log.h"

struct kpid {
	RB_ENTRY(kpid)	 entry;
	struct keeper_pid_key key;
	int		 fd;
};

RB_HEAD(kpid_tree, kpid);
static int	kpid_cmp(struct kpid *, struct kpid *);
RB_PROTOTYPE(kpid_tree, kpid, entry, kpid_cmp);
RB_GENERATE(kpid_tree, kpid, entry, kpid_cmp);

static struct kpid_tree	kpids = RB_INITIALIZER(&kpids);
static unsigned int	nkpids;

/* Order by pid, then start time. */
static int
kpid_cmp(struct kpid *a, struct kpid *b)
{
	if (a->key.pid != b->key.pid)
		return (a->key.pid < b->key.pid ? -1 : 1);
	if (a->key.start_time != b->key.start_time)
		return (a->key.start_time < b->key.start_time ? -1 : 1);
	return (0);
}

/* How many pidfds are held. */
unsigned int
keeper_pids_count(void)
{
	return (nkpids);
}

/*
 * One descriptor per process the daemon watches, on top of the slots:
 * as many as the hard limit allows, as the daemon itself does.
 */
void
keeper_pids_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("keeper: raising the descriptor limit");
}

/* HOLD_PID {key} + fd: keep the copy (a second one for a key replaces). */
void
keeper_pids_hold(const struct keeper_pid_key *key, int fd)
{
	struct kpid	*kp, *old;

	if ((kp = calloc(1, sizeof(*kp))) == NULL) {
		log_warn("keeper: pid %u not held", key->pid);
		close(fd);
		return;
	}
	kp->key = *key;
	kp->key.pad = 0;
	kp->fd = fd;
	if ((old = RB_INSERT(kpid_tree, &kpids, kp)) != NULL) {
		close(old->fd);
		old->fd = fd;
		free(kp);
		return;
	}
	nkpids++;
}

/* DROP_PID {key}: its exit was seen; close our copy.  Unknown: nothing. */
void
keeper_pids_drop(const struct keeper_pid_key *key)
{
	struct kpid	 find, *kp;

	find.key = *key;
	if ((kp = RB_FIND(kpid_tree, &kpids, &find)) == NULL)
		return;
	RB_REMOVE(kpid_tree, &kpids, kp);
	close(kp->fd);
	free(kp);
	nkpids--;
}

/* TAKE_PIDS {after}: the next copies in key order, or END; sent on fd. */
int
keeper_pids_take(int fd, const struct keeper_pid_key *after)
{
	struct keeper_msg_pids	 m;
	struct kpid		 find, *kp;
	int			 fds[KEEPER_FDS_MAX];
	uint32_t		 n = 0;

	if (after->pid == 0 && after->start_time == 0)
		log_info("keeper: the daemon takes %u process pidfds", nkpids);
	memset(&m, 0, sizeof(m));
	find.key = *after;
	for (kp = RB_NFIND(kpid_tree, &kpids, &find);
	    kp != NULL && n < KEEPER_FDS_MAX; kp = RB_NEXT(kpid_tree, &kpids, kp)) {
		if (kpid_cmp(kp, &find) == 0)
			continue;
		m.keys[n] = kp->key;
		fds[n++] = kp->fd;
	}
	if (n == 0) {
		keeper_msg_init(&m.hdr, KEEPER_MSG_END);
		return (keeper_msg_send(fd, &m, sizeof(m.hdr), NULL, 0));
	}
	keeper_msg_init(&m.hdr, KEEPER_MSG_PIDS);
	m.n = n;
	return (keeper_msg_send(fd, &m, keeper_pids_len(n), fds, (int)n));
}

/* Close every copy. */
void
keeper_pids_release(void)
{
	struct kpid	*kp, *next;

	RB_FOREACH_SAFE(kp, kpid_tree, &kpids, next) {
		RB_REMOVE(kpid_tree, &kpids, kp);
		close(kp->fd);
		free(kp);
	}
	nkpids = 0;
}
