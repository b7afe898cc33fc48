/*
 * A stand-in for the KVM ioctls struct msi_router makes (msi.h): it records
 * every GSI routing table, irqfd (de)assignment and KVM_SIGNAL_MSI, and can
 * be told to fail the next call. Used by test_msi and test_pci_msix.
 */
#ifndef TRAPEZE_TESTS_FAKE_MSI_KVM_H
#define TRAPEZE_TESTS_FAKE_MSI_KVM_H

#include <string.h>

#include "trapeze/msi.h"

#define FAKE_KVM_MAX_ENTRIES 128
#define FAKE_KVM_MAX_CALLS 256

struct fake_kvm {
	/* KVM_SET_GSI_ROUTING: how often, and the last table. */
	int nr_routing;
	unsigned int last_nr;
	struct kvm_irq_routing_entry last[FAKE_KVM_MAX_ENTRIES];
	int fail_routing;		/* returned (once) by the next call when non-zero */
	/* KVM_IRQFD */
	int nr_irqfd;
	struct kvm_irqfd irqfd[FAKE_KVM_MAX_CALLS];
	int fail_irqfd;
	/* KVM_SIGNAL_MSI */
	int nr_signal;
	struct kvm_msi signal[FAKE_KVM_MAX_CALLS];
};

static int fake_set_gsi_routing(void *opaque, const struct kvm_irq_routing *t)
{
	struct fake_kvm *k = opaque;
	int r = k->fail_routing;

	k->nr_routing++;
	if (r) {
		k->fail_routing = 0;
		return r;
	}
	k->last_nr = t->nr;
	memcpy(k->last, t->entries,
	       (t->nr < FAKE_KVM_MAX_ENTRIES ? t->nr : FAKE_KVM_MAX_ENTRIES) * sizeof(t->entries[0]));
	return 0;
}

static int fake_irqfd(void *opaque, const struct kvm_irqfd *req)
{
	struct fake_kvm *k = opaque;
	int r = k->fail_irqfd;

	if (r) {
		k->fail_irqfd = 0;
		return r;
	}
	if (k->nr_irqfd < FAKE_KVM_MAX_CALLS)
		k->irqfd[k->nr_irqfd] = *req;
	k->nr_irqfd++;
	return 0;
}

static int fake_signal_msi(void *opaque, const struct kvm_msi *msg)
{
	struct fake_kvm *k = opaque;

	if (k->nr_signal < FAKE_KVM_MAX_CALLS)
		k->signal[k->nr_signal] = *msg;
	k->nr_signal++;
	return 0;
}

static const struct msi_kvm_ops fake_kvm_ops = {
	.set_gsi_routing = fake_set_gsi_routing,
	.irqfd = fake_irqfd,
	.signal_msi = fake_signal_msi,
};

#endif
