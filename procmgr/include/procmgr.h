/*
 * procmgr.h: sandbox processes, their exits, network namespaces and the
 * built-in runtimes.  Knows nothing of sockets or RPCs: exits are reported
 * through the callback given to proc_spawn/proc_adopt, from the event loop.
 *
 * Each process is watched through a pidfd (pidfd_open / clone3 CLONE_PIDFD)
 * registered on the loop and reaped with waitid(P_PIDFD).  Where pidfds are
 * missing, a signalfd for SIGCHLD drives a waitpid(-1, WNOHANG) reap loop.
 */
#ifndef SANDBOXD_PROCMGR_H
#define SANDBOXD_PROCMGR_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct proc;

/*
 * Exit status that means "unknown": a re-adopted process reaped before the
 * daemon could read its status (a kernel before 6.15, or no pidfd of it
 * open at the reap), or one gone while no daemon watched it.
 */
#define PROC_STATUS_UNKNOWN	255

/* How to start a sandbox's init process; built by runtime_prepare. */
struct proc_launch {
	char	 *path;		/* executable, absolute */
	char	**argv;		/* NULL-terminated */
	char	**envp;		/* NULL-terminated */
	char	 *cwd;		/* NULL: "/" */
	char	 *hostname;	/* set in the new UTS namespace, or NULL */
	int	  clone_flags;	/* CLONE_NEWPID | CLONE_NEWIPC | ... or 0 */
	char	 *netns_path;	/* network namespace to join, or NULL */
	char	 *log_path;	/* stdout and stderr appended here; NULL: /dev/null */
	char	**sysctls;	/* "net/ipv4/ip_forward=1" (a path under
				   /proc/sys, '=', the value), NULL-terminated,
				   written once in the namespaces; or NULL */
	bool	  hold;		/* wait to exec until proc_release_held */
	bool	  log_direct;	/* writes next to nothing (pause): appends to
				   log_path itself, no capping FIFO (saves two
				   descriptors a sandbox) */
};

/* Resource use of a sandbox's processes, read from /proc. */
struct proc_usage {
	uint64_t	cpu_user_ns;
	uint64_t	cpu_system_ns;
	uint64_t	rss_bytes;
	uint32_t	pids;
};

/*
 * Called once, from the loop, after the process exited and was reaped.
 * status follows the shell convention: exit code, or 128 + signal number;
 * PROC_STATUS_UNKNOWN when it cannot be known.  An adopted process that
 * is not the daemon's child is reported once it is reaped or its status
 * is readable as a zombie's (see proc.c).
 */
typedef void (*proc_exit_cb)(struct proc *, int status,
    const struct timespec *exited_at, void *arg);

/*
 * Called once, from the loop, when a spawned child has exec'd (error NULL)
 * or failed to (error says which step and why).  It always comes before
 * the exit callback.  After a failure the process never ran the program
 * and no exit callback follows: p is freed when this callback returns.
 */
typedef void (*proc_ready_cb)(struct proc *, const char *error, void *arg);

/*
 * proc.c: watching exits, stopping, adopting.  proc_kill on an exited
 * proc fails with ESRCH.  proc_stop: SIGTERM, SIGKILL after the timeout
 * (0: at once); again while pending, a sooner deadline wins.  proc_free
 * stops watching without killing; it may be called from the proc's own
 * exit callback, which may also free or spawn other procs.
 */
int		 proc_init(struct event_base *, char **);
void		 proc_shutdown(void);
struct proc	*proc_adopt(pid_t, uint64_t, proc_exit_cb, void *, char **);
pid_t		 proc_pid(const struct proc *);
uint64_t	 proc_start_time(const struct proc *);
int		 proc_kill(struct proc *, int);
void		 proc_stop(struct proc *, unsigned int);
void		 proc_free(struct proc *);

/*
 * proc_hold.c: a holder outside the daemon for a duplicate of each
 * watched process's pidfd, so that its exit status survives a crash of
 * the daemon.  hold(arg, pidfd, pid, start_time) sends a copy (the pidfd
 * stays the caller's); drop(arg, pid, start_time) says its exit was seen.
 * After a crash, proc_stash gives back each pidfd the holder kept (the
 * stash owns it).  proc_stash_exited, for recovery before it adopts:
 * 0 if that process has exited and *status (shell convention) is known,
 * 1 if it has exited and its status is lost (*status 255), -1 if it is
 * to be adopted (it runs, or its status comes later, or nothing is
 * stashed for it).  proc_adopt of that pid and start time uses the
 * stashed pidfd; proc_stash_flush, after recovery, drops and closes the
 * rest and says how many.
 */
struct proc_holder {
	int	(*hold)(void *, int, pid_t, uint64_t);
	void	(*drop)(void *, pid_t, uint64_t);
	void	 *arg;
};
void		 proc_set_holder(const struct proc_holder *);
void		 proc_stash(pid_t, uint64_t, int);
int		 proc_stash_exited(pid_t, uint64_t, int *);
size_t		 proc_stash_flush(void);

/*
 * proc_spawn.c: proc_spawn clones and returns at once, pid and start time
 * known; whether the exec worked comes later, through the ready callback,
 * so a slow exec never stalls the loop.  A child launched with hold waits
 * before doing anything visible until proc_release_held (the daemon calls
 * it once the iteration's batch, which records the pid, is synced); if
 * the daemon dies first, or the proc is freed, the child exits without
 * running the program.  proc_held_mark names every child held so far;
 * proc_release_held_upto releases only those, for a daemon whose commits
 * run off the loop (a child held later waits for a later commit).
 */
