/*
 * conn.c: client connections: ttrpc frames cut out of what was read,
 * answers written straight to the socket.
 *
 * A readable connection gets one plain read() into a buffer the loop
 * shares, and its complete frames are dispatched where they lie; only
 * the start of an incomplete frame is kept in a buffer of its own (see
 * CONN_SCRATCH).  Answers released after the
 * iteration's commit are appended to its output, and every connection
 * with output is written once, after the release (conn_write_queued): one
 * write for all the answers of an iteration.  Only a socket that cannot
 * take them all is watched for writability, until it drains; in the
 * steady state the loop's registrations never change.
 *
 * A frame's header is judged before room is made for its payload, so a
 * peer cannot make the daemon allocate what it declares.  Every way a
 * connection ends goes through conn_close(); the memory is freed after the
 * loop iteration, never under a running callback.
 *
 * With a keeper (keep.c) each connection has a slot in shared memory: a
 * read marks it dirty until what was read is cut into frames, a queued
 * answer until it is all written, so that a daemon restarted after a
 * crash knows whether the connection stands at a frame boundary.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "frame.h"
#include "keep.h"
#include "protocol.h"
#include "sandboxd/v1/handover.pb.h"
#include "server.h"
#include "xmalloc.h"

static struct conn_list	conns = TAILQ_HEAD_INITIALIZER(conns);
static struct conn_list	dead_conns = TAILQ_HEAD_INITIALIZER(dead_conns);
static uint64_t		next_conn_id = 1;
static unsigned int	nconns;
static bool		paused;		/* a re-exec is getting ready */
static size_t		freed_input;	/* buffered bytes of freed conns */

static struct conn_list	to_write = TAILQ_HEAD_INITIALIZER(to_write);

/*
 * Reads land in one buffer shared by every connection (the loop has one
 * thread, and a read's frames are dispatched before the next read); only
 * a frame left incomplete is copied to a buffer of the connection's own,
 * which reads then go to until it is cut, and which is freed once empty.
 * An idle connection holds no input buffer: there may be one per pod.
 */
#define CONN_SCRATCH	65536
#define CONN_READ_MIN	16384	/* room made in a connection's own buffer */
#define CONN_BUF_KEEP	65536	/* an emptied output buffer keeps this */

static uint8_t		scratch[CONN_SCRATCH];

static void	conn_read_cb(int, short, void *);
static void	conn_write_cb(int, short, void *);
static void	conn_read_frames(struct conn *);
static void	conn_write(struct conn *);
static void	conn_timer_cb(int, short, void *);

/* Nanoseconds on CLOCK_MONOTONIC. */
static int64_t
conn_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

/* Whether the peer may use the daemon (spec 9: uid 0 and the socket group). */
static bool
conn_peer_allowed(const struct conn *c)
{
	extern gid_t	 listener_gid;

	if (!cfg->restrict_peers)
		return (true);
	return (c->uid == 0 || c->gid == listener_gid);
}

/* Read the peer's credentials once, at accept. */
static void
conn_read_peercred(struct conn *c, int fd)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("conn %llu: SO_PEERCRED", (unsigned long long)c->id);
		c->pid = -1;
		c->uid = (uid_t)-1;
		c->gid = (gid_t)-1;
		return;
	}
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
}

/*
 * Refuse a connection over a cap, with a log line saying which.  uid 0
 * (containerd) has no per-uid cap, and the last root_reserved
 * connections are its alone: other users cannot lock it out.
 */
static bool
conn_over_cap(uid_t uid)
{
	if (nconns >= cfg->max_connections) {
		log_warnx("refusing connection from uid %u: %u connections "
		    "open (max %u)", (unsigned int)uid, nconns,
		    cfg->max_connections);
		return (true);
	}
	if (uid == 0)
		return (false);
	if (nconns >= cfg->max_connections - cfg->root_reserved) {
		log_warnx("refusing connection from uid %u: %u connections "
		    "open, the last %u of %u are kept for uid 0",
		    (unsigned int)uid, nconns, cfg->root_reserved,
		    cfg->max_connections);
		return (true);
	}
	if (conn_count_uid(uid) >= cfg->max_connections_per_uid) {
		log_warnx("refusing connection from uid %u: %u connections "
		    "(max %u per uid)", (unsigned int)uid, conn_count_uid(uid),
		    cfg->max_connections_per_uid);
		return (true);
	}
	return (false);
}

