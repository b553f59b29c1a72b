/* Printing API answers for people: a list of objects as an aligned table with the given
 * columns, an object as "key: value" lines. null shows as "-", lists as "a,b". */
#ifndef VCS_CTL_TABLE_H
#define VCS_CTL_TABLE_H

#include <stdio.h>

#include <jansson.h>

void table_print(FILE *f, json_t *items, const char *const *columns);
void object_print(FILE *f, json_t *obj);

#endif
