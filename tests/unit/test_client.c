/*
 * test_client.c: unit tests of the client library (client/): the pure
 * parts (label and extension parsing, status names and exit codes,
 * timestamps, metadata conversion) and the framing, against a fake server
 * on the other end of a socketpair.
 *
 * The fake server needs no thread: the test writes the server's replies
 * into its end of the socketpair before the call (socket buffers hold
 * them), makes the call, then reads back and checks what the client sent.
 *
 * The test links the client library; beyond sbc.h it uses sbc_test.h:
 * the metadata conversions, and the allocation hook of the out-of-memory
 * sweeps at the end.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "pbutil.h"
#include "protocol.h"
#include "sbc.h"
#include "sbc_test.h"
#include "frame.h"
#include "ttrpc.pb.h"
#include "sandboxd/v1/sandboxd.pb.h"

#include "containerd/runtime/sandbox/v1/sandbox.pb.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"

/* The two ends: the client's and the fake server's. */
static int		 srv_fd = -1;
static struct sbc	*cli;

static void
pair_setup(void)
{
	int	sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cli = sbc_open_fd(sv[0]);
	srv_fd = sv[1];
}

static void
pair_teardown(void)
{
	sbc_close(cli);
	cli = NULL;
	if (srv_fd != -1)
		close(srv_fd);
	srv_fd = -1;
}

