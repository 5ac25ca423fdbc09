/*
 * sbc_store.c: typed calls of containerd.services.sandbox.v1.Store.
 */
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "pbutil.h"
#include "sbc_int.h"

/* What a List callback collects. */
struct list_ctx {
	struct sbc_meta	*list;
	size_t		 n;
	size_t		 cap;
	ct_Sandbox	*scratch;
	const char	*why;		/* why an entry did not decode */
	bool		 nomem;
};

/*
 * Call a Store method whose response is { Sandbox sandbox = 1; }: Create,
 * Update and Get share that wire shape, so all decode as StoreGetResponse.
 * out (may be NULL) receives a copy of the returned sandbox.
 */
static int
call_sandbox(struct sbc *c, const char *method, const pb_msgdesc_t *fields,
    const void *req, struct sbc_meta *out, struct sbc_error *err)
{
	cssv_StoreGetResponse	*resp;
	struct sbc_reply	 reply;
	int			 code;

	if ((resp = sbc_calloc(1, sizeof *resp)) == NULL)
		return (sbc_error_nomem(err));
	code = sbc_call(c, SERVICE_STORE, method, fields, req,
	    cssv_StoreGetResponse_fields, resp, &reply, err);
	if (code == 0 && out != NULL &&
	    sbc_meta_from_pb(out, &resp->sandbox) != 0)
		code = sbc_error_nomem(err);
	sbc_reply_free(&reply);
	free(resp);
	return (code);
}

/* Store.Create: store new metadata; out (may be NULL) gets what was stored. */
int
sbc_store_create(struct sbc *c, const struct sbc_meta *in,
    struct sbc_meta *out, struct sbc_error *err)
{
	cssv_StoreCreateRequest	*req;
	int			 code;

	if ((req = sbc_calloc(1, sizeof *req)) == NULL)
		return (sbc_error_nomem(err));
	if ((code = sbc_meta_to_pb(in, &req->sandbox, err)) == 0) {
		req->has_sandbox = true;
		code = call_sandbox(c, "Create", cssv_StoreCreateRequest_fields,
		    req, out, err);
	}
	free(req);
	return (code);
}

/* Store.Get: the metadata of one sandbox. */
int
sbc_store_get(struct sbc *c, const char *id, struct sbc_meta *out,
    struct sbc_error *err)
{
	cssv_StoreGetRequest	req = {0};
	int			code;

	code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err);
	if (code != 0)
		return (code);
	return (call_sandbox(c, "Get", cssv_StoreGetRequest_fields, &req, out,
	    err));
}

/*
 * Store.Update: send in (its id names the sandbox) with the field paths
 * to apply (none: the daemon's default set); out gets the stored result.
 */
int
sbc_store_update(struct sbc *c, const struct sbc_meta *in,
    const char *const *fields, size_t nfields, struct sbc_meta *out,
    struct sbc_error *err)
{
	cssv_StoreUpdateRequest	*req;
	int			 code;

	if ((req = sbc_calloc(1, sizeof *req)) == NULL)
		return (sbc_error_nomem(err));
	code = sbc_meta_to_pb(in, &req->sandbox, err);
	if (code == 0)
		code = sbc_copy_strs(req->fields[0], sizeof req->fields[0],
		    sizeof req->fields / sizeof req->fields[0],
		    &req->fields_count, fields, nfields, "field paths", err);
	if (code == 0) {
		req->has_sandbox = true;
		code = call_sandbox(c, "Update", cssv_StoreUpdateRequest_fields,
		    req, out, err);
	}
	free(req);
	return (code);
}

/* Store.Delete: remove a sandbox's metadata. */
int
sbc_store_delete(struct sbc *c, const char *id, struct sbc_error *err)
{
	return (sbc_call_id(c, SERVICE_STORE, "Delete", id, NULL, NULL, NULL,
	    err));
}

/* Make room for one more entry in the list; false when out of memory. */
static bool
list_grow(struct list_ctx *ctx)
{
	struct sbc_meta	*list;
	size_t		 cap;

	if (ctx->n < ctx->cap)
		return (true);
	cap = ctx->cap == 0 ? 16 : ctx->cap * 2;
	if ((list = sbc_reallocarray(ctx->list, cap, sizeof *list)) == NULL)
		return (false);
	ctx->list = list;
	ctx->cap = cap;
	return (true);
}

/*
 * Decode one entry of StoreListResponse.list.  Decoding runs over the
 * reply buffer, so the substream's state is its read cursor (as in
 * pbv_field_cb): the entry is decoded from there, copied out, and
 * skipped.  Running out of memory stops the decoding (ctx->nomem says
 * why).
 */
static bool
list_entry_cb(pb_istream_t *is, const pb_field_iter_t *field, void **arg)
{
	struct list_ctx	*ctx = *arg;
	int		 code;

	(void)field;
	memset(ctx->scratch, 0, sizeof *ctx->scratch);
	if (!sbc_msg_decode(ct_Sandbox_fields, ctx->scratch, is->state,
	    is->bytes_left, &ctx->why))
		return (false);
	code = list_grow(ctx) ? sbc_meta_from_pb(&ctx->list[ctx->n],
	    ctx->scratch) : SBC_ERR_NOMEM;
	msg_release(ct_Sandbox_fields, ctx->scratch);
	if (code != 0) {
		ctx->nomem = true;
		return (false);
	}
	ctx->n++;
	return (pb_read(is, NULL, is->bytes_left));
}

/*
 * Store.List: the sandboxes matching any of the filters (none: all), in
 * the daemon's order (by id).  *list is freed with sbc_meta_list_free.
 */
int
sbc_store_list(struct sbc *c, const char *const *filters, size_t nfilters,
    struct sbc_meta **list, size_t *n, struct sbc_error *err)
{
	cssv_StoreListRequest	*req;
	cssv_StoreListResponse	 resp = {0};
	struct sbc_reply	 reply;
	struct list_ctx		 ctx = {0};
	int			 code;

	*list = NULL;
	*n = 0;
	if ((req = sbc_calloc(1, sizeof *req)) == NULL)
		return (sbc_error_nomem(err));
	code = sbc_copy_strs(req->filters[0], sizeof req->filters[0],
	    sizeof req->filters / sizeof req->filters[0], &req->filters_count,
	    filters, nfilters, "filters", err);
	if (code != 0) {
		free(req);
		return (code);
	}
	if ((ctx.scratch = sbc_calloc(1, sizeof *ctx.scratch)) == NULL) {
		free(req);
		return (sbc_error_nomem(err));
	}
	resp.list.funcs.decode = list_entry_cb;
	resp.list.arg = &ctx;
	code = sbc_call(c, SERVICE_STORE, "List", cssv_StoreListRequest_fields,
	    req, cssv_StoreListResponse_fields, &resp, &reply, err);
	if (code == SBC_ERR_PROTOCOL && ctx.nomem)
		code = sbc_error_nomem(err);
	else if (code == SBC_ERR_PROTOCOL && ctx.why != NULL)
		sbc_error_set(err, code, "cannot decode a listed sandbox: %s",
		    ctx.why);
	sbc_reply_free(&reply);
	if (code == 0) {
		*list = ctx.list;
		*n = ctx.n;
	} else
		sbc_meta_list_free(ctx.list, ctx.n);
	free(ctx.scratch);
	free(req);
	return (code);
}
