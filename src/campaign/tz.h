/* IANA time zones from the system tz database (/usr/share/zoneinfo, TZif files, RFC 8536), read
 * by us: the process-wide TZ of localtime_r cannot serve many zones from several threads.
 * Offsets come from the 64-bit transition table; after the last transition the last one's
 * offset holds (Debian 12 ships "fat" files that list transitions to 2037). A struct tz is
 * immutable once loaded: any thread may read it. */
#ifndef VCS_CAMPAIGN_TZ_H
#define VCS_CAMPAIGN_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 64

struct tz;

/* A name such as "Asia/Shanghai": letters, digits, '/', '_', '-', '+', no "." segment. */
bool tz_name_valid(const char *name);
/* NULL with a message when the name is not valid or the database has no such zone. */
struct tz *tz_load(const char *name, char *err, size_t errlen);
/* Loads from a TZif image in memory (the unit tests' own zones). */
struct tz *tz_parse(const unsigned char *data, size_t len, char *err, size_t errlen);
void tz_free(struct tz *z);
/* Seconds east of UTC at the UTC instant t (Unix seconds). */
int32_t tz_offset(const struct tz *z, int64_t t);

#endif
