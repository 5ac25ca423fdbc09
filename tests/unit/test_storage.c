/*
 * test_storage.c: the storage module against a real LevelDB in a private
 * temporary directory per test.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <leveldb/c.h>

#include "storage.h"
#include "storage_test.h"

static char	tmpdir[] = "/tmp/test_storage.XXXXXX";
static char	statedir[512];

/* Remove one file or (emptied) directory for nftw. */
static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path));
}

/* Remove the temporary directory, if it is still there. */
static void
rm_tmpdir(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Make a private temporary directory; the state dir is below it.  The
 * atexit handler cleans up after the tests that end in fatalx().
 */
static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(statedir, sizeof(statedir), "%s/state", tmpdir);
	atexit(rm_tmpdir);
}

/* Close the store and remove the temporary directory. */
static void
teardown(void)
{
	store_close();
	store_fail_commits_after(-1);
	rm_tmpdir();
}

TestSuite(storage, .init = setup, .fini = teardown, .timeout = 60);

/* Open the store in the test's state dir, failing the test if it cannot. */
static void
open_store(void)
{
	char	*cause = NULL;

	cr_assert_eq(store_open(statedir, &cause), 0, "store_open: %s",
	    cause != NULL ? cause : "?");
}

/* Commit, failing the test if it does not succeed. */
static void
commit(void)
{
	char	*cause = NULL;

	cr_assert_eq(store_commit(&cause), 0, "store_commit: %s",
	    cause != NULL ? cause : "?");
	cr_assert_not(store_pending());
}

/* Close and reopen the store. */
static void
reopen(void)
{
	store_close();
	open_store();
}

/* Assert that a record holds exactly the given bytes. */
static void
assert_value(enum store_kind kind, const char *ns, const char *id,
    const void *want, size_t wantlen)
{
	void	*val = NULL;
	size_t	 len = 99;
	char	*cause = NULL;
	int	 rv;

	rv = store_get(kind, ns, id, &val, &len, &cause);
	cr_assert_eq(rv, 1, "store_get %s/%s: %d (%s)", ns, id, rv,
	    cause != NULL ? cause : "absent");
	cr_assert_not_null(val);
	cr_assert_eq(len, wantlen, "%s/%s: length %zu, want %zu", ns, id, len,
	    wantlen);
	cr_assert(wantlen == 0 || memcmp(val, want, wantlen) == 0,
	    "%s/%s: wrong bytes", ns, id);
	free(val);
}

/* Assert that a record holds the given string (without its NUL). */
static void
assert_str(enum store_kind kind, const char *ns, const char *id,
    const char *want)
{
	assert_value(kind, ns, id, want, strlen(want));
}

/* Assert that a record is absent, to reads and to the index. */
static void
assert_absent(enum store_kind kind, const char *ns, const char *id)
{
	void	*val = (void *)1;
	size_t	 len = 99;
	char	*cause = NULL;

	cr_assert_eq(store_get(kind, ns, id, &val, &len, &cause), 0,
	    "%s/%s should be absent", ns, id);
	cr_assert_null(val);
	cr_assert_eq(len, 0);
	cr_assert_not(store_exists(kind, ns, id));
}

/* Put a string value. */
static void
put_str(enum store_kind kind, const char *ns, const char *id, const char *v)
{
	store_put(kind, ns, id, v, strlen(v));
}

/* What a walk collected: "ns/id" lines, and where to stop. */
struct walk_log {
	char	buf[8192];
	int	calls;
	int	stop_at;	/* return 42 on this call (1-based); 0: never */
};

static int
walk_log_cb(const char *ns, const char *id, void *arg)
{
	struct walk_log	*w = arg;
	size_t		 used = strlen(w->buf);

	snprintf(w->buf + used, sizeof(w->buf) - used, "%s/%s ", ns, id);
	w->calls++;
	return (w->calls == w->stop_at ? 42 : 0);
}

