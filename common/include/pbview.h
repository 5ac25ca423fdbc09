/*
 * pbview.h: a zero-copy view of a protobuf bytes field.
 *
 * Debian's nanopb is built with 16-bit sizes, so its bytes arrays stop at
 * 64 KiB; a ttrpc payload or a spec Any may reach the 4 MiB frame limit.
 * Such fields are generated as callbacks whose data is a pb_view: decoding
 * points it into the input buffer (which must outlive the message), encoding
 * writes the bytes it points to.  Nothing is allocated either way.
 *
 * Every generated header includes this file.  Do not use the generated
 * *_init_zero macros on messages with views; initialise with {0}.
 */
#ifndef SANDBOXD_PBVIEW_H
#define SANDBOXD_PBVIEW_H

#include <stddef.h>

#include <pb.h>

struct pb_view {
	const pb_byte_t	*data;
	size_t		 len;
};

/* pbutil.c */
bool	pbv_field_cb(pb_istream_t *, pb_ostream_t *, const pb_field_iter_t *);

#endif /* SANDBOXD_PBVIEW_H */
