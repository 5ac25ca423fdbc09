/*
 * waiter.c: calls parked on a sandbox instance until something happens
 * to it.  A Create waits for its network namespace, a Start for the exec,
 * a Wait, Stop or Shutdown for the exit.  A waiter whose client leaves,
 * or whose deadline passes, is forgotten by its cancel callback; the
 * server answers for it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "containerd/runtime/sandbox/v1/sandbox.pb.h"
#include "instance.h"
#include "log.h"
#include "protocol.h"
#include "xmalloc.h"

/* A waiter's client left or its deadline passed: forget it. */
static void
waiter_cancel_cb(struct call *call, int code, void *arg)
{
	struct waiter	*w = arg;

	(void)call;
	(void)code;
	TAILQ_REMOVE(&w->inst->waiters, w, entry);
	free(w);
}

/* Park a call on inst until the event its kind waits for. */
enum handler_result
waiter_add(struct call *call, struct instance *inst, enum waiter_kind kind)
{
	struct waiter	*w;

	w = xcalloc(1, sizeof(*w));
	w->call = call;
	w->inst = inst;
	w->kind = kind;
	TAILQ_INSERT_TAIL(&inst->waiters, w, entry);
	return (call_defer(call, waiter_cancel_cb, w));
}

static bool
waiter_is_start(const struct waiter *w)
{
	return (w->kind == WAITER_START || w->kind == WAITER_SHIM_START);
}

static bool
waiter_is_create(const struct waiter *w)
{
	return (w->kind == WAITER_CREATE || w->kind == WAITER_SHIM_CREATE);
}

/* Is a Start waiting on inst? */
bool
waiters_have_start(const struct instance *inst)
{
	const struct waiter	*w;

	TAILQ_FOREACH(w, &inst->waiters, entry) {
		if (waiter_is_start(w))
			return (true);
	}
	return (false);
}

/* Drop w from its instance; the caller has answered it. */
static void
waiter_done(struct waiter *w)
{
	TAILQ_REMOVE(&w->inst->waiters, w, entry);
	free(w);
}

/* Answer a Create: the Controller's names the sandbox, the shim's is empty. */
static void
create_answer(struct waiter *w, const struct instance *inst)
{
	cssv_ControllerCreateResponse	cr = { 0 };
	crsv_CreateSandboxResponse	sr = { 0 };

	if (w->kind == WAITER_CREATE) {
		snprintf(cr.sandbox_id, sizeof(cr.sandbox_id), "%s", inst->id);
		call_finish(w->call, cssv_ControllerCreateResponse_fields, &cr);
	} else
		call_finish(w->call, crsv_CreateSandboxResponse_fields, &sr);
}

/* The Controller's Start answer: pid, creation time, labels and spec. */
static void
start_answer_ctrl(struct call *call, const struct instance *inst,
    const ct_Sandbox *sb)
{
	cssv_ControllerStartResponse	*resp;
	pb_size_t			 i;

	resp = xcalloc(1, sizeof(*resp));	/* 8 KiB of label slots */
	snprintf(resp->sandbox_id, sizeof(resp->sandbox_id), "%s", inst->id);
	resp->pid = inst->pid;
	resp->has_created_at = true;
	resp->created_at = inst->created_at;
	for (i = 0; i < sb->labels_count; i++) {
		resp->labels[i].key = sb->labels[i].key;
		resp->labels[i].value = sb->labels[i].value;
	}
	resp->labels_count = sb->labels_count;
	resp->has_spec = sb->has_spec;
	resp->spec = sb->spec;
	call_finish(call, cssv_ControllerStartResponse_fields, resp);
	free(resp);
}

/* The shim's Start answer: pid, creation time and spec. */
static void
start_answer_shim(struct call *call, const struct instance *inst,
    const ct_Sandbox *sb)
{
	crsv_StartSandboxResponse	resp = { 0 };

	resp.pid = inst->pid;
	resp.has_created_at = true;
	resp.created_at = inst->created_at;
	resp.has_spec = sb->has_spec;
	resp.spec = sb->spec;
	call_finish(call, crsv_StartSandboxResponse_fields, &resp);
}

