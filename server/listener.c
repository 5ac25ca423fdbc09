/*
 * listener.c: the daemon's Unix socket.
 *
 * The socket is made by hand, not by evconnlistener_new_bind, so that the
 * daemon controls every step: refuse a path longer than sun_path, detect a
 * live daemon by connecting first, unlink only a stale socket, create it
 * with the configured mode under a tight umask, and chmod/chown it.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "fs.h"
#include "server.h"
#include "xmalloc.h"

gid_t				 listener_gid;
static struct evconnlistener	*listener;
static struct event		*retry_timer;

static int	listener_start(struct event_base *, int, char **);

/* Fill a sockaddr_un, refusing a path that does not fit. */
static int
listener_addr(const char *path, struct sockaddr_un *sun, char **cause)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		xasprintf(cause, "socket path %s is longer than %zu bytes", path,
		    sizeof(sun->sun_path) - 1);
		return (-1);
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return (0);
}

/*
 * Remove a stale socket at path.  A socket someone answers on belongs to a
 * running daemon; anything that is not a socket is not ours to remove.
 */
static int
listener_clear_stale(const char *path, const struct sockaddr_un *sun,
    char **cause)
{
	struct stat	sb;
	int		fd;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(sb.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		xasprintf(cause, "%s: another sandboxd is serving on it", path);
		return (-1);
	}
	close(fd);
	log_info("removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		xasprintf(cause, "unlink %s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

/* Create the socket's directory: 0750 with a socket group, else 0700. */
static int
listener_mkdir(const char *path, char **cause)
{
	char	*copy = xstrdup(path), *dir = dirname(copy);
	mode_t	 mode = cfg->socket_group != NULL ? 0750 : 0700;

	if (fs_mkdir_p(dir, 0755, mode, cause) == -1) {
		free(copy);
		return (-1);
	}
	/* The socket group must be able to reach the socket: open the dir
	 * to it even when it existed (the run dir is made 0700 first). */
	if (cfg->socket_group != NULL &&
	    (chown(dir, (uid_t)-1, listener_gid) == -1 || chmod(dir, mode) == -1)) {
		xasprintf(cause, "mkdir %s: %s", dir, strerror(errno));
		free(copy);
		return (-1);
	}
	free(copy);
	return (0);
}

/* Resolve the configured socket group to a gid. */
static int
listener_resolve_group(char **cause)
{
	struct group	*gr;

	listener_gid = getgid();
	if (cfg->socket_group == NULL)
		return (0);
	if ((gr = getgrnam(cfg->socket_group)) == NULL) {
		xasprintf(cause, "socket group %s does not exist",
		    cfg->socket_group);
		return (-1);
	}
	listener_gid = gr->gr_gid;
	return (0);
}

/* Bind and listen on path with the configured mode and group. */
static int
listener_bind(const struct sockaddr_un *sun, char **cause)
{
	const char	*path = cfg->socket_path;
	mode_t		 old;
	int		 fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	old = umask(S_IXUSR | S_IRWXO | S_IXGRP);
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) == -1) {
		umask(old);
		xasprintf(cause, "bind %s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	umask(old);
	if (chmod(path, cfg->socket_mode) == -1 ||
	    (cfg->socket_group != NULL &&
	    chown(path, (uid_t)-1, listener_gid) == -1) ||
	    listen(fd, 512) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return (-1);
	}
	return (fd);
}

static void
listener_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	(void)sa;
	(void)socklen;
	(void)arg;
	conn_accept(evconnlistener_get_base(l), fd);
}

static void
listener_retry_cb(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (listener != NULL && !loop_quitting() && !reexec_pending())
		evconnlistener_enable(listener);
}

/* accept() failed: out of descriptors means pause for a second. */
static void
listener_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval	tv = { 1, 0 };
	int		err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		log_warnx("accept: %s; not accepting for 1 s", strerror(err));
		evconnlistener_disable(l);
		evtimer_add(retry_timer, &tv);
		return;
	}
	log_warnx("accept: %s", strerror(err));
}

/* Create the socket and start accepting on the loop. */
int
listener_open(struct event_base *base, char **cause)
{
	struct sockaddr_un	sun;
	int			fd;

	if (listener_addr(cfg->socket_path, &sun, cause) == -1 ||
	    listener_resolve_group(cause) == -1 ||
	    listener_mkdir(cfg->socket_path, cause) == -1 ||
	    listener_clear_stale(cfg->socket_path, &sun, cause) == -1)
		return (-1);
	if ((fd = listener_bind(&sun, cause)) == -1)
		return (-1);
	if (listener_start(base, fd, cause) == -1)
		return (-1);
	log_info("listening on %s (mode %04o)", cfg->socket_path,
	    (unsigned int)cfg->socket_mode);
	return (0);
}

/* Whether fd is a listening Unix stream socket. */
static bool
listener_fd_usable(int fd)
{
	int		v;
	socklen_t	len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 || !v)
		return (false);
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == -1 ||
	    v != AF_UNIX)
		return (false);
	len = sizeof(v);
	return (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	    v == SOCK_STREAM);
}

/* Put a listening socket on the loop. */
static int
listener_start(struct event_base *base, int fd, char **cause)
{
	listener = evconnlistener_new(base, listener_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (listener == NULL) {
		xasprintf(cause, "evconnlistener_new failed");
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(listener, listener_error_cb);
	if ((retry_timer = evtimer_new(base, listener_retry_cb, NULL)) == NULL) {
		xasprintf(cause, "evtimer_new failed");
		evconnlistener_free(listener);
		listener = NULL;
		return (-1);
	}
	return (0);
}

/*
 * Serve on the socket the previous image listened on (a re-exec): never
 * bound again nor unlinked, so no connect in between is refused.  -1 if
 * fd is no listening Unix socket; the caller binds as usual then.
 */
int
listener_adopt(struct event_base *base, int fd, char **cause)
{
	if (listener_resolve_group(cause) == -1)
		return (-1);
	if (!listener_fd_usable(fd)) {
		xasprintf(cause, "inherited descriptor %d is no listening "
		    "Unix socket", fd);
		return (-1);
	}
	if (conn_set_inherit(fd, false) == -1 ||
	    evutil_make_socket_nonblocking(fd) == -1) {
		xasprintf(cause, "inherited socket %d: %s", fd,
		    strerror(errno));
		return (-1);
	}
	if (listener_start(base, fd, cause) == -1)
		return (-1);
	log_info("listening on %s (kept across the re-exec)",
	    cfg->socket_path);
	return (0);
}

/* The listening socket's descriptor, -1 if none. */
int
listener_fd(void)
{
	return (listener != NULL ? evconnlistener_get_fd(listener) : -1);
}

/* Accept again (a re-exec was given up). */
void
listener_enable(void)
{
	if (listener != NULL)
		evconnlistener_enable(listener);
}

/* Stop accepting (shutdown or a re-exec begins). */
void
listener_disable(void)
{
	if (listener != NULL)
		evconnlistener_disable(listener);
}

/* Close the socket and remove its file. */
void
listener_close(void)
{
	if (listener == NULL)
		return;
	evconnlistener_free(listener);
	listener = NULL;
	if (retry_timer != NULL)
		event_free(retry_timer);
	retry_timer = NULL;
	unlink(cfg->socket_path);
}
