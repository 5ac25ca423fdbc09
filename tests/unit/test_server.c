/*
 * test_server.c: ttrpc framing and dispatch, in process: a connection on
 * one end of a socketpair, frames written on the other, the loop pumped by
 * hand.  The table of bad frames checks that each gets its answer (or
 * none) and that the connection keeps serving afterwards.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <event2/event.h>

#include "frame.h"
#include "pbutil.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "ttrpc.pb.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "sandboxd/v1/handover.pb.h"

static struct config	test_cfg;
static char		tmpdir[] = "/tmp/sbd-test-server.XXXXXX";
static int		peer = -1;

static void
setup(void)
{
	int	sv[2];

	cr_assert_not_null(mkdtemp(tmpdir));
	config_defaults(&test_cfg);
	test_cfg.max_frame = 1024;	/* small, so oversize frames are cheap */
	cfg = &test_cfg;
	log_init(NULL, LOG_LEVEL_WARN);
	cr_assert_eq(store_open(tmpdir, NULL), 0);
	server_base = event_base_new();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	conn_accept(server_base, sv[0]);
	peer = sv[1];
}

static void
teardown(void)
{
	char	cmd[128];

	conn_close_all();
	conn_free_dead();
	store_close();
	event_base_free(server_base);
	close(peer);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

/* Run the loop until nothing is left to do, as the daemon does. */
static void
pump(void)
{
	int	i;

	for (i = 0; i < 20; i++) {
		event_base_loop(server_base, EVLOOP_NONBLOCK);
		loop_after_iteration();
		usleep(1000);
	}
}

static void
send_bytes(const void *buf, size_t len)
{
	cr_assert_eq(write(peer, buf, len), (ssize_t)len);
}

/* Send one frame with a raw payload. */
static void
send_frame(uint32_t stream, uint8_t type, const void *payload, uint32_t len)
{
	struct frame_header	fh = { len, stream, type, 0 };
	uint8_t			hdr[FRAME_HEADER_SIZE];

	frame_header_build(&fh, hdr);
	send_bytes(hdr, sizeof(hdr));
	if (len > 0)
		send_bytes(payload, len);
}

/* Send a Request envelope; ns NULL leaves the namespace out. */
static void
send_request(uint32_t stream, const char *service, const char *method,
    const void *body, size_t blen, const char *ns)
{
	t_Request	 req = { 0 };
	uint8_t		*buf;
	size_t		 len;

	snprintf(req.service, sizeof(req.service), "%s", service);
	snprintf(req.method, sizeof(req.method), "%s", method);
	req.payload.data = body;
	req.payload.len = blen;
	if (ns != NULL) {
		req.metadata_count = 1;
		req.metadata[0].key = (char *)MD_NAMESPACE_TTRPC;
		req.metadata[0].value = (char *)ns;
	}
	cr_assert(msg_encode(t_Request_fields, &req, &buf, &len, NULL));
	send_frame(stream, FRAME_TYPE_REQUEST, buf, (uint32_t)len);
	free(buf);
}

/* A Store.Get of id in namespace ns (a valid, answerable request). */
static void
send_get(uint32_t stream, const char *ns)
{
	cssv_StoreGetRequest	 get = { 0 };
	uint8_t			*buf;
	size_t			 len;

	snprintf(get.sandbox_id, sizeof(get.sandbox_id), "nothere");
	cr_assert(msg_encode(cssv_StoreGetRequest_fields, &get, &buf, &len,
	    NULL));
	send_request(stream, SERVICE_STORE, "Get", buf, len, ns);
	free(buf);
}

/* Read one response frame: 1 with *stream and *code set, 0 if none came. */
static int
recv_response(uint32_t *stream, int *code, char *msg, size_t msglen)
{
	struct frame_header	 fh;
	uint8_t			 hdr[FRAME_HEADER_SIZE], *body;
	t_Response		 resp = { 0 };
	struct pollfd		 pfd = { .fd = peer, .events = POLLIN };
	size_t			 got = 0;
	ssize_t			 n;

	pump();
	if (poll(&pfd, 1, 200) <= 0)
		return (0);
	if ((n = read(peer, hdr, sizeof(hdr))) == 0)
		return (0);		/* the daemon closed the connection */
	cr_assert_eq(n, (ssize_t)sizeof(hdr));
	frame_header_parse(hdr, &fh);
	cr_assert_eq(fh.type, FRAME_TYPE_RESPONSE);
	body = malloc(fh.length + 1);
	while (got < fh.length) {
		n = read(peer, body + got, fh.length - got);
		if (n <= 0) {
			pump();
			continue;
		}
		got += (size_t)n;
	}
	cr_assert(msg_decode(t_Response_fields, &resp, body, fh.length, NULL));
	*stream = fh.stream_id;
	*code = resp.status.code;
	snprintf(msg, msglen, "%s", resp.status.message != NULL ?
	    resp.status.message : "");
	msg_release(t_Response_fields, &resp);
	free(body);
	return (1);
}

/* Expect the next answer on stream with code, its message containing word. */
static void
expect(uint32_t stream, int code, const char *word)
{
	uint32_t	got_stream;
	int		got_code;
	char		msg[512];

	cr_assert_eq(recv_response(&got_stream, &got_code, msg, sizeof(msg)), 1,
	    "no answer for stream %u", stream);
	cr_assert_eq(got_stream, stream, "answer for stream %u, want %u",
	    got_stream, stream);
	cr_assert_eq(got_code, code, "stream %u: code %d (%s), want %d",
	    stream, got_code, msg, code);
	if (word != NULL)
		cr_assert_not_null(strstr(msg, word), "message \"%s\" lacks "
		    "\"%s\"", msg, word);
}

/* After any bad frame, a good request on the same connection is served. */
static void
expect_still_serving(uint32_t stream)
{
	send_get(stream, "default");
	expect(stream, STATUS_NOT_FOUND, "nothere");
}

TestSuite(frame, .init = setup, .fini = teardown, .timeout = 20);

Test(frame, header_round_trip)
{
	struct frame_header	in = { 0x01020304, 0xa0b0c0d0, 2, 1 }, out;
	uint8_t			buf[FRAME_HEADER_SIZE];

	frame_header_build(&in, buf);
	cr_assert_eq(buf[0], 0x01, "length is big-endian");
	cr_assert_eq(buf[4], 0xa0, "stream id is big-endian");
	frame_header_parse(buf, &out);
	cr_assert_eq(out.length, in.length);
	cr_assert_eq(out.stream_id, in.stream_id);
	cr_assert_eq(out.type, 2);
	cr_assert_eq(out.flags, 1);
}

Test(frame, valid_request)
{
	expect_still_serving(1);
}

Test(frame, oversize_length)
{
	static uint8_t	junk[1025];

	send_frame(1, FRAME_TYPE_REQUEST, junk, sizeof(junk));
	expect(1, STATUS_RESOURCE_EXHAUSTED, "exceeds maximum message size");
	expect_still_serving(3);
}

Test(frame, oversize_length_arriving_in_pieces)
{
	struct frame_header	fh = { 5000, 5, FRAME_TYPE_REQUEST, 0 };
	uint8_t			hdr[FRAME_HEADER_SIZE];
	static uint8_t		junk[1000];
	int			i;

	frame_header_build(&fh, hdr);
	send_bytes(hdr, sizeof(hdr));
	expect(5, STATUS_RESOURCE_EXHAUSTED, "5000");
	for (i = 0; i < 5; i++) {
		send_bytes(junk, sizeof(junk));
		pump();
	}
	expect_still_serving(7);
}

Test(frame, even_stream_id)
{
	send_get(2, "default");
	expect(2, STATUS_INVALID_ARGUMENT, "even");
	expect_still_serving(3);
}

Test(frame, garbage_payload)
{
	send_frame(1, FRAME_TYPE_REQUEST, "\x0a\xff\xff\xff", 4);
	expect(1, STATUS_INVALID_ARGUMENT, "cannot decode request");
	expect_still_serving(3);
}

Test(frame, unknown_type_is_ignored)
{
	uint32_t	stream;
	int		code;
	char		msg[256];

	send_frame(1, 7, "abc", 3);
	send_frame(3, FRAME_TYPE_DATA, "", 0);
	cr_assert_eq(recv_response(&stream, &code, msg, sizeof(msg)), 0,
	    "an unknown frame type got an answer");
	expect_still_serving(5);
}

Test(frame, truncated_header_then_close)
{
	uint32_t	stream;
	int		code;
	char		msg[256];

	send_bytes("\x00\x00\x00", 3);
	pump();
	cr_assert_eq(conn_count(), 1, "a partial header is not an error yet");
	shutdown(peer, SHUT_WR);
	cr_assert_eq(recv_response(&stream, &code, msg, sizeof(msg)), 0);
	cr_assert_eq(conn_count(), 0, "the connection was not closed at EOF");
}

Test(frame, unknown_service_and_method)
{
	send_request(1, "no.such.Service", "Get", "", 0, "default");
	expect(1, STATUS_UNIMPLEMENTED, "service no.such.Service");
	send_request(3, SERVICE_STORE, "Nope", "", 0, "default");
	expect(3, STATUS_UNIMPLEMENTED, "method Nope");
	expect_still_serving(5);
}

Test(frame, namespace_required_and_checked)
{
	send_get(1, NULL);
	expect(1, STATUS_FAILED_PRECONDITION, "namespace is required");
	send_get(3, "bad ns");
	expect(3, STATUS_INVALID_ARGUMENT, "namespace");
	expect_still_serving(5);
}

Test(frame, undecodable_method_payload)
{
	send_request(1, SERVICE_STORE, "Get", "\x0a\x7f", 2, "default");
	expect(1, STATUS_INVALID_ARGUMENT, "Store.Get");
	expect_still_serving(3);
}

Test(frame, several_requests_in_one_write)
{
	send_get(1, "default");
	send_get(3, "default");
	send_get(5, "default");
	expect(1, STATUS_NOT_FOUND, NULL);
	expect(3, STATUS_NOT_FOUND, NULL);
	expect(5, STATUS_NOT_FOUND, NULL);
}

Test(frame, inflight_cap)
{
	int	i;

	test_cfg.max_inflight = 2;
	/* Two deferred-free requests answer in the same iteration: all fit. */
	for (i = 0; i < 3; i++)
		send_get(1 + 2 * (uint32_t)i, "default");
	expect(1, STATUS_NOT_FOUND, NULL);
	expect(3, STATUS_NOT_FOUND, NULL);
	expect(5, STATUS_RESOURCE_EXHAUSTED, "in flight");
}

/*
 * Issue 10 item 11: past the in-flight cap each request is answered
 * ResourceExhausted and the connection stays: refusals are not in flight
 * and never close it (sandboxd(8), LIMITS).
 */
Test(frame, inflight_refusals_keep_the_connection)
{
	uint32_t	i;
	int		size = 4 << 20;

	/* All in the socket at once: one read, one iteration. */
	setsockopt(peer, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	test_cfg.max_inflight = 2;
	for (i = 0; i < 200; i++)
		send_get(1 + 2 * i, "default");
	expect(1, STATUS_NOT_FOUND, NULL);
	expect(3, STATUS_NOT_FOUND, NULL);
	for (i = 2; i < 200; i++)
		expect(1 + 2 * i, STATUS_RESOURCE_EXHAUSTED, "in flight");
	expect_still_serving(401);
}

/* Pump the loop until the daemon closes peer (true) or ms pass (false). */
static bool
closed_within(int ms)
{
	char	buf[4096];
	ssize_t	n;
	int	i;

	for (i = 0; i < ms / 10; i++) {
		event_base_loop(server_base, EVLOOP_NONBLOCK);
		loop_after_iteration();
		while ((n = read(peer, buf, sizeof(buf))) > 0)
			continue;
		if (n == 0)
			return (true);
		usleep(10000);
	}
	return (false);
}

/* Issue 10 item 7: a frame begun and never finished ends the connection. */
Test(frame, stalled_partial_frame_closes, .timeout = 60)
{
	struct frame_header	fh = { 1000, 1, FRAME_TYPE_REQUEST, 0 };
	uint8_t			hdr[FRAME_HEADER_SIZE], half[500] = { 0 };

	test_cfg.frame_timeout = 1;
	frame_header_build(&fh, hdr);
	send_bytes(hdr, sizeof(hdr));
	send_bytes(half, sizeof(half));
	cr_assert(closed_within(30000), "a stalled frame kept its connection");
	cr_assert_eq(conn_count(), 0);
}

/* Issue 10 item 7: half a header is a frame begun too. */
Test(frame, stalled_partial_header_closes, .timeout = 60)
{
	test_cfg.frame_timeout = 1;
	send_bytes("\0\0\0", 3);
	cr_assert(closed_within(30000), "a stalled header kept its connection");
}

/*
 * Issue 10 item 7: frames that keep completing are no stall, and the idle
 * timeout is off by default.
 */
Test(frame, complete_frames_and_quiet_stay, .timeout = 60)
{
	int	i;

	test_cfg.frame_timeout = 1;
	for (i = 0; i < 3; i++) {
		expect_still_serving(1 + 2 * (uint32_t)i);
		cr_assert_not(closed_within(700), "closed while serving");
	}
	cr_assert_not(closed_within(1500), "a quiet connection was closed");
	expect_still_serving(99);
}

/* Issue 10 item 7: idle_timeout closes a connection with nothing pending. */
Test(frame, idle_timeout_closes, .timeout = 60)
{
	test_cfg.idle_timeout = 1;
	expect_still_serving(1);
	cr_assert(closed_within(30000), "an idle connection stayed");
}

/*
 * Issue 10 item 6: a peer that sends requests and never reads their
 * answers is closed once its answers stop leaving for write_timeout.
 */
Test(frame, never_reading_peer_closes, .timeout = 120)
{
	int		i, sndbuf = 4096;
	uint32_t	sid = 1;
	bool		closed = false;

	test_cfg.write_timeout = 1;
	test_cfg.max_output = 4096;
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	for (i = 0; i < 200000 && !closed; i++) {
		cssv_StoreGetRequest	 get = { 0 };
		t_Request		 req = { 0 };
		uint8_t			*b1, *b2, hdr[FRAME_HEADER_SIZE];
		size_t			 l1, l2;
		struct frame_header	 fh;
		ssize_t			 n;

		snprintf(get.sandbox_id, sizeof(get.sandbox_id), "nothere");
		cr_assert(msg_encode(cssv_StoreGetRequest_fields, &get, &b1,
		    &l1, NULL));
		snprintf(req.service, sizeof(req.service), SERVICE_STORE);
		snprintf(req.method, sizeof(req.method), "Get");
		req.payload.data = b1;
		req.payload.len = l1;
		req.metadata_count = 1;
		req.metadata[0].key = (char *)MD_NAMESPACE_TTRPC;
		req.metadata[0].value = (char *)"default";
		cr_assert(msg_encode(t_Request_fields, &req, &b2, &l2, NULL));
		fh = (struct frame_header){ (uint32_t)l2, sid, 1, 0 };
		frame_header_build(&fh, hdr);
		n = send(peer, hdr, sizeof(hdr), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == (ssize_t)sizeof(hdr)) {
			(void)send(peer, b2, l2, MSG_NOSIGNAL);
			sid += 2;
		} else if (n == -1 && errno != EAGAIN)
			closed = true;
		free(b1);
		free(b2);
		event_base_loop(server_base, EVLOOP_NONBLOCK);
		loop_after_iteration();
		if (conn_count() == 0)
			closed = true;
		if (n == -1 && errno == EAGAIN)
			usleep(10000);
	}
	cr_assert(closed, "a peer that never reads was never closed");
}

/*
 * A frame far larger than the connection's first input buffer, arriving
 * in pieces with the loop running between them, is read whole (the
 * buffer grows to it) and answered; the next request, sent right behind
 * its last piece, is served too.
 */
Test(frame, big_frame_in_pieces_then_more)
{
	static uint8_t		 body[100000];
	struct frame_header	 fh;
	t_Request		 req = { 0 };
	uint8_t			*env, hdr[FRAME_HEADER_SIZE];
	size_t			 len, off, n;

	test_cfg.max_frame = 200000;
	memset(body, 'x', sizeof(body));
	body[0] = 0x0a;		/* sandbox_id: far past its bound */
	body[1] = 0x80;
	body[2] = 0x80;
	body[3] = 0x06;		/* 98304 bytes */
	snprintf(req.service, sizeof(req.service), "%s", SERVICE_STORE);
	snprintf(req.method, sizeof(req.method), "Get");
	req.payload.data = body;
	req.payload.len = sizeof(body);
	req.metadata_count = 1;
	req.metadata[0].key = (char *)MD_NAMESPACE_TTRPC;
	req.metadata[0].value = (char *)"default";
	cr_assert(msg_encode(t_Request_fields, &req, &env, &len, NULL));
	fh.length = (uint32_t)len;
	fh.stream_id = 1;
	fh.type = FRAME_TYPE_REQUEST;
	fh.flags = 0;
	frame_header_build(&fh, hdr);
	send_bytes(hdr, sizeof(hdr));
	for (off = 0; off < len; off += n) {
		n = len - off < 7000 ? len - off : 7000;
		send_bytes(env + off, n);
		pump();
	}
	send_get(3, "default");
	expect(1, STATUS_INVALID_ARGUMENT, "Store.Get");
	expect(3, STATUS_NOT_FOUND, "nothere");
	free(env);
}

/*
 * What a re-exec carries of a connection: answers the socket had no room
 * for and a frame half read.  Exported, the old connection freed (its
 * socket kept by a dup, as the exec keeps it), imported again: every
 * answer arrives, in order, and the half frame, completed, is served.
 */
Test(frame, handover_keeps_unsent_output_and_half_frame)
{
	sv_HandoverConn		*hcs, hc;
	uint64_t		 next_id;
	struct conn		*c;
	uint8_t			*in, *out, hdr[FRAME_HEADER_SIZE];
	struct frame_header	 fh;
	size_t			 n, i, found = 0;
	int			 sv[2], small = 4096, saved = peer;
	uint32_t		 s;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	conn_accept(server_base, sv[0]);
	peer = sv[1];
	for (s = 1; s < 400; s += 2) {
		send_get(s, "default");
		if (s % 40 == 1)
			pump();
	}
	pump();
	/* A header and 4 bytes of a frame that never gets further. */
	fh.length = 120;
	fh.stream_id = 401;
	fh.type = FRAME_TYPE_REQUEST;
	fh.flags = 0;
	frame_header_build(&fh, hdr);
	send_bytes(hdr, sizeof(hdr));
	send_bytes("\x0a\x1b" "co", 4);
	pump();

	n = conn_export(&hcs, &next_id);
	for (i = 0; i < n; i++) {
		if (hcs[i].fd != sv[0])
			continue;
		hc = hcs[i];
		found++;
	}
	cr_assert_eq(found, 1);
	cr_assert_gt(hc.output.len, 0, "every answer was sent: the socket "
	    "buffer is too big for this test");
	cr_assert_eq(hc.input.len, sizeof(hdr) + 4);
	in = malloc(hc.input.len);
	out = malloc(hc.output.len);
	memcpy(in, hc.input.data, hc.input.len);
	memcpy(out, hc.output.data, hc.output.len);
	hc.input.data = in;
	hc.output.data = out;
	hc.fd = dup(sv[0]);
	hc.calls_count = 0;
	for (i = 0; i < n; i++)
		free(hcs[i].calls);
	free(hcs);
	conn_close_all();
	conn_free_dead();
	cr_assert_eq(conn_count(), 0);

	c = conn_import(server_base, &hc);
	conn_read_input(c);
	free(in);
	free(out);
	for (s = 1; s < 400; s += 2)
		expect(s, STATUS_NOT_FOUND, "nothere");
	/* The rest of the half frame, bytes that cannot decode: its answer
	 * shows that the daemon waited for all 120 and judged them. */
	{
		uint8_t	rest[116];

		memset(rest, 0xff, sizeof(rest));
		send_bytes(rest, sizeof(rest));
	}
	expect(401, STATUS_INVALID_ARGUMENT, "cannot decode request");
	send_get(403, "default");
	expect(403, STATUS_NOT_FOUND, "nothere");
	close(sv[1]);
	peer = saved;
}
