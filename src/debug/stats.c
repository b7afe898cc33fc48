/*
 * Exit statistics: per-vCPU counters written without locks, summed once
 * the vCPUs ended, and printed as a table (--stats) or JSON (--stats-json).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/debug/stats.h"

#define STATS_CACHE_LINE 64

static struct stats_cell *stats_block(const struct stats *s, unsigned int vcpu)
{
	return (struct stats_cell *)((u8 *)s->blocks + (size_t)vcpu * s->stride);
}

int stats_init(struct stats *s, unsigned int nr_vcpus, const struct bus *pio,
	       const struct bus *mmio)
{
	size_t cells, bytes;

	memset(s, 0, sizeof(*s));
	if (!nr_vcpus)
		return -EINVAL;
	s->pio = pio;
	s->mmio = mmio;
	s->nr_vcpus = nr_vcpus;
	s->nr_pio = (unsigned int)pio->nr_ranges;
	s->nr_mmio = (unsigned int)mmio->nr_ranges;
	s->nr_devs = s->nr_pio + s->nr_mmio + 2;
	cells = STATS_NR_KINDS + s->nr_devs;
	/* Round each vCPU's block up to whole cache lines: no false sharing. */
	s->stride = (cells * sizeof(struct stats_cell) + STATS_CACHE_LINE - 1) &
		    ~(size_t)(STATS_CACHE_LINE - 1);
	bytes = s->stride * nr_vcpus;
	s->blocks = aligned_alloc(STATS_CACHE_LINE, bytes);
	if (!s->blocks)
		return -ENOMEM;
	memset(s->blocks, 0, bytes);
	return 0;
}

void stats_destroy(struct stats *s)
{
	free(s->blocks);
	memset(s, 0, sizeof(*s));
}

/* Index of range among bus's nr ranges, or -1 when it is not one of them. */
static int stats_range_index(const struct bus *bus, unsigned int nr,
			     const struct bus_range *range)
{
	if (!range || range < bus->ranges || range >= bus->ranges + nr)
		return -1;
	return (int)(range - bus->ranges);
}

/* The device slot of a port I/O or MMIO exit (see struct stats); -1 for other exits. */
static int stats_slot(const struct stats *s, const struct vm_exit *e,
		      const struct bus_range *range)
{
	int i;

	switch (e->kind) {
	case VM_EXIT_IO:
		i = stats_range_index(s->pio, s->nr_pio, range);
		return i >= 0 ? i : (int)(s->nr_pio + s->nr_mmio);
	case VM_EXIT_MMIO:
		i = stats_range_index(s->mmio, s->nr_mmio, range);
		return i >= 0 ? (int)s->nr_pio + i : (int)(s->nr_pio + s->nr_mmio + 1);
	default:
		return -1;
	}
}

static void stats_cell_add(struct stats_cell *c, u64 count, u64 ns, u64 bytes)
{
	c->count += count;
	c->ns += ns;
	c->bytes += bytes;
}

void stats_record(struct stats *s, unsigned int vcpu, const struct vm_exit *e,
		  const struct bus_range *range, u64 ns)
{
	struct stats_cell *cells;
	u64 bytes = 0;
	int slot;

	if (vcpu >= s->nr_vcpus || (unsigned int)e->kind >= STATS_NR_KINDS)
		return;
	if (e->kind == VM_EXIT_IO)
		bytes = (u64)e->io.size * e->io.count;
	else if (e->kind == VM_EXIT_MMIO)
		bytes = e->mmio.len;
	cells = stats_block(s, vcpu);
	stats_cell_add(&cells[e->kind], 1, ns, bytes);
	slot = stats_slot(s, e, range);
	if (slot >= 0)
		stats_cell_add(&cells[STATS_NR_KINDS + slot], 1, ns, bytes);
}

static void stats_dev_describe(const struct stats *s, unsigned int slot,
			       struct stats_dev_row *row)
{
	const struct bus_range *r = NULL;

	if (slot < s->nr_pio) {
		r = &s->pio->ranges[slot];
		row->bus = "pio";
	} else if (slot < s->nr_pio + s->nr_mmio) {
		r = &s->mmio->ranges[slot - s->nr_pio];
		row->bus = "mmio";
	} else {
		row->bus = slot == s->nr_pio + s->nr_mmio ? "pio" : "mmio";
	}
	row->name = r ? r->name : "unclaimed";
	row->base = r ? r->base : 0;
	row->len = r ? r->len : 0;
}