/* Walk kind in ns and return the "ns/id " list. */
static const char *
walk_str(struct walk_log *w, enum store_kind kind, const char *ns)
{
	memset(w, 0, sizeof(*w));
	cr_assert_eq(store_walk(kind, ns, walk_log_cb, w), 0);
	return (w->buf);
}

/* Total bytes of LevelDB's write-ahead logs (*.log) in the state dir. */
static off_t
wal_bytes(void)
{
	char		 dbdir[600], path[900];
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	off_t		 total = 0;
	size_t		 n;

	snprintf(dbdir, sizeof(dbdir), "%s/leveldb", statedir);
	cr_assert_not_null(d = opendir(dbdir));
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 4, ".log") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dbdir, de->d_name);
		cr_assert_eq(stat(path, &sb), 0);
		total += sb.st_size;
	}
	closedir(d);
	return (total);
}

Test(storage, put_get_del)
{
	open_store();
	assert_absent(STORE_SANDBOX, "default", "a");
	cr_assert_eq(store_count(STORE_SANDBOX, "default"), 0);
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 0);

	put_str(STORE_SANDBOX, "default", "a", "alpha");
	put_str(STORE_SANDBOX, "default", "b", "beta");
	commit();
	assert_str(STORE_SANDBOX, "default", "a", "alpha");
	assert_str(STORE_SANDBOX, "default", "b", "beta");
	cr_assert(store_exists(STORE_SANDBOX, "default", "a"));
	cr_assert_eq(store_count(STORE_SANDBOX, "default"), 2);
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 2);
	cr_assert_eq(store_count(STORE_SANDBOX, "other"), 0);

	put_str(STORE_SANDBOX, "default", "a", "alpha2");
	commit();
	assert_str(STORE_SANDBOX, "default", "a", "alpha2");
	cr_assert_eq(store_count(STORE_SANDBOX, "default"), 2);

	store_del(STORE_SANDBOX, "default", "a");
	commit();
	assert_absent(STORE_SANDBOX, "default", "a");
	assert_str(STORE_SANDBOX, "default", "b", "beta");
	cr_assert_eq(store_count(STORE_SANDBOX, "default"), 1);

	/* Deleting an absent record queues nothing. */
	store_del(STORE_SANDBOX, "default", "a");
	store_del(STORE_SANDBOX, "nowhere", "x");
	cr_assert_not(store_pending());

	store_del(STORE_SANDBOX, "default", "b");
	commit();
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 0);
	cr_assert_str_empty(walk_str(&(struct walk_log){ 0 }, STORE_SANDBOX,
	    NULL));
}

Test(storage, pending_is_visible)
{
	struct walk_log	w;

	open_store();
	put_str(STORE_SANDBOX, "ns", "old", "committed");
	put_str(STORE_SANDBOX, "ns", "gone", "doomed");
	commit();

	put_str(STORE_SANDBOX, "ns", "new", "pending");
	cr_assert(store_pending());
	assert_str(STORE_SANDBOX, "ns", "new", "pending");
	cr_assert(store_exists(STORE_SANDBOX, "ns", "new"));
	cr_assert_eq(store_count(STORE_SANDBOX, "ns"), 3);

	store_del(STORE_SANDBOX, "ns", "gone");
	assert_absent(STORE_SANDBOX, "ns", "gone");
	cr_assert_eq(store_count(STORE_SANDBOX, "ns"), 2);
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 2);
	cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, "ns"), "ns/new ns/old ");

	/* Several changes to one key: the last wins. */
	put_str(STORE_SANDBOX, "ns", "old", "v2");
	put_str(STORE_SANDBOX, "ns", "old", "v3");
	assert_str(STORE_SANDBOX, "ns", "old", "v3");
	put_str(STORE_SANDBOX, "ns", "tmp", "x");
	store_del(STORE_SANDBOX, "ns", "tmp");
	assert_absent(STORE_SANDBOX, "ns", "tmp");
	put_str(STORE_SANDBOX, "ns", "gone", "back");
	assert_str(STORE_SANDBOX, "ns", "gone", "back");
	cr_assert_eq(store_count(STORE_SANDBOX, "ns"), 3);

	commit();
	assert_str(STORE_SANDBOX, "ns", "old", "v3");
	assert_str(STORE_SANDBOX, "ns", "gone", "back");
	assert_absent(STORE_SANDBOX, "ns", "tmp");
	reopen();
	assert_str(STORE_SANDBOX, "ns", "old", "v3");
	assert_str(STORE_SANDBOX, "ns", "new", "pending");
	assert_str(STORE_SANDBOX, "ns", "gone", "back");
	assert_absent(STORE_SANDBOX, "ns", "tmp");
	cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, NULL),
	    "ns/gone ns/new ns/old ");
}

