/*
 * Unit tests for the ACPI tables and the AML emitter. The tables are built
 * into a 256 MiB guest_mem and parsed back here the way an OS would: from
 * the RSDP through the XSDT (and RSDT) to every table, checking signatures,
 * lengths and checksums, then the FADT, MADT and DSDT field by field.
 * Offsets are written out from the ACPI 6.5 tables, not taken from acpi.c.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "table_bytes.h"
#include "trapeze/arch/x86/acpi.h"
#include "trapeze/arch/x86/aml.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/devices/misc.h"

#define RAM_SIZE (256ULL << 20)

static struct guest_mem mem;

static void setup(void)
{
	ck_assert_int_eq(guest_mem_init(&mem, RAM_SIZE), 0);
}

static void teardown(void)
{
	guest_mem_destroy(&mem);
}

static struct acpi_config config(unsigned int nr_cpus)
{
	struct acpi_config cfg = {
		.nr_cpus = nr_cpus,
		.ioapic_addr = 0xfec00000,
		.ioapic_id = (u8)nr_cpus,
		.lapic_addr = 0xfee00000,
		.reset_port = 0xcf9,
		.reset_value = 0x06,
		.sci_irq = 9,
	};
	return cfg;
}

/* Guest bytes [gpa, gpa + len), which must lie in the ACPI range. */
static const u8 *acpi_at(u64 gpa, u64 len)
{
	const u8 *p;

	ck_assert_uint_ge(gpa, X86_ACPI_BASE);
	ck_assert_uint_le(gpa + len, X86_ACPI_END);
	p = guest_mem_ptr(&mem, gpa, len);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* A system description table at gpa: checks its header and returns it. */
static const u8 *table_at(u64 gpa, const char *sig, u32 *len)
{
	const u8 *t = acpi_at(gpa, ACPI_TABLE_HEADER_LEN);

	ck_assert_msg(memcmp(t, sig, 4) == 0, "want %s at 0x%llx, found %.4s", sig,
		      (unsigned long long)gpa, (const char *)t);
	*len = le32(t + 4);
	ck_assert_uint_ge(*len, ACPI_TABLE_HEADER_LEN);
	t = acpi_at(gpa, *len);
	ck_assert_msg(sum8(t, *len) == 0, "%s checksum", sig);
	ck_assert(memcmp(t + 10, "TRAPEZ", 6) == 0);
	ck_assert(memcmp(t + 16, "TRAPEZE ", 8) == 0);
	return t;
}

static u64 build(unsigned int nr_cpus)
{
	struct acpi_config cfg = config(nr_cpus);
	u64 rsdp = 0;

	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), 0);
	return rsdp;
}

static u64 rsdp_xsdt(u64 rsdp)
{
	return le64(acpi_at(rsdp, 36) + 24);
}

/* The address of the table the XSDT lists with signature sig, or 0. */
static u64 find_table(u64 rsdp, const char *sig)
{
	u32 len, i;
	const u8 *x = table_at(rsdp_xsdt(rsdp), "XSDT", &len);

	for (i = ACPI_TABLE_HEADER_LEN; i + 8 <= len; i += 8) {
		u64 gpa = le64(x + i);

		if (memcmp(acpi_at(gpa, 4), sig, 4) == 0)
			return gpa;
	}
	return 0;
}

START_TEST(rsdp_fields)
{
	u64 rsdp = build(1);
	const u8 *r;

	ck_assert_uint_eq(rsdp, X86_ACPI_BASE);
	ck_assert_uint_eq(rsdp % 16, 0);
	r = acpi_at(rsdp, 36);
	ck_assert(memcmp(r, "RSD PTR ", 8) == 0);
	ck_assert_uint_eq(sum8(r, 20), 0);		/* ACPI 1.0 checksum */
	ck_assert_uint_eq(sum8(r, 36), 0);		/* extended checksum */
	ck_assert(memcmp(r + 9, "TRAPEZ", 6) == 0);
	ck_assert_uint_eq(r[15], 2);			/* revision */
	ck_assert_uint_eq(le32(r + 20), 36);		/* length */
	ck_assert_uint_ne(le32(r + 16), 0);		/* RSDT */
	ck_assert_uint_ne(le64(r + 24), 0);		/* XSDT */
	ck_assert_uint_eq(r[33] | r[34] | r[35], 0);	/* reserved */
}
END_TEST

