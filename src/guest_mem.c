/*
 * guest_mem: guest RAM as one anonymous mapping split into regions around
 * the 32-bit MMIO hole, and the checked (gpa, len) -> host pointer lookup.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "trapeze/guest_mem.h"

#define GUEST_MEM_PAGE_SIZE 4096ULL

int guest_mem_init(struct guest_mem *mem, u64 ram_size)
{
	u64 low;
	void *map;

	memset(mem, 0, sizeof(*mem));
	/* KVM memory slots are page-granular; the 40-bit cap keeps every gpa sane. */
	if (!ram_size || ram_size % GUEST_MEM_PAGE_SIZE ||
	    ram_size > GUEST_MEM_MAX_SIZE)
		return -EINVAL;

	/*
	 * MAP_NORESERVE: the guest only costs the host what it touches, so a
	 * large RAM size neither needs nor reserves swap up front.
	 */
	map = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -ENOMEM;

	mem->map = map;
	mem->map_size = ram_size;
	mem->ram_size = ram_size;

	/* RAM below the hole starts at gpa 0. */
	low = ram_size < GUEST_MEM_HOLE_START ? ram_size : GUEST_MEM_HOLE_START;
	mem->regions[0] = (struct guest_region){
		.gpa = 0,
		.size = low,
		.host = map,
	};
	mem->nr_regions = 1;

	/* The rest continues at 4 GiB, backed by the same mapping. */
	if (ram_size > low) {
		mem->regions[1] = (struct guest_region){
			.gpa = GUEST_MEM_HOLE_END,
			.size = ram_size - low,
			.host = (u8 *)map + low,
		};
		mem->nr_regions = 2;
	}
	return 0;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (mem->map)
		munmap(mem->map, mem->map_size);
	memset(mem, 0, sizeof(*mem));
}

void *guest_mem_ptr(const struct guest_mem *mem, u64 gpa, u64 len)
{
	unsigned int i;

	/* A zero-length request names no byte; a caller must not use it as one. */
	if (!len)
		return NULL;
	/*
	 * gpa + len wrapping past 2^64 would let a huge len look like a small
	 * range that ends inside RAM: reject it before any comparison.
	 */
	if (len - 1 > UINT64_MAX - gpa)
		return NULL;

	for (i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		u64 offset;

		if (gpa < r->gpa)
			continue;
		offset = gpa - r->gpa;
		/*
		 * Start inside the region and the whole length within what
		 * is left of it (subtraction, not gpa + len, so no overflow):
		 * a range that starts in RAM and runs into the hole or past
		 * the end of RAM would reach host memory beyond the region,
		 * and one that spans both regions is not contiguous on the
		 * guest side.
		 */
		if (offset >= r->size || len > r->size - offset)
			continue;
		return r->host + offset;
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, u64 gpa, void *buf, u64 len)
{
	void *src;

	if (!len)
		return 0;
	/* Every guest-named byte goes through the one checked translation. */
	src = guest_mem_ptr(mem, gpa, len);
	if (!src)
		return -EFAULT;
	memcpy(buf, src, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, u64 gpa, const void *buf,
		    u64 len)
{
	void *dst;

	if (!len)
		return 0;
	dst = guest_mem_ptr(mem, gpa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, buf, len);
	return 0;
}

u64 guest_mem_end(const struct guest_mem *mem)
{
	const struct guest_region *r;

	if (!mem->nr_regions)
		return 0;
	r = &mem->regions[mem->nr_regions - 1];
	return r->gpa + r->size;
}
