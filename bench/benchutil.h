/*
 * benchutil.h: what the benchmarks share: their command line, start, end
 * and summary lines, a private sandboxd to measure, its memory, and a
 * pipelined driver of sandbox lifecycles.
 *
 * Every daemon gets a fresh mkdtemp directory under /tmp:
 *
 *	<dir>/state		--state-dir
 *	<dir>/run		--run-dir (network namespaces under run/netns)
 *	<dir>/s			--socket
 *	<dir>/daemon.log	the daemon's stderr
 *
 * The daemon is $SANDBOXD_BIN, else the one this build made; the pause
 * program $SANDBOXD_PAUSE_BIN, else the one beside it.  bench_daemon_stop
 * kills whatever sandbox process is left (none, if the benchmark shut its
 * sandboxes down through the daemon), stops the daemon with SIGTERM,
 * unmounts and removes leftover netns files, reports every leftover and
 * warning line of the daemon's log, and removes the directory.
 *
 * A benchmark's main parses its options with bench_parse_args, calls
 * bench_init (line-buffered output, signals, the header), measures, and
 * returns bench_finish(problems, errors), which prints the closing
 * PROBLEMS and INTERRUPTED lines.  bench_init makes SIGINT, SIGTERM and
 * SIGHUP set bench_interrupted: loops stop early and the cleanup still
 * runs.  The daemon runs in its own process group, so a ^C reaches only
 * the benchmark, which then stops it in order.
 *
 * The driver (bench_drive) runs a list of steps (Store.Create, Controller
 * Create/Start/Stop/Wait/Shutdown, Store.Delete) for ids <prefix>-00000 ..
 * over a few connections.  On each connection a group of sandboxes moves
 * step by step: the group's requests of one step are sent back to back,
 * then their replies are read, then the next step goes out; while one
 * connection's replies are read, the requests of the others keep the
 * daemon busy.  A sandbox whose step fails skips to its cleanup steps
 * (Shutdown, Store.Delete).
 */
#ifndef SANDBOXD_BENCHUTIL_H
#define SANDBOXD_BENCHUTIL_H

#include <sys/types.h>

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbc.h"

#define BENCH_NAMESPACE		"bench"
#define BENCH_RUNTIME_EXEC	"io.sandboxd.exec.v1"
#define BENCH_RUNTIME_PAUSE	"io.sandboxd.pause.v1"
#define BENCH_SPEC_TYPE_URL \
	"types.containerd.io/opencontainers/runtime-spec/1/Spec"
#define BENCH_CALL_TIMEOUT_MS	60000
#define BENCH_MAX_CONNS		16
#define BENCH_MAX_GROUP		256

struct bench_daemon {
	char	 dir[64];
	char	 socket[PATH_MAX];
	char	 state_dir[PATH_MAX];
	char	 run_dir[PATH_MAX];
	char	 log_path[PATH_MAX];
	pid_t	 pid;
};

/* The steps of a sandbox's lifecycle, as RPCs. */
enum bench_step {
	STEP_STORE_CREATE,
	STEP_CTRL_CREATE,
	STEP_START,
	STEP_STOP,		/* timeout 0: SIGKILL at once */
	STEP_WAIT,
	STEP_SHUTDOWN,
	STEP_STORE_DELETE,
};

/*
 * A benchmark's options, some of -n SANDBOXES (1-10000), -r ROUNDS
 * (1-max_rounds) and -t SECONDS per phase (0-5]: optstring names them for
 * getopt; the values set before bench_parse_args are the defaults.
 */
struct bench_opts {
	const char	*optstring;
	size_t		 n;
	int		 rounds;
	int		 max_rounds;
	double		 seconds;
};

/* A ratio of a summary: column num over column den, under a label. */
struct bench_ratio {
	const char	*label;
	int		 num;
	int		 den;
};

/* What bench_drive runs and what it counts. */
struct bench_drive {
	const char		*prefix;	/* ids: <prefix>-%05zu */
	size_t			 first;		/* first id number */
	size_t			 n;		/* sandboxes */
	const char		*runtime;
	const void		*spec;		/* OCI spec JSON, NULL: none */
	size_t			 spec_len;
	const enum bench_step	*steps;
	size_t			 nsteps;
	size_t			 nconns;	/* <= BENCH_MAX_CONNS */
	size_t			 group;		/* <= BENCH_MAX_GROUP */

	size_t			 done;		/* out: sandboxes through all */
	size_t			 failed;	/* out: sandboxes with an error */
	size_t			 bad_exits;	/* out: Wait status not 137 */
	double			 seconds;	/* out: first send to last reply */
};

/* A config file (--config) for the daemons started after it is set. */
extern const char		*bench_daemon_config;

/* Set by SIGINT, SIGTERM or SIGHUP: stop, clean up, exit. */
extern volatile sig_atomic_t	bench_interrupted;

/*
 * A latency probe: a child process that, on a connection of its own,
 * sends one Store.Get of a missing id every 2 ms and times its answer,
 * until stopped.  The answer needs one pass of the daemon's loop (and
 * no write of its own), so the times show how long the loop goes
 * without reading a socket.  Figures in milliseconds.
 */
struct bench_probe {
	pid_t	pid;
	int	fd;		/* the child's report */
};
struct bench_latency {
	size_t	n;
	size_t	errors;		/* answers other than NotFound */
	double	p50;
	double	p99;
	double	max;
	double	read_p50;	/* until the loop read the request */
	double	read_p99;
	double	read_max;
};

/* benchutil.c */
int		 bench_parse_args(int, char **, struct bench_opts *);
void		 bench_init(const char *, const char *);
int		 bench_finish(int, size_t);
double		 bench_now(void);
void		 bench_sleep_ms(int);
double		 bench_per_sec(size_t, double);
void		 bench_sort(double *, size_t);
double		 bench_median(double *, int);
void		 bench_print_ratio(const char *, int, double);

/* benchutil_daemon.c */
void		 bench_daemon_start(struct bench_daemon *, const char *);
int		 bench_daemon_stop(struct bench_daemon *);
double		 bench_daemon_restart(struct bench_daemon *, const char *);
int		 bench_daemon_fds(const struct bench_daemon *);
int		 bench_daemon_helpers(const struct bench_daemon *, pid_t *,
		    int);
pid_t		 bench_keeper_pid(const struct bench_daemon *);
struct sbc	*bench_connect(const struct bench_daemon *);

/* benchutil_proc.c */
void		 bench_for_children(pid_t, void (*)(pid_t, char, void *),
		    void *);
int		 bench_mem(pid_t, long *, long *);
long		 bench_private(pid_t);
int		 bench_fd_count(pid_t, const char *);
double		 bench_cpu_seconds(pid_t);
double		 bench_run_delay(pid_t);
int		 bench_memfd(pid_t, const char *, unsigned long *, long *,
		    long *);
void		 bench_mapped(pid_t, unsigned long, long *, long *);

/* benchutil_drive.c */
const char	*bench_exec_spec(void);
void		 bench_drive_runtime(struct bench_drive *, const char *);
int		 bench_drive(const struct bench_daemon *, struct bench_drive *);

/* benchutil_probe.c */
int		 bench_probe_start(const struct bench_daemon *,
		    struct bench_probe *);
int		 bench_probe_stop(struct bench_probe *, struct bench_latency *);
void		 bench_print_latency(const char *, const struct bench_latency *);

#endif /* SANDBOXD_BENCHUTIL_H */
