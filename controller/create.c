/*
 * create.c: Create, from the request, the store or a bundle: the runtime
 * and spec checked, the network namespace joined or planned (and made off
 * the loop), the bundle directory made, the record queued.
 *
 * A Create either completes, or undoes what it did and says why: it
 * leaves no netns, directory or record behind.
 *
 * A Create from containerd's CRI plugin carries the pod's PodSandboxConfig
 * in its options (pod.c): checked here, kept in the record, applied at
 * Start.  A pod on the host network gets no netns.
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
#include "pod.h"
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
    const ct_Sandbox *sb, const char *given, const struct pod_config *pod)
{
	char	*cause = NULL, *spec_path = NULL;
	bool	 needs = false, ok;
	bool	 host = pod != NULL && pod_config_host_network(pod);

	if (host && given != NULL && *given != '\0') {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": "
		    "netns_path %s given for a pod on the host network "
		    "(namespace_options.network NODE)", inst->id, given);
		return (false);
	}
	if (host)
		return (true);
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

/* The pod config a Create keeps in its record (empty view: none). */
static struct pb_view
create_pod_view(const struct ctrl_create_req *req, const struct pod_config *pod)
{
	struct pb_view	none = { 0 };

	return (pod != NULL ? req->options->value : none);
}

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
    struct pb_view pod, ctrl_answer_fn answer)
{
	struct create_op	*op;
	char			*cause = NULL, *dir, *name;

	op = xcalloc(1, sizeof(*op));
	op->inst = inst;
	op->runtime = xstrdup(sb->runtime.name);
	if (inst_encode(inst, sb, pod, &op->rec, &op->len, &cause) == -1) {
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
 * Check a Create's options: none, or a CRI PodSandboxConfig (*pod, NULL
 * for none).  Anything else is refused: silently ignoring what a client
 * asked for would run its sandbox other than it thinks.
 */
static bool
create_read_options(struct call *call, const char *id,
    const gp_Any *opts, struct pod_config **pod)
{
	const char	*url;
	char		*cause = NULL;

	*pod = NULL;
	if (opts == NULL || ((url = opts->type_url) == NULL || *url == '\0'))
		return (true);
	if (!pod_config_type(url)) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": "
		    "options: type \"%s\" is not understood (sandboxd reads %s)",
		    id, url, POD_CONFIG_TYPE);
		return (false);
	}
	*pod = pod_config_parse(opts->value.data, opts->value.len, &cause);
	if (*pod != NULL)
		return (true);
	call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": %s", id,
	    cause);
	free(cause);
	return (false);
}

/*
 * Make the instance of sb: netns, bundle, record.  Undo all on failure.
 * answer gives a deferred Create its service's answer.
 */
static enum handler_result
create_instance(struct call *call, ct_Sandbox *sb,
    const struct ctrl_create_req *req, ctrl_answer_fn answer)
{
	struct instance		*inst;
	struct pod_config	*pod;
	enum handler_result	 r = HANDLER_ERROR;

	if (!check_spec(call, sb) ||
	    !create_read_options(call, sb->sandbox_id, req->options, &pod))
		return (HANDLER_ERROR);
	if (store_count(STORE_INSTANCE, call_namespace(call)) >=
	    ctrl_cfg.max_sandboxes_per_namespace) {
		pod_config_free(pod);
		return (call_fail(call, STATUS_RESOURCE_EXHAUSTED, "namespace "
		    "\"%s\" already has %u sandbox instances (the limit)",
		    call_namespace(call), ctrl_cfg.max_sandboxes_per_namespace));
	}
	/* The controller's copy records the runtime that will be used. */
	if (!sb->has_runtime || sb->runtime.name[0] == '\0')
		snprintf(sb->runtime.name, sizeof(sb->runtime.name), "%s",
		    ctrl_cfg.default_runtime);
	sb->has_runtime = true;
	inst = inst_insert(call_namespace(call), sb->sandbox_id);
	inst->state = SB_STATE_CREATED;
	if (req->bundle != NULL && *req->bundle != '\0')
		inst->owner_bundle = xstrdup(req->bundle);
	ts_now(&inst->created_at);
	if (!create_prepare_netns(call, inst, sb, req->netns_path, pod) ||
	    !create_make_bundle(call, inst))
		goto fail;
	if (inst->netns_owned) {
		r = create_deferred(call, inst, sb, create_pod_view(req, pod),
		    answer);
		if (r == HANDLER_ERROR)
			goto fail;
		pod_config_free(pod);
		return (r);
	}
	if (!inst_save_new_or_fail(call, inst, sb, create_pod_view(req, pod)))
		goto fail;
	create_log(inst, sb->runtime.name);
	pod_config_free(pod);
	return (HANDLER_DONE);
fail:
	pod_config_free(pod);
	inst_bundle_remove(inst);
	inst_remove(inst);
	return (HANDLER_ERROR);
}

