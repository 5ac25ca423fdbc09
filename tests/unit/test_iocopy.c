/*
 * test_iocopy.c: container stdio (iocopy/) with real FIFOs, pipes and a
 * pty, on a libevent base of the test's own.  A forked child plays the
 * container (and, for a terminal, runc sending the master); the test
 * plays containerd, which opens the FIFOs as CRI does: the read side of
 * stdout/stderr before the task is created, the write side of stdin
 * after.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "iocint.h"
#include "iocopy.h"

#define TEST_TIMEOUT	60

static char			 dir[] = "/tmp/test_iocopy.XXXXXX";
static char			 in_path[256], out_path[256], err_path[256];
static struct event_base	*base;

/* A directory with three FIFOs and an event base per test. */
static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(in_path, sizeof(in_path), "%s/stdin", dir);
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	cr_assert_eq(mkfifo(in_path, 0600), 0);
	cr_assert_eq(mkfifo(out_path, 0600), 0);
	cr_assert_eq(mkfifo(err_path, 0600), 0);
	cr_assert_not_null(base = event_base_new());
}

/* Remove what setup made. */
static void
teardown(void)
{
	char	cmd[300];

	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

/* One pass of the loop, without sleeping in it. */
static void
spin(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Run the loop for ms milliseconds. */
static void
spin_for(int ms)
{
	struct timespec	ts = { 0, 1000 * 1000 };
	int		i;

	for (i = 0; i < ms; i++) {
		spin();
		nanosleep(&ts, NULL);
	}
}

/* containerd's read side of an output FIFO, opened before the task. */
static int
open_reader(const char *path)
{
	int	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	cr_assert_neq(fd, -1, "open %s: %s", path, strerror(errno));
	return (fd);
}

/* The byte at offset i of the test pattern. */
static unsigned char
pattern(size_t i)
{
	return ((unsigned char)((i * 7 + i / 251) % 253));
}

/*
 * In a forked "container": fds 0, 1, 2 as runc would give them (-1
 * leaves one as it is), nothing else open.
 */
static void
as_container(int in, int out, int err)
{
	if (in != -1)
		dup2(in, 0);
	if (out != -1)
		dup2(out, 1);
	if (err != -1)
		dup2(err, 2);
	close_range(3, ~0U, 0);
}

/* Write total pattern bytes to fd in chunks, from a child; exit 0. */
static pid_t
spawn_writer(int fd, size_t total)
{
	unsigned char	buf[8192];
	size_t		off = 0, n, i;
	ssize_t		w;
	pid_t		pid;

	if ((pid = fork()) != 0)
		return (pid);
	as_container(-1, fd, -1);
	while (off < total) {
		n = total - off < sizeof(buf) ? total - off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		if ((w = write(1, buf, n)) <= 0)
			_exit(1);
		off += (size_t)w;
	}
	_exit(0);
}

/* Wait for pid; its exit status. */
static int
reap(pid_t pid)
{
	int	status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

struct reader {
	int	 fd;
	size_t	 got;
	bool	 eof;
	bool	 bad;		/* a byte out of order */
};

/* Read what is there (at most max bytes), checking the pattern. */
static void
reader_pump(struct reader *r, size_t max)
{
	unsigned char	buf[16384];
	size_t		want;
	ssize_t		n, i;

	while (max > 0 && !r->eof) {
		want = max < sizeof(buf) ? max : sizeof(buf);
		n = read(r->fd, buf, want);
		if (n == 0) {
			r->eof = true;
			return;
		}
		if (n < 0)
			return;
		for (i = 0; i < n; i++)
			if (buf[i] != pattern(r->got + (size_t)i))
				r->bad = true;
		r->got += (size_t)n;
		max -= (size_t)n;
	}
}

static bool	drained;

/* iocopy_when_drained's callback. */
static void
drained_cb(void *arg)
{
	int	*calls = arg;

	(*calls)++;
	drained = true;
}

/*
 * Several MB from the "container" through io to a reader that takes 16
 * KiB a millisecond: every byte arrives, in order, then EOF; the daemon
 * never holds more than one buffer; the writer is held back meanwhile.
 */
static void
slow_reader(bool copy)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .copy = copy };
	struct iocopy		*io;
	struct reader		 r = { 0 };
	const size_t		 total = 6 * 1024 * 1024;
	char			*err = NULL;
	int			 stdio[3], calls = 0;
	pid_t			 pid;
	bool			 blocked = false;
	int			 status;

	r.fd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	iocopy_child_stdio(io, stdio);
	cr_assert_eq(stdio[0], -1);
	cr_assert_neq(stdio[1], -1);
	cr_assert_eq(stdio[2], -1);
	pid = spawn_writer(stdio[1], total);
	iocopy_child_started(io);
	while (!r.eof) {
		spin();
		if (io->pump[1] != NULL)
			cr_assert_leq(io->pump[1]->len, PUMP_BUF);
		if (r.got > total / 2 && !blocked &&
		    waitpid(pid, &status, WNOHANG) == 0)
			blocked = true;		/* half read, still writing */
		if (!drained && waitpid(pid, &status, WNOHANG) == pid) {
			cr_assert_eq(WEXITSTATUS(status), 0);
			iocopy_when_drained(io, drained_cb, &calls);
			pid = -1;
		}
		reader_pump(&r, 16384);
		usleep(1000);
	}
	cr_assert(blocked, "the writer was never held back");
	cr_assert_not(r.bad, "bytes out of order");
	cr_assert_eq(r.got, total, "got %zu of %zu", r.got, total);
	spin_for(5);
	cr_assert_eq(calls, 1);
	iocopy_free(io);
	close(r.fd);
}

Test(iocopy, slow_reader_copy, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	drained = false;
	slow_reader(true);
}

/* The same on a poll(2) loop: no edge-triggered events, one at a time. */
static void
use_poll_base(void)
{
	struct event_config	*ec = event_config_new();

	event_base_free(base);
	event_config_avoid_method(ec, "epoll");
	event_config_avoid_method(ec, "select");
	cr_assert_not_null(base = event_base_new_with_config(ec));
	event_config_free(ec);
	cr_assert_str_eq(event_base_get_method(base), "poll");
	cr_assert_eq(event_base_get_features(base) & EV_FEATURE_ET, 0);
}

Test(iocopy, slow_reader_copy_poll, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	drained = false;
	use_poll_base();
	slow_reader(true);
}

Test(iocopy, slow_reader_direct, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	drained = false;
	slow_reader(false);
}

/*
 * Copied output: the drain callback comes only when every byte is in
 * the FIFO (what containerd read plus what the FIFO holds is all of it),
 * and EOF follows the last byte.
 */
Test(iocopy, drained_means_in_the_fifo, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .stderr_path = err_path, .copy = true };
	struct iocopy		*io;
	struct reader		 r = { 0 }, e = { 0 };
	const size_t		 total = 100 * 1000;
	char			*err = NULL;
	int			 stdio[3], calls = 0, inpipe = 0;
	pid_t			 pid;

	r.fd = open_reader(out_path);
	e.fd = open_reader(err_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	iocopy_child_stdio(io, stdio);
	pid = spawn_writer(stdio[1], total);
	cr_assert_eq(reap(spawn_writer(stdio[2], 10)), 0);
	iocopy_child_started(io);
	/* Read nothing yet: the pipe and the FIFO hold it all. */
	while (waitpid(pid, NULL, WNOHANG) == 0)
		spin();
	iocopy_when_drained(io, drained_cb, &calls);
	drained = false;
	while (!drained) {
		spin();
		reader_pump(&r, 4096);
		reader_pump(&e, 4096);
	}
	cr_assert_eq(ioctl(r.fd, FIONREAD, &inpipe), 0);
	cr_assert_eq(r.got + (size_t)inpipe, total);
	while (!r.eof || !e.eof) {
		spin();
		reader_pump(&r, 65536);
		reader_pump(&e, 65536);
	}
	cr_assert_eq(r.got, total);
	cr_assert_eq(e.got, 10);
	cr_assert_not(r.bad || e.bad);
	cr_assert_eq(calls, 1);
	iocopy_free(io);
	close(r.fd);
	close(e.fd);
}

/*
 * A "cat" child: copies its stdin to its stdout until EOF, then exits
 * 0.  Returns at once in the parent.
 */
static pid_t
spawn_cat(int in, int out)
{
	char	buf[4096];
	ssize_t	n;
	pid_t	pid;

	if ((pid = fork()) != 0)
		return (pid);
	as_container(in, out, -1);
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			_exit(2);
	_exit(n == 0 ? 0 : 1);
}

/* Read from fd until EOF (or ms passes); what came, NUL-terminated. */
static char *
read_all(int fd, int ms)
{
	static char	buf[65536];
	size_t		len = 0;
	ssize_t		n;

	for (; ms > 0; ms--) {
		spin();
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		else
			usleep(1000);
	}
	buf[len] = '\0';
	return (ms > 0 ? buf : NULL);
}

/*
 * CloseIO: containerd closing its writer is not EOF for the process;
 * CloseIO is, once every byte written before has reached it.
 */
static void
close_io(bool copy)
{
	struct iocopy_cfg	 cfg = { .stdin_path = in_path,
				     .stdout_path = out_path, .copy = copy };
	struct iocopy		*io;
	char			*err = NULL, *got;
	int			 stdio[3], rfd, wfd;
	pid_t			 pid;

	rfd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	/* CRI opens the stdin writer after Create; a reader is there. */
	wfd = open(in_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_neq(wfd, -1, "stdin writer: %s", strerror(errno));
	iocopy_child_stdio(io, stdio);
	pid = spawn_cat(stdio[0], stdio[1]);
	iocopy_child_started(io);
	cr_assert_eq(write(wfd, "hello, ", 7), 7);
	cr_assert_eq(write(wfd, "world", 5), 5);
	close(wfd);
	spin_for(100);
	cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0,
	    "EOF before CloseIO");
	iocopy_close_stdin(io);
	iocopy_close_stdin(io);		/* twice is fine */
	spin_for(20);
	cr_assert_eq(reap(pid), 0);
	iocopy_when_drained(io, drained_cb, &(int){ 0 });
	cr_assert_not_null(got = read_all(rfd, 5000), "no EOF on stdout");
	cr_assert_str_eq(got, "hello, world");
	iocopy_free(io);
	close(rfd);
}

Test(iocopy, close_io_copy, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	close_io(true);
}

Test(iocopy, close_io_direct, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	close_io(false);
}

/*
 * No reader on stdout when the task starts (containerd away): opening
 * neither blocks nor fails, nothing raises SIGPIPE, and a reader that
 * comes later gets the output, then EOF.
 */
static void
no_reader(bool copy)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .stderr_path = err_path, .copy = copy };
	struct iocopy		*io;
	char			*err = NULL, *got;
	int			 stdio[3], rfd, calls = 0;

	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	iocopy_child_stdio(io, stdio);
	cr_assert_eq(write(stdio[1], "early output", 12), 12);
	iocopy_child_started(io);
	iocopy_when_drained(io, drained_cb, &calls);
	spin_for(50);
	cr_assert_eq(calls, 1);
	rfd = open_reader(out_path);
	cr_assert_not_null(got = read_all(rfd, 5000), "no EOF on stdout");
	cr_assert_str_eq(got, "early output");
	iocopy_free(io);
	close(rfd);
}

