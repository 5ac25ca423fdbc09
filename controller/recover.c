/*
 * recover.c: taking sandboxes back after a daemon restart (spec section 8).
 *
 * Each recorded instance that was running is re-adopted if its pid still
 * names the same process (same start time); otherwise it exited while the
 * daemon was down: stopped, exited_at = now, with the status the kernel
 * kept if the keeper held a pidfd of it through the crash
 * (proc_stash_exited), else 255.  A record that
 * cannot be read is set aside in state unknown, never fatal: one bad
 * record must not keep a node from starting.
 *
 * The daemon listens only after this, so its cost per sandbox is the
 * restart's: one pass over the records, each decoded only as far as
 * sandboxd.v1.InstanceHead (no sandbox copy, no allocation), adopted in
 * the pass, and written back only if its process is gone.
 *
 * Then the daemon's netns directory is swept: a namespace file no
 * instance owns was made by a Create whose commit never landed (the
 * daemon was killed between the two), and nobody else will remove it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "instance.h"
#include "log.h"
#include "pbutil.h"
#include "procmgr.h"
#include "sandboxd/v1/instance_head.pb.h"
#include "storage.h"
#include "xmalloc.h"

/* What one recovery counted, for its one summary line. */
struct recover_counts {
	size_t	records;
	size_t	readopted;
	size_t	gone;
	size_t	gone_known;	/* of those, with their real status */
	size_t	set_aside;
};

/* A record to write once the scan is over: its instance and stored bytes. */
struct recover_rec {
	struct instance	*inst;
	void		*buf;
	size_t		 len;
};

/*
 * One pass over the records.  Writes are not allowed while store_scan
 * runs, so the instances whose state changed (their process is gone) are
 * kept here with their bytes and saved after it; the others, nearly all
 * of them, cost no copy and no write.
 */
struct recover_pass {
	struct recover_counts	 counts;
	struct recover_rec	*save;
	size_t			 nsave, cap;
	sv_InstanceHead		 head;		/* each record decoded into it */
};

/* Copy the persistent fields of a record's head into a fresh instance. */
static void
restore_fields(struct instance *inst, const sv_InstanceHead *rec)
{
	inst->state = (uint8_t)rec->state;
	inst->pid = rec->pid;
	inst->start_time = rec->start_time;
	inst->exit_status = (uint8_t)rec->exit_status;
	inst->created_at = rec->created_at;
	inst->started_at = rec->started_at;
	inst->exited_at = rec->exited_at;
	inst->adopted = rec->adopted;
	inst->stop_deadline = rec->stop_deadline;
	inst->netns_owned = rec->netns_owned;
	if (*rec->netns_path != '\0')
		inst->netns_path = xstrdup(rec->netns_path);
	if (*rec->owner_bundle != '\0')
		inst->owner_bundle = xstrdup(rec->owner_bundle);
}

/* A Stop was under way: SIGKILL when its deadline comes (or now). */
static void
resume_stop(struct instance *inst)
{
	time_t	now = time(NULL);

	proc_stop(inst->proc, inst->stop_deadline > now ?
	    (unsigned int)(inst->stop_deadline - now) : 0);
}

/* The process exited while the daemon was down: stopped, with status. */
static void
record_gone(struct instance *inst, struct recover_counts *rc, int status,
    const char *why)
{
	inst->state = SB_STATE_STOPPED;
	inst->exit_status = (uint8_t)status;
	ts_now(&inst->exited_at);
	rc->gone++;
	if (status != PROC_STATUS_UNKNOWN)
		rc->gone_known++;
	log_debug("sandbox %s/%s: pid %u exited while sandboxd was down (%s); "
	    "status %d", inst->ns, inst->id, inst->pid, why, status);
}

/*
 * A process that was running: adopt it, or note that it is gone; whether
 * the record must be written.  A re-adopted one is not written: its
 * record says running, pid and start time, which stay true, and
 * `adopted` lives in memory until the exit writes the whole record (a
 * later recovery sets it again from the same facts).  Per sandbox only at
 * debug level: with thousands of sandboxes, a line each would cost more
 * than the re-adoption itself; ctrl_recover logs the totals.
 */
static bool
readopt(struct instance *inst, struct recover_counts *rc)
{
	char	*cause = NULL, *log_path;
	int	 status;

	switch (proc_stash_exited((pid_t)inst->pid, inst->start_time,
	    &status)) {
	case 0:
		record_gone(inst, rc, status, "its status kept by the keeper");
		return (true);
	case 1:
		record_gone(inst, rc, status, "the kernel kept no status");
		return (true);
	}
	inst->proc = proc_adopt((pid_t)inst->pid, inst->start_time, inst_exit_cb,
	    inst, &cause);
	if (inst->proc != NULL) {
		inst->adopted = true;
		rc->readopted++;
		log_debug("sandbox %s/%s: re-adopted pid %u", inst->ns, inst->id,
		    inst->pid);
		log_path = inst_log_path(inst);
		proc_log_later(inst->proc, log_path);
		free(log_path);
		if (inst->state == SB_STATE_STOPPING)
			resume_stop(inst);
		return (false);
	}
	record_gone(inst, rc, PROC_STATUS_UNKNOWN, cause);
	free(cause);
	return (true);
}

/* Keep an instance's record bytes to save it after the scan. */
static void
keep_for_save(struct recover_pass *p, struct instance *inst, const void *val,
    size_t len)
{
	struct recover_rec	*r;

	if (p->nsave == p->cap) {
		p->cap = p->cap != 0 ? p->cap * 2 : 64;
		p->save = xreallocarray(p->save, p->cap, sizeof(*p->save));
	}
	r = &p->save[p->nsave++];
	r->inst = inst;
	r->buf = xmemdup(val, len);
	r->len = len;
}

