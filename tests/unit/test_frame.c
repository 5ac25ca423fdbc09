/*
 * test_frame.c: ttrpc frames (common/frame.c).  The Response frames the
 * daemon builds by hand must be byte for byte what nanopb encodes for the
 * same t_Response, and decode back to the same answer.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pb_encode.h>

#include "frame.h"
#include "pbutil.h"
#include "protocol.h"
#include "ttrpc.pb.h"

#define TEST_TIMEOUT	30

/* What nanopb writes for this answer, header included; *len its size. */
static uint8_t *
nanopb_frame(uint32_t stream_id, int code, const char *msg,
    const uint8_t *payload, size_t paylen, size_t *len)
{
	t_Response		 resp = { 0 };
	struct frame_header	 fh;
	pb_ostream_t		 os;
	size_t			 size;
	uint8_t			*buf;

	resp.has_status = true;
	resp.status.code = code;
	resp.status.message = (char *)msg;
	resp.payload.data = payload;
	resp.payload.len = paylen;
	cr_assert(pb_get_encoded_size(&size, t_Response_fields, &resp));
	buf = malloc(FRAME_HEADER_SIZE + size);
	os = pb_ostream_from_buffer(buf + FRAME_HEADER_SIZE, size);
	cr_assert(pb_encode(&os, t_Response_fields, &resp));
	fh.length = (uint32_t)os.bytes_written;
	fh.stream_id = stream_id;
	fh.type = FRAME_TYPE_RESPONSE;
	fh.flags = 0;
	frame_header_build(&fh, buf);
	*len = FRAME_HEADER_SIZE + os.bytes_written;
	return (buf);
}

/* Build by hand and compare with nanopb's bytes. */
static void
check_same(uint32_t stream_id, int code, const char *msg,
    const uint8_t *payload, size_t paylen)
{
	size_t	 msglen = msg != NULL ? strlen(msg) : 0, want_len, len;
	uint8_t	*want, *got;

	/* An empty message is left out, as proto3 does; nanopb would write
	 * a present but empty pointer string, which decodes the same. */
	want = nanopb_frame(stream_id, code, msglen > 0 ? msg : NULL, payload,
	    paylen, &want_len);
	len = frame_response_size(code, msglen, paylen);
	got = malloc(len);
	frame_response_build(got, stream_id, code, msg, msglen, payload,
	    paylen);
	cr_assert_eq(len, want_len, "code %d msg %zu payload %zu: %zu bytes, "
	    "nanopb %zu", code, msglen, paylen, len, want_len);
	cr_assert_arr_eq(got, want, len, "code %d msg %zu payload %zu: "
	    "bytes differ from nanopb's", code, msglen, paylen);
	free(got);
	free(want);
}

Test(frame, error_answers_match_nanopb, .timeout = TEST_TIMEOUT)
{
	check_same(1, STATUS_NOT_FOUND, "sandbox \"x\" not found in "
	    "namespace \"default\"", NULL, 0);
	check_same(3, STATUS_INVALID_ARGUMENT, "", NULL, 0);
	check_same(5, STATUS_INTERNAL, NULL, NULL, 0);
	check_same(0xfffffffdu, STATUS_RESOURCE_EXHAUSTED, "x", NULL, 0);
	/* Not a code the daemon sends, but int32 on the wire all the same. */
	check_same(7, -2, "negative", NULL, 0);
}

Test(frame, ok_answers_match_nanopb, .timeout = TEST_TIMEOUT)
{
	static uint8_t	payload[70000];
	size_t		sizes[] = { 0, 1, 127, 128, 16383, 16384, 70000 };
	size_t		i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_same(9, STATUS_OK, NULL, payload, sizes[i]);
}

Test(frame, long_message_matches_nanopb, .timeout = TEST_TIMEOUT)
{
	char	msg[300];

	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	check_same(11, STATUS_FAILED_PRECONDITION, msg, NULL, 0);
}

Test(frame, built_answer_decodes, .timeout = TEST_TIMEOUT)
{
	const uint8_t		 payload[] = { 1, 2, 3 };
	struct frame_header	 fh;
	t_Response		 resp = { 0 };
	uint8_t			 buf[128];
	size_t			 len;

	len = frame_response_size(STATUS_ALREADY_EXISTS, 4, sizeof(payload));
	cr_assert_leq(len, sizeof(buf));
	frame_response_build(buf, 13, STATUS_ALREADY_EXISTS, "dup!", 4,
	    payload, sizeof(payload));
	frame_header_parse(buf, &fh);
	cr_assert_eq(fh.stream_id, 13);
	cr_assert_eq(fh.type, FRAME_TYPE_RESPONSE);
	cr_assert_eq(fh.length, len - FRAME_HEADER_SIZE);
	cr_assert(msg_decode(t_Response_fields, &resp, buf + FRAME_HEADER_SIZE,
	    fh.length, NULL));
	cr_assert(resp.has_status);
	cr_assert_eq(resp.status.code, STATUS_ALREADY_EXISTS);
	cr_assert_str_eq(resp.status.message, "dup!");
	cr_assert_eq(resp.payload.len, sizeof(payload));
	cr_assert_arr_eq(resp.payload.data, payload, sizeof(payload));
	msg_release(t_Response_fields, &resp);
}
