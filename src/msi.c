/*
 * msi: MSI routes into KVM. See include/trapeze/msi.h.
 *
 * KVM API (Documentation/virt/kvm/api.rst): KVM_SET_GSI_ROUTING replaces
 * the whole routing table, so each table built here carries KVM's default
 * irqchip routes first; KVM_IRQFD binds an eventfd to a GSI, and writing
 * the eventfd injects whatever that GSI routes to (routes may change after
 * the binding: KVM re-reads them on every table update).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "trapeze/kvm.h"
#include "trapeze/msi.h"

#define MSI_NR_PIC_GSIS		16	/* GSIs 0-15 also reach the 8259 pair */
#define MSI_NR_IOAPIC_PINS	24
#define MSI_PIC_PINS		8	/* pins per 8259 */

static int msi_ioctl_set_gsi_routing(void *opaque, const struct kvm_irq_routing *table)
{
	return ioctl(*(int *)opaque, KVM_SET_GSI_ROUTING, table) < 0 ? -errno : 0;
}

static int msi_ioctl_irqfd(void *opaque, const struct kvm_irqfd *req)
{
	return ioctl(*(int *)opaque, KVM_IRQFD, req) < 0 ? -errno : 0;
}

static int msi_ioctl_signal_msi(void *opaque, const struct kvm_msi *msg)
{
	/* > 0: delivered; 0: blocked by the guest (e.g. a masked LAPIC). */
	return ioctl(*(int *)opaque, KVM_SIGNAL_MSI, msg) < 0 ? -errno : 0;
}

const struct msi_kvm_ops msi_kvm_ioctls = {
	.set_gsi_routing = msi_ioctl_set_gsi_routing,
	.irqfd = msi_ioctl_irqfd,
	.signal_msi = msi_ioctl_signal_msi,
};

