/*
 * h_store.c: containerd.services.sandbox.v1.Store: sandbox metadata CRUD
 * (spec section 4).
 *
 * Records are kept encoded, so Get, List and the answers of Create and
 * Update send the stored bytes as they are, wrapped as field 1 of the
 * response message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "controller.h"
#include "filter.h"
#include "handlers.h"
#include "log.h"
#include "pbutil.h"
#include "protocol.h"
#include "storage.h"
#include "xmalloc.h"

_Static_assert(sizeof(record_path) ==
    sizeof(((cssv_StoreUpdateRequest *)0)->fields[0]),
    "record_path differs from StoreUpdateRequest.fields max_size");

/* Store sb (encoded) and answer with it as field 1. */
static enum handler_result
store_and_answer(struct call *call, const ct_Sandbox *sb)
{
	uint8_t	*buf, *wrapped;
	size_t	 len, wlen;

	if ((buf = record_encode(sb, &len)) == NULL)
		return (call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": "
		    "cannot encode the record", sb->sandbox_id));
	store_put(STORE_SANDBOX, call_namespace(call), sb->sandbox_id, buf, len);
	wrapped = record_wrap(buf, len, 1, &wlen);
	call_set_raw_response(call, wrapped, wlen);
	free(buf);
	return (HANDLER_DONE);
}

