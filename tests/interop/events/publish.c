/*
 * publish.c: sandboxd's events module publishing to a real containerd.
 *
 *	events-publish ADDRESS NAMESPACE
 *	events-publish ADDRESS NAMESPACE late
 *
 * Publishes, through events_publish and the module's ttrpc client, one
 * event of each task topic for container "interop-c1" in NAMESPACE, then
 * a TaskExit in the namespace "Bad_Namespace!" that containerd must refuse,
 * then a last TaskDelete: all to ADDRESS (containerd's ttrpc socket).  It
 * runs the loop until every event is answered (10 s at most) and prints
 * the counters.  Exit 0 when containerd took the eight good events and
 * refused the bad one; events.sh checks what a `ctr events` subscriber saw.
 *
 * With "late", containerd is not there yet: three TaskExits are queued at
 * once and the program waits (20 s at most) for containerd to come up and
 * take them; exit 0 when all three were delivered.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "containerd/events/task.pb.h"
#include "events.h"
#include "log.h"
#include "pbutil.h"

#define CID	"interop-c1"

/* One of each task event, in the order a container lives them. */
static void
publish_all(const char *ns)
{
	cev_TaskCreate		cr = {0};
	cev_TaskStart		st = {0};
	cev_TaskExecAdded	ea = {0};
	cev_TaskExecStarted	es = {0};
	cev_TaskOOM		oom = {0};
	cev_TaskExit		ex = {0};
	cev_TaskDelete		del = {0};

	cr.container_id = st.container_id = ea.container_id = (char *)CID;
	es.container_id = oom.container_id = ex.container_id = (char *)CID;
	del.container_id = (char *)CID;
	cr.bundle = (char *)"/run/interop/bundle";
	cr.has_io = true;
	cr.io.stdout = (char *)"/run/interop/stdout";
	cr.pid = 4242;
	cr.rootfs_count = 1;
	cr.rootfs[0].type = (char *)"overlay";
	cr.rootfs[0].source = (char *)"overlay";
	st.pid = 4242;
	ea.exec_id = es.exec_id = (char *)"exec-1";
	es.pid = 4343;
	ex.id = (char *)CID;
	ex.pid = 4242;
	ex.exit_status = 137;
	ex.has_exited_at = true;
	ts_now(&ex.exited_at);
	del.id = (char *)CID;
	del.pid = 4242;
	del.exit_status = 137;
	del.has_exited_at = true;
	del.exited_at = ex.exited_at;
	events_publish(ns, EVENTS_TOPIC_TASK_CREATE, cev_TaskCreate_fields, &cr);
	events_publish(ns, EVENTS_TOPIC_TASK_START, cev_TaskStart_fields, &st);
	events_publish(ns, EVENTS_TOPIC_TASK_EXEC_ADDED,
	    cev_TaskExecAdded_fields, &ea);
	events_publish(ns, EVENTS_TOPIC_TASK_EXEC_STARTED,
	    cev_TaskExecStarted_fields, &es);
	events_publish(ns, EVENTS_TOPIC_TASK_OOM, cev_TaskOOM_fields, &oom);
	events_publish(ns, EVENTS_TOPIC_TASK_EXIT, cev_TaskExit_fields, &ex);
	events_publish(ns, EVENTS_TOPIC_TASK_DELETE, cev_TaskDelete_fields,
	    &del);
	/* Not a valid containerd namespace: containerd answers an error. */
	events_publish("Bad_Namespace!", EVENTS_TOPIC_TASK_EXIT,
	    cev_TaskExit_fields, &ex);
	del.pid = 4343;
	events_publish(ns, EVENTS_TOPIC_TASK_DELETE, cev_TaskDelete_fields,
	    &del);
}

/* Three exits, published while containerd is away. */
static void
publish_late(const char *ns)
{
	cev_TaskExit	ex = {0};
	char		id[32];
	int		i;

	for (i = 1; i <= 3; i++) {
		snprintf(id, sizeof(id), "late-%d", i);
		ex.container_id = ex.id = id;
		ex.pid = (uint32_t)(5000 + i);
		ex.exit_status = (uint32_t)i;
		events_publish(ns, EVENTS_TOPIC_TASK_EXIT, cev_TaskExit_fields,
		    &ex);
	}
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct events_stats	 st;
	struct timeval		 tick = { 0, 20000 };
	char			*err = NULL;
	time_t			 end;
	bool			 late;

	late = argc == 4 && strcmp(argv[3], "late") == 0;
	if (argc != 3 && !late) {
		fprintf(stderr, "usage: events-publish ADDRESS NAMESPACE "
		    "[late]\n");
		return (2);
	}
	log_init(NULL, LOG_LEVEL_DEBUG);
	if ((base = event_base_new()) == NULL)
		return (1);
	events_init(base, NULL);
	if (events_set_address(argv[1], &err) != 0) {
		fprintf(stderr, "events-publish: %s\n", err);
		return (1);
	}
	if (late)
		publish_late(argv[2]);
	else
		publish_all(argv[2]);
	end = time(NULL) + (late ? 20 : 10);
	do {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
		events_get_stats(&st);
	} while (st.queued > 0 && time(NULL) < end);
	printf("published %llu delivered %llu rejected %llu queued %zu "
	    "connects %llu\n", (unsigned long long)st.published,
	    (unsigned long long)st.delivered, (unsigned long long)st.rejected,
	    st.queued, (unsigned long long)st.connects);
	events_fini();
	event_base_free(base);
	if (late)
		return (st.delivered == 3 ? 0 : 1);
	return (st.delivered == 8 && st.rejected == 1 ? 0 : 1);
}
