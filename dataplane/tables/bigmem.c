/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/tables/bigmem.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>

#define BIGMEM_PAGE (2u << 20) /* a transparent huge page on x86-64 */

void *
bigmem_alloc(size_t size)
{
	size_t len, map;
	uint8_t *p, *a;

	if (size == 0 || size > SIZE_MAX - 2 * BIGMEM_PAGE)
		return NULL;
	len = RTE_ALIGN_CEIL(size, BIGMEM_PAGE);
	map = len + BIGMEM_PAGE;
	p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Huge pages need 2 MiB alignment: give back the ragged ends. */
	a = RTE_PTR_ALIGN_CEIL(p, BIGMEM_PAGE);
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + map > a + len)
		munmap(a + len, (size_t)(p + map - (a + len)));
	(void)madvise(a, len, MADV_HUGEPAGE); /* a hint: 4 KiB pages if refused */
	memset(a, 0, size);
	return a;
}

void
bigmem_free(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, RTE_ALIGN_CEIL(size, BIGMEM_PAGE));
}
