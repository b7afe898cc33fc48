/*
 * Unit tests for debug/kvm_stats: the KVM_GET_STATS_FD file parsed from
 * synthetic buffers laid out as the kernel lays them out (header, id,
 * descriptors, data), malformed layouts refused, reading through a real fd,
 * and the sum over vCPUs (counters add, peaks take the maximum, histograms
 * add bucket by bucket).
 */
#include <check.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "trapeze/debug/kvm_stats.h"

#define NAME_SIZE 48	/* what Linux 6.18 uses */
#define DESC_SIZE (sizeof(struct kvm_stats_desc) + NAME_SIZE)

struct fake_stat {
	const char *name;
	u32 flags;
	s16 exponent;
	u16 size;
	u64 values[4];
};

static u8 file[8192];

struct layout {
	size_t len;
	u32 desc_offset;
	u32 data_offset;
};

/*
 * Lays n statistics out in file[] like the kernel: header, id, descriptors,
 * data. When reversed, the data block holds them in the opposite order, so
 * only the descriptors' offsets find them.
 */
static struct layout build(const char *id, const struct fake_stat *st, u32 n, bool reversed)
{
	struct kvm_stats_header h = {
		.name_size = NAME_SIZE,
		.num_desc = n,
		.id_offset = sizeof(h),
		.desc_offset = sizeof(h) + NAME_SIZE,
	};
	struct layout l;
	u32 data_len = 0, at = 0;

	memset(file, 0, sizeof(file));
	h.data_offset = h.desc_offset + n * DESC_SIZE;
	for (u32 i = 0; i < n; i++)
		data_len += st[i].size * sizeof(u64);
	memcpy(file, &h, sizeof(h));
	strcpy((char *)file + h.id_offset, id);
	for (u32 k = 0; k < n; k++) {
		u32 i = reversed ? n - 1 - k : k;
		struct kvm_stats_desc d = {
			.flags = st[i].flags,
			.exponent = st[i].exponent,
			.size = st[i].size,
			.offset = at,
		};
		u8 *dp = file + h.desc_offset + i * DESC_SIZE;

		memcpy(dp, &d, sizeof(d));
		strcpy((char *)dp + sizeof(d), st[i].name);
		memcpy(file + h.data_offset + at, st[i].values, st[i].size * sizeof(u64));
		at += st[i].size * sizeof(u64);
	}
	l.len = h.data_offset + data_len;
	l.desc_offset = h.desc_offset;
	l.data_offset = h.data_offset;
	ck_assert_uint_le(l.len, sizeof(file));
	return l;
}

static const struct fake_stat vcpu0[] = {
	{ .name = "exits", .size = 1, .values = { 544 } },
	{ .name = "max_mmu_rmap_size", .flags = KVM_STATS_TYPE_PEAK, .size = 1, .values = { 7 } },
	{ .name = "halt_wait_hist",
	  .flags = KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS, .exponent = -9,
	  .size = 4, .values = { 1, 0, 2, 3 } },
	{ .name = "blocking", .flags = KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN,
	  .size = 1, .values = { 1 } },
};

static const struct fake_stat vcpu1[] = {
	{ .name = "halt_wait_hist",
	  .flags = KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS, .exponent = -9,
	  .size = 4, .values = { 10, 20, 30, 40 } },
	{ .name = "exits", .size = 1, .values = { 100 } },
	{ .name = "max_mmu_rmap_size", .flags = KVM_STATS_TYPE_PEAK, .size = 1, .values = { 3 } },
	{ .name = "only_in_vcpu1", .size = 1, .values = { 99 } },
	{ .name = "blocking", .flags = KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN,
	  .size = 1, .values = { 0 } },
};

static void check_vcpu0(const struct kvm_stats *s)
{
	const struct kvm_stat *st;

	ck_assert_uint_eq(s->nr, 4);
	st = kvm_stats_find(s, "exits");
	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(st->size, 1);
	ck_assert_uint_eq(st->values[0], 544);
	ck_assert_uint_eq(st->flags, 0);
	st = kvm_stats_find(s, "max_mmu_rmap_size");
	ck_assert_uint_eq(st->flags, KVM_STATS_TYPE_PEAK);
	ck_assert_uint_eq(st->values[0], 7);
	st = kvm_stats_find(s, "halt_wait_hist");
	ck_assert_uint_eq(st->size, 4);
	ck_assert_int_eq(st->exponent, -9);
	ck_assert_uint_eq(st->values[0], 1);
	ck_assert_uint_eq(st->values[3], 3);
	ck_assert_uint_eq(kvm_stat_total(st), 6);
	ck_assert_ptr_null(kvm_stats_find(s, "nope"));
}

