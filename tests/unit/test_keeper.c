/*
 * test_keeper.c: sandboxd-keeper and the daemon's side of it
 * (keeper/), against the real program spawned by keeper_start in a
 * temporary run dir.  The test process is a child subreaper, as the
 * daemon is, so the keeper is its child once detached and its exit can
 * be waited for.
 *
 * "Same socket" is checked by the data: bytes written on the far end of
 * a socket pair must be read on the descriptor the keeper handed back.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"
#include "keeper_wire.h"

#define TEST_TIMEOUT	60
#define MANY		200

static char	run_dir[] = "/tmp/test_keeper.XXXXXX";
static char	sock_path[128], pid_path[128], log_path[128];

/* The program: the one built, or TEST_KEEPER_PROGRAM (a valgrind wrapper). */
static const char *
program(void)
{
	const char	*p = getenv("TEST_KEEPER_PROGRAM");

	return (p != NULL ? p : KEEPER_BIN);
}

/* Options for a keeper in this test's run dir. */
static struct keeper_opts
opts(unsigned int nslots, unsigned int grace)
{
	return ((struct keeper_opts){
		.run_dir = run_dir,
		.program = program(),
		.nslots = nslots,
		.grace_secs = grace,
		.log_file = log_path,
	});
}

/* The keeper's pid from its pid file, or -1. */
static pid_t
keeper_pid(void)
{
	FILE	*f;
	int	 pid = -1;

	if ((f = fopen(pid_path, "r")) == NULL)
		return (-1);
	if (fscanf(f, "%d", &pid) != 1)
		pid = -1;
	fclose(f);
	return ((pid_t)pid);
}

/* Wait up to ms for path to exist (want) or be gone (!want). */
static bool
wait_path(const char *path, bool want, int ms)
{
	for (; ms > 0; ms -= 10) {
		if ((access(path, F_OK) == 0) == want)
			return (true);
		usleep(10000);
	}
	return ((access(path, F_OK) == 0) == want);
}

