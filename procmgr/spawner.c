/*
 * spawner.c: clone sandbox processes from a small helper process.
 *
 * A child cloned by the daemon shares the daemon's pages copy-on-write
 * until it execs, and a held child (see proc.c) waits for a commit first.
 * Meanwhile every page the daemon writes is copied, each copy with a TLB
 * shootdown: measured, do_wp_page took 28% of the daemon's CPU in the
 * lifecycle benchmark, against 4% when the daemon waited for each exec.
 * And the clone itself copies the daemon's page tables, which grow with
 * it.  So a helper, forked at start while the daemon is small, does the
 * clone with CLONE_PARENT: the new process is the daemon's child (its
 * exit reaches the daemon's pidfd and waitid as before) but a copy of the
 * helper's few pages, not of the daemon's.
 *
 * One request at a time, answered at once: the launch (strings packed in
 * a SOCK_SEQPACKET message) and its two pipe ends (SCM_RIGHTS) go over,
 * the pid or an errno comes back.  The round trip is a bounded wait,
 * like the clone it replaces (a clone of a few pages takes ~0.1 ms).
 * When the helper is missing or the launch too big for one message, the
 * caller clones in the daemon as before.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/sched.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "procint.h"
#include "procmgr_test.h"
#include "xmalloc.h"

#define SPAWN_MSG_MAX		(128 * 1024)
#define SPAWN_MAX_STRINGS	8192	/* argv and envp entries, together */
#define SPAWN_REPLY_MS		2000	/* a clone answer later than this: gone */

/* Which optional strings follow argv and envp. */
#define SPAWN_HAS_CWD		0x01
#define SPAWN_HAS_HOSTNAME	0x02
#define SPAWN_HAS_NETNS		0x04
#define SPAWN_HAS_LOG		0x08
#define SPAWN_HAS_GATE		0x10

/* A request: this header, then path, argv, envp, the optional strings. */
struct spawn_hdr {
	uint32_t	clone_flags;
	uint32_t	argc;
	uint32_t	envc;
	uint32_t	has;
};

static int	spawn_fd = -1;
static pid_t	spawn_pid = -1;

/*
 * The helper's side.
 */

/* Take the next NUL-terminated string of the message, or NULL. */
static char *
spawn_next(char **p, const char *end)
{
	char	*s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', (size_t)(end - s))) == NULL)
		return (NULL);
	*p = nul + 1;
	return (s);
}

/* Fill a NULL-terminated vector of n strings; -1 if the message is short. */
static int
spawn_vector(char ***vec, uint32_t n, char **p, const char *end)
{
	uint32_t	i;

	*vec = xcalloc((size_t)n + 1, sizeof(**vec));
	for (i = 0; i < n; i++) {
		if (((*vec)[i] = spawn_next(p, end)) == NULL)
			return (-1);
	}
	return (0);
}

/* Unpack a request into l (pointers into buf); -1 if malformed. */
static int
spawn_unpack(char *buf, size_t len, struct proc_launch *l, bool *gate)
{
	struct spawn_hdr	 h;
	char			*p = buf + sizeof(h), *end = buf + len;

	memset(l, 0, sizeof(*l));
	if (len < sizeof(h))
		return (-1);
	memcpy(&h, buf, sizeof(h));
	if ((uint64_t)h.argc + h.envc > SPAWN_MAX_STRINGS)
		return (-1);
	l->clone_flags = (int)h.clone_flags;
	*gate = (h.has & SPAWN_HAS_GATE) != 0;
	if ((l->path = spawn_next(&p, end)) == NULL ||
	    spawn_vector(&l->argv, h.argc, &p, end) == -1 ||
	    spawn_vector(&l->envp, h.envc, &p, end) == -1)
		return (-1);
	if (((h.has & SPAWN_HAS_CWD) && (l->cwd = spawn_next(&p, end)) == NULL) ||
	    ((h.has & SPAWN_HAS_HOSTNAME) &&
	    (l->hostname = spawn_next(&p, end)) == NULL) ||
	    ((h.has & SPAWN_HAS_NETNS) &&
	    (l->netns_path = spawn_next(&p, end)) == NULL) ||
	    ((h.has & SPAWN_HAS_LOG) &&
	    (l->log_path = spawn_next(&p, end)) == NULL))
		return (-1);
	return (0);
}