/* The peer, for log lines about cutting it off. */
static void
conn_warn_closing(struct conn *c, const char *why)
{
	log_warnx("conn %llu (pid %d uid %u): %s, closing",
	    (unsigned long long)c->id, (int)c->pid, (unsigned int)c->uid, why);
}

/*
 * When c's timer should look at it next (0: never): the end of the time
 * its started frame has to finish, else the end of its idle time.
 */
static int64_t
conn_next_check(const struct conn *c)
{
	if (c->frame_start != 0)
		return (c->frame_start + (int64_t)cfg->frame_timeout *
		    1000000000);
	if (cfg->idle_timeout > 0)
		return (c->last_active + (int64_t)cfg->idle_timeout *
		    1000000000);
	return (0);
}

/* (Re)start c's timer for its next check. */
static void
conn_arm_timer(struct conn *c)
{
	struct timeval	tv;
	int64_t		at = conn_next_check(c), left;

	if (c->dead || at == 0) {
		evtimer_del(c->timer);
		return;
	}
	left = at - conn_now();
	if (left < 0)
		left = 0;
	tv.tv_sec = left / 1000000000;
	tv.tv_usec = (left % 1000000000) / 1000 + 1;
	evtimer_add(c->timer, &tv);
}

/*
 * Read from c or not, as it should be now: not once closed, not while a
 * re-exec gets ready (paused), not while its answers pile up (held).
 * The read event changes only when that changes.
 */
static void
conn_update_reading(struct conn *c)
{
	bool	want = !c->dead && !paused && !c->held;

	if (want == c->reading)
		return;
	if (want)
		event_add(c->rev, NULL);
	else
		event_del(c->rev);
	c->reading = want;
}

/* Whether the daemon is reading c now (not held back by it or a re-exec). */
static bool
conn_reading(const struct conn *c)
{
	return (c->reading);
}

/*
 * c's timer: a frame begun frame_timeout ago and not finished, or nothing
 * pending for idle_timeout, ends it.  A connection the daemon is not
 * reading from is not to blame for a frame that stalls meanwhile; one
 * with a call still open (a Wait may stay days) or answers to take is
 * not idle.
 */
static void
conn_timer_cb(int fd, short events, void *arg)
{
	struct conn	*c = arg;
	int64_t		 now = conn_now();

	(void)fd;
	(void)events;
	if (c->dead)
		return;
	if (c->frame_start != 0) {
		if (!conn_reading(c))
			c->frame_start = now;
		else if (now >= conn_next_check(c)) {
			conn_warn_closing(c, "a frame started and did not "
			    "finish in time");
			conn_close(c, "partial frame timeout");
			return;
		}
	} else if (cfg->idle_timeout > 0 && now >= conn_next_check(c)) {
		if (c->ncalls > 0 || iobuf_used(&c->out) > 0)
			c->last_active = now;
		else {
			log_info("conn %llu (pid %d uid %u): idle, closing",
			    (unsigned long long)c->id, (int)c->pid,
			    (unsigned int)c->uid);
			conn_close(c, "idle timeout");
			return;
		}
	}
	conn_arm_timer(c);
}