/* The XSDT and the RSDT list the same tables: FADT, MADT, in that order. */
START_TEST(xsdt_and_rsdt)
{
	u64 rsdp = build(2);
	const u8 *r = acpi_at(rsdp, 36), *x, *rs;
	u32 xlen, rlen, i;

	x = table_at(le64(r + 24), "XSDT", &xlen);
	rs = table_at(le32(r + 16), "RSDT", &rlen);
	ck_assert_uint_eq(x[8], 1);
	ck_assert_uint_eq(rs[8], 1);
	ck_assert_uint_eq(xlen, ACPI_TABLE_HEADER_LEN + 2 * 8);
	ck_assert_uint_eq(rlen, ACPI_TABLE_HEADER_LEN + 2 * 4);
	for (i = 0; i < 2; i++)
		ck_assert_uint_eq(le64(x + 36 + 8 * i), le32(rs + 36 + 4 * i));
	ck_assert(memcmp(acpi_at(le64(x + 36), 4), "FACP", 4) == 0);
	ck_assert(memcmp(acpi_at(le64(x + 44), 4), "APIC", 4) == 0);
}
END_TEST

struct span {
	u64 gpa, len;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/*
 * Every table, listed or pointed to, has a good header and checksum, lies
 * inside the ACPI range, and no two overlap; tried at each CPU count.
 */
static void check_all_tables(unsigned int nr_cpus)
{
	u64 rsdp = build(nr_cpus), fadt_gpa, facs;
	struct span spans[8];
	unsigned int n = 0, i;
	const u8 *x, *fadt, *f;
	u32 len;

	spans[n++] = (struct span){ rsdp, 36 };
	x = table_at(rsdp_xsdt(rsdp), "XSDT", &len);
	spans[n++] = (struct span){ rsdp_xsdt(rsdp), len };
	table_at(le32(acpi_at(rsdp, 36) + 16), "RSDT", &len);
	spans[n++] = (struct span){ le32(acpi_at(rsdp, 36) + 16), len };
	fadt_gpa = le64(x + 36);
	fadt = table_at(fadt_gpa, "FACP", &len);
	spans[n++] = (struct span){ fadt_gpa, len };
	table_at(le64(x + 44), "APIC", &len);
	spans[n++] = (struct span){ le64(x + 44), len };
	table_at(le64(fadt + 140), "DSDT", &len);
	spans[n++] = (struct span){ le64(fadt + 140), len };

	/* The FACS has no checksum: signature, length 64, 64-byte aligned. */
	facs = le64(fadt + 132);
	ck_assert_uint_eq(facs % 64, 0);
	f = acpi_at(facs, 64);
	ck_assert(memcmp(f, "FACS", 4) == 0);
	ck_assert_uint_eq(le32(f + 4), 64);
	ck_assert_uint_eq(f[32], 2);			/* version */
	spans[n++] = (struct span){ facs, 64 };

	qsort(spans, n, sizeof(spans[0]), span_cmp);
	for (i = 1; i < n; i++)
		ck_assert_uint_le(spans[i - 1].gpa + spans[i - 1].len, spans[i].gpa);
	ck_assert_uint_le(spans[n - 1].gpa + spans[n - 1].len, X86_ACPI_END);
}

START_TEST(all_tables_1_2_64_255)
{
	static const unsigned int counts[] = { 1, 2, 64, 255 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(counts); i++)
		check_all_tables(counts[i]);
}
END_TEST

/* MADT (ACPI 6.5 5.2.12): walks the structures and checks each kind. */
static void check_madt(unsigned int nr_cpus)
{
	u64 rsdp = build(nr_cpus), gpa = find_table(rsdp, "APIC");
	unsigned int nr_lapic = 0, nr_ioapic = 0, nr_iso = 0, nr_nmi = 0;
	bool iso0 = false, iso9 = false;
	const u8 *t, *p;
	u32 len, off;

	ck_assert_uint_ne(gpa, 0);
	t = table_at(gpa, "APIC", &len);
	ck_assert_uint_eq(le32(t + 36), 0xfee00000);	/* local APIC address */
	ck_assert_uint_eq(le32(t + 40) & 1, 1);		/* PCAT_COMPAT */
	for (off = 44; off < len; off += p[1]) {
		p = t + off;
		ck_assert_uint_ge(p[1], 2);
		ck_assert_uint_le(off + p[1], len);
		switch (p[0]) {
		case 0:					/* processor local APIC */
			ck_assert_uint_eq(p[1], 8);
			ck_assert_uint_eq(p[3], nr_lapic);	/* APIC IDs 0..n-1 */
			ck_assert_uint_eq(p[2], nr_lapic);	/* processor UID */
			ck_assert_uint_eq(le32(p + 4), 1);	/* enabled */
			nr_lapic++;
			break;
		case 1:					/* I/O APIC */
			ck_assert_uint_eq(p[1], 12);
			ck_assert_uint_eq(p[2], (u8)nr_cpus);
			ck_assert_uint_eq(le32(p + 4), 0xfec00000);
			ck_assert_uint_eq(le32(p + 8), 0);	/* GSI base */
			nr_ioapic++;
			break;
		case 2:					/* interrupt source override */
			ck_assert_uint_eq(p[1], 10);
			ck_assert_uint_eq(p[2], 0);		/* ISA */
			/* IRQ 0 must not be overridden: KVM routes the PIT to pin 0. */
			iso0 |= p[3] == 0;
			{
				ck_assert_uint_eq(p[3], 9);
				ck_assert_uint_eq(le32(p + 4), 9);
				/* active high (01), level (11 << 2) */
				ck_assert_uint_eq(le16(p + 8), 0x000d);
				iso9 = true;
			}
			nr_iso++;
			break;
		case 4:					/* local APIC NMI */
			ck_assert_uint_eq(p[1], 6);
			ck_assert_uint_eq(p[2], 0xff);		/* all processors */
			ck_assert_uint_eq(p[5], 1);		/* LINT1 */
			nr_nmi++;
			break;
		default:
			ck_abort_msg("unexpected MADT structure type %u", p[0]);
		}
	}
	ck_assert_uint_eq(off, len);
	ck_assert_uint_eq(nr_lapic, nr_cpus);
	ck_assert_uint_eq(nr_ioapic, 1);
	ck_assert_uint_eq(nr_iso, 1);
	ck_assert(!iso0 && iso9);
	ck_assert_uint_eq(nr_nmi, 1);
}

START_TEST(madt_1_2_64_255)
{
	check_madt(1);
	check_madt(2);
	check_madt(64);
	check_madt(255);
}
END_TEST

/* A Generic Address Structure (ACPI 6.5 5.2.3.2) in system I/O. */
static void check_gas_io(const u8 *g, u8 bit_width, u64 port)
{
	ck_assert_uint_eq(g[0], 1);		/* system I/O space */
	ck_assert_uint_eq(g[1], bit_width);
	ck_assert_uint_eq(g[2], 0);		/* bit offset */
	ck_assert_uint_eq(le64(g + 4), port);
}

/* FADT (ACPI 6.5 5.2.9, Table 5.9). */
START_TEST(fadt_fields)
{
	u64 rsdp = build(4), gpa = find_table(rsdp, "FACP");
	const u8 *t;
	u32 len, flags, dlen;
	u16 boot;

	ck_assert_uint_ne(gpa, 0);
	t = table_at(gpa, "FACP", &len);
	ck_assert_uint_eq(len, 276);
	ck_assert_uint_eq(t[8], 6);			/* revision */
	ck_assert_uint_eq(t[131] & 0xf, 5);		/* minor version */
	/* DSDT in both pointers, and it is a DSDT. */
	ck_assert_uint_eq(le32(t + 40), le64(t + 140));
	table_at(le64(t + 140), "DSDT", &dlen);
	ck_assert_uint_eq(le32(t + 36), le64(t + 132));	/* FACS */
	ck_assert_uint_eq(le16(t + 46), 9);		/* SCI_INT */
	ck_assert_uint_eq(le32(t + 48), 0);		/* SMI_CMD: always ACPI mode */
	ck_assert_uint_eq(le32(t + 56), ACPI_PM1A_EVT_PORT);
	ck_assert_uint_eq(le32(t + 60), 0);		/* no PM1b */
	ck_assert_uint_eq(le32(t + 64), ACPI_PM1A_CNT_PORT);
	ck_assert_uint_eq(le32(t + 76), 0);		/* no PM timer */
	ck_assert_uint_eq(le32(t + 80), 0);		/* no GPE0 */
	ck_assert_uint_eq(t[88], 4);			/* PM1_EVT_LEN */
	ck_assert_uint_eq(t[89], 2);			/* PM1_CNT_LEN */
	ck_assert_uint_eq(t[91], 0);			/* PM_TMR_LEN */
	ck_assert_uint_gt(le16(t + 96), 100);		/* no C2 */
	ck_assert_uint_gt(le16(t + 98), 1000);		/* no C3 */
	ck_assert_uint_eq(t[108], 0x32);		/* CMOS century index */

	boot = le16(t + 109);
	ck_assert_uint_eq(boot & (1u << 0), 1u << 0);	/* legacy devices */
	ck_assert_uint_eq(boot & (1u << 2), 1u << 2);	/* VGA not present */
	ck_assert_uint_eq(boot & (1u << 3), 0);		/* MSI supported */
	ck_assert_uint_eq(boot & (1u << 5), 0);		/* CMOS RTC present */

	flags = le32(t + 112);
	ck_assert_uint_eq(flags & (1u << 0), 1u << 0);	/* WBINVD */
	ck_assert_uint_eq(flags & (1u << 10), 1u << 10);	/* RESET_REG_SUP */
	ck_assert_uint_eq(flags & (1u << 20), 0);	/* not HW_REDUCED_ACPI */

	check_gas_io(t + 116, 8, 0xcf9);		/* RESET_REG */
	ck_assert_uint_eq(t[128], 0x06);		/* RESET_VALUE */
	check_gas_io(t + 148, 32, ACPI_PM1A_EVT_PORT);	/* X_PM1a_EVT_BLK */
	check_gas_io(t + 172, 16, ACPI_PM1A_CNT_PORT);	/* X_PM1a_CNT_BLK */
	ck_assert_uint_eq(le64(t + 160 + 4), 0);	/* X_PM1b_EVT_BLK */
	ck_assert_uint_eq(le64(t + 208 + 4), 0);	/* X_PM_TMR_BLK */
}
END_TEST

static const u8 *memfind(const u8 *hay, size_t n, const u8 *needle, size_t m)
{
	size_t i;

	for (i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* Decodes a PkgLength (ACPI 6.5 20.2.4); *nbytes is how many it took. */
static u32 pkg_length(const u8 *p, unsigned int *nbytes)
{
	unsigned int n = (p[0] >> 6) + 1, i;
	u32 v;

	*nbytes = n;
	if (n == 1)
		return p[0] & 0x3f;
	v = p[0] & 0xf;
	for (i = 1; i < n; i++)
		v |= (u32)p[i] << (4 + 8 * (i - 1));
	return v;
}

START_TEST(dsdt_contents)
{
	/* Name(\_S5_, Package(4) { 5, 5, 0, 0 }) */
	static const u8 s5[] = {
		0x08, '\\', '_', 'S', '5', '_',
		0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
	};
	static const u8 sb_name[] = { '\\', '_', 'S', 'B', '_' };
	/* Name(_HID, EisaId("PNP0501")), then the COM1 and RTC _CRS bodies */
	static const u8 com1_hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const u8 rtc_hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00 };
	static const u8 com1_crs[] = {
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,	/* IO 0x3f8, 8 ports */
		0x22, 0x10, 0x00,				/* IRQ 4 */
		0x79, 0x00,					/* end tag */
	};
	static const u8 rtc_crs[] = {
		0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02,	/* IO 0x70, 2 ports */
		0x22, 0x00, 0x01,				/* IRQ 8 */
		0x79, 0x00,
	};
	u64 rsdp = build(1), fadt_gpa = find_table(rsdp, "FACP");
	const u8 *fadt, *d, *s5_at, *sb;
	unsigned int nb;
	u32 len, flen, scope_len;

	fadt = table_at(fadt_gpa, "FACP", &flen);
	d = table_at(le64(fadt + 140), "DSDT", &len);
	ck_assert_uint_eq(d[8], 2);			/* 64-bit AML integers */

	/* \_S5 comes first, right after the header. */
	s5_at = memfind(d + 36, len - 36, s5, sizeof(s5));
	ck_assert_ptr_eq(s5_at, d + 36);

	/* Scope(\_SB) { ... } runs exactly to the end of the table. */
	sb = d + 36 + sizeof(s5);
	ck_assert_uint_eq(sb[0], 0x10);			/* ScopeOp */
	scope_len = pkg_length(sb + 1, &nb);
	ck_assert(memcmp(sb + 1 + nb, sb_name, sizeof(sb_name)) == 0);
	ck_assert_uint_eq((size_t)(sb + 1 - d) + scope_len, len);

	ck_assert_ptr_nonnull(memfind(d, len, com1_hid, sizeof(com1_hid)));
	ck_assert_ptr_nonnull(memfind(d, len, rtc_hid, sizeof(rtc_hid)));
	ck_assert_ptr_nonnull(memfind(d, len, com1_crs, sizeof(com1_crs)));
	ck_assert_ptr_nonnull(memfind(d, len, rtc_crs, sizeof(rtc_crs)));
}
END_TEST

START_TEST(extra_tables_listed)
{
	static const u8 mcfg_body[44 - 36 + 16] = { 1, 2, 3, 4, 5, 6, 7, 8, 0xe0, 0, 0, 0xb0 };
	static const u8 ssdt_body[] = { 0x08, 'F', 'O', 'O', '_', 0x0a, 0x2a };
	const struct acpi_table extra[] = {
		{ .signature = "MCFG", .revision = 1, .body = mcfg_body,
		  .body_len = sizeof(mcfg_body) },
		{ .signature = "SSDT", .revision = 2, .body = ssdt_body,
		  .body_len = sizeof(ssdt_body) },
		{ .signature = "TEST", .revision = 3, .body = NULL, .body_len = 0 },
	};
	struct acpi_config cfg = config(2);
	const u8 *x, *t;
	u64 rsdp;
	u32 xlen, len;

	cfg.extra_tables = extra;
	cfg.nr_extra_tables = ARRAY_SIZE(extra);
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), 0);
	x = table_at(rsdp_xsdt(rsdp), "XSDT", &xlen);
	ck_assert_uint_eq(xlen, 36 + 5 * 8);
	/* FADT, MADT, then the extras in the order given. */
	t = table_at(le64(x + 36 + 2 * 8), "MCFG", &len);
	ck_assert_uint_eq(len, 36 + sizeof(mcfg_body));
	ck_assert_uint_eq(t[8], 1);
	ck_assert(memcmp(t + 36, mcfg_body, sizeof(mcfg_body)) == 0);
	t = table_at(le64(x + 36 + 3 * 8), "SSDT", &len);
	ck_assert_uint_eq(len, 36 + sizeof(ssdt_body));
	ck_assert_uint_eq(t[8], 2);
	ck_assert(memcmp(t + 36, ssdt_body, sizeof(ssdt_body)) == 0);
	t = table_at(le64(x + 36 + 4 * 8), "TEST", &len);
	ck_assert_uint_eq(len, 36);
	/* The RSDT agrees. */
	t = table_at(le32(acpi_at(rsdp, 36) + 16), "RSDT", &len);
	ck_assert_uint_eq(len, 36 + 5 * 4);
	ck_assert_uint_eq(le32(t + 36 + 4 * 4), le64(x + 36 + 4 * 8));
}
END_TEST

