/*
 * console: the host side of the guest's console, on its own thread.
 *
 * One epoll loop watches standard input (bytes go through the Ctrl-A
 * escape filter to a console_sink: the UART, or virtio-console with
 * --console virtio), a signalfd (SIGINT, SIGTERM, SIGHUP, SIGQUIT end the VM
 * with STATUS_STOPPED), and an eventfd that tells the loop to end.
 * Those signals must be blocked in every thread before console_start().
 */
#ifndef TRAPEZE_CONSOLE_H
#define TRAPEZE_CONSOLE_H

#include <pthread.h>
#include <signal.h>

#include "trapeze/devices/serial.h"
#include "trapeze/types.h"

struct vm;

#define CONSOLE_ESCAPE 0x01	/* Ctrl-A */
#define CONSOLE_PENDING_MAX 256

/* State of the Ctrl-A escape filter. */
struct console_escape {
	bool armed;	/* the previous byte was Ctrl-A */
};

/*
 * Filters host input: Ctrl-A x asks to quit, Ctrl-A Ctrl-A passes one Ctrl-A,
 * Ctrl-A followed by anything else passes both bytes. Writes at most n bytes
 * to out (out may hold 2 * n). Returns the byte count for the guest; sets
 * *quit when Ctrl-A x was seen (bytes after it are dropped).
 */
size_t console_escape_filter(struct console_escape *st, const u8 *in, size_t n,
			     u8 *out, bool *quit);

/* The signals the console thread takes over; block them in every thread first. */
void console_signal_set(sigset_t *set);

/*
 * Where host input goes: a device's receive function, which takes what it
 * has room for and returns how many bytes that was (the rest is offered
 * again later). serial_receive() and virtio_console_receive() fit.
 */
struct console_sink {
	size_t (*receive)(void *opaque, const u8 *buf, size_t len);
	void *opaque;
};

struct console {
	struct vm *vm;
	struct console_sink sink;
	int in_fd;		/* -1: no input */
	int epoll_fd;
	int signal_fd;
	int wake_fd;
	pthread_t thread;
	bool started;
	struct console_escape esc;
	u8 pending[2 * CONSOLE_PENDING_MAX];	/* filtered input the sink had no room for */
	size_t nr_pending;
};

/* Starts the console thread feeding sink. 0 or -errno. */
int console_start_sink(struct console *con, struct vm *vm, struct console_sink sink,
		       int in_fd);

/* console_start_sink() with the UART as the sink. */
int console_start(struct console *con, struct vm *vm, struct serial *serial, int in_fd);

/* Ends the console thread and closes its fds. */
void console_stop(struct console *con);

#endif
