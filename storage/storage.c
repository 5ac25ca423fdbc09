/*
 * storage.c: sandboxd's records in LevelDB, an in-memory index of their
 * keys, and the loop iteration's one write batch (see storage.h).
 *
 * The index has, per kind, a tree of namespaces and, per namespace, a tree
 * of ids.  An id entry carries four flags:
 *
 *	ENT_LIVE	visible now, pending changes included;
 *	ENT_DISK	in LevelDB as of the last commit;
 *	ENT_DIRTY	touched in the open batch: it has a record there;
 *	ENT_FLIGHT	touched in the batch being committed: a record there.
 *
 * A committed record deleted in a pending batch stays in its tree with
 * ENT_LIVE clear until a commit settles it; walks and counts skip it.
 *
 * There are two batches.  The open one takes store_put and store_del; at
 * store_commit_begin it becomes the batch in flight, handed to the commit
 * thread (committer.c), and a new open batch starts.  Each batch has a
 * tree of pending records keyed by the address of their entry (one per
 * entry it touched), holding the latest value queued for it, or NULL for
 * a delete: reads see the open batch's record first, then the one in
 * flight, then LevelDB.  The LevelDB batch holds every operation in order
 * and is what gets written.
 *
 * When the batch in flight is written each of its entries gets ENT_DISK
 * exactly if its record there is a value; an entry still dirty keeps the
 * open batch's view.  When a write fails both batches are rolled back:
 * each entry becomes ENT_LIVE again exactly if it is ENT_DISK.  Either way
 * an entry left not live, in neither batch, is freed, then a namespace
 * left empty.
 *
 * Threads: everything here runs on the caller's (the loop's) thread.  The
 * commit thread gets the LevelDB handle, the write options and the batch
 * in flight's leveldb_writebatch_t, and touches nothing else; the loop
 * leaves that writebatch alone until the write is over, and reads only
 * the pending records, which the thread never sees.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leveldb/c.h>

#include "committer.h"
#include "fs.h"
#include "log.h"
#include "storage.h"
#include "storage_test.h"
#include "tree.h"
#include "xmalloc.h"

#define STORE_NKINDS		3
#define STORE_CACHE_SIZE	(4 * 1024 * 1024)	/* LRU block cache */
#define STORE_WRITE_BUFFER	(2 * 1024 * 1024)	/* memtable */
#define STORE_MAX_OPEN_FILES	100			/* LevelDB minimum: 74 */
#define STORE_VIS_MAX		128	/* bytes of a bad key that are logged */
#define STORE_RESERVE_NAME	"reserve"
#define STORE_RESERVE_DEFAULT	(8u << 20)	/* bytes kept for LevelDB */

#define ENT_LIVE	0x1
#define ENT_DISK	0x2
#define ENT_DIRTY	0x4
#define ENT_FLIGHT	0x8

/*
 * One id.  On LP64: 32 bytes of tree links (three pointers and the colour,
 * padded), 1 byte of flags, then the id and its NUL, so 34 + strlen(id)
 * bytes; malloc adds its 8-byte header and rounds to 16 (a 36-character id
 * takes an 80-byte chunk, a 64-character one 112).
 */
struct store_ent {
	RB_ENTRY(store_ent)	 entry;
	uint8_t			 flags;
	char			 id[];
};
RB_HEAD(store_ents, store_ent);

/* One namespace of one kind; count is the number of its ENT_LIVE ids. */
struct store_ns {
	RB_ENTRY(store_ns)	 entry;
	struct store_ents	 ents;
	size_t			 count;
	enum store_kind		 kind;
	char			 name[];
};
RB_HEAD(store_nss, store_ns);

/* The latest value queued for a dirty entry; val NULL: deleted. */
struct store_pend {
	RB_ENTRY(store_pend)	 entry;
	struct store_ns		*ns;
	struct store_ent	*ent;
	void			*val;
	size_t			 len;
};
RB_HEAD(store_pends, store_pend);

/*
 * A batch of writes: the open one, or the one in flight.  seq numbers
 * batches from 1 in the order they are written; nops counts operations.
 */
struct store_batch {
	leveldb_writebatch_t	*wb;
	struct store_pends	 pends;
	size_t			 nops;
	uint64_t		 seq;
	unsigned int		 flag;	/* ENT_DIRTY or ENT_FLIGHT */
};

/* The namespaces of one kind; count is the number of ENT_LIVE ids. */
struct store_index {
	struct store_nss	 nss;
	size_t			 count;
};

