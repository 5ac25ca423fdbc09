/*
 * storage.h: sandboxd's state in LevelDB; the only module that includes
 * <leveldb/c.h>.
 *
 * Records are opaque byte strings (encoded protobuf messages) under keys
 * "<kind>/<namespace>/<id>".  Writes are not written at once: store_put and
 * store_del queue them into the loop iteration's one write batch and apply
 * them to an in-memory index at once, so reads in the same iteration see
 * them.  store_commit writes the batch with sync = 1; only after it returns
 * 0 may a reply that depends on those writes leave the daemon.  If the write
 * fails, the index changes of the batch are rolled back.
 *
 * The index (one red-black tree of ids per namespace and kind, rebuilt from
 * LevelDB by store_open) answers existence, counts and ordered listing
 * without touching the disk; values are read from the pending batch or
 * LevelDB.
 */
#ifndef SANDBOXD_STORAGE_H
#define SANDBOXD_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

enum store_kind {
	STORE_SANDBOX,		/* "sb/": containerd.types.Sandbox metadata */
	STORE_INSTANCE,		/* "in/": sandboxd.v1.Instance controller state */
};

/* Called per record in ascending id order; non-zero stops the walk. */
typedef int (*store_walk_cb)(const char *ns, const char *id, void *arg);

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
bool	 store_pending(void);
int	 store_commit(char **);
void	 store_fail_commits_after(long);

#endif /* SANDBOXD_STORAGE_H */
