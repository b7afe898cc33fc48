/*
 * acpi_pci: SSDT and MCFG for the PCI host bridge. See
 * include/trapeze/arch/x86/acpi_pci.h. Resource descriptors are ACPI 6.5
 * section 6.4 (small 6.4.2, large 6.4.3); _PRT is 6.2.13; MCFG is the PCI
 * Firmware Specification 3.0, 4.1.2. The inputs are the VMM's own layout,
 * never the guest's.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/acpi_pci.h"
#include "trapeze/arch/x86/aml.h"
#include "trapeze/devices/pci.h"

#define PCI_CONF1_PORT		0xcf8
#define PCI_CONF1_LEN		8
#define PCI_ECAM_BUS_SIZE	(1ULL << 20)	/* 32 devices x 8 functions x 4 KiB */
#define PRT_ALL_FUNCTIONS	0xffff		/* _PRT Address: low word (6.2.13) */

/* Small resource items (6.4.2): tag = type << 3 | length. */
#define RES_IO			((0x08 << 3) | 7)	/* 6.4.2.5 I/O Port Descriptor */
#define RES_IO_DECODE16		0x01
#define RES_END_TAG		((0x0f << 3) | 1)	/* 6.4.2.9 */

/* Large resource items (6.4.3): tag byte, then a 16-bit length of the rest. */
#define RES_MEM32_FIXED		0x86	/* 6.4.3.4, length 9 */
#define RES_DWORD_ADDR		0x87	/* 6.4.3.5.2, length 23 */
#define RES_WORD_ADDR		0x88	/* 6.4.3.5.3, length 13 */
#define RES_QWORD_ADDR		0x8a	/* 6.4.3.5.1, length 43 */
#define RES_MEM32_FIXED_LEN	9
#define RES_DWORD_ADDR_LEN	23
#define RES_WORD_ADDR_LEN	13
#define RES_QWORD_ADDR_LEN	43

/* Address space descriptors: Resource Type, General Flags, Type Specific Flags. */
#define ADDR_TYPE_MEM		0
#define ADDR_TYPE_IO		1
#define ADDR_TYPE_BUS		2
#define ADDR_GF_PRODUCER	0		/* bit 0 clear: produces (a bridge window) */
#define ADDR_GF_MIN_FIXED	(1u << 2)
#define ADDR_GF_MAX_FIXED	(1u << 3)
#define ADDR_WINDOW_FLAGS	(ADDR_GF_PRODUCER | ADDR_GF_MIN_FIXED | ADDR_GF_MAX_FIXED)
#define ADDR_IO_RNG_ENTIRE	0x3		/* Table 6.51 _RNG: ISA and non-ISA ranges */
#define ADDR_MEM_RW		0x1		/* Table 6.50 _RW; _MEM 0: non-cacheable */
#define MEM32_FIXED_RW		0x1

/* MCFG (PCI Firmware 3.0, Table 4-2/4-3). */
#define MCFG_RESERVED_LEN	8
#define MCFG_ALLOC_BASE		0
#define MCFG_ALLOC_SEGMENT	8
#define MCFG_ALLOC_START_BUS	10
#define MCFG_ALLOC_END_BUS	11

/* Room for the resource templates built below. */
#define CRS_MAX			128

struct res_buf {
	u8 b[CRS_MAX];
	size_t len;
};

static void res_bytes(struct res_buf *r, const void *p, size_t n)
{
	/* Callers add a fixed, small set of descriptors: CRS_MAX holds them all. */
	if (n <= sizeof(r->b) - r->len) {
		memcpy(r->b + r->len, p, n);
		r->len += n;
	}
}

static void res_le(struct res_buf *r, u64 v, unsigned int n)
{
	u8 b[8];

	for (unsigned int i = 0; i < n; i++)
		b[i] = (u8)(v >> (8 * i));
	res_bytes(r, b, n);
}

