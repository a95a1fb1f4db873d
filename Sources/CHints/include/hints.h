#ifndef VODSIM_CHINTS_H
#define VODSIM_CHINTS_H

#include <stddef.h>

// What Swift cannot express or Glibc's Swift module does not export. The prefetch changes no
// result, only when memory arrives: the event loop asks for the state of events it will handle
// shortly, so that their cache misses overlap instead of each stalling the loop in turn.

/// Starts loading the cache line holding `address` (for writing: the event will update it).
static inline void vodsim_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Anonymous memory of `bytes`, marked for transparent huge pages where the kernel has them;
/// NULL when it cannot be mapped.
void *vodsim_map_huge(size_t bytes);

/// `old` (`oldBytes`, from `vodsim_map_huge`) grown to `bytes`, moved by remapping its pages if
/// need be (nothing is copied); NULL when it cannot be.
void *vodsim_remap_huge(void *old, size_t oldBytes, size_t bytes);

/// Unmaps memory from the two functions above.
void vodsim_unmap(void *address, size_t bytes);

#endif
