/*
 * runc.c: runc invocations as events on the loop.
 *
 * Each call spawns runc (posix_spawn: glibc clones with CLONE_VM |
 * CLONE_VFORK, so a big daemon spawns as fast as a small one) with its
 * json log and, for commands that are not about the container's own
 * stdio, its stderr in memfds; opens a pidfd on it and returns.  When the
 * pidfd turns readable, runc is reaped, the memfds are read (they are
 * files: no pipe to drain, nothing can block), the pid file is read, and
 * done is called.  A timer SIGKILLs a runc that overstays.
 *
 * Reaping: runc is the daemon's child, and so, once runc exits, is the
 * process a create or exec left behind (the daemon is a subreaper).  The
 * SIGCHLD sweep in proc.c asks runc_spares before it reaps a child it
 * does not track: a running invocation is spared, and so is the pid its
 * pid file names, from the moment runc writes it until done returns, so
 * that a container init which dies at once is still a zombie when the
 * caller starts watching it.  In signalfd mode the sweep reaps with
 * waitpid(-1) and hands runc's status over through runc_reaped.
 */
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <jansson.h>

#include "log.h"
#include "procint.h"
#include "queue.h"
#include "reapint.h"
#include "runc.h"
#include "xmalloc.h"

#define RUNC_MAXARGS	24
#define RUNC_LOG_TAIL	(64 * 1024)	/* bytes of the log looked at */
#define RUNC_ERR_TAIL	4096		/* bytes of stderr kept */
#define RUNC_LOG_FD	3		/* the log memfd, in runc */

extern char	**environ;

/* One runc running, or finished and in its done callback. */
struct runc_call {
	TAILQ_ENTRY(runc_call)	 entry;
	struct event		 watch;		/* the pidfd */
	struct event		 timer;		/* the deadline */
	const char		*cmd;		/* "create", ...: for messages */
	pid_t			 pid;		/* runc */
	int			 pidfd;
	int			 logfd;		/* memfd: runc's json log */
	int			 errfd;		/* memfd: its stderr, or -1 */
	char			*pid_file;	/* create, exec: else NULL */
	char			*remove_file;	/* exec's process json */
	pid_t			 child;		/* read from pid_file, or 0 */
	int			 wstatus;	/* from runc_reaped */
	bool			 have_status;
	bool			 reaped;
	bool			 timed_out;
	bool			 lost;		/* its status could not be had */
	runc_done_fn		 done;
	void			*arg;
};

/* What one invocation needs beyond its arguments. */
struct runc_spec {
	const char	*cmd;
	const int	*stdio;		/* NULL: none (stderr captured) */
	int		 stdin_fd;	/* a memfd to read, or -1 */
	const char	*pid_file;
	const char	*remove_file;
};

struct runc_argv {
	char	*v[RUNC_MAXARGS];
	size_t	 n;
};

static TAILQ_HEAD(, runc_call)	 runc_calls =
    TAILQ_HEAD_INITIALIZER(runc_calls);
static unsigned int		 runc_count;
static char			*runc_binary;
static char			*runc_root;
static unsigned int		 runc_timeout_ms = RUNC_TIMEOUT_MS;

static void	runc_watch_cb(int, short, void *);
static void	runc_timer_cb(int, short, void *);

/* Which runc, and where it keeps its state. */
void
runc_configure(const char *binary, const char *root)
{
	free(runc_binary);
	free(runc_root);
	runc_binary = binary != NULL ? xstrdup(binary) : NULL;
	runc_root = root != NULL ? xstrdup(root) : NULL;
}

/* How long an invocation may run before it is killed. */
void
runc_set_timeout(unsigned int ms)
{
	runc_timeout_ms = ms;
}

/* Invocations whose done has not returned. */
unsigned int
runc_inflight(void)
{
	return (runc_count);
}