static int	store_ent_cmp(struct store_ent *, struct store_ent *);
static int	store_ns_cmp(struct store_ns *, struct store_ns *);
static int	store_pend_cmp(struct store_pend *, struct store_pend *);
RB_PROTOTYPE(store_ents, store_ent, entry, store_ent_cmp);
RB_PROTOTYPE(store_nss, store_ns, entry, store_ns_cmp);
RB_PROTOTYPE(store_pends, store_pend, entry, store_pend_cmp);
RB_GENERATE(store_ents, store_ent, entry, store_ent_cmp);
RB_GENERATE(store_nss, store_ns, entry, store_ns_cmp);
RB_GENERATE(store_pends, store_pend, entry, store_pend_cmp);

static const char *const store_prefixes[STORE_NKINDS] = {
	[STORE_SANDBOX] = "sb/",
	[STORE_INSTANCE] = "in/",
	[STORE_TASK] = "ta/",
};

static leveldb_t		*store_db;
static leveldb_options_t	*store_opts;
static leveldb_cache_t		*store_cache;
static leveldb_readoptions_t	*store_ropts;
static leveldb_writeoptions_t	*store_wopts;
static struct store_batch	 store_cur = {	/* open: takes the writes */
	.pends = RB_INITIALIZER(&store_cur.pends), .seq = 1, .flag = ENT_DIRTY,
};
static struct store_batch	 store_flight = {	/* being written */
	.pends = RB_INITIALIZER(&store_flight.pends), .flag = ENT_FLIGHT,
};
static uint64_t			 store_settled;	/* last batch decided */
static uint64_t			 store_ops_total;	/* ever queued */
static uint64_t			 store_ops_done;	/* of those, decided */
static unsigned int		 store_delay_ms;	/* test hook */
static struct store_index	 store_index[STORE_NKINDS];
static long			 store_fail_after = -1;
static int			 store_walking;
static char			*store_ro_cause;	/* non-NULL: read-only */
static size_t			 store_reserve = STORE_RESERVE_DEFAULT;
static size_t			 store_tightened;	/* by store_tighten_cb */

static int
store_ent_cmp(struct store_ent *a, struct store_ent *b)
{
	return (strcmp(a->id, b->id));
}

static int
store_ns_cmp(struct store_ns *a, struct store_ns *b)
{
	return (strcmp(a->name, b->name));
}

/* Pending records are ordered by the address of their entry. */
static int
store_pend_cmp(struct store_pend *a, struct store_pend *b)
{
	uintptr_t	x = (uintptr_t)a->ent, y = (uintptr_t)b->ent;

	return (x < y ? -1 : x > y);
}

/* The index of a kind; a kind outside the enum is a programming error. */
static struct store_index *
store_kind_index(enum store_kind kind)
{
	if ((unsigned int)kind >= STORE_NKINDS)
		fatalx("store: bad kind %d", (int)kind);
	return (&store_index[kind]);
}

/* Whether s can be a key component: not empty and without a '/'. */
static bool
store_valid_name(const char *s)
{
	return (s != NULL && *s != '\0' && strchr(s, '/') == NULL);
}

/* Find a namespace of a kind by name, or NULL. */
static struct store_ns *
store_ns_find(enum store_kind kind, const char *name)
{
	struct store_ns	*ns = RB_ROOT(&store_kind_index(kind)->nss);
	int		 c;

	while (ns != NULL) {
		if ((c = strcmp(name, ns->name)) == 0)
			return (ns);
		ns = c < 0 ? RB_LEFT(ns, entry) : RB_RIGHT(ns, entry);
	}
	return (NULL);
}

/* Find a namespace of a kind by name, adding it if missing. */
static struct store_ns *
store_ns_get(enum store_kind kind, const char *name)
{
	struct store_ns	*ns;
	size_t		 len;

	if ((ns = store_ns_find(kind, name)) != NULL)
		return (ns);
	len = strlen(name) + 1;
	ns = xmalloc(offsetof(struct store_ns, name) + len);
	RB_INIT(&ns->ents);
	ns->count = 0;
	ns->kind = kind;
	memcpy(ns->name, name, len);
	RB_INSERT(store_nss, &store_index[kind].nss, ns);
	return (ns);
}

/* Find an id in a namespace, live or not, or NULL. */
static struct store_ent *
store_ent_find(struct store_ns *ns, const char *id)
{
	struct store_ent	*ent = RB_ROOT(&ns->ents);
	int			 c;

	while (ent != NULL) {
		if ((c = strcmp(id, ent->id)) == 0)
			return (ent);
		ent = c < 0 ? RB_LEFT(ent, entry) : RB_RIGHT(ent, entry);
	}
	return (NULL);
}

/* Find an id in a namespace, adding it (not live) if missing. */
static struct store_ent *
store_ent_get(struct store_ns *ns, const char *id)
{
	struct store_ent	*ent;
	size_t			 len;

	if ((ent = store_ent_find(ns, id)) != NULL)
		return (ent);
	len = strlen(id) + 1;
	ent = xmalloc(offsetof(struct store_ent, id) + len);
	ent->flags = 0;
	memcpy(ent->id, id, len);
	RB_INSERT(store_ents, &ns->ents, ent);
	return (ent);
}