Test(iocopy, no_reader_copy, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	no_reader(true);
}

Test(iocopy, no_reader_direct, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	no_reader(false);
}

/* Bad paths are refused with a message, and nothing is left open. */
Test(iocopy, bad_paths, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = "/nonexistent/out" };
	struct iocopy		*io = (void *)1;
	char			*err = NULL, file[300];
	int			 fd;

	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), -1);
	cr_assert_null(io);
	cr_assert(strstr(err, "/nonexistent/out") != NULL, "%s", err);
	free(err);
	err = NULL;
	snprintf(file, sizeof(file), "%s/file", dir);
	cr_assert_neq(fd = open(file, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	cfg = (struct iocopy_cfg){ .stdin_path = file, .copy = true };
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), -1);
	cr_assert(strstr(err, "not a FIFO") != NULL, "%s", err);
	free(err);
	err = NULL;
	cfg = (struct iocopy_cfg){ .stdout_path = out_path, .terminal = true };
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), -1);
	cr_assert(strstr(err, "console") != NULL, "%s", err);
	free(err);
	err = NULL;
	cfg = (struct iocopy_cfg){ .stdout_path = "binary:///bin/logger" };
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), -1);
	cr_assert(strstr(err, "binary:///bin/logger") != NULL, "%s", err);
	free(err);
	err = NULL;
	cfg = (struct iocopy_cfg){ .stderr_path = "relative/fifo" };
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), -1);
	cr_assert(strstr(err, "stderr relative/fifo") != NULL, "%s", err);
	free(err);
}

