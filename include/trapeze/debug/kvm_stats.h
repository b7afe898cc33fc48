/*
 * kvm_stats: KVM's own counters, read from a binary stats fd
 * (KVM_GET_STATS_FD on a VM or vCPU fd, KVM_CAP_BINARY_STATS_FD; see the
 * kernel's Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD").
 *
 * The fd reads as one file: a struct kvm_stats_header at offset 0, an id
 * string at id_offset, num_desc descriptors (struct kvm_stats_desc followed
 * by a name of name_size bytes) at desc_offset, and the values at
 * data_offset + desc.offset, desc.size u64s each. kvm_stats_parse() takes
 * that file as a buffer, so it is tested against synthetic buffers;
 * kvm_stats_read() fetches the buffer from a real fd.
 *
 * The kernel writes that file, but its layout is still checked: every
 * offset and size is bounds-checked against the buffer before use.
 */
#ifndef TRAPEZE_DEBUG_KVM_STATS_H
#define TRAPEZE_DEBUG_KVM_STATS_H

#include "trapeze/types.h"

/* Refused as malformed: more descriptors, longer names or data than this. */
#define KVM_STATS_MAX_DESC 4096
#define KVM_STATS_MAX_NAME 1024
#define KVM_STATS_MAX_FILE (16u << 20)

struct kvm_stat {
	const char *name;	/* points into the owning set's name block */
	u32 flags;		/* KVM_STATS_TYPE_*, KVM_STATS_UNIT_*, KVM_STATS_BASE_* */
	s16 exponent;		/* value * base^exponent is in the unit */
	u16 size;		/* number of values: 1, or the buckets of a histogram */
	u64 *values;		/* size of them, in the owning set's value block */
};

/* Every statistic of one stats fd (or the sum of several). */
struct kvm_stats {
	char *id;		/* "kvm-1234/vcpu-0"; may be "" */
	unsigned int nr;
	struct kvm_stat *stats;
	char *names;		/* blocks the stats point into */
	u64 *values;
	size_t nr_values;
};

/*
 * Parses a whole stats file of len bytes into out (which it initialises).
 * 0, -EINVAL for a malformed layout (offsets or sizes outside the buffer,
 * unterminated names, zero-sized statistics, counts over the limits above),
 * or -ENOMEM. On error out is left empty.
 */
int kvm_stats_parse(struct kvm_stats *out, const void *buf, size_t len);

/* Reads and parses the stats file behind fd (pread from offset 0). 0 or -errno. */
int kvm_stats_read(struct kvm_stats *out, int fd);

/*
 * Adds one into total. An empty total (nr == 0) becomes a copy of one.
 * Otherwise each statistic of total takes the one of the same name in one:
 * peaks (KVM_STATS_TYPE_PEAK) keep the maximum, everything else adds up
 * (histograms bucket by bucket). Names total lacks are ignored: every vCPU
 * of one kernel has the same set. 0 or -ENOMEM.
 */
int kvm_stats_add(struct kvm_stats *total, const struct kvm_stats *one);

/* The statistic called name, or NULL. */
const struct kvm_stat *kvm_stats_find(const struct kvm_stats *s, const char *name);

/* Sum of a statistic's values (a histogram's sample count); value of a scalar. */
u64 kvm_stat_total(const struct kvm_stat *st);

/* A short unit for messages: "", "bytes", "ns", "us", "ms", "s", "cycles", "bool". */
const char *kvm_stat_unit(const struct kvm_stat *st);

/* Frees what parse, read or add allocated; leaves s empty. */
void kvm_stats_free(struct kvm_stats *s);

#endif