/* Append a copy of s. */
static void
argv_add(struct runc_argv *a, const char *s)
{
	if (a->n + 1 >= RUNC_MAXARGS)
		fatalx("%s: too many runc arguments", __func__);
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

/* runc's leading arguments: the binary, --root, the json log. */
static void
argv_start(struct runc_argv *a, const char *cmd)
{
	char	path[32];

	a->n = 0;
	argv_add(a, runc_binary != NULL ? runc_binary : "runc");
	if (runc_root != NULL) {
		argv_add(a, "--root");
		argv_add(a, runc_root);
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", RUNC_LOG_FD);
	argv_add(a, "--log");
	argv_add(a, path);
	argv_add(a, "--log-format");
	argv_add(a, "json");
	argv_add(a, cmd);
}

static void
argv_free(struct runc_argv *a)
{
	size_t	i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

/* An anonymous file for runc to write into (or read from). */
static int
runc_memfd(const char *name, char **err)
{
	int	fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		xasprintf(err, "memfd_create: %s", strerror(errno));
	return (fd);
}

/*
 * Put fd (or /dev/null when -1) on target in the child.  A source that is
 * itself target needs no dup2: glibc clears its close-on-exec then.
 */
static int
runc_fa_fd(posix_spawn_file_actions_t *fa, int fd, int target)
{
	if (fd == -1)
		return (posix_spawn_file_actions_addopen(fa, target,
		    "/dev/null", O_RDWR, 0));
	return (posix_spawn_file_actions_adddup2(fa, fd, target));
}

/*
 * The descriptors runc gets as 0, 1, 2.  The dup2s run in order in the
 * child, so a source among 0..RUNC_LOG_FD that is not its own target
 * could be overwritten by an earlier one: such a source is moved above
 * first (and closed again by runc_spawn).
 */
static int
runc_stdio(const struct runc_call *c, const struct runc_spec *s, int io[3],
    bool moved[3])
{
	int	i, fd;

	for (i = 0; i < 3; i++) {
		if (s->stdio != NULL)
			io[i] = s->stdio[i];
		else
			io[i] = i == 0 ? s->stdin_fd : i == 2 ? c->errfd : -1;
		moved[i] = false;
		if (io[i] == -1 || io[i] == i || io[i] > RUNC_LOG_FD)
			continue;
		if ((fd = fcntl(io[i], F_DUPFD_CLOEXEC, RUNC_LOG_FD + 1)) == -1)
			return (errno);
		io[i] = fd;
		moved[i] = true;
	}
	return (0);
}

/* The child's descriptors: stdio, the log on RUNC_LOG_FD, nothing else. */
static int
runc_file_actions(posix_spawn_file_actions_t *fa, const struct runc_call *c,
    const int io[3])
{
	int	i, rv = 0;

	for (i = 0; i < 3 && rv == 0; i++)
		rv = runc_fa_fd(fa, io[i], i);
	if (rv == 0)
		rv = posix_spawn_file_actions_adddup2(fa, c->logfd, RUNC_LOG_FD);
	if (rv == 0)
		rv = posix_spawn_file_actions_addclosefrom_np(fa,
		    RUNC_LOG_FD + 1);
	return (rv);
}

/* Spawn runc with argv; c->pid on success, else an errno value. */
static int
runc_spawn(struct runc_call *c, const struct runc_spec *s,
    struct runc_argv *a)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		attr;
	sigset_t			set;
	int				rv, i, io[3];
	bool				moved[3];

	if ((rv = runc_stdio(c, s, io, moved)) != 0)
		return (rv);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* The daemon blocks SIGCHLD and ignores SIGPIPE; runc must not. */
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGCHLD);
	posix_spawnattr_setsigdefault(&attr, &set);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	if ((rv = runc_file_actions(&fa, c, io)) == 0)
		rv = posix_spawnp(&c->pid, a->v[0], &fa, &attr, a->v,
		    environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < 3; i++)
		if (moved[i])
			close(io[i]);
	return (rv);
}

/* Free c and whatever it holds. */
static void
runc_call_free(struct runc_call *c)
{
	if (c->pidfd != -1)
		close(c->pidfd);
	if (c->logfd != -1)
		close(c->logfd);
	if (c->errfd != -1)
		close(c->errfd);
	free(c->pid_file);
	free(c->remove_file);
	free(c);
}

/* runc started: watch it by pidfd and bound it with the timer. */
static int
runc_watch(struct runc_call *c, char **err)
{
	struct timeval	tv;

	if ((c->pidfd = pidfd_open(c->pid, 0)) == -1) {
		xasprintf(err, "pidfd_open runc: %s", strerror(errno));
		/* Our unwatched child: kill it and wait; SIGKILL is prompt. */
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
			;
		return (-1);
	}
	event_assign(&c->watch, proc_base, c->pidfd, EV_READ, runc_watch_cb,
	    c);
	event_add(&c->watch, NULL);
	evtimer_assign(&c->timer, proc_base, runc_timer_cb, c);
	tv.tv_sec = runc_timeout_ms / 1000;
	tv.tv_usec = (runc_timeout_ms % 1000) * 1000;
	evtimer_add(&c->timer, &tv);
	return (0);
}

/* Start one invocation; on failure nothing is left running or open. */
static int
runc_run(const struct runc_spec *s, struct runc_argv *a, runc_done_fn done,
    void *arg, char **err)
{
	struct runc_call	*c;
	int			 rv;

	if (proc_base == NULL)
		fatalx("%s: procmgr not initialized", __func__);
	c = xcalloc(1, sizeof *c);
	c->cmd = s->cmd;
	c->pidfd = c->errfd = -1;
	c->done = done;
	c->arg = arg;
	if ((c->logfd = runc_memfd("runc-log", err)) == -1 ||
	    (s->stdio == NULL && (c->errfd = runc_memfd("runc-err",
	    err)) == -1))
		goto fail;
	if (s->pid_file != NULL)
		c->pid_file = xstrdup(s->pid_file);
	if ((rv = runc_spawn(c, s, a)) != 0) {
		xasprintf(err, "cannot run %s: %s", a->v[0], strerror(rv));
		goto fail;
	}
	if (runc_watch(c, err) == -1)
		goto fail;
	if (s->remove_file != NULL)
		c->remove_file = xstrdup(s->remove_file);
	TAILQ_INSERT_TAIL(&runc_calls, c, entry);
	runc_count++;
	log_debug("%s: runc %s pid %d", __func__, c->cmd, (int)c->pid);
	argv_free(a);
	return (0);

fail:
	argv_free(a);
	runc_call_free(c);
	return (-1);
}

/* The deadline passed: kill runc; its exit reports the failure. */
static void
runc_timer_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, void *arg)
{
	struct runc_call	*c = arg;

	log_warnx("runc %s pid %d still running after %u ms, killing it",
	    c->cmd, (int)c->pid, runc_timeout_ms);
	c->timed_out = true;
	if (pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0) == -1)
		log_warn("%s: kill runc pid %d", __func__, (int)c->pid);
}

