/*
 * test_iocopy_runc.c: iocopy against the real runc (Debian's runc and
 * busybox-static), as the task service drives it: a busybox sh in a
 * container, with and without a terminal.  Skipped unless root with
 * runc and /bin/busybox installed.
 *
 * runc runs synchronously here (the test owns its loop); the daemon runs
 * it on the loop (procmgr/runc.c), which changes nothing for iocopy.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "iocopy.h"

#define TEST_TIMEOUT	120

static char			 dir[] = "/tmp/test_iocopy_runc.XXXXXX";
static char			 bundle[300], root[300], id[64];
static char			 in_path[300], out_path[300], err_path[300];
static struct event_base	*base;

/* Run argv with fds 0-2 as given (-1: inherit); its exit status. */
static int
run(const char *const argv[], int in, int out, int err)
{
	int	status;
	pid_t	pid;

	if ((pid = fork()) == 0) {
		if (in != -1)
			dup2(in, 0);
		if (out != -1)
			dup2(out, 1);
		if (err != -1)
			dup2(err, 2);
		close_range(3, ~0U, 0);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid == -1 || waitpid(pid, &status, 0) != pid)
		return (-1);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

/* Replace the first "from" in the file at path by "to". */
static void
edit(const char *path, const char *from, const char *to)
{
	static char	buf[65536], out[65536];
	char		*at;
	ssize_t		n;
	int		fd;

	cr_assert_neq(fd = open(path, O_RDONLY), -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_not_null(at = strstr(buf, from), "%s: no %s", path, from);
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - buf), buf, to,
	    at + strlen(from));
	cr_assert_neq(fd = open(path, O_WRONLY | O_TRUNC), -1);
	cr_assert_eq(write(fd, out, strlen(out)), (ssize_t)strlen(out));
	close(fd);
}

/* A bundle with busybox as its whole userland, and the stdio FIFOs. */
static void
setup(void)
{
	char		 path[400];
	const char	*spec[] = { "runc", "spec", "--bundle", bundle, NULL };
	const char	*cp[] = { "cp", "/bin/busybox", path, NULL };

	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0 || access("/bin/busybox", X_OK) == -1 ||
	    (access("/usr/sbin/runc", X_OK) == -1 &&
	    access("/usr/bin/runc", X_OK) == -1))
		cr_skip_test("needs root, runc and /bin/busybox");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	snprintf(root, sizeof(root), "%s/runc", dir);
	snprintf(id, sizeof(id), "iocopy-test-%d", (int)getpid());
	snprintf(in_path, sizeof(in_path), "%s/in", dir);
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(err_path, sizeof(err_path), "%s/err", dir);
	snprintf(path, sizeof(path), "%s/rootfs/bin", bundle);
	cr_assert_eq(mkdir(bundle, 0700), 0);
	snprintf(path, sizeof(path), "%s/rootfs", bundle);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/rootfs/bin", bundle);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/rootfs/bin/busybox", bundle);
	cr_assert_eq(run(cp, -1, -1, -1), 0);
	snprintf(path, sizeof(path), "%s/rootfs/bin/sh", bundle);
	cr_assert_eq(symlink("busybox", path), 0);
	cr_assert_eq(run(spec, -1, -1, -1), 0);
	cr_assert_eq(mkfifo(in_path, 0600), 0);
	cr_assert_eq(mkfifo(out_path, 0600), 0);
	cr_assert_eq(mkfifo(err_path, 0600), 0);
	cr_assert_not_null(base = event_base_new());
}

/* Remove the container and the directory. */
static void
teardown(void)
{
	const char	*del[] = { "runc", "--root", root, "delete", "-f", id,
			    NULL };
	const char	*rm[] = { "rm", "-rf", dir, NULL };

	if (base == NULL)
		return;
	run(del, -1, -1, -1);
	run(rm, -1, -1, -1);
	event_base_free(base);
}

/* Loop for up to ms, appending what fd gives to buf; until want shows. */
static bool
collect(int fd, char *buf, size_t size, const char *want, int ms)
{
	size_t	len = strlen(buf);
	ssize_t	n;

	for (; ms > 0; ms--) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = read(fd, buf + len, size - 1 - len);
		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
		}
		if (want != NULL && strstr(buf, want) != NULL)
			return (true);
		if (want == NULL && n == 0)
			return (true);		/* EOF */
		if (n <= 0)
			usleep(1000);
	}
	return (false);
}

