/*
 * evint.h: inside the events module, between the queue (events.c) and the
 * ttrpc client that empties it (evclient.c).  Unit tests include it for
 * the knobs that make backoffs and the queue small.
 */
#ifndef SANDBOXD_EVINT_H
#define SANDBOXD_EVINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "queue.h"

/* One queued event: a ttrpc Request (Forward), encoded, without a frame. */
struct ev_item {
	TAILQ_ENTRY(ev_item)	 entry;
	uint8_t			*req;
	size_t			 len;
	char			 topic[32];
	unsigned int		 attempts;	/* sends lost to a broken connection */
};

/* How a sent event ended. */
enum ev_outcome {
	EV_DELIVERED,		/* containerd answered OK */
	EV_REJECTED,		/* containerd answered an error */
	EV_LOST,		/* the connection broke first: send it again */
};

/* Timing and sizes; tests shrink them. */
struct ev_tuning {
	size_t		queue_max;
	unsigned int	backoff_min_ms;
	unsigned int	backoff_max_ms;
	unsigned int	answer_timeout_ms;
	unsigned int	max_attempts;
};

/* events.c */
extern struct ev_tuning	 ev_tuning;
struct ev_item	*evq_head(void);
void		 evq_finish(struct ev_item *, enum ev_outcome);
void		 evq_count_connect(void);

/* evclient.c */
void	evclient_init(struct event_base *);
void	evclient_set_address(const char *);
void	evclient_kick(void);
bool	evclient_in_flight(const struct ev_item *);
void	evclient_fini(void);

#endif /* SANDBOXD_EVINT_H */