/* The pid a pid file holds, or 0 when it is missing or not a pid. */
static pid_t
runc_read_pid_file(const char *path)
{
	char	buf[32], *end;
	ssize_t	n;
	long	v;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (0);
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || v <= 0 || v > INT_MAX)
		return (0);
	return ((pid_t)v);
}

/* The last len bytes (at most) of a memfd, NUL-terminated. */
static char *
runc_read_tail(int fd, size_t max)
{
	struct stat	 st;
	char		*buf;
	off_t		 off = 0;
	ssize_t		 n;

	if (fd == -1 || fstat(fd, &st) == -1 || st.st_size <= 0)
		return (NULL);
	if ((size_t)st.st_size > max)
		off = st.st_size - (off_t)max;
	buf = xmalloc((size_t)(st.st_size - off) + 1);
	n = pread(fd, buf, (size_t)(st.st_size - off), off);
	if (n <= 0) {
		free(buf);
		return (NULL);
	}
	buf[n] = '\0';
	return (buf);
}

/* The msg of the last {"level":"error"} line of runc's json log. */
static char *
runc_log_error(int logfd)
{
	json_t		*j;
	const char	*level, *msg;
	char		*log, *line, *next, *found = NULL;

	if ((log = runc_read_tail(logfd, RUNC_LOG_TAIL)) == NULL)
		return (NULL);
	for (line = log; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((j = json_loads(line, 0, NULL)) == NULL)
			continue;
		level = json_string_value(json_object_get(j, "level"));
		msg = json_string_value(json_object_get(j, "msg"));
		if (level != NULL && msg != NULL &&
		    (strcmp(level, "error") == 0 ||
		    strcmp(level, "fatal") == 0)) {
			free(found);
			found = xstrdup(msg);
		}
		json_decref(j);
	}
	free(log);
	return (found);
}