/* fifo:// names the FIFO; file:// a file, made if missing. */
Test(iocopy, uris, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { 0 };
	struct iocopy		*io;
	char			*err = NULL, *got, fifo_uri[300], file_uri[300];
	char			 buf[64];
	int			 stdio[3], rfd, fd, calls = 0;
	ssize_t			 n;

	snprintf(fifo_uri, sizeof(fifo_uri), "fifo://%s", out_path);
	snprintf(file_uri, sizeof(file_uri), "file://%s/new.log", dir);
	cfg.stdout_path = fifo_uri;
	cfg.stderr_path = file_uri;
	rfd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	iocopy_child_stdio(io, stdio);
	cr_assert_eq(write(stdio[1], "to the fifo", 11), 11);
	cr_assert_eq(write(stdio[2], "to the file", 11), 11);
	iocopy_child_started(io);
	iocopy_when_drained(io, drained_cb, &calls);
	cr_assert_not_null(got = read_all(rfd, 5000), "no EOF");
	cr_assert_str_eq(got, "to the fifo");
	iocopy_free(io);
	close(rfd);
	cr_assert_neq(fd = open(file_uri + 7, O_RDONLY), -1);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	cr_assert_eq(n, 11);
	cr_assert(memcmp(buf, "to the file", 11) == 0);
}

