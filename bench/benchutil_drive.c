/*
 * benchutil_drive.c: the pipelined driver of sandbox lifecycles (see
 * bench_drive in benchutil.h): lanes of grouped requests over a few
 * connections, a failed step sending its sandbox to cleanup.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "protocol.h"
#include "xmalloc.h"

#define MAX_ERRORS		10

static const char exec_spec[] =
    "{\"process\":{\"args\":[\"/bin/sleep\",\"1000\"],"
    "\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}";

static const char *const step_names[] = {
	[STEP_STORE_CREATE] = "Store.Create",
	[STEP_CTRL_CREATE] = "Controller.Create",
	[STEP_START] = "Controller.Start",
	[STEP_STOP] = "Controller.Stop",
	[STEP_WAIT] = "Controller.Wait",
	[STEP_SHUTDOWN] = "Controller.Shutdown",
	[STEP_STORE_DELETE] = "Store.Delete",
};

/* One connection of the driver and the group of sandboxes it moves. */
struct lane {
	struct sbc	*c;
	size_t		 first;		/* first id number of the group */
	size_t		 n;		/* sandboxes in the group, 0: idle */
	size_t		 step;		/* index into the drive's steps */
	uint32_t	 stream[BENCH_MAX_GROUP];
	bool		 sent[BENCH_MAX_GROUP];
	bool		 failed[BENCH_MAX_GROUP];
};

/* The driver's state. */
struct drive_ctx {
	struct bench_drive		*dr;
	struct lane			 lanes[BENCH_MAX_CONNS];
	size_t				 next;	/* next id to hand out */
	cssv_StoreCreateRequest		*screate;
	cssv_ControllerCreateRequest	*ccreate;
	size_t				 nerrors;
	bool				 broken;
};

/* The exec runtime's OCI spec: /bin/sleep 1000. */
const char *
bench_exec_spec(void)
{
	return (exec_spec);
}

/* Set dr's runtime and its spec: exec runs bench_exec_spec, pause none. */
void
bench_drive_runtime(struct bench_drive *dr, const char *runtime)
{
	dr->runtime = runtime;
	dr->spec = NULL;
	dr->spec_len = 0;
	if (strcmp(runtime, BENCH_RUNTIME_EXEC) == 0) {
		dr->spec = exec_spec;
		dr->spec_len = strlen(exec_spec);
	}
}

/* Format the id of sandbox number i. */
static void
drive_id(const struct bench_drive *dr, size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "%s-%05zu", dr->prefix, dr->first + i);
}

/* Make the two big requests once; only their ids change per send. */
static void
drive_requests(struct drive_ctx *ctx)
{
	struct bench_drive	*dr = ctx->dr;
	ct_Sandbox		*sb;

	ctx->screate = xcalloc(1, sizeof *ctx->screate);
	ctx->ccreate = xcalloc(1, sizeof *ctx->ccreate);
	ctx->screate->has_sandbox = true;
	sb = &ctx->screate->sandbox;
	sb->has_runtime = true;
	snprintf(sb->runtime.name, sizeof sb->runtime.name, "%s",
	    dr->runtime);
	if (dr->spec != NULL) {
		sb->has_spec = true;
		sb->spec.type_url = (char *)BENCH_SPEC_TYPE_URL;
		sb->spec.value.data = dr->spec;
		sb->spec.value.len = dr->spec_len;
	}
}

/* The small requests: an id (and Stop's timeout, 0). */
union small_req {
	cssv_ControllerStartRequest	start;
	cssv_ControllerStopRequest	stop;
	cssv_ControllerWaitRequest	wait;
	cssv_ControllerShutdownRequest	shutdown;
	cssv_StoreDeleteRequest		del;
};

/* Fill a small request for id; its message descriptor. */
static const pb_msgdesc_t *
small_request(enum bench_step step, const char *id, union small_req *r)
{
	memset(r, 0, sizeof *r);
	switch (step) {
	case STEP_START:
		snprintf(r->start.sandbox_id, sizeof r->start.sandbox_id,
		    "%s", id);
		return (cssv_ControllerStartRequest_fields);
	case STEP_STOP:
		snprintf(r->stop.sandbox_id, sizeof r->stop.sandbox_id, "%s",
		    id);
		return (cssv_ControllerStopRequest_fields);
	case STEP_WAIT:
		snprintf(r->wait.sandbox_id, sizeof r->wait.sandbox_id, "%s",
		    id);
		return (cssv_ControllerWaitRequest_fields);
	case STEP_SHUTDOWN:
		snprintf(r->shutdown.sandbox_id,
		    sizeof r->shutdown.sandbox_id, "%s", id);
		return (cssv_ControllerShutdownRequest_fields);
	default:
		snprintf(r->del.sandbox_id, sizeof r->del.sandbox_id, "%s",
		    id);
		return (cssv_StoreDeleteRequest_fields);
	}
}