/* stderr's last line that says anything, or NULL. */
static char *
runc_stderr_error(int errfd)
{
	char	*text, *end, *line, *found = NULL;

	if ((text = runc_read_tail(errfd, RUNC_ERR_TAIL)) == NULL)
		return (NULL);
	end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	if (end > text) {
		line = strrchr(text, '\n');
		found = xstrdup(line != NULL ? line + 1 : text);
	}
	free(text);
	return (found);
}

/* Why the invocation failed, in one sentence. */
static char *
runc_error(struct runc_call *c, int status)
{
	char	*msg;

	if (c->timed_out) {
		xasprintf(&msg, "runc %s did not finish within %u ms (killed)",
		    c->cmd, runc_timeout_ms);
		return (msg);
	}
	if (c->lost) {
		xasprintf(&msg, "runc %s: its exit status was lost", c->cmd);
		return (msg);
	}
	if ((msg = runc_log_error(c->logfd)) != NULL ||
	    (msg = runc_stderr_error(c->errfd)) != NULL)
		return (msg);
	if (status == -1)
		xasprintf(&msg, "runc %s was killed by a signal", c->cmd);
	else
		xasprintf(&msg, "runc %s failed with status %d", c->cmd,
		    status);
	return (msg);
}

/* runc's status, -1 for a signal, from a waitpid status. */
static int
runc_wstatus(int st)
{
	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/*
 * Reap runc through its pidfd.  1: reaped (*status set), 0: not yet
 * waitable, -1: the status is lost.
 */
static int
runc_reap(struct runc_call *c, int *status)
{
	siginfo_t	si;

	if (c->have_status) {
		*status = runc_wstatus(c->wstatus);
		return (1);
	}
	memset(&si, 0, sizeof si);
	if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG) == -1) {
		log_warn("%s: waitid runc pid %d", __func__, (int)c->pid);
		return (-1);
	}
	if (si.si_pid == 0)
		return (0);
	*status = si.si_code == CLD_EXITED ? si.si_status : -1;
	return (1);
}

/* Report c to its caller, then forget it. */
static void
runc_finish(struct runc_call *c, int status)
{
	struct runc_result	res;

	memset(&res, 0, sizeof res);
	res.status = c->timed_out ? -1 : status;
	if (res.status == 0 && c->pid_file != NULL &&
	    (c->child = runc_read_pid_file(c->pid_file)) == 0)
		xasprintf(&res.error, "runc %s left no pid in %s", c->cmd,
		    c->pid_file);
	else if (res.status != 0)
		res.error = runc_error(c, res.status);
	res.pid = res.error == NULL ? c->child : 0;
	if (c->remove_file != NULL)
		unlink(c->remove_file);
	log_debug("%s: runc %s pid %d status %d%s%s", __func__, c->cmd,
	    (int)c->pid, res.status, res.error != NULL ? ": " : "",
	    res.error != NULL ? res.error : "");
	/* c stays listed during done: its child is spared until then. */
	c->done(c->arg, &res);
	free(res.error);
	TAILQ_REMOVE(&runc_calls, c, entry);
	runc_count--;
	runc_call_free(c);
	/* A zombie spared for done may hold the sweep back: sweep again. */
	proc_reap_untracked();
}