/* Output to a regular file (containerd's file scheme) is appended. */
Test(iocopy, file_output, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { 0 };
	struct iocopy		*io;
	char			*err = NULL, file[300], buf[64];
	int			 stdio[3], fd, copy, calls;
	ssize_t			 n;

	snprintf(file, sizeof(file), "%s/log", dir);
	cr_assert_neq(fd = open(file, O_CREAT | O_WRONLY, 0600), -1);
	cr_assert_eq(write(fd, "old;", 4), 4);
	close(fd);
	for (copy = 0; copy < 2; copy++) {
		cfg.stdout_path = cfg.stderr_path = file;
		cfg.copy = copy;
		cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
		iocopy_child_stdio(io, stdio);
		cr_assert_eq(write(stdio[1], "out;", 4), 4);
		cr_assert_eq(write(stdio[2], "err;", 4), 4);
		iocopy_child_started(io);
		calls = 0;
		iocopy_when_drained(io, drained_cb, &calls);
		while (calls == 0)
			spin();
		iocopy_free(io);
	}
	cr_assert_neq(fd = open(file, O_RDONLY), -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_eq(n, 4 + 16);
	buf[n] = '\0';
	cr_assert(strncmp(buf, "old;", 4) == 0, "%s", buf);
	cr_assert(strstr(buf + 4, "out;") && strstr(buf + 4, "err;"), "%s",
	    buf);
}

/*
 * A child reading its stdin slowly (16 KiB, then a pause), checking the
 * pattern; exits 0 if it got exactly total bytes, then EOF.
 */
static pid_t
spawn_slow_reader(int in, size_t total)
{
	struct reader	r = { .fd = 0 };
	pid_t		pid;

	if ((pid = fork()) != 0)
		return (pid);
	as_container(in, -1, -1);
	while (!r.eof) {
		reader_pump(&r, 16384);
		usleep(500);
	}
	_exit(r.got == total && !r.bad ? 0 : 1);
}

/*
 * Several MB into a copied stdin whose process reads slowly: the pump
 * never holds more than its buffer, containerd's writes meet a full FIFO
 * (back-pressure), and the process gets every byte in order, then EOF
 * at CloseIO.
 */
static void	stdin_slow_process(void);

Test(iocopy, stdin_slow_process, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	stdin_slow_process();
}

Test(iocopy, stdin_slow_process_poll, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	use_poll_base();
	stdin_slow_process();
}

static void
stdin_slow_process(void)
{
	struct iocopy_cfg	 cfg = { .stdin_path = in_path, .copy = true };
	struct iocopy		*io;
	unsigned char		 buf[8192];
	const size_t		 total = 4 * 1024 * 1024;
	size_t			 off = 0, n, i;
	char			*err = NULL;
	int			 stdio[3], wfd, status = 0;
	bool			 full = false;
	ssize_t			 w;
	pid_t			 pid;

	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	wfd = open(in_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_neq(wfd, -1);
	iocopy_child_stdio(io, stdio);
	pid = spawn_slow_reader(stdio[0], total);
	iocopy_child_started(io);
	while (off < total) {
		n = total - off < sizeof(buf) ? total - off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		if ((w = write(wfd, buf, n)) > 0)
			off += (size_t)w;
		else if (w == -1 && errno == EAGAIN)
			full = true;
		else
			cr_assert_fail("write: %s", strerror(errno));
		spin();
		if (io->pump[0] != NULL)
			cr_assert_leq(io->pump[0]->len, PUMP_BUF);
	}
	cr_assert(full, "containerd's writes were never held back");
	close(wfd);
	iocopy_close_stdin(io);
	while (waitpid(pid, &status, WNOHANG) == 0)
		spin_for(1);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the process did not get every byte, in order, then EOF");
	iocopy_free(io);
}

/* Send fd over a Unix stream socket at path, as runc does the master. */
static int
send_master(const char *path, int fd)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr		 msg = { 0 };
	struct cmsghdr		*cmsg;
	static char		 name[] = "/dev/pts/x";
	struct iovec		 iov = { .iov_base = name,
				     .iov_len = 10 };
	int			 s;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return (-1);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(s, &msg, 0) == -1)
		return (-1);
	close(s);
	return (0);
}

/* Read a line from the terminal (fd 0 of the fake container). */
static int
tty_line(int fd, char *buf, size_t size)
{
	size_t	len = 0;
	char	c;

	while (len + 1 < size && read(fd, &c, 1) == 1) {
		if (c == '\n')
			break;
		buf[len++] = c;
	}
	buf[len] = '\0';
	return ((int)len);
}

/*
 * The fake runc and container: make a pty, send the master over the
 * console socket, then on the slave: print a greeting; for each line
 * read, answer with the line and the window size; at EOF (^D) print
 * "eof" and exit.
 */
