/*
 * msgpool.c: memory for decoded messages, by size class.
 *
 * nanopb's generated structs are as large as their bounds allow (a
 * StoreUpdateRequest is 46 KiB, a StoreGetResponse 14 KiB) and every call
 * needs one or two.  Taken from malloc each time, with dozens of calls
 * answered per iteration, they made glibc grow and trim its heap every
 * iteration and fault the pages in again.  Freed blocks are kept here
 * instead, on one list per power-of-two class, up to a bounded number of
 * bytes per class: the steady state allocates nothing, and what is kept
 * is bounded by the busiest moment, not by the number of calls.
 */
#include <stddef.h>
#include <stdlib.h>

#include "msgpool.h"
#include "xmalloc.h"

#define MSGPOOL_MIN_SHIFT	10			/* 1 KiB */
#define MSGPOOL_CLASSES		7			/* up to 64 KiB */
#define MSGPOOL_KEEP_BYTES	(1u << 20)		/* per class */
#define MSGPOOL_NONE		MSGPOOL_CLASSES		/* plain malloc */

/* Before each block: its class; aligned as malloc aligns. */
union msgpool_hdr {
	unsigned int	 cls;
	union msgpool_hdr *next;		/* while on a free list */
	max_align_t	 align;
};

static union msgpool_hdr	*free_list[MSGPOOL_CLASSES];
static size_t			 free_count[MSGPOOL_CLASSES];

/* The class whose blocks hold size bytes; MSGPOOL_NONE if too big. */
static unsigned int
msgpool_class(size_t size)
{
	unsigned int	cls = 0;

	while (cls < MSGPOOL_CLASSES &&
	    ((size_t)1 << (MSGPOOL_MIN_SHIFT + cls)) < size)
		cls++;
	return (cls);
}

/* size bytes, not initialised; give them back with msgpool_put. */
void *
msgpool_get(size_t size)
{
	union msgpool_hdr	*h;
	unsigned int		 cls = msgpool_class(size);

	if (cls == MSGPOOL_NONE)
		h = xmalloc(sizeof(*h) + size);
	else if ((h = free_list[cls]) != NULL) {
		free_list[cls] = h->next;
		free_count[cls]--;
	} else
		h = xmalloc(sizeof(*h) +
		    ((size_t)1 << (MSGPOOL_MIN_SHIFT + cls)));
	h->cls = cls;
	return (h + 1);
}

/* Keep a block for the next msgpool_get of its class (NULL: nothing). */
void
msgpool_put(void *p)
{
	union msgpool_hdr	*h;
	unsigned int		 cls;

	if (p == NULL)
		return;
	h = (union msgpool_hdr *)p - 1;
	cls = h->cls;
	if (cls == MSGPOOL_NONE || free_count[cls] >=
	    MSGPOOL_KEEP_BYTES >> (MSGPOOL_MIN_SHIFT + cls)) {
		free(h);
		return;
	}
	h->next = free_list[cls];
	free_list[cls] = h;
	free_count[cls]++;
}
