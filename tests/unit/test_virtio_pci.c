/*
 * Unit tests for virtio/pci, the virtio 1.x PCI transport: the function's
 * header and capabilities as a driver walks them, every common
 * configuration register, ISR and interrupt routing (through a recording
 * irq seam), device configuration through the BAR, notifications through
 * the event loop, the PCI_CFG window, and, on the real PCI bus, decoding and
 * (where /dev/kvm is usable) the ioeventfds following BAR moves.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fake_driver.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/bus.h"
#include "trapeze/event_loop.h"
#include "trapeze/virtio/pci.h"

#define NQ		2
#define CFG_SIZE	12
#define V1		(1ULL << VIRTIO_F_VERSION_1)

#define S_ACK	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV	VIRTIO_CONFIG_S_DRIVER
#define S_FOK	VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK	VIRTIO_CONFIG_S_DRIVER_OK

/* ---- a fake device, a recording interrupt seam, and the rig around them ---- */

struct rig {
	struct virtio_dev vd;
	struct virtio_pci vp;
	struct fake_driver drv;
	struct event_loop *loop;
	u8 config[CFG_SIZE];
	atomic_uint notify_calls[NQ];
	atomic_uint resets;
	/* The irq seam. */
	bool msix_on;
	int msix_ret;
	atomic_uint msix_calls;
	atomic_int last_vector;
	atomic_int intx_level;
	atomic_uint intx_sets;
};

static struct rig *rig_of(struct virtio_dev *vd)
{
	return vd->priv;
}

static void f_config_read(struct virtio_dev *vd, u32 off, void *data, u32 len)
{
	memcpy(data, rig_of(vd)->config + off, len);
}

static void f_config_write(struct virtio_dev *vd, u32 off, const void *data, u32 len)
{
	memcpy(rig_of(vd)->config + off, data, len);
}

static void f_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	rig_of(vd)->notify_calls[q]++;
}

static void f_reset(struct virtio_dev *vd)
{
	rig_of(vd)->resets++;
}

static u64 f_features(struct virtio_dev *vd)
{
	(void)vd;
	return 1ULL << 3;
}

static const struct virtio_dev_ops f_ops = {
	.name = "virtio-test",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = NQ,
	.config_size = CFG_SIZE,
	.features = f_features,
	.config_read = f_config_read,
	.config_write = f_config_write,
	.queue_notify = f_queue_notify,
	.reset = f_reset,
};

static const struct virtio_dev_ops f_ops_noconfig = {
	.name = "virtio-noconfig",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_notify = f_queue_notify,
	.reset = f_reset,
};

static struct rig *rig_from(const struct pci_dev *d)
{
	return ((const struct virtio_pci *)d->opaque)->vd->priv;
}

static bool s_msix_enabled(const struct pci_dev *d)
{
	return rig_from(d)->msix_on;
}

static int s_msix_notify(struct pci_dev *d, unsigned int v)
{
	struct rig *r = rig_from(d);

	r->msix_calls++;
	r->last_vector = (int)v;
	return r->msix_ret;
}

static void s_set_intx(struct pci_dev *d, int level)
{
	struct rig *r = rig_from(d);

	r->intx_sets++;
	r->intx_level = level;
}

static const struct virtio_pci_irq_ops recorder = {
	.msix_enabled = s_msix_enabled,
	.msix_notify = s_msix_notify,
	.set_intx = s_set_intx,
};

static struct rig *rig_new_with(const struct virtio_dev_ops *ops, bool with_loop, bool pio_first)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct virtio_pci_host host = { .vm_fd = -1, .pio_notify_first = pio_first,
					.irq = &recorder };
	char err[256];

	ck_assert_ptr_nonnull(r);
	fd_init(&r->drv, 16, false);
	for (unsigned int i = 0; i < CFG_SIZE; i++)
		r->config[i] = (u8)(0xc0 + i);
	ck_assert_int_eq(virtio_dev_init(&r->vd, ops, r, &r->drv.mem), 0);
	if (with_loop) {
		ck_assert_int_eq(event_loop_create(&r->loop), 0);
		host.loop = r->loop;
	}
	ck_assert_int_eq(virtio_pci_init(&r->vp, &r->vd, &host, err, sizeof(err)), 0);
	return r;
}

static struct rig *rig_new(void)
{
	return rig_new_with(&f_ops, false, true);
}

static void rig_free(struct rig *r)
{
	virtio_pci_destroy(&r->vp);
	event_loop_destroy(r->loop);
	virtio_dev_destroy(&r->vd);
	fd_destroy(&r->drv);
	free(r);
}

/* BAR 0 accesses, as the bus would make them. */
static u64 mr(struct rig *r, u64 off, u32 len)
{
	u64 v = 0;

	virtio_pci_mem_ops.read(&r->vp, off, &v, len);
	return v;
}

static void mw(struct rig *r, u64 off, u64 v, u32 len)
{
	virtio_pci_mem_ops.write(&r->vp, off, &v, len);
}

static u64 common_r(struct rig *r, u32 field, u32 len)
{
	return mr(r, VIRTIO_PCI_COMMON_OFF + field, len);
}

static void common_w(struct rig *r, u32 field, u64 v, u32 len)
{
	mw(r, VIRTIO_PCI_COMMON_OFF + field, v, len);
}

static u16 cfg16(const struct rig *r, u32 off)
{
	return (u16)(r->vp.pci.cfg[off] | r->vp.pci.cfg[off + 1] << 8);
}