Test(storage, persists_across_reopen)
{
	struct walk_log	w;

	open_store();
	put_str(STORE_SANDBOX, "zeta", "z1", "Z1");
	put_str(STORE_SANDBOX, "alpha", "b", "AB");
	put_str(STORE_SANDBOX, "alpha", "a", "AA");
	put_str(STORE_INSTANCE, "alpha", "a", "IA");
	commit();
	put_str(STORE_SANDBOX, "alpha", "c", "AC");
	commit();
	put_str(STORE_SANDBOX, "alpha", "uncommitted", "lost");
	store_del(STORE_SANDBOX, "zeta", "z1");
	reopen();	/* drops the uncommitted changes */

	cr_assert_not(store_pending());
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 4);
	cr_assert_eq(store_count(STORE_SANDBOX, "alpha"), 3);
	cr_assert_eq(store_count(STORE_SANDBOX, "zeta"), 1);
	cr_assert_eq(store_count(STORE_INSTANCE, NULL), 1);
	cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, NULL),
	    "alpha/a alpha/b alpha/c zeta/z1 ");
	assert_str(STORE_SANDBOX, "alpha", "a", "AA");
	assert_str(STORE_SANDBOX, "zeta", "z1", "Z1");
	assert_str(STORE_INSTANCE, "alpha", "a", "IA");
	assert_absent(STORE_SANDBOX, "alpha", "uncommitted");
}

Test(storage, many_records)
{
	char	 id[32], want[32];
	void	*val;
	size_t	 len, i, n = 2000;
	char	*cause = NULL;

	open_store();
	for (i = 0; i < n; i++) {
		/* Insert in a scrambled order. */
		snprintf(id, sizeof(id), "id%05zu", (i * 7919) % n);
		put_str(STORE_INSTANCE, "ns", id, id);
		if (i % 500 == 499)
			commit();
	}
	for (i = 0; i < n; i += 2) {
		snprintf(id, sizeof(id), "id%05zu", i);
		store_del(STORE_INSTANCE, "ns", id);
	}
	commit();
	reopen();
	cr_assert_eq(store_count(STORE_INSTANCE, "ns"), n / 2);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "id%05zu", i);
		cr_assert_eq(store_exists(STORE_INSTANCE, "ns", id), i % 2 == 1);
	}
	snprintf(want, sizeof(want), "id%05zu", n - 1);
	cr_assert_eq(store_get(STORE_INSTANCE, "ns", want, &val, &len, &cause),
	    1);
	cr_assert_eq(len, strlen(want));
	cr_assert(memcmp(val, want, len) == 0);
	free(val);
}

/* Walk callback that checks a record can be read from inside a walk. */
static int
walk_get_cb(const char *ns, const char *id, void *arg)
{
	void	*val;
	size_t	 len;
	char	*cause = NULL;
	int	*n = arg;

	cr_assert_eq(store_get(STORE_SANDBOX, ns, id, &val, &len, &cause), 1);
	cr_assert_eq(len, strlen(id));
	cr_assert(memcmp(val, id, len) == 0);
	free(val);
	(*n)++;
	return (0);
}

