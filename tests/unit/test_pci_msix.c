/*
 * Unit tests for MSI-X (devices/pci_msix.c) on a PCI bus built from two
 * struct bus instances, with a real struct msi_router whose KVM ioctls are
 * recorded by fake_msi_kvm.h: deliveries show up as counts on the routes'
 * eventfds, routes as entries in the recorded GSI routing tables. Covers the
 * capability and its writable bits, table entry writes (sizes, reserved
 * bits), vector and function masking, the PBA, delivery of pending vectors
 * on unmask, bad messages, hosts without MSI, INTx while MSI-X is enabled,
 * and notifications racing table writes. Offsets are PCI 3.0 6.8.2's.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "fake_msi_kvm.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/bus.h"
#include "trapeze/devices/pci.h"
#include "trapeze/msi.h"

#define CF8 0xcf8
#define CFC 0xcfc
#define BAR_SIZE 0x4000
#define TABLE_OFF 0x3000
#define PBA_OFF 0x3800
#define NR_VECTORS 3
#define BAR_BASE X86_PCI_MMIO32_BASE	/* where the first memory BAR is placed */
#define MSIX_CAP 0x40			/* the first (only) capability */

/* Table entry fields (6.8.2.6-9). */
#define E_ADDR_LO 0x0
#define E_ADDR_HI 0x4
#define E_DATA 0x8
#define E_CTRL 0xc

struct msix_fn {
	struct pci_dev pci;
	int other_accesses;	/* BAR accesses outside the table and PBA */
};

static void fn_read(void *opaque, u64 offset, void *data, u32 len)
{
	struct msix_fn *f = opaque;

	if (!pci_msix_access(&f->pci, offset, data, len, false)) {
		f->other_accesses++;
		memset(data, 0, len);
	}
}

static void fn_write(void *opaque, u64 offset, const void *data, u32 len)
{
	struct msix_fn *f = opaque;

	if (!pci_msix_access(&f->pci, offset, (void *)data, len, true))
		f->other_accesses++;
}

static const struct bus_ops fn_ops = { .read = fn_read, .write = fn_write };

struct intx_log {
	int n;
	int level;
};

static void intx_record(void *opaque, u32 gsi, int level)
{
	struct intx_log *l = opaque;

	(void)gsi;
	l->n++;
	l->level = level;
}

static struct bus pio, mmio;
static struct pci_bus pb;
static struct fake_kvm kvm;
static struct msi_router router;
static struct intx_log intx;
static struct msix_fn fn;

static void cfg_write(u32 reg, u32 v, u32 len);

static void make_fn(unsigned int nr_vectors)
{
	memset(&fn, 0, sizeof(fn));
	pci_dev_init(&fn.pci, "msix", 0x1af4, 0x1041, 0x020000, 1, 0x1af4, 0x1041);
	fn.pci.opaque = &fn;
	ck_assert_int_eq(pci_dev_add_bar(&fn.pci, 0, BAR_SIZE, false, false, &fn_ops, &fn), 0);
	ck_assert_int_eq(pci_msix_init(&fn.pci, nr_vectors, 0, TABLE_OFF, PBA_OFF), 0);
}

static void bus_setup(struct msi_router *msi)
{
	struct irq_line line = { .set = intx_record, .opaque = &intx };

	memset(&intx, 0, sizeof(intx));
	ck_assert_int_eq(bus_init(&pio, "pio"), 0);
	ck_assert_int_eq(bus_init(&mmio, "mmio"), 0);
	pio.quiet = mmio.quiet = true;
	ck_assert_int_eq(pci_bus_init(&pb, &pio, &mmio, line, msi, NULL, NULL), 0);
}

static void setup(void)
{
	memset(&kvm, 0, sizeof(kvm));
	ck_assert_int_eq(msi_router_init(&router, &fake_kvm_ops, &kvm,
					 MSI_ROUTER_IRQFD | MSI_ROUTER_SIGNAL, 4096), 0);
	bus_setup(&router);
	make_fn(NR_VECTORS);
	ck_assert_int_eq(pci_bus_add(&pb, &fn.pci), 0);
	cfg_write(0x04, 0x2, 2);	/* memory decode: the table is reachable */
}

