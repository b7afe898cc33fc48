/*
 * The console thread: stdin to the console device's sink, termination
 * signals to a VM stop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "trapeze/console.h"
#include "trapeze/status.h"
#include "trapeze/vm.h"

#define CONSOLE_RETRY_MS 10	/* poll again this soon when the sink was full */

size_t console_escape_filter(struct console_escape *st, const u8 *in, size_t n,
			     u8 *out, bool *quit)
{
	size_t o = 0;

	*quit = false;
	for (size_t i = 0; i < n; i++) {
		u8 c = in[i];

		if (!st->armed) {
			if (c == CONSOLE_ESCAPE)
				st->armed = true;
			else
				out[o++] = c;
			continue;
		}
		st->armed = false;
		if (c == 'x' || c == 'X') {
			*quit = true;
			return o;
		}
		out[o++] = CONSOLE_ESCAPE;
		if (c != CONSOLE_ESCAPE)
			out[o++] = c;
	}
	return o;
}

void console_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

/* Hands pending bytes to the sink; keeps what it had no room for. */
static void console_flush_pending(struct console *con)
{
	size_t took = con->sink.receive(con->sink.opaque, con->pending, con->nr_pending);

	memmove(con->pending, con->pending + took, con->nr_pending - took);
	con->nr_pending -= took;
}

/* Reads stdin. Returns false when input has ended (EOF or error). */
static bool console_read_input(struct console *con)
{
	u8 buf[CONSOLE_PENDING_MAX];
	ssize_t n;
	bool quit;
	size_t got;

	n = read(con->in_fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	got = console_escape_filter(&con->esc, buf, (size_t)n,
				    con->pending + con->nr_pending, &quit);
	con->nr_pending += got;
	console_flush_pending(con);
	if (quit)
		vm_request_stop(con->vm, STATUS_STOPPED, "Ctrl-A x pressed");
	return true;
}

static void console_read_signal(struct console *con)
{
	struct signalfd_siginfo si;

	if (read(con->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (vm_request_stop(con->vm, STATUS_STOPPED, "signal"))
		fprintf(stderr, "trapeze: %s received, stopping the VM\n", strsignal(si.ssi_signo));
}

static void *console_thread(void *arg)
{
	struct console *con = arg;
	bool input_open = con->in_fd >= 0;

	pthread_setname_np(pthread_self(), "console");
	for (;;) {
		struct epoll_event ev[4];
		/* Input is read only while earlier input has found room in the sink. */
		bool want_input = input_open && con->nr_pending == 0;
		int n;

		if (input_open) {
			struct epoll_event in_ev = { .events = want_input ? EPOLLIN : 0,
						     .data.fd = con->in_fd };

			epoll_ctl(con->epoll_fd, EPOLL_CTL_MOD, con->in_fd, &in_ev);
		}
		n = epoll_wait(con->epoll_fd, ev, ARRAY_SIZE(ev),
			       con->nr_pending ? CONSOLE_RETRY_MS : -1);
		if (n < 0 && errno != EINTR)
			break;
		if (con->nr_pending)
			console_flush_pending(con);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == con->wake_fd)
				return NULL;
			if (fd == con->signal_fd) {
				console_read_signal(con);
			} else if (fd == con->in_fd && !console_read_input(con)) {
				/* End of input: the guest runs on without a keyboard. */
				epoll_ctl(con->epoll_fd, EPOLL_CTL_DEL, con->in_fd, NULL);
				input_open = false;
			}
		}
	}
	return NULL;
}

static int console_watch(struct console *con, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(con->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void console_close_fds(struct console *con)
{
	if (con->wake_fd >= 0)
		close(con->wake_fd);
	if (con->signal_fd >= 0)
		close(con->signal_fd);
	if (con->epoll_fd >= 0)
		close(con->epoll_fd);
	con->wake_fd = con->signal_fd = con->epoll_fd = -1;
}

int console_start_sink(struct console *con, struct vm *vm, struct console_sink sink,
		       int in_fd)
{
	sigset_t sigs;
	int r;

	memset(con, 0, sizeof(*con));
	con->vm = vm;
	con->sink = sink;
	con->in_fd = -1;
	console_signal_set(&sigs);
	con->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	con->signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	con->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (con->epoll_fd < 0 || con->signal_fd < 0 || con->wake_fd < 0) {
		r = -errno;
		goto out_close;
	}
	r = console_watch(con, con->signal_fd);
	if (!r)
		r = console_watch(con, con->wake_fd);
	if (r)
		goto out_close;
	/* stdin may be closed, /dev/null or a file that epoll refuses: then no input. */
	if (in_fd >= 0 && console_watch(con, in_fd) == 0)
		con->in_fd = in_fd;

	r = -pthread_create(&con->thread, NULL, console_thread, con);
	if (r)
		goto out_close;
	con->started = true;
	return 0;

out_close:
	console_close_fds(con);
	return r;
}

static size_t console_serial_receive(void *opaque, const u8 *buf, size_t len)
{
	return serial_receive(opaque, buf, len);
}

int console_start(struct console *con, struct vm *vm, struct serial *serial, int in_fd)
{
	struct console_sink sink = { .receive = console_serial_receive, .opaque = serial };

	return console_start_sink(con, vm, sink, in_fd);
}

void console_stop(struct console *con)
{
	u64 one = 1;

	if (!con->started)
		return;
	if (write(con->wake_fd, &one, sizeof(one)) != sizeof(one))
		pthread_cancel(con->thread);
	pthread_join(con->thread, NULL);
	con->started = false;
	console_close_fds(con);
}
