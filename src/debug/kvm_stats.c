/*
 * Reading KVM's binary statistics (KVM_GET_STATS_FD). The layout is the
 * kernel's Documentation/virt/kvm/api.rst, section "KVM_GET_STATS_FD":
 * header, id string, descriptors, data. Everything is found through
 * offsets in the header and the descriptors, so every offset and every
 * size is checked against the buffer, with 64-bit arithmetic that cannot
 * wrap, before anything is read.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trapeze/debug/kvm_stats.h"

/* A descriptor without its name: the fixed part of struct kvm_stats_desc. */
#define KVM_STATS_DESC_FIXED sizeof(struct kvm_stats_desc)

static u64 max_u64(u64 a, u64 b)
{
	return a > b ? a : b;
}

static void kvm_stats_header_get(const u8 *buf, struct kvm_stats_header *h)
{
	memcpy(h, buf, sizeof(*h));
}

/* The fixed fields of descriptor i; the caller has checked it lies in buf. */
static void kvm_stats_desc_get(const u8 *buf, const struct kvm_stats_header *h,
			       u32 i, struct kvm_stats_desc *d)
{
	u64 at = h->desc_offset + (u64)i * (KVM_STATS_DESC_FIXED + h->name_size);

	memcpy(d, buf + at, KVM_STATS_DESC_FIXED);
}

/*
 * How long the file starting at buf (len bytes of it read so far) must be:
 * header, id and descriptors, and once the descriptors are all in buf, the
 * data they point to. -EINVAL when the header or a descriptor is beyond
 * the limits; *need > len means "read more, then ask again".
 */
static int kvm_stats_extent(const u8 *buf, size_t len, u64 *need)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc d;
	u64 desc_size, end;

	if (len < sizeof(h)) {
		*need = sizeof(h);
		return 0;
	}
	kvm_stats_header_get(buf, &h);
	if (h.name_size == 0 || h.name_size > KVM_STATS_MAX_NAME ||
	    h.num_desc > KVM_STATS_MAX_DESC)
		return -EINVAL;
	desc_size = KVM_STATS_DESC_FIXED + h.name_size;
	/* u32 offsets plus bounded products: no u64 overflow possible. */
	end = max_u64(sizeof(h), (u64)h.id_offset + h.name_size);
	end = max_u64(end, (u64)h.desc_offset + (u64)h.num_desc * desc_size);
	if (end > KVM_STATS_MAX_FILE)
		return -EINVAL;
	if (end > len) {
		*need = end;
		return 0;
	}
	for (u32 i = 0; i < h.num_desc; i++) {
		kvm_stats_desc_get(buf, &h, i, &d);
		if (d.size == 0)
			return -EINVAL;
		end = max_u64(end, (u64)h.data_offset + d.offset + (u64)d.size * sizeof(u64));
	}
	if (end > KVM_STATS_MAX_FILE)
		return -EINVAL;
	*need = end;
	return 0;
}

static void kvm_stats_init(struct kvm_stats *s)
{
	memset(s, 0, sizeof(*s));
}

/* Allocates room for nr statistics, names_len bytes of names and nr_values values. */
static int kvm_stats_alloc(struct kvm_stats *s, unsigned int nr, size_t names_len,
			   size_t nr_values, size_t id_len)
{
	s->id = calloc(1, id_len + 1);
	s->stats = calloc(nr ? nr : 1, sizeof(*s->stats));
	s->names = calloc(names_len ? names_len : 1, 1);
	s->values = calloc(nr_values ? nr_values : 1, sizeof(u64));
	if (!s->id || !s->stats || !s->names || !s->values) {
		kvm_stats_free(s);
		return -ENOMEM;
	}
	s->nr = nr;
	s->nr_values = nr_values;
	return 0;
}

int kvm_stats_parse(struct kvm_stats *out, const void *buf, size_t len)
{
	const u8 *b = buf;
	struct kvm_stats_header h;
	struct kvm_stats_desc d;
	size_t nr_values = 0, id_len, v = 0;
	u64 need, desc_size;
	int r;

	kvm_stats_init(out);
	r = kvm_stats_extent(b, len, &need);
	if (r)
		return r;
	if (need > len)
		return -EINVAL;	/* the buffer ends before what it describes */
	kvm_stats_header_get(b, &h);
	desc_size = KVM_STATS_DESC_FIXED + h.name_size;
	for (u32 i = 0; i < h.num_desc; i++) {
		kvm_stats_desc_get(b, &h, i, &d);
		nr_values += d.size;
	}
	id_len = strnlen((const char *)b + h.id_offset, h.name_size);
	r = kvm_stats_alloc(out, h.num_desc, (size_t)h.num_desc * h.name_size, nr_values,
			    id_len);
	if (r)
		return r;
	memcpy(out->id, b + h.id_offset, id_len);

	for (u32 i = 0; i < h.num_desc; i++) {
		const u8 *name = b + h.desc_offset + i * desc_size + KVM_STATS_DESC_FIXED;
		char *dst = out->names + (size_t)i * h.name_size;
		struct kvm_stat *st = &out->stats[i];

		kvm_stats_desc_get(b, &h, i, &d);
		if (!memchr(name, '\0', h.name_size)) {
			kvm_stats_free(out);
			return -EINVAL;
		}
		memcpy(dst, name, h.name_size);
		st->name = dst;
		st->flags = d.flags;
		st->exponent = d.exponent;
		st->size = d.size;
		st->values = out->values + v;
		/* Bounds checked by kvm_stats_extent: data_offset + offset + size * 8 <= len. */
		memcpy(st->values, b + h.data_offset + d.offset, (size_t)d.size * sizeof(u64));
		v += d.size;
	}
	return 0;
}