/* Put c, with its socket fd, on the loop and on the list of connections. */
static void
conn_attach(struct conn *c, struct event_base *base, int fd)
{
	if (evutil_make_socket_nonblocking(fd) == -1)
		log_warn("conn %llu: O_NONBLOCK", (unsigned long long)c->id);
	c->fd = fd;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	if (c->rev == NULL || c->wev == NULL)
		fatalx("%s: event_new", __func__);
	conn_update_reading(c);
	if ((c->timer = evtimer_new(base, conn_timer_cb, c)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	c->last_active = conn_now();
	conn_arm_timer(c);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
}

/* A connection not yet on the loop, with id (0: the next one). */
static struct conn *
conn_new(uint64_t id)
{
	struct conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->id = id != 0 ? id : next_conn_id++;
	if (c->id >= next_conn_id)
		next_conn_id = c->id + 1;
	TAILQ_INIT(&c->calls);
	c->kslot = -1;
	return (c);
}

/* Take over an accepted socket. */
void
conn_accept(struct event_base *base, int fd)
{
	struct conn	*c;

	c = conn_new(0);
	conn_read_peercred(c, fd);
	if (conn_over_cap(c->uid)) {
		close(fd);
		free(c);
		return;
	}
	c->denied = !conn_peer_allowed(c);
	c->fd = fd;
	keep_conn_hold(c);
	conn_attach(c, base, fd);
	log_debug("conn %llu: accepted (pid %d uid %u gid %u)%s",
	    (unsigned long long)c->id, (int)c->pid, (unsigned int)c->uid,
	    (unsigned int)c->gid, c->denied ? ", peer not allowed" : "");
}

/* How many connections are open. */
unsigned int
conn_count(void)
{
	return (nconns);
}

/* How many connections a uid has open. */
unsigned int
conn_count_uid(uid_t uid)
{
	struct conn	*c;
	unsigned int	 n = 0;

	TAILQ_FOREACH(c, &conns, entry) {
		if (c->uid == uid)
			n++;
	}
	return (n);
}

/* Watch c for room to write (or stop), as its output needs. */
static void
conn_set_blocked(struct conn *c, bool blocked)
{
	struct timeval	tv;

	if (blocked == c->blocked)
		return;
	if (blocked) {
		/* A peer that takes none of its answers for this long is
		 * cut off (conn_write_cb): its queue would otherwise pin
		 * memory for good. */
		tv.tv_sec = cfg->write_timeout;
		tv.tv_usec = 0;
		event_add(c->wev, &tv);
	} else
		event_del(c->wev);
	c->blocked = blocked;
}

/* End a connection: its deferred calls are cancelled, it is freed later. */
void
conn_close(struct conn *c, const char *reason)
{
	struct call	*call;

	if (c->dead)
		return;
	log_debug("conn %llu: closed: %s", (unsigned long long)c->id, reason);
	c->dead = true;
	conn_update_reading(c);
	conn_set_blocked(c, false);
	if (c->to_write) {
		TAILQ_REMOVE(&to_write, c, write_entry);
		c->to_write = false;
	}
	evtimer_del(c->timer);
	while ((call = TAILQ_FIRST(&c->calls)) != NULL)
		call_detach_conn(call);
	TAILQ_REMOVE(&conns, c, entry);
	TAILQ_INSERT_TAIL(&dead_conns, c, entry);
	nconns--;
}

/* Free connections closed during the iteration. */
void
conn_free_dead(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&dead_conns)) != NULL) {
		TAILQ_REMOVE(&dead_conns, c, entry);
		freed_input += iobuf_free(&c->in);
		freed_input += iobuf_free(&c->out);
		event_free(c->timer);
		event_free(c->rev);
		event_free(c->wev);
		keep_conn_end(c);
		close(c->fd);
		free(c);
	}
	/* Big buffers let go stay in malloc's heap: give them back to
	 * the system once a few MiB were freed. */
	if (freed_input >= (4u << 20)) {
		malloc_trim(0);
		freed_input = 0;
	}
}

/* Close every connection (daemon exit). */
void
conn_close_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_close(c, "daemon exiting");
}

/*
 * Queue an answer; it is written with the others of the iteration
 * (conn_write_queued).  A peer that does not read its answers is cut off
 * once they pile up past max_output; past half of it, it is not read from
 * until it has taken all but a quarter (conn_write).
 */
void
conn_send(struct conn *c, const uint8_t *frame, size_t len)
{
	size_t	queued;

	if (c->dead)
		return;
	keep_dirty(c, KEEPER_DIRTY_WRITE);
	iobuf_append(&c->out, frame, len);
	queued = iobuf_used(&c->out);
	if (queued > cfg->max_output) {
		log_warnx("conn %llu (pid %d uid %u): %zu bytes of answers "
		    "unread (max %zu), closing", (unsigned long long)c->id,
		    (int)c->pid, (unsigned int)c->uid, queued,
		    cfg->max_output);
		conn_close(c, "output limit");
		return;
	}
	if (queued > cfg->max_output / 2) {
		c->held = true;
		conn_update_reading(c);
	}
	if (!c->to_write && !c->blocked) {
		TAILQ_INSERT_TAIL(&to_write, c, write_entry);
		c->to_write = true;
	}
}

/* Write the answers queued during the iteration, one write per connection. */
void
conn_write_queued(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&to_write)) != NULL) {
		TAILQ_REMOVE(&to_write, c, write_entry);
		c->to_write = false;
		conn_write(c);
	}
}

/*
 * Write what c's output holds until it is empty or the socket is full; a
 * full socket is watched until it has room (conn_write_cb).  Enough taken
 * lets a held peer be read again.
 */
