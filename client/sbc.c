/*
 * sbc.c: the client's connection: ttrpc framing over a Unix socket with
 * blocking I/O, poll() for deadlines, replies matched by stream id.
 *
 * Requests go out on odd, increasing stream ids.  Each request sent and
 * not yet received is a pending entry; while waiting for one reply, a reply
 * for another pending stream is kept for its own sbc_recv, anything else
 * (a reply to an abandoned stream, a frame type the client does not use)
 * is read and dropped.  A timed-out stream is abandoned: its late reply is
 * dropped when it comes.  A timeout in the middle of a frame, a short read
 * or write, or a reply longer than FRAME_MAX_PAYLOAD leaves the byte
 * stream out of step, so the connection is marked broken and every later
 * call fails with SBC_ERR_TRANSPORT; so does running out of memory for a
 * reply's payload, which is then left unread.  Every allocation goes
 * through sbc_alloc.c and failing ones give SBC_ERR_NOMEM.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "pbutil.h"
#include "queue.h"
#include "sbc_int.h"
#include "ttrpc.pb.h"

/* A request sent and not yet received. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	uint32_t		 stream_id;
	bool			 arrived;
	uint8_t			*frame;		/* the reply's payload */
	size_t			 len;
};

struct sbc {
	int			 fd;
	char			*ns;		/* NULL: send no namespace */
	const char		*ns_key;	/* metadata key carrying ns */
	int			 timeout_ms;	/* 0: none */
	uint32_t		 next_stream;
	bool			 broken;
	TAILQ_HEAD(, pending)	 pending;
};

/* I/O results below the call level. */
enum io_result {
	IO_OK,
	IO_TIMEOUT,		/* deadline passed, nothing consumed */
	IO_ERROR,		/* err is set, connection broken */
	IO_NOMEM,		/* err is set, connection broken */
};

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The deadline of an operation starting now: -1 for none. */
static int64_t
deadline_from_now(const struct sbc *c)
{
	if (c->timeout_ms <= 0)
		return (-1);
	return (now_ms() + c->timeout_ms);
}

/* Mark the connection unusable and say why (errnum 0: no errno text). */
static enum io_result
io_fail(struct sbc *c, struct sbc_error *err, const char *what, int errnum)
{
	c->broken = true;
	if (errnum != 0)
		sbc_error_set(err, SBC_ERR_TRANSPORT, "%s: %s", what,
		    strerror(errnum));
	else
		sbc_error_set(err, SBC_ERR_TRANSPORT, "%s", what);
	return (IO_ERROR);
}

/*
 * Wait until fd is ready for events or the deadline passes (1 ready, 0
 * timed out, -1 error).  EINTR restarts the wait with the time left.
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int		left, n;

	for (;;) {
		left = -1;
		if (deadline >= 0) {
			left = (int)(deadline - now_ms());
			if (left < 0)
				left = 0;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (-1);
		return (n > 0);
	}
}

/* Write all of buf; a timeout after the first byte breaks the stream. */
static enum io_result
write_all(struct sbc *c, const uint8_t *buf, size_t len, int64_t deadline,
    struct sbc_error *err)
{
	size_t	done = 0;
	ssize_t	n;
	int	r;

