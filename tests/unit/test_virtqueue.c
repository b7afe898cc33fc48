/*
 * Unit tests for virtio/queue: a fake driver (fake_driver.h) lays out split
 * rings in guest memory, the tests pop, push and decide notifications as a
 * device would, and check what the driver sees. The second half feeds the
 * queue every malformed ring we know of: each must give -EINVAL, promptly,
 * with the queue marked broken.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "fake_driver.h"
#include "trapeze/guest_mem.h"
#include "trapeze/virtio/queue.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* struct virtq_chain is 16 KiB: one per test, on the heap. */
static struct virtq_chain *chain_new(void)
{
	struct virtq_chain *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	return c;
}

/* Checks iov k of c: same host memory as gpa, len, direction, fill pattern. */
static void check_iov(struct fake_driver *fd, const struct virtq_chain *c,
		      unsigned int k, u64 gpa, u32 len, bool write, u8 fill)
{
	const u8 *p = c->iov[k].base;
	u32 i;

	ck_assert_ptr_eq(c->iov[k].base, guest_mem_ptr(&fd->mem, gpa, len));
	ck_assert_uint_eq(c->iov[k].len, len);
	ck_assert(c->iov[k].write == write);
	for (i = 0; i < len; i++)
		ck_assert_uint_eq(p[i], fill);
}

/* ---- layout and init ---- */

START_TEST(test_init_valid)
{
	struct fake_driver fd;
	struct virtq q = { .name = "blk0" };

	fd_init(&fd, 256, true);
	ck_assert_int_eq(fd_queue_init(&fd, &q, true), 0);
	ck_assert(q.ready);
	ck_assert_uint_eq(q.size, 256);
	ck_assert(q.event_idx && q.indirect && !q.broken);
	ck_assert_uint_eq(q.last_avail, 0);
	ck_assert_uint_eq(q.used_idx, 0);
	ck_assert_str_eq(q.name, "blk0");
	/* The smallest and the largest sizes the spec allows. */
	fd_destroy(&fd);
	fd_init(&fd, 1, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fd_destroy(&fd);
	fd_init(&fd, 32768, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	virtq_reset(&q);
	ck_assert(!q.ready);
	ck_assert_str_eq(q.name, "blk0");
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_init_bad_size)
{
	static const u16 bad[] = { 0, 3, 100, 255, 257, 32767, 32769, 65535 };
	struct fake_driver fd;
	struct virtq q = { 0 };
	unsigned int i;

	fd_init(&fd, 8, false);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(virtq_init(&q, &fd.mem, bad[i], fd.desc,
					    fd.avail, fd.used, false, false),
				 -EINVAL);
		ck_assert(!q.ready);
	}
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_init_bad_addresses)
{
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	u64 end;

	fd_init(&fd, 16, false);
	end = guest_mem_end(&fd.mem);
	/* Misaligned parts (spec 2.7.1: 16, 2, 4). */
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, fd.desc + 8, fd.avail,
				    fd.used, false, false), -EINVAL);
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, fd.desc, fd.avail + 1,
				    fd.used, false, false), -EINVAL);
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, fd.desc, fd.avail,
				    fd.used + 2, false, false), -EINVAL);
	/* Parts outside RAM, or running off its end. */
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, end, fd.avail, fd.used,
				    false, false), -EINVAL);
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, end - 16 * 8, fd.avail,
				    fd.used, false, false), -EINVAL);
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, fd.desc, end - 32,
				    fd.used, false, false), -EINVAL);
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, fd.desc, fd.avail,
				    end - 64, false, false), -EINVAL);
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, fd.desc, fd.avail,
				    0xFFFFFFFFFFFFFFF0ULL, false, false),
			 -EINVAL);
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, GUEST_MEM_HOLE_START,
				    fd.avail, fd.used, false, false), -EINVAL);
	/* A used ring ending 2 bytes short of the end of RAM is fine. */
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, fd.desc, fd.avail,
				    end - VIRTQ_USED_BYTES(16) - 2, false,
				    false), 0);
	/* A queue that failed init refuses to work. */
	ck_assert_int_eq(virtq_init(&q, &fd.mem, 16, 8, fd.avail, fd.used,
				    false, false), -EINVAL);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), -EINVAL);
	ck_assert_int_eq(virtq_push(&q, &fd.mem, 0, 0), -EINVAL);
	ck_assert(!virtq_has_work(&q, &fd.mem));
	ck_assert(!virtq_should_notify(&q, &fd.mem));
	free(c);
	fd_destroy(&fd);
}
END_TEST

/* ---- well-formed traffic ---- */

