/*
 * controller.h: the controller module's public header: sandbox instances
 * and their lifecycle (spec section 5), shared by the Controller service
 * (handlers/h_ctrl.c) and the shim Sandbox service (handlers/h_shim.c),
 * which only translate messages; and the sandbox metadata records the
 * Store service keeps (record.c), which the controller reads too.
 *
 *	created --Start--> running --Stop--> stopping --exit--> stopped
 *	   any --Shutdown--> (forgotten)
 *
 * An instance lives in memory (a red-black tree by namespace and id) and,
 * for restarts, in LevelDB as a sandboxd.v1.Instance record that also holds
 * the controller's copy of the sandbox metadata.  Every state change is
 * written through the iteration's batch before the reply that reports it.
 */
#ifndef SANDBOXD_CONTROLLER_H
#define SANDBOXD_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "containerd/task/v2/shim.pb.h"
#include "containerd/types/sandbox.pb.h"
#include "sandboxd/v1/sandboxd.pb.h"

enum sb_state {
	SB_STATE_CREATED = 1,
	SB_STATE_RUNNING = 2,
	SB_STATE_STOPPING = 3,
	SB_STATE_STOPPED = 4,
	SB_STATE_UNKNOWN = 5,	/* record unreadable at recovery: set aside */
};

/* Settings the controller takes from the daemon's configuration. */
struct ctrl_config {
	const char	*state_dir;		/* sandbox logs live here */
	const char	*run_dir;		/* netns files and bundles */
	const char	*default_runtime;	/* for an empty runtime name */
	unsigned int	 max_sandboxes_per_namespace;
};
extern struct ctrl_config ctrl_cfg;

/*
 * What a deferred call is answered with, once the event it waits for
 * comes.  Which fields mean something depends on the call: id (Create),
 * pid, created_at and sandbox (Start: the controller's copy of the
 * metadata), exit_status and exited_at (Wait).  Stop and Shutdown answer
 * an empty message.
 */
struct ctrl_answer {
	const char		*id;
	uint32_t		 pid;
	gp_Timestamp		 created_at;
	const ct_Sandbox	*sandbox;
	uint32_t		 exit_status;
	gp_Timestamp		 exited_at;
};

/*
 * Build and send (call_finish) a deferred call's answer: each service
 * passes its own, since the two services answer with different messages.
 */
typedef void (*ctrl_answer_fn)(struct call *, const struct ctrl_answer *);

/*
 * What a Create asks beyond the sandbox id.  sandbox: the metadata (NULL:
 * the store's record, or for the shim API the bundle's config.json);
 * netns_path: one to join (NULL or empty: the controller decides);
 * options: the request's options (a CRI PodSandboxConfig, or none);
 * bundle: containerd's bundle directory (shim API only, else NULL).
 */
struct ctrl_create_req {
	ct_Sandbox	*sandbox;
	const char	*netns_path;
	const gp_Any	*options;
	const char	*bundle;
};

/* An instance record read back from LevelDB (views point into buf). */
struct inst_record {
	sv_Instance	*inst;
	void		*buf;
};

/* What Status reports; info (verbose only) points to call memory. */
#define CTRL_INFO_MAX	24
struct ctrl_status {
	const char	*state;		/* SANDBOX_READY, SANDBOX_NOTREADY, ... */
	uint32_t	 pid;
	gp_Timestamp	 created_at;
	bool		 exited;
	gp_Timestamp	 exited_at;
	size_t		 ninfo;
	struct {
		const char	*key;
		const char	*value;
	}		 info[CTRL_INFO_MAX];
};

/*
 * Fill a Status response of either service from st: the Controller's
 * ControllerStatusResponse and the shim's SandboxStatusResponse name these
 * fields alike (the shim's has no others), so one body serves both types.
 */
