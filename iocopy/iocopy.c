/*
 * iocopy.c: a process's stdio: which descriptors the child gets, the
 * keep-alives, CloseIO, the drain, and the copies behind a terminal (or
 * cfg->copy).  See iocopy.h for the two ways (handed FIFOs, copies) and
 * why the FIFOs are handed over when they can be.
 *
 * Output FIFOs are opened O_RDWR by the daemon (the sink): it never
 * meets ENXIO (no reader yet), a write never raises SIGPIPE while
 * containerd is away, and copies write through it.  Closing the sink
 * while bytes are still in the FIFO and no one else has it open would
 * throw them away, so a sink is closed only once the FIFO is empty
 * (FIONREAD), rechecked on a timer while containerd reads.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "iocint.h"
#include "log.h"
#include "xmalloc.h"

#define SINK_LINGER_MIN_MS	5
#define SINK_LINGER_MAX_MS	1000

static const char *const ioc_names[3] = { "stdin", "stdout", "stderr" };

static void	ioc_drained_cb(evutil_socket_t, short, void *);
static void	ioc_linger_cb(evutil_socket_t, short, void *);

/* Close *fd if open, and forget it. */
void
ioc_close(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* An empty io for cfg: paths copied, no descriptor yet. */
struct iocopy *
ioc_alloc(struct event_base *base, const struct iocopy_cfg *cfg)
{
	struct iocopy	*io = xcalloc(1, sizeof(*io));
	const char	*paths[3];
	int		 i;

	io->base = base;
	io->terminal = cfg->terminal;
	io->copy = cfg->copy || cfg->terminal;
	paths[0] = cfg->stdin_path;
	paths[1] = cfg->stdout_path;
	paths[2] = cfg->terminal ? NULL : cfg->stderr_path;
	for (i = 0; i < 3; i++) {
		if (paths[i] != NULL && *paths[i] != '\0')
			io->path[i] = xstrdup(paths[i]);
		io->child[i] = io->out_src[i] = -1;
		io->sink[i].fd = -1;
		io->sink[i].io = io;
	}
	io->in_src = io->in_dst = io->stdin_keep = -1;
	io->drained_ev = event_new(base, -1, 0, ioc_drained_cb, io);
	if (io->drained_ev == NULL)
		fatalx("%s: event_new", __func__);
	return (io);
}

/*
 * containerd's stdio strings are paths or URIs: "fifo://" (the default
 * scheme) and "file://" (append to a file, made if missing) name a path;
 * another scheme ("binary://", a logging program) is not supported here.
 */
int
ioc_check_paths(struct iocopy *io, char **err)
{
	char	*p;
	int	 i;

	for (i = 0; i < 3; i++) {
		if ((p = io->path[i]) == NULL)
			continue;
		if (strncmp(p, "fifo://", 7) == 0 ||
		    strncmp(p, "file://", 7) == 0) {
			io->create[i] = p[2] == 'l';
			memmove(p, p + 7, strlen(p + 7) + 1);
		}
		if (*p != '/') {
			xasprintf(err, "%s %s: neither an absolute path nor "
			    "a fifo:// or file:// URI", ioc_names[i],
			    io->path[i]);
			return (-1);
		}
	}
	return (0);
}

/* Open path with flags, or say why not. */
static int
ioc_open_path(struct iocopy *io, int i, int flags, char **err)
{
	int	fd;

	if ((fd = open(io->path[i], flags | O_CLOEXEC | O_NOCTTY, 0644)) == -1)
		xasprintf(err, "%s %s: %s", ioc_names[i], io->path[i],
		    strerror(errno));
	return (fd);
}

/*
 * The sink of output i: the FIFO O_RDWR | O_NONBLOCK (never ENXIO, never
 * SIGPIPE), a file for appending, or /dev/null when a terminal has no
 * stdout (the master must still be read).
 */
int
ioc_open_sink(struct iocopy *io, int i, char **err)
{
	struct sink	*s = &io->sink[i];
	struct stat	 sb;

	if (io->path[i] == NULL) {
		s->fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		return (s->fd == -1 ? -1 : 0);
	}
	if (stat(io->path[i], &sb) == -1) {
		if (errno == ENOENT && io->create[i]) {
			s->fd = ioc_open_path(io, i, O_WRONLY | O_APPEND |
			    O_CREAT, err);
			return (s->fd == -1 ? -1 : 0);
		}
		xasprintf(err, "%s %s: %s", ioc_names[i], io->path[i],
		    strerror(errno));
		return (-1);
	}
	s->fifo = S_ISFIFO(sb.st_mode);
	s->fd = ioc_open_path(io, i, s->fifo ? O_RDWR | O_NONBLOCK :
	    O_WRONLY | O_APPEND, err);
	return (s->fd == -1 ? -1 : 0);
}

/* The child's own end of output i: a write end, blocking for it. */
static int
ioc_direct_out(struct iocopy *io, int i, char **err)
{
	int	fd;

	if (!io->sink[i].fifo)
		fd = ioc_open_path(io, i, O_WRONLY | O_APPEND, err);
	else if ((fd = ioc_open_path(io, i, O_WRONLY | O_NONBLOCK, err)) != -1)
		fd_set_nonblock(fd, false);	/* its description, not ours */
	io->child[i] = fd;
	return (fd == -1 ? -1 : 0);
}

/*
 * stdin's FIFO: the read end (non-blocking for the daemon, blocking when
 * handed to the child), then the writer the daemon keeps until CloseIO,
 * which cannot meet ENXIO since the reader exists.
 */
static int
ioc_open_stdin(struct iocopy *io, bool handed, char **err)
{
	int	fd;

	if ((fd = ioc_open_path(io, 0, O_RDONLY | O_NONBLOCK, err)) == -1)
		return (-1);
	if (!fd_is_fifo(fd)) {
		if (!handed) {
			xasprintf(err, "stdin %s: not a FIFO", io->path[0]);
			close(fd);
			return (-1);
		}
		fd_set_nonblock(fd, false);
		io->child[0] = fd;
		return (0);
	}
	if (handed) {
		fd_set_nonblock(fd, false);
		io->child[0] = fd;
	} else
		io->in_src = fd;
	io->stdin_keep = ioc_open_path(io, 0, O_WRONLY | O_NONBLOCK, err);
	return (io->stdin_keep == -1 ? -1 : 0);
}

/* Handed FIFOs: the child's ends are containerd's FIFOs themselves. */
static int
ioc_open_direct(struct iocopy *io, char **err)
{
	int	i;

	if (io->path[0] != NULL && ioc_open_stdin(io, true, err) == -1)
		return (-1);
	for (i = 1; i < 3; i++) {
		if (io->path[i] == NULL)
			continue;
		if (ioc_open_sink(io, i, err) == -1 ||
		    ioc_direct_out(io, i, err) == -1)
			return (-1);
	}
	return (0);
}

/* A pipe for the child's stream i; the daemon's end non-blocking. */
static int
ioc_pipe(struct iocopy *io, int i, char **err)
{
	int	p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		xasprintf(err, "%s pipe: %s", ioc_names[i], strerror(errno));
		return (-1);
	}
	io->child[i] = i == 0 ? p[0] : p[1];
	if (i == 0)
		io->in_dst = p[1];
	else
		io->out_src[i] = p[0];
	fd_set_nonblock(i == 0 ? p[1] : p[0], true);
	return (0);
}