START_TEST(test_empty)
{
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();

	fd_init(&fd, 16, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	ck_assert(!virtq_has_work(&q, &fd.mem));
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 0);
	/* Nothing popped: nothing to push. */
	ck_assert_int_eq(virtq_push(&q, &fd.mem, 0, 0), -EINVAL);
	ck_assert(!q.broken);
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_single_chain)
{
	static const struct fd_buf b[] = { { 100, false } };
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	struct virtq_used_elem e;
	u64 gpa;
	u16 head;

	fd_init(&fd, 16, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	head = fd_add(&fd, b, 1, &gpa);
	fd_publish(&fd, head);
	ck_assert(virtq_has_work(&q, &fd.mem));

	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->head, head);
	ck_assert_uint_eq(c->nr_out, 1);
	ck_assert_uint_eq(c->nr_in, 0);
	ck_assert_uint_eq(c->out_len, 100);
	ck_assert_uint_eq(c->in_len, 0);
	check_iov(&fd, c, 0, gpa, 100, false, 0x10);
	ck_assert(!virtq_has_work(&q, &fd.mem));
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 0);

	ck_assert_uint_eq(fd_used_idx(&fd), 0);
	ck_assert_int_eq(virtq_push(&q, &fd.mem, head, 0), 0);
	ck_assert_uint_eq(fd_used_idx(&fd), 1);
	e = fd_used_elem(&fd, 0);
	ck_assert_uint_eq(e.id, head);
	ck_assert_uint_eq(e.len, 0);
	/* One pop, one push: a second push has nothing to give back. */
	ck_assert_int_eq(virtq_push(&q, &fd.mem, head, 0), -EINVAL);
	ck_assert_uint_eq(fd_used_idx(&fd), 1);
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_out_then_in)
{
	static const struct fd_buf b[] = {
		{ 16, false }, { 4096, false }, { 512, true }, { 1, true },
		{ 7, true },
	};
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	u64 gpa[5];
	unsigned int k;
	u16 head;
	u8 *status;

	fd_init(&fd, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fd.next_desc = 6;	/* the chain wraps round the table: 6,7,0,1,2 */
	head = fd_add(&fd, b, 5, gpa);
	fd_publish(&fd, head);

	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->head, 6);
	ck_assert_uint_eq(c->nr_out, 2);
	ck_assert_uint_eq(c->nr_in, 3);
	ck_assert_uint_eq(c->out_len, 16 + 4096);
	ck_assert_uint_eq(c->in_len, 512 + 1 + 7);
	for (k = 0; k < 5; k++)
		check_iov(&fd, c, k, gpa[k], b[k].len, b[k].write,
			  (u8)(0x10 + k));

	/* What the device writes through an iov is what the driver reads. */
	memset(c->iov[2].base, 0xAB, 512);
	status = c->iov[3].base;
	*status = 0;
	ck_assert_int_eq(virtq_push(&q, &fd.mem, c->head, 513), 0);
	ck_assert_uint_eq(*(u8 *)fd_host(&fd, gpa[2] + 511, 1), 0xAB);
	ck_assert_uint_eq(*(u8 *)fd_host(&fd, gpa[3], 1), 0);
	ck_assert_uint_eq(fd_used_elem(&fd, 0).id, 6);
	ck_assert_uint_eq(fd_used_elem(&fd, 0).len, 513);
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_in_only_and_zero_length)
{
	static const struct fd_buf in_only[] = { { 64, true }, { 64, true } };
	static const struct fd_buf zeros[] = {
		{ 8, false }, { 0, false }, { 0, true }, { 32, true },
	};
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	u64 gpa[4];
	u16 head;

	fd_init(&fd, 16, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	head = fd_add(&fd, in_only, 2, gpa);
	fd_publish(&fd, head);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->nr_out, 0);
	ck_assert_uint_eq(c->nr_in, 2);
	ck_assert_uint_eq(c->in_len, 128);
	check_iov(&fd, c, 1, gpa[1], 64, true, 0x11);

	/* Zero-length descriptors are skipped; the ordering rule still holds. */
	head = fd_add(&fd, zeros, 4, gpa);
	fd_desc(&fd, (u16)(head + 1), 0xDEAD0000000ULL, 0,
		VIRTQ_DESC_F_NEXT, (u16)(head + 2));	/* address never used */
	fd_publish(&fd, head);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->nr_out, 1);
	ck_assert_uint_eq(c->nr_in, 1);
	check_iov(&fd, c, 0, gpa[0], 8, false, 0x10);
	check_iov(&fd, c, 1, gpa[3], 32, true, 0x13);
	ck_assert(!q.broken);
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_several_chains_in_order)
{
	static const struct fd_buf b1[] = { { 10, false } };
	static const struct fd_buf b2[] = { { 20, false }, { 30, true } };
	static const struct fd_buf b3[] = { { 40, true } };
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	u16 h1, h2, h3;

	fd_init(&fd, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	h1 = fd_add(&fd, b1, 1, NULL);
	h2 = fd_add(&fd, b2, 2, NULL);
	h3 = fd_add(&fd, b3, 1, NULL);
	/* Batched: three heads staged, one index update. */
	fd_stage(&fd, h1, 0);
	fd_stage(&fd, h2, 1);
	fd_stage(&fd, h3, 2);
	fd_expose(&fd, 3);

	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->head, h1);
	ck_assert_uint_eq(c->out_len, 10);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->head, h2);
	ck_assert_uint_eq(c->in_len, 30);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->head, h3);
	ck_assert_uint_eq(c->in_len, 40);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 0);

	/* Completion order is the device's: the used ring records it. */
	ck_assert_int_eq(virtq_push(&q, &fd.mem, h3, 40), 0);
	ck_assert_int_eq(virtq_push(&q, &fd.mem, h1, 0), 0);
	ck_assert_int_eq(virtq_push(&q, &fd.mem, h2, 30), 0);
	ck_assert_int_eq(virtq_push(&q, &fd.mem, h2, 30), -EINVAL);
	ck_assert_uint_eq(fd_used_idx(&fd), 3);
	ck_assert_uint_eq(fd_used_elem(&fd, 0).id, h3);
	ck_assert_uint_eq(fd_used_elem(&fd, 0).len, 40);
	ck_assert_uint_eq(fd_used_elem(&fd, 1).id, h1);
	ck_assert_uint_eq(fd_used_elem(&fd, 2).id, h2);
	ck_assert_uint_eq(fd_used_elem(&fd, 2).len, 30);
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_index_wrap)
{
	static const struct fd_buf b[] = { { 8, false }, { 8, true } };
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	u16 heads[6], n, k;

	fd_init(&fd, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fd_start_at(&fd, &q, 65533);

	/* One at a time across the wrap of both indices. */
	for (k = 0; k < 6; k++) {
		n = (u16)(65533 + k);
		heads[k] = fd_add(&fd, b, 2, NULL);
		fd_publish(&fd, heads[k]);
		ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
		ck_assert_uint_eq(c->head, heads[k]);
		ck_assert_int_eq(virtq_push(&q, &fd.mem, c->head, k), 0);
		ck_assert_uint_eq(fd_used_idx(&fd), (u16)(n + 1));
		ck_assert_uint_eq(fd_used_elem(&fd, n).id, heads[k]);
		ck_assert_uint_eq(fd_used_elem(&fd, n).len, k);
	}
	ck_assert_uint_eq(q.last_avail, 3);
	ck_assert_uint_eq(q.used_idx, 3);

	/* A full batch of size entries exposed across the wrap. */
	fd_start_at(&fd, &q, 65530);
	for (k = 0; k < 4; k++) {
		heads[k] = fd_add(&fd, b, 2, NULL);
		fd_stage(&fd, heads[k], k);
	}
	for (k = 0; k < 4; k++)
		fd_stage(&fd, heads[k], 4 + k);	/* the same chains again */
	fd_expose(&fd, 8);
	ck_assert_uint_eq(fd.avail_idx, 2);
	for (k = 0; k < 8; k++) {
		ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
		ck_assert_uint_eq(c->head, heads[k % 4]);
	}
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 0);
	ck_assert(!q.broken);
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_indirect)
{
	static const struct fd_buf b[] = {
		{ 16, false }, { 100, false }, { 1, true },
	};
	static const struct fd_buf pre[] = { { 24, false } };
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	u64 gpa[3], pre_gpa, table;
	unsigned int k;
	u16 head;

	fd_init(&fd, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, true), 0);

	/* A single indirect descriptor, as Linux makes them. */
	head = fd_add_indirect(&fd, b, 3, gpa);
	fd_publish(&fd, head);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->head, head);
	ck_assert_uint_eq(c->nr_out, 2);
	ck_assert_uint_eq(c->nr_in, 1);
	ck_assert_uint_eq(c->out_len, 116);
	ck_assert_uint_eq(c->in_len, 1);
	for (k = 0; k < 3; k++)
		check_iov(&fd, c, k, gpa[k], b[k].len, b[k].write,
			  (u8)(0x10 + k));
	ck_assert_int_eq(virtq_push(&q, &fd.mem, head, 1), 0);
	ck_assert_uint_eq(fd_used_elem(&fd, 0).id, head);

	/*
	 * Direct descriptors followed by an indirect one (2.7.5.3.2), whose
	 * WRITE flag the device must ignore.
	 */
	head = fd_add(&fd, pre, 1, &pre_gpa);
	table = fd_alloc_table(&fd, 3);
	fd_fill_chain(&fd, table, 3, 0, b, 3, gpa);
	fd_desc(&fd, head, pre_gpa, 24, VIRTQ_DESC_F_NEXT, (u16)(head + 1));
	fd_desc(&fd, (u16)(head + 1), table, 48,
		VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	fd_publish(&fd, head);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->nr_out, 3);
	ck_assert_uint_eq(c->nr_in, 1);
	ck_assert_uint_eq(c->out_len, 24 + 116);
	check_iov(&fd, c, 0, pre_gpa, 24, false, 0x10);
	check_iov(&fd, c, 3, gpa[2], 1, true, 0x12);

	/* The spec sets no alignment for an indirect table: an odd one works. */
	table = fd_alloc_table(&fd, 3) + 3;
	fd_fill_chain(&fd, table, 2, 0, b + 1, 2, gpa);
	head = fd.next_desc++;
	fd_desc(&fd, head, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	fd_publish(&fd, head);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->nr_out, 1);
	ck_assert_uint_eq(c->nr_in, 1);
	check_iov(&fd, c, 0, gpa[0], 100, false, 0x10);
	check_iov(&fd, c, 1, gpa[1], 1, true, 0x11);

	/* A table of exactly the queue size is the largest allowed. */
	{
		struct fd_buf eight[8];

		for (k = 0; k < 8; k++)
			eight[k] = (struct fd_buf){ 4, k >= 6 };
		head = fd_add_indirect(&fd, eight, 8, NULL);
		fd_publish(&fd, head);
		ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
		ck_assert_uint_eq(c->nr_out, 6);
		ck_assert_uint_eq(c->nr_in, 2);
	}
	ck_assert(!q.broken);
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_chain_limits)
{
	struct fake_driver fd;
	struct virtq q = { .quiet = true };
	struct virtq_chain *c = chain_new();
	struct fd_buf *b = calloc(VIRTQ_MAX_CHAIN + 1, sizeof(*b));
	unsigned int k;
	u16 head;

	ck_assert_ptr_nonnull(b);
	for (k = 0; k <= VIRTQ_MAX_CHAIN; k++)
		b[k] = (struct fd_buf){ 1, false };

	/* A chain using the whole table is legal. */
	fd_init(&fd, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	head = fd_add(&fd, b, 8, NULL);
	fd_publish(&fd, head);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->nr_out, 8);
	fd_destroy(&fd);

	/* VIRTQ_MAX_CHAIN buffers are accepted, one more is not. */
	fd_init(&fd, 2048, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	head = fd_add(&fd, b, VIRTQ_MAX_CHAIN, NULL);
	fd_publish(&fd, head);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->nr_out, VIRTQ_MAX_CHAIN);
	ck_assert_uint_eq(c->out_len, VIRTQ_MAX_CHAIN);
	head = fd_add(&fd, b, VIRTQ_MAX_CHAIN + 1, NULL);
	fd_publish(&fd, head);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), -EINVAL);
	ck_assert(q.broken);
	ck_assert_ptr_nonnull(strstr(q.error, "too many buffers"));
	free(b);
	free(c);
	fd_destroy(&fd);
}
END_TEST