/*
 * A Word/DWord/QWord Address Space Descriptor for the window [min, min + len)
 * (6.4.3.5): granularity 0, no translation, both ends fixed.
 */
static void res_addr(struct res_buf *r, u8 tag, u16 body_len, unsigned int width, u8 type,
		     u8 type_flags, u64 min, u64 len)
{
	u8 head[6] = { tag, (u8)body_len, (u8)(body_len >> 8), type, ADDR_WINDOW_FLAGS,
		       type_flags };

	res_bytes(r, head, sizeof(head));
	res_le(r, 0, width);			/* _GRA */
	res_le(r, min, width);			/* _MIN */
	res_le(r, min + len - 1, width);	/* _MAX */
	res_le(r, 0, width);			/* _TRA */
	res_le(r, len, width);			/* _LEN */
}

static void res_io_port(struct res_buf *r, u16 port, u8 len)
{
	u8 d[8] = { RES_IO, RES_IO_DECODE16, (u8)port, (u8)(port >> 8), (u8)port,
		    (u8)(port >> 8), 1, len };

	res_bytes(r, d, sizeof(d));
}

static void res_end(struct res_buf *r)
{
	u8 d[2] = { RES_END_TAG, 0 };	/* checksum 0: "treat as valid" */

	res_bytes(r, d, sizeof(d));
}

static void acpi_pci_crs(const struct acpi_pci_config *c, struct res_buf *r)
{
	res_addr(r, RES_WORD_ADDR, RES_WORD_ADDR_LEN, 2, ADDR_TYPE_BUS, 0, 0, 1);
	res_io_port(r, PCI_CONF1_PORT, PCI_CONF1_LEN);
	res_addr(r, RES_WORD_ADDR, RES_WORD_ADDR_LEN, 2, ADDR_TYPE_IO, ADDR_IO_RNG_ENTIRE,
		 c->io_base, c->io_size);
	res_addr(r, RES_DWORD_ADDR, RES_DWORD_ADDR_LEN, 4, ADDR_TYPE_MEM, ADDR_MEM_RW,
		 c->mmio32_base, c->mmio32_size);
	if (c->mmio64_size)
		res_addr(r, RES_QWORD_ADDR, RES_QWORD_ADDR_LEN, 8, ADDR_TYPE_MEM, ADDR_MEM_RW,
			 c->mmio64_base, c->mmio64_size);
	res_end(r);
}

/* _PRT (6.2.13): Package { Address, Pin, Source (0: a GSI), Source Index (the GSI) }. */
static void acpi_pci_prt(struct aml *a, const struct acpi_pci_config *c)
{
	aml_name_decl(a, "_PRT");
	aml_package_open(a, (u8)(c->nr_slots * PCI_NR_INTX_PINS));
	for (unsigned int slot = 0; slot < c->nr_slots; slot++) {
		for (unsigned int pin = 0; pin < PCI_NR_INTX_PINS; pin++) {
			aml_package_open(a, 4);
			aml_integer(a, (u64)slot << 16 | PRT_ALL_FUNCTIONS);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, c->intx_gsi_base + pci_intx_swizzle(slot, pin));
			aml_close(a);
		}
	}
	aml_close(a);
}