Test(storage, walk_order_and_stop)
{
	static const char	*ids[] = { "m", "b", "z", "a", "k", "c" };
	struct walk_log		 w;
	size_t			 i;
	int			 n = 0;

	open_store();
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		put_str(STORE_SANDBOX, "ns", ids[i], ids[i]);
	put_str(STORE_SANDBOX, "aa", "q", "q");
	put_str(STORE_SANDBOX, "zz", "p", "p");
	cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, "ns"),
	    "ns/a ns/b ns/c ns/k ns/m ns/z ");
	commit();
	cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, NULL),
	    "aa/q ns/a ns/b ns/c ns/k ns/m ns/z zz/p ");
	cr_assert_str_empty(walk_str(&w, STORE_SANDBOX, "missing"));

	/* A non-zero return stops the walk and is returned. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 3;
	cr_assert_eq(store_walk(STORE_SANDBOX, NULL, walk_log_cb, &w), 42);
	cr_assert_eq(w.calls, 3);
	cr_assert_str_eq(w.buf, "aa/q ns/a ns/b ");
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	cr_assert_eq(store_walk(STORE_SANDBOX, "ns", walk_log_cb, &w), 42);
	cr_assert_str_eq(w.buf, "ns/a ns/b ");

	/* The callback may read, both committed and pending records. */
	put_str(STORE_SANDBOX, "ns", "d", "d");
	cr_assert_eq(store_walk(STORE_SANDBOX, "ns", walk_get_cb, &n), 0);
	cr_assert_eq(n, 7);
}

/* Walk callback that breaks the rule: it writes. */
static int
walk_put_cb(const char *ns, const char *id, void *arg)
{
	(void)arg;
	store_put(STORE_SANDBOX, ns, id, "x", 1);
	return (0);
}

Test(storage, put_inside_walk_dies, .exit_code = 1)
{
	open_store();
	put_str(STORE_SANDBOX, "ns", "a", "a");
	store_walk(STORE_SANDBOX, "ns", walk_put_cb, NULL);
	cr_assert_fail("store_put inside a walk returned");
}

Test(storage, open_twice_dies, .exit_code = 1)
{
	char	*cause = NULL;

	open_store();
	store_open(statedir, &cause);
	cr_assert_fail("second store_open returned");
}

Test(storage, slash_in_id_dies, .exit_code = 1)
{
	open_store();
	put_str(STORE_SANDBOX, "ns", "a/b", "x");
	cr_assert_fail("store_put with a '/' in the id returned");
}

Test(storage, namespace_isolation)
{
	static const char	*nss[] = { "a", "a.b", "a-b", "default",
				    "default2", "defaul" };
	struct walk_log		 w;
	char			 v[64];
	size_t			 i, k;

	open_store();
	for (i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
		snprintf(v, sizeof(v), "value of %s", nss[i]);
		put_str(STORE_SANDBOX, nss[i], "x", v);
	}
	put_str(STORE_SANDBOX, "default2", "y", "y2");
	commit();

	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
			snprintf(v, sizeof(v), "value of %s", nss[i]);
			assert_str(STORE_SANDBOX, nss[i], "x", v);
		}
		cr_assert_eq(store_count(STORE_SANDBOX, "a"), 1);
		cr_assert_eq(store_count(STORE_SANDBOX, "default"), 1);
		cr_assert_eq(store_count(STORE_SANDBOX, "default2"), 2);
		cr_assert_eq(store_count(STORE_SANDBOX, NULL), 7);
		cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, "a"), "a/x ");
		cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, "default"),
		    "default/x ");
		cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, NULL),
		    "a/x a-b/x a.b/x defaul/x default/x default2/x "
		    "default2/y ");
		assert_absent(STORE_SANDBOX, "default", "y");
		reopen();	/* the index rebuilt from keys must agree */
	}

	store_del(STORE_SANDBOX, "a", "x");
	store_del(STORE_SANDBOX, "default", "x");
	commit();
	reopen();
	assert_absent(STORE_SANDBOX, "a", "x");
	assert_absent(STORE_SANDBOX, "default", "x");
	assert_str(STORE_SANDBOX, "a.b", "x", "value of a.b");
	assert_str(STORE_SANDBOX, "default2", "x", "value of default2");
	cr_assert_eq(store_count(STORE_SANDBOX, "a"), 0);
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 5);
}