int stats_summarize(const struct stats *s, u64 elapsed_ns, struct stats_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->devs = calloc(s->nr_devs, sizeof(*out->devs));
	out->vcpu_exits = calloc(s->nr_vcpus, sizeof(*out->vcpu_exits));
	if (!out->devs || !out->vcpu_exits) {
		stats_summary_free(out);
		return -ENOMEM;
	}
	out->nr_vcpus = s->nr_vcpus;
	out->nr_devs = s->nr_devs;
	out->elapsed_ns = elapsed_ns;
	for (unsigned int d = 0; d < s->nr_devs; d++)
		stats_dev_describe(s, d, &out->devs[d]);
	for (unsigned int v = 0; v < s->nr_vcpus; v++) {
		const struct stats_cell *cells = stats_block(s, v);

		for (unsigned int k = 0; k < STATS_NR_KINDS; k++) {
			const struct stats_cell *c = &cells[k];

			stats_cell_add(&out->kind[k], c->count, c->ns, c->bytes);
			stats_cell_add(&out->total, c->count, c->ns, c->bytes);
			out->vcpu_exits[v] += c->count;
		}
		for (unsigned int d = 0; d < s->nr_devs; d++) {
			const struct stats_cell *c = &cells[STATS_NR_KINDS + d];

			stats_cell_add(&out->devs[d].cell, c->count, c->ns, c->bytes);
		}
	}
	return 0;
}

void stats_summary_free(struct stats_summary *sum)
{
	free(sum->devs);
	free(sum->vcpu_exits);
	memset(sum, 0, sizeof(*sum));
}

u64 stats_mean_ns(const struct stats_cell *c)
{
	return c->count ? c->ns / c->count : 0;
}

static void stats_print_cell(FILE *out, const struct stats_cell *c)
{
	fprintf(out, " %10llu %10llu %12.1f %9.2f\n", (unsigned long long)c->count,
		(unsigned long long)c->bytes, c->ns / 1000.0, stats_mean_ns(c) / 1000.0);
}

static void stats_print_kvm(FILE *out, const char *title, const struct kvm_stats *k)
{
	unsigned int zero = 0;

	fprintf(out, "%s:\n", title);
	for (unsigned int i = 0; i < k->nr; i++) {
		const struct kvm_stat *st = &k->stats[i];
		u64 v = kvm_stat_total(st);
		const char *unit = kvm_stat_unit(st);

		if (!v) {
			zero++;
			continue;
		}
		if (st->size > 1)
			fprintf(out, "  %-32s %14llu samples (histogram, %u buckets)\n", st->name,
				(unsigned long long)v, st->size);
		else
			fprintf(out, "  %-32s %14llu%s%s\n", st->name, (unsigned long long)v,
				*unit ? " " : "", unit);
	}
	if (zero)
		fprintf(out, "  (%u counters are zero; --stats-json lists them all)\n", zero);
}

void stats_print(const struct stats_summary *sum, const struct kvm_stats *kvm_vcpu,
		 const struct kvm_stats *kvm_vm, const char *kvm_note, FILE *out)
{
	fprintf(out, "trapeze: statistics: %u vCPU%s, %.3f s; time is what trapeze spent handling exits\n",
		sum->nr_vcpus, sum->nr_vcpus == 1 ? "" : "s", sum->elapsed_ns / 1e9);
	fprintf(out, "%-24s %10s %10s %12s %9s\n", "exit reason", "count", "bytes", "total us",
		"mean us");
	for (unsigned int k = 0; k < STATS_NR_KINDS; k++) {
		if (!sum->kind[k].count)
			continue;
		fprintf(out, "%-24s", exit_kind_name((enum vm_exit_kind)k));
		stats_print_cell(out, &sum->kind[k]);
	}
	fprintf(out, "%-24s", "all");
	stats_print_cell(out, &sum->total);

	fprintf(out, "%-19s %-4s %10s %10s %12s %9s\n", "device", "bus", "count", "bytes",
		"total us", "mean us");
	for (unsigned int d = 0; d < sum->nr_devs; d++) {
		const struct stats_dev_row *r = &sum->devs[d];

		if (!r->cell.count)
			continue;
		fprintf(out, "%-19.19s %-4s", r->name, r->bus);
		stats_print_cell(out, &r->cell);
	}
	fprintf(out, "exits per vCPU:");
	for (unsigned int v = 0; v < sum->nr_vcpus; v++)
		fprintf(out, " vcpu%u %llu", v, (unsigned long long)sum->vcpu_exits[v]);
	fprintf(out, "\n");

	if (kvm_vcpu) {
		char title[96];

		snprintf(title, sizeof(title),
			 "KVM vCPU counters (KVM_GET_STATS_FD, summed over %u vCPU%s)",
			 sum->nr_vcpus, sum->nr_vcpus == 1 ? "" : "s");
		stats_print_kvm(out, title, kvm_vcpu);
	}
	if (kvm_vm)
		stats_print_kvm(out, "KVM VM counters (KVM_GET_STATS_FD)", kvm_vm);
	if (kvm_note)
		fprintf(out, "KVM counters: %s\n", kvm_note);
}

