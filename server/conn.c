/*
 * conn.c: client connections: one bufferevent each, ttrpc frames cut out
 * of the input, answers queued on the output.
 *
 * A frame's header is copied out and judged before any of its payload is
 * pulled up, so a peer cannot make the daemon allocate what it declares.
 * Every way a connection ends goes through conn_close(); the memory is
 * freed after the loop iteration, never under a running callback.
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

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "frame.h"
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

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_read_frames(struct conn *);
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

/* Whether the daemon is reading c now (not held back by it or a re-exec). */
static bool
conn_reading(const struct conn *c)
{
	return (!paused && (bufferevent_get_enabled(c->bev) & EV_READ));
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
		if (c->ncalls > 0 || evbuffer_get_length(
		    bufferevent_get_output(c->bev)) > 0)
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
	struct timeval	tv;

	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("%s: bufferevent_socket_new", __func__);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	/* Stop reading past one maximal frame: the input stays bounded. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    FRAME_HEADER_SIZE + cfg->max_frame + 4096);
	bufferevent_setwatermark(c->bev, EV_WRITE, cfg->max_output / 4, 0);
	/* A peer that takes none of its answers for this long is cut off
	 * (conn_event_cb): its queue would otherwise pin memory for good. */
	tv.tv_sec = cfg->write_timeout;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->bev, paused ? EV_WRITE : EV_READ | EV_WRITE);
	if ((c->timer = evtimer_new(base, conn_timer_cb, c)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	c->last_active = conn_now();
	conn_arm_timer(c);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
}

/* Take over an accepted socket. */
void
conn_accept(struct event_base *base, int fd)
{
	struct conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->id = next_conn_id++;
	TAILQ_INIT(&c->calls);
	conn_read_peercred(c, fd);
	if (conn_over_cap(c->uid)) {
		close(fd);
		free(c);
		return;
	}
	c->denied = !conn_peer_allowed(c);
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

/* End a connection: its deferred calls are cancelled, it is freed later. */
void
conn_close(struct conn *c, const char *reason)
{
	struct call	*call;

	if (c->dead)
		return;
	log_debug("conn %llu: closed: %s", (unsigned long long)c->id, reason);
	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
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
		freed_input += evbuffer_get_length(bufferevent_get_input(c->bev));
		freed_input += evbuffer_get_length(bufferevent_get_output(c->bev));
		event_free(c->timer);
		bufferevent_free(c->bev);
		free(c);
	}
	/* Many small chains of big buffers stay in malloc's heap: give
	 * them back to the system once a few MiB were let go. */
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
 * Queue an answer.  A peer that does not read its answers is cut off once
 * they pile up past max_output; past half of it, it is not read from until
 * it catches up (conn_write_cb).
 */
void
conn_send(struct conn *c, const uint8_t *frame, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	if (bufferevent_write(c->bev, frame, len) == -1) {
		conn_close(c, "cannot queue output");
		return;
	}
	if (evbuffer_get_length(out) > cfg->max_output) {
		log_warnx("conn %llu (pid %d uid %u): %zu bytes of answers "
		    "unread (max %zu), closing", (unsigned long long)c->id,
		    (int)c->pid, (unsigned int)c->uid,
		    evbuffer_get_length(out), cfg->max_output);
		conn_close(c, "output limit");
	} else if (evbuffer_get_length(out) > cfg->max_output / 2)
		bufferevent_disable(c->bev, EV_READ);
}

/*
 * Give queued answers up to a second to leave before the daemon exits
 * (best effort: a peer that does not read loses them).  The loop itself
 * does the writing; evbuffer_write on a bufferevent's output would find it
 * frozen.
 */
void
conn_flush_all(void)
{
	struct conn	*c;
	bool		 pending;
	int		 tries;

	/* No new requests: nothing could answer them now. */
	TAILQ_FOREACH(c, &conns, entry)
		bufferevent_disable(c->bev, EV_READ);
	for (tries = 0; tries < 1000; tries++) {
		pending = false;
		TAILQ_FOREACH(c, &conns, entry) {
			if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
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
conn_discard(struct conn *c, struct evbuffer *in)
{
	size_t	n = evbuffer_get_length(in);

	if (n > c->discard)
		n = c->discard;
	evbuffer_drain(in, n);
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

/* Cut complete frames out of the input and dispatch them. */
static void
conn_cut_frames(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct frame_header	 fh;
	uint8_t			 hdr[FRAME_HEADER_SIZE];
	const uint8_t		*frame;

	while (!c->dead) {
		if (c->discard > 0 && !conn_discard(c, in))
			return;
		if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)sizeof(hdr))
			return;
		frame_header_parse(hdr, &fh);
		if (!conn_check_header(c, &fh)) {
			evbuffer_drain(in, sizeof(hdr));
			c->discard = fh.length;
			c->frame_start = 0;
			continue;
		}
		if (evbuffer_get_length(in) < sizeof(hdr) + fh.length)
			return;
		if (conn_over_inflight(c, fh.stream_id)) {
			evbuffer_drain(in, sizeof(hdr) + fh.length);
			continue;
		}
		frame = evbuffer_pullup(in, sizeof(hdr) + fh.length);
		if (frame == NULL)
			fatalx("%s: evbuffer_pullup", __func__);
		if (c->denied)
			call_reply_now(c, fh.stream_id, STATUS_PERMISSION_DENIED,
			    "peer credentials not allowed");
		else
			dispatch_request(c, fh.stream_id, frame + sizeof(hdr),
			    fh.length);
		evbuffer_drain(in, sizeof(hdr) + fh.length);
		c->frame_start = 0;
	}
}

/*
 * Cut what can be cut; then a frame left begun (or a refused one still
 * being skipped) starts the clock for finishing it (conn_timer_cb).
 */
static void
conn_read_frames(struct conn *c)
{
	conn_cut_frames(c);
	if (c->dead)
		return;
	if (c->discard > 0 ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		if (c->frame_start == 0)
			c->frame_start = conn_now();
	} else
		c->frame_start = 0;
	conn_arm_timer(c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	c->last_active = conn_now();
	conn_read_frames(c);
}

/* Output drained below the low watermark: read from the peer again. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (!c->dead && !paused)
		bufferevent_enable(bev, EV_READ);
}

static void
conn_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (events & BEV_EVENT_TIMEOUT) {
		conn_warn_closing(c, "no answer taken for "
		    "limits.write_timeout_secs");
		conn_close(c, "write timeout");
	} else if (events & BEV_EVENT_EOF)
		conn_close(c, "peer closed");
	else if (events & BEV_EVENT_ERROR)
		conn_close(c, strerror(EVUTIL_SOCKET_ERROR()));
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
		bufferevent_disable(c->bev, EV_READ);
}

/* The re-exec was given up: read again, starting with what is buffered. */
void
conn_resume_all(void)
{
	struct conn	*c, *next;

	paused = false;
	TAILQ_FOREACH_SAFE(c, &conns, entry, next) {
		bufferevent_enable(c->bev, EV_READ);
		conn_read_frames(c);
	}
}

/* Cut the frames already buffered on c (after a re-exec). */
void
conn_read_input(struct conn *c)
{
	conn_read_frames(c);
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
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	hc->fd = bufferevent_getfd(c->bev);
	hc->id = c->id;
	hc->pid = c->pid;
	hc->uid = c->uid;
	hc->gid = c->gid;
	hc->denied = c->denied;
	hc->discard = c->discard;
	hc->input.len = evbuffer_get_length(in);
	hc->input.data = evbuffer_pullup(in, -1);
	hc->output.len = evbuffer_get_length(out);
	hc->output.data = evbuffer_pullup(out, -1);
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
 * Put bytes read by the previous image back into c's input.  A socket
 * bufferevent keeps its input's end frozen but while it reads: do what
 * its read callback does.
 */
static void
conn_put_back_input(struct conn *c, const uint8_t *data, size_t len)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	int		 rc;

	evbuffer_unfreeze(in, 0);
	rc = evbuffer_add(in, data, len);
	evbuffer_freeze(in, 0);
	if (rc == -1)
		fatalx("%s: evbuffer_add", __func__);
}

/*
 * Rebuild a connection from the hand-over: its socket (checked by the
 * caller), its credentials, and the bytes it had buffered.  The input is
 * cut into frames later (conn_read_input), after its carried calls.
 */
struct conn *
conn_import(struct event_base *base, const sv_HandoverConn *hc)
{
	struct conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->id = hc->id;
	if (c->id >= next_conn_id)
		next_conn_id = c->id + 1;
	TAILQ_INIT(&c->calls);
	c->pid = hc->pid;
	c->uid = hc->uid;
	c->gid = hc->gid;
	c->denied = hc->denied;
	c->discard = hc->discard;
	conn_set_inherit(hc->fd, false);
	conn_attach(c, base, hc->fd);
	if (hc->input.len > 0)
		conn_put_back_input(c, hc->input.data, hc->input.len);
	if (hc->output.len > 0 && bufferevent_write(c->bev, hc->output.data,
	    hc->output.len) == -1)
		fatalx("%s: bufferevent_write", __func__);
	return (c);
}

/* Give new connections ids from here on (they never repeat). */
void
conn_set_next_id(uint64_t id)
{
	if (id > next_conn_id)
		next_conn_id = id;
}