	while (done < len) {
		if ((r = wait_fd(c->fd, POLLOUT, deadline)) == -1)
			return (io_fail(c, err, "poll", errno));
		if (r == 0 && done == 0)
			return (IO_TIMEOUT);
		if (r == 0)
			return (io_fail(c, err, "timed out sending a request",
			    0));
		n = send(c->fd, buf + done, len - done,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return (io_fail(c, err, "send", errno));
		done += (size_t)n;
	}
	return (IO_OK);
}

/*
 * Read exactly len bytes.  A timeout before the first byte when at_start
 * (a frame boundary) is IO_TIMEOUT; anywhere else it breaks the stream.
 */
static enum io_result
read_full(struct sbc *c, uint8_t *buf, size_t len, int64_t deadline,
    bool at_start, struct sbc_error *err)
{
	size_t	done = 0;
	ssize_t	n;
	int	r;

	while (done < len) {
		if ((r = wait_fd(c->fd, POLLIN, deadline)) == -1)
			return (io_fail(c, err, "poll", errno));
		if (r == 0 && done == 0 && at_start)
			return (IO_TIMEOUT);
		if (r == 0)
			return (io_fail(c, err, "timed out in the middle of a "
			    "reply", 0));
		n = recv(c->fd, buf + done, len - done, MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return (io_fail(c, err, "recv", errno));
		if (n == 0)
			return (io_fail(c, err, "connection closed by the "
			    "daemon", 0));
		done += (size_t)n;
	}
	return (IO_OK);
}

/* Read one whole frame; its payload is allocated into *payload. */
static enum io_result
read_frame(struct sbc *c, int64_t deadline, struct frame_header *fh,
    uint8_t **payload, struct sbc_error *err)
{
	uint8_t		hdr[FRAME_HEADER_SIZE];
	enum io_result	r;

	*payload = NULL;
	if ((r = read_full(c, hdr, sizeof hdr, deadline, true, err)) != IO_OK)
		return (r);
	frame_header_parse(hdr, fh);
	if (fh->length > FRAME_MAX_PAYLOAD) {
		c->broken = true;
		sbc_error_set(err, SBC_ERR_TRANSPORT, "reply of %u bytes "
		    "exceeds the maximum of %u", fh->length, FRAME_MAX_PAYLOAD);
		return (IO_ERROR);
	}
	if ((*payload = sbc_malloc(fh->length)) == NULL) {
		c->broken = true;
		sbc_error_nomem(err);
		return (IO_NOMEM);
	}
	r = read_full(c, *payload, fh->length, deadline, false, err);
	if (r != IO_OK) {
		free(*payload);
		*payload = NULL;
	}
	return (r);
}

/*
 * Finish a connect() that a signal interrupted: it goes on in the
 * background; wait for it and fetch its result (-1 with errno set).
 */
static int
wait_connect(int fd)
{
	socklen_t	len = sizeof(int);
	int		error = 0;

	if (wait_fd(fd, POLLOUT, -1) == -1)
		return (-1);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return (-1);
	if (error != 0) {
		errno = error;
		return (-1);
	}
	return (0);
}

/*
 * Connect to the daemon's socket; NULL and *cause on failure (*cause is
 * NULL when even the reason could not be allocated).
 */
struct sbc *
sbc_connect(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct sbc		*c;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		sbc_asprintf(cause, "socket path too long: %s", path);
		return (NULL);
	}
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		sbc_asprintf(cause, "socket: %s", strerror(errno));
		return (NULL);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1 &&
	    (errno != EINTR || wait_connect(fd) == -1)) {
		sbc_asprintf(cause, "connect %s: %s", path, strerror(errno));
		close(fd);
		return (NULL);
	}
	if ((c = sbc_open_fd(fd)) == NULL) {
		sbc_asprintf(cause, "out of memory");
		close(fd);
	}
	return (c);
}

/*
 * A client on an already connected stream socket, which it takes over
 * (closed by sbc_close): for socket activation and for tests.  NULL when
 * out of memory; fd is then still the caller's.
 */
struct sbc *
sbc_open_fd(int fd)
{
	struct sbc	*c;

	if ((c = sbc_calloc(1, sizeof *c)) == NULL)
		return (NULL);
	if ((c->ns = sbc_strdup(SBC_DEFAULT_NAMESPACE)) == NULL) {
		free(c);
		return (NULL);
	}
	c->fd = fd;
	c->ns_key = MD_NAMESPACE_TTRPC;
	c->next_stream = 1;
	TAILQ_INIT(&c->pending);
	return (c);
}

/* Close the connection; replies still pending are dropped. */
void
sbc_close(struct sbc *c)
{
	struct pending	*p;

	if (c == NULL)
		return;
	while ((p = TAILQ_FIRST(&c->pending)) != NULL) {
		TAILQ_REMOVE(&c->pending, p, entry);
		free(p->frame);
		free(p);
	}
	close(c->fd);
	free(c->ns);
	free(c);
}

/*
 * Set the containerd namespace sent with every request; NULL sends none
 * (the daemon then answers FailedPrecondition).  The daemon validates it.
 * 0, or SBC_ERR_NOMEM with the namespace left as it was.
 */
int
sbc_set_namespace(struct sbc *c, const char *ns)
{
	char	*copy = NULL;

	if (ns != NULL && (copy = sbc_strdup(ns)) == NULL)
		return (SBC_ERR_NOMEM);
	free(c->ns);
	c->ns = copy;
	return (0);
}

/*
 * Send the namespace under the gRPC key (containerd-namespace) instead of
 * the ttrpc one, as gRPC clients do; for tests of the daemon.
 */
void
sbc_set_namespace_grpc(struct sbc *c, bool grpc)
{
	c->ns_key = grpc ? MD_NAMESPACE_GRPC : MD_NAMESPACE_TTRPC;
}

/* The namespace sent with requests, NULL if none. */
const char *
sbc_namespace(const struct sbc *c)
{
	return (c->ns);
}

