/*
 * bus: disjoint address ranges kept sorted by base, found by binary search.
 *
 * Ranges are stored with an exclusive length but compared through their last
 * address (base + len - 1), so a range that ends exactly at 2^64 needs no
 * special case and nothing here ever computes base + len in a way that wraps.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/bus.h"

#define BUS_INITIAL_CAP 8

/* Last address of a range; never wraps because bus_register rejected that. */
static u64 bus_range_last(const struct bus_range *r)
{
	return r->base + (r->len - 1);
}

int bus_init(struct bus *bus, const char *name)
{
	pthread_mutex_t *lock;
	int ret;

	memset(bus, 0, sizeof(*bus));
	lock = malloc(sizeof(*lock));
	if (!lock)
		return -ENOMEM;
	ret = pthread_mutex_init(lock, NULL);
	if (ret) {
		free(lock);
		return -ret;
	}
	bus->name = name;
	bus->log_lock = lock;
	return 0;
}

void bus_destroy(struct bus *bus)
{
	if (bus->log_lock) {
		pthread_mutex_destroy(bus->log_lock);
		free(bus->log_lock);
	}
	free(bus->ranges);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first range whose base is greater than addr (0..nr_ranges). */
static size_t bus_upper_bound(const struct bus *bus, u64 addr)
{
	size_t lo = 0, hi = bus->nr_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Makes room for one more range, doubling the array. */
static int bus_grow(struct bus *bus)
{
	struct bus_range *ranges;
	size_t cap;

	if (bus->nr_ranges < bus->cap_ranges)
		return 0;
	cap = bus->cap_ranges ? bus->cap_ranges * 2 : BUS_INITIAL_CAP;
	if (cap < bus->cap_ranges || cap > SIZE_MAX / sizeof(*ranges))
		return -ENOMEM;
	ranges = realloc(bus->ranges, cap * sizeof(*ranges));
	if (!ranges)
		return -ENOMEM;
	bus->ranges = ranges;
	bus->cap_ranges = cap;
	return 0;
}

int bus_register(struct bus *bus, u64 base, u64 len, const struct bus_ops *ops,
		 void *dev, const char *name)
{
	u64 last;
	size_t i;
	int ret;

	if (!len || !ops)
		return -EINVAL;
	/*
	 * base + len may equal 2^64 (the range ends at the top of the space)
	 * but must not go past it: last = base + len - 1 must not wrap.
	 */
	if (len - 1 > UINT64_MAX - base)
		return -EINVAL;
	last = base + (len - 1);

	/* i: where the new range goes; i - 1 is the last range below it. */
	i = bus_upper_bound(bus, base);
	if (i > 0 && bus_range_last(&bus->ranges[i - 1]) >= base)
		return -EEXIST;
	if (i < bus->nr_ranges && bus->ranges[i].base <= last)
		return -EEXIST;

	ret = bus_grow(bus);
	if (ret)
		return ret;
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nr_ranges - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){
		.base = base,
		.len = len,
		.ops = ops,
		.dev = dev,
		.name = name,
	};
	bus->nr_ranges++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, u64 addr, u64 len)
{
	const struct bus_range *r;
	u64 offset;
	size_t i;

	/* A zero-length or wrapping access cannot lie inside any range. */
	if (!len || len - 1 > UINT64_MAX - addr)
		return NULL;
	i = bus_upper_bound(bus, addr);
	if (i == 0)
		return NULL;
	r = &bus->ranges[i - 1];
	offset = addr - r->base;
	/*
	 * The whole access must fit: an access that starts inside a range
	 * but runs past its end (into a neighbour or a gap) is unclaimed, so
	 * a device is never handed bytes beyond the range it registered.
	 */
	if (offset >= r->len || len > r->len - offset)
		return NULL;
	return r;
}

/*
 * Was addr logged already? Lock-free, for the common case of a guest that
 * keeps touching an address it touched before: logged[] is append-only,
 * each entry written under log_lock before nr_logged is raised past it with
 * a release store, so the entries below an acquired count are complete.
 * A table that is full and said so (nr_logged > BUS_UNCLAIMED_LOG_MAX)
 * reports nothing more, so it counts as logged. A false answer is only a
 * hint: bus_log_unclaimed() looks again under the lock.
 */
static bool bus_already_logged(const struct bus *bus, u64 addr)
{
	size_t n = __atomic_load_n(&bus->nr_logged, __ATOMIC_ACQUIRE);

	if (n > BUS_UNCLAIMED_LOG_MAX)
		return true;
	for (size_t i = 0; i < n; i++)
		if (bus->logged[i] == addr)
			return true;
	return false;
}

/*
 * Prints one line per unclaimed address, the first time it is seen. A guest
 * can touch any address in a loop, so the table is bounded: once it is full,
 * one more line says so and new addresses are no longer reported. The full
 * state is kept as nr_logged == BUS_UNCLAIMED_LOG_MAX + 1. Only a first
 * sighting takes log_lock; nr_logged changes only under it, with release
 * stores for bus_already_logged().
 */
static void bus_log_unclaimed(struct bus *bus, const char *what, u64 addr,
			      u32 len)
{
	size_t i, n;

	if (bus->quiet || !bus->log_lock || bus_already_logged(bus, addr))
		return;
	pthread_mutex_lock(bus->log_lock);
	/* Another vCPU may have logged it (or filled the table) meanwhile. */
	n = bus->nr_logged < BUS_UNCLAIMED_LOG_MAX ? bus->nr_logged :
						     BUS_UNCLAIMED_LOG_MAX;
	for (i = 0; i < n; i++)
		if (bus->logged[i] == addr)
			goto out_unlock;
	if (bus->nr_logged < BUS_UNCLAIMED_LOG_MAX) {
		bus->logged[bus->nr_logged] = addr;
		__atomic_store_n(&bus->nr_logged, bus->nr_logged + 1, __ATOMIC_RELEASE);
		fprintf(stderr,
			"trapeze: %s: unclaimed %s of %" PRIu32
			" byte%s at 0x%" PRIx64 " (logged once)\n",
			bus->name ? bus->name : "bus", what, len,
			len == 1 ? "" : "s", addr);
	} else if (bus->nr_logged == BUS_UNCLAIMED_LOG_MAX) {
		__atomic_store_n(&bus->nr_logged, bus->nr_logged + 1, __ATOMIC_RELEASE);
		fprintf(stderr,
			"trapeze: %s: %d unclaimed addresses logged; "
			"not logging more\n",
			bus->name ? bus->name : "bus", BUS_UNCLAIMED_LOG_MAX);
	}
out_unlock:
	pthread_mutex_unlock(bus->log_lock);
}

int bus_read(struct bus *bus, u64 addr, void *data, u32 len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->ops->read) {
		/* Like an open bus on real hardware: all lines pulled high. */
		memset(data, 0xff, len);
		bus_log_unclaimed(bus, "read", addr, len);
		return -ENOENT;
	}
	r->ops->read(r->dev, addr - r->base, data, len);
	return 0;
}

int bus_write(struct bus *bus, u64 addr, const void *data, u32 len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->ops->write) {
		bus_log_unclaimed(bus, "write", addr, len);
		return -ENOENT;
	}
	r->ops->write(r->dev, addr - r->base, data, len);
	return 0;
}
