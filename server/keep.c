/*
 * keep.c: the daemon's side of sandboxd-keeper (keeper/include/keeper.h).
 *
 * containerd never dials a shim again once its connection closed, so a
 * daemon that dies must not close its clients' connections.  The keeper,
 * a small process of its own, holds a duplicate of every socket the
 * daemon accepted, and a table in shared memory where the daemon keeps,
 * per connection, what the next daemon needs to go on with it.  A
 * connection can be resumed only where it stands at a frame boundary on
 * both sides (the dirty flags conn.c keeps around its reads and writes)
 * and owes its peer no answer, except for the Waits recorded whole in
 * the slot, which the next daemon dispatches again as if they had just
 * come: a Wait may stay pending for days, everything else is answered
 * within an iteration or two.
 *
 * After a crash the restarted daemon takes the sockets back
 * (keep_resume), serves the resumable ones and shuts the others down, so
 * their peers see the close they would have seen without a keeper.  A
 * re-exec carries the keeper's connection and every slot in the
 * hand-over (handover.c, keep_import).  On SIGTERM nothing is dropped
 * (conn_leave_to_keeper): the keeper keeps the connections for the next
 * daemon, or closes them once its grace period is over.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keep.h"
#include "xmalloc.h"

/*
 * Keep the compiler from reordering stores into a slot: nothing reads
 * them while this process lives, but it may die between any two
 * instructions, and the next daemon reads what was stored by then.
 */
#define KEEP_ORDER()	__atomic_signal_fence(__ATOMIC_SEQ_CST)

/* The sockets the keeper gave back after a crash, with their slots. */
struct keep_taken {
	struct {
		unsigned int	 slot;
		int		 fd;
	}			*v;
	size_t			 n, cap;
};

/* What a restart did with them, for its one log line. */
struct keep_tally {
	unsigned int	resumed, waits;
	unsigned int	half_read, half_written, unanswered, damaged;
};

/* Whether the daemon uses a keeper at all (keeper_grace_secs > 0). */
bool
keep_enabled(void)
{
	return (cfg->keeper_grace_secs > 0);
}

/* Tie c to slot: its marks go to the slot's memory from now on. */
void
keep_conn_attach(struct conn *c, unsigned int slot)
{
	c->kslot = (int)slot;
	c->ks = keeper_slot(slot);
	c->kbound = 0;
	if (c->ks != NULL)
		c->ks->conn_id = c->id;
}

/*
 * A new connection: give the keeper a duplicate of its socket before
 * anything is read from it.  Without a keeper, or with every slot
 * taken, the connection is served all the same, unprotected.
 */
void
keep_conn_hold(struct conn *c)
{
	int	slot;

	if (!keeper_active() || (slot = keeper_slot_alloc()) == -1)
		return;
	if (keeper_hold((unsigned int)slot, c->fd) == -1) {
		log_warnx("conn %llu: the keeper did not take its socket: a "
		    "crash of sandboxd would close it",
		    (unsigned long long)c->id);
		return;
	}
	keep_conn_attach(c, (unsigned int)slot);
}

/*
 * c is being freed: shut the socket down first (the keeper's duplicate
 * would otherwise keep the peer from seeing the end), then have the
 * keeper close its copy and free the slot.
 */
void
keep_conn_end(struct conn *c)
{
	if (c->kslot < 0 && !c->kshut)
		return;
	shutdown(c->fd, SHUT_RDWR);
	if (c->kslot >= 0 && keeper_active())
		keeper_drop((unsigned int)c->kslot);
	c->kslot = -1;
	c->ks = NULL;
	c->kshut = false;
}

/* Daemon exit: c's slot stays as it is, for the next daemon. */
void
keep_conn_leave(struct conn *c)
{
	c->kslot = -1;
	c->ks = NULL;
	c->kshut = false;
}

/* A call was made on c: one more answer owed, unless it is recorded. */
void
keep_plain_add(struct conn *c)
{
	if (c->ks != NULL)
		c->ks->plain++;
}

/*
 * A call on c was answered (its frame queued) or dropped: forget its
 * entry, or count it off plain.
 */
void
keep_call_done(struct conn *c, int entry)
{
	if (c->ks == NULL)
		return;
	if (entry >= 0) {
		c->ks->calls[entry].stream_id = 0;
		c->kbound &= ~(1u << entry);
	} else if (c->ks->plain > 0)
		c->ks->plain--;
}

