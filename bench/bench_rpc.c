/*
 * bench_rpc: ttrpc request throughput and latency.  One C load generator
 * (single-threaded, epoll) sends containerd.services.sandbox.v1.Store/Get
 * of a missing id to three servers in the same run:
 *
 *	floor		a minimal epoll ttrpc server in this program (a forked
 *			child) answering every request with an empty OK
 *			response: the cost of the socket and the framing
 *	go		containerd's Go ttrpc server (bench/rpcgo, built here
 *			in GOPATH mode from Debian's ttrpc package) answering
 *			NotFound, as sandboxd does; skipped without Go
 *	sandboxd	a private daemon answering NotFound
 *
 * Each load shape is C connections with D requests in flight on each
 * (closed loop: a request goes out when one comes back), plus one fixed
 * rate over 16 connections (open loop: latency counted from the time a
 * request was due, so a server that falls behind is charged for it).
 * Figures are ratios of sandboxd against the other two, same run, with
 * each server's CPU time per request (utime + stime from /proc).
 *
 * Then a mixed load on sandboxd alone (-M requests, 0: none): Store
 * Create, Get, Update, List, Get of a missing id and Delete, in cycles on
 * 16 connections, with the daemon's RSS read at intervals: in the steady
 * state it must not grow.
 *
 * Last, what sandboxd-keeper costs a connection (-K connections, 0:
 * none): the daemon sends the keeper a copy of every connection it
 * accepts and a message when it closes it, so connections opened, used
 * for one Store.Get and closed, one at a time, are timed against this
 * daemon (with its keeper) and a second one without a keeper
 * (keeper_grace_secs = 0), in alternating rounds; with the CPU time of
 * the daemon's loop thread and the keeper per connection.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "frame.h"
#include "pbutil.h"
#include "protocol.h"
#include "ttrpc.pb.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR	"bench"
#endif
#ifndef BENCH_BINARY_DIR
#define BENCH_BINARY_DIR	"."
#endif

#define RPC_MISSING_ID		"bench-rpc-missing"
#define RPC_MAX_CONNS		256
#define RPC_MAX_INFLIGHT	256	/* per connection */
#define RPC_BUF			(256 * 1024)
#define RPC_WARMUP_S		0.25
#define RPC_DRAIN_S		2.0
#define RPC_RATE_CONNS		16
#define RPC_MAX_SHAPES		8
#define MIX_CONNS		16
#define MIX_STEPS		6	/* one cycle: also the depth */
#define MIX_SAMPLES		8	/* RSS readings */
#define MIX_PREFIX		"bench-mix-"
#define KEEP_ROUNDS		3
#define KEEP_TIMEOUT_S		2
/* Latency histogram: 32 buckets per power of two, ~3% wide. */
#define HIST_SUB		32
#define HIST_BUCKETS		(HIST_SUB * 60)

enum rpc_server { SRV_FLOOR, SRV_GO, SRV_SANDBOXD, SRV_COUNT };

static const char *const srv_names[SRV_COUNT] = {
	"floor", "go ttrpc", "sandboxd"
};

struct rpc_shape {
	int	conns;
	int	depth;		/* in flight per connection; 0: fixed rate */
};

struct rpc_inflight {
	uint32_t	id;
	uint64_t	t;	/* ns: sent, or due in fixed-rate mode */
};

struct rpc_conn {
	int			 fd;
	int			 idx;		/* in its run */
	unsigned int		 step;		/* mixed load: next in cycle */
	uint32_t		 next_id;
	int			 n;		/* in flight */
	struct rpc_inflight	 fl[RPC_MAX_INFLIGHT];
	uint8_t			*in;
	size_t			 inlen;
	uint8_t			*out;
	size_t			 outlen;
};

/* What one run against one server measured. */
struct rpc_result {
	bool		ran;
	size_t		n;		/* answers in the measured window */
	size_t		errors;		/* unexpected status or lost */
	size_t		all;		/* answers of the whole run */
	size_t		ok;		/* answers OK (of all) */
	double		cpu_us;		/* server CPU per answer, -1: unknown */
	double		secs;
	double		rate;		/* answers per second */
	double		p50, p99, p999;	/* microseconds */
	uint64_t	hist[HIST_BUCKETS];
};

/* The run's settings (options) and the request every server gets. */
static struct {
	double		 secs;
	double		 rate;
	struct rpc_shape shapes[RPC_MAX_SHAPES];
	int		 nshapes;
	uint8_t		*payload;	/* encoded t_Request */
	size_t		 plen;
	size_t		 mix_n;		/* requests of the mixed load */
	size_t		 keep_n;	/* connections per keeper round */
	uint8_t		*mix[MIX_CONNS][MIX_STEPS];
	size_t		 mixlen[MIX_CONNS][MIX_STEPS];
	bool		 progress;
} rpc;

/* Nanoseconds on the monotonic clock. */
static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* The histogram bucket of a latency in ns. */
static int
hist_bucket(uint64_t v)
{
	int	e;

	if (v < HIST_SUB)
		return ((int)v);
	e = 63 - __builtin_clzll(v);		/* >= 5 */
	if ((e - 4) * HIST_SUB >= HIST_BUCKETS)
		return (HIST_BUCKETS - 1);
	return ((e - 4) * HIST_SUB + (int)((v >> (e - 5)) - HIST_SUB));
}

/* The lowest ns value of a bucket. */
static double
hist_value(int b)
{
	int	e;

	if (b < HIST_SUB)
		return (b);
	e = b / HIST_SUB + 4;
	return ((double)((uint64_t)(b % HIST_SUB + HIST_SUB) << (e - 5)));
}

/* The q-quantile of r's histogram, in microseconds. */
static double
hist_quantile(const struct rpc_result *r, double q)
{
	uint64_t	want, seen = 0;
	int		b;

	if (r->n == 0)
		return (0);
	want = (uint64_t)(q * (double)r->n);
	if (want >= r->n)
		want = r->n - 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += r->hist[b];
		if (seen > want)
			break;
	}
	return (hist_value(b) / 1000.0);
}

