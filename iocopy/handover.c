/*
 * handover.c: an iocopy across a live re-execution (export, import) and
 * after a crash (reattach).
 *
 * A re-execution keeps every descriptor whose close-on-exec flag is
 * clear, so the description (sandboxd.v1.Iocopy) only has to name them,
 * with the flags of the copies and the bytes a pump had read and not yet
 * written.  A crash keeps nothing of the daemon's: what the process holds
 * (handed FIFOs) goes on by itself, the rest is reopened or given up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iocint.h"
#include "log.h"
#include "pbutil.h"
#include "xmalloc.h"
#include "sandboxd/v1/iocopy.pb.h"

#define IOCOPY_VERSION	1

/* Let fd survive an exec (on), or not. */
static void
ioc_inherit(int fd, bool on)
{
	int	fl;

	if (fd == -1 || (fl = fcntl(fd, F_GETFD)) == -1)
		return;
	fl = on ? fl & ~FD_CLOEXEC : fl | FD_CLOEXEC;
	if (fcntl(fd, F_SETFD, fl) == -1)
		log_warn("%s: fcntl", __func__);
}

/* Apply fn to every descriptor io holds. */
static void
ioc_each_fd(struct iocopy *io, void (*fn)(int, bool), bool on)
{
	int	i;

	for (i = 0; i < 3; i++) {
		fn(io->child[i], on);
		fn(io->out_src[i], on);
		fn(io->sink[i].fd, on);
	}
	fn(io->in_src, on);
	fn(io->in_dst, on);
	fn(io->stdin_keep, on);
	if (io->con != NULL) {
		fn(io->con->lfd, on);
		fn(io->con->cfd, on);
		fn(io->con->master, on);
	}
}

/* Describe stream i. */
static void
ioc_export_stream(struct iocopy *io, int i, sv_IocopyStream *s)
{
	struct pump	*p = io->pump[i];

	if (io->path[i] != NULL)
		strncpy(s->path, io->path[i], sizeof(s->path) - 1);
	s->child = io->child[i];
	s->src = i == IOC_STDIN ? io->in_src : io->out_src[i];
	s->dst = i == IOC_STDIN ? io->in_dst : -1;
	s->sink = io->sink[i].fd;
	s->sink_fifo = io->sink[i].fifo;
	s->sink_releasing = io->sink[i].releasing;
	s->over = io->over[i];
	if (p != NULL && !p->done && p->len > 0) {
		s->pending.data = (const pb_byte_t *)p->buf + p->off;
		s->pending.len = p->len;
	}
}

/* Describe the console of a terminal. */
static void
ioc_export_console(struct console *c, sv_Iocopy *m)
{
	if (c->path != NULL)
		strncpy(m->console_path, c->path, sizeof(m->console_path) - 1);
	m->console_listen = c->lfd;
	m->console_conn = c->cfd;
	m->master = c->master;
	m->console_lost = c->lost;
	m->size_set = c->size_set;
	m->rows = c->rows;
	m->cols = c->cols;
}

/* Describe io for the next image; its descriptors survive the exec. */
int
iocopy_export(struct iocopy *io, uint8_t **buf, size_t *len)
{
	sv_Iocopy	*m = xcalloc(1, sizeof(*m));
	char		*err = NULL;
	int		 i;
	bool		 ok;

	m->version = IOCOPY_VERSION;
	m->terminal = io->terminal;
	m->copy = io->copy;
	m->streams_count = 3;
	for (i = 0; i < 3; i++)
		ioc_export_stream(io, i, &m->streams[i]);
	m->stdin_keep = io->stdin_keep;
	m->stdin_closed = io->stdin_closed;
	m->exited = io->exited;
	m->console_listen = m->console_conn = m->master = -1;
	if (io->con != NULL)
		ioc_export_console(io->con, m);
	ok = msg_encode(sv_Iocopy_fields, m, buf, len, &err);
	free(m);
	if (!ok) {
		log_warnx("%s: %s", __func__, err);
		free(err);
		return (-1);
	}
	ioc_each_fd(io, ioc_inherit, true);
	return (0);
}

/* No exec after all: the descriptors are close-on-exec again. */
void
iocopy_export_cancel(struct iocopy *io)
{
	ioc_each_fd(io, ioc_inherit, false);
}

/* Whether fd is -1 or an open descriptor. */
static bool
ioc_fd_ok(int fd)
{
	return (fd == -1 || (fd >= 0 && fcntl(fd, F_GETFD) != -1));
}