static bool range_is_zero(void)
{
	const u8 *p = acpi_at(X86_ACPI_BASE, X86_ACPI_END - X86_ACPI_BASE);
	size_t i;

	for (i = 0; i < X86_ACPI_END - X86_ACPI_BASE; i++)
		if (p[i])
			return false;
	return true;
}

START_TEST(bad_configs)
{
	struct acpi_config cfg = config(0);
	struct acpi_table extra[ACPI_MAX_EXTRA_TABLES + 1];
	u64 rsdp = 0x1234;

	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	cfg = config(ACPI_MAX_CPUS + 1);
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), -EINVAL);

	memset(extra, 0, sizeof(extra));
	cfg = config(1);
	cfg.extra_tables = extra;
	cfg.nr_extra_tables = ACPI_MAX_EXTRA_TABLES + 1;
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	cfg.nr_extra_tables = 1;
	extra[0].body_len = 4;				/* length without a body */
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	cfg.extra_tables = NULL;
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	ck_assert_uint_eq(rsdp, 0x1234);		/* untouched on error */

	/* The most extra tables allowed is fine. */
	memset(extra, 0, sizeof(extra));
	cfg.extra_tables = extra;
	cfg.nr_extra_tables = ACPI_MAX_EXTRA_TABLES;
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), 0);
}
END_TEST

