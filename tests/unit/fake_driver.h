/*
 * fake_driver: the driver side of a split virtqueue, for the virtqueue unit
 * tests. It lays a ring out in a guest_mem of its own, writes descriptors,
 * publishes heads with the barrier the spec asks of a driver (2.7.13.3.1),
 * reads the used ring, and decides kicks as a driver must (2.7.10). Tests
 * that want a malformed ring write descriptors and indices by hand.
 */
#ifndef TRAPEZE_TESTS_FAKE_DRIVER_H
#define TRAPEZE_TESTS_FAKE_DRIVER_H

#include <check.h>
#include <string.h>

#include "trapeze/guest_mem.h"
#include "trapeze/virtio/queue.h"

#define FD_RING_BASE	0x100000ULL	/* desc table, then avail, then used */
#define FD_DATA_BASE	0x400000ULL	/* buffers, bump-allocated */
#define FD_TABLE_BASE	0xC00000ULL	/* indirect tables, bump-allocated */

struct fake_driver {
	struct guest_mem mem;
	u16 size;
	bool event_idx;
	u64 desc, avail, used;	/* ring gpas */
	u16 next_desc;		/* descriptors are handed out in order, wrapping */
	u16 avail_idx;		/* the driver's copy of avail->idx */
	u64 data;		/* next free buffer gpa */
	u64 tables;		/* next free indirect table gpa */
};

/* A buffer to add: its length and whether the device may write it. */
struct fd_buf {
	u32 len;
	bool write;
};

static inline void *fd_host(struct fake_driver *fd, u64 gpa, u64 len)
{
	void *p = guest_mem_ptr(&fd->mem, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

static inline void fd_init_ram(struct fake_driver *fd, u64 ram, u16 size,
			       bool event_idx)
{
	memset(fd, 0, sizeof(*fd));
	ck_assert_int_eq(guest_mem_init(&fd->mem, ram), 0);
	fd->size = size;
	fd->event_idx = event_idx;
	fd->desc = FD_RING_BASE;
	fd->avail = fd->desc + VIRTQ_DESC_BYTES(size);
	/* The used ring on its own page, as Linux lays it out. */
	fd->used = (fd->avail + VIRTQ_AVAIL_BYTES(size) + 4095) & ~4095ULL;
	fd->data = FD_DATA_BASE;
	fd->tables = FD_TABLE_BASE;
}

/* 16 MiB of RAM: room for rings up to 32768 entries and many buffers. */
static inline void fd_init(struct fake_driver *fd, u16 size, bool event_idx)
{
	fd_init_ram(fd, 16ULL << 20, size, event_idx);
}

static inline void fd_destroy(struct fake_driver *fd)
{
	guest_mem_destroy(&fd->mem);
}

static inline int fd_queue_init(struct fake_driver *fd, struct virtq *q,
				bool indirect)
{
	return virtq_init(q, &fd->mem, fd->size, fd->desc, fd->avail, fd->used,
			  fd->event_idx, indirect);
}

static inline struct virtq_avail *fd_avail(struct fake_driver *fd)
{
	return fd_host(fd, fd->avail, VIRTQ_AVAIL_BYTES(fd->size));
}

static inline struct virtq_used *fd_used(struct fake_driver *fd)
{
	return fd_host(fd, fd->used, VIRTQ_USED_BYTES(fd->size));
}

/* Writes entry i of the descriptor table at table_gpa. */
static inline void fd_write_desc(struct fake_driver *fd, u64 table_gpa, u32 i,
				 u64 addr, u32 len, u16 flags, u16 next)
{
	struct virtq_desc d = {
		.addr = addr, .len = len, .flags = flags, .next = next,
	};

	/* memcpy: a hostile (or odd) table address need not be aligned. */
	memcpy(fd_host(fd, table_gpa + 16ULL * i, 16), &d, sizeof(d));
}

/* Writes entry i of the queue's own descriptor table. */
static inline void fd_desc(struct fake_driver *fd, u16 i, u64 addr, u32 len,
			   u16 flags, u16 next)
{
	fd_write_desc(fd, fd->desc, i, addr, len, flags, next);
}

/* A fresh buffer of len bytes (16-byte aligned), filled with fill. */
static inline u64 fd_alloc(struct fake_driver *fd, u32 len, u8 fill)
{
	u64 gpa = fd->data;

	if (len)
		memset(fd_host(fd, gpa, len), fill, len);
	fd->data += (len + 15ULL) & ~15ULL;
	ck_assert_uint_lt(fd->data, FD_TABLE_BASE);
	return gpa;
}

/*
 * Fills n descriptors of the table at table_gpa, starting at first and
 * wrapping at nr, one fresh buffer each (buffer k filled with 0x10 + k),
 * chained with NEXT. gpas[k] receives each buffer's address if not NULL.
 */
static inline void fd_fill_chain(struct fake_driver *fd, u64 table_gpa,
				 u32 nr, u32 first, const struct fd_buf *bufs,
				 unsigned int n, u64 *gpas)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		u32 i = (first + k) % nr;
		u64 gpa = fd_alloc(fd, bufs[k].len, (u8)(0x10 + k));
		u16 flags = bufs[k].write ? VIRTQ_DESC_F_WRITE : 0;

		if (k + 1 < n)
			flags |= VIRTQ_DESC_F_NEXT;
		fd_write_desc(fd, table_gpa, i, gpa, bufs[k].len, flags,
			      (u16)((i + 1) % nr));
		if (gpas)
			gpas[k] = gpa;
	}
}