/*
 * store_scan callback: recover one record.  Only its head is decoded
 * (into the pass's one struct, no allocation); the whole record is decoded
 * only for the few that are written back.
 */
static int
recover_cb(const char *ns, const char *id, const void *val, size_t len,
    void *arg)
{
	struct recover_pass	*p = arg;
	struct instance		*inst;
	char			*cause = NULL;

	p->counts.records++;
	inst = inst_insert(ns, id);
	if (!msg_decode(sv_InstanceHead_fields, &p->head, val, len, &cause) ||
	    p->head.state < SB_STATE_CREATED ||
	    p->head.state > SB_STATE_STOPPED) {
		log_warnx("sandbox %s/%s: unreadable record set aside (%s); "
		    "Status reports it unknown, Shutdown removes it", ns, id,
		    cause != NULL ? cause : "bad state");
		inst->state = SB_STATE_UNKNOWN;
		p->counts.set_aside++;
		free(cause);
		return (0);
	}
	restore_fields(inst, &p->head);
	if ((inst->state == SB_STATE_RUNNING || inst->state ==
	    SB_STATE_STOPPING) && readopt(inst, &p->counts))
		keep_for_save(p, inst, val, len);
	return (0);
}

/*
 * Queue the recovered state of an instance whose process is gone: the
 * stored record decoded whole (its sandbox copy and pod config are kept)
 * and encoded again with the new state.
 */
static void
save_recovered(struct recover_rec *r)
{
	struct inst_record	*rec = NULL;
	struct instance		*inst = r->inst;
	char			*cause = NULL;

	if (inst_decode(r->buf, r->len, &rec, &cause) != 1 ||
	    inst_put(inst, &rec->inst->sandbox, rec->inst->pod_config,
	    &cause) == -1) {
		log_warnx("sandbox %s/%s: cannot save recovered state: %s",
		    inst->ns, inst->id, cause);
		free(cause);
	}
	inst_record_free(rec);	/* frees r->buf, which it took */
}

/* The netns paths instances hold, sorted, for the sweep. */
struct netns_set {
	char	**paths;
	size_t	  n, cap;
};

/*
 * An instance holds its netns path; one whose record was set aside might
 * own the file its name would have, so that one is kept too.
 */
static void
netns_set_add_cb(struct instance *inst, void *arg)
{
	struct netns_set	*set = arg;
	char			*path;

	if (inst->state == SB_STATE_UNKNOWN)
		xasprintf(&path, "%s/netns/%s-%s", ctrl_cfg.run_dir,
		    inst->ns, inst->id);
	else if (inst->netns_path != NULL)
		path = xstrdup(inst->netns_path);
	else
		return;
	if (set->n == set->cap) {
		set->cap = set->cap != 0 ? set->cap * 2 : 64;
		set->paths = xreallocarray(set->paths, set->cap,
		    sizeof(*set->paths));
	}
	set->paths[set->n++] = path;
}

/* qsort and bsearch order of the paths: strcmp. */
static int
path_cmp(const void *a, const void *b)
{
	return (strcmp(*(char * const *)a, *(char * const *)b));
}

/* Remove the files in <run_dir>/netns that no instance holds. */
static void
sweep_netns(void)
{
	struct netns_set	 set = { 0 };
	struct dirent		*de;
	DIR			*d;
	char			*dir, *path, *cause = NULL;

	xasprintf(&dir, "%s/netns", ctrl_cfg.run_dir);
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			log_warn("recovery: %s", dir);
		free(dir);
		return;
	}
	inst_foreach(netns_set_add_cb, &set);
	if (set.n > 0)	/* qsort and bsearch take no NULL array */
		qsort(set.paths, set.n, sizeof(*set.paths), path_cmp);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (set.n == 0 || bsearch(&path, set.paths, set.n,
		    sizeof(*set.paths), path_cmp) == NULL) {
			log_info("recovery: removing network namespace %s, "
			    "which no sandbox owns", path);
			if (netns_remove(path, &cause) == -1) {
				log_warnx("recovery: %s", cause);
				free(cause);
				cause = NULL;
			}
		}
		free(path);
	}
	closedir(d);
	while (set.n > 0)
		free(set.paths[--set.n]);
	free(set.paths);
	free(dir);
}

/* Milliseconds since t0 (CLOCK_MONOTONIC). */
static double
ms_since(const struct timespec *t0)
{
	struct timespec	t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6);
}

/* Take back every recorded instance; one line says what became of them. */
void
ctrl_recover(void)
{
	struct recover_pass	p = { 0 };
	struct timespec		t0;
	char			*cause = NULL;
	size_t			i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (store_scan(STORE_INSTANCE, recover_cb, &p, &cause) != 0) {
		log_warnx("recovery: the instance records could not all be "
		    "read: %s", cause);
		free(cause);
	}
	for (i = 0; i < p.nsave; i++)
		save_recovered(&p.save[i]);
	free(p.save);
	if (p.counts.records > 0)
		log_info("recovery: %zu sandbox instance(s) restored in %.1f ms: "
		    "%zu re-adopted, %zu exited while sandboxd was down "
		    "(%zu with their status, the others 255), %zu set aside",
		    p.counts.records, ms_since(&t0), p.counts.readopted,
		    p.counts.gone, p.counts.gone_known, p.counts.set_aside);
	sweep_netns();
}
