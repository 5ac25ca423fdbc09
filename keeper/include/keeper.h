/*
 * keeper.h: the daemon's side of sandboxd-keeper, the small per-host
 * process that holds a duplicate of every client connection and a shared
 * table describing each one, so that a crash of the daemon closes none of
 * containerd's connections and a restarted daemon can resume them.
 *
 * The interface is fixed by the design shared with the server
 * (docs/design.md, "The keeper"); keeper_main.c is the program.
 */
#ifndef SANDBOXD_KEEPER_H
#define SANDBOXD_KEEPER_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;

#define KEEPER_CALLS_PER_SLOT	4
#define KEEPER_CALL_MAX		448	/* bytes of one recorded ttrpc Request payload */

#define KEEPER_DIRTY_READ	0x1	/* the daemon holds consumed bytes of an unfinished frame,
					 * or is between read() and cutting what it read */
#define KEEPER_DIRTY_WRITE	0x2	/* answer bytes queued but not all written */

/* One recorded request: a deferred call (a Wait) that a restarted daemon
 * dispatches again, as if the peer had just sent it. */
struct keeper_call {
	uint32_t	stream_id;	/* 0: entry free */
	uint32_t	len;		/* bytes in req */
	uint8_t		req[KEEPER_CALL_MAX];	/* the frame's payload (a ttrpc Request) as received */
};

/* What a daemon leaves about one connection, in memory shared with the
 * keeper (so it outlives the daemon).  Plain stores; the daemon writes,
 * only a later daemon reads. */
struct keeper_slot {
	uint64_t	conn_id;	/* for logs */
	uint32_t	dirty;		/* KEEPER_DIRTY_* */
	uint32_t	plain;		/* requests dispatched, not answered, not recorded in calls[] */
	struct keeper_call calls[KEEPER_CALLS_PER_SLOT];
};

struct keeper_opts {
	const char	*run_dir;	/* the socket is <run_dir>/keeper.sock, pid in <run_dir>/keeper.pid */
	const char	*program;	/* path of sandboxd-keeper, spawned when nobody listens */
	unsigned int	 nslots;	/* connections it can hold (the daemon passes max_connections + 64) */
	unsigned int	 grace_secs;	/* how long it waits for a daemon before closing everything */
	const char	*log_file;	/* NULL: stderr (/dev/null when detached) */
};

/* keeper_client.c */
/* Connect to the keeper of opts->run_dir, spawning it (detached: its own session, not the
 * daemon's child for long, no PDEATHSIG) when nobody listens, and map the shared slots.
 * take: this daemon starts after a crash and wants the sockets the keeper holds (keeper_take);
 * !take (fresh start): the keeper closes whatever an earlier daemon left with it, since
 * nobody would ever serve or drop those.
 * Returns 0; -1 with *err (malloc'd): the daemon then runs without one (and says so). */
int	keeper_start(const struct keeper_opts *opts, bool take, char **err);
/* After keeper_start(take=true): every socket the keeper holds, one call each; the fd is
 * now the caller's own (a duplicate, close-on-exec; the keeper keeps its copy until
 * keeper_drop).  The slots are in use from then on.  Until it has run, keeper_slot_alloc
 * gives no slot.  Returns the number of sockets taken, or -1 with *err. */
int	keeper_take(void (*cb)(void *arg, unsigned int slot, int fd), void *arg, char **err);
bool	keeper_active(void);
/* How many slots the keeper has (0: no keeper). */
unsigned int keeper_nslots(void);
/* A free slot for a new connection (zeroed), or -1 (no keeper, or all in use). */
int	keeper_slot_alloc(void);
/* Mark slot as in use without sending (re-exec: the slots the hand-over carried). */
void	keeper_slot_claim(unsigned int slot);
struct keeper_slot *keeper_slot(unsigned int slot);	/* NULL if no keeper or out of range */
/* Give the keeper a duplicate of fd for slot (SCM_RIGHTS).  -1 if it could not be sent;
 * the slot is then free again (keeper_drop on it later does nothing). */
int	keeper_hold(unsigned int slot, int fd);
/* The connection of slot ended: the keeper closes its copy; the slot is free again. */
void	keeper_drop(unsigned int slot);
/* Watch the keeper's socket on base: if the keeper dies, log it and carry on without one. */
void	keeper_watch(struct event_base *base);
/* The descriptor of the connection to the keeper, to carry across a re-exec (-1: none),
 * and its counterpart in the new image (instead of keeper_start): it maps the shared
 * slots again; no slot is in use until keeper_slot_claim.  On failure fd is closed. */
int	keeper_export_fd(void);
int	keeper_import_fd(int fd, char **err);
/* Daemon exit: close the connection (the keeper starts its grace period). */
void	keeper_detach(void);

/* keeper_pidfd.c */
/* Give the keeper a duplicate of the pidfd of a watched process, keyed by pid and start
 * time (a second one for the same key replaces the first), so that its exit status
 * outlives a crash of the daemon.  -1 if it could not be sent (no keeper, or it is
 * not reading). */
int	keeper_hold_pid(int pidfd, int pid, uint64_t start_time);
/* The exit of that process was seen: the keeper closes its copy (unknown keys: nothing). */
void	keeper_drop_pid(int pid, uint64_t start_time);
/* After keeper_start(take=true): every pidfd the keeper holds, one call each; the fd is
 * now the caller's own (the keeper keeps its copy until keeper_drop_pid).  Returns the
 * number taken, or -1 with *err. */
int	keeper_take_pids(void (*cb)(void *arg, int pid, uint64_t start_time, int fd),
	    void *arg, char **err);

#endif /* SANDBOXD_KEEPER_H */
