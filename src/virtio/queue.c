/*
 * virtio/queue: device side of a split virtqueue (virtio 1.2, section 2.7).
 *
 * Every guest-written value is read once into a local and checked there, so
 * a driver that rewrites the ring while we walk it can change which (checked)
 * buffers we see, never make us use an unchecked one. Guest memory is
 * reached only through guest_mem_ptr().
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "trapeze/virtio/queue.h"

static bool is_aligned(u64 gpa, u64 align)
{
	return !(gpa & (align - 1));
}

int virtq_init(struct virtq *q, const struct guest_mem *mem, u16 size,
	       u64 desc, u64 avail, u64 used, bool event_idx, bool indirect)
{
	virtq_reset(q);

	/* Spec 2.7: Queue Size is a power of 2 and at most 32768; 0 is no queue. */
	if (!size || (size & (size - 1)) || size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	/* Spec 2.7.1: part alignments 16 (desc), 2 (avail), 4 (used). */
	if (!is_aligned(desc, 16) || !is_aligned(avail, 2) ||
	    !is_aligned(used, 4))
		return -EINVAL;
	/*
	 * Each part must be wholly inside one RAM region, so that later
	 * accesses at any index below size stay in the mapping. Checked again
	 * on every access, as cheap insurance against a different mem.
	 */
	if (!guest_mem_ptr(mem, desc, VIRTQ_DESC_BYTES(size)) ||
	    !guest_mem_ptr(mem, avail, VIRTQ_AVAIL_BYTES(size)) ||
	    !guest_mem_ptr(mem, used, VIRTQ_USED_BYTES(size)))
		return -EINVAL;

	q->size = size;
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->ready = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	const char *name = q->name;
	bool quiet = q->quiet;

	memset(q, 0, sizeof(*q));
	q->name = name;
	q->quiet = quiet;
}

/*
 * Marks the queue broken with a reason and logs it. Called at most once per
 * queue between resets, because a broken queue refuses every later pop: a
 * guest cannot make us log in a loop.
 */
static int virtq_fail(struct virtq *q, const char *why, u64 detail)
{
	q->broken = true;
	q->error = why;
	if (q->quiet)
		return -EINVAL;
	fprintf(stderr,
		"trapeze: %s: malformed ring: %s (0x%llx); queue stopped until reset\n",
		q->name ? q->name : "virtqueue", why,
		(unsigned long long)detail);
	return -EINVAL;
}

