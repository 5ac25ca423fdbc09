/*
 * loop.c: the reactor loop and its after-iteration hook.
 *
 * libevent 2.1 has no "before sleep" hook, so the loop runs one iteration
 * at a time (EVLOOP_ONCE) and then, in this order:
 *
 *   1. commits the iteration's LevelDB batch with one synced write;
 *   2. lets the sandbox processes spawned during it exec (procmgr's
 *      hold gate): their pids are on disk now, so a crash can no longer
 *      leave one nobody knows of;
 *   3. releases the answers parked during the iteration;
 *   4. frees connections that died during it.
 *
 * Answers wait for the commit so that an acknowledged change is always on
 * disk.  Every write of one iteration shares one fsync (group commit): the
 * daemon gathers the batch itself, since LevelDB only groups writers of
 * several threads.  If the synced write fails, LevelDB refuses all later
 * writes, so every parked or deferred request is answered Internal and
 * the daemon exits non-zero; a restart recovers from LevelDB's log.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "procmgr.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"

struct event_base	*server_base;

static bool	quitting;
static int	exit_status;

#define STORAGE_FAILED	"storage failure: the change was not saved"

/*
 * Commit, release, answer, free: see the comment at the top.  After a
 * failed commit nothing is committed or released again: the calls still
 * deferred (a Start waiting for its exec, say) and every later answer
 * get Internal, and held children stay held until the daemon's exit
 * closes their gates, so none runs without its pid on disk.
 */
void
loop_after_iteration(void)
{
	static bool	 failed;
	char		*cause = NULL;

	if (!failed && store_pending() && store_commit(&cause) == -1) {
		log_warnx("commit failed: %s; answering Internal to every "
		    "waiting request and exiting", cause);
		free(cause);
		failed = true;
		call_cancel_all(STATUS_INTERNAL, STORAGE_FAILED);
		loop_quit(1);
	}
	call_run_commit_hooks(!failed);
	if (failed)
		call_fail_parked(STATUS_INTERNAL, STORAGE_FAILED);
	else
		proc_release_held();
	call_flush_parked();
	conn_free_dead();
}

/* Run until loop_quit; returns the daemon's exit status. */
int
loop_run(struct event_base *base)
{
	while (!quitting) {
		if (event_base_loop(base, EVLOOP_ONCE) == -1) {
			log_warnx("event_base_loop failed");
			loop_quit(1);
		}
		loop_after_iteration();
		reexec_poll();
	}
	listener_disable();
	call_cancel_all(STATUS_UNAVAILABLE, "sandboxd is shutting down");
	loop_after_iteration();
	conn_flush_all();
	conn_close_all();
	conn_free_dead();
	return (exit_status);
}

/* Leave the loop after the current iteration with this status. */
void
loop_quit(int status)
{
	if (status > exit_status)
		exit_status = status;
	quitting = true;
}

bool
loop_quitting(void)
{
	return (quitting);
}
