/*
 * sbc_ctrl.c: typed calls of containerd.services.sandbox.v1.Controller.
 * The calls the shim service has too are in sbc_instance.c.
 */
#include <stdlib.h>
#include <string.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "sbc_int.h"

/* Point the annotations of a create request at the caller's labels. */
static int
annotations_to_pb(const struct sbc_create_opts *o,
    cssv_ControllerCreateRequest *req, struct sbc_error *err)
{
	size_t	i, max = sizeof req->annotations / sizeof req->annotations[0];

	if (o->nannotations > max)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "too many annotations (%zu)", o->nannotations));
	for (i = 0; i < o->nannotations; i++) {
		req->annotations[i].key = (char *)o->annotations[i].key;
		req->annotations[i].value = (char *)o->annotations[i].value;
	}
	req->annotations_count = (pb_size_t)o->nannotations;
	return (0);
}

/* Fill a Controller.Create request. */
static int
create_request_to_pb(const char *id, const struct sbc_create_opts *o,
    cssv_ControllerCreateRequest *req, struct sbc_error *err)
{
	int	code;

	if ((code = sbc_copy_str(req->sandbox_id, sizeof req->sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	if (o == NULL)
		return (0);
	if ((code = sbc_copy_str(req->sandboxer, sizeof req->sandboxer,
	    o->sandboxer, "sandboxer", err)) != 0 ||
	    (code = annotations_to_pb(o, req, err)) != 0)
		return (code);
	sbc_any_to_pb(&o->options, &req->has_options, &req->options);
	if (o->netns_path != NULL)
		req->netns_path = (char *)o->netns_path;
	if (o->sandbox != NULL) {
		if ((code = sbc_meta_to_pb(o->sandbox, &req->sandbox, err)) != 0)
			return (code);
		req->has_sandbox = true;
	}
	return (0);
}

/* Controller.Create: prepare the instance of a sandbox (opts may be NULL). */
int
sbc_ctrl_create(struct sbc *c, const char *id,
    const struct sbc_create_opts *o, struct sbc_error *err)
{
	cssv_ControllerCreateRequest	*req;
	int				 code;

	if ((req = sbc_calloc(1, sizeof *req)) == NULL)
		return (sbc_error_nomem(err));
	if ((code = create_request_to_pb(id, o, req, err)) == 0)
		code = sbc_call(c, SERVICE_CONTROLLER, "Create",
		    cssv_ControllerCreateRequest_fields, req, NULL, NULL, NULL,
		    err);
	free(req);
	return (code);
}

/* Copy a decoded Controller.Start response; 0 or SBC_ERR_NOMEM. */
static int
start_response_from_pb(struct sbc_start_info *si,
    const cssv_ControllerStartResponse *r)
{
	struct sbc_label	*labels;
	size_t			 i;
	int			 code;

	memset(si, 0, sizeof *si);
	si->pid = r->pid;
	sbc_ts_from_pb(&si->created_at, r->has_created_at, &r->created_at);
	si->version = r->version;
	si->address = sbc_strdup(r->address != NULL ? r->address : "");
	si->labels = labels = sbc_labels_new(r->labels_count);
	si->nlabels = r->labels_count;
	code = si->address != NULL && labels != NULL ? 0 : SBC_ERR_NOMEM;
	for (i = 0; code == 0 && i < r->labels_count; i++)
		code = sbc_label_set(&labels[i], r->labels[i].key,
		    r->labels[i].value);
	if (code == 0)
		code = sbc_any_from_pb(&si->spec, r->has_spec, &r->spec);
	if (code != 0)
		sbc_start_info_free(si);
	return (code);
}

/* Controller.Start: start the sandbox's init; si (may be NULL) gets the pid. */
int
sbc_ctrl_start(struct sbc *c, const char *id, struct sbc_start_info *si,
    struct sbc_error *err)
{
	cssv_ControllerStartResponse	*resp;
	struct sbc_reply		 reply;
	int				 code;

	if ((resp = sbc_calloc(1, sizeof *resp)) == NULL)
		return (sbc_error_nomem(err));
	code = sbc_call_id(c, SERVICE_CONTROLLER, "Start", id,
	    cssv_ControllerStartResponse_fields, resp, &reply, err);
	if (code == 0 && si != NULL && start_response_from_pb(si, resp) != 0)
		code = sbc_error_nomem(err);
	sbc_reply_free(&reply);
	free(resp);
	return (code);
}

/* Controller.Platform: the host's platform (id may be NULL or ""). */
int
sbc_ctrl_platform(struct sbc *c, const char *id, struct sbc_platform *p,
    struct sbc_error *err)
{
	return (sbc_inst_platform(c, SERVICE_CONTROLLER, "Platform", id, p,
	    err));
}

/* Controller.Stop: SIGTERM, SIGKILL after timeout_secs (0: at once). */
int
sbc_ctrl_stop(struct sbc *c, const char *id, uint32_t timeout_secs,
    struct sbc_error *err)
{
	return (sbc_inst_stop(c, SERVICE_CONTROLLER, "Stop", id, timeout_secs,
	    err));
}

/* Controller.Wait: block until the sandbox's init exits. */
int
sbc_ctrl_wait(struct sbc *c, const char *id, uint32_t *exit_status,
    struct timespec *exited_at, struct sbc_error *err)
{
	return (sbc_inst_wait(c, SERVICE_CONTROLLER, "Wait", id, exit_status,
	    exited_at, err));
}

/* Controller.Status: state, pid and times (and info when verbose). */
int
sbc_ctrl_status(struct sbc *c, const char *id, bool verbose,
    struct sbc_status *st, struct sbc_error *err)
{
	return (sbc_inst_status(c, SERVICE_CONTROLLER, "Status", id, verbose,
	    st, err));
}

/* Controller.Shutdown: kill, reap and forget the instance. */
int
sbc_ctrl_shutdown(struct sbc *c, const char *id, struct sbc_error *err)
{
	return (sbc_call_id(c, SERVICE_CONTROLLER, "Shutdown", id, NULL, NULL,
	    NULL, err));
}

/* Controller.Metrics: CPU, memory and process count of the sandbox. */
int
sbc_ctrl_metrics(struct sbc *c, const char *id, struct sbc_metrics *mt,
    struct sbc_error *err)
{
	return (sbc_inst_metrics(c, SERVICE_CONTROLLER, "Metrics", id, mt,
	    err));
}

/* Controller.Update: update the controller's copy of the metadata. */
int
sbc_ctrl_update(struct sbc *c, const struct sbc_meta *in,
    const char *const *fields, size_t nfields, struct sbc_error *err)
{
	cssv_ControllerUpdateRequest	*req;
	int				 code;

	if ((req = sbc_calloc(1, sizeof *req)) == NULL)
		return (sbc_error_nomem(err));
	code = sbc_copy_str(req->sandbox_id, sizeof req->sandbox_id, in->id,
	    "sandbox id", err);
	if (code == 0)
		code = sbc_meta_to_pb(in, &req->sandbox, err);
	if (code == 0)
		code = sbc_copy_strs(req->fields[0], sizeof req->fields[0],
		    sizeof req->fields / sizeof req->fields[0],
		    &req->fields_count, fields, nfields, "field paths", err);
	if (code == 0) {
		req->has_sandbox = true;
		code = sbc_call(c, SERVICE_CONTROLLER, "Update",
		    cssv_ControllerUpdateRequest_fields, req, NULL, NULL, NULL,
		    err);
	}
	free(req);
	return (code);
}
