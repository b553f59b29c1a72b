/* Versions of the dialplans (SPEC 5.4). A reload reads every dialplans/NAME.lua, routes.lua, the
 * shipped Lua modules (lua/.../NAME.lua) into memory, compiles and runs each
 * chunk in a throw-away sandbox, and only when all succeed publishes them as a new immutable,
 * reference-counted script_set. A call holds the set it started with for its whole life, so
 * running calls keep their version while new calls get the new one at once. Workers compile the
 * set's sources into their own Lua states from memory: no disk access on a media thread. */
#ifndef VCS_SCRIPT_SET_H
#define VCS_SCRIPT_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "script/sandbox.h"

struct routes;

struct script_source {
    char *name;       /* "hello" (dialplans/hello.lua) or "vcs.ivr" (lua/vcs/ivr.lua) */
    char *chunkname;  /* "@dialplans/hello.lua": what error messages and tracebacks show */
    char *code;
    size_t len;
    bool handler;     /* the chunk returned a function: a dialplan that calls can run */
};

struct script_set {
    long version;
    size_t n_sources;
    struct script_source *sources; /* sorted by name */
    struct routes *routes;
    int refs;
};

/* A dialplan or module by name (require name or script name), or NULL. */
const struct script_source *script_set_find(const struct script_set *set, const char *name);

struct script_registry;

struct script_registry *script_registry_create(const struct sandbox_config *cfg);
void script_registry_destroy(struct script_registry *reg);
/* Builds and publishes a new version. Returns 0, or -1 with "dialplans/x.lua:2: ..." in err and
 * the current version unchanged. Thread-safe (serialised). */
int script_registry_reload(struct script_registry *reg, char *err, size_t errlen);
/* The current version with a reference taken (NULL before the first successful reload). */
struct script_set *script_registry_acquire(struct script_registry *reg);
void script_set_retain(struct script_set *set);
void script_set_release(struct script_set *set);

#endif
