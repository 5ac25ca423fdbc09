/*
 * storage_test.h: storage's test hooks, for tests and for the daemon's
 * SANDBOXD_TEST_HOOKS builds only (see storage.h for the rest).
 *
 * store_fail_commits_after
 *		n < 0 (the default): off.  n >= 0: the next n commits that
 *		have something to write behave normally; every one after
 *		that fails without writing, through the same rollback as a
 *		real failure, with cause "injected commit failure".  Commits
 *		with nothing pending are not counted.
 */
#ifndef SANDBOXD_STORAGE_TEST_H
#define SANDBOXD_STORAGE_TEST_H

/* storage.c */
void	 store_fail_commits_after(long);

#endif /* SANDBOXD_STORAGE_TEST_H */