static pid_t
spawn_tty_container(const char *sock)
{
	struct termios	t;
	struct winsize	ws;
	char		line[128];
	int		master, slave;
	pid_t		pid;

	if ((pid = fork()) != 0)
		return (pid);
	as_container(-1, -1, -1);
	if (openpty(&master, &slave, NULL, NULL, NULL) == -1)
		_exit(10);
	/* Raw output (bytes as written), but lines and VEOF on input. */
	tcgetattr(slave, &t);
	t.c_oflag &= ~(tcflag_t)OPOST;
	t.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(slave, TCSANOW, &t);
	if (send_master(sock, master) == -1)
		_exit(11);
	close(master);
	dprintf(slave, "hello from tty\n");
	while (tty_line(slave, line, sizeof(line)) > 0) {
		ioctl(slave, TIOCGWINSZ, &ws);
		dprintf(slave, "%s %ux%u\n", line, ws.ws_col, ws.ws_row);
	}
	dprintf(slave, "eof\n");
	_exit(0);
}

/* Read fd on the loop until buf holds want (or 5 s pass). */
static bool
read_until(int fd, char *buf, size_t size, const char *want)
{
	size_t	len = strlen(buf);
	ssize_t	n;
	int	ms;

	for (ms = 0; ms < 5000 && strstr(buf, want) == NULL; ms++) {
		spin();
		n = read(fd, buf + len, size - 1 - len);
		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
		} else
			usleep(1000);
	}
	return (strstr(buf, want) != NULL);
}

/*
 * A terminal: the master arrives over the console socket from the fake
 * runc; stdin and stdout are copied; a size set before the master came
 * and one set after both reach the slave; CloseIO is ^D; the slave's
 * hang-up is EOF on stdout and the drain.
 */
Test(iocopy, terminal, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdin_path = in_path,
				     .stdout_path = out_path, .terminal = true,
				     .console_dir = dir };
	struct iocopy		*io;
	char			*err = NULL, buf[4096] = "";
	const char		*sock;
	int			 stdio[3], rfd, wfd, calls = 0, i;
	pid_t			 pid;

	rfd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	wfd = open(in_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_neq(wfd, -1);
	iocopy_child_stdio(io, stdio);
	for (i = 0; i < 3; i++)
		cr_assert_eq(stdio[i], -1);
	cr_assert_not_null(sock = iocopy_console_socket(io));
	cr_assert_eq(iocopy_resize(io, 80, 24, &err), 0, "%s", err);
	pid = spawn_tty_container(sock);
	iocopy_child_started(io);
	cr_assert(read_until(rfd, buf, sizeof(buf), "hello from tty\n"),
	    "got \"%s\"", buf);
	cr_assert_eq(access(sock, F_OK), -1, "console socket left behind");
	cr_assert_eq(write(wfd, "one\n", 4), 4);
	cr_assert(read_until(rfd, buf, sizeof(buf), "one 80x24\n"),
	    "got \"%s\"", buf);
	cr_assert_eq(iocopy_resize(io, 132, 43, &err), 0, "%s", err);
	cr_assert_eq(write(wfd, "two\n", 4), 4);
	cr_assert(read_until(rfd, buf, sizeof(buf), "two 132x43\n"),
	    "got \"%s\"", buf);
	close(wfd);
	iocopy_close_stdin(io);
	cr_assert(read_until(rfd, buf, sizeof(buf), "eof\n"), "got \"%s\"",
	    buf);
	cr_assert_eq(reap(pid), 0);
	iocopy_when_drained(io, drained_cb, &calls);
	cr_assert_not_null(read_all(rfd, 5000), "no EOF on stdout");
	cr_assert_eq(calls, 1);
	iocopy_free(io);
	close(rfd);
}

/* The fake runc of a container that writes total bytes to its tty. */
static pid_t
spawn_tty_writer(const char *sock, size_t total)
{
	struct termios	t;
	unsigned char	buf[8192];
	size_t		off = 0, n, i;
	int		master, slave;
	pid_t		pid;

	if ((pid = fork()) != 0)
		return (pid);
	as_container(-1, -1, -1);
	if (openpty(&master, &slave, NULL, NULL, NULL) == -1)
		_exit(10);
	tcgetattr(slave, &t);
	cfmakeraw(&t);
	tcsetattr(slave, TCSANOW, &t);
	if (send_master(sock, master) == -1)
		_exit(11);
	close(master);
	while (off < total) {
		n = total - off < sizeof(buf) ? total - off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		if (write(slave, buf, n) != (ssize_t)n)
			_exit(12);
		off += n;
	}
	_exit(0);
}

/*
 * MBs out of a terminal to a slow reader: all of it, in order, then EOF
 * when the slave is closed; the pumps hold at most their buffer.
 */
static void	terminal_bulk_slow_reader(void);