/* A guest u16 the driver may be writing concurrently: one untorn load. */
static u16 load_guest_u16(const u16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void store_guest_u16(u16 *p, u16 v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static struct virtq_avail *avail_ring(const struct virtq *q,
				      const struct guest_mem *mem)
{
	return guest_mem_ptr(mem, q->avail_gpa, VIRTQ_AVAIL_BYTES(q->size));
}

static struct virtq_used *used_ring(const struct virtq *q,
				    const struct guest_mem *mem)
{
	return guest_mem_ptr(mem, q->used_gpa, VIRTQ_USED_BYTES(q->size));
}

/*
 * avail_event, the u16 after the used ring's size elements (2.7.8). Reached
 * through a byte offset: it is not part of any element.
 */
static u16 *avail_event(const struct virtq *q, struct virtq_used *used)
{
	return (u16 *)((u8 *)used + offsetof(struct virtq_used, ring) +
		       sizeof(struct virtq_used_elem) * q->size);
}

/* A descriptor table being walked: the queue's own, or one indirect table. */
struct desc_table {
	const u8 *base;		/* host pointer to entry 0; an indirect table may be unaligned */
	u32 nr;			/* entries; indices are < nr */
	bool indirect;
	bool seen_write;	/* a device-writable descriptor came earlier in the chain */
};

/* Copies entry i (already checked < nr) out of guest memory, once. */
static void read_desc(const struct desc_table *t, u32 i, struct virtq_desc *d)
{
	memcpy(d, t->base + sizeof(*d) * i, sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/*
 * Switches the walk to the indirect table d refers to (spec 2.7.5.3). Only
 * from the queue's own table, only if negotiated, only as the last
 * descriptor there (INDIRECT with NEXT is forbidden), and the table must be
 * whole 16-byte entries, no more than the queue size (a chain is never
 * longer than Queue Size, 2.7.5.3.1), and in RAM. The WRITE flag of d is
 * ignored, as the device must (2.7.5.3.2).
 */
static int enter_indirect(struct virtq *q, const struct guest_mem *mem,
			  const struct virtq_desc *d, struct desc_table *t)
{
	const u8 *table;

	if (!q->indirect)
		return virtq_fail(q, "indirect descriptor not negotiated",
				  d->addr);
	if (t->indirect)
		return virtq_fail(q, "nested indirect descriptor", d->addr);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return virtq_fail(q, "indirect descriptor with NEXT", d->next);
	if (!d->len || d->len % sizeof(struct virtq_desc))
		return virtq_fail(q, "indirect table length 0 or not a multiple of 16",
				  d->len);
	if (d->len / sizeof(struct virtq_desc) > q->size)
		return virtq_fail(q, "indirect table longer than the queue",
				  d->len);
	table = guest_mem_ptr(mem, d->addr, d->len);
	if (!table)
		return virtq_fail(q, "indirect table outside RAM", d->addr);

	t->base = table;
	t->nr = d->len / sizeof(struct virtq_desc);
	t->indirect = true;
	return 0;
}

/* Appends the buffer d names to the chain, in readable-then-writable order. */
static int add_buffer(struct virtq *q, const struct guest_mem *mem,
		      const struct virtq_desc *d, struct desc_table *t,
		      struct virtq_chain *chain)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	struct virtq_iov *iov;
	void *base;

	/*
	 * Spec 2.7.4.2: device-writable elements come after all readable
	 * ones, zero-length ones included.
	 */
	if (!write && t->seen_write)
		return virtq_fail(q, "readable buffer after a writable one",
				  d->addr);
	t->seen_write |= write;
	/* A zero-length buffer names no byte: nothing to map or hand over. */
	if (!d->len)
		return 0;
	if (chain->nr_out + chain->nr_in >= VIRTQ_MAX_CHAIN)
		return virtq_fail(q, "chain has too many buffers",
				  VIRTQ_MAX_CHAIN);
	/* The whole (addr, len), with overflow, must be RAM in one region. */
	base = guest_mem_ptr(mem, d->addr, d->len);
	if (!base)
		return virtq_fail(q, "buffer outside RAM", d->addr);

	iov = &chain->iov[chain->nr_out + chain->nr_in];
	iov->base = base;
	iov->len = d->len;
	iov->write = write;
	/* At most VIRTQ_MAX_CHAIN u32 lengths: the u64 totals cannot overflow. */
	if (write) {
		chain->nr_in++;
		chain->in_len += d->len;
	} else {
		chain->nr_out++;
		chain->out_len += d->len;
	}
	return 0;
}

/*
 * Walks the chain from head. Each table is walked at most t.nr steps: a chain
 * that visits more entries than its table has must revisit one, so loops of
 * any shape (self, a->b->a, longer) end here in bounded time without a
 * visited set. Every descriptor is checked before its buffer is handed out.
 */
static int walk_chain(struct virtq *q, const struct guest_mem *mem, u16 head,
		      struct virtq_chain *chain)
{
	struct desc_table t;
	struct virtq_desc d;
	u32 i = head, steps = 0;
	int r;

	t.base = guest_mem_ptr(mem, q->desc_gpa, VIRTQ_DESC_BYTES(q->size));
	if (!t.base)
		return virtq_fail(q, "descriptor table left RAM", q->desc_gpa);
	t.nr = q->size;
	t.indirect = false;
	t.seen_write = false;

	for (;;) {
		if (i >= t.nr)
			return virtq_fail(q, t.indirect ?
					  "indirect next index out of range" :
					  "descriptor index out of range", i);
		if (++steps > t.nr)
			return virtq_fail(q, "chain longer than its table (loop)",
					  i);
		read_desc(&t, i, &d);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			r = enter_indirect(q, mem, &d, &t);
			if (r)
				return r;
			i = 0;
			steps = 0;
			continue;
		}
		r = add_buffer(q, mem, &d, &t, chain);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, const struct guest_mem *mem,
	      struct virtq_chain *chain)
{
	struct virtq_avail *avail;
	u16 avail_idx, pending, head;
	int r;

	if (!q->ready || q->broken)
		return -EINVAL;
	avail = avail_ring(q, mem);
	if (!avail)
		return virtq_fail(q, "available ring left RAM", q->avail_gpa);

	/* Read the driver's index once; everything below is checked against it. */
	avail_idx = load_guest_u16(&avail->idx);
	pending = (u16)(avail_idx - q->last_avail);
	if (!pending)
		return 0;
	/*
	 * The driver cannot have more than size chains outstanding (2.7.13):
	 * a larger distance means idx was moved backwards or at random.
	 */
	if (pending > q->size)
		return virtq_fail(q, "available index moved past the queue size",
				  avail_idx);
	/*
	 * Acquire: the ring entry and descriptors are read after the index
	 * that published them (the driver's barrier before idx, 2.7.13.3.1).
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	head = load_guest_u16(&avail->ring[q->last_avail & (q->size - 1)]);
	if (head >= q->size)
		return virtq_fail(q, "head index out of range", head);

	chain->head = head;
	chain->nr_out = 0;
	chain->nr_in = 0;
	chain->out_len = 0;
	chain->in_len = 0;
	r = walk_chain(q, mem, head, chain);
	if (r)
		return r;
	q->last_avail++;
	return 1;
}

int virtq_push(struct virtq *q, const struct guest_mem *mem, u16 head,
	       u32 written)
{
	struct virtq_used *used;
	struct virtq_used_elem *elem;
	u16 new_idx = (u16)(q->used_idx + 1);

	if (!q->ready || q->broken || head >= q->size)
		return -EINVAL;
	/* used_idx never passes last_avail: each push gives back one pop. */
	if (q->used_idx == q->last_avail)
		return -EINVAL;
	used = used_ring(q, mem);
	if (!used)
		return -EINVAL;

	elem = &used->ring[q->used_idx & (q->size - 1)];
	elem->id = htole32(head);
	elem->len = htole32(written);
	/*
	 * Release: the element (and the data written into the buffers) is
	 * visible before the index that hands it to the driver (2.7.8.1).
	 */
	__atomic_store_n(&used->idx, htole16(new_idx), __ATOMIC_RELEASE);

	/*
	 * After 65536 pushes without a decision, signalled_used is ambiguous
	 * (new == signalled_used): forget it and interrupt next time.
	 */
	if (new_idx == q->signalled_used)
		q->signalled_used_valid = false;
	q->used_idx = new_idx;
	return 0;
}

/*
 * Spec 2.7.7.2: interrupt if the driver's used_event lies in [old, new), i.e.
 * one of the entries written since the last decision is the one it asked
 * for. u16 arithmetic makes the test hold across the wrap at 65536.
 */
static bool need_event(u16 event, u16 new_idx, u16 old_idx)
{
	return (u16)(new_idx - event - 1) < (u16)(new_idx - old_idx);
}

bool virtq_should_notify(struct virtq *q, const struct guest_mem *mem)
{
	struct virtq_avail *avail;
	u16 old, event;
	bool valid;

	if (!q->ready || q->broken)
		return false;
	avail = avail_ring(q, mem);
	if (!avail)
		return false;
	/*
	 * Full fence: our used->idx store must be visible before we read the
	 * driver's flags/used_event, or a driver re-enabling interrupts while
	 * we decide would be missed by both sides (store-load ordering).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	/* Without EVENT_IDX, flags bit 0 is the whole story (2.7.7.2). */
	if (!q->event_idx)
		return !(load_guest_u16(&avail->flags) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);

	/* With it, the device ignores flags and uses used_event (2.7.7.2). */
	old = q->signalled_used;
	valid = q->signalled_used_valid;
	q->signalled_used = q->used_idx;
	q->signalled_used_valid = true;
	if (!valid)
		return true;
	event = load_guest_u16(&avail->ring[q->size]);
	return need_event(event, q->used_idx, old);
}

void virtq_set_notify(struct virtq *q, const struct guest_mem *mem,
		      bool enable)
{
	struct virtq_avail *avail;
	struct virtq_used *used;
	u16 flags, event;

	if (!q->ready)
		return;
	avail = avail_ring(q, mem);
	used = used_ring(q, mem);
	if (!avail || !used)
		return;

	if (q->event_idx) {
		/*
		 * Spec 2.7.10: flags stay 0; the driver kicks when it
		 * publishes entry avail_event. Enabled: the next entry after
		 * what is published now. Disabled: the entry just behind it,
		 * which the driver has already passed, so it will not kick
		 * again for 65535 entries (we re-enable long before).
		 */
		event = load_guest_u16(&avail->idx);
		if (!enable)
			event--;
		store_guest_u16(avail_event(q, used), event);
	} else {
		flags = enable ? 0 : VIRTQ_USED_F_NO_NOTIFY;
		store_guest_u16(&used->flags, flags);
	}
	/*
	 * Full fence: the change must be visible before the caller re-reads
	 * avail->idx (virtq_has_work), or a driver that read the old value
	 * and skipped its kick would leave a buffer nobody looks at.
	 */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool virtq_has_work(struct virtq *q, const struct guest_mem *mem)
{
	struct virtq_avail *avail;

	if (!q->ready || q->broken)
		return false;
	avail = avail_ring(q, mem);
	if (!avail)
		return false;
	return load_guest_u16(&avail->idx) != q->last_avail;
}
