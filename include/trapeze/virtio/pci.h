/*
 * virtio/pci: the virtio 1.x ("modern", non-transitional) PCI transport
 * (virtio 1.2, section 4.1) for one struct virtio_dev.
 *
 * The function: vendor 0x1AF4, device 0x1040 + device id, revision 1,
 * subsystem 0x1AF4 / 0x1040 + device id (spec 4.1.2.1: non-transitional
 * devices have subsystem ids >= 0x40). Two BARs:
 *
 *   BAR 0, 32-bit memory, 16 KiB          BAR 1, I/O, 4 ports per queue
 *   0x0000 common configuration (56 B)    0x00 notify: queue q at 4 * q
 *   0x0800 ISR status (1 B)
 *   0x1000 device configuration
 *   0x2000 notify: queue q at 4 * q
 *   0x3000 MSI-X table, 0x3800 PBA
 *
 * Vendor capabilities (cap id 0x09, spec 4.1.4) describe them: COMMON, two
 * NOTIFY (the I/O one and the memory one), ISR, DEVICE (when the device has
 * configuration space) and PCI_CFG. queue_notify_off is q and both notify
 * capabilities have notify_off_multiplier 4.
 *
 * Notify through I/O ports or memory: the spec lets a device offer several
 * notify capabilities, "the order of the capabilities in the capability list
 * specifies the order of preference" (4.1.4), and its own example is an I/O
 * BAR ahead of a memory BAR for hypervisors where port I/O is faster. Linux
 * (virtio_pci_modern_dev.c) takes the first NOTIFY capability whose BAR it
 * could map, so the order is the choice (QEMU's modern-pio-notify offers the
 * same I/O capability, but after the memory one, for firmware).
 * virtio_pci_create() puts the I/O one first. Measured with bench/'s exit
 * loops (bench_pio: outb; bench_mmio: movb to an unclaimed address) under a
 * bare-KVM VMM (bench/kvm_limit.c with an MMIO ioeventfd added), per write,
 * the fastest of 16 batches (5 runs on kvm_pvm, 2 in the nested host), with
 * an ioeventfd of any length on the address and without one (an exit to
 * userspace):
 *
 *                                  port ioeventfd  MMIO ioeventfd  port exit  MMIO exit
 *   kvm_pvm (32-bit, paging off)      0.27-0.30 us       0.33 us     ~7.4 us    ~7.4 us
 *   nested SVM host (QEMU TCG, L2)      ~21 us            ~31 us      ~37 us     ~47 us
 *
 * (PLATFORM.md's 8 vs 25 us on kvm_pvm is for long mode with paging.) On
 * hardware AMD, an MMIO notify is a nested-page fault KVM must decode, a port
 * write an IOIO intercept that says everything; on Intel with EPT both are
 * cheap. I/O ports are scarce only behind PCI bridges, and bus 0 here has
 * 16 K of them, 16 or 32 per device. host->pio_notify_first can turn the order
 * around (for a command-line switch).
 *
 * Notifications: each queue has an eventfd, watched by the VM's event loop,
 * whose callback calls virtio_dev_kick() on the I/O thread. With
 * KVM_CAP_IOEVENTFD the eventfd is also registered with KVM at the queue's
 * memory and port notify addresses (no datamatch: one address per queue),
 * so a notify never leaves the kernel; the registrations follow the BARs
 * when the guest moves them or turns decoding off (pci_dev_ops.bar_changed).
 * A notify write that does reach the BAR handlers (no ioeventfd support, an
 * access width KVM did not match, the PCI_CFG window) signals the same
 * eventfd, so every notification takes the same road.
 *
 * Interrupts: with MSI-X enabled, the queue's (or config) vector if one is
 * mapped and nothing otherwise (4.1.5.3-4); with MSI-X disabled, ISR bit 0
 * (queue) or 1 (config) and INTx asserted, deasserted when the driver reads
 * the ISR. A config change sets ISR bit 1 in both cases (4.1.4.5.1).
 *
 * Locks: BAR accesses take vd->lock for the common and device configuration;
 * isr_lock orders ISR updates with INTx so a read-to-clear can never leave
 * the line asserted with the ISR empty. Lock order: pci_bus.lock ->
 * vd->lock -> isr_lock -> PCI INTx/MSI-X state.
 */
#ifndef TRAPEZE_VIRTIO_PCI_H
#define TRAPEZE_VIRTIO_PCI_H

#include <linux/virtio_pci.h>
#include <pthread.h>

#include "trapeze/devices/pci.h"
#include "trapeze/virtio/device.h"

struct vm;
struct event_loop;

#define VIRTIO_PCI_VENDOR		0x1AF4
#define VIRTIO_PCI_DEVICE_BASE		0x1040	/* + virtio device id (4.1.2) */
#define VIRTIO_PCI_REVISION		1	/* non-transitional (4.1.2.1) */