/* A JSON string: quotes, backslashes and control characters escaped (RFC 8259 section 7). */
static void stats_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void stats_json_cell(FILE *out, const struct stats_cell *c)
{
	fprintf(out, "\"count\": %llu, \"bytes\": %llu, \"total_ns\": %llu, \"mean_ns\": %llu",
		(unsigned long long)c->count, (unsigned long long)c->bytes,
		(unsigned long long)c->ns, (unsigned long long)stats_mean_ns(c));
}

static void stats_json_kvm(FILE *out, const struct kvm_stats *k)
{
	if (!k) {
		fputs("null", out);
		return;
	}
	fputc('{', out);
	for (unsigned int i = 0; i < k->nr; i++) {
		const struct kvm_stat *st = &k->stats[i];

		fputs(i ? ", " : "", out);
		stats_json_string(out, st->name);
		fputs(": ", out);
		if (st->size == 1) {
			fprintf(out, "%llu", (unsigned long long)st->values[0]);
			continue;
		}
		fputc('[', out);
		for (u16 j = 0; j < st->size; j++)
			fprintf(out, "%s%llu", j ? ", " : "", (unsigned long long)st->values[j]);
		fputc(']', out);
	}
	fputc('}', out);
}

void stats_write_json(const struct stats_summary *sum, const struct kvm_stats *kvm_vcpu,
		      const struct kvm_stats *kvm_vm, FILE *out)
{
	fprintf(out, "{\n  \"vcpus\": %u,\n  \"elapsed_ns\": %llu,\n  \"exits\": {", sum->nr_vcpus,
		(unsigned long long)sum->elapsed_ns);
	for (unsigned int k = 0; k < STATS_NR_KINDS; k++) {
		fprintf(out, "%s\"%s\": {", k ? ", " : "", exit_kind_name((enum vm_exit_kind)k));
		stats_json_cell(out, &sum->kind[k]);
		fputc('}', out);
	}
	fputs("},\n  \"total\": {", out);
	stats_json_cell(out, &sum->total);
	fputs("},\n  \"devices\": [", out);
	for (unsigned int d = 0; d < sum->nr_devs; d++) {
		const struct stats_dev_row *r = &sum->devs[d];

		fputs(d ? ", {\"name\": " : "{\"name\": ", out);
		stats_json_string(out, r->name);
		fprintf(out, ", \"bus\": \"%s\", \"base\": %llu, \"len\": %llu, ", r->bus,
			(unsigned long long)r->base, (unsigned long long)r->len);
		stats_json_cell(out, &r->cell);
		fputc('}', out);
	}
	fputs("],\n  \"per_vcpu\": [", out);
	for (unsigned int v = 0; v < sum->nr_vcpus; v++)
		fprintf(out, "%s{\"vcpu\": %u, \"exits\": %llu}", v ? ", " : "", v,
			(unsigned long long)sum->vcpu_exits[v]);
	fputs("],\n  \"kvm_vcpu\": ", out);
	stats_json_kvm(out, kvm_vcpu);
	fputs(",\n  \"kvm_vm\": ", out);
	stats_json_kvm(out, kvm_vm);
	fputs("\n}\n", out);
}
