/*
 * benchutil.c: the benchmarks' shared parts (see benchutil.h): their
 * command line, start and end, and summary figures; start and stop a
 * private sandboxd and clean up after it, read a process's memory, and
 * drive many sandbox lifecycles through the daemon, pipelined.
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "procmgr.h"
#include "protocol.h"
#include "xmalloc.h"

#ifndef BENCH_SANDBOXD_BIN
#define BENCH_SANDBOXD_BIN	"sandboxd"
#endif
#ifndef BENCH_PAUSE_BIN
#define BENCH_PAUSE_BIN		"sandboxd-pause"
#endif

#define START_TIMEOUT_MS	10000
#define STOP_TIMEOUT_MS		10000
#define MAX_LOG_LINES		20
#define MAX_ERRORS		10
#define MAX_DAEMONS		16

static const char exec_spec[] =
    "{\"process\":{\"args\":[\"/bin/sleep\",\"1000\"],"
    "\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}";

static const char *const step_names[] = {
	[STEP_STORE_CREATE] = "Store.Create",
	[STEP_CTRL_CREATE] = "Controller.Create",
	[STEP_START] = "Controller.Start",
	[STEP_STOP] = "Controller.Stop",
	[STEP_WAIT] = "Controller.Wait",
	[STEP_SHUTDOWN] = "Controller.Shutdown",
	[STEP_STORE_DELETE] = "Store.Delete",
};

volatile sig_atomic_t	bench_interrupted;

/* The daemons running now: the orphan sweep must spare them. */
static pid_t	daemon_pids[MAX_DAEMONS];

/* One connection of the driver and the group of sandboxes it moves. */
struct lane {
	struct sbc	*c;
	size_t		 first;		/* first id number of the group */
	size_t		 n;		/* sandboxes in the group, 0: idle */
	size_t		 step;		/* index into the drive's steps */
	uint32_t	 stream[BENCH_MAX_GROUP];
	bool		 sent[BENCH_MAX_GROUP];
	bool		 failed[BENCH_MAX_GROUP];
};

/* The driver's state. */
struct drive_ctx {
	struct bench_drive		*dr;
	struct lane			 lanes[BENCH_MAX_CONNS];
	size_t				 next;	/* next id to hand out */
	cssv_StoreCreateRequest		*screate;
	cssv_ControllerCreateRequest	*ccreate;
	size_t				 nerrors;
	bool				 broken;
};

/* Note the signal; the loops look at bench_interrupted. */
static void
interrupt_cb(int sig)
{
	(void)sig;
	bench_interrupted = 1;
}

/* Catch SIGINT, SIGTERM and SIGHUP, without SA_RESTART: poll returns. */
static void
catch_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = interrupt_cb;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Seconds on the monotonic clock. */
double
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Sleep for ms milliseconds, signals or not. */
void
bench_sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Print what runs where: name, date, CPUs, load, kernel. */
static void
print_header(const char *name, const char *what)
{
	struct utsname	 u;
	char		 when[64], load[64] = "?";
	time_t		 t = time(NULL);
	FILE		*f;

	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	if ((f = fopen("/proc/loadavg", "re")) != NULL) {
		if (fgets(load, sizeof load, f) != NULL)
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	uname(&u);
	printf("%s: %s\n", name, what);
	printf("  %s, %ld CPUs, Linux %s, loadavg %s\n", when,
	    sysconf(_SC_NPROCESSORS_ONLN), u.release, load);
	fflush(stdout);
}

/* Print the usage of the options in o->optstring, with o's defaults. */
static void
print_usage(const char *prog, const struct bench_opts *o)
{
	fprintf(stderr, "usage: %s", prog);
	if (strchr(o->optstring, 'n') != NULL)
		fprintf(stderr, " [-n sandboxes (1-10000, default %zu)]",
		    o->n);
	if (strchr(o->optstring, 'r') != NULL)
		fprintf(stderr, " [-r rounds (1-%d, default %d)]",
		    o->max_rounds, o->rounds);
	if (strchr(o->optstring, 't') != NULL)
		fprintf(stderr, " [-t seconds per phase (0-5, default %.1f)]",
		    o->seconds);
	fprintf(stderr, "\n");
}

/*
 * Parse the options o->optstring names into o (see benchutil.h); 0, or
 * -1 after printing the usage.
 */
int
bench_parse_args(int argc, char **argv, struct bench_opts *o)
{
	const struct bench_opts	 defaults = *o;
	double			 t;
	long			 n;
	int			 ch, r;

	while ((ch = getopt(argc, argv, o->optstring)) != -1) {
		if (ch == 'n' && (n = atol(optarg)) > 0 && n <= 10000)
			o->n = (size_t)n;
		else if (ch == 'r' && (r = atoi(optarg)) > 0 &&
		    r <= o->max_rounds)
			o->rounds = r;
		else if (ch == 't' && (t = atof(optarg)) > 0 && t <= 5)
			o->seconds = t;
		else {
			print_usage(argv[0], &defaults);
			return (-1);
		}
	}
	return (0);
}

/* Start a benchmark: line-buffered output, ^C caught, the header. */
void
bench_init(const char *name, const char *what)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	catch_signals();
	print_header(name, what);
}

