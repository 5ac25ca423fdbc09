/*
 * test_decode_fuzz.c: hostile bytes into every message decoder a peer can
 * reach, under ASan: random buffers and single-byte mutations of valid
 * encodings.  Each decode either succeeds and is released, or fails and
 * leaves nothing allocated (msg_decode releases on failure).  Debian's
 * nanopb 0.4.7 predates fixes for failed-decode leaks (CVE-2024-53984);
 * this is where such a leak would show.  Seeded, so a failure replays.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "pbutil.h"
#include "containerd/task/v2/shim.pb.h"
#include "sandboxd/v1/task.pb.h"
#include "controller.h"
#include "ttrpc.pb.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "containerd/runtime/sandbox/v1/sandbox.pb.h"
#include "sandboxd/v1/sandboxd.pb.h"

struct target {
	const char		*name;
	const pb_msgdesc_t	*fields;
	size_t			 size;
};

#define T(type) { #type, type##_fields, sizeof(type) }
static const struct target targets[] = {
	T(t_Request),
	T(t_Response),
	T(cssv_StoreCreateRequest),
	T(cssv_StoreUpdateRequest),
	T(cssv_StoreListRequest),
	T(cssv_StoreGetRequest),
	T(cssv_ControllerCreateRequest),
	T(cssv_ControllerStopRequest),
	T(cssv_ControllerStatusResponse),
	T(cssv_ControllerUpdateRequest),
	T(crsv_CreateSandboxRequest),
	T(crsv_SandboxStatusResponse),
	T(sv_Instance),
	T(ct_Sandbox),
	T(ctv_CreateTaskRequest),
	T(ctv_ExecProcessRequest),
	T(ctv_UpdateTaskRequest),
	T(ctv_KillRequest),
	T(sv_Task),
};
#undef T

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: deterministic across runs. */
static uint32_t
next_random(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32));
}

/* Decode and, on success, release: all that may happen to hostile input. */
static void
decode_once(const struct target *t, const uint8_t *buf, size_t len)
{
	void	*msg = calloc(1, t->size);

	if (msg_decode(t->fields, msg, buf, len, NULL))
		msg_release(t->fields, msg);
	free(msg);
}

/* A valid, rich encoding to mutate: a sandbox with labels, spec, extension. */
static uint8_t *
seed_sandbox(size_t *len)
{
	ct_Sandbox	*sb = calloc(1, sizeof(*sb));
	uint8_t		*buf;

	strcpy(sb->sandbox_id, "fuzz-1");
	sb->has_runtime = true;
	strcpy(sb->runtime.name, "io.sandboxd.exec.v1");
	sb->labels_count = 2;
	sb->labels[0].key = (char *)"a";
	sb->labels[0].value = (char *)"b";
	sb->labels[1].key = (char *)"c.d/e";
	sb->labels[1].value = (char *)"";
	sb->has_spec = true;
	sb->spec.type_url = (char *)"types.containerd.io/x";
	sb->spec.value.data = (const pb_byte_t *)"{\"process\":{}}";
	sb->spec.value.len = 14;
	sb->extensions_count = 1;
	sb->extensions[0].key = (char *)"ext";
	sb->extensions[0].has_value = true;
	sb->extensions[0].value.type_url = (char *)"u";
	buf = record_encode(sb, len);
	free(sb);
	return (buf);
}

Test(fuzz, random_bytes_into_every_decoder, .timeout = 120)
{
	uint8_t	buf[512];
	size_t	i, j, len;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		for (j = 0; j < 3000; j++) {
			len = next_random() % sizeof(buf);
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)next_random();
			decode_once(&targets[i], buf, len);
		}
	}
}

Test(fuzz, mutated_sandboxes, .timeout = 120)
{
	uint8_t	*seed, *buf;
	size_t	 len, i, j, n;

	seed = seed_sandbox(&len);
	cr_assert_not_null(seed);
	buf = malloc(len);
	for (i = 0; i < 20000; i++) {
		memcpy(buf, seed, len);
		n = 1 + next_random() % 4;
		for (j = 0; j < n; j++)
			buf[next_random() % len] = (uint8_t)next_random();
		/* As a bare sandbox and as field 1 of a create request. */
		decode_once(&targets[13], buf, len);
		decode_once(&targets[2], buf, next_random() % (len + 1));
	}
	free(buf);
	free(seed);
}

Test(fuzz, truncations_of_a_valid_encoding)
{
	uint8_t	*seed;
	size_t	 len, cut;
	void	*msg;
	int	 ok = 0;

	seed = seed_sandbox(&len);
	for (cut = 0; cut <= len; cut++) {
		msg = calloc(1, sizeof(ct_Sandbox));
		if (msg_decode(ct_Sandbox_fields, msg, seed, cut, NULL)) {
			ok++;
			msg_release(ct_Sandbox_fields, msg);
		}
		free(msg);
	}
	/* The whole encoding, and the empty prefix, always decode. */
	cr_assert_geq(ok, 2);
	free(seed);
}
