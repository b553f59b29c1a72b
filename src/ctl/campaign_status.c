/* vcsctl campaign status (see campaign_status.h). */
#include "ctl/campaign_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define TIMEOUT_S 30
#define BAR 40
#define MAX_FOLLOW_S (7 * 24 * 3600) /* a bound on following one campaign */

static json_int_t count(json_t *p, const char *k)
{
    return json_integer_value(json_object_get(p, k));
}

/* One line: the bar (callees with a final result), then the counts. */
static void draw(FILE *f, json_t *c, bool tty)
{
    json_t *p = json_object_get(c, "progress");
    json_int_t total = count(p, "total"), open = count(p, "pending") + count(p, "in_progress");
    json_int_t done = total - open;
    int fill = total > 0 ? (int)(done * BAR / total) : 0;
    char bar[BAR + 1];
    for (int i = 0; i < BAR; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR] = '\0';
    fprintf(f, "%s[%s] %lld/%lld %s | answered %lld busy %lld no_answer %lld failed %lld"
               " machine %lld dnc %lld cap %lld | pending %lld in_progress %lld | attempts %lld%s",
            tty ? "\r" : "", bar, (long long)done, (long long)total,
            json_string_value(json_object_get(c, "state")), (long long)count(p, "answered"),
            (long long)count(p, "busy"), (long long)count(p, "no_answer"),
            (long long)count(p, "failed"), (long long)count(p, "machine"),
            (long long)count(p, "skipped_dnc"), (long long)count(p, "skipped_cap"),
            (long long)count(p, "pending"), (long long)count(p, "in_progress"),
            (long long)count(p, "attempts"), tty ? "\033[K" : "\n");
    fflush(f);
}

/* GET the campaign: 0 with *c, or the exit status after saying why. */
static int fetch(const struct target *t, const char *path, json_t **c)
{
    struct reply r;
    *c = NULL;
    if (http_call(t, EVHTTP_REQ_GET, path, NULL, TIMEOUT_S, &r) != 0)
        return EXIT_ERROR;
    json_t *j = r.body[0] ? json_loads(r.body, 0, NULL) : NULL;
    free(r.body);
    if (r.status != 200) {
        report_http_error(t, r.status, j);
        json_decref(j);
        return EXIT_REFUSED;
    }
    if (!json_is_object(json_object_get(j, "progress"))) {
        fprintf(stderr, "vcsctl: unexpected answer from %s\n", t->shown);
        json_decref(j);
        return EXIT_ERROR;
    }
    *c = j;
    return EXIT_OK;
}

int ctl_campaign_status(const struct target *t, const char *id, bool json)
{
    char *enc = evhttp_uriencode(id, -1, 0);
    char path[512];
    snprintf(path, sizeof path, "/v1/campaigns/%s", enc ? enc : "");
    free(enc);
    json_t *c = NULL;
    int rc = fetch(t, path, &c);
    if (rc != EXIT_OK)
        return rc;
    if (json) {
        json_dumpf(c, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(c);
        return EXIT_OK;
    }
    bool tty = isatty(STDOUT_FILENO);
    printf("campaign %s (%s)\n", id, json_string_value(json_object_get(c, "name")));
    draw(stdout, c, tty);
    for (int s = 0; tty && s < MAX_FOLLOW_S && rc == EXIT_OK &&
                    strcmp(json_string_value(json_object_get(c, "state")), "running") == 0; s++) {
        sleep(1);
        json_decref(c);
        if ((rc = fetch(t, path, &c)) == EXIT_OK)
            draw(stdout, c, tty);
    }
    if (tty)
        putchar('\n');
    json_decref(c);
    return rc;
}
