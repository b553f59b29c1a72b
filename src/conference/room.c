/* Conference rooms. See room.h. */
#include "conference/room.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "media/mixer.h"
#include "media/tone.h"
#include "core/thread_class.h"

#define KEY_MAX 192
#define BUCKETS 256
#define UP_KEEP 2   /* frames a ring may hold before the oldest are skipped: bounded latency */
#define DOWN_KEEP 2
#define BEEP_MS 250

_Static_assert(CONF_FRAME == MIXER_FRAME, "one frame size for rings and mixer");

struct conf_room {
    char key[KEY_MAX];            /* account '\n' room */
    pthread_mutex_t mu;           /* members, home, dead, beep */
    atomic_int refs;              /* one per member, one for the home's list */
    struct conf_home *home;       /* NULL: its worker stopped; the next joiner adopts it */
    bool dead;                    /* out of the registry: the home drops it at its next tick */
    struct conf_member **members;
    struct mixer_member **mix;    /* members' mixer slots, plus the beep's */
    size_t n, cap;
    int max_members;
    struct tone_spec beep_spec;
    struct tone_gen beep;
    uint32_t beep_left;           /* samples */
    struct mixer_member beep_mm;  /* a voice everyone hears */
    struct conf_room *hash_next;  /* registry bucket (registry lock) */
    struct conf_room *home_next;  /* home's list (the home's thread) */
};

struct conf_member {
    struct conf_room *room;
    struct mixer_member mm;       /* the home's tick, under the room's lock */
    struct pcm_ring up, down;
    atomic_bool muted;
    atomic_int state;             /* enum conf_state */
    bool moderator, end_on_exit, beep;
    char call_id[48], from[64];
    int64_t joined_ms;
};

struct conf_home {
    int index;
    struct conf_room *rooms;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct conf_room *registry[BUCKETS];

/* ---- registry (reg_mu held) ------------------------------------------------------------------ */

static unsigned bucket_of(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % BUCKETS;
}

static bool make_key(char key[KEY_MAX], const char *account, const char *room)
{
    int len = snprintf(key, KEY_MAX, "%s\n%s", account ? account : "", room ? room : "");
    return len > 0 && len < KEY_MAX;
}

static struct conf_room *registry_find(const char *key)
{
    for (struct conf_room *r = registry[bucket_of(key)]; r; r = r->hash_next)
        if (strcmp(r->key, key) == 0)
            return r;
    return NULL;
}

static void registry_remove(struct conf_room *r)
{
    for (struct conf_room **p = &registry[bucket_of(r->key)]; *p; p = &(*p)->hash_next) {
        if (*p == r) {
            *p = r->hash_next;
            return;
        }
    }
}

/* ---- rooms ------------------------------------------------------------------------------------ */

static struct conf_room *room_new(const char *key, int max_members)
{
    struct conf_room *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->key, sizeof r->key, "%s", key);
    thread_class_mutex_init(&r->mu);
    atomic_init(&r->refs, 0);
    r->max_members = max_members > 0 ? max_members : 0;
    char err[64];
    if (tone_parse("beep", &r->beep_spec, err, sizeof err) != 0)
        r->beep_spec.nsegments = 0; /* cannot happen: "beep" is built in */
    return r;
}

static void room_destroy(struct conf_room *r)
{
    pthread_mutex_destroy(&r->mu);
    free(r->members);
    free(r->mix);
    free(r);
}

static void room_unref(struct conf_room *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        room_destroy(r);
}

/* The mixer's view of the members (r->mu held). */
static void room_relink(struct conf_room *r)
{
    for (size_t i = 0; i < r->n; i++)
        r->mix[i] = &r->members[i]->mm;
}

static void room_beep(struct conf_room *r)
{
    if (!r->beep_spec.nsegments)
        return;
    tone_gen_init(&r->beep, &r->beep_spec);
    r->beep_left = BEEP_MS * 8;
}

