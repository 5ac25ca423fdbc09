/*
 * storage_test.h: storage's test hooks, for tests and for the daemon's
 * SANDBOXD_TEST_HOOKS builds only (see storage.h for the rest).
 *
 * store_fail_commits_after
 *		n < 0 (the default): off.  n >= 0: the next n commits that
 *		have something to write behave normally; every one after
 *		that fails without writing, through the same rollback as a
 *		real failure, with cause "injected commit failure".  Commits
 *		with nothing pending are not counted.  The decision is
 *		taken when the batch is handed to the commit thread, the
 *		failure reported when it is collected.
 * store_delay_commits
 *		the commit thread sleeps ms before each write (0: off), so
 *		tests can see what waits for a commit and what does not.
 */
#ifndef SANDBOXD_STORAGE_TEST_H
#define SANDBOXD_STORAGE_TEST_H

/* storage.c */
void	 store_fail_commits_after(long);
void	 store_delay_commits(unsigned int);

#endif /* SANDBOXD_STORAGE_TEST_H */
