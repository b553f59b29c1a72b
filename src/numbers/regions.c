/* Region table: entries sorted by prefix; a lookup tries the number's prefixes from the longest
 * down with a binary search each (at most 20 searches for an E.164 number). */
#include "numbers/regions.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PREFIX 20

struct region_table {
    struct entry {
        char prefix[MAX_PREFIX + 1];
        char *region;
    } *entries;
    size_t n;
};

static int by_prefix(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->prefix, ((const struct entry *)b)->prefix);
}

static bool valid(const struct region_entry *e)
{
    size_t len = e->prefix ? strlen(e->prefix) : 0;
    if (len == 0 || len > MAX_PREFIX || !e->region || !e->region[0])
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)e->prefix[i]))
            return false;
    return true;
}

struct region_table *region_table_build(const struct region_entry *e, size_t n)
{
    struct region_table *t = calloc(1, sizeof *t);
    if (!t || (n && !(t->entries = calloc(n, sizeof *t->entries)))) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!valid(&e[i]) || !(t->entries[i].region = strdup(e[i].region))) {
            t->n = i;
            region_table_free(t);
            return NULL;
        }
        strcpy(t->entries[i].prefix, e[i].prefix);
    }
    t->n = n;
    if (n) /* qsort must not see the NULL of an empty table */
        qsort(t->entries, n, sizeof *t->entries, by_prefix);
    return t;
}

void region_table_free(struct region_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->entries[i].region);
    free(t->entries);
    free(t);
}

const char *region_lookup(const struct region_table *t, const char *number)
{
    if (!t || !t->n || !number)
        return NULL;
    if (number[0] == '+')
        number++;
    size_t len = strnlen(number, MAX_PREFIX + 1);
    if (len > MAX_PREFIX)
        len = MAX_PREFIX;
    for (; len > 0; len--) {
        struct entry key;
        memcpy(key.prefix, number, len);
        key.prefix[len] = '\0';
        const struct entry *hit = bsearch(&key, t->entries, t->n, sizeof *t->entries, by_prefix);
        if (hit)
            return hit->region;
    }
    return NULL;
}

size_t region_table_size(const struct region_table *t)
{
    return t ? t->n : 0;
}
