/*
 * fuzz_seeds.c: write the fuzzers' seed corpora from real requests.
 *
 *	fuzz_seeds FRAMES_DIR DECODE_DIR
 *
 * Every typed call of the client library is made on one end of a
 * socketpair; the bytes it sends are a valid request frame, kept as a
 * seed of fuzz_frames (and its payload, behind its method's index, as a
 * seed of fuzz_decode).  Variants add the extreme scalars a hostile
 * client would send: timeout_nano INT64_MAX, INT64_MIN and -1, Stop
 * timeouts of UINT32_MAX, many labels, an oversized frame ahead of a
 * valid one, and all frames in one stream.
 */
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "fuzz.h"
#include "pbutil.h"
#include "protocol.h"
#include "sbc.h"

#include "ttrpc.pb.h"

#define MAX_SEEDS	64
#define MAX_FRAME	(1 << 16)

struct seed {
	char	 name[64];
	uint8_t	*buf;
	size_t	 len;
};

static struct seed	 seeds[MAX_SEEDS];
static int		 nseeds;
static const char	*frames_dir, *decode_dir;

/* Write one file. */
static void
write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char	path[PATH_MAX];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "we")) == NULL)
		err(1, "%s", path);
	if (len > 0 && fwrite(buf, 1, len, f) != len)
		err(1, "%s", path);
	if (fclose(f) != 0)
		err(1, "%s", path);
}

/* A frame around payload p. */
static uint8_t *
make_frame(uint32_t stream, const uint8_t *p, size_t len, size_t *outlen)
{
	struct frame_header	 fh = { (uint32_t)len, stream,
				    FRAME_TYPE_REQUEST, 0 };
	uint8_t			*f;

	if ((f = malloc(FRAME_HEADER_SIZE + len)) == NULL)
		err(1, "malloc");
	frame_header_build(&fh, f);
	memcpy(f + FRAME_HEADER_SIZE, p, len);
	*outlen = FRAME_HEADER_SIZE + len;
	return (f);
}

/* Keep a frame: as a frame seed, and its payload as a decode seed. */
static void
keep(const char *name, const uint8_t *frame, size_t len)
{
	const struct fuzz_method	*m;
	t_Request			 req;
	char				*cause = NULL;
	uint8_t				*d;

	write_file(frames_dir, name, frame, len);
	if (nseeds < MAX_SEEDS) {
		snprintf(seeds[nseeds].name, sizeof seeds[nseeds].name, "%s",
		    name);
		if ((seeds[nseeds].buf = malloc(len)) == NULL)
			err(1, "malloc");
		memcpy(seeds[nseeds].buf, frame, len);
		seeds[nseeds++].len = len;
	}
	memset(&req, 0, sizeof req);
	if (len < FRAME_HEADER_SIZE || !msg_decode(t_Request_fields, &req,
	    frame + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE, &cause))
		errx(1, "%s: not a request frame: %s", name, cause);
	if ((m = fuzz_method_find(req.service, req.method)) == NULL)
		errx(1, "%s: %s.%s is not in fuzz_methods", name,
		    req.service, req.method);
	if ((d = malloc(req.payload.len + 1)) == NULL)
		err(1, "malloc");
	d[0] = (uint8_t)(m - fuzz_methods);
	if (req.payload.len > 0)
		memcpy(d + 1, req.payload.data, req.payload.len);
	write_file(decode_dir, name, d, req.payload.len + 1);
	free(d);
	msg_release(t_Request_fields, &req);
}

/* The frame a client call sends, caught on the other end. */
static uint8_t *
catch_frame(int fd, size_t *len)
{
	uint8_t	*buf;
	ssize_t	 n;

	if ((buf = malloc(MAX_FRAME)) == NULL)
		err(1, "malloc");
	*len = 0;
	while (*len < MAX_FRAME &&
	    (n = read(fd, buf + *len, MAX_FRAME - *len)) > 0)
		*len += (size_t)n;
	if (*len < FRAME_HEADER_SIZE)
		errx(1, "the client sent no frame");
	return (buf);
}

/* A connection whose peer never answers; *peer reads what it sends. */
static struct sbc *
open_pair(int *peer)
{
	struct sbc	*c;
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		err(1, "socketpair");
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		err(1, "fcntl");
	if ((c = sbc_open_fd(sv[0])) == NULL)
		errx(1, "sbc_open_fd");
	sbc_set_timeout(c, 1);	/* the call times out once sent */
	*peer = sv[1];
	return (c);
}

