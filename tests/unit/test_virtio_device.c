/*
 * Unit tests for virtio/device (the transport-neutral core) and event_loop
 * (the I/O thread that serves notifications): a fake device implements
 * struct virtio_dev_ops and records what the core asks of it, a fake
 * transport records interrupts, and a fake driver (fake_driver.h) lays out
 * real rings in guest memory for DRIVER_OK and used-ring pushes.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_pci.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fake_driver.h"
#include "trapeze/event_loop.h"
#include "trapeze/virtio/device.h"

#define F_DEV_A		0	/* device-specific feature bits the fake device offers */
#define F_DEV_B		5
#define F_NOT_OFFERED	7
#define FAKE_CONFIG_SIZE 12
#define FAKE_QUEUES	2

#define S_ACK	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV	VIRTIO_CONFIG_S_DRIVER
#define S_FOK	VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK	VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR	VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAIL	VIRTIO_CONFIG_S_FAILED

#define V1	(1ULL << VIRTIO_F_VERSION_1)

struct fake_dev {
	struct virtio_dev vd;
	struct fake_driver drv;		/* guest RAM and queue 0's ring */
	u8 config[FAKE_CONFIG_SIZE];
	int activate_ret;
	atomic_uint activates, resets, notify_calls[FAKE_QUEUES];
	/* Transport side. */
	atomic_uint irq_queue[FAKE_QUEUES], irq_config, transport_resets;
	/* A queue_notify that blocks until released (reset-waits test). */
	pthread_mutex_t m;
	pthread_cond_t c;
	bool block, in_notify, release;
	atomic_int seq, notify_end_seq, reset_seq;
};

static struct fake_dev *fake(struct virtio_dev *vd)
{
	return vd->priv;
}

static u64 fake_features(struct virtio_dev *vd)
{
	(void)vd;
	/* Bit 33 (ACCESS_PLATFORM) and 34 (RING_PACKED) are transport/ring bits: the core must drop them. */
	return (1ULL << F_DEV_A) | (1ULL << F_DEV_B) | (1ULL << 33) | (1ULL << 34);
}

static void fake_config_read(struct virtio_dev *vd, u32 off, void *data, u32 len)
{
	ck_assert_uint_le(off + len, FAKE_CONFIG_SIZE);
	memcpy(data, fake(vd)->config + off, len);
}

static void fake_config_write(struct virtio_dev *vd, u32 off, const void *data, u32 len)
{
	ck_assert_uint_le(off + len, FAKE_CONFIG_SIZE);
	memcpy(fake(vd)->config + off, data, len);
}

static int fake_activate(struct virtio_dev *vd)
{
	fake(vd)->activates++;
	return fake(vd)->activate_ret;
}

static void fake_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct fake_dev *f = fake(vd);

	ck_assert_uint_lt(q, FAKE_QUEUES);
	pthread_mutex_lock(&f->m);
	f->in_notify = true;
	pthread_cond_broadcast(&f->c);
	while (f->block && !f->release)
		pthread_cond_wait(&f->c, &f->m);
	f->in_notify = false;
	f->notify_calls[q]++;
	f->notify_end_seq = ++f->seq;
	pthread_cond_broadcast(&f->c);
	pthread_mutex_unlock(&f->m);
}

static void fake_reset(struct virtio_dev *vd)
{
	struct fake_dev *f = fake(vd);

	f->resets++;
	f->reset_seq = ++f->seq;
}

static const struct virtio_dev_ops fake_ops = {
	.name = "virtio-fake",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = FAKE_QUEUES,
	.config_size = FAKE_CONFIG_SIZE,
	.features = fake_features,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.activate = fake_activate,
	.queue_notify = fake_queue_notify,
	.reset = fake_reset,
};

static void tr_notify_queue(struct virtio_dev *vd, unsigned int q)
{
	fake(vd)->irq_queue[q]++;
}

static void tr_notify_config(struct virtio_dev *vd)
{
	fake(vd)->irq_config++;
}

static void tr_reset(struct virtio_dev *vd)
{
	fake(vd)->transport_resets++;
}

static const struct virtio_transport_ops fake_transport = {
	.notify_queue = tr_notify_queue,
	.notify_config = tr_notify_config,
	.reset = tr_reset,
};

static struct fake_dev *fake_new(void)
{
	struct fake_dev *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	fd_init(&f->drv, 16, false);
	pthread_mutex_init(&f->m, NULL);
	pthread_cond_init(&f->c, NULL);
	ck_assert_int_eq(virtio_dev_init(&f->vd, &fake_ops, f, &f->drv.mem), 0);
	f->vd.transport = &fake_transport;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		f->vd.queues[q].vq.quiet = true;
	for (unsigned int i = 0; i < FAKE_CONFIG_SIZE; i++)
		f->config[i] = (u8)(0xa0 + i);
	return f;
}