/* Set the per-call timeout in milliseconds; 0 (or less) means none. */
void
sbc_set_timeout(struct sbc *c, int ms)
{
	c->timeout_ms = ms > 0 ? ms : 0;
}

/* The per-call timeout in milliseconds, 0 for none. */
int
sbc_timeout(const struct sbc *c)
{
	return (c->timeout_ms);
}

/* Whether the connection failed and can no longer be used. */
bool
sbc_broken(const struct sbc *c)
{
	return (c->broken);
}

/* The socket, for tests that need to write raw bytes. */
int
sbc_fd(const struct sbc *c)
{
	return (c->fd);
}

/* Find the pending entry of a stream. */
static struct pending *
pending_find(struct sbc *c, uint32_t stream_id)
{
	struct pending	*p;

	TAILQ_FOREACH(p, &c->pending, entry) {
		if (p->stream_id == stream_id)
			return (p);
	}
	return (NULL);
}

/* Forget a pending entry and its reply, if any. */
static void
pending_drop(struct sbc *c, struct pending *p)
{
	TAILQ_REMOVE(&c->pending, p, entry);
	free(p->frame);
	free(p);
}

/* Fill the envelope of a request; nothing is copied but the names. */
static int
request_fill(struct sbc *c, t_Request *r, const char *service,
    const char *method, const void *payload, size_t len,
    struct sbc_error *err)
{
	if (strlen(service) >= sizeof r->service ||
	    strlen(method) >= sizeof r->method)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "service or method name too long: %s/%s", service, method));
	strcpy(r->service, service);
	strcpy(r->method, method);
	r->payload.data = payload;
	r->payload.len = len;
	r->timeout_nano = (int64_t)c->timeout_ms * 1000000;
	if (c->ns != NULL) {
		r->metadata_count = 1;
		r->metadata[0].key = (char *)c->ns_key;
		r->metadata[0].value = c->ns;
	}
	return (0);
}

/* Encode a request envelope into one frame (header included). */
static int
request_frame(struct sbc *c, const char *service, const char *method,
    const void *payload, size_t len, uint32_t stream_id, uint8_t **out,
    size_t *outlen, struct sbc_error *err)
{
	t_Request		 r = {0};
	struct frame_header	 fh;
	uint8_t			*env;
	size_t			 envlen;
	const char		*why = NULL;
	int			 code;

	if ((code = request_fill(c, &r, service, method, payload, len,
	    err)) != 0)
		return (code);
	code = sbc_msg_encode(t_Request_fields, &r, &env, &envlen, &why);
	if (code == SBC_ERR_NOMEM)
		return (sbc_error_nomem(err));
	if (code != 0)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "cannot encode request: %s", why));
	if (envlen > FRAME_MAX_PAYLOAD) {
		free(env);
		return (sbc_error_set(err, STATUS_RESOURCE_EXHAUSTED,
		    "request of %zu bytes exceeds the maximum of %u", envlen,
		    FRAME_MAX_PAYLOAD));
	}
	fh.length = (uint32_t)envlen;
	fh.stream_id = stream_id;
	fh.type = FRAME_TYPE_REQUEST;
	fh.flags = 0;
	if ((*out = sbc_malloc(FRAME_HEADER_SIZE + envlen)) == NULL) {
		free(env);
		return (sbc_error_nomem(err));
	}
	frame_header_build(&fh, *out);
	memcpy(*out + FRAME_HEADER_SIZE, env, envlen);
	*outlen = FRAME_HEADER_SIZE + envlen;
	free(env);
	return (0);
}

/*
 * Send an encoded payload on a new stream; its id goes to *stream_id.  The
 * pending entry is made first: once the request is out, the reply must
 * have a place to land.
 */
static int
send_payload(struct sbc *c, const char *service, const char *method,
    const void *payload, size_t len, int64_t deadline, uint32_t *stream_id,
    struct sbc_error *err)
{
	struct pending	*p;
	uint8_t		*frame;
	size_t		 flen;
	enum io_result	 r;
	int		 code;

	if (c->broken)
		return (sbc_error_set(err, SBC_ERR_TRANSPORT,
		    "connection is broken"));
	if ((p = sbc_calloc(1, sizeof *p)) == NULL)
		return (sbc_error_nomem(err));
	if ((code = request_frame(c, service, method, payload, len,
	    c->next_stream, &frame, &flen, err)) != 0) {
		free(p);
		return (code);
	}
	r = write_all(c, frame, flen, deadline, err);
	free(frame);
	if (r != IO_OK)
		free(p);
	if (r == IO_TIMEOUT)
		return (sbc_error_set(err, STATUS_DEADLINE_EXCEEDED,
		    "timed out sending %s/%s", service, method));
	if (r == IO_ERROR)
		return (SBC_ERR_TRANSPORT);
	p->stream_id = c->next_stream;
	TAILQ_INSERT_TAIL(&c->pending, p, entry);
	*stream_id = c->next_stream;
	c->next_stream += 2;
	return (0);
}