/* ---- notifications ---- */

/* Publishes n one-buffer chains and pops them all. */
static void fill_and_pop(struct fake_driver *fd, struct virtq *q,
			 struct virtq_chain *c, unsigned int n)
{
	static const struct fd_buf b[] = { { 4, true } };
	unsigned int k;

	for (k = 0; k < n; k++)
		fd_publish(fd, fd_add(fd, b, 1, NULL));
	for (k = 0; k < n; k++)
		ck_assert_int_eq(virtq_pop(q, &fd->mem, c), 1);
}

static void push_one(struct fake_driver *fd, struct virtq *q)
{
	ck_assert_int_eq(virtq_push(q, &fd->mem, 0, 4), 0);
}

START_TEST(test_no_interrupt_flag)
{
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();

	fd_init(&fd, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fill_and_pop(&fd, &q, c, 4);
	push_one(&fd, &q);
	ck_assert(virtq_should_notify(&q, &fd.mem));
	fd_set_avail_flags(&fd, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_one(&fd, &q);
	ck_assert(!virtq_should_notify(&q, &fd.mem));
	/* used_event means nothing without EVENT_IDX (2.7.7.2). */
	fd_set_avail_flags(&fd, 0);
	fd_set_used_event(&fd, 1000);
	push_one(&fd, &q);
	ck_assert(virtq_should_notify(&q, &fd.mem));
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_event_idx_interrupts)
{
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();

	fd_init(&fd, 8, true);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fill_and_pop(&fd, &q, c, 5);

	push_one(&fd, &q);				/* wrote entry 0 */
	ck_assert(virtq_should_notify(&q, &fd.mem));	/* first decision */
	fd_set_used_event(&fd, 2);
	push_one(&fd, &q);				/* entry 1 */
	ck_assert(!virtq_should_notify(&q, &fd.mem));
	push_one(&fd, &q);				/* entry 2: asked for */
	ck_assert(virtq_should_notify(&q, &fd.mem));
	push_one(&fd, &q);				/* entry 3 */
	ck_assert(!virtq_should_notify(&q, &fd.mem));
	ck_assert(!virtq_should_notify(&q, &fd.mem));	/* nothing new */

	/* The NO_INTERRUPT bit is ignored with EVENT_IDX (2.7.7.2). */
	fd_set_avail_flags(&fd, VIRTQ_AVAIL_F_NO_INTERRUPT);
	fd_set_used_event(&fd, 4);
	push_one(&fd, &q);				/* entry 4 */
	ck_assert(virtq_should_notify(&q, &fd.mem));

	/* A batch that passes used_event interrupts once. */
	fill_and_pop(&fd, &q, c, 3);
	fd_set_used_event(&fd, 6);
	push_one(&fd, &q);
	push_one(&fd, &q);
	push_one(&fd, &q);				/* entries 5..7 */
	ck_assert(virtq_should_notify(&q, &fd.mem));
	/* A batch that stops short of used_event does not. */
	fill_and_pop(&fd, &q, c, 3);
	fd_set_used_event(&fd, 11);
	push_one(&fd, &q);
	push_one(&fd, &q);
	push_one(&fd, &q);				/* entries 8..10 */
	ck_assert(!virtq_should_notify(&q, &fd.mem));
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_event_idx_wrap)
{
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	unsigned int k;

	fd_init(&fd, 8, true);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);

	/* used_event 65535 asks for the last entry before the wrap. */
	fd_start_at(&fd, &q, 65533);
	fill_and_pop(&fd, &q, c, 4);
	push_one(&fd, &q);
	ck_assert(virtq_should_notify(&q, &fd.mem));	/* first decision */
	fd_set_used_event(&fd, 65535);
	push_one(&fd, &q);				/* entry 65534 */
	ck_assert(!virtq_should_notify(&q, &fd.mem));
	push_one(&fd, &q);				/* 65535 */
	push_one(&fd, &q);				/* 0 */
	ck_assert(virtq_should_notify(&q, &fd.mem));

	/*
	 * 65536 pushes without a decision bring used_idx back to the value
	 * of the last one; that old value no longer says anything, so the
	 * next decision must interrupt.
	 */
	fd_set_used_event(&fd, 0);
	for (k = 0; k < 65536; k++) {
		fill_and_pop(&fd, &q, c, 1);
		push_one(&fd, &q);
	}
	ck_assert(virtq_should_notify(&q, &fd.mem));
	free(c);
	fd_destroy(&fd);
}
END_TEST

START_TEST(test_device_notify_suppression)
{
	struct fake_driver fd;
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	u16 old;

	fd_init(&fd, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	ck_assert(fd_kick_needed(&fd, 0, 1));
	virtq_set_notify(&q, &fd.mem, false);
	ck_assert_uint_eq(fd_used_flags(&fd), VIRTQ_USED_F_NO_NOTIFY);
	ck_assert(!fd_kick_needed(&fd, 0, 1));
	virtq_set_notify(&q, &fd.mem, true);
	ck_assert_uint_eq(fd_used_flags(&fd), 0);
	ck_assert(fd_kick_needed(&fd, 0, 1));
	fd_destroy(&fd);

	/* EVENT_IDX: flags stay 0 (2.7.10), avail_event does the work. */
	fd_init(&fd, 8, true);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fill_and_pop(&fd, &q, c, 3);
	virtq_set_notify(&q, &fd.mem, true);
	ck_assert_uint_eq(fd_avail_event(&fd), 3);
	old = fd.avail_idx;
	fill_and_pop(&fd, &q, c, 1);
	ck_assert(fd_kick_needed(&fd, old, fd.avail_idx));

	virtq_set_notify(&q, &fd.mem, false);
	ck_assert_uint_eq(fd_used_flags(&fd), 0);
	old = fd.avail_idx;
	fill_and_pop(&fd, &q, c, 1);
	ck_assert(!fd_kick_needed(&fd, old, fd.avail_idx));
	old = fd.avail_idx;
	fill_and_pop(&fd, &q, c, 3);
	ck_assert(!fd_kick_needed(&fd, old, fd.avail_idx));

	/* Re-enabled with work pending: the caller's recheck finds it. */
	fd_publish(&fd, 0);
	virtq_set_notify(&q, &fd.mem, true);
	ck_assert(virtq_has_work(&q, &fd.mem));
	ck_assert_uint_eq(fd_avail_event(&fd), fd.avail_idx);
	free(c);
	fd_destroy(&fd);
}
END_TEST

/* ---- two threads: a driver vCPU and a device I/O thread ---- */

#define THREADED_ROUNDS 20000

struct threaded {
	struct fake_driver fd;
	bool failed;
};

/* Driver: each request is (out: seq, in: 8 bytes); checks replies in order. */
static void *threaded_driver(void *arg)
{
	struct threaded *t = arg;
	struct fake_driver *fd = &t->fd;
	u16 slots = fd->size / 2, used_seen = fd_used_idx(fd);
	u32 seq = 0, done = 0;

	while (done < THREADED_ROUNDS) {
		u16 used = fd_used_idx(fd);

		while (used_seen != used) {
			struct virtq_used_elem e = fd_used_elem(fd, used_seen);
			u16 slot = (u16)(done % slots);
			u64 reply;

			memcpy(&reply, fd_host(fd, FD_DATA_BASE + 16 * slot + 8,
					       8), 8);
			if (e.id != 2u * slot || e.len != 8 ||
			    reply != 3ULL * done)
				t->failed = true;
			used_seen++;
			done++;
		}
		if (seq < THREADED_ROUNDS && (u16)(seq - done) < slots) {
			u16 slot = (u16)(seq % slots);
			u64 gpa = FD_DATA_BASE + 16 * slot;
			u64 v = seq;

			memcpy(fd_host(fd, gpa, 8), &v, 8);
			fd_desc(fd, 2 * slot, gpa, 8, VIRTQ_DESC_F_NEXT,
				2 * slot + 1);
			fd_desc(fd, 2 * slot + 1, gpa + 8, 8,
				VIRTQ_DESC_F_WRITE, 0);
			fd_publish(fd, 2 * slot);
			seq++;
		} else {
			sched_yield();
		}
	}
	return NULL;
}

START_TEST(test_two_threads)
{
	struct threaded *t = calloc(1, sizeof(*t));
	struct virtq q = { 0 };
	struct virtq_chain *c = chain_new();
	pthread_t driver;
	u32 seq = 0;
	int r;

	ck_assert_ptr_nonnull(t);
	fd_init(&t->fd, 16, true);
	ck_assert_int_eq(fd_queue_init(&t->fd, &q, false), 0);
	fd_start_at(&t->fd, &q, 65000);	/* cross the wrap on the way */
	ck_assert_int_eq(pthread_create(&driver, NULL, threaded_driver, t), 0);
	while (seq < THREADED_ROUNDS) {
		u64 v;

		r = virtq_pop(&q, &t->fd.mem, c);
		ck_assert_int_ge(r, 0);
		if (!r) {
			sched_yield();
			continue;
		}
		ck_assert_uint_eq(c->nr_out, 1);
		ck_assert_uint_eq(c->nr_in, 1);
		memcpy(&v, c->iov[0].base, 8);
		ck_assert_uint_eq(v, seq);
		v = 3ULL * seq;
		memcpy(c->iov[1].base, &v, 8);
		ck_assert_int_eq(virtq_push(&q, &t->fd.mem, c->head, 8), 0);
		seq++;
	}
	ck_assert_int_eq(pthread_join(driver, NULL), 0);
	ck_assert(!t->failed);
	ck_assert(!q.broken);
	fd_destroy(&t->fd);
	free(t);
	free(c);
}
END_TEST

/* ---- malformed rings ---- */

/* A fresh queue of size 8 (indirect negotiated if asked), at index 0. */
static void bad_setup(struct fake_driver *fd, struct virtq *q, bool indirect)
{
	fd_init(fd, 8, false);
	memset(q, 0, sizeof(*q));
	q->quiet = true;	/* test_broken_until_reset checks the message */
	ck_assert_int_eq(fd_queue_init(fd, q, indirect), 0);
}

/*
 * Publishes head, expects the pop to fail for the given reason, and checks
 * that the broken queue stays shut: pop, push and has_work all refuse.
 */
static void expect_malformed(struct fake_driver *fd, struct virtq *q,
			     u16 head, const char *why)
{
	struct virtq_chain *c = chain_new();
	u16 last_avail = q->last_avail;

	fd_publish(fd, head);
	ck_assert_int_eq(virtq_pop(q, &fd->mem, c), -EINVAL);
	ck_assert(q->broken);
	ck_assert_ptr_nonnull(q->error);
	if (!strstr(q->error, why))
		ck_abort_msg("error \"%s\", expected \"%s\"", q->error, why);
	ck_assert_uint_eq(q->last_avail, last_avail);
	ck_assert_int_eq(virtq_pop(q, &fd->mem, c), -EINVAL);
	ck_assert_int_eq(virtq_push(q, &fd->mem, 0, 0), -EINVAL);
	ck_assert(!virtq_has_work(q, &fd->mem));
	free(c);
	fd_destroy(fd);
}

START_TEST(test_bad_buffer_address)
{
	struct fake_driver fd;
	struct virtq q;
	u64 end;

	bad_setup(&fd, &q, false);		/* wholly past RAM */
	fd_desc(&fd, 0, guest_mem_end(&fd.mem), 16, 0, 0);
	expect_malformed(&fd, &q, 0, "buffer outside RAM");

	bad_setup(&fd, &q, false);		/* runs off the end of RAM */
	end = guest_mem_end(&fd.mem);
	fd_desc(&fd, 0, end - 8, 16, 0, 0);
	expect_malformed(&fd, &q, 0, "buffer outside RAM");

	bad_setup(&fd, &q, false);		/* addr + len wraps 2^64 */
	fd_desc(&fd, 0, 0xFFFFFFFFFFFFF000ULL, 0x2000, 0, 0);
	expect_malformed(&fd, &q, 0, "buffer outside RAM");

	bad_setup(&fd, &q, false);		/* a later buffer of the chain */
	fd_desc(&fd, 0, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 1);
	fd_desc(&fd, 1, 0xFFFFFFFFFFFFFFFFULL, 1, VIRTQ_DESC_F_WRITE, 0);
	expect_malformed(&fd, &q, 0, "buffer outside RAM");
}
END_TEST

START_TEST(test_bad_buffer_in_hole)
{
	struct fake_driver fd;
	struct virtq q = { .quiet = true };
	struct virtq_chain *c = chain_new();
	u64 high = GUEST_MEM_HOLE_END;

	/* 3 GiB + 16 MiB: RAM below the hole, and 16 MiB from 4 GiB. */
	fd_init_ram(&fd, 3 * GiB + 16 * MiB, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fd_desc(&fd, 0, high, 4096, 0, 0);	/* RAM above the hole: fine */
	fd_publish(&fd, 0);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_ptr_eq(c->iov[0].base, guest_mem_ptr(&fd.mem, high, 4096));
	fd_desc(&fd, 1, GUEST_MEM_HOLE_START + 0x1000, 16, 0, 0);
	expect_malformed(&fd, &q, 1, "buffer outside RAM");

	/* Starts in RAM, ends in the hole. */
	fd_init_ram(&fd, 3 * GiB + 16 * MiB, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fd_desc(&fd, 0, GUEST_MEM_HOLE_START - 8, 16, 0, 0);
	expect_malformed(&fd, &q, 0, "buffer outside RAM");

	/* Spans the hole: both ends are RAM, the middle is not. */
	fd_init_ram(&fd, 3 * GiB + 16 * MiB, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fd_desc(&fd, 0, GUEST_MEM_HOLE_START - 4096, (u32)(1 * GiB + 8192),
		0, 0);
	expect_malformed(&fd, &q, 0, "buffer outside RAM");
	free(c);
}
END_TEST

START_TEST(test_bad_indices)
{
	struct fake_driver fd;
	struct virtq q;

	bad_setup(&fd, &q, false);		/* head index >= size */
	expect_malformed(&fd, &q, 8, "head index out of range");

	bad_setup(&fd, &q, false);
	expect_malformed(&fd, &q, 0xFFFF, "head index out of range");

	bad_setup(&fd, &q, false);		/* next index >= size */
	fd_desc(&fd, 0, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 8);
	expect_malformed(&fd, &q, 0, "descriptor index out of range");

	bad_setup(&fd, &q, false);		/* readable after writable */
	fd_desc(&fd, 0, FD_DATA_BASE, 16,
		VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fd_desc(&fd, 1, FD_DATA_BASE + 16, 16, 0, 0);
	expect_malformed(&fd, &q, 0, "readable buffer after a writable");

	bad_setup(&fd, &q, false);		/* ... after a zero-length one */
	fd_desc(&fd, 0, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 1);
	fd_desc(&fd, 1, 0, 0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	fd_desc(&fd, 2, FD_DATA_BASE + 16, 16, 0, 0);
	expect_malformed(&fd, &q, 0, "readable buffer after a writable");
}
END_TEST

START_TEST(test_bad_avail_idx)
{
	struct fake_driver fd;
	struct virtq q;
	struct virtq_chain *c = chain_new();
	static const struct fd_buf b[] = { { 4, false } };
	unsigned int k;

	/* More entries pending than the ring holds. */
	bad_setup(&fd, &q, false);
	fd_desc(&fd, 0, FD_DATA_BASE, 16, 0, 0);
	fd_set_avail_idx(&fd, 9);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), -EINVAL);
	ck_assert(q.broken);
	ck_assert_ptr_nonnull(strstr(q.error, "past the queue size"));
	fd_destroy(&fd);

	/* Exactly size pending is fine; then idx moves backwards. */
	bad_setup(&fd, &q, false);
	for (k = 0; k < 8; k++)
		fd_stage(&fd, fd_add(&fd, b, 1, NULL), (u16)k);
	fd_expose(&fd, 8);
	for (k = 0; k < 8; k++)
		ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	fd_set_avail_idx(&fd, 7);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), -EINVAL);
	ck_assert(q.broken);
	ck_assert_uint_eq(q.last_avail, 8);
	fd_destroy(&fd);
	free(c);
}
END_TEST

START_TEST(test_loops)
{
	struct fake_driver fd;
	struct virtq q;
	u16 k;

	bad_setup(&fd, &q, false);		/* self-loop */
	fd_desc(&fd, 3, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 3);
	expect_malformed(&fd, &q, 3, "loop");

	bad_setup(&fd, &q, false);		/* a -> b -> a */
	fd_desc(&fd, 0, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 5);
	fd_desc(&fd, 5, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 0);
	expect_malformed(&fd, &q, 0, "loop");

	bad_setup(&fd, &q, false);		/* zero-length a -> b -> a */
	fd_desc(&fd, 0, 0, 0, VIRTQ_DESC_F_NEXT, 1);
	fd_desc(&fd, 1, 0, 0, VIRTQ_DESC_F_NEXT, 0);
	expect_malformed(&fd, &q, 0, "loop");

	bad_setup(&fd, &q, false);		/* longer than the queue */
	for (k = 0; k < 8; k++)
		fd_desc(&fd, k, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT,
			(u16)((k + 1) % 8));
	expect_malformed(&fd, &q, 0, "loop");

	bad_setup(&fd, &q, false);		/* a tail that loops */
	fd_desc(&fd, 0, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 1);
	fd_desc(&fd, 1, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 2);
	fd_desc(&fd, 2, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 1);
	expect_malformed(&fd, &q, 0, "loop");
}
END_TEST

START_TEST(test_bad_indirect)
{
	struct fake_driver fd;
	struct virtq q;
	u64 t;
	u16 k;

	bad_setup(&fd, &q, false);		/* not negotiated */
	t = fd_alloc_table(&fd, 1);
	fd_write_desc(&fd, t, 0, FD_DATA_BASE, 16, 0, 0);
	fd_desc(&fd, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "not negotiated");

	bad_setup(&fd, &q, true);		/* INDIRECT with NEXT */
	t = fd_alloc_table(&fd, 1);
	fd_write_desc(&fd, t, 0, FD_DATA_BASE, 16, 0, 0);
	fd_desc(&fd, 0, t, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	fd_desc(&fd, 1, FD_DATA_BASE, 16, 0, 0);
	expect_malformed(&fd, &q, 0, "indirect descriptor with NEXT");

	bad_setup(&fd, &q, true);		/* table length 0 */
	fd_desc(&fd, 0, FD_TABLE_BASE, 0, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "multiple of 16");

	bad_setup(&fd, &q, true);		/* not a multiple of 16 */
	fd_desc(&fd, 0, FD_TABLE_BASE, 24, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "multiple of 16");

	bad_setup(&fd, &q, true);		/* more entries than the queue */
	fd_desc(&fd, 0, FD_TABLE_BASE, 16 * 9, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "longer than the queue");

	bad_setup(&fd, &q, true);		/* huge length */
	fd_desc(&fd, 0, FD_TABLE_BASE, 0xFFFFFFF0u, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "longer than the queue");

	bad_setup(&fd, &q, true);		/* table outside RAM */
	fd_desc(&fd, 0, guest_mem_end(&fd.mem) - 16, 32,
		VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "indirect table outside RAM");

	bad_setup(&fd, &q, true);		/* table address wraps */
	fd_desc(&fd, 0, 0xFFFFFFFFFFFFFFF0ULL, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "indirect table outside RAM");

	bad_setup(&fd, &q, true);		/* nested */
	t = fd_alloc_table(&fd, 2);
	fd_write_desc(&fd, t, 0, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 1);
	fd_write_desc(&fd, t, 1, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	fd_desc(&fd, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "nested indirect");

	bad_setup(&fd, &q, true);		/* next >= table entries */
	t = fd_alloc_table(&fd, 2);
	fd_write_desc(&fd, t, 0, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT, 2);
	fd_desc(&fd, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "indirect next index out of range");

	bad_setup(&fd, &q, true);		/* loop inside the table */
	t = fd_alloc_table(&fd, 4);
	for (k = 0; k < 4; k++)
		fd_write_desc(&fd, t, k, FD_DATA_BASE, 16, VIRTQ_DESC_F_NEXT,
			      (u16)((k + 1) % 4));
	fd_desc(&fd, 0, t, 64, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "loop");

	bad_setup(&fd, &q, true);		/* readable after writable, across */
	t = fd_alloc_table(&fd, 1);
	fd_write_desc(&fd, t, 0, FD_DATA_BASE, 16, 0, 0);
	fd_desc(&fd, 0, FD_DATA_BASE, 16,
		VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fd_desc(&fd, 1, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "readable buffer after a writable");

	bad_setup(&fd, &q, true);		/* buffer in the table off RAM */
	t = fd_alloc_table(&fd, 1);
	fd_write_desc(&fd, t, 0, guest_mem_end(&fd.mem), 1, 0, 0);
	fd_desc(&fd, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(&fd, &q, 0, "buffer outside RAM");
}
END_TEST

START_TEST(test_broken_until_reset)
{
	static const struct fd_buf b[] = { { 4, false } };
	struct fake_driver fd;
	struct virtq q = { .name = "net-rx" };
	struct virtq_chain *c = chain_new();
	char line[256];
	FILE *log = tmpfile();
	int lines = 0, k, saved;

	/* Capture stderr: a guest must not be able to make us log in a loop. */
	ck_assert_ptr_nonnull(log);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(log), STDERR_FILENO), 0);

	fd_init(&fd, 8, false);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fd_publish(&fd, 9);
	for (k = 0; k < 100; k++)
		ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), -EINVAL);
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(log);
	while (fgets(line, sizeof(line), log)) {
		ck_assert_ptr_nonnull(strstr(line, "net-rx"));
		lines++;
	}
	ck_assert_int_eq(lines, 1);

	/* A driver that fixes the ring still gets nothing until a reset. */
	fd_avail(&fd)->ring[0] = fd_add(&fd, b, 1, NULL);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), -EINVAL);
	virtq_reset(&q);
	ck_assert(!q.broken && !q.error);
	ck_assert_str_eq(q.name, "net-rx");
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), -EINVAL);	/* not ready */
	fd_set_avail_idx(&fd, 0);
	ck_assert_int_eq(fd_queue_init(&fd, &q, false), 0);
	fd_publish(&fd, 0);
	ck_assert_int_eq(virtq_pop(&q, &fd.mem, c), 1);
	ck_assert_uint_eq(c->head, 0);
	fclose(log);
	free(c);
	fd_destroy(&fd);
}
END_TEST