/* Receive a request and its fds (errfd, then gatefd if any). */
static ssize_t
spawn_recv(int fd, char *buf, size_t size, int fds[2], int *nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(2 * sizeof(int))];
	}		 cm;
	struct cmsghdr	*c;
	struct msghdr	 msg;
	struct iovec	 iov = { buf, size };
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	*nfds = 0;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	for (c = CMSG_FIRSTHDR(&msg); n > 0 && c != NULL;
	    c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			*nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (*nfds > 2)
				*nfds = 2;
			memcpy(fds, CMSG_DATA(c), (size_t)*nfds * sizeof(int));
		}
	}
	return (n);
}

/* Clone as the daemon's child (CLONE_PARENT); 0 in the child. */
static pid_t
spawn_clone(int flags)
{
	struct clone_args	ca;
	pid_t			pid;

	memset(&ca, 0, sizeof(ca));
	/* With CLONE_PARENT the exit signal is the daemon's own (SIGCHLD). */
	ca.flags = CLONE_PARENT | (uint64_t)(unsigned int)flags;
	pid = (pid_t)syscall(SYS_clone3, &ca, CLONE_ARGS_SIZE_VER0);
	if (pid != -1 || errno != ENOSYS)
		return (pid);
	return ((pid_t)syscall(SYS_clone, CLONE_PARENT | (unsigned long)flags,
	    NULL, NULL, NULL, NULL));
}

/* Serve one request: clone, answer the pid or -errno. */
static void
spawn_serve(int fd, char *buf, size_t len, int fds[2], int nfds)
{
	struct proc_launch	l;
	int32_t			answer;
	pid_t			pid;
	bool			gate;

	if (nfds < 1 || spawn_unpack(buf, len, &l, &gate) == -1 ||
	    (gate && nfds < 2))
		answer = -EINVAL;
	else if ((pid = spawn_clone(l.clone_flags)) == 0)
		proc_child(&l, fds[0], gate ? fds[1] : -1);
	else
		answer = pid == -1 ? -errno : (int32_t)pid;
	free(l.argv);
	free(l.envp);
	while (nfds > 0)
		close(fds[--nfds]);
	if (send(fd, &answer, sizeof(answer), MSG_NOSIGNAL) == -1)
		_exit(1);
}

/* The helper: serve until the daemon closes its end. */
static void
spawn_main(int fd)
{
	char	*buf = xmalloc(SPAWN_MSG_MAX);
	int	 fds[2], nfds;
	ssize_t	 n;

	for (;;) {
		if ((n = spawn_recv(fd, buf, SPAWN_MSG_MAX, fds, &nfds)) <= 0)
			_exit(0);
		spawn_serve(fd, buf, (size_t)n, fds, nfds);
	}
}

/*
 * The daemon's side.
 */