/*
 * End a benchmark: say whether there were problems (errors: failed
 * requests, counted apart) and whether it was cut short; the exit status.
 */
int
bench_finish(int problems, size_t errors)
{
	if (errors > 0)
		printf("PROBLEMS: %d in daemon runs and cleanup, %zu request "
		    "errors\n", problems, errors);
	else if (problems > 0)
		printf("PROBLEMS: %d (see above)\n", problems);
	if (bench_interrupted)
		printf("INTERRUPTED: the figures above are partial\n");
	return (problems > 0 || errors > 0);
}

/* n per second, guarding against a zero interval. */
double
bench_per_sec(size_t n, double secs)
{
	return (secs > 0 ? (double)n / secs : 0);
}

/* Sort helper for doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* The median of v[0..n-1] (v is sorted in place). */
double
bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

/* One line of a summary's ratios, label and value in columns. */
void
bench_print_ratio(const char *label, int decimals, double ratio)
{
	printf("  %-46s%6.*fx\n", label, decimals, ratio);
}

/* An environment override, else the built-in default. */
static const char *
env_or(const char *name, const char *def)
{
	const char	*v = getenv(name);

	return (v != NULL && *v != '\0' ? v : def);
}

/* Remove one entry of a directory tree (for nftw). */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
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
	execl(bin, bin, "--foreground", "--socket", d->socket, "--state-dir",
	    d->state_dir, "--run-dir", d->run_dir, "--log-level", level,
	    "--log-file", d->log_path, "--pause-path", pause, (char *)NULL);
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
 * Call fn(pid, state letter, arg) for every process whose parent is ppid,
 * found by a walk of /proc.
 */
void
bench_for_children(pid_t ppid, void (*fn)(pid_t, char, void *), void *arg)
{
	struct dirent	*de;
	DIR		*dir;
	pid_t		 pid, parent;
	char		 state;

	if ((dir = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if ((pid = (pid_t)atoi(de->d_name)) > 0 &&
		    proc_read_parent(pid, &parent, &state) == 0 &&
		    parent == ppid)
			fn(pid, state, arg);
	}
	closedir(dir);
}

/* What bench_daemon_helpers collects. */
struct helper_list {
	pid_t	*pids;
	int	 n, max;
};

static void
add_helper(pid_t pid, char state, void *arg)
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

	bench_for_children(d->pid, add_helper, &l);
	return (l.n);
}

/* What kill_children_of counts, and whose children it looks at. */
struct leftovers {
	pid_t	ppid;
	int	n;
};

static void
kill_leftover(pid_t pid, char state, void *arg)
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

	bench_for_children(ppid, kill_leftover, &l);
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
		nftw(d->dir, rm_entry, 16, FTW_DEPTH|FTW_PHYS|FTW_MOUNT);
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
	sbc_set_namespace(c, BENCH_NAMESPACE);
	sbc_set_timeout(c, BENCH_CALL_TIMEOUT_MS);
	return (c);
}

/* The number after "key" in a /proc file of "key: value kB" lines. */
static long
proc_field_kib(const char *path, const char *key)
{
	char	 line[256];
	size_t	 len = strlen(key);
	long	 v = -1;
	FILE	*f;

	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (v);
}

/*
 * A process's resident memory in KiB: VmRSS from status and Pss from
 * smaps_rollup (-1 where unreadable).  0, or -1 if the process is gone.
 */
