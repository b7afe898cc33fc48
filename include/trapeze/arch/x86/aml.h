/*
 * aml: a tiny emitter of ACPI Machine Language bytes (ACPI 6.5 chapter 20,
 * "ACPI Machine Language Specification"), enough for trapeze's DSDT and for
 * SSDTs later issues add: named objects, integers, packages, scopes,
 * devices, buffers and EISA IDs.
 *
 * The emitter writes into a caller-supplied buffer. Errors are sticky: once
 * an emit fails (no room, a bad name, too deep), every later emit does
 * nothing and aml_finish() reports the first error, so builders can emit a
 * whole block and check once.
 *
 * Objects with a PkgLength (Scope, Device, Package) are opened, filled and
 * closed in stack order; aml_close() inserts the PkgLength once the size of
 * the contents is known.
 */
#ifndef TRAPEZE_ARCH_X86_AML_H
#define TRAPEZE_ARCH_X86_AML_H

#include "trapeze/types.h"

#define AML_MAX_DEPTH 16

struct aml {
	u8 *buf;
	size_t cap;
	size_t len;
	size_t open[AML_MAX_DEPTH];	/* where each open object's PkgLength goes */
	unsigned int depth;
	int err;			/* 0, or the first -errno */
};

void aml_init(struct aml *a, u8 *buf, size_t cap);

/*
 * Bytes written so far, or -errno: -ENOSPC when the buffer was too small,
 * -EINVAL for a bad name or value, or an object left open (or closed twice).
 */
long aml_finish(struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, u8 b);

/*
 * A NameString (ACPI 6.5 20.2.2): an optional leading '\' (root) or '^'s
 * (parent), then segments separated by '.', each 1-4 characters of A-Z, 0-9
 * and '_' (not starting with a digit), padded with '_' to 4: "\\_SB.COM1".
 */
void aml_name(struct aml *a, const char *path);

/* The smallest integer encoding: ZeroOp, OneOp, Byte/Word/DWord/QWordConst. */
void aml_integer(struct aml *a, u64 v);

/* Name(path, ...): the object's value is whatever is emitted next. */
void aml_name_decl(struct aml *a, const char *path);

/* An EISA ID such as "PNP0501" as a DWordConst (ACPI 6.5 19.6.35 EISAID). */
void aml_eisaid(struct aml *a, const char *id);

/* Buffer(n) { bytes }: a complete buffer object, e.g. a resource template. */
void aml_buffer(struct aml *a, const void *data, size_t n);

/* Scope(path) {, Device(path) {, Package(n) {: closed with aml_close(). */
void aml_scope_open(struct aml *a, const char *path);
void aml_device_open(struct aml *a, const char *path);
void aml_package_open(struct aml *a, u8 nr_elements);
void aml_close(struct aml *a);

#endif
