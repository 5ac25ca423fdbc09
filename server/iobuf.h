/*
 * iobuf.h: a connection's byte buffer: bytes are appended at the end and
 * consumed from the front, in place, so a frame can be handed on as a
 * pointer into it.
 */
#ifndef SANDBOXD_IOBUF_H
#define SANDBOXD_IOBUF_H

#include <stddef.h>
#include <stdint.h>

struct iobuf {
	uint8_t	*data;		/* NULL until first needed */
	size_t	 off;		/* first byte not consumed */
	size_t	 len;		/* end of the bytes held */
	size_t	 cap;
};

/* Bytes held and not consumed. */
static inline size_t
iobuf_used(const struct iobuf *b)
{
	return (b->len - b->off);
}

/* The first byte not consumed (NULL while nothing was ever held). */
static inline uint8_t *
iobuf_head(const struct iobuf *b)
{
	return (b->data != NULL ? b->data + b->off : NULL);
}

/* iobuf.c */
size_t	iobuf_room(struct iobuf *, size_t, size_t);
void	iobuf_append(struct iobuf *, const void *, size_t);
void	iobuf_fill(struct iobuf *, size_t);
void	iobuf_consume(struct iobuf *, size_t);
size_t	iobuf_release_idle(struct iobuf *, size_t);
size_t	iobuf_free(struct iobuf *);

#endif /* SANDBOXD_IOBUF_H */
