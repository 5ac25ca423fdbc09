/*
 * spawner.c: clone sandbox processes from a small helper process.
 *
 * A child cloned by the daemon shares the daemon's pages copy-on-write
 * until it execs, and a held child (see proc_spawn.c) waits for a commit
 * first.  Meanwhile every page the daemon writes is copied, each copy with a TLB
 * shootdown: measured, do_wp_page took 28% of the daemon's CPU in the
 * lifecycle benchmark, against 4% when the daemon waited for each exec.
 * And the clone itself copies the daemon's page tables, which grow with
 * it.  So a helper, forked at start while the daemon is small, does the
 * clone with CLONE_PARENT: the new process is the daemon's child (its
 * exit reaches the daemon's pidfd and waitid as before) but a copy of the
 * helper's few pages, not of the daemon's.
 *
 * One request at a time, answered at once: the launch (strings packed in
 * an ipcmsg) and its one or two pipe ends go over, the pid or an errno
 * comes back.  The round trip is a bounded wait, like the clone it
 * replaces (a clone of a few pages takes ~0.1 ms).  When the helper is
 * missing or the launch too big for one message, the caller clones in
 * the daemon as before.
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

#include "ipcmsg.h"
#include "log.h"
#include "procint.h"
#include "procmgr_test.h"
#include "xmalloc.h"

#define SPAWN_MSG_MAX		IPCMSG_LEN_MAX
#define SPAWN_MAX_STRINGS	8192	/* argv and envp entries, together */
#define SPAWN_REPLY_MS		2000	/* a clone answer later than this: gone */

/* The message types. */
enum spawn_type {
	SPAWN_LAUNCH,		/* a launch; fds: errfd, then gatefd if held */
	SPAWN_ANSWER,		/* an int32: the pid, or -errno */
};

/* Which optional strings follow argv and envp. */
#define SPAWN_HAS_CWD		0x01
#define SPAWN_HAS_HOSTNAME	0x02
#define SPAWN_HAS_NETNS		0x04
#define SPAWN_HAS_LOG		0x08

/* A launch: this header, then path, argv, envp, sysctls, the optional
 * strings. */
struct spawn_hdr {
	uint32_t	clone_flags;
	uint32_t	argc;
	uint32_t	envc;
	uint32_t	sysctlc;
	uint32_t	has;
};

static int	spawn_fd = -1;
static pid_t	spawn_pid = -1;

/*
 * The helper's side.
 */

/* Fill a NULL-terminated vector of n strings; -1 if the message is short. */
static int
spawn_vector(char ***vec, uint32_t n, struct ipcmsg *m)
{
	uint32_t	i;

	*vec = xcalloc((size_t)n + 1, sizeof(**vec));
	for (i = 0; i < n; i++) {
		if (((*vec)[i] = ipcmsg_get_str(m)) == NULL)
			return (-1);
	}
	return (0);
}

/* Take an optional string, present when bit is in has; -1 if missing. */
static int
spawn_opt(char **s, uint32_t has, uint32_t bit, struct ipcmsg *m)
{
	if ((has & bit) && (*s = ipcmsg_get_str(m)) == NULL)
		return (-1);
	return (0);
}

