#ifndef UNFOLD_CPREFETCH_H
#define UNFOLD_CPREFETCH_H
/* Software prefetch, which Swift has no intrinsic for. Inlined at the call site. */
static inline void unfold_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/* Prefetches `bytes` starting at p, one 64-byte cache line at a time. */
static inline void unfold_prefetch_range(const void *p, long bytes) {
    const char *c = (const char *)p;
    for (long offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset, 0, 3);
}
#endif
