/*
 * Unit tests for virtio-rng: chains from a fake driver (fake_driver.h),
 * served through the real virtio core (virtio_rig.h); the tests check how
 * many bytes came back, that they look random, that the cap holds, and the
 * --rng option.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake_driver.h"
#include "trapeze/config.h"
#include "trapeze/virtio/rng.h"
#include "virtio_rig.h"

struct rig {
	struct fake_driver fd;
	struct virtio_rng rng;
	struct vrig_irqs irqs;
	u16 used;
};

static void rig_init(struct rig *r)
{
	struct fake_driver *fds[1] = { &r->fd };

	memset(r, 0, sizeof(*r));
	fd_init(&r->fd, 64, false);
	ck_assert_int_eq(virtio_rng_create(&r->rng, &r->fd.mem), 0);
	vrig_attach(&r->rng.vd, &r->irqs);
	vrig_start(&r->rng.vd, fds, 1, 0);
}

static void rig_destroy(struct rig *r)
{
	virtio_rng_destroy(&r->rng);
	fd_destroy(&r->fd);
}

/* Publishes a chain of the given buffers, kicks, returns the used length. */
static u32 run(struct rig *r, const struct fd_buf *bufs, unsigned int n, u64 *gpas)
{
	u16 head = fd_add(&r->fd, bufs, n, gpas);
	struct virtq_used_elem e;

	fd_publish(&r->fd, head);
	virtio_dev_kick(&r->rng.vd, 0);
	vrig_wait_used(&r->fd, ++r->used);
	e = fd_used_elem(&r->fd, (u16)(r->used - 1));
	ck_assert_uint_eq(e.id, head);
	return e.len;
}

/* Number of distinct byte values in buf: random bytes have many, a fill has one. */
static unsigned int distinct(const u8 *buf, size_t len)
{
	bool seen[256] = { false };
	unsigned int n = 0;

	for (size_t i = 0; i < len; i++) {
		if (!seen[buf[i]])
			n++;
		seen[buf[i]] = true;
	}
	return n;
}

START_TEST(test_device)
{
	struct rig r;

	rig_init(&r);
	ck_assert_uint_eq(virtio_rng_ops.device_id, VIRTIO_ID_RNG);
	ck_assert_uint_eq(virtio_rng_ops.nr_queues, 1);
	ck_assert_uint_eq(virtio_rng_ops.config_size, 0);
	/* Only the core's features: the entropy device has none (5.4.3). */
	ck_assert_uint_eq(r.rng.vd.device_features, VIRTIO_DEV_CORE_FEATURES);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_fills_buffer)
{
	struct rig r;
	struct fd_buf buf = { 256, true };
	u64 a, b;

	rig_init(&r);
	ck_assert_uint_eq(run(&r, &buf, 1, &a), 256);
	ck_assert_uint_eq(run(&r, &buf, 1, &b), 256);
	/* The fill pattern (one value) is gone; 256 random bytes have far more than 64 values. */
	ck_assert_uint_gt(distinct(fd_host(&r.fd, a, 256), 256), 64);
	/* Two requests do not get the same bytes. */
	ck_assert(memcmp(fd_host(&r.fd, a, 256), fd_host(&r.fd, b, 256), 256) != 0);
	ck_assert_int_gt(atomic_load(&r.irqs.queue[0]), 0);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_several_buffers)
{
	struct rig r;
	struct fd_buf bufs[3] = { { 100, true }, { 1, true }, { 300, true } };
	u64 gpas[3];

	rig_init(&r);
	ck_assert_uint_eq(run(&r, bufs, 3, gpas), 401);
	ck_assert_uint_gt(distinct(fd_host(&r.fd, gpas[2], 300), 300), 64);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_capped)
{
	struct rig r;
	struct fd_buf buf = { 3 * VIRTIO_RNG_MAX_REQUEST, true };
	u64 gpa;
	u8 *p;

	rig_init(&r);
	/* A huge buffer gets the cap's worth and no more (5.4.6.2 allows less). */
	ck_assert_uint_eq(run(&r, &buf, 1, &gpa), VIRTIO_RNG_MAX_REQUEST);
	p = fd_host(&r.fd, gpa, buf.len);
	ck_assert_uint_gt(distinct(p, VIRTIO_RNG_MAX_REQUEST), 200);
	for (u32 i = VIRTIO_RNG_MAX_REQUEST; i < buf.len; i++)
		ck_assert_uint_eq(p[i], 0x10);	/* fd_alloc's fill for buffer 0 */
	rig_destroy(&r);
}
END_TEST

