/*
 * controller.c: sandbox instances and their lifecycle (see controller.h).
 *
 * Every operation either completes, or undoes what it did and says why:
 * a Create that fails leaves no netns, directory or record behind; a Start
 * that fails leaves the instance created.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "containerd/runtime/sandbox/v1/sandbox.pb.h"
#include "handlers.h"
#include "instance.h"
#include "log.h"
#include "pbutil.h"
#include "procmgr.h"
#include "protocol.h"
#include "storage.h"
#include "validate.h"
#include "xmalloc.h"

RB_HEAD(instance_tree, instance);

static int	inst_cmp(struct instance *, struct instance *);
RB_PROTOTYPE(instance_tree, instance, entry, inst_cmp)
RB_GENERATE(instance_tree, instance, entry, inst_cmp)

static struct instance_tree	instances = RB_INITIALIZER(&instances);

static int	inst_encode(const struct instance *, const ct_Sandbox *,
		    uint8_t **, size_t *, char **);
static void	start_queued(struct instance *);

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

	xasprintf(&dir, "%s/sandboxes/%s/%s", handler_cfg.state_dir, inst->ns,
	    inst->id);
	return (dir);
}

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
	struct inst_record	*rec;
	size_t			 len;
	int			 found;

	*out = NULL;
	rec = xcalloc(1, sizeof(*rec));
	found = store_get(STORE_INSTANCE, ns, id, &rec->buf, &len, cause);
	if (found != 1) {
		free(rec);
		return (found);
	}
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

/*
 * Queue the instance's record into the batch.  sb is the metadata copy to
 * keep; NULL keeps the one already stored.
 */
int
inst_save(struct instance *inst, const ct_Sandbox *sb, char **cause)
{
	struct inst_record	*old = NULL;
	uint8_t			*buf;
	size_t			 len;
	int			 rc = -1;

	if (sb == NULL) {
		if (inst_load(inst->ns, inst->id, &old, cause) != 1) {
			if (*cause == NULL)
				xasprintf(cause, "instance record missing");
			return (-1);
		}
		sb = &old->inst->sandbox;
	}
	if (inst_encode(inst, sb, &buf, &len, cause) == 0) {
		store_put(STORE_INSTANCE, inst->ns, inst->id, buf, len);
		free(buf);
		rc = 0;
	}
	inst_record_free(old);
	return (rc);
}

/* Encode the instance's record, with sb as its metadata copy. */
static int
inst_encode(const struct instance *inst, const ct_Sandbox *sb, uint8_t **buf,
    size_t *len, char **cause)
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
	rc = msg_encode(sv_Instance_fields, rec, buf, len, cause) ? 0 : -1;
	free(rec);		/* borrowed every pointer */
	return (rc);
}

