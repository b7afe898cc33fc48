/*
 * acpi: builds the guest's ACPI tables. See include/trapeze/arch/x86/acpi.h
 * for what is built; section and table numbers below are ACPI 6.5's.
 *
 * Tables are bump-allocated from the start of [X86_ACPI_BASE, X86_ACPI_END)
 * and written straight into guest RAM through one host pointer to the whole
 * range, which guest_mem has already checked. Nothing here comes from the
 * guest: the inputs are the VMM's own config.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/acpi.h"
#include "trapeze/arch/x86/aml.h"
#include "trapeze/arch/x86/fw_table.h"
#include "trapeze/arch/x86/layout.h"
#include "trapeze/devices/misc.h"
#include "trapeze/devices/rtc.h"
#include "trapeze/devices/serial.h"

#define ACPI_OEM_ID		"TRAPEZ"	/* 6 bytes */
#define ACPI_OEM_TABLE_ID	"TRAPEZE "	/* 8 bytes */
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"TRPZ"		/* 4 bytes */
#define ACPI_CREATOR_REVISION	1

/* RSDP, 5.2.5.3 Table 5.3. */
#define RSDP_SIGNATURE		"RSD PTR "
#define RSDP_REVISION		2		/* ACPI 2.0 and later: XSDT present */
#define RSDP_V1_LEN		20		/* what the first checksum covers */
#define RSDP_LEN		36
#define RSDP_CHECKSUM		8
#define RSDP_OEM_ID		9
#define RSDP_REV		15
#define RSDP_RSDT_ADDR		16
#define RSDP_LENGTH		20
#define RSDP_XSDT_ADDR		24
#define RSDP_EXT_CHECKSUM	32

/* System description table header, 5.2.6 Table 5.4. */
#define HDR_LENGTH		4
#define HDR_REVISION		8
#define HDR_CHECKSUM		9
#define HDR_OEM_ID		10
#define HDR_OEM_TABLE_ID	16
#define HDR_OEM_REVISION	24
#define HDR_CREATOR_ID		28
#define HDR_CREATOR_REVISION	32

#define RSDT_REVISION		1		/* 5.2.7 */
#define XSDT_REVISION		1		/* 5.2.8 */
#define DSDT_REVISION		2		/* 5.2.11.1: 2 = 64-bit AML integers */

/* Generic Address Structure, 5.2.3.2 Table 5.1. */
#define GAS_LEN			12
#define GAS_SPACE_SYSTEM_IO	1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2

/* FADT, 5.2.9 Table 5.9: byte offsets of the fields written here. */
#define FADT_REVISION		6
#define FADT_MINOR_REVISION	5		/* ACPI 6.5 */
#define FADT_LEN		276
#define FADT_FIRMWARE_CTRL	36
#define FADT_DSDT		40
#define FADT_PM_PROFILE		45		/* 0: unspecified */
#define FADT_SCI_INT		46
#define FADT_SMI_CMD		48
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM_TMR_BLK		76
#define FADT_PM1_EVT_LEN	88
#define FADT_PM1_CNT_LEN	89
#define FADT_P_LVL2_LAT		96
#define FADT_P_LVL3_LAT		98
#define FADT_CENTURY		108
#define FADT_IAPC_BOOT_ARCH	109
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_MINOR_VERSION	131
#define FADT_X_FIRMWARE_CTRL	132
#define FADT_X_DSDT		140
#define FADT_X_PM1A_EVT_BLK	148
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_HYPERVISOR_ID	268

/* P_LVL2_LAT > 100 and P_LVL3_LAT > 1000 say C2 and C3 are unsupported. */
#define FADT_NO_C2_LATENCY	101
#define FADT_NO_C3_LATENCY	1001

/* FADT Flags, 5.2.9 Table 5.10. */
#define FADT_F_WBINVD		(1u << 0)	/* required since ACPI 2.0 */
#define FADT_F_PROC_C1		(1u << 2)	/* C1 (hlt) on every processor */
#define FADT_F_PWR_BUTTON	(1u << 4)	/* no fixed-feature power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* no fixed-feature sleep button */
#define FADT_F_FIX_RTC		(1u << 6)	/* no RTC wake status in PM1 */
#define FADT_F_RESET_REG_SUP	(1u << 10)

