/*
 * inst.c: the instance table (a red-black tree by namespace and id) and
 * the instance records in LevelDB; the controller's settings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance.h"
#include "log.h"
#include "pbutil.h"
#include "procmgr.h"
#include "protocol.h"
#include "storage.h"
#include "validate.h"
#include "xmalloc.h"

struct ctrl_config ctrl_cfg = {
	.state_dir = "/var/lib/sandboxd",
	.run_dir = "/run/sandboxd",
	.default_runtime = RUNTIME_PAUSE,
	.max_sandboxes_per_namespace = 100000,
};

RB_HEAD(instance_tree, instance);

static int	inst_cmp(struct instance *, struct instance *);
RB_PROTOTYPE(instance_tree, instance, entry, inst_cmp)
RB_GENERATE(instance_tree, instance, entry, inst_cmp)

static struct instance_tree	instances = RB_INITIALIZER(&instances);

/* Take the daemon's settings (the strings must outlive the daemon). */
void
ctrl_configure(const struct ctrl_config *c)
{
	ctrl_cfg = *c;
}

/* Order instances by namespace, then id. */
static int
inst_cmp(struct instance *a, struct instance *b)
{
	int	r = strcmp(a->ns, b->ns);

	return (r != 0 ? r : strcmp(a->id, b->id));
}

/* The instance of ns/id, or NULL. */
struct instance *
inst_find(const char *ns, const char *id)
{
	struct instance	*key;
	struct instance	*found;
	size_t		 len = strlen(id);

	key = xmalloc(sizeof(*key) + len + 1);
	key->ns = (char *)ns;
	memcpy(key->id, id, len + 1);
	found = RB_FIND(instance_tree, &instances, key);
	free(key);
	return (found);
}

/* A new, empty instance of ns/id in the table. */
struct instance *
inst_insert(const char *ns, const char *id)
{
	struct instance	*inst;
	size_t		 len = strlen(id);

	inst = xcalloc(1, sizeof(*inst) + len + 1);
	memcpy(inst->id, id, len + 1);
	inst->ns = xstrdup(ns);
	TAILQ_INIT(&inst->waiters);
	RB_INSERT(instance_tree, &instances, inst);
	return (inst);
}

/* Take an instance out of the table and free it (no process, no waiter). */
void
inst_remove(struct instance *inst)
{
	RB_REMOVE(instance_tree, &instances, inst);
	if (inst->proc != NULL)
		proc_free(inst->proc);
	free(inst->netns_path);
	free(inst->owner_bundle);
	free(inst->ns);
	free(inst);
}

/* Call fn on every instance (fn may remove the one it is given). */
void
inst_foreach(void (*fn)(struct instance *, void *), void *arg)
{
	struct instance	*inst, *next;

	RB_FOREACH_SAFE(inst, instance_tree, &instances, next)
		fn(inst, arg);
}

/* The state as Status reports it (containerd CRI's names). */
const char *
inst_state_name(const struct instance *inst)
{
	switch (inst->state) {
	case SB_STATE_RUNNING:
		return ("SANDBOX_READY");
	case SB_STATE_UNKNOWN:
		return ("SANDBOX_UNKNOWN");
	default:
		return ("SANDBOX_NOTREADY");
	}
}

/* <state_dir>/sandboxes/<ns>/<id>: the sandbox's log lives here. */
char *
inst_bundle_dir(const struct instance *inst)
{
	char	*dir;

	xasprintf(&dir, "%s/sandboxes/%s/%s", ctrl_cfg.state_dir, inst->ns,
	    inst->id);
	return (dir);
}

/*
 * The sandbox's log: <log_dir>/<ns>/<id>.log, off the store's file system
 * by default (log_dir is <run_dir>/logs), so that a sandbox's output
 * cannot fill it; <bundle>/sandbox.log when no log_dir is set.
 */
