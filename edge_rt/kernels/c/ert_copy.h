/* ert_copy: the copy between operands, safe when a crafted file makes an output overlap an input
 * (the validator checks each operand against its own room and keeps scratch apart from the other
 * operands, not outputs from inputs; memcpy of overlapping ranges is undefined behaviour). */
#ifndef ERT_COPY_H
#define ERT_COPY_H

#include <stdint.h>
#include <string.h>

/* Copy n bytes where the two ranges may overlap (memmove without libc's memmove). */
static inline void ert_copy(void *dst, const void *src, int64_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (d == s || n <= 0) return;
    if (d + n <= s || s + n <= d) {
        memcpy(d, s, (size_t)n);
    } else if (d < s) {
        for (int64_t i = 0; i < n; i++) d[i] = s[i];
    } else {
        for (int64_t i = n; i-- > 0;) d[i] = s[i];
    }
}

#endif