/* Tables that would pass X86_ACPI_END: -ENOSPC, and the range left zeroed. */
START_TEST(no_space)
{
	const u32 big = (u32)(X86_ACPI_END - X86_ACPI_BASE);
	u8 *body = calloc(1, big);
	struct acpi_table extra = { .signature = "BIG!", .body = body, .body_len = big };
	struct acpi_config cfg = config(255);
	u64 rsdp = 0;

	ck_assert_ptr_nonnull(body);
	build(2);					/* a good set first */
	ck_assert(!range_is_zero());
	cfg.extra_tables = &extra;
	cfg.nr_extra_tables = 1;
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), -ENOSPC);
	ck_assert(range_is_zero());

	/* Just under the limit still fits... */
	extra.body_len = big - 0x2000;
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), 0);
	ck_assert_uint_ne(find_table(rsdp, "BIG!"), 0);
	free(body);
}
END_TEST

START_TEST(ram_too_small)
{
	struct acpi_config cfg = config(1);
	u64 rsdp = 0;

	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, X86_ACPI_END - 0x1000), 0);
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), -EFAULT);
	guest_mem_destroy(&mem);
	ck_assert_int_eq(guest_mem_init(&mem, X86_ACPI_END), 0);
	ck_assert_int_eq(acpi_build(&mem, &cfg, &rsdp), 0);
	ck_assert_uint_eq(rsdp, X86_ACPI_BASE);
}
END_TEST