static void fake_free(struct fake_dev *f)
{
	virtio_dev_destroy(&f->vd);
	fd_destroy(&f->drv);
	pthread_cond_destroy(&f->c);
	pthread_mutex_destroy(&f->m);
	free(f);
}

/* Driver-side helpers: every register access the core defines is made with vd->lock held. */
static void set_status(struct fake_dev *f, u8 s)
{
	pthread_mutex_lock(&f->vd.lock);
	virtio_dev_set_status(&f->vd, s);
	pthread_mutex_unlock(&f->vd.lock);
}

static void accept_features(struct fake_dev *f, u64 features)
{
	pthread_mutex_lock(&f->vd.lock);
	virtio_dev_set_driver_features(&f->vd, 0, (u32)features);
	virtio_dev_set_driver_features(&f->vd, 1, (u32)(features >> 32));
	pthread_mutex_unlock(&f->vd.lock);
}

/* Queue 0 on the fake driver's ring, size 16, enabled. */
static void setup_queue0(struct fake_dev *f)
{
	pthread_mutex_lock(&f->vd.lock);
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, 0, 16), 0);
	ck_assert_int_eq(virtio_dev_queue_set_rings(&f->vd, 0, f->drv.desc, f->drv.avail,
						    f->drv.used), 0);
	ck_assert_int_eq(virtio_dev_queue_enable(&f->vd, 0, 1), 0);
	pthread_mutex_unlock(&f->vd.lock);
}

/* The whole init sequence of spec 3.1.1 with the given features. */
static void bring_up(struct fake_dev *f, u64 features)
{
	set_status(f, S_ACK);
	set_status(f, S_ACK | S_DRV);
	accept_features(f, features);
	set_status(f, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK);
	setup_queue0(f);
	set_status(f, S_ACK | S_DRV | S_FOK | S_DOK);
}

/* ---- init and features ---- */

