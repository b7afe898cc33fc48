/*
 * bus: a set of disjoint address ranges, each claimed by one device.
 *
 * A VM has two buses, one for port I/O and one for MMIO. Ranges are kept in a
 * sorted array and found by binary search. A device sees offsets from the base
 * of its range, never absolute addresses. An access must lie wholly inside one
 * range; an access that straddles a range end is treated as unclaimed.
 *
 * Locking: the bus is built before any vCPU runs and is read-only afterwards,
 * so lookups take no lock. Devices lock their own state.
 */
#ifndef TRAPEZE_BUS_H
#define TRAPEZE_BUS_H

#include "trapeze/types.h"

struct bus_ops {
	void (*read)(void *dev, u64 offset, void *data, u32 len);
	void (*write)(void *dev, u64 offset, const void *data, u32 len);
};

struct bus_range {
	u64 base;
	u64 len;
	const struct bus_ops *ops;
	void *dev;
	const char *name;
};

/* Addresses whose unclaimed accesses were already logged (logged once each). */
#define BUS_UNCLAIMED_LOG_MAX 64

struct bus {
	const char *name;		/* "pio" or "mmio", used in messages */
	struct bus_range *ranges;	/* sorted by base, disjoint */
	size_t nr_ranges;
	size_t cap_ranges;
	/*
	 * Rate limit for "unclaimed access" messages. logged[] and nr_logged
	 * change only under log_lock; logged[] is append-only and nr_logged is
	 * raised with a release store, so the already-logged check reads them
	 * without the lock (bus.c).
	 */
	void *log_lock;			/* pthread_mutex_t *, opaque here */
	u64 logged[BUS_UNCLAIMED_LOG_MAX];
	size_t nr_logged;
	bool quiet;			/* suppress unclaimed-access messages */
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/*
 * Claims [base, base + len) for dev. Returns 0, -EINVAL for a zero length, a
 * range that wraps past the end of the u64 space or missing ops, -EEXIST when
 * it overlaps a registered range, -ENOMEM.
 */
int bus_register(struct bus *bus, u64 base, u64 len, const struct bus_ops *ops,
		 void *dev, const char *name);

/* The range that wholly contains [addr, addr + len), or NULL. */
const struct bus_range *bus_find(const struct bus *bus, u64 addr, u64 len);

/*
 * Forwards an access to the device that claims it. An unclaimed read fills
 * data with all-ones and returns -ENOENT; an unclaimed write is dropped and
 * returns -ENOENT. Either is logged once per address on stderr.
 */
int bus_read(struct bus *bus, u64 addr, void *data, u32 len);
int bus_write(struct bus *bus, u64 addr, const void *data, u32 len);

#endif
