/*
 * handover.c: what one image of the daemon hands the next across a
 * re-exec (reexec.c): the listening socket, every connection (socket,
 * credentials, buffered bytes, keeper slot) and the deferred calls to
 * dispatch again, and the connection to the keeper (keep.c).
 *
 * The old image encodes a sandboxd.v1.Handover message into a memfd left
 * open across the exec and names it in SANDBOXD_HANDOVER_FD.  The new
 * image reads it first thing, before it opens any file, so every
 * descriptor the message names that is open then was inherited; it
 * rebuilds the connections once its sandboxes are recovered.  Bad data
 * (another version, a decode error, a descriptor that is not a socket)
 * is logged and dropped, never fatal: the daemon binds its socket anew
 * if the listener cannot be used.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "keeper.h"
#include "pbutil.h"
#include "server.h"
#include "xmalloc.h"

#include "sandboxd/v1/handover.pb.h"

#define HANDOVER_VERSION	1

static uint8_t		*ho_buf;	/* the memfd's bytes; views point here */
static sv_Handover	 ho;
static bool		 ho_loaded;
static char		*ho_notes;	/* said before the log was set up */

/* Note a problem met before logging starts; handover_log_notes says it. */
static void __attribute__((__format__(__printf__, 1, 2)))
handover_note(const char *fmt, ...)
{
	va_list	 ap;
	char	*line, *all;

	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	if (ho_notes == NULL)
		ho_notes = line;
	else {
		xasprintf(&all, "%s; %s", ho_notes, line);
		free(ho_notes);
		free(line);
		ho_notes = all;
	}
}

/* Log what handover_load met, now that the log is open. */
void
handover_log_notes(void)
{
	if (ho_notes == NULL)
		return;
	log_warnx("re-execution: %s", ho_notes);
	free(ho_notes);
	ho_notes = NULL;
}

/* Write all of buf to fd. */
static int
handover_write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* The containers' stdio being described (handover_write). */
struct ho_ios {
	sv_HandoverIo	*v;
	size_t		 n, cap;
};

/* One process's stdio into the hand-over (copied: the strings go). */
static void
handover_add_io(const char *ns, const char *id, const char *exec_id,
    const uint8_t *state, size_t len, void *arg)
{
	struct ho_ios	*l = arg;
	sv_HandoverIo	*e;

	if (l->n == l->cap) {
		l->cap = l->cap != 0 ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->namespace = xstrdup(ns);
	e->id = xstrdup(id);
	e->exec_id = xstrdup(exec_id != NULL ? exec_id : "");
	e->state.data = xmemdup(state, len);
	e->state.len = len;
}

/* Free what handover_add_io made. */
static void
handover_free_ios(struct ho_ios *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].namespace);
		free(l->v[i].id);
		free(l->v[i].exec_id);
		free((void *)l->v[i].state.data);
	}
	free(l->v);
}

/*
 * Describe the daemon's clients into a memfd left open across the exec.
 * Returns the memfd, or -1 with *cause.
 */
