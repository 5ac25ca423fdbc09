/*
 * netns_worker.c: network namespace operations off the loop.
 *
 * Making a namespace keeps the kernel busy for about a millisecond, and
 * unmounting one can wait tens of milliseconds for an RCU grace period:
 * too long for the one loop that serves every sandbox.  So a helper
 * process, forked at start while the daemon is still small, runs
 * netns_create and netns_remove one request at a time and the loop reads
 * its answers like any other event.  It also keeps unshare and setns out
 * of the daemon's own thread.
 *
 * Requests and answers are ipcmsg messages on a SOCK_SEQPACKET pair,
 * answered in order, so the oldest request in flight owns the next
 * answer.  At most NSW_IN_FLIGHT are sent at once; the rest wait in the
 * queue.
 *
 * Without the helper (never started, fork failed, or it died) each
 * operation runs in the daemon, and its answer is still delivered from
 * the loop, so callers see one behaviour either way.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "ipcmsg.h"
#include "log.h"
#include "procint.h"
#include "procmgr_test.h"
#include "queue.h"
#include "xmalloc.h"

#define NSW_IN_FLIGHT	16
#define NSW_MSG_MAX	8192	/* two paths; PATH_MAX each is 4096 */

/*
 * The message types.  A request's payload is two strings, a and b; an
 * answer's is one, the path or the error.
 */
enum netns_op {
	NETNS_OP_CREATE,	/* a: dir, b: name; answer: the path */
	NETNS_OP_REMOVE,	/* a: path, b: unused */
	NETNS_OP_DONE,		/* answer: the operation worked */
	NETNS_OP_FAILED,	/* answer: it did not */
};

struct netns_req {
	TAILQ_ENTRY(netns_req)	 entry;
	enum netns_op		 op;
	netns_done_cb		 cb;		/* NULL once cancelled */
	void			*arg;
	char			*a;
	char			*b;
	char			*path;		/* answer: the path made */
	char			*error;		/* answer: why it failed */
	bool			 sent;
	bool			 done;
};
TAILQ_HEAD(netns_req_list, netns_req);

static struct netns_req_list	 nsw_queue = TAILQ_HEAD_INITIALIZER(nsw_queue);
static struct event_base	*nsw_base;
static struct event		 nsw_read_ev;	/* answers from the helper */
static struct event		 nsw_done_ev;	/* in-daemon answers */
static int			 nsw_fd = -1;
static pid_t			 nsw_pid = -1;
static unsigned int		 nsw_in_flight;

static void	nsw_send_more(void);

/*
 * The helper's side.
 */

/* Run one request; the answer's text is the path or the error. */
static int
nsw_run(enum netns_op op, const char *a, const char *b, char **text)
{
	*text = NULL;
	if (op == NETNS_OP_CREATE)
		return (netns_create(a, b, text, text));
	if (netns_remove(a, text) == 0) {
		*text = xstrdup(a);
		return (0);
	}
	return (-1);
}

/* Check a request: a known operation, two strings and nothing more. */
static int
nsw_parse(struct ipcmsg *m, const char **a, const char **b)
{
	if (m->type != NETNS_OP_CREATE && m->type != NETNS_OP_REMOVE)
		return (-1);
	if ((*a = ipcmsg_get_str(m)) == NULL ||
	    (*b = ipcmsg_get_str(m)) == NULL || m->off != m->len)
		return (-1);
	return (0);
}

/* Send one answer: done or failed, and the text (cut to fit). */
static void
nsw_answer(int fd, bool ok, const char *text)
{
	struct ipcmsg	m;
	char		buf[NSW_MSG_MAX];

	ipcmsg_init(&m, ok ? NETNS_OP_DONE : NETNS_OP_FAILED, buf, sizeof(buf));
	ipcmsg_add(&m, text, strnlen(text, sizeof(buf) - 1));
	ipcmsg_add(&m, "", 1);
	if (ipcmsg_send(fd, &m, 0) == -1)
		_exit(1);
}

/* The helper: answer requests until the daemon closes its end. */
static void
nsw_main(int fd)
{
	struct ipcmsg	 m;
	const char	*a, *b;
	char		 buf[NSW_MSG_MAX], *text;
	int		 rc;
	bool		 ok;

	for (;;) {
		if ((rc = ipcmsg_recv(fd, &m, buf, sizeof(buf), 0)) == 0 ||
		    (rc == -1 && errno != EBADMSG))
			_exit(0);
		ipcmsg_close_fds(&m);		/* none is expected */
		if (rc == -1 || nsw_parse(&m, &a, &b) == -1) {
			nsw_answer(fd, false, "malformed request");
			continue;
		}
		ok = nsw_run(m.type, a, b, &text) == 0;
		nsw_answer(fd, ok, text != NULL ? text : "unknown error");
		free(text);
	}
}

