/*
 * pci: a PCI host bridge for bus 0 and the device model its functions share.
 *
 * Configuration space is reached through the 0xCF8/0xCFC mechanism (PCI
 * Local Bus 3.0, 3.2.2.3.2) and through ECAM at X86_PCI_ECAM_BASE (PCIe 4.0,
 * 7.2.2), announced by an ACPI MCFG table. Register offsets and bits are the
 * kernel's UAPI <linux/pci_regs.h> names.
 *
 * BARs are placed by the bridge when a device is added (trapeze is the
 * firmware) inside the windows of arch/x86/layout.h, and the guest may move
 * them or switch decoding off through the command register. The bridge
 * claims each whole window once on the VM's buses (which stay immutable
 * after start) and decodes BARs itself under its own lock, so a BAR move
 * never touches the VM's buses. A BAR window is claimed when the first
 * device with a BAR of its kind is added (before the VM runs), so a machine
 * without PCI devices leaves the 32-bit hole unclaimed as before.
 *
 * Slot 0 holds the host bridge function itself (class 0x060000): Linux
 * trusts configuration mechanism #1 on a machine without DMI tables only
 * when bus 0 has a host bridge (arch/x86/pci/direct.c, pci_sanity_check).
 * Devices get slots 1-31.
 *
 * BAR moves (PCI 3.0, 6.2.5.1): the register takes any value the guest
 * writes, masked by the BAR size, and reads back what was written, as on
 * hardware; that includes the all-ones sizing pattern. The BAR decodes only
 * while the command register enables its space AND the address is naturally
 * aligned, lies wholly inside a window of its kind (I/O; 32-bit memory; a
 * 64-bit BAR also in the 64-bit window) AND overlaps no other BAR that
 * decodes. Otherwise it stays off (accesses to it read all-ones) until the
 * guest writes it or the command register again.
 *
 * Every value written by the guest is hostile: writes are masked by the
 * device's wmask, BAR addresses are kept inside their window, sizes
 * naturally aligned, and a BAR that would overlap another is left disabled.
 *
 * INTx: INTA# of slot N is routed to IOAPIC pin X86_PCI_INTX_GSI_BASE +
 * pci_intx_swizzle(N, 0), level-triggered. Linux programs _PRT GSIs as
 * level, active-low; KVM's IOAPIC ignores the programmed polarity
 * (KVM_CAP_IOAPIC_POLARITY_IGNORED): KVM_IRQ_LINE level 1 always means
 * asserted. Devices sharing a pin are ORed here.
 *
 * Lock order: pci_bus.lock (rwlock, writer-preferring: shared for config
 * reads and BAR accesses, exclusive for config writes) -> device locks ->
 * pci_msix lock -> msi_router.lock; pci_bus.intx_lock is a leaf (taken by
 * pci_dev_set_intx, which may be called with any of the above held) ->
 * vm stop_lock. BAR ops and pci_dev_ops run under pci_bus.lock: they must
 * not call back into the bus's config or BAR paths.
 */
#ifndef TRAPEZE_DEVICES_PCI_H
#define TRAPEZE_DEVICES_PCI_H

#include <linux/pci_regs.h>
#include <pthread.h>

#include "trapeze/bus.h"
#include "trapeze/irq.h"
#include "trapeze/types.h"

#define PCI_MAX_SLOTS 32
#define PCI_CFG_SIZE 4096	/* ECAM config space per function */
#define PCI_NR_BARS 6
#define PCI_FIRST_DEV_SLOT 1	/* slot 0 is the host bridge */
#define PCI_NR_INTX_PINS 4	/* INTA#-INTD# */

/*
 * The host bridge at 00:00.0: the IDs rust-vmm VMMs (Firecracker,
 * Cloud Hypervisor) give their virtual PCIe host bridge.
 */
#define PCI_HOST_BRIDGE_VENDOR 0x8086
#define PCI_HOST_BRIDGE_DEVICE 0x0d57
#define PCI_HOST_BRIDGE_CLASS 0x060000	/* bridge, host bridge */

/*
 * The IOAPIC pin offset (0-3, from X86_PCI_INTX_GSI_BASE) that interrupt
 * pin `pin` (0 = INTA#) of a function in `slot` is wired to: the usual
 * rotation, so functions in neighbouring slots land on different pins. The
 * ACPI _PRT (arch/x86/acpi_pci.c) describes the same wiring.
 */
static inline unsigned int pci_intx_swizzle(unsigned int slot, unsigned int pin)
{
	return (slot + pin) % PCI_NR_INTX_PINS;
}

struct pci_bus;
struct pci_dev;
struct msi_router;