static u32 cfg32(const struct rig *r, u32 off)
{
	return cfg16(r, off) | (u32)cfg16(r, off + 2) << 16;
}

/* The driver's side of 3.1.1 through the registers, queue 0 on the fake driver's ring. */
static void drive_up(struct rig *r, u64 features)
{
	common_w(r, VIRTIO_PCI_COMMON_STATUS, S_ACK, 1);
	common_w(r, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_DRV, 1);
	common_w(r, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	common_w(r, VIRTIO_PCI_COMMON_GF, (u32)features, 4);
	common_w(r, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_w(r, VIRTIO_PCI_COMMON_GF, (u32)(features >> 32), 4);
	common_w(r, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_DRV | S_FOK, 1);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_STATUS, 1), S_ACK | S_DRV | S_FOK);
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_DESCLO, r->drv.desc, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_DESCHI, 0, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_AVAILLO, r->drv.avail, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_USEDLO, r->drv.used, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_USEDHI, 0, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	common_w(r, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_DRV | S_FOK | S_DOK, 1);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_STATUS, 1), S_ACK | S_DRV | S_FOK | S_DOK);
}

/* A capability as read from config space. */
struct cap_seen {
	u8 off, id, len, cfg_type, bar;
	u32 offset, length, mult;
};

/* Walks the capability list as a driver does; returns how many were found. */
static unsigned int walk_caps(const struct rig *r, struct cap_seen *out, unsigned int max)
{
	unsigned int n = 0;
	u8 off = r->vp.pci.cfg[PCI_CAPABILITY_LIST];

	ck_assert(cfg16(r, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	while (off && n < max) {
		const u8 *c = r->vp.pci.cfg + off;

		ck_assert_uint_ge(off, 0x40);
		out[n] = (struct cap_seen){ .off = off, .id = c[0] };
		if (c[0] == PCI_CAP_ID_VNDR) {
			out[n].len = c[2];
			out[n].cfg_type = c[3];
			out[n].bar = c[4];
			out[n].offset = cfg32(r, off + 8);
			out[n].length = cfg32(r, off + 12);
			if (c[3] == VIRTIO_PCI_CAP_NOTIFY_CFG)
				out[n].mult = cfg32(r, off + 16);
		}
		n++;
		off = c[1];
	}
	return n;
}

/* ---- the function and its capabilities (4.1.2, 4.1.4) ---- */

START_TEST(test_header)
{
	struct rig *r = rig_new();

	ck_assert_uint_eq(cfg16(r, PCI_VENDOR_ID), 0x1AF4);
	ck_assert_uint_eq(cfg16(r, PCI_DEVICE_ID), 0x1040 + VIRTIO_ID_BLOCK);
	ck_assert_uint_eq(r->vp.pci.cfg[PCI_REVISION_ID], 1);
	ck_assert_uint_eq(cfg16(r, PCI_SUBSYSTEM_VENDOR_ID), 0x1AF4);
	ck_assert_uint_ge(cfg16(r, PCI_SUBSYSTEM_ID), 0x40);	/* 4.1.2.1 */
	ck_assert_uint_eq(cfg32(r, PCI_CLASS_REVISION) >> 8, 0x018000);
	ck_assert_uint_eq(virtio_pci_class_code(VIRTIO_ID_CONSOLE), 0x078000);
	ck_assert_uint_eq(virtio_pci_class_code(VIRTIO_ID_RNG), 0x00ff00);
	/* BAR 0: 32-bit memory, 16 KiB; BAR 1: I/O, 4 ports per queue (16 at least). */
	ck_assert_uint_eq(r->vp.pci.bars[0].size, VIRTIO_PCI_MEM_BAR_SIZE);
	ck_assert(!r->vp.pci.bars[0].io && !r->vp.pci.bars[0].mem64);
	ck_assert_uint_eq(r->vp.pci.bars[1].size, 16);
	ck_assert(r->vp.pci.bars[1].io);
	ck_assert_uint_eq(cfg32(r, PCI_BASE_ADDRESS_1) & PCI_BASE_ADDRESS_SPACE, PCI_BASE_ADDRESS_SPACE_IO);
	rig_free(r);
}
END_TEST

static void check_caps(bool pio_first)
{
	struct rig *r = rig_new_with(&f_ops, false, pio_first);
	struct cap_seen c[16];
	unsigned int n = walk_caps(r, c, 16), vndr = 0, msix = 0;
	u8 want[] = { VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG,
		      VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_PCI_CFG };

	for (unsigned int i = 0; i < n; i++) {
		if (c[i].id == PCI_CAP_ID_MSIX) {
			u16 ctrl = cfg16(r, c[i].off + PCI_MSIX_FLAGS);

			ck_assert_uint_eq((ctrl & PCI_MSIX_FLAGS_QSIZE) + 1, NQ + 1);
			ck_assert_uint_eq(cfg32(r, c[i].off + PCI_MSIX_TABLE),
					  VIRTIO_PCI_MSIX_TABLE_OFF | VIRTIO_PCI_MEM_BAR);
			ck_assert_uint_eq(cfg32(r, c[i].off + PCI_MSIX_PBA),
					  VIRTIO_PCI_MSIX_PBA_OFF | VIRTIO_PCI_MEM_BAR);
			msix++;
			continue;
		}
		ck_assert_uint_eq(c[i].id, PCI_CAP_ID_VNDR);
		ck_assert_uint_lt(vndr, ARRAY_SIZE(want));
		ck_assert_uint_eq(c[i].cfg_type, want[vndr]);
		switch (c[i].cfg_type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			ck_assert_uint_eq(c[i].len, 16);
			ck_assert_uint_eq(c[i].bar, VIRTIO_PCI_MEM_BAR);
			ck_assert_uint_eq(c[i].offset % 4, 0);
			ck_assert_uint_ge(c[i].length, sizeof(struct virtio_pci_common_cfg));
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			ck_assert_uint_eq(c[i].len, 20);
			/* The first notify capability is the preferred one (4.1.4). */
			ck_assert_uint_eq(c[i].bar, (vndr == 1) == pio_first ? VIRTIO_PCI_IO_BAR
									      : VIRTIO_PCI_MEM_BAR);
			ck_assert_uint_eq(c[i].mult, 4);
			ck_assert_uint_eq(c[i].offset % 2, 0);
			/* 4.1.4.4.1: length >= queue_notify_off * multiplier + 2 for every queue. */
			ck_assert_uint_ge(c[i].length, (NQ - 1) * c[i].mult + 2);
			ck_assert_uint_le(c[i].offset + c[i].length, r->vp.pci.bars[c[i].bar].size);
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			ck_assert_uint_eq(c[i].bar, VIRTIO_PCI_MEM_BAR);
			ck_assert_uint_ge(c[i].length, 1);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			ck_assert_uint_eq(c[i].offset % 4, 0);
			ck_assert_uint_eq(c[i].length, CFG_SIZE);
			break;
		case VIRTIO_PCI_CAP_PCI_CFG:
			ck_assert_uint_eq(c[i].len, 20);
			ck_assert_uint_eq(c[i].off, r->vp.cfg_cap);
			break;
		}
		vndr++;
	}
	ck_assert_uint_eq(vndr, ARRAY_SIZE(want));
	ck_assert_uint_eq(msix, 1);
	rig_free(r);
}

START_TEST(test_caps_pio_notify_first)
{
	check_caps(true);
}
END_TEST

START_TEST(test_caps_mmio_notify_first)
{
	check_caps(false);
}
END_TEST

START_TEST(test_no_device_cfg_cap_without_config)
{
	struct rig *r = rig_new_with(&f_ops_noconfig, false, true);
	struct cap_seen c[16];
	unsigned int n = walk_caps(r, c, 16);

	for (unsigned int i = 0; i < n; i++)
		ck_assert(c[i].id != PCI_CAP_ID_VNDR || c[i].cfg_type != VIRTIO_PCI_CAP_DEVICE_CFG);
	ck_assert_uint_eq(cfg16(r, PCI_DEVICE_ID), 0x1040 + VIRTIO_ID_RNG);
	/* Nothing answers in the device-config page. */
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_DEVICE_OFF, 4), 0);
	rig_free(r);
}
END_TEST

