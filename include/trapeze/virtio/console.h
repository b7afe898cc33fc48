/*
 * virtio/console: a virtio console device (virtio 1.2, section 5.3) with one
 * port and no VIRTIO_CONSOLE_F_MULTIPORT: queue 0 is port 0's receiveq
 * (host to guest), queue 1 its transmitq (guest to host). Linux drives it as
 * hvc0.
 *
 * Output: the bytes of each transmitq chain go to out_fd (and, one by one,
 * to the tap, e.g. the --stop-on watcher), in order. VIRTIO_CONSOLE_F_EMERG_WRITE
 * is offered: a write to emerg_wr prints its low byte the same way, even
 * before the driver is ready (5.3.5.1).
 *
 * Input: virtio_console_receive() takes host bytes (from the console
 * thread) into a backlog and copies them into receiveq buffers as the driver
 * provides them; bytes wait in the backlog while there are none, and when
 * the backlog is full receive takes fewer bytes and the caller retries.
 *
 * Input is refused (receive takes nothing: the console thread keeps it and
 * retries) until the guest has printed on the port and settle_ns more have
 * passed. Without VIRTIO_CONSOLE_F_MULTIPORT the driver never says when its
 * port is ready, and Linux drops what arrives before: it posts its receive
 * buffers, then sets the port up (registering hvc0, whose console replays
 * the kernel log through the transmitq), and only then adds the port to the
 * list its interrupt handler searches; data used earlier is flushed
 * (virtio_console.c: in_intr). Its first output shows the port exists; the
 * settle time lets the setup end. Typing at a prompt is never held.
 *
 * VIRTIO_CONSOLE_F_SIZE is offered when a size is given at create time: cols
 * and rows then fill the configuration (in the order of Linux's struct
 * virtio_console_config, cols first, which drivers read).
 *
 * Threads and locks: the transmitq is popped and pushed only by
 * queue_notify (the I/O thread); out_lock orders its output with emergency
 * writes (vCPU threads). The receiveq is used by queue_notify and by
 * virtio_console_receive (console thread), both under rx_lock. Reset (vCPU
 * thread, vd->lock held, no kick running) takes rx_lock. Lock order:
 * vd->lock -> rx_lock -> push_lock; out_lock is taken alone or under
 * vd->lock.
 */
#ifndef TRAPEZE_VIRTIO_CONSOLE_H
#define TRAPEZE_VIRTIO_CONSOLE_H

#include <linux/virtio_console.h>
#include <pthread.h>
#include <stdatomic.h>

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"
#include "trapeze/virtio/device.h"
#include "trapeze/virtio/queue.h"

#define VIRTIO_CONSOLE_RX_QUEUE 0
#define VIRTIO_CONSOLE_TX_QUEUE 1
#define VIRTIO_CONSOLE_BACKLOG 4096	/* host input waiting for receive buffers */
#define VIRTIO_CONSOLE_CONFIG_SIZE 12	/* struct virtio_console_config */
#define VIRTIO_CONSOLE_SETTLE_NS 500000000LL	/* input opens this long after the first output */

/* An observer of every byte the guest prints (same shape as struct serial_tap). */
struct virtio_console_tap {
	void (*byte)(void *opaque, u8 byte);
	void *opaque;
};

struct virtio_console {
	struct virtio_dev vd;		/* the transport drives this */
	int out_fd;			/* where the guest's output goes; -1 drops it */
	u16 cols, rows;			/* 0: unknown, VIRTIO_CONSOLE_F_SIZE not offered */

	pthread_mutex_t out_lock;	/* output order, tap calls */
	struct virtio_console_tap tap;	/* set before the vCPUs run; may be empty */
	struct virtq_chain *tx_chain;	/* pop scratch (I/O thread) */
	s64 settle_ns;			/* VIRTIO_CONSOLE_SETTLE_NS; tests may shorten it */
	_Atomic s64 first_tx_ns;	/* CLOCK_MONOTONIC of the first output since reset; 0: none */

	pthread_mutex_t rx_lock;	/* everything below */
	bool active;			/* DRIVER_OK and not reset */
	bool rx_broken;			/* the receiveq was malformed: wait for a reset */
	struct virtq_chain *rx_chain;
	u8 backlog[VIRTIO_CONSOLE_BACKLOG];
	unsigned int bl_head, bl_count;
};

/*
 * Sets up con->vd over mem, printing to out_fd; cols and rows the terminal
 * size (0, 0 when unknown). 0 or -errno.
 */
int virtio_console_create(struct virtio_console *con, int out_fd, u16 cols, u16 rows,
			  const struct guest_mem *mem);
void virtio_console_destroy(struct virtio_console *con);

/*
 * Host input for the guest (opaque is the struct virtio_console: the
 * console_sink signature). Returns how many bytes were taken: fewer than len
 * when the backlog is full, none before the port is ready (see above); the
 * caller retries the rest later.
 */
size_t virtio_console_receive(void *opaque, const u8 *buf, size_t len);

extern const struct virtio_dev_ops virtio_console_ops;

#endif
