/*
 * events.c: the events module's queue and its public calls.
 *
 * An event is encoded when it is published: the event message goes into a
 * google.protobuf.Any whose type URL is the name containerd's typeurl gives
 * it ("containerd.events.TaskExit"), the Any into an Envelope (timestamp,
 * namespace, topic), the Envelope into a ForwardRequest, and that into a
 * ttrpc Request carrying the namespace in its metadata, as containerd's
 * own shim publisher sends it.  The queue holds these requests in order
 * until evclient.c has them answered.
 *
 * containerd's ttrpc address is kept in <state_dir>/events-address, so a
 * restarted daemon publishes to the same containerd before any launcher
 * runs again.  It is a file rather than a LevelDB record because it is
 * daemon configuration handed over by containerd, not sandbox state, and
 * it changes once per containerd start; it is written (synced) before the
 * call that sets it is answered.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "containerd/events/task.pb.h"
#include "containerd/services/events/ttrpc/v1/events.pb.h"
#include "evint.h"
#include "frame.h"
#include "log.h"
#include "pbutil.h"
#include "protocol.h"
#include "ttrpc.pb.h"
#include "xmalloc.h"

#define ADDRESS_FILE		"events-address"
#define ADDRESS_PREFIX		"unix://"
#define TYPE_URL_PREFIX		"containerd.events."

/* Each topic and the one message type it carries. */
struct ev_type {
	const char		*topic;
	const pb_msgdesc_t	*fields;
	const char		*type_url;
};

static const struct ev_type ev_types[] = {
	{ EVENTS_TOPIC_TASK_CREATE, cev_TaskCreate_fields,
	    TYPE_URL_PREFIX "TaskCreate" },
	{ EVENTS_TOPIC_TASK_START, cev_TaskStart_fields,
	    TYPE_URL_PREFIX "TaskStart" },
	{ EVENTS_TOPIC_TASK_EXIT, cev_TaskExit_fields,
	    TYPE_URL_PREFIX "TaskExit" },
	{ EVENTS_TOPIC_TASK_DELETE, cev_TaskDelete_fields,
	    TYPE_URL_PREFIX "TaskDelete" },
	{ EVENTS_TOPIC_TASK_EXEC_ADDED, cev_TaskExecAdded_fields,
	    TYPE_URL_PREFIX "TaskExecAdded" },
	{ EVENTS_TOPIC_TASK_EXEC_STARTED, cev_TaskExecStarted_fields,
	    TYPE_URL_PREFIX "TaskExecStarted" },
	{ EVENTS_TOPIC_TASK_OOM, cev_TaskOOM_fields,
	    TYPE_URL_PREFIX "TaskOOM" },
};

struct ev_tuning ev_tuning = {
	.queue_max = EVENTS_QUEUE_MAX,
	.backoff_min_ms = 100,
	.backoff_max_ms = 5000,
	.answer_timeout_ms = 5000,	/* containerd's publisher waits as long */
	.max_attempts = 5,
};

TAILQ_HEAD(ev_queue, ev_item);

static struct {
	char			*state_dir;
	char			*address;
	struct ev_queue		 queue;
	struct events_stats	 stats;
	bool			 ready;
} ev = { .queue = TAILQ_HEAD_INITIALIZER(ev.queue) };

/* The topic's entry, or NULL. */
static const struct ev_type *
ev_type_find(const char *topic)
{
	size_t	i;

	for (i = 0; i < sizeof(ev_types) / sizeof(ev_types[0]); i++) {
		if (strcmp(ev_types[i].topic, topic) == 0)
			return (&ev_types[i]);
	}
	return (NULL);
}

/*
 * The socket path of a TTRPC_ADDRESS ("/run/containerd/containerd.sock.ttrpc"
 * or the same after "unix://"), malloc'd; NULL with *err if it is not one.
 */
