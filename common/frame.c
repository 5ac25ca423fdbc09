/*
 * frame.c: ttrpc frame header encoding (big-endian, see wire.md), and
 * whole Response frames built by hand.
 */
#include <string.h>

#include "frame.h"

/* Protobuf tags of ttrpc.Response and google.rpc.Status (wire.md). */
#define TAG_RESPONSE_STATUS	0x0a	/* field 1, length-delimited */
#define TAG_RESPONSE_PAYLOAD	0x12	/* field 2, length-delimited */
#define TAG_STATUS_CODE		0x08	/* field 1, varint */
#define TAG_STATUS_MESSAGE	0x12	/* field 2, length-delimited */

/* Big-endian 32-bit integers, as ttrpc's header carries them. */
uint32_t
frame_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

void
frame_put_be32(uint8_t *p, uint32_t v)
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
	fh->length = frame_get_be32(buf);
	fh->stream_id = frame_get_be32(buf + 4);
	fh->type = buf[8];
	fh->flags = buf[9];
}

/* Encode a header into buf. */
void
frame_header_build(const struct frame_header *fh,
    uint8_t buf[FRAME_HEADER_SIZE])
{
	frame_put_be32(buf, fh->length);
	frame_put_be32(buf + 4, fh->stream_id);
	buf[8] = fh->type;
	buf[9] = fh->flags;
}

/* Bytes of v as a protobuf varint. */
static size_t
varint_size(uint64_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return (n);
}

static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return (p);
}

/* The Status submessage's bytes: code (int32, sign-extended), message. */
static size_t
status_size(int code, size_t msglen)
{
	size_t	n = 0;

	if (code != 0)
		n += 1 + varint_size((uint64_t)(int64_t)code);
	if (msglen > 0)
		n += 1 + varint_size(msglen) + msglen;
	return (n);
}

/*
 * The bytes of a Response frame, header included: a status (always
 * present, as containerd's servers send it) and a payload (left out when
 * empty, as proto3 does).
 */
size_t
frame_response_size(int code, size_t msglen, size_t paylen)
{
	size_t	st = status_size(code, msglen), n;

	n = 1 + varint_size(st) + st;
	if (paylen > 0)
		n += 1 + varint_size(paylen) + paylen;
	return (FRAME_HEADER_SIZE + n);
}

/*
 * Build a Response frame into buf (frame_response_size bytes): the same
 * bytes nanopb writes for a t_Response with has_status set, without its
 * walk over the descriptors; an error answer costs a few stores.
 */
void
frame_response_build(uint8_t *buf, uint32_t stream_id, int code,
    const char *msg, size_t msglen, const uint8_t *payload, size_t paylen)
{
	struct frame_header	 fh;
	uint8_t			*p = buf + FRAME_HEADER_SIZE;

	*p++ = TAG_RESPONSE_STATUS;
	p = put_varint(p, status_size(code, msglen));
	if (code != 0) {
		*p++ = TAG_STATUS_CODE;
		p = put_varint(p, (uint64_t)(int64_t)code);
	}
	if (msglen > 0) {
		*p++ = TAG_STATUS_MESSAGE;
		p = put_varint(p, msglen);
		memcpy(p, msg, msglen);
		p += msglen;
	}
	if (paylen > 0) {
		*p++ = TAG_RESPONSE_PAYLOAD;
		p = put_varint(p, paylen);
		memcpy(p, payload, paylen);
		p += paylen;
	}
	fh.length = (uint32_t)(p - buf - FRAME_HEADER_SIZE);
	fh.stream_id = stream_id;
	fh.type = FRAME_TYPE_RESPONSE;
	fh.flags = 0;
	frame_header_build(&fh, buf);
}
