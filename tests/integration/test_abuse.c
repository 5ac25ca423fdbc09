/*
 * test_abuse.c: hostile clients against the real daemon (issue 10):
 * extreme deadlines, peers that never read, uids that would lock root
 * out, a socket path that cannot be made, and a Stop whose commit fails.
 * The in-process framing cases (stalled frames, idle, in-flight) are in
 * tests/unit/test_server.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "frame.h"
#include "itest.h"
#include "protocol.h"
#include "sbc.h"
#include "ttrpc.pb.h"

#define PEER_GROUP	"adm"		/* a group every Debian has */

TestSuite(abuse, .fini = itest_teardown);

/* A plain stream connection to the daemon. */
static int
raw_connect(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	cr_assert_lt(strlen(itest_d.socket), sizeof sun.sun_path);
	memcpy(sun.sun_path, itest_d.socket, strlen(itest_d.socket) + 1);
	cr_assert_neq(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0,
	    "connect: %s", strerror(errno));
	return (fd);
}

/* A request frame: method's msg, in namespace default, timeout_nano. */
static uint8_t *
build_frame(uint32_t sid, const char *svc, const char *method,
    const pb_msgdesc_t *fields, const void *msg, int64_t timeout,
    size_t *len)
{
	t_Request		 req = { 0 };
	struct frame_header	 fh;
	uint8_t			 body[1024], *frame;
	pb_ostream_t		 os = pb_ostream_from_buffer(body, sizeof body);
	size_t			 size;

	cr_assert(pb_encode(&os, fields, msg));
	snprintf(req.service, sizeof req.service, "%s", svc);
	snprintf(req.method, sizeof req.method, "%s", method);
	req.payload.data = body;
	req.payload.len = os.bytes_written;
	req.timeout_nano = timeout;
	req.metadata_count = 1;
	req.metadata[0].key = (char *)MD_NAMESPACE_TTRPC;
	req.metadata[0].value = (char *)"default";
	cr_assert(pb_get_encoded_size(&size, t_Request_fields, &req));
	frame = malloc(FRAME_HEADER_SIZE + size);
	os = pb_ostream_from_buffer(frame + FRAME_HEADER_SIZE, size);
	cr_assert(pb_encode(&os, t_Request_fields, &req));
	fh = (struct frame_header){ (uint32_t)size, sid, FRAME_TYPE_REQUEST, 0 };
	frame_header_build(&fh, frame);
	*len = FRAME_HEADER_SIZE + size;
	return (frame);
}

/* Read exactly len bytes within ms; false on EOF, error or time out. */
static bool
read_full(int fd, uint8_t *buf, size_t len, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	size_t		got = 0;
	ssize_t		n;

	while (got < len) {
		if (poll(&pfd, 1, ms) <= 0)
			return (false);
		if ((n = read(fd, buf + got, len - got)) <= 0)
			return (false);
		got += (size_t)n;
	}
	return (true);
}

/* The status code of the next answer on fd (-1: none within 30 s). */
static int
read_code(int fd, uint32_t *sid)
{
	struct frame_header	 fh;
	uint8_t			 hdr[FRAME_HEADER_SIZE], *body;
	t_Response		 resp = { 0 };
	pb_istream_t		 is;
	int			 code;

	if (!read_full(fd, hdr, sizeof hdr, 30000))
		return (-1);
	frame_header_parse(hdr, &fh);
	body = malloc(fh.length + 1);
	cr_assert(read_full(fd, body, fh.length, 30000));
	is = pb_istream_from_buffer(body, fh.length);
	cr_assert(pb_decode(&is, t_Response_fields, &resp));
	code = resp.status.code;
	*sid = fh.stream_id;
	pb_release(t_Response_fields, &resp);
	free(body);
	return (code);
}

/* VmRSS of pid in KiB. */
static long
rss_kib(pid_t pid)
{
	char	 path[64], line[256];
	long	 kib = -1;
	FILE	*f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return (kib);
}

/* ---- item 1: deadlines past INT64_MAX ------------------------------- */

/*
 * A deferred Wait whose timeout carries the deadline past INT64_MAX: no
 * UBSan abort, no wrapped deadline answered at once; the Wait stays
 * deferred and is answered when the daemon exits (Unavailable).  A
 * deadline just short of the limit is a real, far one: deferred too.
 */