START_TEST(test_init_refuses_oversized_config)
{
	struct virtio_dev_ops ops = f_ops;
	struct virtio_dev vd;
	struct virtio_pci vp;
	struct virtio_pci_host host = { .vm_fd = -1, .irq = &recorder };
	char err[256] = "";

	ops.config_size = VIRTIO_PCI_DEVICE_MAX + 1;
	ck_assert_int_eq(virtio_dev_init(&vd, &ops, NULL, NULL), 0);
	ck_assert_int_eq(virtio_pci_init(&vp, &vd, &host, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "virtio-test"));
	ck_assert_ptr_null(vd.transport);
	virtio_pci_destroy(&vp);	/* harmless after a failed init */
	virtio_dev_destroy(&vd);
}
END_TEST

/* ---- common configuration (4.1.4.3) ---- */

START_TEST(test_feature_select_windows)
{
	struct rig *r = rig_new();

	common_w(r, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_DF, 4),
			  (1u << 3) | (1u << VIRTIO_RING_F_INDIRECT_DESC) | (1u << VIRTIO_RING_F_EVENT_IDX));
	common_w(r, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_DF, 4), 1);	/* VERSION_1 */
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
	common_w(r, VIRTIO_PCI_COMMON_DFSELECT, 7, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_DF, 4), 0);

	common_w(r, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_w(r, VIRTIO_PCI_COMMON_GF, 1, 4);
	common_w(r, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	common_w(r, VIRTIO_PCI_COMMON_GF, 1u << 3, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_GF, 4), 1u << 3);
	common_w(r, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_GF, 4), 1);
	ck_assert_uint_eq(r->vd.driver_features, V1 | (1ULL << 3));
	/* device_feature is read-only. */
	common_w(r, VIRTIO_PCI_COMMON_DF, 0xffffffff, 4);
	common_w(r, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_DF, 4) & 1, 0);
	rig_free(r);
}
END_TEST

START_TEST(test_status_through_registers)
{
	struct rig *r = rig_new();

	/* FEATURES_OK without VERSION_1: not set, as the driver sees on re-reading (3.1.1 step 6). */
	common_w(r, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_DRV, 1);
	common_w(r, VIRTIO_PCI_COMMON_GF, 1u << 3, 4);
	common_w(r, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_DRV | S_FOK, 1);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_STATUS, 1), S_ACK | S_DRV);
	/* FEATURES_OK before DRIVER: refused. */
	common_w(r, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	common_w(r, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_FOK, 1);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_STATUS, 1), S_ACK);
	common_w(r, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	drive_up(r, V1);
	ck_assert(r->vd.live);
	ck_assert(r->vd.queues[0].vq.ready);
	rig_free(r);
}
END_TEST