Test(storage, kinds_are_independent)
{
	struct walk_log	w;

	open_store();
	put_str(STORE_SANDBOX, "ns", "id", "sandbox");
	put_str(STORE_INSTANCE, "ns", "id", "instance");
	put_str(STORE_INSTANCE, "ns", "only-in", "i");
	commit();
	assert_str(STORE_SANDBOX, "ns", "id", "sandbox");
	assert_str(STORE_INSTANCE, "ns", "id", "instance");
	assert_absent(STORE_SANDBOX, "ns", "only-in");
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 1);
	cr_assert_eq(store_count(STORE_INSTANCE, NULL), 2);

	store_del(STORE_SANDBOX, "ns", "id");
	commit();
	reopen();
	assert_absent(STORE_SANDBOX, "ns", "id");
	assert_str(STORE_INSTANCE, "ns", "id", "instance");
	cr_assert_str_empty(walk_str(&w, STORE_SANDBOX, NULL));
	cr_assert_str_eq(walk_str(&w, STORE_INSTANCE, NULL),
	    "ns/id ns/only-in ");
}

/* The state every rollback test starts from and must return to. */
static void
rollback_baseline(void)
{
	put_str(STORE_SANDBOX, "ns", "keep", "k1");
	put_str(STORE_SANDBOX, "ns", "mod", "m1");
	put_str(STORE_SANDBOX, "ns", "del", "d1");
	put_str(STORE_INSTANCE, "ns", "mod", "im1");
	commit();
}

/* Assert the baseline state. */
static void
assert_baseline(void)
{
	struct walk_log	w;

	assert_str(STORE_SANDBOX, "ns", "keep", "k1");
	assert_str(STORE_SANDBOX, "ns", "mod", "m1");
	assert_str(STORE_SANDBOX, "ns", "del", "d1");
	assert_str(STORE_INSTANCE, "ns", "mod", "im1");
	assert_absent(STORE_SANDBOX, "ns", "new");
	assert_absent(STORE_SANDBOX, "newns", "n");
	cr_assert_eq(store_count(STORE_SANDBOX, "ns"), 3);
	cr_assert_eq(store_count(STORE_SANDBOX, "newns"), 0);
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 3);
	cr_assert_eq(store_count(STORE_INSTANCE, NULL), 1);
	cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, NULL),
	    "ns/del ns/keep ns/mod ");
}

Test(storage, rollback_on_failed_commit)
{
	char	*cause = NULL;

	open_store();
	rollback_baseline();
	store_fail_commits_after(0);

	put_str(STORE_SANDBOX, "ns", "mod", "m2");
	put_str(STORE_SANDBOX, "ns", "new", "n");
	put_str(STORE_SANDBOX, "newns", "n", "n");
	store_del(STORE_SANDBOX, "ns", "del");
	put_str(STORE_SANDBOX, "ns", "tmp", "t");
	store_del(STORE_SANDBOX, "ns", "tmp");
	store_del(STORE_INSTANCE, "ns", "mod");
	put_str(STORE_INSTANCE, "ns", "mod", "im2");
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 4);

	cr_assert_eq(store_commit(&cause), -1);
	cr_assert_str_eq(cause, "injected commit failure");
	free(cause);
	cr_assert_not(store_pending());
	assert_baseline();

	/* Still failing while the hook is on. */
	put_str(STORE_SANDBOX, "ns", "new", "n");
	cause = NULL;
	cr_assert_eq(store_commit(&cause), -1);
	free(cause);
	assert_baseline();

	/* Nothing of the failed batches reached the disk. */
	store_fail_commits_after(-1);
	reopen();
	assert_baseline();

	/* Re-enabled: commits work again. */
	put_str(STORE_SANDBOX, "ns", "new", "n2");
	store_del(STORE_SANDBOX, "ns", "del");
	commit();
	reopen();
	assert_str(STORE_SANDBOX, "ns", "new", "n2");
	assert_absent(STORE_SANDBOX, "ns", "del");
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 3);
}