Test(abuse, huge_timeouts_mean_none, .timeout = 120)
{
	struct timespec			 now;
	cssv_ControllerWaitRequest	 wreq = { 0 };
	struct sbc_meta			*list = NULL;
	struct sbc_error		 err = { 0 };
	size_t				 n = 0;
	struct sbc			*c;
	int64_t				 nowns, timeouts[5];
	int				 fds[5], i, code;
	uint32_t			 sid;
	uint8_t				*frame;
	size_t				 len;

	ITEST_NEEDS_ROOT("sandboxes");
	/* No keeper: with one the Waits would stay pending through the
	 * exit, for the next daemon, instead of answering Unavailable. */
	itest_daemon_start(&itest_d, "--keeper-grace", "0", NULL);
	c = itest_connect(&itest_d, NULL);
	itest_make_sandbox(c, "dl", NULL, NULL);
	itest_ctrl_start(c, "dl");
	clock_gettime(CLOCK_MONOTONIC, &now);
	nowns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	timeouts[0] = INT64_MAX;
	timeouts[1] = INT64_MAX - 1;
	timeouts[2] = INT64_MAX - nowns + 1;	/* just past: daemon's now >= */
	timeouts[3] = INT64_MAX - nowns + 1000000000LL;
	timeouts[4] = INT64_MAX - nowns - 3600LL * 1000000000;	/* just short */
	snprintf(wreq.sandbox_id, sizeof wreq.sandbox_id, "dl");
	for (i = 0; i < 5; i++) {
		fds[i] = raw_connect();
		frame = build_frame(1, SERVICE_CONTROLLER, "Wait",
		    cssv_ControllerWaitRequest_fields, &wreq, timeouts[i], &len);
		cr_assert_eq(write(fds[i], frame, len), (ssize_t)len);
		free(frame);
	}
	/* Served after them all: the loop went past their dispatch. */
	itest_expect(sbc_store_list(c, NULL, 0, &list, &n, &err), 0, &err,
	    "list");
	sbc_meta_list_free(list, n);
	sbc_close(c);
	cr_assert(itest_daemon_running(&itest_d), "the daemon died");
	itest_daemon_stop(&itest_d);
	for (i = 0; i < 5; i++) {
		code = read_code(fds[i], &sid);
		cr_assert_eq(code, STATUS_UNAVAILABLE, "timeout %lld: code %d, "
		    "want Unavailable at exit", (long long)timeouts[i], code);
		close(fds[i]);
	}
}

/* ---- item 6: peers that never read ---------------------------------- */

/*
 * Four peers pipeline Gets and never read an answer: each is cut off
 * (with a log line naming it) once its answers stop leaving for
 * write_timeout_secs; a well-behaved client is served meanwhile, and the
 * daemon's memory stays bounded.
 */
Test(abuse, never_reading_peers_are_closed, .timeout = 300)
{
	cssv_StoreGetRequest	 get = { 0 };
	struct sbc		*good;
	struct sbc_meta		*list;
	struct sbc_error	 err = { 0 };
	size_t			 n, len;
	int			 fds[4], i, nclosed = 0, served = 0;
	bool			 closed[4] = { false };
	uint32_t		 sid = 1;
	uint8_t			*frame;
	long			 rss0, rss, rss_max = 0;
	int64_t			 deadline;

	itest_daemon_start_config(&itest_d, "[limits]\nwrite_timeout_secs = 2\n"
	    "max_message_bytes = 4096\nmax_output_bytes = 16384\n");
	rss0 = rss_kib(itest_d.pid);
	good = itest_connect(&itest_d, NULL);
	for (i = 0; i < 4; i++) {
		fds[i] = raw_connect();
		cr_assert_neq(fcntl(fds[i], F_SETFL, O_NONBLOCK), -1);
	}
	snprintf(get.sandbox_id, sizeof get.sandbox_id, "nothere");
	deadline = itest_now_ms() + 120000;
	while (nclosed < 4 && itest_now_ms() < deadline) {
		bool	full = true;

		frame = build_frame(sid, SERVICE_STORE, "Get",
		    cssv_StoreGetRequest_fields, &get, 0, &len);
		for (i = 0; i < 4; i++) {
			ssize_t	w;

			if (closed[i])
				continue;
			w = send(fds[i], frame, len, MSG_NOSIGNAL);
			if (w == -1 && (errno == EPIPE || errno == ECONNRESET)) {
				closed[i] = true;
				nclosed++;
			} else if (w == (ssize_t)len)
				full = false;
			else
				cr_assert(w == -1 && errno == EAGAIN,
				    "send: %zd %s", w, strerror(errno));
		}
		free(frame);
		sid += 2;
		if (full) {
			/* Everybody is backed up: a good client still gets
			 * its answers. */
			list = NULL;
			itest_expect(sbc_store_list(good, NULL, 0, &list, &n,
			    &err), 0, &err, "list while peers stall");
			sbc_meta_list_free(list, n);
			served++;
			usleep(100000);
		}
		if ((rss = rss_kib(itest_d.pid)) > rss_max)
			rss_max = rss;
	}
	cr_assert_eq(nclosed, 4, "%d of 4 peers that never read were closed",
	    nclosed);
	cr_assert_gt(served, 0);
	cr_assert(itest_log_contains(&itest_d, "no answer taken"));
	cr_assert(itest_log_contains(&itest_d, "uid 0"));
	/* 16 KiB of queued answers each: far below this even under ASan. */
	cr_assert_lt(rss_max - rss0, 200 * 1024, "RSS grew from %ld to %ld KiB",
	    rss0, rss_max);
	list = NULL;
	itest_expect(sbc_store_list(good, NULL, 0, &list, &n, &err), 0, &err,
	    "list after");
	sbc_meta_list_free(list, n);
	sbc_close(good);
	for (i = 0; i < 4; i++)
		close(fds[i]);
}

