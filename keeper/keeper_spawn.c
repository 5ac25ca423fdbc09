/*
 * keeper_spawn.c: starting sandboxd-keeper for a daemon.
 *
 * The keeper must outlive the daemon, so it is detached: a first child
 * makes a new session and forks the keeper, then exits at once (the
 * daemon reaps it here), so the keeper is nobody's child but init's (or a
 * subreaper's) and no terminal or process group ties it to the daemon.
 * It gets none of the daemon's descriptors (the daemon has thousands):
 * /dev/null as stdio, a pipe on fd 3 on which it says it listens, and
 * nothing else; signals are back to their defaults, unblocked.
 *
 * The daemon may have threads (the commit thread), so between fork and
 * exec only async-signal-safe calls are made: everything is prepared
 * before the fork.
 */
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper_int.h"
#include "xmalloc.h"

#define KEEPER_READY_FD	3

/* The keeper's command line; free with spawn_argv_free. */
static char **
spawn_argv(const struct keeper_opts *o)
{
	char	**argv = xcalloc(12, sizeof(*argv));
	int	  i = 0;

	argv[i++] = xstrdup(o->program);
	argv[i++] = xstrdup("--run-dir");
	argv[i++] = xstrdup(o->run_dir);
	argv[i++] = xstrdup("--slots");
	xasprintf(&argv[i++], "%u", o->nslots);
	argv[i++] = xstrdup("--grace");
	xasprintf(&argv[i++], "%u", o->grace_secs);
	argv[i++] = xstrdup("--ready-fd");
	xasprintf(&argv[i++], "%d", KEEPER_READY_FD);
	if (o->log_file != NULL) {
		argv[i++] = xstrdup("--log");
		argv[i++] = xstrdup(o->log_file);
	}
	argv[i] = NULL;
	return (argv);
}

static void
spawn_argv_free(char **argv)
{
	char	**p;

	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

/* Close every descriptor from lowfd up. */
static void
spawn_close_from(int lowfd)
{
	int	fd;

	if (syscall(SYS_close_range, lowfd, ~0U, 0) == 0)
		return;
	for (fd = lowfd; fd < 65536; fd++)
		close(fd);
}

/* In the keeper, before exec: stdio, the ready pipe, nothing else. */
static void
spawn_child_fds(int ready)
{
	int	nul, r;

	if ((nul = open("/dev/null", O_RDWR)) == -1)
		_exit(127);
	/* Lift both above 3 first, so the dup2s below cannot clobber them. */
	if ((r = fcntl(ready, F_DUPFD, KEEPER_READY_FD + 1)) == -1 ||
	    (nul = fcntl(nul, F_DUPFD, KEEPER_READY_FD + 1)) == -1)
		_exit(127);
	if (dup2(nul, 0) == -1 || dup2(nul, 1) == -1 || dup2(nul, 2) == -1 ||
	    dup2(r, KEEPER_READY_FD) == -1)
		_exit(127);
	spawn_close_from(KEEPER_READY_FD + 1);
}

/* The keeper's process: a clean slate, then exec. */
static void __attribute__((__noreturn__))
spawn_keeper(char **argv, int ready)
{
	struct sigaction	sa;
	sigset_t		none;
	int			sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	spawn_child_fds(ready);
	umask(077);
	if (chdir("/") == -1)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

/* The first child: a new session, the keeper forked off, gone. */
static void __attribute__((__noreturn__))
spawn_detach(char **argv, int ready)
{
	pid_t	pid;

	if (setsid() == -1)
		_exit(127);
	if ((pid = fork()) == -1)
		_exit(127);
	if (pid == 0)
		spawn_keeper(argv, ready);
	_exit(0);
}

/* Wait for the keeper's byte on the pipe: 0, or -1 with *err. */
static int
spawn_wait_ready(int fd, const struct keeper_opts *o, char **err)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		c;
	ssize_t		n;
	int		r;

	do
		r = poll(&pfd, 1, KEEPER_START_MS);
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		xasprintf(err, "%s did not listen within %d ms", o->program,
		    KEEPER_START_MS);
		return (-1);
	}
	do
		n = read(fd, &c, 1);
	while (n == -1 && errno == EINTR);
	if (n != 1) {
		xasprintf(err, "%s exited before listening (another keeper, "
		    "or see %s)", o->program,
		    o->log_file != NULL ? o->log_file : "its log");
		return (-1);
	}
	return (0);
}

/*
 * Start a detached keeper for opts and wait until its socket listens:
 * 0, or -1 with *err (it could not run, exited at once, or was slow).
 */
int
keeper_spawn(const struct keeper_opts *o, char **err)
{
	char	**argv;
	int	  ready[2], r, status;
	pid_t	  pid;

	if (access(o->program, X_OK) == -1) {
		xasprintf(err, "%s: %s", o->program, strerror(errno));
		return (-1);
	}
	if (pipe2(ready, O_CLOEXEC) == -1) {
		xasprintf(err, "pipe: %s", strerror(errno));
		return (-1);
	}
	argv = spawn_argv(o);
	if ((pid = fork()) == -1) {
		xasprintf(err, "fork: %s", strerror(errno));
		close(ready[0]);
		close(ready[1]);
		spawn_argv_free(argv);
		return (-1);
	}
	if (pid == 0)
		spawn_detach(argv, ready[1]);
	close(ready[1]);
	spawn_argv_free(argv);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	r = spawn_wait_ready(ready[0], o, err);
	close(ready[0]);
	return (r);
}