/* Adds a direct chain of n buffers; returns its head (not yet published). */
static inline u16 fd_add(struct fake_driver *fd, const struct fd_buf *bufs,
			 unsigned int n, u64 *gpas)
{
	u16 head = fd->next_desc;

	fd_fill_chain(fd, fd->desc, fd->size, head, bufs, n, gpas);
	fd->next_desc = (u16)((head + n) % fd->size);
	return head;
}

/* Reserves an indirect table of n entries; returns its gpa. */
static inline u64 fd_alloc_table(struct fake_driver *fd, unsigned int n)
{
	u64 gpa = fd->tables;

	fd->tables += 16ULL * n;
	ck_assert_uint_le(fd->tables, 16ULL << 20);
	return gpa;
}

/* Adds one descriptor pointing at an indirect table holding the n buffers. */
static inline u16 fd_add_indirect(struct fake_driver *fd,
				  const struct fd_buf *bufs, unsigned int n,
				  u64 *gpas)
{
	u64 table = fd_alloc_table(fd, n);
	u16 head = fd->next_desc;

	fd_fill_chain(fd, table, n, 0, bufs, n, gpas);
	fd_desc(fd, head, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	fd->next_desc = (u16)((head + 1) % fd->size);
	return head;
}

/* Puts head in the next available slot without exposing it yet. */
static inline void fd_stage(struct fake_driver *fd, u16 head, u16 nth)
{
	struct virtq_avail *avail = fd_avail(fd);

	avail->ring[(u16)(fd->avail_idx + nth) % fd->size] = head;
}

/* Exposes `added` staged heads: barrier, then the index (2.7.13.3.1). */
static inline void fd_expose(struct fake_driver *fd, u16 added)
{
	fd->avail_idx = (u16)(fd->avail_idx + added);
	__atomic_store_n(&fd_avail(fd)->idx, fd->avail_idx, __ATOMIC_RELEASE);
}

static inline void fd_publish(struct fake_driver *fd, u16 head)
{
	fd_stage(fd, head, 0);
	fd_expose(fd, 1);
}

/* Writes avail->idx to any value, as a hostile driver may. */
static inline void fd_set_avail_idx(struct fake_driver *fd, u16 idx)
{
	fd->avail_idx = idx;
	__atomic_store_n(&fd_avail(fd)->idx, idx, __ATOMIC_RELEASE);
}

/* Starts both sides' free-running indices at idx, to test the 16-bit wrap. */
static inline void fd_start_at(struct fake_driver *fd, struct virtq *q, u16 idx)
{
	fd_set_avail_idx(fd, idx);
	fd_used(fd)->idx = idx;
	q->last_avail = idx;
	q->used_idx = idx;
}

static inline u16 fd_used_idx(struct fake_driver *fd)
{
	return __atomic_load_n(&fd_used(fd)->idx, __ATOMIC_ACQUIRE);
}

/* The used element the device wrote for free-running index n. */
static inline struct virtq_used_elem fd_used_elem(struct fake_driver *fd, u16 n)
{
	return fd_used(fd)->ring[n % fd->size];
}

static inline void fd_set_avail_flags(struct fake_driver *fd, u16 flags)
{
	fd_avail(fd)->flags = flags;
}

static inline void fd_set_used_event(struct fake_driver *fd, u16 event)
{
	fd_avail(fd)->ring[fd->size] = event;
}

static inline u16 fd_used_flags(struct fake_driver *fd)
{
	return fd_used(fd)->flags;
}

static inline u16 fd_avail_event(struct fake_driver *fd)
{
	u16 v;

	/* avail_event follows ring[size]; copy the bytes, do not pun the element. */
	memcpy(&v, &fd_used(fd)->ring[fd->size], sizeof(v));
	return v;
}

/*
 * The driver's kick decision after moving avail->idx from old to new
 * (2.7.10): NO_NOTIFY without EVENT_IDX, avail_event in [old, new) with it.
 */
static inline bool fd_kick_needed(struct fake_driver *fd, u16 old, u16 new_idx)
{
	u16 event;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!fd->event_idx)
		return !(fd_used_flags(fd) & VIRTQ_USED_F_NO_NOTIFY);
	event = fd_avail_event(fd);
	return (u16)(new_idx - event - 1) < (u16)(new_idx - old);
}

#endif
