/*
 * procint.h: what the files of procmgr share and nothing else sees: the
 * proc itself (proc.c watches and reaps it, proc_spawn.c starts it), the
 * /proc reader proc.c needs, the clone of a spawn (proc_clone.c) and its
 * child's side (proc_child.c), and the helpers' start (helper.c).
 */
#ifndef SANDBOXD_PROCINT_H
#define SANDBOXD_PROCINT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/event_struct.h>

#include "procmgr.h"
#include "queue.h"
#include "tree.h"

struct proc_start;

/*
 * One watched process: 376 bytes on x86_64 (two embedded struct event of
 * 128 bytes each, the tree links, the pending-log links and a few words),
 * one allocation.
 */
struct proc {
	RB_ENTRY(proc)	 entry;		/* proc_tree, while an unreaped child */
	struct event	 watch;		/* pidfd readable, or the poll timer */
	struct event	 stop_ev;	/* proc_stop's SIGKILL deadline */
	proc_exit_cb	 cb;
	void		*arg;
	uint64_t	 start_time;	/* /proc/<pid>/stat field 22 */
	uint64_t	 kill_at;	/* CLOCK_MONOTONIC ms of stop_ev */
	pid_t		 pid;
	int		 pidfd;		/* -1 without pidfds or once exited */
	unsigned int	 flags;
	uint32_t	 reap_waited;	/* ms an adopted zombie waited */
#define PROC_CHILD	0x01		/* ours to reap */
#define PROC_INTREE	0x02		/* in proc_tree */
#define PROC_WATCH	0x04		/* watch is added */
#define PROC_EXITED	0x08		/* finished, callback called */
#define PROC_KILLED	0x10		/* SIGKILL sent */
	struct proc_start *start;	/* until the child exec'd or failed */
	struct proc_log	*log;		/* its output, capped (proc_log.c) */
	char		*log_later;	/* log path to attach from the loop */
	TAILQ_ENTRY(proc) log_entry;	/* proc_log_later, while log_later */
};

/* What the child reports through the pipe when a step fails. */
enum proc_step {
	PROC_STEP_SIGNALS,
	PROC_STEP_SETSID,
	PROC_STEP_NETNS,
	PROC_STEP_HOSTNAME,
	PROC_STEP_SYSCTL,
	PROC_STEP_STDIN,
	PROC_STEP_LOG,
	PROC_STEP_STDIO,
	PROC_STEP_CLOSEFDS,
	PROC_STEP_CHDIR,
	PROC_STEP_EXEC,
	PROC_STEP_PIPE,		/* parent side: the pipe itself failed */
};

struct proc_child_err {
	int	step;
	int	err;
};

/*
 * The child's own copy of a launch, made by proc_clone.c in the memory
 * the child runs on, every length measured and every path built, so the
 * child (proc_child.c) has nothing to compute with libc.
 */
struct proc_image {
	const char		 *path;
	char *const		 *argv;
	char *const		 *envp;
	const char		 *cwd;		/* never NULL */
	const char		 *out;		/* stdout, stderr; never NULL */
	const char		 *hostname;	/* or NULL */
	size_t			  hostname_len;
	const char		 *netns_path;	/* or NULL */
	const char *const	 *sysctl_path;	/* "/proc/sys/key"; NULL: bad */
	const char *const	 *sysctl_value;
	const size_t		 *sysctl_len;
	size_t			  nsysctls;
	int			  clone_flags;
	int			  errfd;	/* write end of the error pipe */
	int			  gatefd;	/* read end of the gate, or -1 */
};

/* The fields of /proc/<pid>/stat this file uses. */
struct proc_stat {
	char		state;
	pid_t		ppid;
	uint64_t	utime;		/* clock ticks */
	uint64_t	stime;
	uint64_t	cutime;
	uint64_t	cstime;
	uint64_t	start_time;
	uint64_t	rss;		/* pages */
};

/* proc.c */
extern struct event_base	*proc_base;
extern bool			 proc_pidfd;
struct proc	*proc_new(pid_t, int, bool, proc_exit_cb, void *);
int		 proc_wstatus(int);
void		 proc_untree(struct proc *);
void		 proc_reap_failed(struct proc *);

/* proc_spawn.c */
int		 proc_start_finish(struct proc *, bool);
void		 proc_start_free(struct proc *);

/* proc_log.c */
void		 proc_log_later_now(struct proc *, bool);

/* proc_hold.c */
void		 proc_hold(const struct proc *);
void		 proc_unhold(const struct proc *);
int		 proc_stash_take(pid_t, uint64_t);

/* proc_read.c */
int		 proc_read_stat(pid_t, struct proc_stat *);
int		 proc_read_exit_code(pid_t, uint64_t *, char *, int *);

/* pidinfo.c: the exit status of an adopted process that is not ours. */
enum pidinfo_result {
	PIDINFO_EXITED,		/* the wait status is known */
	PIDINFO_WAIT,		/* known once its parent reaps it */
	PIDINFO_UNKNOWN,	/* never known (PROC_STATUS_UNKNOWN) */
};
enum pidinfo_result pidinfo_exit(int, pid_t, uint64_t, int *);
int		 pidinfo_zombie_status(pid_t, uint64_t, int *);

/* proc_clone.c */
struct proc_stack;
pid_t		 proc_clone_launch(const struct proc_launch *, int, int, int *,
		    struct proc_stack **);
void		 proc_stack_free(struct proc_stack *, int, bool);
void		 proc_stack_shutdown(void);

/* proc_child.c */
void		 proc_child(const struct proc_image *)
		    __attribute__((__noreturn__));
int		 proc_child_main(void *) __attribute__((__noreturn__));
int		 proc_child_close_fds(int, int);

/* helper.c */
int		 helper_fork(const char *, void (*)(int), pid_t *, int *,
		    char **);

#endif /* SANDBOXD_PROCINT_H */
