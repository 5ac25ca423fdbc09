/*
 * test_events.c: the events module against a fake containerd.
 *
 * The fake is a ttrpc server on a Unix socket in the test's directory,
 * on the same loop as the publisher: it decodes each Forward down to the
 * event (Request, metadata, ForwardRequest, Envelope, Any, TaskExit) and
 * answers OK, or an error, or closes the connection, as the test asks.
 * Tests run the loop until what they wait for has happened or a deadline
 * has passed.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "containerd/events/task.pb.h"
#include "containerd/services/events/ttrpc/v1/events.pb.h"
#include "events.h"
#include "evint.h"
#include "frame.h"
#include "pbutil.h"
#include "protocol.h"
#include "ttrpc.pb.h"

#define TEST_TIMEOUT	30
#define MAX_SEEN	256

/* What the fake containerd received, one entry per Forward. */
struct seen {
	char		ns_md[80];	/* request metadata */
	char		ns[80];		/* envelope */
	char		topic[64];
	char		type_url[128];
	char		container_id[80];
	uint32_t	pid;
	uint32_t	exit_status;
	bool		has_timestamp;
};

static struct {
	struct event_base	*base;
	char			 dir[64];
	char			 sock[100];
	int			 lfd;
	struct event		*accept_ev;
	struct bufferevent	*conn;
	struct seen		 seen[MAX_SEEN];
	int			 nseen;
	int			 fail_nth;	/* answer request n (1-based) with an error */
	int			 close_nth;	/* close without answering request n */
	bool			 silent;	/* answer nothing */
} fk;

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return (remove(path));
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	memset(&fk, 0, sizeof(fk));
	fk.lfd = -1;
	snprintf(fk.dir, sizeof(fk.dir), "/tmp/test_events.XXXXXX");
	cr_assert_not_null(mkdtemp(fk.dir));
	snprintf(fk.sock, sizeof(fk.sock), "%s/containerd.sock.ttrpc", fk.dir);
	cr_assert_not_null(fk.base = event_base_new());
	ev_tuning.backoff_min_ms = 10;
	ev_tuning.backoff_max_ms = 40;
	ev_tuning.answer_timeout_ms = 2000;
	cr_assert_eq(events_init(fk.base, fk.dir), 0);
}

static void
fake_stop(void)
{
	if (fk.conn != NULL)
		bufferevent_free(fk.conn);
	fk.conn = NULL;
	if (fk.accept_ev != NULL)
		event_free(fk.accept_ev);
	fk.accept_ev = NULL;
	if (fk.lfd != -1)
		close(fk.lfd);
	fk.lfd = -1;
	unlink(fk.sock);
}