/*
 * Read frames until the reply of p has arrived, keeping replies of other
 * pending streams and dropping everything else.
 */
static int
wait_reply(struct sbc *c, struct pending *p, int64_t deadline,
    struct sbc_error *err)
{
	struct frame_header	 fh;
	struct pending		*q;
	uint8_t			*payload;
	enum io_result		 r;

	while (!p->arrived) {
		if (c->broken)
			return (sbc_error_set(err, SBC_ERR_TRANSPORT,
			    "connection is broken"));
		r = read_frame(c, deadline, &fh, &payload, err);
		if (r == IO_TIMEOUT)
			return (sbc_error_set(err, STATUS_DEADLINE_EXCEEDED,
			    "timed out after %d ms waiting for the reply",
			    c->timeout_ms));
		if (r == IO_ERROR)
			return (SBC_ERR_TRANSPORT);
		if (r == IO_NOMEM)
			return (SBC_ERR_NOMEM);
		q = NULL;
		if (fh.type == FRAME_TYPE_RESPONSE)
			q = pending_find(c, fh.stream_id);
		if (q == NULL || q->arrived) {
			free(payload);
			continue;
		}
		q->frame = payload;
		q->len = fh.length;
		q->arrived = true;
	}
	return (0);
}

/* The status carried by a decoded Response, as an sbc code. */
static int
response_status(const t_Response *resp, struct sbc_error *err)
{
	const char	*msg;

	if (!resp->has_status || resp->status.code == STATUS_OK)
		return (0);
	msg = resp->status.message != NULL ? resp->status.message : "";
	if (resp->status.code < 0)
		return (sbc_error_set(err, SBC_ERR_PROTOCOL,
		    "negative status code %d: %s", (int)resp->status.code, msg));
	return (sbc_error_set(err, resp->status.code, "%s", msg));
}

/*
 * Receive the reply of a stream as its payload bytes: *frame is the
 * buffer to free, *payload and *len point into it.
 */
static int
recv_payload(struct sbc *c, uint32_t stream_id, int64_t deadline,
    uint8_t **frame, const uint8_t **payload, size_t *len,
    struct sbc_error *err)
{
	struct pending	*p;
	t_Response	 resp = {0};
	const char	*why = NULL;
	int		 code;

	*frame = NULL;
	if ((p = pending_find(c, stream_id)) == NULL)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "no request pending on stream %u", stream_id));
	if ((code = wait_reply(c, p, deadline, err)) != 0) {
		pending_drop(c, p);
		return (code);
	}
	if (!sbc_msg_decode(t_Response_fields, &resp, p->frame, p->len,
	    &why)) {
		code = sbc_error_set(err, SBC_ERR_PROTOCOL,
		    "cannot decode reply: %s", why);
		pending_drop(c, p);
		return (code);
	}
	if ((code = response_status(&resp, err)) == 0) {
		*payload = resp.payload.data;
		*len = resp.payload.len;
		*frame = p->frame;
		p->frame = NULL;
	}
	msg_release(t_Response_fields, &resp);
	pending_drop(c, p);
	return (code);
}

/* Decode a reply payload into resp and hand both to reply. */
static int
reply_decode(uint8_t *frame, const uint8_t *payload, size_t len,
    const pb_msgdesc_t *fields, void *resp, struct sbc_reply *reply,
    struct sbc_error *err)
{
	const char	*why = NULL;
	int		 code;

	if (!sbc_msg_decode(fields, resp, payload, len, &why)) {
		code = sbc_error_set(err, SBC_ERR_PROTOCOL,
		    "cannot decode the reply's payload: %s", why);
		free(frame);
		return (code);
	}
	reply->buf = frame;
	reply->fields = fields;
	reply->msg = resp;
	return (0);
}

/* Receive the reply of a stream and decode it (see sbc_recv). */
static int
recv_decode(struct sbc *c, uint32_t stream_id, int64_t deadline,
    const pb_msgdesc_t *resp_fields, void *resp, struct sbc_reply *reply,
    struct sbc_error *err)
{
	uint8_t		*frame;
	const uint8_t	*payload = NULL;
	size_t		 len = 0;
	int		 code;

