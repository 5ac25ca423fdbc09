/*
 * call.c: one request from its arrival to its answer.
 *
 * A call belongs to its connection until it is freed.  It is answered once:
 * right away by its handler, or later (deferred: a Create making its
 * netns, a Start waiting for the exec, Wait, Stop, Shutdown) by whoever
 * completes it.  An answer is encoded at once into a frame and parked,
 * untagged; at the end of the loop iteration, before the open batch goes
 * to the commit thread, the loop tags every answer parked during it with
 * the batch it depends on (call_tag_parked with store_seq_needed: every
 * change made in that iteration, whether queued before or after the
 * answer).  The loop sends parked frames only once that batch is synced
 * (loop.c), so no client hears of a change that could still be lost, in
 * whatever order a handler answers and writes.  Commit hooks are tagged
 * the same way.
 *
 * This file implements the call API of controller/include/call/call.h, the
 * contract the controller and the handlers use.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "frame.h"
#include "keeper.h"
#include "pbutil.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "ttrpc.pb.h"
#include "sandboxd/v1/handover.pb.h"
#include "xmalloc.h"

enum call_state {
	CALL_RUNNING,		/* in its handler */
	CALL_DEFERRED,		/* waiting for call_finish */
	CALL_PARKED,		/* answered, frame waiting for the commit */
};

/* Memory that lives as long as the call (call_alloc, call_own). */
struct call_mem {
	struct call_mem	*next;
	void		(*free_fn)(void *);
	void		*ptr;
};

struct call {
	TAILQ_ENTRY(call)	 conn_entry;	/* on conn->calls */
	TAILQ_ENTRY(call)	 state_entry;	/* on deferred or parked */
	struct conn		*conn;		/* NULL once the client left */
	uint32_t		 stream_id;
	enum call_state		 state;
	bool			 counted;	/* in conn->ninflight */
	int64_t			 deadline;	/* CLOCK_MONOTONIC ns, 0: none */
	struct event		*timer;		/* deadline of a deferred call */
	call_cancel_fn		 cancel;
	void			*cancel_arg;
	struct call_mem		*mem;
	uint8_t			*raw;		/* call_set_raw_response */
	size_t			 raw_len;
	int			 err_code;	/* call_fail */
	char			*err_msg;
	uint8_t			*frame;		/* the encoded answer */
	size_t			 frame_len;
	uint64_t		 seq;		/* parked: the batch it waits for,
						 * CALL_UNTAGGED till the
						 * iteration's end */
	uint64_t		 need_ops;	/* store ops queued by then */
	struct call_carry	*carry;		/* deferred and carried by re-exec */
	int			 kentry;	/* entry of the keeper slot
						 * recording it, -1: none */
	char			 ns[IDENT_MAX_LEN + 1];
};

/*
 * What a re-exec needs to dispatch a deferred call again in the new image.
 * Kept only by the calls that may wait long (Wait, Stop, Reexec): with
 * thousands of pods, each with a Wait pending, it stays a few dozen bytes
 * each.  service and method point into the dispatch table.
 */
struct call_carry {
	const char	*service;
	const char	*method;
	size_t		 len;
	uint8_t		 body[];
};

/*
 * The tag of an answer or hook parked during the current iteration: it
 * waits for anything until the loop tags it (call_tag_parked).
 */
#define CALL_UNTAGGED	UINT64_MAX

/* An effect waiting for the iteration's commit (call_after_commit). */
struct commit_hook {
	TAILQ_ENTRY(commit_hook)	 entry;
	call_commit_fn			 fn;
	void				*arg;
	uint64_t			 seq;	/* the batch it waits for */
	uint64_t			 need_ops;	/* as a call's */
};

static TAILQ_HEAD(commit_hook_list, commit_hook) commit_hooks =
    TAILQ_HEAD_INITIALIZER(commit_hooks);
static TAILQ_HEAD(, call) deferred = TAILQ_HEAD_INITIALIZER(deferred);
static TAILQ_HEAD(call_list, call) parked = TAILQ_HEAD_INITIALIZER(parked);

static void	call_free(struct call *);
static void	call_park_frame(struct call *, int, const char *,
		    const uint8_t *, size_t);

