/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_BIGMEM_H
#define CUCO_DATAPLANE_BIGMEM_H

#include <stddef.h>

/*
 * Large tables that workers read at random (subscriber meters, counters,
 * host addresses: tens to hundreds of MiB at a million subscribers), in
 * plain memory on transparent huge pages where the kernel grants them
 * (MADV_HUGEPAGE; 4 KiB pages otherwise). With 4 KiB pages nearly every
 * access to such a table by a random subscriber misses the TLB; with 2 MiB
 * pages the tables stay in it. The DPDK heap does not help without
 * hugetlbfs: its memory then is a shared memory file, which the kernel
 * does not back with huge pages.
 *
 * bigmem_alloc() returns @size zeroed bytes, 2 MiB aligned, every page
 * touched (so that the fast path takes no page fault), or NULL. Control
 * thread only. bigmem_free() takes the pointer (or NULL) and the same @size.
 */
void *bigmem_alloc(size_t size);
void bigmem_free(void *p, size_t size);

#endif