static void teardown(void)
{
	pci_bus_destroy(&pb);
	pci_msix_destroy(&fn.pci);
	bus_destroy(&mmio);
	bus_destroy(&pio);
	msi_router_destroy(&router);
}

static u32 cfg_read(u32 reg, u32 len)
{
	u32 a = 0x80000000u | fn.pci.slot << 11 | (reg & 0xfc), v = 0;

	bus_write(&pio, CF8, &a, 4);
	bus_read(&pio, CFC + (reg & 3), &v, len);
	return v;
}

static void cfg_write(u32 reg, u32 v, u32 len)
{
	u32 a = 0x80000000u | fn.pci.slot << 11 | (reg & 0xfc);

	bus_write(&pio, CF8, &a, 4);
	bus_write(&pio, CFC + (reg & 3), &v, len);
}

static u32 bar_read(u32 off, u32 len)
{
	u32 v = 0;

	bus_read(&mmio, BAR_BASE + off, &v, len);
	return v;
}

static void bar_write(u32 off, u64 v, u32 len)
{
	bus_write(&mmio, BAR_BASE + off, &v, len);
}

static u32 entry(unsigned int v, u32 field)
{
	return bar_read(TABLE_OFF + 16 * v + field, 4);
}

static void set_entry(unsigned int v, u32 field, u32 val)
{
	bar_write(TABLE_OFF + 16 * v + field, val, 4);
}

static void program(unsigned int v, u32 addr, u32 data)
{
	set_entry(v, E_ADDR_LO, addr);
	set_entry(v, E_ADDR_HI, 0);
	set_entry(v, E_DATA, data);
}

/* Memory decode and MSI-X enable (with or without the function mask). */
static void enable(bool fmask)
{
	cfg_write(0x04, 0x2, 2);
	cfg_write(MSIX_CAP + 2, 0x8000 | (fmask ? 0x4000 : 0), 2);
}

/* How many times vector v was delivered since the last call. */
static u64 delivered(unsigned int v)
{
	eventfd_t n = 0;
	int h = -1;

	/* The route of vector v is the one whose GSI was registered v-th. */
	ck_assert_int_gt(kvm.nr_irqfd, (int)v);
	for (int i = 0; i < (int)router.nr_routes; i++)
		if (router.routes[i].used && (int)router.routes[i].efd == (int)kvm.irqfd[v].fd)
			h = i;
	ck_assert_int_ge(h, 0);
	if (eventfd_read(router.routes[h].efd, &n) < 0)
		return 0;
	return n;
}

static u64 pba(void)
{
	u64 q = 0;

	bus_read(&mmio, BAR_BASE + PBA_OFF, &q, 8);
	return q;
}

/* The MSI entry for GSI gsi in the last routing table, or NULL. */
static const struct kvm_irq_routing_entry *route_for(u32 gsi)
{
	for (unsigned int i = 0; i < kvm.last_nr; i++)
		if (kvm.last[i].gsi == gsi && kvm.last[i].type == KVM_IRQ_ROUTING_MSI)
			return &kvm.last[i];
	return NULL;
}

START_TEST(test_capability)
{
	/* The only capability: id 0x11, Table Size N - 1, table and PBA offset | BIR 0. */
	ck_assert_uint_eq(cfg_read(0x34, 1), MSIX_CAP);
	ck_assert_uint_eq(cfg_read(0x06, 2) & 0x10, 0x10);
	ck_assert_uint_eq(cfg_read(MSIX_CAP, 4), (NR_VECTORS - 1) << 16 | 0x0011);
	ck_assert_uint_eq(cfg_read(MSIX_CAP + 4, 4), TABLE_OFF | 0);
	ck_assert_uint_eq(cfg_read(MSIX_CAP + 8, 4), PBA_OFF | 0);
	/* Only Enable and Function Mask are writable; offsets are read-only. */
	cfg_write(MSIX_CAP + 2, 0xffff, 2);
	ck_assert_uint_eq(cfg_read(MSIX_CAP + 2, 2), 0xc000 | (NR_VECTORS - 1));
	ck_assert(pci_msix_enabled(&fn.pci));
	cfg_write(MSIX_CAP + 4, 0, 4);
	ck_assert_uint_eq(cfg_read(MSIX_CAP + 4, 4), TABLE_OFF);
	cfg_write(MSIX_CAP + 2, 0, 2);
	ck_assert(!pci_msix_enabled(&fn.pci));
	/* Each vector got a route, with its irqfd, at pci_bus_add. */
	ck_assert_int_eq(kvm.nr_irqfd, NR_VECTORS);
	ck_assert_uint_eq(kvm.irqfd[0].gsi, MSI_GSI_BASE);
	ck_assert_uint_eq(kvm.irqfd[2].gsi, MSI_GSI_BASE + 2);
}
END_TEST

