/* What every harness here shares: CHECK(cond) aborts with the broken promise and where it is,
 * which libFuzzer reports as a crash with the input that caused it. */
#ifndef VCS_FUZZ_CHECK_H
#define VCS_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#endif