/* Look up the instance a request names; fail the call if there is none. */
struct instance *
inst_lookup(struct call *call, const char *id)
{
	struct instance	*inst;
	char		*cause = NULL;

	if (validate_identifier("sandbox id", id, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
		free(cause);
		return (NULL);
	}
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

/* Save, or fail the call with Internal. */
static bool
inst_save_or_fail(struct call *call, struct instance *inst,
    const ct_Sandbox *sb)
{
	char	*cause = NULL;

	if (inst_save(inst, sb, &cause) == 0)
		return (true);
	call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": cannot save state: %s",
	    inst->id, cause);
	log_warnx("sandbox %s/%s: cannot save state: %s", inst->ns, inst->id,
	    cause);
	free(cause);
	return (false);
}

/* ---- teardown ------------------------------------------------------- */

/* Remove the bundle directory and what is in it (the log). */
static void
bundle_remove(const struct instance *inst)
{
	char	*dir = inst_bundle_dir(inst), *log;

	xasprintf(&log, "%s/sandbox.log", dir);
	if (unlink(log) == -1 && errno != ENOENT)
		log_warn("unlink %s", log);
	if (rmdir(dir) == -1 && errno != ENOENT)
		log_warn("rmdir %s", dir);
	free(log);
	free(dir);
}

/* Shutdown's last step: answer, remove bundle and record, forget. */
static void
teardown_finish(struct instance *inst)
{
	log_info("sandbox %s/%s: shut down", inst->ns, inst->id);
	waiters_release(inst);
	bundle_remove(inst);
	store_del(STORE_INSTANCE, inst->ns, inst->id);
	inst_remove(inst);
}

/* The netns the sandbox owned is gone (or could not be removed). */
static void
teardown_netns_done(const char *path, const char *error, void *arg)
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
static void
inst_teardown(struct instance *inst)
{
	if (inst->netns_owned && inst->netns_path != NULL) {
		inst->netns_req = netns_remove_async(inst->netns_path,
		    teardown_netns_done, inst);
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
	waiters_release(inst);
}

/* ---- Create --------------------------------------------------------- */

/* The runtime a sandbox asks for, or the daemon's default. */
static const char *
runtime_of(const ct_Sandbox *sb)
{
	if (sb->has_runtime && sb->runtime.name[0] != '\0')
		return (sb->runtime.name);
	return (handler_cfg.default_runtime);
}

/* Check that the spec is one the runtime can run, without running it. */
static bool
check_spec(struct call *call, const ct_Sandbox *sb)
{
	struct proc_launch	 launch = { 0 };
	const char		*url = sb->spec.type_url;
	char			*cause = NULL;

	if (!runtime_known(runtime_of(sb))) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": unknown "
		    "runtime \"%s\" (known: %s)", sb->sandbox_id, runtime_of(sb),
		    runtime_known_list());
		return (false);
	}
	if (sb->has_spec && url != NULL && *url != '\0' &&
	    strcmp(url, OCI_SPEC_TYPE_URL) != 0) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": spec "
		    "type \"%s\" is not supported (want %s)", sb->sandbox_id, url,
		    OCI_SPEC_TYPE_URL);
		return (false);
	}
	if (runtime_prepare(runtime_of(sb), sb->spec.value.data,
	    sb->spec.value.len, &launch, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": %s",
		    sb->sandbox_id, cause);
		free(cause);
		return (false);
	}
	proc_launch_free(&launch);
	return (true);
}

/* Join a netns path (request's or spec's); false if it is not a netns. */
static bool
netns_join(struct call *call, struct instance *inst, const char *path)
{
	char	*cause = NULL;

	if (netns_check(path, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": "
		    "netns_path: %s", inst->id, cause);
		free(cause);
		return (false);
	}
	inst->netns_path = xstrdup(path);
	return (true);
}

/*
 * A netns file named like ours but owned by no instance is left from a
 * Create whose commit never landed (the daemon was killed): remove it.
 * One owned by another instance is a name collision (namespace "a-b" with
 * id "c" and namespace "a" with id "b-c"): refuse.
 */
static bool
netns_clear_leftover(struct call *call, struct instance *inst,
    const char *path)
{
	struct instance	*other;
	char		*cause = NULL;

	if (access(path, F_OK) == -1)
		return (true);
	RB_FOREACH(other, instance_tree, &instances) {
		if (other->netns_path != NULL &&
		    strcmp(other->netns_path, path) == 0) {
			call_fail(call, STATUS_ALREADY_EXISTS, "sandbox \"%s\": "
			    "network namespace %s belongs to sandbox %s/%s",
			    inst->id, path, other->ns, other->id);
			return (false);
		}
	}
	log_info("removing leftover network namespace %s", path);
	if (netns_remove(path, &cause) == -1) {
		call_fail(call, STATUS_UNKNOWN, "sandbox \"%s\": %s", inst->id,
		    cause);
		free(cause);
		return (false);
	}
	return (true);
}

/*
 * Plan a persistent netns <run_dir>/netns/<ns>-<id> for inst: it is made
 * off the loop (see create_deferred) once the Create is otherwise ready.
 */
static bool
netns_plan(struct call *call, struct instance *inst)
{
	char	*path;

	xasprintf(&path, "%s/netns/%s-%s", handler_cfg.run_dir, inst->ns,
	    inst->id);
	if (!netns_clear_leftover(call, inst, path)) {
		free(path);
		return (false);
	}
	inst->netns_path = path;
	inst->netns_owned = true;
	return (true);
}

