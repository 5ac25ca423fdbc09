/*
 * evclient.c: the ttrpc client that hands queued events to containerd.
 *
 * One connection to containerd's ttrpc socket, made without blocking and
 * driven by a bufferevent on the loop.  One Forward is in flight at a
 * time: containerd's ttrpc server handles the requests of a connection
 * concurrently, so only waiting for each answer keeps the events in the
 * order they happened (an exit before its delete), which is also how
 * containerd's own publisher sends them.  A lost connection or an answer
 * that does not come puts the event back at the head (up to
 * ev_tuning.max_attempts sends) and retries after a backoff that doubles
 * from backoff_min_ms to backoff_max_ms; an answer, OK or error, resets it.
 *
 *	IDLE --kick--> CONNECTING --connected--> READY (send, answer, send...)
 *	  ^                 |                      |
 *	  +--timer-- BACKOFF <------failure--------+
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "evint.h"
#include "frame.h"
#include "log.h"
#include "pbutil.h"
#include "protocol.h"
#include "ttrpc.pb.h"
#include "xmalloc.h"

enum evc_state {
	EVC_IDLE,
	EVC_CONNECTING,
	EVC_READY,
	EVC_BACKOFF,
};

static struct {
	struct event_base	*base;
	char			*address;
	enum evc_state		 state;
	struct bufferevent	*bev;
	struct event		*retry;		/* end of the backoff */
	struct event		*answer;	/* the in-flight answer's deadline */
	struct ev_item		*inflight;
	uint32_t		 inflight_sid;
	uint32_t		 next_sid;	/* odd: client-initiated streams */
	unsigned int		 backoff_ms;
	bool			 down_logged;	/* one warning per outage */
} evc;

static void	evc_connect(void);
static void	evc_send_next(void);

/* Milliseconds as a timeval. */
static struct timeval
ms_tv(unsigned int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	return (tv);
}

/* Close the connection; an event on the wire goes back to the queue. */
static void
evc_close(void)
{
	struct ev_item	*it = evc.inflight;

	if (evc.bev != NULL) {
		bufferevent_free(evc.bev);
		evc.bev = NULL;
	}
	evtimer_del(evc.answer);
	evc.inflight = NULL;
	evc.state = EVC_IDLE;
	if (it != NULL)
		evq_finish(it, EV_LOST);
}

/* The connection failed or broke: close it, try again after a backoff. */
static void
evc_fail(const char *why)
{
	struct timeval	tv;

	if (!evc.down_logged) {
		log_warnx("events: containerd at %s: %s; events queue until "
		    "it is back", evc.address, why);
		evc.down_logged = true;
	} else
		log_debug("events: containerd at %s: %s", evc.address, why);
	evc_close();
	evc.state = EVC_BACKOFF;
	tv = ms_tv(evc.backoff_ms);
	evtimer_add(evc.retry, &tv);
	evc.backoff_ms *= 2;
	if (evc.backoff_ms > ev_tuning.backoff_max_ms)
		evc.backoff_ms = ev_tuning.backoff_max_ms;
}

/* The backoff is over: connect again if there is something to send. */
static void
evc_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	evc.state = EVC_IDLE;
	if (evq_head() != NULL)
		evc_connect();
}

/* containerd did not answer in time: treat the connection as broken. */
static void
evc_answer_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	evc_fail("no answer to Forward");
}

/* The answer to the event in flight: count it, send the next. */
static void
evc_answer(const uint8_t *payload, size_t len)
{
	t_Response	 resp = {0};
	struct ev_item	*it = evc.inflight;
	char		*cause = NULL;
	enum ev_outcome	 outcome = EV_DELIVERED;

	if (!msg_decode(t_Response_fields, &resp, payload, len, &cause)) {
		log_warnx("events: undecodable answer from containerd: %s",
		    cause);
		free(cause);
		evc_fail("bad answer");
		return;
	}
	if (resp.has_status && resp.status.code != STATUS_OK) {
		log_warnx("events: containerd refused a %s event: %s: %s",
		    it->topic, status_code_name(resp.status.code),
		    resp.status.message != NULL ? resp.status.message : "");
		outcome = EV_REJECTED;
	}
	msg_release(t_Response_fields, &resp);
	evtimer_del(evc.answer);
	evc.inflight = NULL;
	evc.backoff_ms = ev_tuning.backoff_min_ms;
	evq_finish(it, outcome);
	evc_send_next();
}

/*
 * One complete frame from containerd.  Only answers come on this
 * connection; one for a stream other than the event in flight (a late
 * answer to a send that timed out cannot happen: that closed the
 * connection) is dropped.
 */
static void
evc_frame(const struct frame_header *fh, const uint8_t *payload)
{
	if (fh->type != FRAME_TYPE_RESPONSE) {
		evc_fail("unexpected frame type");
		return;
	}
	if (evc.inflight == NULL || fh->stream_id != evc.inflight_sid) {
		log_debug("events: answer for unknown stream %u", fh->stream_id);
		return;
	}
	evc_answer(payload, fh->length);
}