/* ---- AML emitter ---- */

static long emit_name(const char *path, u8 *buf, size_t cap)
{
	struct aml a;

	aml_init(&a, buf, cap);
	aml_name(&a, path);
	return aml_finish(&a);
}

START_TEST(aml_names)
{
	u8 buf[64];

	ck_assert_int_eq(emit_name("_S5", buf, sizeof(buf)), 4);
	ck_assert(memcmp(buf, "_S5_", 4) == 0);
	ck_assert_int_eq(emit_name("\\_SB.COM1", buf, sizeof(buf)), 10);
	ck_assert(memcmp(buf, "\\\x2e_SB_COM1", 10) == 0);	/* DualNamePrefix */
	ck_assert_int_eq(emit_name("\\A.B.C", buf, sizeof(buf)), 15);
	ck_assert(memcmp(buf, "\\\x2f\x03" "A___B___C___", 15) == 0);	/* MultiNamePrefix */
	ck_assert_int_eq(emit_name("^^X1", buf, sizeof(buf)), 6);
	ck_assert(memcmp(buf, "^^X1__", 6) == 0);
	ck_assert_int_eq(emit_name("\\", buf, sizeof(buf)), 2);
	ck_assert(memcmp(buf, "\\\0", 2) == 0);		/* root: NullName */

	ck_assert_int_eq(emit_name("1ABC", buf, sizeof(buf)), -EINVAL);	/* digit first */
	ck_assert_int_eq(emit_name("abcd", buf, sizeof(buf)), -EINVAL);	/* lower case */
	ck_assert_int_eq(emit_name("ABCDE", buf, sizeof(buf)), -EINVAL);	/* too long */
	ck_assert_int_eq(emit_name("A..B", buf, sizeof(buf)), -EINVAL);	/* empty segment */
	ck_assert_int_eq(emit_name("A.", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(emit_name("\\_SB.COM1", buf, 9), -ENOSPC);
}
END_TEST

START_TEST(aml_integers)
{
	static const struct {
		u64 v;
		u8 len;
		u8 bytes[9];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 2, 2, { 0x0a, 0x02 } },
		{ 0xff, 2, { 0x0a, 0xff } },
		{ 0x100, 3, { 0x0b, 0x00, 0x01 } },
		{ 0x12345678, 5, { 0x0c, 0x78, 0x56, 0x34, 0x12 } },
		{ 0x100000000ULL, 9, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 } },
	};
	u8 buf[16];
	struct aml a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_integer(&a, cases[i].v);
		ck_assert_int_eq(aml_finish(&a), cases[i].len);
		ck_assert(memcmp(buf, cases[i].bytes, cases[i].len) == 0);
	}

	aml_init(&a, buf, sizeof(buf));
	aml_eisaid(&a, "PNP0A03");
	ck_assert_int_eq(aml_finish(&a), 5);
	ck_assert(memcmp(buf, "\x0c\x41\xd0\x0a\x03", 5) == 0);
	aml_init(&a, buf, sizeof(buf));
	aml_eisaid(&a, "pnp0a03");
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_eisaid(&a, "PNP0A0G");
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
}
END_TEST

