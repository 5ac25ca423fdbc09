/*
 * benchutil_daemon.c: a private sandboxd for a benchmark: started on
 * fresh paths, connected to, and stopped with every leftover (sandbox
 * processes, netns files, warning lines in its log) reported and cleaned
 * up (see benchutil.h).
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "procmgr.h"

#ifndef BENCH_SANDBOXD_BIN
#define BENCH_SANDBOXD_BIN	"sandboxd"
#endif
#ifndef BENCH_PAUSE_BIN
#define BENCH_PAUSE_BIN		"sandboxd-pause"
#endif

#define START_TIMEOUT_MS	10000
#define STOP_TIMEOUT_MS		10000
#define MAX_LOG_LINES		20
#define MAX_DAEMONS		16

/* The daemons running now: the orphan sweep must spare them. */
static pid_t	daemon_pids[MAX_DAEMONS];

/* A config file for the daemons started from now on, or NULL. */
const char	*bench_daemon_config;

/* An environment override, else the built-in default. */
static const char *
env_or(const char *name, const char *def)
{
	const char	*v = getenv(name);

	return (v != NULL && *v != '\0' ? v : def);
}

/* Remove one entry of a directory tree (for nftw). */
static int
rm_entry_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return (0);
}

/* Remember (pid > 0) or forget (pid <= 0, old) a running daemon. */
static void
daemon_register(pid_t old, pid_t pid)
{
	size_t	i;

	for (i = 0; i < MAX_DAEMONS; i++) {
		if (daemon_pids[i] == old) {
			daemon_pids[i] = pid;
			return;
		}
	}
}

/* Whether pid is one of our running daemons. */
static bool
daemon_registered(pid_t pid)
{
	size_t	i;

	for (i = 0; i < MAX_DAEMONS; i++) {
		if (daemon_pids[i] == pid)
			return (true);
	}
	return (false);
}

/* Fill the daemon's paths under a fresh temporary directory. */
static void
daemon_paths(struct bench_daemon *d)
{
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "/tmp/sbdbench.XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(d->socket, sizeof d->socket, "%s/s", d->dir);
	snprintf(d->state_dir, sizeof d->state_dir, "%s/state", d->dir);
	snprintf(d->run_dir, sizeof d->run_dir, "%s/run", d->dir);
	snprintf(d->log_path, sizeof d->log_path, "%s/daemon.log", d->dir);
}