/* Write all of buf to fd. */
static void
put(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		cr_assert(n > 0, "write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Write a frame header. */
static void
put_header(int fd, uint32_t length, uint32_t stream, uint8_t type)
{
	struct frame_header	fh = { length, stream, type, 0 };
	uint8_t			hdr[FRAME_HEADER_SIZE];

	frame_header_build(&fh, hdr);
	put(fd, hdr, sizeof hdr);
}

/* Write a Response frame: status code/message and an encoded message. */
static void
put_reply(uint32_t stream, int code, const char *message,
    const pb_msgdesc_t *fields, const void *msg)
{
	t_Response	 resp = {0};
	uint8_t		*payload = NULL, *env;
	size_t		 plen = 0, elen;

	if (fields != NULL)
		cr_assert(msg_encode(fields, msg, &payload, &plen, NULL));
	if (code != 0) {
		resp.has_status = true;
		resp.status.code = code;
		resp.status.message = (char *)message;
	}
	resp.payload.data = payload;
	resp.payload.len = plen;
	cr_assert(msg_encode(t_Response_fields, &resp, &env, &elen, NULL));
	put_header(srv_fd, (uint32_t)elen, stream, FRAME_TYPE_RESPONSE);
	put(srv_fd, env, elen);
	free(env);
	free(payload);
}

/* Read exactly len bytes from the server's end. */
static void
get(void *buf, size_t len)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = read(srv_fd, p, len);
		cr_assert(n > 0, "read: %s", n == 0 ? "EOF" : strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* A request as the fake server received it. */
struct got {
	struct frame_header	 fh;
	uint8_t			*buf;
	t_Request		 req;
};

/* Read and decode the next request the client sent. */
static void
get_request(struct got *g)
{
	uint8_t	hdr[FRAME_HEADER_SIZE];

	memset(g, 0, sizeof *g);
	get(hdr, sizeof hdr);
	frame_header_parse(hdr, &g->fh);
	cr_assert_leq(g->fh.length, FRAME_MAX_PAYLOAD);
	g->buf = malloc(g->fh.length + 1);
	get(g->buf, g->fh.length);
	cr_assert(msg_decode(t_Request_fields, &g->req, g->buf, g->fh.length,
	    NULL));
}

static void
got_free(struct got *g)
{
	msg_release(t_Request_fields, &g->req);
	free(g->buf);
}

/* The namespace a request carried, NULL if none. */
static const char *
got_namespace(const struct got *g)
{
	pb_size_t	i;

	for (i = 0; i < g->req.metadata_count; i++) {
		if (strcmp(g->req.metadata[i].key, MD_NAMESPACE_TTRPC) == 0)
			return (g->req.metadata[i].value);
	}
	return (NULL);
}

/* Expect a request for service/method on stream. */
static void
expect_request(struct got *g, uint32_t stream, const char *service,
    const char *method)
{
	get_request(g);
	cr_assert_eq(g->fh.type, FRAME_TYPE_REQUEST);
	cr_assert_eq(g->fh.flags, 0);
	cr_assert_eq(g->fh.stream_id, stream, "stream %u, want %u",
	    g->fh.stream_id, stream);
	cr_assert_str_eq(g->req.service, service);
	cr_assert_str_eq(g->req.method, method);
}

/* A Sandbox message to answer with. */
static void
fill_sandbox(ct_Sandbox *sb, const char *id)
{
	static char	k1[] = "app", v1[] = "web", k2[] = "tier", v2[] = "x";
	static char	turl[] = OCI_SPEC_TYPE_URL;
	static char	spec[] = "{\"process\":{}}";

	memset(sb, 0, sizeof *sb);
	strcpy(sb->sandbox_id, id);
	sb->has_runtime = true;
	strcpy(sb->runtime.name, RUNTIME_PAUSE);
	sb->labels_count = 2;
	sb->labels[0].key = k1;
	sb->labels[0].value = v1;
	sb->labels[1].key = k2;
	sb->labels[1].value = v2;
	sb->has_spec = true;
	sb->spec.type_url = turl;
	sb->spec.value.data = (const pb_byte_t *)spec;
	sb->spec.value.len = strlen(spec);
	sb->has_created_at = true;
	sb->created_at.seconds = 1700000000;
	sb->created_at.nanos = 5;
}

/* Answer a Store.Get-shaped call on stream with sandbox id. */
static void
put_sandbox_reply(uint32_t stream, const char *id)
{
	cssv_StoreGetResponse	*r = calloc(1, sizeof *r);

	r->has_sandbox = true;
	fill_sandbox(&r->sandbox, id);
	put_reply(stream, 0, NULL, cssv_StoreGetResponse_fields, r);
	free(r);
}

/* --- pure parts ---------------------------------------------------------- */

Test(client_parse, label)
{
	char	*k, *v, *cause = NULL;

	cr_assert_eq(sbc_label_parse("a=b", &k, &v, &cause), 0);
	cr_assert_str_eq(k, "a");
	cr_assert_str_eq(v, "b");
	free(k);
	free(v);
	cr_assert_eq(sbc_label_parse("a=b=c", &k, &v, &cause), 0);
	cr_assert_str_eq(k, "a");
	cr_assert_str_eq(v, "b=c");
	free(k);
	free(v);
	cr_assert_eq(sbc_label_parse("a=", &k, &v, &cause), 0);
	cr_assert_str_eq(v, "");
	free(k);
	free(v);
	cr_assert_eq(sbc_label_parse("solo", &k, &v, &cause), 0);
	cr_assert_str_eq(k, "solo");
	cr_assert_str_eq(v, "");
	free(k);
	free(v);
	cr_assert_eq(sbc_label_parse("=b", &k, &v, &cause), -1);
	cr_assert_not_null(strstr(cause, "empty key"));
	free(cause);
	cause = NULL;
	cr_assert_eq(sbc_label_parse("", &k, &v, &cause), -1);
	free(cause);
}

Test(client_parse, extension)
{
	char	*n, *t, *f, *cause = NULL;

	cr_assert_eq(sbc_extension_parse("net=example.com/Net:/tmp/a:b", &n,
	    &t, &f, &cause), 0);
	cr_assert_str_eq(n, "net");
	cr_assert_str_eq(t, "example.com/Net");
	cr_assert_str_eq(f, "/tmp/a:b");
	free(n);
	free(t);
	free(f);
	cr_assert_eq(sbc_extension_parse("net", &n, &t, &f, &cause), -1);
	free(cause);
	cr_assert_eq(sbc_extension_parse("=t:f", &n, &t, &f, &cause), -1);
	free(cause);
	cr_assert_eq(sbc_extension_parse("n=t", &n, &t, &f, &cause), -1);
	free(cause);
	cr_assert_eq(sbc_extension_parse("n=:f", &n, &t, &f, &cause), -1);
	free(cause);
	cr_assert_eq(sbc_extension_parse("n=t:", &n, &t, &f, &cause), -1);
	free(cause);
}

Test(client_status, exit_codes)
{
	cr_assert_eq(sbc_exit_code(STATUS_OK), 0);
	cr_assert_eq(sbc_exit_code(STATUS_NOT_FOUND), SBC_EXIT_NOT_FOUND);
	cr_assert_eq(sbc_exit_code(STATUS_INVALID_ARGUMENT), SBC_EXIT_INVALID);
	cr_assert_eq(sbc_exit_code(STATUS_ALREADY_EXISTS), SBC_EXIT_EXISTS);
	cr_assert_eq(sbc_exit_code(STATUS_FAILED_PRECONDITION),
	    SBC_EXIT_PRECONDITION);
	cr_assert_eq(sbc_exit_code(STATUS_UNAVAILABLE), SBC_EXIT_UNAVAILABLE);
	cr_assert_eq(sbc_exit_code(SBC_ERR_TRANSPORT), SBC_EXIT_UNAVAILABLE);
	cr_assert_eq(sbc_exit_code(STATUS_DEADLINE_EXCEEDED), SBC_EXIT_TIMEOUT);
	cr_assert_eq(sbc_exit_code(STATUS_INTERNAL), SBC_EXIT_ERROR);
	cr_assert_eq(sbc_exit_code(SBC_ERR_PROTOCOL), SBC_EXIT_ERROR);
	cr_assert_eq(sbc_exit_code(99), SBC_EXIT_ERROR);
	/* Distinct codes for what scripts test. */
	cr_assert_neq(SBC_EXIT_NOT_FOUND, SBC_EXIT_INVALID);
	cr_assert_neq(SBC_EXIT_NOT_FOUND, SBC_EXIT_ERROR);
	cr_assert_neq(SBC_EXIT_INVALID, SBC_EXIT_ERROR);
}

Test(client_status, names)
{
	cr_assert_str_eq(sbc_error_name(STATUS_NOT_FOUND), "not found");
	cr_assert_str_eq(sbc_error_name(STATUS_ALREADY_EXISTS),
	    "already exists");
	cr_assert_str_eq(sbc_error_name(SBC_ERR_TRANSPORT), "transport");
	cr_assert_str_eq(sbc_error_name(SBC_ERR_PROTOCOL), "protocol");
	cr_assert_str_eq(sbc_error_name(1000), "unknown");
	cr_assert_str_eq(status_code_name(STATUS_NOT_FOUND), "NotFound");
}

Test(client_status, error_set_clear)
{
	struct sbc_error	err = {0};

	cr_assert_eq(sbc_error_set(&err, 5, "x %d", 1), 5);
	cr_assert_eq(sbc_error_set(&err, 6, "y"), 6);
	cr_assert_eq(err.code, 6);
	cr_assert_str_eq(err.message, "y");
	sbc_error_clear(&err);
	cr_assert_null(err.message);
	cr_assert_eq(err.code, 0);
	cr_assert_eq(sbc_error_set(NULL, 3, "nothing"), 3);
}

Test(client_parse, timestamps)
{
	struct timespec	ts = { 0, 0 };
	char		buf[64];

	sbc_ts_format(&ts, buf, sizeof buf);
	cr_assert_str_eq(buf, "");
	ts.tv_sec = 1700000000;
	sbc_ts_format(&ts, buf, sizeof buf);
	cr_assert_str_eq(buf, "2023-11-14T22:13:20Z");
	ts.tv_nsec = 500000000;
	sbc_ts_format(&ts, buf, sizeof buf);
	cr_assert_str_eq(buf, "2023-11-14T22:13:20.5Z");
	ts.tv_nsec = 123456789;
	sbc_ts_format(&ts, buf, sizeof buf);
	cr_assert_str_eq(buf, "2023-11-14T22:13:20.123456789Z");
}

Test(client_parse, default_socket)
{
	char	buf[256];

	setenv("SANDBOXD_SOCKET", "/tmp/x.sock", 1);
	cr_assert_str_eq(sbc_default_socket(buf, sizeof buf), "/tmp/x.sock");
	unsetenv("SANDBOXD_SOCKET");
	setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
	sbc_default_socket(buf, sizeof buf);
	if (geteuid() == 0)
		cr_assert_str_eq(buf, "/run/sandboxd/sandboxd.sock");
	else
		cr_assert_str_eq(buf, "/run/user/1234/sandboxd/sandboxd.sock");
}

Test(client_meta, roundtrip)
{
	struct sbc_label	 labels[] = { { "a", "1" }, { "b", "" } };
	struct sbc_extension	 exts[] = { { "net", { "t/x", "\x01\x02", 2 } } };
	struct sbc_meta		 in = {0}, out, copy;
	ct_Sandbox		*pb = calloc(1, sizeof *pb);
	ct_Sandbox		*back = calloc(1, sizeof *back);
	uint8_t			*buf;
	size_t			 len;

	in.id = "sb1";
	in.runtime = RUNTIME_EXEC;
	in.spec.type_url = OCI_SPEC_TYPE_URL;
	in.spec.value = "{}";
	in.spec.len = 2;
	in.labels = labels;
	in.nlabels = 2;
	in.extensions = exts;
	in.nextensions = 1;
	cr_assert_eq(sbc_meta_to_pb(&in, pb, NULL), 0);
	cr_assert_not(pb->has_created_at, "zero time must stay absent");
	cr_assert(msg_encode(ct_Sandbox_fields, pb, &buf, &len, NULL));
	cr_assert(msg_decode(ct_Sandbox_fields, back, buf, len, NULL));
	sbc_meta_from_pb(&out, back);
	msg_release(ct_Sandbox_fields, back);
	free(buf);		/* out must not point into it */
	cr_assert_str_eq(out.id, "sb1");
	cr_assert_str_eq(out.runtime, RUNTIME_EXEC);
	cr_assert_str_eq(out.spec.type_url, OCI_SPEC_TYPE_URL);
	cr_assert_eq(out.spec.len, 2);
	cr_assert_eq(memcmp(out.spec.value, "{}", 2), 0);
	cr_assert_eq(out.nlabels, 2);
	cr_assert_str_eq(sbc_meta_label(&out, "a"), "1");
	cr_assert_str_eq(sbc_meta_label(&out, "b"), "");
	cr_assert_null(sbc_meta_label(&out, "c"));
	cr_assert_eq(out.nextensions, 1);
	cr_assert_str_eq(out.extensions[0].name, "net");
	cr_assert_eq(out.extensions[0].value.len, 2);
	sbc_meta_copy(&copy, &out);
	sbc_meta_free(&out);
	cr_assert_str_eq(copy.extensions[0].value.type_url, "t/x");
	sbc_meta_free(&copy);
	free(pb);
	free(back);
}

Test(client_meta, limits)
{
	struct sbc_meta		 in = {0};
	struct sbc_error	 err = {0};
	ct_Sandbox		*pb = calloc(1, sizeof *pb);
	char			 id[300];

	memset(id, 'a', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	in.id = id;
	cr_assert_eq(sbc_meta_to_pb(&in, pb, &err), STATUS_INVALID_ARGUMENT);
	cr_assert_not_null(strstr(err.message, "sandbox id too long"));
	sbc_error_clear(&err);
	in.id = "ok";
	in.nlabels = 1000;
	in.labels = calloc(1000, sizeof(struct sbc_label));
	cr_assert_eq(sbc_meta_to_pb(&in, pb, &err), STATUS_INVALID_ARGUMENT);
	sbc_error_clear(&err);
	free((void *)in.labels);
	free(pb);
}

/* --- framing against a fake server ---------------------------------------- */

TestSuite(client_wire, .init = pair_setup, .fini = pair_teardown,
    .timeout = 10);

Test(client_wire, get_request_and_reply)
{
	struct sbc_meta		 m;
	struct sbc_error	 err = {0};
	struct got		 g;
	cssv_StoreGetRequest	 req = {0};

	put_sandbox_reply(1, "sb1");
	cr_assert_eq(sbc_store_get(cli, "sb1", &m, &err), 0, "%s",
	    err.message);
	cr_assert_str_eq(m.id, "sb1");
	cr_assert_str_eq(m.runtime, RUNTIME_PAUSE);
	cr_assert_eq(m.nlabels, 2);
	cr_assert_str_eq(sbc_meta_label(&m, "tier"), "x");
	cr_assert_eq(m.spec.len, strlen("{\"process\":{}}"));
	cr_assert_eq(m.created_at.tv_sec, 1700000000);
	cr_assert_eq(m.created_at.tv_nsec, 5);
	sbc_meta_free(&m);

	expect_request(&g, 1, SERVICE_STORE, "Get");
	cr_assert_str_eq(got_namespace(&g), "default");
	cr_assert_eq(g.req.timeout_nano, 0);
	cr_assert(msg_decode(cssv_StoreGetRequest_fields, &req,
	    g.req.payload.data, g.req.payload.len, NULL));
	cr_assert_str_eq(req.sandbox_id, "sb1");
	got_free(&g);
}

Test(client_wire, stream_ids_odd_increasing)
{
	struct got	g;
	uint32_t	want;

	put_reply(1, 0, NULL, NULL, NULL);
	put_reply(3, 0, NULL, NULL, NULL);
	put_reply(5, 0, NULL, NULL, NULL);
	cr_assert_eq(sbc_store_delete(cli, "a", NULL), 0);
	cr_assert_eq(sbc_ctrl_stop(cli, "a", 3, NULL), 0);
	cr_assert_eq(sbc_shim_ping(cli, "a", NULL), 0);
	for (want = 1; want <= 5; want += 2) {
		get_request(&g);
		cr_assert_eq(g.fh.stream_id, want);
		got_free(&g);
	}
}

Test(client_wire, skips_foreign_frames)
{
	struct sbc_error	err = {0};
	uint8_t			junk[7] = "garbage";

	/* A data frame on our stream, replies for unknown streams, junk. */
	put_header(srv_fd, sizeof junk, 1, FRAME_TYPE_DATA);
	put(srv_fd, junk, sizeof junk);
	put_reply(7, STATUS_INTERNAL, "not yours", NULL, NULL);
	put_header(srv_fd, sizeof junk, 9, 0x7f);
	put(srv_fd, junk, sizeof junk);
	put_reply(2, 0, NULL, NULL, NULL);
	put_reply(1, 0, NULL, NULL, NULL);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), 0, "%s", err.message);
	cr_assert_not(sbc_broken(cli));
}

Test(client_wire, pipelined_out_of_order)
{
	cssv_StoreDeleteRequest	req = {0};
	cssv_StoreGetResponse	*resp = calloc(1, sizeof *resp);
	struct sbc_reply	reply;
	struct sbc_error	err = {0};
	uint32_t		s1, s2;

	strcpy(req.sandbox_id, "x");
	cr_assert_eq(sbc_send(cli, SERVICE_STORE, "Get",
	    cssv_StoreGetRequest_fields, &req, &s1, &err), 0);
	cr_assert_eq(sbc_send(cli, SERVICE_STORE, "Get",
	    cssv_StoreGetRequest_fields, &req, &s2, &err), 0);
	cr_assert_eq(s1, 1);
	cr_assert_eq(s2, 3);
	put_sandbox_reply(3, "second");
	put_sandbox_reply(1, "first");
	cr_assert_eq(sbc_recv(cli, s1, cssv_StoreGetResponse_fields, resp,
	    &reply, &err), 0, "%s", err.message);
	cr_assert_str_eq(resp->sandbox.sandbox_id, "first");
	cr_assert_eq(resp->sandbox.spec.value.len, strlen("{\"process\":{}}"));
	sbc_reply_free(&reply);
	memset(resp, 0, sizeof *resp);
	cr_assert_eq(sbc_recv(cli, s2, cssv_StoreGetResponse_fields, resp,
	    &reply, &err), 0, "%s", err.message);
	cr_assert_str_eq(resp->sandbox.sandbox_id, "second");
	sbc_reply_free(&reply);
	cr_assert_eq(sbc_recv(cli, s2, NULL, NULL, NULL, &err),
	    STATUS_INVALID_ARGUMENT);
	sbc_error_clear(&err);
	free(resp);
}

Test(client_wire, error_status)
{
	struct sbc_meta		m;
	struct sbc_error	err = {0};

	put_reply(1, STATUS_NOT_FOUND, "sandbox \"sb9\" not found", NULL,
	    NULL);
	cr_assert_eq(sbc_store_get(cli, "sb9", &m, &err), STATUS_NOT_FOUND);
	cr_assert_eq(err.code, STATUS_NOT_FOUND);
	cr_assert_str_eq(err.message, "sandbox \"sb9\" not found");
	sbc_error_clear(&err);
	cr_assert_not(sbc_broken(cli));
}

Test(client_wire, oversized_reply_breaks_connection)
{
	struct sbc_error	err = {0};

	put_header(srv_fd, FRAME_MAX_PAYLOAD + 1, 1, FRAME_TYPE_RESPONSE);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), SBC_ERR_TRANSPORT);
	cr_assert_not_null(strstr(err.message, "exceeds the maximum"), "%s",
	    err.message);
	cr_assert(sbc_broken(cli));
	put_reply(3, 0, NULL, NULL, NULL);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), SBC_ERR_TRANSPORT);
	sbc_error_clear(&err);
}