/*
 * Commits off the loop: while one batch is with the commit thread, the
 * next one takes writes; reads see the newest of the two, then LevelDB.
 */
Test(storage, two_batches_read_newest_first)
{
	char		*cause = NULL;
	uint64_t	 seq;
	struct walk_log	 w;

	open_store();
	rollback_baseline();
	store_delay_commits(100);
	put_str(STORE_SANDBOX, "ns", "mod", "m2");
	put_str(STORE_SANDBOX, "ns", "new", "n1");
	store_del(STORE_SANDBOX, "ns", "del");
	seq = store_seq_needed();
	cr_assert_eq(store_commit_begin(), seq);
	cr_assert(store_commit_busy());
	cr_assert_eq(store_seq_needed(), seq, "an empty open batch waits for "
	    "the one in flight");
	cr_assert_eq(store_commit_begin(), 0, "two batches in flight");

	/* The open batch over the one in flight. */
	assert_str(STORE_SANDBOX, "ns", "mod", "m2");
	put_str(STORE_SANDBOX, "ns", "new", "n2");
	put_str(STORE_SANDBOX, "ns", "del", "d2");
	store_del(STORE_SANDBOX, "ns", "keep");
	cr_assert_eq(store_seq_needed(), seq + 1);
	assert_str(STORE_SANDBOX, "ns", "new", "n2");
	assert_str(STORE_SANDBOX, "ns", "del", "d2");
	assert_absent(STORE_SANDBOX, "ns", "keep");
	cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, NULL),
	    "ns/del ns/mod ns/new ");

	cr_assert_eq(store_commit_end(true, &cause), 0);
	cr_assert_eq(store_seq_settled(), seq);
	cr_assert(store_pending());
	cr_assert_not(store_commit_busy());
	assert_str(STORE_SANDBOX, "ns", "new", "n2");
	assert_str(STORE_SANDBOX, "ns", "del", "d2");
	assert_absent(STORE_SANDBOX, "ns", "keep");
	cr_assert_eq(store_count(STORE_SANDBOX, "ns"), 3);

	commit();
	cr_assert_eq(store_seq_settled(), seq + 1);
	reopen();
	assert_str(STORE_SANDBOX, "ns", "mod", "m2");
	assert_str(STORE_SANDBOX, "ns", "new", "n2");
	assert_str(STORE_SANDBOX, "ns", "del", "d2");
	assert_absent(STORE_SANDBOX, "ns", "keep");
}

/* Only the batch in flight written, the open one dropped at close. */
Test(storage, batch_in_flight_alone_reaches_the_disk)
{
	char	*cause = NULL;

	open_store();
	rollback_baseline();
	put_str(STORE_SANDBOX, "ns", "new", "n1");
	cr_assert_neq(store_commit_begin(), 0);
	store_del(STORE_SANDBOX, "ns", "new");
	assert_absent(STORE_SANDBOX, "ns", "new");
	cr_assert_eq(store_commit_end(true, &cause), 0);
	assert_absent(STORE_SANDBOX, "ns", "new");
	cr_assert_eq(store_count(STORE_SANDBOX, "ns"), 3);
	reopen();
	assert_str(STORE_SANDBOX, "ns", "new", "n1");
	cr_assert_eq(store_count(STORE_SANDBOX, "ns"), 4);
}