static void
teardown(void)
{
	events_fini();
	fake_stop();
	event_base_free(fk.base);
	nftw(fk.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Decode one Forward request down to the TaskExit it carries. */
static void
fake_record(const uint8_t *payload, size_t len)
{
	t_Request		 req = {0};
	csetv_ForwardRequest	 fwd = {0};
	cev_TaskExit		 ex = {0};
	struct seen		*s;
	char			*err = NULL;
	size_t			 i;

	cr_assert_lt(fk.nseen, MAX_SEEN);
	s = &fk.seen[fk.nseen++];
	cr_assert(msg_decode(t_Request_fields, &req, payload, len, &err),
	    "request: %s", err);
	cr_assert_str_eq(req.service, "containerd.services.events.ttrpc.v1.Events");
	cr_assert_str_eq(req.method, "Forward");
	for (i = 0; i < req.metadata_count; i++) {
		if (strcmp(req.metadata[i].key, "containerd-namespace-ttrpc") == 0)
			snprintf(s->ns_md, sizeof(s->ns_md), "%s",
			    req.metadata[i].value);
	}
	cr_assert(msg_decode(csetv_ForwardRequest_fields, &fwd,
	    req.payload.data, req.payload.len, &err), "forward: %s", err);
	cr_assert(fwd.has_envelope);
	s->has_timestamp = fwd.envelope.has_timestamp &&
	    fwd.envelope.timestamp.seconds > 0;
	snprintf(s->ns, sizeof(s->ns), "%s", fwd.envelope.namespace);
	snprintf(s->topic, sizeof(s->topic), "%s", fwd.envelope.topic);
	cr_assert(fwd.envelope.has_event);
	snprintf(s->type_url, sizeof(s->type_url), "%s",
	    fwd.envelope.event.type_url);
	if (strcmp(s->type_url, "containerd.events.TaskExit") == 0) {
		cr_assert(msg_decode(cev_TaskExit_fields, &ex,
		    fwd.envelope.event.value.data, fwd.envelope.event.value.len,
		    &err), "TaskExit: %s", err);
		snprintf(s->container_id, sizeof(s->container_id), "%s",
		    ex.container_id);
		s->pid = ex.pid;
		s->exit_status = ex.exit_status;
		msg_release(cev_TaskExit_fields, &ex);
	}
	msg_release(csetv_ForwardRequest_fields, &fwd);
	msg_release(t_Request_fields, &req);
}

/* Answer stream sid: OK (an empty Empty) or an error status. */
static void
fake_answer(uint32_t sid, bool fail)
{
	t_Response		 resp = {0};
	struct frame_header	 fh = {0};
	uint8_t			 hdr[FRAME_HEADER_SIZE], *buf;
	size_t			 len;

	if (fail) {
		resp.has_status = true;
		resp.status.code = STATUS_INVALID_ARGUMENT;
		resp.status.message = (char *)"topic refused by the test";
	}
	cr_assert(msg_encode(t_Response_fields, &resp, &buf, &len, NULL));
	fh.length = (uint32_t)len;
	fh.stream_id = sid;
	fh.type = FRAME_TYPE_RESPONSE;
	frame_header_build(&fh, hdr);
	bufferevent_write(fk.conn, hdr, sizeof(hdr));
	bufferevent_write(fk.conn, buf, len);
	free(buf);
}

static void
fake_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct frame_header	 fh;
	uint8_t			 hdr[FRAME_HEADER_SIZE], *p;

	(void)arg;
	while (evbuffer_get_length(in) >= FRAME_HEADER_SIZE) {
		evbuffer_copyout(in, hdr, sizeof(hdr));
		frame_header_parse(hdr, &fh);
		if (evbuffer_get_length(in) < FRAME_HEADER_SIZE + fh.length)
			return;
		cr_assert_eq(fh.type, FRAME_TYPE_REQUEST);
		cr_assert_eq(fh.stream_id % 2, 1, "client streams are odd");
		p = evbuffer_pullup(in, FRAME_HEADER_SIZE + fh.length);
		fake_record(p + FRAME_HEADER_SIZE, fh.length);
		if (fk.nseen == fk.close_nth) {
			bufferevent_free(fk.conn);
			fk.conn = NULL;
			return;
		}
		if (!fk.silent)
			fake_answer(fh.stream_id, fk.nseen == fk.fail_nth);
		evbuffer_drain(in, FRAME_HEADER_SIZE + fh.length);
	}
}

static void
fake_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (bev == fk.conn) {
		bufferevent_free(fk.conn);
		fk.conn = NULL;
	}
}

static void
fake_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	int	fd;

	(void)what;
	(void)arg;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if (fk.conn != NULL)
		bufferevent_free(fk.conn);	/* one client at a time */
	fk.conn = bufferevent_socket_new(fk.base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(fk.conn, fake_read_cb, NULL, fake_event_cb, NULL);
	bufferevent_enable(fk.conn, EV_READ);
}