Test(client_wire, max_size_reply_accepted)
{
	struct sbc_error	err = {0};
	uint8_t			*big;
	size_t			 len = FRAME_MAX_PAYLOAD;
	pid_t			 pid;
	int			 status;

	/* A reply of exactly the maximum is fine (unknown fields skipped). */
	big = calloc(1, len);
	big[0] = (3 << 3) | 2;	/* field 3, length-delimited */
	big[1] = 0xfb;		/* varint 0x3ffffb = len - 5 */
	big[2] = 0xff;
	big[3] = 0xff;
	big[4] = 0x01;
	if ((pid = fork()) == 0) {
		put_header(srv_fd, (uint32_t)len, 1, FRAME_TYPE_RESPONSE);
		put(srv_fd, big, len);
		_exit(0);
	}
	cr_assert_eq(sbc_store_delete(cli, "a", &err), 0, "%s", err.message);
	waitpid(pid, &status, 0);
	free(big);
}

Test(client_wire, timeout_then_late_reply_dropped)
{
	struct sbc_error	err = {0};
	struct got		g;
	struct timespec		t0, t1;
	long			ms;

	sbc_set_timeout(cli, 200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(sbc_store_delete(cli, "a", &err),
	    STATUS_DEADLINE_EXCEEDED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	cr_assert(ms >= 190 && ms < 2000, "took %ld ms", ms);
	cr_assert_not(sbc_broken(cli), "a timeout between frames is clean");
	sbc_error_clear(&err);
	expect_request(&g, 1, SERVICE_STORE, "Delete");
	cr_assert_eq(g.req.timeout_nano, 200 * 1000000LL);
	got_free(&g);

	/* The late reply to stream 1 is dropped; stream 3 gets its own. */
	put_reply(1, STATUS_INTERNAL, "late", NULL, NULL);
	put_reply(3, 0, NULL, NULL, NULL);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), 0, "%s", err.message);
}