/* ---- item 9: connections kept for root ------------------------------ */

/*
 * In a child as uid (with the socket's group): connect, List, report the
 * code on *report (255: refused), then hold the connection until killed.
 */
static pid_t
hold_as(uid_t uid, gid_t gid, int *report, int *release)
{
	int	rp[2], hp[2];
	pid_t	pid;

	cr_assert_eq(pipe(rp), 0);
	cr_assert_eq(pipe(hp), 0);
	if ((pid = fork()) == 0) {
		struct sbc	*c;
		char		*cause = NULL, b;
		unsigned char	 code = 255;

		close(rp[0]);
		close(hp[1]);
		if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
		    (uid != 0 && setuid(uid) == -1))
			_exit(101);
		if ((c = sbc_connect(itest_d.socket, &cause)) != NULL) {
			struct sbc_meta		*list = NULL;
			struct sbc_error	 err = { 0 };
			size_t			 n = 0;
			int			 r;

			sbc_set_timeout(c, 30000);
			r = sbc_store_list(c, NULL, 0, &list, &n, &err);
			code = r >= 0 && r < 100 ? (unsigned char)r : 255;
		}
		(void)!write(rp[1], &code, 1);
		(void)!read(hp[0], &b, 1);
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	close(rp[1]);
	close(hp[0]);
	*report = rp[0];
	*release = hp[1];
	return (pid);
}

/* The code a holder reported (0: served, 255: refused). */
static int
holder_code(int report)
{
	unsigned char	code = 254;

	cr_assert_eq(read(report, &code, 1), 1, "the holder died");
	return (code);
}

/*
 * max 8, 2 per uid, 3 kept for root: five unprivileged connections fit,
 * the sixth is refused whatever its uid; root then takes the last three,
 * past the per-uid cap, and only the global cap refuses it.
 */