/* A ttrpc Request for svc/method carrying msg; exits on failure. */
static void
envelope_encode(const char *method, const pb_msgdesc_t *fields,
    const void *msg, uint8_t **out, size_t *outlen)
{
	t_Request	 req = {0};
	uint8_t		*body;
	size_t		 blen;
	char		*cause = NULL;

	if (!msg_encode(fields, msg, &body, &blen, &cause))
		goto fail;
	snprintf(req.service, sizeof req.service, "%s", SERVICE_STORE);
	snprintf(req.method, sizeof req.method, "%s", method);
	req.payload.data = body;
	req.payload.len = blen;
	req.metadata_count = 1;
	req.metadata[0].key = (char *)MD_NAMESPACE_TTRPC;
	req.metadata[0].value = (char *)BENCH_NAMESPACE;
	if (!msg_encode(t_Request_fields, &req, out, outlen, &cause))
		goto fail;
	free(body);
	return;
fail:
	fprintf(stderr, "bench_rpc: encode: %s\n", cause ? cause : "?");
	exit(1);
}

/* The request of the shapes: Store.Get of a missing id. */
static void
request_encode(void)
{
	cssv_StoreGetRequest	get = {0};

	snprintf(get.sandbox_id, sizeof get.sandbox_id, "%s", RPC_MISSING_ID);
	envelope_encode("Get", cssv_StoreGetRequest_fields, &get,
	    &rpc.payload, &rpc.plen);
}

/*
 * The mixed load's cycle for connection i, on a sandbox of its own:
 * Create, Get, Update (a label), List (by that label), Get of a missing
 * id, Delete.  Every cycle ends with the store as it began.
 */
static void
mix_encode(int i)
{
	static cssv_StoreCreateRequest	create;
	static cssv_StoreUpdateRequest	update;
	cssv_StoreGetRequest		get = {0}, miss = {0};
	cssv_StoreListRequest		list = {0};
	cssv_StoreDeleteRequest		del = {0};
	char				id[64], label[8];

	snprintf(id, sizeof id, MIX_PREFIX "%02d", i);
	memset(&create, 0, sizeof create);
	create.has_sandbox = true;
	snprintf(create.sandbox.sandbox_id, sizeof create.sandbox.sandbox_id,
	    "%s", id);
	create.sandbox.has_runtime = true;
	snprintf(create.sandbox.runtime.name,
	    sizeof create.sandbox.runtime.name, "io.sandboxd.pause.v1");
	envelope_encode("Create", cssv_StoreCreateRequest_fields, &create,
	    &rpc.mix[i][0], &rpc.mixlen[i][0]);
	snprintf(get.sandbox_id, sizeof get.sandbox_id, "%s", id);
	envelope_encode("Get", cssv_StoreGetRequest_fields, &get,
	    &rpc.mix[i][1], &rpc.mixlen[i][1]);
	memset(&update, 0, sizeof update);
	update.has_sandbox = true;
	update.sandbox = create.sandbox;
	snprintf(label, sizeof label, "%02d", i);
	update.sandbox.labels_count = 1;
	update.sandbox.labels[0].key = (char *)"mix";
	update.sandbox.labels[0].value = label;
	update.fields_count = 1;
	snprintf(update.fields[0], sizeof update.fields[0], "labels.mix");
	envelope_encode("Update", cssv_StoreUpdateRequest_fields, &update,
	    &rpc.mix[i][2], &rpc.mixlen[i][2]);
	list.filters_count = 1;
	snprintf(list.filters[0], sizeof list.filters[0],
	    "labels.mix==%02d", i);
	envelope_encode("List", cssv_StoreListRequest_fields, &list,
	    &rpc.mix[i][3], &rpc.mixlen[i][3]);
	snprintf(miss.sandbox_id, sizeof miss.sandbox_id, "%s",
	    RPC_MISSING_ID);
	envelope_encode("Get", cssv_StoreGetRequest_fields, &miss,
	    &rpc.mix[i][4], &rpc.mixlen[i][4]);
	snprintf(del.sandbox_id, sizeof del.sandbox_id, "%s", id);
	envelope_encode("Delete", cssv_StoreDeleteRequest_fields, &del,
	    &rpc.mix[i][5], &rpc.mixlen[i][5]);
}

/* Fill sun with path; false if it does not fit. */
static bool
sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		errno = ENAMETOOLONG;
		return (false);
	}
	memcpy(sun->sun_path, path, strlen(path));
	return (true);
}

/* A connected, non-blocking Unix socket to path; -1 on failure. */
static int
unix_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	if (!sun_fill(&sun, path))
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return (-1);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return (fd);
}

/* Wait up to ms for a server to accept on path; false if it does not. */
static bool
wait_ready(const char *path, pid_t pid, int ms)
{
	int	fd, i;

	for (i = 0; i < ms / 10; i++) {
		if ((fd = unix_connect(path)) != -1) {
			close(fd);
			return (true);
		}
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return (false);
		bench_sleep_ms(10);
	}
	return (false);
}

/* ---- the floor: a minimal epoll ttrpc server ---- */