static void room_mix(struct conf_room *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct conf_member *m = r->members[i];
        bool voiced = false;
        if (!pcm_ring_pop(&m->up, m->mm.in, &voiced, UP_KEEP))
            voiced = false;
        m->mm.speaking = voiced;
    }
    size_t n = r->n;
    if (r->beep_left) {
        uint32_t k = r->beep_left < CONF_FRAME ? r->beep_left : CONF_FRAME;
        tone_gen_render(&r->beep, r->beep_mm.in, k);
        memset(r->beep_mm.in + k, 0, (CONF_FRAME - k) * sizeof r->beep_mm.in[0]);
        r->beep_left -= k;
        r->beep_mm.speaking = true;
        r->mix[n++] = &r->beep_mm;
    }
    mixer_mix(r->mix, n);
    for (size_t i = 0; i < r->n; i++)
        pcm_ring_push(&r->members[i]->down, r->members[i]->mm.out, true);
}

/* ---- homes ------------------------------------------------------------------------------------ */

struct conf_home *conf_home_new(int worker_index)
{
    struct conf_home *h = calloc(1, sizeof *h);
    if (h)
        h->index = worker_index;
    return h;
}

void conf_home_free(struct conf_home *h)
{
    if (!h)
        return;
    while (h->rooms) {
        struct conf_room *r = h->rooms;
        h->rooms = r->home_next;
        pthread_mutex_lock(&reg_mu); /* a joiner may be adopting it right now */
        pthread_mutex_lock(&r->mu);
        r->home = NULL;
        r->home_next = NULL;
        pthread_mutex_unlock(&r->mu);
        pthread_mutex_unlock(&reg_mu);
        room_unref(r);
    }
    free(h);
}

void conf_home_tick(struct conf_home *h)
{
    for (struct conf_room **pr = &h->rooms; *pr;) {
        struct conf_room *r = *pr;
        pthread_mutex_lock(&r->mu);
        if (r->dead) {
            pthread_mutex_unlock(&r->mu);
            *pr = r->home_next;
            room_unref(r);
            continue;
        }
        room_mix(r);
        pthread_mutex_unlock(&r->mu);
        pr = &r->home_next;
    }
}

/* ---- members ---------------------------------------------------------------------------------- */

/* Room for one more member and the beep in the arrays (r->mu held). */
static int room_reserve(struct conf_room *r)
{
    if (r->n < r->cap)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : 4;
    struct conf_member **members = realloc(r->members, cap * sizeof *members);
    if (!members)
        return -1;
    r->members = members;
    struct mixer_member **mix = realloc(r->mix, (cap + 1) * sizeof *mix);
    if (!mix)
        return -1;
    r->mix = mix;
    r->cap = cap;
    return 0;
}

struct conf_member *conf_join(struct conf_home *h, const struct conf_join_opts *o,
                              enum conf_join_result *result, int *home_index, int *members)
{
    char key[KEY_MAX];
    *result = CONF_NOMEM;
    struct conf_member *m = calloc(1, sizeof *m);
    if (!m || !make_key(key, o->account, o->room)) {
        free(m);
        return NULL;
    }
    pcm_ring_init(&m->up);
    pcm_ring_init(&m->down);
    atomic_init(&m->muted, o->muted);
    atomic_init(&m->state, CONF_IN);
    m->moderator = o->moderator;
    m->end_on_exit = o->end_on_exit;
    m->beep = o->beep;
    snprintf(m->call_id, sizeof m->call_id, "%s", o->call_id ? o->call_id : "");
    snprintf(m->from, sizeof m->from, "%s", o->from ? o->from : "");
    m->joined_ms = clock_wall_ms();