/* Send one step's request for id; 0 or an sbc code. */
static int
step_send(struct drive_ctx *ctx, struct sbc *c, enum bench_step step,
    const char *id, uint32_t *stream, struct sbc_error *err)
{
	union small_req		 small;
	const pb_msgdesc_t	*fields;
	const char		*svc, *method;
	const void		*req = &small;

	svc = step == STEP_STORE_CREATE || step == STEP_STORE_DELETE ?
	    SERVICE_STORE : SERVICE_CONTROLLER;
	method = strchr(step_names[step], '.') + 1;
	if (step == STEP_STORE_CREATE) {
		snprintf(ctx->screate->sandbox.sandbox_id,
		    sizeof ctx->screate->sandbox.sandbox_id, "%s", id);
		fields = cssv_StoreCreateRequest_fields;
		req = ctx->screate;
	} else if (step == STEP_CTRL_CREATE) {
		snprintf(ctx->ccreate->sandbox_id,
		    sizeof ctx->ccreate->sandbox_id, "%s", id);
		fields = cssv_ControllerCreateRequest_fields;
		req = ctx->ccreate;
	} else
		fields = small_request(step, id, &small);
	return (sbc_send(c, svc, method, fields, req, stream, err));
}

/* Receive one step's reply; a Wait's exit status must be 128 + SIGKILL. */
static int
step_recv(struct drive_ctx *ctx, struct sbc *c, enum bench_step step,
    uint32_t stream, struct sbc_error *err)
{
	cssv_ControllerWaitResponse	wait = {0};
	struct sbc_reply		reply;
	int				code;

	if (step != STEP_WAIT)
		return (sbc_recv(c, stream, NULL, NULL, NULL, err));
	code = sbc_recv(c, stream, cssv_ControllerWaitResponse_fields, &wait,
	    &reply, err);
	if (code == 0 && wait.exit_status != 128 + SIGKILL)
		ctx->dr->bad_exits++;
	sbc_reply_free(&reply);
	return (code);
}

/* Count and print (the first few) failed steps. */
static void
drive_error(struct drive_ctx *ctx, struct lane *l, size_t i,
    struct sbc_error *err)
{
	enum bench_step	 step = ctx->dr->steps[l->step];
	char		 id[128];

	l->failed[i] = true;
	if (err->code == SBC_ERR_TRANSPORT)
		ctx->broken = true;
	if (ctx->nerrors++ < MAX_ERRORS) {
		drive_id(ctx->dr, l->first + i, id, sizeof id);
		printf("  ERROR %s %s: %s (%s)\n", id, step_names[step],
		    err->message != NULL ? err->message : "?",
		    sbc_error_name(err->code));
	}
	sbc_error_clear(err);
}

/*
 * Send the lane's current step for each sandbox of its group that takes
 * it (a failed one only goes through Shutdown and Store.Delete); the
 * number sent.
 */
static size_t
lane_send(struct drive_ctx *ctx, struct lane *l)
{
	enum bench_step	 step = ctx->dr->steps[l->step];
	struct sbc_error err = {0};
	char		 id[128];
	size_t		 i, n = 0;

	for (i = 0; i < l->n; i++) {
		l->sent[i] = false;
		if (l->failed[i] && step < STEP_SHUTDOWN)
			continue;
		drive_id(ctx->dr, l->first + i, id, sizeof id);
		if (step_send(ctx, l->c, step, id, &l->stream[i], &err) != 0) {
			drive_error(ctx, l, i, &err);
			continue;
		}
		l->sent[i] = true;
		n++;
	}
	return (n);
}

/* Account for the lane's finished group and give it the next; false: none. */
static bool
lane_next_group(struct drive_ctx *ctx, struct lane *l)
{
	struct bench_drive	*dr = ctx->dr;
	size_t			 i;

	for (i = 0; i < l->n; i++) {
		if (l->failed[i])
			dr->failed++;
		else
			dr->done++;
	}
	l->n = 0;
	if (ctx->next >= dr->n || ctx->broken || bench_interrupted)
		return (false);
	l->first = ctx->next;
	l->n = dr->n - ctx->next < dr->group ? dr->n - ctx->next : dr->group;
	ctx->next += l->n;
	l->step = 0;
	memset(l->failed, 0, sizeof l->failed);
	return (true);
}

