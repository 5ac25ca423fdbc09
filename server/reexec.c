/*
 * reexec.c: the daemon executes itself again, keeping every client.
 *
 * On SIGUSR2 or an Admin/Reexec call the daemon upgrades in place: it
 * stops accepting and reading (what peers send waits in the kernel or in
 * the input buffers), lets the calls it cannot carry finish (a Create
 * waiting for its netns, a Start for its exec, a Shutdown for an exit:
 * milliseconds), lets the last commit land and its answers leave, and
 * then writes the hand-over (handover.c) into a memfd and execs the
 * daemon's binary with the same arguments.  The pid stays, so sandbox
 * processes stay its children; the listening socket and the connections
 * stay open, so no client sees a thing; the Waits and Stops still
 * pending are dispatched again by the new image.
 *
 * If the calls do not finish within REEXEC_QUIESCE_S the re-exec is given
 * up and the daemon serves on.  If the exec itself fails there is no safe
 * way back (the store is closed, the helpers gone): it exits 1, and a
 * restart re-adopts the sandboxes as after a crash.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "procmgr.h"
#include "runc.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "xmalloc.h"

#include "sandboxd/v1/admin.pb.h"

#define REEXEC_QUIESCE_S	10

/* A Reexec call waiting for the exec (answered by the new image). */
struct reexec_waiter {
	TAILQ_ENTRY(reexec_waiter)	 entry;
	struct call			*call;
};

static TAILQ_HEAD(, reexec_waiter) waiters = TAILQ_HEAD_INITIALIZER(waiters);
static char		 *self_path;	/* the binary, resolved at start */
static char		**self_argv;
static bool		  pending;	/* quiescing */
static bool		  restoring;	/* carried calls being re-dispatched */
static struct event	 *give_up_timer;

/*
 * Remember how to run the daemon again: the binary's path, resolved now
 * (once an upgrade replaced the file, /proc/self/exe names the deleted
 * old inode; its path names the new binary) and the arguments.
 */
void
reexec_init(char **argv)
{
	char	path[PATH_MAX];
	ssize_t	n;

	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0) {
		log_warn("readlink /proc/self/exe: re-execution impossible");
		return;
	}
	path[n] = '\0';
	self_path = xstrdup(path);
	self_argv = argv;
}

/* Is a re-exec getting ready? */
bool
reexec_pending(void)
{
	return (pending);
}

/* The Reexec calls carried across are being dispatched again (or not). */
void
reexec_set_restoring(bool on)
{
	restoring = on;
}

/* Answer every waiting Reexec call with an error (the re-exec failed). */
static void
reexec_fail_waiters(const char *why)
{
	struct reexec_waiter	*w;

	while ((w = TAILQ_FIRST(&waiters)) != NULL) {
		TAILQ_REMOVE(&waiters, w, entry);
		call_finish_error(w->call, STATUS_UNAVAILABLE, "re-execution "
		    "given up: %s", why);
		free(w);
	}
}

/* Serve on: accept and read again. */
static void
reexec_abandon(const char *why)
{
	log_warnx("re-execution given up: %s; serving on", why);
	pending = false;
	if (give_up_timer != NULL)
		evtimer_del(give_up_timer);
	reexec_fail_waiters(why);
	listener_enable();
	conn_resume_all();
}

static void
reexec_give_up_cb(int fd, short events, void *arg)
{
	char	why[128];

	(void)fd;
	(void)events;
	(void)arg;
	snprintf(why, sizeof(why), "%u calls still running after %d s",
	    call_count_uncarried(), REEXEC_QUIESCE_S);
	reexec_abandon(why);
}

/* Begin a re-exec: stop taking work, wait for what cannot be carried. */
void
reexec_request(const char *why)
{
	struct timeval	tv = { REEXEC_QUIESCE_S, 0 };

	if (pending || loop_quitting())
		return;
	if (self_path == NULL) {
		log_warnx("cannot re-execute (%s): the daemon's binary path "
		    "is unknown", why);
		return;
	}
	log_info("re-executing %s (%s): waiting for running calls", self_path,
	    why);
	pending = true;
	listener_disable();
	conn_pause_all();
	if (give_up_timer == NULL &&
	    (give_up_timer = evtimer_new(server_base, reexec_give_up_cb,
	    NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(give_up_timer, &tv);
}

/*
 * Let go of what must not cross the exec: the helpers (they would hold
 * nothing useful and be nobody's to reap), the store (its lock), and
 * the SIGCHLD mask.  Descriptors the new image needs were made
 * inheritable by the hand-over; the rest are close-on-exec.
 */
static void
reexec_release(void)
{
	netns_worker_stop();
	proc_shutdown();
	store_close();
	/* A second SIGUSR2 before the new image handles it must not kill:
	 * an ignored signal stays ignored across execve. */
	signal(SIGUSR2, SIG_IGN);
}

/* Write the hand-over and exec; returns only if there was nothing done. */
static void
reexec_exec(void)
{
	char	*cause = NULL, fdstr[16];
	int	 memfd;

	if ((memfd = handover_write(&cause)) == -1) {
		reexec_abandon(cause);
		free(cause);
		return;
	}
	reexec_release();
	snprintf(fdstr, sizeof(fdstr), "%d", memfd);
	if (setenv(HANDOVER_ENV, fdstr, 1) == -1)
		fatal("setenv %s", HANDOVER_ENV);
	execv(self_path, self_argv);
	log_warn("re-execution: exec %s failed; exiting (sandboxes keep "
	    "running, a restart re-adopts them)", self_path);
	exit(1);
}

/*
 * After each loop iteration: exec once nothing but carried calls is
 * left, every answer has been sent to the connections' buffers, the
 * batch is committed and no runc runs: a runc's completion is a pidfd
 * and a callback, which the new image could not take over.
 */
void
reexec_poll(void)
{
	if (!pending)
		return;
	if (call_count_uncarried() > 0 || store_pending() ||
	    !netns_worker_idle() || runc_inflight() > 0)
		return;
	reexec_exec();
}

/* A Reexec caller left: forget its call. */
static void
reexec_cancel_cb(struct call *call, int code, void *arg)
{
	struct reexec_waiter	*w;

	(void)code;
	(void)arg;
	TAILQ_FOREACH(w, &waiters, entry) {
		if (w->call == call) {
			TAILQ_REMOVE(&waiters, w, entry);
			free(w);
			return;
		}
	}
}

/*
 * sandboxd.v1.Admin/Reexec: only root and the daemon's own user may ask.
 * The answer comes from the new image, once it serves (carried across).
 */
enum handler_result
reexec_handler(struct call *call, const void *reqp, void *respp)
{
	sv_ReexecResponse	*resp = respp;
	struct conn		*c = call_conn(call);
	struct reexec_waiter	*w;

	(void)reqp;
	if (restoring) {
		resp->pid = (uint32_t)getpid();
		return (HANDLER_DONE);
	}
	if (c == NULL || (c->uid != 0 && c->uid != geteuid()))
		return (call_fail(call, STATUS_PERMISSION_DENIED, "only root "
		    "and the daemon's user may re-execute sandboxd"));
	w = xcalloc(1, sizeof(*w));
	w->call = call;
	TAILQ_INSERT_TAIL(&waiters, w, entry);
	reexec_request("Admin/Reexec");
	if (!pending) {
		reexec_cancel_cb(call, 0, NULL);
		return (call_fail(call, STATUS_UNAVAILABLE, "sandboxd cannot "
		    "re-execute now"));
	}
	return (call_defer(call, reexec_cancel_cb, NULL));
}