int
handover_write(char **cause)
{
	sv_Handover	 h = { 0 };
	struct ho_ios	 ios = { NULL, 0, 0 };
	uint8_t		*buf = NULL, *events = NULL;
	size_t		 len, elen = 0, i;
	int		 fd;

	h.version = HANDOVER_VERSION;
	if (events_export(&events, &elen) == -1) {
		xasprintf(cause, "the events queue cannot be exported");
		return (-1);
	}
	h.events.data = events;
	h.events.len = elen;
	h.listener_fd = listener_fd();
	h.keeper_fd = keeper_export_fd() > STDERR_FILENO ?
	    keeper_export_fd() : 0;
	h.conns_count = (pb_size_t)conn_export(&h.conns, &h.next_conn_id);
	handlers_export_io(handover_add_io, &ios);
	h.ios = ios.v;
	h.ios_count = (pb_size_t)ios.n;
	if (h.listener_fd != -1)
		conn_set_inherit(h.listener_fd, true);
	if (h.keeper_fd != 0)
		conn_set_inherit(h.keeper_fd, true);
	if (!msg_encode(sv_Handover_fields, &h, &buf, &len, cause))
		goto fail;
	if ((fd = memfd_create("sandboxd-handover", 0)) == -1 ||
	    handover_write_all(fd, buf, len) == -1) {
		xasprintf(cause, "hand-over memfd: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		goto fail;
	}
	log_info("re-execution: handing over %zu connections, the stdio of "
	    "%zu container processes, %zu bytes", (size_t)h.conns_count,
	    ios.n, len);
	handover_free_ios(&ios);
	free(buf);
	free(events);
	for (i = 0; i < h.conns_count; i++)
		free(h.conns[i].calls);
	free(h.conns);
	return (fd);
fail:
	free(buf);
	free(events);
	handover_free_ios(&ios);
	handlers_cancel_export_io();
	for (i = 0; i < h.conns_count; i++) {
		conn_set_inherit(h.conns[i].fd, false);
		free(h.conns[i].calls);
	}
	free(h.conns);
	if (h.listener_fd != -1)
		conn_set_inherit(h.listener_fd, false);
	if (h.keeper_fd != 0)
		conn_set_inherit(h.keeper_fd, false);
	return (-1);
}

/* Read the whole memfd into ho_buf; its length, or -1. */
static ssize_t
handover_read_fd(int fd)
{
	struct stat	sb;
	ssize_t		n;
	size_t		got = 0;

	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size < 0)
		return (-1);
	ho_buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		n = pread(fd, ho_buf + got, (size_t)sb.st_size - got,
		    (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		got += (size_t)n;
	}
	return ((ssize_t)got);
}

/* Whether fd is an open stream socket (else it is no client of ours). */
static bool
handover_is_stream(int fd)
{
	int		v;
	socklen_t	len = sizeof(v);

	if (fd <= STDERR_FILENO)
		return (false);
	return (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	    v == SOCK_STREAM);
}

/* Whether fd is an open SOCK_SEQPACKET socket (the keeper's kind). */
static bool
handover_is_seqpacket(int fd)
{
	int		v;
	socklen_t	len = sizeof(v);

	if (fd <= STDERR_FILENO)
		return (false);
	return (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	    v == SOCK_SEQPACKET);
}

/* Close a named descriptor that is open but of no use (not stdio). */
static void
handover_drop_fd(int fd, const char *what)
{
	if (fd <= STDERR_FILENO || fcntl(fd, F_GETFD) == -1)
		return;
	handover_note("%s descriptor %d is not a socket of its kind; closed",
	    what, fd);
	close(fd);
}

/* Mark the connections whose descriptor is unusable (fd -1). */
static void
handover_check_fds(void)
{
	pb_size_t	i;

	if (ho.keeper_fd != 0 && !handover_is_seqpacket(ho.keeper_fd)) {
		handover_drop_fd(ho.keeper_fd, "keeper");
		ho.keeper_fd = 0;
	}
	if (!handover_is_stream(ho.listener_fd)) {
		handover_drop_fd(ho.listener_fd, "listener");
		ho.listener_fd = -1;
	}
	for (i = 0; i < ho.conns_count; i++) {
		if (handover_is_stream(ho.conns[i].fd) &&
		    ho.conns[i].fd != ho.listener_fd)
			continue;
		handover_drop_fd(ho.conns[i].fd, "connection");
		ho.conns[i].fd = -1;
	}
}

/*
 * A hand-over that cannot be read leaves sockets nobody can name: close
 * every descriptor but stdio (nothing else is open yet), or the
 * inherited listener would answer the stale-socket check and keep the
 * daemon from binding anew.
 */
static void
handover_close_inherited(void)
{
	if (close_range(STDERR_FILENO + 1, ~0U, 0) == -1)
		handover_note("close_range: %s", strerror(errno));
}

/* Decode len bytes of ho_buf into ho; false (logged) if unusable. */
static bool
handover_decode(size_t len)
{
	char	*cause = NULL;

	if (!msg_decode(sv_Handover_fields, &ho, ho_buf, len, &cause)) {
		handover_note("cannot decode the hand-over: %s; clients are "
		    "dropped", cause);
		free(cause);
		return (false);
	}
	if (ho.version != HANDOVER_VERSION) {
		handover_note("hand-over version %u, this daemon reads %u; "
		    "clients are dropped", ho.version, HANDOVER_VERSION);
		msg_release(sv_Handover_fields, &ho);
		return (false);
	}
	return (true);
}

/*
 * First thing in main: if the previous image left a hand-over, read it,
 * forget the variable and close the memfd.  Nothing else is open yet (not
 * even the log: problems are noted for handover_log_notes), so the
 * descriptors it names are the inherited ones.
 */
void
handover_load(void)
{
	const char	*v = getenv(HANDOVER_ENV);
	char		*end;
	ssize_t		 len;
	long		 fd;

	if (v == NULL)
		return;
	fd = strtol(v, &end, 10);
	unsetenv(HANDOVER_ENV);
	if (*end != '\0' || fd <= STDERR_FILENO || fd > INT32_MAX) {
		handover_note("%s is no descriptor", HANDOVER_ENV);
		handover_close_inherited();
		return;
	}
	len = handover_read_fd((int)fd);
	close((int)fd);
	if (len == -1) {
		handover_note("cannot read the hand-over from descriptor %ld",
		    fd);
		free(ho_buf);
		ho_buf = NULL;
		handover_close_inherited();
		return;
	}
	if (!handover_decode((size_t)len)) {
		free(ho_buf);
		ho_buf = NULL;
		handover_close_inherited();
		return;
	}
	ho_loaded = true;
	handover_check_fds();
}

/* Was this image started by a re-exec (with a usable hand-over)? */
bool
handover_loaded(void)
{
	return (ho_loaded);
}

/*
 * Serve on the inherited socket; else bind as usual (a bad hand-over, or
 * none).  The inherited one is never unlinked nor bound again.
 */
int
handover_listen(struct event_base *base, char **cause)
{
	char	*why = NULL;

	if (!ho_loaded || ho.listener_fd == -1)
		return (listener_open(base, cause));
	if (listener_adopt(base, ho.listener_fd, &why) == 0)
		return (0);
	log_warnx("re-execution: %s; binding anew", why);
	free(why);
	handover_drop_fd(ho.listener_fd, "listener");
	ho.listener_fd = -1;
	return (listener_open(base, cause));
}

/* Rebuild one connection, dispatch its carried calls, then its input. */
static size_t
handover_restore_conn(struct event_base *base, const sv_HandoverConn *hc,
    size_t *bytes)
{
	struct conn	*c;
	pb_size_t	 i;

	c = conn_import(base, hc);
	for (i = 0; i < hc->calls_count && !c->dead; i++)
		dispatch_carried(c, &hc->calls[i]);
	keep_carried_done(c);
	*bytes += hc->input.len + hc->output.len;
	conn_read_input(c);
	return (hc->calls_count);
}

/*
 * Before the recovery: give the events module its queue, and the
 * containers' stdio to the controller, which takes each up with its
 * container.
 */
void
handover_give_io(void)
{
	pb_size_t	i;

	char		*cause = NULL;

	if (!ho_loaded)
		return;
	if (ho.events.len > 0 &&
	    events_import(ho.events.data, ho.events.len, &cause) == -1) {
		log_warnx("re-executed: the events queue was not taken over: "
		    "%s", cause);
		free(cause);
	}
	for (i = 0; i < ho.ios_count; i++)
		handlers_give_io(ho.ios[i].namespace != NULL ?
		    ho.ios[i].namespace : "", ho.ios[i].id != NULL ?
		    ho.ios[i].id : "", ho.ios[i].exec_id, ho.ios[i].state.data,
		    ho.ios[i].state.len);
}

/*
 * Once the sandboxes are recovered: rebuild the connections and dispatch
 * their carried calls again, as if they had just come.  Their answers,
 * and the carried Reexec's, leave after the first commit.
 */
void
handover_restore(struct event_base *base)
{
	size_t		ncalls = 0, bytes = 0, nconn = 0;
	pb_size_t	i;

	if (!ho_loaded)
		return;
	conn_set_next_id(ho.next_conn_id);
	keep_import(base, ho.keeper_fd != 0 ? ho.keeper_fd : -1);
	reexec_set_restoring(true);
	for (i = 0; i < ho.conns_count; i++) {
		if (ho.conns[i].fd == -1)
			continue;
		ncalls += handover_restore_conn(base, &ho.conns[i], &bytes);
		nconn++;
	}
	reexec_set_restoring(false);
	log_info("re-executed: kept %zu connections, %zu carried calls, "
	    "%zu buffered bytes", nconn, ncalls, bytes);
	msg_release(sv_Handover_fields, &ho);
	free(ho_buf);
	ho_buf = NULL;
	ho_loaded = false;
}
