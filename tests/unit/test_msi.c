/*
 * Unit tests for msi: the routing tables handed to KVM (KVM's default irqchip
 * routes first, then one MSI entry per valid route), GSI allocation from 24,
 * irqfd registration and delivery through real eventfds, refusal of bad
 * addresses, failure handling, and the KVM_SIGNAL_MSI fallback. KVM itself
 * is replaced by the recorder of fake_msi_kvm.h.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_msi_kvm.h"
#include "trapeze/msi.h"

#define ADDR_CPU0 0xfee00000ULL
#define ADDR_CPU1 0xfee01000ULL

static struct fake_kvm kvm;
static struct msi_router router;

static void setup(void)
{
	memset(&kvm, 0, sizeof(kvm));
	ck_assert_int_eq(msi_router_init(&router, &fake_kvm_ops, &kvm,
					 MSI_ROUTER_IRQFD | MSI_ROUTER_SIGNAL, 4096), 0);
}

static void teardown(void)
{
	msi_router_destroy(&router);
}

static void check_irqchip(const struct kvm_irq_routing_entry *e, u32 gsi, u32 chip, u32 pin)
{
	ck_assert_uint_eq(e->gsi, gsi);
	ck_assert_uint_eq(e->type, KVM_IRQ_ROUTING_IRQCHIP);
	ck_assert_uint_eq(e->flags, 0);
	ck_assert_uint_eq(e->u.irqchip.irqchip, chip);
	ck_assert_uint_eq(e->u.irqchip.pin, pin);
}

/* The table KVM sets up by itself (arch/x86/kvm default_routing[]), entry by entry. */
static void check_defaults(const struct kvm_irq_routing_entry *e)
{
	unsigned int n = 0;

	for (u32 gsi = 0; gsi < 16; gsi++) {
		check_irqchip(&e[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
		check_irqchip(&e[n++], gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
			      gsi % 8);
	}
	for (u32 gsi = 16; gsi < 24; gsi++)
		check_irqchip(&e[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
	ck_assert_uint_eq(n, MSI_NR_DEFAULT_ROUTES);
}

static void check_msi(const struct kvm_irq_routing_entry *e, u32 gsi, u64 addr, u32 data)
{
	ck_assert_uint_eq(e->gsi, gsi);
	ck_assert_uint_eq(e->type, KVM_IRQ_ROUTING_MSI);
	ck_assert_uint_eq(e->u.msi.address_lo, (u32)addr);
	ck_assert_uint_eq(e->u.msi.address_hi, (u32)(addr >> 32));
	ck_assert_uint_eq(e->u.msi.data, data);
}

static u64 read_eventfd(int fd)
{
	eventfd_t v = 0;

	if (eventfd_read(fd, &v) < 0)
		return 0;	/* EAGAIN: nothing was written */
	return v;
}

START_TEST(test_defaults_match_kvm)
{
	struct kvm_irq_routing_entry e[MSI_NR_DEFAULT_ROUTES + 1];

	memset(e, 0xaa, sizeof(e));
	ck_assert_uint_eq(msi_routing_defaults(e), MSI_NR_DEFAULT_ROUTES);
	check_defaults(e);
	/* Spot checks: the PIT's GSI 0 reaches IOAPIC pin 0 and master pin 0; GSI 9 is slave pin 1. */
	check_irqchip(&e[0], 0, KVM_IRQCHIP_IOAPIC, 0);
	check_irqchip(&e[1], 0, KVM_IRQCHIP_PIC_MASTER, 0);
	check_irqchip(&e[19], 9, KVM_IRQCHIP_PIC_SLAVE, 1);
	check_irqchip(&e[39], 23, KVM_IRQCHIP_IOAPIC, 23);
	/* Nothing past the end was written. */
	ck_assert_uint_eq(e[MSI_NR_DEFAULT_ROUTES].gsi, 0xaaaaaaaau);
}
END_TEST

START_TEST(test_init_modes)
{
	struct msi_router r;

	ck_assert(router.irqfd);
	ck_assert_uint_eq(router.nr_routes, MSI_MAX_ROUTES);
	/* KVM allows 30 GSIs: 6 routes. */
	ck_assert_int_eq(msi_router_init(&r, &fake_kvm_ops, &kvm, MSI_ROUTER_IRQFD, 30), 0);
	ck_assert(r.irqfd);
	ck_assert_uint_eq(r.nr_routes, 6);
	msi_router_destroy(&r);
	/* No GSI above the irqchip pins: fall back to KVM_SIGNAL_MSI. */
	ck_assert_int_eq(msi_router_init(&r, &fake_kvm_ops, &kvm,
					 MSI_ROUTER_IRQFD | MSI_ROUTER_SIGNAL, 24), 0);
	ck_assert(!r.irqfd);
	msi_router_destroy(&r);
	ck_assert_int_eq(msi_router_init(&r, &fake_kvm_ops, &kvm, MSI_ROUTER_IRQFD, 24), -ENOTSUP);
	ck_assert_int_eq(msi_router_init(&r, &fake_kvm_ops, &kvm, 0, 4096), -ENOTSUP);
	/* Nothing was asked of KVM by any of this. */
	ck_assert_int_eq(kvm.nr_routing, 0);
	ck_assert_int_eq(kvm.nr_irqfd, 0);
}
END_TEST

START_TEST(test_add_registers_irqfd)
{
	int a = msi_route_add(&router), b = msi_route_add(&router);

	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert_uint_eq(msi_route_gsi(&router, a), MSI_GSI_BASE);
	ck_assert_uint_eq(msi_route_gsi(&router, b), MSI_GSI_BASE + 1);
	ck_assert_int_eq(kvm.nr_irqfd, 2);
	ck_assert_uint_eq(kvm.irqfd[0].gsi, MSI_GSI_BASE);
	ck_assert_uint_eq(kvm.irqfd[0].flags, 0);
	ck_assert_int_eq((int)kvm.irqfd[0].fd, router.routes[a].efd);
	ck_assert_uint_eq(kvm.irqfd[1].gsi, MSI_GSI_BASE + 1);
	ck_assert_int_ne((int)kvm.irqfd[0].fd, (int)kvm.irqfd[1].fd);
	/* A route without a message is not in any table, and delivers nothing. */
	ck_assert_int_eq(kvm.nr_routing, 0);
	ck_assert_int_eq(msi_route_fire(&router, a), -ENOENT);
	ck_assert_uint_eq(read_eventfd(router.routes[a].efd), 0);
}
END_TEST

START_TEST(test_set_installs_table)
{
	int a = msi_route_add(&router), b = msi_route_add(&router);

	ck_assert_int_eq(msi_route_set(&router, a, ADDR_CPU0, 0x4021), 0);
	ck_assert_int_eq(kvm.nr_routing, 1);
	ck_assert_uint_eq(kvm.last_nr, MSI_NR_DEFAULT_ROUTES + 1);
	check_defaults(kvm.last);
	check_msi(&kvm.last[40], MSI_GSI_BASE, ADDR_CPU0, 0x4021);

	/* The same message again: no ioctl. */
	ck_assert_int_eq(msi_route_set(&router, a, ADDR_CPU0, 0x4021), 0);
	ck_assert_int_eq(kvm.nr_routing, 1);

	/* A second route: both MSI entries, defaults still first. */
	ck_assert_int_eq(msi_route_set(&router, b, ADDR_CPU1, 0x22), 0);
	ck_assert_int_eq(kvm.nr_routing, 2);
	ck_assert_uint_eq(kvm.last_nr, MSI_NR_DEFAULT_ROUTES + 2);
	check_defaults(kvm.last);
	check_msi(&kvm.last[40], MSI_GSI_BASE, ADDR_CPU0, 0x4021);
	check_msi(&kvm.last[41], MSI_GSI_BASE + 1, ADDR_CPU1, 0x22);

	/* A new data value replaces the entry. */
	ck_assert_int_eq(msi_route_set(&router, a, ADDR_CPU0, 0x4031), 0);
	ck_assert_int_eq(kvm.nr_routing, 3);
	check_msi(&kvm.last[40], MSI_GSI_BASE, ADDR_CPU0, 0x4031);
}
END_TEST

START_TEST(test_bad_address_refused)
{
	int a = msi_route_add(&router);

	/* Not 0xFEExxxxx, or high bits set: refused before KVM sees it. */
	ck_assert_int_eq(msi_route_set(&router, a, 0xd0000000, 1), -EINVAL);
	ck_assert_int_eq(msi_route_set(&router, a, 0x1fee00000ULL, 1), -EINVAL);
	ck_assert_int_eq(kvm.nr_routing, 0);
	ck_assert_int_eq(msi_route_fire(&router, a), -ENOENT);

	/* A good message, then a bad one: the entry leaves KVM's table. */
	ck_assert_int_eq(msi_route_set(&router, a, ADDR_CPU0, 0x30), 0);
	ck_assert_uint_eq(kvm.last_nr, MSI_NR_DEFAULT_ROUTES + 1);
	ck_assert_int_eq(msi_route_set(&router, a, 0, 0x30), -EINVAL);
	ck_assert_int_eq(kvm.nr_routing, 2);
	ck_assert_uint_eq(kvm.last_nr, MSI_NR_DEFAULT_ROUTES);
	check_defaults(kvm.last);
	ck_assert_int_eq(msi_route_fire(&router, a), -ENOENT);

	/* Bad handles. */
	ck_assert_int_eq(msi_route_set(&router, -1, ADDR_CPU0, 0), -EINVAL);
	ck_assert_int_eq(msi_route_set(&router, 5, ADDR_CPU0, 0), -EINVAL);	/* never added */
	ck_assert_int_eq(msi_route_set(&router, 100000, ADDR_CPU0, 0), -EINVAL);
	ck_assert_int_eq(msi_route_fire(&router, 100000), -ENOENT);
}
END_TEST

START_TEST(test_routing_failure_keeps_old)
{
	int a = msi_route_add(&router);

	ck_assert_int_eq(msi_route_set(&router, a, ADDR_CPU0, 0x41), 0);
	kvm.fail_routing = -ENOMEM;
	ck_assert_int_eq(msi_route_set(&router, a, ADDR_CPU1, 0x42), -ENOMEM);
	/* The route still has (and delivers) the message KVM has. */
	ck_assert(router.routes[a].valid);
	ck_assert_uint_eq(router.routes[a].addr, ADDR_CPU0);
	ck_assert_uint_eq(router.routes[a].data, 0x41);
	ck_assert_int_eq(msi_route_fire(&router, a), 0);
	ck_assert_uint_eq(read_eventfd(router.routes[a].efd), 1);
	/* Trying again works. */
	ck_assert_int_eq(msi_route_set(&router, a, ADDR_CPU1, 0x42), 0);
	check_msi(&kvm.last[40], MSI_GSI_BASE, ADDR_CPU1, 0x42);
}
END_TEST

START_TEST(test_fire_writes_eventfd)
{
	int a = msi_route_add(&router), b = msi_route_add(&router);

	ck_assert_int_eq(msi_route_set(&router, a, ADDR_CPU0, 0x41), 0);
	ck_assert_int_eq(msi_route_set(&router, b, ADDR_CPU0, 0x42), 0);
	ck_assert_int_eq(msi_route_fire(&router, a), 0);
	ck_assert_int_eq(msi_route_fire(&router, a), 0);
	ck_assert_int_eq(msi_route_fire(&router, b), 0);
	ck_assert_uint_eq(read_eventfd(router.routes[a].efd), 2);
	ck_assert_uint_eq(read_eventfd(router.routes[b].efd), 1);
	/* irqfd mode never signals directly. */
	ck_assert_int_eq(kvm.nr_signal, 0);
}
END_TEST

START_TEST(test_signal_fallback)
{
	struct msi_router r;
	int a;

	ck_assert_int_eq(msi_router_init(&r, &fake_kvm_ops, &kvm, MSI_ROUTER_SIGNAL, 0), 0);
	a = msi_route_add(&r);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(r.routes[a].efd, -1);
	ck_assert_int_eq(msi_route_set(&r, a, ADDR_CPU1, 0x4055), 0);
	ck_assert_int_eq(msi_route_fire(&r, a), 0);
	ck_assert_int_eq(kvm.nr_signal, 1);
	ck_assert_uint_eq(kvm.signal[0].address_lo, (u32)ADDR_CPU1);
	ck_assert_uint_eq(kvm.signal[0].address_hi, 0);
	ck_assert_uint_eq(kvm.signal[0].data, 0x4055);
	/* No table, no irqfd. */
	ck_assert_int_eq(kvm.nr_routing, 0);
	ck_assert_int_eq(kvm.nr_irqfd, 0);
	msi_router_destroy(&r);
}
END_TEST

START_TEST(test_capacity_and_remove)
{
	struct msi_router r;
	int a, b, efd_a;

	ck_assert_int_eq(msi_router_init(&r, &fake_kvm_ops, &kvm, MSI_ROUTER_IRQFD, 26), 0);
	a = msi_route_add(&r);
	b = msi_route_add(&r);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert_int_eq(msi_route_add(&r), -ENOSPC);
	ck_assert_int_eq(msi_route_set(&r, a, ADDR_CPU0, 1), 0);
	ck_assert_int_eq(msi_route_set(&r, b, ADDR_CPU0, 2), 0);
	efd_a = r.routes[a].efd;

	msi_route_remove(&r, a);
	/* Deassigned with the same fd and GSI, closed, and out of the table. */
	ck_assert_int_eq(kvm.nr_irqfd, 3);
	ck_assert_uint_eq(kvm.irqfd[2].flags, KVM_IRQFD_FLAG_DEASSIGN);
	ck_assert_int_eq((int)kvm.irqfd[2].fd, efd_a);
	ck_assert_uint_eq(kvm.irqfd[2].gsi, MSI_GSI_BASE);
	ck_assert_uint_eq(kvm.last_nr, MSI_NR_DEFAULT_ROUTES + 1);
	check_msi(&kvm.last[40], MSI_GSI_BASE + 1, ADDR_CPU0, 2);
	ck_assert_int_eq(msi_route_fire(&r, a), -ENOENT);

	/* The GSI is free again. */
	a = msi_route_add(&r);
	ck_assert_uint_eq(msi_route_gsi(&r, a), MSI_GSI_BASE);
	msi_router_destroy(&r);
	/* Destroy deassigned both remaining routes. */
	ck_assert_int_eq(kvm.nr_irqfd, 6);
	ck_assert_uint_eq(kvm.irqfd[4].flags, KVM_IRQFD_FLAG_DEASSIGN);
	ck_assert_uint_eq(kvm.irqfd[5].flags, KVM_IRQFD_FLAG_DEASSIGN);
}
END_TEST

START_TEST(test_irqfd_failure)
{
	int a;

	kvm.fail_irqfd = -EBUSY;
	ck_assert_int_eq(msi_route_add(&router), -EBUSY);
	/* Nothing leaked: the next add gets the same GSI. */
	a = msi_route_add(&router);
	ck_assert_int_ge(a, 0);
	ck_assert_uint_eq(msi_route_gsi(&router, a), MSI_GSI_BASE);
}
END_TEST

static Suite *msi_suite(void)
{
	Suite *s = suite_create("msi");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults_match_kvm);
	tcase_add_test(tc, test_init_modes);
	tcase_add_test(tc, test_add_registers_irqfd);
	tcase_add_test(tc, test_set_installs_table);
	tcase_add_test(tc, test_bad_address_refused);
	tcase_add_test(tc, test_routing_failure_keeps_old);
	tcase_add_test(tc, test_fire_writes_eventfd);
	tcase_add_test(tc, test_signal_fallback);
	tcase_add_test(tc, test_capacity_and_remove);
	tcase_add_test(tc, test_irqfd_failure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