/*
 * Record a Wait request (its whole ttrpc Request payload) in a free entry
 * of c's slot, so that a daemon restarted after a crash can dispatch it
 * again; it then no longer counts in plain.  The entry is filled before
 * its stream id marks it used, and the stream id is set before plain
 * goes down: at no instant is the call neither recorded nor counted.
 * Returns the entry, or -1 (no slot, too big, no free entry: it stays
 * plain, and a crash resets the connection).
 */
int
keep_record(struct conn *c, uint32_t stream_id, const uint8_t *req,
    size_t len)
{
	struct keeper_call	*e;
	int			 i;

	if (c->ks == NULL || len > KEEPER_CALL_MAX)
		return (-1);
	for (i = 0; i < KEEPER_CALLS_PER_SLOT; i++)
		if (!(c->kbound & (1u << i)))
			break;
	if (i == KEEPER_CALLS_PER_SLOT)
		return (-1);
	e = &c->ks->calls[i];
	memcpy(e->req, req, len);
	e->len = (uint32_t)len;
	KEEP_ORDER();
	e->stream_id = stream_id;
	KEEP_ORDER();
	c->ks->plain--;
	c->kbound |= 1u << i;
	return (i);
}

/* A call dispatched again from entry i of c's slot: it is that entry. */
void
keep_bind(struct conn *c, int entry)
{
	if (c->ks == NULL)
		return;
	c->kbound |= 1u << entry;
	c->ks->plain--;
}

/* The entry of c's slot recording stream_id, not yet bound; or -1. */
int
keep_find(struct conn *c, uint32_t stream_id)
{
	int	i;

	if (c->ks == NULL)
		return (-1);
	for (i = 0; i < KEEPER_CALLS_PER_SLOT; i++)
		if (!(c->kbound & (1u << i)) &&
		    c->ks->calls[i].stream_id == stream_id)
			return (i);
	return (-1);
}

/*
 * A connection carried across a re-exec, with the slot the old image
 * gave it (slot1: slot + 1; 0: none).  Until its carried calls are
 * dispatched again and its input is cut (keep_carried_done), a crash
 * must reset it: it is marked as reading.  Its calls count again from
 * zero as they are made.
 */
void
keep_conn_carried(struct conn *c, unsigned int slot1)
{
	if (!keeper_active()) {
		/* The keeper the old image had may still hold a copy. */
		c->kshut = slot1 != 0;
		return;
	}
	if (slot1 == 0) {
		/* The old image had no keeper, or no slot for it. */
		keep_conn_hold(c);
		return;
	}
	keeper_slot_claim(slot1 - 1);
	keep_conn_attach(c, slot1 - 1);
	if (c->ks == NULL) {
		c->kslot = -1;
		return;
	}
	c->ks->dirty |= KEEPER_DIRTY_READ;
	KEEP_ORDER();
	c->ks->plain = 0;
}

/* After a carried connection's calls: entries no call took are stale. */
void
keep_carried_done(struct conn *c)
{
	int	i;

	if (c->ks == NULL)
		return;
	for (i = 0; i < KEEPER_CALLS_PER_SLOT; i++)
		if (!(c->kbound & (1u << i)))
			c->ks->calls[i].stream_id = 0;
}

/* What keeper_start needs; *logp is malloc'd. */
static void
keep_opts(struct keeper_opts *o, char **logp)
{
	xasprintf(logp, "%s/keeper.log", cfg->run_dir);
	memset(o, 0, sizeof(*o));
	o->run_dir = cfg->run_dir;
	o->program = cfg->keeper_path;
	o->nslots = cfg->max_connections + 64;
	o->grace_secs = cfg->keeper_grace_secs;
	o->log_file = *logp;
}

/* Connect to the keeper (spawning it if need be); false if there is none. */
bool
keep_connect(bool take)
{
	struct keeper_opts	 o;
	char			*logp, *cause = NULL;
	int			 rc;

	keep_opts(&o, &logp);
	rc = keeper_start(&o, take, &cause);
	free(logp);
	if (rc == -1) {
		log_warnx("no keeper (%s): a crash of sandboxd will close "
		    "every client connection", cause);
		free(cause);
		return (false);
	}
	return (true);
}

/* keeper_take's callback: keep the socket for after the take. */
static void
keep_take_cb(void *arg, unsigned int slot, int fd)
{
	struct keep_taken	*t = arg;

	if (t->n == t->cap) {
		t->cap = t->cap != 0 ? t->cap * 2 : 64;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n].slot = slot;
	t->v[t->n].fd = fd;
	t->n++;
}

