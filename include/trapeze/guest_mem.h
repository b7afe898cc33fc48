/*
 * guest_mem: guest RAM and the only translation from guest-physical
 * addresses to host pointers.
 *
 * RAM is one anonymous mapping. Below 4 GiB it ends at GUEST_MEM_HOLE_START;
 * the 32-bit hole [GUEST_MEM_HOLE_START, 4 GiB) is left for device MMIO, and
 * RAM beyond the hole continues at 4 GiB. Each piece is one region (one KVM
 * memory slot).
 *
 * Every address and length a guest supplies goes through guest_mem_ptr(),
 * which checks the whole range, with overflow, against one region.
 */
#ifndef TRAPEZE_GUEST_MEM_H
#define TRAPEZE_GUEST_MEM_H

#include "trapeze/types.h"

#define GUEST_MEM_HOLE_START 0xC0000000ULL	/* 3 GiB */
#define GUEST_MEM_HOLE_END   0x100000000ULL	/* 4 GiB */
#define GUEST_MEM_MAX_REGIONS 4
/* Beyond this a guest-physical address needs more than 40 bits: refuse. */
#define GUEST_MEM_MAX_SIZE   (1ULL << 40)

struct guest_region {
	u64 gpa;	/* first guest-physical address */
	u64 size;	/* bytes */
	u8 *host;	/* host address of gpa */
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	u64 ram_size;		/* total RAM bytes, hole excluded */
	void *map;		/* the anonymous mapping behind all regions */
	size_t map_size;
};

/*
 * Maps ram_size bytes of RAM (a multiple of 4 KiB, non-zero, at most
 * GUEST_MEM_MAX_SIZE) and lays it out around the hole. Returns 0, -EINVAL for
 * a bad size, -ENOMEM when the host cannot map it.
 */
int guest_mem_init(struct guest_mem *mem, u64 ram_size);
void guest_mem_destroy(struct guest_mem *mem);

/* Host pointer for [gpa, gpa + len) when all of it is RAM in one region, else NULL. len 0 is NULL. */
void *guest_mem_ptr(const struct guest_mem *mem, u64 gpa, u64 len);

/* Copies to/from guest RAM; -EFAULT when any byte is outside RAM. */
int guest_mem_read(const struct guest_mem *mem, u64 gpa, void *buf, u64 len);
int guest_mem_write(const struct guest_mem *mem, u64 gpa, const void *buf, u64 len);

/* The highest guest-physical address + 1 that is RAM. */
u64 guest_mem_end(const struct guest_mem *mem);

#endif