/* Read whole frames; the length is checked before anything is pulled up. */
static void
evc_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct frame_header	 fh;
	uint8_t			 hdr[FRAME_HEADER_SIZE], *p;

	(void)arg;
	while (evc.bev == bev && evbuffer_get_length(in) >= FRAME_HEADER_SIZE) {
		evbuffer_copyout(in, hdr, sizeof(hdr));
		frame_header_parse(hdr, &fh);
		if (fh.length > FRAME_MAX_PAYLOAD) {
			evc_fail("oversized frame");
			return;
		}
		if (evbuffer_get_length(in) < FRAME_HEADER_SIZE + fh.length)
			return;
		p = evbuffer_pullup(in, FRAME_HEADER_SIZE + fh.length);
		evc_frame(&fh, p + FRAME_HEADER_SIZE);
		if (evc.bev == bev)
			evbuffer_drain(in, FRAME_HEADER_SIZE + fh.length);
	}
}

/* Connected, or the connection ended. */
static void
evc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)arg;
	if (what & BEV_EVENT_CONNECTED) {
		evc.state = EVC_READY;
		evc.next_sid = 1;
		evq_count_connect();
		if (evc.down_logged)
			log_info("events: containerd at %s is back",
			    evc.address);
		evc.down_logged = false;
		bufferevent_enable(evc.bev, EV_READ);
		evc_send_next();
		return;
	}
	if (what & BEV_EVENT_EOF)
		evc_fail("connection closed");
	else if (what & BEV_EVENT_ERROR)
		evc_fail(strerror(EVUTIL_SOCKET_ERROR()));
}

/* Start a non-blocking connect to the address. */
static void
evc_connect(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", evc.address);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		evc_fail(strerror(errno));
		return;
	}
	evc.bev = bufferevent_socket_new(evc.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (evc.bev == NULL) {
		close(fd);
		evc_fail("cannot make a bufferevent");
		return;
	}
	bufferevent_setcb(evc.bev, evc_read_cb, NULL, evc_event_cb, NULL);
	evc.state = EVC_CONNECTING;
	if (bufferevent_socket_connect(evc.bev, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		evc_fail(strerror(errno));
}

/* Put the head event on the wire, if the connection is free for it. */
static void
evc_send_next(void)
{
	struct frame_header	 fh;
	struct ev_item		*it;
	uint8_t			 hdr[FRAME_HEADER_SIZE];
	struct timeval		 tv;

	if (evc.state != EVC_READY || evc.inflight != NULL ||
	    (it = evq_head()) == NULL)
		return;
	fh.length = (uint32_t)it->len;
	fh.stream_id = evc.next_sid;
	fh.type = FRAME_TYPE_REQUEST;
	fh.flags = 0;
	frame_header_build(&fh, hdr);
	if (bufferevent_write(evc.bev, hdr, sizeof(hdr)) == -1 ||
	    bufferevent_write(evc.bev, it->req, it->len) == -1) {
		evc_fail("cannot queue a frame");
		return;
	}
	evc.inflight = it;
	evc.inflight_sid = evc.next_sid;
	evc.next_sid += 2;
	tv = ms_tv(ev_tuning.answer_timeout_ms);
	evtimer_add(evc.answer, &tv);
}

/* Remember the loop. */
void
evclient_init(struct event_base *base)
{
	evc.base = base;
	evc.state = EVC_IDLE;
	evc.backoff_ms = ev_tuning.backoff_min_ms;
	evc.retry = evtimer_new(base, evc_retry_cb, NULL);
	evc.answer = evtimer_new(base, evc_answer_timeout_cb, NULL);
	if (evc.retry == NULL || evc.answer == NULL)
		fatalx("events: cannot make timers");
}

/* A new address: drop the old connection, connect to the new one. */
void
evclient_set_address(const char *address)
{
	free(evc.address);
	evc.address = xstrdup(address);
	evc_close();
	evtimer_del(evc.retry);
	evc.backoff_ms = ev_tuning.backoff_min_ms;
	evc.down_logged = false;
	evclient_kick();
}

/* Something was queued: connect, or send, as the state allows. */
void
evclient_kick(void)
{
	if (evc.address == NULL || evc.base == NULL)
		return;
	if (evc.state == EVC_IDLE)
		evc_connect();
	else if (evc.state == EVC_READY)
		evc_send_next();
}

bool
evclient_in_flight(const struct ev_item *it)
{
	return (it != NULL && it == evc.inflight);
}

/* Close everything. */
void
evclient_fini(void)
{
	if (evc.bev != NULL)
		bufferevent_free(evc.bev);
	if (evc.retry != NULL)
		event_free(evc.retry);
	if (evc.answer != NULL)
		event_free(evc.answer);
	free(evc.address);
	memset(&evc, 0, sizeof(evc));
}