/*
 * The daemon's side.
 */

/* Fork the helper; -1 (cause set) if it cannot be, and then none is used. */
int
netns_worker_start(char **cause)
{
	return (helper_fork(NETNS_WORKER_NAME, nsw_main, &nsw_pid, &nsw_fd,
	    cause));
}

/* The helper's pid, or -1 when operations run in the daemon. */
pid_t
netns_worker_pid(void)
{
	return (nsw_fd != -1 ? nsw_pid : -1);
}

/* Free a request and its strings. */
static void
nsw_req_free(struct netns_req *r)
{
	free(r->a);
	free(r->b);
	free(r->path);
	free(r->error);
	free(r);
}

/* Hand answered requests to their callers, oldest first. */
static void
nsw_deliver(void)
{
	struct netns_req	*r;

	while ((r = TAILQ_FIRST(&nsw_queue)) != NULL && r->done) {
		TAILQ_REMOVE(&nsw_queue, r, entry);
		if (r->cb != NULL)
			r->cb(r->path, r->error, r->arg);
		else if (r->op == NETNS_OP_CREATE && r->path != NULL)
			netns_remove_async(r->path, NULL, NULL);
		nsw_req_free(r);
	}
}

/* Run the unsent requests in the daemon (no helper). */
static void
nsw_run_here(void)
{
	struct netns_req	*r;
	char			*text;

	TAILQ_FOREACH(r, &nsw_queue, entry) {
		if (r->sent || r->done)
			continue;
		if (nsw_run(r->op, r->a, r->b, &text) == 0)
			r->path = text;
		else
			r->error = text != NULL ? text : xstrdup("unknown error");
		r->done = true;
	}
}

/* The helper is gone: fail what it had, run the rest here from now on. */
static void
nsw_lost(const char *why)
{
	struct netns_req	*r;
	struct timeval		 zero = { 0, 0 };
	int			 st;

	log_warnx("netns: helper pid %d %s; network namespaces are now made "
	    "by the daemon itself", (int)nsw_pid, why);
	event_del(&nsw_read_ev);
	close(nsw_fd);
	nsw_fd = -1;
	if (waitpid(nsw_pid, &st, WNOHANG) <= 0)
		log_debug("netns: helper not reaped yet");
	TAILQ_FOREACH(r, &nsw_queue, entry) {
		if (r->sent && !r->done) {
			r->error = xstrdup("the network namespace helper exited "
			    "during the operation");
			r->done = true;
		}
	}
	nsw_in_flight = 0;
	nsw_run_here();
	evtimer_add(&nsw_done_ev, &zero);
}

/* The oldest request in flight, which owns the next answer; or NULL. */
static struct netns_req *
nsw_oldest_sent(void)
{
	struct netns_req	*r;

	TAILQ_FOREACH(r, &nsw_queue, entry) {
		if (r->sent && !r->done)
			return (r);
	}
	return (NULL);
}

/* Read one answer into the oldest request in flight. */
static void
nsw_read_cb(int fd, __attribute__((unused)) short events,
    __attribute__((unused)) void *arg)
{
	struct netns_req	*r;
	struct ipcmsg		 m;
	char			 buf[NSW_MSG_MAX], *text = NULL;
	int			 rc;

	rc = ipcmsg_recv(fd, &m, buf, sizeof(buf), MSG_DONTWAIT);
	if (rc == -1 && errno == EAGAIN)
		return;
	ipcmsg_close_fds(&m);		/* none is expected */
	if (rc == 1)
		text = ipcmsg_get_str(&m);
	r = nsw_oldest_sent();
	if (text == NULL || r == NULL || (m.type != NETNS_OP_DONE &&
	    m.type != NETNS_OP_FAILED)) {
		nsw_lost(rc == 0 || (rc == -1 && errno != EBADMSG) ? "exited" :
		    "answered out of turn");
		nsw_deliver();
		return;
	}
	if (m.type == NETNS_OP_DONE)
		r->path = xstrdup(text);
	else
		r->error = xstrdup(text);
	r->done = true;
	nsw_in_flight--;
	nsw_send_more();
	nsw_deliver();
}

