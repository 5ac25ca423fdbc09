/*
 * controller.h: sandbox instances and their lifecycle (spec section 5),
 * shared by the Controller service (h_ctrl.c) and the shim Sandbox service
 * (h_shim.c), which only translate messages.
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

#include "handler.h"
#include "record.h"
#include "containerd/types/sandbox.pb.h"
#include "sandboxd/v1/sandboxd.pb.h"

enum sb_state {
	SB_STATE_CREATED = 1,
	SB_STATE_RUNNING = 2,
	SB_STATE_STOPPING = 3,
	SB_STATE_STOPPED = 4,
	SB_STATE_UNKNOWN = 5,	/* record unreadable at recovery: set aside */
};

/* Which answer a deferred call expects, and when: netns, exec or exit. */
enum waiter_kind {
	WAITER_CREATE,		/* ControllerCreateResponse, netns made */
	WAITER_SHIM_CREATE,	/* CreateSandboxResponse, netns made */
	WAITER_START,		/* ControllerStartResponse, at exec */
	WAITER_SHIM_START,	/* StartSandboxResponse, at exec */
	WAITER_WAIT,		/* ControllerWaitResponse */
	WAITER_SHIM_WAIT,	/* WaitSandboxResponse */
	WAITER_EMPTY,		/* Stop, Shutdown: an empty message */
};

/* An instance record read back from LevelDB (views point into buf). */
struct inst_record {
	sv_Instance	*inst;
	void		*buf;
};

/* What Status reports; info (verbose only) points to call memory. */
#define CTRL_INFO_MAX	16
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

/* controller.c */
enum handler_result ctrl_create(struct call *, const char *, ct_Sandbox *,
		    const char *, enum waiter_kind);
enum handler_result ctrl_create_from_bundle(struct call *, const char *,
		    const char *, const char *);
enum handler_result ctrl_start(struct call *, const char *,
		    enum waiter_kind);
enum handler_result ctrl_stop(struct call *, const char *, uint32_t);
enum handler_result ctrl_wait(struct call *, const char *, enum waiter_kind,
		    uint32_t *, gp_Timestamp *);
enum handler_result ctrl_status(struct call *, const char *, bool,
		    struct ctrl_status *);
enum handler_result ctrl_shutdown(struct call *, const char *);
enum handler_result ctrl_metrics(struct call *, const char *, ct_Metric *);
enum handler_result ctrl_update(struct call *, const char *, ct_Sandbox *,
		    const record_path *, size_t);
enum handler_result ctrl_ping(struct call *, const char *);
enum handler_result ctrl_platform(struct call *, const char *, ct_Platform *);
void		 inst_record_free(void *);

#endif /* SANDBOXD_CONTROLLER_H */