/* PkgLength of 1, 2, 3 and 4 bytes, around each boundary (ACPI 6.5 20.2.4). */
START_TEST(aml_pkg_lengths)
{
	static const size_t payloads[] = {
		0, 60, 61, 4000, 4091, 4092, 70000, 0xfffff - 5, 0xfffff - 4,
	};
	const size_t cap = 0x100100;
	u8 *buf = malloc(cap), *data = calloc(1, cap);
	struct aml a;
	size_t i;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(data);
	for (i = 0; i < ARRAY_SIZE(payloads); i++) {
		size_t n = payloads[i], content, want_nb;
		unsigned int nb;
		long len;

		/* Scope(\) { <n raw bytes> }: content = 2 (name) + n. */
		aml_init(&a, buf, cap);
		aml_scope_open(&a, "\\");
		aml_bytes(&a, data, n);
		aml_close(&a);
		len = aml_finish(&a);
		content = 2 + n;
		want_nb = content + 1 <= 0x3f ? 1 : content + 2 <= 0xfff ? 2 :
			  content + 3 <= 0xfffff ? 3 : 4;
		ck_assert_int_eq(len, (long)(1 + want_nb + content));
		ck_assert_uint_eq(buf[0], 0x10);
		ck_assert_uint_eq(pkg_length(buf + 1, &nb), want_nb + content);
		ck_assert_uint_eq(nb, want_nb);
		ck_assert_uint_eq(buf[1 + nb], '\\');
		ck_assert_uint_eq(buf[2 + nb], 0);	/* NullName */
	}
	free(buf);
	free(data);
}
END_TEST

