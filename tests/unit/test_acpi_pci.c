/*
 * Unit tests for the PCI host bridge's ACPI tables (arch/x86/acpi_pci.c):
 * the MCFG body byte by byte, the SSDT's AML walked the way an interpreter
 * would (PkgLengths, names, integers), its resource templates compared with
 * descriptors written out here from ACPI 6.5 section 6.4, every _PRT entry
 * checked against the swizzle, bad configurations refused, and both tables
 * installed by acpi_build() with valid checksums and listed in the XSDT.
 * (A manual check: iasl -d disassembles the SSDT without complaint.)
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/arch/x86/acpi.h"
#include "trapeze/arch/x86/acpi_pci.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/devices/pci.h"

static struct acpi_pci_tables tabs;

static struct acpi_pci_config config(bool mmio64)
{
	struct acpi_pci_config c = {
		.ecam_base = X86_PCI_ECAM_BASE,
		.ecam_size = X86_PCI_ECAM_SIZE,
		.io_base = X86_PCI_IO_BASE,
		.io_size = X86_PCI_IO_SIZE,
		.mmio32_base = X86_PCI_MMIO32_BASE,
		.mmio32_size = X86_PCI_MMIO32_SIZE,
		.mmio64_base = mmio64 ? X86_PCI_MMIO64_BASE : 0,
		.mmio64_size = mmio64 ? X86_PCI_MMIO64_SIZE : 0,
		.intx_gsi_base = X86_PCI_INTX_GSI_BASE,
		.nr_slots = 32,
	};
	return c;
}

static u32 le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u64 le64(const u8 *p)
{
	return le32(p) | (u64)le32(p + 4) << 32;
}

/* AML cursor over the SSDT body. */
struct cur {
	const u8 *p;
	const u8 *end;
};

/* PkgLength (ACPI 6.5 20.2.4): returns the end of the package it opens. */
static const u8 *pkg_end(struct cur *c)
{
	const u8 *start = c->p;
	u8 lead = *c->p++;
	unsigned int n = lead >> 6;
	u32 len = n ? lead & 0x0f : lead & 0x3f;

	for (unsigned int i = 0; i < n; i++)
		len |= (u32)*c->p++ << (4 + 8 * i);
	ck_assert(start + len <= c->end);
	return start + len;
}

/* An integer: ZeroOp, OneOp, Byte/Word/DWord/QWordConst (20.2.3). */
static u64 integer(struct cur *c)
{
	u8 op = *c->p++;
	unsigned int n;
	u64 v = 0;

	switch (op) {
	case 0x00: return 0;
	case 0x01: return 1;
	case 0x0a: n = 1; break;
	case 0x0b: n = 2; break;
	case 0x0c: n = 4; break;
	case 0x0e: n = 8; break;
	default:
		ck_abort_msg("not an integer: opcode 0x%02x", op);
		return 0;
	}
	for (unsigned int i = 0; i < n; i++)
		v |= (u64)*c->p++ << (8 * i);
	return v;
}

static void expect(struct cur *c, const void *bytes, size_t n)
{
	ck_assert(c->p + n <= c->end);
	ck_assert_mem_eq(c->p, bytes, n);
	c->p += n;
}

/* Name(seg, Integer): NameOp, the 4-character NameSeg, the value. */
static u64 name_int(struct cur *c, const char *seg)
{
	expect(c, "\x08", 1);
	expect(c, seg, 4);
	return integer(c);
}

/* Name(seg, Buffer): returns the buffer's bytes and length. */
static const u8 *name_buffer(struct cur *c, const char *seg, u64 *len)
{
	const u8 *end, *data;

	expect(c, "\x08", 1);
	expect(c, seg, 4);
	expect(c, "\x11", 1);	/* BufferOp */
	end = pkg_end(c);
	*len = integer(c);
	data = c->p;
	ck_assert_ptr_eq(data + *len, end);
	c->p = end;
	return data;
}

static const u8 pci0_crs[] = {
	/* WordBusNumber: producer, MinFixed, MaxFixed; 0-0, length 1 (6.4.3.5.3). */
	0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	/* IO (Decode16, 0xCF8, 0xCF8, 1, 8) (6.4.2.5). */
	0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
	/* WordIO: entire range, 0xC000-0xFFFF, length 0x4000. */
	0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03,
	0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0x00, 0x00, 0x00, 0x40,
	/* DWordMemory: non-cacheable, read-write, 0xC0000000-0xDFFFFFFF (6.4.3.5.2). */
	0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xdf,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
};

static const u8 pci0_crs_mmio64[] = {
	/* QWordMemory: 0x200_0000_0000-0x20F_FFFF_FFFF, 64 GiB (6.4.3.5.1). */
	0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01,
	0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0x0f, 0x02, 0x00, 0x00,
	0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
};

static const u8 end_tag[] = { 0x79, 0x00 };

