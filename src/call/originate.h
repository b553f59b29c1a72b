/* Outbound calls through their two doors, checked the same way (outleg_check): vcs.originate{to=,
 * from=, script=, vars=, timeout=, gateway=} from a call's script (SPEC 5.2; the calling call's
 * account pays) and POST /v1/calls {to, from, script, vars, timeout_s, gateway} (SPEC 7); and
 * the calls API's view of the legs up now (live_calls.h) as JSON. */
#ifndef VCS_ORIGINATE_H
#define VCS_ORIGINATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <lua.h>

struct engine;

#define ORIGINATE_MAX_VARS 64

/* vcs.originate (registered into the vcs table of every worker's Lua state). A number callee
 * is first checked against the do-not-call lists and the frequency caps off the worker
 * (compliance_gate.h) while the calling coroutine waits: refused, it returns nil and "dnc" or
 * "frequency_cap" (as POST /v1/calls's 403 codes), with nothing placed and no CDR row. */
int originate_lua(lua_State *L);

/* POST /v1/calls for account: 0 with the new call's id, or an HTTP status with a message. */
int originate_json(struct engine *e, const char *account, const json_t *body, char *id,
                   size_t idlen, char *err, size_t errlen);
/* The same for a campaign's attempt (src/campaign/dialer.h): the CDR row carries campaign_id. */
int originate_campaign_json(struct engine *e, const char *account, const json_t *body,
                            int64_t campaign_id, char *id, size_t idlen, char *err, size_t errlen);

/* GET /v1/calls: the live legs of account (NULL: all) as a JSON array (NULL: out of memory). */
json_t *originate_live_list(struct engine *e, const char *account);
/* GET /v1/calls/{id}: the live leg id of account (NULL: any) as JSON, or NULL. */
json_t *originate_live_get(struct engine *e, const char *account, const char *id);

#endif