/* xorshift64: a repeatable stream of hostile bytes. */
static u64 next_rand(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random rings: whatever the guest writes, pop returns 1, 0 or -EINVAL,
 * returns promptly, and every iov it hands out lies inside guest RAM with
 * readable buffers first.
 */
START_TEST(test_random_rings)
{
	struct fake_driver fd;
	struct virtq q = { .name = "fuzz", .quiet = true };
	struct virtq_chain *c = chain_new();
	u64 s = 0x9E3779B97F4A7C15ULL, ram;
	const u8 *lo;
	unsigned int round, k, got = 0, bad = 0, empty = 0;

	fd_init(&fd, 16, false);
	lo = fd.mem.map;
	ram = fd.mem.ram_size;
	for (round = 0; round < 3000; round++) {
		struct virtq_avail *avail = fd_avail(&fd);

		/* Descriptors mostly inside RAM, some beyond; random flags. */
		for (k = 0; k < 16; k++)
			fd_desc(&fd, (u16)k, next_rand(&s) % (ram + ram / 8),
				(u32)(next_rand(&s) % 8192),
				(u16)(next_rand(&s) & 3),
				(u16)(next_rand(&s) % 20));
		/* An indirect table candidate of random garbage. */
		for (k = 0; k < 6; k++)
			fd_write_desc(&fd, FD_TABLE_BASE, k,
				      next_rand(&s) % ram,
				      (u32)(next_rand(&s) % 4096),
				      (u16)(next_rand(&s) & 7),
				      (u16)(next_rand(&s) % 6));
		if (next_rand(&s) & 1)
			fd_desc(&fd, (u16)(next_rand(&s) % 16), FD_TABLE_BASE,
				(u32)(16 * (next_rand(&s) % 7)),
				VIRTQ_DESC_F_INDIRECT, 0);
		for (k = 0; k < 16; k++)
			avail->ring[k] = (u16)(next_rand(&s) % 18);
		ck_assert_int_eq(fd_queue_init(&fd, &q, round & 1), 0);
		fd_set_avail_idx(&fd, (u16)(next_rand(&s) % 20));

		for (k = 0; k < 20; k++) {
			unsigned int i;
			int r = virtq_pop(&q, &fd.mem, c);

			if (r < 0) {
				ck_assert_int_eq(r, -EINVAL);
				ck_assert(q.broken);
				bad++;
				break;
			}
			if (!r) {
				empty++;
				break;
			}
			got++;
			ck_assert_uint_lt(c->head, 16);
			ck_assert_uint_le(c->nr_out + c->nr_in, 16 + 6);
			for (i = 0; i < c->nr_out + c->nr_in; i++) {
				const u8 *b = c->iov[i].base;

				ck_assert_uint_gt(c->iov[i].len, 0);
				ck_assert(b >= lo && b + c->iov[i].len <= lo + ram);
				ck_assert(c->iov[i].write == (i >= c->nr_out));
			}
			ck_assert_int_eq(virtq_push(&q, &fd.mem, c->head, 0), 0);
		}
	}
	/* The stream exercised both sides, not just one of them. */
	ck_assert_uint_gt(got, 1000);
	ck_assert_uint_gt(bad, 1000);
	ck_assert_uint_gt(empty, 100);
	free(c);
	fd_destroy(&fd);
}
END_TEST

static Suite *virtqueue_suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *ok = tcase_create("well-formed");
	TCase *bad = tcase_create("malformed");

	tcase_set_timeout(ok, 30);
	tcase_add_test(ok, test_init_valid);
	tcase_add_test(ok, test_init_bad_size);
	tcase_add_test(ok, test_init_bad_addresses);
	tcase_add_test(ok, test_empty);
	tcase_add_test(ok, test_single_chain);
	tcase_add_test(ok, test_out_then_in);
	tcase_add_test(ok, test_in_only_and_zero_length);
	tcase_add_test(ok, test_several_chains_in_order);
	tcase_add_test(ok, test_index_wrap);
	tcase_add_test(ok, test_indirect);
	tcase_add_test(ok, test_chain_limits);
	tcase_add_test(ok, test_no_interrupt_flag);
	tcase_add_test(ok, test_event_idx_interrupts);
	tcase_add_test(ok, test_event_idx_wrap);
	tcase_add_test(ok, test_device_notify_suppression);
	tcase_add_test(ok, test_two_threads);
	suite_add_tcase(s, ok);

	/* Every malformed ring must fail fast: a hang shows up as a timeout. */
	tcase_set_timeout(bad, 10);
	tcase_add_test(bad, test_bad_buffer_address);
	tcase_add_test(bad, test_bad_buffer_in_hole);
	tcase_add_test(bad, test_bad_indices);
	tcase_add_test(bad, test_bad_avail_idx);
	tcase_add_test(bad, test_loops);
	tcase_add_test(bad, test_bad_indirect);
	tcase_add_test(bad, test_broken_until_reset);
	tcase_add_test(bad, test_random_rings);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	return check_run(virtqueue_suite());
}