/* Finish a caught call: keep its frame under name. */
static void
done(struct sbc *c, int peer, const char *name)
{
	uint8_t	*f;
	size_t	 len;

	f = catch_frame(peer, &len);
	keep(name, f, len);
	free(f);
	sbc_close(c);
	close(peer);
}

/* Re-encode seed s's envelope with timeout_nano t under a new name. */
static void
with_timeout(const struct seed *s, int64_t t, const char *suffix)
{
	t_Request	 req;
	char		*cause = NULL, name[96];
	uint8_t		*p, *f;
	size_t		 plen, flen;

	memset(&req, 0, sizeof req);
	if (!msg_decode(t_Request_fields, &req, s->buf + FRAME_HEADER_SIZE,
	    s->len - FRAME_HEADER_SIZE, &cause))
		errx(1, "%s: %s", s->name, cause);
	req.timeout_nano = t;
	if (!msg_encode(t_Request_fields, &req, &p, &plen, &cause))
		errx(1, "%s: encode: %s", s->name, cause);
	f = make_frame(1, p, plen, &flen);
	snprintf(name, sizeof name, "%s-%s", s->name, suffix);
	keep(name, f, flen);
	free(f);
	free(p);
	msg_release(t_Request_fields, &req);
}

/* A sandbox's metadata with labels, a spec and an extension. */
static struct sbc_meta
sample_meta(const struct sbc_label *labels, size_t n)
{
	static const struct sbc_extension ext = { "ext",
	    { "type.googleapis.com/x", "\x08\x01", 2 } };
	static const char spec[] = "{\"process\":{\"args\":[\"sleep\",\"1\"]}}";
	struct sbc_meta	m;

	memset(&m, 0, sizeof m);
	m.id = "sb1";
	m.runtime = RUNTIME_EXEC;
	m.spec.type_url = OCI_SPEC_TYPE_URL;
	m.spec.value = spec;
	m.spec.len = sizeof spec - 1;
	m.labels = labels;
	m.nlabels = n;
	m.extensions = &ext;
	m.nextensions = 1;
	m.sandboxer = "sandboxd";
	return (m);
}