static long acpi_pci_ssdt(const struct acpi_pci_config *c, u8 *buf, size_t cap)
{
	struct res_buf crs = { .len = 0 }, mres = { .len = 0 };
	u8 ecam[4] = { RES_MEM32_FIXED, RES_MEM32_FIXED_LEN, 0, MEM32_FIXED_RW };
	struct aml a;

	acpi_pci_crs(c, &crs);
	/* Memory32Fixed (6.4.3.4): the ECAM window, reserved for the OS to find. */
	res_bytes(&mres, ecam, sizeof(ecam));
	res_le(&mres, c->ecam_base, 4);
	res_le(&mres, c->ecam_size, 4);
	res_end(&mres);

	aml_init(&a, buf, cap);
	aml_scope_open(&a, "\\_SB");

	aml_device_open(&a, "PCI0");
	aml_name_decl(&a, "_HID");
	aml_eisaid(&a, "PNP0A08");
	aml_name_decl(&a, "_CID");
	aml_eisaid(&a, "PNP0A03");
	aml_name_decl(&a, "_SEG");
	aml_integer(&a, 0);
	aml_name_decl(&a, "_BBN");
	aml_integer(&a, 0);
	aml_name_decl(&a, "_UID");
	aml_integer(&a, 0);
	aml_name_decl(&a, "_CRS");
	aml_buffer(&a, crs.b, crs.len);
	acpi_pci_prt(&a, c);
	aml_close(&a);

	aml_device_open(&a, "MRES");
	aml_name_decl(&a, "_HID");
	aml_eisaid(&a, "PNP0C02");
	aml_name_decl(&a, "_UID");
	aml_integer(&a, 0);
	aml_name_decl(&a, "_CRS");
	aml_buffer(&a, mres.b, mres.len);
	aml_close(&a);

	aml_close(&a);
	return aml_finish(&a);
}

static void acpi_pci_mcfg(const struct acpi_pci_config *c, u8 *out)
{
	u8 *alloc = out + MCFG_RESERVED_LEN;

	memset(out, 0, ACPI_PCI_MCFG_LEN);
	for (unsigned int i = 0; i < 8; i++)
		alloc[MCFG_ALLOC_BASE + i] = (u8)(c->ecam_base >> (8 * i));
	alloc[MCFG_ALLOC_SEGMENT] = 0;
	alloc[MCFG_ALLOC_START_BUS] = 0;
	alloc[MCFG_ALLOC_END_BUS] = (u8)(c->ecam_size / PCI_ECAM_BUS_SIZE - 1);
}

/* [base, base + size) is non-empty, does not wrap and ends at or below limit. */
static bool window_ok(u64 base, u64 size, u64 limit)
{
	return size && base <= limit && size - 1 <= limit - base;
}

static int acpi_pci_check(const struct acpi_pci_config *c)
{
	if (c->nr_slots == 0 || c->nr_slots > PCI_MAX_SLOTS)
		return -EINVAL;
	if (!window_ok(c->ecam_base, c->ecam_size, 0xffffffffULL) ||
	    c->ecam_size % PCI_ECAM_BUS_SIZE || c->ecam_size / PCI_ECAM_BUS_SIZE > 256 ||
	    c->ecam_base % PCI_ECAM_BUS_SIZE)
		return -EINVAL;
	if (!window_ok(c->io_base, c->io_size, 0xffff) ||
	    !window_ok(c->mmio32_base, c->mmio32_size, 0xffffffffULL))
		return -EINVAL;
	if (c->mmio64_size && !window_ok(c->mmio64_base, c->mmio64_size, ~0ULL))
		return -EINVAL;
	return 0;
}

int acpi_pci_build(const struct acpi_pci_config *cfg, struct acpi_pci_tables *out)
{
	long ssdt_len;
	int r;

	r = acpi_pci_check(cfg);
	if (r)
		return r;
	ssdt_len = acpi_pci_ssdt(cfg, out->ssdt, sizeof(out->ssdt));
	if (ssdt_len < 0)
		return (int)ssdt_len;
	acpi_pci_mcfg(cfg, out->mcfg);

	memset(out->tables, 0, sizeof(out->tables));
	memcpy(out->tables[0].signature, "SSDT", 4);
	out->tables[0].revision = ACPI_PCI_SSDT_REVISION;
	out->tables[0].body = out->ssdt;
	out->tables[0].body_len = (u32)ssdt_len;
	memcpy(out->tables[1].signature, "MCFG", 4);
	out->tables[1].revision = ACPI_PCI_MCFG_REVISION;
	out->tables[1].body = out->mcfg;
	out->tables[1].body_len = ACPI_PCI_MCFG_LEN;
	return 0;
}