    pthread_mutex_lock(&reg_mu);
    struct conf_room *r = registry_find(key);
    bool created = false;
    if (!r) {
        r = room_new(key, o->max_members);
        if (!r)
            goto fail;
        created = true;
    }
    pthread_mutex_lock(&r->mu);
    if (r->max_members && r->n >= (size_t)r->max_members) {
        pthread_mutex_unlock(&r->mu);
        *result = CONF_FULL;
        goto fail;
    }
    if (room_reserve(r) != 0) {
        pthread_mutex_unlock(&r->mu);
        if (created)
            room_destroy(r); /* nobody saw it */
        goto fail;
    }
    if (created) {
        unsigned b = bucket_of(key);
        r->hash_next = registry[b];
        registry[b] = r;
    }
    m->room = r;
    r->members[r->n++] = m;
    atomic_fetch_add(&r->refs, 1);
    room_relink(r);
    if (!r->home) {
        r->home = h;
        r->home_next = h->rooms;
        h->rooms = r;
        atomic_fetch_add(&r->refs, 1);
    }
    if (m->beep)
        room_beep(r);
    if (home_index)
        *home_index = r->home->index;
    if (members)
        *members = (int)r->n;
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&reg_mu);
    *result = CONF_JOINED;
    return m;
fail:
    pthread_mutex_unlock(&reg_mu);
    free(m);
    return NULL;
}

void conf_leave(struct conf_member *m)
{
    if (!m)
        return;
    struct conf_room *r = m->room;
    pthread_mutex_lock(&reg_mu);
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        if (r->members[i] == m) {
            r->members[i] = r->members[--r->n];
            break;
        }
    }
    room_relink(r);
    if (m->moderator && m->end_on_exit)
        for (size_t i = 0; i < r->n; i++)
            atomic_store(&r->members[i]->state, CONF_CLOSED);
    if (m->beep && r->n)
        room_beep(r);
    if (r->n == 0 && !r->dead) {
        r->dead = true; /* a later join makes a new room */
        registry_remove(r);
    }
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&reg_mu);
    free(m);
    room_unref(r);
}

void conf_member_exchange(struct conf_member *m, const int16_t *said, int16_t heard[CONF_FRAME])
{
    pcm_ring_push(&m->up, said, said && !atomic_load_explicit(&m->muted, memory_order_relaxed));
    bool voiced = false;
    if (!pcm_ring_pop(&m->down, heard, &voiced, DOWN_KEEP) || !voiced)
        memset(heard, 0, CONF_FRAME * sizeof heard[0]);
}

enum conf_state conf_member_state(const struct conf_member *m)
{
    return (enum conf_state)atomic_load_explicit(&m->state, memory_order_relaxed);
}

void conf_member_mute(struct conf_member *m, bool muted)
{
    atomic_store(&m->muted, muted);
}

/* ---- any thread ------------------------------------------------------------------------------- */

struct conf_member_info *conf_list(const char *account, const char *room, int *n)
{
    char key[KEY_MAX];
    *n = 0;
    if (!make_key(key, account, room))
        return NULL;
    struct conf_member_info *out = NULL;
    pthread_mutex_lock(&reg_mu);
    struct conf_room *r = registry_find(key);
    if (r) {
        pthread_mutex_lock(&r->mu);
        out = r->n ? calloc(r->n, sizeof *out) : NULL;
        if (r->n && !out)
            *n = -1;
        for (size_t i = 0; out && i < r->n; i++) {
            const struct conf_member *m = r->members[i];
            if (atomic_load(&m->state) != CONF_IN)
                continue; /* on its way out */
            struct conf_member_info *info = &out[(*n)++];
            snprintf(info->call_id, sizeof info->call_id, "%s", m->call_id);
            snprintf(info->from, sizeof info->from, "%s", m->from);
            info->muted = atomic_load(&m->muted);
            info->moderator = m->moderator;
            info->joined_ms = m->joined_ms;
        }
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_unlock(&reg_mu);
    return out;
}

int conf_kick(const char *account, const char *room, const char *call_id)
{
    char key[KEY_MAX];
    if (!make_key(key, account, room))
        return -1;
    int rc = -1;
    pthread_mutex_lock(&reg_mu);
    struct conf_room *r = registry_find(key);
    if (r) {
        pthread_mutex_lock(&r->mu);
        for (size_t i = 0; i < r->n; i++) {
            struct conf_member *m = r->members[i];
            if (strcmp(m->call_id, call_id) == 0 && atomic_load(&m->state) == CONF_IN) {
                atomic_store(&m->state, CONF_KICKED);
                rc = 0;
                break;
            }
        }
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_unlock(&reg_mu);
    return rc;
}