/*
 * IA-PC boot architecture flags, 5.2.9.3 Table 5.11. LEGACY_DEVICES: ISA
 * devices (COM1, the RTC) are there. VGA_NOT_PRESENT: no VGA to probe.
 * Left clear: 8042 (the board's i8042 has no keyboard; with the flag set
 * Linux probes it and waits for a reply that never comes), MSI_NOT_SUPPORTED
 * (MSI works through the in-kernel LAPICs), CMOS_RTC_NOT_PRESENT (there is
 * one, devices/rtc.h).
 */
#define IAPC_LEGACY_DEVICES	(1u << 0)
#define IAPC_VGA_NOT_PRESENT	(1u << 2)

/* FACS, 5.2.10 Table 5.14: no checksum, 64-byte aligned. */
#define FACS_LEN		64
#define FACS_ALIGN		64
#define FACS_LENGTH		4
#define FACS_VERSION		32
#define FACS_VERSION_VALUE	2

/* MADT, 5.2.12 Table 5.19; flags Table 5.20; structure types Table 5.21. */
#define MADT_REVISION		5
#define MADT_LAPIC_ADDR		36
#define MADT_FLAGS		40
#define MADT_HDR_LEN		44
#define MADT_PCAT_COMPAT	(1u << 0)	/* dual 8259 PIC present */
#define MADT_TYPE_LAPIC		0		/* 5.2.12.2 */
#define MADT_LAPIC_LEN		8
#define MADT_LAPIC_ENABLED	(1u << 0)
#define MADT_TYPE_IOAPIC	1		/* 5.2.12.3 */
#define MADT_IOAPIC_LEN		12
#define MADT_TYPE_ISO		2		/* 5.2.12.5 */
#define MADT_ISO_LEN		10
#define MADT_TYPE_LAPIC_NMI	4		/* 5.2.12.7 */
#define MADT_LAPIC_NMI_LEN	6
#define MADT_ALL_PROCESSORS	0xff		/* ACPI Processor UID: all */
#define MADT_NR_ISOS		1

/* MPS INTI flags, 5.2.12.5 Table 5.26: polarity bits 1-0, trigger bits 3-2. */
#define MPS_INTI_CONFORMING	0x0
#define MPS_INTI_ACTIVE_HIGH	0x1
#define MPS_INTI_LEVEL		(0x3 << 2)

#define ISA_BUS			0
#define LAPIC_LINT1		1

/* Small resource descriptors, 6.4.2: tag byte = type << 3 | length. */
#define RES_IRQ_NOFLAGS		((0x04 << 3) | 2)	/* 6.4.2.1, edge, active-high */
#define RES_IO			((0x08 << 3) | 7)	/* 6.4.2.5 */
#define RES_IO_DECODE16		0x01
#define RES_END_TAG		((0x0f << 3) | 1)	/* 6.4.2.9 */

#define ACPI_TABLE_ALIGN	16
#define ACPI_MAX_LISTED		(2 + ACPI_MAX_EXTRA_TABLES)	/* FADT, MADT, extras */

struct acpi_writer {
	u8 *host;		/* host view of [X86_ACPI_BASE, X86_ACPI_END) */
	u64 size;
	u64 used;		/* bytes allocated from the start */
	u64 listed[ACPI_MAX_LISTED];	/* guest addresses the RSDT/XSDT point at */
	unsigned int nr_listed;
};

static u64 acpi_gpa(u64 off)
{
	return X86_ACPI_BASE + off;
}

/*
 * Starts a table at the next align-ed offset with at least min_len bytes
 * free. *room is how many bytes are free there. 0 or -ENOSPC.
 */
static int acpi_begin(struct acpi_writer *w, u64 align, u64 min_len, u64 *off,
		      u64 *room)
{
	u64 start = (w->used + align - 1) & ~(align - 1);

	if (start > w->size || min_len > w->size - start)
		return -ENOSPC;
	*off = start;
	*room = w->size - start;
	return 0;
}

/* Ends the table that acpi_begin() started at off: it is len bytes. */
static void acpi_end(struct acpi_writer *w, u64 off, u64 len)
{
	w->used = off + len;
}