/* The in-daemon answers are ready. */
static void
nsw_done_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, __attribute__((unused)) void *arg)
{
	nsw_deliver();
}

/* Start taking requests on base. */
void
netns_worker_init(struct event_base *base)
{
	nsw_base = base;
	evtimer_assign(&nsw_done_ev, base, nsw_done_cb, NULL);
	if (nsw_fd != -1) {
		event_assign(&nsw_read_ev, base, nsw_fd, EV_READ | EV_PERSIST,
		    nsw_read_cb, NULL);
		event_add(&nsw_read_ev, NULL);
	}
}

/*
 * Stop: drop what is queued without answering (the daemon is exiting),
 * close the helper's socket, and reap it (it exits on EOF, at most one
 * operation later).
 */
void
netns_worker_stop(void)
{
	struct netns_req	*r;

	while ((r = TAILQ_FIRST(&nsw_queue)) != NULL) {
		TAILQ_REMOVE(&nsw_queue, r, entry);
		nsw_req_free(r);
	}
	nsw_in_flight = 0;
	if (nsw_base != NULL) {
		evtimer_del(&nsw_done_ev);
		if (nsw_fd != -1)
			event_del(&nsw_read_ev);
	}
	if (nsw_fd != -1) {
		close(nsw_fd);
		nsw_fd = -1;
		while (waitpid(nsw_pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	nsw_base = NULL;
}

/* Nothing asked and not yet answered (a re-exec may stop the helper). */
bool
netns_worker_idle(void)
{
	return (TAILQ_EMPTY(&nsw_queue));
}

/* Send one request; false if the helper cannot take it now. */
static bool
nsw_send(struct netns_req *r)
{
	struct ipcmsg	m;
	char		buf[NSW_MSG_MAX];

	ipcmsg_init(&m, r->op, buf, sizeof(buf));
	if (ipcmsg_add_str(&m, r->a) == -1 || ipcmsg_add_str(&m, r->b) == -1) {
		r->error = xstrdup("path too long");
		r->done = true;
		return (true);
	}
	if (ipcmsg_send(nsw_fd, &m, MSG_DONTWAIT) == -1) {
		if (errno == EAGAIN)
			return (false);
		nsw_lost("cannot be reached");
		return (false);
	}
	r->sent = true;
	nsw_in_flight++;
	return (true);
}

/* Send queued requests while the window has room. */
static void
nsw_send_more(void)
{
	struct netns_req	*r;

	TAILQ_FOREACH(r, &nsw_queue, entry) {
		if (nsw_fd == -1 || nsw_in_flight >= NSW_IN_FLIGHT)
			break;
		if (!r->sent && !r->done && !nsw_send(r))
			break;
	}
}

/* Queue a request; it is answered from the loop, never from here. */
static struct netns_req *
nsw_submit(enum netns_op op, const char *a, const char *b, netns_done_cb cb,
    void *arg)
{
	struct netns_req	*r;
	struct timeval		 now = { 0, 0 };

	if (nsw_base == NULL)
		fatalx("%s: netns_worker_init not called", __func__);
	r = xcalloc(1, sizeof(*r));
	r->op = op;
	r->cb = cb;
	r->arg = arg;
	r->a = xstrdup(a);
	r->b = xstrdup(b);
	TAILQ_INSERT_TAIL(&nsw_queue, r, entry);
	nsw_send_more();
	if (nsw_fd == -1) {
		nsw_run_here();
		evtimer_add(&nsw_done_ev, &now);
	}
	return (r);
}

/* netns_create, answered later through cb (path, or error). */
struct netns_req *
netns_create_async(const char *dir, const char *name, netns_done_cb cb,
    void *arg)
{
	return (nsw_submit(NETNS_OP_CREATE, dir, name, cb, arg));
}

/* netns_remove, answered later through cb (cb may be NULL). */
struct netns_req *
netns_remove_async(const char *path, netns_done_cb cb, void *arg)
{
	return (nsw_submit(NETNS_OP_REMOVE, path, "-", cb, arg));
}

/*
 * The caller no longer wants the answer (its sandbox went away); its arg
 * is handed back to be freed.  The operation still runs; a namespace it
 * makes is removed again.
 */
void *
netns_req_cancel(struct netns_req *r)
{
	void	*arg = r->arg;

	r->cb = NULL;
	r->arg = NULL;
	return (arg);
}
