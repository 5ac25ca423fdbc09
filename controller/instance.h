/*
 * instance.h: the in-memory side of a sandbox instance and its LevelDB
 * record (private to the controller: inst.c keeps the table and the
 * records, create.c makes instances, lifecycle.c and answer.c run and
 * answer them, recover.c restores them, ctrl_info.c reports on them).
 */
#ifndef SANDBOXD_INSTANCE_H
#define SANDBOXD_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "controller.h"
#include "queue.h"
#include "tree.h"
#include "waiter.h"

struct netns_req;
struct proc;

/*
 * One sandbox instance.  Kept small: thousands live in one daemon, and the
 * metadata copy and the spec stay in LevelDB until Start needs them.
 */
struct instance {
	RB_ENTRY(instance)	 entry;
	struct waiter_list	 waiters;	/* deferred Create, Start, Wait,
						   Stop, Shutdown */
	struct proc		*proc;		/* NULL unless running/stopping */
	struct netns_req	*netns_req;	/* netns being made or removed */
	char			*ns;
	char			*netns_path;	/* NULL: none */
	char			*owner_bundle;	/* containerd's bundle (shim API), or
						   NULL: see ctrl_sweep_orphans */
	uint64_t		 start_time;	/* /proc/<pid>/stat field 22 */
	int64_t			 stop_deadline;	/* unix s: SIGKILL due (stopping) */
	gp_Timestamp		 created_at;
	gp_Timestamp		 started_at;
	gp_Timestamp		 exited_at;
	uint32_t		 pid;
	uint8_t			 state;		/* enum sb_state */
	uint8_t			 exit_status;
	bool			 netns_owned;
	bool			 adopted;	/* re-adopted after a restart */
	bool			 shutting_down;
	bool			 creating;	/* netns being made: no record yet */
	bool			 swept;		/* shut down by the orphan sweep */
	char			 id[];
};

/* inst.c */
struct instance	*inst_find(const char *, const char *);
struct instance	*inst_get_or_fail(struct call *, const char *);
struct instance	*inst_insert(const char *, const char *);
void		 inst_remove(struct instance *);
void		 inst_foreach(void (*)(struct instance *, void *), void *);
const char	*inst_state_name(const struct instance *);
char		*inst_bundle_dir(const struct instance *);
void		 inst_bundle_remove(const struct instance *);
char		*inst_log_path(const struct instance *);
struct instance	*inst_find_netns_owner(const char *);
int		 inst_load(const char *, const char *, struct inst_record **,
		    char **);
int		 inst_decode(void *, size_t, struct inst_record **, char **);
int		 inst_encode(const struct instance *, const ct_Sandbox *,
		    struct pb_view, uint8_t **, size_t *, char **);
int		 inst_put(struct instance *, const ct_Sandbox *, struct pb_view,
		    char **);
int		 inst_save(struct instance *, const ct_Sandbox *, char **);
void		 inst_save_or_log(struct instance *, const char *);
bool		 inst_save_or_fail(struct call *, struct instance *,
		    const ct_Sandbox *);
bool		 inst_save_new_or_fail(struct call *, struct instance *,
		    const ct_Sandbox *, struct pb_view);

/* create.c */
void		 create_op_free(void *);

/* lifecycle.c */
void		 inst_exit_cb(struct proc *, int, const struct timespec *,
		    void *);
void		 inst_teardown(struct instance *);
void		 inst_shutdown(struct instance *);
void		 inst_start_queued(struct instance *);

/* orphans.c */
void		 orphans_sweep(void);
void		 orphans_note_gone(const struct instance *);
bool		 orphans_swept(const char *, const char *, uint32_t *,
		    gp_Timestamp *);

/* answer.c */
void		 inst_answer_create(struct instance *, const char *);
void		 inst_answer_start(struct instance *, const char *);
void		 inst_answer_all(struct instance *);

#endif /* SANDBOXD_INSTANCE_H */