/* Reap the keeper (our child: we are a subreaper); its status or -1. */
static int
reap(pid_t pid, int ms)
{
	int	status;

	for (; ms > 0; ms -= 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
		usleep(10000);
	}
	return (-1);
}

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(run_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/keeper.sock", run_dir);
	snprintf(pid_path, sizeof(pid_path), "%s/keeper.pid", run_dir);
	snprintf(log_path, sizeof(log_path), "%s/keeper.log", run_dir);
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

/* Stop a keeper still running, show its log, remove the dir. */
static void
teardown(void)
{
	pid_t	pid;
	char	cmd[256];

	keeper_detach();
	if ((pid = keeper_pid()) > 0) {
		kill(pid, SIGTERM);
		kill(pid, SIGCONT);	/* a test may have stopped it */
		reap(pid, 3000);
	}
	if (getenv("TEST_KEEPER_LOG") != NULL) {
		snprintf(cmd, sizeof(cmd), "cat %s >&2", log_path);
		(void)system(cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", run_dir);
	(void)system(cmd);
}

/* A stream socket pair, as a client connection and its peer. */
static void
pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* Does fd see end of file (or a reset) within ms? */
static bool
sees_eof(int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		c;

	if (poll(&pfd, 1, ms) != 1)
		return (false);
	return (read(fd, &c, 1) <= 0);
}

/* Bytes written on peer arrive on fd: the same socket. */
static void
assert_same_socket(int peer, int fd, unsigned int tag)
{
	unsigned int	got = 0;

	cr_assert_eq(write(peer, &tag, sizeof(tag)), (ssize_t)sizeof(tag));
	cr_assert_eq(read(fd, &got, sizeof(got)), (ssize_t)sizeof(got));
	cr_assert_eq(got, tag, "slot's socket got %u, want %u", got, tag);
}

/* Start a keeper (or reach the running one); assert success. */
static void
start(unsigned int nslots, unsigned int grace, bool take)
{
	struct keeper_opts	o = opts(nslots, grace);
	char			*err = NULL;

	cr_assert_eq(keeper_start(&o, take, &err), 0, "keeper_start: %s", err);
	cr_assert(keeper_active());
}

/* What keeper_take handed back, by slot. */
struct taken {
	int		fd[256];
	unsigned int	n;
};

static void
take_cb(void *arg, unsigned int slot, int fd)
{
	struct taken	*t = arg;

	cr_assert_lt(slot, 256);
	cr_assert_eq(t->fd[slot], -1, "slot %u taken twice", slot);
	t->fd[slot] = fd;
	t->n++;
}

/* Reconnect with take and collect the held sockets. */
static void
take_all(struct taken *t, unsigned int nslots)
{
	char	*err = NULL;

	memset(t, 0, sizeof(*t));
	memset(t->fd, -1, sizeof(t->fd));
	start(nslots, 60, true);
	cr_assert_eq(keeper_slot_alloc(), -1, "a slot before keeper_take");
	cr_assert_eq(keeper_take(take_cb, t, &err), 0, "keeper_take: %s", err);
}

Test(keeper, hold_detach_take, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct taken	t;
	int		sv[3][2], slot[3], i;

	start(16, 60, false);
	cr_assert(wait_path(sock_path, true, 10) && wait_path(pid_path, true, 10));
	for (i = 0; i < 3; i++) {
		pair(sv[i]);
		cr_assert_geq(slot[i] = keeper_slot_alloc(), 0);
		cr_assert_eq(keeper_hold(slot[i], sv[i][0]), 0);
	}
	keeper_detach();		/* the daemon dies ... */
	for (i = 0; i < 3; i++)
		close(sv[i][0]);	/* ... and its descriptors with it */
	for (i = 0; i < 3; i++)
		cr_assert_not(sees_eof(sv[i][1], 100), "pair %d closed", i);

	take_all(&t, 16);
	cr_assert_eq(t.n, 3);
	for (i = 0; i < 3; i++) {
		cr_assert_neq(t.fd[slot[i]], -1);
		assert_same_socket(sv[i][1], t.fd[slot[i]], 1000 + i);
	}
	/* Taken slots are in use: a new one is another. */
	i = keeper_slot_alloc();
	cr_assert(i >= 0 && i != slot[0] && i != slot[1] && i != slot[2]);
}

Test(keeper, slots_are_shared, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct keeper_slot	*s;
	struct taken		 t;
	int			 sv[2], slot;

	start(8, 60, false);
	pair(sv);
	cr_assert_geq(slot = keeper_slot_alloc(), 0);
	cr_assert_not_null(s = keeper_slot(slot));
	s->conn_id = 77;
	s->dirty = KEEPER_DIRTY_WRITE;
	s->plain = 2;
	s->calls[1].stream_id = 5;
	s->calls[1].len = 3;
	memcpy(s->calls[1].req, "abc", 3);
	cr_assert_eq(keeper_hold(slot, sv[0]), 0);
	keeper_detach();
	close(sv[0]);

	take_all(&t, 8);
	cr_assert_not_null(s = keeper_slot(slot));
	cr_assert_eq(s->conn_id, 77);
	cr_assert_eq(s->dirty, KEEPER_DIRTY_WRITE);
	cr_assert_eq(s->plain, 2);
	cr_assert_eq(s->calls[0].stream_id, 0);
	cr_assert_eq(s->calls[1].stream_id, 5);
	cr_assert_eq(s->calls[1].len, 3);
	cr_assert_eq(memcmp(s->calls[1].req, "abc", 3), 0);
	cr_assert_null(keeper_slot(8), "slot past the end");
}

Test(keeper, drop_closes_the_copy, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	int	kept[2], dropped[2], a, b;

	start(8, 60, false);
	pair(kept);
	pair(dropped);
	a = keeper_slot_alloc();
	b = keeper_slot_alloc();
	cr_assert_eq(keeper_hold(a, kept[0]), 0);
	cr_assert_eq(keeper_hold(b, dropped[0]), 0);
	keeper_drop(b);
	close(kept[0]);
	close(dropped[0]);
	cr_assert(sees_eof(dropped[1], 2000), "the dropped copy stays open");
	cr_assert_not(sees_eof(kept[1], 200), "the held copy was closed");
	/*
	 * The lowest free slot goes first, zeroed: the dropped one, so the
	 * shared table's touched pages follow the connections open at once.
	 */
	keeper_slot(b)->conn_id = 7;
	cr_assert_eq(keeper_slot_alloc(), b);
	cr_assert_eq(keeper_slot(b)->conn_id, 0, "a reused slot not zeroed");
	cr_assert_eq(keeper_slot_alloc(), b + 1);
	cr_assert_eq(keeper_slot(a)->conn_id, 0);
}

Test(keeper, grace_expiry_closes_everything, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	int	sv[2], slot;
	pid_t	pid;

	start(8, 1, false);
	pid = keeper_pid();
	cr_assert_gt(pid, 0);
	pair(sv);
	slot = keeper_slot_alloc();
	cr_assert_eq(keeper_hold(slot, sv[0]), 0);
	keeper_detach();
	close(sv[0]);
	cr_assert_not(sees_eof(sv[1], 300), "closed before the grace ran out");
	cr_assert(sees_eof(sv[1], 3000), "still open after the grace");
	cr_assert_eq(reap(pid, 3000), 0);
	cr_assert(wait_path(sock_path, false, 10), "socket left behind");
	cr_assert(wait_path(pid_path, false, 10), "pid file left behind");
}

Test(keeper, nothing_held_exits_at_once, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	pid_t	pid;

	start(8, 60, false);
	pid = keeper_pid();
	cr_assert_gt(pid, 0);
	keeper_detach();
	cr_assert_eq(reap(pid, 5000), 0, "the keeper lingers");
	cr_assert_not(wait_path(sock_path, true, 10));
	cr_assert_not(wait_path(pid_path, true, 10));
}

/* In a child: keeper_start must fail, its error containing want. */
static void
child_start_fails(const char *want)
{
	struct keeper_opts	o = opts(8, 60);
	char			*err = NULL;

	keeper_detach();	/* the parent's connection is not ours */
	if (keeper_start(&o, false, &err) == 0)
		_exit(1);
	if (err == NULL || strstr(err, want) == NULL) {
		fprintf(stderr, "keeper_start: %s\n", err ? err : "(null)");
		_exit(2);
	}
	_exit(0);
}

/* Run child_start_fails in a child and check its verdict. */
static void
assert_child_refused(const char *want, bool as_nobody)
{
	pid_t	pid;
	int	status;

	if ((pid = fork()) == 0) {
		if (as_nobody && (setgid(65534) == -1 || setuid(65534) == -1))
			_exit(3);
		child_start_fails(want);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child was not refused as expected (status %#x)", status);
}

/* The first daemon is still served: what it holds comes back. */
static void
assert_still_served(void)
{
	struct taken	t;
	int		sv[2], slot;

	pair(sv);
	slot = keeper_slot_alloc();
	cr_assert_eq(keeper_hold(slot, sv[0]), 0);
	keeper_detach();
	close(sv[0]);
	take_all(&t, 8);
	cr_assert_eq(t.n, 1);
	assert_same_socket(sv[1], t.fd[slot], 42);
}

Test(keeper, second_daemon_refused, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	start(8, 60, false);
	assert_child_refused("serves another daemon", false);
	assert_still_served();
}

Test(keeper, other_uid_refused, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to become nobody");
	start(8, 60, false);
	/* Let nobody reach the socket: the keeper itself must refuse. */
	cr_assert_eq(chmod(run_dir, 0711), 0);
	cr_assert_eq(chmod(sock_path, 0666), 0);
	assert_child_refused("uid 65534", true);
	assert_still_served();
}

/* Send raw bytes (and fds) on the keeper's socket. */
static void
raw_send(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	cr_assert_eq(keeper_msg_send(fd, buf, len, fds, nfds), 0,
	    "send: %s", strerror(errno));
}

/* A HOLD carrying n copies of fd, more than any message may: the keeper
 * sees its control data cut short (MSG_CTRUNC). */
static void
send_too_many_fds(int sock, int fd, int n)
{
	struct keeper_msg_slot	 m;
	struct msghdr		 mh = { 0 };
	struct iovec		 iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct cmsghdr		*c;
	char			*buf;
	int			 i;

	memset(&m, 0, sizeof(m));
	keeper_msg_init(&m.hdr, KEEPER_MSG_HOLD);
	buf = calloc(1, CMSG_SPACE(n * sizeof(int)));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = buf;
	mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	for (i = 0; i < n; i++)
		memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	cr_assert_eq(sendmsg(sock, &mh, 0), (ssize_t)sizeof(m), "sendmsg: %s",
	    strerror(errno));
	free(buf);
}

/* Every kind of bad message, on a daemon connection after HELLO. */
static void
send_garbage(int fd)
{
	struct keeper_msg_slot	m;
	struct keeper_msg_fds	f;
	char			big[sizeof(union keeper_msg) + 64];
	int			sv[2];

	pair(sv);
	raw_send(fd, "x", 1, NULL, 0);				/* short */
	memset(&m, 0, sizeof(m));
	keeper_msg_init(&m.hdr, KEEPER_MSG_HOLD);
	m.hdr.version = 99;
	raw_send(fd, &m, sizeof(m), sv, 1);			/* version */
	keeper_msg_init(&m.hdr, 1234);
	raw_send(fd, &m, sizeof(m), NULL, 0);			/* type */
	keeper_msg_init(&m.hdr, KEEPER_MSG_HOLD);
	raw_send(fd, &m, sizeof(m) - 1, sv, 1);			/* length */
	raw_send(fd, &m, sizeof(m), NULL, 0);			/* no fd */
	raw_send(fd, &m, sizeof(m), sv, 2);			/* two fds */
	m.slot = 1u << 30;
	raw_send(fd, &m, sizeof(m), sv, 1);			/* slot */
	keeper_msg_init(&m.hdr, KEEPER_MSG_DROP);
	raw_send(fd, &m, sizeof(m), NULL, 0);			/* slot */
	memset(big, 7, sizeof(big));
	raw_send(fd, big, sizeof(big), sv, 1);			/* too long */
	memset(&f, 0, sizeof(f));
	keeper_msg_init(&f.hdr, KEEPER_MSG_FDS);
	f.n = 1000;
	raw_send(fd, &f, sizeof(f), NULL, 0);			/* not ours */
	send_too_many_fds(fd, sv[0], 100);			/* MSG_CTRUNC */
	close(sv[0]);
	/* The copies the keeper refused must not keep the pair open. */
	cr_assert(sees_eof(sv[1], 2000), "a refused descriptor was kept");
}

/* Read one message from the keeper on a raw connection. */
static void
raw_recv(int fd, struct keeper_packet *p, uint32_t type)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	const char	*why;

	cr_assert_eq(poll(&pfd, 1, 5000), 1, "no answer");
	cr_assert_eq(keeper_msg_recv(fd, p), 1);
	cr_assert_eq(keeper_msg_check(p, &why), 0, "%s", why);
	cr_assert_eq(p->m.hdr.type, type);
}

Test(keeper, malformed_messages_are_survived, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct keeper_msg_hello	 h;
	struct keeper_msg_slot	 tk;
	struct keeper_packet	 p;
	struct taken		 t;
	int			 sv[2], slot, fd;

	start(8, 60, false);
	pair(sv);
	slot = keeper_slot_alloc();
	cr_assert_eq(keeper_hold(slot, sv[0]), 0);
	keeper_detach();
	close(sv[0]);

	/* A raw daemon: HELLO (take), garbage, then TAKE still answers. */
	strcpy(sun.sun_path, sock_path);
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	memset(&h, 0, sizeof(h));
	keeper_msg_init(&h.hdr, KEEPER_MSG_HELLO);
	h.take = 1;
	raw_send(fd, &h, sizeof(h), NULL, 0);
	raw_recv(fd, &p, KEEPER_MSG_WELCOME);
	cr_assert_eq(p.m.welcome.nheld, 1);
	keeper_packet_close(&p);
	send_garbage(fd);
	memset(&tk, 0, sizeof(tk));
	keeper_msg_init(&tk.hdr, KEEPER_MSG_TAKE);
	raw_send(fd, &tk, sizeof(tk), NULL, 0);
	raw_recv(fd, &p, KEEPER_MSG_FDS);
	cr_assert_eq(p.m.fds.n, 1);
	cr_assert_eq(p.m.fds.slots[0], (uint32_t)slot);
	assert_same_socket(sv[1], p.fds[0], 7);
	keeper_packet_close(&p);
	close(fd);

	/* Garbage before HELLO: that connection is dropped, nothing else. */
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	raw_send(fd, "garbage!", 8, NULL, 0);
	raw_send(fd, &tk, sizeof(tk), NULL, 0);
	cr_assert(sees_eof(fd, 2000), "a daemon that never said HELLO kept");
	close(fd);

	take_all(&t, 8);
	cr_assert_eq(t.n, 1);
	assert_same_socket(sv[1], t.fd[slot], 8);
}

Test(keeper, take_many, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	static int	sv[MANY][2], slot[MANY];
	struct taken	t;
	int		i;

	start(256, 60, false);
	for (i = 0; i < MANY; i++) {
		pair(sv[i]);
		cr_assert_geq(slot[i] = keeper_slot_alloc(), 0);
		keeper_slot(slot[i])->conn_id = (uint64_t)i;
		cr_assert_eq(keeper_hold(slot[i], sv[i][0]), 0);
	}
	keeper_detach();
	for (i = 0; i < MANY; i++)
		close(sv[i][0]);
	take_all(&t, 256);
	cr_assert_eq(t.n, MANY);
	for (i = 0; i < MANY; i++) {
		cr_assert_eq(keeper_slot(slot[i])->conn_id, (uint64_t)i);
		assert_same_socket(sv[i][1], t.fd[slot[i]], (unsigned int)i);
	}
}

/* How many keepers run for this test's run dir (by command line). */
static int
count_keepers(void)
{
	DIR		*d = opendir("/proc");
	struct dirent	*de;
	char		 path[300], buf[4096];
	ssize_t		 n, i;
	int		 fd, count = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		if (strstr(buf, "sandboxd-keeper") && strstr(buf, run_dir))
			count++;
	}
	closedir(d);
	return (count);
}

/* Wait for a losing keeper to finish exiting: true once one is left. */
static bool
one_keeper_left(void)
{
	int	ms;

	for (ms = 0; ms < 5000; ms += 10) {
		if (count_keepers() == 1)
			return (true);
		usleep(10000);
	}
	return (false);
}

Test(keeper, racing_starts_make_one_keeper, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct keeper_opts	 o = opts(8, 60);
	pid_t			 pid[2];
	int			 go[2], done[2], i, status;
	char			 c, *err;

	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(done), 0);
	for (i = 0; i < 2; i++) {
		if ((pid[i] = fork()) == 0) {
			close(go[1]);
			close(done[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(9);
			err = NULL;
			if (keeper_start(&o, false, &err) == 0) {
				/* Stay connected until the parent has looked. */
				(void)read(done[0], &c, 1);
				_exit(0);
			}
			fprintf(stderr, "racer: %s\n", err);
			_exit(err && strstr(err, "another daemon") ? 1 : 2);
		}
		cr_assert_gt(pid[i], 0);
	}
	close(go[1]);		/* both go */
	/* The loser finishes first, refused; the winner waits for us. */
	for (;;) {
		for (i = 0; i < 2; i++)
			if (waitpid(pid[i], &status, WNOHANG) == pid[i])
				break;
		if (i < 2)
			break;
		usleep(10000);
	}
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 1, "the loser failed otherwise");
	cr_assert(one_keeper_left(), "%d keepers run", count_keepers());
	close(done[1]);		/* the winner may go */
	cr_assert_eq(waitpid(pid[1 - i], &status, 0), pid[1 - i]);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the winner failed (status %#x)", status);
}

Test(keeper, sigterm_closes_everything, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	int	sv[2], slot;
	pid_t	pid;

	start(8, 60, false);
	pid = keeper_pid();
	pair(sv);
	slot = keeper_slot_alloc();
	cr_assert_eq(keeper_hold(slot, sv[0]), 0);
	close(sv[0]);
	cr_assert_not(sees_eof(sv[1], 200));
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert(sees_eof(sv[1], 3000), "SIGTERM left the copy open");
	cr_assert_eq(reap(pid, 3000), 0);
	cr_assert_not(wait_path(sock_path, true, 10));
	cr_assert_not(wait_path(pid_path, true, 10));
}

Test(keeper, survives_sighup_and_sigint, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	pid_t	pid;

	start(8, 60, false);
	pid = keeper_pid();
	cr_assert_eq(kill(pid, SIGHUP), 0);
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(reap(pid, 300), -1, "the keeper died of a signal");
	assert_still_served();
}

Test(keeper, watch_sees_the_keeper_die, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct event_base	*base = event_base_new();
	pid_t			 pid;
	int			 i;

	start(8, 60, false);
	keeper_watch(base);
	pid = keeper_pid();
	cr_assert_eq(kill(pid, SIGTERM), 0);
	for (i = 0; i < 300 && keeper_active(); i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	cr_assert_not(keeper_active(), "the keeper's death went unnoticed");
	cr_assert_eq(keeper_slot_alloc(), -1);
	cr_assert_eq(keeper_hold(0, 0), -1);
	keeper_detach();
	event_base_free(base);
}

Test(keeper, import_after_reexec, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct taken	 t;
	int		 sv[2], slot, fd;
	char		*err = NULL;

	start(8, 60, false);
	pair(sv);
	slot = keeper_slot_alloc();
	keeper_slot(slot)->conn_id = 99;
	cr_assert_eq(keeper_hold(slot, sv[0]), 0);
	/* A re-exec keeps the connection: a duplicate stands in for it. */
	cr_assert_geq(fd = dup(keeper_export_fd()), 0);
	keeper_detach();
	cr_assert_eq(keeper_import_fd(fd, &err), 0, "import: %s", err);
	cr_assert(keeper_active());
	cr_assert_eq(keeper_slot(slot)->conn_id, 99);
	keeper_slot_claim(slot);
	cr_assert_neq(keeper_slot_alloc(), slot, "a claimed slot given out");
	keeper_detach();
	close(sv[0]);
	take_all(&t, 8);
	cr_assert_eq(t.n, 1);
	assert_same_socket(sv[1], t.fd[slot], 3);
}

Test(keeper, fresh_start_releases_leftovers, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	int	sv[2], slot;

	start(8, 60, false);
	pair(sv);
	slot = keeper_slot_alloc();
	keeper_slot(slot)->conn_id = 5;
	cr_assert_eq(keeper_hold(slot, sv[0]), 0);
	keeper_detach();
	close(sv[0]);
	start(8, 60, false);
	cr_assert(sees_eof(sv[1], 2000), "a leftover stayed open");
	cr_assert_eq(keeper_slot(slot)->conn_id, 0, "stale slot contents");
}

Test(keeper, no_program_is_a_clear_error, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct keeper_opts	 o = opts(8, 60);
	char			*err = NULL;

	o.program = "/nonexistent/sandboxd-keeper";
	cr_assert_eq(keeper_start(&o, false, &err), -1);
	cr_assert_not_null(err);
	cr_assert(strstr(err, "/nonexistent/sandboxd-keeper") != NULL, "%s", err);
	cr_assert_not(keeper_active());
	cr_assert_eq(keeper_slot_alloc(), -1);
	free(err);
}

/* Leave a socket file at path with nobody listening behind it. */
static void
stale_socket(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	strcpy(sun.sun_path, path);
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_SEQPACKET, 0), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
}

Test(keeper, stale_socket_replaced, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	char	log[4096] = "";
	FILE	*f;

	stale_socket(sock_path);
	start(8, 60, false);
	cr_assert_not_null(f = fopen(log_path, "r"));
	(void)fread(log, 1, sizeof(log) - 1, f);
	fclose(f);
	cr_assert(strstr(log, "removing stale socket") != NULL, "log: %s", log);
	assert_still_served();
}

Test(keeper, not_a_socket_is_left_alone, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct keeper_opts	 o = opts(8, 60);
	char			*err = NULL;
	int			 fd;

	cr_assert_geq(fd = open(sock_path, O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
	cr_assert_eq(keeper_start(&o, false, &err), -1);
	cr_assert_not_null(err);
	cr_assert(strstr(err, "exited before listening") != NULL, "%s", err);
	free(err);
	cr_assert_eq(access(sock_path, F_OK), 0, "a regular file was removed");
	cr_assert_eq(keeper_pid(), -1, "a pid file was left");
}

/* keeper_take_pids: what came back, by key. */
struct taken_pids {
	int		pid[8];
	uint64_t	start[8];
	int		fd[8];
	unsigned int	n;
};

static void
take_pid_cb(void *arg, int pid, uint64_t start_time, int fd)
{
	struct taken_pids	*t = arg;

	cr_assert_lt(t->n, 8);
	t->pid[t->n] = pid;
	t->start[t->n] = start_time;
	t->fd[t->n] = fd;
	t->n++;
}

/* The pid a pidfd refers to, from its fdinfo (-1 once reaped). */
static int
pidfd_pid(int fd)
{
	char	path[64], line[128];
	FILE	*f;
	int	pid = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	cr_assert_not_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return (pid);
}

/*
 * Pidfds of watched processes: held by pid and start time through a
 * daemon's death (the keeper stays for them alone), dropped one by one,
 * taken back in key order (and kept), released by a fresh start.
 */
Test(keeper, pidfds_held_through_a_crash, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct taken_pids	 t = { .n = 0 };
	char			*err = NULL;
	pid_t			 c[3], kpid;
	int			 pfd[3], i;

	/* Forked first: a child must not hold the keeper connection. */
	for (i = 0; i < 3; i++) {
		if ((c[i] = fork()) == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			pause();
			_exit(0);
		}
		cr_assert_gt(c[i], 0);
		cr_assert_neq(pfd[i] = (int)syscall(SYS_pidfd_open, c[i], 0),
		    -1);
	}
	start(8, 60, false);
	kpid = keeper_pid();
	for (i = 0; i < 3; i++)
		cr_assert_eq(keeper_hold_pid(pfd[i], c[i], 1000 + i), 0);
	keeper_drop_pid(c[1], 1001);
	keeper_drop_pid(c[1], 7);		/* unknown: nothing */
	keeper_detach();			/* the daemon dies */
	for (i = 0; i < 3; i++)
		close(pfd[i]);
	kill(c[0], SIGKILL);
	cr_assert_eq(waitpid(c[0], NULL, 0), c[0]);
	cr_assert_eq(reap(kpid, 300), -1, "the keeper left its pidfds");

	start(8, 60, true);
	cr_assert_eq(keeper_take_pids(take_pid_cb, &t, &err), 2,
	    "keeper_take_pids: %s", err != NULL ? err : "a wrong count");
	/* Key order: by pid, then start time. */
	i = c[0] < c[2] ? 0 : 1;
	cr_assert_eq(t.pid[i], c[0]);
	cr_assert_eq(t.start[i], 1000);
	cr_assert_eq(t.pid[1 - i], c[2]);
	cr_assert_eq(t.start[1 - i], 1002);
	cr_assert_eq(pidfd_pid(t.fd[1 - i]), c[2], "not c[2]'s pidfd");
	cr_assert_eq(pidfd_pid(t.fd[i]), -1, "c[0] was reaped");
	for (i = 0; i < 2; i++)
		close(t.fd[i]);
	keeper_detach();

	/* Taking kept them; a fresh start lets them go, and then the
	 * keeper, holding nothing, goes as its daemon does. */
	t.n = 0;
	start(8, 60, true);
	cr_assert_eq(keeper_take_pids(take_pid_cb, &t, &err), 2);
	for (i = 0; i < 2; i++)
		close(t.fd[i]);
	keeper_detach();
	start(8, 60, false);
	keeper_detach();
	cr_assert_eq(reap(kpid, 5000), 0, "the keeper kept something");
	kill(c[1], SIGKILL);
	kill(c[2], SIGKILL);
	waitpid(c[1], NULL, 0);
	waitpid(c[2], NULL, 0);
}

/* Count what keeper_take hands back, checking it is the one socket. */
static void
count_cb(void *arg, unsigned int slot, int fd)
{
	struct stat	 sb;
	unsigned int	*n = arg;

	(void)slot;
	cr_assert_eq(fstat(fd, &sb), 0);
	cr_assert(S_ISSOCK(sb.st_mode));
	close(fd);
	(*n)++;
}

Test(keeper, hold_burst, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct keeper_opts	 o = opts(4096, 60);
	unsigned int		 n = 0;
	int			 sv[2], i, slot, failed = 0;
	char			*err = NULL;
	pid_t			 pid;

	start(4096, 60, false);
	pid = keeper_pid();
	pair(sv);
	/* A loop iteration that accepts thousands of connections while the
	 * keeper is not scheduled: no HOLD may be lost. */
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	for (i = 0; i < 3000; i++) {
		cr_assert_geq(slot = keeper_slot_alloc(), 0);
		if (keeper_hold(slot, sv[0]) == -1)
			failed++;
	}
	cr_assert_eq(kill(pid, SIGCONT), 0);
	cr_assert_eq(failed, 0, "%d of 3000 HOLDs not sent", failed);
	keeper_detach();
	cr_assert_eq(keeper_start(&o, true, &err), 0, "%s", err);
	cr_assert_eq(keeper_take(count_cb, &n, &err), 0, "%s", err);
	cr_assert_eq(n, 3000);
	close(sv[0]);
}

Test(keeper, hung_keeper_is_a_clear_error, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct keeper_opts	 o = opts(8, 60);
	struct timespec		 t0, t1;
	char			*err = NULL;
	int			 sv[2], slot;
	pid_t			 pid;

	start(8, 60, false);
	pid = keeper_pid();
	pair(sv);
	slot = keeper_slot_alloc();
	cr_assert_eq(keeper_hold(slot, sv[0]), 0);
	keeper_detach();
	close(sv[0]);
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(keeper_start(&o, true, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(kill(pid, SIGCONT), 0);
	cr_assert(err != NULL && strstr(err, "did not answer") != NULL,
	    "%s", err ? err : "(null)");
	/* One bounded wait, not one per retry. */
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 8, "keeper_start took %lds",
	    (long)(t1.tv_sec - t0.tv_sec));
	free(err);
	cr_assert_not(keeper_active());
	cr_assert_not(sees_eof(sv[1], 100), "the held copy was lost");
}