/* Create: a new record, stamped with the server's time. */
enum handler_result
h_store_create(struct call *call, const void *reqp, void *respp)
{
	cssv_StoreCreateRequest	*req = (cssv_StoreCreateRequest *)reqp;
	ct_Sandbox		*sb = &req->sandbox;
	const char		*ns = call_namespace(call);
	char			*cause = NULL;

	(void)respp;
	if (!req->has_sandbox)
		return (call_fail(call, STATUS_INVALID_ARGUMENT,
		    "sandbox is required"));
	record_normalize(sb);
	if (record_validate(sb, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	if (store_exists(STORE_SANDBOX, ns, sb->sandbox_id))
		return (call_fail(call, STATUS_ALREADY_EXISTS, "sandbox \"%s\" "
		    "already exists in namespace \"%s\"", sb->sandbox_id, ns));
	if (store_count(STORE_SANDBOX, ns) >=
	    ctrl_cfg.max_sandboxes_per_namespace)
		return (call_fail(call, STATUS_RESOURCE_EXHAUSTED, "namespace "
		    "\"%s\" already has %u sandboxes (the limit)", ns,
		    ctrl_cfg.max_sandboxes_per_namespace));
	ts_now(&sb->created_at);
	sb->has_created_at = true;
	sb->updated_at = sb->created_at;
	sb->has_updated_at = true;
	log_debug("store: create %s/%s", ns, sb->sandbox_id);
	return (store_and_answer(call, sb));
}

/* Get: the stored record. */
enum handler_result
h_store_get(struct call *call, const void *reqp, void *respp)
{
	const cssv_StoreGetRequest	*req = reqp;
	void				*buf;
	uint8_t				*wrapped;
	size_t				 len, wlen;
	char				*cause = NULL;
	int				 found;

	(void)respp;
	if (!ctrl_check_id(call, req->sandbox_id))
		return (HANDLER_ERROR);
	found = store_get(STORE_SANDBOX, call_namespace(call), req->sandbox_id,
	    &buf, &len, &cause);
	if (found == -1) {
		call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": %s",
		    req->sandbox_id, cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	if (found == 0)
		return (call_fail(call, STATUS_NOT_FOUND, "sandbox \"%s\" not "
		    "found in namespace \"%s\"", req->sandbox_id,
		    call_namespace(call)));
	wrapped = record_wrap(buf, len, 1, &wlen);
	call_set_raw_response(call, wrapped, wlen);
	free(buf);
	return (HANDLER_DONE);
}

/*
 * The most a List answer may hold: one message, less room for the
 * Response around it (status, tags, lengths).
 */
#define LIST_MAX	(FRAME_MAX_PAYLOAD - 64)

/* Why a List walk stopped early. */
enum list_stop {
	LIST_COMPLETE,
	LIST_TOO_BIG,		/* the next record would pass LIST_MAX */
	LIST_TOO_COSTLY,	/* the filter's work budget ran out */
};

/* What a List walk carries from record to record. */
struct list_walk {
	struct call		*call;
	struct filter		*filter;
	uint8_t			*out;
	size_t			 len, cap;
	enum list_stop		 stop;
	char			*cause;
};

/* Join path components 1.. with '.' into buf: labels.a.b is key "a.b". */
static const char *
join_rest(const char *const *path, size_t depth, char *buf, size_t size)
{
	size_t	i, off = 0;
	int	n;

	buf[0] = '\0';
	for (i = 1; i < depth && off < size; i++) {
		n = snprintf(buf + off, size - off, "%s%s", i > 1 ? "." : "",
		    path[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return (buf);
}

/* filter_lookup_fn over a decoded sandbox: the selectors of spec 4. */
static bool
list_lookup(const char *const *path, size_t depth, const char **value,
    void *arg)
{
	const ct_Sandbox	*sb = arg;
	static char		 key[LABEL_MAX_SIZE + 1];
	const gp_Any		*ext;

	if (depth == 1 && strcmp(path[0], "id") == 0) {
		*value = sb->sandbox_id;
		return (true);
	}
	if (depth == 1 && strcmp(path[0], "sandboxer") == 0) {
		*value = sb->sandboxer;
		return (sb->sandboxer[0] != '\0');
	}
	if (depth == 2 && strcmp(path[0], "runtime") == 0 &&
	    strcmp(path[1], "name") == 0) {
		*value = sb->runtime.name;
		return (sb->has_runtime && sb->runtime.name[0] != '\0');
	}
	if (depth >= 2 && strcmp(path[0], "labels") == 0) {
		*value = record_label(sb, join_rest(path, depth, key,
		    sizeof(key)));
		return (*value != NULL);
	}
	if (depth >= 2 && strcmp(path[0], "extensions") == 0) {
		ext = record_extension(sb, join_rest(path, depth, key,
		    sizeof(key)));
		*value = ext != NULL && ext->type_url != NULL ? ext->type_url : "";
		return (ext != NULL);
	}
	return (false);
}

/* Write v as a protobuf varint at p (NULL: only count); return its size. */
static size_t
list_put_varint(uint8_t *p, size_t v)
{
	size_t	n = 0;

	for (; v >= 0x80; v >>= 7, n++) {
		if (p != NULL)
			p[n] = (uint8_t)(v | 0x80);
	}
	if (p != NULL)
		p[n] = (uint8_t)v;
	return (n + 1);
}

/*
 * Append one record, as field 1, to the List answer; if it would pass
 * LIST_MAX, append nothing and stop the walk (1): the answer never holds
 * more than one message's worth, however many records there are.
 */
static int
list_append(struct list_walk *w, const void *rec, size_t len)
{
	size_t	need = 1 + list_put_varint(NULL, len) + len;

	if (need > LIST_MAX - w->len) {
		w->stop = LIST_TOO_BIG;
		return (1);
	}
	if (need > w->cap - w->len) {
		/* Double, but never past what one message may carry. */
		w->cap = w->cap * 2 > w->len + need ? w->cap * 2 :
		    w->len + need;
		if (w->cap > LIST_MAX)
			w->cap = LIST_MAX;
		w->out = xrealloc(w->out, w->cap);
	}
	w->out[w->len++] = 0x0a;	/* field 1, length-delimited */
	w->len += list_put_varint(w->out + w->len, len);
	memcpy(w->out + w->len, rec, len);
	w->len += len;
	return (0);
}

/* store_walk callback without a filter: append the stored bytes as is. */
static int
list_all_cb(const char *ns, const char *id, void *arg)
{
	struct list_walk	*w = arg;
	void			*buf;
	size_t			 len;
	int			 found, rv;

	found = store_get(STORE_SANDBOX, ns, id, &buf, &len, &w->cause);
	if (found != 1)
		return (found);
	rv = list_append(w, buf, len);
	free(buf);
	return (rv);
}

/* store_walk callback with a filter: load, filter, append. */
static int
list_walk_cb(const char *ns, const char *id, void *arg)
{
	struct list_walk	*w = arg;
	struct record		 r;
	int			 found, rv = 0;

	found = record_load(ns, id, &r, &w->cause);
	if (found != 1)
		return (found);
	if (filter_match(w->filter, list_lookup, r.sb))
		rv = list_append(w, r.buf, r.len);
	else if (filter_exhausted(w->filter)) {
		w->stop = LIST_TOO_COSTLY;
		rv = 1;
	}
	record_free(&r);
	return (rv);
}

/* Answer a List whose walk stopped early or failed. */
static enum handler_result
list_fail(struct call *call, const struct list_walk *w)
{
	switch (w->stop) {
	case LIST_TOO_BIG:
		return (call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the list "
		    "passes %u bytes, the most one message may carry; narrow "
		    "it with filters", (unsigned int)LIST_MAX));
	case LIST_TOO_COSTLY:
		return (call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the "
		    "filter's regular expressions need more than %zu steps "
		    "(value bytes x pattern size) over this namespace; narrow "
		    "the filter with == selectors or simplify the patterns",
		    FILTER_REGEX_WORK));
	case LIST_COMPLETE:
		break;
	}
	return (call_fail(call, STATUS_INTERNAL, "list: %s",
	    w->cause != NULL ? w->cause : "storage error"));
}

/*
 * List: every record of the namespace matching any filter, by id.  The
 * walk stops as soon as the answer would pass one message (or the
 * filter its work budget), so a List never holds more than that.
 */
enum handler_result
h_store_list(struct call *call, const void *reqp, void *respp)
{
	const cssv_StoreListRequest	*req = reqp;
	const char			*filters[32];
	struct list_walk		 w = { .call = call };
	enum handler_result		 r = HANDLER_DONE;
	pb_size_t			 i;

	(void)respp;
	for (i = 0; i < req->filters_count; i++)
		filters[i] = req->filters[i];
	if (req->filters_count > 0) {
		w.filter = filter_parse(filters, req->filters_count, &w.cause);
		if (w.filter == NULL) {
			call_fail(call, STATUS_INVALID_ARGUMENT, "%s", w.cause);
			free(w.cause);
			return (HANDLER_ERROR);
		}
	}
	if (store_walk(STORE_SANDBOX, call_namespace(call), w.filter != NULL ?
	    list_walk_cb : list_all_cb, &w) != 0) {
		r = list_fail(call, &w);
		free(w.out);
	} else
		call_set_raw_response(call, w.out, w.len);
	filter_free(w.filter);
	free(w.cause);
	return (r);
}

/* Update: apply field paths to the stored record. */
enum handler_result
h_store_update(struct call *call, const void *reqp, void *respp)
{
	cssv_StoreUpdateRequest	*req = (cssv_StoreUpdateRequest *)reqp;
	const char		*ns = call_namespace(call);
	struct record		 stored;
	ct_Sandbox		*out;
	enum handler_result	 r;
	char			*cause = NULL;
	int			 found;

	(void)respp;
	if (!req->has_sandbox)
		return (call_fail(call, STATUS_INVALID_ARGUMENT,
		    "sandbox is required"));
	if (!ctrl_check_id(call, req->sandbox.sandbox_id))
		return (HANDLER_ERROR);
	found = record_load(ns, req->sandbox.sandbox_id, &stored, &cause);
	if (found != 1) {
		if (found == 0)
			return (call_fail(call, STATUS_NOT_FOUND, "sandbox \"%s\" "
			    "not found in namespace \"%s\"",
			    req->sandbox.sandbox_id, ns));
		call_fail(call, STATUS_INTERNAL, "sandbox \"%s\": %s",
		    req->sandbox.sandbox_id, cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	record_normalize(&req->sandbox);
	out = xmalloc(sizeof(*out));
	if (record_merge(out, stored.sb, &req->sandbox,
	    (const record_path *)req->fields, req->fields_count, &cause) == -1) {
		r = call_fail(call, STATUS_INVALID_ARGUMENT, "sandbox \"%s\": %s",
		    req->sandbox.sandbox_id, cause);
		free(cause);
	} else {
		ts_now(&out->updated_at);
		out->has_updated_at = true;
		log_debug("store: update %s/%s", ns, out->sandbox_id);
		r = store_and_answer(call, out);
	}
	free(out);		/* borrowed everything: see record_merge */
	record_free(&stored);
	return (r);
}

/* Delete: forget a record, unless its sandbox still runs. */
enum handler_result
h_store_delete(struct call *call, const void *reqp, void *respp)
{
	const cssv_StoreDeleteRequest	*req = reqp;
	const char			*ns = call_namespace(call);

	(void)respp;
	if (!ctrl_check_id(call, req->sandbox_id))
		return (HANDLER_ERROR);
	if (!store_exists(STORE_SANDBOX, ns, req->sandbox_id))
		return (call_fail(call, STATUS_NOT_FOUND, "sandbox \"%s\" not "
		    "found in namespace \"%s\"", req->sandbox_id, ns));
	if (ctrl_instance_active(ns, req->sandbox_id))
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" is still running: shut it down first",
		    req->sandbox_id));
	store_del(STORE_SANDBOX, ns, req->sandbox_id);
	log_debug("store: delete %s/%s", ns, req->sandbox_id);
	return (HANDLER_DONE);
}
