/*
 * lifecycle.c: the state machine of an instance once it exists:
 *
 *	created --Start--> running --Stop--> stopping --exit--> stopped
 *	   any --Shutdown--> (forgotten)
 *
 * Start spawns the init process held until its pid is on disk; the exit
 * callback records the exit; Shutdown kills, removes the netns, the
 * bundle and the record.  A Start that fails leaves the instance created.
 * Stop, Wait and Shutdown of a sandbox the orphan sweep removed answer as
 * for one that exited (orphans.c says why).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "instance.h"
#include "fs.h"
#include "log.h"
#include "pbutil.h"
#include "pod.h"
#include "procmgr.h"
#include "protocol.h"
#include "storage.h"
#include "xmalloc.h"

/* ---- teardown ------------------------------------------------------- */

/*
 * Shutdown's last step: remove bundle and record, answer, forget.  The
 * answers wait for the delete's commit in either order (the loop tags
 * them at the end of the iteration); answering last reads as it happens.
 */
static void
teardown_finish(struct instance *inst)
{
	log_info("sandbox %s/%s: shut down", inst->ns, inst->id);
	inst_bundle_remove(inst);
	store_del(STORE_INSTANCE, inst->ns, inst->id);
	orphans_note_gone(inst);
	inst_answer_all(inst);
	inst_remove(inst);
}

/* The netns the sandbox owned is gone (or could not be removed). */
static void
teardown_netns_done_cb(const char *path, const char *error, void *arg)
{
	struct instance	*inst = arg;

	(void)path;
	inst->netns_req = NULL;
	if (error != NULL)
		log_warnx("sandbox %s/%s: %s", inst->ns, inst->id, error);
	teardown_finish(inst);
}

/*
 * Shutdown, once no process runs: remove the netns sandboxd made (off the
 * loop: unmounting can take a while), then finish.
 */
void
inst_teardown(struct instance *inst)
{
	if (inst->netns_owned && inst->netns_path != NULL) {
		inst->netns_req = netns_remove_async(inst->netns_path,
		    teardown_netns_done_cb, inst);
		return;
	}
	teardown_finish(inst);
}

/* ---- exits ---------------------------------------------------------- */

/* The sandbox's init exited: record it, answer waiters, finish Shutdown. */
void
inst_exit_cb(struct proc *p, int status, const struct timespec *at, void *arg)
{
	struct instance	*inst = arg;

	inst->state = SB_STATE_STOPPED;
	inst->exit_status = (uint8_t)status;
	ts_from_timespec(&inst->exited_at, at);
	proc_free(p);
	inst->proc = NULL;
	log_info("sandbox %s/%s: pid %u exited with status %d", inst->ns,
	    inst->id, inst->pid, status);
	if (inst->shutting_down) {
		inst_teardown(inst);
		return;
	}
	inst_save_or_log(inst, "exit");
	inst_answer_all(inst);
}

/* ---- Start, Stop, Wait ---------------------------------------------- */

/* Why a sandbox in this state cannot start. */
static enum handler_result
start_refused(struct call *call, const struct instance *inst)
{
	if (inst->shutting_down)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" is being shut down", inst->id));
	if (inst->creating)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" already has a Start waiting for its Create",
		    inst->id));
	switch (inst->state) {
	case SB_STATE_RUNNING:
	case SB_STATE_STOPPING:
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" is already running (pid %u)", inst->id, inst->pid));
	case SB_STATE_STOPPED:
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" has exited; shut it down and create it again",
		    inst->id));
	default:
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" is in an unknown state; shut it down", inst->id));
	}
}

/* Build the launch of inst from its record: runtime, spec, netns, log. */
static int
start_launch(struct instance *inst, const sv_Instance *rec,
    struct proc_launch *launch, char **cause)
{
	struct pod_config	*pod;
	char			*dir;

	if (runtime_prepare(rec->sandbox.runtime.name,
	    rec->sandbox.spec.value.data, rec->sandbox.spec.value.len, launch,
	    cause) == -1)
		return (-1);
	if (rec->pod_config.len > 0) {
		/* Checked at Create; read again, it could only fail now for memory. */
		if ((pod = pod_config_parse(rec->pod_config.data,
		    rec->pod_config.len, cause)) == NULL)
			return (-1);
		pod_config_apply(pod, launch);
		pod_config_free(pod);
	}
	if (inst->netns_path != NULL)
		launch->netns_path = xstrdup(inst->netns_path);
	/* Its own directory per namespace under log_dir (proc_log.c caps
	 * and rotates the file). */
	if (proc_log_dir() != NULL) {
		xasprintf(&dir, "%s/%s", proc_log_dir(), inst->ns);
		if (fs_mkdir_p(dir, 0700, 0700, cause) == -1) {
			free(dir);
			return (-1);
		}
		free(dir);
	}
	launch->log_path = inst_log_path(inst);
	launch->hold = true;
	return (0);
}