/* Move a lane on to the next step (or group) that sends something. */
static void
lane_advance(struct drive_ctx *ctx, struct lane *l)
{
	for (;;) {
		if (l->n > 0 && l->step + 1 < ctx->dr->nsteps)
			l->step++;
		else if (!lane_next_group(ctx, l))
			return;
		if (lane_send(ctx, l) > 0)
			return;
	}
}

/* Read the replies of the lane's current step, in the order sent. */
static void
lane_collect(struct drive_ctx *ctx, struct lane *l)
{
	enum bench_step	 step = ctx->dr->steps[l->step];
	struct sbc_error err = {0};
	size_t		 i;

	for (i = 0; i < l->n && !ctx->broken; i++) {
		if (!l->sent[i])
			continue;
		if (step_recv(ctx, l->c, step, l->stream[i], &err) != 0)
			drive_error(ctx, l, i, &err);
	}
}

/* Wait for replies on the busy lanes and move them on; false: stuck. */
static bool
drive_poll(struct drive_ctx *ctx)
{
	struct pollfd	 pfd[BENCH_MAX_CONNS];
	struct lane	*busy[BENCH_MAX_CONNS];
	size_t		 i, n = 0;
	int		 r;

	for (i = 0; i < ctx->dr->nconns; i++) {
		if (ctx->lanes[i].n == 0)
			continue;
		busy[n] = &ctx->lanes[i];
		pfd[n].fd = sbc_fd(ctx->lanes[i].c);
		pfd[n++].events = POLLIN;
	}
	r = poll(pfd, n, BENCH_CALL_TIMEOUT_MS);
	if (bench_interrupted) {
		printf("  interrupted\n");
		return (false);
	}
	if (r == -1 && errno == EINTR)
		return (true);
	if (r <= 0) {
		printf("  ERROR: no reply for %d ms (%s)\n",
		    BENCH_CALL_TIMEOUT_MS, r == 0 ? "stuck" : strerror(errno));
		return (false);
	}
	for (i = 0; i < n && !ctx->broken; i++) {
		if (pfd[i].revents == 0)
			continue;
		lane_collect(ctx, busy[i]);
		lane_advance(ctx, busy[i]);
	}
	return (!ctx->broken);
}

/* Whether any lane still has requests out. */
static bool
drive_busy(const struct drive_ctx *ctx)
{
	size_t	i;

	for (i = 0; i < ctx->dr->nconns; i++) {
		if (ctx->lanes[i].n > 0)
			return (true);
	}
	return (false);
}

/* Connect the lanes; false if one cannot. */
static bool
drive_connect(struct drive_ctx *ctx, const struct bench_daemon *d)
{
	size_t	i;

	for (i = 0; i < ctx->dr->nconns; i++) {
		if ((ctx->lanes[i].c = bench_connect(d)) == NULL)
			return (false);
	}
	return (true);
}

/* Close the lanes and free the requests. */
static void
drive_free(struct drive_ctx *ctx)
{
	size_t	i;

	for (i = 0; i < ctx->dr->nconns; i++)
		sbc_close(ctx->lanes[i].c);
	free(ctx->screate);
	free(ctx->ccreate);
	free(ctx);
}

/*
 * Run dr's steps for its n sandboxes (see benchutil.h) and fill in its
 * counts and elapsed time.  0, or -1 if the run could not finish (broken
 * connection, no reply in BENCH_CALL_TIMEOUT_MS).
 */
int
bench_drive(const struct bench_daemon *d, struct bench_drive *dr)
{
	struct drive_ctx	*ctx;
	double			 t0;
	size_t			 i;
	bool			 ok = true;

	if (dr->nconns == 0 || dr->nconns > BENCH_MAX_CONNS ||
	    dr->group == 0 || dr->group > BENCH_MAX_GROUP || dr->nsteps == 0)
		return (-1);
	dr->done = dr->failed = dr->bad_exits = 0;
	ctx = xcalloc(1, sizeof *ctx);
	ctx->dr = dr;
	drive_requests(ctx);
	if (!drive_connect(ctx, d)) {
		drive_free(ctx);
		return (-1);
	}
	t0 = bench_now();
	for (i = 0; i < dr->nconns; i++)
		lane_advance(ctx, &ctx->lanes[i]);
	while (ok && drive_busy(ctx))
		ok = drive_poll(ctx);
	dr->seconds = bench_now() - t0;
	ok = ok && !ctx->broken;
	drive_free(ctx);
	return (ok ? 0 : -1);
}
