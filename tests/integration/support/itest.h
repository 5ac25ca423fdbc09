/*
 * itest.h: the integration-test harness: run the real sandboxd on a
 * private socket and state directory, talk to it with the client library,
 * stop, kill and restart it, and clean everything up.
 *
 * The daemon comes from $SANDBOXD_BIN (and the pause program from
 * $SANDBOXD_PAUSE_BIN, passed as --pause-path), which ctest sets.  Every
 * daemon gets a fresh mkdtemp directory under /tmp:
 *
 *	<dir>/state		--state-dir
 *	<dir>/run		--run-dir
 *	<dir>/run/sandboxd.sock	--socket
 *	<dir>/daemon.log	the daemon's stdout and stderr (--log-level debug)
 *
 * A typical suite runs one daemon per test, the suite daemon itest_d,
 * started by itest_setup (.init) and cleaned up by itest_teardown (.fini):
 *
 *	TestSuite(store, .init = itest_setup, .fini = itest_teardown);
 *	Test(store, create, .timeout = 30) {
 *		struct sbc *c = itest_connect(&itest_d, NULL);
 *		struct sbc_error err = {0};
 *
 *		itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
 *		    "create");
 *		...
 *	}
 *
 * A suite whose tests start the daemon themselves (other arguments or
 * environment) leaves .init out and calls itest_daemon_start(&itest_d,
 * ...) in the test; itest_teardown cleans up all the same.  Pass every
 * sandbox pid a test starts to itest_track (itest_ctrl_start does):
 * teardown SIGKILLs those still the daemon's or the test's children
 * first, so a failed test leaves nothing.
 *
 * Each daemon runs with a keeper (sandboxd-keeper, from
 * $SANDBOXD_KEEPER_BIN when set, passed as --keeper-path) unless the test
 * passes --keeper-grace 0: after itest_daemon_kill9 the client
 * connections stay open, and a restarted daemon resumes them.  Cleanup
 * kills the keeper (<run_dir>/keeper.pid); orphan lists leave it out.
 *
 * Failures inside the harness (daemon missing, not ready in time, died,
 * exited non-zero on SIGTERM) fail the test with the tail of the daemon's
 * log.  Set ITEST_KEEP=1 to keep the directory, ITEST_DUMP_LOG=1 to print
 * every daemon's log at cleanup.
 *
 * Starting a daemon makes the test process a child subreaper
 * (PR_SET_CHILD_SUBREAPER): sandbox processes orphaned by a killed daemon
 * become the test's children, so itest_daemon_cleanup can kill them and
 * nothing outlives the test.  An orphan that exits stays a zombie until
 * reaped: use itest_pid_alive (zombies count as dead) rather than
 * kill(pid, 0), or itest_reap_orphans.
 */
#ifndef SANDBOXD_ITEST_H
#define SANDBOXD_ITEST_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "sbc.h"

#define ITEST_MAX_ARGS		32
#define ITEST_MAX_ENV		16
#define ITEST_START_TIMEOUT_MS	10000
#define ITEST_STOP_TIMEOUT_MS	10000
#define ITEST_MAX_TRACKED	64	/* pids that itest_teardown kills */

/* Skip the test unless it runs as root (namespaces, bind mounts). */
#define ITEST_NEEDS_ROOT(why) do {					\
	if (geteuid() != 0)						\
		cr_skip_test("needs root: " why);			\
} while (0)

struct itest_daemon {
	char	 dir[64];		/* /tmp/sbd-itest.XXXXXX */
	char	 state_dir[PATH_MAX];
	char	 run_dir[PATH_MAX];
	char	 socket[PATH_MAX];
	char	 log_path[PATH_MAX];
	pid_t	 pid;			/* 0: not running */
	int	 status;		/* wait status of the last exit */
	int	 nargs;			/* extra arguments, kept for restart */
	char	*args[ITEST_MAX_ARGS];
	int	 nenv;			/* environment added for the daemon */
	char	*env[ITEST_MAX_ENV];
};

/* itest.c: the daemon, its processes and files */
void		 itest_daemon_init(struct itest_daemon *);
void		 itest_daemon_setenv(struct itest_daemon *, const char *,
		    const char *);
void		 itest_daemon_clearenv(struct itest_daemon *);
void		 itest_daemon_start(struct itest_daemon *, ...);
void		 itest_daemon_startv(struct itest_daemon *,
		    const char *const *);
void		 itest_daemon_start_config(struct itest_daemon *, const char *);
void		 itest_daemon_stop(struct itest_daemon *);
void		 itest_daemon_kill9(struct itest_daemon *);
void		 itest_daemon_restart(struct itest_daemon *);
int		 itest_daemon_wait_exit(struct itest_daemon *, int);
bool		 itest_daemon_running(struct itest_daemon *);
void		 itest_daemon_cleanup(struct itest_daemon *);
struct sbc	*itest_connect(struct itest_daemon *, const char *);
struct sbc	*itest_connect_raw(struct itest_daemon *, char **);
char		*itest_log_tail(const struct itest_daemon *, size_t);
void		 itest_dump_log(const struct itest_daemon *);
bool		 itest_log_contains(const struct itest_daemon *,
		    const char *);
bool		 itest_pid_alive(pid_t);
void		 itest_reap_orphans(struct itest_daemon *);
void		 itest_kill_orphans(struct itest_daemon *);
bool		 itest_is_keeper(pid_t);
pid_t		 itest_keeper_pid(const struct itest_daemon *);
void		 itest_keeper_kill(const struct itest_daemon *);
int64_t		 itest_now_ms(void);
pid_t		 itest_parent_of(pid_t);
int		 itest_count_children(pid_t, bool);
bool		 itest_wait_dead(pid_t, int);
void		 itest_wait_pause_ready(pid_t);
bool		 itest_path_exists(const char *);
void		 itest_ns_read(pid_t, const char *, const char *, char *,
		    size_t);
void		 itest_netns_file(const struct itest_daemon *, const char *,
		    char *, size_t);

/* itest.c: the suite daemon and the calls tests make of it */
extern struct itest_daemon itest_d;
void		 itest_setup(void);
void		 itest_teardown(void);
void		 itest_track(pid_t);
void		 itest_expect(int, int, struct sbc_error *, const char *);
struct sbc_any	 itest_spec(const char *);
struct sbc_meta	 itest_meta(const char *, const char *, const char *);
void		 itest_make_sandbox(struct sbc *, const char *, const char *,
		    const char *);
pid_t		 itest_ctrl_start(struct sbc *, const char *);
uint32_t	 itest_ctrl_wait(struct sbc *, const char *, struct timespec *);
const char	*itest_info_get(const struct sbc_status *, const char *);
uint32_t	 itest_send_wait(struct sbc *, const char *);
int		 itest_recv_wait(struct sbc *, uint32_t, uint32_t *,
		    struct timespec *, struct sbc_error *);

#endif /* SANDBOXD_ITEST_H */