/* Walks the whole SSDT body and checks every object in it. */
static void check_ssdt(const struct acpi_table *t, bool mmio64)
{
	struct cur c = { t->body, (const u8 *)t->body + t->body_len };
	const u8 *scope_end, *dev_end, *prt_end, *crs;
	u64 crs_len;
	u8 nr;

	ck_assert_mem_eq(t->signature, "SSDT", 4);
	ck_assert_uint_eq(t->revision, 2);

	/* Scope (\_SB) spans the whole body. */
	expect(&c, "\x10", 1);
	scope_end = pkg_end(&c);
	ck_assert_ptr_eq(scope_end, c.end);
	expect(&c, "\\_SB_", 5);

	/* Device (PCI0) */
	expect(&c, "\x5b\x82", 2);
	dev_end = pkg_end(&c);
	expect(&c, "PCI0", 4);
	ck_assert_uint_eq(name_int(&c, "_HID"), 0x080ad041);	/* EISAID("PNP0A08") */
	ck_assert_uint_eq(name_int(&c, "_CID"), 0x030ad041);	/* EISAID("PNP0A03") */
	ck_assert_uint_eq(name_int(&c, "_SEG"), 0);
	ck_assert_uint_eq(name_int(&c, "_BBN"), 0);
	ck_assert_uint_eq(name_int(&c, "_UID"), 0);
	crs = name_buffer(&c, "_CRS", &crs_len);
	ck_assert_uint_eq(crs_len, sizeof(pci0_crs) + (mmio64 ? sizeof(pci0_crs_mmio64) : 0) +
					   sizeof(end_tag));
	ck_assert_mem_eq(crs, pci0_crs, sizeof(pci0_crs));
	if (mmio64)
		ck_assert_mem_eq(crs + sizeof(pci0_crs), pci0_crs_mmio64, sizeof(pci0_crs_mmio64));
	ck_assert_mem_eq(crs + crs_len - 2, end_tag, 2);

	/* _PRT: 32 slots x INTA-INTD, each straight to a GSI (Source 0). */
	expect(&c, "\x08_PRT\x12", 6);
	prt_end = pkg_end(&c);
	nr = *c.p++;
	ck_assert_uint_eq(nr, 128);
	for (u32 slot = 0; slot < 32; slot++) {
		for (u32 pin = 0; pin < 4; pin++) {
			const u8 *e_end;

			expect(&c, "\x12", 1);
			e_end = pkg_end(&c);
			ck_assert_uint_eq(*c.p++, 4);
			ck_assert_uint_eq(integer(&c), slot << 16 | 0xffff);
			ck_assert_uint_eq(integer(&c), pin);
			ck_assert_uint_eq(integer(&c), 0);
			ck_assert_uint_eq(integer(&c), 16 + (slot + pin) % 4);
			ck_assert_ptr_eq(c.p, e_end);
			/* The bridge wires the same way. */
			ck_assert_uint_eq(16 + pci_intx_swizzle(slot, pin), 16 + (slot + pin) % 4);
		}
	}
	ck_assert_ptr_eq(c.p, prt_end);
	ck_assert_ptr_eq(c.p, dev_end);

	/* Device (MRES): PNP0C02 reserving the ECAM window for the OS. */
	expect(&c, "\x5b\x82", 2);
	dev_end = pkg_end(&c);
	expect(&c, "MRES", 4);
	ck_assert_uint_eq(name_int(&c, "_HID"), 0x020cd041);	/* EISAID("PNP0C02") */
	ck_assert_uint_eq(name_int(&c, "_UID"), 0);
	crs = name_buffer(&c, "_CRS", &crs_len);
	{
		static const u8 mres[] = {
			0x86, 0x09, 0x00, 0x01,		/* Memory32Fixed, read-write (6.4.3.4) */
			0x00, 0x00, 0x00, 0xe0,		/* base 0xE0000000 */
			0x00, 0x00, 0x10, 0x00,		/* length 1 MiB */
			0x79, 0x00,
		};

		ck_assert_uint_eq(crs_len, sizeof(mres));
		ck_assert_mem_eq(crs, mres, sizeof(mres));
	}
	ck_assert_ptr_eq(c.p, dev_end);
	ck_assert_ptr_eq(c.p, c.end);
}

START_TEST(test_mcfg_bytes)
{
	struct acpi_pci_config c = config(true);
	static const u8 expect_body[ACPI_PCI_MCFG_LEN] = {
		0, 0, 0, 0, 0, 0, 0, 0,				/* reserved */
		0x00, 0x00, 0x00, 0xe0, 0, 0, 0, 0,		/* base address */
		0x00, 0x00,					/* segment group 0 */
		0x00, 0x00,					/* buses 0-0 */
		0, 0, 0, 0,					/* reserved */
	};

	ck_assert_int_eq(acpi_pci_build(&c, &tabs), 0);
	ck_assert_mem_eq(tabs.tables[1].signature, "MCFG", 4);
	ck_assert_uint_eq(tabs.tables[1].revision, 1);
	ck_assert_uint_eq(tabs.tables[1].body_len, ACPI_PCI_MCFG_LEN);
	ck_assert_mem_eq(tabs.tables[1].body, expect_body, sizeof(expect_body));
	/* Four buses' worth of ECAM: end bus 3. */
	c.ecam_size = 4ULL << 20;
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), 0);
	ck_assert_uint_eq(tabs.mcfg[8 + 11], 3);
}
END_TEST