/* runc's pidfd is readable: it has exited. */
static void
runc_watch_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, void *arg)
{
	struct runc_call	*c = arg;
	int			 status = -1;

	switch (runc_reap(c, &status)) {
	case 0:
		event_add(&c->watch, NULL);
		return;
	case -1:
		status = -1;
		c->lost = true;
		break;
	}
	c->reaped = true;
	evtimer_del(&c->timer);
	close(c->pidfd);
	c->pidfd = -1;
	runc_finish(c, status);
}

/* Must the sweep leave this zombie?  See the comment at the top. */
bool
runc_spares(pid_t pid)
{
	struct runc_call	*c;

	TAILQ_FOREACH(c, &runc_calls, entry) {
		if (!c->reaped && !c->have_status && c->pid == pid)
			return (true);
		if (c->pid_file == NULL)
			continue;
		if (c->child == 0)
			c->child = runc_read_pid_file(c->pid_file);
		if (c->child == pid)
			return (true);
	}
	return (false);
}

/* signalfd mode reaped pid: keep its status if it is a runc of ours. */
bool
runc_reaped(pid_t pid, int wstatus)
{
	struct runc_call	*c;

	TAILQ_FOREACH(c, &runc_calls, entry) {
		if (!c->reaped && !c->have_status && c->pid == pid) {
			c->wstatus = wstatus;
			c->have_status = true;
			return (true);
		}
	}
	return (false);
}

/* A path component we may put in a file name under the bundle. */
static int
runc_check_name(const char *what, const char *name, char **err)
{
	if (name == NULL || *name == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		xasprintf(err, "invalid %s \"%s\"", what,
		    name != NULL ? name : "");
		return (-1);
	}
	return (0);
}

/* Write len bytes of data to path (created or truncated, mode 0600). */
static int
runc_write_file(const char *path, const uint8_t *data, size_t len,
    char **err)
{
	ssize_t	n;
	size_t	off = 0;
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		xasprintf(err, "open %s: %s", path, strerror(errno));
		return (-1);
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(err, "write %s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return (-1);
		}
		off += (size_t)n;
	}
	close(fd);
	return (0);
}

/* runc create: the container, waiting for runc start. */
int
runc_create(const char *id, const char *bundle, const int stdio[3],
    const char *console_socket, runc_done_fn done, void *arg, char **err)
{
	struct runc_spec	s = { "create", stdio, -1, NULL, NULL };
	struct runc_argv	a;
	char			*pid_file;
	int			 rv;

	if (runc_check_name("container id", id, err) == -1)
		return (-1);
	xasprintf(&pid_file, "%s/init.pid", bundle);
	/* A stale file must not name someone else to runc_spares. */
	unlink(pid_file);
	s.pid_file = pid_file;
	argv_start(&a, "create");
	argv_add(&a, "--bundle");
	argv_add(&a, bundle);
	argv_add(&a, "--pid-file");
	argv_add(&a, pid_file);
	if (console_socket != NULL) {
		argv_add(&a, "--console-socket");
		argv_add(&a, console_socket);
	}
	argv_add(&a, id);
	rv = runc_run(&s, &a, done, arg, err);
	free(pid_file);
	return (rv);
}

/* runc exec --detach: one more process in the container. */
int
runc_exec(const char *id, const char *bundle, const char *exec_id,
    const uint8_t *process_json, size_t len, const int stdio[3],
    const char *console_socket, runc_done_fn done, void *arg, char **err)
{
	struct runc_spec	s = { "exec", stdio, -1, NULL, NULL };
	struct runc_argv	a;
	char			*pid_file, *process;
	int			 rv = -1;

	if (runc_check_name("container id", id, err) == -1 ||
	    runc_check_name("exec id", exec_id, err) == -1)
		return (-1);
	xasprintf(&pid_file, "%s/%s.pid", bundle, exec_id);
	xasprintf(&process, "%s/%s.json", bundle, exec_id);
	unlink(pid_file);
	if (runc_write_file(process, process_json, len, err) == -1)
		goto out;
	s.pid_file = pid_file;
	s.remove_file = process;
	argv_start(&a, "exec");
	argv_add(&a, "--process");
	argv_add(&a, process);
	argv_add(&a, "--detach");
	argv_add(&a, "--pid-file");
	argv_add(&a, pid_file);
	if (console_socket != NULL) {
		argv_add(&a, "--console-socket");
		argv_add(&a, console_socket);
		argv_add(&a, "--tty");
	}
	argv_add(&a, id);
	if ((rv = runc_run(&s, &a, done, arg, err)) == -1)
		unlink(process);
out:
	free(pid_file);
	free(process);
	return (rv);
}

