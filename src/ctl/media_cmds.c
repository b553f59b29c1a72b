/* vcsctl cdrs --csv and recordings get (see media_cmds.h). */
#include "ctl/media_cmds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* An export or a recording may take long to arrive; the timeout is per read. */
#define DOWNLOAD_TIMEOUT_S 60
#define URL_LEN 2048

static const char *const cdr_filters[] = { "since", "until", "number", "cause", "campaign",
                                           "direction", "account", NULL };

bool ctl_media_wants(int argc, char **argv)
{
    if (strcmp(argv[0], "recordings") == 0)
        return argc > 1 && strcmp(argv[1], "get") == 0;
    if (strcmp(argv[0], "cdrs") != 0)
        return false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0)
            return true;
    }
    return false;
}

void ctl_media_usage(FILE *f)
{
    fprintf(f, "  cdrs --csv [--since T] [--until T] [--number N] [--cause C] [--campaign ID]"
               " [--direction inbound|outbound]   (CSV on stdout)\n"
               "  recordings get CALL_ID [-o FILE]   (the WAV; stdout without -o)\n");
}

static int usage_error(const char *what)
{
    fprintf(stderr, "vcsctl: %s\n", what);
    ctl_media_usage(stderr);
    return EXIT_ERROR;
}

/* Appends &key=value (encoded) to url. */
static int add_param(char *url, const char *key, const char *value)
{
    char *enc = evhttp_uriencode(value, -1, 0);
    size_t n = strlen(url);
    int w = enc ? snprintf(url + n, URL_LEN - n, "%s%s=%s", strchr(url, '?') ? "&" : "?", key,
                           enc) : -1;
    free(enc);
    return w < 0 || (size_t)w >= URL_LEN - n ? -1 : 0;
}

static int download(const struct target *t, const char *url, const char *accept, FILE *out,
                    const char *shown)
{
    struct evkeyvalq extra;
    TAILQ_INIT(&extra);
    evhttp_add_header(&extra, "Accept", accept);
    struct reply r;
    int rc = http_request(t, EVHTTP_REQ_GET, url, NULL, &extra, out, DOWNLOAD_TIMEOUT_S, &r);
    evhttp_clear_headers(&extra);
    if (rc != 0)
        return EXIT_ERROR;
    if (r.status < 200 || r.status > 299) {
        json_t *j = json_loads(r.body, 0, NULL);
        report_http_error(t, r.status, j);
        json_decref(j);
        rc = EXIT_REFUSED;
    } else if (r.sink_failed || fflush(out) != 0) {
        fprintf(stderr, "vcsctl: cannot write %s: %s\n", shown, strerror(errno));
        rc = EXIT_ERROR;
    }
    free(r.body);
    return rc;
}

static int cdrs_csv(const struct target *t, int argc, char **argv)
{
    char url[URL_LEN] = "/v1/cdrs";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0)
            continue;
        const char *key = strncmp(argv[i], "--", 2) == 0 ? argv[i] + 2 : NULL;
        bool known = false;
        for (size_t k = 0; key && cdr_filters[k]; k++)
            known = known || strcmp(key, cdr_filters[k]) == 0;
        if (!known || i + 1 >= argc)
            return usage_error(known ? "an option needs a value" : "unknown argument");
        if (add_param(url, key, argv[++i]) != 0)
            return usage_error("arguments too long");
    }
    return download(t, url, "text/csv", stdout, "stdout");
}

static int recording_get(const struct target *t, int argc, char **argv)
{
    const char *id = NULL, *file = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (!id && argv[i][0] != '-')
            id = argv[i];
        else
            return usage_error("recordings get takes CALL_ID and -o FILE");
    }
    char url[URL_LEN];
    char *enc = id ? evhttp_uriencode(id, -1, 0) : NULL;
    if (!enc)
        return usage_error("recordings get needs a CALL_ID");
    snprintf(url, sizeof url, "/v1/recordings/%s", enc);
    free(enc);
    FILE *out = file ? fopen(file, "wb") : stdout;
    if (!out) {
        fprintf(stderr, "vcsctl: cannot write %s: %s\n", file, strerror(errno));
        return EXIT_ERROR;
    }
    int rc = download(t, url, "audio/wav", out, file ? file : "stdout");
    if (file) {
        if (fclose(out) != 0 && rc == EXIT_OK) {
            fprintf(stderr, "vcsctl: cannot write %s: %s\n", file, strerror(errno));
            rc = EXIT_ERROR;
        }
        if (rc != EXIT_OK)
            unlink(file); /* no half file that looks like a recording */
    }
    return rc;
}

int ctl_media_run(const struct target *t, int argc, char **argv)
{
    return strcmp(argv[0], "cdrs") == 0 ? cdrs_csv(t, argc, argv) : recording_get(t, argc, argv);
}