static char *
address_path(const char *addr, char **err)
{
	struct sockaddr_un	sun;

	if (addr == NULL || *addr == '\0') {
		xasprintf(err, "empty events address");
		return (NULL);
	}
	if (strncmp(addr, ADDRESS_PREFIX, strlen(ADDRESS_PREFIX)) == 0)
		addr += strlen(ADDRESS_PREFIX);
	if (addr[0] != '/') {
		xasprintf(err, "events address must be an absolute socket "
		    "path: %s", addr);
		return (NULL);
	}
	if (strlen(addr) >= sizeof(sun.sun_path)) {
		xasprintf(err, "events address longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return (NULL);
	}
	if (strpbrk(addr, "\n\r") != NULL) {
		xasprintf(err, "events address has a line break");
		return (NULL);
	}
	return (xstrdup(addr));
}

/* Write len bytes of data to a new file at path and sync it; -1 on error. */
static int
write_synced(const char *path, const char *data, size_t len)
{
	int	fd, rc = 0, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return (-1);
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1)
		rc = -1;
	saved = errno;
	if (close(fd) == -1 && rc == 0)
		return (-1);
	errno = saved;
	return (rc);
}

/* Write path into the state dir's address file: temp, fsync, rename. */
static int
address_save(const char *path, char **err)
{
	char	*tmp, *final;
	int	 fd, rc = -1;

	xasprintf(&tmp, "%s/" ADDRESS_FILE ".tmp", ev.state_dir);
	xasprintf(&final, "%s/" ADDRESS_FILE, ev.state_dir);
	if (write_synced(tmp, path, strlen(path)) == -1) {
		xasprintf(err, "write %s: %s", tmp, strerror(errno));
		unlink(tmp);
	} else if (rename(tmp, final) == -1) {
		xasprintf(err, "rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
	} else {
		/* The rename itself: best effort, the file is whole either way. */
		if ((fd = open(ev.state_dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) != -1) {
			fsync(fd);
			close(fd);
		}
		rc = 0;
	}
	free(tmp);
	free(final);
	return (rc);
}

/* The address saved by a previous run, or NULL. */
static char *
address_load(void)
{
	char	*file, buf[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char	*path, *err = NULL;
	ssize_t	 n;
	int	 fd;

	xasprintf(&file, "%s/" ADDRESS_FILE, ev.state_dir);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			log_warn("events: open %s", file);
		free(file);
		return (NULL);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if ((path = address_path(buf, &err)) == NULL) {
		log_warnx("events: ignoring %s: %s", file, err);
		free(err);
	}
	free(file);
	return (path);
}

/* Start: remember the loop, load the saved address (if any). */
int
events_init(struct event_base *base, const char *state_dir)
{
	ev.state_dir = state_dir != NULL ? xstrdup(state_dir) : NULL;
	evclient_init(base);
	ev.ready = true;
	if (ev.state_dir != NULL && (ev.address = address_load()) != NULL) {
		log_info("events: publishing to containerd at %s", ev.address);
		evclient_set_address(ev.address);
	}
	return (0);
}

/* containerd's TTRPC_ADDRESS: saved, then used; unchanged if invalid. */
int
events_set_address(const char *ttrpc_address, char **err)
{
	char	*path;

	if ((path = address_path(ttrpc_address, err)) == NULL)
		return (-1);
	if (ev.address != NULL && strcmp(ev.address, path) == 0) {
		free(path);
		return (0);
	}
	if (ev.state_dir != NULL && address_save(path, err) == -1) {
		free(path);
		return (-2);
	}
	log_info("events: publishing to containerd at %s", path);
	free(ev.address);
	ev.address = path;
	if (ev.ready)
		evclient_set_address(ev.address);
	return (0);
}

const char *
events_address(void)
{
	return (ev.address);
}

/* Wrap an encoded event in Any, Envelope and ForwardRequest. */
static bool
forward_encode(const char *ns, const struct ev_type *t, const uint8_t *body,
    size_t bodylen, uint8_t **out, size_t *outlen, char **cause)
{
	csetv_ForwardRequest	req = {0};

	req.has_envelope = true;
	req.envelope.has_timestamp = true;
	ts_now(&req.envelope.timestamp);
	snprintf(req.envelope.namespace, sizeof(req.envelope.namespace), "%s",
	    ns);
	snprintf(req.envelope.topic, sizeof(req.envelope.topic), "%s",
	    t->topic);
	req.envelope.has_event = true;
	req.envelope.event.type_url = (char *)t->type_url;
	req.envelope.event.value.data = body;
	req.envelope.event.value.len = bodylen;
	return (msg_encode(csetv_ForwardRequest_fields, &req, out, outlen,
	    cause));
}

/* The ttrpc Request of a Forward, namespace in its metadata. */
static bool
request_encode(const char *ns, const uint8_t *payload, size_t len,
    uint8_t **out, size_t *outlen, char **cause)
{
	t_Request	r = {0};

	snprintf(r.service, sizeof(r.service), "%s", EVENTS_SERVICE);
	snprintf(r.method, sizeof(r.method), "%s", EVENTS_METHOD);
	r.payload.data = payload;
	r.payload.len = len;
	r.timeout_nano = (int64_t)ev_tuning.answer_timeout_ms * 1000000;
	r.metadata_count = 1;
	r.metadata[0].key = (char *)MD_NAMESPACE_TTRPC;
	r.metadata[0].value = (char *)ns;
	return (msg_encode(t_Request_fields, &r, out, outlen, cause));
}

/* Event, Forward, Request: the bytes the client sends, in *out. */
static bool
event_encode(const char *ns, const struct ev_type *t, const void *event,
    uint8_t **out, size_t *outlen, char **cause)
{
	uint8_t	*body = NULL, *fwd = NULL;
	size_t	 bodylen, fwdlen;
	bool	 ok;

	ok = msg_encode(t->fields, event, &body, &bodylen, cause) &&
	    forward_encode(ns, t, body, bodylen, &fwd, &fwdlen, cause) &&
	    request_encode(ns, fwd, fwdlen, out, outlen, cause);
	free(body);
	free(fwd);
	return (ok);
}

/* Unlink and free a queued event. */
static void
evq_remove(struct ev_item *it)
{
	TAILQ_REMOVE(&ev.queue, it, entry);
	ev.stats.queued--;
	free(it->req);
	free(it);
}

/* Full: drop the oldest event that is not on the wire; false if none. */
static bool
evq_make_room(void)
{
	struct ev_item	*it = TAILQ_FIRST(&ev.queue);

	if (it != NULL && evclient_in_flight(it))
		it = TAILQ_NEXT(it, entry);
	if (it == NULL)
		return (false);
	ev.stats.overflowed++;
	/* Once per power of two: a long outage does not flood the log. */
	if ((ev.stats.overflowed & (ev.stats.overflowed - 1)) == 0)
		log_warnx("events: queue full (%zu): dropped the oldest (%s); "
		    "%llu dropped so far", ev.stats.queued, it->topic,
		    (unsigned long long)ev.stats.overflowed);
	evq_remove(it);
	return (true);
}

/* Encode event now, queue it, and have the client send what it can. */
int
events_publish(const char *ns, const char *topic, const pb_msgdesc_t *fields,
    const void *event)
{
	const struct ev_type	*t;
	struct ev_item		*it;
	char			*cause = NULL;

	if (topic == NULL || (t = ev_type_find(topic)) == NULL ||
	    t->fields != fields) {
		log_warnx("events: %s is not a task topic, or not of this "
		    "message type", topic != NULL ? topic : "(null)");
		return (-1);
	}
	if (ns == NULL || *ns == '\0' || strlen(ns) > IDENT_MAX_LEN) {
		log_warnx("events: %s event without a valid namespace", topic);
		return (-1);
	}
	it = xcalloc(1, sizeof(*it));
	if (!event_encode(ns, t, event, &it->req, &it->len, &cause)) {
		log_warnx("events: cannot encode %s event: %s", topic, cause);
		free(cause);
		free(it);
		return (-1);
	}
	snprintf(it->topic, sizeof(it->topic), "%s", topic);
	while (ev.stats.queued >= ev_tuning.queue_max && evq_make_room())
		continue;
	TAILQ_INSERT_TAIL(&ev.queue, it, entry);
	ev.stats.queued++;
	ev.stats.published++;
	evclient_kick();
	return (0);
}

/* The oldest queued event, the next to send. */
struct ev_item *
evq_head(void)
{
	return (TAILQ_FIRST(&ev.queue));
}

/* The client is done with the head event, or lost it on the way. */
void
evq_finish(struct ev_item *it, enum ev_outcome outcome)
{
	switch (outcome) {
	case EV_DELIVERED:
		ev.stats.delivered++;
		break;
	case EV_REJECTED:
		ev.stats.rejected++;
		break;
	case EV_LOST:
		if (++it->attempts < ev_tuning.max_attempts)
			return;		/* stays first, sent again */
		ev.stats.abandoned++;
		log_warnx("events: dropped a %s event after %u attempts",
		    it->topic, it->attempts);
		break;
	}
	evq_remove(it);
}

/*
 * The export format, in the queue's order, per event: a 4-byte big-endian
 * length of the request, 1 byte of attempts, 1 byte of topic length, the
 * topic, the request.  Both ends are the same program, one image apart.
 */
#define EXPORT_HEADER	6

/* The queue as bytes, for the next image. */
int
events_export(uint8_t **buf, size_t *len)
{
	struct ev_item	*it;
	size_t		 size = 0, off = 0, tlen;

	TAILQ_FOREACH(it, &ev.queue, entry)
		size += EXPORT_HEADER + strlen(it->topic) + it->len;
	*buf = size > 0 ? xmalloc(size) : NULL;
	*len = size;
	TAILQ_FOREACH(it, &ev.queue, entry) {
		tlen = strlen(it->topic);
		frame_put_be32(*buf + off, (uint32_t)it->len);
		(*buf)[off + 4] = (uint8_t)(it->attempts > 255 ? 255 :
		    it->attempts);
		(*buf)[off + 5] = (uint8_t)tlen;
		memcpy(*buf + off + EXPORT_HEADER, it->topic, tlen);
		memcpy(*buf + off + EXPORT_HEADER + tlen, it->req, it->len);
		off += EXPORT_HEADER + tlen + it->len;
	}
	return (0);
}

/* Cut one exported event off buf; NULL if the bytes are not one. */
static struct ev_item *
import_one(const uint8_t *buf, size_t len, size_t *used)
{
	struct ev_item	*it;
	size_t		 rlen, tlen;

	if (len < EXPORT_HEADER)
		return (NULL);
	rlen = frame_get_be32(buf);
	tlen = buf[5];
	if (rlen == 0 || rlen > FRAME_MAX_PAYLOAD || tlen == 0 ||
	    tlen >= sizeof(it->topic) || len - EXPORT_HEADER < tlen + rlen)
		return (NULL);
	it = xcalloc(1, sizeof(*it));
	it->attempts = buf[4];
	memcpy(it->topic, buf + EXPORT_HEADER, tlen);
	it->len = rlen;
	it->req = xmemdup(buf + EXPORT_HEADER + tlen, rlen);
	*used = EXPORT_HEADER + tlen + rlen;
	return (it);
}

/* The previous image's queue, ahead of anything queued since. */
int
events_import(const uint8_t *buf, size_t len, char **err)
{
	struct ev_queue	 got = TAILQ_HEAD_INITIALIZER(got);
	struct ev_item	*it;
	size_t		 off = 0, used = 0, n = 0;

	while (off < len) {
		if ((it = import_one(buf + off, len - off, &used)) == NULL) {
			xasprintf(err, "events: bad export at byte %zu", off);
			while ((it = TAILQ_FIRST(&got)) != NULL) {
				TAILQ_REMOVE(&got, it, entry);
				free(it->req);
				free(it);
			}
			return (-1);
		}
		TAILQ_INSERT_TAIL(&got, it, entry);
		off += used;
		n++;
	}
	while ((it = TAILQ_LAST(&got, ev_queue)) != NULL) {
		TAILQ_REMOVE(&got, it, entry);
		TAILQ_INSERT_HEAD(&ev.queue, it, entry);
	}
	ev.stats.queued += n;
	while (ev.stats.queued > ev_tuning.queue_max && evq_make_room())
		continue;
	evclient_kick();
	return (0);
}

void
evq_count_connect(void)
{
	ev.stats.connects++;
}

void
events_get_stats(struct events_stats *st)
{
	*st = ev.stats;
}

/* Drop the queue, the connection and the address. */
void
events_fini(void)
{
	if (ev.stats.queued > 0)
		log_warnx("events: %zu events not delivered to containerd",
		    ev.stats.queued);
	evclient_fini();
	while (!TAILQ_EMPTY(&ev.queue))
		evq_remove(TAILQ_FIRST(&ev.queue));
	free(ev.address);
	free(ev.state_dir);
	ev.address = ev.state_dir = NULL;
	ev.ready = false;
	memset(&ev.stats, 0, sizeof(ev.stats));
}
