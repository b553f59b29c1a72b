/* The customer trunks (SPEC 3, 4): those of the configuration file and those managed over the
 * API (kept in the database), with the contacts that trunks REGISTERed. Thread-safe (one
 * read-write lock): the SIP thread identifies sources here, the API thread replaces the managed
 * trunks after a change, and whoever dials a trunk asks trunks_route() where to send the call.
 * Lookups copy what they find, so no caller holds a pointer into the table.
 * A configuration trunk and a managed one never share a name or a username (the API refuses);
 * when they would, the configuration's wins. Passwords are kept only as HA1 digests
 * (MD5 of username:realm:password, RFC 2617), never in clear, and never logged. */
#ifndef VCS_TRUNKS_H
#define VCS_TRUNKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

#define TRUNK_HA1_LEN 32
#define TRUNK_CONTACT_MAX 256

struct trunk_def {
    char name[64];
    char account[64];
    int n_allow;
    struct cidr allow[CONFIG_MAX_CIDRS];
    char username[64];                /* "" without credentials */
    char ha1[TRUNK_HA1_LEN + 1];
    int max_calls;                    /* 0: the account's limit only */
    char address[128];                /* static "HOST:PORT" for calls to the trunk, or "" */
};

/* What a lookup tells about a trunk. */
struct trunk_match {
    char name[64];
    char account[64];
    int max_calls;
};

struct sockaddr;
struct trunks;

/* The configuration's trunks; realm is the digest realm (our SIP host). */
struct trunks *trunks_create(const struct vcs_config *cfg, const char *realm);
void trunks_destroy(struct trunks *t);
const char *trunks_realm(const struct trunks *t);
/* HA1 of username:realm:password as lower-case hex. */
void trunks_ha1(const char *username, const char *realm, const char *password,
                char out[TRUNK_HA1_LEN + 1]);

/* Replaces the managed trunks (copied); registrations of trunks that are gone are dropped.
 * 0, or -1 when out of memory (nothing changed). */
int trunks_set_managed(struct trunks *t, const struct trunk_def *defs, size_t n);
/* Changes whenever the set of credentials may have changed. */
uint64_t trunks_version(struct trunks *t);
/* True when any trunk exists: loopback is then no longer the admin's trunk (SPEC 4). */
bool trunks_any(struct trunks *t);
/* True when a name or username is taken by a configuration trunk. */
bool trunks_config_has(struct trunks *t, const char *name, const char *username);

bool trunks_by_address(struct trunks *t, const struct sockaddr *src, struct trunk_match *out);
bool trunks_by_username(struct trunks *t, const char *username, struct trunk_match *out);
bool trunks_get(struct trunks *t, const char *name, struct trunk_match *out);
/* Calls fn for each trunk with credentials (under the read lock: fn must not call back). */
void trunks_each_credential(struct trunks *t,
                            void (*fn)(void *ctx, const char *username, const char *ha1),
                            void *ctx);

/* Registrations: one contact per trunk, from the source address its REGISTER came from. */
struct trunk_reg {
    char trunk[64];
    char contact[TRUNK_CONTACT_MAX];  /* the Contact URI as the trunk sent it */
    char source[64];                  /* IP address the REGISTER came from */
    int64_t expires_ms;               /* wall clock */
};
/* Binds (expires_ms in the future) or unbinds (expires_ms 0) the trunk's contact, then tells
 * the persist hook. Returns 0, or -1 when no such trunk exists. */
int trunks_register(struct trunks *t, const struct trunk_reg *r);
/* The trunk's binding, if it has one that has not expired at now_ms. */
bool trunks_registration(struct trunks *t, const char *name, int64_t now_ms,
                         struct trunk_reg *out);
/* Set before any thread registers: fn(ctx, r) runs after each change, outside the lock, on the
 * registering thread (it must not block: queue the write). */
void trunks_set_persist(struct trunks *t, void (*fn)(void *ctx, const struct trunk_reg *r),
                        void *ctx);
/* The trunk that registered from src and has not expired at now_ms. */
bool trunks_by_registered(struct trunks *t, const struct sockaddr *src, int64_t now_ms,
                          struct trunk_match *out);
/* Where a call to the trunk goes (SPEC 4, a number bound to trunk:NAME): the registered
 * contact if it has not expired, else "sip:HOST:PORT" of its static address. 0, or -1 when the
 * trunk is unknown or has neither. */
int trunks_route(struct trunks *t, const char *name, int64_t now_ms, char *uri, size_t len);

#endif
