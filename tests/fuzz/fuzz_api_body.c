/* libFuzzer harness for the body parser of the management API's /v1 requests
 * (src/api/api_body.c, what http_api.c runs on every body): any bytes give either an object,
 * nothing (empty body), or a reason. Built and run by tests/fuzz/run.sh api_body.fuzz. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_body.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, unterminated, as libevent hands the body over. */
    char *body = malloc(size ? size : 1);
    CHECK(body != NULL);
    memcpy(body, data, size);
    json_t *j = (json_t *)1;
    char err[256];
    err[0] = '\0';
    int rc = api_body_parse(body, size, &j, err, sizeof(err));
    free(body);
    CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        CHECK(j == NULL || json_is_object(j));
        /* Whatever was accepted serialises back (valid UTF-8, no NUL in keys). */
        if (j != NULL) {
            char *text = json_dumps(j, JSON_COMPACT);
            CHECK(text != NULL);
            free(text);
        }
    } else {
        CHECK(j == NULL && err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    }
    json_decref(j);
    return 0;
}