#define CTRL_STATUS_FILL(resp, id, st) do {				\
	size_t	i_;							\
									\
	snprintf((resp)->sandbox_id, sizeof((resp)->sandbox_id), "%s", (id)); \
	(resp)->pid = (st)->pid;					\
	snprintf((resp)->state, sizeof((resp)->state), "%s", (st)->state); \
	(resp)->has_created_at = true;					\
	(resp)->created_at = (st)->created_at;				\
	(resp)->has_exited_at = (st)->exited;				\
	(resp)->exited_at = (st)->exited_at;				\
	for (i_ = 0; i_ < (st)->ninfo; i_++) {				\
		(resp)->info[i_].key = (char *)(st)->info[i_].key;	\
		(resp)->info[i_].value = (char *)(st)->info[i_].value;	\
	}								\
	(resp)->info_count = (pb_size_t)(st)->ninfo;			\
} while (0)

/* One instance as ctrl_list_instances describes it (valid in the call). */
struct ctrl_instance_info {
	const char	*ns;
	const char	*id;
	const char	*state;		/* created, running, stopping, ... */
	uint32_t	 pid;
	const char	*runtime;	/* NULL: record unreadable */
	gp_Timestamp	 created_at;
	gp_Timestamp	 started_at;
	bool		 exited;
	gp_Timestamp	 exited_at;
	uint32_t	 exit_status;
	bool		 store_record;	/* the Store has metadata of the id */
	const char	*netns_path;	/* NULL: none */
	const char	*owner_bundle;	/* NULL: not made through the shim API */
};
typedef void (*ctrl_instance_fn)(const struct ctrl_instance_info *, void *);

/* A stored record, decoded; sb's views point into buf. */
struct record {
	ct_Sandbox	*sb;
	void		*buf;
	size_t		 len;
};

/* Room for one field path of an update request (see the .options). */
typedef char record_path[1024];

/* inst.c */
void		 ctrl_configure(const struct ctrl_config *);
bool		 ctrl_check_id(struct call *, const char *);
bool		 ctrl_instance_active(const char *, const char *);
void		 inst_record_free(void *);

/* create.c */
enum handler_result ctrl_create(struct call *, const char *,
		    const struct ctrl_create_req *, ctrl_answer_fn);
enum handler_result ctrl_create_from_bundle(struct call *, const char *,
		    const struct ctrl_create_req *, ctrl_answer_fn);

/* lifecycle.c */
enum handler_result ctrl_start(struct call *, const char *, ctrl_answer_fn);
enum handler_result ctrl_stop(struct call *, const char *, uint32_t,
		    ctrl_answer_fn);
enum handler_result ctrl_wait(struct call *, const char *, ctrl_answer_fn,
		    uint32_t *, gp_Timestamp *);
enum handler_result ctrl_shutdown(struct call *, const char *,
		    ctrl_answer_fn);
enum handler_result ctrl_update(struct call *, const char *, ct_Sandbox *,
		    const record_path *, size_t);
enum handler_result ctrl_ping(struct call *, const char *);
void		 ctrl_release_all(void);

/* ctrl_info.c */
enum handler_result ctrl_status(struct call *, const char *, bool,
		    struct ctrl_status *);
enum handler_result ctrl_metrics(struct call *, const char *, ct_Metric *);
enum handler_result ctrl_platform(struct call *, const char *, ct_Platform *);
void		 ctrl_list_instances(ctrl_instance_fn, void *);
enum handler_result ctrl_task_pid(struct call *, const char *, uint32_t *);

/* recover.c */
void		 ctrl_recover(void);

/* orphans.c */
struct event_base;
void		 ctrl_watch_orphans(struct event_base *);
void		 ctrl_unwatch_orphans(void);

/* record.c: sandbox metadata: validation, normalisation, the stored
 * encoding (an encoded containerd.types.Sandbox, so that Get and List
 * answer with the stored bytes as they are) and field-path updates. */
int		 record_validate(const ct_Sandbox *, char **);
void		 record_normalize(ct_Sandbox *);
uint8_t		*record_encode(const ct_Sandbox *, size_t *);
int		 record_decode(void *, size_t, struct record *, char **);
int		 record_load(const char *, const char *, struct record *,
		    char **);