START_TEST(aml_nesting)
{
	u8 buf[64];
	struct aml a;
	int i;

	/* Package(2) { Package(1) { 7 } , 1 }: inner closed before outer. */
	aml_init(&a, buf, sizeof(buf));
	aml_package_open(&a, 2);
	aml_package_open(&a, 1);
	aml_integer(&a, 7);
	aml_close(&a);
	aml_integer(&a, 1);
	aml_close(&a);
	ck_assert_int_eq(aml_finish(&a), 9);
	ck_assert(memcmp(buf, "\x12\x08\x02\x12\x04\x01\x0a\x07\x01", 9) == 0);

	/* Left open, closed too often, too deep, no room: all errors. */
	aml_init(&a, buf, sizeof(buf));
	aml_package_open(&a, 0);
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_close(&a);
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	for (i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_open(&a, 0);
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, 3);
	aml_package_open(&a, 1);
	aml_integer(&a, 0);
	aml_close(&a);				/* needs a 4th byte for PkgLength */
	ck_assert_int_eq(aml_finish(&a), -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("tables");
	TCase *tc_aml = tcase_create("aml");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, rsdp_fields);
	tcase_add_test(tc, xsdt_and_rsdt);
	tcase_add_test(tc, all_tables_1_2_64_255);
	tcase_add_test(tc, madt_1_2_64_255);
	tcase_add_test(tc, fadt_fields);
	tcase_add_test(tc, dsdt_contents);
	tcase_add_test(tc, extra_tables_listed);
	tcase_add_test(tc, bad_configs);
	tcase_add_test(tc, no_space);
	tcase_add_test(tc, ram_too_small);
	suite_add_tcase(s, tc);

	tcase_add_test(tc_aml, aml_names);
	tcase_add_test(tc_aml, aml_integers);
	tcase_add_test(tc_aml, aml_pkg_lengths);
	tcase_add_test(tc_aml, aml_nesting);
	suite_add_tcase(s, tc_aml);

	return check_run(s);
}
