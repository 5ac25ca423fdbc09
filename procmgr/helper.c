/*
 * helper.c: forking the daemon's helper processes (netns_worker.c is
 * the one there is).  A helper is forked at start, before the daemon opens its
 * store and sockets, and talks to the daemon in ipcmsg messages over one
 * SOCK_SEQPACKET pair.  It dies with the daemon, holds none of the
 * daemon's other descriptors, carries its own name in ps, and leaves the
 * terminal's signals to the daemon.
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "procint.h"
#include "xmalloc.h"

/* In the new helper: set it up as the comment above says, then run. */
static void __attribute__((__noreturn__))
helper_child(const char *name, void (*run)(int), int fd, pid_t daemon_pid)
{
	/*
	 * Die with the daemon, even mid-request: work done for a killed
	 * daemon (a netns made after its successor's sweep) would be lost.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != daemon_pid)
		_exit(0);
	/*
	 * An end of another helper's socket kept here would keep that
	 * helper from its EOF when the daemon exits.
	 */
	if (proc_child_close_fds(fd, log_fd()) == -1)
		_exit(1);
	prctl(PR_SET_NAME, name);
	/* A terminal's ^C reaches the process group: the daemon decides. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	run(fd);
	_exit(0);
}

/*
 * Fork the helper name running run(fd); *pid and *fd (the daemon's end of
 * the socket) on success, -1 with cause if it cannot be started.
 */
int
helper_fork(const char *name, void (*run)(int), pid_t *pid, int *fd,
    char **cause)
{
	pid_t	self = getpid();
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
		return (-1);
	}
	switch (*pid = fork()) {
	case -1:
		xasprintf(cause, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return (-1);
	case 0:
		close(sv[0]);
		helper_child(name, run, sv[1], self);
	}
	close(sv[1]);
	*fd = sv[0];
	log_debug("%s: helper pid %d", name, (int)*pid);
	return (0);
}