/* Fork the helper; -1 (cause set) if it cannot be, and none is used. */
int
spawner_start(char **cause)
{
	int	size = SPAWN_MSG_MAX;

	if (helper_fork(SPAWNER_NAME, spawn_main, &spawn_pid, &spawn_fd,
	    cause) == -1)
		return (-1);
	/* Room for the largest request (the kernel may allow less). */
	setsockopt(spawn_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return (0);
}

/* The helper's pid, or -1 when the daemon clones by itself. */
pid_t
spawner_pid(void)
{
	return (spawn_fd != -1 ? spawn_pid : -1);
}

/* Close the helper's socket and reap it (it exits on EOF). */
void
spawner_stop(void)
{
	if (spawn_fd == -1)
		return;
	close(spawn_fd);
	spawn_fd = -1;
	while (waitpid(spawn_pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/* Stop using a helper that failed; later launches clone here. */
static void
spawner_lost(const char *why)
{
	log_warnx("spawner: helper pid %d %s (%s); sandbox processes are now "
	    "cloned by the daemon itself", (int)spawn_pid, why,
	    strerror(errno));
	close(spawn_fd);
	spawn_fd = -1;
	waitpid(spawn_pid, NULL, WNOHANG);
}

/* Append s and its NUL; false when it does not fit. */
static bool
spawn_put(char *buf, size_t *len, const char *s)
{
	size_t	n = strlen(s) + 1;

	if (n > SPAWN_MSG_MAX - *len)
		return (false);
	memcpy(buf + *len, s, n);
	*len += n;
	return (true);
}

/* Append an optional string, flagging it in *has. */
static bool
spawn_put_opt(char *buf, size_t *len, const char *s, uint32_t bit,
    uint32_t *has)
{
	if (s == NULL)
		return (true);
	*has |= bit;
	return (spawn_put(buf, len, s));
}

/* Pack l; 0 if it does not fit in one message. */
static size_t
spawn_pack(const struct proc_launch *l, bool gate, char *buf)
{
	struct spawn_hdr	h = { 0 };
	size_t			len = sizeof(h);
	char			*argv0[] = { l->path, NULL }, **argv, **envp;
	bool			ok;

	argv = l->argv != NULL ? l->argv : argv0;
	envp = l->envp;
	h.clone_flags = (uint32_t)l->clone_flags;
	ok = spawn_put(buf, &len, l->path);
	for (; ok && argv[h.argc] != NULL; h.argc++)
		ok = spawn_put(buf, &len, argv[h.argc]);
	for (; ok && envp != NULL && envp[h.envc] != NULL; h.envc++)
		ok = spawn_put(buf, &len, envp[h.envc]);
	ok = ok && h.argc + h.envc <= SPAWN_MAX_STRINGS &&
	    spawn_put_opt(buf, &len, l->cwd, SPAWN_HAS_CWD, &h.has) &&
	    spawn_put_opt(buf, &len, l->hostname, SPAWN_HAS_HOSTNAME, &h.has) &&
	    spawn_put_opt(buf, &len, l->netns_path, SPAWN_HAS_NETNS, &h.has) &&
	    spawn_put_opt(buf, &len, l->log_path, SPAWN_HAS_LOG, &h.has);
	if (gate)
		h.has |= SPAWN_HAS_GATE;
	memcpy(buf, &h, sizeof(h));
	return (ok ? len : 0);
}

/* Send the request with its fds. */
static int
spawn_send(const char *buf, size_t len, int errfd, int gatefd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(2 * sizeof(int))];
	}		 cm;
	struct cmsghdr	*c;
	struct msghdr	 msg;
	struct iovec	 iov = { (void *)buf, len };
	int		 fds[2] = { errfd, gatefd }, nfds = gatefd != -1 ? 2 : 1;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	do
		n = sendmsg(spawn_fd, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return (n == (ssize_t)len ? 0 : -1);
}

/* Wait (bounded) for the helper's answer: a pid, or -errno. */
static int
spawn_answer(int32_t *answer)
{
	struct pollfd	pfd = { spawn_fd, POLLIN, 0 };
	ssize_t		n;
	int		rc;

	do
		rc = poll(&pfd, 1, SPAWN_REPLY_MS);
	while (rc == -1 && errno == EINTR);
	if (rc <= 0)
		return (-1);
	do
		n = recv(spawn_fd, answer, sizeof(*answer), 0);
	while (n == -1 && errno == EINTR);
	return (n == (ssize_t)sizeof(*answer) ? 0 : -1);
}

/*
 * Have the helper clone l as the daemon's child, its error pipe's write
 * end errfd and its gate's read end gatefd (-1: not held).  The pid; or
 * -1 with errno when the clone failed; or SPAWNER_UNUSED when the helper
 * cannot do it (missing, gone, launch too big, CLONE_PARENT refused: the
 * flags were checked already, so EINVAL or EPERM is about the helper's
 * way of cloning), and the caller clones.
 */
pid_t
spawner_spawn(const struct proc_launch *l, int errfd, int gatefd)
{
	static char	*buf;
	int32_t		 answer;
	size_t		 len;

	if (spawn_fd == -1)
		return (SPAWNER_UNUSED);
	if (buf == NULL)
		buf = xmalloc(SPAWN_MSG_MAX);
	if ((len = spawn_pack(l, gatefd != -1, buf)) == 0)
		return (SPAWNER_UNUSED);
	if (spawn_send(buf, len, errfd, gatefd) == -1) {
		if (errno == EMSGSIZE || errno == ENOBUFS)
			return (SPAWNER_UNUSED);
		spawner_lost("cannot be reached");
		return (SPAWNER_UNUSED);
	}
	if (spawn_answer(&answer) == -1) {
		spawner_lost("did not answer");
		return (SPAWNER_UNUSED);
	}
	if (answer == -EINVAL || answer == -ENOSYS || answer == -EPERM) {
		/* CLONE_PARENT refused here (seccomp, valgrind): stop asking. */
		errno = -answer;
		spawner_lost("cannot clone for the daemon");
		return (SPAWNER_UNUSED);
	}
	if (answer < 0) {
		errno = -answer;
		return (-1);
	}
	return ((pid_t)answer);
}