/* Answer every complete request frame in c->in with an empty OK. */
static void
floor_answer(struct rpc_conn *c)
{
	struct frame_header	h, r = { 0, 0, FRAME_TYPE_RESPONSE, 0 };
	size_t			off = 0;

	while (c->inlen - off >= FRAME_HEADER_SIZE) {
		frame_header_parse(c->in + off, &h);
		if (c->inlen - off < FRAME_HEADER_SIZE + h.length ||
		    c->outlen + FRAME_HEADER_SIZE > RPC_BUF)
			break;
		r.stream_id = h.stream_id;
		frame_header_build(&r, c->out + c->outlen);
		c->outlen += FRAME_HEADER_SIZE;
		off += FRAME_HEADER_SIZE + h.length;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
}

/* Write what c->out holds; false when the peer is gone. */
static bool
conn_flush(struct rpc_conn *c)
{
	ssize_t	n;

	while (c->outlen > 0) {
		n = write(c->fd, c->out, c->outlen);
		if (n == -1 && errno == EAGAIN)
			return (true);
		if (n <= 0)
			return (n == -1 && errno == EINTR);
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	return (true);
}

/* Read, answer, write one floor connection; false to close it. */
static bool
floor_serve(struct rpc_conn *c)
{
	ssize_t	n;

	if (!conn_flush(c))
		return (false);
	while (c->outlen == 0 && c->inlen < RPC_BUF) {
		n = read(c->fd, c->in + c->inlen, RPC_BUF - c->inlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0)
			return (false);
		c->inlen += (size_t)n;
		floor_answer(c);
		if (!conn_flush(c))
			return (false);
	}
	return (true);
}

/* A connection with its buffers (the floor's and the client's). */
static struct rpc_conn *
conn_new(int fd)
{
	struct rpc_conn	*c;

	if ((c = calloc(1, sizeof *c)) == NULL ||
	    (c->in = malloc(RPC_BUF)) == NULL ||
	    (c->out = malloc(RPC_BUF)) == NULL) {
		perror("bench_rpc: calloc");
		exit(1);
	}
	c->fd = fd;
	c->next_id = 1;
	return (c);
}

/* Free a connection and close its socket. */
static void
conn_free(struct rpc_conn *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* The floor server's loop (a child process), until SIGTERM. */
static void __attribute__((__noreturn__))
floor_main(int lfd)
{
	struct epoll_event	 ev, evs[64];
	struct rpc_conn		*c;
	int			 ep, n, i, fd;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	if ((ep = epoll_create1(0)) == -1)
		_exit(1);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		if ((n = epoll_wait(ep, evs, 64, -1)) == -1)
			continue;
		for (i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL) {
				if ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
					continue;
				ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
				ev.data.ptr = conn_new(fd);
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			} else if (!floor_serve(c))
				conn_free(c);
		}
	}
}

/* Start the floor server on path in a child; its pid. */
static pid_t
floor_start(const char *path)
{
	struct sockaddr_un	sun;
	pid_t			pid;
	int			lfd;

	if (!sun_fill(&sun, path) ||
	    (lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(lfd, 1024) == -1) {
		perror("bench_rpc: floor socket");
		exit(1);
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0)
		floor_main(lfd);
	close(lfd);
	return (pid);
}

/* ---- the Go ttrpc server ---- */

/*
 * go build bench/rpcgo in GOPATH mode, offline, into dir (its cache kept
 * there, so a second run builds nothing); its exit status.
 */
static int
go_build(const char *dir, const char *log)
{
	char	gopath[PATH_MAX + 32], cache[PATH_MAX + 16];
	char	out[PATH_MAX + 16];
	pid_t	pid;
	int	st, fd;

	snprintf(gopath, sizeof gopath, "%s/gopath:/usr/share/gocode", dir);
	snprintf(cache, sizeof cache, "%s/gocache", dir);
	snprintf(out, sizeof out, "%s/rpcgo", dir);
	fflush(stdout);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (chdir(BENCH_SOURCE_DIR "/rpcgo") == -1)
			_exit(127);
		setenv("GO111MODULE", "off", 1);
		setenv("GOFLAGS", "", 1);
		setenv("GOENV", "off", 1);
		setenv("GOTOOLCHAIN", "local", 1);
		setenv("CGO_ENABLED", "0", 1);
		setenv("GOPATH", gopath, 1);
		setenv("GOCACHE", cache, 1);
		execlp("go", "go", "build", "-o", out, ".", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/*
 * Build bench/rpcgo (cached under the build directory) and start it on
 * path; its pid, or 0 (with the reason printed) when it cannot run.
 */
static pid_t
go_start(const char *path)
{
	char	dir[PATH_MAX], log[PATH_MAX + 16], bin[PATH_MAX + 8];
	pid_t	pid;
	int	st;

	if (system("command -v go >/dev/null 2>&1") != 0) {
		printf("go ttrpc: SKIPPED: 'go' is not in PATH (apt-get "
		    "install golang-go golang-github-containerd-ttrpc-dev)\n");
		return (0);
	}
	if (access("/usr/share/gocode/src/github.com/containerd/ttrpc",
	    R_OK) == -1) {
		printf("go ttrpc: SKIPPED: no /usr/share/gocode/src/github.com"
		    "/containerd/ttrpc (apt-get install "
		    "golang-github-containerd-ttrpc-dev)\n");
		return (0);
	}
	snprintf(dir, sizeof dir, "%s/rpcgo-build", BENCH_BINARY_DIR);
	snprintf(log, sizeof log, "%s/build.log", dir);
	snprintf(bin, sizeof bin, "%s/rpcgo", dir);
	mkdir(dir, 0755);
	if ((st = go_build(dir, log)) != 0) {
		printf("go ttrpc: SKIPPED: go build failed (status %d), see "
		    "%s\n", st, log);
		return (0);
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		signal(SIGINT, SIG_IGN);
		execl(bin, bin, path, (char *)NULL);
		_exit(127);
	}
	if (pid == -1 || !wait_ready(path, pid, 5000)) {
		printf("go ttrpc: SKIPPED: %s did not start\n", bin);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return (0);
	}
	return (pid);
}

/* Stop a server child started here. */
static void
child_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/* ---- the load generator ---- */

/* One run's state: the connections, the clock, the counters. */
struct rpc_run {
	struct rpc_conn		*conns[RPC_MAX_CONNS];
	int			 nconns;
	int			 depth;
	int			 expect;	/* the status code to get */
	int			 ep;
	uint64_t		 t0, tmeasure, tend;
	uint64_t		 due;		/* fixed rate: requests due */
	uint64_t		 sent;
	size_t			 inflight;
	bool			 sending;
	bool			 backlog;	/* some output not written */
	bool			 mix;		/* the mixed load's cycles */
	uint64_t		 limit;		/* mixed: requests to send */
	struct rpc_result	*res;
};

/* Queue one request on c, stamped t (sent now, or due at t); false if full. */
static bool
rpc_send(struct rpc_run *r, struct rpc_conn *c, uint64_t t)
{
	struct frame_header	 h = { 0, 0, FRAME_TYPE_REQUEST, 0 };
	const uint8_t		*payload = rpc.payload;
	size_t			 plen = rpc.plen;

	if (r->mix) {
		/* Whole cycles only: the store ends as it began. */
		if (r->sent >= r->limit && c->step % MIX_STEPS == 0)
			return (false);
		payload = rpc.mix[c->idx][c->step % MIX_STEPS];
		plen = rpc.mixlen[c->idx][c->step % MIX_STEPS];
	}
	if (c->outlen + FRAME_HEADER_SIZE + plen > RPC_BUF ||
	    c->n == RPC_MAX_INFLIGHT)
		return (false);
	c->step++;
	h.length = (uint32_t)plen;
	h.stream_id = c->next_id;
	c->next_id += 2;
	frame_header_build(&h, c->out + c->outlen);
	memcpy(c->out + c->outlen + FRAME_HEADER_SIZE, payload, plen);
	c->outlen += FRAME_HEADER_SIZE + plen;
	c->fl[c->n].id = h.stream_id;
	c->fl[c->n].t = t;
	c->n++;
	r->inflight++;
	r->sent++;
	return (true);
}

/* The status code of a ttrpc Response payload (0 when absent). */
static int
response_code(const uint8_t *p, size_t len)
{
	t_Response	resp = {0};
	int		code;

	if (!msg_decode(t_Response_fields, &resp, p, len, NULL))
		return (-1);
	code = resp.has_status ? resp.status.code : STATUS_OK;
	msg_release(t_Response_fields, &resp);
	return (code);
}

/* Account one answer on c: its latency, its status. */
static void
rpc_answer(struct rpc_run *r, struct rpc_conn *c, uint32_t id, int code,
    uint64_t now)
{
	int	i;

	for (i = 0; i < c->n && c->fl[i].id != id; i++)
		;
	if (i == c->n) {
		r->res->errors++;
		return;
	}
	r->res->all++;
	if (code == STATUS_OK)
		r->res->ok++;
	/* Answers inside the window count, whenever they were sent. */
	if (now >= r->tmeasure && now <= r->tend) {
		r->res->n++;
		r->res->hist[hist_bucket(now - c->fl[i].t)]++;
		if (code != r->expect)
			r->res->errors++;
	}
	c->fl[i] = c->fl[--c->n];
	r->inflight--;
}

/* Read what c's server answered and account it; false on a lost peer. */
static bool
rpc_read(struct rpc_run *r, struct rpc_conn *c)
{
	struct frame_header	h;
	uint64_t		now;
	size_t			off;
	ssize_t			n;

	for (;;) {
		n = read(c->fd, c->in + c->inlen, RPC_BUF - c->inlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return (true);
		if (n <= 0)
			return (false);
		c->inlen += (size_t)n;
		now = now_ns();
		for (off = 0; c->inlen - off >= FRAME_HEADER_SIZE;) {
			frame_header_parse(c->in + off, &h);
			if (h.length > RPC_BUF - FRAME_HEADER_SIZE)
				return (false);
			if (c->inlen - off < FRAME_HEADER_SIZE + h.length)
				break;
			rpc_answer(r, c, h.stream_id, response_code(c->in +
			    off + FRAME_HEADER_SIZE, h.length), now);
			off += FRAME_HEADER_SIZE + h.length;
		}
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
}

/* Write c's queued requests; note a connection whose socket is full. */
static void
rpc_flush(struct rpc_run *r, struct rpc_conn *c)
{
	conn_flush(c);
	if (c->outlen > 0)
		r->backlog = true;
}

/* Write every connection's queued requests (after a full socket). */
static void
rpc_flush_all(struct rpc_run *r)
{
	int	i;

	r->backlog = false;
	for (i = 0; i < r->nconns; i++)
		if (r->conns[i]->outlen > 0)
			rpc_flush(r, r->conns[i]);
}

/* Closed loop: top every connection back up to its depth. */
static void
rpc_refill(struct rpc_run *r, struct rpc_conn *c)
{
	uint64_t	now = now_ns();

	while (r->sending && c->n < r->depth)
		if (!rpc_send(r, c, now))
			break;
	rpc_flush(r, c);
}

/* Fixed rate: send every request due by now, round robin. */
static void
rpc_pace(struct rpc_run *r)
{
	struct rpc_conn	*c = NULL;
	uint64_t	 now = now_ns(), want, t;
	int		 i, tries;

	want = (uint64_t)((double)(now - r->t0) / 1e9 * rpc.rate) + 1;
	for (i = 0; r->sending && r->due < want; r->due++) {
		t = r->t0 + (uint64_t)((double)r->due * 1e9 / rpc.rate);
		for (tries = 0; tries < r->nconns; tries++) {
			c = r->conns[i++ % r->nconns];
			if (c->n < RPC_MAX_INFLIGHT)
				break;
		}
		if (tries == r->nconns || !rpc_send(r, c, t))
			break;		/* all full: it stays due */
	}
	rpc_flush_all(r);
}

/* The progress line (on a terminal only): server, load, time, rate. */
static void
rpc_progress(const struct rpc_run *r, const char *name, const char *load,
    uint64_t now)
{
	double	t = (double)(now - r->t0) / 1e9;

	if (!rpc.progress)
		return;
	fprintf(stderr, "\r  %-9s %-14s %5.1f s  %8zu answers  ", name, load,
	    t, r->res->n);
}

/* Open the run's connections to path; false if one cannot be made. */
static bool
rpc_connect(struct rpc_run *r, const char *path)
{
	struct epoll_event	ev;
	int			i, fd;

	for (i = 0; i < r->nconns; i++) {
		if ((fd = unix_connect(path)) == -1) {
			fprintf(stderr, "bench_rpc: connect %s: %s\n", path,
			    strerror(errno));
			return (false);
		}
		r->conns[i] = conn_new(fd);
		r->conns[i]->idx = i;
		ev.events = EPOLLIN;
		ev.data.ptr = r->conns[i];
		epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
	}
	return (true);
}

/* One pass of the client's loop: wait, read, refill or pace. */
static bool
rpc_step(struct rpc_run *r, int tfd)
{
	struct epoll_event	 evs[64];
	struct rpc_conn		*c;
	uint64_t		 ticks;
	int			 n, i;

	if ((n = epoll_wait(r->ep, evs, 64, 100)) == -1)
		return (errno == EINTR);
	for (i = 0; i < n; i++) {
		if ((c = evs[i].data.ptr) == NULL) {
			if (read(tfd, &ticks, sizeof ticks) == -1)
				continue;
			continue;
		}
		if (!rpc_read(r, c))
			return (false);
		if (r->depth > 0)
			rpc_refill(r, c);
	}
	if (r->depth == 0)
		rpc_pace(r);
	else if (r->backlog)
		rpc_flush_all(r);
	return (true);
}

/* A periodic timer for the fixed rate: max(1/rate, 100 us); -1 if none. */
static int
rpc_timer(struct rpc_run *r)
{
	struct itimerspec	its;
	struct epoll_event	ev;
	long			ns;
	int			tfd;

	if (r->depth > 0)
		return (-1);
	ns = (long)(1e9 / rpc.rate);
	if (ns < 100000)
		ns = 100000;
	memset(&its, 0, sizeof its);
	its.it_interval.tv_sec = ns / 1000000000;
	its.it_interval.tv_nsec = ns % 1000000000;
	its.it_value = its.it_interval;
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) == -1)
		return (-1);
	timerfd_settime(tfd, 0, &its, NULL);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(r->ep, EPOLL_CTL_ADD, tfd, &ev);
	return (tfd);
}

/* Drive the load until the window ends, then drain; the result. */
static void
rpc_drive(struct rpc_run *r, const char *name, const char *load)
{
	uint64_t	now, next_progress = 0, drain_end;
	int		i, tfd = rpc_timer(r);

	r->t0 = now_ns();
	r->tmeasure = r->t0 + (uint64_t)(RPC_WARMUP_S * 1e9);
	r->tend = r->tmeasure + (uint64_t)(rpc.secs * 1e9);
	r->sending = true;
	for (i = 0; i < r->nconns && r->depth > 0; i++)
		rpc_refill(r, r->conns[i]);
	while (!bench_interrupted && (now = now_ns()) < r->tend) {
		if (now >= next_progress) {
			rpc_progress(r, name, load, now);
			next_progress = now + 250000000;
		}
		if (!rpc_step(r, tfd))
			break;
	}
	r->sending = false;
	drain_end = now_ns() + (uint64_t)(RPC_DRAIN_S * 1e9);
	while (r->inflight > 0 && now_ns() < drain_end && rpc_step(r, tfd))
		;
	r->res->errors += r->inflight;
	if (tfd != -1)
		close(tfd);
	if (rpc.progress)
		fprintf(stderr, "\r%60s\r", "");
}

/* Figures of a finished run, from its histogram. */
static void
rpc_summarize(struct rpc_result *res)
{
	res->ran = true;
	res->secs = rpc.secs;
	res->rate = bench_per_sec(res->n, res->secs);
	res->p50 = hist_quantile(res, 0.50);
	res->p99 = hist_quantile(res, 0.99);
	res->p999 = hist_quantile(res, 0.999);
}

/* Measure one server under one shape into res. */
static void
rpc_measure(const char *path, pid_t pid, enum rpc_server srv,
    const struct rpc_shape *s, const char *load, struct rpc_result *res)
{
	struct rpc_run	r;
	double		cpu0, cpu1;
	int		i;

	memset(&r, 0, sizeof r);
	memset(res, 0, sizeof *res);
	r.res = res;
	r.nconns = s->conns;
	r.depth = s->depth;
	r.expect = srv == SRV_FLOOR ? STATUS_OK : STATUS_NOT_FOUND;
	if ((r.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("epoll_create1");
		exit(1);
	}
	cpu0 = bench_cpu_seconds(pid);
	if (rpc_connect(&r, path))
		rpc_drive(&r, srv_names[srv], load);
	else
		res->errors++;
	cpu1 = bench_cpu_seconds(pid);
	res->cpu_us = cpu0 >= 0 && cpu1 >= 0 && res->all > 0 ?
	    (cpu1 - cpu0) * 1e6 / (double)res->all : -1;
	for (i = 0; i < r.nconns; i++)
		if (r.conns[i] != NULL)
			conn_free(r.conns[i]);
	close(r.ep);
	rpc_summarize(res);
}

/* ---- output ---- */

/* The name of a shape: "16x16", or "16 @ 5000/s". */
static void
shape_name(const struct rpc_shape *s, char *buf, size_t len)
{
	if (s->depth > 0)
		snprintf(buf, len, "%dx%d", s->conns, s->depth);
	else
		snprintf(buf, len, "%dc @%.0f/s", s->conns, rpc.rate);
}

/* One server's row of a shape's table. */
static void
print_row(enum rpc_server srv, const struct rpc_result *res)
{
	if (!res->ran) {
		printf("    %-10s %s\n", srv_names[srv], "(skipped)");
		return;
	}
	printf("    %-10s %10.0f %10.1f %10.1f %10.1f %8zu %10.2f\n",
	    srv_names[srv], res->rate, res->p50, res->p99, res->p999,
	    res->errors, res->cpu_us);
}

/* The ratios of a shape: sandboxd against Go and against the floor. */
static void
print_ratios(const struct rpc_shape *s, const struct rpc_result *res)
{
	const struct rpc_result	*sb = &res[SRV_SANDBOXD];
	char			 label[96];
	int			 o;

	for (o = SRV_FLOOR; o < SRV_SANDBOXD; o++) {
		if (!res[o].ran || res[o].n == 0 || sb->n == 0)
			continue;
		if (s->depth > 0) {
			snprintf(label, sizeof label, "sandboxd/%s throughput",
			    srv_names[o]);
			bench_print_ratio(label, 3, sb->rate / res[o].rate);
		}
		snprintf(label, sizeof label, "sandboxd/%s p50 latency",
		    srv_names[o]);
		bench_print_ratio(label, 3, sb->p50 / res[o].p50);
		snprintf(label, sizeof label, "sandboxd/%s p99 latency",
		    srv_names[o]);
		bench_print_ratio(label, 3, sb->p99 / res[o].p99);
	}
}

/* sandboxd's figure of a shape against another server's, for RESULT. */
static double
result_ratio(const struct rpc_shape *s, const struct rpc_result *res, int o)
{
	const struct rpc_result	*sb = &res[SRV_SANDBOXD];

	if (!res[o].ran || res[o].n == 0 || sb->n == 0)
		return (0);
	if (s->depth == 1 && s->conns == 1)
		return (sb->p50 / res[o].p50);	/* a round trip's time */
	if (s->depth == 0)
		return (sb->p99 / res[o].p99);
	return (sb->rate / res[o].rate);
}

/* The closing RESULT line: each shape's figure against floor and Go. */
static void
print_result(struct rpc_result (*res)[SRV_COUNT], int nshapes)
{
	const struct rpc_shape	*s;
	char			 name[48];
	int			 i;

	printf("RESULT rpc: Store.Get(missing)");
	for (i = 0; i < nshapes; i++) {
		s = &rpc.shapes[i];
		shape_name(s, name, sizeof name);
		if (s->depth == 1 && s->conns == 1)
			printf("%s %s p50 %.1f us", i ? ";" : "", name,
			    res[i][SRV_SANDBOXD].p50);
		else if (s->depth == 0)
			printf("%s %s p99 %.1f us", i ? ";" : "", name,
			    res[i][SRV_SANDBOXD].p99);
		else
			printf("%s %s %.0f/s", i ? ";" : "", name,
			    res[i][SRV_SANDBOXD].rate);
		printf(" = %.2fx floor", result_ratio(s, res[i], SRV_FLOOR));
		if (res[i][SRV_GO].ran)
			printf(", %.2fx Go", result_ratio(s, res[i], SRV_GO));
	}
	printf(" (latency: lower is better; throughput: higher)\n");
	printf("RESULT rpc-cpu: server CPU per Store.Get(missing), us:");
	for (i = 0; i < nshapes; i++) {
		shape_name(&rpc.shapes[i], name, sizeof name);
		printf("%s %s sandboxd %.2f", i ? ";" : "", name,
		    res[i][SRV_SANDBOXD].cpu_us);
		if (res[i][SRV_GO].ran)
			printf(", Go %.2f", res[i][SRV_GO].cpu_us);
		printf(", floor %.2f", res[i][SRV_FLOOR].cpu_us);
	}
	printf("\n");
}

/* ---- the mixed load: RSS in the steady state ---- */

/*
 * Drive the mixed load on sandboxd until rpc.mix_n requests are
 * answered, reading its RSS at MIX_SAMPLES points.  The first reading is
 * after an eighth of the run (the pools and buffers are grown by then);
 * the figure is the last against it.  The error count.
 */
static size_t
rpc_mix(const char *path, pid_t pid)
{
	struct rpc_result	res;
	struct rpc_run		r;
	long			rss[MIX_SAMPLES], pss;
	double			t0, secs, cpu0, cpu1;
	size_t			next;
	int			i, k = 0;

	if (rpc.mix_n == 0)
		return (0);
	for (i = 0; i < MIX_CONNS; i++)
		mix_encode(i);
	memset(&r, 0, sizeof r);
	memset(&res, 0, sizeof res);
	r.res = &res;
	r.nconns = MIX_CONNS;
	r.depth = MIX_STEPS;
	r.mix = true;
	r.limit = rpc.mix_n;
	r.expect = STATUS_OK;
	r.tend = UINT64_MAX;
	if ((r.ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    !rpc_connect(&r, path)) {
		fprintf(stderr, "bench_rpc: mixed load: cannot connect\n");
		return (1);
	}
	printf("mixed load: Store Create, Get, Update, List, Get(missing), "
	    "Delete in cycles on %d connections (%d in flight each), %zu "
	    "requests:\n", MIX_CONNS, MIX_STEPS, rpc.mix_n);
	t0 = bench_now();
	cpu0 = bench_cpu_seconds(pid);
	r.sending = true;
	for (i = 0; i < r.nconns; i++)
		rpc_refill(&r, r.conns[i]);
	next = rpc.mix_n / MIX_SAMPLES;
	while (!bench_interrupted && (r.inflight > 0 || res.all < rpc.mix_n)) {
		if (!rpc_step(&r, -1))
			break;
		if (res.all >= next && k < MIX_SAMPLES) {
			bench_mem(pid, &rss[k], &pss);
			printf("    after %8zu requests: RSS %6ld KiB\n", res.all,
			    rss[k]);
			fflush(stdout);
			k++;
			next += rpc.mix_n / MIX_SAMPLES;
		}
	}
	secs = bench_now() - t0;
	cpu1 = bench_cpu_seconds(pid);
	for (i = 0; i < r.nconns; i++)
		if (r.conns[i] != NULL)
			conn_free(r.conns[i]);
	close(r.ep);
	printf("    %zu answers (%zu OK, 1 in %d NotFound as it should) in %.1f s, %.0f/s, daemon CPU %.2f us "
	    "per request\n", res.all, res.ok, MIX_STEPS, secs,
	    bench_per_sec(res.all, secs), res.all > 0 ?
	    (cpu1 - cpu0) * 1e6 / (double)res.all : 0);
	if (k >= 2) {
		bench_print_ratio("sandboxd RSS last/first (steady state)", 3,
		    (double)rss[k - 1] / (double)rss[0]);
		printf("RESULT rpc-rss: %zu mixed requests, RSS %ld KiB after "
		    "%zu, %ld KiB at the end = %.3fx\n", res.all, rss[0],
		    rpc.mix_n / MIX_SAMPLES, rss[k - 1],
		    (double)rss[k - 1] / (double)rss[0]);
	}
	/*
	 * Every answer of a cycle is OK (Create first, Delete last) but its
	 * Get of a missing id, NotFound: res.errors counted those too, with
	 * the other codes and the answers to nothing sent.  Then the lost.
	 */
	return (res.errors > res.all / MIX_STEPS ? res.errors - res.all /
	    MIX_STEPS : 0) + r.inflight;
}

/* ---- a connection's cost with and without a keeper ---- */

/* Write all of buf to fd; false on error. */
static bool
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) <= 0)
			return (false);
		buf += n;
		len -= (size_t)n;
	}
	return (true);
}

/* Read exactly len bytes from fd into buf; false on error or EOF. */
static bool
read_all(int fd, uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) <= 0)
			return (false);
		buf += n;
		len -= (size_t)n;
	}
	return (true);
}