/* Unpack a launch into l (pointers into m's buffer); -1 if malformed. */
static int
spawn_unpack(struct ipcmsg *m, struct proc_launch *l)
{
	struct spawn_hdr	h;

	memset(l, 0, sizeof(*l));
	if (m->type != SPAWN_LAUNCH || ipcmsg_get(m, &h, sizeof(h)) == -1 ||
	    (uint64_t)h.argc + h.envc + h.sysctlc > SPAWN_MAX_STRINGS)
		return (-1);
	l->clone_flags = (int)h.clone_flags;
	if ((l->path = ipcmsg_get_str(m)) == NULL ||
	    spawn_vector(&l->argv, h.argc, m) == -1 ||
	    spawn_vector(&l->envp, h.envc, m) == -1 ||
	    (h.sysctlc > 0 && spawn_vector(&l->sysctls, h.sysctlc, m) == -1) ||
	    spawn_opt(&l->cwd, h.has, SPAWN_HAS_CWD, m) == -1 ||
	    spawn_opt(&l->hostname, h.has, SPAWN_HAS_HOSTNAME, m) == -1 ||
	    spawn_opt(&l->netns_path, h.has, SPAWN_HAS_NETNS, m) == -1 ||
	    spawn_opt(&l->log_path, h.has, SPAWN_HAS_LOG, m) == -1)
		return (-1);
	return (0);
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

/* Send an answer: a pid, or -errno. */
static void
spawn_reply(int fd, int32_t answer)
{
	struct ipcmsg	m;
	char		buf[sizeof(answer)];

	ipcmsg_init(&m, SPAWN_ANSWER, buf, sizeof(buf));
	ipcmsg_add(&m, &answer, sizeof(answer));
	if (ipcmsg_send(fd, &m, 0) == -1)
		_exit(1);
}

/* Serve one launch (m NULL: a malformed one): clone, answer. */
static void
spawn_serve(int fd, struct ipcmsg *m)
{
	struct proc_launch	l;
	int32_t			answer;
	pid_t			pid;

	memset(&l, 0, sizeof(l));
	if (m == NULL || m->nfds < 1 || spawn_unpack(m, &l) == -1)
		answer = -EINVAL;
	else if ((pid = spawn_clone(l.clone_flags)) == 0)
		proc_child(&l, m->fds[0], m->nfds > 1 ? m->fds[1] : -1);
	else
		answer = pid == -1 ? -errno : (int32_t)pid;
	free(l.argv);
	free(l.envp);
	free(l.sysctls);
	if (m != NULL)
		ipcmsg_close_fds(m);
	spawn_reply(fd, answer);
}

/* The helper: serve until the daemon closes its end. */
static void
spawn_main(int fd)
{
	struct ipcmsg	 m;
	char		*buf = xmalloc(SPAWN_MSG_MAX);
	int		 rc;

	for (;;) {
		rc = ipcmsg_recv(fd, &m, buf, SPAWN_MSG_MAX, 0);
		if (rc == 0 || (rc == -1 && errno != EBADMSG))
			_exit(0);
		spawn_serve(fd, rc == 1 ? &m : NULL);
	}
}

/*
 * The daemon's side.
 */

/* Fork the helper; -1 (cause set) if it cannot be, and none is used. */
int
spawner_start(char **cause)
{
	int	size = SPAWN_MSG_MAX + (int)sizeof(struct ipcmsg_hdr);

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

/* Append an optional string, flagging it in *has. */
static void
spawn_add_opt(struct ipcmsg *m, const char *s, uint32_t bit, uint32_t *has)
{
	if (s == NULL)
		return;
	*has |= bit;
	ipcmsg_add_str(m, s);
}

/* Pack l and its fds into m; false if it does not fit in one message. */
static bool
spawn_pack(struct ipcmsg *m, const struct proc_launch *l, int errfd,
    int gatefd)
{
	struct spawn_hdr	h = { 0 };
	char			*argv0[] = { l->path, NULL }, **argv, **envp;

	argv = l->argv != NULL ? l->argv : argv0;
	envp = l->envp;
	h.clone_flags = (uint32_t)l->clone_flags;
	ipcmsg_add(m, &h, sizeof(h));		/* filled in below */
	ipcmsg_add_str(m, l->path);
	for (; !m->full && argv[h.argc] != NULL; h.argc++)
		ipcmsg_add_str(m, argv[h.argc]);
	for (; !m->full && envp != NULL && envp[h.envc] != NULL; h.envc++)
		ipcmsg_add_str(m, envp[h.envc]);
	for (; !m->full && l->sysctls != NULL && l->sysctls[h.sysctlc] != NULL;
	    h.sysctlc++)
		ipcmsg_add_str(m, l->sysctls[h.sysctlc]);
	spawn_add_opt(m, l->cwd, SPAWN_HAS_CWD, &h.has);
	spawn_add_opt(m, l->hostname, SPAWN_HAS_HOSTNAME, &h.has);
	spawn_add_opt(m, l->netns_path, SPAWN_HAS_NETNS, &h.has);
	spawn_add_opt(m, l->log_path, SPAWN_HAS_LOG, &h.has);
	ipcmsg_add_fd(m, errfd);
	if (gatefd != -1)
		ipcmsg_add_fd(m, gatefd);
	if (m->full || h.argc + h.envc + h.sysctlc > SPAWN_MAX_STRINGS)
		return (false);
	memcpy(m->data, &h, sizeof(h));
	return (true);
}

/* Wait (bounded) for the helper's answer: a pid, or -errno. */
static int
spawn_answer(int32_t *answer)
{
	struct pollfd	pfd = { spawn_fd, POLLIN, 0 };
	struct ipcmsg	m;
	int		rc;

	do
		rc = poll(&pfd, 1, SPAWN_REPLY_MS);
	while (rc == -1 && errno == EINTR);
	if (rc <= 0)
		return (-1);
	if (ipcmsg_recv(spawn_fd, &m, answer, sizeof(*answer), 0) != 1)
		return (-1);
	ipcmsg_close_fds(&m);
	if (m.type != SPAWN_ANSWER || m.len != sizeof(*answer)) {
		errno = EBADMSG;
		return (-1);
	}
	return (0);
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
	struct ipcmsg	 m;
	int32_t		 answer;

	if (spawn_fd == -1)
		return (SPAWNER_UNUSED);
	if (buf == NULL)
		buf = xmalloc(SPAWN_MSG_MAX);
	ipcmsg_init(&m, SPAWN_LAUNCH, buf, SPAWN_MSG_MAX);
	if (!spawn_pack(&m, l, errfd, gatefd))
		return (SPAWNER_UNUSED);
	if (ipcmsg_send(spawn_fd, &m, 0) == -1) {
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
