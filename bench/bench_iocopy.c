/*
 * bench_iocopy.c: what a container's output costs on its way to
 * containerd's FIFO, by the ways iocopy/ offers, against a cat(1)
 * process per stream (what a copying shim amounts to).
 *
 * Every way moves the same bytes from a writer process (the container,
 * 64 KiB writes) to a reader process (containerd, 64 KiB reads) through
 * a FIFO:
 *   - cat:     writer -> pipe -> /bin/cat -> FIFO -> reader (baseline);
 *   - splice:  writer -> pipe -> iocopy's pump on this process's loop
 *              -> FIFO -> reader (cfg.copy, as behind a terminal);
 *   - buffer:  the same with splice off (the pump's read/write fallback);
 *   - direct:  writer -> FIFO -> reader (the hand-over iocopy uses
 *              without a terminal: nothing in between).
 * Printed per way: throughput and the copier's CPU time per GiB (cat's
 * own, from wait4; the loop's, from getrusage); then ratios against cat,
 * medians over the rounds (the order rotates from round to round).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "benchutil.h"
#include "iocint.h"	/* the pumps, to turn splice off */
#include "iocopy.h"

#define DEFAULT_ROUNDS	3
#define MAX_ROUNDS	20
#define CHUNK		(64 * 1024)
#define MIB		(1024.0 * 1024.0)

enum way { WAY_CAT, WAY_SPLICE, WAY_BUFFER, WAY_DIRECT, NWAYS };

static const char *const way_names[NWAYS] = {
	"cat", "iocopy splice", "iocopy buffer", "direct hand-over"
};

struct run {
	double	secs;		/* first byte written to EOF read */
	double	cpu;		/* the copier's CPU seconds */
	int	ok;
};

static char	dir[] = "/tmp/bench_iocopy.XXXXXX";
static char	fifo[300];
static size_t	total = 512 * 1024 * 1024;

/* A child writing total bytes to fd, then exiting. */
static pid_t
start_writer(int fd)
{
	static char	buf[CHUNK];
	size_t		off = 0;
	ssize_t		n;
	pid_t		pid;

	if ((pid = fork()) != 0)
		return (pid);
	dup2(fd, 1);
	close_range(3, ~0U, 0);
	memset(buf, 'x', sizeof(buf));
	while (off < total) {
		n = write(1, buf, total - off < CHUNK ? total - off : CHUNK);
		if (n <= 0)
			_exit(1);
		off += (size_t)n;
	}
	_exit(0);
}

