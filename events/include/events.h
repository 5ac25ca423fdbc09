/*
 * events.h: task events for containerd, published from the loop.
 *
 * A containerd shim tells containerd what happened to its tasks by calling
 * containerd.services.events.ttrpc.v1.Events/Forward on containerd's ttrpc
 * socket (the TTRPC_ADDRESS containerd gives the shim launcher).  CRI
 * learns of container exits only this way.  events_publish encodes the
 * event at once and queues it; a ttrpc client on the loop delivers the
 * queue in order, one Forward at a time, and never blocks: while
 * containerd is unreachable the queue waits (bounded: the oldest event
 * goes when it is full) and the client reconnects with a growing backoff.
 *
 * The event messages are nanopb_protos/containerd/events/task.proto
 * (header "containerd/events/task.pb.h", C prefix cev_), the topics below
 * are the ones containerd's runtime uses for them.
 */
#ifndef SANDBOXD_EVENTS_H
#define SANDBOXD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <pb.h>

#define EVENTS_TOPIC_TASK_CREATE	"/tasks/create"
#define EVENTS_TOPIC_TASK_START		"/tasks/start"
#define EVENTS_TOPIC_TASK_EXIT		"/tasks/exit"
#define EVENTS_TOPIC_TASK_DELETE	"/tasks/delete"
#define EVENTS_TOPIC_TASK_EXEC_ADDED	"/tasks/exec-added"
#define EVENTS_TOPIC_TASK_EXEC_STARTED	"/tasks/exec-started"
#define EVENTS_TOPIC_TASK_OOM		"/tasks/oom"

/* Where containerd's events service is, and what a Forward names. */
#define EVENTS_SERVICE		"containerd.services.events.ttrpc.v1.Events"
#define EVENTS_METHOD		"Forward"
#define EVENTS_QUEUE_MAX	4096	/* events kept while containerd is away */

struct event_base;

/* What happened to the events published so far (for logs and tests). */
struct events_stats {
	uint64_t	published;	/* accepted by events_publish */
	uint64_t	delivered;	/* answered OK by containerd */
	uint64_t	rejected;	/* answered with an error: dropped */
	uint64_t	overflowed;	/* dropped, oldest first, from a full queue */
	uint64_t	abandoned;	/* dropped after too many lost attempts */
	uint64_t	connects;	/* connections made to containerd */
	size_t		queued;		/* waiting now, the one in flight included */
};

/* events.c */
/* Start: remember the loop, load the address saved in state_dir (if any). */
int	events_init(struct event_base *, const char *state_dir);
/*
 * containerd's TTRPC_ADDRESS (a socket path, "unix://" optional): saved in
 * the state dir (synced) before it is used, so a restarted daemon still
 * knows it.  0; or -1 with *err for an invalid address, -2 with *err when
 * it cannot be saved: either way nothing changes.
 */
int	events_set_address(const char *ttrpc_address, char **err);
/* The address in use, or NULL. */
const char *events_address(void);
/*
 * Queue event (a message of the topic's type) for namespace ns.  -1 with a
 * logged warning for an unknown topic, a topic and message type that do not
 * match, a missing namespace or an event that cannot be encoded.
 */
int	events_publish(const char *ns, const char *topic,
	    const pb_msgdesc_t *fields, const void *event);
void	events_get_stats(struct events_stats *);
/*
 * Re-execution: the queue (the event in flight first) as bytes the next
 * image hands to events_import after its events_init; the connection
 * itself is not kept (it is close-on-exec) and the next image reconnects
 * to the saved address, sending the unanswered event again.  *buf is
 * malloc'd (NULL with *len 0 for an empty queue).  events_import refuses
 * (-1, *err, nothing queued) bytes that are not a whole export.
 */
int	events_export(uint8_t **buf, size_t *len);
int	events_import(const uint8_t *buf, size_t len, char **err);
/* Drop the queue and the connection. */
void	events_fini(void);

#endif /* SANDBOXD_EVENTS_H */