/*
 * The sandbox's network namespace, in order: the request's netns_path,
 * the spec's network namespace path, or, if the runtime needs one, a new
 * one (planned here, made by create_deferred).
 */
static bool
netns_prepare(struct call *call, struct instance *inst, const ct_Sandbox *sb,
    const char *given)
{
	char	*cause = NULL, *spec_path = NULL;
	bool	 needs = false, ok;

	if (given != NULL && *given != '\0')
		return (netns_join(call, inst, given));
	if (runtime_spec_netns_path(sb->spec.value.data, sb->spec.value.len,
	    &spec_path, &cause) == -1 ||
	    (spec_path == NULL && runtime_needs_netns(runtime_of(sb),
	    sb->spec.value.data, sb->spec.value.len, &needs, &cause) == -1)) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": %s",
		    inst->id, cause);
		free(cause);
		return (false);
	}
	if (spec_path != NULL) {
		ok = netns_join(call, inst, spec_path);
		free(spec_path);
		return (ok);
	}
	return (needs ? netns_plan(call, inst) : true);
}

/* mkdir -p the bundle directory. */
static bool
bundle_prepare(struct call *call, struct instance *inst)
{
	char	*dir = inst_bundle_dir(inst), *p;
	bool	 ok = true;

	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			ok = false;
		*p = '/';
	}
	if (ok && mkdir(dir, 0700) == -1 && errno != EEXIST)
		ok = false;
	if (!ok)
		call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": mkdir %s: %s",
		    inst->id, dir, strerror(errno));
	free(dir);
	return (ok);
}

/* A Create waiting for its netns: the record to put once it exists. */
struct create_op {
	struct instance	*inst;
	uint8_t		*rec;
	size_t		 len;
	char		*runtime;
};

static void
create_op_free(struct create_op *op)
{
	free(op->rec);
	free(op->runtime);
	free(op);
}

static void
create_log(const struct instance *inst, const char *runtime)
{
	log_info("sandbox %s/%s: created (runtime %s%s%s)", inst->ns, inst->id,
	    runtime, inst->netns_path != NULL ? ", netns " : "",
	    inst->netns_path != NULL ? inst->netns_path : "");
}

/*
 * The netns of a deferred Create exists, or could not be made.  Made:
 * put the record and answer (a Shutdown that came meanwhile then runs).
 * Not made: undo the rest, as if the Create had never been.
 */
static void
create_netns_done(const char *path, const char *error, void *arg)
{
	struct create_op	*op = arg;
	struct instance		*inst = op->inst;

	(void)path;
	inst->netns_req = NULL;
	inst->creating = false;
	if (error != NULL) {
		log_warnx("sandbox %s/%s: cannot create a network namespace: %s",
		    inst->ns, inst->id, error);
		waiters_release_create(inst, error);
		waiters_release_start(inst, error);
		waiters_release(inst);
		bundle_remove(inst);
		inst_remove(inst);
	} else {
		store_put(STORE_INSTANCE, inst->ns, inst->id, op->rec, op->len);
		create_log(inst, op->runtime);
		waiters_release_create(inst, NULL);
		if (inst->shutting_down)
			inst_teardown(inst);
		else
			start_queued(inst);
	}
	create_op_free(op);
}

/*
 * Finish a Create that needs a new netns off the loop: the record is
 * encoded now (the request's memory goes when the handler returns) and
 * put when the namespace exists, so that no acknowledged sandbox lacks
 * one; the answer waits for both.
 */
static enum handler_result
create_deferred(struct call *call, struct instance *inst, const ct_Sandbox *sb,
    enum waiter_kind kind)
{
	struct create_op	*op;
	char			*cause = NULL, *dir, *name;