Test(client_wire, timeout_mid_frame_breaks)
{
	struct sbc_error	err = {0};
	uint8_t			half[5] = { 0, 0, 0, 10, 0 };

	sbc_set_timeout(cli, 100);
	put(srv_fd, half, sizeof half);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), SBC_ERR_TRANSPORT);
	cr_assert(sbc_broken(cli));
	sbc_error_clear(&err);
}

Test(client_wire, eof_is_transport_error)
{
	struct sbc_error	err = {0};

	shutdown(srv_fd, SHUT_WR);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), SBC_ERR_TRANSPORT);
	cr_assert_not_null(strstr(err.message, "closed"), "%s", err.message);
	sbc_error_clear(&err);
}

Test(client_wire, peer_gone_no_sigpipe)
{
	struct sbc_error	err = {0};

	close(srv_fd);
	srv_fd = -1;
	cr_assert_eq(sbc_store_delete(cli, "a", &err), SBC_ERR_TRANSPORT);
	sbc_error_clear(&err);
}

Test(client_wire, undecodable_reply_keeps_connection)
{
	struct sbc_error	err = {0};
	uint8_t			bad[3] = { 0x0a, 0x7f, 0x00 };

	put_header(srv_fd, sizeof bad, 1, FRAME_TYPE_RESPONSE);
	put(srv_fd, bad, sizeof bad);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), SBC_ERR_PROTOCOL);
	cr_assert_not(sbc_broken(cli));
	sbc_error_clear(&err);
	put_reply(3, 0, NULL, NULL, NULL);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), 0, "%s", err.message);
}

