/*
 * spawn: runs one VMM command for bench/bench.py and measures it from the
 * outside, the same way for trapeze, QEMU and kvm_limit.
 *
 *   spawn [-o FILE] [-e FILE] [-i MS -r MIB] -- COMMAND [ARG...]
 *   spawn -t
 *
 * The command runs with stdin on /dev/null, stdout on a pipe read here
 * (copied to -o FILE), stderr to -e FILE (or /dev/null). Times are
 * CLOCK_MONOTONIC nanoseconds from just before posix_spawn():
 *   first_ns  the first byte on the pipe (the guest's marker write reached
 *             the VMM's stdout: the guest is running)
 *   exit_ns   wait4() returned: the VMM is gone
 * and wait4()'s rusage gives the child's own peak RSS, user and system time.
 *
 * -i MS (idle mode): MS milliseconds after the first byte, reads
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
#define SPAWN_TSC_CAL_NS	200000000LL

extern char **environ;

struct spawn_opts {
	const char *out_path;
	const char *err_path;
	long idle_ms;		/* 0: wait for the VMM to exit by itself */
	unsigned long ram_kb;
	char **argv;
};

struct spawn_result {
	int status;		/* exit status, or 128 + signal */
	long long first_ns;	/* -1: no byte ever came */
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

/* Copies the VMM's stdout to out (if any) until EOF or, in idle mode, the deadline. */
static int spawn_drain(int fd, FILE *out, long long t0, long idle_ms, struct spawn_result *res)
{
	long long deadline = -1;
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int timeout = -1;
		ssize_t n;

		if (deadline >= 0) {
			long long left = deadline - now_ns(CLOCK_MONOTONIC);

			if (left <= 0)
				return 0;
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
			if (idle_ms)
				deadline = t0 + res->first_ns + idle_ms * 1000000LL;
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
	r = spawn_drain(fds[0], out, t0, o->idle_ms, res);
	if (o->idle_ms) {
		if (res->first_ns >= 0 && !r)
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
	fprintf(stderr, "usage: spawn [-o FILE] [-e FILE] [-i MS -r MIB] -- COMMAND [ARG...]\n"
			"       spawn -t\n");
}

int main(int argc, char **argv)
{
	struct spawn_opts o = { 0 };
	struct spawn_result res;
	char *end;
	int opt, r;

	while ((opt = getopt(argc, argv, "+o:e:i:r:t")) != -1) {
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
	if (o.idle_ms)
		printf(" rss_kb=%ld anon_kb=%ld ram_rss_kb=%ld ram_anon_kb=%ld", res.rss_kb,
		       res.anon_kb, res.ram_rss_kb, res.ram_anon_kb);
	putchar('\n');
	return 0;
}