	op = xcalloc(1, sizeof(*op));
	op->inst = inst;
	op->runtime = xstrdup(sb->runtime.name);
	if (inst_encode(inst, sb, &op->rec, &op->len, &cause) == -1) {
		call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": %s", inst->id,
		    cause);
		free(cause);
		create_op_free(op);
		return (HANDLER_ERROR);
	}
	xasprintf(&dir, "%s/netns", handler_cfg.run_dir);
	xasprintf(&name, "%s-%s", inst->ns, inst->id);
	inst->creating = true;
	inst->netns_req = netns_create_async(dir, name, create_netns_done, op);
	free(dir);
	free(name);
	return (waiter_add(call, inst, kind));
}

/*
 * Make the instance of sb: netns, bundle, record.  Undo all on failure.
 * kind says which service's answer a deferred Create gives.
 */
static enum handler_result
create_instance(struct call *call, ct_Sandbox *sb, const char *netns_path,
    enum waiter_kind kind)
{
	struct instance	*inst;

	if (!check_spec(call, sb))
		return (HANDLER_ERROR);
	if (store_count(STORE_INSTANCE, call_namespace(call)) >=
	    handler_cfg.max_sandboxes_per_namespace)
		return (call_fail(call, STATUS_RESOURCE_EXHAUSTED, "namespace "
		    "\"%s\" already has %u sandbox instances (the limit)",
		    call_namespace(call), handler_cfg.max_sandboxes_per_namespace));
	/* The controller's copy records the runtime that will be used. */
	if (!sb->has_runtime || sb->runtime.name[0] == '\0')
		snprintf(sb->runtime.name, sizeof(sb->runtime.name), "%s",
		    handler_cfg.default_runtime);
	sb->has_runtime = true;
	inst = inst_insert(call_namespace(call), sb->sandbox_id);
	inst->state = SB_STATE_CREATED;
	ts_now(&inst->created_at);
	if (!netns_prepare(call, inst, sb, netns_path))
		goto fail;
	if (!bundle_prepare(call, inst))
		goto fail;
	if (inst->netns_owned) {
		if (create_deferred(call, inst, sb, kind) == HANDLER_ERROR)
			goto fail;
		return (HANDLER_DEFERRED);
	}
	if (!inst_save_or_fail(call, inst, sb))
		goto fail;
	create_log(inst, sb->runtime.name);
	return (HANDLER_DONE);
fail:
	bundle_remove(inst);
	inst_remove(inst);
	return (HANDLER_ERROR);
}

/*
 * Create: the sandbox comes from the request, else from the store.  A
 * sandbox given in the request must carry the request's id (or none).
 */