/*
 * One connection: connect to path, send the Store.Get, read its answer
 * (which must be NotFound), close.  Blocking, with a timeout; false on
 * any error.
 */
static bool
conn_once(const char *path)
{
	struct frame_header	 h = { 0, 1, FRAME_TYPE_REQUEST, 0 };
	struct sockaddr_un	 sun;
	struct timeval		 tv = { KEEP_TIMEOUT_S, 0 };
	uint8_t			 buf[4096];
	bool			 ok = false;
	int			 fd;

	if (!sun_fill(&sun, path) ||
	    rpc.plen > sizeof buf - FRAME_HEADER_SIZE ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (false);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	h.length = (uint32_t)rpc.plen;
	frame_header_build(&h, buf);
	memcpy(buf + FRAME_HEADER_SIZE, rpc.payload, rpc.plen);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 &&
	    write_all(fd, buf, FRAME_HEADER_SIZE + rpc.plen) &&
	    read_all(fd, buf, FRAME_HEADER_SIZE)) {
		frame_header_parse(buf, &h);
		ok = h.length <= sizeof buf && read_all(fd, buf, h.length) &&
		    response_code(buf, h.length) == STATUS_NOT_FOUND;
	}
	close(fd);
	return (ok);
}

/* Seconds pid's main thread (the daemon's loop) has run (schedstat). */
static double
thread_cpu(pid_t pid)
{
	char			 path[64];
	unsigned long long	 ns;
	FILE			*f;
	int			 n;

	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (0);
	n = fscanf(f, "%llu", &ns);
	fclose(f);
	return (n == 1 ? (double)ns / 1e9 : 0);
}