START_TEST(test_init_rejects_bad_ops)
{
	struct virtio_dev vd;
	struct virtio_dev_ops ops = fake_ops;

	ops.nr_queues = 0;
	ck_assert_int_eq(virtio_dev_init(&vd, &ops, NULL, NULL), -EINVAL);
	ops.nr_queues = VIRTIO_MAX_QUEUES + 1;
	ck_assert_int_eq(virtio_dev_init(&vd, &ops, NULL, NULL), -EINVAL);
	ops = fake_ops;
	ops.queue_notify = NULL;
	ck_assert_int_eq(virtio_dev_init(&vd, &ops, NULL, NULL), -EINVAL);
	ops = fake_ops;
	ops.reset = NULL;
	ck_assert_int_eq(virtio_dev_init(&vd, &ops, NULL, NULL), -EINVAL);
	ck_assert_int_eq(virtio_dev_init(&vd, NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_init_state)
{
	struct fake_dev *f = fake_new();

	ck_assert_uint_eq(virtio_dev_status(&f->vd), 0);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		ck_assert_uint_eq(f->vd.queues[q].msix_vector, VIRTIO_MSI_NO_VECTOR);
		ck_assert(!f->vd.queues[q].enabled);
	}
	ck_assert_uint_eq(virtio_dev_queue_size(&f->vd, 0), VIRTIO_QUEUE_MAX_SIZE);
	ck_assert_str_eq(f->vd.queues[1].vq.name, "virtio-fake.1");
	fake_free(f);
}
END_TEST

START_TEST(test_offered_features)
{
	struct fake_dev *f = fake_new();
	u64 want = (1ULL << F_DEV_A) | (1ULL << F_DEV_B) | V1 |
		   (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	/* Core bits on top of the device's; its bits 33/34 (transport range) dropped. */
	ck_assert_uint_eq(f->vd.device_features, want);
	ck_assert_uint_eq(virtio_dev_device_features(&f->vd, 0), (u32)want);
	ck_assert_uint_eq(virtio_dev_device_features(&f->vd, 1), 1);	/* VERSION_1 is bit 32 */
	ck_assert_uint_eq(virtio_dev_device_features(&f->vd, 2), 0);
	ck_assert_uint_eq(virtio_dev_device_features(&f->vd, 0xffffffff), 0);
	fake_free(f);
}
END_TEST

START_TEST(test_driver_feature_windows)
{
	struct fake_dev *f = fake_new();

	pthread_mutex_lock(&f->vd.lock);
	virtio_dev_set_driver_features(&f->vd, 0, 0x21);
	virtio_dev_set_driver_features(&f->vd, 1, 0x1);
	virtio_dev_set_driver_features(&f->vd, 2, 0xffffffff);	/* no such window: ignored */
	ck_assert_uint_eq(f->vd.driver_features, 0x100000021ULL);
	ck_assert_uint_eq(virtio_dev_driver_features(&f->vd, 0), 0x21);
	ck_assert_uint_eq(virtio_dev_driver_features(&f->vd, 1), 1);
	ck_assert_uint_eq(virtio_dev_driver_features(&f->vd, 2), 0);
	/* Rewriting one window leaves the other. */
	virtio_dev_set_driver_features(&f->vd, 0, 0x1);
	ck_assert_uint_eq(f->vd.driver_features, 0x100000001ULL);
	pthread_mutex_unlock(&f->vd.lock);
	fake_free(f);
}
END_TEST

START_TEST(test_features_frozen_after_features_ok)
{
	struct fake_dev *f = fake_new();

	set_status(f, S_ACK | S_DRV);
	accept_features(f, V1 | (1ULL << F_DEV_A));
	set_status(f, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK);
	accept_features(f, V1 | (1ULL << F_DEV_B));
	ck_assert_uint_eq(f->vd.driver_features, V1 | (1ULL << F_DEV_A));
	fake_free(f);
}
END_TEST

/* ---- the status machine (2.1, 3.1.1) ---- */

START_TEST(test_status_normal_sequence)
{
	struct fake_dev *f = fake_new();

	bring_up(f, V1 | (1ULL << F_DEV_A) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(f->activates, 1);
	ck_assert(f->vd.live);
	ck_assert(f->vd.queues[0].vq.ready);
	ck_assert(f->vd.queues[0].vq.event_idx);
	ck_assert(!f->vd.queues[0].vq.indirect);
	ck_assert_uint_eq(f->vd.queues[0].vq.size, 16);
	ck_assert(!f->vd.queues[1].vq.ready);	/* not enabled: left alone */
	/* Writing DRIVER_OK again does not activate twice. */
	set_status(f, S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(f->activates, 1);
	fake_free(f);
}
END_TEST

START_TEST(test_status_bits_need_their_predecessors)
{
	struct fake_dev *f = fake_new();

	accept_features(f, V1);
	/* DRIVER without ACKNOWLEDGE. */
	set_status(f, S_DRV);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), 0);
	/* FEATURES_OK without DRIVER: only ACKNOWLEDGE sticks. */
	set_status(f, S_ACK | S_FOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK);
	/* DRIVER_OK without FEATURES_OK. */
	set_status(f, S_ACK | S_DRV | S_DOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV);
	ck_assert_uint_eq(f->activates, 0);
	ck_assert(!f->vd.live);
	/* Several steps in one write are fine when they come in order. */
	set_status(f, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK);
	fake_free(f);
}
END_TEST

START_TEST(test_status_all_at_once)
{
	struct fake_dev *f = fake_new();

	accept_features(f, V1);
	setup_queue0(f);
	set_status(f, S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(f->activates, 1);
	fake_free(f);
}
END_TEST

START_TEST(test_features_ok_refused_not_offered)
{
	struct fake_dev *f = fake_new();

	set_status(f, S_ACK | S_DRV);
	accept_features(f, V1 | (1ULL << F_NOT_OFFERED));
	set_status(f, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV);
	/* Nor DRIVER_OK after a refused FEATURES_OK. */
	set_status(f, S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV);
	ck_assert_uint_eq(f->activates, 0);
	/* A transport bit the device would have offered but the core removed is not offered either. */
	accept_features(f, V1 | (1ULL << 34));
	set_status(f, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV);
	/* The driver retries with a valid subset: accepted. */
	accept_features(f, V1 | (1ULL << F_DEV_B));
	set_status(f, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK);
	fake_free(f);
}
END_TEST

START_TEST(test_features_ok_needs_version_1)
{
	struct fake_dev *f = fake_new();

	set_status(f, S_ACK | S_DRV);
	accept_features(f, (1ULL << F_DEV_A));	/* a legacy driver's answer */
	set_status(f, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV);
	fake_free(f);
}
END_TEST

START_TEST(test_status_driver_cannot_clear_or_set_needs_reset)
{
	struct fake_dev *f = fake_new();

	set_status(f, S_ACK | S_DRV);
	/* Clearing DRIVER (not a reset): ignored whole, the FAILED in it too. */
	set_status(f, S_ACK | S_FAIL);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV);
	/* NEEDS_RESET is the device's bit. */
	set_status(f, S_ACK | S_DRV | S_NR);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV);
	/* FAILED may be set at any step. */
	set_status(f, S_ACK | S_DRV | S_FAIL);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FAIL);
	fake_free(f);
}
END_TEST

