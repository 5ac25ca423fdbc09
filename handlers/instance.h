/*
 * instance.h: the in-memory side of a sandbox instance and its LevelDB
 * record (internal to the controller: controller.c, recover.c, ctrl_info.c).
 */
#ifndef SANDBOXD_INSTANCE_H
#define SANDBOXD_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "controller.h"
#include "queue.h"
#include "tree.h"

struct netns_req;
struct proc;

/* A deferred Start, Wait, Stop or Shutdown on an instance. */
struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	struct call		*call;
	struct instance		*inst;
	enum waiter_kind	 kind;
};
TAILQ_HEAD(waiter_list, waiter);

/*
 * One sandbox instance.  Kept small: thousands live in one daemon, and the
 * metadata copy and the spec stay in LevelDB until Start needs them.
 */
struct instance {
	RB_ENTRY(instance)	 entry;
	struct waiter_list	 waiters;
	struct proc		*proc;		/* NULL unless running/stopping */
	struct netns_req	*netns_req;	/* netns being made or removed */
	char			*ns;
	char			*netns_path;	/* NULL: none */
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
	char			 id[];
};

/* controller.c */
struct instance	*inst_find(const char *, const char *);
struct instance	*inst_lookup(struct call *, const char *);
struct instance	*inst_insert(const char *, const char *);
void		 inst_remove(struct instance *);
int		 inst_save(struct instance *, const ct_Sandbox *, char **);
void		 inst_save_or_log(struct instance *, const char *);
int		 inst_load(const char *, const char *, struct inst_record **,
		    char **);
void		 inst_exit_cb(struct proc *, int, const struct timespec *,
		    void *);
char		*inst_bundle_dir(const struct instance *);
const char	*inst_state_name(const struct instance *);
void		 inst_foreach(void (*)(struct instance *, void *), void *);

/* waiter.c */
enum handler_result waiter_add(struct call *, struct instance *,
		    enum waiter_kind);
bool		 waiters_have_start(const struct instance *);
void		 waiters_release_create(struct instance *, const char *);
void		 waiters_release_start(struct instance *, const char *);
void		 waiters_release(struct instance *);
void		 waiters_forget(struct instance *);

#endif /* SANDBOXD_INSTANCE_H */