/*
 * rpc.keep_n connections to d, one after the other: seconds per
 * connection; the CPU of the daemon's loop and of its keeper (if any)
 * per connection in *cpu, failed connections added to *errors.
 */
static double
churn(const struct bench_daemon *d, double *cpu, size_t *errors)
{
	pid_t	k = bench_keeper_pid(d);
	double	t0, c0;
	size_t	i;

	c0 = thread_cpu(d->pid) + (k != 0 ? thread_cpu(k) : 0);
	t0 = bench_now();
	for (i = 0; i < rpc.keep_n && !bench_interrupted; i++) {
		if (!conn_once(d->socket))
			(*errors)++;
	}
	t0 = bench_now() - t0;
	*cpu = (thread_cpu(d->pid) + (k != 0 ? thread_cpu(k) : 0) - c0) /
	    (double)rpc.keep_n;
	return (t0 / (double)rpc.keep_n);
}

/* Start a daemon without a keeper (keeper_grace_secs = 0). */
static void
start_keeperless(struct bench_daemon *d, char *conf, size_t len)
{
	FILE	*f;
	int	 fd;

	snprintf(conf, len, "/tmp/sbdbench-conf.XXXXXX");
	if ((fd = mkstemp(conf)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		perror("config");
		exit(1);
	}
	fprintf(f, "keeper_grace_secs = 0\n");
	fclose(f);
	bench_daemon_config = conf;
	bench_daemon_start(d, "warn");
	bench_daemon_config = NULL;
}

/*
 * Connections opened, used once and closed on the daemon on (with its
 * keeper) and on one without a keeper, alternately; prints the rounds
 * and the RESULT rpc-keeper line.  Returns the errors; adds the second
 * daemon's problems to *problems.
 */
static size_t
rpc_keeper(const struct bench_daemon *on, int *problems)
{
	struct bench_daemon	off;
	double			t[2][KEEP_ROUNDS], c[2][KEEP_ROUNDS];
	double			rate[KEEP_ROUNDS], cpu[KEEP_ROUNDS];
	char			conf[64];
	size_t			errors = 0;
	int			r, i;

	start_keeperless(&off, conf, sizeof conf);
	printf("keeper: %zu connections a round, one at a time, each "
	    "connect, one Store.Get, close; sandboxd with its keeper "
	    "(pid %d) and a second daemon with keeper_grace_secs = 0\n",
	    rpc.keep_n, (int)bench_keeper_pid(on));
	printf("    %-5s %14s %14s %8s %16s %14s %8s\n", "round",
	    "keeper conn/s", "none conn/s", "ratio", "cpu us/conn d+k",
	    "cpu none", "ratio");
	for (r = 0; r < KEEP_ROUNDS && !bench_interrupted; r++) {
		/* Alternate which goes first: the machine's load drifts. */
		for (i = 0; i < 2; i++) {
			if ((i + r) % 2 == 0)
				t[0][r] = churn(on, &c[0][r], &errors);
			else
				t[1][r] = churn(&off, &c[1][r], &errors);
		}
		rate[r] = t[1][r] / t[0][r];
		cpu[r] = c[1][r] > 0 ? c[0][r] / c[1][r] : 0;
		printf("    %-5d %14.0f %14.0f %7.2fx %16.1f %14.1f %7.2fx\n",
		    r + 1, 1 / t[0][r], 1 / t[1][r], rate[r], c[0][r] * 1e6,
		    c[1][r] * 1e6, cpu[r]);
	}
	if (r == KEEP_ROUNDS)
		printf("RESULT rpc-keeper: connections opened, used once and "
		    "closed: %.0f/s with sandboxd-keeper = %.2fx the rate "
		    "without (%.0f/s); daemon + keeper CPU %.1f us per "
		    "connection = %.2fx the daemon's without a keeper (%.1f "
		    "us) (medians of %d rounds)\n",
		    1 / bench_median(t[0], r), bench_median(rate, r),
		    1 / bench_median(t[1], r), bench_median(c[0], r) * 1e6,
		    bench_median(cpu, r), bench_median(c[1], r) * 1e6, r);
	if (errors > 0)
		printf("    ERROR: %zu connections failed\n", errors);
	*problems += bench_daemon_stop(&off);
	unlink(conf);
	return (errors);
}

/* ---- options and main ---- */

/* Parse "CxD,CxD,..." into rpc.shapes; false on a bad list. */
static bool
parse_shapes(const char *arg)
{
	const char	*p = arg;
	int		 c, d, used;

	rpc.nshapes = 0;
	while (*p != '\0' && rpc.nshapes < RPC_MAX_SHAPES) {
		if (sscanf(p, "%dx%d%n", &c, &d, &used) != 2 || c < 1 ||
		    c > RPC_MAX_CONNS || d < 1 || d > RPC_MAX_INFLIGHT)
			return (false);
		rpc.shapes[rpc.nshapes].conns = c;
		rpc.shapes[rpc.nshapes++].depth = d;
		p += used;
		if (*p == ',')
			p++;
	}
	return (*p == '\0' && rpc.nshapes > 0);
}

/* Parse the options; false after printing the usage. */
static bool
parse_args(int argc, char **argv)
{
	int	ch;

	rpc.secs = 1.5;
	rpc.rate = 5000;
	rpc.mix_n = 1000000;
	rpc.keep_n = 2000;
	parse_shapes("1x1,64x1,16x16");
	while ((ch = getopt(argc, argv, "t:l:R:M:K:")) != -1) {
		if (ch == 't' && (rpc.secs = atof(optarg)) > 0 &&
		    rpc.secs <= 30)
			continue;
		if (ch == 'l' && parse_shapes(optarg))
			continue;
		if (ch == 'R' && (rpc.rate = atof(optarg)) >= 0 &&
		    rpc.rate <= 1e6)
			continue;
		if (ch == 'M' && atof(optarg) >= 0 && atof(optarg) <= 1e8) {
			rpc.mix_n = (size_t)atof(optarg);
			continue;
		}
		if (ch == 'K' && atof(optarg) >= 0 && atof(optarg) <= 1e6) {
			rpc.keep_n = (size_t)atof(optarg);
			continue;
		}
		fprintf(stderr, "usage: %s [-t seconds per run (0-30, default "
		    "1.5)] [-l loads CONNSxDEPTH,... (default 1x1,64x1,16x16)]"
		    " [-R fixed rate/s over %d connections (0: none, default "
		    "5000)] [-M mixed requests (0: none, default 1000000)] "
		    "[-K connections a round with and without a keeper (0: "
		    "none, default 2000)]\n", argv[0], RPC_RATE_CONNS);
		return (false);
	}
	if (rpc.rate > 0 && rpc.nshapes < RPC_MAX_SHAPES) {
		rpc.shapes[rpc.nshapes].conns = RPC_RATE_CONNS;
		rpc.shapes[rpc.nshapes++].depth = 0;
	}
	return (true);
}

/* Run every shape against every server that runs; the error count. */
static size_t
run_shapes(char paths[SRV_COUNT][PATH_MAX + 16], const pid_t pids[SRV_COUNT],
    struct rpc_result (*res)[SRV_COUNT])
{
	char	name[48];
	size_t	errors = 0;
	int	i, srv;

	for (i = 0; i < rpc.nshapes && !bench_interrupted; i++) {
		shape_name(&rpc.shapes[i], name, sizeof name);
		printf("load %s (%s), %.1f s each after %.2f s warm-up:\n",
		    name, rpc.shapes[i].depth > 0 ? "connections x in flight, "
		    "closed loop" : "fixed rate, latency from when due",
		    rpc.secs, RPC_WARMUP_S);
		printf("    %-10s %10s %10s %10s %10s %8s %10s\n", "server",
		    "req/s", "p50 us", "p99 us", "p99.9 us", "errors",
		    "cpu us/rq");
		for (srv = 0; srv < SRV_COUNT; srv++) {
			if (paths[srv][0] == '\0')
				continue;
			rpc_measure(paths[srv], pids[srv], srv,
			    &rpc.shapes[i], name, &res[i][srv]);
			errors += res[i][srv].errors;
			print_row(srv, &res[i][srv]);
		}
		print_ratios(&rpc.shapes[i], res[i]);
	}
	return (errors);
}

/* Start the three servers, measure every shape, print, clean up. */
int
main(int argc, char **argv)
{
	static struct rpc_result	res[RPC_MAX_SHAPES][SRV_COUNT];
	char				paths[SRV_COUNT][PATH_MAX + 16];
	struct bench_daemon		d;
	pid_t				floor_pid, go_pid, pids[SRV_COUNT];
	size_t				errors;
	int				problems;

	if (!parse_args(argc, argv))
		return (2);
	bench_init("bench_rpc", "ttrpc request throughput and latency: "
	    "sandboxd against an epoll floor and Go ttrpc");
	rpc.progress = isatty(STDERR_FILENO);
	signal(SIGPIPE, SIG_IGN);
	request_encode();
	bench_daemon_start(&d, "warn");
	snprintf(paths[SRV_FLOOR], sizeof paths[0], "%s/floor.sock", d.dir);
	snprintf(paths[SRV_GO], sizeof paths[0], "%s/go.sock", d.dir);
	snprintf(paths[SRV_SANDBOXD], sizeof paths[0], "%s", d.socket);
	floor_pid = floor_start(paths[SRV_FLOOR]);
	if ((go_pid = go_start(paths[SRV_GO])) == 0)
		paths[SRV_GO][0] = '\0';
	printf("request: %s/Get of a missing id, %zu bytes + %d of header; "
	    "floor answers an empty OK, Go ttrpc and sandboxd NotFound\n",
	    SERVICE_STORE, rpc.plen, FRAME_HEADER_SIZE);
	pids[SRV_FLOOR] = floor_pid;
	pids[SRV_GO] = go_pid;
	pids[SRV_SANDBOXD] = d.pid;
	errors = run_shapes(paths, pids, res);
	print_result(res, rpc.nshapes);
	if (!bench_interrupted)
		errors += rpc_mix(paths[SRV_SANDBOXD], d.pid);
	child_stop(go_pid);
	child_stop(floor_pid);
	/* After those: stopping a daemon kills every other child of ours. */
	problems = 0;
	if (!bench_interrupted && rpc.keep_n > 0)
		errors += rpc_keeper(&d, &problems);
	problems += bench_daemon_stop(&d);
	return (bench_finish(problems, errors));
}
