/* The callee region table in the database (see regions_db.h). */
#include "store/regions_db.h"

#include <stdlib.h>
#include <string.h>

#include "store/csv_lines.h"
#include "store/inventory.h"
#include "store/mgmt_sql.h"

#define MAX_PREFIX 20

static int import_line(sqlite3_stmt *ins, char **f, size_t n, const char **msg)
{
    const char *prefix = n >= 1 && f[0][0] == '+' ? f[0] + 1 : f[0];
    size_t len = n >= 1 ? strlen(prefix) : 0;
    if (n != 2)
        *msg = "expected number_prefix,region";
    else if (len == 0 || len > MAX_PREFIX || strspn(prefix, "0123456789") != len)
        *msg = "number_prefix must be 1 to 20 digits";
    else if (!inv_region_valid(f[1]))
        *msg = "region must be 1 to 32 of [a-z0-9_-]";
    if (*msg)
        return 1;
    const char *v[] = { prefix, f[1] };
    msql_bind_texts(ins, v, 2);
    return sqlite3_step(ins) == SQLITE_DONE ? 0 : -1;
}

enum iam_rc regions_import(sqlite3 *db, const char *csv, size_t len, json_t **out)
{
    enum iam_rc rc = csv_import(db, "INSERT INTO regions(prefix, region) VALUES (?1, ?2)"
                                    " ON CONFLICT(prefix) DO UPDATE SET region = excluded.region",
                                csv, len, "number_prefix", 2, import_line, out);
    int64_t total = rc == IAM_OK ? msql_count(db, "SELECT count(*) FROM regions", NULL, 0) : -1;
    if (rc == IAM_OK && json_object_set_new(*out, "prefixes", json_integer(total)) != 0)
        rc = IAM_FAIL;
    return rc;
}

struct region_table *regions_load(sqlite3 *db)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT prefix, region FROM regions");
    json_t *rows = json_array(); /* holds the strings until the build has copied them */
    int r = SQLITE_ERROR;
    while (st && rows && (r = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(rows, json_pack("[s,s]", sqlite3_column_text(st, 0),
                                              sqlite3_column_text(st, 1)));
    sqlite3_finalize(st);
    size_t n = json_array_size(rows);
    struct region_entry *e = calloc(n ? n : 1, sizeof *e);
    for (size_t i = 0; e && i < n; i++) {
        e[i].prefix = json_string_value(json_array_get(json_array_get(rows, i), 0));
        e[i].region = json_string_value(json_array_get(json_array_get(rows, i), 1));
    }
    struct region_table *t = e && r == SQLITE_DONE ? region_table_build(e, n) : NULL;
    free(e);
    json_decref(rows);
    return t;
}