/* Find the entry of a record, live or not, and its namespace, or NULL. */
static struct store_ent *
store_lookup(enum store_kind kind, const char *ns, const char *id,
    struct store_ns **nsp)
{
	struct store_ns	*n;

	if ((n = store_ns_find(kind, ns)) == NULL)
		return (NULL);
	if (nsp != NULL)
		*nsp = n;
	return (store_ent_find(n, id));
}

/* Make an entry live or not, keeping the counts. */
static void
store_set_live(struct store_ns *ns, struct store_ent *ent, bool live)
{
	if (live == ((ent->flags & ENT_LIVE) != 0))
		return;
	if (live) {
		ent->flags |= ENT_LIVE;
		ns->count++;
		store_index[ns->kind].count++;
	} else {
		ent->flags &= ~ENT_LIVE;
		ns->count--;
		store_index[ns->kind].count--;
	}
}

/* Drop an entry that is not live, and its namespace if that empties it. */
static void
store_ent_drop(struct store_ns *ns, struct store_ent *ent)
{
	RB_REMOVE(store_ents, &ns->ents, ent);
	free(ent);
	if (!RB_EMPTY(&ns->ents))
		return;
	RB_REMOVE(store_nss, &store_index[ns->kind].nss, ns);
	free(ns);
}

/* The record of an entry in batch b; the entry's flag says it has one. */
static struct store_pend *
store_pend_find(struct store_batch *b, struct store_ent *ent)
{
	struct store_pend	 key, *p;

	key.ent = ent;
	if ((p = RB_FIND(store_pends, &b->pends, &key)) == NULL)
		fatalx("store: entry %s without its pending record", ent->id);
	return (p);
}

/* The open batch's record of an entry, made (entry dirty) if missing. */
static struct store_pend *
store_pend_get(struct store_ns *ns, struct store_ent *ent)
{
	struct store_pend	*p;

	if (ent->flags & ENT_DIRTY)
		return (store_pend_find(&store_cur, ent));
	p = xcalloc(1, sizeof(*p));
	p->ns = ns;
	p->ent = ent;
	RB_INSERT(store_pends, &store_cur.pends, p);
	ent->flags |= ENT_DIRTY;
	return (p);
}

/*
 * Settle an entry's record in a batch (its flag) after the batch was
 * written (ok; on_disk: the record is a value) or rolled back.
 */
static void
store_ent_settle(struct store_ns *ns, struct store_ent *ent,
    unsigned int flag, bool ok, bool on_disk)
{
	ent->flags &= ~flag;
	if (ok && on_disk)
		ent->flags |= ENT_DISK;
	else if (ok)
		ent->flags &= ~ENT_DISK;
	else
		store_set_live(ns, ent, (ent->flags & ENT_DISK) != 0);
	if (!(ent->flags & (ENT_LIVE | ENT_DIRTY | ENT_FLIGHT)))
		store_ent_drop(ns, ent);
}

/* End batch b: settle each of its entries, free its records, clear it. */
static void
store_settle(struct store_batch *b, bool ok)
{
	struct store_pend	*p;

	while ((p = RB_ROOT(&b->pends)) != NULL) {
		RB_REMOVE(store_pends, &b->pends, p);
		store_ent_settle(p->ns, p->ent, b->flag, ok, p->val != NULL);
		free(p->val);
		free(p);
	}
	if (b->wb != NULL)
		leveldb_writebatch_clear(b->wb);
	store_ops_done += b->nops;
	b->nops = 0;
}

/*
 * Roll back everything not yet written, in flight first: an entry in
 * both batches is settled (and maybe freed) with the open one.
 */
static void
store_rollback(void)
{
	store_settle(&store_flight, false);
	store_settle(&store_cur, false);
}

/* Free the whole index. */
static void
store_index_free(void)
{
	struct store_index	*si;
	struct store_ns		*ns;
	struct store_ent	*ent;
	size_t			 i;

	for (i = 0; i < STORE_NKINDS; i++) {
		si = &store_index[i];
		while ((ns = RB_ROOT(&si->nss)) != NULL) {
			while ((ent = RB_ROOT(&ns->ents)) != NULL) {
				RB_REMOVE(store_ents, &ns->ents, ent);
				free(ent);
			}
			RB_REMOVE(store_nss, &si->nss, ns);
			free(ns);
		}
		si->count = 0;
	}
}

/* The LevelDB key of a record, and its length in *len; free it. */
static char *
store_key(enum store_kind kind, const char *ns, const char *id, size_t *len)
{
	char	*key;

	*len = (size_t)xasprintf(&key, "%s%s/%s", store_prefixes[kind], ns,
	    id);
	return (key);
}

/*
 * Split a key, copied to a NUL-terminated buf of len bytes, into kind,
 * namespace and id (pointers into buf); -1 if it is not a record's key.
 */