START_TEST(test_queue_registers)
{
	struct rig *r = rig_new();

	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	/* An unavailable queue reads size 0, NO_VECTOR, disabled (4.1.4.3.1). */
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, NQ, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SELECT, 2), NQ);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	common_w(r, VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_DESCLO, 0x1000, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 0xffff, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);

	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTIO_QUEUE_MAX_SIZE);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	common_w(r, VIRTIO_PCI_COMMON_Q_SIZE, 100, 2);		/* not a power of 2 */
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTIO_QUEUE_MAX_SIZE);
	common_w(r, VIRTIO_PCI_COMMON_Q_SIZE, 1024, 2);		/* over the maximum */
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTIO_QUEUE_MAX_SIZE);
	common_w(r, VIRTIO_PCI_COMMON_Q_SIZE, 32, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 32);

	/* 64-bit addresses as two 32-bit halves (4.1.3.1), or one 64-bit write. */
	common_w(r, VIRTIO_PCI_COMMON_Q_DESCLO, 0x89abc000, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_DESCHI, 0x1, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_AVAILHI, 0x2, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_AVAILLO, 0x1000, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_USEDLO, 0x500000002000ULL, 8);
	ck_assert_uint_eq(r->vd.queues[1].desc, 0x189abc000ULL);
	ck_assert_uint_eq(r->vd.queues[1].avail, 0x200001000ULL);
	ck_assert_uint_eq(r->vd.queues[1].used, 0x500000002000ULL);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_DESCHI, 4), 1);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_USEDLO, 8), 0x500000002000ULL);
	/* An 8-byte write at a high half is not an access the structure defines. */
	common_w(r, VIRTIO_PCI_COMMON_Q_DESCHI, 0x7777777777ULL, 8);
	ck_assert_uint_eq(r->vd.queues[1].desc, 0x189abc000ULL);

	/* queue_enable: 0 ignored; 1 enables; then the queue's registers are fixed. */
	common_w(r, VIRTIO_PCI_COMMON_Q_ENABLE, 0, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	common_w(r, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	common_w(r, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_DESCLO, 0, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 32);
	ck_assert_uint_eq(r->vd.queues[1].desc, 0x189abc000ULL);
	/* Queue 0 is untouched by all this. */
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTIO_QUEUE_MAX_SIZE);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	rig_free(r);
}
END_TEST

START_TEST(test_queue_registers_frozen_after_driver_ok)
{
	struct rig *r = rig_new();

	drive_up(r, V1);
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_DESCLO, 0x1000, 4);
	common_w(r, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTIO_QUEUE_MAX_SIZE);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	/* Vectors may still be (re)mapped: the spec does not tie them to DRIVER_OK. */
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
	rig_free(r);
}
END_TEST

START_TEST(test_msix_vector_mapping)
{
	struct rig *r = rig_new();

	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_w(r, VIRTIO_PCI_COMMON_MSIX, NQ, 2);		/* the last table entry */
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_MSIX, 2), NQ);
	/* Out of the table: the mapping fails and reads NO_VECTOR (4.1.5.1.2.1). */
	common_w(r, VIRTIO_PCI_COMMON_MSIX, NQ + 1, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, 0x7ff, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);	/* unmapping */
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	rig_free(r);
}
END_TEST

START_TEST(test_access_widths)
{
	struct rig *r = rig_new();

	/* Writes must use the field's width: a 2-byte select, a 4-byte status are ignored. */
	common_w(r, VIRTIO_PCI_COMMON_DFSELECT, 1, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_DFSELECT, 4), 0);
	common_w(r, VIRTIO_PCI_COMMON_STATUS, S_ACK, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 1, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	/* Read-only and undefined offsets take no writes. */
	common_w(r, VIRTIO_PCI_COMMON_NUMQ, 7, 2);
	common_w(r, VIRTIO_PCI_COMMON_CFGGENERATION, 7, 1);
	common_w(r, VIRTIO_PCI_COMMON_Q_NOFF, 7, 2);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	/* Reads have no side effects: any width inside the structure, zeros past it. */
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_NUMQ, 1), NQ);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_MSIX, 4), VIRTIO_MSI_NO_VECTOR | (NQ << 16));
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_LEN - 2, 4), 0);
	ck_assert_uint_eq(common_r(r, 0x100, 4), 0);
	mw(r, 0x100, 0xffffffff, 4);
	mw(r, VIRTIO_PCI_MEM_BAR_SIZE - 4, 0xffffffff, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	rig_free(r);
}
END_TEST

START_TEST(test_config_generation_register)
{
	struct rig *r = rig_new();
	u8 g0 = (u8)common_r(r, VIRTIO_PCI_COMMON_CFGGENERATION, 1);

	virtio_dev_config_changed(&r->vd);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_CFGGENERATION, 1), (u8)(g0 + 1));
	virtio_dev_config_changed(&r->vd);	/* not read since: no second bump */
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_CFGGENERATION, 1), (u8)(g0 + 1));
	mr(r, VIRTIO_PCI_DEVICE_OFF, 4);	/* the driver reads the device config */
	virtio_dev_config_changed(&r->vd);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_CFGGENERATION, 1), (u8)(g0 + 2));
	rig_free(r);
}
END_TEST

/* ---- device configuration through BAR 0 ---- */