/* A call on c; counted: a request, held to the in-flight cap. */
static struct call *
call_create(struct conn *c, uint32_t stream_id, bool counted)
{
	struct call	*call;

	call = xcalloc(1, sizeof(*call));
	call->conn = c;
	call->stream_id = stream_id;
	call->state = CALL_RUNNING;
	call->counted = counted;
	call->kentry = -1;
	TAILQ_INSERT_TAIL(&c->calls, call, conn_entry);
	c->ncalls++;
	keep_plain_add(c);
	if (counted)
		c->ninflight++;
	return (call);
}

/* A new call on conn for stream_id, in its handler's hands. */
struct call *
call_new(struct conn *c, uint32_t stream_id)
{
	return (call_create(c, stream_id, true));
}

/* Take call off its connection's lists and counts. */
static void
call_unlink_conn(struct call *call)
{
	TAILQ_REMOVE(&call->conn->calls, call, conn_entry);
	call->conn->ncalls--;
	keep_call_done(call->conn, call->kentry);
	if (call->counted)
		call->conn->ninflight--;
	call->conn = NULL;
}

/* Free a call and everything it owns; it must be on no state list. */
static void
call_free(struct call *call)
{
	struct call_mem	*m, *next;

	if (call->conn != NULL)
		call_unlink_conn(call);
	if (call->timer != NULL)
		event_free(call->timer);
	for (m = call->mem; m != NULL; m = next) {
		next = m->next;
		m->free_fn(m->ptr);
		free(m);
	}
	free(call->raw);
	free(call->err_msg);
	free(call->frame);
	free(call->carry);
	free(call);
}

/* Remember the request's namespace (validated by the dispatcher). */
void
call_set_namespace(struct call *call, const char *ns)
{
	snprintf(call->ns, sizeof(call->ns), "%s", ns);
}

/* The namespace of the request (validated by the dispatcher). */
const char *
call_namespace(const struct call *call)
{
	return (call->ns);
}

/* Remember when a deferred answer stops being wanted (0: never). */
void
call_set_deadline(struct call *call, int64_t deadline)
{
	call->deadline = deadline;
}

/* Record an error answer; the handler returns what this returns. */
enum handler_result
call_fail(struct call *call, int code, const char *fmt, ...)
{
	va_list	ap;

	free(call->err_msg);
	va_start(ap, fmt);
	xvasprintf(&call->err_msg, fmt, ap);
	va_end(ap);
	call->err_code = code;
	return (HANDLER_ERROR);
}

/* Zeroed memory that lives until the call's answer is encoded. */
void *
call_alloc(struct call *call, size_t size)
{
	void	*p = xcalloc(1, size);

	call_own(call, p);
	return (p);
}

/* A copy of s ("" for NULL) that lives as long as the call. */
char *
call_strdup(struct call *call, const char *s)
{
	char	*p = xstrdup(s != NULL ? s : "");

	call_own(call, p);
	return (p);
}

/* Free p (malloc'd) with the call. */
void
call_own(struct call *call, void *p)
{
	call_own_fn(call, free, p);
}

/* Call free_fn(p) when the call is freed. */
void
call_own_fn(struct call *call, void (*free_fn)(void *), void *p)
{
	struct call_mem	*m;

	m = xmalloc(sizeof(*m));
	m->free_fn = free_fn;
	m->ptr = p;
	m->next = call->mem;
	call->mem = m;
}

/* Answer with an already encoded response message (buf is taken over). */
void
call_set_raw_response(struct call *call, uint8_t *buf, size_t len)
{
	free(call->raw);
	call->raw = buf;
	call->raw_len = len;
}

/* The handler will answer later; cancel is called if nobody waits anymore. */
enum handler_result
call_defer(struct call *call, call_cancel_fn cancel, void *arg)
{
	call->state = CALL_DEFERRED;
	call->cancel = cancel;
	call->cancel_arg = arg;
	TAILQ_INSERT_TAIL(&deferred, call, state_entry);
	return (HANDLER_DEFERRED);
}

/* The deadline of a deferred call passed: tell its owner, answer. */
static void
call_deadline_cb(int fd, short events, void *arg)
{
	struct call	*call = arg;

	(void)fd;
	(void)events;
	if (call->cancel != NULL)
		call->cancel(call, STATUS_DEADLINE_EXCEEDED, call->cancel_arg);
	call_finish_error(call, STATUS_DEADLINE_EXCEEDED,
	    "deadline exceeded while the request was waiting");
}