struct pci_bar {
	u64 size;			/* power of two; 0 = BAR unused */
	bool io;			/* I/O space (else memory) */
	bool mem64;			/* 64-bit memory BAR: takes this slot and the next */
	const struct bus_ops *ops;	/* accesses, at offsets inside the BAR */
	void *opaque;			/* passed to ops as dev */
	u64 addr;			/* guest address now (set by the bus, moved by the guest) */
	bool decoding;			/* command register enables it and addr is valid */
};

struct pci_dev_ops {
	/* After the guest changed config bytes [off, off + len) (masked by wmask). Optional. */
	void (*config_written)(struct pci_dev *dev, u32 off, u32 len);
	/*
	 * BAR idx moved or its decoding changed (old and new address, whether it
	 * decodes now). Called with the bus lock held exclusively; for
	 * re-registering ioeventfds. Optional.
	 */
	void (*bar_changed)(struct pci_dev *dev, unsigned int idx, u64 old_addr,
			    u64 new_addr, bool decoding);
};

struct pci_msix;	/* MSI-X state, owned by pci_msix_*() */

struct pci_dev {
	const char *name;
	u8 cfg[PCI_CFG_SIZE];		/* what the guest reads */
	u8 wmask[PCI_CFG_SIZE];		/* bits the guest may change */
	u8 w1cmask[PCI_CFG_SIZE];	/* write-1-to-clear bits (status) */
	struct pci_bar bars[PCI_NR_BARS];
	const struct pci_dev_ops *ops;	/* may be NULL */
	void *opaque;			/* the device behind this function */
	struct pci_msix *msix;		/* NULL without MSI-X */
	/* Set by pci_bus_add(): */
	struct pci_bus *bus;
	u8 slot;
	u32 intx_gsi;			/* IOAPIC pin INTA# is routed to */
	int intx_level;
	/* Internal: */
	u16 cap_next;			/* where pci_dev_add_cap puts the next one */
	bool intx_disabled;		/* command INTx-disable, under bus intx_lock */
	bool intx_out;			/* this function drives its pin now */
};

/*
 * Fills the header: IDs, class (24-bit base/sub/prog-if), revision,
 * subsystem IDs, a capability list, INTA# as the interrupt pin, and the
 * usual wmask (command register decode/master/INTx-disable bits, BARs as
 * sized by pci_dev_add_bar, interrupt line, status bits W1C). Clears the
 * config bytes, BARs and MSI-X; leaves ops and opaque to the caller.
 */
void pci_dev_init(struct pci_dev *d, const char *name, u16 vendor, u16 device,
		  u32 class_code, u8 revision, u16 subsys_vendor, u16 subsys_id);

/*
 * Declares BAR idx. size a power of two (>= 16 for I/O, >= 4096 for memory,
 * and no larger than the window it goes in); a 64-bit BAR also takes slot
 * idx + 1. 0 or -EINVAL (also for a slot already taken).
 */
int pci_dev_add_bar(struct pci_dev *d, unsigned int idx, u64 size, bool io,
		    bool mem64, const struct bus_ops *ops, void *opaque);

/*
 * Appends a capability: cap_id, the next pointer (filled here), then body
 * (len bytes, the capability's bytes after id and next), dword-aligned from
 * 0x40 in the 256-byte conventional space. Returns its config offset, or
 * -ENOSPC. The caller sets wmask for writable fields.
 */
int pci_dev_add_cap(struct pci_dev *d, u8 cap_id, const void *body, u8 len);

/*
 * Drives INTx (INTA#) and the status register's interrupt bit; honours
 * INTx-disable, and drives nothing while MSI-X is enabled (PCI 3.0 6.8.2:
 * a function with MSI-X enabled must not use INTx). Any thread; takes only
 * the bus's intx_lock.
 */
void pci_dev_set_intx(struct pci_dev *d, int level);

/* A BAR window: claimed once on a VM bus, BARs decoded inside it. */
struct pci_window {
	struct pci_bus *pb;
	const char *name;		/* the range's name on the VM bus */
	u64 base, size;			/* size 0: no such window */
	bool io;			/* I/O ports (else memory) */
	bool claimed;			/* registered on the VM bus */
};

struct pci_bus {
	pthread_rwlock_t lock;
	struct pci_dev *devs[PCI_MAX_SLOTS];
	u32 config_address;		/* the 0xCF8 latch */
	struct irq_line intx;		/* template: gsi filled per device */
	struct msi_router *msi;		/* MSI(-X) delivery; NULL: no MSI-X offered */
	const struct bus_ops *cf9_ops;	/* byte accesses at 0xCF9 go here (reset) */
	void *cf9_dev;
	u64 mmio32_next, mmio64_next, io_next;	/* BAR allocation cursors */
	/* Added with the implementation: */
	struct bus *pio, *mmio;		/* the VM's buses */
	struct pci_window io_win, mmio32_win, mmio64_win;
	pthread_mutex_t intx_lock;	/* INTx levels; a leaf */
	unsigned int intx_count[PCI_NR_INTX_PINS];	/* functions asserting each pin */
	struct pci_dev host;		/* 00:00.0 */
	bool logged_bar_refused;	/* a refused BAR placement was reported */
};

