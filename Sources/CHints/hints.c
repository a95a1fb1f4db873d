// mremap needs _GNU_SOURCE, which Swift's Glibc module is not built with.
#define _GNU_SOURCE
#include "hints.h"
#include <stdlib.h>

#if defined(__linux__)
#include <sys/mman.h>

void *vodsim_map_huge(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    (void)madvise(p, bytes, MADV_HUGEPAGE);  // a hint: where huge pages are off, nothing changes
    return p;
}

void *vodsim_remap_huge(void *old, size_t oldBytes, size_t bytes) {
    void *p = mremap(old, oldBytes, bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return NULL;
    (void)madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

void vodsim_unmap(void *address, size_t bytes) { munmap(address, bytes); }
#else
void *vodsim_map_huge(size_t bytes) { return malloc(bytes); }
void *vodsim_remap_huge(void *old, size_t oldBytes, size_t bytes) { (void)oldBytes; return realloc(old, bytes); }
void vodsim_unmap(void *address, size_t bytes) { (void)bytes; free(address); }
#endif