START_TEST(test_device_config_access)
{
	struct rig *r = rig_new();

	ck_assert_uint_eq(mr(r, VIRTIO_PCI_DEVICE_OFF, 4), 0xc3c2c1c0);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_DEVICE_OFF + 8, 4), 0xcbcac9c8);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_DEVICE_OFF + 11, 1), 0xcb);
	/* Straddling the end of the config or past it: zeros, nothing written. */
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_DEVICE_OFF + 10, 4), 0);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_DEVICE_OFF + CFG_SIZE, 4), 0);
	mw(r, VIRTIO_PCI_DEVICE_OFF + 10, 0x11111111, 4);
	mw(r, VIRTIO_PCI_DEVICE_OFF + 0x800, 0x11111111, 4);
	ck_assert_uint_eq(r->config[10], 0xca);
	mw(r, VIRTIO_PCI_DEVICE_OFF + 2, 0xbeef, 2);
	ck_assert_uint_eq(r->config[2], 0xef);
	ck_assert_uint_eq(r->config[3], 0xbe);
	rig_free(r);
}
END_TEST

/* ---- ISR and interrupts (4.1.4.5, 4.1.5.3, 4.1.5.4) ---- */

/* Puts one buffer on queue 0, pops it and pushes it back: a used-buffer notification. */
static void complete_one(struct rig *r)
{
	struct virtq_chain *chain = calloc(1, sizeof(*chain));
	struct fd_buf buf = { .len = 8, .write = true };
	u16 head = fd_add(&r->drv, &buf, 1, NULL);

	ck_assert_ptr_nonnull(chain);
	fd_publish(&r->drv, head);
	ck_assert_int_eq(virtq_pop(&r->vd.queues[0].vq, &r->drv.mem, chain), 1);
	ck_assert_int_eq(virtio_dev_push_used(&r->vd, 0, chain->head, 8), 0);
	free(chain);
}

START_TEST(test_isr_read_clears_intx)
{
	struct rig *r = rig_new();

	drive_up(r, V1);
	complete_one(r);
	ck_assert_int_eq(r->intx_level, 1);
	ck_assert_uint_eq(r->msix_calls, 0);
	/* Reading clears it and deasserts INTx; the next read sees nothing. */
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 1), 1);
	ck_assert_int_eq(r->intx_level, 0);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 1), 0);
	/* A config change: bit 1. Both at once: 3 (one interrupt may say both). */
	virtio_dev_config_changed(&r->vd);
	ck_assert_int_eq(r->intx_level, 1);
	complete_one(r);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 4), 3);	/* any width: byte 0 */
	ck_assert_int_eq(r->intx_level, 0);
	/* The ISR is read-only. */
	complete_one(r);
	mw(r, VIRTIO_PCI_ISR_OFF, 0, 1);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 1), 1);
	rig_free(r);
}
END_TEST

START_TEST(test_interrupt_routing)
{
	struct rig *r = rig_new();

	drive_up(r, V1);	/* queue 0 mapped to vector 0 */
	r->msix_on = true;
	complete_one(r);
	ck_assert_uint_eq(r->msix_calls, 1);
	ck_assert_int_eq(r->last_vector, 0);
	ck_assert_uint_eq(r->intx_sets, 0);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 1), 0);	/* 4.1.4.5.1: ISR unused for queues */

	/* Unmapped with MSI-X on: no interrupt at all (4.1.5.3.1). */
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
	complete_one(r);
	ck_assert_uint_eq(r->msix_calls, 1);
	ck_assert_uint_eq(r->intx_sets, 0);

	/* Config changes go to config_msix_vector, with ISR bit 1 set first (4.1.4.5.1). */
	common_w(r, VIRTIO_PCI_COMMON_MSIX, 2, 2);
	virtio_dev_config_changed(&r->vd);
	ck_assert_uint_eq(r->msix_calls, 2);
	ck_assert_int_eq(r->last_vector, 2);
	ck_assert_uint_eq(r->intx_sets, 0);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 1), 2);
	common_w(r, VIRTIO_PCI_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
	virtio_dev_config_changed(&r->vd);
	ck_assert_uint_eq(r->msix_calls, 2);

	/* MSI-X refused (switched off under us): INTx and the ISR instead. */
	common_w(r, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	r->msix_ret = -EINVAL;
	complete_one(r);
	ck_assert_uint_eq(r->msix_calls, 3);
	ck_assert_int_eq(r->intx_level, 1);

	/* MSI-X off: INTx whatever the vectors say. */
	r->msix_on = false;
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 1) & 1, 1);
	complete_one(r);
	ck_assert_uint_eq(r->msix_calls, 3);
	ck_assert_int_eq(r->intx_level, 1);
	rig_free(r);
}
END_TEST

START_TEST(test_reset_through_status)
{
	struct rig *r = rig_new();

	drive_up(r, V1 | (1ULL << 3));
	common_w(r, VIRTIO_PCI_COMMON_MSIX, 1, 2);
	common_w(r, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	common_w(r, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	complete_one(r);
	ck_assert_int_eq(r->intx_level, 1);

	common_w(r, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	ck_assert_uint_eq(r->resets, 1);
	ck_assert_int_eq(r->intx_level, 0);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 1), 0);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTIO_QUEUE_MAX_SIZE);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_DFSELECT, 4), 0);
	common_w(r, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	ck_assert_uint_eq(common_r(r, VIRTIO_PCI_COMMON_GF, 4), 0);
	/* And it comes up again. */
	drive_up(r, V1);
	rig_free(r);
}
END_TEST

