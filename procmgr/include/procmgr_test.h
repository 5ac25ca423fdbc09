/*
 * procmgr_test.h: what only procmgr's unit tests call.  The daemon needs
 * none of it; it is here so that a test can steer the exit-watching mode
 * and look inside a proc or a helper without reaching a private header.
 */
#ifndef SANDBOXD_PROCMGR_TEST_H
#define SANDBOXD_PROCMGR_TEST_H

#include "procmgr.h"

/*
 * proc.c.  proc_force_signalfd(true), before proc_init, uses the SIGCHLD
 * fallback even where pidfds work.  proc_have_pidfd: exits are seen
 * through pidfds.  proc_is_child: reaped by the daemon itself.
 */
void		 proc_force_signalfd(bool);
bool		 proc_have_pidfd(void);
bool		 proc_is_child(const struct proc *);

/*
 * proc.c: proc_set_reap_wait(ms): how long an adopted process that is not
 * ours may stay a zombie before its status is given up as unknown.
 * pidinfo.c: pidinfo_test_disable(PIDINFO_TEST_NO_*) leaves out a source
 * of such a process's exit status: the pidfd ioctl (as on a kernel before
 * 6.15), or /proc's exit code of a zombie.
 */
#define PIDINFO_TEST_NO_IOCTL	0x1
#define PIDINFO_TEST_NO_PROC	0x2
void		 proc_set_reap_wait(unsigned int);
void		 pidinfo_test_disable(unsigned int);

/* proc_spawn.c: not yet exec'd, nor failed to. */
bool		 proc_is_starting(const struct proc *);

/*
 * proc_clone.c: proc_force_fork_clone(true) clones sandbox processes as
 * copies of the daemon (the fallback) rather than in its memory.
 * proc_stack_count: how many stacks of children are mapped.
 */
void		 proc_force_fork_clone(bool);
int		 proc_stack_count(void);

/* proc_read.c: start time of pid in clock ticks since boot. */
int		 proc_read_start_time(pid_t, uint64_t *);

/* netns_worker.c: the helper's pid, -1 when none is used. */
pid_t		 netns_worker_pid(void);

#endif /* SANDBOXD_PROCMGR_TEST_H */