static void
conn_write(struct conn *c)
{
	ssize_t	n;

	while (!c->dead && iobuf_used(&c->out) > 0) {
		n = send(c->fd, iobuf_head(&c->out), iobuf_used(&c->out),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			iobuf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_set_blocked(c, true);
			break;
		}
		conn_close(c, n == 0 ? "cannot write" : strerror(errno));
		return;
	}
	if (c->dead)
		return;
	if (iobuf_used(&c->out) == 0) {
		keep_clean(c, KEEPER_DIRTY_WRITE);
		conn_set_blocked(c, false);
		freed_input += iobuf_release_idle(&c->out, CONN_BUF_KEEP);
	}
	if (c->held && iobuf_used(&c->out) <= cfg->max_output / 4) {
		c->held = false;
		conn_update_reading(c);
	}
}

/* c's socket has room again, or none came for write_timeout. */
static void
conn_write_cb(int fd, short events, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	if (c->dead)
		return;
	if (events & EV_TIMEOUT) {
		conn_warn_closing(c, "no answer taken for "
		    "limits.write_timeout_secs");
		conn_close(c, "write timeout");
		return;
	}
	conn_write(c);
}

/*
 * Give queued answers up to a second to leave before the daemon exits
 * (best effort: a peer that does not read loses them).
 */