static int
store_key_parse(char *buf, size_t len, enum store_kind *kind, char **ns,
    char **id)
{
	size_t	 i, plen;
	char	*slash;

	if (strlen(buf) != len)
		return (-1);	/* a NUL inside */
	for (i = 0; i < STORE_NKINDS; i++) {
		plen = strlen(store_prefixes[i]);
		if (strncmp(buf, store_prefixes[i], plen) == 0)
			break;
	}
	if (i == STORE_NKINDS)
		return (-1);
	*kind = (enum store_kind)i;
	*ns = buf + plen;
	if ((slash = strchr(*ns, '/')) == NULL || slash == *ns)
		return (-1);
	*slash = '\0';
	*id = slash + 1;
	return (store_valid_name(*id) ? 0 : -1);
}

/* A printable copy of the start of a raw key, for a log line; free it. */
static char *
store_key_vis(const char *key, size_t len)
{
	char	*s;
	size_t	 i;

	if (len > STORE_VIS_MAX)
		len = STORE_VIS_MAX;
	s = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		s[i] = isprint((unsigned char)key[i]) ? key[i] : '?';
	s[len] = '\0';
	return (s);
}

/* Add one key found in LevelDB to the index; log and skip a bad one. */
static void
store_load_key(const char *key, size_t len)
{
	enum store_kind		 kind;
	struct store_ns		*ns;
	struct store_ent	*ent;
	char			*buf, *name, *id, *vis;

	buf = xmalloc(len + 1);
	memcpy(buf, key, len);
	buf[len] = '\0';
	if (store_key_parse(buf, len, &kind, &name, &id) != 0) {
		vis = store_key_vis(key, len);
		log_warnx("store: skipping unknown key \"%s\" (%zu bytes)",
		    vis, len);
		free(vis);
	} else {
		ns = store_ns_get(kind, name);
		ent = store_ent_get(ns, id);
		ent->flags |= ENT_DISK;
		store_set_live(ns, ent, true);
	}
	free(buf);
}

/* Rebuild the index from one scan of every key. */
static int
store_load(char **cause)
{
	leveldb_readoptions_t	*ro;
	leveldb_iterator_t	*it;
	const char		*key;
	size_t			 len;
	char			*err = NULL;

	ro = leveldb_readoptions_create();
	leveldb_readoptions_set_fill_cache(ro, 0);	/* read once */
	it = leveldb_create_iterator(store_db, ro);
	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it);
	    leveldb_iter_next(it)) {
		key = leveldb_iter_key(it, &len);
		store_load_key(key, len);
	}
	leveldb_iter_get_error(it, &err);
	leveldb_iter_destroy(it);
	leveldb_readoptions_destroy(ro);
	if (err != NULL) {
		xasprintf(cause, "leveldb scan: %s", err);
		leveldb_free(err);
		return (-1);
	}
	return (0);
}

/* Create dir and its missing parents, mode 0700; it must be a directory. */
static int
store_mkdirs(const char *dir, struct stat *sb, char **cause)
{
	if (fs_mkdir_p(dir, 0700, 0700, cause) == -1)
		return (-1);
	if (lstat(dir, sb) != 0) {
		xasprintf(cause, "stat %s: %s", dir, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(sb->st_mode)) {
		xasprintf(cause, "%s: not a directory", dir);
		return (-1);
	}
	return (0);
}

/* nftw: take group and other access away from one file or directory. */
static int
store_tighten_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_SL || flag == FTW_SLN || flag == FTW_NS ||
	    (sb->st_mode & 077) == 0)
		return (0);
	if (chmod(path, sb->st_mode & 0700) == -1)
		log_warn("store: chmod %s", path);
	else
		store_tightened++;
	return (0);
}

/*
 * Labels and specs are readable by whoever can read the state directory,
 * so nobody else may: refuse a directory another user owns (its owner
 * could open it again), tighten one of ours that others can enter, and
 * then everything in it, since files made under a loose umask were 0644.
 * Only the LevelDB directory is walked when the top was already tight:
 * walking every sandbox's bundle would cost a stat each at every start.
 */
static int
store_secure(const char *dir, const struct stat *sb, char **cause)
{
	char	*sub;
	bool	 loose = (sb->st_mode & 077) != 0;

	if (sb->st_uid != geteuid()) {
		xasprintf(cause, "state directory %s belongs to uid %u, not to "
		    "uid %u: refusing it", dir, (unsigned int)sb->st_uid,
		    (unsigned int)geteuid());
		return (-1);
	}
	store_tightened = 0;
	if (loose) {
		log_warnx("store: state directory %s was mode %04o, open to "
		    "other users: tightening it and everything in it to owner "
		    "only", dir, (unsigned int)(sb->st_mode & 07777));
		nftw(dir, store_tighten_cb, 16, FTW_PHYS);
	} else {
		xasprintf(&sub, "%s/leveldb", dir);
		nftw(sub, store_tighten_cb, 16, FTW_PHYS);
		free(sub);
	}
	if (store_tightened > 0)
		log_warnx("store: took group and other access away from %zu "
		    "files and directories under %s", store_tightened, dir);
	return (0);
}