START_TEST(parse_synthetic)
{
	struct layout l = build("kvm-1234/vcpu-0", vcpu0, 4, false);
	struct kvm_stats s;

	ck_assert_int_eq(kvm_stats_parse(&s, file, l.len), 0);
	ck_assert_str_eq(s.id, "kvm-1234/vcpu-0");
	check_vcpu0(&s);
	ck_assert_str_eq(s.stats[0].name, "exits");	/* descriptor order is kept */
	ck_assert_str_eq(s.stats[3].name, "blocking");
	kvm_stats_free(&s);
	ck_assert_uint_eq(s.nr, 0);
	ck_assert_ptr_null(s.stats);
}
END_TEST

START_TEST(parse_follows_offsets)
{
	struct layout l = build("x", vcpu0, 4, true);
	struct kvm_stats s;

	ck_assert_int_eq(kvm_stats_parse(&s, file, l.len), 0);
	check_vcpu0(&s);
	kvm_stats_free(&s);
}
END_TEST

START_TEST(parse_empty_set)
{
	struct layout l = build("", vcpu0, 0, false);
	struct kvm_stats s;

	ck_assert_int_eq(kvm_stats_parse(&s, file, l.len), 0);
	ck_assert_uint_eq(s.nr, 0);
	ck_assert_str_eq(s.id, "");
	kvm_stats_free(&s);
}
END_TEST

static struct kvm_stats_header *hdr(void)
{
	return (struct kvm_stats_header *)file;
}

static struct kvm_stats_desc *desc(const struct layout *l, u32 i)
{
	return (struct kvm_stats_desc *)(file + l->desc_offset + i * DESC_SIZE);
}

static void expect_malformed(size_t len)
{
	struct kvm_stats s;

	memset(&s, 0xa5, sizeof(s));
	ck_assert_int_eq(kvm_stats_parse(&s, file, len), -EINVAL);
	ck_assert_uint_eq(s.nr, 0);	/* left empty, safe to free */
	ck_assert_ptr_null(s.stats);
	kvm_stats_free(&s);
}

START_TEST(parse_refuses_malformed)
{
	struct layout l = build("id", vcpu0, 4, false);

	expect_malformed(0);
	expect_malformed(sizeof(struct kvm_stats_header) - 1);
	expect_malformed(l.desc_offset + 2 * DESC_SIZE);	/* cut inside the descriptors */
	expect_malformed(l.len - 1);				/* cut inside the data */

	l = build("id", vcpu0, 4, false);
	memset((u8 *)desc(&l, 1) + sizeof(struct kvm_stats_desc), 'x', NAME_SIZE);
	expect_malformed(l.len);				/* name without its NUL */

	l = build("id", vcpu0, 4, false);
	desc(&l, 2)->size = 0;
	expect_malformed(l.len);

	l = build("id", vcpu0, 4, false);
	desc(&l, 3)->offset = 0xfffffff8;			/* data far outside */
	expect_malformed(l.len);

	l = build("id", vcpu0, 4, false);
	hdr()->data_offset = 0xffffffff;
	expect_malformed(l.len);

	l = build("id", vcpu0, 4, false);
	hdr()->desc_offset = 0xfffffff0;
	expect_malformed(l.len);

	l = build("id", vcpu0, 4, false);
	hdr()->id_offset = (u32)l.len;				/* id past the end */
	expect_malformed(l.len);

	l = build("id", vcpu0, 4, false);
	hdr()->name_size = 0;
	expect_malformed(l.len);

	l = build("id", vcpu0, 4, false);
	hdr()->name_size = KVM_STATS_MAX_NAME + 1;
	expect_malformed(l.len);

	l = build("id", vcpu0, 4, false);
	hdr()->num_desc = KVM_STATS_MAX_DESC + 1;
	expect_malformed(l.len);

	l = build("id", vcpu0, 4, false);
	hdr()->num_desc = 5;					/* one more than there is */
	expect_malformed(l.len);
}
END_TEST

START_TEST(parse_unterminated_id_is_cut)
{
	struct layout l = build("id", vcpu0, 4, false);
	struct kvm_stats s;

	memset(file + hdr()->id_offset, 'k', NAME_SIZE);
	ck_assert_int_eq(kvm_stats_parse(&s, file, l.len), 0);
	ck_assert_uint_eq(strlen(s.id), NAME_SIZE);
	kvm_stats_free(&s);
}
END_TEST

/* A temporary file holding the first len bytes of file[]; returns its fd. */
static int file_fd(size_t len)
{
	char path[] = "/tmp/trapeze-kvmstats-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, file, len), (ssize_t)len);
	return fd;
}

START_TEST(read_from_fd)
{
	struct layout l = build("kvm-1/vcpu-0", vcpu0, 4, true);
	int fd = file_fd(l.len);
	struct kvm_stats s;

	lseek(fd, 0, SEEK_SET);	/* the reader uses pread: the offset does not matter */
	ck_assert_int_eq(kvm_stats_read(&s, fd), 0);
	ck_assert_str_eq(s.id, "kvm-1/vcpu-0");
	check_vcpu0(&s);
	kvm_stats_free(&s);
	close(fd);

	/* A file shorter than its header says. */
	fd = file_fd(l.len - 8);
	ck_assert_int_eq(kvm_stats_read(&s, fd), -EIO);
	ck_assert_uint_eq(s.nr, 0);
	close(fd);

	/* A layout the parser refuses is refused through the fd as well. */
	l = build("x", vcpu0, 4, false);
	hdr()->num_desc = KVM_STATS_MAX_DESC + 1;
	fd = file_fd(l.len);
	ck_assert_int_eq(kvm_stats_read(&s, fd), -EINVAL);
	close(fd);
}
END_TEST