/* Answer one Start waiter: the metadata comes from the instance record. */
static void
start_answer(struct waiter *w, const struct instance *inst)
{
	struct inst_record	*rec;
	char			*cause = NULL;

	if (inst_load(inst->ns, inst->id, &rec, &cause) != 1) {
		call_finish_error(w->call, STATUS_INTERNAL, "sandbox \"%s\": "
		    "started (pid %u) but its record cannot be read: %s",
		    inst->id, inst->pid, cause != NULL ? cause : "missing");
		free(cause);
		return;
	}
	if (w->kind == WAITER_START)
		start_answer_ctrl(w->call, inst, &rec->inst->sandbox);
	else
		start_answer_shim(w->call, inst, &rec->inst->sandbox);
	inst_record_free(rec);
}

/* Answer one Wait, Stop or Shutdown waiter with the instance's exit. */
static void
exit_answer(struct waiter *w, const struct instance *inst)
{
	cssv_ControllerWaitResponse	cw = { 0 };
	crsv_WaitSandboxResponse	sw = { 0 };
	cssv_ControllerStopResponse	empty = { 0 };

	switch (w->kind) {
	case WAITER_WAIT:
		cw.exit_status = inst->exit_status;
		cw.has_exited_at = true;
		cw.exited_at = inst->exited_at;
		call_finish(w->call, cssv_ControllerWaitResponse_fields, &cw);
		break;
	case WAITER_SHIM_WAIT:
		sw.exit_status = inst->exit_status;
		sw.has_exited_at = true;
		sw.exited_at = inst->exited_at;
		call_finish(w->call, crsv_WaitSandboxResponse_fields, &sw);
		break;
	case WAITER_EMPTY:
		call_finish(w->call, cssv_ControllerStopResponse_fields, &empty);
		break;
	default:
		fatalx("%s: waiter kind %d", __func__, (int)w->kind);
	}
}

/*
 * The start ended: answer the Start waiters, with error (NULL: it
 * exec'd).  If it failed, a Stop waiting for the exit is done too: the
 * sandbox is back to created, where Stop succeeds at once.
 */
void
waiters_release_start(struct instance *inst, const char *error)
{
	struct waiter	*w, *next;

	TAILQ_FOREACH_SAFE(w, &inst->waiters, entry, next) {
		if (waiter_is_start(w) && error == NULL)
			start_answer(w, inst);
		else if (waiter_is_start(w))
			call_finish_error(w->call, STATUS_UNKNOWN, "sandbox "
			    "\"%s\": start: %s", inst->id, error);
		else if (w->kind == WAITER_EMPTY && error != NULL &&
		    !inst->shutting_down)
			exit_answer(w, inst);
		else
			continue;
		waiter_done(w);
	}
}

/* The netns of a deferred Create is made (error NULL) or not: answer. */
void
waiters_release_create(struct instance *inst, const char *error)
{
	struct waiter	*w, *next;

	TAILQ_FOREACH_SAFE(w, &inst->waiters, entry, next) {
		if (!waiter_is_create(w))
			continue;
		if (error == NULL)
			create_answer(w, inst);
		else
			call_finish_error(w->call, STATUS_UNKNOWN, "sandbox "
			    "\"%s\": cannot create a network namespace: %s",
			    inst->id, error);
		waiter_done(w);
	}
}

/*
 * The process exited, or the instance goes away: answer every waiter.  If
 * the process never ran (Shutdown of a created sandbox), Wait has no exit
 * to report: Canceled, as wire.md says.
 */
void
waiters_release(struct instance *inst)
{
	struct waiter	*w;

	while ((w = TAILQ_FIRST(&inst->waiters)) != NULL) {
		if (waiter_is_start(w) || waiter_is_create(w))
			call_finish_error(w->call, STATUS_UNAVAILABLE, "sandbox "
			    "\"%s\" went away before it was ready", inst->id);
		else if (w->kind != WAITER_EMPTY &&
		    inst->state != SB_STATE_STOPPED)
			call_finish_error(w->call, STATUS_CANCELED, "sandbox "
			    "\"%s\" was shut down before it exited", inst->id);
		else
			exit_answer(w, inst);
		waiter_done(w);
	}
}

/* Daemon exit: drop the waiters, whose calls call_cancel_all answered. */
void
waiters_forget(struct instance *inst)
{
	struct waiter	*w;

	while ((w = TAILQ_FIRST(&inst->waiters)) != NULL) {
		TAILQ_REMOVE(&inst->waiters, w, entry);
		free(w);
	}
}
