/*
 * committer.c: the commit thread, which does the store's synced writes
 * so that the loop never waits for an fsync.
 *
 * One thread, one write at a time.  The loop (storage.c) submits a write
 * batch, goes on serving, and learns that the write is over from an
 * eventfd it watches; it then collects the result and settles the batch.
 * Why a thread of its own and not LevelDB's: LevelDB writes on the
 * caller's thread, and a thread that waits is what keeps the loop from
 * waiting.
 *
 * What the thread touches, and nothing else: the job below (under
 * cm_lock), the LevelDB handle and write options (immutable while the
 * store is open; LevelDB's own locking covers a write against the loop's
 * reads), the submitted leveldb_writebatch_t (the loop leaves it alone
 * from submit to collect), and the eventfd.  It allocates nothing itself
 * and never logs: LevelDB's error string (LevelDB allocates it) is handed
 * back as it is.  All signals are blocked in it, so every signal reaches
 * the loop's thread.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "committer.h"
#include "log.h"
#include "xmalloc.h"

/* The one write: set by the loop at submit, answered by the thread. */
struct committer_job {
	leveldb_t			*db;
	const leveldb_writeoptions_t	*wo;
	leveldb_writebatch_t		*wb;
	unsigned int			 delay_ms;
	bool				 inject;
	bool				 submitted;	/* the thread's to do */
	bool				 done;		/* the loop's to collect */
	char				*err;		/* LevelDB's */
	double				 ms;		/* how long the write took */
};

static pthread_mutex_t		cm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		cm_cond = PTHREAD_COND_INITIALIZER;
static struct committer_job	cm_job;
static bool			cm_stopping;
static bool			cm_running;
static pthread_t		cm_thread;
static int			cm_efd = -1;

/* The test hook's pause before a write. */
static void
committer_sleep(unsigned int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/* Do one job outside the lock; the result goes back under it. */
static void
committer_run(struct committer_job *job)
{
	struct timespec	 t0, t1;
	uint64_t	 one = 1;
	char		*err = NULL;

	if (job->delay_ms > 0)
		committer_sleep(job->delay_ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!job->inject)
		leveldb_write(job->db, job->wo, job->wb, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_mutex_lock(&cm_lock);
	cm_job.err = err;
	cm_job.ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cm_job.submitted = false;
	cm_job.done = true;
	/* Under the lock, as the drain in committer_collect: the eventfd
	 * is readable exactly while a result waits to be collected. */
	while (write(cm_efd, &one, sizeof(one)) == -1 && errno == EINTR)
		continue;
	pthread_cond_broadcast(&cm_cond);
	pthread_mutex_unlock(&cm_lock);
}

/* The thread: wait for a job, write, tell the loop; until stopped. */
static void *
committer_main(void *arg)
{
	struct committer_job	job;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&cm_lock);
		while (!cm_job.submitted && !cm_stopping)
			pthread_cond_wait(&cm_cond, &cm_lock);
		if (!cm_job.submitted) {
			pthread_mutex_unlock(&cm_lock);
			return (NULL);
		}
		job = cm_job;
		pthread_mutex_unlock(&cm_lock);
		committer_run(&job);
	}
}

/* Make the eventfd and start the thread with every signal blocked. */
int
committer_start(char **cause)
{
	sigset_t	all, old;
	int		error;

	if (cm_running)
		return (0);
	if ((cm_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		xasprintf(cause, "eventfd: %s", strerror(errno));
		return (-1);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	cm_stopping = false;
	error = pthread_create(&cm_thread, NULL, committer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		xasprintf(cause, "commit thread: %s", strerror(error));
		close(cm_efd);
		cm_efd = -1;
		return (-1);
	}
	cm_running = true;
	return (0);
}

/* Stop the thread once it is idle, and close the eventfd. */
void
committer_stop(void)
{
	if (!cm_running)
		return;
	pthread_mutex_lock(&cm_lock);
	cm_stopping = true;
	pthread_cond_broadcast(&cm_cond);
	pthread_mutex_unlock(&cm_lock);
	pthread_join(cm_thread, NULL);
	if (cm_job.err != NULL)
		leveldb_free(cm_job.err);
	memset(&cm_job, 0, sizeof(cm_job));
	close(cm_efd);
	cm_efd = -1;
	cm_running = false;
}

/* Readable once a write is over (see committer.h). */
int
committer_fd(void)
{
	return (cm_efd);
}

/* Give the thread one batch to write with the (synced) write options. */
void
committer_submit(leveldb_t *db, const leveldb_writeoptions_t *wo,
    leveldb_writebatch_t *wb, bool inject, unsigned int delay_ms)
{
	if (!cm_running)
		fatalx("%s: the commit thread is not running", __func__);
	pthread_mutex_lock(&cm_lock);
	if (cm_job.submitted || cm_job.done)
		fatalx("%s: a commit is already in flight", __func__);
	cm_job.db = db;
	cm_job.wo = wo;
	cm_job.wb = wb;
	cm_job.inject = inject;
	cm_job.delay_ms = delay_ms;
	cm_job.err = NULL;
	cm_job.submitted = true;
	pthread_cond_broadcast(&cm_cond);
	pthread_mutex_unlock(&cm_lock);
}

/* Empty the eventfd (nonblocking: it may already be empty). */
static void
committer_drain(void)
{
	uint64_t	n;

	while (read(cm_efd, &n, sizeof(n)) == -1 && errno == EINTR)
		continue;
}

/* Take the result of the write, waiting for it if asked (committer.h). */
int
committer_collect(bool wait, char **err, bool *injected, double *ms)
{
	pthread_mutex_lock(&cm_lock);
	if (!cm_job.submitted && !cm_job.done)
		fatalx("%s: no commit in flight", __func__);
	while (wait && !cm_job.done)
		pthread_cond_wait(&cm_cond, &cm_lock);
	if (!cm_job.done) {
		pthread_mutex_unlock(&cm_lock);
		return (1);
	}
	*err = cm_job.err;
	*injected = cm_job.inject;
	*ms = cm_job.ms;
	cm_job.err = NULL;
	cm_job.done = false;
	committer_drain();
	pthread_mutex_unlock(&cm_lock);
	return (0);
}