/* Bytes an unprivileged writer may still use on dir's file system. */
static int
store_free_bytes(const char *dir, unsigned long long *out)
{
	struct statvfs	sv;

	if (statvfs(dir, &sv) == -1) {
		log_warn("store: statvfs %s", dir);
		return (-1);
	}
	*out = (unsigned long long)sv.f_bavail * sv.f_frsize;
	return (0);
}

/* Serve reads only from now on; the reason is what writes are told. */
static void
store_set_readonly(char *why)
{
	free(store_ro_cause);
	store_ro_cause = why;
	log_warnx("store: read-only: %s", store_ro_cause);
}

/*
 * The reserve is a file of store_reserve bytes kept in the state
 * directory while there is room, so that a file system filled by
 * something else still has room for LevelDB to open (it writes a new
 * manifest and log at every open).  With less than that free at start,
 * release it, open, and serve read-only: a daemon that answers Get and
 * List is better than one that cannot start.
 */
static void
store_check_space(const char *dir)
{
	unsigned long long	 avail;
	char			*path, *why;

	if (store_reserve == 0 || store_free_bytes(dir, &avail) == -1)
		return;
	if (avail >= store_reserve)
		return;
	xasprintf(&path, "%s/" STORE_RESERVE_NAME, dir);
	if (unlink(path) == 0)
		log_warnx("store: released the reserve %s to open the store",
		    path);
	free(path);
	xasprintf(&why, "the file system of %s is full (%llu bytes free); "
	    "free some space and restart sandboxd", dir, avail);
	store_set_readonly(why);
}

/* Make the reserve file whole; no room for it means read-only. */
static void
store_make_reserve(const char *dir)
{
	char	*path, *why;
	int	 fd, error;

	if (store_reserve == 0 || store_ro_cause != NULL)
		return;
	xasprintf(&path, "%s/" STORE_RESERVE_NAME, dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		log_warn("store: cannot make the reserve %s", path);
		free(path);
		return;
	}
	error = posix_fallocate(fd, 0, (off_t)store_reserve);
	close(fd);
	if (error == ENOSPC) {
		unlink(path);
		xasprintf(&why, "the file system of %s is full (no room for "
		    "the %zu-byte reserve); free some space and restart "
		    "sandboxd", dir, store_reserve);
		store_set_readonly(why);
	} else if (error != 0)
		log_warnx("store: reserve %s: %s", path, strerror(error));
	free(path);
}

/* Make the options objects and the batch, once per store_open. */
static void
store_options_create(void)
{
	store_cache = leveldb_cache_create_lru(STORE_CACHE_SIZE);
	store_opts = leveldb_options_create();
	leveldb_options_set_create_if_missing(store_opts, 1);
	leveldb_options_set_cache(store_opts, store_cache);
	leveldb_options_set_write_buffer_size(store_opts, STORE_WRITE_BUFFER);
	leveldb_options_set_max_open_files(store_opts, STORE_MAX_OPEN_FILES);
	store_ropts = leveldb_readoptions_create();
	store_wopts = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(store_wopts, 1);
	store_cur.wb = leveldb_writebatch_create();
	store_flight.wb = leveldb_writebatch_create();
}

/*
 * Open (creating it if needed) the store under dir and rebuild the index.
 * 0 on success; -1 with *cause (allocated, the caller frees it).
 */
int
store_open(const char *dir, char **cause)
{
	struct stat	 sb;
	char		*path, *err = NULL;

	if (store_db != NULL)
		fatalx("%s: store already open", __func__);
	if (*dir == '\0') {
		*cause = xstrdup("empty state directory");
		return (-1);
	}
	if (store_mkdirs(dir, &sb, cause) != 0 ||
	    store_secure(dir, &sb, cause) != 0)
		return (-1);
	free(store_ro_cause);
	store_ro_cause = NULL;
	store_check_space(dir);
	store_options_create();
	xasprintf(&path, "%s/leveldb", dir);
	store_db = leveldb_open(store_opts, path, &err);
	if (err != NULL) {
		xasprintf(cause, "leveldb open %s: %s", path, err);
		leveldb_free(err);
		free(path);
		goto fail;
	}
	if (store_load(cause) != 0 || committer_start(cause) != 0) {
		free(path);
		goto fail;
	}
	log_info("store: %s: %zu sandboxes, %zu instances", path,
	    store_index[STORE_SANDBOX].count, store_index[STORE_INSTANCE].count);
	free(path);
	store_make_reserve(dir);
	return (0);

fail:
	store_close();
	return (-1);
}

