/*
 * virtio_queue: one chain at a time on a split virtqueue (virtio 1.2, 2.7),
 * completion found by polling the used ring. See virtio.h.
 */
#include "rt.h"
#include "virtio.h"

/* Polls of the used index between two looks at the status register (MMIO). */
#define VQ_STATUS_EVERY		4096

/* The device is another thread: keep the compiler from moving ring accesses. */
static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

void vq_notify(struct vq *q)
{
	/* 4.1.5.2: without NOTIFICATION_DATA the notify value is the queue index. */
	vio_write16(&q->notify, 0, q->index);
}

void vq_publish(struct vq *q, uint16_t head)
{
	q->avail->ring[q->next_avail % q->size] = head;
	/*
	 * 2.7.13: the ring entry and descriptors before the index. x86 keeps
	 * stores in order, so only the compiler needs telling.
	 */
	barrier();
	q->next_avail++;
	*(volatile uint16_t *)&q->avail->idx = q->next_avail;
	barrier();
	vq_notify(q);
}

enum vio_err vq_wait_used(struct vq *q, uint16_t head, uint32_t *written)
{
	struct vring_used_elem e;
	uint64_t start = vio_rdtsc();
	unsigned int polls = 0;

	while (q->used->idx == q->last_used) {
		if (++polls % VQ_STATUS_EVERY == 0 &&
		    (vio_status(q->dev) & VIRTIO_STATUS_NEEDS_RESET))
			return VIO_ERR_DEVICE;
		if (vio_rdtsc() - start > VIO_TIMEOUT_TICKS)
			return VIO_ERR_TIMEOUT;
		__asm__ volatile("pause");
	}
	barrier();	/* the entry is read after the index that published it */
	e.id = q->used->ring[q->last_used % q->size].id;
	e.len = q->used->ring[q->last_used % q->size].len;
	q->last_used++;
	if (e.id != head)
		return VIO_ERR_DEVICE;
	*written = e.len;
	return VIO_OK;
}

enum vio_err vq_submit(struct vq *q, const struct vq_buf *bufs, unsigned int n,
		       uint32_t *written)
{
	if (n == 0 || n > q->size)
		return VIO_ERR_QUEUE;
	/* The previous chain came back, so descriptors 0..n-1 are ours again. */
	for (unsigned int i = 0; i < n; i++) {
		q->desc[i].addr = (uint64_t)(uintptr_t)bufs[i].addr;
		q->desc[i].len = bufs[i].len;
		q->desc[i].flags = (uint16_t)((bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
					      (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		q->desc[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
	}
	vq_publish(q, 0);
	return vq_wait_used(q, 0, written);
}