Test(iocopy, terminal_bulk_slow_reader, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	terminal_bulk_slow_reader();
}

Test(iocopy, terminal_bulk_slow_reader_poll, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	use_poll_base();
	terminal_bulk_slow_reader();
}

static void
terminal_bulk_slow_reader(void)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .terminal = true, .console_dir = dir };
	struct iocopy		*io;
	struct reader		 r = { 0 };
	const size_t		 total = 3 * 1024 * 1024;
	char			*err = NULL;
	int			 calls = 0;
	pid_t			 pid;

	r.fd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	pid = spawn_tty_writer(iocopy_console_socket(io), total);
	iocopy_child_started(io);
	while (!r.eof) {
		spin();
		if (io->pump[1] != NULL)
			cr_assert_leq(io->pump[1]->len, PUMP_BUF);
		if (pid != -1 && waitpid(pid, NULL, WNOHANG) == pid) {
			iocopy_when_drained(io, drained_cb, &calls);
			pid = -1;
		}
		reader_pump(&r, 32768);
		usleep(1000);
	}
	cr_assert_not(r.bad, "bytes out of order");
	cr_assert_eq(r.got, total, "got %zu of %zu", r.got, total);
	spin_for(5);
	cr_assert_eq(calls, 1);
	iocopy_free(io);
	close(r.fd);
}

/* A terminal whose runc never sends a master: drained at once. */
Test(iocopy, terminal_without_master, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .terminal = true, .console_dir = dir };
	struct iocopy		*io;
	char			*err = NULL;
	int			 calls = 0;

	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	iocopy_when_drained(io, drained_cb, &calls);
	spin_for(10);
	cr_assert_eq(calls, 1);
	iocopy_free(io);
}

/*
 * A descendant keeps the copied stdout open after the process exits: the
 * drain still comes once the process's own output is in the FIFO; the
 * descendant's later output follows, and EOF when it is gone too.
 */
Test(iocopy, drained_despite_descendant, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .copy = true };
	struct iocopy		*io;
	char			*err = NULL, buf[256] = "", *got;
	int			 stdio[3], rfd, calls = 0, go[2];
	pid_t			 pid;

	rfd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	iocopy_child_stdio(io, stdio);
	cr_assert_eq(pipe(go), 0);
	if ((pid = fork()) == 0) {
		as_container(go[0], stdio[1], -1);
		if (fork() == 0) {	/* the descendant: waits, then writes */
			char	c;

			if (read(0, &c, 1) == 1)
				dprintf(1, "late\n");
			_exit(0);
		}
		dprintf(1, "bye\n");
		_exit(0);
	}
	close(go[0]);
	iocopy_child_started(io);
	cr_assert_eq(reap(pid), 0);
	iocopy_when_drained(io, drained_cb, &calls);
	cr_assert(read_until(rfd, buf, sizeof(buf), "bye\n"), "%s", buf);
	spin_for(20);
	cr_assert_eq(calls, 1, "the descendant held the drain back");
	cr_assert_eq(write(go[1], "x", 1), 1);
	close(go[1]);
	cr_assert_not_null(got = read_all(rfd, 5000), "no EOF");
	cr_assert_str_eq(got, "late\n");
	iocopy_free(io);
	close(rfd);
}

/* A drain callback that frees its io (a Delete answered from it). */
static void
free_on_drain_cb(void *arg)
{
	struct iocopy	**io = arg;

	iocopy_free(*io);
	*io = NULL;
}

/* The io may be freed from its own drain callback, in every way. */
Test(iocopy, free_from_drain_callback, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .stderr_path = err_path };
	struct iocopy		*io;
	char			*err = NULL;
	int			 stdio[3], rfd, mode;

	rfd = open_reader(out_path);
	for (mode = 0; mode < 3; mode++) {
		cfg.copy = mode == 1;
		cfg.terminal = mode == 2;
		cfg.console_dir = dir;
		cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
		iocopy_child_stdio(io, stdio);
		if (stdio[1] != -1)
			cr_assert_eq(write(stdio[1], "x", 1), 1);
		iocopy_child_started(io);
		iocopy_when_drained(io, free_on_drain_cb, &io);
		while (io != NULL)
			spin();
		spin_for(5);
	}
	close(rfd);
}

/* runc create failed: no child ever had the pipes; drained at once. */
Test(iocopy, drained_without_start, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdin_path = in_path,
				     .stdout_path = out_path,
				     .stderr_path = err_path, .copy = true };
	struct iocopy		*io;
	char			*err = NULL;
	int			 calls = 0, rfd;

	rfd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	iocopy_when_drained(io, drained_cb, &calls);
	spin_for(20);
	cr_assert_eq(calls, 1);
	cr_assert_not_null(read_all(rfd, 5000), "no EOF");
	iocopy_free(io);
	close(rfd);
}