/* Check what m names before anything is built from it. */
static int
ioc_import_check(const sv_Iocopy *m, char **err)
{
	const sv_IocopyStream	*s;
	int			 i;

	if (m->version != IOCOPY_VERSION) {
		xasprintf(err, "iocopy version %u, not %u", m->version,
		    IOCOPY_VERSION);
		return (-1);
	}
	if (m->streams_count != 3) {
		xasprintf(err, "iocopy: %u streams", m->streams_count);
		return (-1);
	}
	for (i = 0; i < 3; i++) {
		s = &m->streams[i];
		if (!ioc_fd_ok(s->child) || !ioc_fd_ok(s->src) ||
		    !ioc_fd_ok(s->dst) || !ioc_fd_ok(s->sink))
			goto badfd;
		if (s->pending.len > PUMP_BUF) {
			xasprintf(err, "iocopy: %zu pending bytes",
			    s->pending.len);
			return (-1);
		}
	}
	if (!ioc_fd_ok(m->stdin_keep) || !ioc_fd_ok(m->console_listen) ||
	    !ioc_fd_ok(m->console_conn) || !ioc_fd_ok(m->master))
		goto badfd;
	if (m->rows > UINT16_MAX || m->cols > UINT16_MAX) {
		xasprintf(err, "iocopy: terminal size %ux%u", m->cols, m->rows);
		return (-1);
	}
	return (0);
badfd:
	xasprintf(err, "iocopy: a descriptor is not open");
	return (-1);
}

/* Take stream i's descriptors and flags from s. */
static void
ioc_import_stream(struct iocopy *io, int i, const sv_IocopyStream *s)
{
	io->child[i] = s->child;
	if (i == IOC_STDIN) {
		io->in_src = s->src;
		io->in_dst = s->dst;
	} else
		io->out_src[i] = s->src;
	io->sink[i].fd = s->sink;
	io->sink[i].fifo = s->sink_fifo;
	io->over[i] = s->over;
}

/* The console of a terminal, as m describes it. */
static struct console *
ioc_import_console(const sv_Iocopy *m)
{
	struct console	*c = xcalloc(1, sizeof(*c));

	c->path = m->console_path[0] != '\0' ? xstrdup(m->console_path) :
	    NULL;
	c->lfd = m->console_listen;
	c->cfd = m->console_conn;
	c->master = m->master;
	c->lost = m->console_lost;
	c->size_set = m->size_set;
	c->rows = (uint16_t)m->rows;
	c->cols = (uint16_t)m->cols;
	return (c);
}

/* Build io from a checked m and start its copies. */
static struct iocopy *
ioc_import_build(struct event_base *base, const sv_Iocopy *m)
{
	struct iocopy_cfg	 cfg = { 0 };
	const sv_IocopyStream	*s;
	struct iocopy		*io;
	int			 i;

	cfg.stdin_path = m->streams[0].path;
	cfg.stdout_path = m->streams[1].path;
	cfg.stderr_path = m->streams[2].path;
	cfg.terminal = m->terminal;
	cfg.copy = m->copy;
	io = ioc_alloc(base, &cfg);
	for (i = 0; i < 3; i++)
		ioc_import_stream(io, i, &m->streams[i]);
	io->stdin_keep = m->stdin_keep;
	io->stdin_closed = m->stdin_closed;
	io->exited = m->exited;
	if (m->terminal)
		io->con = ioc_import_console(m);
	ioc_each_fd(io, ioc_inherit, false);
	ioc_make_pumps(io);
	for (i = 0; i < 3; i++) {
		s = &m->streams[i];
		if (io->pump[i] != NULL)
			pump_set_pending(io->pump[i], s->pending.data,
			    s->pending.len);
	}
	return (io);
}

/* Rebuild, in this image, the io an earlier image exported. */
int
iocopy_import(struct event_base *base, const uint8_t *buf, size_t len,
    struct iocopy **out, char **err)
{
	sv_Iocopy	*m = xcalloc(1, sizeof(*m));
	struct iocopy	*io;
	int		 i;

	*out = NULL;
	if (!msg_decode(sv_Iocopy_fields, m, buf, len, err) ||
	    ioc_import_check(m, err) == -1) {
		free(m);
		return (-1);
	}
	io = ioc_import_build(base, m);
	for (i = 1; i < 3; i++)
		if (m->streams[i].sink_releasing)
			ioc_sink_release(io, i);
	free(m);
	if (io->con != NULL)
		console_start(io);
	ioc_run_pumps(io);
	*out = io;
	return (0);
}

/* After a crash: reopen what can be; see iocopy.h. */
int
iocopy_reattach(struct event_base *base, const struct iocopy_cfg *cfg,
    struct iocopy **out, char **err)
{
	struct iocopy	*io = ioc_alloc(base, cfg);
	int		 i;

	*out = NULL;
	if (ioc_check_paths(io, err) == -1) {
		iocopy_free(io);
		return (-1);
	}
	if (io->copy) {
		/* The pipes or the pty master died with the daemon. */
		for (i = 0; i < 3; i++)
			io->over[i] = true;
		if (io->terminal) {
			io->con = xcalloc(1, sizeof(*io->con));
			io->con->lfd = io->con->cfd = io->con->master = -1;
			io->con->lost = true;
		}
		*out = io;
		return (0);
	}
	for (i = 1; i < 3; i++) {
		if (io->path[i] == NULL || access(io->path[i], F_OK) == -1)
			continue;	/* containerd removed it */
		if (ioc_open_sink(io, i, err) == -1) {
			iocopy_free(io);
			return (-1);
		}
	}
	*out = io;
	return (0);
}