void
conn_flush_all(void)
{
	struct conn	*c;
	bool		 pending;
	int		 tries;

	/* No new requests: nothing could answer them now. */
	paused = true;
	TAILQ_FOREACH(c, &conns, entry)
		conn_update_reading(c);
	conn_write_queued();
	for (tries = 0; tries < 1000; tries++) {
		pending = false;
		TAILQ_FOREACH(c, &conns, entry) {
			if (iobuf_used(&c->out) > 0)
				pending = true;
		}
		if (!pending)
			return;
		event_base_loop(server_base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* Drop the payload of a refused frame as it arrives. */
static bool
conn_discard(struct conn *c, struct iobuf *in)
{
	size_t	n = iobuf_used(in);

	if (n > c->discard)
		n = c->discard;
	iobuf_consume(in, n);
	c->discard -= n;
	return (c->discard == 0);
}

/*
 * Judge a frame header.  Returns true if the frame is to be dispatched once
 * complete; false if it was refused (answered and its payload set to be
 * discarded) or is to be ignored.
 */
static bool
conn_check_header(struct conn *c, const struct frame_header *fh)
{
	char	msg[128];

	if (fh->length > cfg->max_frame) {
		snprintf(msg, sizeof(msg), "message length %u exceeds maximum "
		    "message size of %zu", fh->length, cfg->max_frame);
		log_warnx("conn %llu stream %u: %s", (unsigned long long)c->id,
		    fh->stream_id, msg);
		call_reply_now(c, fh->stream_id, STATUS_RESOURCE_EXHAUSTED, msg);
		return (false);
	}
	if (fh->type != FRAME_TYPE_REQUEST) {
		log_debug("conn %llu: ignoring frame of type %u",
		    (unsigned long long)c->id, fh->type);
		return (false);
	}
	if (fh->stream_id % 2 == 0) {
		snprintf(msg, sizeof(msg), "stream id %u is even: client "
		    "streams must be odd", fh->stream_id);
		call_reply_now(c, fh->stream_id, STATUS_INVALID_ARGUMENT, msg);
		return (false);
	}
	return (true);
}

/*
 * Refuse a request over the in-flight cap: the requests dispatched and
 * not yet answered (deferred, or waiting for the iteration's commit).
 * The refusals do not count, and never close the connection: that would
 * cancel the peer's deferred Waits, and the answers they queue are
 * bounded by max_output and write_timeout like any others.
 */
static bool
conn_over_inflight(struct conn *c, uint32_t stream_id)
{
	char	msg[128];

	if (c->ninflight < cfg->max_inflight)
		return (false);
	snprintf(msg, sizeof(msg), "too many requests in flight on this "
	    "connection (max %u)", cfg->max_inflight);
	call_reply_now(c, stream_id, STATUS_RESOURCE_EXHAUSTED, msg);
	return (true);
}

/* Cut complete frames out of in and dispatch them where they lie. */
static void
conn_cut_frames(struct conn *c, struct iobuf *in)
{
	struct frame_header	 fh;
	const uint8_t		*frame;

	while (!c->dead) {
		if (c->discard > 0 && !conn_discard(c, in))
			return;
		if (iobuf_used(in) < FRAME_HEADER_SIZE)
			return;
		frame = iobuf_head(in);
		frame_header_parse(frame, &fh);
		if (!conn_check_header(c, &fh)) {
			iobuf_consume(in, FRAME_HEADER_SIZE);
			c->discard = fh.length;
			c->frame_start = 0;
			continue;
		}
		if (iobuf_used(in) < FRAME_HEADER_SIZE + fh.length)
			return;
		if (conn_over_inflight(c, fh.stream_id)) {
			iobuf_consume(in, FRAME_HEADER_SIZE + fh.length);
			continue;
		}
		if (c->denied)
			call_reply_now(c, fh.stream_id, STATUS_PERMISSION_DENIED,
			    "peer credentials not allowed");
		else
			dispatch_request(c, fh.stream_id,
			    frame + FRAME_HEADER_SIZE, fh.length);
		iobuf_consume(in, FRAME_HEADER_SIZE + fh.length);
		c->frame_start = 0;
	}
}

/*
 * After cutting: a frame left begun (or a refused one still being
 * skipped) starts the clock for finishing it (conn_timer_cb); an emptied
 * input buffer is freed.
 */
static void
conn_frames_cut(struct conn *c)
{
	if (c->discard > 0 || iobuf_used(&c->in) > 0) {
		if (c->frame_start == 0)
			c->frame_start = conn_now();
	} else {
		c->frame_start = 0;
		freed_input += iobuf_free(&c->in);
	}
	conn_arm_timer(c);
}

/* Cut what c's own input buffer holds. */
static void
conn_read_frames(struct conn *c)
{
	conn_cut_frames(c, &c->in);
	if (!c->dead)
		conn_frames_cut(c);
}

/* A read returned n: false if the connection ended or nothing came. */
static bool
conn_read_result(struct conn *c, ssize_t n)
{
	if (n > 0)
		return (true);
	if (n == 0)
		conn_close(c, "peer closed");
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		conn_close(c, strerror(errno));
	return (false);
}

/*
 * Read into the shared buffer and cut the frames there; what is left of
 * an incomplete frame moves to c's own buffer.
 */
static void
conn_read_shared(struct conn *c)
{
	struct iobuf	in = { scratch, 0, 0, sizeof(scratch) };
	size_t		max = FRAME_HEADER_SIZE + cfg->max_frame + 4096;
	ssize_t		n;

	n = read(c->fd, scratch, max < sizeof(scratch) ? max : sizeof(scratch));
	if (!conn_read_result(c, n))
		return;
	c->last_active = conn_now();
	in.len = (size_t)n;
	conn_cut_frames(c, &in);
	if (c->dead)
		return;
	iobuf_append(&c->in, iobuf_head(&in), iobuf_used(&in));
	conn_frames_cut(c);
}

/*
 * Read into c's own buffer, which holds the start of a frame, up to one
 * maximal frame buffered (the input stays bounded: a complete frame is
 * always cut before more is read).  Returns false if nothing came or the
 * connection ended.
 */
static bool
conn_fill(struct conn *c)
{
	size_t	room;
	ssize_t	n;

	room = iobuf_room(&c->in, CONN_READ_MIN,
	    FRAME_HEADER_SIZE + cfg->max_frame + 4096);
	if (room == 0) {
		/* Cannot happen: what is left after cutting is less than
		 * one frame.  Stop rather than spin on a readable socket. */
		log_warnx("conn %llu: input full", (unsigned long long)c->id);
		conn_close(c, "input full");
		return (false);
	}
	n = read(c->fd, c->in.data + c->in.len, room);
	if (!conn_read_result(c, n))
		return (false);
	iobuf_fill(&c->in, (size_t)n);
	return (true);
}

/*
 * Once c holds nothing of a frame, its slot says so again: a crash from
 * here on leaves it resumable.
 */
static void
conn_input_settled(struct conn *c)
{
	if (!c->dead && c->discard == 0 && iobuf_used(&c->in) == 0)
		keep_clean(c, KEEPER_DIRTY_READ);
}

/*
 * c is readable.  Its slot is marked as reading first: bytes taken from
 * the socket and not yet cut into frames and dispatched would be lost
 * by a crash in between.
 */
static void
conn_read_cb(int fd, short events, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)events;
	if (c->dead)
		return;
	keep_dirty(c, KEEPER_DIRTY_READ);
	if (iobuf_used(&c->in) == 0)
		conn_read_shared(c);
	else if (conn_fill(c)) {
		c->last_active = conn_now();
		conn_read_frames(c);
	}
	conn_input_settled(c);
}

/*
 * Stop reading from every connection while a re-exec gets ready: what
 * peers send stays in the kernel or in the input buffers and is carried.
 * Answers keep leaving.
 */
void
conn_pause_all(void)
{
	struct conn	*c;

	paused = true;
	TAILQ_FOREACH(c, &conns, entry)
		conn_update_reading(c);
}

/* The re-exec was given up: read again, starting with what is buffered. */
void
conn_resume_all(void)
{
	struct conn	*c, *next;

	paused = false;
	TAILQ_FOREACH_SAFE(c, &conns, entry, next) {
		conn_update_reading(c);
		conn_read_frames(c);
		conn_input_settled(c);
	}
}

/* Cut the frames already buffered on c (after a re-exec). */
void
conn_read_input(struct conn *c)
{
	conn_read_frames(c);
	conn_input_settled(c);
}

/* Let fd survive (on) or not (off) an exec. */
int
conn_set_inherit(int fd, bool on)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1)
		return (-1);
	flags = on ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC;
	return (fcntl(fd, F_SETFD, flags));
}