static void msi_irqchip_entry(struct kvm_irq_routing_entry *e, u32 gsi, u32 chip, u32 pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

unsigned int msi_routing_defaults(struct kvm_irq_routing_entry *out)
{
	unsigned int n = 0;
	u32 gsi;

	for (gsi = 0; gsi < MSI_NR_IOAPIC_PINS; gsi++) {
		msi_irqchip_entry(&out[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < MSI_NR_PIC_GSIS)
			msi_irqchip_entry(&out[n++], gsi,
					  gsi < MSI_PIC_PINS ? KVM_IRQCHIP_PIC_MASTER
							     : KVM_IRQCHIP_PIC_SLAVE,
					  gsi % MSI_PIC_PINS);
	}
	return n;
}

int msi_router_init(struct msi_router *r, const struct msi_kvm_ops *ops, void *opaque,
		    unsigned int flags, unsigned int max_gsis)
{
	unsigned int nr;

	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->opaque = opaque;
	if ((flags & MSI_ROUTER_IRQFD) && max_gsis > MSI_GSI_BASE) {
		r->irqfd = true;
		nr = max_gsis - MSI_GSI_BASE;
	} else if (flags & MSI_ROUTER_SIGNAL) {
		nr = MSI_MAX_ROUTES;
	} else {
		return -ENOTSUP;
	}
	if (nr > MSI_MAX_ROUTES)
		nr = MSI_MAX_ROUTES;
	r->routes = calloc(nr, sizeof(*r->routes));
	if (!r->routes)
		return -ENOMEM;
	if (r->irqfd) {
		r->table = calloc(1, sizeof(*r->table) +
				     (MSI_NR_DEFAULT_ROUTES + nr) * sizeof(r->table->entries[0]));
		if (!r->table) {
			free(r->routes);
			r->routes = NULL;
			return -ENOMEM;
		}
	}
	r->nr_routes = nr;
	for (unsigned int i = 0; i < nr; i++) {
		r->routes[i].gsi = MSI_GSI_BASE + i;
		r->routes[i].efd = -1;
	}
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

int msi_router_init_kvm(struct msi_router *r, const struct kvm_host *kvm, int *vm_fd)
{
	unsigned int flags = 0;
	int max_gsis = kvm_check_cap(kvm, KVM_CAP_IRQ_ROUTING);

	if (max_gsis > 0 && kvm_check_cap(kvm, KVM_CAP_IRQFD))
		flags |= MSI_ROUTER_IRQFD;
	if (kvm_check_cap(kvm, KVM_CAP_SIGNAL_MSI))
		flags |= MSI_ROUTER_SIGNAL;
	return msi_router_init(r, &msi_kvm_ioctls, vm_fd, flags,
			       max_gsis > 0 ? (unsigned int)max_gsis : 0);
}

static bool msi_handle_ok(const struct msi_router *r, int h)
{
	return h >= 0 && (unsigned int)h < r->nr_routes && r->routes[h].used;
}

/* Defaults, then every valid route; installs it in KVM. Lock held. */
static int msi_install_table(struct msi_router *r)
{
	struct kvm_irq_routing_entry *e = r->table->entries;
	unsigned int n = msi_routing_defaults(e);

	for (unsigned int i = 0; i < r->nr_routes; i++) {
		const struct msi_route *rt = &r->routes[i];

		if (!rt->used || !rt->valid)
			continue;
		memset(&e[n], 0, sizeof(e[n]));
		e[n].gsi = rt->gsi;
		e[n].type = KVM_IRQ_ROUTING_MSI;
		e[n].u.msi.address_lo = (u32)rt->addr;
		e[n].u.msi.address_hi = (u32)(rt->addr >> 32);
		e[n].u.msi.data = rt->data;
		n++;
	}
	r->table->nr = n;
	r->table->flags = 0;
	return r->ops->set_gsi_routing(r->opaque, r->table);
}

int msi_route_add(struct msi_router *r)
{
	struct msi_route *rt = NULL;
	int h, ret = 0;

	pthread_mutex_lock(&r->lock);
	for (h = 0; (unsigned int)h < r->nr_routes; h++) {
		if (!r->routes[h].used) {
			rt = &r->routes[h];
			break;
		}
	}
	if (!rt) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	if (r->irqfd) {
		struct kvm_irqfd req = { .gsi = rt->gsi };

		rt->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (rt->efd < 0) {
			ret = -errno;
			goto out_unlock;
		}
		req.fd = (u32)rt->efd;
		ret = r->ops->irqfd(r->opaque, &req);
		if (ret)
			goto out_close;
	}
	rt->used = true;
	rt->valid = false;
	pthread_mutex_unlock(&r->lock);
	return h;

out_close:
	close(rt->efd);
	rt->efd = -1;
out_unlock:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* An address the LAPICs accept: 0xFEExxxxx, nothing above bit 31. */
static bool msi_addr_ok(u64 addr)
{
	return (addr >> 32) == 0 && ((u32)addr & MSI_ADDR_MASK) == MSI_ADDR_BASE;
}

int msi_route_set(struct msi_router *r, int h, u64 addr, u32 data)
{
	struct msi_route *rt, old;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (!msi_handle_ok(r, h)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	rt = &r->routes[h];
	old = *rt;
	if (!msi_addr_ok(addr)) {
		/* A hostile or half-written message: deliver nothing with it. */
		rt->valid = false;
		if (old.valid && r->irqfd)
			msi_install_table(r);	/* drop the old entry; best effort */
		ret = -EINVAL;
		goto out_unlock;
	}
	if (old.valid && old.addr == addr && old.data == data)
		goto out_unlock;
	rt->addr = addr;
	rt->data = data;
	rt->valid = true;
	if (r->irqfd) {
		ret = msi_install_table(r);
		if (ret)
			*rt = old;
	}
out_unlock:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int msi_route_fire(struct msi_router *r, int h)
{
	struct msi_route *rt;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (!msi_handle_ok(r, h) || !r->routes[h].valid) {
		ret = -ENOENT;
		goto out_unlock;
	}
	rt = &r->routes[h];
	if (r->irqfd) {
		if (eventfd_write(rt->efd, 1) < 0)
			ret = -errno;
	} else {
		struct kvm_msi msg = {
			.address_lo = (u32)rt->addr,
			.address_hi = (u32)(rt->addr >> 32),
			.data = rt->data,
		};

		ret = r->ops->signal_msi(r->opaque, &msg);
	}
	if (ret && !r->logged_fail) {
		r->logged_fail = true;
		fprintf(stderr, "trapeze: MSI delivery on GSI %u failed: %s (reported once)\n",
			rt->gsi, strerror(-ret));
	}
out_unlock:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* Lock held. */
static void msi_route_release(struct msi_router *r, struct msi_route *rt)
{
	if (rt->efd >= 0) {
		struct kvm_irqfd req = {
			.fd = (u32)rt->efd,
			.gsi = rt->gsi,
			.flags = KVM_IRQFD_FLAG_DEASSIGN,
		};

		r->ops->irqfd(r->opaque, &req);
		close(rt->efd);
		rt->efd = -1;
	}
	rt->used = false;
	rt->valid = false;
}

void msi_route_remove(struct msi_router *r, int h)
{
	bool was_valid;

	pthread_mutex_lock(&r->lock);
	if (msi_handle_ok(r, h)) {
		was_valid = r->routes[h].valid;
		msi_route_release(r, &r->routes[h]);
		if (was_valid && r->irqfd)
			msi_install_table(r);
	}
	pthread_mutex_unlock(&r->lock);
}

u32 msi_route_gsi(const struct msi_router *r, int h)
{
	return msi_handle_ok(r, h) ? r->routes[h].gsi : 0;
}

void msi_router_destroy(struct msi_router *r)
{
	if (!r->routes)
		return;
	for (unsigned int i = 0; i < r->nr_routes; i++)
		if (r->routes[i].used)
			msi_route_release(r, &r->routes[i]);
	free(r->table);
	free(r->routes);
	r->table = NULL;
	r->routes = NULL;
	r->nr_routes = 0;
	pthread_mutex_destroy(&r->lock);
}
