/*
 * virtio/queue: the device side of a split virtqueue (virtio 1.2, section
 * 2.7), over guest memory and nothing else: no registers, no interrupts, no
 * device semantics. A transport fills in the ring addresses and features; a
 * device pops descriptor chains as bounds-checked iovecs, pushes used
 * entries, and asks whether the driver wants an interrupt.
 *
 * Everything in the rings is written by the guest and is hostile. Every
 * index is checked against the queue size, every (addr, len) goes through
 * guest_mem_ptr(), and the ring walk is bounded, so a malformed ring costs at
 * most one bounded walk: virtq_pop() then returns -EINVAL, logs one line and
 * marks the queue broken. A broken queue refuses pop and push until
 * virtq_reset()/virtq_init(); the device is expected to report
 * DEVICE_NEEDS_RESET (spec 2.1.2) to the driver.
 *
 * Threading: one consumer thread per queue (the device's I/O thread) calls
 * virtq_pop, virtq_push, virtq_should_notify, virtq_set_notify and
 * virtq_has_work; they take no lock. A vCPU thread only kicks (ioeventfd or a
 * transport write that wakes the consumer) and never touches struct virtq.
 * virtq_init and virtq_reset run while the consumer is stopped (the
 * transport's queue-enable and device-reset paths). The driver, on other
 * vCPUs, runs concurrently with the consumer: guest-written indices are read
 * with atomic loads and ordered with acquire fences, and used->idx is
 * published with a release store after the used element it covers.
 */
#ifndef TRAPEZE_VIRTIO_QUEUE_H
#define TRAPEZE_VIRTIO_QUEUE_H

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

/* Queue Size is a power of 2, at most 32768 (spec 2.7). */
#define VIRTQ_MAX_SIZE 32768

/*
 * Most buffers (iovs) one chain may carry, direct and indirect together. The
 * spec lets a device set "a reasonable limit of descriptors it will allow in
 * a chain" (2.7.4.1); 1024 is Linux's UIO_MAXIOV and what Linux drivers stay
 * within.
 */
#define VIRTQ_MAX_CHAIN 1024

/* struct virtq_desc flags (spec 2.7.5). */
#define VIRTQ_DESC_F_NEXT	1	/* continues via the next field */
#define VIRTQ_DESC_F_WRITE	2	/* device-writable (else device-readable) */
#define VIRTQ_DESC_F_INDIRECT	4	/* the buffer is a table of descriptors */

/* struct virtq_avail flags (spec 2.7.6): driver asks for no used-buffer interrupts. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
/* struct virtq_used flags (spec 2.7.8): device asks for no available-buffer kicks. */
#define VIRTQ_USED_F_NO_NOTIFY	1

/*
 * Guest-memory layouts (spec 2.7.5, 2.7.6, 2.7.8), all little-endian. The
 * rings end with one more u16 after ring[size]: used_event after the
 * available ring, avail_event after the used ring (VIRTIO_F_EVENT_IDX).
 */
struct virtq_desc {
	u64 addr;	/* guest-physical */
	u32 len;
	u16 flags;	/* VIRTQ_DESC_F_* */
	u16 next;	/* next index in the same table, if VIRTQ_DESC_F_NEXT */
};

struct virtq_avail {
	u16 flags;
	u16 idx;	/* where the driver puts the next entry; free-running */
	u16 ring[];	/* [size] heads, then used_event */
};

struct virtq_used_elem {
	u32 id;		/* head index of the chain */
	u32 len;	/* bytes written into its device-writable part */
};

struct virtq_used {
	u16 flags;
	u16 idx;	/* where the device puts the next entry; free-running */
	struct virtq_used_elem ring[];	/* [size] entries, then avail_event */
};

/* Bytes each part occupies (spec 2.7, "Virtqueue Part / Alignment / Size"). */
#define VIRTQ_DESC_BYTES(size)	(16ULL * (size))
#define VIRTQ_AVAIL_BYTES(size)	(6ULL + 2ULL * (size))
#define VIRTQ_USED_BYTES(size)	(6ULL + 8ULL * (size))