/* In the child: stdin from /dev/null, stdout and stderr to the log; exec. */
static void __attribute__((__noreturn__))
daemon_exec(const struct bench_daemon *d, const char *level)
{
	const char	*bin = env_or("SANDBOXD_BIN", BENCH_SANDBOXD_BIN);
	const char	*pause = env_or("SANDBOXD_PAUSE_BIN", BENCH_PAUSE_BIN);
	int		 fd;

	setpgid(0, 0);		/* a ^C is for the benchmark, not for it */
	if ((fd = open("/dev/null", O_RDONLY)) != -1)
		dup2(fd, 0);
	if ((fd = open(d->log_path, O_WRONLY|O_CREAT|O_APPEND, 0600)) != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if (bench_daemon_config != NULL)
		execl(bin, bin, "--foreground", "--config", bench_daemon_config,
		    "--socket", d->socket, "--state-dir", d->state_dir,
		    "--run-dir", d->run_dir, "--log-level", level,
		    "--log-file", d->log_path, "--pause-path", pause,
		    (char *)NULL);
	else
		execl(bin, bin, "--foreground", "--socket", d->socket,
		    "--state-dir", d->state_dir, "--run-dir", d->run_dir,
		    "--log-level", level, "--log-file", d->log_path,
		    "--pause-path", pause, (char *)NULL);
	fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
	_exit(127);
}

/* Whether the daemon can be connected to. */
static bool
daemon_ready(const struct bench_daemon *d)
{
	struct sbc	*c;
	char		*cause = NULL;

	if ((c = sbc_connect(d->socket, &cause)) == NULL) {
		free(cause);
		return (false);
	}
	sbc_close(c);
	return (true);
}

/*
 * Start sandboxd at a log level on fresh paths; wait until it accepts.
 * Exits the benchmark (after cleaning up) if the daemon cannot start.
 */
void
bench_daemon_start(struct bench_daemon *d, const char *level)
{
	double	deadline;
	int	status;

	daemon_paths(d);
	/* Sandboxes orphaned by a dying daemon become ours to kill. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	fflush(stdout);
	if ((d->pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (d->pid == 0)
		daemon_exec(d, level);
	daemon_register(0, d->pid);
	deadline = bench_now() + START_TIMEOUT_MS / 1000.0;
	while (!daemon_ready(d)) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			fprintf(stderr, "sandboxd exited at start (status "
			    "0x%x)\n", status);
			daemon_register(d->pid, 0);
			d->pid = 0;
			break;
		}
		if (bench_now() > deadline) {
			fprintf(stderr, "sandboxd not ready after %d ms\n",
			    START_TIMEOUT_MS);
			break;
		}
		bench_sleep_ms(10);
	}
	if (d->pid != 0 && daemon_ready(d))
		return;
	bench_daemon_stop(d);
	exit(1);
}

/*
 * SIGKILL the daemon, as a crash would, and start it again on the same
 * directory; the seconds from the new daemon's fork until it accepts a
 * connection (it listens only once recovery is done and committed), or
 * -1 if it did not come up (the benchmark then exits, as at start).
 */
double
bench_daemon_restart(struct bench_daemon *d, const char *level)
{
	double	t0, deadline;
	int	status;

	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	daemon_register(d->pid, 0);
	fflush(stdout);
	t0 = bench_now();
	if ((d->pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (d->pid == 0)
		daemon_exec(d, level);
	daemon_register(0, d->pid);
	deadline = t0 + START_TIMEOUT_MS / 1000.0;
	/* 1 ms polls: the figure is a few hundred ms at most. */
	while (!daemon_ready(d)) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid ||
		    bench_now() > deadline) {
			fprintf(stderr, "sandboxd did not come back up\n");
			bench_daemon_stop(d);
			exit(1);
		}
		bench_sleep_ms(1);
	}
	return (bench_now() - t0);
}

/* What bench_daemon_helpers collects. */
struct helper_list {
	pid_t	*pids;
	int	 n, max;
};

/* Collect pid if it is one of the daemon's helper processes. */
static void
add_helper_cb(pid_t pid, char state, void *arg)
{
	struct helper_list	*l = arg;

	(void)state;
	if (l->n < l->max && proc_is_daemon_helper(pid))
		l->pids[l->n++] = pid;
}

/* The helper processes of the daemon d (up to max); how many. */
int
bench_daemon_helpers(const struct bench_daemon *d, pid_t *pids, int max)
{
	struct helper_list	l = { pids, 0, max };

	bench_for_children(d->pid, add_helper_cb, &l);
	return (l.n);
}

/*
 * The pid of the sandboxd-keeper serving the daemon's run dir, from its
 * pid file (keeper.pid there), or 0.  The keeper is the daemon's child
 * only until the daemon dies: after a kill -9 it is ours (we are a
 * subreaper) and the restarted daemon connects to it again.
 */
pid_t
bench_keeper_pid(const struct bench_daemon *d)
{
	char	 path[PATH_MAX + 16], comm[64];
	FILE	*f;
	int	 pid = 0;

	snprintf(path, sizeof path, "%s/keeper.pid", d->run_dir);
	if ((f = fopen(path, "re")) == NULL)
		return (0);
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || proc_read_comm(pid, comm, sizeof comm) == -1 ||
	    strcmp(comm, KEEPER_PROGRAM_NAME) != 0)
		return (0);
	return ((pid_t)pid);
}

/* What kill_children_of counts, and whose children it looks at. */
struct leftovers {
	pid_t	ppid;
	int	n;
};

/* Kill (and count) pid unless it is a daemon of ours or its helper. */
static void
kill_leftover_cb(pid_t pid, char state, void *arg)
{
	struct leftovers	*l = arg;

	if (daemon_registered(pid) || proc_is_daemon_helper(pid))
		return;
	if (state != 'Z' && kill(pid, SIGKILL) == 0)
		l->n++;
	if (l->ppid == getpid())
		waitpid(pid, NULL, 0);
}

/*
 * SIGKILL every live process whose parent is ppid, but our daemons and
 * their helpers (which exit with their daemon): leftovers; how many.
 * Our own children (ppid is us) are reaped, the zombies among them too,
 * without being counted.
 */
static int
kill_children_of(pid_t ppid)
{
	struct leftovers	l = { ppid, 0 };

	bench_for_children(ppid, kill_leftover_cb, &l);
	return (l.n);
}

/* SIGTERM the daemon, SIGKILL it if it lingers; its wait status. */
static int
daemon_terminate(struct bench_daemon *d)
{
	double	deadline = bench_now() + STOP_TIMEOUT_MS / 1000.0;
	pid_t	pid;
	int	status = 0;

	kill(d->pid, SIGTERM);
	while ((pid = waitpid(d->pid, &status, WNOHANG)) == 0) {
		if (bench_now() > deadline) {
			fprintf(stderr, "  sandboxd ignored SIGTERM for %d ms, "
			    "killing it\n", STOP_TIMEOUT_MS);
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			break;
		}
		bench_sleep_ms(5);
	}
	if (pid == -1) {
		printf("  PROBLEM: lost track of sandboxd (pid %d): %s\n",
		    (int)d->pid, strerror(errno));
		status = -1;
	}
	return (status);
}

/* Unmount and remove netns files left under the run dir; how many. */
static int
remove_netns_files(const struct bench_daemon *d)
{
	char		 dir[PATH_MAX + 8], path[2 * PATH_MAX];
	struct dirent	*de;
	DIR		*dp;
	int		 n = 0;

	snprintf(dir, sizeof dir, "%s/netns", d->run_dir);
	if ((dp = opendir(dir)) == NULL)
		return (0);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		while (umount2(path, MNT_DETACH|UMOUNT_NOFOLLOW) == 0)
			;
		unlink(path);
		n++;
	}
	closedir(dp);
	return (n);
}