/* A failed write rolls back both batches to the last commit. */
Test(storage, failed_write_rolls_back_both_batches)
{
	char	*cause = NULL;

	open_store();
	rollback_baseline();
	store_fail_commits_after(0);
	put_str(STORE_SANDBOX, "ns", "mod", "m2");
	put_str(STORE_SANDBOX, "newns", "n", "n");
	store_del(STORE_SANDBOX, "ns", "del");
	cr_assert_neq(store_commit_begin(), 0);
	put_str(STORE_SANDBOX, "ns", "new", "n");
	put_str(STORE_SANDBOX, "ns", "del", "d2");
	store_del(STORE_SANDBOX, "newns", "n");
	store_del(STORE_INSTANCE, "ns", "mod");
	cr_assert_eq(store_commit_end(true, &cause), -1);
	cr_assert_str_eq(cause, "injected commit failure");
	free(cause);
	cr_assert_not(store_pending());
	cr_assert_not(store_commit_busy());
	assert_baseline();
	store_fail_commits_after(-1);
	reopen();
	assert_baseline();
}

/* Not waiting: 1 while the thread writes, then the result. */
Test(storage, commit_end_without_waiting)
{
	char	*cause = NULL;
	int	 rc, i;

	open_store();
	store_delay_commits(200);
	put_str(STORE_SANDBOX, "ns", "a", "a");
	cr_assert_neq(store_commit_begin(), 0);
	cr_assert_eq(store_commit_end(false, &cause), 1);
	for (i = 0; i < 100 && (rc = store_commit_end(false, &cause)) == 1; i++)
		usleep(10000);
	cr_assert_eq(rc, 0);
	cr_assert_not(store_pending());
	cr_assert_eq(store_commit_end(false, &cause), 0);
}

Test(storage, fail_commits_after_n)
{
	char	*cause = NULL;

	open_store();
	store_fail_commits_after(2);
	put_str(STORE_SANDBOX, "ns", "one", "1");
	commit();
	commit();	/* nothing pending: not counted */
	put_str(STORE_SANDBOX, "ns", "two", "2");
	commit();
	put_str(STORE_SANDBOX, "ns", "three", "3");
	cr_assert_eq(store_commit(&cause), -1);
	cr_assert_str_eq(cause, "injected commit failure");
	free(cause);
	assert_absent(STORE_SANDBOX, "ns", "three");
	cr_assert_eq(store_count(STORE_SANDBOX, "ns"), 2);
	reopen();
	assert_str(STORE_SANDBOX, "ns", "one", "1");
	assert_str(STORE_SANDBOX, "ns", "two", "2");
	assert_absent(STORE_SANDBOX, "ns", "three");
}