/*
 * Close the store, dropping uncommitted changes, and free the index.  A
 * commit in flight is waited for first.
 */
void
store_close(void)
{
	char	*cause = NULL;

	if (store_commit_end(true, &cause) == -1) {
		log_warnx("store: closing after a failed commit: %s", cause);
		free(cause);
	}
	committer_stop();
	if (store_cur.nops != 0)
		log_warnx("store: closing with %zu uncommitted operations",
		    store_cur.nops);
	store_rollback();
	store_index_free();
	if (store_db != NULL)
		leveldb_close(store_db);
	if (store_cur.wb != NULL)
		leveldb_writebatch_destroy(store_cur.wb);
	if (store_flight.wb != NULL)
		leveldb_writebatch_destroy(store_flight.wb);
	if (store_wopts != NULL)
		leveldb_writeoptions_destroy(store_wopts);
	if (store_ropts != NULL)
		leveldb_readoptions_destroy(store_ropts);
	if (store_opts != NULL)
		leveldb_options_destroy(store_opts);
	if (store_cache != NULL)
		leveldb_cache_destroy(store_cache);
	free(store_ro_cause);
	store_ro_cause = NULL;
	store_db = NULL;
	store_cur.wb = NULL;
	store_flight.wb = NULL;
	store_wopts = NULL;
	store_ropts = NULL;
	store_opts = NULL;
	store_cache = NULL;
}

/* Read a committed value from LevelDB into a malloc'd copy. */
static int
store_read(enum store_kind kind, const char *ns, const char *id, void **val,
    size_t *len, char **cause)
{
	char	*key, *v, *err = NULL;
	size_t	 klen, vlen;

	key = store_key(kind, ns, id, &klen);
	v = leveldb_get(store_db, store_ropts, key, klen, &vlen, &err);
	if (err != NULL) {
		xasprintf(cause, "leveldb get %s: %s", key, err);
		leveldb_free(err);
		free(key);
		return (-1);
	}
	if (v == NULL) {
		xasprintf(cause, "leveldb get %s: indexed but missing", key);
		free(key);
		return (-1);
	}
	free(key);
	*val = xmemdup(v, vlen);
	*len = vlen;
	leveldb_free(v);
	return (1);
}

/*
 * Fetch a record: 1 and a malloc'd copy in *val (the caller frees it), 0 if
 * absent, -1 with *cause on a LevelDB error.  Pending changes are seen.
 */
int
store_get(enum store_kind kind, const char *ns, const char *id, void **val,
    size_t *len, char **cause)
{
	struct store_ent	*ent;
	struct store_pend	*p;

	*val = NULL;
	*len = 0;
	ent = store_lookup(kind, ns, id, NULL);
	if (ent == NULL || !(ent->flags & ENT_LIVE))
		return (0);
	if (ent->flags & ENT_DIRTY)
		p = store_pend_find(&store_cur, ent);
	else if (ent->flags & ENT_FLIGHT)
		p = store_pend_find(&store_flight, ent);
	else
		return (store_read(kind, ns, id, val, len, cause));
	*val = xmemdup(p->val, p->len);
	*len = p->len;
	return (1);
}

/* Whether a record exists, pending changes included. */
bool
store_exists(enum store_kind kind, const char *ns, const char *id)
{
	struct store_ent	*ent;

	ent = store_lookup(kind, ns, id, NULL);
	return (ent != NULL && (ent->flags & ENT_LIVE));
}

/* How many records of a kind are in ns (NULL: in every namespace). */
size_t
store_count(enum store_kind kind, const char *ns)
{
	struct store_ns	*n;

	if (ns == NULL)
		return (store_kind_index(kind)->count);
	if ((n = store_ns_find(kind, ns)) == NULL)
		return (0);
	return (n->count);
}

/* Die unless a write of this record may be queued now. */
static void
store_check_write(enum store_kind kind, const char *ns, const char *id,
    const char *what)
{
	store_kind_index(kind);
	if (store_db == NULL)
		fatalx("%s: store not open", what);
	if (store_walking)
		fatalx("%s: called inside store_walk", what);
	if (!store_valid_name(ns) || !store_valid_name(id))
		fatalx("%s: bad key component \"%s\"/\"%s\"", what,
		    ns != NULL ? ns : "(null)", id != NULL ? id : "(null)");
}

/* Queue a record's new value; reads see it at once. */
void
store_put(enum store_kind kind, const char *ns, const char *id,
    const void *val, size_t len)
{
	struct store_ns		*n;
	struct store_ent	*ent;
	struct store_pend	*p;
	char			*key;
	size_t			 klen;

	store_check_write(kind, ns, id, __func__);
	n = store_ns_get(kind, ns);
	ent = store_ent_get(n, id);
	p = store_pend_get(n, ent);
	free(p->val);
	p->val = xmemdup(val, len);
	p->len = len;
	store_set_live(n, ent, true);
	key = store_key(kind, ns, id, &klen);
	leveldb_writebatch_put(store_cur.wb, key, klen, val, len);
	store_cur.nops++;
	store_ops_total++;
	free(key);
}