enum handler_result
ctrl_create(struct call *call, const char *id, ct_Sandbox *given,
    const char *netns_path, enum waiter_kind kind)
{
	const char		*ns = call_namespace(call);
	struct record		 rec = { 0 };
	enum handler_result	 r;
	char			*cause = NULL;
	int			 found;

	if (validate_identifier("sandbox id", id, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	if (inst_find(ns, id) != NULL)
		return (call_fail(call, STATUS_ALREADY_EXISTS, "sandbox \"%s\" "
		    "already exists in the controller", id));
	if (given != NULL) {
		if (given->sandbox_id[0] == '\0')
			snprintf(given->sandbox_id, sizeof(given->sandbox_id),
			    "%s", id);
		if (strcmp(given->sandbox_id, id) != 0)
			return (call_fail(call, STATUS_INVALID_ARGUMENT,
			    "sandbox_id \"%s\" and sandbox.sandbox_id \"%s\" "
			    "differ", id, given->sandbox_id));
		record_normalize(given);
		if (record_validate(given, &cause) == -1) {
			call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
			free(cause);
			return (HANDLER_ERROR);
		}
		return (create_instance(call, given, netns_path, kind));
	}
	found = record_load(ns, id, &rec, &cause);
	if (found == 0)
		return (call_fail(call, STATUS_NOT_FOUND, "sandbox \"%s\" not "
		    "found: not in the request and not in the store of "
		    "namespace \"%s\"", id, ns));
	if (found == -1) {
		call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": %s", id, cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	r = create_instance(call, rec.sb, netns_path, kind);
	record_free(&rec);
	return (r);
}

/* Read a bundle's config.json (at most one message's worth). */
static void *
read_bundle_config(const char *bundle, size_t *len, char **cause)
{
	char		*path, *buf = NULL;
	struct stat	 sb;
	ssize_t		 n;
	int		 fd;

	xasprintf(&path, "%s/config.json", bundle);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > FRAME_MAX_PAYLOAD) {
		xasprintf(cause, "%s: not a regular file of at most %u bytes",
		    path, FRAME_MAX_PAYLOAD);
		goto out;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	n = read(fd, buf, (size_t)sb.st_size);
	if (n != sb.st_size) {
		xasprintf(cause, "%s: short read", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)n;
out:
	if (fd != -1)
		close(fd);
	free(path);
	return (buf);
}

/*
 * The shim's CreateSandbox: the store's record of the id when there is
 * one, else the bundle's config.json run by the default runtime.
 */
enum handler_result
ctrl_create_from_bundle(struct call *call, const char *id, const char *bundle,
    const char *netns_path)
{
	ct_Sandbox		*sb;
	enum handler_result	 r;
	char			*cause = NULL;
	void			*json;
	size_t			 len = 0;

	if (store_exists(STORE_SANDBOX, call_namespace(call), id) ||
	    bundle == NULL || *bundle == '\0')
		return (ctrl_create(call, id, NULL, netns_path,
		    WAITER_SHIM_CREATE));
	if (validate_identifier("sandbox id", id, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	if (inst_find(call_namespace(call), id) != NULL)
		return (call_fail(call, STATUS_ALREADY_EXISTS, "sandbox \"%s\" "
		    "already exists in the controller", id));
	if ((json = read_bundle_config(bundle, &len, &cause)) == NULL) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": %s", id,
		    cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	sb = xcalloc(1, sizeof(*sb));
	snprintf(sb->sandbox_id, sizeof(sb->sandbox_id), "%s", id);
	sb->has_spec = true;
	sb->spec.type_url = (char *)OCI_SPEC_TYPE_URL;
	sb->spec.value.data = json;
	sb->spec.value.len = len;
	r = create_instance(call, sb, netns_path, WAITER_SHIM_CREATE);
	free(sb);
	free(json);
	return (r);
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
	char	*dir;

	if (runtime_prepare(rec->sandbox.runtime.name,
	    rec->sandbox.spec.value.data, rec->sandbox.spec.value.len, launch,
	    cause) == -1)
		return (-1);
	if (inst->netns_path != NULL)
		launch->netns_path = xstrdup(inst->netns_path);
	dir = inst_bundle_dir(inst);
	xasprintf(&launch->log_path, "%s/sandbox.log", dir);
	free(dir);
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
	waiters_release_start(inst, error);
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
	waiters_release_start(inst, NULL);
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
static void
start_queued(struct instance *inst)
{
	char	*cause = NULL;
	int	 code;

	if (inst->shutting_down || !waiters_have_start(inst))
		return;
	if (start_spawn(inst, &code, &cause) == -1) {
		waiters_release_start(inst, cause);
		free(cause);
	}
}

/*
 * Start: spawn the init process; the answer (kind: which service's)
 * waits for the exec.  A Start pipelined behind its Create, while the
 * netns is being made, waits for that first.
 */
enum handler_result
ctrl_start(struct call *call, const char *id, enum waiter_kind kind)
{
	struct instance	*inst;
	char		*cause = NULL;
	int		 code;

	if ((inst = inst_lookup(call, id)) == NULL)
		return (HANDLER_ERROR);
	if (inst->creating && !inst->shutting_down &&
	    !waiters_have_start(inst))
		return (waiter_add(call, inst, kind));
	if (inst->state != SB_STATE_CREATED || inst->creating ||
	    inst->shutting_down)
		return (start_refused(call, inst));
	if (start_spawn(inst, &code, &cause) == -1) {
		call_fail(call, code, "%s", cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	return (waiter_add(call, inst, kind));
}

/* Stop: SIGTERM, SIGKILL after timeout_secs (0: at once); answer at exit. */
enum handler_result
ctrl_stop(struct call *call, const char *id, uint32_t timeout_secs)
{
	struct instance	*inst;

	if ((inst = inst_lookup(call, id)) == NULL)
		return (HANDLER_ERROR);
	if (inst->state != SB_STATE_RUNNING && inst->state != SB_STATE_STOPPING)
		return (HANDLER_DONE);
	log_info("sandbox %s/%s: stopping pid %u (timeout %u s)", inst->ns, id,
	    inst->pid, timeout_secs);
	proc_stop(inst->proc, timeout_secs);
	if (inst->state == SB_STATE_RUNNING ||
	    time(NULL) + timeout_secs < inst->stop_deadline) {
		inst->stop_deadline = time(NULL) + timeout_secs;
		inst->state = SB_STATE_STOPPING;
		if (!inst_save_or_fail(call, inst, NULL))
			return (HANDLER_ERROR);
	}
	return (waiter_add(call, inst, WAITER_EMPTY));
}

/* Wait: the exit status, now if it has exited, else when it does. */
enum handler_result
ctrl_wait(struct call *call, const char *id, enum waiter_kind kind,
    uint32_t *status, gp_Timestamp *exited_at)
{
	struct instance	*inst;

	if ((inst = inst_lookup(call, id)) == NULL)
		return (HANDLER_ERROR);
	if (inst->state == SB_STATE_STOPPED) {
		*status = inst->exit_status;
		*exited_at = inst->exited_at;
		return (HANDLER_DONE);
	}
	if (inst->state == SB_STATE_UNKNOWN)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" is in an unknown state; shut it down", id));
	return (waiter_add(call, inst, kind));
}

/* ---- Shutdown, Update, Ping ----------------------------------------- */

/*
 * Shutdown: kill what runs, answer waiters, remove netns, bundle and
 * record.  Deferred until the process is reaped and the netns removed;
 * a Create still making its netns finishes first.  Shutting down an id
 * the controller forgot but the store knows is fine (idempotent).
 */
enum handler_result
ctrl_shutdown(struct call *call, const char *id)
{
	struct instance		*inst;
	enum handler_result	 r;
	char			*cause = NULL;

	if (validate_identifier("sandbox id", id, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	if ((inst = inst_find(call_namespace(call), id)) == NULL) {
		if (store_exists(STORE_SANDBOX, call_namespace(call), id))
			return (HANDLER_DONE);
		return (call_fail(call, STATUS_NOT_FOUND, "sandbox \"%s\" not "
		    "found in namespace \"%s\"", id, call_namespace(call)));
	}
	if (inst->shutting_down)
		return (waiter_add(call, inst, WAITER_EMPTY));
	inst->shutting_down = true;
	r = waiter_add(call, inst, WAITER_EMPTY);
	if (inst->creating)
		return (r);		/* create_netns_done goes on */
	if (inst->proc != NULL) {
		if (proc_kill(inst->proc, SIGKILL) == -1 && errno != ESRCH)
			log_warn("sandbox %s/%s: kill pid %u", inst->ns, id,
			    inst->pid);
		return (r);		/* inst_exit_cb goes on */
	}
	inst_teardown(inst);		/* may answer r's call at once */
	return (r);
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

	if ((inst = inst_lookup(call, id)) == NULL)
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
	return (inst_lookup(call, id) != NULL ? HANDLER_DONE : HANDLER_ERROR);
}

/* ---- the daemon's side ---------------------------------------------- */

struct event_base;

void
ctrl_init(struct event_base *base)
{
	(void)base;
}

/* Whether ns/id has a process that still runs (Store.Delete refuses). */
bool
ctrl_instance_active(const char *ns, const char *id)
{
	struct instance	*inst = inst_find(ns, id);

	return (inst != NULL && inst->proc != NULL);
}

/* Forget one instance without touching its process or its record. */
static void
release_one(struct instance *inst, void *arg)
{
	void	*op;

	(void)arg;
	waiters_forget(inst);
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
	inst_foreach(release_one, NULL);
}
