/*
 * test_ipcmsg.c: framed messages between processes (common/ipcmsg.c),
 * over a real SOCK_SEQPACKET pair: payloads and descriptors arrive as
 * sent, and anything that is not a whole message is refused.
 */
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipcmsg.h"

#define TEST_TIMEOUT	30

static int	sv[2] = { -1, -1 };

/* A socket pair per test. */
static void
setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
	    0, "socketpair: %s", strerror(errno));
}

/* Close what setup opened. */
static void
teardown(void)
{
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
}

Test(ipcmsg, round_trip, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg	m, r;
	char		out[256], in[256], *s;
	uint32_t	v = 0xdeadbeef, w;

	ipcmsg_init(&m, 7, out, sizeof(out));
	cr_assert_eq(ipcmsg_add(&m, &v, sizeof(v)), 0);
	cr_assert_eq(ipcmsg_add_str(&m, "alpha"), 0);
	cr_assert_eq(ipcmsg_add_str(&m, ""), 0);
	cr_assert_eq(ipcmsg_send(sv[0], &m, 0), 0);

	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), 1);
	cr_assert_eq(r.type, 7);
	cr_assert_eq(r.len, sizeof(v) + 6 + 1);
	cr_assert_eq(r.nfds, 0);
	cr_assert_eq(ipcmsg_get(&r, &w, sizeof(w)), 0);
	cr_assert_eq(w, v);
	cr_assert_str_eq(s = ipcmsg_get_str(&r), "alpha");
	cr_assert_str_eq(s = ipcmsg_get_str(&r), "");
	cr_assert_null(ipcmsg_get_str(&r), "a string past the payload");
	cr_assert_eq(ipcmsg_get(&r, &w, 1), -1);
	cr_assert_eq(errno, EBADMSG);
}

Test(ipcmsg, empty_payload, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg	m, r;
	char		in[16];

	ipcmsg_init(&m, 3, NULL, 0);
	cr_assert_eq(ipcmsg_send(sv[0], &m, 0), 0);
	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), 1);
	cr_assert_eq(r.type, 3);
	cr_assert_eq(r.len, 0);
	cr_assert_null(ipcmsg_get_str(&r));
}

Test(ipcmsg, messages_keep_their_bounds, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg	m, r;
	char		out[16], in[64];

	ipcmsg_init(&m, 1, out, sizeof(out));
	ipcmsg_add_str(&m, "one");
	cr_assert_eq(ipcmsg_send(sv[0], &m, 0), 0);
	ipcmsg_init(&m, 2, out, sizeof(out));
	ipcmsg_add_str(&m, "two");
	cr_assert_eq(ipcmsg_send(sv[0], &m, 0), 0);

	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), 1);
	cr_assert_eq(r.type, 1);
	cr_assert_str_eq(ipcmsg_get_str(&r), "one");
	cr_assert_null(ipcmsg_get_str(&r));
	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), 1);
	cr_assert_eq(r.type, 2);
	cr_assert_str_eq(ipcmsg_get_str(&r), "two");
}

Test(ipcmsg, passes_descriptors, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg	m, r;
	char		in[16], c = 0;
	int		a[2], b[2];

	cr_assert_eq(pipe(a), 0);
	cr_assert_eq(pipe(b), 0);
	ipcmsg_init(&m, 9, NULL, 0);
	cr_assert_eq(ipcmsg_add_fd(&m, a[1]), 0);
	cr_assert_eq(ipcmsg_add_fd(&m, b[1]), 0);
	cr_assert_eq(ipcmsg_send(sv[0], &m, 0), 0);
	close(a[1]);
	close(b[1]);

	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), 1);
	cr_assert_eq(r.nfds, 2);
	cr_assert(fcntl(r.fds[0], F_GETFD) & FD_CLOEXEC, "not close-on-exec");
	cr_assert_eq(write(r.fds[0], "x", 1), 1);
	cr_assert_eq(write(r.fds[1], "y", 1), 1);
	cr_assert_eq(read(a[0], &c, 1), 1);
	cr_assert_eq(c, 'x', "the first descriptor is not the first sent");
	cr_assert_eq(read(b[0], &c, 1), 1);
	cr_assert_eq(c, 'y');
	ipcmsg_close_fds(&r);
	cr_assert_eq(r.nfds, 0);
	cr_assert_eq(read(a[0], &c, 1), 0, "the passed end is still open");
	close(a[0]);
	close(b[0]);
}

