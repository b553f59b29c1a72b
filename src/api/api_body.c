/* /v1 request bodies (see api_body.h). */
#include "api/api_body.h"

#include <stdio.h>

int api_body_parse(const char *p, size_t n, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == n)
        return 0;
    json_error_t je;
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        snprintf(err, errlen, "invalid JSON body: line %d column %d: %s", je.line, je.column,
                 je.text);
        return -1;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    *out = j;
    return 0;
}
