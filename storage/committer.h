/*
 * committer.h: the commit thread, private to storage (see committer.c).
 *
 * committer_start	make the eventfd and the thread (once; later calls
 *			do nothing).  0, or -1 with *cause.
 * committer_stop	end the thread (after the write in flight, if any)
 *			and close the eventfd.
 * committer_fd		the eventfd: readable once a write is over, until
 *			committer_collect takes the result.  -1 if stopped.
 * committer_submit	hand one synced write of wb to the thread; nothing
 *			may be in flight.  inject: fail it without writing
 *			(test hook); delay_ms: sleep first (test hook).
 * committer_collect	the write's result: 1 if not over and !wait; else
 *			0, with *err LevelDB's error (leveldb_free it) or
 *			NULL, *injected, and in *ms how long the write took.
 */
#ifndef SANDBOXD_COMMITTER_H
#define SANDBOXD_COMMITTER_H

#include <stdbool.h>

#include <leveldb/c.h>

/* committer.c */
int	 committer_start(char **);
void	 committer_stop(void);
int	 committer_fd(void);
void	 committer_submit(leveldb_t *, const leveldb_writeoptions_t *,
	    leveldb_writebatch_t *, bool, unsigned int);
int	 committer_collect(bool, char **, bool *, double *);

#endif /* SANDBOXD_COMMITTER_H */
