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

/* Exit status that means "unknown" (re-adopted process, or gone). */
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
 * PROC_STATUS_UNKNOWN when it cannot be known (an adopted process).
 */
typedef void (*proc_exit_cb)(struct proc *, int status,
    const struct timespec *exited_at, void *arg);

/* proc.c */
int		 proc_init(struct event_base *, char **);
void		 proc_shutdown(void);
bool		 proc_have_pidfd(void);
struct proc	*proc_spawn(const struct proc_launch *, proc_exit_cb, void *,
		    char **);
struct proc	*proc_adopt(pid_t, uint64_t, proc_exit_cb, void *, char **);
pid_t		 proc_pid(const struct proc *);
uint64_t	 proc_start_time(const struct proc *);
bool		 proc_is_child(const struct proc *);
int		 proc_kill(struct proc *, int);
void		 proc_stop(struct proc *, unsigned int);
void		 proc_free(struct proc *);
int		 proc_read_start_time(pid_t, uint64_t *);
int		 proc_read_usage(pid_t, struct proc_usage *);

/* netns.c */
int		 netns_create(const char *, const char *, char **, char **);
int		 netns_check(const char *, char **);
int		 netns_remove(const char *, char **);

/* runtime.c */
void		 runtime_set_pause_path(const char *);
const char	*runtime_pause_path(void);
bool		 runtime_known(const char *);
const char	*runtime_known_list(void);
int		 runtime_needs_netns(const char *, const void *, size_t,
		    bool *, char **);
int		 runtime_prepare(const char *, const void *, size_t,
		    struct proc_launch *, char **);
void		 proc_launch_free(struct proc_launch *);

#endif /* SANDBOXD_PROCMGR_H */
