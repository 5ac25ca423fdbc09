/*
 * console.c: the console socket of a process with a terminal.
 *
 * runc --console-socket <path> makes the pty, connects to <path> (a
 * SOCK_STREAM Unix socket) and sends the master with SCM_RIGHTS, the
 * pty's name as the data.  The daemon listens on the loop, takes the one
 * connection and the one descriptor, then closes and unlinks the socket:
 * the copy between the master and the FIFOs starts (iocopy.c).  runc's
 * connect and send complete against the listen backlog, so runc never
 * waits for the loop.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "iocint.h"
#include "log.h"
#include "xmalloc.h"

static unsigned int	console_seq;

static void	console_accept_cb(evutil_socket_t, short, void *);
static void	console_recv_cb(evutil_socket_t, short, void *);

/* Close the socket and its connection; the master stays. */
static void
console_close_socket(struct console *c)
{
	if (c->lev != NULL)
		event_free(c->lev);
	if (c->cev != NULL)
		event_free(c->cev);
	c->lev = c->cev = NULL;
	if (c->lfd != -1) {
		close(c->lfd);
		if (c->path != NULL && unlink(c->path) == -1 && errno != ENOENT)
			log_warn("%s: unlink %s", __func__, c->path);
	}
	if (c->cfd != -1)
		close(c->cfd);
	c->lfd = c->cfd = -1;
}

/* Bind and listen on a new socket in dir; its path in c->path. */
static int
console_listen(struct console *c, const char *dir, char **err)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	xasprintf(&c->path, "%s/console-%d-%u.sock", dir, (int)getpid(),
	    console_seq++);
	if (strlen(c->path) >= sizeof(sun.sun_path)) {
		xasprintf(err, "console socket %s: path too long", c->path);
		return (-1);
	}
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd == -1) {
		xasprintf(err, "console socket: %s", strerror(errno));
		return (-1);
	}
	if (unlink(c->path) == -1 && errno != ENOENT)
		goto fail;
	if (bind(c->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(c->lfd, 1) == -1)
		goto fail;
	return (0);
fail:
	xasprintf(err, "console socket %s: %s", c->path, strerror(errno));
	close(c->lfd);
	c->lfd = -1;
	return (-1);
}

/* Watch the listening socket (and a connection already taken). */
static void
console_watch(struct iocopy *io)
{
	struct console	*c = io->con;

	if (c->lfd != -1 && c->cfd == -1) {
		c->lev = event_new(io->base, c->lfd, EV_READ | EV_PERSIST,
		    console_accept_cb, io);
		if (c->lev == NULL || event_add(c->lev, NULL) == -1)
			fatalx("%s: event", __func__);
	}
	if (c->cfd != -1) {
		c->cev = event_new(io->base, c->cfd, EV_READ | EV_PERSIST,
		    console_recv_cb, io);
		if (c->cev == NULL || event_add(c->cev, NULL) == -1)
			fatalx("%s: event", __func__);
	}
}

/* A console socket in dir; console_start watches it. */
struct console *
console_new(const char *dir, char **err)
{
	struct console	*c = xcalloc(1, sizeof(*c));

	c->lfd = c->cfd = c->master = -1;
	if (dir == NULL || *dir == '\0') {
		xasprintf(err, "terminal: no console directory");
		free(c);
		return (NULL);
	}
	if (console_listen(c, dir, err) == -1) {
		free(c->path);
		free(c);
		return (NULL);
	}
	return (c);
}

/* Start listening (after console_new, or an import). */
void
console_start(struct iocopy *io)
{
	console_watch(io);
}

/* runc connected: take the connection, wait for the master on it. */
static void
console_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct iocopy	*io = arg;
	struct console	*c = io->con;
	int		 cfd;

	(void)what;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: accept %s", __func__, c->path);
		return;
	}
	c->cfd = cfd;
	if (c->lev != NULL)
		event_free(c->lev);
	c->lev = NULL;
	console_watch(io);
}

/* Read one message with its descriptors; the first fd, or -1. */
static int
console_recv_fd(int cfd, ssize_t *got)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	char		 name[4096];
	int		 fds[4], nfds, i, master = -1;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = name;
	iov.iov_len = sizeof(name);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	if ((*got = recvmsg(cfd, &msg, MSG_CMSG_CLOEXEC)) == -1)
		return (-1);
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cmsg), (size_t)nfds * sizeof(int));
		for (i = 0; i < nfds; i++) {
			if (master == -1)
				master = fds[i];
			else
				close(fds[i]);
		}
	}
	return (master);
}

/* runc's message: the master, or nothing (runc failed). */
static void
console_recv_cb(evutil_socket_t fd, short what, void *arg)
{
	struct iocopy	*io = arg;
	struct console	*c = io->con;
	ssize_t		 got;
	int		 master;

	(void)what;
	master = console_recv_fd(fd, &got);
	if (got == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (master != -1 && !isatty(master)) {
		log_warnx("console socket %s: not a terminal", c->path);
		close(master);
		master = -1;
	}
	if (master == -1 && got > 0)
		return;		/* data without a descriptor: wait on */
	console_close_socket(c);
	if (master == -1) {
		log_warnx("console socket %s: closed without a terminal",
		    c->path);
		c->lost = true;
		ioc_check_drained(io);
		return;
	}
	ioc_master_arrived(io, master);
}

/*
 * runc create has returned, so the master is queued on the socket: take
 * it now rather than on a later pass, so that a size set before it came
 * is on the pty before runc start lets the process look.  Nothing here
 * waits: both calls are non-blocking, and the loop takes over if the
 * master is not there.
 */
void
console_take(struct iocopy *io)
{
	struct console	*c = io->con;

	if (c->master != -1 || c->lost)
		return;
	if (c->lfd != -1 && c->cfd == -1)
		console_accept_cb(c->lfd, EV_READ, io);
	if (c->cfd != -1)
		console_recv_cb(c->cfd, EV_READ, io);
}

/* TIOCSWINSZ now, or when the master arrives. */
int
console_resize(struct console *c, uint16_t cols, uint16_t rows, char **err)
{
	struct winsize	ws;

	if (c->lost) {
		xasprintf(err, "the terminal is gone");
		return (-1);
	}
	c->cols = cols;
	c->rows = rows;
	if (c->master == -1) {
		c->size_set = true;
		return (0);
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_col = cols;
	ws.ws_row = rows;
	if (ioctl(c->master, TIOCSWINSZ, &ws) == -1) {
		xasprintf(err, "resize: %s", strerror(errno));
		return (-1);
	}
	c->size_set = false;
	return (0);
}

/* Close the socket, its connection and the master. */
void
console_free(struct console *c)
{
	if (c == NULL)
		return;
	console_close_socket(c);
	if (c->master != -1)
		close(c->master);
	free(c->path);
	free(c);
}