Test(client_wire, namespace_metadata)
{
	struct got	g;

	put_reply(1, 0, NULL, NULL, NULL);
	put_reply(3, 0, NULL, NULL, NULL);
	sbc_set_namespace(cli, "k8s.io");
	cr_assert_eq(sbc_store_delete(cli, "a", NULL), 0);
	sbc_set_namespace(cli, NULL);
	cr_assert_null(sbc_namespace(cli));
	cr_assert_eq(sbc_store_delete(cli, "a", NULL), 0);
	get_request(&g);
	cr_assert_str_eq(got_namespace(&g), "k8s.io");
	got_free(&g);
	get_request(&g);
	cr_assert_eq(g.req.metadata_count, 0);
	got_free(&g);
}

Test(client_wire, list_decodes_every_entry)
{
	uint8_t			*payload, *one, *env;
	size_t			 plen = 0, olen, elen, i;
	ct_Sandbox		*sb = calloc(1, sizeof *sb);
	t_Response		 resp = {0};
	struct sbc_meta		*list;
	size_t			 n;
	const char		*filters[] = { "labels.app==web" };
	struct sbc_error	 err = {0};
	struct got		 g;
	cssv_StoreListRequest	*lreq = calloc(1, sizeof *lreq);
	char			 id[8];

	/* Encode list = 1 entries by hand: tag, length, Sandbox. */
	payload = malloc(3 * 4096);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof id, "sb%zu", i);
		fill_sandbox(sb, id);
		cr_assert(msg_encode(ct_Sandbox_fields, sb, &one, &olen, NULL));
		cr_assert_lt(olen, 1 << 14);
		payload[plen++] = (1 << 3) | 2;
		payload[plen++] = (uint8_t)(olen | 0x80);
		payload[plen++] = (uint8_t)(olen >> 7);
		memcpy(payload + plen, one, olen);
		plen += olen;
		free(one);
	}
	resp.payload.data = payload;
	resp.payload.len = plen;
	cr_assert(msg_encode(t_Response_fields, &resp, &env, &elen, NULL));
	put_header(srv_fd, (uint32_t)elen, 1, FRAME_TYPE_RESPONSE);
	put(srv_fd, env, elen);
	free(env);
	free(payload);

	cr_assert_eq(sbc_store_list(cli, filters, 1, &list, &n, &err), 0, "%s",
	    err.message);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[0].id, "sb0");
	cr_assert_str_eq(list[2].id, "sb2");
	cr_assert_str_eq(sbc_meta_label(&list[1], "app"), "web");
	cr_assert_str_eq(list[2].spec.type_url, OCI_SPEC_TYPE_URL);
	sbc_meta_list_free(list, n);

	expect_request(&g, 1, SERVICE_STORE, "List");
	cr_assert(msg_decode(cssv_StoreListRequest_fields, lreq,
	    g.req.payload.data, g.req.payload.len, NULL));
	cr_assert_eq(lreq->filters_count, 1);
	cr_assert_str_eq(lreq->filters[0], "labels.app==web");
	got_free(&g);
	free(lreq);
	free(sb);
}

static void
alarm_cb(int sig)
{
	(void)sig;
}

Test(client_wire, eintr_is_retried)
{
	struct sigaction	sa;
	struct itimerval	it = { { 0, 20000 }, { 0, 20000 } };
	struct sbc_error	err = {0};
	pid_t			pid;
	int			status;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = alarm_cb;	/* no SA_RESTART: poll gets EINTR */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	if ((pid = fork()) == 0) {
		struct timespec	d = { 0, 300000000 };

		nanosleep(&d, NULL);
		put_reply(1, 0, NULL, NULL, NULL);
		_exit(0);
	}
	sbc_set_timeout(cli, 5000);
	cr_assert_eq(sbc_store_delete(cli, "a", &err), 0, "%s", err.message);
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	waitpid(pid, &status, 0);
}

/* --- the sandbox handle's compound operations ----------------------------- */