/* Whether a daemon log line is below warning level (time, level, ...). */
static bool
log_line_quiet(const char *line)
{
	const char	*lvl = strchr(line, ' ');

	return (lvl != NULL && (strncmp(lvl + 1, "debug", 5) == 0 ||
	    strncmp(lvl + 1, "info", 4) == 0));
}

/* Print the daemon's warnings and errors; how many lines there were. */
static int
report_log(const struct bench_daemon *d)
{
	char	 line[1024];
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(d->log_path, "re")) == NULL)
		return (0);
	while (fgets(line, sizeof line, f) != NULL) {
		if (log_line_quiet(line))
			continue;
		if (n++ < MAX_LOG_LINES)
			printf("  daemon log: %s", line);
	}
	fclose(f);
	if (n > MAX_LOG_LINES)
		printf("  daemon log: ... %d more lines\n", n - MAX_LOG_LINES);
	return (n);
}

/* Report how the daemon ended; whether that was a problem. */
static int
report_exit(int status, bool died)
{
	if (status == -1)
		return (1);	/* lost track of it, said so */
	if (died)
		printf("  PROBLEM: sandboxd died during the run (status "
		    "0x%x)\n", status);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		printf("  PROBLEM: sandboxd exited with status 0x%x on "
		    "SIGTERM\n", status);
	else
		return (0);
	return (1);
}

/*
 * Stop the daemon and clean up: leftover sandbox processes, the daemon,
 * leftover netns files, the directory.  Returns the number of problems
 * (each is printed); 0 for a clean run.
 */
int
bench_daemon_stop(struct bench_daemon *d)
{
	int	status = 0, problems = 0, n;
	bool	died = false;

	if (d->pid > 0) {
		if ((n = kill_children_of(d->pid)) > 0) {
			printf("  PROBLEM: %d sandbox processes left running, "
			    "killed\n", n);
			problems++;
		}
		died = waitpid(d->pid, &status, WNOHANG) == d->pid;
		if (!died)
			status = daemon_terminate(d);
		problems += report_exit(status, died);
		daemon_register(d->pid, 0);
		d->pid = 0;
	}
	bench_sleep_ms(50);
	if ((n = kill_children_of(getpid())) > 0) {
		printf("  PROBLEM: %d orphaned sandbox processes, killed\n", n);
		problems++;
	}
	if ((n = remove_netns_files(d)) > 0) {
		printf("  PROBLEM: %d netns files left, removed\n", n);
		problems++;
	}
	if (report_log(d) > 0)
		problems++;
	if (getenv("BENCH_KEEP") == NULL)
		nftw(d->dir, rm_entry_cb, 16, FTW_DEPTH|FTW_PHYS|FTW_MOUNT);
	return (problems);
}

/* The daemon's open fds but LevelDB's (their number follows compactions). */
int
bench_daemon_fds(const struct bench_daemon *d)
{
	char	skip[PATH_MAX + 16];

	snprintf(skip, sizeof skip, "%s/leveldb/", d->state_dir);
	return (bench_fd_count(d->pid, skip));
}

/* A connection in the benchmark namespace with a call timeout; or NULL. */
struct sbc *
bench_connect(const struct bench_daemon *d)
{
	struct sbc	*c;
	char		*cause = NULL;

	if ((c = sbc_connect(d->socket, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return (NULL);
	}
	if (sbc_set_namespace(c, BENCH_NAMESPACE) != 0) {
		fprintf(stderr, "out of memory\n");
		sbc_close(c);
		return (NULL);
	}
	sbc_set_timeout(c, BENCH_CALL_TIMEOUT_MS);
	return (c);
}