/* A child reading the FIFO to EOF; exits 0 if it got total bytes. */
static pid_t
start_reader(int fd)
{
	static char	buf[CHUNK];
	size_t		got = 0;
	ssize_t		n;
	pid_t		pid;

	if ((pid = fork()) != 0)
		return (pid);
	dup2(fd, 0);
	close_range(3, ~0U, 0);
	while ((n = read(0, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	_exit(got == total ? 0 : 1);
}

/* Wait for pid; whether it exited 0; its CPU seconds in *cpu. */
static int
reap(pid_t pid, double *cpu)
{
	struct rusage	ru;
	int		status;

	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR)
			return (0);
	if (cpu != NULL)
		*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The reader's end of the FIFO, blocking, opened before any writer. */
static int
open_reader_end(void)
{
	int	fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int	fl;

	if (fd != -1 && (fl = fcntl(fd, F_GETFL)) != -1)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return (fd);
}

/* This process's CPU seconds so far. */
static double
self_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

/* writer -> pipe -> cat -> FIFO -> reader. */
static void
run_cat(struct run *r)
{
	int	p[2], rfd, wfd;
	pid_t	reader, writer, cat;
	double	t0;

	rfd = open_reader_end();
	wfd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (rfd == -1 || wfd == -1 || pipe2(p, O_CLOEXEC) == -1)
		return;
	reader = start_reader(rfd);
	close(rfd);
	t0 = bench_now();
	if ((cat = fork()) == 0) {
		dup2(p[0], 0);
		dup2(wfd, 1);
		close_range(3, ~0U, 0);
		execl("/bin/cat", "cat", (char *)NULL);
		_exit(127);
	}
	writer = start_writer(p[1]);
	close(p[0]);
	close(p[1]);
	close(wfd);
	r->ok = reap(writer, NULL) & reap(cat, &r->cpu) & reap(reader, NULL);
	r->secs = bench_now() - t0;
}

/* writer -> FIFO -> reader, nothing in between. */
static void
run_direct(struct run *r)
{
	int	rfd, wfd;
	pid_t	reader, writer;
	double	t0;

	rfd = open_reader_end();
	wfd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (rfd == -1 || wfd == -1)
		return;
	reader = start_reader(rfd);
	close(rfd);
	t0 = bench_now();
	writer = start_writer(wfd);
	close(wfd);
	r->ok = reap(writer, NULL) & reap(reader, NULL);
	r->secs = bench_now() - t0;
	r->cpu = 0;
}

static int	drained;

/* iocopy_when_drained's callback. */
static void
drained_cb(void *arg)
{
	(void)arg;
	drained = 1;
}

/* Turn splice off in io's pumps (the fallback's figure). */
static void
no_splice(struct iocopy *io)
{
	int	i;

	for (i = 0; i < 3; i++)
		if (io->pump[i] != NULL)
			io->pump[i]->splice = false;
}

/* writer -> pipe -> iocopy (this loop) -> FIFO -> reader. */
static void
run_iocopy(struct run *r, bool splice)
{
	struct iocopy_cfg	 cfg = { .stdout_path = fifo, .copy = true };
	struct event_base	*base;
	struct iocopy		*io;
	char			*err = NULL;
	int			 stdio[3], rfd, ok;
	pid_t			 reader, writer;
	double			 t0, c0;

	if ((base = event_base_new()) == NULL)
		return;
	if ((rfd = open_reader_end()) == -1) {
		event_base_free(base);
		return;
	}
	if (iocopy_open(base, &cfg, &io, &err) == -1) {
		printf("ERROR: iocopy_open: %s\n", err);
		free(err);
		event_base_free(base);
		return;
	}
	if (!splice)
		no_splice(io);
	reader = start_reader(rfd);
	close(rfd);
	iocopy_child_stdio(io, stdio);
	c0 = self_cpu();
	t0 = bench_now();
	writer = start_writer(stdio[1]);
	iocopy_child_started(io);
	drained = 0;
	ok = 0;
	while (!drained && !bench_interrupted) {
		event_base_loop(base, EVLOOP_ONCE);
		if (!ok && waitpid(writer, NULL, WNOHANG) == writer) {
			ok = 1;
			iocopy_when_drained(io, drained_cb, NULL);
		}
	}
	iocopy_free(io);	/* the FIFO is empty once the reader has all */
	r->cpu = self_cpu() - c0;
	r->ok = ok & reap(reader, NULL);
	r->secs = bench_now() - t0;
	event_base_free(base);
}

/* One way, once. */
static void
run_way(enum way w, struct run *r)
{
	memset(r, 0, sizeof(*r));
	switch (w) {
	case WAY_CAT:
		run_cat(r);
		break;
	case WAY_SPLICE:
		run_iocopy(r, true);
		break;
	case WAY_BUFFER:
		run_iocopy(r, false);
		break;
	default:
		run_direct(r);
		break;
	}
}

/* Print a round-by-round summary and the median ratios. */
static void
print_summary(struct run runs[][NWAYS], int rounds)
{
	double	tput[MAX_ROUNDS], cpu[MAX_ROUNDS], gib = (double)total /
		    (1024.0 * MIB);
	char	label[96];
	int	w, i;

	printf("\n%-20s %12s %16s\n", "way", "MiB/s", "copier CPU s/GiB");
	for (w = 0; w < NWAYS; w++) {
		for (i = 0; i < rounds; i++) {
			tput[i] = (double)total / MIB / runs[i][w].secs;
			cpu[i] = runs[i][w].cpu / gib;
		}
		printf("%-20s %12.0f %16.3f\n", way_names[w],
		    bench_median(tput, rounds), bench_median(cpu, rounds));
	}
	printf("\nratios against cat (median of %d rounds):\n", rounds);
	for (w = 1; w < NWAYS; w++) {
		for (i = 0; i < rounds; i++)
			tput[i] = runs[i][WAY_CAT].secs / runs[i][w].secs;
		snprintf(label, sizeof(label), "throughput, %s / cat",
		    way_names[w]);
		bench_print_ratio(label, 2, bench_median(tput, rounds));
	}
	for (w = 1; w < NWAYS - 1; w++) {
		for (i = 0; i < rounds; i++)
			cpu[i] = runs[i][w].cpu / runs[i][WAY_CAT].cpu;
		snprintf(label, sizeof(label), "copier CPU, %s / cat",
		    way_names[w]);
		bench_print_ratio(label, 2, bench_median(cpu, rounds));
	}
}

int
main(int argc, char **argv)
{
	struct bench_opts	 o = { .optstring = "r:n:",
				     .rounds = DEFAULT_ROUNDS,
				     .max_rounds = MAX_ROUNDS, .n = 512 };
	struct run		 runs[MAX_ROUNDS][NWAYS];
	int			 i, w, errors = 0;

	if (bench_parse_args(argc, argv, &o) == -1)
		return (2);
	total = o.n * 1024 * 1024;
	bench_init("bench_iocopy", "a container's output to containerd's "
	    "FIFO: iocopy's ways against cat");
	printf("%zu MiB per way, 64 KiB writes and reads, %d rounds "
	    "(-n MIB, -r ROUNDS)\n", o.n, o.rounds);
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return (1);
	snprintf(fifo, sizeof(fifo), "%s/stdout", dir);
	if (mkfifo(fifo, 0600) == -1)
		return (1);
	for (i = 0; i < o.rounds && !bench_interrupted; i++) {
		for (w = 0; w < NWAYS; w++) {
			enum way way = (enum way)((w + i) % NWAYS);

			run_way(way, &runs[i][way]);
			if (!runs[i][way].ok) {
				printf("ERROR: round %d, %s: bytes lost or a "
				    "process failed\n", i + 1, way_names[way]);
				errors++;
			}
		}
	}
	unlink(fifo);
	rmdir(dir);
	if (i > 0)
		print_summary(runs, i);
	return (bench_finish(0, (size_t)errors));
}