/* Copies without a terminal: a pipe per stream, pumped to the FIFOs. */
static int
ioc_open_copy(struct iocopy *io, char **err)
{
	int	i;

	if (io->path[0] != NULL && (ioc_open_stdin(io, false, err) == -1 ||
	    ioc_pipe(io, 0, err) == -1))
		return (-1);
	for (i = 1; i < 3; i++) {
		if (io->path[i] == NULL)
			continue;
		if (ioc_open_sink(io, i, err) == -1 ||
		    ioc_pipe(io, i, err) == -1)
			return (-1);
	}
	ioc_make_pumps(io);
	ioc_run_pumps(io);
	return (0);
}

/* A terminal: stdin and stdout opened now, the master comes from runc. */
static int
ioc_open_terminal(struct iocopy *io, const char *dir, char **err)
{
	if (io->path[0] != NULL && ioc_open_stdin(io, false, err) == -1)
		return (-1);
	if (ioc_open_sink(io, IOC_STDOUT, err) == -1)
		return (-1);
	if ((io->con = console_new(dir, err)) == NULL)
		return (-1);
	console_start(io);
	return (0);
}

/* Open cfg's streams on base; see iocopy.h. */
int
iocopy_open(struct event_base *base, const struct iocopy_cfg *cfg,
    struct iocopy **out, char **err)
{
	struct iocopy	*io = ioc_alloc(base, cfg);
	int		 r;

	*out = NULL;
	if (ioc_check_paths(io, err) == -1)
		r = -1;
	else if (io->terminal)
		r = ioc_open_terminal(io, cfg->console_dir, err);
	else if (io->copy)
		r = ioc_open_copy(io, err);
	else
		r = ioc_open_direct(io, err);
	if (r == -1) {
		iocopy_free(io);
		return (-1);
	}
	*out = io;
	return (0);
}

