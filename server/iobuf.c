/*
 * iobuf.c: a connection's input or output bytes.
 *
 * One flat allocation per buffer, grown by doubling: a frame is always
 * contiguous, so it is parsed where it was read and written from where it
 * was queued.  Consumed bytes are skipped by an offset; they are moved out
 * of the way only when room is short, which with whole frames read at
 * once is rare (the buffer empties and the offset goes back to 0).
 */
#include <stdlib.h>
#include <string.h>

#include "iobuf.h"
#include "xmalloc.h"

#define IOBUF_MIN	512	/* a few answers; grown by doubling */

/* Move the bytes not consumed to the front. */
static void
iobuf_compact(struct iobuf *b)
{
	size_t	used = iobuf_used(b);

	if (b->off == 0)
		return;
	if (used > 0)
		memmove(b->data, b->data + b->off, used);
	b->off = 0;
	b->len = used;
}

/*
 * Make room at the end for want bytes (or fewer, so that the buffer
 * never holds more than max); returns the room there is now, at most
 * what max allows.  0: the buffer already holds max.
 */
size_t
iobuf_room(struct iobuf *b, size_t want, size_t max)
{
	size_t	used = iobuf_used(b), cap;

	if (used >= max)
		return (0);
	if (want > max - used)
		want = max - used;
	if (b->cap - b->len < want)
		iobuf_compact(b);
	if (b->cap - b->len < want) {
		cap = b->cap > 0 ? b->cap : IOBUF_MIN;
		while (cap - used < want)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return (b->cap - b->len < max - used ? b->cap - b->len : max - used);
}

/* Append n bytes. */
void
iobuf_append(struct iobuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	iobuf_room(b, n, SIZE_MAX);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* n bytes were written into the room iobuf_room made. */
void
iobuf_fill(struct iobuf *b, size_t n)
{
	b->len += n;
}

/* Drop n bytes from the front. */
void
iobuf_consume(struct iobuf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/*
 * An empty buffer grown past keep bytes (a big frame came or went) gives
 * its memory back; the next use starts small again.  Returns the bytes
 * let go.
 */
size_t
iobuf_release_idle(struct iobuf *b, size_t keep)
{
	if (iobuf_used(b) > 0 || b->cap <= keep)
		return (0);
	return (iobuf_free(b));
}

/* Free the memory; the buffer is empty and usable again.  The bytes freed. */
size_t
iobuf_free(struct iobuf *b)
{
	size_t	cap = b->cap;

	free(b->data);
	memset(b, 0, sizeof(*b));
	return (cap);
}