/* Fills in the header of the len-byte table at off and checksums it. */
static void acpi_header(struct acpi_writer *w, u64 off, const char sig[4],
			u32 len, u8 revision)
{
	u8 *t = w->host + off;

	memcpy(t, sig, 4);
	fw_put32(t + HDR_LENGTH, len);
	t[HDR_REVISION] = revision;
	t[HDR_CHECKSUM] = 0;
	memcpy(t + HDR_OEM_ID, ACPI_OEM_ID, 6);
	memcpy(t + HDR_OEM_TABLE_ID, ACPI_OEM_TABLE_ID, 8);
	fw_put32(t + HDR_OEM_REVISION, ACPI_OEM_REVISION);
	memcpy(t + HDR_CREATOR_ID, ACPI_CREATOR_ID, 4);
	fw_put32(t + HDR_CREATOR_REVISION, ACPI_CREATOR_REVISION);
	t[HDR_CHECKSUM] = fw_table_checksum(t, len);
}

static void acpi_list(struct acpi_writer *w, u64 off)
{
	/* acpi_build() checked nr_extra_tables, so this never overflows. */
	if (w->nr_listed < ACPI_MAX_LISTED)
		w->listed[w->nr_listed++] = acpi_gpa(off);
}

static void put_gas(u8 *p, u8 space, u8 bit_width, u8 access, u64 addr)
{
	p[0] = space;
	p[1] = bit_width;
	p[2] = 0;		/* bit offset */
	p[3] = access;
	fw_put64(p + 4, addr);
}

static int acpi_build_facs(struct acpi_writer *w, u64 *gpa)
{
	u64 off, room;
	u8 *t;
	int r;

	r = acpi_begin(w, FACS_ALIGN, FACS_LEN, &off, &room);
	if (r)
		return r;
	t = w->host + off;
	memcpy(t, "FACS", 4);
	fw_put32(t + FACS_LENGTH, FACS_LEN);
	t[FACS_VERSION] = FACS_VERSION_VALUE;
	/* Hardware signature, waking vectors, global lock, flags: all 0. */
	acpi_end(w, off, FACS_LEN);
	*gpa = acpi_gpa(off);
	return 0;
}

/* An ISA device: Device(name) { _HID, _UID, _CRS: one I/O range and one IRQ }. */
static void aml_isa_device(struct aml *a, const char *name, const char *hid,
			   unsigned int uid, u16 port, u8 nr_ports, u8 irq)
{
	u8 crs[] = {
		RES_IO, RES_IO_DECODE16,
		(u8)port, (u8)(port >> 8),	/* minimum base */
		(u8)port, (u8)(port >> 8),	/* maximum base */
		1,				/* alignment */
		nr_ports,
		RES_IRQ_NOFLAGS, 0, 0,		/* IRQ mask, filled in below */
		RES_END_TAG, 0,			/* checksum 0: "treat as valid" */
	};

	/* The IRQ mask is 16 bits, one per ISA IRQ (callers pass 0..15). */
	fw_put16(crs + 9, (u16)(1u << (irq & 15)));
	aml_device_open(a, name);
	aml_name_decl(a, "_HID");
	aml_eisaid(a, hid);
	aml_name_decl(a, "_UID");
	aml_integer(a, uid);
	aml_name_decl(a, "_CRS");
	aml_buffer(a, crs, sizeof(crs));
	aml_close(a);
}

static int acpi_build_dsdt(struct acpi_writer *w, u64 *gpa)
{
	struct aml a;
	u64 off, room;
	long len;
	int r;

	r = acpi_begin(w, ACPI_TABLE_ALIGN, ACPI_TABLE_HEADER_LEN, &off, &room);
	if (r)
		return r;
	aml_init(&a, w->host + off + ACPI_TABLE_HEADER_LEN, room - ACPI_TABLE_HEADER_LEN);

	/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved (7.4.2). */
	aml_name_decl(&a, "\\_S5");
	aml_package_open(&a, 4);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_close(&a);

	aml_scope_open(&a, "\\_SB");
	aml_isa_device(&a, "COM1", "PNP0501", 1, SERIAL_COM1_BASE, SERIAL_NR_PORTS,
		       SERIAL_COM1_IRQ);
	aml_isa_device(&a, "RTC", "PNP0B00", 0, RTC_PORT_BASE, RTC_NR_PORTS, RTC_IRQ);
	aml_close(&a);

	len = aml_finish(&a);
	if (len < 0)
		return (int)len;
	len += ACPI_TABLE_HEADER_LEN;
	acpi_header(w, off, "DSDT", (u32)len, DSDT_REVISION);
	acpi_end(w, off, (u64)len);
	*gpa = acpi_gpa(off);
	return 0;
}

