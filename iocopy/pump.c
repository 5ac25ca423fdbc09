/*
 * pump.c: the copy engine.  A pump moves bytes from one non-blocking
 * descriptor to another on the loop, and waits for one thing at a time:
 * for its source to be readable while it has nothing to write, for its
 * destination to be writable while it has.  So a full destination stops
 * the reading of the source (the pipe behind it fills and the writer
 * blocks): back-pressure, never a dropped byte.
 *
 * Where the loop's backend has edge-triggered events (epoll) both events
 * stay registered and each edge runs the pump until it would block: no
 * epoll_ctl per switch between waiting for the source and waiting for
 * the destination.  Elsewhere the pump registers the one it waits for.
 *
 * When one side is a pipe (containerd's FIFOs always are) splice(2) moves
 * the bytes inside the kernel and the pump holds none.  A pair the kernel
 * cannot splice (EINVAL: a kernel whose tty has no splice) falls back to
 * read/write through one PUMP_BUF buffer, held only while there are bytes
 * to move.  Each pass moves at most PUMP_BURST
 * bytes, so a flood shares the loop with everyone else.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iocint.h"
#include "log.h"
#include "xmalloc.h"

static void	pump_cb(evutil_socket_t, short, void *);

/* Set or clear O_NONBLOCK on fd's open file description. */
int
fd_set_nonblock(int fd, bool on)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return (fcntl(fd, F_SETFL, fl));
}

/* Whether fd is a pipe or FIFO. */
bool
fd_is_fifo(int fd)
{
	struct stat	sb;

	return (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode));
}

/* Whether epoll can watch fd (regular files and /dev/null it cannot). */
static bool
fd_pollable(int fd)
{
	struct stat	sb;

	if (fstat(fd, &sb) == -1)
		return (false);
	return (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode) || isatty(fd));
}

/* A pump from src to dst; it starts with pump_start. */
struct pump *
pump_new(struct event_base *base, int src, int dst, pump_done_fn done,
    pump_done_fn moved, void *arg)
{
	struct pump	*p = xcalloc(1, sizeof(*p));
	short		 ev;

	p->base = base;
	p->src = src;
	p->dst = dst;
	p->src_tty = isatty(src);
	p->dst_poll = fd_pollable(dst);
	p->splice = true;
	p->done_cb = done;
	p->moved_cb = moved;
	p->arg = arg;
	p->et = (event_base_get_features(base) & EV_FEATURE_ET) != 0;
	ev = p->et ? EV_PERSIST | EV_ET : 0;
	p->rev = event_new(base, src, EV_READ | ev, pump_cb, p);
	p->wev = p->dst_poll ? event_new(base, dst, EV_WRITE | ev, pump_cb,
	    p) : NULL;
	if (p->rev == NULL || (p->dst_poll && p->wev == NULL))
		fatalx("%s: event_new", __func__);
	return (p);
}

/* Bytes read before a re-exec, to be written first. */
void
pump_set_pending(struct pump *p, const void *data, size_t len)
{
	if (len == 0)
		return;
	if (len > PUMP_BUF)
		fatalx("%s: %zu bytes", __func__, len);
	if (p->buf == NULL)
		p->buf = xmalloc(PUMP_BUF);
	memcpy(p->buf, data, len);
	p->off = 0;
	p->len = len;
	p->splice = false;	/* the buffer goes first; then read/write */
}

/*
 * Bytes read or readable but not yet written: the buffer, and what waits
 * in the source (a pipe's or a pty master's FIONREAD).
 */
uint64_t
pump_backlog(struct pump *p)
{
	int	n = 0;

	if (ioctl(p->src, FIONREAD, &n) == -1 || n < 0)
		n = 0;
	return ((uint64_t)p->len + (uint64_t)n);
}

/* Stop watching; the descriptors stay with the caller. */
void
pump_free(struct pump *p)
{
	if (p == NULL)
		return;
	event_free(p->rev);
	if (p->wev != NULL)
		event_free(p->wev);
	free(p->buf);
	free(p);
}

/*
 * Wait for the source (EV_READ) or the destination (EV_WRITE); 0: the
 * pass used its burst and the pump goes on at the next pass.
 */
static void
pump_wait(struct pump *p, short what)
{
	if (what == 0) {
		event_active(p->rev, EV_READ, 0);
		return;
	}
	if (p->et)
		return;		/* both registered: the next edge comes */
	if (what == EV_WRITE && !p->dst_poll) {
		/* A file is always writable: come back next pass. */
		event_active(p->rev, EV_WRITE, 0);
		return;
	}
	if (what == EV_READ) {
		if (p->wev != NULL)
			event_del(p->wev);
		event_add(p->rev, NULL);
	} else {
		event_del(p->rev);
		event_add(p->wev, NULL);
	}
}

