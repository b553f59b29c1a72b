/* TZif reader (see tz.h). */
#include "campaign/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONEINFO "/usr/share/zoneinfo"
#define TZIF_MAX_BYTES (256 * 1024)
#define HEADER 44

struct tz {
    size_t n;          /* transitions */
    int64_t *at;       /* sorted UTC instants */
    int32_t *off;      /* offset in force from at[i] */
    int32_t first_off; /* before the first transition */
};

bool tz_name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len >= TZ_NAME_MAX || name[0] == '/' || name[len - 1] == '/')
        return false;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return false;
        if (*p == '/' && p[1] == '/')
            return false;
    }
    return true;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static void read_counts(const unsigned char *h, struct counts *c)
{
    c->isut = be32(h + 20);
    c->isstd = be32(h + 24);
    c->leap = be32(h + 28);
    c->time = be32(h + 32);
    c->type = be32(h + 36);
    c->chars = be32(h + 40);
}

/* Bytes of a data block after its header; times are tsize bytes. */
static size_t block_len(const struct counts *c, size_t tsize)
{
    return (size_t)c->time * (tsize + 1) + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

struct tz *tz_parse(const unsigned char *d, size_t len, char *err, size_t errlen)
{
    struct counts c;
    if (len < HEADER || memcmp(d, "TZif", 4) != 0) {
        snprintf(err, errlen, "not a TZif file");
        return NULL;
    }
    read_counts(d, &c);
    size_t tsize = 4, pos = HEADER;
    if (d[4] >= '2') { /* skip the 32-bit block: the 64-bit one follows with its own header */
        pos += block_len(&c, 4);
        if (pos + HEADER > len || memcmp(d + pos, "TZif", 4) != 0) {
            snprintf(err, errlen, "truncated TZif file");
            return NULL;
        }
        read_counts(d + pos, &c);
        pos += HEADER;
        tsize = 8;
    }
    if (c.type == 0 || c.type > 256 || c.time > 100000 || pos + block_len(&c, tsize) > len) {
        snprintf(err, errlen, "malformed TZif file");
        return NULL;
    }
    const unsigned char *times = d + pos, *idx = times + (size_t)c.time * tsize;
    const unsigned char *types = idx + c.time;
    struct tz *z = calloc(1, sizeof *z);
    if (!z || (c.time && (!(z->at = calloc(c.time, sizeof *z->at)) ||
                          !(z->off = calloc(c.time, sizeof *z->off))))) {
        tz_free(z);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    z->n = c.time;
    z->first_off = (int32_t)be32(types); /* RFC 8536: type 0 before the first transition */
    for (size_t i = 0; i < c.time; i++) {
        if (idx[i] >= c.type || (i && (tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i)) <= z->at[i - 1])) {
            tz_free(z);
            snprintf(err, errlen, "malformed TZif transitions");
            return NULL;
        }
        z->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        z->off[i] = (int32_t)be32(types + 6 * (size_t)idx[i]);
    }
    return z;
}

struct tz *tz_load(const char *name, char *err, size_t errlen)
{
    if (!tz_name_valid(name)) {
        snprintf(err, errlen, "not an IANA time zone name");
        return NULL;
    }
    for (const char *p = name; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
        if (p[0] == '.') {
            snprintf(err, errlen, "not an IANA time zone name");
            return NULL;
        }
    }
    char path[sizeof ZONEINFO + TZ_NAME_MAX + 1];
    snprintf(path, sizeof path, "%s/%s", ZONEINFO, name);
    FILE *f = fopen(path, "rb");
    unsigned char *buf = f ? malloc(TZIF_MAX_BYTES) : NULL;
    size_t len = buf ? fread(buf, 1, TZIF_MAX_BYTES, f) : 0;
    if (f)
        fclose(f);
    struct tz *z = NULL;
    if (!f || (buf && len == 0)) /* a directory reads as nothing */
        snprintf(err, errlen, "the system tz database has no zone %s", name);
    else if (!buf)
        snprintf(err, errlen, "out of memory");
    else
        z = tz_parse(buf, len, err, errlen);
    free(buf);
    return z;
}

void tz_free(struct tz *z)
{
    if (!z)
        return;
    free(z->at);
    free(z->off);
    free(z);
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
    if (!z->n || t < z->at[0])
        return z->first_off;
    size_t lo = 0, hi = z->n; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}