Test(storage, dir_created_0700)
{
	struct stat	sb;
	char		path[700];

	snprintf(statedir, sizeof(statedir), "%s/x/y/state", tmpdir);
	open_store();
	cr_assert_eq(stat(statedir, &sb), 0);
	cr_assert(S_ISDIR(sb.st_mode));
	cr_assert_eq(sb.st_mode & 07777, 0700, "mode %o", sb.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/x", tmpdir);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0700, "parent mode %o",
	    sb.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/leveldb/CURRENT", statedir);
	cr_assert_eq(access(path, F_OK), 0, "no %s", path);
}

Test(storage, open_failure_then_retry)
{
	char	*cause = NULL;
	char	 file[600];
	FILE	*f;

	snprintf(file, sizeof(file), "%s/file", tmpdir);
	cr_assert_not_null(f = fopen(file, "w"));
	fclose(f);
	cr_assert_eq(store_open(file, &cause), -1);
	cr_assert_not_null(cause);
	free(cause);
	cause = NULL;
	snprintf(statedir, sizeof(statedir), "%s/file/below", tmpdir);
	cr_assert_eq(store_open(statedir, &cause), -1);
	cr_assert_not_null(cause);
	free(cause);

	snprintf(statedir, sizeof(statedir), "%s/state", tmpdir);
	open_store();
	put_str(STORE_SANDBOX, "ns", "a", "a");
	commit();
	assert_str(STORE_SANDBOX, "ns", "a", "a");
}

Test(storage, bad_keys_skipped)
{
	static const char *const bad[] = {
		"garbage", "sb/", "sb/noid", "sb//x", "sb/ns/", "sb/ns/a/b",
		"xx/ns/id", "in/ns", "SB/ns/id",
	};
	leveldb_options_t	*opts;
	leveldb_writeoptions_t	*wo;
	leveldb_t		*db;
	char			 path[600], *err = NULL;
	size_t			 i;
	struct walk_log		 w;

	cr_assert_eq(mkdir(statedir, 0700), 0);
	snprintf(path, sizeof(path), "%s/leveldb", statedir);
	opts = leveldb_options_create();
	leveldb_options_set_create_if_missing(opts, 1);
	db = leveldb_open(opts, path, &err);
	cr_assert_null(err, "leveldb_open: %s", err);
	wo = leveldb_writeoptions_create();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		leveldb_put(db, wo, bad[i], strlen(bad[i]), "v", 1, &err);
		cr_assert_null(err);
	}
	leveldb_put(db, wo, "sb/n\0s/x", 8, "v", 1, &err);	/* a NUL */
	cr_assert_null(err);
	leveldb_put(db, wo, "sb/ns/\xff", 7, "v", 1, &err);
	cr_assert_null(err);
	leveldb_put(db, wo, "sb/ns/ok", 8, "good", 4, &err);
	cr_assert_null(err);
	leveldb_put(db, wo, "in/ns/i1", 8, "inst", 4, &err);
	cr_assert_null(err);
	leveldb_close(db);
	leveldb_writeoptions_destroy(wo);
	leveldb_options_destroy(opts);

	open_store();
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 2);	/* ok, \xff */
	cr_assert_eq(store_count(STORE_INSTANCE, NULL), 1);
	cr_assert_str_eq(walk_str(&w, STORE_SANDBOX, NULL),
	    "ns/ok ns/\xff ");
	assert_str(STORE_SANDBOX, "ns", "ok", "good");
	assert_str(STORE_INSTANCE, "ns", "i1", "inst");
	assert_absent(STORE_SANDBOX, "ns", "a");
	cr_assert_eq(store_count(STORE_SANDBOX, "noid"), 0);

	/* The store still works next to the bad keys. */
	put_str(STORE_SANDBOX, "ns", "more", "m");
	commit();
	reopen();
	cr_assert_eq(store_count(STORE_SANDBOX, NULL), 3);
}

Test(storage, binary_values)
{
	unsigned char	bin[300];
	size_t		i;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 37);	/* NULs included */
	bin[0] = bin[1] = 0;
	open_store();
	store_put(STORE_INSTANCE, "ns", "bin", bin, sizeof(bin));
	store_put(STORE_INSTANCE, "ns", "empty", "", 0);
	assert_value(STORE_INSTANCE, "ns", "bin", bin, sizeof(bin));
	assert_value(STORE_INSTANCE, "ns", "empty", "", 0);
	commit();
	assert_value(STORE_INSTANCE, "ns", "bin", bin, sizeof(bin));
	assert_value(STORE_INSTANCE, "ns", "empty", "", 0);
	reopen();
	assert_value(STORE_INSTANCE, "ns", "bin", bin, sizeof(bin));
	assert_value(STORE_INSTANCE, "ns", "empty", "", 0);
	cr_assert(store_exists(STORE_INSTANCE, "ns", "empty"));
}

Test(storage, empty_commit_writes_nothing)
{
	char	*cause = NULL;
	off_t	 before;

	open_store();
	cr_assert_not(store_pending());
	before = wal_bytes();
	cr_assert_eq(store_commit(&cause), 0);
	store_del(STORE_SANDBOX, "ns", "absent");
	cr_assert_not(store_pending());
	cr_assert_eq(store_commit(&cause), 0);
	cr_assert_eq(wal_bytes(), before);

	/* Even an armed failure hook is not reached. */
	store_fail_commits_after(0);
	cr_assert_eq(store_commit(&cause), 0);
	cr_assert_null(cause);
	store_fail_commits_after(-1);

	/* The probe can see a write: a real commit grows the log. */
	put_str(STORE_SANDBOX, "ns", "a", "a");
	cr_assert(store_pending());
	commit();
	cr_assert_gt(wal_bytes(), before);
}
