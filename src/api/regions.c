/* The callee region table (SPEC 7 and 8): the operator imports number_prefix,region lines; the
 * table in use (numbers/region_dir.h) is replaced by the database's after each import. */
#include "api/api_internal.h"
#include "numbers/region_dir.h"
#include "store/regions_db.h"

void api_regions_import(struct api_call *c, struct api_reply *r)
{
    size_t n;
    const char *csv = api_csv_body(c, r, &n);
    if (!csv)
        return;
    json_t *result = NULL;
    sqlite3 *db = iam_store_db(c->api->iam);
    enum iam_rc rc = regions_import(db, csv, n, &result);
    if (rc == IAM_OK && c->api->ops.regions) {
        struct region_table *t = regions_load(db);
        if (t)
            region_dir_set(c->api->ops.regions, t);
    }
    api_reply_result(r, rc, result, "regions");
}
