/*
 * frame.h: the 10-byte ttrpc frame header, parsed and built without
 * touching the payload, so a length can be checked before anything is
 * allocated for it.
 */
#ifndef SANDBOXD_FRAME_H
#define SANDBOXD_FRAME_H

#include <stdint.h>

#include "protocol.h"

struct frame_header {
	uint32_t	length;		/* payload bytes, header excluded */
	uint32_t	stream_id;
	uint8_t		type;
	uint8_t		flags;
};

/* frame.c */
void	frame_header_parse(const uint8_t [FRAME_HEADER_SIZE],
	    struct frame_header *);
void	frame_header_build(const struct frame_header *,
	    uint8_t [FRAME_HEADER_SIZE]);

#endif /* SANDBOXD_FRAME_H */