START_TEST(test_driver_ok_bad_ring_needs_reset)
{
	struct fake_dev *f = fake_new();

	set_status(f, S_ACK | S_DRV);
	accept_features(f, V1);
	set_status(f, S_ACK | S_DRV | S_FOK);
	pthread_mutex_lock(&f->vd.lock);
	/* The used ring past the end of the fake driver's 16 MiB of RAM. */
	ck_assert_int_eq(virtio_dev_queue_set_rings(&f->vd, 0, f->drv.desc, f->drv.avail,
						    16ULL << 20), 0);
	ck_assert_int_eq(virtio_dev_queue_enable(&f->vd, 0, 1), 0);
	pthread_mutex_unlock(&f->vd.lock);
	set_status(f, S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	ck_assert_uint_eq(f->activates, 0);
	ck_assert(!f->vd.live);
	ck_assert(!f->vd.queues[0].vq.ready);
	/* 2.1.2: NEEDS_RESET after DRIVER_OK comes with a config change notification. */
	ck_assert_uint_eq(f->irq_config, 1);
	fake_free(f);
}
END_TEST

START_TEST(test_activate_failure_needs_reset)
{
	struct fake_dev *f = fake_new();

	f->activate_ret = -ENOMEM;
	bring_up(f, V1);
	ck_assert_uint_eq(f->activates, 1);
	ck_assert(virtio_dev_status(&f->vd) & S_NR);
	ck_assert(!f->vd.live);
	fake_free(f);
}
END_TEST

/* ---- queue registers ---- */

START_TEST(test_queue_select_out_of_range)
{
	struct fake_dev *f = fake_new();

	pthread_mutex_lock(&f->vd.lock);
	ck_assert_uint_eq(virtio_dev_queue_size(&f->vd, FAKE_QUEUES), 0);
	ck_assert_uint_eq(virtio_dev_queue_size(&f->vd, 0xffff), 0);
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, FAKE_QUEUES, 8), -EINVAL);
	ck_assert_int_eq(virtio_dev_queue_set_rings(&f->vd, 0xffff, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(virtio_dev_queue_enable(&f->vd, VIRTIO_MAX_QUEUES, 1), -EINVAL);
	pthread_mutex_unlock(&f->vd.lock);
	fake_free(f);
}
END_TEST

START_TEST(test_queue_size_rules)
{
	struct fake_dev *f = fake_new();

	pthread_mutex_lock(&f->vd.lock);
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, 1, 0), -EINVAL);
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, 1, 100), -EINVAL);
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, 1, VIRTIO_QUEUE_MAX_SIZE * 2), -EINVAL);
	ck_assert_uint_eq(virtio_dev_queue_size(&f->vd, 1), VIRTIO_QUEUE_MAX_SIZE);
	/* The driver may shrink it to any power of 2. */
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, 1, 1), 0);
	ck_assert_uint_eq(virtio_dev_queue_size(&f->vd, 1), 1);
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, 1, 64), 0);
	ck_assert_uint_eq(virtio_dev_queue_size(&f->vd, 1), 64);
	pthread_mutex_unlock(&f->vd.lock);
	fake_free(f);
}
END_TEST

START_TEST(test_queue_enable_rules)
{
	struct fake_dev *f = fake_new();

	pthread_mutex_lock(&f->vd.lock);
	/* 4.1.4.3.2: the driver never writes 0; anything but 1 is ignored. */
	ck_assert_int_eq(virtio_dev_queue_enable(&f->vd, 1, 0), -EINVAL);
	ck_assert_int_eq(virtio_dev_queue_enable(&f->vd, 1, 2), -EINVAL);
	ck_assert(!f->vd.queues[1].enabled);
	ck_assert_int_eq(virtio_dev_queue_enable(&f->vd, 1, 1), 0);
	ck_assert(f->vd.queues[1].enabled);
	/* An enabled queue's size and rings are fixed. */
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, 1, 8), -EBUSY);
	ck_assert_int_eq(virtio_dev_queue_set_rings(&f->vd, 1, 0x1000, 0x2000, 0x3000), -EBUSY);
	ck_assert_uint_eq(f->vd.queues[1].desc, 0);
	pthread_mutex_unlock(&f->vd.lock);
	fake_free(f);
}
END_TEST

START_TEST(test_queue_writes_after_driver_ok_ignored)
{
	struct fake_dev *f = fake_new();

	bring_up(f, V1);
	pthread_mutex_lock(&f->vd.lock);
	ck_assert_int_eq(virtio_dev_queue_set_size(&f->vd, 1, 8), -EBUSY);
	ck_assert_int_eq(virtio_dev_queue_set_rings(&f->vd, 1, 0x1000, 0x2000, 0x3000), -EBUSY);
	ck_assert_int_eq(virtio_dev_queue_enable(&f->vd, 1, 1), -EBUSY);
	ck_assert_uint_eq(f->vd.queues[1].size, VIRTIO_QUEUE_MAX_SIZE);
	ck_assert(!f->vd.queues[1].enabled);
	ck_assert_uint_eq(f->vd.queues[1].desc, 0);
	pthread_mutex_unlock(&f->vd.lock);
	fake_free(f);
}
END_TEST