/*
 * Start the deadline timer of a call that was just deferred.  A deadline
 * at or below 0 is none (a carried one could be anything); now is
 * positive, so deadline - now cannot overflow.
 */
void
call_arm_deadline(struct call *call, struct event_base *base)
{
	struct timespec	 now;
	struct timeval	 tv;
	int64_t		 left;

	if (call->deadline <= 0 || call->state != CALL_DEFERRED)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = call->deadline - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
	if (left < 0)
		left = 0;
	tv.tv_sec = left / 1000000000;
	tv.tv_usec = (left % 1000000000) / 1000;
	call->timer = evtimer_new(base, call_deadline_cb, call);
	if (call->timer == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(call->timer, &tv);
}

/* Leave the deferred state (timer and list) before answering. */
static void
call_undefer(struct call *call)
{
	if (call->state != CALL_DEFERRED)
		return;
	TAILQ_REMOVE(&deferred, call, state_entry);
	if (call->timer != NULL) {
		event_free(call->timer);
		call->timer = NULL;
	}
	call->cancel = NULL;
	call->state = CALL_RUNNING;
}

/* Complete a deferred call with a response message. */
void
call_finish(struct call *call, const pb_msgdesc_t *fields, const void *resp)
{
	call_undefer(call);
	call_park_response(call, fields, resp);
}

/* Complete a deferred call with an error. */
void
call_finish_error(struct call *call, int code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	call_undefer(call);
	call_park_error(call, code, msg);
	free(msg);
}

/* Encode the response message (or the raw one) and park the answer. */
void
call_park_response(struct call *call, const pb_msgdesc_t *fields,
    const void *resp)
{
	uint8_t	*buf;
	size_t	 len;
	char	*cause = NULL;

	if (call->raw != NULL) {
		call_park_frame(call, STATUS_OK, NULL, call->raw, call->raw_len);
		return;
	}
	if (!msg_encode(fields, resp, &buf, &len, &cause)) {
		log_warnx("stream %u: cannot encode response: %s",
		    call->stream_id, cause);
		call_park_error(call, STATUS_INTERNAL, "cannot encode response");
		free(cause);
		return;
	}
	call_park_frame(call, STATUS_OK, NULL, buf, len);
	free(buf);
}

/* Park an error answer. */
void
call_park_error(struct call *call, int code, const char *msg)
{
	call_park_frame(call, code, msg, NULL, 0);
}

/* Build the ttrpc Response frame of an answer and park it. */
static void
call_park_frame(struct call *call, int code, const char *msg,
    const uint8_t *payload, size_t len)
{
	size_t	msglen = msg != NULL ? strlen(msg) : 0;

	free(call->frame);
	call->frame_len = frame_response_size(code, msglen, len);
	call->frame = xmalloc(call->frame_len);
	frame_response_build(call->frame, call->stream_id, code, msg, msglen,
	    payload, len);
	if (code != STATUS_OK)
		log_debug("conn %llu stream %u: %s: %s",
		    call->conn != NULL ? (unsigned long long)call->conn->id : 0,
		    call->stream_id, status_code_name(code), msg);
	call->state = CALL_PARKED;
	call->seq = CALL_UNTAGGED;
	TAILQ_INSERT_TAIL(&parked, call, state_entry);
}

/* Park an error for a frame that never became a handled call. */
void
call_reply_now(struct conn *c, uint32_t stream_id, int code, const char *msg)
{
	call_park_error(call_create(c, stream_id, false), code, msg);
}

/*
 * The connection of call is closing.  A deferred call is cancelled (its
 * owner unlinks it) and freed; a parked one stays parked but will not be
 * sent.
 */
void
call_detach_conn(struct call *call)
{
	call_unlink_conn(call);
	if (call->state != CALL_DEFERRED)
		return;
	if (call->cancel != NULL)
		call->cancel(call, STATUS_CANCELED, call->cancel_arg);
	call_undefer(call);
	call_free(call);
}

/* Have fn(committed, arg) run once the changes made so far are decided. */
void
call_after_commit(call_commit_fn fn, void *arg)
{
	struct commit_hook	*h;

	h = xmalloc(sizeof(*h));
	h->fn = fn;
	h->arg = arg;
	h->seq = CALL_UNTAGGED;
	TAILQ_INSERT_TAIL(&commit_hooks, h, entry);
}

/*
 * The loop iteration is over (loop.c, before it hands the open batch to
 * the commit thread): the answers and hooks parked during it wait for
 * seq, the batch that holds every change made so far, and for the store
 * operations queued so far (ops, for the check in call_check_release).
 * They are the untagged tail of their lists: walk it backwards.  seq
 * never decreases, so neither do the tags along the lists.
 */
void
call_tag_parked(uint64_t seq, uint64_t ops)
{
	struct call		*call;
	struct commit_hook	*h;

	TAILQ_FOREACH_REVERSE(call, &parked, call_list, state_entry) {
		if (call->seq != CALL_UNTAGGED)
			break;
		call->seq = seq;
		call->need_ops = ops;
	}
	TAILQ_FOREACH_REVERSE(h, &commit_hooks, commit_hook_list, entry) {
		if (h->seq != CALL_UNTAGGED)
			break;
		h->seq = seq;
		h->need_ops = ops;
	}
}

/*
 * Debug builds: something parked is being released with the batches up
 * to settled written.  Every store operation queued before the end of its
 * iteration must be among the settled ones by now, or a crash could still
 * lose a change the client or the hook's effect tells of.  It checks the
 * batch tags against a plain count of operations, kept apart from them.
 */
static void
call_check_release(uint64_t seq, uint64_t need_ops, uint64_t settled)
{
#ifndef NDEBUG
	if (seq == CALL_UNTAGGED && settled != UINT64_MAX)
		fatalx("%s: an untagged answer or hook released", __func__);
	if (settled != UINT64_MAX && need_ops > store_ops_settled())
		fatalx("%s: released with %llu store operations not yet "
		    "written", __func__, (unsigned long long)(need_ops -
		    store_ops_settled()));
#else
	(void)seq;
	(void)need_ops;
	(void)settled;
#endif
}

/*
 * Batches up to settled are written: run the hooks waiting for them, in
 * order (their batches never decrease along the list).  !committed: a
 * write failed; every hook runs, told so.
 */
void
call_run_commit_hooks(uint64_t settled, bool committed)
{
	struct commit_hook	*h;

	while ((h = TAILQ_FIRST(&commit_hooks)) != NULL &&
	    (!committed || h->seq <= settled)) {
		TAILQ_REMOVE(&commit_hooks, h, entry);
		if (committed)
			call_check_release(h->seq, h->need_ops, settled);
		h->fn(committed, h->arg);
		free(h);
	}
}

/*
 * Whether call is a Wait that its connection's keeper slot records: the
 * daemon does not answer it on its way out, the next one dispatches it
 * again (keep.c).  Answered now, containerd would take the error for the
 * end of the container.
 */
static bool
call_kept(const struct call *call)
{
	return (call->kentry >= 0 && call->conn != NULL &&
	    call->conn->ks != NULL && keeper_active());
}

/*
 * Answer every deferred call with code (daemon shutting down), but the
 * Waits a keeper keeps for the next daemon.
 */
void
call_cancel_all(int code, const char *msg)
{
	struct call	*call;
	TAILQ_HEAD(, call) kept = TAILQ_HEAD_INITIALIZER(kept);

	while ((call = TAILQ_FIRST(&deferred)) != NULL) {
		if (call_kept(call)) {
			TAILQ_REMOVE(&deferred, call, state_entry);
			TAILQ_INSERT_TAIL(&kept, call, state_entry);
			continue;
		}
		if (call->cancel != NULL)
			call->cancel(call, code, call->cancel_arg);
		call_finish_error(call, code, "%s", msg);
	}
	TAILQ_CONCAT(&deferred, &kept, state_entry);
}

/*
 * Record the request of call (a Wait: its whole ttrpc Request payload) in
 * its connection's keeper slot, so that a daemon restarted after a crash
 * dispatches it again.  A call bound to an entry already is left alone.
 */
void
call_keep_record(struct call *call, const uint8_t *req, size_t len)
{
	if (call->kentry < 0 && call->conn != NULL)
		call->kentry = keep_record(call->conn, call->stream_id, req,
		    len);
}

/* call is the Wait recorded in entry of its connection's slot. */
void
call_keep_bind(struct call *call, int entry)
{
	if (call->kentry >= 0 || call->conn == NULL || entry < 0)
		return;
	keep_bind(call->conn, entry);
	call->kentry = entry;
}

/*
 * Batches up to settled are synced: send the answers that waited for
 * them, in parking order, and free their calls.  Batches never decrease
 * along the list, so the first answer still waiting stops the flush.
 */
void
call_flush_parked(uint64_t settled)
{
	struct call	*call;

	while ((call = TAILQ_FIRST(&parked)) != NULL && call->seq <= settled) {
		TAILQ_REMOVE(&parked, call, state_entry);
		call_check_release(call->seq, call->need_ops, settled);
		if (call->conn != NULL && !call->conn->dead)
			conn_send(call->conn, call->frame, call->frame_len);
		call_free(call);
	}
	conn_write_queued();
}

/* A batch could not be synced: every parked answer becomes an error. */
void
call_fail_parked(int code, const char *msg)
{
	struct call	*call;
	TAILQ_HEAD(, call) failed = TAILQ_HEAD_INITIALIZER(failed);

	TAILQ_CONCAT(&failed, &parked, state_entry);
	while ((call = TAILQ_FIRST(&failed)) != NULL) {
		TAILQ_REMOVE(&failed, call, state_entry);
		call_park_error(call, code, msg);
	}
}

/*
 * Keep what it takes to dispatch this deferred call again after a re-exec:
 * its method (static strings of the dispatch table) and request message.
 */
void
call_set_carry(struct call *call, const char *service, const char *method,
    const uint8_t *body, size_t len)
{
	free(call->carry);
	call->carry = xmalloc(sizeof(*call->carry) + len);
	call->carry->service = service;
	call->carry->method = method;
	call->carry->len = len;
	if (len > 0)
		memcpy(call->carry->body, body, len);
}

/*
 * How many calls a re-exec must still let finish: parked answers not yet
 * sent, and deferred calls it cannot carry (a Create waiting for its
 * netns, a Start for its exec, a Shutdown for an exit).
 */
unsigned int
call_count_uncarried(void)
{
	struct call	*call;
	unsigned int	 n = 0;

	TAILQ_FOREACH(call, &parked, state_entry)
		n++;
	TAILQ_FOREACH(call, &deferred, state_entry) {
		if (call->carry == NULL)
			n++;
	}
	return (n);
}

/*
 * The carried calls of c, for the hand-over.  The views point into the
 * calls, which live until the exec.  Returns the count; *out is malloc'd.
 */
size_t
call_export(struct conn *c, sv_HandoverCall **out)
{
	struct call	*call;
	size_t		 n = 0;

	*out = xcalloc(c->ncalls + 1, sizeof(**out));
	TAILQ_FOREACH(call, &c->calls, conn_entry) {
		if (call->state != CALL_DEFERRED || call->carry == NULL)
			continue;
		(*out)[n].stream_id = call->stream_id;
		(*out)[n].deadline = call->deadline;
		(*out)[n].namespace = call->ns;
		(*out)[n].service = (char *)call->carry->service;
		(*out)[n].method = (char *)call->carry->method;
		(*out)[n].payload.data = call->carry->body;
		(*out)[n].payload.len = call->carry->len;
		n++;
	}
	return (n);
}

/* The connection a call came on (NULL once its client left). */
struct conn *
call_conn(const struct call *call)
{
	return (call->conn);
}

/* The uid of the call's client, from SO_PEERCRED; -1 once it left. */
uid_t
call_peer_uid(const struct call *call)
{
	return (call->conn != NULL ? call->conn->uid : (uid_t)-1);
}

/* The status a handler recorded with call_fail. */
int
call_error_code(const struct call *call)
{
	return (call->err_code != STATUS_OK ? call->err_code : STATUS_UNKNOWN);
}

/* The message a handler recorded with call_fail. */
const char *
call_error_message(const struct call *call)
{
	return (call->err_msg != NULL ? call->err_msg : "unknown error");
}
