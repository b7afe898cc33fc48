/*
 * stats: exit statistics (--stats, --stats-json FILE; docs/tracing.md).
 *
 * For each exit reason and each device on the buses: how many exits, and
 * how much time the VMM spent handling them (CLOCK_MONOTONIC around the
 * handling, taken only when statistics are on), plus bytes moved per device.
 *
 * Locking: none. Each vCPU thread writes only its own block of counters
 * (stats_record with its own vcpu index); the blocks are cache-line
 * aligned so two vCPUs never share a line. stats_summarize() reads every
 * block and must run after the vCPU threads were joined.
 *
 * The report (text or JSON) is built from a struct stats_summary and,
 * optionally, KVM's own counters (debug/kvm_stats.h).
 */
#ifndef TRAPEZE_DEBUG_STATS_H
#define TRAPEZE_DEBUG_STATS_H

#include <stdio.h>

#include "trapeze/bus.h"
#include "trapeze/debug/kvm_stats.h"
#include "trapeze/exit.h"
#include "trapeze/types.h"

#define STATS_NR_KINDS (VM_EXIT_UNKNOWN + 1)

struct stats_cell {
	u64 count;	/* exits */
	u64 ns;		/* time the VMM spent handling them */
	u64 bytes;	/* device rows: data moved (port I/O size * count, MMIO len) */
};

struct stats {
	const struct bus *pio;
	const struct bus *mmio;
	unsigned int nr_vcpus;
	/*
	 * Device slots: the pio ranges, then the mmio ranges, then "unclaimed"
	 * on each bus. Bus ranges never move once the VM runs (bus.h).
	 */
	unsigned int nr_pio;
	unsigned int nr_mmio;
	unsigned int nr_devs;
	size_t stride;		/* bytes per vCPU block, a multiple of the cache line */
	void *blocks;		/* nr_vcpus blocks: struct stats_cell kind[], dev[] */
};

/* Sets up counters for nr_vcpus over the devices of pio and mmio. 0 or -ENOMEM/-EINVAL. */
int stats_init(struct stats *s, unsigned int nr_vcpus, const struct bus *pio,
	       const struct bus *mmio);
void stats_destroy(struct stats *s);

/*
 * Counts one exit of vCPU vcpu that took ns to handle. range is what
 * bus_find() returned for a port I/O or MMIO exit (NULL: unclaimed), and is
 * ignored for other exits. Lock-free; call only from vCPU vcpu's thread.
 */
void stats_record(struct stats *s, unsigned int vcpu, const struct vm_exit *e,
		  const struct bus_range *range, u64 ns);

struct stats_dev_row {
	const char *name;
	const char *bus;	/* "pio" or "mmio" */
	u64 base, len;		/* 0, 0 for the unclaimed rows */
	struct stats_cell cell;
};

/* Everything the report says, summed over the vCPUs. */
struct stats_summary {
	unsigned int nr_vcpus;
	u64 elapsed_ns;		/* wall time the VM ran */
	struct stats_cell kind[STATS_NR_KINDS];
	struct stats_cell total;
	unsigned int nr_devs;
	struct stats_dev_row *devs;
	u64 *vcpu_exits;	/* nr_vcpus */
};

/* Sums every vCPU's block into out (allocated). After the vCPUs ended. 0 or -ENOMEM. */
int stats_summarize(const struct stats *s, u64 elapsed_ns, struct stats_summary *out);
void stats_summary_free(struct stats_summary *sum);

/* Mean time per exit in ns, 0 when there were none. */
u64 stats_mean_ns(const struct stats_cell *c);

/*
 * The text report: exits by reason, by device, per vCPU, then KVM's
 * counters (vcpu: summed over the vCPUs; vm: the VM's own). kvm_vcpu and
 * kvm_vm may be NULL; kvm_note then says why they are missing.
 */
void stats_print(const struct stats_summary *sum, const struct kvm_stats *kvm_vcpu,
		 const struct kvm_stats *kvm_vm, const char *kvm_note, FILE *out);

/* The same as one JSON object (docs/tracing.md lists its keys), ending in a newline. */
void stats_write_json(const struct stats_summary *sum, const struct kvm_stats *kvm_vcpu,
		      const struct kvm_stats *kvm_vm, FILE *out);

#endif