/* Forget a start: the instance is created again, with no process. */
static void
start_clear(struct instance *inst)
{
	inst->state = SB_STATE_CREATED;
	inst->pid = 0;
	inst->start_time = 0;
	inst->stop_deadline = 0;
	memset(&inst->started_at, 0, sizeof(inst->started_at));
}

/*
 * The start failed: the process never ran.  Back to created, as if Start
 * had not been called, unless a Shutdown was waiting for it to end.
 */
static void
start_undo(struct instance *inst, const char *error)
{
	log_warnx("sandbox %s/%s: start failed: %s", inst->ns, inst->id, error);
	inst->proc = NULL;		/* procmgr frees it */
	inst_answer_start(inst, error);
	if (inst->shutting_down) {
		inst_teardown(inst);
		return;
	}
	start_clear(inst);
	inst_save_or_log(inst, "state");
}

/* The init process exec'd, or failed to: answer Start. */
static void
inst_ready_cb(struct proc *p, const char *error, void *arg)
{
	struct instance	*inst = arg;

	(void)p;
	if (error != NULL) {
		start_undo(inst, error);
		return;
	}
	log_info("sandbox %s/%s: started, pid %u", inst->ns, inst->id,
	    inst->pid);
	inst_answer_start(inst, NULL);
}

/*
 * Spawn inst's init process, held until the batch recording its pid is
 * synced, so that a crash before then leaves no process nobody knows of.
 * 0, or -1 with *code and *cause (the instance stays created).
 */
static int
start_spawn(struct instance *inst, int *code, char **cause)
{
	struct inst_record	*rec;
	struct proc_launch	 launch = { 0 };
	struct proc		*p = NULL;
	char			*why = NULL;
	int			 rc;

	/* Before anything: the descriptors a Start needs must not be the
	 * store's or the connections' (proc_fds.c). */
	if (proc_fds_check(PROC_FDS_PER_START, &why) == -1) {
		*code = STATUS_RESOURCE_EXHAUSTED;
		xasprintf(cause, "sandbox \"%s\": start refused: %s", inst->id,
		    why);
		log_warnx("sandbox %s/%s: start refused: %s", inst->ns,
		    inst->id, why);
		free(why);
		return (-1);
	}
	*code = STATUS_INTERNAL;
	if (inst_load(inst->ns, inst->id, &rec, &why) != 1) {
		xasprintf(cause, "sandbox \"%s\": cannot read its record: %s",
		    inst->id, why != NULL ? why : "missing");
		free(why);
		return (-1);
	}
	if (start_launch(inst, rec->inst, &launch, &why) == 0)
		p = proc_spawn(&launch, inst_exit_cb, inst_ready_cb, inst, &why);
	proc_launch_free(&launch);
	if (p == NULL) {
		*code = STATUS_UNKNOWN;
		xasprintf(cause, "sandbox \"%s\": start: %s", inst->id, why);
		log_warnx("sandbox %s/%s: start failed: %s", inst->ns, inst->id,
		    why);
		free(why);
		inst_record_free(rec);
		return (-1);
	}
	inst->proc = p;
	inst->pid = (uint32_t)proc_pid(p);
	inst->start_time = proc_start_time(p);
	inst->state = SB_STATE_RUNNING;
	ts_now(&inst->started_at);
	rc = inst_save(inst, &rec->inst->sandbox, &why);
	inst_record_free(rec);
	if (rc == -1) {
		xasprintf(cause, "sandbox \"%s\": cannot save state: %s",
		    inst->id, why);
		free(why);
		/* Freed while held: the child exits without running. */
		proc_free(p);
		inst->proc = NULL;
		start_clear(inst);
		return (-1);
	}
	return (0);
}

/*
 * A Start that came while the Create was still making the netns: go on
 * now that it has.  Its waiter is answered as any Start's is.
 */
void
inst_start_queued(struct instance *inst)
{
	char	*cause = NULL;
	int	 code;

	if (inst->shutting_down || !waiters_have(&inst->waiters, WAITER_START))
		return;
	if (start_spawn(inst, &code, &cause) == -1) {
		inst_answer_start(inst, cause);
		free(cause);
	}
}

/*
 * Start: spawn the init process; the answer (answer: which service's)
 * waits for the exec.  A Start pipelined behind its Create, while the
 * netns is being made, waits for that first.
 */
