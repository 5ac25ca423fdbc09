/*
 * sbc_shim.c: typed calls of containerd.runtime.sandbox.v1.Sandbox, the
 * shim-level API containerd drives sandbox shims with.  The daemon maps it
 * onto the same controller as the Controller service, and the calls the
 * two services share are in sbc_instance.c.
 */
#include <stdlib.h>
#include <string.h>

#include "containerd/runtime/sandbox/v1/sandbox.pb.h"
#include "sbc_int.h"

/* Fill a CreateSandbox request. */
static int
shim_create_to_pb(const char *id, const struct sbc_shim_create_opts *o,
    crsv_CreateSandboxRequest *req, struct sbc_error *err)
{
	size_t	i, max = sizeof req->annotations / sizeof req->annotations[0];
	int	code;

	if ((code = sbc_copy_str(req->sandbox_id, sizeof req->sandbox_id, id,
	    "sandbox id", err)) != 0 || o == NULL)
		return (code);
	if (o->nannotations > max)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "too many annotations (%zu)", o->nannotations));
	for (i = 0; i < o->nannotations; i++) {
		req->annotations[i].key = (char *)o->annotations[i].key;
		req->annotations[i].value = (char *)o->annotations[i].value;
	}
	req->annotations_count = (pb_size_t)o->nannotations;
	req->bundle_path = (char *)o->bundle_path;
	req->netns_path = (char *)o->netns_path;
	sbc_any_to_pb(&o->options, &req->has_options, &req->options);
	return (0);
}

/* CreateSandbox: prepare the instance (opts may be NULL). */
int
sbc_shim_create(struct sbc *c, const char *id,
    const struct sbc_shim_create_opts *o, struct sbc_error *err)
{
	crsv_CreateSandboxRequest	*req;
	int				 code;

	if ((req = sbc_calloc(1, sizeof *req)) == NULL)
		return (sbc_error_nomem(err));
	if ((code = shim_create_to_pb(id, o, req, err)) == 0)
		code = sbc_call(c, SERVICE_SHIM, "CreateSandbox",
		    crsv_CreateSandboxRequest_fields, req, NULL, NULL, NULL,
		    err);
	free(req);
	return (code);
}

/* Copy a decoded StartSandbox response; 0 or SBC_ERR_NOMEM. */
static int
shim_start_from_pb(struct sbc_start_info *si,
    const crsv_StartSandboxResponse *r)
{
	memset(si, 0, sizeof *si);
	si->pid = r->pid;
	sbc_ts_from_pb(&si->created_at, r->has_created_at, &r->created_at);
	si->address = sbc_strdup("");
	si->labels = sbc_labels_new(0);
	if (si->address == NULL || si->labels == NULL ||
	    sbc_any_from_pb(&si->spec, r->has_spec, &r->spec) != 0) {
		sbc_start_info_free(si);
		return (SBC_ERR_NOMEM);
	}
	return (0);
}

/* StartSandbox: start the init; si (may be NULL) gets pid, time, spec. */
int
sbc_shim_start(struct sbc *c, const char *id, struct sbc_start_info *si,
    struct sbc_error *err)
{
	crsv_StartSandboxResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	code = sbc_call_id(c, SERVICE_SHIM, "StartSandbox", id,
	    crsv_StartSandboxResponse_fields, &resp, &reply, err);
	if (code == 0 && si != NULL && shim_start_from_pb(si, &resp) != 0)
		code = sbc_error_nomem(err);
	sbc_reply_free(&reply);
	return (code);
}

/* Platform: the host's platform. */
int
sbc_shim_platform(struct sbc *c, const char *id, struct sbc_platform *p,
    struct sbc_error *err)
{
	return (sbc_inst_platform(c, SERVICE_SHIM, "Platform", id, p, err));
}

/* StopSandbox: SIGTERM, SIGKILL after timeout_secs (0: at once). */
int
sbc_shim_stop(struct sbc *c, const char *id, uint32_t timeout_secs,
    struct sbc_error *err)
{
	return (sbc_inst_stop(c, SERVICE_SHIM, "StopSandbox", id, timeout_secs,
	    err));
}

/* WaitSandbox: block until the init exits. */
int
sbc_shim_wait(struct sbc *c, const char *id, uint32_t *exit_status,
    struct timespec *exited_at, struct sbc_error *err)
{
	return (sbc_inst_wait(c, SERVICE_SHIM, "WaitSandbox", id, exit_status,
	    exited_at, err));
}

/* SandboxStatus: state, pid and times (and info when verbose). */
int
sbc_shim_status(struct sbc *c, const char *id, bool verbose,
    struct sbc_status *st, struct sbc_error *err)
{
	return (sbc_inst_status(c, SERVICE_SHIM, "SandboxStatus", id, verbose,
	    st, err));
}

/* PingSandbox: OK if the instance exists. */
int
sbc_shim_ping(struct sbc *c, const char *id, struct sbc_error *err)
{
	return (sbc_call_id(c, SERVICE_SHIM, "PingSandbox", id, NULL, NULL,
	    NULL, err));
}

/* ShutdownSandbox: kill, reap and forget the instance. */
int
sbc_shim_shutdown(struct sbc *c, const char *id, struct sbc_error *err)
{
	return (sbc_call_id(c, SERVICE_SHIM, "ShutdownSandbox", id, NULL, NULL,
	    NULL, err));
}

/* SandboxMetrics: CPU, memory and process count of the sandbox. */
int
sbc_shim_metrics(struct sbc *c, const char *id, struct sbc_metrics *mt,
    struct sbc_error *err)
{
	return (sbc_inst_metrics(c, SERVICE_SHIM, "SandboxMetrics", id, mt,
	    err));
}