START_TEST(test_readable_buffers_ignored)
{
	struct rig r;
	struct fd_buf mixed[2] = { { 32, false }, { 64, true } };
	struct fd_buf readonly = { 32, false };
	u64 gpas[2];
	u8 *p;

	rig_init(&r);
	ck_assert_uint_eq(run(&r, mixed, 2, gpas), 64);
	p = fd_host(&r.fd, gpas[0], 32);
	for (int i = 0; i < 32; i++)
		ck_assert_uint_eq(p[i], 0x10);	/* not written */
	/* Nothing writable: given back empty. */
	ck_assert_uint_eq(run(&r, &readonly, 1, gpas), 0);
	ck_assert(!(virtio_dev_status(&r.rng.vd) & VIRTIO_CONFIG_S_NEEDS_RESET));
	rig_destroy(&r);
}
END_TEST

START_TEST(test_many_requests_one_kick)
{
	struct rig r;
	struct fd_buf buf = { 16, true };

	rig_init(&r);
	for (int i = 0; i < 40; i++)
		fd_stage(&r.fd, fd_add(&r.fd, &buf, 1, NULL), (u16)i);
	fd_expose(&r.fd, 40);
	virtio_dev_kick(&r.rng.vd, 0);
	vrig_wait_used(&r.fd, 40);
	for (u16 i = 0; i < 40; i++)
		ck_assert_uint_eq(fd_used_elem(&r.fd, i).len, 16);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_queued_before_driver_ok)
{
	struct rig r;
	struct fake_driver *fds[1] = { &r.fd };
	struct fd_buf buf = { 32, true };

	/* Chains queued before DRIVER_OK (3.1.1 lets a driver fill, not notify) are served then. */
	memset(&r, 0, sizeof(r));
	fd_init(&r.fd, 64, false);
	ck_assert_int_eq(virtio_rng_create(&r.rng, &r.fd.mem), 0);
	vrig_attach(&r.rng.vd, &r.irqs);
	fd_publish(&r.fd, fd_add(&r.fd, &buf, 1, NULL));
	vrig_start(&r.rng.vd, fds, 1, 0);
	vrig_wait_used(&r.fd, 1);
	ck_assert_uint_eq(fd_used_elem(&r.fd, 0).len, 32);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_malformed_ring)
{
	struct rig r;

	rig_init(&r);
	fd_publish(&r.fd, 1000);	/* head past the queue */
	virtio_dev_kick(&r.rng.vd, 0);
	ck_assert(virtio_dev_status(&r.rng.vd) & VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_int_eq(atomic_load(&r.irqs.config), 1);
	vrig_reset(&r.rng.vd);
	ck_assert_uint_eq(virtio_dev_status(&r.rng.vd), 0);
	rig_destroy(&r);
}
END_TEST

START_TEST(test_rng_option)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];
	char *plain[] = { "trapeze", "run", "-k", "k", NULL };
	char *rng[] = { "trapeze", "run", "-k", "k", "--rng", NULL };
	char *bad[] = { "trapeze", "run", "-k", "k", "--rng=yes", NULL };

	ck_assert_int_eq(config_parse(&cfg, 4, plain, err, sizeof(err)), 0);
	ck_assert(!cfg.rng);
	ck_assert_int_eq(config_parse(&cfg, 5, rng, err, sizeof(err)), 0);
	ck_assert(cfg.rng);
	ck_assert_int_eq(config_parse(&cfg, 5, bad, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "takes no argument"));
	ck_assert_ptr_nonnull(strstr(config_run_usage(), "--rng"));
}
END_TEST

static Suite *virtio_rng_suite(void)
{
	Suite *s = suite_create("virtio_rng");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_device);
	tcase_add_test(tc, test_fills_buffer);
	tcase_add_test(tc, test_several_buffers);
	tcase_add_test(tc, test_capped);
	tcase_add_test(tc, test_readable_buffers_ignored);
	tcase_add_test(tc, test_many_requests_one_kick);
	tcase_add_test(tc, test_queued_before_driver_ok);
	tcase_add_test(tc, test_malformed_ring);
	tcase_add_test(tc, test_rng_option);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(virtio_rng_suite());
}
