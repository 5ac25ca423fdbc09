/*
 * test_commit.c: commits off the loop, in process.  Two client
 * connections on socketpairs, the loop pumped by hand as loop_run does,
 * and the commit thread slowed by the storage test hook so that what
 * waits for a commit, and what does not, can be seen.
 */
#include <sys/socket.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "frame.h"
#include "pbutil.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "storage_test.h"
#include "ttrpc.pb.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"

#define DELAY_MS	400	/* how long the commit thread sleeps */

static struct config	test_cfg;
static char		tmpdir[] = "/tmp/sbd-test-commit.XXXXXX";
static int		peer_a = -1, peer_b = -1;

/* A connection of the daemon on one end of a socketpair; the other. */
static int
connect_peer(void)
{
	int	sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
	    0);
	conn_accept(server_base, sv[0]);
	return (sv[1]);
}

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
	config_defaults(&test_cfg);
	cfg = &test_cfg;
	log_init(NULL, LOG_LEVEL_WARN);
	cr_assert_eq(store_open(tmpdir, NULL), 0);
	server_base = event_base_new();
	peer_a = connect_peer();
	peer_b = connect_peer();
}

static void
teardown(void)
{
	char	cmd[128];

	conn_close_all();
	conn_free_dead();
	store_close();
	close(peer_a);
	close(peer_b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* One pass of the loop as loop_run makes it; fails if it blocked. */
static void
pump_once(void)
{
	int64_t	t0 = now_ms();

	event_base_loop(server_base, EVLOOP_NONBLOCK);
	loop_after_iteration();
	cr_assert_lt(now_ms() - t0, DELAY_MS / 4,
	    "a loop pass took %lld ms: it waited for the commit",
	    (long long)(now_ms() - t0));
}

/* Send a ttrpc request with a message body in namespace "default". */
static void
send_request(int fd, uint32_t stream, const char *method,
    const pb_msgdesc_t *fields, const void *msg)
{
	t_Request		 req = { 0 };
	struct frame_header	 fh;
	uint8_t			*body, *buf, hdr[FRAME_HEADER_SIZE];
	size_t			 blen, len;

	cr_assert(msg_encode(fields, msg, &body, &blen, NULL));
	snprintf(req.service, sizeof(req.service), "%s", SERVICE_STORE);
	snprintf(req.method, sizeof(req.method), "%s", method);
	req.payload.data = body;
	req.payload.len = blen;
	req.metadata_count = 1;
	req.metadata[0].key = (char *)MD_NAMESPACE_TTRPC;
	req.metadata[0].value = (char *)"default";
	cr_assert(msg_encode(t_Request_fields, &req, &buf, &len, NULL));
	fh = (struct frame_header){ (uint32_t)len, stream, FRAME_TYPE_REQUEST,
	    0 };
	frame_header_build(&fh, hdr);
	cr_assert_eq(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	free(body);
	free(buf);
}

static void
send_create(int fd, uint32_t stream, const char *id)
{
	cssv_StoreCreateRequest	*req = calloc(1, sizeof(*req));

	req->has_sandbox = true;
	snprintf(req->sandbox.sandbox_id, sizeof(req->sandbox.sandbox_id),
	    "%s", id);
	send_request(fd, stream, "Create", cssv_StoreCreateRequest_fields,
	    req);
	free(req);
}

static void
send_get(int fd, uint32_t stream, const char *id)
{
	cssv_StoreGetRequest	get = { 0 };

	snprintf(get.sandbox_id, sizeof(get.sandbox_id), "%s", id);
	send_request(fd, stream, "Get", cssv_StoreGetRequest_fields, &get);
}

/*
 * Pump the loop for up to ms, until an answer is readable on fd; then
 * read it: 1 with *stream and *code, 0 if none came in time.
 */
static int
recv_within(int fd, int ms, uint32_t *stream, int *code)
{
	struct frame_header	 fh;
	struct pollfd		 pfd = { .fd = fd, .events = POLLIN };
	uint8_t			 hdr[FRAME_HEADER_SIZE], body[4096];
	t_Response		 resp = { 0 };
	int64_t			 end = now_ms() + ms;

	do {
		pump_once();
		if (poll(&pfd, 1, 2) == 1)
			break;
	} while (now_ms() < end);
	if (!(pfd.revents & POLLIN))
		return (0);
	cr_assert_eq(read(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	frame_header_parse(hdr, &fh);
	cr_assert_leq(fh.length, sizeof(body));
	cr_assert_eq(read(fd, body, fh.length), (ssize_t)fh.length);
	cr_assert(msg_decode(t_Response_fields, &resp, body, fh.length, NULL));
	*stream = fh.stream_id;
	*code = resp.status.code;
	msg_release(t_Response_fields, &resp);
	return (1);
}

/* Expect an answer with code on fd within ms; returns when it came. */
static int64_t
expect_within(int fd, int ms, uint32_t stream, int code)
{
	uint32_t	got_stream;
	int		got_code;

	cr_assert_eq(recv_within(fd, ms, &got_stream, &got_code), 1,
	    "no answer for stream %u within %d ms", stream, ms);
	cr_assert_eq(got_stream, stream);
	cr_assert_eq(got_code, code, "stream %u: code %d, want %d", stream,
	    got_code, code);
	return (now_ms());
}

/* Expect nothing on fd for ms while the loop runs. */
static void
expect_silence(int fd, int ms, const char *what)
{
	uint32_t	stream;
	int		code;

	cr_assert_eq(recv_within(fd, ms, &stream, &code), 0,
	    "%s: answered (stream %u, code %d) before its commit", what,
	    stream, code);
}

/* Pump until the create on peer a is with the commit thread. */
static int64_t
start_delayed_create(const char *id)
{
	int	i;

	store_delay_commits(DELAY_MS);
	send_create(peer_a, 1, id);
	for (i = 0; i < 100 && !store_commit_busy(); i++) {
		pump_once();
		usleep(1000);
	}
	cr_assert(store_commit_busy(), "the create was never handed over");
	return (now_ms());
}

TestSuite(commit, .init = setup, .fini = teardown, .timeout = 30);

/*
 * A Get sent on another connection while a Create is being written sees
 * the new record, and is not answered before the Create's commit is.
 */
Test(commit, read_after_write_waits_for_its_commit)
{
	int64_t	t0, ta, tb;

	t0 = start_delayed_create("fresh");
	send_get(peer_b, 1, "fresh");
	expect_silence(peer_b, DELAY_MS / 2, "Get of a record being written");
	ta = expect_within(peer_a, 5000, 1, STATUS_OK);
	tb = expect_within(peer_b, 1000, 1, STATUS_OK);
	cr_assert_geq(ta - t0, DELAY_MS - 50, "create answered after %lld ms",
	    (long long)(ta - t0));
	cr_assert_geq(tb, ta);
	cr_assert_not(store_pending());
}

/* Even a read that found nothing waits for the batch in flight. */
Test(commit, any_read_waits_for_the_batch_in_flight)
{
	int64_t	t0, tb;

	t0 = start_delayed_create("other");
	send_get(peer_b, 1, "missing");
	expect_silence(peer_b, DELAY_MS / 2, "Get during a commit");
	tb = expect_within(peer_b, 5000, 1, STATUS_NOT_FOUND);
	cr_assert_geq(tb - t0, DELAY_MS - 50);
	expect_within(peer_a, 1000, 1, STATUS_OK);
}

/* With nothing pending and nothing in flight a read is not held up. */
Test(commit, quiet_read_is_not_delayed)
{
	int64_t	t0, tb;

	store_delay_commits(DELAY_MS);
	t0 = now_ms();
	send_get(peer_b, 1, "missing");
	tb = expect_within(peer_b, DELAY_MS / 2, 1, STATUS_NOT_FOUND);
	cr_assert_lt(tb - t0, DELAY_MS / 2);
}

/*
 * While one batch is written the loop goes on: later creates are
 * dispatched and go into the next batch, written together once the first
 * is done (group commit); each answer waits for its own batch.
 */
Test(commit, writes_during_a_commit_form_the_next_batch)
{
	uint64_t	first;
	int		i;

	start_delayed_create("one");
	first = store_seq_settled();
	for (i = 0; i < 4; i++) {
		char	id[16];

		snprintf(id, sizeof(id), "later%d", i);
		send_create(peer_b, 1 + 2 * (uint32_t)i, id);
		pump_once();
	}
	cr_assert(store_exists(STORE_SANDBOX, "default", "later3"));
	expect_within(peer_a, 5000, 1, STATUS_OK);
	cr_assert_eq(store_seq_settled(), first + 1);
	cr_assert(store_commit_busy(), "the next batch is not in flight");
	for (i = 0; i < 4; i++)
		expect_within(peer_b, 5000, 1 + 2 * (uint32_t)i, STATUS_OK);
	cr_assert_eq(store_seq_settled(), first + 2,
	    "four creates took %llu commits",
	    (unsigned long long)(store_seq_settled() - first - 1));
}

/*
 * A failed write: the answers waiting for it, and the read parked
 * meanwhile, get Internal; the record is gone; the daemon is leaving.
 */
Test(commit, failed_commit_answers_internal)
{
	store_fail_commits_after(0);
	start_delayed_create("doomed");
	send_get(peer_b, 1, "doomed");
	expect_silence(peer_b, DELAY_MS / 2, "Get during a failing commit");
	expect_within(peer_a, 5000, 1, STATUS_INTERNAL);
	expect_within(peer_b, 1000, 1, STATUS_INTERNAL);
	cr_assert_not(store_exists(STORE_SANDBOX, "default", "doomed"));
	cr_assert(loop_quitting());
	store_fail_commits_after(-1);
}

/* What the handler-shaped callbacks below saw. */
struct late_write {
	uint64_t	write_seq;	/* the batch the write went into */
	uint64_t	quiet_seq;	/* store_seq_needed before it */
	bool		hook_ran;
	bool		hook_committed;
	uint64_t	hook_settled;	/* store_seq_settled when it ran */
};

/* Queue a record's write, as a handler does after it has answered. */
static void
late_write(struct late_write *lw, const char *id)
{
	lw->quiet_seq = store_seq_needed();
	store_put(STORE_SANDBOX, "default", id, "x", 1);
	lw->write_seq = store_seq_needed();
}

/*
 * Runs in the same loop pass as the Get dispatched just before it, as
 * the second half of a handler that answered first: a pass activates its
 * I/O events before the timeouts that expired (a zero timeout would be
 * activated at once, before the I/O: hence the microsecond, and a sleep
 * before the pass longer than a tick of libevent's coarse clock).
 */
static void
late_write_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	late_write(arg, "late");
}

static void
late_hook_cb(bool committed, void *arg)
{
	struct late_write	*lw = arg;

	lw->hook_ran = true;
	lw->hook_committed = committed;
	lw->hook_settled = store_seq_settled();
}

/* A hook asked for, then a write, in one callback. */
static void
hook_then_write_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	call_after_commit(late_hook_cb, arg);
	late_write(arg, "hooked");
}

/*
 * An answer parked on a quiet store, then a write queued later in the
 * same iteration (the shape of a Shutdown that answered before its
 * record's delete): the answer must wait for that write's commit, not
 * leave with the iteration as a quiet read does.
 */
Test(commit, answer_parked_before_a_write_waits_for_it)
{
	struct late_write	lw = { 0 };
	struct timeval		soon = { 0, 1 };
	int64_t			t0, tb;

	store_delay_commits(DELAY_MS);
	send_get(peer_b, 1, "missing");
	cr_assert_eq(event_base_once(server_base, -1, EV_TIMEOUT,
	    late_write_cb, &lw, &soon), 0);
	usleep(20000);
	t0 = now_ms();
	pump_once();
	cr_assert_gt(lw.write_seq, lw.quiet_seq, "the write was not queued "
	    "in the first pass, or the store was not quiet");
	expect_silence(peer_b, DELAY_MS / 2, "Get answered before a write "
	    "of its iteration");
	tb = expect_within(peer_b, 5000, 1, STATUS_NOT_FOUND);
	cr_assert_geq(store_seq_settled(), lw.write_seq);
	cr_assert_geq(tb - t0, DELAY_MS - 50, "answered after %lld ms",
	    (long long)(tb - t0));
}

/* The same for a commit hook asked for before the write. */
Test(commit, hook_asked_before_a_write_waits_for_it)
{
	struct late_write	lw = { 0 };
	struct timeval		now = { 0, 0 };
	int			i;

	store_delay_commits(DELAY_MS);
	cr_assert_eq(event_base_once(server_base, -1, EV_TIMEOUT,
	    hook_then_write_cb, &lw, &now), 0);
	pump_once();
	cr_assert_gt(lw.write_seq, lw.quiet_seq);
	for (i = 0; i < 5000 && !lw.hook_ran; i++) {
		pump_once();
		usleep(1000);
	}
	cr_assert(lw.hook_ran, "the hook never ran");
	cr_assert(lw.hook_committed);
	cr_assert_geq(lw.hook_settled, lw.write_seq, "the hook ran with "
	    "batch %llu settled, before its iteration's write (batch %llu)",
	    (unsigned long long)lw.hook_settled,
	    (unsigned long long)lw.write_seq);
}
