/*
 * sbc_admin.c: sandboxd.v1.Admin, sandboxd's own service for operators:
 * the list of every sandbox instance the daemon runs, and its live
 * re-execution.
 *
 * The daemon sends one InstanceInfo per instance in a repeated field that
 * may hold thousands; they are decoded one at a time by a callback into a
 * growing array, so nothing is bounded by a static count.
 */
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>

#include "pbutil.h"
#include "sandboxd/v1/admin.pb.h"
#include "sbc_int.h"

/* The array being filled while the reply is decoded. */
struct instance_list {
	struct sbc_instance	*v;
	size_t			 n;
	size_t			 cap;
	bool			 nomem;
};

/* Free one instance's strings. */
static void
instance_clear(struct sbc_instance *in)
{
	free(in->ns);
	free(in->id);
	free(in->state);
	free(in->runtime);
	free(in->netns_path);
	free(in->owner_bundle);
	memset(in, 0, sizeof *in);
}

/* Copy a decoded InstanceInfo; false when memory ran out. */
static bool
instance_copy(struct sbc_instance *in, const sv_InstanceInfo *pb)
{
	in->ns = sbc_strdup(pb->namespace);
	in->id = sbc_strdup(pb->id);
	in->state = sbc_strdup(pb->state);
	in->runtime = sbc_strdup(pb->runtime);
	in->netns_path = sbc_strdup(pb->netns_path != NULL ? pb->netns_path :
	    "");
	in->owner_bundle = sbc_strdup(pb->owner_bundle != NULL ?
	    pb->owner_bundle : "");
	in->pid = pb->pid;
	in->exit_status = pb->exit_status;
	in->exited = pb->has_exited_at;
	in->store_record = pb->store_record;
	sbc_ts_from_pb(&in->created_at, pb->has_created_at, &pb->created_at);
	sbc_ts_from_pb(&in->started_at, pb->has_started_at, &pb->started_at);
	sbc_ts_from_pb(&in->exited_at, pb->has_exited_at, &pb->exited_at);
	if (in->ns != NULL && in->id != NULL && in->state != NULL &&
	    in->runtime != NULL && in->netns_path != NULL &&
	    in->owner_bundle != NULL)
		return (true);
	instance_clear(in);
	return (false);
}

/* Room for one more instance; false when memory ran out. */
static bool
instance_list_grow(struct instance_list *l)
{
	struct sbc_instance	*v;
	size_t			 cap;

	if (l->n < l->cap)
		return (true);
	cap = l->cap == 0 ? 64 : l->cap * 2;
	if ((v = sbc_reallocarray(l->v, cap, sizeof *v)) == NULL)
		return (false);
	l->v = v;
	l->cap = cap;
	return (true);
}

/* Decode one InstanceInfo of the reply and append it. */
static bool
decode_instance_cb(pb_istream_t *stream, const pb_field_iter_t *field,
    void **arg)
{
	struct instance_list	*l = *arg;
	sv_InstanceInfo		 pb = {0};
	bool			 ok;

	(void)field;
	if (!pb_decode(stream, sv_InstanceInfo_fields, &pb))
		return (false);
	ok = instance_list_grow(l) && instance_copy(&l->v[l->n], &pb);
	pb_release(sv_InstanceInfo_fields, &pb);
	if (!ok) {
		l->nomem = true;
		return (false);
	}
	l->n++;
	return (true);
}

/* Every instance the daemon runs, in every namespace. */
int
sbc_admin_list_instances(struct sbc *c, struct sbc_instance **out,
    size_t *n, struct sbc_error *err)
{
	sv_ListInstancesRequest		req = {0};
	sv_ListInstancesResponse	resp = {0};
	struct instance_list		l = {0};
	struct sbc_reply		reply;
	int				code;

	*out = NULL;
	*n = 0;
	resp.instances.funcs.decode = decode_instance_cb;
	resp.instances.arg = &l;
	code = sbc_call(c, SERVICE_ADMIN, "ListInstances",
	    sv_ListInstancesRequest_fields, &req,
	    sv_ListInstancesResponse_fields, &resp, &reply, err);
	sbc_reply_free(&reply);
	if (code != 0 || l.nomem) {
		sbc_instance_list_free(l.v, l.n);
		if (!l.nomem)
			return (code);
		sbc_error_clear(err);
		return (sbc_error_nomem(err));
	}
	*out = l.v;
	*n = l.n;
	return (0);
}

/* Free what sbc_admin_list_instances returned. */
void
sbc_instance_list_free(struct sbc_instance *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		instance_clear(&v[i]);
	free(v);
}

/*
 * Have the daemon execute itself again, keeping its clients; the answer
 * comes from the new image, with the daemon's (unchanged) pid.
 */
int
sbc_reexec(struct sbc *c, uint32_t *pid, struct sbc_error *err)
{
	sv_ReexecRequest	req = {0};
	sv_ReexecResponse	resp = {0};
	struct sbc_reply	reply;
	int			code;

	code = sbc_call(c, SERVICE_ADMIN, "Reexec", sv_ReexecRequest_fields,
	    &req, sv_ReexecResponse_fields, &resp, &reply, err);
	sbc_reply_free(&reply);
	if (code == 0 && pid != NULL)
		*pid = resp.pid;
	return (code);
}