/* ---- notifications (4.1.4.4, 4.1.5.2) ---- */

static bool wait_calls(struct rig *r, unsigned int q, unsigned int n)
{
	for (int i = 0; i < 5000 && r->notify_calls[q] < n; i++)
		usleep(1000);
	return r->notify_calls[q] >= n;
}

START_TEST(test_notify_through_event_loop)
{
	struct rig *r = rig_new_with(&f_ops, true, true);

	drive_up(r, V1);
	/* The memory notify address of queue 0, as the bus hands a write to it. */
	mw(r, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	ck_assert(wait_calls(r, 0, 1));
	/* The port notify address. */
	virtio_pci_io_ops.write(&r->vp, 0, &(u16){ 0 }, 2);
	ck_assert(wait_calls(r, 0, 2));
	/* The queue's eventfd itself, as KVM's ioeventfd would signal it. */
	ck_assert_int_eq(eventfd_write(r->vp.kicks[0].fd, 1), 0);
	ck_assert(wait_calls(r, 0, 3));
	/* Queue 1 is not enabled; a misaligned or out-of-range notify reaches nobody. */
	mw(r, VIRTIO_PCI_NOTIFY_OFF + 4, 1, 2);
	mw(r, VIRTIO_PCI_NOTIFY_OFF + 2, 0, 2);
	virtio_pci_io_ops.write(&r->vp, 4 * NQ, &(u16){ 0 }, 2);
	mw(r, VIRTIO_PCI_NOTIFY_OFF + 4 * NQ, 0, 2);
	usleep(50 * 1000);
	ck_assert_uint_eq(r->notify_calls[0], 3);
	ck_assert_uint_eq(r->notify_calls[1], 0);
	/* Reads of the notify regions are 0 and do nothing. */
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_NOTIFY_OFF, 2), 0);
	rig_free(r);
}
END_TEST

START_TEST(test_notify_without_event_loop)
{
	struct rig *r = rig_new();

	ck_assert_int_eq(r->vp.kicks[0].fd, -1);
	mw(r, VIRTIO_PCI_NOTIFY_OFF, 0, 2);	/* before DRIVER_OK: dropped */
	ck_assert_uint_eq(r->notify_calls[0], 0);
	drive_up(r, V1);
	mw(r, VIRTIO_PCI_NOTIFY_OFF, 0, 2);	/* on this (the vCPU's) thread */
	ck_assert_uint_eq(r->notify_calls[0], 1);
	virtio_pci_io_ops.write(&r->vp, 0, &(u16){ 0 }, 2);
	ck_assert_uint_eq(r->notify_calls[0], 2);
	rig_free(r);
}
END_TEST

/* ---- the PCI_CFG window (4.1.4.9) ---- */

/* A config-space write as the bus makes it: masked by wmask, then the device hook. */
static void cfg_write(struct rig *r, u32 off, u32 v, u32 len)
{
	struct pci_dev *d = &r->vp.pci;

	for (u32 i = 0; i < len; i++) {
		u8 b = (u8)(v >> (8 * i));

		d->cfg[off + i] = (u8)((d->cfg[off + i] & ~d->wmask[off + i]) | (b & d->wmask[off + i]));
	}
	virtio_pci_dev_ops.config_written(d, off, len);
}

static void window(struct rig *r, u8 bar, u32 off, u32 len)
{
	u32 cap = r->vp.cfg_cap;

	cfg_write(r, cap + 4, bar, 1);
	cfg_write(r, cap + 12, len, 4);
	cfg_write(r, cap + 8, off, 4);
}

START_TEST(test_pci_cfg_window)
{
	struct rig *r = rig_new();
	u32 data = r->vp.cfg_cap + 16;

	/* Fields other than bar/offset/length/data are read-only (4.1.4). */
	cfg_write(r, r->vp.cfg_cap + 3, 0x77, 1);
	ck_assert_uint_eq(r->vp.pci.cfg[r->vp.cfg_cap + 3], VIRTIO_PCI_CAP_PCI_CFG);

	window(r, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_COMMON_NUMQ, 2);
	ck_assert_uint_eq(cfg16(r, data), NQ);
	/* A write through the window reaches the register. */
	window(r, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_COMMON_DFSELECT, 4);
	cfg_write(r, data, 1, 4);
	ck_assert_uint_eq(r->vp.device_feature_select, 1);
	window(r, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_COMMON_DF, 4);
	ck_assert_uint_eq(cfg32(r, data), 1);
	/* Device config through the window. */
	window(r, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_DEVICE_OFF + 4, 4);
	ck_assert_uint_eq(cfg32(r, data), 0xc7c6c5c4);
	/* A misaligned or out-of-BAR window does nothing and reads 0. */
	window(r, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_COMMON_DF + 1, 2);
	ck_assert_uint_eq(cfg32(r, data), 0);
	window(r, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_MEM_BAR_SIZE, 4);
	ck_assert_uint_eq(cfg32(r, data), 0);
	window(r, 5, 0, 4);
	cfg_write(r, data, 1, 4);
	window(r, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_COMMON_DF, 3);
	ck_assert_uint_eq(cfg32(r, data), 0);
	/* Notify through the window (the port BAR). */
	drive_up(r, V1);
	window(r, VIRTIO_PCI_IO_BAR, 0, 2);
	cfg_write(r, data, 0, 2);
	ck_assert_uint_eq(r->notify_calls[0], 1);
	/* The window's snapshot of the ISR does not clear it. */
	complete_one(r);
	window(r, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_ISR_OFF, 1);
	ck_assert_uint_eq(r->vp.pci.cfg[data], 1);
	ck_assert_int_eq(r->intx_level, 1);
	ck_assert_uint_eq(mr(r, VIRTIO_PCI_ISR_OFF, 1), 1);
	rig_free(r);
}
END_TEST

