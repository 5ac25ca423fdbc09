/*
 * pause.c: sandboxd-pause, the init process of an io.sandboxd.pause.v1
 * sandbox (like Kubernetes' pause).  It sleeps, reaps every child that
 * exits (orphans of its PID namespace come to it) and exits 0 on SIGTERM
 * or SIGINT.  Plain libc, no daemon code, no output while it runs.
 *
 * As PID 1 of a PID namespace, a signal with no handler is dropped by the
 * kernel unless it is blocked: so the signals it cares about are blocked
 * and taken with sigwaitinfo, which works the same as PID 1 or not.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef SANDBOXD_VERSION
#define SANDBOXD_VERSION	"0.1.0"
#endif

/* Reap every child that has exited. */
static void
reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* --help and --version; anything else is a usage error. */
static int
options(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("sandboxd-pause %s\n", SANDBOXD_VERSION);
		return (0);
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: sandboxd-pause [--help | --version]\n"
		    "The init process of a sandboxd pause sandbox: sleeps, "
		    "reaps its children,\nexits 0 on SIGTERM or SIGINT.\n");
		return (0);
	}
	fprintf(stderr, "usage: sandboxd-pause [--help | --version]\n");
	return (2);
}

/* Wait for signals: reap children, exit 0 on SIGTERM or SIGINT. */
int
main(int argc, char **argv)
{
	sigset_t	set;

	if (argc > 1)
		return (options(argc, argv));

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
		perror("sandboxd-pause: sigprocmask");
		return (1);
	}
	for (;;) {
		switch (sigwaitinfo(&set, NULL)) {
		case SIGCHLD:
			reap();
			break;
		case SIGTERM:
		case SIGINT:
			return (0);
		default:
			break;		/* EINTR */
		}
	}
}
