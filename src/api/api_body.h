/* The body of a /v1 request: empty (or only whitespace), or one JSON object. A pure function
 * over bytes, so that the fuzz harness runs the parser the API runs. */
#ifndef VCS_API_BODY_H
#define VCS_API_BODY_H

#include <stddef.h>

#include <jansson.h>

/* Parses the n bytes at p (need not be NUL-terminated). 0 with *out the object, or NULL for an
 * empty body; -1 with a reason in err (malformed JSON with its line and column, a NUL byte,
 * invalid UTF-8, duplicate keys, anything but an object). */
int api_body_parse(const char *p, size_t n, json_t **out, char *err, size_t errlen);

#endif