static int acpi_build_fadt(struct acpi_writer *w, const struct acpi_config *cfg,
			   u64 facs, u64 dsdt)
{
	u64 off, room;
	u8 *t;
	int r;

	r = acpi_begin(w, ACPI_TABLE_ALIGN, FADT_LEN, &off, &room);
	if (r)
		return r;
	t = w->host + off;
	/* Addresses below 4 GiB go in both the 32- and the 64-bit fields. */
	fw_put32(t + FADT_FIRMWARE_CTRL, (u32)facs);
	fw_put32(t + FADT_DSDT, (u32)dsdt);
	t[FADT_PM_PROFILE] = 0;
	fw_put16(t + FADT_SCI_INT, cfg->sci_irq);
	fw_put32(t + FADT_SMI_CMD, 0);	/* no SMI: always in ACPI mode (4.8.2.1) */
	fw_put32(t + FADT_PM1A_EVT_BLK, ACPI_PM1A_EVT_PORT);
	fw_put32(t + FADT_PM1A_CNT_BLK, ACPI_PM1A_CNT_PORT);
	fw_put32(t + FADT_PM_TMR_BLK, 0);	/* no PM timer (optional since ACPI 5.0a) */
	t[FADT_PM1_EVT_LEN] = ACPI_PM1A_EVT_LEN;
	t[FADT_PM1_CNT_LEN] = ACPI_PM1A_CNT_LEN;
	fw_put16(t + FADT_P_LVL2_LAT, FADT_NO_C2_LATENCY);
	fw_put16(t + FADT_P_LVL3_LAT, FADT_NO_C3_LATENCY);
	t[FADT_CENTURY] = RTC_REG_CENTURY;
	fw_put16(t + FADT_IAPC_BOOT_ARCH, IAPC_LEGACY_DEVICES | IAPC_VGA_NOT_PRESENT);
	fw_put32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
					 FADT_F_SLP_BUTTON | FADT_F_FIX_RTC |
					 FADT_F_RESET_REG_SUP);
	put_gas(t + FADT_RESET_REG, GAS_SPACE_SYSTEM_IO, 8, GAS_ACCESS_BYTE,
		cfg->reset_port);
	t[FADT_RESET_VALUE] = cfg->reset_value;
	t[FADT_MINOR_VERSION] = FADT_MINOR_REVISION;
	fw_put64(t + FADT_X_FIRMWARE_CTRL, facs);
	fw_put64(t + FADT_X_DSDT, dsdt);
	/* PM1 registers are 16 bits wide (4.8.3.1); the blocks' widths in bits. */
	put_gas(t + FADT_X_PM1A_EVT_BLK, GAS_SPACE_SYSTEM_IO, ACPI_PM1A_EVT_LEN * 8,
		GAS_ACCESS_WORD, ACPI_PM1A_EVT_PORT);
	put_gas(t + FADT_X_PM1A_CNT_BLK, GAS_SPACE_SYSTEM_IO, ACPI_PM1A_CNT_LEN * 8,
		GAS_ACCESS_WORD, ACPI_PM1A_CNT_PORT);
	memcpy(t + FADT_HYPERVISOR_ID, "TRAPEZE ", 8);
	acpi_header(w, off, "FACP", FADT_LEN, FADT_REVISION);
	acpi_end(w, off, FADT_LEN);
	acpi_list(w, off);
	return 0;
}

static u8 *madt_iso(u8 *p, u8 isa_irq, u32 gsi, u16 flags)
{
	p[0] = MADT_TYPE_ISO;
	p[1] = MADT_ISO_LEN;
	p[2] = ISA_BUS;
	p[3] = isa_irq;
	fw_put32(p + 4, gsi);
	fw_put16(p + 8, flags);
	return p + MADT_ISO_LEN;
}