#define VIRTIO_PCI_MEM_BAR		0
#define VIRTIO_PCI_IO_BAR		1
#define VIRTIO_PCI_MEM_BAR_SIZE		0x4000
#define VIRTIO_PCI_COMMON_OFF		0x0000
#define VIRTIO_PCI_COMMON_LEN		((u32)sizeof(struct virtio_pci_common_cfg))
#define VIRTIO_PCI_ISR_OFF		0x0800
#define VIRTIO_PCI_DEVICE_OFF		0x1000
#define VIRTIO_PCI_DEVICE_MAX		0x1000	/* most device config bytes */
#define VIRTIO_PCI_NOTIFY_OFF		0x2000
#define VIRTIO_PCI_NOTIFY_MULT		4	/* notify_off_multiplier, both notify caps */
#define VIRTIO_PCI_MSIX_TABLE_OFF	0x3000
#define VIRTIO_PCI_MSIX_PBA_OFF		0x3800

/* How interrupts leave the function; the pci_* functions unless a test replaces them. */
struct virtio_pci_irq_ops {
	bool (*msix_enabled)(const struct pci_dev *d);
	int (*msix_notify)(struct pci_dev *d, unsigned int vector);
	void (*set_intx)(struct pci_dev *d, int level);
};

/* What the transport needs from the VM around it. */
struct virtio_pci_host {
	int vm_fd;			/* for KVM_IOEVENTFD */
	bool ioeventfd;			/* KVM_CAP_IOEVENTFD: register notify addresses */
	bool ioeventfd_any_length;	/* KVM_CAP_IOEVENTFD_ANY_LENGTH: len 0 (any width) */
	struct event_loop *loop;	/* NULL: kicks run on the notifying vCPU thread */
	bool pio_notify_first;		/* the I/O notify capability before the memory one */
	const struct virtio_pci_irq_ops *irq;	/* NULL: the pci_* functions */
};

struct virtio_pci;

/* An eventfd's callback needs to know its queue. */
struct virtio_pci_kick {
	struct virtio_pci *vp;
	unsigned int q;
	int fd;				/* the queue's eventfd; -1 when none */
	bool watched;			/* registered with the event loop */
	bool ioevent[2];		/* registered with KVM: [0] memory, [1] I/O port */
	u64 ioevent_addr[2];
};

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *vd;
	struct virtio_pci_host host;
	const struct virtio_pci_irq_ops *irq;
	unsigned int nr_vectors;	/* MSI-X table size: one per queue + config */
	u32 io_bar_size;
	bool msix_ready;		/* pci_msix_init succeeded */
	u8 cfg_cap;			/* config-space offset of the PCI_CFG capability */
	/* Under vd->lock: */
	u32 device_feature_select, driver_feature_select;
	u16 queue_select;
	/* Atomic: */
	u16 config_msix_vector;
	bool bad_access_logged;		/* one message per device for undefined accesses */
	/* Under isr_lock: */
	pthread_mutex_t isr_lock;
	u8 isr;
	struct virtio_pci_kick kicks[VIRTIO_MAX_QUEUES];
	bool ioevent_failure_logged;
};

/* PCI class code (base, sub, prog-if) for a virtio device type, as QEMU presents them. */
u32 virtio_pci_class_code(u32 device_id);

/*
 * Builds the PCI function for vd (header, BARs, capabilities, MSI-X) and its
 * notify eventfds, watched by host->loop. vd must be initialised and outlive
 * vp. Does not add the function to a bus. 0 or -errno with one line in err.
 */
int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vd,
		    const struct virtio_pci_host *host, char *err, size_t err_len);

/*
 * virtio_pci_init() with the VM's KVM fd, capabilities and event loop, then
 * adds the function to the VM's PCI bus and registers the ioeventfds of
 * BARs that already decode. 0 or -errno with one line in err.
 */
int virtio_pci_create(struct virtio_pci *vp, struct vm *vm, struct virtio_dev *vd,
		      char *err, size_t err_len);

/*
 * Stops the notifications (event loop, ioeventfds) and frees what
 * virtio_pci_init made. The device itself (vd) is its owner's to destroy.
 * Safe on a zeroed or half-built vp.
 */
void virtio_pci_destroy(struct virtio_pci *vp);

/* BAR access handlers (struct bus_ops), exported for the unit tests. */
extern const struct bus_ops virtio_pci_mem_ops;
extern const struct bus_ops virtio_pci_io_ops;
/* PCI hooks: config_written (PCI_CFG window), bar_changed (ioeventfds). */
extern const struct pci_dev_ops virtio_pci_dev_ops;

#endif
