/*
 * create.c: Create, from the request, the store or a bundle: the runtime
 * and spec checked, the network namespace joined or planned (and made off
 * the loop), the bundle directory made, the record queued.
 *
 * A Create either completes, or undoes what it did and says why: it
 * leaves no netns, directory or record behind.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "instance.h"
#include "log.h"
#include "pbutil.h"
#include "procmgr.h"
#include "protocol.h"
#include "storage.h"
#include "xmalloc.h"

/* The runtime a sandbox asks for, or the daemon's default. */
static const char *
sandbox_runtime(const ct_Sandbox *sb)
{
	if (sb->has_runtime && sb->runtime.name[0] != '\0')
		return (sb->runtime.name);
	return (ctrl_cfg.default_runtime);
}

/* Check that the spec is one the runtime can run, without running it. */
static bool
check_spec(struct call *call, const ct_Sandbox *sb)
{
	struct proc_launch	 launch = { 0 };
	const char		*url = sb->spec.type_url;
	char			*cause = NULL;

	if (!runtime_known(sandbox_runtime(sb))) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": unknown "
		    "runtime \"%s\" (known: %s)", sb->sandbox_id, sandbox_runtime(sb),
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
	if (runtime_prepare(sandbox_runtime(sb), sb->spec.value.data,
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
create_join_netns(struct call *call, struct instance *inst, const char *path)
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
create_clear_leftover_netns(struct call *call, struct instance *inst,
    const char *path)
{
	struct instance	*other;
	char		*cause = NULL;

	if (access(path, F_OK) == -1)
		return (true);
	if ((other = inst_find_netns_owner(path)) != NULL) {
		call_fail(call, STATUS_ALREADY_EXISTS, "sandbox \"%s\": "
		    "network namespace %s belongs to sandbox %s/%s",
		    inst->id, path, other->ns, other->id);
		return (false);
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
create_plan_netns(struct call *call, struct instance *inst)
{
	char	*path;

	xasprintf(&path, "%s/netns/%s-%s", ctrl_cfg.run_dir, inst->ns,
	    inst->id);
	if (!create_clear_leftover_netns(call, inst, path)) {
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
create_prepare_netns(struct call *call, struct instance *inst,
    const ct_Sandbox *sb, const char *given)
{
	char	*cause = NULL, *spec_path = NULL;
	bool	 needs = false, ok;

	if (given != NULL && *given != '\0')
		return (create_join_netns(call, inst, given));
	if (runtime_spec_netns_path(sb->spec.value.data, sb->spec.value.len,
	    &spec_path, &cause) == -1 ||
	    (spec_path == NULL && runtime_needs_netns(sandbox_runtime(sb),
	    sb->spec.value.data, sb->spec.value.len, &needs, &cause) == -1)) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": %s",
		    inst->id, cause);
		free(cause);
		return (false);
	}
	if (spec_path != NULL) {
		ok = create_join_netns(call, inst, spec_path);
		free(spec_path);
		return (ok);
	}
	return (needs ? create_plan_netns(call, inst) : true);
}

/* mkdir -p the bundle directory. */
static bool
create_make_bundle(struct call *call, struct instance *inst)
{
	char	*dir = inst_bundle_dir(inst), *cause = NULL;
	bool	 ok = true;

	if (fs_mkdir_p(dir, 0700, 0700, &cause) == -1) {
		call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": %s", inst->id,
		    cause);
		free(cause);
		ok = false;
	}
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

/* Free a create_op (void *: netns_req_cancel hands it back untyped). */
void
create_op_free(void *arg)
{
	struct create_op	*op = arg;

	free(op->rec);
	free(op->runtime);
	free(op);
}

/* The log line of a Create that is done. */
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
create_netns_done_cb(const char *path, const char *error, void *arg)
{
	struct create_op	*op = arg;
	struct instance		*inst = op->inst;

	(void)path;
	inst->netns_req = NULL;
	inst->creating = false;
	if (error != NULL) {
		log_warnx("sandbox %s/%s: cannot create a network namespace: %s",
		    inst->ns, inst->id, error);
		inst_answer_create(inst, error);
		inst_answer_start(inst, error);
		inst_answer_all(inst);
		inst_bundle_remove(inst);
		inst_remove(inst);
	} else {
		store_put(STORE_INSTANCE, inst->ns, inst->id, op->rec, op->len);
		create_log(inst, op->runtime);
		inst_answer_create(inst, NULL);
		if (inst->shutting_down)
			inst_teardown(inst);
		else
			inst_start_queued(inst);
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
    ctrl_answer_fn answer)
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
	xasprintf(&dir, "%s/netns", ctrl_cfg.run_dir);
	xasprintf(&name, "%s-%s", inst->ns, inst->id);
	inst->creating = true;
	inst->netns_req = netns_create_async(dir, name, create_netns_done_cb, op);
	free(dir);
	free(name);
	return (waiter_add(&inst->waiters, call, WAITER_CREATE, answer));
}

/*
 * Make the instance of sb: netns, bundle, record.  Undo all on failure.
 * answer gives a deferred Create its service's answer.
 */
static enum handler_result
create_instance(struct call *call, ct_Sandbox *sb, const char *netns_path,
    ctrl_answer_fn answer)
{
	struct instance	*inst;

	if (!check_spec(call, sb))
		return (HANDLER_ERROR);
	if (store_count(STORE_INSTANCE, call_namespace(call)) >=
	    ctrl_cfg.max_sandboxes_per_namespace)
		return (call_fail(call, STATUS_RESOURCE_EXHAUSTED, "namespace "
		    "\"%s\" already has %u sandbox instances (the limit)",
		    call_namespace(call), ctrl_cfg.max_sandboxes_per_namespace));
	/* The controller's copy records the runtime that will be used. */
	if (!sb->has_runtime || sb->runtime.name[0] == '\0')
		snprintf(sb->runtime.name, sizeof(sb->runtime.name), "%s",
		    ctrl_cfg.default_runtime);
	sb->has_runtime = true;
	inst = inst_insert(call_namespace(call), sb->sandbox_id);
	inst->state = SB_STATE_CREATED;
	ts_now(&inst->created_at);
	if (!create_prepare_netns(call, inst, sb, netns_path))
		goto fail;
	if (!create_make_bundle(call, inst))
		goto fail;
	if (inst->netns_owned) {
		if (create_deferred(call, inst, sb, answer) == HANDLER_ERROR)
			goto fail;
		return (HANDLER_DEFERRED);
	}
	if (!inst_save_or_fail(call, inst, sb))
		goto fail;
	create_log(inst, sb->runtime.name);
	return (HANDLER_DONE);
fail:
	inst_bundle_remove(inst);
	inst_remove(inst);
	return (HANDLER_ERROR);
}

/*
 * Create: the sandbox comes from the request, else from the store.  A
 * sandbox given in the request must carry the request's id (or none).
 */
enum handler_result
ctrl_create(struct call *call, const char *id, ct_Sandbox *given,
    const char *netns_path, ctrl_answer_fn answer)
{
	const char		*ns = call_namespace(call);
	struct record		 rec = { 0 };
	enum handler_result	 r;
	char			*cause = NULL;
	int			 found;

	if (!ctrl_check_id(call, id))
		return (HANDLER_ERROR);
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
		return (create_instance(call, given, netns_path, answer));
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
	r = create_instance(call, rec.sb, netns_path, answer);
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
    const char *netns_path, ctrl_answer_fn answer)
{
	ct_Sandbox		*sb;
	enum handler_result	 r;
	char			*cause = NULL;
	void			*json;
	size_t			 len = 0;

	if (store_exists(STORE_SANDBOX, call_namespace(call), id) ||
	    bundle == NULL || *bundle == '\0')
		return (ctrl_create(call, id, NULL, netns_path, answer));
	if (!ctrl_check_id(call, id))
		return (HANDLER_ERROR);
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
	r = create_instance(call, sb, netns_path, answer);
	free(sb);
	free(json);
	return (r);
}
