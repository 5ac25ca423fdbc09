/*
 * h_admin.c: sandboxd.v1.Admin, sandboxd's own service for operators.
 * ListInstances shows every sandbox the controller runs, in every
 * namespace, whether or not the Store has a record of it: sandboxes that
 * containerd makes through the shim API have none.  SetEventsAddress is
 * how the shim launcher hands over containerd's TTRPC_ADDRESS, where task
 * events go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pb_encode.h>

#include "controller.h"
#include "events.h"
#include "handlers.h"
#include "protocol.h"
#include "sandboxd/v1/admin.pb.h"

/* Where the encoder is while the instances are walked. */
struct list_encode {
	pb_ostream_t		*stream;
	const pb_field_iter_t	*field;
	bool			 ok;
};

/* Encode one instance as an InstanceInfo entry of the list. */
static void
encode_instance_cb(const struct ctrl_instance_info *info, void *arg)
{
	struct list_encode	*le = arg;
	sv_InstanceInfo		 msg = { 0 };

	if (!le->ok)
		return;
	snprintf(msg.namespace, sizeof msg.namespace, "%s", info->ns);
	snprintf(msg.id, sizeof msg.id, "%s", info->id);
	snprintf(msg.state, sizeof msg.state, "%s", info->state);
	snprintf(msg.runtime, sizeof msg.runtime, "%s",
	    info->runtime != NULL ? info->runtime : "");
	msg.pid = info->pid;
	msg.has_created_at = true;
	msg.created_at = info->created_at;
	msg.has_started_at = info->started_at.seconds != 0;
	msg.started_at = info->started_at;
	msg.has_exited_at = info->exited;
	msg.exited_at = info->exited_at;
	msg.exit_status = info->exit_status;
	msg.store_record = info->store_record;
	msg.netns_path = (char *)info->netns_path;
	msg.owner_bundle = (char *)info->owner_bundle;
	le->ok = pb_encode_tag_for_field(le->stream, le->field) &&
	    pb_encode_submessage(le->stream, sv_InstanceInfo_fields, &msg);
}

/* The encoder's callback for the repeated instances field. */
static bool
encode_instances_cb(pb_ostream_t *stream, const pb_field_iter_t *field,
    void *const *arg)
{
	struct list_encode	le = { stream, field, true };

	(void)arg;
	ctrl_list_instances(encode_instance_cb, &le);
	return (le.ok);
}

/* ListInstances: every instance, walked when the answer is encoded. */
enum handler_result
h_admin_list_instances(struct call *call, const void *reqp, void *respp)
{
	sv_ListInstancesResponse	*resp = respp;

	(void)call;
	(void)reqp;
	resp->instances.funcs.encode = encode_instances_cb;
	return (HANDLER_DONE);
}

/*
 * SetEventsAddress: containerd's ttrpc address, from the shim launcher.
 * Only root and the daemon's own user may point the daemon's events
 * elsewhere.  events_set_address saves it (synced) before it returns, so
 * the answer never acknowledges an address a restart would forget.
 */
enum handler_result
h_admin_set_events_address(struct call *call, const void *reqp, void *respp)
{
	const sv_SetEventsAddressRequest	*req = reqp;
	uid_t					 uid = call_peer_uid(call);
	char					*cause = NULL;

	(void)respp;
	if (uid != 0 && uid != geteuid())
		return (call_fail(call, STATUS_PERMISSION_DENIED, "only root "
		    "and the daemon's user may set the events address"));
	switch (events_set_address(req->address, &cause)) {
	case 0:
		return (HANDLER_DONE);
	case -1:
		call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
		break;
	default:
		call_fail(call, STATUS_INTERNAL, "%s", cause);
		break;
	}
	free(cause);
	return (HANDLER_ERROR);
}