char *
inst_log_path(const struct instance *inst)
{
	char	*path, *dir;

	if (proc_log_dir() != NULL) {
		xasprintf(&path, "%s/%s/%s.log", proc_log_dir(), inst->ns,
		    inst->id);
		return (path);
	}
	dir = inst_bundle_dir(inst);
	xasprintf(&path, "%s/sandbox.log", dir);
	free(dir);
	return (path);
}

/* Remove the bundle directory and what is in it, and the log. */
void
inst_bundle_remove(const struct instance *inst)
{
	char	*dir = inst_bundle_dir(inst), *log;

	xasprintf(&log, "%s/sandbox.log", dir);
	if (unlink(log) == -1 && errno != ENOENT)
		log_warn("unlink %s", log);
	free(log);
	log = inst_log_path(inst);
	proc_log_remove(log);
	free(log);
	if (rmdir(dir) == -1 && errno != ENOENT)
		log_warn("rmdir %s", dir);
	free(dir);
}

/* The instance whose netns is the file at path, or NULL. */
struct instance *
inst_find_netns_owner(const char *path)
{
	struct instance	*inst;

	RB_FOREACH(inst, instance_tree, &instances) {
		if (inst->netns_path != NULL &&
		    strcmp(inst->netns_path, path) == 0)
			return (inst);
	}
	return (NULL);
}

/* Whether ns/id has a process that still runs (Store.Delete refuses). */
bool
ctrl_instance_active(const char *ns, const char *id)
{
	struct instance	*inst = inst_find(ns, id);

	return (inst != NULL && inst->proc != NULL);
}

/* Free an instance record (NULL is fine); also a call_own_fn callback. */
void
inst_record_free(void *p)
{
	struct inst_record	*rec = p;

	if (rec == NULL)
		return;
	if (rec->inst != NULL) {
		msg_release(sv_Instance_fields, rec->inst);
		free(rec->inst);
	}
	free(rec->buf);
	free(rec);
}

/* Read an instance record: 1 found, 0 absent, -1 error (cause set). */
int
inst_load(const char *ns, const char *id, struct inst_record **out,
    char **cause)
{
	void	*buf;
	size_t	 len;
	int	 found;

	*out = NULL;
	found = store_get(STORE_INSTANCE, ns, id, &buf, &len, cause);
	if (found != 1)
		return (found);
	return (inst_decode(buf, len, out, cause));
}

/*
 * Decode a stored instance record; buf (malloc'd) becomes the record's,
 * or is freed.  1 with *out, or -1 with *cause.
 */
int
inst_decode(void *buf, size_t len, struct inst_record **out, char **cause)
{
	struct inst_record	*rec;

	*out = NULL;
	rec = xcalloc(1, sizeof(*rec));
	rec->buf = buf;
	rec->inst = xcalloc(1, sizeof(*rec->inst));
	if (!msg_decode(sv_Instance_fields, rec->inst, rec->buf, len, cause)) {
		free(rec->inst);
		rec->inst = NULL;
		inst_record_free(rec);
		return (-1);
	}
	*out = rec;
	return (1);
}

/* Encode the record and queue it into the batch. */
int
inst_put(struct instance *inst, const ct_Sandbox *sb, struct pb_view pod,
    char **cause)
{
	uint8_t	*buf;
	size_t	 len;

	if (inst_encode(inst, sb, pod, &buf, &len, cause) == -1)
		return (-1);
	store_put(STORE_INSTANCE, inst->ns, inst->id, buf, len);
	free(buf);
	return (0);
}

/*
 * Queue the instance's record into the batch.  sb is the metadata copy to
 * keep; NULL keeps the one already stored.  What a Create fixed for good
 * (the pod config) is carried over from the stored record.
 */
int
inst_save(struct instance *inst, const ct_Sandbox *sb, char **cause)
{
	struct inst_record	*old = NULL;
	int			 rc;

	if (inst_load(inst->ns, inst->id, &old, cause) != 1) {
		if (*cause == NULL)
			xasprintf(cause, "instance record missing");
		return (-1);
	}
	rc = inst_put(inst, sb != NULL ? sb : &old->inst->sandbox,
	    old->inst->pod_config, cause);
	inst_record_free(old);
	return (rc);
}