START_TEST(read_errors)
{
	struct kvm_stats s;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(kvm_stats_read(&s, p[0]), -ESPIPE);	/* no pread on a pipe */
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(kvm_stats_read(&s, -1), -EBADF);
}
END_TEST

START_TEST(add_over_vcpus)
{
	struct kvm_stats total = { 0 }, a, b;
	struct layout l;
	const struct kvm_stat *st;

	l = build("kvm-1/vcpu-0", vcpu0, 4, false);
	ck_assert_int_eq(kvm_stats_parse(&a, file, l.len), 0);
	l = build("kvm-1/vcpu-1", vcpu1, 5, false);
	ck_assert_int_eq(kvm_stats_parse(&b, file, l.len), 0);

	ck_assert_int_eq(kvm_stats_add(&total, &a), 0);	/* empty total: a copy */
	kvm_stats_free(&a);				/* the copy owns its memory */
	check_vcpu0(&total);
	ck_assert_str_eq(total.id, "kvm-1/vcpu-0");

	ck_assert_int_eq(kvm_stats_add(&total, &b), 0);
	ck_assert_uint_eq(total.nr, 4);			/* names only vcpu1 has are left out */
	ck_assert_ptr_null(kvm_stats_find(&total, "only_in_vcpu1"));
	ck_assert_uint_eq(kvm_stats_find(&total, "exits")->values[0], 644);
	ck_assert_uint_eq(kvm_stats_find(&total, "max_mmu_rmap_size")->values[0], 7);
	ck_assert_uint_eq(kvm_stats_find(&total, "blocking")->values[0], 1);
	st = kvm_stats_find(&total, "halt_wait_hist");
	ck_assert_uint_eq(st->values[0], 11);
	ck_assert_uint_eq(st->values[1], 20);
	ck_assert_uint_eq(st->values[2], 32);
	ck_assert_uint_eq(st->values[3], 43);
	ck_assert_uint_eq(kvm_stat_total(st), 106);

	/* A larger peak on a later vCPU wins. */
	b.stats[2].values[0] = 70;
	ck_assert_int_eq(kvm_stats_add(&total, &b), 0);
	ck_assert_uint_eq(kvm_stats_find(&total, "max_mmu_rmap_size")->values[0], 70);
	ck_assert_uint_eq(kvm_stats_find(&total, "exits")->values[0], 744);
	kvm_stats_free(&b);
	kvm_stats_free(&total);
}
END_TEST

START_TEST(units)
{
	u64 v = 0;
	struct kvm_stat st = { .name = "x", .size = 1, .values = &v };

	ck_assert_str_eq(kvm_stat_unit(&st), "");
	st.flags = KVM_STATS_UNIT_SECONDS;
	st.exponent = -9;
	ck_assert_str_eq(kvm_stat_unit(&st), "ns");
	st.exponent = -6;
	ck_assert_str_eq(kvm_stat_unit(&st), "us");
	st.exponent = 0;
	ck_assert_str_eq(kvm_stat_unit(&st), "s");
	st.exponent = -2;
	ck_assert_str_eq(kvm_stat_unit(&st), "?");
	st.flags = KVM_STATS_UNIT_SECONDS | KVM_STATS_BASE_POW2;
	st.exponent = -9;
	ck_assert_str_eq(kvm_stat_unit(&st), "?");
	st.flags = KVM_STATS_UNIT_BYTES | KVM_STATS_BASE_POW2;
	ck_assert_str_eq(kvm_stat_unit(&st), "bytes");
	st.flags = KVM_STATS_UNIT_CYCLES;
	ck_assert_str_eq(kvm_stat_unit(&st), "cycles");
	st.flags = KVM_STATS_UNIT_BOOLEAN;
	ck_assert_str_eq(kvm_stat_unit(&st), "bool");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvm_stats");
	TCase *tc = tcase_create("kvm_stats");

	tcase_add_test(tc, parse_synthetic);
	tcase_add_test(tc, parse_follows_offsets);
	tcase_add_test(tc, parse_empty_set);
	tcase_add_test(tc, parse_refuses_malformed);
	tcase_add_test(tc, parse_unterminated_id_is_cut);
	tcase_add_test(tc, read_from_fd);
	tcase_add_test(tc, read_errors);
	tcase_add_test(tc, add_over_vcpus);
	tcase_add_test(tc, units);
	suite_add_tcase(s, tc);
	return check_run(s);
}