START_TEST(test_init_rules)
{
	struct pci_dev d;

	pci_dev_init(&d, "x", 1, 2, 0, 0, 0, 0);
	ck_assert_int_eq(pci_msix_init(&d, 1, 0, 0, 0x800), -EINVAL);	/* no BAR 0 */
	ck_assert_int_eq(pci_dev_add_bar(&d, 0, 0x1000, false, false, &fn_ops, NULL), 0);
	ck_assert_int_eq(pci_dev_add_bar(&d, 1, 0x100, true, false, &fn_ops, NULL), 0);
	ck_assert_int_eq(pci_msix_init(&d, 0, 0, 0, 0x800), -EINVAL);
	ck_assert_int_eq(pci_msix_init(&d, 2049, 0, 0, 0x800), -EINVAL);
	ck_assert_int_eq(pci_msix_init(&d, 1, 1, 0, 0x80), -EINVAL);	/* I/O BAR */
	ck_assert_int_eq(pci_msix_init(&d, 1, 6, 0, 0x800), -EINVAL);
	ck_assert_int_eq(pci_msix_init(&d, 1, 0, 4, 0x800), -EINVAL);	/* misaligned */
	ck_assert_int_eq(pci_msix_init(&d, 1, 0, 0, 0x804), -EINVAL);
	ck_assert_int_eq(pci_msix_init(&d, 8, 0, 0xf90, 0x800), -EINVAL);	/* past the BAR */
	ck_assert_int_eq(pci_msix_init(&d, 1, 0, 0, 0xffc), -EINVAL);
	ck_assert_int_eq(pci_msix_init(&d, 4, 0, 0x800, 0x830), -EINVAL);	/* overlap */
	ck_assert_ptr_null(d.msix);
	ck_assert_int_eq(pci_msix_init(&d, 128, 0, 0, 0x1000 - 16), 0);
	ck_assert_int_eq(pci_msix_init(&d, 1, 0, 0, 0x800), -EINVAL);	/* twice */
	pci_msix_destroy(&d);
	ck_assert_ptr_null(d.msix);
}
END_TEST

START_TEST(test_table_writes)
{
	/* After reset: zeros, vector masked. */
	ck_assert_uint_eq(entry(1, E_ADDR_LO), 0);
	ck_assert_uint_eq(entry(1, E_CTRL), 1);
	/* Dword writes stick; address bits 1-0 and reserved control bits read 0. */
	set_entry(1, E_ADDR_LO, 0xfee01003);
	set_entry(1, E_ADDR_HI, 0x12);
	set_entry(1, E_DATA, 0x4041);
	set_entry(1, E_CTRL, 0xfffffffe);
	ck_assert_uint_eq(entry(1, E_ADDR_LO), 0xfee01000);
	ck_assert_uint_eq(entry(1, E_ADDR_HI), 0x12);
	ck_assert_uint_eq(entry(1, E_DATA), 0x4041);
	ck_assert_uint_eq(entry(1, E_CTRL), 0);
	/* Byte and word writes and misaligned dwords are ignored. */
	bar_write(TABLE_OFF + 16 + E_DATA, 0x99, 1);
	bar_write(TABLE_OFF + 16 + E_DATA, 0x9999, 2);
	bar_write(TABLE_OFF + 16 + E_DATA + 2, 0x99999999, 4);
	ck_assert_uint_eq(entry(1, E_DATA), 0x4041);
	/* An aligned qword is two dwords. */
	bar_write(TABLE_OFF + 32 + E_DATA, 0x00000001000000abULL, 8);
	ck_assert_uint_eq(entry(2, E_DATA), 0xab);
	ck_assert_uint_eq(entry(2, E_CTRL), 1);
	/* Reads of any aligned width. */
	ck_assert_uint_eq(bar_read(TABLE_OFF + 16 + E_DATA, 1), 0x41);
	ck_assert_uint_eq(bar_read(TABLE_OFF + 16 + E_DATA + 2, 2), 0);
	/* Neither vector 0 nor the rest of the BAR were touched. */
	ck_assert_uint_eq(entry(0, E_DATA), 0);
	ck_assert_int_eq(fn.other_accesses, 0);
	bar_read(0x100, 4);
	ck_assert_int_eq(fn.other_accesses, 1);
	/* Memory decode off: the table is out of reach like the rest of the BAR. */
	cfg_write(0x04, 0, 2);
	ck_assert_uint_eq(entry(1, E_DATA), 0xffffffffu);
	set_entry(1, E_DATA, 0);
	cfg_write(0x04, 0x2, 2);
	ck_assert_uint_eq(entry(1, E_DATA), 0x4041);
}
END_TEST