/* Describe c for the hand-over; its socket is left open across the exec. */
static void
conn_export_one(struct conn *c, sv_HandoverConn *hc)
{
	hc->fd = c->fd;
	hc->id = c->id;
	hc->pid = c->pid;
	hc->uid = c->uid;
	hc->gid = c->gid;
	hc->denied = c->denied;
	hc->discard = c->discard;
	hc->input.len = iobuf_used(&c->in);
	hc->input.data = iobuf_head(&c->in);
	hc->output.len = iobuf_used(&c->out);
	hc->output.data = iobuf_head(&c->out);
	hc->keeper_slot = c->kslot >= 0 ? (uint32_t)c->kslot + 1 : 0;
	hc->calls_count = (pb_size_t)call_export(c, &hc->calls);
	if (conn_set_inherit(hc->fd, true) == -1)
		log_warn("conn %llu: cannot keep its socket across the exec",
		    (unsigned long long)c->id);
}

/*
 * Every live connection for the hand-over (views into the buffers, which
 * live until the exec).  *next_id: the next connection id to give.
 */
size_t
conn_export(sv_HandoverConn **out, uint64_t *next_id)
{
	struct conn	*c;
	size_t		 n = 0;

	*out = xcalloc(nconns + 1, sizeof(**out));
	TAILQ_FOREACH(c, &conns, entry)
		conn_export_one(c, &(*out)[n++]);
	*next_id = next_conn_id;
	return (n);
}

/*
 * Rebuild a connection from the hand-over: its socket (checked by the
 * caller), its credentials, and the bytes it had buffered.  The input is
 * cut into frames later (conn_read_input), after its carried calls; the
 * output leaves as soon as the socket is found writable, before any
 * answer of the new image.
 */
struct conn *
conn_import(struct event_base *base, const sv_HandoverConn *hc)
{
	struct conn	*c;

	c = conn_new(hc->id);
	c->pid = hc->pid;
	c->uid = hc->uid;
	c->gid = hc->gid;
	c->denied = hc->denied;
	c->discard = hc->discard;
	conn_set_inherit(hc->fd, false);
	c->fd = hc->fd;
	keep_conn_carried(c, hc->keeper_slot);
	conn_attach(c, base, hc->fd);
	iobuf_append(&c->in, hc->input.data, hc->input.len);
	if (hc->output.len > 0) {
		keep_dirty(c, KEEPER_DIRTY_WRITE);
		iobuf_append(&c->out, hc->output.data, hc->output.len);
		conn_set_blocked(c, true);
	}
	return (c);
}

/*
 * Serve again a connection that the keeper kept through a crash of the
 * previous daemon, whose slot says it stands at a frame boundary with no
 * answer owed but its recorded Waits (keep_resume).  The peer's
 * credentials are read again; the caps are not applied: it was accepted
 * once already.
 */
struct conn *
conn_adopt(struct event_base *base, int fd, unsigned int slot)
{
	struct conn	*c;

	c = conn_new(0);
	conn_read_peercred(c, fd);
	c->denied = !conn_peer_allowed(c);
	c->fd = fd;
	keep_conn_attach(c, slot);
	conn_attach(c, base, fd);
	return (c);
}

/*
 * Daemon exit with a keeper: every connection's slot stays as it is, so
 * that the next daemon resumes them; closing them here is then only
 * closing this process's descriptors (no shutdown, nothing dropped).
 */
void
conn_leave_to_keeper(void)
{
	struct conn	*c;

	TAILQ_FOREACH(c, &conns, entry)
		keep_conn_leave(c);
}

/* Give new connections ids from here on (they never repeat). */
void
conn_set_next_id(uint64_t id)
{
	if (id > next_conn_id)
		next_conn_id = id;
}