Test(client_wire, sandbox_new_undoes_store_create)
{
	struct sbc_sandbox_opts	 o = {0};
	struct sbc_sandbox	*sb;
	struct sbc_error	 err = {0};
	struct got		 g;
	cssv_ControllerCreateRequest *creq = calloc(1, sizeof *creq);

	put_sandbox_reply(1, "sb1");
	put_reply(3, STATUS_INVALID_ARGUMENT, "unknown runtime \"nope\"", NULL,
	    NULL);
	put_reply(5, 0, NULL, NULL, NULL);
	o.runtime = "nope";
	o.netns_path = "/run/netns/x";
	cr_assert_eq(sbc_sandbox_new(cli, "sb1", &o, &sb, &err),
	    STATUS_INVALID_ARGUMENT);
	cr_assert_null(sb);
	cr_assert_str_eq(err.message, "unknown runtime \"nope\"");
	sbc_error_clear(&err);
	expect_request(&g, 1, SERVICE_STORE, "Create");
	got_free(&g);
	expect_request(&g, 3, SERVICE_CONTROLLER, "Create");
	cr_assert(msg_decode(cssv_ControllerCreateRequest_fields, creq,
	    g.req.payload.data, g.req.payload.len, NULL));
	cr_assert_str_eq(creq->sandbox_id, "sb1");
	cr_assert_str_eq(creq->netns_path, "/run/netns/x");
	cr_assert(creq->has_sandbox);
	msg_release(cssv_ControllerCreateRequest_fields, creq);
	got_free(&g);
	expect_request(&g, 5, SERVICE_STORE, "Delete");
	got_free(&g);
	free(creq);
}

Test(client_wire, sandbox_new_and_handle)
{
	struct sbc_sandbox		*sb;
	struct sbc_error		 err = {0};
	const struct sbc_label		*labels;
	size_t				 n;
	uint32_t			 pid = 0, status = 0;
	cssv_ControllerStartResponse	*sr = calloc(1, sizeof *sr);
	cssv_ControllerWaitResponse	 wr = {0};

	put_sandbox_reply(1, "sb1");
	put_reply(3, 0, NULL, NULL, NULL);
	sr->pid = 4242;
	put_reply(5, 0, NULL, cssv_ControllerStartResponse_fields, sr);
	wr.exit_status = 137;
	put_reply(7, 0, NULL, cssv_ControllerWaitResponse_fields, &wr);
	cr_assert_eq(sbc_sandbox_new(cli, "sb1", NULL, &sb, &err), 0, "%s",
	    err.message);
	cr_assert_str_eq(sbc_sandbox_id(sb), "sb1");
	labels = sbc_sandbox_labels(sb, &n);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(labels[0].key, "app");
	cr_assert_eq(sbc_sandbox_start(sb, &pid, &err), 0);
	cr_assert_eq(pid, 4242);
	cr_assert_eq(sbc_sandbox_wait(sb, &status, NULL, &err), 0);
	cr_assert_eq(status, 137);
	sbc_sandbox_free(sb);
	free(sr);
}

Test(client_wire, shutdown_not_found_is_not_an_error)
{
	struct sbc_sandbox	*sb;
	struct sbc_error	 err = {0};
	struct got		 g;

	put_sandbox_reply(1, "sb1");
	put_reply(3, STATUS_NOT_FOUND, "no instance", NULL, NULL);
	put_reply(5, 0, NULL, NULL, NULL);
	cr_assert_eq(sbc_sandbox_load(cli, "sb1", &sb, &err), 0);
	cr_assert_eq(sbc_sandbox_shutdown(sb, &err), 0, "%s", err.message);
	cr_assert_null(err.message);
	sbc_sandbox_free(sb);
	expect_request(&g, 1, SERVICE_STORE, "Get");
	got_free(&g);
	expect_request(&g, 3, SERVICE_CONTROLLER, "Shutdown");
	got_free(&g);
	expect_request(&g, 5, SERVICE_STORE, "Delete");
	got_free(&g);
}

Test(client_wire, shutdown_other_error_keeps_metadata)
{
	struct sbc_sandbox	*sb;
	struct sbc_error	 err = {0};
	struct got		 g;
	uint8_t			 b;

	put_sandbox_reply(1, "sb1");
	put_reply(3, STATUS_INTERNAL, "boom", NULL, NULL);
	cr_assert_eq(sbc_sandbox_load(cli, "sb1", &sb, &err), 0);
	cr_assert_eq(sbc_sandbox_shutdown(sb, &err), STATUS_INTERNAL);
	sbc_error_clear(&err);
	sbc_sandbox_free(sb);
	expect_request(&g, 1, SERVICE_STORE, "Get");
	got_free(&g);
	expect_request(&g, 3, SERVICE_CONTROLLER, "Shutdown");
	got_free(&g);
	/* Nothing more: no Store.Delete. */
	cr_assert_eq(recv(srv_fd, &b, 1, MSG_DONTWAIT), -1);
}

Test(client_wire, shim_status_and_metrics)
{
	crsv_SandboxStatusResponse	*st = calloc(1, sizeof *st);
	crsv_SandboxMetricsResponse	 mr = {0};
	sv_Metrics			 stats = {0};
	struct sbc_status		 s;
	struct sbc_metrics		 m;
	static char			 k[] = "runtime", v[] = "exec";
	static char			 turl[] = "type.googleapis.com/"
					     METRICS_TYPE_URL;
	uint8_t				*sbuf;
	size_t				 slen;

	strcpy(st->sandbox_id, "sb1");
	st->pid = 12;
	strcpy(st->state, "SANDBOX_READY");
	st->info_count = 1;
	st->info[0].key = k;
	st->info[0].value = v;
	put_reply(1, 0, NULL, crsv_SandboxStatusResponse_fields, st);
	stats.rss_bytes = 4096;
	stats.pids = 2;
	cr_assert(msg_encode(sv_Metrics_fields, &stats, &sbuf, &slen, NULL));
	mr.has_metrics = true;
	strcpy(mr.metrics.id, "sb1");
	mr.metrics.has_data = true;
	mr.metrics.data.type_url = turl;
	mr.metrics.data.value.data = sbuf;
	mr.metrics.data.value.len = slen;
	put_reply(3, 0, NULL, crsv_SandboxMetricsResponse_fields, &mr);

	cr_assert_eq(sbc_shim_status(cli, "sb1", true, &s, NULL), 0);
	cr_assert_str_eq(s.state, "SANDBOX_READY");
	cr_assert_eq(s.pid, 12);
	cr_assert_eq(s.ninfo, 1);
	cr_assert_str_eq(s.info[0].value, "exec");
	sbc_status_free(&s);
	cr_assert_eq(sbc_shim_metrics(cli, "sb1", &m, NULL), 0);
	cr_assert(m.has_stats);
	cr_assert_eq(m.rss_bytes, 4096);
	cr_assert_eq(m.pids, 2);
	sbc_metrics_free(&m);
	free(sbuf);
	free(st);
}

