/* Error messages into caller-supplied buffers, the convention of every module that reports
 * "what went wrong" upward (char *err, size_t errlen): a NULL or empty buffer is allowed. */
#ifndef VCS_ERRMSG_H
#define VCS_ERRMSG_H

#include <stddef.h>

void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