struct proc	*proc_spawn(const struct proc_launch *, proc_exit_cb,
		    proc_ready_cb, void *, char **);
void		 proc_release_held(void);
uint64_t	 proc_held_mark(void);
void		 proc_release_held_upto(uint64_t);

/*
 * proc_fds.c: the descriptor budget.  proc_fds_check(need): 0 if need
 * more descriptors leave the reserve free, else -1 with *cause.
 * PROC_FDS_PER_START is what one Start may hold at once (pidfd, error
 * and gate pipes, the log FIFO and file, a spare).
 */
#define PROC_FDS_PER_START	8
void		 proc_fds_set_reserve(unsigned int);
int		 proc_fds_check(unsigned int, char **);

/*
 * proc_log.c: a sandbox's output through a FIFO the daemon reads, into
 * <log_path> capped at proc_log_set_max bytes and one rotated
 * <log_path>.1; proc_spawn does it for a launch with a log_path when the
 * cap is not 0 (0 until set: the child appends to the file itself;
 * sandboxd's default is PROC_LOG_DEFAULT_MAX).  proc_log_attach reads again the FIFO of a
 * process re-adopted after a restart; proc_log_later does it from the
 * loop, a batch per pass (at once if the process exits first), so that a
 * restart with thousands of sandboxes is not held up by their logs;
 * proc_log_remove deletes the files.
 * proc_log_set_dir/proc_log_dir: where the controller puts sandbox logs.
 */
#define PROC_LOG_DEFAULT_MAX	(1024 * 1024)
struct proc_log;
void		 proc_log_set_max(size_t);
size_t		 proc_log_get_max(void);
void		 proc_log_set_dir(const char *);
const char	*proc_log_dir(void);
struct proc_log	*proc_log_create(const char *, char **);
const char	*proc_log_fifo(const struct proc_log *);
void		 proc_log_attach(struct proc *, const char *);
void		 proc_log_later(struct proc *, const char *);
void		 proc_log_drain(struct proc_log *);
void		 proc_log_free(struct proc_log *, bool);
void		 proc_log_remove(const char *);

/* proc_read.c: what /proc says of a pid; -1 once it is gone. */
int		 proc_read_comm(pid_t, char *, size_t);
bool		 proc_is_daemon_helper(pid_t);
int		 proc_read_parent(pid_t, pid_t *, char *);
int		 proc_read_usage(pid_t, struct proc_usage *);

/*
 * netns.c: persistent network namespaces, bind-mounted on files.
 * netns_create(dir, name, &path, &cause) makes <dir>/<name> (dir made if
 * missing; name one path component; an existing file is an error) with lo
 * up; on failure nothing is left.  netns_check: 0 if path is a network
 * namespace.  netns_remove: unmount and unlink; a missing or unmounted
 * file is fine, so removing twice is fine.
 */
int		 netns_create(const char *, const char *, char **, char **);
int		 netns_check(const char *, char **);
int		 netns_remove(const char *, char **);

/*
 * netns_worker.c: netns_create and netns_remove off the loop, run by a
 * helper process.  netns_worker_start forks it: call it early, before the
 * daemon opens its store and sockets, as the helper keeps what is open
 * then; without it (or once it died) the operations run in the daemon.
 * netns_worker_init must come before any request.  Every answer comes
 * from the loop, never from the call that asked, in the order asked:
 * cb(path, NULL, arg) on success (path valid during the call), cb(NULL,
 * error, arg) on failure.  The request is freed after its callback;
 * netns_req_cancel before then drops the answer and returns the arg (a
 * namespace made anyway is removed).  netns_worker_stop drops all that is queued;
 * netns_worker_idle says whether anything is.
 */
#define NETNS_WORKER_NAME	"sandboxd-netns"	/* the helper's comm */
#define KEEPER_PROGRAM_NAME	"sandboxd-keeper"	/* the keeper's comm */
struct netns_req;
typedef void (*netns_done_cb)(const char *, const char *, void *);
int		 netns_worker_start(char **);
void		 netns_worker_init(struct event_base *);
void		 netns_worker_stop(void);
bool		 netns_worker_idle(void);
struct netns_req *netns_create_async(const char *, const char *,
		    netns_done_cb, void *);
struct netns_req *netns_remove_async(const char *, netns_done_cb, void *);
void		*netns_req_cancel(struct netns_req *);

/*
 * runtime.c: the built-in runtimes.  spec/len is the OCI spec JSON from
 * the sandbox's spec Any (len 0: none).  Where the sandbox's network
 * namespace comes from, in order: the request's netns_path; else
 * runtime_spec_netns_path's (a linux.namespaces "network" entry with a
 * path); else, when runtime_needs_netns says so (pause: always; exec: a
 * "network" entry), one the controller creates with netns_create.
 * runtime_needs_netns checks the spec as runtime_prepare does, short of
 * looking for the executable.  runtime_prepare zeroes and fills *launch
 * but for netns_path and log_path (the controller's); clone_flags never
 * holds CLONE_NEWNET.  Errors are -1 with a message for the client.
 */
void		 runtime_set_pause_path(const char *);
const char	*runtime_pause_path(void);
bool		 runtime_known(const char *);
const char	*runtime_known_list(void);
int		 runtime_needs_netns(const char *, const void *, size_t,
		    bool *, char **);
int		 runtime_spec_netns_path(const void *, size_t, char **,
		    char **);
int		 runtime_prepare(const char *, const void *, size_t,
		    struct proc_launch *, char **);
void		 proc_launch_free(struct proc_launch *);

#endif /* SANDBOXD_PROCMGR_H */
