/*
 * loop.c: the reactor loop and its after-iteration hook.
 *
 * libevent 2.1 has no "before sleep" hook, so the loop runs one iteration
 * at a time (EVLOOP_ONCE) and then, in this order:
 *
 *   0. tags the answers and commit hooks parked during the iteration with
 *      the batch they wait for (call_tag_parked);
 *   1. if the commit thread has finished writing a batch, collects it;
 *      then, if nothing is in flight and writes are pending, hands the
 *      open batch to the thread (storage's store_commit_begin) and goes
 *      on at once: the loop never waits for the fsync;
 *   2. runs the commit hooks whose batch is written;
 *   3. lets the sandbox processes held up to that batch exec (procmgr's
 *      hold gate): their pids are on disk now, so a crash can no longer
 *      leave one nobody knows of;
 *   4. releases the answers whose batch is written;
 *   5. frees connections that died during the iteration.
 *
 * Every answer and commit hook parked during an iteration is tagged at
 * its end, not when it is parked, with the batch it depends on: the open
 * one if it holds anything, else the one before (store_seq_needed).  A
 * handler may thus answer first and write after (a Shutdown answered
 * before its record's delete, say): the answer still waits for the
 * write.  So an answer, a read's included, leaves only after every
 * change made before it, or later in its iteration, is on disk, and a
 * read on a quiet store (nothing open, nothing in flight) leaves after
 * the iteration that made it.  A hook run at step 2 may park or write in
 * turn; what it parks is tagged again before step 4.  One batch is in flight at a time; everything
 * that arrives meanwhile goes into the next one, so a batch grows with
 * the load (group commit).  The thread's eventfd is an event on the loop:
 * it wakes the loop when a write is over.
 *
 * If a synced write fails, LevelDB refuses all later writes, so every
 * parked or deferred request is answered Internal and the daemon exits
 * non-zero; a restart recovers from LevelDB's log.  On the way out
 * (loop_quit, SIGTERM) the loop waits for the batch in flight and writes
 * what is pending before the last answers go; with a keeper, the Waits
 * it records stay unanswered and every connection stays open through it
 * for the next daemon (keep.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>

#include "keeper.h"
#include "procmgr.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"

struct event_base	*server_base;

static bool		 quitting;
static int		 exit_status;
static bool		 failed;	/* a commit failed: nothing more is */
static uint64_t		 flight_seq;	/* the batch in flight, 0: none */
static uint64_t		 flight_mark;	/* children held when it left */
static uint64_t		 written_mark;	/* children whose pids are written */
static struct event	*commit_ev;	/* the commit thread's eventfd */

#define STORAGE_FAILED	"storage failure: the change was not saved"

static void	loop_collect(bool);

/*
 * The commit thread is done: collect its result now, which also empties
 * the eventfd (a level-triggered event nobody empties would fire again at
 * once); what it allows is released after the iteration.
 */
static void
loop_commit_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	loop_collect(false);
}

/* Watch the commit thread's eventfd (again, if the store was reopened). */
static void
loop_watch_commits(void)
{
	int	fd = store_commit_fd();

	if (fd == -1 || (commit_ev != NULL && event_get_fd(commit_ev) == fd))
		return;
	if (commit_ev != NULL)
		event_free(commit_ev);
	commit_ev = event_new(server_base, fd, EV_READ | EV_PERSIST,
	    loop_commit_cb, NULL);
	if (commit_ev == NULL || event_add(commit_ev, NULL) == -1)
		fatalx("%s: cannot watch the commit thread", __func__);
}

/* A commit failed: answer Internal to everything waiting, and leave. */
static void
loop_commit_failed(char *cause)
{
	log_warnx("commit failed: %s; answering Internal to every waiting "
	    "request and exiting", cause);
	free(cause);
	failed = true;
	call_cancel_all(STATUS_INTERNAL, STORAGE_FAILED);
	loop_quit(1);
}

/*
 * Collect the batch in flight if it is written (wait: wait for it).  The
 * children held when it was handed over have their pids on disk once it
 * is.
 */
static void
loop_collect(bool wait)
{
	char	*cause = NULL;
	int	 rc;

	if (failed || flight_seq == 0)
		return;
	if ((rc = store_commit_end(wait, &cause)) == 1)
		return;
	if (rc == -1) {
		loop_commit_failed(cause);
		return;
	}
	written_mark = flight_mark;
	flight_seq = 0;
}

/*
 * What was parked since the last call waits for every change made so
 * far: the open batch if it holds anything, else the one before.
 */
static void
loop_tag(void)
{
	call_tag_parked(store_seq_needed(), store_ops_queued());
}

/*
 * Collect the batch in flight if it is written, then hand the open batch
 * to the commit thread if nothing is in flight.  wait: until everything
 * pending is written.
 */
static void
loop_commit(bool wait)
{
	uint64_t	mark;

	for (;;) {
		loop_collect(wait);
		if (failed || flight_seq != 0)
			return;
		mark = proc_held_mark();
		if ((flight_seq = store_commit_begin()) == 0)
			return;
		flight_mark = mark;
		if (!wait)
			return;
	}
}

/*
 * Release what the written batches allow, in the order of the comment at
 * the top: hooks, held children, answers.  After a failed commit nothing
 * is released again: the calls still deferred (a Start waiting for its
 * exec, say) and every later answer get Internal, and held children stay
 * held until the daemon's exit closes their gates, so none runs without
 * its pid on disk.
 */
static void
loop_release(void)
{
	uint64_t	settled;

	if (failed) {
		call_run_commit_hooks(0, false);
		call_fail_parked(STATUS_INTERNAL, STORAGE_FAILED);
		call_flush_parked(UINT64_MAX);
		return;
	}
	settled = store_seq_settled();
	call_run_commit_hooks(settled, true);
	loop_tag();
	/* Nothing open and nothing in flight: every pid is written. */
	if (!store_pending())
		proc_release_held();
	else
		proc_release_held_upto(written_mark);
	call_flush_parked(settled);
}

/* Commit, release, answer, free: see the comment at the top. */
void
loop_after_iteration(void)
{
	loop_watch_commits();
	loop_tag();
	loop_commit(false);
	loop_release();
	conn_free_dead();
}

/* The last pass: wait until everything is written, then release it. */
static void
loop_finish(void)
{
	loop_tag();
	loop_commit(true);
	loop_release();
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
	loop_finish();
	conn_flush_all();
	/* With a keeper the connections stay open for the next daemon. */
	if (keeper_active())
		conn_leave_to_keeper();
	conn_close_all();
	conn_free_dead();
	if (commit_ev != NULL) {
		event_free(commit_ev);
		commit_ev = NULL;
	}
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