/* Queue a record's deletion; reads stop seeing it at once. */
void
store_del(enum store_kind kind, const char *ns, const char *id)
{
	struct store_ns		*n;
	struct store_ent	*ent;
	struct store_pend	*p;
	char			*key;
	size_t			 klen;

	store_check_write(kind, ns, id, __func__);
	ent = store_lookup(kind, ns, id, &n);
	if (ent == NULL || !(ent->flags & ENT_LIVE))
		return;
	p = store_pend_get(n, ent);
	free(p->val);
	p->val = NULL;
	p->len = 0;
	store_set_live(n, ent, false);
	key = store_key(kind, ns, id, &klen);
	leveldb_writebatch_delete(store_cur.wb, key, klen);
	store_cur.nops++;
	store_ops_total++;
	free(key);
}

/* Visit the live ids of one namespace in order; non-zero stops. */
static int
store_walk_ns(struct store_ns *ns, store_walk_cb cb, void *arg)
{
	struct store_ent	*ent;
	int			 rv;

	RB_FOREACH(ent, store_ents, &ns->ents) {
		if (!(ent->flags & ENT_LIVE))
			continue;
		if ((rv = cb(ns->name, ent->id, arg)) != 0)
			return (rv);
	}
	return (0);
}

/*
 * Visit the records of a kind in ns (NULL: every namespace) in ascending
 * (namespace, id) order; return the first non-zero value of cb, or 0.
 */
int
store_walk(enum store_kind kind, const char *ns, store_walk_cb cb, void *arg)
{
	struct store_index	*si = store_kind_index(kind);
	struct store_ns		*n;
	int			 rv = 0;

	store_walking++;
	if (ns != NULL) {
		if ((n = store_ns_find(kind, ns)) != NULL)
			rv = store_walk_ns(n, cb, arg);
	} else {
		RB_FOREACH(n, store_nss, &si->nss) {
			if ((rv = store_walk_ns(n, cb, arg)) != 0)
				break;
		}
	}
	store_walking--;
	return (rv);
}

/*
 * One pass over the committed records of a kind, values and all, in key
 * order: one LevelDB iterator where store_walk and a store_get per id
 * would search the tables once per record (recovery reads them all).
 * Only with nothing pending: the iterator sees no pending change.
 * -1 with *cause if LevelDB failed; else the first non-zero cb, or 0.
 */
int
store_scan(enum store_kind kind, store_scan_cb cb, void *arg, char **cause)
{
	leveldb_iterator_t	*it;
	const char		*key, *val, *prefix = store_prefixes[kind];
	size_t			 klen, vlen, plen = strlen(prefix);
	struct store_ent	*ent;
	enum store_kind		 k;
	char			*buf = NULL, *ns, *id, *err = NULL;
	int			 rv = 0;

	if (store_pending())
		fatalx("%s: %zu changes pending", __func__,
		    store_cur.nops + store_flight.nops);
	store_walking++;
	it = leveldb_create_iterator(store_db, store_ropts);
	for (leveldb_iter_seek(it, prefix, plen); rv == 0 &&
	    leveldb_iter_valid(it); leveldb_iter_next(it)) {
		key = leveldb_iter_key(it, &klen);
		if (klen < plen || memcmp(key, prefix, plen) != 0)
			break;
		buf = xreallocarray(buf, klen + 1, 1);
		memcpy(buf, key, klen);
		buf[klen] = '\0';
		/* The index skipped a bad key at open (and said so). */
		if (store_key_parse(buf, klen, &k, &ns, &id) != 0 ||
		    (ent = store_lookup(kind, ns, id, NULL)) == NULL ||
		    !(ent->flags & ENT_LIVE))
			continue;
		val = leveldb_iter_value(it, &vlen);
		rv = cb(ns, id, val, vlen, arg);
	}
	leveldb_iter_get_error(it, &err);
	leveldb_iter_destroy(it);
	store_walking--;
	free(buf);
	if (err != NULL) {
		xasprintf(cause, "leveldb scan: %s", err);
		leveldb_free(err);
		return (-1);
	}
	return (rv);
}

/* Whether anything is not yet written: the open batch or one in flight. */
bool
store_pending(void)
{
	return (store_cur.nops != 0 || store_flight.nops != 0);
}

/* Whether a batch is with the commit thread. */
bool
store_commit_busy(void)
{
	return (store_flight.nops != 0);
}

/*
 * The batch that must be settled before an answer given now may leave:
 * the open batch if it holds anything, else the one before it (in
 * flight, or already settled).  Never decreases.
 */