struct virtq {
	const char *name;	/* for messages; kept by virtq_init and virtq_reset */
	bool quiet;		/* no malformed-ring message (tests); kept likewise */
	bool ready;		/* virtq_init succeeded */
	u16 size;		/* Queue Size, a power of 2 */
	u64 desc_gpa, avail_gpa, used_gpa;
	bool event_idx;		/* VIRTIO_F_EVENT_IDX (bit 29) negotiated */
	bool indirect;		/* VIRTIO_F_INDIRECT_DESC (bit 28) negotiated */
	u16 last_avail;		/* next available entry to consume; never the guest's copy */
	u16 used_idx;		/* host copy of used->idx, the only writer */
	u16 signalled_used;	/* used_idx when the last interrupt was decided */
	bool signalled_used_valid;	/* false until the first decision, or after wrap */
	bool broken;		/* a malformed ring was seen: needs reset */
	const char *error;	/* why it broke (static text), NULL if not broken */
};

/* One guest buffer, as a host pointer valid for len bytes. */
struct virtq_iov {
	void *base;
	u32 len;
	bool write;		/* device-writable */
};

/*
 * A popped chain: the nr_out device-readable buffers come first in iov[],
 * then the nr_in device-writable ones. Zero-length descriptors are accepted
 * (their address is not checked) and produce no iov.
 */
struct virtq_chain {
	u16 head;		/* give back to virtq_push */
	unsigned int nr_out, nr_in;
	u64 out_len, in_len;	/* byte totals of each part */
	struct virtq_iov iov[VIRTQ_MAX_CHAIN];
};

/*
 * Sets up q for a ring the driver laid out: size a power of 2 in
 * [1, VIRTQ_MAX_SIZE], desc 16-byte, avail 2-byte and used 4-byte aligned
 * (spec 2.7), each part wholly inside one RAM region. Indices start at 0 and
 * guest memory is not written. Returns 0, or -EINVAL leaving q not ready.
 */
int virtq_init(struct virtq *q, const struct guest_mem *mem, u16 size,
	       u64 desc, u64 avail, u64 used, bool event_idx, bool indirect);

/* Forgets the ring (device reset, queue disabled); keeps only name and quiet. */
void virtq_reset(struct virtq *q);

/*
 * Takes the next available chain into *chain. Returns 1 with a chain, 0 when
 * the ring is empty, -EINVAL when the ring or chain is malformed (the queue
 * is then broken and one line is logged) or q is not ready or broken.
 * Malformed: more than size entries pending, a head or next index >= the
 * table size, a walk longer than its table (a loop), more than
 * VIRTQ_MAX_CHAIN buffers, a readable buffer after a writable one (2.7.4.2),
 * a buffer not wholly in RAM, and for indirect tables (2.7.5.3): not
 * negotiated, INDIRECT with NEXT, nested, a length that is 0, not a multiple
 * of 16 or over size entries, or a table not in RAM.
 */
int virtq_pop(struct virtq *q, const struct guest_mem *mem,
	      struct virtq_chain *chain);

/*
 * Returns the chain at head to the driver with `written` bytes written into
 * its device-writable part, publishing used->idx (release). Returns 0, or
 * -EINVAL when q is not ready or broken, head >= size, or no popped chain is
 * outstanding.
 */
int virtq_push(struct virtq *q, const struct guest_mem *mem, u16 head,
	       u32 written);

/*
 * After one or more pushes: whether to interrupt the driver now. Without
 * EVENT_IDX, unless avail->flags has VIRTQ_AVAIL_F_NO_INTERRUPT; with it,
 * when used->idx has passed used_event since the last decision (2.7.7). Call
 * it once per batch and interrupt when it says so: it records the decision.
 */
bool virtq_should_notify(struct virtq *q, const struct guest_mem *mem);

/*
 * Asks the driver for kicks (enable) or to stop kicking (2.7.10): the
 * VIRTQ_USED_F_NO_NOTIFY flag, or with EVENT_IDX the avail_event index. After
 * enabling, the caller must check virtq_has_work() again: buffers the driver
 * added before it saw the change came without a kick. With EVENT_IDX,
 * avail_event moves only here, so a device re-arms after every drain:
 *
 *	do {
 *		virtq_set_notify(q, mem, false);
 *		while (virtq_pop(q, mem, chain) == 1)
 *			handle and push;
 *		virtq_set_notify(q, mem, true);
 *	} while (virtq_has_work(q, mem));
 */
void virtq_set_notify(struct virtq *q, const struct guest_mem *mem,
		      bool enable);

/* Whether the driver has published entries not yet popped (false if broken). */
bool virtq_has_work(struct virtq *q, const struct guest_mem *mem);

#endif