START_TEST(test_ssdt_with_mmio64)
{
	struct acpi_pci_config c = config(true);

	ck_assert_int_eq(acpi_pci_build(&c, &tabs), 0);
	ck_assert_ptr_eq(tabs.tables[0].body, tabs.ssdt);
	check_ssdt(&tabs.tables[0], true);
}
END_TEST

START_TEST(test_ssdt_without_mmio64)
{
	struct acpi_pci_config c = config(false);

	ck_assert_int_eq(acpi_pci_build(&c, &tabs), 0);
	check_ssdt(&tabs.tables[0], false);
}
END_TEST

START_TEST(test_bad_configs)
{
	struct acpi_pci_config c;

	c = config(true);
	c.nr_slots = 0;
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
	c.nr_slots = 33;
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
	c = config(true);
	c.io_base = 0xf000;	/* past 0xFFFF */
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
	c = config(true);
	c.mmio32_base = 0xf0000000;	/* past 4 GiB */
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
	c = config(true);
	c.mmio32_size = 0;
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
	c = config(true);
	c.mmio64_base = ~0ULL - 0x1000;	/* wraps */
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
	c = config(true);
	c.ecam_size = 0x80000;	/* not whole buses */
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
	c = config(true);
	c.ecam_base += 0x1000;	/* not aligned */
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
	c = config(true);
	c.ecam_size = 0;
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), -EINVAL);
}
END_TEST

static u8 sum8(const u8 *p, size_t len)
{
	u8 s = 0;

	while (len--)
		s += *p++;
	return s;
}

START_TEST(test_installed_by_acpi_build)
{
	struct acpi_pci_config c = config(true);
	struct acpi_config acfg = {
		.nr_cpus = 2, .ioapic_addr = 0xfec00000, .ioapic_id = 2,
		.lapic_addr = 0xfee00000, .reset_port = 0xcf9, .reset_value = 6, .sci_irq = 9,
	};
	struct guest_mem mem;
	const u8 *rsdp, *xsdt, *t;
	bool seen_ssdt = false, seen_mcfg = false;
	u64 rsdp_gpa;
	u32 n;

	ck_assert_int_eq(guest_mem_init(&mem, 64ULL << 20), 0);
	ck_assert_int_eq(acpi_pci_build(&c, &tabs), 0);
	acfg.extra_tables = tabs.tables;
	acfg.nr_extra_tables = ACPI_PCI_NR_TABLES;
	ck_assert_int_eq(acpi_build(&mem, &acfg, &rsdp_gpa), 0);
	rsdp = guest_mem_ptr(&mem, rsdp_gpa, 36);
	xsdt = guest_mem_ptr(&mem, le64(rsdp + 24), 36);
	ck_assert_mem_eq(xsdt, "XSDT", 4);
	n = (le32(xsdt + 4) - 36) / 8;
	for (u32 i = 0; i < n; i++) {
		u64 gpa = le64(xsdt + 36 + 8 * i);
		u32 len;

		t = guest_mem_ptr(&mem, gpa, 36);
		ck_assert_ptr_nonnull(t);
		len = le32(t + 4);
		t = guest_mem_ptr(&mem, gpa, len);
		ck_assert_uint_eq(sum8(t, len), 0);
		if (!memcmp(t, "SSDT", 4)) {
			seen_ssdt = true;
			ck_assert_uint_eq(len, 36 + tabs.tables[0].body_len);
			ck_assert_uint_eq(t[8], 2);
			ck_assert_mem_eq(t + 36, tabs.ssdt, tabs.tables[0].body_len);
		} else if (!memcmp(t, "MCFG", 4)) {
			seen_mcfg = true;
			ck_assert_uint_eq(len, 60);
			ck_assert_uint_eq(le64(t + 44), X86_PCI_ECAM_BASE);
		}
	}
	ck_assert(seen_ssdt);
	ck_assert(seen_mcfg);
	guest_mem_destroy(&mem);
}
END_TEST

static Suite *acpi_pci_suite(void)
{
	Suite *s = suite_create("acpi_pci");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_mcfg_bytes);
	tcase_add_test(tc, test_ssdt_with_mmio64);
	tcase_add_test(tc, test_ssdt_without_mmio64);
	tcase_add_test(tc, test_bad_configs);
	tcase_add_test(tc, test_installed_by_acpi_build);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(acpi_pci_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
