/*
 * frame.h: the 10-byte ttrpc frame header, parsed and built without
 * touching the payload, so a length can be checked before anything is
 * allocated for it; and the Response frames the daemon answers with.
 */
#ifndef SANDBOXD_FRAME_H
#define SANDBOXD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

struct frame_header {
	uint32_t	length;		/* payload bytes, header excluded */
	uint32_t	stream_id;
	uint8_t		type;
	uint8_t		flags;
};

/* frame.c */
uint32_t frame_get_be32(const uint8_t *);
void	frame_put_be32(uint8_t *, uint32_t);
void	frame_header_parse(const uint8_t [FRAME_HEADER_SIZE],
	    struct frame_header *);
void	frame_header_build(const struct frame_header *,
	    uint8_t [FRAME_HEADER_SIZE]);
size_t	frame_response_size(int, size_t, size_t);
void	frame_response_build(uint8_t *, uint32_t, int, const char *, size_t,
	    const uint8_t *, size_t);

#endif /* SANDBOXD_FRAME_H */
