/* The callee region table through the database: a CSV import with per-line errors (bad
 * prefixes, bad regions, wrong field counts, a header, a leading +), a later import correcting a
 * prefix, and the table read back giving longest-prefix lookups; the table in use replaced
 * whole while a reader keeps the one it took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "numbers/region_dir.h"
#include "store/regions_db.h"

static const char CSV[] = "number_prefix,region\n"
                          "1390123,beijing\n"
                          "+86139,mobile_cn\n"
                          "010,beijing\n"
                          "021 , shanghai\n"
                          "12a4,beijing\n"
                          "1391,Beijing\n"
                          "1392\n"
                          "\n"
                          "139,x,y\n";

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE regions (prefix TEXT PRIMARY KEY,"
                                      " region TEXT NOT NULL)", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void test_import_and_lookup(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    json_t *out = NULL;
    assert_int_equal(regions_import(db, CSV, strlen(CSV), &out), IAM_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "imported")), 4);
    json_t *errors = json_object_get(out, "errors");
    assert_int_equal(json_array_size(errors), 4);
    const int lines[] = { 6, 7, 8, 10 };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(errors, i), "line")),
                         lines[i]);
    json_decref(out);

    const char fix[] = "1390123,tianjin\n";
    assert_int_equal(regions_import(db, fix, strlen(fix), &out), IAM_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "prefixes")), 4);
    json_decref(out);

    struct region_dir *d = region_dir_create();
    struct region_ref *before = region_dir_acquire(d);
    assert_null(region_lookup(region_ref_table(before), "13901230000"));
    region_dir_set(d, regions_load(db));
    struct region_ref *now = region_dir_acquire(d);
    const struct region_table *t = region_ref_table(now);
    assert_int_equal(region_table_size(t), 4);
    assert_string_equal(region_lookup(t, "13901230000"), "tianjin"); /* the longest prefix */
    assert_string_equal(region_lookup(t, "+8613912345678"), "mobile_cn");
    assert_string_equal(region_lookup(t, "02112345678"), "shanghai");
    assert_null(region_lookup(t, "07551234567"));
    assert_null(region_lookup(region_ref_table(before), "13901230000")); /* kept as taken */
    region_ref_release(before);
    region_ref_release(now);
    region_dir_destroy(d);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_import_and_lookup) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
