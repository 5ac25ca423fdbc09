/*
 * fuzz_frames.c: libFuzzer target for what a peer's bytes go through
 * before a handler sees them: the input is a byte stream as read from the
 * socket, cut into frames as server/conn.c cuts it (a header, a length
 * checked before the payload is looked at, a discarded oversized frame),
 * each request frame's payload decoded as the ttrpc envelope, the
 * namespace validated, and the named method's request decoded with
 * msg_decode, then released.  Decoded messages are encoded again, as an
 * answer built from them would be.  ASan and UBSan judge.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"
#include "pbutil.h"
#include "protocol.h"
#include "validate.h"

#include "ttrpc.pb.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Decode a method's request, encode it again, release it. */
static void
fuzz_request(const struct fuzz_method *m, struct pb_view body)
{
	void	*req = calloc(1, m->size);
	uint8_t	*out = NULL;
	size_t	 outlen = 0;
	char	*cause = NULL;

	if (req == NULL)
		abort();
	if (msg_decode(m->fields, req, body.data, body.len, &cause)) {
		fuzz_features(m->fields, req, 0);
		if (msg_encode(m->fields, req, &out, &outlen, &cause))
			free(out);
		msg_release(m->fields, req);
	}
	free(cause);
	free(req);
}

/* The envelope's namespace, checked as server/dispatch.c checks it. */
static void
fuzz_namespace(const t_Request *req)
{
	char		*cause = NULL;
	pb_size_t	 i;

	for (i = 0; i < req->metadata_count; i++) {
		if (req->metadata[i].key == NULL ||
		    req->metadata[i].value == NULL)
			continue;
		if (strcmp(req->metadata[i].key, MD_NAMESPACE_TTRPC) != 0 &&
		    strcmp(req->metadata[i].key, MD_NAMESPACE_GRPC) != 0)
			continue;
		validate_identifier("namespace", req->metadata[i].value,
		    &cause);
		free(cause);
		cause = NULL;
	}
}

/* One request frame's payload, as dispatch_request takes it. */
static void
fuzz_payload(const uint8_t *p, size_t len)
{
	t_Request			 req;
	const struct fuzz_method	*m;
	char				*cause = NULL;

	memset(&req, 0, sizeof req);
	if (!msg_decode(t_Request_fields, &req, p, len, &cause)) {
		free(cause);
		return;
	}
	fuzz_features(t_Request_fields, &req, 0);
	fuzz_namespace(&req);
	if ((m = fuzz_method_find(req.service, req.method)) != NULL)
		fuzz_request(m, req.payload);
	msg_release(t_Request_fields, &req);
}

/* Cut the stream into frames as conn_read_frames does. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_header	 fh;
	uint8_t			*copy;

	while (size >= FRAME_HEADER_SIZE) {
		frame_header_parse(data, &fh);
		data += FRAME_HEADER_SIZE;
		size -= FRAME_HEADER_SIZE;
		/* Checked before the payload is touched: skip it unread. */
		if (fh.length > FRAME_MAX_PAYLOAD ||
		    fh.type != FRAME_TYPE_REQUEST || fh.stream_id % 2 == 0) {
			if (fh.length >= size)
				break;
			data += fh.length;
			size -= fh.length;
			continue;
		}
		if (fh.length > size)
			break;		/* incomplete: the server waits */
		/* A copy of exactly the frame, so ASan sees any overread. */
		if ((copy = malloc(fh.length ? fh.length : 1)) == NULL)
			abort();
		memcpy(copy, data, fh.length);
		fuzz_payload(copy, fh.length);
		free(copy);
		data += fh.length;
		size -= fh.length;
	}
	return (0);
}