uint64_t
store_seq_needed(void)
{
	return (store_cur.nops != 0 ? store_cur.seq : store_cur.seq - 1);
}

/*
 * Operations ever queued, and of those the ones decided (written, dropped
 * by a read-only store, or rolled back): a count apart from the batch
 * numbers, for the loop's debug check that nothing is released early.
 */
uint64_t
store_ops_queued(void)
{
	return (store_ops_total);
}

uint64_t
store_ops_settled(void)
{
	return (store_ops_done);
}

/* The last batch settled: written, or dropped by a read-only store. */
uint64_t
store_seq_settled(void)
{
	return (store_settled);
}

/* The descriptor that becomes readable when the commit thread is done. */
int
store_commit_fd(void)
{
	return (committer_fd());
}

/* Open batch becomes the one in flight; a new, empty one opens. */
static void
store_batch_rotate(void)
{
	leveldb_writebatch_t	*wb = store_flight.wb;
	struct store_pend	*p;

	RB_FOREACH(p, store_pends, &store_cur.pends)
		p->ent->flags = (p->ent->flags & ~ENT_DIRTY) | ENT_FLIGHT;
	store_flight.wb = store_cur.wb;
	store_flight.pends = store_cur.pends;
	store_flight.nops = store_cur.nops;
	store_flight.seq = store_cur.seq;
	store_cur.wb = wb;
	RB_INIT(&store_cur.pends);
	store_cur.nops = 0;
	store_cur.seq++;
}

/*
 * Hand the open batch to the commit thread, if it holds anything and no
 * batch is in flight; the loop goes on with a new open batch.  Returns
 * the batch's sequence number, or 0 if nothing was handed over.  A
 * read-only store drops the batch here instead (see store_readonly): it
 * is settled at once and 0 is returned.
 */
uint64_t
store_commit_begin(void)
{
	bool	inject = false;

	if (store_cur.nops == 0 || store_flight.nops != 0)
		return (0);
	if (store_walking)
		fatalx("%s: called inside store_walk", __func__);
	/* Clients' writes are refused before they change anything; what
	 * is left is the daemon's own bookkeeping (an exit seen, recovery),
	 * which the next start finds again. */
	if (store_ro_cause != NULL) {
		log_warnx("store: read-only: %zu operations not saved",
		    store_cur.nops);
		store_settle(&store_cur, false);
		store_settled = store_cur.seq++;
		return (0);
	}
	if (store_fail_after == 0)
		inject = true;
	else if (store_fail_after > 0)
		store_fail_after--;
	store_batch_rotate();
	committer_submit(store_db, store_wopts, store_flight.wb, inject,
	    store_delay_ms);
	return (store_flight.seq);
}

/*
 * Collect the batch in flight.  Nothing in flight: 0.  Not written yet:
 * 1 if !wait, else wait for it.  Written: 0, its entries settled.  Not
 * written: -1 with *cause, and both batches rolled back to the last
 * commit.
 */
int
store_commit_end(bool wait, char **cause)
{
	char	*err = NULL;
	bool	 injected = false;
	double	 ms = 0;

	if (store_flight.nops == 0)
		return (0);
	if (committer_collect(wait, &err, &injected, &ms) == 1)
		return (1);
	if (injected || err != NULL) {
		if (injected)
			*cause = xstrdup("injected commit failure");
		else
			xasprintf(cause, "leveldb write: %s", err);
		if (err != NULL)
			leveldb_free(err);
		store_rollback();
		return (-1);
	}
	log_debug("store: committed %zu operations (synced write %.1f ms)",
	    store_flight.nops, ms);
	store_settled = store_flight.seq;
	store_settle(&store_flight, true);
	return (0);
}

/*
 * Write everything pending and wait: the batch in flight, then the open
 * one.  0 when all of it is written (or there was nothing); -1 with
 * *cause after a failed write, everything not written rolled back.
 */
int
store_commit(char **cause)
{
	if (store_walking)
		fatalx("%s: called inside store_walk", __func__);
	if (store_commit_end(true, cause) == -1)
		return (-1);
	if (store_commit_begin() == 0)
		return (0);
	return (store_commit_end(true, cause));
}

/* NULL if the store takes writes, else why not (see store_open). */
const char *
store_readonly(void)
{
	return (store_ro_cause);
}

/* The size of the reserve file store_open keeps; 0: none. */
void
store_set_reserve(size_t bytes)
{
	store_reserve = bytes;
}

/* Test hook: let n more commits through, fail the ones after (n < 0: off). */
void
store_fail_commits_after(long n)
{
	store_fail_after = n < 0 ? -1 : n;
}

/* Test hook: the commit thread sleeps ms before each write. */
void
store_delay_commits(unsigned int ms)
{
	store_delay_ms = ms;
}