enum handler_result
ctrl_start(struct call *call, const char *id, ctrl_answer_fn answer)
{
	struct instance	*inst;
	char		*cause = NULL;
	int		 code;

	if ((inst = inst_get_or_fail(call, id)) == NULL)
		return (HANDLER_ERROR);
	if (inst->creating && !inst->shutting_down &&
	    !waiters_have(&inst->waiters, WAITER_START))
		return (waiter_add(&inst->waiters, call, WAITER_START, answer));
	if (inst->state != SB_STATE_CREATED || inst->creating ||
	    inst->shutting_down)
		return (start_refused(call, inst));
	if (start_spawn(inst, &code, &cause) == -1) {
		call_fail(call, code, "%s", cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	return (waiter_add(&inst->waiters, call, WAITER_START, answer));
}

/* A Stop whose signal waits for its record (stop_after_commit_cb). */
struct stop_signal {
	unsigned int	 timeout;
	char		*ns;
	char		 id[];
};

/*
 * The record saying "stopping" is on disk: signal now, if the instance
 * still has its process.  If it could not be written the daemon is
 * exiting: nothing was signalled, so the Stop answered Internal changed
 * nothing, and a restart finds the sandbox as it was.
 */
static void
stop_after_commit_cb(bool committed, void *arg)
{
	struct stop_signal	*ss = arg;
	struct instance		*inst;

	if (committed && (inst = inst_find(ss->ns, ss->id)) != NULL &&
	    inst->proc != NULL && inst->state == SB_STATE_STOPPING)
		proc_stop(inst->proc, ss->timeout);
	free(ss->ns);
	free(ss);
}

/* Signal inst's process once this iteration's writes are synced. */
static void
stop_signal_after_commit(struct instance *inst, unsigned int timeout)
{
	struct stop_signal	*ss;
	size_t			 len = strlen(inst->id) + 1;

	ss = xmalloc(sizeof(*ss) + len);
	ss->timeout = timeout;
	ss->ns = xstrdup(inst->ns);
	memcpy(ss->id, inst->id, len);
	call_after_commit(stop_after_commit_cb, ss);
}

/*
 * Whether id names no instance but one the orphan sweep shut down, which
 * Stop, Wait and Shutdown answer as exited (see orphans.c); its exit
 * through the pointers (each may be NULL).
 */
static bool
swept_away(struct call *call, const char *id, uint32_t *status,
    gp_Timestamp *exited_at)
{
	const char	*ns = call_namespace(call);

	return (inst_find(ns, id) == NULL &&
	    orphans_swept(ns, id, status, exited_at));
}

/*
 * Stop: SIGTERM, SIGKILL after timeout_secs (0: at once); answer at exit.
 * The new state is saved first and undone if the save fails; the signal
 * goes once the save is synced, so a failed commit has stopped nothing.
 */
enum handler_result
ctrl_stop(struct call *call, const char *id, uint32_t timeout_secs,
    ctrl_answer_fn answer)
{
	struct instance	*inst;
	int64_t		 old_deadline;
	uint8_t		 old_state;

	if (swept_away(call, id, NULL, NULL))
		return (HANDLER_DONE);		/* stopped for good */
	if ((inst = inst_get_or_fail(call, id)) == NULL)
		return (HANDLER_ERROR);
	if (inst->state != SB_STATE_RUNNING && inst->state != SB_STATE_STOPPING)
		return (HANDLER_DONE);
	log_info("sandbox %s/%s: stopping pid %u (timeout %u s)", inst->ns, id,
	    inst->pid, timeout_secs);
	if (inst->state == SB_STATE_RUNNING ||
	    time(NULL) + timeout_secs < inst->stop_deadline) {
		old_deadline = inst->stop_deadline;
		old_state = inst->state;
		inst->stop_deadline = time(NULL) + timeout_secs;
		inst->state = SB_STATE_STOPPING;
		if (!inst_save_or_fail(call, inst, NULL)) {
			inst->stop_deadline = old_deadline;
			inst->state = old_state;
			return (HANDLER_ERROR);
		}
		stop_signal_after_commit(inst, timeout_secs);
	} else
		proc_stop(inst->proc, timeout_secs);	/* nothing to save */
	return (waiter_add(&inst->waiters, call, WAITER_STOP, answer));
}

/* Wait: the exit status, now if it has exited, else when it does. */
enum handler_result
ctrl_wait(struct call *call, const char *id, ctrl_answer_fn answer,
    uint32_t *status, gp_Timestamp *exited_at)
{
	struct instance	*inst;

	if (swept_away(call, id, status, exited_at))
		return (HANDLER_DONE);
	if ((inst = inst_get_or_fail(call, id)) == NULL)
		return (HANDLER_ERROR);
	if (inst->state == SB_STATE_STOPPED) {
		*status = inst->exit_status;
		*exited_at = inst->exited_at;
		return (HANDLER_DONE);
	}
	if (inst->state == SB_STATE_UNKNOWN)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" is in an unknown state; shut it down", id));
	return (waiter_add(&inst->waiters, call, WAITER_EXIT, answer));
}

