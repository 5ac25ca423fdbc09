/*
 * pbutil.c: nanopb glue: zero-copy bytes views, checked encode/decode,
 * timestamps.
 */
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "pbutil.h"
#include "xmalloc.h"

/*
 * Field callback for pb_view fields (see pbview.h).  Decoding only ever
 * runs over memory buffers (pb_istream_from_buffer), whose state is the
 * read cursor; a string substream shares it, so the view can point straight
 * into the caller's buffer.  A repeated occurrence replaces the view, which
 * is protobuf's rule for a singular field.
 */
bool
pbv_field_cb(pb_istream_t *is, pb_ostream_t *os, const pb_field_iter_t *field)
{
	struct pb_view	*v = field->pData;

	if (is != NULL) {
		v->data = is->state;
		v->len = is->bytes_left;
		return (pb_read(is, NULL, is->bytes_left));
	}
	if (os != NULL) {
		/* proto3: an empty bytes field is not written. */
		if (v->len == 0)
			return (true);
		return (pb_encode_tag_for_field(os, field) &&
		    pb_encode_string(os, v->data, v->len));
	}
	return (true);
}

/*
 * Decode len bytes of buf into msg.  On failure everything nanopb allocated
 * is released, msg is zeroed and *cause (if not NULL) says why.
 */
bool
msg_decode(const pb_msgdesc_t *fields, void *msg, const void *buf, size_t len,
    char **cause)
{
	pb_istream_t	is;

	is = pb_istream_from_buffer(buf, len);
	if (pb_decode_ex(&is, fields, msg, 0))
		return (true);
	if (cause != NULL)
		xasprintf(cause, "%s", PB_GET_ERROR(&is));
	pb_release(fields, msg);
	return (false);
}

/*
 * msg_decode for a message the caller has zeroed: proto3 defaults are all
 * zero, so nanopb's walk over every field to set them is skipped.  (It
 * would not do for memory not zeroed: that walk leaves callback fields,
 * such as pb_views, as they were.)
 */
bool
msg_decode_zeroed(const pb_msgdesc_t *fields, void *msg, const void *buf,
    size_t len, char **cause)
{
	pb_istream_t	is;

	is = pb_istream_from_buffer(buf, len);
	if (pb_decode_ex(&is, fields, msg, PB_DECODE_NOINIT))
		return (true);
	if (cause != NULL)
		xasprintf(cause, "%s", PB_GET_ERROR(&is));
	pb_release(fields, msg);
	return (false);
}

/* Encode msg into a new buffer (*out, freed by the caller). */
bool
msg_encode(const pb_msgdesc_t *fields, const void *msg, uint8_t **out,
    size_t *outlen, char **cause)
{
	pb_ostream_t	 os;
	size_t		 size;
	uint8_t		*buf;

	*out = NULL;
	*outlen = 0;
	if (!pb_get_encoded_size(&size, fields, msg)) {
		if (cause != NULL)
			xasprintf(cause, "cannot size message");
		return (false);
	}
	buf = xmalloc(size);
	os = pb_ostream_from_buffer(buf, size);
	if (!pb_encode(&os, fields, msg)) {
		if (cause != NULL)
			xasprintf(cause, "%s", PB_GET_ERROR(&os));
		free(buf);
		return (false);
	}
	*out = buf;
	*outlen = os.bytes_written;
	return (true);
}

/* Free what decoding allocated; safe on a zeroed message. */
void
msg_release(const pb_msgdesc_t *fields, void *msg)
{
	pb_release(fields, msg);
}

/* A view of a C string (NULL gives an empty view). */
struct pb_view
pbv_str(const char *s)
{
	struct pb_view	v = { NULL, 0 };

	if (s != NULL) {
		v.data = (const pb_byte_t *)s;
		v.len = strlen(s);
	}
	return (v);
}

/* Whether a view holds exactly the bytes of s. */
bool
pbv_eq_str(struct pb_view v, const char *s)
{
	size_t	len = strlen(s);

	return (v.len == len && (len == 0 || memcmp(v.data, s, len) == 0));
}

/* The current time, UTC, as a protobuf Timestamp. */
void
ts_now(gp_Timestamp *ts)
{
	struct timespec	now;

	clock_gettime(CLOCK_REALTIME, &now);
	ts_from_timespec(ts, &now);
}

void
ts_from_timespec(gp_Timestamp *ts, const struct timespec *t)
{
	ts->seconds = t->tv_sec;
	ts->nanos = (int32_t)t->tv_nsec;
}

/*
 * Write one length-delimited field (tag, length, bytes): how already
 * encoded submessages, such as stored sandbox records, are embedded.
 */
bool
pb_encode_view_field(pb_ostream_t *os, uint32_t field_number, const void *data,
    size_t len)
{
	return (pb_encode_tag(os, PB_WT_STRING, field_number) &&
	    pb_encode_string(os, data, len));
}
