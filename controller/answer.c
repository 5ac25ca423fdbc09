/*
 * answer.c: answering the calls parked on an instance when the event they
 * wait for comes: a Create's netns is made, a Start's process exec'd (or
 * not), the process exited or the instance goes away.  What each event
 * means for each kind of waiter is decided here; the message each call
 * gets is built by the answer function its service gave (handlers/).
 */
#include <stdlib.h>

#include "instance.h"
#include "log.h"
#include "protocol.h"

/* What a release brings to the waiters it visits. */
struct release {
	struct instance	*inst;
	const char	*error;		/* NULL: the event went well */
};

/* Answer a Create: the sandbox's id. */
static void
answer_create(struct waiter *w, const struct instance *inst)
{
	struct ctrl_answer	ans = { .id = inst->id };

	w->answer(w->call, &ans);
}

/* Answer a Start: pid, creation time and the instance record's metadata. */
static void
answer_start(struct waiter *w, const struct instance *inst)
{
	struct inst_record	*rec;
	struct ctrl_answer	 ans = { .id = inst->id };
	char			*cause = NULL;

	if (inst_load(inst->ns, inst->id, &rec, &cause) != 1) {
		call_finish_error(w->call, STATUS_INTERNAL, "sandbox \"%s\": "
		    "started (pid %u) but its record cannot be read: %s",
		    inst->id, inst->pid, cause != NULL ? cause : "missing");
		free(cause);
		return;
	}
	ans.pid = inst->pid;
	ans.created_at = inst->created_at;
	ans.sandbox = &rec->inst->sandbox;
	w->answer(w->call, &ans);
	inst_record_free(rec);
}

/* Answer a Wait, Stop or Shutdown with the instance's exit. */
static void
answer_exit(struct waiter *w, const struct instance *inst)
{
	struct ctrl_answer	ans = { .id = inst->id };

	if (w->event != WAITER_EXIT && w->event != WAITER_STOP)
		fatalx("%s: waiter event %d", __func__, (int)w->event);
	ans.exit_status = inst->exit_status;
	ans.exited_at = inst->exited_at;
	w->answer(w->call, &ans);
}

/*
 * The start ended (error NULL: it exec'd): answer the Start waiters.  If
 * it failed, a Stop waiting for the exit is done too: the sandbox is back
 * to created, where Stop succeeds at once.
 */
static bool
release_start_cb(struct waiter *w, void *arg)
{
	const struct release	*r = arg;

	if (w->event == WAITER_START && r->error == NULL)
		answer_start(w, r->inst);
	else if (w->event == WAITER_START)
		call_finish_error(w->call, STATUS_UNKNOWN, "sandbox \"%s\": "
		    "start: %s", r->inst->id, r->error);
	else if (w->event == WAITER_STOP && r->error != NULL &&
	    !r->inst->shutting_down)
		answer_exit(w, r->inst);
	else
		return (false);
	return (true);
}

/* The netns of a deferred Create is made (error NULL) or not. */
static bool
release_create_cb(struct waiter *w, void *arg)
{
	const struct release	*r = arg;

	if (w->event != WAITER_CREATE)
		return (false);
	if (r->error == NULL)
		answer_create(w, r->inst);
	else
		call_finish_error(w->call, STATUS_UNKNOWN, "sandbox \"%s\": "
		    "cannot create a network namespace: %s", r->inst->id,
		    r->error);
	return (true);
}

/*
 * The process exited, or the instance goes away.  If the process never
 * ran (Shutdown of a created sandbox), Wait has no exit to report:
 * Canceled, as wire.md says.
 */
static bool
release_all_cb(struct waiter *w, void *arg)
{
	const struct release	*r = arg;

	if (w->event == WAITER_START || w->event == WAITER_CREATE)
		call_finish_error(w->call, STATUS_UNAVAILABLE, "sandbox "
		    "\"%s\" went away before it was ready", r->inst->id);
	else if (w->event == WAITER_EXIT &&
	    r->inst->state != SB_STATE_STOPPED)
		call_finish_error(w->call, STATUS_CANCELED, "sandbox "
		    "\"%s\" was shut down before it exited", r->inst->id);
	else
		answer_exit(w, r->inst);
	return (true);
}

/* The netns of a deferred Create is made (error NULL) or not: answer. */
void
inst_answer_create(struct instance *inst, const char *error)
{
	struct release	r = { inst, error };

	waiters_visit(&inst->waiters, release_create_cb, &r);
}

/* The start ended: answer Start (and, if it failed, Stop) waiters. */
void
inst_answer_start(struct instance *inst, const char *error)
{
	struct release	r = { inst, error };

	waiters_visit(&inst->waiters, release_start_cb, &r);
}

/* The process exited, or the instance goes away: answer every waiter. */
void
inst_answer_all(struct instance *inst)
{
	struct release	r = { inst, NULL };

	waiters_visit(&inst->waiters, release_all_cb, &r);
}
