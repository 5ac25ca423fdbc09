/*
 * storage.h: sandboxd's state in LevelDB; the only module that includes
 * <leveldb/c.h>.
 *
 * Records are opaque byte strings (encoded protobuf messages) under keys
 * "<kind>/<namespace>/<id>".  Writes are not written at once: store_put and
 * store_del queue them into the open write batch and apply them to an
 * in-memory index at once, so later reads see them.  The loop hands the
 * open batch to a commit thread (store_commit_begin), which writes it with
 * sync = 1 while the loop goes on and a new open batch gathers the next
 * writes; store_commit_end collects the result.  Batches are numbered:
 * an answer that store_seq_needed() gives n for, asked after the last
 * write its change needs was queued, may leave the daemon once
 * store_seq_settled() >= n (the server asks at the end of the loop
 * iteration, see server/loop.c).  If a write fails, the index changes of both
 * batches are rolled back.  store_commit does all of it and waits.
 *
 * The index (one red-black tree of ids per namespace and kind, rebuilt from
 * LevelDB by store_open) answers existence, counts and ordered listing
 * without touching the disk; values are read from the pending batch or
 * LevelDB.  Committed values are not kept in memory.
 *
 * Namespaces and ids are non-empty and never contain '/'; store_put and
 * store_del die on one that does (callers validate identifiers first).
 * Every *cause is allocated; the caller frees it.
 *
 * store_open	create dir (and parents) 0700 if missing, open <dir>/leveldb
 *		and rebuild the index; a key that does not parse is logged and
 *		skipped.  0, or -1 with *cause.  Dies if already open.
 *		A dir another uid owns is refused; one open to group or
 *		others is tightened to 0700 with everything in it (logged).
 *		Keeps a reserve file (store_set_reserve bytes, 8 MiB by
 *		default) in dir; with less than that free at open, the
 *		reserve is released so LevelDB can open and the store is
 *		read-only until the next open.
 * store_readonly
 *		NULL, or why the store takes no writes; then store_commit
 *		drops what is pending (logged) and returns 0: callers must
 *		refuse clients' writes before making them.
 * store_close	close LevelDB and free the index; uncommitted changes are
 *		dropped.  The store may be opened again.
 * store_get	1 and a malloc'd copy of the value in *val (the caller
 *		free()s it; a zero length still gives a pointer), 0 if absent,
 *		-1 with *cause on a LevelDB error.  Pending puts are seen,
 *		pending deletes hide the record.
 * store_exists, store_count
 *		answered from the index, pending changes included;
 *		store_count with a NULL namespace counts every namespace.
 * store_put, store_del
 *		queue the change into the batch and apply it to the index at
 *		once; the value is copied.  The last change to a key wins.
 *		Deleting an absent record queues nothing.
 * store_walk	call cb for each record of a kind in ns (NULL: every
 *		namespace) in ascending (namespace, id) order, pending changes
 *		included; stop at and return the first non-zero cb result,
 *		else 0.  cb may call the read functions (store_get,
 *		store_exists, store_count, store_walk) but not store_put,
 *		store_del or store_commit: those die inside a walk.
 * store_scan	call cb for each committed record of a kind, with its value
 *		(valid during the call only), in key order, from one LevelDB
 *		iterator: for reading every record at once (recovery).  Only
 *		with nothing pending (it dies otherwise); cb may not write.
 *		-1 with *cause if LevelDB failed, else as store_walk.
 * store_pending whether anything is not yet written: the open batch or
 *		one in flight.
 * store_commit_begin
 *		hand the open batch to the commit thread if it holds
 *		anything and nothing is in flight; returns its sequence
 *		number, else 0.  Read-only: the batch is dropped and settled
 *		here (0).  Dies inside a walk.
 * store_commit_end
 *		nothing in flight: 0.  Not written yet: 1 (wait false), or
 *		wait for it (wait true).  Written: 0, the batch settled.
 *		Failed: -1 with *cause; the index is rolled back to the last
 *		commit (new records vanish, deleted ones return, values read
 *		from LevelDB again) and both batches are dropped.  LevelDB
 *		refuses every write after a failed sync, so the daemon exits
 *		after a failed commit.
 * store_commit_busy
 *		whether a batch is in flight.
 * store_commit_fd
 *		readable while a finished write waits for store_commit_end;
 *		for the loop to watch.  Valid while the store is open.
 * store_seq_needed
 *		the batch an answer given now depends on: the open batch if
 *		it holds anything, else the one before it.  Never decreases.
 * store_seq_settled
 *		the last batch written (or dropped by a read-only store).
 * store_ops_queued, store_ops_settled
 *		how many operations were ever queued, and how many of them
 *		are decided (written, dropped or rolled back); a count kept
 *		apart from the batch numbers, for debug checks.
 * store_commit	end the batch in flight, begin the open one and end it,
 *		waiting: 0 when everything is written (or nothing was
 *		pending), -1 with *cause as store_commit_end.
 *
 * store_fail_commits_after and store_delay_commits, test hooks, are in
 * storage_test.h.
 */
#ifndef SANDBOXD_STORAGE_H
#define SANDBOXD_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_kind {
	STORE_SANDBOX,		/* "sb/": containerd.types.Sandbox metadata */
	STORE_INSTANCE,		/* "in/": sandboxd.v1.Instance controller state */
	STORE_TASK,		/* "ta/": sandboxd.v1.Task, a container */
};

/*
 * Descriptors LevelDB may hold at once: its table cache (max_open_files,
 * 100), the log, the manifest, LOCK, LOG, and a compaction's outputs.
 * Nothing else may use them (main.c keeps them out of every cap).
 */
#define STORE_FDS	128

/* Called per record in ascending (namespace, id) order; non-zero stops. */
typedef int (*store_walk_cb)(const char *ns, const char *id, void *arg);
/* Called per record with its value; non-zero stops. */
typedef int (*store_scan_cb)(const char *ns, const char *id, const void *val,
    size_t len, void *arg);

/* storage.c */
int	 store_open(const char *, char **);
void	 store_close(void);
int	 store_get(enum store_kind, const char *, const char *, void **,
	    size_t *, char **);
bool	 store_exists(enum store_kind, const char *, const char *);
size_t	 store_count(enum store_kind, const char *);
void	 store_put(enum store_kind, const char *, const char *, const void *,
	    size_t);
void	 store_del(enum store_kind, const char *, const char *);
int	 store_walk(enum store_kind, const char *, store_walk_cb, void *);
int	 store_scan(enum store_kind, store_scan_cb, void *, char **);
bool	 store_pending(void);
uint64_t store_commit_begin(void);
int	 store_commit_end(bool, char **);
bool	 store_commit_busy(void);
int	 store_commit_fd(void);
uint64_t store_seq_needed(void);
uint64_t store_seq_settled(void);
uint64_t store_ops_queued(void);
uint64_t store_ops_settled(void);
int	 store_commit(char **);
const char *store_readonly(void);
void	 store_set_reserve(size_t);

#endif /* SANDBOXD_STORAGE_H */