/* A command that takes the id alone: start, pause, resume. */
static int
runc_simple(const char *cmd, const char *id, runc_done_fn done, void *arg,
    char **err)
{
	struct runc_spec	s = { cmd, NULL, -1, NULL, NULL };
	struct runc_argv	a;

	if (runc_check_name("container id", id, err) == -1)
		return (-1);
	argv_start(&a, cmd);
	argv_add(&a, id);
	return (runc_run(&s, &a, done, arg, err));
}

/* runc start: run the created container's process. */
int
runc_start(const char *id, runc_done_fn done, void *arg, char **err)
{
	return (runc_simple("start", id, done, arg, err));
}

/* runc pause: freeze every process of the container. */
int
runc_pause(const char *id, runc_done_fn done, void *arg, char **err)
{
	return (runc_simple("pause", id, done, arg, err));
}

/* runc resume: thaw them. */
int
runc_resume(const char *id, runc_done_fn done, void *arg, char **err)
{
	return (runc_simple("resume", id, done, arg, err));
}

/* runc kill: sig to the init, or to every process with all. */
int
runc_kill(const char *id, int sig, bool all, runc_done_fn done, void *arg,
    char **err)
{
	struct runc_spec	s = { "kill", NULL, -1, NULL, NULL };
	struct runc_argv	a;
	char			num[16];

	if (runc_check_name("container id", id, err) == -1)
		return (-1);
	if (sig <= 0 || sig >= NSIG) {
		xasprintf(err, "invalid signal %d", sig);
		return (-1);
	}
	snprintf(num, sizeof num, "%d", sig);
	argv_start(&a, "kill");
	if (all)
		argv_add(&a, "--all");
	argv_add(&a, id);
	argv_add(&a, num);
	return (runc_run(&s, &a, done, arg, err));
}

/* runc delete: forget the container (force: kill it first). */
int
runc_delete(const char *id, bool force, runc_done_fn done, void *arg,
    char **err)
{
	struct runc_spec	s = { "delete", NULL, -1, NULL, NULL };
	struct runc_argv	a;

	if (runc_check_name("container id", id, err) == -1)
		return (-1);
	argv_start(&a, "delete");
	if (force)
		argv_add(&a, "--force");
	argv_add(&a, id);
	return (runc_run(&s, &a, done, arg, err));
}

/* runc update: new resources, read by runc from its stdin (a memfd). */
int
runc_update(const char *id, const uint8_t *resources_json, size_t len,
    runc_done_fn done, void *arg, char **err)
{
	struct runc_spec	s = { "update", NULL, -1, NULL, NULL };
	struct runc_argv	a;
	int			rv;

	if (runc_check_name("container id", id, err) == -1)
		return (-1);
	if ((s.stdin_fd = runc_memfd("runc-resources", err)) == -1)
		return (-1);
	if ((len > 0 && write(s.stdin_fd, resources_json, len) !=
	    (ssize_t)len) || lseek(s.stdin_fd, 0, SEEK_SET) == -1) {
		xasprintf(err, "resources memfd: %s", strerror(errno));
		close(s.stdin_fd);
		return (-1);
	}
	argv_start(&a, "update");
	argv_add(&a, "--resources");
	argv_add(&a, "-");
	argv_add(&a, id);
	rv = runc_run(&s, &a, done, arg, err);
	close(s.stdin_fd);
	return (rv);
}