/* Output without a terminal cannot be resized. */
Test(iocopy, resize_without_terminal, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path };
	struct iocopy		*io;
	char			*err = NULL;

	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	cr_assert_null(iocopy_console_socket(io));
	cr_assert_eq(iocopy_resize(io, 80, 24, &err), -1);
	cr_assert_not_null(err);
	free(err);
	iocopy_free(io);
}

/*
 * Re-exec: with the copy stalled (containerd not reading) and a buffer
 * full of read bytes, export; a forked child plays the new image (same
 * descriptor numbers, a new loop) and imports, the old one lets go; the
 * reader then gets every byte, in order, then EOF.
 */
Test(iocopy, export_import_keeps_buffered_bytes, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .copy = true };
	struct iocopy		*io;
	struct reader		 r = { 0 };
	const size_t		 total = 100 * 1024;	/* < pipe + FIFO */
	uint8_t			*buf;
	size_t			 len;
	char			*err = NULL;
	int			 stdio[3], inpipe = 0, fl, status, sync[2];
	pid_t			 pid, image;

	r.fd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	io->pump[1]->splice = false;	/* read/write: bytes in the buffer */
	iocopy_child_stdio(io, stdio);
	pid = spawn_writer(stdio[1], total);
	iocopy_child_started(io);
	while (io->pump[1]->len == 0 || inpipe < 65536) {
		spin();
		cr_assert_eq(ioctl(r.fd, FIONREAD, &inpipe), 0);
	}
	cr_assert_eq(reap(pid), 0);
	cr_assert_eq(iocopy_export(io, &buf, &len), 0);
	cr_assert_eq(fl = fcntl(io->sink[1].fd, F_GETFD), 0, "CLOEXEC kept");
	cr_assert_eq(pipe(sync), 0);
	if ((image = fork()) == 0) {
		struct event_base	*nb = event_base_new();
		struct iocopy		*nio;
		int			 calls = 0;

		if (iocopy_import(nb, buf, len, &nio, &err) == -1)
			_exit(3);
		/* The FIFO is full: nothing moves before the reader reads. */
		if (fcntl(nio->sink[1].fd, F_GETFD) != FD_CLOEXEC)
			_exit(4);
		if (write(sync[1], "", 1) != 1)
			_exit(5);
		iocopy_when_drained(nio, drained_cb, &calls);
		while (calls == 0 || nio->sink[1].fd != -1)
			event_base_loop(nb, EVLOOP_ONCE);
		iocopy_free(nio);
		event_base_free(nb);
		_exit(0);
	}
	iocopy_free(io);		/* the old image is gone */
	free(buf);
	close(sync[1]);
	cr_assert_eq(read(sync[0], &fl, 1), 1, "the new image failed");
	while (!r.eof) {
		reader_pump(&r, 65536);
		usleep(1000);
	}
	cr_assert_eq(status = reap(image), 0, "new image: exit %d", status);
	cr_assert_not(r.bad, "bytes out of order");
	cr_assert_eq(r.got, total);
	close(r.fd);
}

static struct iocopy	*cb_io;

/* The new image's CloseIO, on a byte from the test. */
static void
close_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	iocopy_close_stdin(cb_io);
}

/*
 * The "new image" of a terminal hand-over: import, resize, report; CloseIO
 * on a byte from ctl; run until the copy to stdout is over and its FIFO
 * let go.  Exits 0 if all of that worked.
 */
static void
terminal_new_image(const uint8_t *buf, size_t len, int sync, int ctl)
{
	struct event_base	*nb = event_base_new();
	struct event		*ev;
	char			*err = NULL;

	if (iocopy_import(nb, buf, len, &cb_io, &err) == -1)
		_exit(3);
	if (iocopy_resize(cb_io, 50, 20, &err) == -1)
		_exit(4);
	ev = event_new(nb, ctl, EV_READ, close_stdin_cb, NULL);
	event_add(ev, NULL);
	if (write(sync, "", 1) != 1)
		_exit(5);
	while (!cb_io->over[1] || cb_io->sink[1].fd != -1)
		event_base_loop(nb, EVLOOP_ONCE);
	event_free(ev);
	iocopy_free(cb_io);
	event_base_free(nb);
	_exit(0);
}

/*
 * Re-exec with a terminal: the master, the stdin FIFO and the copies go
 * to a forked "new image", which resizes the same pty, passes input on,
 * turns CloseIO into ^D and gives containerd EOF at the end.
 */