/* --- running out of memory ------------------------------------------------ */

/*
 * The library must never exit when memory runs out (it lives in other
 * programs).  Each sweep below first counts the allocations a call makes
 * when all succeed, then runs it again once per allocation with that one
 * failing (and, separately, with it and all later ones failing): every
 * such run must answer SBC_ERR_NOMEM, and LSan (ASan builds) checks at
 * exit that no failure path leaks what it had allocated.
 */

/* Write the fake server's replies for one call. */
typedef void	(*oom_replies_fn)(void);
/* Make the call on c; its result checked and freed on success. */
typedef int	(*oom_call_fn)(struct sbc *, struct sbc_error *);

/* Run one call on a fresh pair with allocation n failing (n < 0: none). */
static int
oom_run(oom_replies_fn replies, oom_call_fn call, long n, bool rest,
    long *count)
{
	struct sbc_error	 err = {0};
	struct sbc		*c;
	int			 sv[2], code;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv_fd = sv[1];
	replies();
	sbc_test_alloc_fail(n, rest);
	if ((c = sbc_open_fd(sv[0])) == NULL)
		code = SBC_ERR_NOMEM;
	else
		code = call(c, &err);
	*count = sbc_test_alloc_count();
	sbc_test_alloc_fail(-1, false);
	if (c == NULL)
		close(sv[0]);
	else if (code != 0)
		cr_assert_eq(err.code, code, "err.code %d, returned %d",
		    err.code, code);
	sbc_close(c);
	close(srv_fd);
	srv_fd = -1;
	sbc_error_clear(&err);
	return (code);
}

/* Fail each allocation of a call in turn: all must give SBC_ERR_NOMEM. */
static void
oom_sweep(oom_replies_fn replies, oom_call_fn call)
{
	long	total, n, count;
	int	code, rest;

	cr_assert_eq(oom_run(replies, call, -1, false, &total), 0);
	cr_assert_gt(total, 2, "the call made %ld allocations", total);
	for (rest = 0; rest < 2; rest++) {
		for (n = 0; n < total; n++) {
			code = oom_run(replies, call, n, rest, &count);
			cr_assert_eq(code, SBC_ERR_NOMEM, "allocation %ld of "
			    "%ld failing%s: code %d", n, total,
			    rest ? " (and the rest)" : "", code);
		}
	}
}

static void
oom_get_replies(void)
{
	put_sandbox_reply(1, "sb1");
}

static int
oom_get_call(struct sbc *c, struct sbc_error *err)
{
	struct sbc_meta	m;
	int		code;

	if ((code = sbc_store_get(c, "sb1", &m, err)) != 0)
		return (code);
	cr_assert_str_eq(sbc_meta_label(&m, "tier"), "x");
	sbc_meta_free(&m);
	return (0);
}

Test(client_oom, store_get, .timeout = 30)
{
	oom_sweep(oom_get_replies, oom_get_call);
}

/* A List reply of three sandboxes, encoded by hand (list is a callback). */
static void
oom_list_replies(void)
{
	ct_Sandbox	*sb = calloc(1, sizeof *sb);
	t_Response	 resp = {0};
	uint8_t		*payload, *one, *env;
	size_t		 plen = 0, olen, elen, i;
	char		 id[8];

	payload = malloc(3 * 4096);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof id, "sb%zu", i);
		fill_sandbox(sb, id);
		cr_assert(msg_encode(ct_Sandbox_fields, sb, &one, &olen, NULL));
		payload[plen++] = (1 << 3) | 2;
		payload[plen++] = (uint8_t)(olen | 0x80);
		payload[plen++] = (uint8_t)(olen >> 7);
		memcpy(payload + plen, one, olen);
		plen += olen;
		free(one);
	}
	resp.payload.data = payload;
	resp.payload.len = plen;
	cr_assert(msg_encode(t_Response_fields, &resp, &env, &elen, NULL));
	put_header(srv_fd, (uint32_t)elen, 1, FRAME_TYPE_RESPONSE);
	put(srv_fd, env, elen);
	free(env);
	free(payload);
	free(sb);
}

static int
oom_list_call(struct sbc *c, struct sbc_error *err)
{
	struct sbc_meta	*list;
	size_t		 n;
	int		 code;

	if ((code = sbc_store_list(c, NULL, 0, &list, &n, err)) != 0)
		return (code);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[2].id, "sb2");
	sbc_meta_list_free(list, n);
	return (0);
}

Test(client_oom, store_list, .timeout = 30)
{
	oom_sweep(oom_list_replies, oom_list_call);
}

static void
oom_start_replies(void)
{
	cssv_ControllerStartResponse	*r = calloc(1, sizeof *r);
	static char			 k[] = "k", v[] = "v", addr[] = "a";
	static char			 turl[] = OCI_SPEC_TYPE_URL;

	r->pid = 42;
	r->labels_count = 1;
	r->labels[0].key = k;
	r->labels[0].value = v;
	r->address = addr;
	r->has_spec = true;
	r->spec.type_url = turl;
	r->spec.value.data = (const pb_byte_t *)"{}";
	r->spec.value.len = 2;
	put_reply(1, 0, NULL, cssv_ControllerStartResponse_fields, r);
	free(r);
}