Test(abuse, root_keeps_reserved_connections, .timeout = 120)
{
	static const struct {
		uid_t	uid;
		int	want;	/* 0 served, 255 refused */
	} rows[] = {
		{ 1001, 0 }, { 1001, 0 }, { 1002, 0 }, { 1002, 0 },
		{ 1003, 0 },
		{ 1003, 255 },		/* would take one kept for root */
		{ 1004, 255 },
		{ 0, 0 }, { 0, 0 }, { 0, 0 },	/* root: past per-uid cap */
		{ 0, 255 },		/* the global cap */
	};
	struct group	*gr = getgrnam(PEER_GROUP);
	int		 rep[11], rel[11], code;
	pid_t		 pids[11];
	size_t		 i;

	ITEST_NEEDS_ROOT("switching users");
	if (gr == NULL)
		cr_skip_test("no group %s here", PEER_GROUP);
	itest_daemon_start_config(&itest_d, "[socket]\ngroup = " PEER_GROUP "\n"
	    "[limits]\nmax_connections = 8\nmax_connections_per_uid = 2\n"
	    "root_reserved_connections = 3\n");
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		pids[i] = hold_as(rows[i].uid, gr->gr_gid, &rep[i], &rel[i]);
		code = holder_code(rep[i]);
		cr_assert_eq(code, rows[i].want, "connection %zu (uid %u): %d, "
		    "want %d", i, (unsigned int)rows[i].uid, code,
		    rows[i].want);
		if (code != 0) {	/* gone: free its slot, if it had one */
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
	}
	cr_assert(itest_log_contains(&itest_d, "kept for uid 0"));
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		close(rep[i]);
		close(rel[i]);
		if (pids[i] != 0) {	/* others hold copies of rel[i] */
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
}

/* ---- item 12: listener failures say why ------------------------------ */

/*
 * A socket path under a regular file: the daemon exits non-zero with a
 * message naming the path and the error (it printed "(null)" before).
 */
Test(abuse, socket_path_under_a_file, .timeout = 60)
{
	char	 file[PATH_MAX], sock[PATH_MAX + 32], msg[PATH_MAX + 128];
	FILE	*f;
	int	 status;

	itest_daemon_init(&itest_d);
	snprintf(file, sizeof file, "%s/plainfile", itest_d.dir);
	cr_assert_not_null(f = fopen(file, "w"));
	fclose(f);
	snprintf(sock, sizeof sock, "%s/sandboxd.sock", file);
	if (fork() == 0) {
		const char *argv[] = { getenv("SANDBOXD_BIN"), "--foreground",
		    "--socket", sock, "--state-dir", itest_d.state_dir,
		    "--run-dir", itest_d.run_dir, NULL };
		int	 fd = open(itest_d.log_path, O_WRONLY | O_CREAT, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	cr_assert_neq(wait(&status), -1);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
	    WEXITSTATUS(status) != 127, "status %d", status);
	cr_assert_not(itest_log_contains(&itest_d, "(null)"), "%s",
	    itest_log_tail(&itest_d, 2000));
	snprintf(msg, sizeof msg, "%s: %s", sock, strerror(ENOTDIR));
	cr_assert(itest_log_contains(&itest_d, msg), "%s",
	    itest_log_tail(&itest_d, 2000));
}

/* ---- item 12: a Stop whose commit fails changes nothing --------------- */

/*
 * Commits fail from the k-th on; k grows until the one that fails is the
 * Stop's.  Then Stop is answered Internal, the daemon exits, and the
 * sandbox was not signalled: it still runs, and the restarted daemon
 * reports it running and can stop it.
 */
Test(abuse, stop_with_failed_commit_stops_nothing, .timeout = 600)
{
	struct sbc_error	 err = { 0 };
	struct sbc_status	 st;
	struct sbc		*c;
	char			 k[16];
	pid_t			 pid = 0;
	int			 n, code = -1;

	ITEST_NEEDS_ROOT("sandboxes");
	for (n = 0; n < 20 && code != STATUS_INTERNAL; n++) {
		itest_daemon_init(&itest_d);
		snprintf(k, sizeof k, "%d", n);
		itest_daemon_setenv(&itest_d, "SANDBOXD_TEST_FAIL_COMMIT_AFTER",
		    k);
		itest_daemon_start(&itest_d, NULL);
		c = itest_connect(&itest_d, NULL);
		code = -1;
		{
			struct sbc_meta	 m = itest_meta("sf", NULL, NULL);
			struct sbc_start_info	si;

			if (sbc_store_create(c, &m, NULL, &err) != 0 ||
			    sbc_ctrl_create(c, "sf", NULL, &err) != 0 ||
			    sbc_ctrl_start(c, "sf", &si, &err) != 0)
				goto next;
			pid = (pid_t)si.pid;
			sbc_start_info_free(&si);
			itest_track(pid);
			itest_wait_pause_ready(pid);
			code = sbc_ctrl_stop(c, "sf", 10, &err);
		}
next:
		sbc_error_clear(&err);
		sbc_close(c);
		if (code != STATUS_INTERNAL) {
			itest_teardown();
			continue;
		}
	}
	cr_assert_eq(code, STATUS_INTERNAL, "no Stop met the failing commit");
	cr_assert_neq(itest_daemon_wait_exit(&itest_d, 10000), -1);
	cr_assert(itest_pid_alive(pid), "the Stop whose commit failed "
	    "signalled the sandbox");
	itest_daemon_clearenv(&itest_d);
	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, NULL);
	itest_expect(sbc_ctrl_status(c, "sf", false, &st, &err), 0, &err,
	    "status");
	cr_assert_str_eq(st.state, "SANDBOX_READY", "state %s", st.state);
	sbc_status_free(&st);
	itest_expect(sbc_ctrl_stop(c, "sf", 10, &err), 0, &err, "stop");
	cr_assert(itest_wait_dead(pid, 30000));
	sbc_close(c);
}