/* Encode the instance's record, with sb as its metadata copy. */
int
inst_encode(const struct instance *inst, const ct_Sandbox *sb,
    struct pb_view pod, uint8_t **buf, size_t *len, char **cause)
{
	sv_Instance	*rec;
	int		 rc;

	rec = xcalloc(1, sizeof(*rec));
	rec->state = inst->state;
	rec->pid = inst->pid;
	rec->start_time = inst->start_time;
	rec->netns_path = inst->netns_path;
	rec->netns_owned = inst->netns_owned;
	rec->exit_status = inst->exit_status;
	rec->has_created_at = true;
	rec->created_at = inst->created_at;
	rec->has_started_at = inst->started_at.seconds != 0;
	rec->started_at = inst->started_at;
	rec->has_exited_at = inst->state == SB_STATE_STOPPED;
	rec->exited_at = inst->exited_at;
	rec->adopted = inst->adopted;
	rec->stop_deadline = inst->stop_deadline;
	rec->has_sandbox = true;
	rec->sandbox = *sb;
	rec->pod_config = pod;
	rec->owner_bundle = inst->owner_bundle;
	rc = msg_encode(sv_Instance_fields, rec, buf, len, cause) ? 0 : -1;
	free(rec);		/* borrowed every pointer */
	return (rc);
}

/*
 * Fail the call with InvalidArgument unless id is a valid sandbox id:
 * the first check of every method that names a sandbox.
 */
bool
ctrl_check_id(struct call *call, const char *id)
{
	char	*cause = NULL;

	if (validate_identifier("sandbox id", id, &cause) == 0)
		return (true);
	call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
	free(cause);
	return (false);
}

/* The instance a request names; the call fails if there is none. */
struct instance *
inst_get_or_fail(struct call *call, const char *id)
{
	struct instance	*inst;

	if (!ctrl_check_id(call, id))
		return (NULL);
	inst = inst_find(call_namespace(call), id);
	if (inst == NULL)
		call_fail(call, STATUS_NOT_FOUND, "sandbox \"%s\" not found in "
		    "namespace \"%s\" (not created in the controller, or shut "
		    "down)", id, call_namespace(call));
	return (inst);
}

/*
 * Save inst's new state (keeping its sandbox copy) where no call can be
 * failed for it: an exit, a failed exec, recovery.  A failure is logged;
 * the commit that would have carried it is the next one.
 */
void
inst_save_or_log(struct instance *inst, const char *what)
{
	char	*cause = NULL;

	if (inst_save(inst, NULL, &cause) == -1) {
		log_warnx("sandbox %s/%s: cannot save %s: %s", inst->ns,
		    inst->id, what, cause);
		free(cause);
	}
}

/* A save failed: fail the call with Internal, and log it. */
static bool
inst_save_failed(struct call *call, struct instance *inst, char *cause)
{
	call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": cannot save state: %s",
	    inst->id, cause);
	log_warnx("sandbox %s/%s: cannot save state: %s", inst->ns, inst->id,
	    cause);
	free(cause);
	return (false);
}

/* Save, or fail the call with Internal. */
bool
inst_save_or_fail(struct call *call, struct instance *inst,
    const ct_Sandbox *sb)
{
	char	*cause = NULL;

	if (inst_save(inst, sb, &cause) == 0)
		return (true);
	return (inst_save_failed(call, inst, cause));
}

/* The first save of a new instance, with its pod config; else as above. */
bool
inst_save_new_or_fail(struct call *call, struct instance *inst,
    const ct_Sandbox *sb, struct pb_view pod)
{
	char	*cause = NULL;

	if (inst_put(inst, sb, pod, &cause) == 0)
		return (true);
	return (inst_save_failed(call, inst, cause));
}