/* The source is finished and everything is written (or cannot be). */
static void
pump_finish(struct pump *p)
{
	event_del(p->rev);
	if (p->wev != NULL)
		event_del(p->wev);
	p->done = true;
	p->len = 0;
	if (p->done_cb != NULL)
		p->done_cb(p, p->arg);
}

/* Whether a failed read means the source is over (EOF, hang-up). */
static bool
pump_src_over(struct pump *p, int err)
{
	return (err == EIO && p->src_tty);
}

/* Whether a failed write means the destination is gone for good. */
static bool
pump_dst_gone(int err)
{
	return (err == EPIPE || err == EIO || err == EBADF || err == ENOSPC ||
	    err == EDQUOT || err == EFBIG);
}

/* Whether reading src now would not wait: bytes, EOF or an error. */
static bool
pump_src_ready(struct pump *p)
{
	struct pollfd	pfd = { .fd = p->src, .events = POLLIN };

	return (poll(&pfd, 1, 0) == 1 && pfd.revents != 0);
}

/*
 * splice src -> dst.  0 when the pass is over (waiting, or done), 1 when
 * the pair cannot splice and read/write must take over.
 */
static int
pump_splice(struct pump *p)
{
	size_t	moved = 0;
	ssize_t	n;

	while (moved < PUMP_BURST) {
		n = splice(p->src, NULL, p->dst, NULL, PUMP_BUF,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			moved += (size_t)n;
			p->written += (uint64_t)n;
			continue;
		}
		if (n == 0 || (n == -1 && pump_src_over(p, errno))) {
			pump_finish(p);
			return (0);
		}
		if (errno == EINTR)
			continue;
		if (errno == EINVAL) {
			p->splice = false;
			return (1);
		}
		if (errno != EAGAIN) {
			if (!pump_dst_gone(errno))
				log_warn("%s: splice", __func__);
			pump_finish(p);
			return (0);
		}
		/*
		 * Empty source or full destination: splice does not say
		 * which.  A source with bytes or at EOF means the
		 * destination (waiting on the source would spin).
		 */
		if (!p->et)
			pump_wait(p, pump_src_ready(p) ? EV_WRITE : EV_READ);
		return (0);
	}
	pump_wait(p, 0);
	return (0);
}

/* Fill the empty buffer from src: 1 if bytes came, 0 if waiting/over. */
static int
pump_fill(struct pump *p)
{
	ssize_t	n;

	if (p->buf == NULL)
		p->buf = xmalloc(PUMP_BUF);
	for (;;) {
		n = read(p->src, p->buf, PUMP_BUF);
		if (n > 0) {
			p->off = 0;
			p->len = (size_t)n;
			return (1);
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			/* Idle: an idle pump holds no buffer. */
			free(p->buf);
			p->buf = NULL;
			pump_wait(p, EV_READ);
			return (0);
		}
		if (n == -1 && !pump_src_over(p, errno))
			log_warn("%s: read", __func__);
		pump_finish(p);
		return (0);
	}
}

/* read/write through the buffer. */
static void
pump_rw(struct pump *p)
{
	size_t	moved = 0;
	ssize_t	n;

	while (moved < PUMP_BURST) {
		if (p->len == 0 && pump_fill(p) == 0)
			return;
		n = write(p->dst, p->buf + p->off, p->len);
		if (n > 0) {
			p->off += (size_t)n;
			p->len -= (size_t)n;
			moved += (size_t)n;
			p->written += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			pump_wait(p, EV_WRITE);
			return;
		}
		if (!pump_dst_gone(errno))
			log_warn("%s: write", __func__);
		pump_finish(p);
		return;
	}
	pump_wait(p, 0);
}

/* One pass: splice if it may, else read/write; report progress. */
static void
pump_run(struct pump *p)
{
	uint64_t	before = p->written;

	if (p->done)
		return;
	if (!p->splice || pump_splice(p) != 0)
		pump_rw(p);
	if (!p->done && p->written != before && p->moved_cb != NULL)
		p->moved_cb(p, p->arg);
}

/* Source readable or destination writable. */
static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump_run(arg);
}

/* Begin copying (and write what an import carried). */
void
pump_start(struct pump *p)
{
	if (p->et && (event_add(p->rev, NULL) == -1 ||
	    (p->wev != NULL && event_add(p->wev, NULL) == -1)))
		fatalx("%s: event_add", __func__);
	pump_run(p);
}
