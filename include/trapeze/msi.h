/*
 * msi: delivery of message-signalled interrupts (MSI, MSI-X) into KVM's
 * in-kernel LAPICs.
 *
 * With KVM_CAP_IRQ_ROUTING and KVM_CAP_IRQFD (the normal case), every route
 * gets a GSI >= MSI_GSI_BASE, an entry of type KVM_IRQ_ROUTING_MSI in KVM's
 * GSI routing table and an eventfd bound to that GSI with KVM_IRQFD:
 * delivering is one eventfd write, from any thread, without an ioctl.
 * KVM_SET_GSI_ROUTING replaces the whole table, so every table the router
 * installs starts with the irqchip routes KVM sets up by default for GSIs
 * 0-23 (msi_routing_defaults(): the kernel's default_routing[]), then one
 * entry per route that holds a valid message. Without those capabilities
 * the router falls back to KVM_SIGNAL_MSI, one ioctl per interrupt.
 *
 * Messages come from the guest (MSI-X table writes): an address outside the
 * x86 interrupt window 0xFEExxxxx (Intel SDM Vol. 3A 11.11.1), or with high
 * bits, is refused and the route delivers nothing until it gets a good one.
 *
 * The KVM side goes through struct msi_kvm_ops so that unit tests can
 * record the tables and registrations instead of making ioctls.
 *
 * Lock order: callers' locks (pci_bus.lock, device locks, the MSI-X lock)
 * -> msi_router.lock, a leaf held across KVM_SET_GSI_ROUTING.
 */
#ifndef TRAPEZE_MSI_H
#define TRAPEZE_MSI_H

#include <linux/kvm.h>
#include <pthread.h>

#include "trapeze/types.h"

struct kvm_host;

#define MSI_GSI_BASE		24	/* GSIs 0-23 are the IOAPIC (and PIC) pins */
#define MSI_NR_DEFAULT_ROUTES	40	/* 16 GSIs x (IOAPIC + PIC) + 8 x IOAPIC */
#define MSI_MAX_ROUTES		1024	/* routes one router hands out at most */

/* x86 MSI address: 0xFEE in bits 31-20 (SDM Vol. 3A 11.11.1, Figure 11-24). */
#define MSI_ADDR_MASK		0xfff00000u
#define MSI_ADDR_BASE		0xfee00000u

/* The KVM ioctls the router makes; opaque is msi_router.opaque. 0 or -errno. */
struct msi_kvm_ops {
	int (*set_gsi_routing)(void *opaque, const struct kvm_irq_routing *table);
	int (*irqfd)(void *opaque, const struct kvm_irqfd *req);
	int (*signal_msi)(void *opaque, const struct kvm_msi *msg);
};

/* The real ioctls on a VM fd; opaque: int * pointing at the fd. */
extern const struct msi_kvm_ops msi_kvm_ioctls;

/* Router modes (msi_router_init flags). */
#define MSI_ROUTER_IRQFD	(1u << 0)	/* GSI routing + irqfd: one eventfd per route */
#define MSI_ROUTER_SIGNAL	(1u << 1)	/* KVM_SIGNAL_MSI: the fallback */

struct msi_route {
	bool used;		/* handed out by msi_route_add */
	bool valid;		/* holds a message; in KVM's table in irqfd mode */
	u32 gsi;
	u64 addr;
	u32 data;
	int efd;		/* eventfd bound to gsi (irqfd mode), else -1 */
};

struct msi_router {
	pthread_mutex_t lock;	/* routes[] and table; see lock order above */
	const struct msi_kvm_ops *ops;
	void *opaque;
	bool irqfd;		/* irqfd mode, else KVM_SIGNAL_MSI */
	unsigned int nr_routes;	/* capacity of routes[] */
	struct msi_route *routes;	/* route h has GSI MSI_GSI_BASE + h */
	struct kvm_irq_routing *table;	/* scratch for KVM_SET_GSI_ROUTING */
	bool logged_fail;	/* a failed delivery was reported */
};

/*
 * Fills out[0..MSI_NR_DEFAULT_ROUTES) with KVM's default x86 routing
 * (virt/kvm/irqchip.c, arch/x86/kvm/irq_comm.c default_routing[]): for
 * GSI 0-15 an IOAPIC entry (pin = GSI) and then a PIC entry (master for
 * 0-7, slave for 8-15, pin = GSI % 8); for GSI 16-23 an IOAPIC entry.
 * Returns MSI_NR_DEFAULT_ROUTES.
 */
unsigned int msi_routing_defaults(struct kvm_irq_routing_entry *out);

/*
 * flags: MSI_ROUTER_IRQFD and/or MSI_ROUTER_SIGNAL (irqfd is used when
 * given). max_gsis: KVM_CAP_IRQ_ROUTING's answer (ignored without
 * MSI_ROUTER_IRQFD). 0, -ENOTSUP (no mode, or no GSI above 23), -ENOMEM.
 */
int msi_router_init(struct msi_router *r, const struct msi_kvm_ops *ops, void *opaque,
		    unsigned int flags, unsigned int max_gsis);

/*
 * The router for a VM: checks KVM_CAP_IRQ_ROUTING, KVM_CAP_IRQFD and
 * KVM_CAP_SIGNAL_MSI on kvm and uses msi_kvm_ioctls on *vm_fd (which must
 * outlive the router). -ENOTSUP when KVM can deliver no MSI at all.
 */
int msi_router_init_kvm(struct msi_router *r, const struct kvm_host *kvm, int *vm_fd);

/* Removes every route (irqfds deassigned, eventfds closed) and frees. */
void msi_router_destroy(struct msi_router *r);

/*
 * A new route, without a message yet: returns its handle (>= 0), or
 * -ENOSPC, or -errno from eventfd/KVM_IRQFD.
 */
int msi_route_add(struct msi_router *r);

/*
 * Gives route h the message (addr, data) and, in irqfd mode, installs the
 * table in KVM (only when the message changed). 0; -EINVAL for a bad h or
 * an address outside the interrupt window (the route then delivers nothing
 * until a good message comes); -errno from KVM_SET_GSI_ROUTING (the route
 * keeps its previous message).
 */
int msi_route_set(struct msi_router *r, int h, u64 addr, u32 data);

/*
 * Delivers route h's message: eventfd write (irqfd) or KVM_SIGNAL_MSI.
 * Thread-safe. 0; -ENOENT when the route has no valid message; -errno.
 */
int msi_route_fire(struct msi_router *r, int h);

/* Deassigns the irqfd, closes the eventfd, drops the route from the table. */
void msi_route_remove(struct msi_router *r, int h);

/* The GSI of route h (for messages and tests), or 0 for a bad h. */
u32 msi_route_gsi(const struct msi_router *r, int h);

#endif