static int acpi_build_madt(struct acpi_writer *w, const struct acpi_config *cfg)
{
	u64 len = MADT_HDR_LEN + (u64)cfg->nr_cpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN +
		  MADT_NR_ISOS * MADT_ISO_LEN + MADT_LAPIC_NMI_LEN;
	u64 off, room;
	unsigned int i;
	u8 *t, *p;
	int r;

	r = acpi_begin(w, ACPI_TABLE_ALIGN, len, &off, &room);
	if (r)
		return r;
	t = w->host + off;
	fw_put32(t + MADT_LAPIC_ADDR, cfg->lapic_addr);
	fw_put32(t + MADT_FLAGS, MADT_PCAT_COMPAT);
	p = t + MADT_HDR_LEN;
	for (i = 0; i < cfg->nr_cpus; i++, p += MADT_LAPIC_LEN) {
		p[0] = MADT_TYPE_LAPIC;
		p[1] = MADT_LAPIC_LEN;
		p[2] = (u8)i;		/* ACPI Processor UID */
		p[3] = (u8)i;		/* APIC ID */
		fw_put32(p + 4, MADT_LAPIC_ENABLED);
	}
	p[0] = MADT_TYPE_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = cfg->ioapic_id;
	p[3] = 0;
	fw_put32(p + 4, cfg->ioapic_addr);
	fw_put32(p + 8, 0);		/* Global System Interrupt Base */
	p += MADT_IOAPIC_LEN;
	/*
	 * No override for the PIT: KVM's in-kernel PIT raises GSI 0 and KVM's
	 * default routing (kept by msi.c) sends it to I/O APIC pin 0, so IRQ 0
	 * is identity-mapped. An IRQ0->GSI2 override, as on many PCs, would make
	 * Linux wait on pin 2 ("8254 timer not connected to IO-APIC").
	 */
	/* The SCI is active-high, level-triggered (5.2.9, SCI_INT). */
	p = madt_iso(p, cfg->sci_irq, cfg->sci_irq, MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL);
	p[0] = MADT_TYPE_LAPIC_NMI;
	p[1] = MADT_LAPIC_NMI_LEN;
	p[2] = MADT_ALL_PROCESSORS;
	fw_put16(p + 3, MPS_INTI_CONFORMING);
	p[5] = LAPIC_LINT1;
	acpi_header(w, off, "APIC", (u32)len, MADT_REVISION);
	acpi_end(w, off, len);
	acpi_list(w, off);
	return 0;
}

static int acpi_build_extra(struct acpi_writer *w, const struct acpi_table *tab)
{
	u64 len = (u64)ACPI_TABLE_HEADER_LEN + tab->body_len;
	u64 off, room;
	int r;

	r = acpi_begin(w, ACPI_TABLE_ALIGN, len, &off, &room);
	if (r)
		return r;
	if (tab->body_len)
		memcpy(w->host + off + ACPI_TABLE_HEADER_LEN, tab->body, tab->body_len);
	acpi_header(w, off, tab->signature, (u32)len, tab->revision);
	acpi_end(w, off, len);
	acpi_list(w, off);
	return 0;
}

/* The RSDT (32-bit entries, for ACPI 1.0 readers) or the XSDT (64-bit). */
static int acpi_build_sdt(struct acpi_writer *w, bool xsdt, u64 *gpa)
{
	unsigned int entry = xsdt ? 8 : 4, i;
	u64 len = ACPI_TABLE_HEADER_LEN + (u64)w->nr_listed * entry;
	u64 off, room;
	u8 *p;
	int r;

	r = acpi_begin(w, ACPI_TABLE_ALIGN, len, &off, &room);
	if (r)
		return r;
	p = w->host + off + ACPI_TABLE_HEADER_LEN;
	for (i = 0; i < w->nr_listed; i++, p += entry) {
		if (xsdt)
			fw_put64(p, w->listed[i]);
		else
			fw_put32(p, (u32)w->listed[i]);	/* all below 1 MiB */
	}
	acpi_header(w, off, xsdt ? "XSDT" : "RSDT", (u32)len,
		    xsdt ? XSDT_REVISION : RSDT_REVISION);
	acpi_end(w, off, len);
	*gpa = acpi_gpa(off);
	return 0;
}