START_TEST(test_notify_rules)
{
	ck_assert_int_eq(pci_msix_notify(&fn.pci, NR_VECTORS), -EINVAL);
	/* MSI-X disabled: refused, the caller falls back to INTx; nothing pending. */
	program(0, 0xfee00000, 0x31);
	set_entry(0, E_CTRL, 0);
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 0), -EINVAL);
	ck_assert_uint_eq(pba(), 0);
	ck_assert_uint_eq(delivered(0), 0);
	ck_assert_int_eq(kvm.nr_routing, 0);
}
END_TEST

START_TEST(test_delivery_and_route)
{
	const struct kvm_irq_routing_entry *e;

	enable(false);
	program(0, 0xfee00000, 0x4031);
	/* Masked: no route yet. */
	ck_assert_int_eq(kvm.nr_routing, 0);
	set_entry(0, E_CTRL, 0);
	/* Unmasked: the route is built now, with the message. */
	ck_assert_int_eq(kvm.nr_routing, 1);
	e = route_for(MSI_GSI_BASE);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->u.msi.address_lo, 0xfee00000);
	ck_assert_uint_eq(e->u.msi.data, 0x4031);
	ck_assert_uint_eq(kvm.last_nr, MSI_NR_DEFAULT_ROUTES + 1);

	ck_assert_int_eq(pci_msix_notify(&fn.pci, 0), 0);
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 0), 0);
	ck_assert_uint_eq(delivered(0), 2);
	ck_assert_uint_eq(delivered(1), 0);
	/* Delivery needs no further table updates. */
	ck_assert_int_eq(kvm.nr_routing, 1);
}
END_TEST

START_TEST(test_vector_mask_and_pba)
{
	enable(false);
	program(1, 0xfee00000, 0x41);
	/* Masked vector: the PBA bit, no delivery. */
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 1), 0);
	ck_assert_uint_eq(delivered(1), 0);
	ck_assert_uint_eq(pba(), 1u << 1);
	ck_assert_uint_eq(bar_read(PBA_OFF, 1), 0x02);
	/* The PBA is read-only. */
	bar_write(PBA_OFF, 0, 8);
	ck_assert_uint_eq(pba(), 1u << 1);
	/* Unmask: delivered once, bit cleared. */
	set_entry(1, E_CTRL, 0);
	ck_assert_uint_eq(delivered(1), 1);
	ck_assert_uint_eq(pba(), 0);
	/* Masking again: pending again; a message change while masked is used on unmask. */
	set_entry(1, E_CTRL, 1);
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 1), 0);
	set_entry(1, E_DATA, 0x42);
	set_entry(1, E_CTRL, 0);
	ck_assert_uint_eq(delivered(1), 1);
	ck_assert_uint_eq(route_for(MSI_GSI_BASE + 1)->u.msi.data, 0x42);
}
END_TEST

