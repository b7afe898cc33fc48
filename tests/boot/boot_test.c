/*
 * Table-driven boot tests: each line of tests/boot/table.txt runs
 * build/trapeze with its arguments, under a watchdog, and checks the exit
 * status and the text it printed on stdout (the guest's console) and stderr
 * (trapeze's own messages).
 *
 * Without /dev/kvm the suite fails when CI=true, and is skipped (with a
 * message, and a non-zero count of nothing) otherwise.
 *
 * Before the rows run, each fixture below is copied afresh from its
 * committed original, so a row whose guest writes (the virtio disk tests)
 * starts from the same bytes every time and never changes a committed file.
 */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TABLE_PATH "tests/boot/table.txt"
#define TRAPEZE_PATH "build/trapeze"
#define MAX_ROWS 128
#define MAX_ARGS 32
#define FIELD_MAX 2048	/* one table field; a longer one is an error, never cut */
#define WATCHDOG_S 120		/* generous: CPL-0 code is emulated on kvm_pvm */
#define OUTPUT_MAX (1 << 20)

/* Writable copies the table's rows use: {committed original, copy}. */
static const char *const fixtures[][2] = {
	{ "tests/boot/virtio-disk.img", "build/test-disk.img" },
};

struct row {
	char name[64];
	int status;
	char out[FIELD_MAX];
	char err[FIELD_MAX];
	char args[FIELD_MAX];
};

static struct row rows[MAX_ROWS];	/* read once in main, before any test */
static int nr_rows;

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Splits line at '|' into at most n trimmed fields. Returns the number found. */
static int split_fields(char *line, char **f, int n)
{
	int i = 0;
	char *tok;

	while (i < n && (tok = strsep(&line, "|")) != NULL)
		f[i++] = trim(tok);
	return line ? n + 1 : i;	/* more fields than n: an error */
}

static int load_table(void)
{
	FILE *t = fopen(TABLE_PATH, "r");
	char line[4 * FIELD_MAX];

	if (!t) {
		fprintf(stderr, "boot_test: %s: %s\n", TABLE_PATH, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), t)) {
		char *f[5];
		bool whole = strchr(line, '\n') || feof(t);
		char *l = trim(line);

		if (whole && (*l == '\0' || *l == '#'))
			continue;
		/* A line or field that does not fit is an error: never check a cut text. */
		if (!whole || split_fields(l, f, 5) != 5 || nr_rows == MAX_ROWS ||
		    strlen(f[0]) >= sizeof(rows[0].name) || strlen(f[2]) >= FIELD_MAX ||
		    strlen(f[3]) >= FIELD_MAX || strlen(f[4]) >= FIELD_MAX) {
			fprintf(stderr, "boot_test: bad table line: %s\n", l);
			fclose(t);
			return -1;
		}
		struct row *r = &rows[nr_rows++];

		snprintf(r->name, sizeof(r->name), "%s", f[0]);
		r->status = atoi(f[1]);
		snprintf(r->out, sizeof(r->out), "%s", f[2]);
		snprintf(r->err, sizeof(r->err), "%s", f[3]);
		snprintf(r->args, sizeof(r->args), "%s", f[4]);
	}
	fclose(t);
	return nr_rows ? 0 : -1;
}

/*
 * Copies src to dst through a temporary file renamed over it, so a trapeze
 * of another test run still using the old copy keeps its own file. 0, or -1
 * with a message.
 */
static int copy_fixture(const char *src, const char *dst)
{
	char tmp[256], buf[65536];
	int in, out = -1, r = -1, e;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", dst, (int)getpid());
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		goto out_msg;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		goto out_close_in;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (n == 0 && close(out) == 0 && rename(tmp, dst) == 0)
		r = 0;
	else if (n != 0)
		close(out);
	e = errno;
	if (r)
		unlink(tmp);
	errno = e;
out_close_in:
	close(in);
out_msg:
	if (r)
		fprintf(stderr, "boot_test: cannot copy %s to %s: %s\n", src, dst, strerror(errno));
	return r;
}

/* Reads all of fd (a temp file) into a NUL-terminated buffer. */
static char *slurp(int fd)
{
	char *buf = calloc(1, OUTPUT_MAX + 1);
	ssize_t n, total = 0;

	ck_assert_ptr_nonnull(buf);
	lseek(fd, 0, SEEK_SET);
	while (total < OUTPUT_MAX && (n = read(fd, buf + total, OUTPUT_MAX - total)) > 0)
		total += n;
	return buf;
}