int
bench_mem(pid_t pid, long *rss, long *pss)
{
	char	path[64];

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	*rss = proc_field_kib(path, "VmRSS");
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	*pss = proc_field_kib(path, "Pss");
	return (*rss < 0 ? -1 : 0);
}

/*
 * The number of open file descriptors of a process, -1 if unreadable;
 * those on files under skip (NULL: none), e.g. LevelDB's, are not
 * counted: their number follows LevelDB's own compactions.
 */
int
bench_fd_count(pid_t pid, const char *skip)
{
	char		 path[64], link[PATH_MAX + 64], target[PATH_MAX];
	struct dirent	*de;
	DIR		*dir;
	ssize_t		 len;
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", path, de->d_name);
		len = readlink(link, target, sizeof target - 1);
		target[len > 0 ? len : 0] = '\0';
		if (skip == NULL || strncmp(target, skip, strlen(skip)) != 0)
			n++;
	}
	closedir(dir);
	return (n);
}

/* CPU seconds (user + system, all threads) a process has used, or -1. */
double
bench_cpu_seconds(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	FILE			*f;
	int			 n = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	if (fgets(buf, sizeof buf, f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		n = sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %llu %llu", &ut, &st);
	fclose(f);
	if (n != 2)
		return (-1);
	return ((double)(ut + st) / (double)sysconf(_SC_CLK_TCK));
}

/*
 * Seconds a process's main thread (the daemon's loop) has spent runnable
 * but waiting for a CPU (run_delay in /proc/<pid>/schedstat), or -1.
 */
double
bench_run_delay(pid_t pid)
{
	char			 path[64];
	unsigned long long	 run, delay;
	FILE			*f;
	int			 n;

	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	n = fscanf(f, "%llu %llu", &run, &delay);
	fclose(f);
	return (n == 2 ? (double)delay / 1e9 : -1);
}

/* The exec runtime's OCI spec: /bin/sleep 1000. */
const char *
bench_exec_spec(void)
{
	return (exec_spec);
}

/* Set dr's runtime and its spec: exec runs bench_exec_spec, pause none. */
void
bench_drive_runtime(struct bench_drive *dr, const char *runtime)
{
	dr->runtime = runtime;
	dr->spec = NULL;
	dr->spec_len = 0;
	if (strcmp(runtime, BENCH_RUNTIME_EXEC) == 0) {
		dr->spec = exec_spec;
		dr->spec_len = strlen(exec_spec);
	}
}

/* Format the id of sandbox number i. */
static void
drive_id(const struct bench_drive *dr, size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "%s-%05zu", dr->prefix, dr->first + i);
}

/* Make the two big requests once; only their ids change per send. */
static void
drive_requests(struct drive_ctx *ctx)
{
	struct bench_drive	*dr = ctx->dr;
	ct_Sandbox		*sb;

	ctx->screate = xcalloc(1, sizeof *ctx->screate);
	ctx->ccreate = xcalloc(1, sizeof *ctx->ccreate);
	ctx->screate->has_sandbox = true;
	sb = &ctx->screate->sandbox;
	sb->has_runtime = true;
	snprintf(sb->runtime.name, sizeof sb->runtime.name, "%s",
	    dr->runtime);
	if (dr->spec != NULL) {
		sb->has_spec = true;
		sb->spec.type_url = (char *)BENCH_SPEC_TYPE_URL;
		sb->spec.value.data = dr->spec;
		sb->spec.value.len = dr->spec_len;
	}
}

/* The small requests: an id (and Stop's timeout, 0). */
union small_req {
	cssv_ControllerStartRequest	start;
	cssv_ControllerStopRequest	stop;
	cssv_ControllerWaitRequest	wait;
	cssv_ControllerShutdownRequest	shutdown;
	cssv_StoreDeleteRequest		del;
};

/* Fill a small request for id; its message descriptor. */
static const pb_msgdesc_t *
small_request(enum bench_step step, const char *id, union small_req *r)
{
	memset(r, 0, sizeof *r);
	switch (step) {
	case STEP_START:
		snprintf(r->start.sandbox_id, sizeof r->start.sandbox_id,
		    "%s", id);
		return (cssv_ControllerStartRequest_fields);
	case STEP_STOP:
		snprintf(r->stop.sandbox_id, sizeof r->stop.sandbox_id, "%s",
		    id);
		return (cssv_ControllerStopRequest_fields);
	case STEP_WAIT:
		snprintf(r->wait.sandbox_id, sizeof r->wait.sandbox_id, "%s",
		    id);
		return (cssv_ControllerWaitRequest_fields);
	case STEP_SHUTDOWN:
		snprintf(r->shutdown.sandbox_id,
		    sizeof r->shutdown.sandbox_id, "%s", id);
		return (cssv_ControllerShutdownRequest_fields);
	default:
		snprintf(r->del.sandbox_id, sizeof r->del.sandbox_id, "%s",
		    id);
		return (cssv_StoreDeleteRequest_fields);
	}
}

/* Send one step's request for id; 0 or an sbc code. */
static int
step_send(struct drive_ctx *ctx, struct sbc *c, enum bench_step step,
    const char *id, uint32_t *stream, struct sbc_error *err)
{
	union small_req		 small;
	const pb_msgdesc_t	*fields;
	const char		*svc, *method;
	const void		*req = &small;

	svc = step == STEP_STORE_CREATE || step == STEP_STORE_DELETE ?
	    SERVICE_STORE : SERVICE_CONTROLLER;
	method = strchr(step_names[step], '.') + 1;
	if (step == STEP_STORE_CREATE) {
		snprintf(ctx->screate->sandbox.sandbox_id,
		    sizeof ctx->screate->sandbox.sandbox_id, "%s", id);
		fields = cssv_StoreCreateRequest_fields;
		req = ctx->screate;
	} else if (step == STEP_CTRL_CREATE) {
		snprintf(ctx->ccreate->sandbox_id,
		    sizeof ctx->ccreate->sandbox_id, "%s", id);
		fields = cssv_ControllerCreateRequest_fields;
		req = ctx->ccreate;
	} else
		fields = small_request(step, id, &small);
	return (sbc_send(c, svc, method, fields, req, stream, err));
}

/* Receive one step's reply; a Wait's exit status must be 128 + SIGKILL. */
static int
step_recv(struct drive_ctx *ctx, struct sbc *c, enum bench_step step,
    uint32_t stream, struct sbc_error *err)
{
	cssv_ControllerWaitResponse	wait = {0};
	struct sbc_reply		reply;
	int				code;

	if (step != STEP_WAIT)
		return (sbc_recv(c, stream, NULL, NULL, NULL, err));
	code = sbc_recv(c, stream, cssv_ControllerWaitResponse_fields, &wait,
	    &reply, err);
	if (code == 0 && wait.exit_status != 128 + SIGKILL)
		ctx->dr->bad_exits++;
	sbc_reply_free(&reply);
	return (code);
}

/* Count and print (the first few) failed steps. */
static void
drive_error(struct drive_ctx *ctx, struct lane *l, size_t i,
    struct sbc_error *err)
{
	enum bench_step	 step = ctx->dr->steps[l->step];
	char		 id[128];

	l->failed[i] = true;
	if (err->code == SBC_ERR_TRANSPORT)
		ctx->broken = true;
	if (ctx->nerrors++ < MAX_ERRORS) {
		drive_id(ctx->dr, l->first + i, id, sizeof id);
		printf("  ERROR %s %s: %s (%s)\n", id, step_names[step],
		    err->message != NULL ? err->message : "?",
		    sbc_error_name(err->code));
	}
	sbc_error_clear(err);
}

/*
 * Send the lane's current step for each sandbox of its group that takes
 * it (a failed one only goes through Shutdown and Store.Delete); the
 * number sent.
 */
static size_t
lane_send(struct drive_ctx *ctx, struct lane *l)
{
	enum bench_step	 step = ctx->dr->steps[l->step];
	struct sbc_error err = {0};
	char		 id[128];
	size_t		 i, n = 0;

	for (i = 0; i < l->n; i++) {
		l->sent[i] = false;
		if (l->failed[i] && step < STEP_SHUTDOWN)
			continue;
		drive_id(ctx->dr, l->first + i, id, sizeof id);
		if (step_send(ctx, l->c, step, id, &l->stream[i], &err) != 0) {
			drive_error(ctx, l, i, &err);
			continue;
		}
		l->sent[i] = true;
		n++;
	}
	return (n);
}

/* Account for the lane's finished group and give it the next; false: none. */
static bool
lane_next_group(struct drive_ctx *ctx, struct lane *l)
{
	struct bench_drive	*dr = ctx->dr;
	size_t			 i;

	for (i = 0; i < l->n; i++) {
		if (l->failed[i])
			dr->failed++;
		else
			dr->done++;
	}
	l->n = 0;
	if (ctx->next >= dr->n || ctx->broken || bench_interrupted)
		return (false);
	l->first = ctx->next;
	l->n = dr->n - ctx->next < dr->group ? dr->n - ctx->next : dr->group;
	ctx->next += l->n;
	l->step = 0;
	memset(l->failed, 0, sizeof l->failed);
	return (true);
}

/* Move a lane on to the next step (or group) that sends something. */
static void
lane_advance(struct drive_ctx *ctx, struct lane *l)
{
	for (;;) {
		if (l->n > 0 && l->step + 1 < ctx->dr->nsteps)
			l->step++;
		else if (!lane_next_group(ctx, l))
			return;
		if (lane_send(ctx, l) > 0)
			return;
	}
}

/* Read the replies of the lane's current step, in the order sent. */
static void
lane_collect(struct drive_ctx *ctx, struct lane *l)
{
	enum bench_step	 step = ctx->dr->steps[l->step];
	struct sbc_error err = {0};
	size_t		 i;

	for (i = 0; i < l->n && !ctx->broken; i++) {
		if (!l->sent[i])
			continue;
		if (step_recv(ctx, l->c, step, l->stream[i], &err) != 0)
			drive_error(ctx, l, i, &err);
	}
}

/* Wait for replies on the busy lanes and move them on; false: stuck. */
static bool
drive_poll(struct drive_ctx *ctx)
{
	struct pollfd	 pfd[BENCH_MAX_CONNS];
	struct lane	*busy[BENCH_MAX_CONNS];
	size_t		 i, n = 0;
	int		 r;

	for (i = 0; i < ctx->dr->nconns; i++) {
		if (ctx->lanes[i].n == 0)
			continue;
		busy[n] = &ctx->lanes[i];
		pfd[n].fd = sbc_fd(ctx->lanes[i].c);
		pfd[n++].events = POLLIN;
	}
	r = poll(pfd, n, BENCH_CALL_TIMEOUT_MS);
	if (bench_interrupted) {
		printf("  interrupted\n");
		return (false);
	}
	if (r == -1 && errno == EINTR)
		return (true);
	if (r <= 0) {
		printf("  ERROR: no reply for %d ms (%s)\n",
		    BENCH_CALL_TIMEOUT_MS, r == 0 ? "stuck" : strerror(errno));
		return (false);
	}
	for (i = 0; i < n && !ctx->broken; i++) {
		if (pfd[i].revents == 0)
			continue;
		lane_collect(ctx, busy[i]);
		lane_advance(ctx, busy[i]);
	}
	return (!ctx->broken);
}

/* Whether any lane still has requests out. */
static bool
drive_busy(const struct drive_ctx *ctx)
{
	size_t	i;

	for (i = 0; i < ctx->dr->nconns; i++) {
		if (ctx->lanes[i].n > 0)
			return (true);
	}
	return (false);
}

/* Connect the lanes; false if one cannot. */
static bool
drive_connect(struct drive_ctx *ctx, const struct bench_daemon *d)
{
	size_t	i;

	for (i = 0; i < ctx->dr->nconns; i++) {
		if ((ctx->lanes[i].c = bench_connect(d)) == NULL)
			return (false);
	}
	return (true);
}

/* Close the lanes and free the requests. */
static void
drive_free(struct drive_ctx *ctx)
{
	size_t	i;

	for (i = 0; i < ctx->dr->nconns; i++)
		sbc_close(ctx->lanes[i].c);
	free(ctx->screate);
	free(ctx->ccreate);
	free(ctx);
}

/*
 * Run dr's steps for its n sandboxes (see benchutil.h) and fill in its
 * counts and elapsed time.  0, or -1 if the run could not finish (broken
 * connection, no reply in BENCH_CALL_TIMEOUT_MS).
 */
int
bench_drive(const struct bench_daemon *d, struct bench_drive *dr)
{
	struct drive_ctx	*ctx;
	double			 t0;
	size_t			 i;
	bool			 ok = true;

	if (dr->nconns == 0 || dr->nconns > BENCH_MAX_CONNS ||
	    dr->group == 0 || dr->group > BENCH_MAX_GROUP || dr->nsteps == 0)
		return (-1);
	dr->done = dr->failed = dr->bad_exits = 0;
	ctx = xcalloc(1, sizeof *ctx);
	ctx->dr = dr;
	drive_requests(ctx);
	if (!drive_connect(ctx, d)) {
		drive_free(ctx);
		return (-1);
	}
	t0 = bench_now();
	for (i = 0; i < dr->nconns; i++)
		lane_advance(ctx, &ctx->lanes[i]);
	while (ok && drive_busy(ctx))
		ok = drive_poll(ctx);
	dr->seconds = bench_now() - t0;
	ok = ok && !ctx->broken;
	drive_free(ctx);
	return (ok ? 0 : -1);
}

/* ---- the latency probe ---------------------------------------------- */

#define PROBE_INTERVAL_MS	2
#define PROBE_MAX_SAMPLES	200000

static volatile sig_atomic_t	probe_stop;

static void
probe_stop_handler(int sig)
{
	(void)sig;
	probe_stop = 1;
}

/* Percentiles of the samples (sorted here). */
static void
probe_summary(double *ms, size_t n, size_t errors, struct bench_latency *l)
{
	memset(l, 0, sizeof *l);
	l->n = n;
	l->errors = errors;
	if (n == 0)
		return;
	qsort(ms, n, sizeof *ms, cmp_double);
	l->p50 = ms[n / 2];
	l->p99 = ms[n - 1 - n / 100];
	l->max = ms[n - 1];
}

/* The probe child: Get, time, nap, until SIGTERM; report on fd. */
static void __attribute__((__noreturn__))
probe_main(const struct bench_daemon *d, int fd)
{
	struct sbc_error	 err = {0};
	struct sbc_meta		 m;
	struct bench_latency	 l;
	struct sbc		*c;
	double			*ms, t;
	size_t			 n = 0, errors = 0;
	char			*cause = NULL;
	int			 code;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, probe_stop_handler);
	if ((ms = calloc(PROBE_MAX_SAMPLES, sizeof *ms)) == NULL ||
	    (c = sbc_connect(d->socket, &cause)) == NULL)
		_exit(1);
	while (!probe_stop && n < PROBE_MAX_SAMPLES) {
		t = bench_now();
		code = sbc_store_get(c, "latency-probe", &m, &err);
		ms[n++] = (bench_now() - t) * 1000;
		if (code == 0)
			sbc_meta_free(&m);
		if (code != STATUS_NOT_FOUND)
			errors++;
		sbc_error_clear(&err);
		bench_sleep_ms(PROBE_INTERVAL_MS);
	}
	probe_summary(ms, n, errors, &l);
	if (write(fd, &l, sizeof l) != (ssize_t)sizeof l)
		_exit(1);
	_exit(0);
}

