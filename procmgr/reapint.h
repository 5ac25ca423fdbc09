/*
 * reapint.h: how procmgr's reaping of untracked children (proc.c) and
 * runc.c's own children meet, through subreaper.c.  Private to procmgr.
 *
 * proc.c's SIGCHLD sweep asks subreaper_spared before it reaps a zombie
 * it does not track itself; in signalfd mode, where it reaps with
 * waitpid(-1), it hands every untracked status to subreaper_reaped first.
 */
#ifndef SANDBOXD_REAPINT_H
#define SANDBOXD_REAPINT_H

#include <sys/types.h>

#include <stdbool.h>

/* subreaper.c */
bool	 subreaper_spared(pid_t);
bool	 subreaper_reaped(pid_t, int);

/* runc.c: a runc it runs, or the process a finished create/exec named. */
bool	 runc_spares(pid_t);
bool	 runc_reaped(pid_t, int);

/* proc.c: reap the zombies nobody spares, up to the first one spared. */
void	 proc_reap_untracked(void);

#endif /* SANDBOXD_REAPINT_H */
