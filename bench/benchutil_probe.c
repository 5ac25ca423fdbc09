/*
 * benchutil_probe.c: the latency probe (see struct bench_probe): a child
 * that times a cheap call every few milliseconds while a benchmark runs.
 *
 * Two times per call.  The answer's: a Store.Get, like every answer, waits
 * for the commit of every change made before it, so under a write load it
 * includes up to two synced writes.  The read's: how long the request sat
 * in the socket before the daemon's loop read it (the socket's unread
 * bytes, SIOCOUTQ, back to 0), which is how long the loop went without
 * reading a socket: the loop's stall.
 */
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/sockios.h>
#include <time.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "protocol.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"

#define PROBE_INTERVAL_MS	2
#define PROBE_MAX_SAMPLES	200000

static volatile sig_atomic_t	probe_stop;

/* SIGTERM in the probe child: finish the sample and report. */
static void
probe_stop_cb(int sig)
{
	(void)sig;
	probe_stop = 1;
}

/* Percentiles of the samples (sorted here): answers, then reads. */
static void
probe_summary(double *ms, double *rd, size_t n, size_t errors,
    struct bench_latency *l)
{
	memset(l, 0, sizeof *l);
	l->n = n;
	l->errors = errors;
	if (n == 0)
		return;
	bench_sort(ms, n);
	l->p50 = ms[n / 2];
	l->p99 = ms[n - 1 - n / 100];
	l->max = ms[n - 1];
	bench_sort(rd, n);
	l->read_p50 = rd[n / 2];
	l->read_p99 = rd[n - 1 - n / 100];
	l->read_max = rd[n - 1];
}

/* Wait (50 us naps) until the daemon has read everything sent on fd. */
static void
probe_wait_read(int fd)
{
	struct timespec	nap = { 0, 50000 };
	int		unread;

	while (ioctl(fd, SIOCOUTQ, &unread) == 0 && unread > 0)
		nanosleep(&nap, NULL);
}

/* One Get: its answer's time in *ms, its read's in *rd; the status. */
static int
probe_get(struct sbc *c, double *ms, double *rd)
{
	cssv_StoreGetRequest	 req = { 0 };
	cssv_StoreGetResponse	*resp;
	struct sbc_error	 err = {0};
	struct sbc_reply	 reply;
	uint32_t		 stream;
	double			 t;
	int			 code;

	snprintf(req.sandbox_id, sizeof req.sandbox_id, "latency-probe");
	t = bench_now();
	code = sbc_send(c, SERVICE_STORE, "Get", cssv_StoreGetRequest_fields,
	    &req, &stream, &err);
	if (code == 0) {
		probe_wait_read(sbc_fd(c));
		*rd = (bench_now() - t) * 1000;
		if ((resp = calloc(1, sizeof *resp)) == NULL)
			_exit(1);
		code = sbc_recv(c, stream, cssv_StoreGetResponse_fields, resp,
		    &reply, &err);
		if (code == 0)
			sbc_reply_free(&reply);
		free(resp);
	} else
		*rd = 0;
	*ms = (bench_now() - t) * 1000;
	sbc_error_clear(&err);
	return (code);
}

/* The probe child: Get, time, nap, until SIGTERM; report on fd. */
static void __attribute__((__noreturn__))
probe_main(const struct bench_daemon *d, int fd)
{
	struct bench_latency	 l;
	struct sbc		*c;
	double			*ms, *rd;
	size_t			 n = 0, errors = 0;
	char			*cause = NULL;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, probe_stop_cb);
	if ((ms = calloc(PROBE_MAX_SAMPLES, sizeof *ms)) == NULL ||
	    (rd = calloc(PROBE_MAX_SAMPLES, sizeof *rd)) == NULL ||
	    (c = sbc_connect(d->socket, &cause)) == NULL)
		_exit(1);
	while (!probe_stop && n < PROBE_MAX_SAMPLES) {
		if (probe_get(c, &ms[n], &rd[n]) != STATUS_NOT_FOUND)
			errors++;
		n++;
		bench_sleep_ms(PROBE_INTERVAL_MS);
	}
	probe_summary(ms, rd, n, errors, &l);
	if (write(fd, &l, sizeof l) != (ssize_t)sizeof l)
		_exit(1);
	_exit(0);
}

/* Start probing d; -1 if the child cannot be started. */
int
bench_probe_start(const struct bench_daemon *d, struct bench_probe *p)
{
	int	pfd[2];

	if (pipe(pfd) == -1)
		return (-1);
	fflush(stdout);
	if ((p->pid = fork()) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return (-1);
	}
	if (p->pid == 0) {
		close(pfd[0]);
		probe_main(d, pfd[1]);
	}
	close(pfd[1]);
	p->fd = pfd[0];
	return (0);
}

/* Stop the probe and read its figures; -1 if it failed. */
int
bench_probe_stop(struct bench_probe *p, struct bench_latency *l)
{
	ssize_t	n;
	int	st;

	kill(p->pid, SIGTERM);
	n = read(p->fd, l, sizeof *l);
	close(p->fd);
	waitpid(p->pid, &st, 0);
	if (n != (ssize_t)sizeof *l || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		memset(l, 0, sizeof *l);
		return (-1);
	}
	return (0);
}

/* One line of a probe's figures under a label. */
void
bench_print_latency(const char *label, const struct bench_latency *l)
{
	printf("    %s: %zu Store.Get probes, p50 %.2f ms, p99 %.2f ms, "
	    "max %.2f ms%s; read by the loop: p50 %.2f ms, p99 %.2f ms, "
	    "max %.2f ms\n", label, l->n, l->p50, l->p99, l->max,
	    l->errors > 0 ? " (some answers were not NotFound)" : "",
	    l->read_p50, l->read_p99, l->read_max);
}