/* Every typed call, caught. */
static void
catch_all(void)
{
	static char		 keys[100][16];
	struct sbc_label	 many[100], two[2] = { { "a", "1" },
				    { "io.x/y", "" } };
	struct sbc_meta		 m;
	struct sbc_create_opts	 co = {0};
	struct sbc_shim_create_opts so = {0};
	struct sbc_label	 ann = { "k", "v" };
	const char		*filters[] = { "labels.a==1", "id~=^sb[0-9]+$",
				    "labels.\"io.x/y\"!=z,runtime.name==x" };
	const char		*paths[] = { "labels", "extensions.ext" };
	struct sbc		*c;
	struct sbc_meta		 om, *ol = NULL;
	struct sbc_start_info	 si;
	struct sbc_platform	 pl;
	struct sbc_status	 st;
	struct sbc_metrics	 mt;
	struct sbc_instance	*il = NULL;
	struct timespec		 ts;
	size_t			 n;
	uint32_t		 u;
	int			 peer, i;

	for (i = 0; i < 100; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		many[i].key = keys[i];
		many[i].value = "v";
	}
#define CATCH(name, call) do {						\
	c = open_pair(&peer);						\
	(void)(call);							\
	done(c, peer, name);						\
} while (0)
	m = sample_meta(two, 2);
	/* Every call times out before an answer: no output is filled. */
	CATCH("store-create", sbc_store_create(c, &m, NULL, NULL));
	m = sample_meta(many, 100);
	CATCH("store-create-many-labels", sbc_store_create(c, &m, NULL, NULL));
	m = sample_meta(two, 2);
	CATCH("store-update", sbc_store_update(c, &m, paths, 2, NULL, NULL));
	CATCH("store-delete", sbc_store_delete(c, "sb1", NULL));
	CATCH("store-get", sbc_store_get(c, "sb1", &om, NULL));
	CATCH("store-list", sbc_store_list(c, filters, 3, &ol, &n, NULL));
	co.netns_path = "/var/run/netns/x";
	co.annotations = &ann;
	co.nannotations = 1;
	co.sandboxer = "sandboxd";
	co.sandbox = &m;
	CATCH("ctrl-create", sbc_ctrl_create(c, "sb1", &co, NULL));
	CATCH("ctrl-start", sbc_ctrl_start(c, "sb1", &si, NULL));
	CATCH("ctrl-platform", sbc_ctrl_platform(c, "sb1", &pl, NULL));
	CATCH("ctrl-stop", sbc_ctrl_stop(c, "sb1", 10, NULL));
	CATCH("ctrl-stop-max", sbc_ctrl_stop(c, "sb1", UINT32_MAX, NULL));
	CATCH("ctrl-wait", sbc_ctrl_wait(c, "sb1", &u, &ts, NULL));
	CATCH("ctrl-status", sbc_ctrl_status(c, "sb1", true, &st, NULL));
	CATCH("ctrl-shutdown", sbc_ctrl_shutdown(c, "sb1", NULL));
	CATCH("ctrl-metrics", sbc_ctrl_metrics(c, "sb1", &mt, NULL));
	CATCH("ctrl-update", sbc_ctrl_update(c, &m, paths, 2, NULL));
	so.bundle_path = "/run/bundle";
	so.netns_path = "/var/run/netns/x";
	so.annotations = &ann;
	so.nannotations = 1;
	CATCH("shim-create", sbc_shim_create(c, "sb1", &so, NULL));
	CATCH("shim-start", sbc_shim_start(c, "sb1", &si, NULL));
	CATCH("shim-platform", sbc_shim_platform(c, "sb1", &pl, NULL));
	CATCH("shim-stop-max", sbc_shim_stop(c, "sb1", UINT32_MAX, NULL));
	CATCH("shim-wait", sbc_shim_wait(c, "sb1", &u, &ts, NULL));
	CATCH("shim-status", sbc_shim_status(c, "sb1", true, &st, NULL));
	CATCH("shim-ping", sbc_shim_ping(c, "sb1", NULL));
	CATCH("shim-shutdown", sbc_shim_shutdown(c, "sb1", NULL));
	CATCH("shim-metrics", sbc_shim_metrics(c, "sb1", &mt, NULL));
	CATCH("admin-list", sbc_admin_list_instances(c, &il, &n, NULL));
	CATCH("admin-reexec", sbc_reexec(c, &u, NULL));
#undef CATCH
}

/* Variants: extreme timeouts, an oversized frame, one long stream. */
static void
variants(void)
{
	static const uint8_t	 huge[FRAME_HEADER_SIZE] = { 0xff, 0xff, 0xff,
				    0xff, 0, 0, 0, 1, FRAME_TYPE_REQUEST, 0 };
	uint8_t			*all, *p;
	size_t			 total = sizeof huge;
	int			 i, n = nseeds;

	for (i = 0; i < n; i++) {
		if (strstr(seeds[i].name, "stop") == NULL &&
		    strstr(seeds[i].name, "wait") == NULL &&
		    strcmp(seeds[i].name, "store-create") != 0)
			continue;
		with_timeout(&seeds[i], INT64_MAX, "timeout-max");
		with_timeout(&seeds[i], INT64_MIN, "timeout-min");
		with_timeout(&seeds[i], -1, "timeout-neg");
	}
	for (i = 0; i < nseeds; i++)
		total += seeds[i].len;
	if ((all = malloc(total)) == NULL)
		err(1, "malloc");
	memcpy(all, huge, sizeof huge);		/* declared 4 GiB, cut short */
	p = all + sizeof huge;
	for (i = 0; i < nseeds; i++) {
		memcpy(p, seeds[i].buf, seeds[i].len);
		p += seeds[i].len;
	}
	write_file(frames_dir, "stream-all", all + sizeof huge,
	    total - sizeof huge);
	write_file(frames_dir, "stream-oversized-first", all, total);
	free(all);
}

int
main(int argc, char **argv)
{
	int	i;

	if (argc != 3) {
		fprintf(stderr, "usage: fuzz_seeds FRAMES_DIR DECODE_DIR\n");
		return (2);
	}
	frames_dir = argv[1];
	decode_dir = argv[2];
	catch_all();
	variants();
	printf("fuzz_seeds: %d frames\n", nseeds);
	for (i = 0; i < nseeds; i++)
		free(seeds[i].buf);
	return (0);
}