/* ---- device configuration and its generation ---- */

START_TEST(test_config_bounds)
{
	struct fake_dev *f = fake_new();
	u8 buf[8];
	u32 v = 0x11223344;

	pthread_mutex_lock(&f->vd.lock);
	ck_assert_int_eq(virtio_dev_config_read(&f->vd, 8, buf, 4), 0);
	ck_assert_uint_eq(buf[0], 0xa8);
	ck_assert_uint_eq(buf[3], 0xab);
	/* Straddling the end, past it, or absurd offsets: zeros, nothing read. */
	memset(buf, 0x55, sizeof(buf));
	ck_assert_int_eq(virtio_dev_config_read(&f->vd, 10, buf, 4), -EINVAL);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_uint_eq(buf[3], 0);
	ck_assert_int_eq(virtio_dev_config_read(&f->vd, FAKE_CONFIG_SIZE, buf, 1), -EINVAL);
	ck_assert_int_eq(virtio_dev_config_read(&f->vd, 0xfffffffe, buf, 4), -EINVAL);
	ck_assert_int_eq(virtio_dev_config_write(&f->vd, 0xfffffffe, &v, 4), -EINVAL);
	ck_assert_int_eq(virtio_dev_config_write(&f->vd, 9, &v, 4), -EINVAL);
	ck_assert_uint_eq(f->config[9], 0xa9);
	ck_assert_int_eq(virtio_dev_config_write(&f->vd, 8, &v, 4), 0);
	ck_assert_uint_eq(f->config[8], 0x44);
	ck_assert_uint_eq(f->config[11], 0x11);
	pthread_mutex_unlock(&f->vd.lock);
	fake_free(f);
}
END_TEST

START_TEST(test_config_generation)
{
	struct fake_dev *f = fake_new();
	u8 b;
	u32 g0 = virtio_dev_config_generation(&f->vd);

	/* A change bumps it; no interrupt before DRIVER_OK (2.1.2). */
	virtio_dev_config_changed(&f->vd);
	ck_assert_uint_eq(virtio_dev_config_generation(&f->vd), g0 + 1);
	ck_assert_uint_eq(f->irq_config, 0);
	/* More changes the driver has not read yet: no further bump, so 256 changes cannot wrap it. */
	for (int i = 0; i < 300; i++)
		virtio_dev_config_changed(&f->vd);
	ck_assert_uint_eq(virtio_dev_config_generation(&f->vd), g0 + 1);
	/* The driver reads the config: the next change bumps again. */
	pthread_mutex_lock(&f->vd.lock);
	virtio_dev_config_read(&f->vd, 0, &b, 1);
	pthread_mutex_unlock(&f->vd.lock);
	virtio_dev_config_changed(&f->vd);
	ck_assert_uint_eq(virtio_dev_config_generation(&f->vd), g0 + 2);
	/* After DRIVER_OK a change also notifies the driver. */
	bring_up(f, V1);
	virtio_dev_config_changed(&f->vd);
	ck_assert_uint_eq(f->irq_config, 1);
	fake_free(f);
}
END_TEST

/* ---- reset ---- */

START_TEST(test_reset_clears_everything)
{
	struct fake_dev *f = fake_new();

	bring_up(f, V1 | (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	f->vd.queues[0].msix_vector = 1;
	virtio_dev_needs_reset(&f->vd);
	ck_assert(virtio_dev_status(&f->vd) & S_NR);

	set_status(f, 0);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), 0);
	ck_assert_uint_eq(f->resets, 1);
	ck_assert_uint_eq(f->transport_resets, 1);
	ck_assert_uint_eq(f->vd.driver_features, 0);
	ck_assert(!f->vd.live);
	ck_assert(!f->vd.queues[0].enabled);
	ck_assert(!f->vd.queues[0].vq.ready);
	ck_assert_uint_eq(f->vd.queues[0].size, VIRTIO_QUEUE_MAX_SIZE);
	ck_assert_uint_eq(f->vd.queues[0].desc, 0);
	ck_assert_uint_eq(f->vd.queues[0].used, 0);
	ck_assert_uint_eq(f->vd.queues[0].msix_vector, VIRTIO_MSI_NO_VECTOR);
	ck_assert_str_eq(f->vd.queues[0].vq.name, "virtio-fake.0");
	/* Offered features survive; the device can be brought up again. */
	ck_assert(f->vd.device_features & V1);
	bring_up(f, V1);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(f->activates, 2);
	fake_free(f);
}
END_TEST

