// jemalloc's built-in options for the executables linked with it (cdp::allocator, CMakeLists.txt).
// MALLOC_CONF in the environment is read after these and overrides them.
//
// dirty_decay_ms/muzzy_decay_ms -1: freed pages stay with jemalloc for reuse instead of being
// returned to the kernel as they age. With the default (10 s) a server whose block cache turns
// over (a lookup that misses reads a 16 KiB block and evicts another) spent ~11% of a lookup's
// CPU in madvise and the TLB shootdowns it sends to the other core (docs/performance.md,
// "Compressed event JSON and jemalloc keeping its pages"). The cost: the process's resident memory stays at its high-water
// mark instead of shrinking after a burst.

extern "C" {
__attribute__((used)) const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
