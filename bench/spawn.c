/*
 * spawn: runs one VMM command for bench/bench.py and measures it from the
 * outside, the same way for trapeze, QEMU and kvm_limit.
 *
 *   spawn [-o FILE] [-e FILE] [-m TEXT] [-T S] [-i MS -r MIB] -- COMMAND [ARG...]
 *   spawn -t
 *
 * The command runs with stdin on /dev/null, stdout on a pipe read here
 * (copied to -o FILE), stderr to -e FILE (or /dev/null). Times are
 * CLOCK_MONOTONIC nanoseconds from just before posix_spawn():
 *   first_ns  the first byte on the pipe (the guest's marker write reached
 *             the VMM's stdout: the guest is running)
 *   marker_ns with -m TEXT: the moment TEXT had wholly arrived on the pipe
 *             (a Linux guest's /init printed its marker); -1 if it never did
 *   exit_ns   wait4() returned: the VMM is gone
 * and wait4()'s rusage gives the child's own peak RSS, user and system time.
 *
 * -T S kills the VMM (SIGKILL) if it is still running S seconds after the
 * start, so a guest that hangs costs a bounded time; timed_out=1 then.
 *
 * -i MS (idle mode): MS milliseconds after the first byte (with -m: after
 * the marker), reads
 * /proc/PID/smaps, then kills the VMM (SIGKILL) and reaps it. rss_kb and
 * anon_kb (Rss, and its anonymous part: heap, stacks, data, not the
 * file-backed text that other processes may share) are the whole process;
 * ram_rss_kb and ram_anon_kb the guest RAM mapping(s): anonymous mappings
 * of -r MIB up to 4 MiB more (VMMs round their RAM mapping up for
 * alignment or guard pages).
 *
 * -t prints the TSC frequency (tsc_hz=...), calibrated against
 * CLOCK_MONOTONIC_RAW over 200 ms, to turn the guests' rdtsc counts into
 * nanoseconds.
 *
 * Output: one line of key=value pairs on stdout. Exit status: 0 when the
 * measurement was taken (whatever the VMM's status), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define SPAWN_RAM_SLACK_KB	4096
#define SPAWN_IDLE_MAX_MS	60000
#define SPAWN_MARKER_MAX	64
#define SPAWN_TIMEOUT_MAX_S	3600
#define SPAWN_TSC_CAL_NS	200000000LL

extern char **environ;

struct spawn_opts {
	const char *out_path;
	const char *err_path;
	long idle_ms;		/* 0: wait for the VMM to exit by itself */
	unsigned long ram_kb;
	const char *marker;	/* NULL: idle mode counts from the first byte */
	long timeout_s;		/* 0: none */
	char **argv;
};

struct spawn_result {
	int status;		/* exit status, or 128 + signal */
	long long first_ns;	/* -1: no byte ever came */
	long long marker_ns;	/* -1: the marker never came (or none asked for) */
	int timed_out;
	long long exit_ns;
	long maxrss_kb;
	long long utime_us;
	long long stime_us;
	long rss_kb;		/* idle mode only, from smaps */
	long anon_kb;
	long ram_rss_kb;
	long ram_anon_kb;
};

static long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int spawn_print_tsc_hz(void)
{
	long long t0, t1;
	uint64_t c0, c1;

	t0 = now_ns(CLOCK_MONOTONIC_RAW);
	c0 = __rdtsc();
	do
		t1 = now_ns(CLOCK_MONOTONIC_RAW);
	while (t1 - t0 < SPAWN_TSC_CAL_NS);
	c1 = __rdtsc();
	printf("tsc_hz=%.0f\n", (double)(c1 - c0) * 1e9 / (double)(t1 - t0));
	return 0;
}

/*
 * Adds up Rss and Anonymous of /proc/PID/smaps, in total and for the
 * mappings that look like guest RAM (anonymous, ram_kb to ram_kb + slack).
 */