/* The first check of a Create: a valid id the controller does not have. */
static bool
create_id_free(struct call *call, const char *id)
{
	if (!ctrl_check_id(call, id))
		return (false);
	if (inst_find(call_namespace(call), id) == NULL)
		return (true);
	call_fail(call, STATUS_ALREADY_EXISTS, "sandbox \"%s\" already exists "
	    "in the controller", id);
	return (false);
}

/*
 * Create: the sandbox comes from the request, else from the store.  A
 * sandbox given in the request must carry the request's id (or none).
 */
enum handler_result
ctrl_create(struct call *call, const char *id,
    const struct ctrl_create_req *req, ctrl_answer_fn answer)
{
	ct_Sandbox		*given = req->sandbox;
	const char		*ns = call_namespace(call);
	struct record		 rec = { 0 };
	enum handler_result	 r;
	char			*cause = NULL;
	int			 found;

	if (!create_id_free(call, id))
		return (HANDLER_ERROR);
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
		return (create_instance(call, given, req, answer));
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
	r = create_instance(call, rec.sb, req, answer);
	record_free(&rec);
	return (r);
}

/*
 * Read a bundle's config.json (at most one message's worth): a regular
 * file, opened so that a FIFO or a symlink planted there cannot stall or
 * redirect the loop.  NULL with *len 0 and no cause: there is none
 * (containerd writes it only for a sandbox with an OCI spec, and CRI's
 * pods have none).
 */
static void *
read_bundle_config(const char *bundle, size_t *len, char **cause)
{
	char		*path, *buf = NULL;
	struct stat	 sb;
	ssize_t		 n;
	int		 fd;

	*len = 0;
	xasprintf(&path, "%s/config.json", bundle);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT)
		goto out;
	if (fd == -1 || fstat(fd, &sb) == -1) {
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
 * one, else the bundle's config.json (none: an empty spec) run by the
 * default runtime.
 */
enum handler_result
ctrl_create_from_bundle(struct call *call, const char *id,
    const struct ctrl_create_req *req, ctrl_answer_fn answer)
{
	struct ctrl_create_req	 from_bundle = *req;
	ct_Sandbox		*sb;
	enum handler_result	 r;
	char			*cause = NULL;
	void			*json;
	size_t			 len;

	if (store_exists(STORE_SANDBOX, call_namespace(call), id) ||
	    req->bundle == NULL || *req->bundle == '\0')
		return (ctrl_create(call, id, req, answer));
	if (!create_id_free(call, id))
		return (HANDLER_ERROR);
	json = read_bundle_config(req->bundle, &len, &cause);
	if (cause != NULL) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": %s", id,
		    cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	sb = xcalloc(1, sizeof(*sb));
	snprintf(sb->sandbox_id, sizeof(sb->sandbox_id), "%s", id);
	if (json != NULL) {
		sb->has_spec = true;
		sb->spec.type_url = (char *)OCI_SPEC_TYPE_URL;
		sb->spec.value.data = json;
		sb->spec.value.len = len;
	}
	from_bundle.sandbox = sb;
	r = create_instance(call, sb, &from_bundle, answer);
	free(sb);
	free(json);
	return (r);
}