/* The descriptors runc gives the process as 0, 1, 2 (-1: /dev/null). */
void
iocopy_child_stdio(struct iocopy *io, int stdio[3])
{
	int	i;

	for (i = 0; i < 3; i++)
		stdio[i] = io->child[i];
}

/* For runc --console-socket, or NULL without a terminal. */
const char *
iocopy_console_socket(struct iocopy *io)
{
	if (io->con == NULL || io->con->lfd == -1)
		return (NULL);
	return (io->con->path);
}

/*
 * runc passed the child's ends on: drop the daemon's copies; a terminal's
 * master is waiting on the console socket: take it.
 */
void
iocopy_child_started(struct iocopy *io)
{
	int	i;

	for (i = 0; i < 3; i++)
		ioc_close(&io->child[i]);
	if (io->con != NULL)
		console_take(io);
}

/* ResizePty. */
int
iocopy_resize(struct iocopy *io, uint32_t width, uint32_t height, char **err)
{
	if (io->con == NULL) {
		xasprintf(err, "the process has no terminal");
		return (-1);
	}
	if (width > UINT16_MAX || height > UINT16_MAX) {
		xasprintf(err, "terminal size %ux%u out of range", width,
		    height);
		return (-1);
	}
	return (console_resize(io->con, (uint16_t)width, (uint16_t)height,
	    err));
}

/* CloseIO: drop the writer the daemon kept on the stdin FIFO. */
void
iocopy_close_stdin(struct iocopy *io)
{
	io->stdin_closed = true;
	ioc_close(&io->stdin_keep);
}

/* Copied stdin is over: pass the EOF on to the process. */
static void
ioc_stdin_over(struct iocopy *io)
{
	struct termios	t;
	char		c;

	ioc_close(&io->in_src);
	if (!io->terminal) {
		ioc_close(&io->in_dst);
		return;
	}
	/* A terminal has no EOF of its own: its VEOF character is one. */
	if (io->con == NULL || io->con->master == -1)
		return;
	c = tcgetattr(io->con->master, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
	if (write(io->con->master, &c, 1) != 1)
		log_debug("%s: VEOF: %s", __func__, strerror(errno));
}

/* A copy finished: its source is at EOF and everything is written. */
static void
ioc_pump_done(struct pump *p, void *arg)
{
	struct iocopy	*io = arg;
	int		 i;

	for (i = 0; i < 3 && io->pump[i] != p; i++)
		;
	if (i == 3)
		return;
	io->over[i] = true;
	if (i == IOC_STDIN) {
		ioc_stdin_over(io);
		return;
	}
	if (!io->terminal)
		ioc_close(&io->out_src[i]);
	ioc_sink_release(io, i);
	ioc_check_drained(io);
}

/* A copy wrote bytes: perhaps all the exited process wrote. */
static void
ioc_pump_moved(struct pump *p, void *arg)
{
	struct iocopy	*io = arg;

	(void)p;
	if (io->exited && io->drained_cb != NULL)
		ioc_check_drained(io);
}

/* Make the pumps the open descriptors call for (not started). */
void
ioc_make_pumps(struct iocopy *io)
{
	int	master = io->con != NULL ? io->con->master : -1;
	int	src, dst, i;

	for (i = 0; i < 3; i++) {
		if (io->pump[i] != NULL || io->over[i])
			continue;
		if (i == IOC_STDIN) {
			src = io->in_src;
			dst = io->terminal ? master : io->in_dst;
		} else {
			src = io->terminal ? (i == IOC_STDOUT ? master : -1) :
			    io->out_src[i];
			dst = io->sink[i].fd;
		}
		if (src != -1 && dst != -1)
			io->pump[i] = pump_new(io->base, src, dst,
			    ioc_pump_done, ioc_pump_moved, io);
	}
}

/* Start every pump made and not finished. */
void
ioc_run_pumps(struct iocopy *io)
{
	int	i;

	for (i = 0; i < 3; i++)
		if (io->pump[i] != NULL && !io->over[i])
			pump_start(io->pump[i]);
}

/* runc sent the master: size it, copy both ways. */
void
ioc_master_arrived(struct iocopy *io, int master)
{
	struct console	*c = io->con;
	char		*err = NULL;

	c->master = master;
	fd_set_nonblock(master, true);
	if (c->size_set && console_resize(c, c->cols, c->rows, &err) == -1) {
		log_warnx("console %s: %s", c->path, err);
		free(err);
	}
	ioc_make_pumps(io);
	ioc_run_pumps(io);
}

/* Whether the sink's FIFO still holds unread bytes. */
static bool
ioc_sink_busy(struct sink *s)
{
	int	n = 0;

	return (s->fifo && ioctl(s->fd, FIONREAD, &n) == 0 && n > 0);
}

/* Close sink i once its FIFO is empty: containerd then sees EOF. */
void
ioc_sink_release(struct iocopy *io, int i)
{
	struct sink	*s = &io->sink[i];
	struct timeval	 tv;

	if (s->fd == -1)
		return;
	s->releasing = true;
	if (!ioc_sink_busy(s)) {
		ioc_close(&s->fd);
		return;
	}
	if (s->linger == NULL) {
		s->linger = evtimer_new(io->base, ioc_linger_cb, s);
		if (s->linger == NULL)
			fatalx("%s: evtimer_new", __func__);
		s->delay_ms = SINK_LINGER_MIN_MS;
	} else if ((s->delay_ms *= 2) > SINK_LINGER_MAX_MS)
		s->delay_ms = SINK_LINGER_MAX_MS;
	tv.tv_sec = s->delay_ms / 1000;
	tv.tv_usec = (s->delay_ms % 1000) * 1000;
	evtimer_add(s->linger, &tv);
}

/* Look again whether containerd has read the FIFO empty. */
static void
ioc_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink	*s = arg;

	(void)fd;
	(void)what;
	ioc_sink_release(s->io, (int)(s - s->io->sink));
}