static void acpi_write_rsdp(struct acpi_writer *w, u64 rsdt, u64 xsdt)
{
	u8 *p = w->host;

	memcpy(p, RSDP_SIGNATURE, 8);
	memcpy(p + RSDP_OEM_ID, ACPI_OEM_ID, 6);
	p[RSDP_REV] = RSDP_REVISION;
	fw_put32(p + RSDP_RSDT_ADDR, (u32)rsdt);
	fw_put32(p + RSDP_LENGTH, RSDP_LEN);
	fw_put64(p + RSDP_XSDT_ADDR, xsdt);
	p[RSDP_CHECKSUM] = 0;
	p[RSDP_CHECKSUM] = fw_table_checksum(p, RSDP_V1_LEN);
	p[RSDP_EXT_CHECKSUM] = 0;
	p[RSDP_EXT_CHECKSUM] = fw_table_checksum(p, RSDP_LEN);
}

/* Pages of host memory: the grain at which acpi_clear() decides to write. */
#define ACPI_CLEAR_CHUNK	4096

static bool acpi_all_zero(const u8 *p, size_t len)
{
	/* p[0] is 0 and every byte equals the one before it. */
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/*
 * Zeroes [p, p + len), writing only to the pages that are not zero already.
 * Guest RAM starts as fresh anonymous memory, which reads as zero without
 * being backed: a memset of the whole 128 KiB range would make 32 pages
 * resident for the few hundred bytes of tables, where a read maps nothing
 * new (the kernel's shared zero page).
 */
static void acpi_clear(u8 *p, u64 len)
{
	while (len) {
		size_t n = len < ACPI_CLEAR_CHUNK ? (size_t)len : ACPI_CLEAR_CHUNK;

		if (!acpi_all_zero(p, n))
			memset(p, 0, n);
		p += n;
		len -= n;
	}
}

static int acpi_check_config(const struct acpi_config *cfg)
{
	unsigned int i;

	if (cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS)
		return -EINVAL;
	if (cfg->nr_extra_tables > ACPI_MAX_EXTRA_TABLES ||
	    (cfg->nr_extra_tables && !cfg->extra_tables))
		return -EINVAL;
	for (i = 0; i < cfg->nr_extra_tables; i++)
		if (cfg->extra_tables[i].body_len && !cfg->extra_tables[i].body)
			return -EINVAL;
	return 0;
}

int acpi_build(const struct guest_mem *mem, const struct acpi_config *cfg,
	       u64 *rsdp_addr)
{
	struct acpi_writer w = { .size = X86_ACPI_END - X86_ACPI_BASE };
	u64 facs, dsdt, rsdt, xsdt, rsdp_off, room;
	unsigned int i;
	int r;

	r = acpi_check_config(cfg);
	if (r)
		return r;
	w.host = guest_mem_ptr(mem, X86_ACPI_BASE, w.size);
	if (!w.host)
		return -EFAULT;
	/* The builders write only non-zero fields: start from all zeroes. */
	acpi_clear(w.host, w.size);

	/* The RSDP comes first, at X86_ACPI_BASE; it is written last. */
	r = acpi_begin(&w, ACPI_TABLE_ALIGN, RSDP_LEN, &rsdp_off, &room);
	if (r)
		goto out_clear;
	acpi_end(&w, rsdp_off, RSDP_LEN);

	r = acpi_build_facs(&w, &facs);
	if (!r)
		r = acpi_build_dsdt(&w, &dsdt);
	if (!r)
		r = acpi_build_fadt(&w, cfg, facs, dsdt);
	if (!r)
		r = acpi_build_madt(&w, cfg);
	for (i = 0; !r && i < cfg->nr_extra_tables; i++)
		r = acpi_build_extra(&w, &cfg->extra_tables[i]);
	if (!r)
		r = acpi_build_sdt(&w, false, &rsdt);
	if (!r)
		r = acpi_build_sdt(&w, true, &xsdt);
	if (r)
		goto out_clear;
	acpi_write_rsdp(&w, rsdt, xsdt);
	*rsdp_addr = acpi_gpa(rsdp_off);
	return 0;

out_clear:
	/* No half-built tables for a guest to trip over. */
	acpi_clear(w.host, w.size);
	return r;
}