START_TEST(test_function_mask)
{
	enable(true);
	program(0, 0xfee00000, 0x51);
	program(2, 0xfee00000, 0x53);
	set_entry(0, E_CTRL, 0);
	set_entry(2, E_CTRL, 0);
	/* Function mask holds back every vector; no route is built under it. */
	ck_assert_int_eq(kvm.nr_routing, 0);
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 0), 0);
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 2), 0);
	ck_assert_uint_eq(pba(), 0x5);
	ck_assert_uint_eq(delivered(0) + delivered(2), 0);
	/* Clearing it delivers both. */
	cfg_write(MSIX_CAP + 2, 0x8000, 2);
	ck_assert_uint_eq(pba(), 0);
	ck_assert_uint_eq(delivered(0), 1);
	ck_assert_uint_eq(delivered(2), 1);
	ck_assert_ptr_nonnull(route_for(MSI_GSI_BASE));
	ck_assert_ptr_nonnull(route_for(MSI_GSI_BASE + 2));
}
END_TEST

START_TEST(test_bad_message)
{
	enable(false);
	program(0, 0xd0000000, 0x41);	/* not an interrupt address */
	set_entry(0, E_CTRL, 0);
	ck_assert_ptr_null(route_for(MSI_GSI_BASE));
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 0), 0);
	ck_assert_uint_eq(delivered(0), 0);
	ck_assert_uint_eq(pba(), 0);
	/* Fixed while unmasked: the route follows. */
	set_entry(0, E_ADDR_LO, 0xfee00000);
	ck_assert_ptr_nonnull(route_for(MSI_GSI_BASE));
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 0), 0);
	ck_assert_uint_eq(delivered(0), 1);
}
END_TEST

START_TEST(test_intx_while_enabled)
{
	pci_dev_set_intx(&fn.pci, 1);
	ck_assert_int_eq(intx.n, 1);
	ck_assert_int_eq(intx.level, 1);
	/* MSI-X on: INTx is not used (6.8.2), the line drops. */
	enable(false);
	ck_assert_int_eq(intx.n, 2);
	ck_assert_int_eq(intx.level, 0);
	pci_dev_set_intx(&fn.pci, 0);
	pci_dev_set_intx(&fn.pci, 1);
	ck_assert_int_eq(intx.n, 2);
	/* Off again: the level the device holds shows. */
	cfg_write(MSIX_CAP + 2, 0, 2);
	ck_assert_int_eq(intx.n, 3);
	ck_assert_int_eq(intx.level, 1);
}
END_TEST

/* Tests below build their own bus (no fixture) and take it down themselves. */
static void custom_teardown(struct msi_router *msi)
{
	pci_bus_destroy(&pb);
	pci_msix_destroy(&fn.pci);
	bus_destroy(&mmio);
	bus_destroy(&pio);
	if (msi)
		msi_router_destroy(msi);
}

START_TEST(test_many_vectors_pba)
{
	u64 q = 0;

	/* 70 vectors: the PBA takes two qwords. */
	memset(&kvm, 0, sizeof(kvm));
	ck_assert_int_eq(msi_router_init(&router, &fake_kvm_ops, &kvm, MSI_ROUTER_IRQFD, 4096), 0);
	bus_setup(&router);
	memset(&fn, 0, sizeof(fn));
	pci_dev_init(&fn.pci, "msix", 1, 2, 0, 0, 0, 0);
	fn.pci.opaque = &fn;
	ck_assert_int_eq(pci_dev_add_bar(&fn.pci, 0, BAR_SIZE, false, false, &fn_ops, &fn), 0);
	ck_assert_int_eq(pci_msix_init(&fn.pci, 70, 0, 0, 0x2000), 0);
	ck_assert_int_eq(pci_bus_add(&pb, &fn.pci), 0);
	ck_assert_int_eq(kvm.nr_irqfd, 70);
	enable(false);
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 69), 0);
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 3), 0);
	bus_read(&mmio, BAR_BASE + 0x2000, &q, 8);
	ck_assert_uint_eq(q, 1u << 3);
	bus_read(&mmio, BAR_BASE + 0x2008, &q, 8);
	ck_assert_uint_eq(q, 1u << 5);
	ck_assert_uint_eq(bar_read(0x2008, 1), 1u << 5);
	/* Past the PBA's 16 bytes: not MSI-X's. */
	ck_assert_int_eq(fn.other_accesses, 0);
	bus_read(&mmio, BAR_BASE + 0x2010, &q, 8);
	ck_assert_int_eq(fn.other_accesses, 1);
	/* An access straddling the PBA's end is MSI-X's, and reads all-ones. */
	bus_read(&mmio, BAR_BASE + 0x200c, &q, 8);
	ck_assert_uint_eq(q, ~0ULL);
	ck_assert_int_eq(fn.other_accesses, 1);
	/* Taking the bus down gives every route back (irqfds deassigned). */
	pci_bus_destroy(&pb);
	ck_assert_int_eq(kvm.nr_irqfd, 140);
	ck_assert_uint_eq(kvm.irqfd[70].flags, KVM_IRQFD_FLAG_DEASSIGN);
	ck_assert_uint_eq(kvm.irqfd[139].flags, KVM_IRQFD_FLAG_DEASSIGN);
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 3), 0);	/* no router: dropped quietly */
	pci_msix_destroy(&fn.pci);
	bus_destroy(&mmio);
	bus_destroy(&pio);
	msi_router_destroy(&router);
}
END_TEST

