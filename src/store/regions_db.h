/* The callee region table in the database (SPEC 8): the operator's imports of
 * "number_prefix,region" lines, and the whole table read back for numbers/region_dir.h. */
#ifndef VCS_STORE_REGIONS_DB_H
#define VCS_STORE_REGIONS_DB_H

#include <stddef.h>

#include <jansson.h>
#include <sqlite3.h>

#include "numbers/regions.h"
#include "store/iam.h"

/* CSV "number_prefix,region" (header optional; a prefix is 1 to 20 digits, a leading + is
 * dropped): every good line is stored, a known prefix taking its new region;
 * *out = {"imported": N, "errors": [{line, message}], "prefixes": total}. */
enum iam_rc regions_import(sqlite3 *db, const char *csv, size_t len, json_t **out);
/* The whole table (an empty one when there is none yet), or NULL on failure. */
struct region_table *regions_load(sqlite3 *db);

#endif