/* Every ' && '-separated piece of want must occur in have. */
static void expect_text(const struct row *r, const char *stream, const char *want,
			const char *have)
{
	char copy[FIELD_MAX];
	char *piece = copy;

	snprintf(copy, sizeof(copy), "%s", want);
	while (piece && *piece) {
		char *next = strstr(piece, " && ");

		if (next) {
			*next = '\0';
			next += 4;
		}
		ck_assert_msg(strstr(have, trim(piece)) != NULL,
			      "%s: %s lacks \"%s\"; it was:\n%s", r->name, stream, piece, have);
		piece = next;
	}
}

/* Runs trapeze with r's arguments; returns its exit status, or -1 for a hang. */
static int run_row(const struct row *r, int out_fd, int err_fd, double *secs)
{
	char args[FIELD_MAX], *argv[MAX_ARGS + 2];
	int argc = 0, status;
	struct timespec t0, t1;
	pid_t pid;

	snprintf(args, sizeof(args), "%s", r->args);
	argv[argc++] = TRAPEZE_PATH;
	for (char *tok = strtok(args, " "); tok && argc < MAX_ARGS; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, STDIN_FILENO);
		dup2(out_fd, STDOUT_FILENO);
		dup2(err_fd, STDERR_FILENO);
		execv(TRAPEZE_PATH, argv);
		_exit(127);
	}
	/* Watchdog: poll for the child, kill it when the time is up. */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		clock_gettime(CLOCK_MONOTONIC, &t1);
		*secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (w == pid)
			break;
		if (*secs > WATCHDOG_S) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(2000);
	}
	if (WIFSIGNALED(status))
		return 1000 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

START_TEST(boot_row)
{
	const struct row *r = &rows[_i];
	char out_path[] = "/tmp/trapeze-boot-out-XXXXXX";
	char err_path[] = "/tmp/trapeze-boot-err-XXXXXX";
	int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
	double secs = 0;
	char *out, *err;
	int status;

	ck_assert_int_ge(out_fd, 0);
	ck_assert_int_ge(err_fd, 0);
	/* Append mode: a test that opens /dev/stderr by name must not overwrite. */
	fcntl(out_fd, F_SETFL, O_APPEND);
	fcntl(err_fd, F_SETFL, O_APPEND);
	unlink(out_path);
	unlink(err_path);
	status = run_row(r, out_fd, err_fd, &secs);
	out = slurp(out_fd);
	err = slurp(err_fd);
	fprintf(stderr, "boot: %-20s status %3d (want %3d) %7.3f s\n", r->name, status,
		r->status, secs);
	ck_assert_msg(status != -1, "%s: still running after %d s (watchdog)\nstdout:\n%s\nstderr:\n%s",
		      r->name, WATCHDOG_S, out, err);
	ck_assert_msg(status < 1000, "%s: trapeze died of signal %d\nstderr:\n%s",
		      r->name, status - 1000, err);
	ck_assert_msg(status == r->status, "%s: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s",
		      r->name, status, r->status, out, err);
	expect_text(r, "stdout", r->out, out);
	expect_text(r, "stderr", r->err, err);
	/* Bad input gets exactly one line, never a crash or a dump. */
	if (r->status == 64)
		ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1,
			      "%s: want one line on stderr, got:\n%s", r->name, err);
	free(out);
	free(err);
	close(out_fd);
	close(err_fd);
}
END_TEST

int main(void)
{
	const char *ci = getenv("CI");
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (load_table() < 0)
		return 1;
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		if (ci && strcmp(ci, "true") == 0) {
			fprintf(stderr, "boot_test: /dev/kvm is not usable (%s) and CI=true: failing\n",
				strerror(errno));
			printf("0%%: Checks: %d, Failures: %d, Errors: 0\n", nr_rows, nr_rows);
			return 1;
		}
		fprintf(stderr, "boot_test: no usable /dev/kvm: boot tests skipped\n");
		return 0;
	}
	if (access(TRAPEZE_PATH, X_OK) != 0) {
		fprintf(stderr, "boot_test: %s not built (run make)\n", TRAPEZE_PATH);
		return 1;
	}
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		if (copy_fixture(fixtures[i][0], fixtures[i][1]) < 0)
			return 1;
	s = suite_create("boot");
	tc = tcase_create("table");
	tcase_set_timeout(tc, WATCHDOG_S + 30);
	tcase_add_loop_test(tc, boot_row, 0, nr_rows);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