static int spawn_read_smaps(pid_t pid, unsigned long ram_kb, struct spawn_result *res)
{
	char path[64], line[512];
	bool in_ram = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, inode;
		char name[256] = "";
		long kb;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu %255s", &start, &end, &inode, name) >= 3 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			unsigned long size_kb = (end - start) >> 10;

			in_ram = inode == 0 && name[0] == '\0' && ram_kb && size_kb >= ram_kb &&
				 size_kb <= ram_kb + SPAWN_RAM_SLACK_KB;
			continue;
		}
		if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
			res->rss_kb += kb;
			if (in_ram)
				res->ram_rss_kb += kb;
		} else if (sscanf(line, "Anonymous: %ld kB", &kb) == 1) {
			res->anon_kb += kb;
			if (in_ram)
				res->ram_anon_kb += kb;
		}
	}
	fclose(f);
	return 0;
}

static int spawn_child(const struct spawn_opts *o, int pipe_w, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, pipe_w, STDOUT_FILENO);
	if (!r)
		r = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO,
						     o->err_path ? o->err_path : "/dev/null",
						     O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (!r)
		r = posix_spawnp(pid, o->argv[0], &fa, NULL, o->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/*
 * Looks for the marker in what arrived, across read boundaries: tail holds
 * the last (marker length - 1) bytes seen before buf.
 */
static bool spawn_find_marker(const char *marker, char *tail, size_t *tail_len,
			      const char *buf, size_t n)
{
	size_t mlen = strlen(marker), keep = mlen - 1;
	char scratch[SPAWN_MARKER_MAX + 4096];
	size_t len;

	memcpy(scratch, tail, *tail_len);
	memcpy(scratch + *tail_len, buf, n);
	len = *tail_len + n;
	if (memmem(scratch, len, marker, mlen))
		return true;
	*tail_len = len < keep ? len : keep;
	memcpy(tail, scratch + len - *tail_len, *tail_len);
	return false;
}

/*
 * Copies the VMM's stdout to out (if any) until EOF, the idle deadline, or
 * the time limit (then kills the VMM).
 */
static int spawn_drain(int fd, FILE *out, long long t0, const struct spawn_opts *o, pid_t pid,
		       struct spawn_result *res)
{
	long long idle_at = -1, limit_at = o->timeout_s ? t0 + o->timeout_s * 1000000000LL : -1;
	char buf[4096], tail[SPAWN_MARKER_MAX];
	size_t tail_len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long until = idle_at >= 0 ? idle_at : limit_at;
		int timeout = -1;
		ssize_t n;

		if (idle_at >= 0 && limit_at >= 0 && limit_at < idle_at)
			until = limit_at;
		if (until >= 0) {
			long long left = until - now_ns(CLOCK_MONOTONIC);

			if (left <= 0) {
				if (until == idle_at)
					return 0;
				res->timed_out = 1;
				kill(pid, SIGKILL);
				limit_at = -1;
				continue;	/* read what is left until EOF */
			}
			timeout = (int)(left / 1000000) + 1;
		}
		if (poll(&p, 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!p.revents)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (res->first_ns < 0) {
			res->first_ns = now_ns(CLOCK_MONOTONIC) - t0;
			if (o->idle_ms && !o->marker)
				idle_at = t0 + res->first_ns + o->idle_ms * 1000000LL;
		}
		if (o->marker && res->marker_ns < 0 &&
		    spawn_find_marker(o->marker, tail, &tail_len, buf, (size_t)n)) {
			res->marker_ns = now_ns(CLOCK_MONOTONIC) - t0;
			if (o->idle_ms)
				idle_at = t0 + res->marker_ns + o->idle_ms * 1000000LL;
		}
		if (out)
			fwrite(buf, 1, (size_t)n, out);
	}
}

static int spawn_measure(const struct spawn_opts *o, struct spawn_result *res)
{
	FILE *out = NULL;
	struct rusage ru;
	int fds[2], ws, r;
	long long t0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->first_ns = -1;
	res->marker_ns = -1;
	if (o->out_path) {
		out = fopen(o->out_path, "we");
		if (!out)
			return -errno;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		goto out_close_file;
	}

	t0 = now_ns(CLOCK_MONOTONIC);
	r = spawn_child(o, fds[1], &pid);
	close(fds[1]);
	if (r)
		goto out_close_pipe;
	r = spawn_drain(fds[0], out, t0, o, pid, res);
	if (o->idle_ms) {
		if ((o->marker ? res->marker_ns : res->first_ns) >= 0 && !res->timed_out && !r)
			r = spawn_read_smaps(pid, o->ram_kb, res);
		kill(pid, SIGKILL);
	}
	while (wait4(pid, &ws, 0, &ru) < 0) {
		if (errno != EINTR) {
			r = r ? r : -errno;
			goto out_close_pipe;
		}
	}
	res->exit_ns = now_ns(CLOCK_MONOTONIC) - t0;
	res->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	res->maxrss_kb = ru.ru_maxrss;
	res->utime_us = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
	res->stime_us = (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;

out_close_pipe:
	close(fds[0]);
out_close_file:
	if (out)
		fclose(out);
	return r;
}

static void spawn_usage(void)
{
	fprintf(stderr, "usage: spawn [-o FILE] [-e FILE] [-m TEXT] [-T S] [-i MS -r MIB] -- "
			"COMMAND [ARG...]\n"
			"       spawn -t\n");
}

int main(int argc, char **argv)
{
	struct spawn_opts o = { 0 };
	struct spawn_result res;
	char *end;
	int opt, r;

	while ((opt = getopt(argc, argv, "+o:e:i:r:m:T:t")) != -1) {
		switch (opt) {
		case 'o':
			o.out_path = optarg;
			break;
		case 'e':
			o.err_path = optarg;
			break;
		case 'i':
			o.idle_ms = strtol(optarg, &end, 0);
			if (*end || o.idle_ms < 1 || o.idle_ms > SPAWN_IDLE_MAX_MS) {
				spawn_usage();
				return 1;
			}
			break;
		case 'm':
			o.marker = optarg;
			if (!*optarg || strlen(optarg) > SPAWN_MARKER_MAX) {
				spawn_usage();
				return 1;
			}
			break;
		case 'T':
			o.timeout_s = strtol(optarg, &end, 0);
			if (*end || o.timeout_s < 1 || o.timeout_s > SPAWN_TIMEOUT_MAX_S) {
				spawn_usage();
				return 1;
			}
			break;
		case 'r':
			o.ram_kb = strtoul(optarg, &end, 0) << 10;
			if (*end) {
				spawn_usage();
				return 1;
			}
			break;
		case 't':
			return spawn_print_tsc_hz();
		default:
			spawn_usage();
			return 1;
		}
	}
	if (optind >= argc) {
		spawn_usage();
		return 1;
	}
	o.argv = argv + optind;
	/* Idle mode kills the child; a SIGPIPE here must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	r = spawn_measure(&o, &res);
	if (r) {
		fprintf(stderr, "spawn: %s: %s\n", o.argv[0], strerror(-r));
		return 1;
	}
	printf("status=%d first_ns=%lld exit_ns=%lld maxrss_kb=%ld utime_us=%lld stime_us=%lld",
	       res.status, res.first_ns, res.exit_ns, res.maxrss_kb, res.utime_us, res.stime_us);
	if (o.marker)
		printf(" marker_ns=%lld", res.marker_ns);
	if (o.timeout_s)
		printf(" timed_out=%d", res.timed_out);
	if (o.idle_ms)
		printf(" rss_kb=%ld anon_kb=%ld ram_rss_kb=%ld ram_anon_kb=%ld", res.rss_kb,
		       res.anon_kb, res.ram_rss_kb, res.ram_anon_kb);
	putchar('\n');
	return 0;
}