/* ---- on the real PCI bus ---- */

struct bus_rig {
	struct bus pio, mmio;
	struct pci_bus pb;
};

static void bus_rig_init(struct bus_rig *b)
{
	struct irq_line none = { 0 };

	ck_assert_int_eq(bus_init(&b->pio, "pio"), 0);
	ck_assert_int_eq(bus_init(&b->mmio, "mmio"), 0);
	b->pio.quiet = b->mmio.quiet = true;
	ck_assert_int_eq(pci_bus_init(&b->pb, &b->pio, &b->mmio, none, NULL, NULL, NULL), 0);
}

static void bus_rig_destroy(struct bus_rig *b)
{
	pci_bus_destroy(&b->pb);
	bus_destroy(&b->mmio);
	bus_destroy(&b->pio);
}

/* Mechanism #1 config accesses to slot `slot` of bus 0. */
static void conf1_write(struct bus_rig *b, unsigned int slot, u32 off, u32 v, u32 len)
{
	u32 addr = 0x80000000u | slot << 11 | (off & 0xfc);

	ck_assert_int_eq(bus_write(&b->pio, 0xcf8, &addr, 4), 0);
	ck_assert_int_eq(bus_write(&b->pio, 0xcfc + (off & 3), &v, len), 0);
}

static u32 conf1_read(struct bus_rig *b, unsigned int slot, u32 off, u32 len)
{
	u32 addr = 0x80000000u | slot << 11 | (off & 0xfc), v = 0;

	ck_assert_int_eq(bus_write(&b->pio, 0xcf8, &addr, 4), 0);
	ck_assert_int_eq(bus_read(&b->pio, 0xcfc + (off & 3), &v, len), 0);
	return v;
}

START_TEST(test_on_pci_bus)
{
	struct rig *r = rig_new();
	struct bus_rig b;
	u32 bar0, bar1, v = 0;
	u16 numq = 0;

	bus_rig_init(&b);
	ck_assert_int_eq(pci_bus_add(&b.pb, &r->vp.pci), 0);
	ck_assert_uint_eq(conf1_read(&b, r->vp.pci.slot, PCI_VENDOR_ID, 4),
			  0x1AF4 | (0x1040 + VIRTIO_ID_BLOCK) << 16);
	bar0 = conf1_read(&b, r->vp.pci.slot, PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_MEM_MASK;
	bar1 = conf1_read(&b, r->vp.pci.slot, PCI_BASE_ADDRESS_1, 4) & PCI_BASE_ADDRESS_IO_MASK;
	ck_assert_uint_ge(bar0, X86_PCI_MMIO32_BASE);
	ck_assert_uint_ge(bar1, X86_PCI_IO_BASE);
	/* Decoding off until the command register says so. */
	ck_assert_int_eq(bus_read(&b.mmio, bar0 + VIRTIO_PCI_COMMON_NUMQ, &numq, 2), 0);
	ck_assert_uint_eq(numq, 0xffff);
	conf1_write(&b, r->vp.pci.slot, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	ck_assert(r->vp.pci.bars[0].decoding && r->vp.pci.bars[1].decoding);
	ck_assert_int_eq(bus_read(&b.mmio, bar0 + VIRTIO_PCI_COMMON_NUMQ, &numq, 2), 0);
	ck_assert_uint_eq(numq, NQ);
	/* Without an MSI router the bridge hides MSI-X: INTx is what is left. */
	ck_assert(!pci_msix_enabled(&r->vp.pci));
	/* The PCI_CFG window through real config cycles. */
	conf1_write(&b, r->vp.pci.slot, r->vp.cfg_cap + 4, VIRTIO_PCI_MEM_BAR, 1);
	conf1_write(&b, r->vp.pci.slot, r->vp.cfg_cap + 12, 2, 4);
	conf1_write(&b, r->vp.pci.slot, r->vp.cfg_cap + 8, VIRTIO_PCI_COMMON_NUMQ, 4);
	ck_assert_uint_eq(conf1_read(&b, r->vp.pci.slot, r->vp.cfg_cap + 16, 2), NQ);
	/* Port notify on the moved-in I/O BAR. */
	v = 0;
	ck_assert_int_eq(bus_write(&b.pio, bar1, &v, 2), 0);
	bus_rig_destroy(&b);
	rig_free(r);
}
END_TEST

/* ---- ioeventfds on a real KVM VM (skipped without /dev/kvm) ---- */

static int kvm_vm(int *sys_fd)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	*sys_fd = fd;
	if (fd < 0 || ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		return -1;
	return ioctl(fd, KVM_CREATE_VM, 0);
}

/*
 * Whether KVM holds an ioeventfd for (addr, fd): assigning the same one again
 * fails with EEXIST if it does (then nothing changed); if it does not, the
 * probe assignment is undone.
 */
static bool ioevent_held(int vm_fd, int efd, u64 addr, bool pio, u32 len)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = efd,
				    .flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0 };

	if (ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0) {
		ck_assert_int_eq(errno, EEXIST);
		return true;
	}
	io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	ck_assert_int_eq(ioctl(vm_fd, KVM_IOEVENTFD, &io), 0);
	return false;
}