/* ---- Shutdown, Update, Ping ----------------------------------------- */

/*
 * Shutdown: kill what runs, answer waiters, remove netns, bundle and
 * record.  Deferred until the process is reaped and the netns removed;
 * a Create still making its netns finishes first.  Shutting down an id
 * the controller forgot but the store knows is fine (idempotent).
 */
enum handler_result
ctrl_shutdown(struct call *call, const char *id, ctrl_answer_fn answer)
{
	struct instance		*inst;
	enum handler_result	 r;

	if (!ctrl_check_id(call, id))
		return (HANDLER_ERROR);
	if ((inst = inst_find(call_namespace(call), id)) == NULL) {
		if (store_exists(STORE_SANDBOX, call_namespace(call), id) ||
		    swept_away(call, id, NULL, NULL))
			return (HANDLER_DONE);
		return (call_fail(call, STATUS_NOT_FOUND, "sandbox \"%s\" not "
		    "found in namespace \"%s\"", id, call_namespace(call)));
	}
	if (inst->shutting_down)
		return (waiter_add(&inst->waiters, call, WAITER_STOP, answer));
	r = waiter_add(&inst->waiters, call, WAITER_STOP, answer);
	inst_shutdown(inst);		/* may answer r's call at once */
	return (r);
}

/*
 * Shut inst down: SIGKILL what runs; inst_exit_cb goes on once it is
 * reaped, create_netns_done_cb once a Create still making its netns is
 * done, else tear it down now (answering its waiters).
 */
void
inst_shutdown(struct instance *inst)
{
	inst->shutting_down = true;
	if (inst->creating)
		return;
	if (inst->proc != NULL) {
		if (proc_kill(inst->proc, SIGKILL) == -1 && errno != ESRCH)
			log_warn("sandbox %s/%s: kill pid %u", inst->ns,
			    inst->id, inst->pid);
		return;
	}
	inst_teardown(inst);
}

/* Update: field paths applied to the controller's copy of the metadata. */
enum handler_result
ctrl_update(struct call *call, const char *id, ct_Sandbox *in,
    const record_path *paths, size_t npaths)
{
	struct instance		*inst;
	struct inst_record	*rec;
	ct_Sandbox		*out;
	enum handler_result	 r = HANDLER_DONE;
	char			*cause = NULL;

	if ((inst = inst_get_or_fail(call, id)) == NULL)
		return (HANDLER_ERROR);
	if (inst->creating)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" is still being created", id));
	if (inst_load(inst->ns, inst->id, &rec, &cause) != 1) {
		call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": cannot read "
		    "its record: %s", id, cause != NULL ? cause : "missing");
		free(cause);
		return (HANDLER_ERROR);
	}
	record_normalize(in);
	out = xmalloc(sizeof(*out));
	if (record_merge(out, &rec->inst->sandbox, in, paths, npaths,
	    &cause) == -1) {
		r = call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": %s",
		    id, cause);
		free(cause);
	} else {
		ts_now(&out->updated_at);
		out->has_updated_at = true;
		if (!inst_save_or_fail(call, inst, out))
			r = HANDLER_ERROR;
	}
	free(out);
	inst_record_free(rec);
	return (r);
}

/* Ping: OK if the instance exists. */
enum handler_result
ctrl_ping(struct call *call, const char *id)
{
	return (inst_get_or_fail(call, id) != NULL ? HANDLER_DONE : HANDLER_ERROR);
}

/* ---- the daemon's side ---------------------------------------------- */

/* Forget one instance without touching its process or its record. */
static void
release_one_cb(struct instance *inst, void *arg)
{
	void	*op;

	(void)arg;
	waiters_forget(&inst->waiters);
	if (inst->netns_req != NULL) {
		op = netns_req_cancel(inst->netns_req);
		if (inst->creating)
			create_op_free(op);
	}
	inst_remove(inst);
}

/* Daemon exit: sandboxes keep running; a restart re-adopts them. */
void
ctrl_release_all(void)
{
	inst_foreach(release_one_cb, NULL);
}