/* Why the connection of slot s cannot be resumed (counted); NULL if it can. */
static const char *
keep_unresumable(const struct keeper_slot *s, struct keep_tally *n)
{
	int	i;

	if (s == NULL) {
		n->damaged++;
		return ("its slot is out of range");
	}
	if (s->dirty & KEEPER_DIRTY_READ) {
		n->half_read++;
		return ("a request was being read");
	}
	if (s->dirty & KEEPER_DIRTY_WRITE) {
		n->half_written++;
		return ("an answer was being written");
	}
	if (s->plain != 0) {
		n->unanswered++;
		return ("requests were unanswered");
	}
	for (i = 0; i < KEEPER_CALLS_PER_SLOT; i++) {
		if (s->calls[i].stream_id != 0 &&
		    (s->calls[i].len > KEEPER_CALL_MAX ||
		    s->calls[i].stream_id % 2 == 0)) {
			n->damaged++;
			return ("a recorded call is damaged");
		}
	}
	return (NULL);
}

/* Serve again one connection the keeper kept, or shut it down. */
static void
keep_resume_one(struct event_base *base, unsigned int slot, int fd,
    struct keep_tally *n)
{
	struct keeper_slot	*s = keeper_slot(slot);
	struct conn		*c;
	const char		*why;
	uint64_t		 was = s != NULL ? s->conn_id : 0;
	int			 i;

	if (s != NULL)
		log_debug("keeper: slot %u: connection %llu, dirty %#x, plain "
		    "%u", slot, (unsigned long long)s->conn_id, s->dirty,
		    s->plain);
	if ((why = keep_unresumable(s, n)) != NULL) {
		log_info("keeper: connection %llu of the previous daemon "
		    "(slot %u) closed: %s", (unsigned long long)was, slot, why);
		shutdown(fd, SHUT_RDWR);
		close(fd);
		keeper_drop(slot);
		return;
	}
	c = conn_adopt(base, fd, slot);
	log_debug("conn %llu: connection %llu of the previous daemon, resumed",
	    (unsigned long long)c->id, (unsigned long long)was);
	n->resumed++;
	for (i = 0; i < KEEPER_CALLS_PER_SLOT && !c->dead; i++) {
		if (s->calls[i].stream_id == 0)
			continue;
		dispatch_recorded(c, i, s->calls[i].stream_id, s->calls[i].req,
		    s->calls[i].len);
		n->waits++;
	}
}

/* The restart's one line: what was resumed, what was reset and why. */
static void
keep_log_tally(size_t taken, const struct keep_tally *n)
{
	log_info("keeper: resumed %u connections, reset %zu (%u half read, "
	    "%u half written, %u with requests unanswered, %u damaged), "
	    "re-dispatched %u waits", n->resumed, taken - n->resumed,
	    n->half_read, n->half_written, n->unanswered, n->damaged,
	    n->waits);
}

/*
 * Start-up (not a re-exec), once the listener is ours and the recovery
 * committed: connect to the keeper, spawning it if none runs, take back
 * every socket it holds (a previous daemon's, after a crash or a
 * SIGTERM), resume or reset each, and watch the keeper.
 */
void
keep_resume(struct event_base *base)
{
	struct keep_taken	 t = { NULL, 0, 0 };
	struct keep_tally	 n;
	char			*cause = NULL;
	size_t			 i;

	/* keep_pids_take may have connected already, before recovery. */
	if (!keep_enabled() || (!keeper_active() && !keep_connect(true)))
		return;
	if (keeper_take(keep_take_cb, &t, &cause) == -1) {
		log_warnx("keeper: the sockets it holds were not all taken "
		    "back: %s", cause);
		free(cause);
	}
	memset(&n, 0, sizeof(n));
	for (i = 0; i < t.n; i++)
		keep_resume_one(base, t.v[i].slot, t.v[i].fd, &n);
	if (t.n > 0)
		keep_log_tally(t.n, &n);
	else
		log_info("keeper: connected, no connection to resume");
	free(t.v);
	keeper_watch(base);
}

/*
 * Re-exec: go on with the previous image's connection to the keeper (fd;
 * -1: it had none, so connect as a fresh start does).  Before the
 * connections are rebuilt, which claim their slots.
 */
void
keep_import(struct event_base *base, int fd)
{
	char	*cause = NULL;

	if (!keep_enabled()) {
		if (fd != -1) {
			log_info("re-executed: keeper_grace_secs is 0 now, "
			    "leaving the keeper");
			close(fd);
		}
		return;
	}
	if (fd == -1) {
		if (!keep_connect(false))
			return;
	} else if (keeper_import_fd(fd, &cause) == -1) {
		log_warnx("re-executed: the keeper's connection cannot be "
		    "used (%s); a crash of sandboxd will close every client "
		    "connection", cause);
		free(cause);
		return;
	}
	keeper_watch(base);
}