static int
oom_start_call(struct sbc *c, struct sbc_error *err)
{
	struct sbc_start_info	si;
	int			code;

	if ((code = sbc_ctrl_start(c, "sb1", &si, err)) != 0)
		return (code);
	cr_assert_eq(si.pid, 42);
	cr_assert_str_eq(si.labels[0].value, "v");
	cr_assert_eq(si.spec.len, 2);
	sbc_start_info_free(&si);
	return (0);
}

Test(client_oom, ctrl_start, .timeout = 30)
{
	oom_sweep(oom_start_replies, oom_start_call);
}

static void
oom_status_replies(void)
{
	crsv_SandboxStatusResponse	*st = calloc(1, sizeof *st);
	crsv_SandboxMetricsResponse	 mr = {0};
	sv_Metrics			 stats = {0};
	static char			 k[] = "runtime", v[] = "exec";
	static char			 turl[] = "type.googleapis.com/"
					     METRICS_TYPE_URL;
	uint8_t				*sbuf;
	size_t				 slen;

	strcpy(st->sandbox_id, "sb1");
	strcpy(st->state, "SANDBOX_READY");
	st->info_count = 1;
	st->info[0].key = k;
	st->info[0].value = v;
	put_reply(1, 0, NULL, crsv_SandboxStatusResponse_fields, st);
	stats.pids = 2;
	cr_assert(msg_encode(sv_Metrics_fields, &stats, &sbuf, &slen, NULL));
	mr.has_metrics = true;
	strcpy(mr.metrics.id, "sb1");
	mr.metrics.has_data = true;
	mr.metrics.data.type_url = turl;
	mr.metrics.data.value.data = sbuf;
	mr.metrics.data.value.len = slen;
	put_reply(3, 0, NULL, crsv_SandboxMetricsResponse_fields, &mr);
	free(sbuf);
	free(st);
}

static int
oom_status_call(struct sbc *c, struct sbc_error *err)
{
	struct sbc_status	s;
	struct sbc_metrics	m;
	int			code;

	if ((code = sbc_shim_status(c, "sb1", true, &s, err)) != 0)
		return (code);
	cr_assert_str_eq(s.info[0].value, "exec");
	sbc_status_free(&s);
	if ((code = sbc_shim_metrics(c, "sb1", &m, err)) != 0)
		return (code);
	cr_assert_eq(m.pids, 2);
	sbc_metrics_free(&m);
	return (0);
}

Test(client_oom, status_and_metrics, .timeout = 30)
{
	oom_sweep(oom_status_replies, oom_status_call);
}

static void
oom_new_replies(void)
{
	put_sandbox_reply(1, "sb1");
	put_reply(3, 0, NULL, NULL, NULL);
}

static int
oom_new_call(struct sbc *c, struct sbc_error *err)
{
	struct sbc_label	 labels[] = { { "app", "web" } };
	struct sbc_sandbox_opts	 o = { .labels = labels, .nlabels = 1 };
	struct sbc_sandbox	*sb;
	int			 code;

	if ((code = sbc_sandbox_new(c, "sb1", &o, &sb, err)) != 0)
		return (code);
	cr_assert_str_eq(sbc_sandbox_id(sb), "sb1");
	sbc_sandbox_free(sb);
	return (0);
}

Test(client_oom, sandbox_new, .timeout = 30)
{
	oom_sweep(oom_new_replies, oom_new_call);
}

/* The parts that need no server: copies and parsers. */
Test(client_oom, copies_and_parsers)
{
	struct sbc_label	 labels[] = { { "a", "1" } };
	struct sbc_extension	 exts[] = { { "net", { "t/x", "\x01", 1 } } };
	struct sbc_meta		 in = { .id = "sb1", .runtime = "r",
				     .labels = labels, .nlabels = 1,
				     .extensions = exts, .nextensions = 1 };
	struct sbc_meta		 copy;
	char			*k, *v, *t, *cause;
	long			 n, total;

	sbc_test_alloc_fail(-1, false);
	cr_assert_eq(sbc_meta_copy(&copy, &in), 0);
	total = sbc_test_alloc_count();
	sbc_meta_free(&copy);
	for (n = 0; n < total; n++) {
		sbc_test_alloc_fail(n, false);
		cr_assert_eq(sbc_meta_copy(&copy, &in), SBC_ERR_NOMEM);
		cr_assert_null(copy.id);
	}
	for (n = 0; n < 2; n++) {
		sbc_test_alloc_fail(n, false);
		cause = NULL;
		cr_assert_eq(sbc_label_parse("a=b", &k, &v, &cause), -1);
		cr_assert(k == NULL && v == NULL);
		cr_assert_str_eq(cause, "out of memory");
		free(cause);
	}
	for (n = 0; n < 3; n++) {
		sbc_test_alloc_fail(n, false);
		cr_assert_eq(sbc_extension_parse("n=t:f", &k, &t, &v, NULL), -1);
		cr_assert(k == NULL && t == NULL && v == NULL);
	}
	sbc_test_alloc_fail(-1, false);
	cr_assert_str_eq(sbc_error_name(SBC_ERR_NOMEM), "out of memory");
	cr_assert_eq(sbc_exit_code(SBC_ERR_NOMEM), SBC_EXIT_ERROR);
}

/* A namespace that cannot be copied leaves the old one in place. */
Test(client_oom, set_namespace, .init = pair_setup, .fini = pair_teardown)
{
	sbc_test_alloc_fail(0, true);
	cr_assert_eq(sbc_set_namespace(cli, "k8s.io"), SBC_ERR_NOMEM);
	sbc_test_alloc_fail(-1, false);
	cr_assert_str_eq(sbc_namespace(cli), "default");
}