void		 record_free(struct record *);
int		 record_merge(ct_Sandbox *, const ct_Sandbox *,
		    const ct_Sandbox *, const record_path *, size_t, char **);
const char	*record_label(const ct_Sandbox *, const char *);
const gp_Any	*record_extension(const ct_Sandbox *, const char *);
uint8_t		*record_wrap(const void *, size_t, uint32_t, size_t *);

/*
 * Containers (containerd.task.v2.Task) of the sandboxes sandboxd runs:
 * controller/task*.c.  Each call names a container by id and, for the
 * processes Exec adds, an exec id (empty: the container's init).  A
 * deferred call is answered through its ctrl_answer_fn with pid (Create,
 * Start), exit_status and exited_at (Wait, Delete).
 */
struct ctrl_task_state {
	const char	*bundle;
	const char	*stdin_path, *stdout_path, *stderr_path;
	uint32_t	 pid;
	uint32_t	 status;	/* containerd.v1.types.Status */
	uint32_t	 exit_status;
	gp_Timestamp	 exited_at;
	bool		 terminal;
	bool		 exited;
};

/* task_create.c */
enum handler_result ctrl_task_create(struct call *,
		    const ctv_CreateTaskRequest *, ctrl_answer_fn);
enum handler_result ctrl_task_start(struct call *, const char *,
		    const char *, ctrl_answer_fn);
enum handler_result ctrl_task_delete(struct call *, const char *,
		    const char *, ctrl_answer_fn, struct ctrl_answer *);

/* task_exec.c */
enum handler_result ctrl_task_exec(struct call *,
		    const ctv_ExecProcessRequest *);

/* task_ctl.c */
bool		 ctrl_task_exists(struct call *, const char *);
enum handler_result ctrl_task_state(struct call *, const char *,
		    const char *, struct ctrl_task_state *);
enum handler_result ctrl_task_wait(struct call *, const char *, const char *,
		    ctrl_answer_fn, struct ctrl_answer *);
enum handler_result ctrl_task_kill(struct call *, const char *, const char *,
		    uint32_t, bool, ctrl_answer_fn);
enum handler_result ctrl_task_resize(struct call *, const char *,
		    const char *, uint32_t, uint32_t);
enum handler_result ctrl_task_close_io(struct call *, const char *,
		    const char *, bool);
enum handler_result ctrl_task_connect(struct call *, const char *,
		    uint32_t *);
enum handler_result ctrl_task_pids(struct call *, const char *, uint32_t *,
		    size_t, size_t *);
enum handler_result ctrl_task_stats(struct call *, const char *,
		    const char **, uint8_t **, size_t *);
enum handler_result ctrl_task_change(struct call *, const char *, int,
		    const uint8_t *, size_t, ctrl_answer_fn);

/*
 * A process's stdio across a re-execution (task_record.c): the old image
 * describes each (iocopy_export) to fn for the hand-over; the new one
 * gives each back before ctrl_task_recover, which takes it up instead of
 * re-opening the FIFOs.  exec_id NULL: the container's init.
 * ctrl_task_cancel_export_io undoes the export when the re-execution is
 * given up (the descriptors are made close-on-exec again).
 */
typedef void (*ctrl_io_fn)(const char *, const char *, const char *,
    const uint8_t *, size_t, void *);
void		 ctrl_task_export_io(ctrl_io_fn, void *);
void		 ctrl_task_cancel_export_io(void);
void		 ctrl_task_give_io(const char *, const char *, const char *,
		    const uint8_t *, size_t);

/* task.c, task_record.c: start-up and exit */
struct event_base;
void		 ctrl_task_init(struct event_base *);
void		 ctrl_task_recover(void);
void		 ctrl_task_release_all(void);
void		 ctrl_task_sweep_orphans(void);

#endif /* SANDBOXD_CONTROLLER_H */
