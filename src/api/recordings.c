/* Whole-call recordings (SPEC 7): GET /v1/recordings/{call_id} sends the WAV straight from the
 * file (libevent's file segments: never read whole into memory) with single byte ranges
 * honoured; DELETE removes the file and leaves a recording_deleted var in the CDR. The path
 * in the CDR is trusted only once it resolves (symlinks and ".." followed) to a regular file
 * inside <data>/recordings. A call of another account, an unknown call and a call without a
 * recording are all 404. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sqlite3.h>

#include "api/api_internal.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/iam.h"
#include "store/mgmt_sql.h"
#include "store/store.h"

/* The recording's absolute path; 404 (or 409 while the call is up, for a delete) otherwise. */
static bool find_recording(struct api_call *c, struct api_reply *r, bool deleting,
                           char path[PATH_MAX])
{
    sqlite3 *db = iam_store_db(c->api->iam);
    sqlite3_stmt *st = msql_prep(db, "SELECT account, recording, end_time IS NULL,"
                                     " json_extract(vars, '$.recording_deleted') IS NOT NULL"
                                     " FROM cdr WHERE call_id = ?1");
    const char *id = api_param(c, "call_id");
    if (!st) {
        api_reply_error(r, 500, "internal", "the store failed on recordings");
        return false;
    }
    msql_bind_texts(st, &id, 1);
    char account[130] = "", rel[600] = "";
    int rc = sqlite3_step(st);
    bool found = rc == SQLITE_ROW && msql_copy_text(st, 0, account, sizeof account) == 0 &&
                 (c->operator || strcmp(account, c->account) == 0) &&
                 msql_copy_text(st, 1, rel, sizeof rel) == 0 && !sqlite3_column_int(st, 3);
    bool up = found && sqlite3_column_int(st, 2);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        api_reply_error(r, 500, "internal", "the store failed on recordings");
        return false;
    }
    if (!found) {
        api_reply_error(r, 404, "not_found", "no recording of call %s", id);
        return false;
    }
    if (deleting && up) {
        api_reply_error(r, 409, "conflict", "call %s is still up and recording", id);
        return false;
    }
    char dir[PATH_MAX], joined[PATH_MAX + 700];
    snprintf(joined, sizeof joined, "%s/recordings", store_data_dir(c->api->st));
    bool inside = realpath(joined, dir) != NULL;
    snprintf(joined, sizeof joined, "%s/%s", dir, rel);
    inside = inside && realpath(joined, path) != NULL;
    size_t dlen = strlen(dir);
    if (!inside || strncmp(path, dir, dlen) != 0 || path[dlen] != '/') {
        if (rel[0] && errno != ENOENT)
            log_warn("api: recording of %s refused: \"%s\" is not inside %s", id, rel, dir);
        api_reply_error(r, 404, "not_found", "no recording of call %s", id);
        return false;
    }
    return true;
}

/* "bytes=A-B", "bytes=A-" or "bytes=-N" against size: 1 with [*from, *to] filled, 0 when the
 * header is to be ignored (absent, malformed or several ranges: RFC 9110 lets the whole file be
 * sent), -1 when unsatisfiable. */
static int parse_range(const char *h, off_t size, off_t *from, off_t *to)
{
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    char *end;
    if (*p == '-') {
        if (p[1] < '0' || p[1] > '9')
            return 0;
        long long n = strtoll(p + 1, &end, 10);
        if (*end || n < 0)
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *from = n >= size ? 0 : size - (off_t)n;
        *to = size - 1;
        return 1;
    }
    if (*p < '0' || *p > '9')
        return 0;
    long long a = strtoll(p, &end, 10), b = -1;
    if (*end != '-' || a < 0)
        return 0;
    if (end[1]) {
        if (end[1] < '0' || end[1] > '9')
            return 0;
        b = strtoll(end + 1, &end, 10);
        if (*end || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    *from = (off_t)a;
    *to = b < 0 || b >= size ? size - 1 : (off_t)b;
    return 1;
}

void api_recordings_get(struct api_call *c, struct api_reply *r)
{
    char path[PATH_MAX];
    if (!find_recording(c, r, false, path))
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        api_reply_error(r, 404, "not_found", "no recording of call %s", api_param(c, "call_id"));
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    evhttp_add_header(h, "Accept-Ranges", "bytes");
    off_t from = 0, to = sb.st_size - 1;
    char cr[96];
    int range = parse_range(evhttp_find_header(evhttp_request_get_input_headers(c->req),
                                               "Range"), sb.st_size, &from, &to);
    if (range < 0) {
        close(fd);
        snprintf(cr, sizeof cr, "bytes */%jd", (intmax_t)sb.st_size);
        evhttp_add_header(h, "Content-Range", cr);
        api_reply_error(r, 416, "range_not_satisfiable", "the recording has %jd bytes",
                        (intmax_t)sb.st_size);
        return;
    }
    if (range > 0) {
        snprintf(cr, sizeof cr, "bytes %jd-%jd/%jd", (intmax_t)from, (intmax_t)to,
                 (intmax_t)sb.st_size);
        evhttp_add_header(h, "Content-Range", cr);
    }
    /* Given by hand for HEAD, for which libevent counts no body. */
    char len[32];
    snprintf(len, sizeof len, "%jd", (intmax_t)(sb.st_size ? to - from + 1 : 0));
    evhttp_add_header(h, "Content-Length", len);
    r->text = evbuffer_new();
    /* The segment owns fd from here and sends with sendfile/mmap as libevent sees fit. */
    if (!r->text || (sb.st_size > 0 &&
                     evbuffer_add_file(r->text, fd, from, to - from + 1) != 0)) {
        if (!r->text)
            close(fd);
        api_reply_error(r, 500, "internal", "cannot send the recording");
        return;
    }
    if (sb.st_size == 0)
        close(fd);
    r->content_type = "audio/wav";
    r->status = range > 0 ? 206 : 200;
}

void api_recordings_delete(struct api_call *c, struct api_reply *r)
{
    char path[PATH_MAX];
    if (!find_recording(c, r, true, path))
        return;
    /* The CDR first: when it cannot say so (the database busy), nothing is lost and the
     * request can be repeated; a file removed first would be gone with the CDR unaware. */
    char now[ISO8601_LEN];
    iso8601_ms(clock_wall_ms(), now);
    const char *v[] = { api_param(c, "call_id"), now };
    if (msql_run(iam_store_db(c->api->iam),
                 "UPDATE cdr SET vars = json_set(CASE WHEN json_valid(vars) THEN vars ELSE '{}'"
                 " END, '$.recording_deleted', ?2) WHERE call_id = ?1", v, 2) != SQLITE_DONE) {
        api_reply_error(r, 500, "internal", "cannot mark the recording deleted; try again");
        return;
    }
    /* The recording is gone for the API either way; a file left behind is the operator's. */
    if (unlink(path) != 0 && errno != ENOENT)
        log_error("api: recording of %s marked deleted, but %s stays: %s; remove it by hand",
                  v[0], path, strerror(errno));
    log_info("api: recording of %s deleted by %s/%s", v[0], c->account, c->user);
    r->status = 204;
}