START_TEST(test_no_router_hides_msix)
{
	/* A host without MSI delivery: the bus has no router. */
	bus_setup(NULL);
	make_fn(NR_VECTORS);
	ck_assert_int_eq(pci_bus_add(&pb, &fn.pci), 0);
	/* No capability in the list, and the enable bit does not stick. */
	ck_assert_uint_eq(cfg_read(0x34, 1), 0);
	ck_assert_uint_eq(cfg_read(0x06, 2) & 0x10, 0);
	cfg_write(MSIX_CAP + 2, 0x8000, 2);
	ck_assert_uint_eq(cfg_read(MSIX_CAP + 2, 2), NR_VECTORS - 1);
	ck_assert(!pci_msix_enabled(&fn.pci));
	ck_assert_int_eq(pci_msix_notify(&fn.pci, 0), -EINVAL);
	custom_teardown(NULL);
}
END_TEST

/* Notifications from a worker thread while a vCPU thread masks and unmasks. */
struct storm {
	unsigned int sent;
};

static void *notifier(void *opaque)
{
	struct storm *s = opaque;

	for (unsigned int i = 0; i < 20000; i++)
		if (pci_msix_notify(&fn.pci, 0) == 0)
			s->sent++;
	return NULL;
}

START_TEST(test_notify_races_table_writes)
{
	struct storm s = { 0 };
	pthread_t t;
	u64 got;

	enable(false);
	program(0, 0xfee00000, 0x61);
	set_entry(0, E_CTRL, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, notifier, &s), 0);
	for (unsigned int i = 0; i < 2000; i++) {
		set_entry(0, E_CTRL, 1);
		set_entry(0, E_DATA, 0x61 + (i & 1));
		set_entry(0, E_CTRL, 0);
	}
	pthread_join(t, NULL);
	/* Every notification was delivered or left pending; unmasked at the end: none pending. */
	ck_assert_uint_eq(s.sent, 20000);
	ck_assert_uint_eq(pba(), 0);
	got = delivered(0);
	ck_assert_uint_ge(got, 1);
	ck_assert_uint_le(got, 20000);
}
END_TEST

static Suite *msix_suite(void)
{
	Suite *s = suite_create("pci_msix");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_capability);
	tcase_add_test(tc, test_init_rules);
	tcase_add_test(tc, test_table_writes);
	tcase_add_test(tc, test_notify_rules);
	tcase_add_test(tc, test_delivery_and_route);
	tcase_add_test(tc, test_vector_mask_and_pba);
	tcase_add_test(tc, test_function_mask);
	tcase_add_test(tc, test_bad_message);
	tcase_add_test(tc, test_intx_while_enabled);
	tcase_add_test(tc, test_notify_races_table_writes);
	suite_add_tcase(s, tc);
	tc = tcase_create("own-bus");
	tcase_add_test(tc, test_many_vectors_pba);
	tcase_add_test(tc, test_no_router_hides_msix);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msix_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