/*
 * Claims 0xCF8-0xCFF (byte accesses at 0xCF9 are passed to cf9_ops at
 * offset 1, as if it were registered on 0xCF8-0xCFF; everything else of the
 * window is the configuration mechanism) and the ECAM window, and puts the
 * host bridge in slot 0. The BAR windows are claimed by pci_bus_add. intx:
 * how to drive a GSI (its gsi is ignored). 0 or -errno (bus_register's).
 */
int pci_bus_init(struct pci_bus *pb, struct bus *pio, struct bus *mmio,
		 struct irq_line intx, struct msi_router *msi,
		 const struct bus_ops *cf9_ops, void *cf9_dev);
void pci_bus_destroy(struct pci_bus *pb);

/*
 * The 64-bit window is usable only when the guest's CPUs can address it
 * (CPUID 0x80000008 EAX[7:0] physical address bits); without it 64-bit
 * BARs are placed in the 32-bit window. Call before pci_bus_add.
 */
void pci_bus_limit_phys_bits(struct pci_bus *pb, unsigned int phys_bits);

/*
 * Puts d in the next free slot, places its BARs (naturally aligned, from
 * the start of their window; not decoding until the guest sets the command
 * register), claims the windows it needs, routes INTA#, and connects its
 * MSI-X vectors to pb->msi (without a router the MSI-X capability is taken
 * out of the capability list). 0, -ENOSPC (no slot, or the window is full),
 * -EINVAL (d already on a bus), or -errno from bus_register / the router.
 */
int pci_bus_add(struct pci_bus *pb, struct pci_dev *d);

/*
 * MSI-X (PCI 3.0, 6.8.2): a capability whose table and PBA live in BAR
 * `bar` at the given offsets (the BAR must exist and hold them). The device's
 * own BAR ops must pass accesses in those ranges to pci_msix_access().
 *
 * Call pci_msix_init after pci_dev_init/pci_dev_add_bar and before
 * pci_bus_add. nr_vectors 1..2048; the BAR a memory BAR; table_off and
 * pba_off 8-byte aligned; table (16 bytes per vector) and PBA (8 bytes per
 * 64 vectors) inside the BAR and apart. 0, -EINVAL, -ENOSPC (no room for
 * the capability), -ENOMEM.
 *
 * The guest writes table entries (address low/high, data, vector control)
 * as aligned dwords (an aligned qword counts as its two dwords); other
 * sizes are ignored. The PBA is read-only. A vector's route is (re)built
 * in KVM when it becomes deliverable (MSI-X enabled, function and vector
 * unmasked) with a message it was not built with; pending vectors are
 * delivered on unmask.
 *
 * Threads: pci_msix_notify may run on any thread (device workers, the I/O
 * thread) at the same time as table accesses and message-control writes on
 * vCPU threads; all of them take the function's MSI-X lock (a mutex inside
 * struct pci_msix). Lock order: pci_bus.lock -> device locks -> MSI-X lock
 * -> msi_router.lock.
 */
int pci_msix_init(struct pci_dev *d, unsigned int nr_vectors, unsigned int bar,
		  u32 table_off, u32 pba_off);
void pci_msix_destroy(struct pci_dev *d);
/* Handles a BAR access inside the table or PBA; false when offset is outside both. */
bool pci_msix_access(struct pci_dev *d, u64 bar_offset, void *data, u32 len, bool write);
bool pci_msix_enabled(const struct pci_dev *d);
/*
 * Delivers vector v (irqfd or KVM_SIGNAL_MSI); a masked vector (or function
 * mask) sets its PBA bit instead and is delivered on unmask. Returns 0, or
 * -EINVAL for v out of range or MSI-X disabled (the caller may use INTx).
 */
int pci_msix_notify(struct pci_dev *d, unsigned int v);

/*
 * For pci.c: connect d's vectors to a router (one route each; 0 or -errno),
 * disconnect them (also done by pci_bus_destroy and pci_msix_destroy), and
 * take a config write to the MSI-X message control word into account
 * (called with pci_bus.lock held exclusively, cfg already updated).
 */
int pci_msix_attach(struct pci_dev *d, struct msi_router *msi);
void pci_msix_detach(struct pci_dev *d);
void pci_msix_config_written(struct pci_dev *d);
/* Config offset of d's MSI-X capability, or 0 without one. */
u8 pci_msix_cap_offset(const struct pci_dev *d);

#endif
