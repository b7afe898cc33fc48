/*
 * virtio-console, one port: transmitq bytes to the host's output, host input
 * through a backlog into receiveq buffers (see virtio/console.h).
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trapeze/virtio/console.h"

_Static_assert(sizeof(struct virtio_console_config) == VIRTIO_CONSOLE_CONFIG_SIZE,
	       "virtio_console_config layout");

#define VCON_EMERG_WR_OFF 8	/* offsetof(struct virtio_console_config, emerg_wr) */

static s64 vcon_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (s64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- output ---- */

/*
 * Writes n bytes to fd. EINTR retries; EAGAIN (out_fd may share a
 * non-blocking file description with stdin on a terminal) waits until the
 * fd is writable; any other error drops the rest: the guest's console must
 * not stop the guest.
 */
static void vcon_write_all(int fd, const u8 *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    (poll(&pfd, 1, -1) >= 0 || errno == EINTR))
			continue;
		return;
	}
}

/* Guest output: to the tap byte by byte, then to out_fd. Called with out_lock held. */
static void vcon_emit(struct virtio_console *con, const u8 *p, size_t n)
{
	if (con->tap.byte) {
		for (size_t i = 0; i < n; i++)
			con->tap.byte(con->tap.opaque, p[i]);
	}
	if (con->out_fd >= 0)
		vcon_write_all(con->out_fd, p, n);
}

/* The transmitq: every chain's readable bytes, in order (I/O thread). */
static void vcon_tx(struct virtio_console *con)
{
	struct virtio_dev *vd = &con->vd;
	struct virtq *vq = &vd->queues[VIRTIO_CONSOLE_TX_QUEUE].vq;
	struct virtq_chain *c = con->tx_chain;
	int r = 0;

	if (!vq->ready || vq->broken)
		return;	/* not enabled by the driver, or waiting for a reset */
	do {
		virtq_set_notify(vq, vd->mem, false);
		while ((r = virtq_pop(vq, vd->mem, c)) == 1) {
			s64 none = 0;

			/* The port is set up: input may follow once it settles (virtio/console.h). */
			if (c->nr_out)
				atomic_compare_exchange_strong(&con->first_tx_ns, &none, vcon_now_ns());
			/* Writable buffers in a transmitq are the driver's error (5.3.6.1): ignored. */
			pthread_mutex_lock(&con->out_lock);
			for (unsigned int i = 0; i < c->nr_out; i++)
				vcon_emit(con, c->iov[i].base, c->iov[i].len);
			pthread_mutex_unlock(&con->out_lock);
			virtio_dev_push_used(vd, VIRTIO_CONSOLE_TX_QUEUE, c->head, 0);
		}
		if (r < 0)
			break;
		virtq_set_notify(vq, vd->mem, true);
	} while (virtq_has_work(vq, vd->mem));
	if (r < 0)
		virtio_dev_needs_reset(vd);
}

/* ---- input ---- */

/* Moves backlog bytes into chain c's writable buffers; returns how many. */
static u32 vcon_rx_fill(struct virtio_console *con, const struct virtq_chain *c)
{
	u32 done = 0;

	for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in && con->bl_count; i++) {
		u8 *dst = c->iov[i].base;
		u32 room = c->iov[i].len;

		while (room && con->bl_count) {
			u32 run = VIRTIO_CONSOLE_BACKLOG - con->bl_head;	/* up to the wrap */

			if (run > con->bl_count)
				run = con->bl_count;
			if (run > room)
				run = room;
			memcpy(dst, con->backlog + con->bl_head, run);
			dst += run;
			room -= run;
			done += run;
			con->bl_head = (con->bl_head + run) % VIRTIO_CONSOLE_BACKLOG;
			con->bl_count -= run;
		}
	}
	return done;
}

/* Whether the guest's port takes input yet (virtio/console.h). */
static bool vcon_input_open(struct virtio_console *con)
{
	s64 first = atomic_load(&con->first_tx_ns);

	return first && vcon_now_ns() - first >= con->settle_ns;
}

/*
 * Hands the backlog to the receive buffers the driver has provided. With
 * bytes left and no buffer, asks for a kick when one comes (and looks again,
 * as virtio/queue.h requires). Returns 0, or -EINVAL when the receiveq is
 * malformed. Called with rx_lock held.
 */
static int vcon_rx_flush(struct virtio_console *con)
{
	struct virtio_dev *vd = &con->vd;
	struct virtq *vq = &vd->queues[VIRTIO_CONSOLE_RX_QUEUE].vq;
	int r;

	/* While active, the rings are set up and only reset (under rx_lock) tears them down. */
	if (!con->active || !vq->ready || vq->broken || !vcon_input_open(con))
		return 0;
	while (con->bl_count) {
		r = virtq_pop(vq, vd->mem, con->rx_chain);
		if (r < 0)
			return r;
		if (r == 0) {
			virtq_set_notify(vq, vd->mem, true);
			if (!virtq_has_work(vq, vd->mem))
				break;
			continue;
		}
		virtio_dev_push_used(vd, VIRTIO_CONSOLE_RX_QUEUE, con->rx_chain->head,
				     vcon_rx_fill(con, con->rx_chain));
	}
	return 0;
}