/* runc create (with the console socket, or stdio) then start. */
static void
create_start(struct iocopy *io)
{
	const char	*create[] = { "runc", "--root", root, "create",
			    "--bundle", bundle, "--console-socket", NULL, id,
			    NULL };
	const char	*start[] = { "runc", "--root", root, "start", id,
			    NULL };
	int		 stdio[3];

	iocopy_child_stdio(io, stdio);
	if (iocopy_console_socket(io) != NULL)
		create[7] = iocopy_console_socket(io);
	else {
		create[6] = id;
		create[7] = NULL;
	}
	cr_assert_eq(run(create, stdio[0], stdio[1], stdio[2]), 0);
	iocopy_child_started(io);
	cr_assert_eq(run(start, -1, -1, -1), 0);
}

static bool	drained;

/* iocopy_when_drained's callback. */
static void
drained_cb(void *arg)
{
	(void)arg;
	drained = true;
}

/*
 * A terminal: runc sends the master over the console socket; the
 * container's sh sees the size set before the master came and one set
 * after, reads lines from the stdin FIFO, and cat ends at CloseIO (^D);
 * stdout then gives EOF.  A script, not an interactive shell, whose
 * line editor would race the ^D.
 */
Test(iocopy_runc, terminal, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdin_path = in_path,
				     .stdout_path = out_path, .terminal = true,
				     .console_dir = dir };
	struct iocopy		*io;
	char			*err = NULL, out[16384] = "", path[400];
	int			 rfd, wfd;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	edit(path, "\"sh\"", "\"sh\", \"-c\", \"stty size; read a; "
	    "echo hi-$a; read b; stty size; cat; echo done\"");
	rfd = open(out_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	wfd = open(in_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_eq(iocopy_resize(io, 100, 30, &err), 0, "%s", err);
	create_start(io);
	cr_assert(collect(rfd, out, sizeof(out), "30 100", 10000), "%s", out);
	cr_assert_eq(write(wfd, "42\n", 3), 3);
	cr_assert(collect(rfd, out, sizeof(out), "hi-42", 10000), "%s", out);
	cr_assert_eq(iocopy_resize(io, 132, 43, &err), 0, "%s", err);
	cr_assert_eq(write(wfd, "go\n", 3), 3);
	cr_assert(collect(rfd, out, sizeof(out), "43 132", 10000), "%s", out);
	cr_assert_eq(write(wfd, "tail\n", 5), 5);
	close(wfd);
	iocopy_close_stdin(io);
	cr_assert(collect(rfd, out, sizeof(out), "done", 10000), "%s", out);
	cr_assert(collect(rfd, out, sizeof(out), NULL, 10000), "no EOF: %s",
	    out);
	iocopy_when_drained(io, drained_cb, NULL);
	collect(rfd, out, sizeof(out), NULL, 10);
	cr_assert(drained);
	iocopy_free(io);
	close(rfd);
}

/*
 * No terminal: sh reads the stdin FIFO itself and writes to the stdout
 * and stderr FIFOs itself; CloseIO ends it, then both give EOF.
 */
Test(iocopy_runc, handed_fifos, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct iocopy_cfg	 cfg = { .stdin_path = in_path,
				     .stdout_path = out_path,
				     .stderr_path = err_path };
	struct iocopy		*io;
	char			*err = NULL, out[4096] = "", errs[4096] = "";
	char			 path[400];
	int			 rfd, efd, wfd;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	edit(path, "\"terminal\": true", "\"terminal\": false");
	rfd = open(out_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	efd = open(err_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_eq(iocopy_open(base, &cfg, &io, &err), 0, "%s", err);
	wfd = open(in_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	create_start(io);
	cr_assert_eq(write(wfd, "echo hi-$((6*7)); echo oops >&2\n", 32), 32);
	cr_assert(collect(rfd, out, sizeof(out), "hi-42\n", 10000), "%s", out);
	cr_assert(collect(efd, errs, sizeof(errs), "oops\n", 10000), "%s",
	    errs);
	close(wfd);
	iocopy_close_stdin(io);
	/* sh exits at EOF; the daemon would learn it from its pidfd. */
	usleep(200 * 1000);
	iocopy_when_drained(io, drained_cb, NULL);
	cr_assert(collect(rfd, out, sizeof(out), NULL, 10000), "no EOF");
	cr_assert(collect(efd, errs, sizeof(errs), NULL, 10000), "no EOF");
	cr_assert(drained);
	cr_assert_str_eq(out, "hi-42\n");
	iocopy_free(io);
	close(rfd);
	close(efd);
}