START_TEST(test_push_after_reset_refused)
{
	struct fake_dev *f = fake_new();

	bring_up(f, V1);
	set_status(f, 0);
	ck_assert_int_eq(virtio_dev_push_used(&f->vd, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(virtio_dev_push_used(&f->vd, VIRTIO_MAX_QUEUES, 0, 0), -EINVAL);
	ck_assert_uint_eq(f->irq_queue[0], 0);
	fake_free(f);
}
END_TEST

struct reset_thread {
	struct fake_dev *f;
	atomic_bool done;
};

static void *do_reset(void *arg)
{
	struct reset_thread *rt = arg;

	set_status(rt->f, 0);
	rt->done = true;
	return NULL;
}

static void *do_kick(void *arg)
{
	struct fake_dev *f = arg;

	virtio_dev_kick(&f->vd, 0);
	return NULL;
}

START_TEST(test_reset_waits_for_running_notify)
{
	struct fake_dev *f = fake_new();
	struct reset_thread rt = { .f = f };
	struct timespec ms20 = { 0, 20 * 1000 * 1000 };
	pthread_t kicker, resetter;

	bring_up(f, V1);
	f->block = true;
	ck_assert_int_eq(pthread_create(&kicker, NULL, do_kick, f), 0);
	pthread_mutex_lock(&f->m);
	while (!f->in_notify)
		pthread_cond_wait(&f->c, &f->m);
	pthread_mutex_unlock(&f->m);

	ck_assert_int_eq(pthread_create(&resetter, NULL, do_reset, &rt), 0);
	for (int i = 0; i < 5; i++) {
		nanosleep(&ms20, NULL);
		ck_assert(!rt.done);	/* still waiting for queue_notify */
	}
	ck_assert_uint_eq(f->resets, 0);
	pthread_mutex_lock(&f->m);
	f->release = true;
	pthread_cond_broadcast(&f->c);
	pthread_mutex_unlock(&f->m);
	pthread_join(kicker, NULL);
	pthread_join(resetter, NULL);
	ck_assert(rt.done);
	ck_assert_uint_eq(f->resets, 1);
	ck_assert_int_lt(f->notify_end_seq, f->reset_seq);	/* ops->reset after queue_notify returned */
	fake_free(f);
}
END_TEST

/* ---- kicks, pushes, interrupts ---- */

START_TEST(test_kick_only_when_live)
{
	struct fake_dev *f = fake_new();

	virtio_dev_kick(&f->vd, 0);	/* before DRIVER_OK (2.1.2: no buffers consumed) */
	ck_assert_uint_eq(f->notify_calls[0], 0);
	bring_up(f, V1);
	virtio_dev_kick(&f->vd, 0);
	ck_assert_uint_eq(f->notify_calls[0], 1);
	virtio_dev_kick(&f->vd, 1);	/* queue 1 was never enabled */
	virtio_dev_kick(&f->vd, 7);	/* no such queue */
	virtio_dev_kick(&f->vd, 0xffffffff);
	ck_assert_uint_eq(f->notify_calls[1], 0);
	virtio_dev_needs_reset(&f->vd);
	set_status(f, 0);
	virtio_dev_kick(&f->vd, 0);
	ck_assert_uint_eq(f->notify_calls[0], 1);
	fake_free(f);
}
END_TEST

START_TEST(test_push_used_interrupts)
{
	struct fake_dev *f = fake_new();
	struct virtq_chain *chain = calloc(1, sizeof(*chain));
	struct fd_buf buf = { .len = 64, .write = true };
	struct virtio_queue_state *qs = &f->vd.queues[0];
	u16 head;

	ck_assert_ptr_nonnull(chain);
	bring_up(f, V1);
	head = fd_add(&f->drv, &buf, 1, NULL);
	fd_publish(&f->drv, head);
	ck_assert_int_eq(virtq_pop(&qs->vq, &f->drv.mem, chain), 1);
	ck_assert_int_eq(virtio_dev_push_used(&f->vd, 0, chain->head, 64), 0);
	ck_assert_uint_eq(fd_used_idx(&f->drv), 1);
	ck_assert_uint_eq(fd_used_elem(&f->drv, 0).len, 64);
	ck_assert_uint_eq(f->irq_queue[0], 1);

	/* The driver asks for no interrupts (2.7.7): the push happens, the interrupt does not. */
	fd_set_avail_flags(&f->drv, VIRTQ_AVAIL_F_NO_INTERRUPT);
	head = fd_add(&f->drv, &buf, 1, NULL);
	fd_publish(&f->drv, head);
	ck_assert_int_eq(virtq_pop(&qs->vq, &f->drv.mem, chain), 1);
	ck_assert_int_eq(virtio_dev_push_used(&f->vd, 0, chain->head, 1), 0);
	ck_assert_uint_eq(fd_used_idx(&f->drv), 2);
	ck_assert_uint_eq(f->irq_queue[0], 1);
	/* A head that was never popped. */
	ck_assert_int_eq(virtio_dev_push_used(&f->vd, 0, 3, 1), -EINVAL);
	free(chain);
	fake_free(f);
}
END_TEST

START_TEST(test_needs_reset_once)
{
	struct fake_dev *f = fake_new();

	virtio_dev_needs_reset(&f->vd);	/* before DRIVER_OK: the bit, no interrupt */
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_NR);
	ck_assert_uint_eq(f->irq_config, 0);
	set_status(f, 0);
	bring_up(f, V1);
	virtio_dev_needs_reset(&f->vd);
	virtio_dev_needs_reset(&f->vd);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	ck_assert_uint_eq(f->irq_config, 1);
	/* A driver status write keeps the device's NEEDS_RESET. */
	set_status(f, S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
	ck_assert_uint_eq(virtio_dev_status(&f->vd), S_ACK | S_DRV | S_FOK | S_DOK | S_NR | S_FAIL);
	fake_free(f);
}
END_TEST

/* ---- the I/O thread: event_loop ---- */

struct kick_src {
	struct fake_dev *f;
	int fd;
	unsigned int q;
};

/* What virtio/pci does with a queue's eventfd: drain it, then kick. */
static void kick_ready(void *opaque, u32 events)
{
	struct kick_src *k = opaque;
	u64 n;

	ck_assert(events & EPOLLIN);
	ck_assert_int_eq(read(k->fd, &n, sizeof(n)), sizeof(n));
	virtio_dev_kick(&k->f->vd, k->q);
}

/* Waits (bounded) until queue q of f saw n notifications. */
static bool wait_notifies(struct fake_dev *f, unsigned int q, unsigned int n)
{
	struct timespec ms1 = { 0, 1000 * 1000 };

	for (int i = 0; i < 5000 && f->notify_calls[q] < n; i++)
		nanosleep(&ms1, NULL);
	return f->notify_calls[q] >= n;
}

START_TEST(test_notify_through_event_loop)
{
	struct fake_dev *f = fake_new();
	struct event_loop *el;
	struct kick_src k = { .f = f, .q = 0 };
	u64 one = 1;

	bring_up(f, V1);
	ck_assert_int_eq(event_loop_create(&el), 0);
	k.fd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_ge(k.fd, 0);
	ck_assert_int_eq(event_loop_add(el, k.fd, EPOLLIN, kick_ready, &k), 0);
	ck_assert_int_eq(event_loop_add(el, k.fd, EPOLLIN, kick_ready, &k), -EEXIST);

	ck_assert_int_eq(write(k.fd, &one, sizeof(one)), sizeof(one));
	ck_assert(wait_notifies(f, 0, 1));
	ck_assert_int_eq(write(k.fd, &one, sizeof(one)), sizeof(one));
	ck_assert(wait_notifies(f, 0, 2));

	/* After remove, a write reaches nobody. */
	ck_assert_int_eq(event_loop_remove(el, k.fd), 0);
	ck_assert_int_eq(event_loop_remove(el, k.fd), -ENOENT);
	ck_assert_int_eq(write(k.fd, &one, sizeof(one)), sizeof(one));
	usleep(50 * 1000);
	ck_assert_uint_eq(f->notify_calls[0], 2);

	event_loop_destroy(el);
	close(k.fd);
	fake_free(f);
}
END_TEST

static void *release_later(void *arg)
{
	struct fake_dev *f = arg;

	usleep(100 * 1000);
	pthread_mutex_lock(&f->m);
	f->release = true;
	pthread_cond_broadcast(&f->c);
	pthread_mutex_unlock(&f->m);
	return NULL;
}

START_TEST(test_event_loop_remove_waits_for_callback)
{
	struct fake_dev *f = fake_new();
	struct event_loop *el;
	struct kick_src k = { .f = f, .q = 0 };
	pthread_t releaser;
	u64 one = 1;

	bring_up(f, V1);
	f->block = true;
	ck_assert_int_eq(event_loop_create(&el), 0);
	k.fd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_eq(event_loop_add(el, k.fd, EPOLLIN, kick_ready, &k), 0);
	ck_assert_int_eq(write(k.fd, &one, sizeof(one)), sizeof(one));
	pthread_mutex_lock(&f->m);
	while (!f->in_notify)
		pthread_cond_wait(&f->c, &f->m);
	pthread_mutex_unlock(&f->m);

	/* The callback is inside queue_notify until the releaser lets it go, 100 ms from now. */
	ck_assert_int_eq(pthread_create(&releaser, NULL, release_later, f), 0);
	ck_assert_int_eq(event_loop_remove(el, k.fd), 0);
	ck_assert(!f->in_notify);
	ck_assert_uint_eq(f->notify_calls[0], 1);
	pthread_join(releaser, NULL);
	event_loop_destroy(el);
	close(k.fd);
	fake_free(f);
}
END_TEST

struct self_remover {
	struct event_loop *el;
	int fd;
	atomic_int calls;
	atomic_int remove_ret;
};

static void remove_self(void *opaque, u32 events)
{
	struct self_remover *sr = opaque;

	(void)events;
	sr->remove_ret = event_loop_remove(sr->el, sr->fd);
	sr->calls++;
}

START_TEST(test_event_loop_callback_removes_itself)
{
	struct self_remover sr = { .remove_ret = 1 };
	u64 one = 1;

	ck_assert_int_eq(event_loop_create(&sr.el), 0);
	sr.fd = eventfd(0, EFD_NONBLOCK);
	/* Level-triggered and never drained: only the removal stops it firing. */
	ck_assert_int_eq(event_loop_add(sr.el, sr.fd, EPOLLIN, remove_self, &sr), 0);
	ck_assert_int_eq(write(sr.fd, &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 5000 && !sr.calls; i++)
		usleep(1000);
	usleep(20 * 1000);
	ck_assert_int_eq(sr.calls, 1);
	ck_assert_int_eq(sr.remove_ret, 0);
	event_loop_destroy(sr.el);
	close(sr.fd);
}
END_TEST

START_TEST(test_event_loop_bad_args_and_stop)
{
	struct event_loop *el;
	int fd = eventfd(0, EFD_NONBLOCK);

	ck_assert_int_eq(event_loop_create(&el), 0);
	ck_assert_int_eq(event_loop_add(el, -1, EPOLLIN, remove_self, NULL), -EINVAL);
	ck_assert_int_eq(event_loop_add(el, fd, 0, remove_self, NULL), -EINVAL);
	ck_assert_int_eq(event_loop_add(el, fd, EPOLLIN, NULL, NULL), -EINVAL);
	ck_assert_int_eq(event_loop_remove(el, fd), -ENOENT);
	/* Stopped: fds can still be added and removed; stop twice is harmless. */
	event_loop_stop(el);
	event_loop_stop(el);
	ck_assert_int_eq(event_loop_add(el, fd, EPOLLIN, remove_self, NULL), 0);
	ck_assert_int_eq(event_loop_remove(el, fd), 0);
	event_loop_destroy(el);
	event_loop_destroy(NULL);
	event_loop_stop(NULL);
	close(fd);
}
END_TEST

static Suite *virtio_device_suite(void)
{
	Suite *s = suite_create("virtio_device");
	TCase *tc;

	tc = tcase_create("init");
	tcase_add_test(tc, test_init_rejects_bad_ops);
	tcase_add_test(tc, test_init_state);
	tcase_add_test(tc, test_offered_features);
	tcase_add_test(tc, test_driver_feature_windows);
	tcase_add_test(tc, test_features_frozen_after_features_ok);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_test(tc, test_status_normal_sequence);
	tcase_add_test(tc, test_status_bits_need_their_predecessors);
	tcase_add_test(tc, test_status_all_at_once);
	tcase_add_test(tc, test_features_ok_refused_not_offered);
	tcase_add_test(tc, test_features_ok_needs_version_1);
	tcase_add_test(tc, test_status_driver_cannot_clear_or_set_needs_reset);
	tcase_add_test(tc, test_driver_ok_bad_ring_needs_reset);
	tcase_add_test(tc, test_activate_failure_needs_reset);
	suite_add_tcase(s, tc);

	tc = tcase_create("queues");
	tcase_add_test(tc, test_queue_select_out_of_range);
	tcase_add_test(tc, test_queue_size_rules);
	tcase_add_test(tc, test_queue_enable_rules);
	tcase_add_test(tc, test_queue_writes_after_driver_ok_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, test_config_bounds);
	tcase_add_test(tc, test_config_generation);
	suite_add_tcase(s, tc);

	tc = tcase_create("reset");
	tcase_add_test(tc, test_reset_clears_everything);
	tcase_add_test(tc, test_push_after_reset_refused);
	tcase_add_test(tc, test_reset_waits_for_running_notify);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_add_test(tc, test_kick_only_when_live);
	tcase_add_test(tc, test_push_used_interrupts);
	tcase_add_test(tc, test_needs_reset_once);
	tcase_add_test(tc, test_notify_through_event_loop);
	tcase_add_test(tc, test_event_loop_remove_waits_for_callback);
	tcase_add_test(tc, test_event_loop_callback_removes_itself);
	tcase_add_test(tc, test_event_loop_bad_args_and_stop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(virtio_device_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