size_t virtio_console_receive(void *opaque, const u8 *buf, size_t len)
{
	struct virtio_console *con = opaque;
	size_t took;
	int r;

	pthread_mutex_lock(&con->rx_lock);
	took = VIRTIO_CONSOLE_BACKLOG - con->bl_count;
	if (took > len)
		took = len;
	if (!con->active || !vcon_input_open(con))
		took = 0;	/* held by the caller until the port is ready */
	for (size_t i = 0; i < took; i++)
		con->backlog[(con->bl_head + con->bl_count + i) % VIRTIO_CONSOLE_BACKLOG] = buf[i];
	con->bl_count += (unsigned int)took;
	r = vcon_rx_flush(con);
	pthread_mutex_unlock(&con->rx_lock);
	if (r < 0)
		virtio_dev_needs_reset(&con->vd);
	return took;
}

/* ---- the device ---- */

static u64 vcon_features(struct virtio_dev *vd)
{
	struct virtio_console *con = vd->priv;
	u64 f = 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE;

	if (con->cols && con->rows)
		f |= 1ULL << VIRTIO_CONSOLE_F_SIZE;
	return f;
}

static void vcon_config_read(struct virtio_dev *vd, u32 off, void *data, u32 len)
{
	struct virtio_console *con = vd->priv;
	struct virtio_console_config c = {
		.cols = htole16(con->cols),
		.rows = htole16(con->rows),
		.max_nr_ports = htole32(1),	/* meaningful with MULTIPORT only */
		.emerg_wr = 0,
	};

	if (off > sizeof(c) || len > sizeof(c) - off) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, (const u8 *)&c + off, len);
}

/* Only emerg_wr is writable: its low byte is printed (5.3.5.1). */
static void vcon_config_write(struct virtio_dev *vd, u32 off, const void *data, u32 len)
{
	struct virtio_console *con = vd->priv;
	const u8 *p = data;

	if (off > VCON_EMERG_WR_OFF || len <= VCON_EMERG_WR_OFF - off)
		return;
	pthread_mutex_lock(&con->out_lock);
	vcon_emit(con, &p[VCON_EMERG_WR_OFF - off], 1);
	pthread_mutex_unlock(&con->out_lock);
}

/*
 * A driver may fill its queues before DRIVER_OK, when it may not notify
 * (3.1.1 step 7): output queued so is printed now (no kick runs until this
 * returns); receive buffers wait for input.
 */
static int vcon_activate(struct virtio_dev *vd)
{
	struct virtio_console *con = vd->priv;

	pthread_mutex_lock(&con->rx_lock);
	con->active = true;
	pthread_mutex_unlock(&con->rx_lock);
	vcon_tx(con);
	return 0;
}

static void vcon_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_console *con = vd->priv;
	int r;

	if (q == VIRTIO_CONSOLE_TX_QUEUE) {
		vcon_tx(con);
		return;
	}
	if (q != VIRTIO_CONSOLE_RX_QUEUE)
		return;
	/* New receive buffers: give them what has been waiting. */
	pthread_mutex_lock(&con->rx_lock);
	r = vcon_rx_flush(con);
	pthread_mutex_unlock(&con->rx_lock);
	if (r < 0)
		virtio_dev_needs_reset(vd);
}

static void vcon_reset(struct virtio_dev *vd)
{
	struct virtio_console *con = vd->priv;

	/*
	 * The console thread stops touching the receiveq; the backlog stays
	 * for the next driver, whose port must come up again first.
	 */
	pthread_mutex_lock(&con->rx_lock);
	con->active = false;
	atomic_store(&con->first_tx_ns, 0);
	pthread_mutex_unlock(&con->rx_lock);
}

const struct virtio_dev_ops virtio_console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = 2,		/* port 0 only: no control queues without MULTIPORT (5.3.2) */
	.config_size = VIRTIO_CONSOLE_CONFIG_SIZE,
	.features = vcon_features,
	.config_read = vcon_config_read,
	.config_write = vcon_config_write,
	.activate = vcon_activate,
	.queue_notify = vcon_queue_notify,
	.reset = vcon_reset,
};

int virtio_console_create(struct virtio_console *con, int out_fd, u16 cols, u16 rows,
			  const struct guest_mem *mem)
{
	int r = -ENOMEM;

	memset(con, 0, sizeof(*con));
	con->out_fd = out_fd;
	con->cols = cols;
	con->rows = rows;
	con->settle_ns = VIRTIO_CONSOLE_SETTLE_NS;
	atomic_init(&con->first_tx_ns, 0);
	con->tx_chain = malloc(sizeof(*con->tx_chain));
	con->rx_chain = malloc(sizeof(*con->rx_chain));
	if (!con->tx_chain || !con->rx_chain)
		goto out_free;
	pthread_mutex_init(&con->out_lock, NULL);
	pthread_mutex_init(&con->rx_lock, NULL);
	r = virtio_dev_init(&con->vd, &virtio_console_ops, con, mem);
	if (r)
		goto out_locks;
	return 0;

out_locks:
	pthread_mutex_destroy(&con->rx_lock);
	pthread_mutex_destroy(&con->out_lock);
out_free:
	free(con->rx_chain);
	free(con->tx_chain);
	con->rx_chain = con->tx_chain = NULL;
	return r;
}

void virtio_console_destroy(struct virtio_console *con)
{
	if (!con->tx_chain)
		return;
	virtio_dev_destroy(&con->vd);
	pthread_mutex_destroy(&con->rx_lock);
	pthread_mutex_destroy(&con->out_lock);
	free(con->rx_chain);
	free(con->tx_chain);
	con->rx_chain = con->tx_chain = NULL;
}
