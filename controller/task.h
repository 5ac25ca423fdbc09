/*
 * task.h: containers and their exec processes (private to the
 * controller): what containerd.task.v2.Task drives for every container
 * of a sandbox sandboxd runs.
 *
 * A task is a container: its init process and the processes Exec added
 * to it, each a struct tproc.  A process goes
 *
 *	(runc create / Exec) created --Start--> running --exit--> stopped
 *	                              running --Pause/Resume--> paused
 *
 * and is forgotten by Delete.  runc does the work; each runc call is
 * asynchronous (procmgr/runc.c) and at most one runs per process (busy),
 * so a process is never freed under a call in flight.  Every change is in
 * the task's LevelDB record (kind STORE_TASK, one record per container,
 * its execs inside) before the answer or event that reports it.
 */
#ifndef SANDBOXD_TASK_H
#define SANDBOXD_TASK_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "controller.h"
#include "queue.h"
#include "tree.h"
#include "waiter.h"

struct event_base;
struct iocopy;
struct oomwatch;
struct proc;
struct runc_result;

/* A process's state: the values are containerd.v1.types.Status's. */
enum task_state {
	TASK_CREATING = 0,	/* runc create in flight: no pid yet */
	TASK_CREATED = 1,
	TASK_RUNNING = 2,
	TASK_STOPPED = 3,
	TASK_PAUSED = 4,
};

/* Exit status of a process that exited while sandboxd was down. */
#define TASK_STATUS_LOST	255

struct task;

/* A container's init process (exec_id NULL) or one of its execs. */
struct tproc {
	TAILQ_ENTRY(tproc)	 entry;		/* the task's execs */
	struct task		*task;
	char			*exec_id;	/* NULL: the init process */
	char			*stdin_path, *stdout_path, *stderr_path;
	struct waiter_list	 waiters;	/* Wait */
	struct proc		*proc;		/* exit watch while it runs */
	struct iocopy		*io;
	uint8_t			*spec;		/* exec: process JSON, till Start */
	size_t			 speclen;
	uint64_t		 start_time;	/* /proc/<pid>/stat field 22 */
	gp_Timestamp		 exited_at;
	uint32_t		 pid;
	uint32_t		 exit_status;
	uint8_t			 state;		/* enum task_state */
	bool			 terminal;
	bool			 busy;		/* a runc call in flight */
	bool			 reported;	/* exit told: output drained */
	bool			 exit_lost;	/* exited while sandboxd was down */
	bool			 exit_pending;	/* exit to tell once busy ends */
};
TAILQ_HEAD(tproc_list, tproc);

/* A container. */
struct task {
	RB_ENTRY(task)		 entry;
	char			*ns;
	char			*id;
	char			*sandbox_id;
	char			*bundle;
	char			*cgroup;	/* cgroup v2 dir of the init, or NULL */
	struct oomwatch		*oom;		/* its OOM kills, while the init runs */
	char			*oom_dir;	/* the init's memory cgroup, or NULL */
	uint64_t		 oom_told;	/* its oom_kill count, last told */
	gp_Timestamp		 created_at;
	struct tproc		 init;
	struct tproc_list	 execs;
	bool			 rootfs_mounted;
	bool			 deleting;
};

/* An asynchronous runc call and the (deferred) request it serves. */
struct task_op {
	struct tproc		*tp;
	struct call		*call;		/* NULL: the client left */
	ctrl_answer_fn		 answer;
	int			 sig;		/* change_done_cb: 'u'pdate, 'p'ause, 'r'esume */
	bool			 all;
};

/* task.c: the table, lookups, exits, Wait */
extern struct event_base *task_base;
struct task	*task_find(const char *, const char *);
struct task	*task_new(const char *, const char *);
void		 task_free(struct task *);
void		 tproc_release(struct tproc *);
void		 task_foreach(void (*)(struct task *, void *), void *);
struct task	*task_first(void);
struct task	*task_next(struct task *);
struct tproc	*task_tproc_get(struct call *, const char *, const char *,
		    struct task **);
struct tproc	*task_exec_find(struct task *, const char *);
const char	*task_name(const struct tproc *);
struct task_op	*task_op_new(struct tproc *, struct call *, ctrl_answer_fn);
enum handler_result task_op_defer(struct task_op *);
void		 task_op_drop(struct task_op *);
enum handler_result task_op_fail_start(struct task_op *, char *);
bool		 task_op_finish(struct task_op *, const struct runc_result *,
		    const char *);
void		 task_op_done(struct task_op *);
const char	*task_state_name(const struct tproc *);
int		 task_watch(struct tproc *, char **);
void		 task_proc_exit_cb(struct proc *, int, const struct timespec *,
		    void *);
void		 task_answer_exit(struct tproc *);
void		 task_exit_recorded(struct tproc *);
bool		 task_oom_recover(struct task *);
int		 task_pid_start_time(pid_t, uint64_t *);
char		*task_cgroup_dir(pid_t);
bool		 task_refuse_busy(struct call *, const struct tproc *);
bool		 task_busy(const struct task *);

/* task_create.c: Create, Start and Delete of a container */
void		 task_cleanup(struct task *);
void		 task_remove_forced(struct task *);
struct iocopy_cfg;
void		 task_io_cfg(const struct tproc *, struct iocopy_cfg *);
int		 task_open_io(struct tproc *, char **);

/* task_exec.c: exec processes */
void		 task_exec_free(struct tproc *);
enum handler_result task_exec_start(struct call *, struct tproc *,
		    ctrl_answer_fn);
enum handler_result task_exec_delete(struct call *, struct tproc *,
		    struct ctrl_answer *);

/* task_record.c: the LevelDB record and recovery */
void		 task_save(struct task *);
void		 task_forget_record(struct task *);

/* task_events.c: what containerd is told, after the commit */
void		 task_event_create(struct task *, uint32_t);
void		 task_event_start(struct tproc *);
void		 task_event_exit(struct tproc *);
void		 task_event_delete(struct tproc *);
void		 task_event_exec_added(struct tproc *);
void		 task_event_exec_started(struct tproc *);
void		 task_event_oom(struct task *);

#endif /* SANDBOXD_TASK_H */