/* Start probing d; -1 if the child cannot be started. */
int
bench_probe_start(const struct bench_daemon *d, struct bench_probe *p)
{
	int	pfd[2];

	if (pipe(pfd) == -1)
		return (-1);
	fflush(stdout);
	if ((p->pid = fork()) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return (-1);
	}
	if (p->pid == 0) {
		close(pfd[0]);
		probe_main(d, pfd[1]);
	}
	close(pfd[1]);
	p->fd = pfd[0];
	return (0);
}

/* Stop the probe and read its figures; -1 if it failed. */
int
bench_probe_stop(struct bench_probe *p, struct bench_latency *l)
{
	ssize_t	n;
	int	st;

	kill(p->pid, SIGTERM);
	n = read(p->fd, l, sizeof *l);
	close(p->fd);
	waitpid(p->pid, &st, 0);
	if (n != (ssize_t)sizeof *l || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		memset(l, 0, sizeof *l);
		return (-1);
	}
	return (0);
}

void
bench_print_latency(const char *label, const struct bench_latency *l)
{
	printf("    %s: %zu Store.Get probes, p50 %.2f ms, p99 %.2f ms, "
	    "max %.2f ms%s\n", label, l->n, l->p50, l->p99, l->max,
	    l->errors > 0 ? " (some answers were not NotFound)" : "");
}