Test(ipcmsg, full_message_is_not_sent, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg	m, r;
	char		out[8], in[16];

	ipcmsg_init(&m, 1, out, sizeof(out));
	cr_assert_eq(ipcmsg_add_str(&m, "1234567"), 0);
	cr_assert_eq(ipcmsg_add_str(&m, "x"), -1);
	cr_assert(m.full);
	cr_assert_eq(ipcmsg_add(&m, "", 0), -1, "a full message took more");
	cr_assert_eq(ipcmsg_send(sv[0], &m, 0), -1);
	cr_assert_eq(errno, EMSGSIZE);

	ipcmsg_init(&m, 1, NULL, 0);
	cr_assert_eq(ipcmsg_add_fd(&m, 0), 0);
	cr_assert_eq(ipcmsg_add_fd(&m, 1), 0);
	cr_assert_eq(ipcmsg_add_fd(&m, 2), -1, "more descriptors than fit");
	cr_assert_eq(ipcmsg_send(sv[0], &m, 0), -1);

	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), MSG_DONTWAIT), -1);
	cr_assert_eq(errno, EAGAIN, "a full message was sent");
}

Test(ipcmsg, payload_is_bounded, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg	 m;
	char		*big = calloc(1, IPCMSG_LEN_MAX + 1);

	cr_assert_not_null(big);
	ipcmsg_init(&m, 1, big, IPCMSG_LEN_MAX + 1);
	cr_assert_eq(m.size, IPCMSG_LEN_MAX);
	cr_assert_eq(ipcmsg_add(&m, big, IPCMSG_LEN_MAX), 0);
	cr_assert_eq(ipcmsg_add(&m, big, 1), -1);
	free(big);
}

Test(ipcmsg, longer_than_the_buffer, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg	m, r;
	char		out[64], in[8], c;
	int		p[2];

	cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
	ipcmsg_init(&m, 1, out, sizeof(out));
	ipcmsg_add_str(&m, "longer than eight bytes");
	ipcmsg_add_fd(&m, p[1]);
	cr_assert_eq(ipcmsg_send(sv[0], &m, 0), 0);
	close(p[1]);
	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), -1);
	cr_assert_eq(errno, EBADMSG);
	cr_assert_eq(r.nfds, 0);
	/* With the passed write end closed too, the pipe reads EOF. */
	cr_assert_eq(read(p[0], &c, 1), 0, "a refused message's fd was kept");
	close(p[0]);
}

Test(ipcmsg, not_a_message, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg		r;
	struct ipcmsg_hdr	hdr = { 1, 10 };
	char			in[64], raw[sizeof(hdr) + 4];

	cr_assert_eq(send(sv[0], "abc", 3, 0), 3);
	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), -1);
	cr_assert_eq(errno, EBADMSG, "a packet shorter than a header");

	memcpy(raw, &hdr, sizeof(hdr));
	memcpy(raw + sizeof(hdr), "abcd", 4);
	cr_assert_eq(send(sv[0], raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), -1);
	cr_assert_eq(errno, EBADMSG, "a header that says 10, with 4 bytes");
}

Test(ipcmsg, end_of_stream, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct ipcmsg	r;
	char		in[16];

	close(sv[0]);
	sv[0] = -1;
	cr_assert_eq(ipcmsg_recv(sv[1], &r, in, sizeof(in), 0), 0);
}