/* Listen at fk.sock, on the test's loop. */
static void
fake_start(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fk.sock);
	fk.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_neq(fk.lfd, -1);
	cr_assert_eq(bind(fk.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "bind: %s", strerror(errno));
	cr_assert_eq(listen(fk.lfd, 16), 0);
	fk.accept_ev = event_new(fk.base, fk.lfd, EV_READ | EV_PERSIST,
	    fake_accept_cb, NULL);
	event_add(fk.accept_ev, NULL);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Run the loop until *count reaches want or seconds pass. */
static void
run_until(const int *count, int want, double seconds)
{
	double	end = now_s() + seconds;

	while (*count < want && now_s() < end) {
		struct timeval	tv = { 0, 10000 };

		event_base_loopexit(fk.base, &tv);
		event_base_loop(fk.base, EVLOOP_ONCE);
	}
}

/* Run the loop for a while, whatever happens. */
static void
run_for(double seconds)
{
	int	never = 0;

	run_until(&never, 1, seconds);
}

/* Publish TaskExit events with pids first..first+n-1. */
static void
publish_exits(const char *ns, int first, int n)
{
	cev_TaskExit	ex = {0};
	char		id[32];
	int		i;

	for (i = first; i < first + n; i++) {
		snprintf(id, sizeof(id), "ctr-%d", i);
		ex.container_id = id;
		ex.id = id;
		ex.pid = (uint32_t)i;
		ex.exit_status = (uint32_t)(i % 256);
		ex.has_exited_at = true;
		ts_now(&ex.exited_at);
		cr_assert_eq(events_publish(ns, EVENTS_TOPIC_TASK_EXIT,
		    cev_TaskExit_fields, &ex), 0);
	}
}

/* The fake saw the TaskExits with pids first.. in order, as published. */
static void
assert_seen_in_order(int from, int first, int n, const char *ns)
{
	char	id[32];
	int	i;

	for (i = 0; i < n; i++) {
		struct seen	*s = &fk.seen[from + i];

		snprintf(id, sizeof(id), "ctr-%d", first + i);
		cr_assert_eq(s->pid, (uint32_t)(first + i), "event %d: pid %u",
		    from + i, s->pid);
		cr_assert_str_eq(s->container_id, id);
		cr_assert_eq(s->exit_status, (uint32_t)((first + i) % 256));
		cr_assert_str_eq(s->ns, ns);
		cr_assert_str_eq(s->ns_md, ns);
		cr_assert_str_eq(s->topic, "/tasks/exit");
		cr_assert_str_eq(s->type_url, "containerd.events.TaskExit");
		cr_assert(s->has_timestamp);
	}
}

Test(events, delivered_in_order, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct events_stats	st;
	char			*err = NULL;

	fake_start();
	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	publish_exits("k8s.io", 0, 200);
	run_until(&fk.nseen, 200, 10);
	cr_assert_eq(fk.nseen, 200);
	assert_seen_in_order(0, 0, 200, "k8s.io");
	run_for(0.2);
	events_get_stats(&st);
	cr_assert_eq(st.published, 200);
	cr_assert_eq(st.delivered, 200);
	cr_assert_eq(st.queued, 0);
	cr_assert_eq(st.connects, 1);
	cr_assert_eq(fk.nseen, 200, "nothing sent twice");
}

/* Every task topic goes with its own message type and type URL. */
Test(events, every_task_topic, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	static const char *const urls[] = {
		"containerd.events.TaskCreate", "containerd.events.TaskStart",
		"containerd.events.TaskExecAdded",
		"containerd.events.TaskExecStarted",
		"containerd.events.TaskOOM", "containerd.events.TaskExit",
		"containerd.events.TaskDelete",
	};
	cev_TaskCreate		cr = {0};
	cev_TaskStart		sta = {0};
	cev_TaskExecAdded	ea = {0};
	cev_TaskExecStarted	es = {0};
	cev_TaskOOM		oom = {0};
	cev_TaskExit		ex = {0};
	cev_TaskDelete		del = {0};
	char			*err = NULL;
	size_t			 i;

	cr.container_id = sta.container_id = ea.container_id =
	    es.container_id = oom.container_id = ex.container_id =
	    del.container_id = (char *)"c1";
	cr.bundle = (char *)"/run/bundle/c1";
	cr.has_io = true;
	cr.io.stdout = (char *)"/run/fifo/c1-stdout";
	cr.pid = 42;
	ea.exec_id = es.exec_id = (char *)"e1";
	fake_start();
	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	cr_assert_eq(events_publish("default", EVENTS_TOPIC_TASK_CREATE,
	    cev_TaskCreate_fields, &cr), 0);
	cr_assert_eq(events_publish("default", EVENTS_TOPIC_TASK_START,
	    cev_TaskStart_fields, &sta), 0);
	cr_assert_eq(events_publish("default", EVENTS_TOPIC_TASK_EXEC_ADDED,
	    cev_TaskExecAdded_fields, &ea), 0);
	cr_assert_eq(events_publish("default", EVENTS_TOPIC_TASK_EXEC_STARTED,
	    cev_TaskExecStarted_fields, &es), 0);
	cr_assert_eq(events_publish("default", EVENTS_TOPIC_TASK_OOM,
	    cev_TaskOOM_fields, &oom), 0);
	cr_assert_eq(events_publish("default", EVENTS_TOPIC_TASK_EXIT,
	    cev_TaskExit_fields, &ex), 0);
	cr_assert_eq(events_publish("default", EVENTS_TOPIC_TASK_DELETE,
	    cev_TaskDelete_fields, &del), 0);
	run_until(&fk.nseen, 7, 10);
	cr_assert_eq(fk.nseen, 7);
	for (i = 0; i < 7; i++)
		cr_assert_str_eq(fk.seen[i].type_url, urls[i]);
	cr_assert_str_eq(fk.seen[0].topic, "/tasks/create");
	cr_assert_str_eq(fk.seen[3].topic, "/tasks/exec-started");
	cr_assert_str_eq(fk.seen[6].topic, "/tasks/delete");
}

Test(events, queued_while_containerd_is_down, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct events_stats	st;
	char			*err = NULL;

	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	publish_exits("k8s.io", 0, 10);
	run_for(0.3);		/* several failed connects, with backoff */
	events_get_stats(&st);
	cr_assert_eq(st.delivered, 0);
	cr_assert_eq(st.queued, 10);
	cr_assert_eq(st.abandoned, 0, "never sent: no attempt lost");
	publish_exits("k8s.io", 10, 5);
	fake_start();
	run_until(&fk.nseen, 15, 10);
	cr_assert_eq(fk.nseen, 15);
	assert_seen_in_order(0, 0, 15, "k8s.io");
	run_for(0.2);
	events_get_stats(&st);
	cr_assert_eq(st.delivered, 15);
	cr_assert_eq(st.queued, 0);
}

Test(events, error_answer_drops_one_event, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct events_stats	st;
	char			*err = NULL;

	fk.fail_nth = 2;
	fake_start();
	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	publish_exits("default", 0, 5);
	run_until(&fk.nseen, 5, 10);
	run_for(0.1);
	cr_assert_eq(fk.nseen, 5, "the refused event is not sent again");
	assert_seen_in_order(0, 0, 5, "default");
	events_get_stats(&st);
	cr_assert_eq(st.rejected, 1);
	cr_assert_eq(st.delivered, 4);
	cr_assert_eq(st.queued, 0);
}

/* A connection that breaks before the answer: the event is sent again. */
Test(events, lost_answer_resent, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct events_stats	st;
	char			*err = NULL;

	fk.close_nth = 2;
	fake_start();
	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	publish_exits("default", 0, 4);
	run_until(&fk.nseen, 5, 10);
	cr_assert_eq(fk.nseen, 5);
	assert_seen_in_order(0, 0, 2, "default");
	assert_seen_in_order(2, 1, 3, "default");	/* pid 1 again, then on */
	run_for(0.2);
	events_get_stats(&st);
	cr_assert_eq(st.delivered, 4);
	cr_assert_eq(st.connects, 2);
}

Test(events, overflow_drops_oldest, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct events_stats	st;
	char			*err = NULL;

	ev_tuning.queue_max = 8;
	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	publish_exits("k8s.io", 0, 20);
	run_for(0.1);
	events_get_stats(&st);
	cr_assert_eq(st.queued, 8);
	cr_assert_eq(st.overflowed, 12);
	cr_assert_eq(st.published, 20);
	fake_start();
	run_until(&fk.nseen, 8, 10);
	run_for(0.2);
	cr_assert_eq(fk.nseen, 8);
	assert_seen_in_order(0, 12, 8, "k8s.io");
	ev_tuning.queue_max = EVENTS_QUEUE_MAX;
}

Test(events, bad_input_changes_nothing, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct events_stats	st;
	cev_TaskExit		ex = { .container_id = (char *)"c" };
	cev_TaskStart		sta = { .container_id = (char *)"c" };
	char			*err = NULL, longns[100], longpath[200];

	memset(longns, 'n', sizeof(longns) - 1);
	longns[sizeof(longns) - 1] = '\0';
	cr_assert_eq(events_publish("default", "/tasks/nope",
	    cev_TaskExit_fields, &ex), -1);
	cr_assert_eq(events_publish("default", EVENTS_TOPIC_TASK_EXIT,
	    cev_TaskStart_fields, &sta), -1, "topic and type disagree");
	cr_assert_eq(events_publish("", EVENTS_TOPIC_TASK_EXIT,
	    cev_TaskExit_fields, &ex), -1);
	cr_assert_eq(events_publish(NULL, EVENTS_TOPIC_TASK_EXIT,
	    cev_TaskExit_fields, &ex), -1);
	cr_assert_eq(events_publish(longns, EVENTS_TOPIC_TASK_EXIT,
	    cev_TaskExit_fields, &ex), -1);
	events_get_stats(&st);
	cr_assert_eq(st.published, 0);
	cr_assert_eq(st.queued, 0);

	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	cr_assert_eq(events_set_address("relative/path", &err), -1);
	cr_assert_not_null(err);
	free(err);
	err = NULL;
	cr_assert_eq(events_set_address("", &err), -1);
	free(err);
	err = NULL;
	cr_assert_eq(events_set_address("unix://", &err), -1);
	free(err);
	err = NULL;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	cr_assert_eq(events_set_address(longpath, &err), -1, "over sun_path");
	free(err);
	cr_assert_str_eq(events_address(), fk.sock, "unchanged");
}

/* The address survives a restart; "unix://" is accepted and stripped. */
Test(events, address_remembered, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	char	*err = NULL, url[200], file[200], buf[200];
	ssize_t	 n;
	int	 fd;

	snprintf(url, sizeof(url), "unix://%s", fk.sock);
	cr_assert_eq(events_set_address(url, &err), 0, "%s", err);
	cr_assert_str_eq(events_address(), fk.sock);
	snprintf(file, sizeof(file), "%s/events-address", fk.dir);
	cr_assert_neq(fd = open(file, O_RDONLY), -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, fk.sock);

	events_fini();
	cr_assert_null(events_address());
	cr_assert_eq(events_init(fk.base, fk.dir), 0);
	cr_assert_str_eq(events_address(), fk.sock);
	fake_start();
	publish_exits("k8s.io", 7, 1);
	run_until(&fk.nseen, 1, 10);
	cr_assert_eq(fk.nseen, 1);
	assert_seen_in_order(0, 7, 1, "k8s.io");
}

/* A re-execution: the queue goes across as bytes and is delivered after. */
Test(events, queue_carried_over_reexec, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct events_stats	 st;
	uint8_t			*buf = NULL;
	size_t			 len = 0;
	char			*err = NULL;

	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	publish_exits("k8s.io", 0, 6);
	run_for(0.1);
	cr_assert_eq(events_export(&buf, &len), 0);
	cr_assert_gt(len, 0);

	/* Truncated or padded bytes are refused and queue nothing. */
	events_fini();
	cr_assert_eq(events_init(fk.base, fk.dir), 0);
	cr_assert_eq(events_import(buf, len - 1, &err), -1);
	cr_assert_not_null(err);
	free(err);
	err = NULL;
	events_get_stats(&st);
	cr_assert_eq(st.queued, 0);

	/* The next image: the saved address, the imported queue first. */
	events_fini();
	cr_assert_eq(events_init(fk.base, fk.dir), 0);
	cr_assert_eq(events_import(buf, len, &err), 0, "%s", err);
	free(buf);
	publish_exits("k8s.io", 6, 2);
	events_get_stats(&st);
	cr_assert_eq(st.queued, 8);
	fake_start();
	run_until(&fk.nseen, 8, 10);
	cr_assert_eq(fk.nseen, 8);
	assert_seen_in_order(0, 0, 8, "k8s.io");
	run_for(0.2);		/* the last answer */

	cr_assert_eq(events_export(&buf, &len), 0);
	cr_assert_null(buf, "an empty queue exports nothing");
	cr_assert_eq(len, 0);
}

/* The event on the wire is never the one dropped for room. */
Test(events, overflow_spares_the_event_in_flight, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct events_stats	st;
	char			*err = NULL;

	ev_tuning.queue_max = 1;
	fk.silent = true;
	fake_start();
	cr_assert_eq(events_set_address(fk.sock, &err), 0, "%s", err);
	publish_exits("k8s.io", 0, 1);
	run_until(&fk.nseen, 1, 10);
	cr_assert_eq(fk.nseen, 1, "pid 0 is on the wire, unanswered");
	publish_exits("k8s.io", 1, 5);
	events_get_stats(&st);
	cr_assert_eq(st.queued, 2, "the one in flight and the newest");
	cr_assert_eq(st.overflowed, 4);
	fk.silent = false;
	ev_tuning.queue_max = EVENTS_QUEUE_MAX;
}

/* An address that cannot be saved is not used either. */
Test(events, unsaved_address_not_used, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	char	*err = NULL, gone[128];

	events_fini();
	snprintf(gone, sizeof(gone), "%s/no-such-dir", fk.dir);
	cr_assert_eq(events_init(fk.base, gone), 0);
	cr_assert_eq(events_set_address(fk.sock, &err), -2);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "no-such-dir"), "%s", err);
	free(err);
	cr_assert_null(events_address());
}
