/*
 * frame.c: ttrpc frame header encoding (big-endian, see wire.md).
 */
#include "frame.h"

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Decode a header; any bytes are a header, judging it is the caller's job. */
void
frame_header_parse(const uint8_t buf[FRAME_HEADER_SIZE],
    struct frame_header *fh)
{
	fh->length = get_be32(buf);
	fh->stream_id = get_be32(buf + 4);
	fh->type = buf[8];
	fh->flags = buf[9];
}

/* Encode a header into buf. */
void
frame_header_build(const struct frame_header *fh,
    uint8_t buf[FRAME_HEADER_SIZE])
{
	put_be32(buf, fh->length);
	put_be32(buf + 4, fh->stream_id);
	buf[8] = fh->type;
	buf[9] = fh->flags;
}