/* Whether a terminal's master may still be on its way. */
static bool
ioc_master_pending(struct console *c)
{
	struct pollfd	pfd;

	if (c->master != -1 || c->lost)
		return (false);
	if (c->cfd != -1)
		return (true);
	if (c->lfd == -1)
		return (false);
	pfd.fd = c->lfd;
	pfd.events = POLLIN;
	return (poll(&pfd, 1, 0) == 1);
}

/* Whether every byte the process wrote is in containerd's FIFOs. */
static bool
ioc_is_drained(struct iocopy *io)
{
	int	i;

	if (io->terminal && ioc_master_pending(io->con))
		return (false);
	for (i = 1; i < 3; i++)
		if (io->pump[i] != NULL && !io->over[i] &&
		    io->pump[i]->written < io->goal[i])
			return (false);
	return (true);
}

/* After the exit: once drained, the callback runs from the loop. */
void
ioc_check_drained(struct iocopy *io)
{
	int	i;

	if (!io->exited || io->drained_cb == NULL || !ioc_is_drained(io))
		return;
	/* Sinks no copy writes to any more (or ever did) can go. */
	for (i = 1; i < 3; i++)
		if (io->sink[i].fd != -1 && !io->sink[i].releasing &&
		    (io->pump[i] == NULL || io->over[i]))
			ioc_sink_release(io, i);
	event_active(io->drained_ev, EV_TIMEOUT, 0);
}

/* Run the drain callback, once. */
static void
ioc_drained_cb(evutil_socket_t fd, short what, void *arg)
{
	struct iocopy	*io = arg;
	void		(*cb)(void *) = io->drained_cb;

	(void)fd;
	(void)what;
	io->drained_cb = NULL;
	if (cb != NULL)
		cb(io->drained_arg);
}

/* The process exited: tell cb when its output is all in the FIFOs. */
void
iocopy_when_drained(struct iocopy *io, void (*cb)(void *), void *arg)
{
	int	i;

	/* The process is gone: the child's ends, if still here, go too. */
	iocopy_child_started(io);
	io->exited = true;
	io->drained_cb = cb;
	io->drained_arg = arg;
	/*
	 * All the process wrote is in its pipe or pty, or in a pump's
	 * buffer, by now: that much has to be written, not up to EOF, which
	 * a descendant holding the pipe may put off for ever.
	 */
	for (i = 1; i < 3; i++)
		if (io->pump[i] != NULL && !io->over[i])
			io->goal[i] = io->pump[i]->written +
			    pump_backlog(io->pump[i]);
	if (!io->copy)
		for (i = 1; i < 3; i++)
			ioc_sink_release(io, i);
	ioc_check_drained(io);
}

/* Close everything now. */
void
iocopy_free(struct iocopy *io)
{
	int	i;

	if (io == NULL)
		return;
	for (i = 0; i < 3; i++) {
		pump_free(io->pump[i]);
		if (io->sink[i].linger != NULL)
			event_free(io->sink[i].linger);
		ioc_close(&io->sink[i].fd);
		ioc_close(&io->child[i]);
		ioc_close(&io->out_src[i]);
		free(io->path[i]);
	}
	ioc_close(&io->in_src);
	ioc_close(&io->in_dst);
	ioc_close(&io->stdin_keep);
	console_free(io->con);
	event_free(io->drained_ev);
	free(io);
}