	if (reply != NULL)
		memset(reply, 0, sizeof *reply);
	code = recv_payload(c, stream_id, deadline, &frame, &payload, &len,
	    err);
	if (code != 0)
		return (code);
	if (resp == NULL) {
		free(frame);
		return (0);
	}
	return (reply_decode(frame, payload, len, resp_fields, resp, reply,
	    err));
}

/* Encode a request message into a new buffer. */
static int
encode_request(const char *service, const char *method,
    const pb_msgdesc_t *req_fields, const void *req, uint8_t **payload,
    size_t *len, struct sbc_error *err)
{
	const char	*why = NULL;
	int		 code;

	code = sbc_msg_encode(req_fields, req, payload, len, &why);
	if (code == SBC_ERR_NOMEM)
		return (sbc_error_nomem(err));
	if (code != 0)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "cannot encode %s/%s request: %s", service, method, why));
	return (0);
}

/* Encode req and send it on a new stream (*stream_id) for sbc_recv. */
int
sbc_send(struct sbc *c, const char *service, const char *method,
    const pb_msgdesc_t *req_fields, const void *req, uint32_t *stream_id,
    struct sbc_error *err)
{
	uint8_t	*payload;
	size_t	 len;
	int	 code;

	code = encode_request(service, method, req_fields, req, &payload, &len,
	    err);
	if (code != 0)
		return (code);
	code = send_payload(c, service, method, payload, len,
	    deadline_from_now(c), stream_id, err);
	free(payload);
	return (code);
}

/*
 * Wait for the reply of a stream sent with sbc_send and decode it into
 * resp (which must be zeroed, callbacks set).  resp NULL ignores the
 * payload; otherwise reply receives resp and its buffer (sbc_reply_free).
 */
int
sbc_recv(struct sbc *c, uint32_t stream_id, const pb_msgdesc_t *resp_fields,
    void *resp, struct sbc_reply *reply, struct sbc_error *err)
{
	return (recv_decode(c, stream_id, deadline_from_now(c), resp_fields,
	    resp, reply, err));
}

/*
 * One unary call: encode req, send it, wait for its reply (within the
 * timeout, counted from the start) and decode it into resp (zeroed, its
 * callbacks set).  On success reply holds resp and the buffer its views
 * point into; release both with sbc_reply_free.  resp NULL ignores the
 * reply's payload (reply may then be NULL too).  Returns 0 or an sbc
 * code (see sbc.h); on failure nothing is left to free but err.
 */
int
sbc_call(struct sbc *c, const char *service, const char *method,
    const pb_msgdesc_t *req_fields, const void *req,
    const pb_msgdesc_t *resp_fields, void *resp, struct sbc_reply *reply,
    struct sbc_error *err)
{
	uint8_t		*payload;
	size_t		 len;
	uint32_t	 stream_id;
	int64_t		 deadline;
	int		 code;

	if (reply != NULL)
		memset(reply, 0, sizeof *reply);
	if (resp != NULL && reply == NULL)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "%s/%s: a reply is needed to hold the response", service,
		    method));
	deadline = deadline_from_now(c);
	code = encode_request(service, method, req_fields, req, &payload, &len,
	    err);
	if (code != 0)
		return (code);
	code = send_payload(c, service, method, payload, len, deadline,
	    &stream_id, err);
	free(payload);
	if (code != 0)
		return (code);
	return (recv_decode(c, stream_id, deadline, resp_fields, resp, reply,
	    err));
}

/*
 * A unary call with an already encoded payload (or any bytes at all, for
 * tests).  On success *frame is the buffer to free and *resp and *resp_len the
 * reply's payload inside it (*resp may be NULL when it is empty).
 */
int
sbc_call_raw(struct sbc *c, const char *service, const char *method,
    const void *payload, size_t len, uint8_t **frame, const uint8_t **resp,
    size_t *resp_len, struct sbc_error *err)
{
	uint32_t	stream_id;
	int64_t		deadline;
	int		code;

	*frame = NULL;
	*resp = NULL;
	*resp_len = 0;
	deadline = deadline_from_now(c);
	code = send_payload(c, service, method, payload, len, deadline,
	    &stream_id, err);
	if (code != 0)
		return (code);
	return (recv_payload(c, stream_id, deadline, frame, resp, resp_len,
	    err));
}

/* Release a decoded response and the buffer it points into. */
void
sbc_reply_free(struct sbc_reply *reply)
{
	if (reply == NULL)
		return;
	if (reply->msg != NULL && reply->fields != NULL)
		msg_release(reply->fields, reply->msg);
	free(reply->buf);
	memset(reply, 0, sizeof *reply);
}