START_TEST(test_ioeventfds_follow_bars)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct virtio_pci_host host = { .irq = &recorder, .ioeventfd = true };
	int sys_fd, vm_fd = kvm_vm(&sys_fd);
	u64 mem = 0xc0004000ULL, io = 0xc040, mem2 = 0xc0010000ULL;
	u32 len;
	int efd0, efd1;
	char err[256];

	if (vm_fd < 0) {
		const char *ci = getenv("CI");

		if (sys_fd >= 0)
			close(sys_fd);
		free(r);
		/* Tests that need /dev/kvm fail, never skip, in CI. */
		ck_assert_msg(!(ci && strcmp(ci, "true") == 0),
			      "no usable /dev/kvm and CI=true: the ioeventfd test cannot run");
		return;	/* no usable /dev/kvm here: nothing to check */
	}
	host.vm_fd = vm_fd;
	host.ioeventfd_any_length = ioctl(sys_fd, KVM_CHECK_EXTENSION,
					  KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	len = host.ioeventfd_any_length ? 0 : 2;
	fd_init(&r->drv, 16, false);
	ck_assert_int_eq(virtio_dev_init(&r->vd, &f_ops, r, &r->drv.mem), 0);
	ck_assert_int_eq(event_loop_create(&r->loop), 0);
	host.loop = r->loop;
	ck_assert_int_eq(virtio_pci_init(&r->vp, &r->vd, &host, err, sizeof(err)), 0);
	efd0 = r->vp.kicks[0].fd;
	efd1 = r->vp.kicks[1].fd;

	/* Decoding on: one ioeventfd per queue at its notify address, memory and port. */
	virtio_pci_dev_ops.bar_changed(&r->vp.pci, VIRTIO_PCI_MEM_BAR, 0, mem, true);
	virtio_pci_dev_ops.bar_changed(&r->vp.pci, VIRTIO_PCI_IO_BAR, 0, io, true);
	ck_assert(ioevent_held(vm_fd, efd0, mem + VIRTIO_PCI_NOTIFY_OFF, false, len));
	ck_assert(ioevent_held(vm_fd, efd1, mem + VIRTIO_PCI_NOTIFY_OFF + 4, false, len));
	ck_assert(ioevent_held(vm_fd, efd0, io, true, len));
	ck_assert(ioevent_held(vm_fd, efd1, io + 4, true, len));
	/* The memory BAR moves: the old addresses are free, the new ones held. */
	virtio_pci_dev_ops.bar_changed(&r->vp.pci, VIRTIO_PCI_MEM_BAR, mem, mem2, true);
	ck_assert(!ioevent_held(vm_fd, efd0, mem + VIRTIO_PCI_NOTIFY_OFF, false, len));
	ck_assert(ioevent_held(vm_fd, efd0, mem2 + VIRTIO_PCI_NOTIFY_OFF, false, len));
	ck_assert(ioevent_held(vm_fd, efd1, mem2 + VIRTIO_PCI_NOTIFY_OFF + 4, false, len));
	/* Decoding off: gone. */
	virtio_pci_dev_ops.bar_changed(&r->vp.pci, VIRTIO_PCI_IO_BAR, io, io, false);
	ck_assert(!ioevent_held(vm_fd, efd0, io, true, len));
	ck_assert(ioevent_held(vm_fd, efd0, mem2 + VIRTIO_PCI_NOTIFY_OFF, false, len));
	/* Destroy drops the rest. */
	virtio_pci_destroy(&r->vp);
	for (int q = 0; q < NQ; q++)
		ck_assert(!r->vp.kicks[q].ioevent[0] && !r->vp.kicks[q].ioevent[1]);
	event_loop_destroy(r->loop);
	virtio_dev_destroy(&r->vd);
	fd_destroy(&r->drv);
	close(vm_fd);
	close(sys_fd);
	free(r);
}
END_TEST

static Suite *virtio_pci_suite(void)
{
	Suite *s = suite_create("virtio_pci");
	TCase *tc;

	tc = tcase_create("layout");
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_caps_pio_notify_first);
	tcase_add_test(tc, test_caps_mmio_notify_first);
	tcase_add_test(tc, test_no_device_cfg_cap_without_config);
	tcase_add_test(tc, test_init_refuses_oversized_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("common");
	tcase_add_test(tc, test_feature_select_windows);
	tcase_add_test(tc, test_status_through_registers);
	tcase_add_test(tc, test_queue_registers);
	tcase_add_test(tc, test_queue_registers_frozen_after_driver_ok);
	tcase_add_test(tc, test_msix_vector_mapping);
	tcase_add_test(tc, test_access_widths);
	tcase_add_test(tc, test_config_generation_register);
	tcase_add_test(tc, test_device_config_access);
	suite_add_tcase(s, tc);

	tc = tcase_create("interrupts");
	tcase_add_test(tc, test_isr_read_clears_intx);
	tcase_add_test(tc, test_interrupt_routing);
	tcase_add_test(tc, test_reset_through_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_add_test(tc, test_notify_through_event_loop);
	tcase_add_test(tc, test_notify_without_event_loop);
	tcase_add_test(tc, test_pci_cfg_window);
	suite_add_tcase(s, tc);

	tc = tcase_create("bus");
	tcase_add_test(tc, test_on_pci_bus);
	tcase_add_test(tc, test_ioeventfds_follow_bars);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(virtio_pci_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