Test(iocopy, export_import_terminal, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdin_path = in_path,
				     .stdout_path = out_path, .terminal = true,
				     .console_dir = dir };
	struct iocopy		*io;
	uint8_t			*buf;
	size_t			 len;
	char			*err = NULL, out[4096] = "", c;
	int			 rfd, wfd, sync[2], ctl[2];
	pid_t			 pid, image;

	rfd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	wfd = open(in_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_neq(wfd, -1);
	pid = spawn_tty_container(iocopy_console_socket(io));
	iocopy_child_started(io);
	cr_assert(read_until(rfd, out, sizeof(out), "hello from tty\n"),
	    "got \"%s\"", out);
	cr_assert_eq(iocopy_export(io, &buf, &len), 0);
	cr_assert_eq(pipe(sync), 0);
	cr_assert_eq(pipe(ctl), 0);
	if ((image = fork()) == 0) {
		close(rfd);		/* containerd's, not the daemon's */
		close(wfd);
		terminal_new_image(buf, len, sync[1], ctl[0]);
	}
	iocopy_free(io);		/* the old image is gone */
	free(buf);
	close(sync[1]);
	cr_assert_eq(read(sync[0], &c, 1), 1, "the new image failed");
	cr_assert_eq(write(wfd, "after\n", 6), 6);
	cr_assert(read_until(rfd, out, sizeof(out), "after 50x20\n"),
	    "got \"%s\"", out);
	close(wfd);
	cr_assert_eq(write(ctl[1], "x", 1), 1);	/* CloseIO */
	cr_assert(read_until(rfd, out, sizeof(out), "eof\n"), "got \"%s\"",
	    out);
	cr_assert_not_null(read_all(rfd, 5000), "no EOF");
	cr_assert_eq(reap(pid), 0);
	cr_assert_eq(reap(image), 0);
	close(rfd);
}

/* Imports that cannot be: a wrong version, garbage, a closed fd. */
Test(iocopy, import_refuses, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path,
				     .copy = true };
	struct iocopy		*io, *nio = (void *)1;
	uint8_t			*buf, junk[] = { 0xff, 0xff, 0xff, 0x01 };
	size_t			 len;
	char			*err = NULL;
	int			 keep;

	cr_assert_eq(iocopy_import(base, junk, sizeof(junk), &nio, &err), -1);
	cr_assert_null(nio);
	free(err);
	err = NULL;
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	cr_assert_eq(iocopy_export(io, &buf, &len), 0);
	cr_assert_eq(buf[0], 0x08);		/* field 1, varint: version */
	buf[1] = 99;
	cr_assert_eq(iocopy_import(base, buf, len, &nio, &err), -1);
	cr_assert(strstr(err, "version") != NULL, "%s", err);
	free(err);
	err = NULL;
	buf[1] = 1;
	cr_assert_eq(fcntl(io->sink[1].fd, F_GETFD), 0);
	iocopy_export_cancel(io);
	cr_assert_eq(fcntl(io->sink[1].fd, F_GETFD), FD_CLOEXEC);
	cr_assert_eq(fcntl(io->out_src[1], F_GETFD), FD_CLOEXEC);
	keep = io->sink[1].fd;
	cr_assert_eq(close(keep), 0);
	cr_assert_eq(iocopy_import(base, buf, len, &nio, &err), -1);
	cr_assert(strstr(err, "descriptor") != NULL, "%s", err);
	free(err);
	io->sink[1].fd = -1;
	free(buf);
	iocopy_free(io);
}

/*
 * After a crash: handed FIFOs carry on without the daemon, and the new
 * keep-alive lets EOF through once the process is gone; a terminal is
 * lost, said so by resize, drained at once.
 */
Test(iocopy, reattach, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdout_path = out_path };
	struct iocopy		*io;
	char			*err = NULL, *got;
	int			 stdio[3], rfd, child, calls = 0;

	rfd = open_reader(out_path);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	iocopy_child_stdio(io, stdio);
	child = dup(stdio[1]);		/* the container's stdout */
	iocopy_child_started(io);
	iocopy_free(io);		/* the crash */
	cr_assert_eq(iocopy_reattach(base, &cfg, &io, &err), 0, "%s", err);
	cr_assert_eq(write(child, "still here", 10), 10);
	close(child);			/* the container exits */
	iocopy_when_drained(io, drained_cb, &calls);
	cr_assert_not_null(got = read_all(rfd, 5000), "no EOF");
	cr_assert_str_eq(got, "still here");
	cr_assert_eq(calls, 1);
	iocopy_free(io);
	close(rfd);

	cfg = (struct iocopy_cfg){ .stdout_path = out_path, .terminal = true,
	    .console_dir = dir };
	cr_assert_eq(iocopy_reattach(base, &cfg, &io, &err), 0, "%s", err);
	cr_assert_eq(iocopy_resize(io, 80, 24, &err), -1);
	cr_assert(strstr(err, "gone") != NULL, "%s", err);
	free(err);
	calls = 0;
	iocopy_when_drained(io, drained_cb, &calls);
	spin_for(5);
	cr_assert_eq(calls, 1);
	iocopy_free(io);
}