/* Reads [from, to) of fd into buf, retrying short reads. 0 or -errno. */
static int kvm_stats_pread_all(int fd, u8 *buf, size_t from, size_t to)
{
	while (from < to) {
		ssize_t n = pread(fd, buf + from, to - from, (off_t)from);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the file is shorter than its header says */
		from += (size_t)n;
	}
	return 0;
}

int kvm_stats_read(struct kvm_stats *out, int fd)
{
	u8 *buf = NULL, *nbuf;
	size_t have = 0;
	u64 need = 0;
	int r;

	kvm_stats_init(out);
	/* Header, then header + id + descriptors, then all of it: three rounds at most. */
	for (int round = 0; round < 3; round++) {
		r = kvm_stats_extent(buf, have, &need);
		if (r)
			goto out_free;
		if (need <= have)
			break;
		nbuf = realloc(buf, need);
		if (!nbuf) {
			r = -ENOMEM;
			goto out_free;
		}
		buf = nbuf;
		r = kvm_stats_pread_all(fd, buf, have, need);
		if (r)
			goto out_free;
		have = need;
	}
	r = kvm_stats_parse(out, buf, have);
out_free:
	free(buf);
	return r;
}

static int kvm_stats_copy(struct kvm_stats *dst, const struct kvm_stats *src)
{
	size_t names_len = 0, v = 0;
	char *n;
	int r;

	for (unsigned int i = 0; i < src->nr; i++)
		names_len += strlen(src->stats[i].name) + 1;
	r = kvm_stats_alloc(dst, src->nr, names_len, src->nr_values, strlen(src->id));
	if (r)
		return r;
	/* The names go packed into one block. */
	strcpy(dst->id, src->id);
	n = dst->names;
	for (unsigned int i = 0; i < src->nr; i++) {
		const struct kvm_stat *s = &src->stats[i];
		struct kvm_stat *d = &dst->stats[i];
		size_t l = strlen(s->name) + 1;

		memcpy(n, s->name, l);
		*d = *s;
		d->name = n;
		d->values = dst->values + v;
		memcpy(d->values, s->values, s->size * sizeof(u64));
		n += l;
		v += s->size;
	}
	return 0;
}

int kvm_stats_add(struct kvm_stats *total, const struct kvm_stats *one)
{
	if (!total->nr)
		return kvm_stats_copy(total, one);
	for (unsigned int i = 0; i < total->nr; i++) {
		struct kvm_stat *t = &total->stats[i];
		const struct kvm_stat *o = kvm_stats_find(one, t->name);
		bool peak = (t->flags & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_PEAK;

		if (!o)
			continue;
		for (u16 j = 0; j < t->size && j < o->size; j++) {
			if (peak)
				t->values[j] = max_u64(t->values[j], o->values[j]);
			else
				t->values[j] += o->values[j];
		}
	}
	return 0;
}

const struct kvm_stat *kvm_stats_find(const struct kvm_stats *s, const char *name)
{
	for (unsigned int i = 0; i < s->nr; i++)
		if (!strcmp(s->stats[i].name, name))
			return &s->stats[i];
	return NULL;
}

u64 kvm_stat_total(const struct kvm_stat *st)
{
	u64 sum = 0;

	for (u16 i = 0; i < st->size; i++)
		sum += st->values[i];
	return sum;
}

const char *kvm_stat_unit(const struct kvm_stat *st)
{
	bool pow10 = (st->flags & KVM_STATS_BASE_MASK) == KVM_STATS_BASE_POW10;

	switch (st->flags & KVM_STATS_UNIT_MASK) {
	case KVM_STATS_UNIT_NONE:
		return "";
	case KVM_STATS_UNIT_BYTES:
		return "bytes";
	case KVM_STATS_UNIT_CYCLES:
		return "cycles";
	case KVM_STATS_UNIT_BOOLEAN:
		return "bool";
	case KVM_STATS_UNIT_SECONDS:
		if (pow10 && st->exponent == -9)
			return "ns";
		if (pow10 && st->exponent == -6)
			return "us";
		if (pow10 && st->exponent == -3)
			return "ms";
		if (pow10 && st->exponent == 0)
			return "s";
		break;
	}
	return "?";
}

void kvm_stats_free(struct kvm_stats *s)
{
	free(s->id);
	free(s->stats);
	free(s->names);
	free(s->values);
	kvm_stats_init(s);
}
