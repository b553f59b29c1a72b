/* call:dial(target, opts) (SPEC 5.5): places a b-leg on this call's worker (outleg.c), relays
 * its early media or plays a local ringback, answers the caller when the callee answers,
 * bridges the two (bridge.c), and returns the result table once the b-leg has ended; when the
 * caller hangs up first, the b-leg is ended and the hangup error raised. Each attempt is a
 * b-leg CDR row with parent_call_id = this call's id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call/bridge.h"
#include "call/call_method.h"
#include "call/outleg.h"
#include "core/log.h"
#include "media/tone.h"
#include "numbers/number_table.h"
#include "store/cdr.h"
#include "trunk/gateway_order.h"
#include "trunk/gateways.h"

#define MAX_DURATION_MS_MAX (24 * 3600 * 1000)
#define DIAL_MAX_TARGETS 16
#define FROM_MAX 64 /* as outleg_request.from */
#define DIAL_MAX_ATTEMPTS 32 /* targets, a number counting once per gateway it may take */
#define HEADERS_MAX 512
#define RINGBACK_MAX_MS OUTLEG_TIMEOUT_MS_MAX /* rings no longer than a leg may */

struct dial_state {
    struct call *legs[DIAL_MAX_ATTEMPTS]; /* b-legs up (one at a time unless parallel) */
    int n_legs;
    struct call *winner;     /* the b-leg that answered (bridged) */
    int on_answer_ref;       /* opts.on_answer (LUA_NOREF: none) */
    struct call *screened;   /* the answered b-leg on_answer runs on */
    struct call *refused;    /* the b-leg on_answer said no to, while it ends */
    /* the attempts, in order: sip: URIs, and gw:NAME/NUMBER for each gateway a number may take */
    char *attempts[DIAL_MAX_ATTEMPTS]; /* each allocated to its length: 32 x 256 bytes held for
                                          the whole bridge were most of a dial's memory */
    int n_attempts, next;
    bool parallel;           /* every attempt at once: the first answer wins */
    bool placing;            /* inside place_one: a leg refused at once is handled there */
    char from[FROM_MAX], headers[HEADERS_MAX];
    int timeout_ms;
    bool relay;              /* ringback: the callee's early media (else a local tone) */
    int64_t max_duration_ms; /* 0: none */
    bool done;               /* every b-leg ended: the result below is complete */
    char status[16], hangup_by[16], call_id[48], gateway[64], target[256];
    int code;
    int64_t duration_ms, billsec;
};

void call_dial_free(struct call *a)
{
    if (!a->dial)
        return;
    for (int i = 0; i < a->dial->n_legs; i++)
        a->dial->legs[i]->dial_parent = NULL;
    luaL_unref(worker_lua(a->w), LUA_REGISTRYINDEX, a->dial->on_answer_ref);
    for (int i = 0; i < a->dial->n_attempts; i++)
        free(a->dial->attempts[i]);
    free(a->dial);
    a->dial = NULL;
}

static const char *status_of(const struct cdr_row *r)
{
    static const char *const map[][2] = {
        { "busy", "busy" }, { "no_answer", "no_answer" }, { "rejected", "rejected" },
        { "not_found", "rejected" }, { "forbidden", "rejected" }, { "cancelled", "cancelled" },
    };
    if (r->answer_ms)
        return "answered";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(r->hangup_cause, map[i][0]) == 0)
            return map[i][1];
    return "failed";
}

/* SPEC 5.5: a 5xx, 408, a transport error, a timeout or a full gateway go on to the next
 * attempt; 486, 600, 603 and 404 are the callee's "no" and stop. */
static bool goes_on(const struct dial_state *d)
{
    if (strcmp(d->status, "rejected") == 0 && d->code == 200)
        return true; /* on_answer said no */
    return strcmp(d->status, "answered") != 0 && strcmp(d->status, "cancelled") != 0 &&
           d->code != 486 && d->code != 600 && d->code != 603 && d->code != 404;
}

static void take_result(struct dial_state *d, const struct call *b)
{
    const struct cdr_row *r = &b->cdr;
    snprintf(d->status, sizeof d->status, "%s", status_of(r));
    snprintf(d->hangup_by, sizeof d->hangup_by, "%s", r->hangup_by);
    snprintf(d->call_id, sizeof d->call_id, "%s", b->id);
    snprintf(d->gateway, sizeof d->gateway, "%s", r->gateway);
    const char *to = b->out ? b->out->to : "";
    const char *slash = strncmp(to, "gw:", 3) == 0 ? strchr(to, '/') : NULL;
    snprintf(d->target, sizeof d->target, "%s", slash ? slash + 1 : to);
    d->code = r->sip_code;
    d->duration_ms = r->end_ms - r->start_ms;
    d->billsec = cdr_billsec(r);
}

/* Places attempt target: the new leg, or NULL when it ended at once (refused by a limit; its
 * result is taken) or could not be made. */
static struct call *place_one(struct call *a, const char *target)
{
    struct dial_state *d = a->dial;
    struct engine *e = worker_engine(a->w);
    struct outleg_request *req = calloc(1, sizeof *req);
    char err[256];
    if (!req)
        return NULL;
    snprintf(req->to, sizeof req->to, "%s", target);
    snprintf(req->from, sizeof req->from, "%s", d->from);
    snprintf(req->account, sizeof req->account, "%s", a->cdr.account);
    snprintf(req->parent_call_id, sizeof req->parent_call_id, "%s", a->id);
    snprintf(req->headers, sizeof req->headers, "%s", d->headers);
    req->timeout_ms = d->timeout_ms;
    if (outleg_check(e, req, err, sizeof err) != 0) { /* checked at the start: cannot be */
        log_warn("call %s: dial %s: %s", a->id, target, err);
        outleg_request_free(req);
        return NULL;
    }
    d->placing = true;
    struct call *b = outleg_start(a->w, engine_new_leg(e, worker_index(a->w)), req, a);
    d->placing = false;
    if (!b || b->ended)
        return NULL;
    d->legs[d->n_legs++] = b;
    return b;
}

/* Places the next attempts: in order until one rings (or, parallel, all of them). False when
 * none rings: d's result is then the last attempt's. */
static bool place_more(struct call *a)
{
    struct dial_state *d = a->dial;
    while (d->next < d->n_attempts) {
        if (place_one(a, d->attempts[d->next++]) && !d->parallel)
            return true;
        if (!d->parallel && !goes_on(d))
            break;
    }
    return d->n_legs > 0;
}

static void remove_leg(struct dial_state *d, struct call *b)
{
    for (int i = 0; i < d->n_legs; i++) {
        if (d->legs[i] == b) {
            d->legs[i] = d->legs[--d->n_legs];
            break;
        }
    }
    b->dial_parent = NULL;
}

/* Ends a b-leg that has not answered: CANCEL (with cause 16); its row says cancelled and the
 * 487 our CANCEL brings (the leg is gone before that response arrives). */
static void cancel_leg(struct call *b, const char *by)
{
    b->cdr.sip_code = 487;
    call_end(b, 0, "cancelled", by);
}

static void dial_over(struct call *a)
{
    a->dial->done = true;
    call_tone_stop(a);
    call_playlist_clear(a);
    call_wait_notify(a, WAIT_EV_PEER);
}

/* Ringback "relay": the first b-leg to bring early media (183 with SDP) is heard by the caller
 * until one answers; when that leg ends first, another one with early media takes over. */
static void relay_early(struct call *a)
{
    struct dial_state *d = a->dial;
    if (!d->relay || d->winner || a->bridge)
        return;
    for (int i = 0; i < d->n_legs; i++) {
        if (d->legs[i]->state == CALL_EARLY) {
            call_progress_now(a);
            bridge_start(a, d->legs[i]);
            return;
        }
    }
}

/* The first answer wins: the caller is answered (if need be) and bridged, the others end. */
static void won(struct call *a, struct call *b)
{
    struct dial_state *d = a->dial;
    d->winner = b;
    for (int i = d->n_legs - 1; i >= 0; i--) /* each end removes its leg */
        if (i < d->n_legs && d->legs[i] != b)
            cancel_leg(d->legs[i], "system");
    call_tone_stop(a);
    call_playlist_clear(a);
    call_answer_now(a); /* SPEC 5.5: the caller is answered first if needed */
    if (bridge_start(a, b) != 0)
        log_warn("call %s: no memory to bridge %s", a->id, b->id);
    if (d->max_duration_ms)
        call_wait_timer(a, d->max_duration_ms);
}

/* The b-leg's news for its a-leg's dial. */
void call_dial_leg_event(struct call *b)
{
    struct call *a = b->dial_parent;
    struct dial_state *d = a ? a->dial : NULL;
    if (!d)
        return;
    if (b->ended) {
        bool counts = !d->winner || d->winner == b; /* a loser's end is not the result */
        remove_leg(d, b);
        if (counts)
            take_result(d, b);
        if (b == d->screened)
            d->screened = NULL;
        if (b == d->refused) { /* on_answer said no: answered, but not taken */
            snprintf(d->status, sizeof d->status, "rejected");
            d->refused = NULL;
        }
        if (d->placing || !counts)
            return;
        if (d->n_legs > 0 && !d->winner) { /* parallel: the others still ring */
            relay_early(a);
            return;
        }
        if (!d->winner && !a->ended && goes_on(d) && place_more(a))
            return;
        dial_over(a);
    } else if (b->state == CALL_UP && !d->winner && d->on_answer_ref != LUA_NOREF) {
        if (d->screened) { /* one is being asked already: this later answer is not needed */
            call_end(b, 0, "cancelled", "system");
        } else {
            /* What runs on the b-leg is the a-leg script's handler: its CDR row says so. */
            snprintf(b->cdr.script, sizeof b->cdr.script, "%s", a->cdr.script);
            store_cdr_update(call_svc(b)->store, &b->cdr);
            call_script_screen(d->screened = b, d->on_answer_ref);
        }
    } else if (b->state == CALL_UP && !d->winner) {
        won(a, b);
    } else if (b->state == CALL_EARLY) {
        relay_early(a); /* the callee's ringback or announcement */
    }
}

void call_dial_screened(struct call *b, bool accepted)
{
    struct call *a = b->dial_parent;
    struct dial_state *d = a ? a->dial : NULL;
    if (!d || b->ended)
        return; /* its end was the dial's news already */
    d->screened = NULL;
    if (accepted) {
        won(a, b);
    } else {
        d->refused = b;
        call_end(b, 0, "normal_clearing", "script"); /* and the dial goes on */
    }
}

/* ringback = "tone" or a prompt name (played looped) while the callee rings. */
static void start_ringback(struct call *a, const char *ringback)
{
    struct tone_spec spec;
    char err[64];
    call_progress_now(a);
    if (strcmp(ringback, "tone") != 0) {
        if (call_play_loop(a, ringback) != 0)
            log_warn("call %s: ringback prompt '%s' cannot be loaded now", a->id, ringback);
        return;
    }
    if (a->tone || tone_parse("ringback", &spec, err, sizeof err) != 0 ||
        !(a->tone = malloc(sizeof *a->tone)))
        return;
    tone_gen_init(a->tone, &spec);
    a->tone_left = (uint32_t)RINGBACK_MAX_MS * (TONE_RATE / 1000); /* the answer stops it */
}

/* Ends every b-leg: cause for those answered, cancelled for those still ringing. */
static void end_legs(struct dial_state *d, const char *cause, const char *by)
{
    while (d->n_legs > 0) { /* each end removes its leg */
        struct call *b = d->legs[d->n_legs - 1];
        if (b->state == CALL_UP)
            call_end(b, 0, cause, by);
        else
            cancel_leg(b, by);
    }
}

static void on_dial_event(struct call *a, enum wait_event ev)
{
    struct dial_state *d = a->dial;
    switch (ev) {
    case WAIT_EV_PEER:
        if (d->done)
            call_wait_wake(a);
        break;
    case WAIT_EV_TIMER: /* max_duration: both legs end */
        end_legs(d, "max_duration", "system");
        call_end(a, 0, "max_duration", "system");
        break;
    case WAIT_EV_HANGUP: /* the caller left: the b-legs go too, and dial raises */
        end_legs(d, "normal_clearing", "caller");
        call_wait_wake(a);
        break;
    default:
        break;
    }
}

static int dial_results(lua_State *L, struct call *a)
{
    const struct dial_state *d = a->dial;
    const char *const strings[][2] = { { "status", d->status }, { "hangup_by", d->hangup_by },
                                       { "target", d->target }, { "gateway", d->gateway },
                                       { "call_id", d->call_id } };
    const struct { const char *k; int64_t v; } numbers[] = {
        { "code", d->code }, { "duration_ms", d->duration_ms }, { "billsec", d->billsec } };
    lua_createtable(L, 0, 8);
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (strings[i][1][0]) { /* no gateway: the field is nil */
            lua_pushstring(L, strings[i][1]);
            lua_setfield(L, -2, strings[i][0]);
        }
    }
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        lua_pushinteger(L, numbers[i].v);
        lua_setfield(L, -2, numbers[i].k);
    }
    call_dial_free(a); /* the dial is over (after a hangup, call_free frees it) */
    return 1;
}

static const struct wait_kind dial_wait = {
    "dial", .on_event = on_dial_event, .results = dial_results, .handles_hangup = true,
};

/* opts.headers: X- headers only, as "Name: value" lines (raises on anything else). */
static int read_headers(lua_State *L, int opts, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    if (lua_getfield(L, opts, "headers") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1))
        return luaL_error(L, "call:dial(): headers must be a table of X- headers");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        bool name_ok = (k[0] == 'X' || k[0] == 'x') && k[1] == '-' && k[2] &&
                       strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") ==
                           strlen(k);
        if (!name_ok || !v || strpbrk(v, "\r\n"))
            return luaL_error(L, "call:dial(): headers: X-Name = \"value\" pairs (one line each)");
        int w = snprintf(out + n, cap - n, "%s%s: %s", n ? "\r\n" : "", k, v);
        if (w < 0 || (size_t)w >= cap - n)
            return luaL_error(L, "call:dial(): headers: at most %d bytes in all", HEADERS_MAX);
        n += (size_t)w;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

/* SPEC 5.5 caller_id: a number of the account, or "auto"; by default the caller's number when
 * it is one of the account's, else auto. The operator keeps the caller's number when it is one
 * (From sip:alice@... is not). "auto" is resolved by outleg_check (SPEC 8: the account's
 * number with a free channel). */
static const char *caller_id(struct call *a, const char *asked)
{
    if (asked && strcmp(asked, "auto") != 0)
        return asked;
    const char *from = a->cdr.from_number;
    const struct number_record *own = number_snapshot_find(a->numbers, from);
    if (!asked && own && strcmp(own->account, a->cdr.account) == 0)
        return from;
    if (strcmp(a->cdr.account, "admin") == 0 && from[0] &&
        strspn(from + (from[0] == '+'), "0123456789") == strlen(from + (from[0] == '+')))
        return from;
    return "auto";
}

/* "auto" has something to pick from: the account has a number (busy or not). */
static bool auto_possible(const struct call *a)
{
    const struct number_record *one[1];
    return a->numbers && number_snapshot_of_account(a->numbers, a->cdr.account, one, 1) > 0;
}

/* One attempt more (prefix, then target), unless the list is full or memory is out. */
static void add_attempt(struct dial_state *d, const char *prefix, const char *target)
{
    size_t lp = strlen(prefix), lt = strlen(target);
    char *s = d->n_attempts < DIAL_MAX_ATTEMPTS ? malloc(lp + lt + 1) : NULL;
    if (!s)
        return;
    memcpy(s, prefix, lp);
    memcpy(s + lp, target, lt + 1);
    d->attempts[d->n_attempts++] = s;
}

/* Adds target's attempts: a bare number once per gateway it may take, in their order. */
static void add_attempts(struct engine *e, struct dial_state *d, const char *target)
{
    bool number = strncmp(target, "sip:", 4) != 0 && strncmp(target, "gw:", 3) != 0 &&
                  strncmp(target, "trunk:", 6) != 0;
    int order[GATEWAY_ORDER_MAX];
    size_t n = number ? outleg_gateway_order(e, order) : 0;
    for (size_t i = 0; i < n; i++) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "gw:%s/",
                 gateways_config(engine_gateways(e), (size_t)order[i])->name);
        add_attempt(d, prefix, target);
    }
    if (n == 0) /* a URI, gw:, trunk:, or no gateway up */
        add_attempt(d, "", target);
}

/* Each target is checked as a leg of its own would be; an error names it (raises). */
static void check_targets(lua_State *L, struct call *a, const char *from)
{
    struct outleg_request probe = { .timeout_ms = OUTLEG_TIMEOUT_MS_DEFAULT };
    snprintf(probe.account, sizeof probe.account, "%s", a->cdr.account);
    snprintf(probe.from, sizeof probe.from, "%s", from);
    int n = lua_istable(L, 2) ? (int)lua_rawlen(L, 2) : 1;
    if (n < 1 || n > DIAL_MAX_TARGETS)
        luaL_error(L, "call:dial(): 1 to %d targets", DIAL_MAX_TARGETS);
    for (int i = 1; i <= n; i++) {
        const char *t = lua_istable(L, 2) ? (lua_rawgeti(L, 2, i), lua_tostring(L, -1))
                                          : lua_tostring(L, 2);
        char err[256];
        if (!t || strlen(t) >= sizeof probe.to)
            luaL_error(L, "call:dial(): target %d: a string (sip: URI, number, gw:NAME/NUMBER)", i);
        snprintf(probe.to, sizeof probe.to, "%s", t);
        probe.gateway[0] = probe.number[0] = '\0';
        if (outleg_check(worker_engine(a->w), &probe, err, sizeof err) != 0)
            luaL_error(L, "call:dial(): %s: %s", t, err);
        if (lua_istable(L, 2))
            lua_pop(L, 1);
    }
}

static int m_dial(lua_State *L)
{
    struct call *a = method_live_call(L, "dial");
    if (!lua_istable(L, 2))
        luaL_checkstring(L, 2);
    if (lua_isnoneornil(L, 3)) {
        lua_settop(L, 2);
        lua_newtable(L);
    }
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    if (a->dial)
        return luaL_error(L, "call:dial(): a dial is already in progress");
    char headers[HEADERS_MAX];
    read_headers(L, 3, headers, sizeof headers);
    lua_getfield(L, 3, "timeout");
    lua_getfield(L, 3, "max_duration");
    lua_getfield(L, 3, "caller_id");
    lua_getfield(L, 3, "ringback");
    lua_getfield(L, 3, "parallel");
    bool parallel = lua_toboolean(L, 8);
    if (lua_getfield(L, 3, "on_answer") != LUA_TNIL && !lua_isfunction(L, 9))
        return luaL_error(L, "call:dial(): on_answer must be a function");
    int record = lua_getfield(L, 3, "record");
    if (record != LUA_TNIL && record != LUA_TBOOLEAN)
        return luaL_error(L, "call:dial(): record must be true or false");
    lua_Integer timeout = luaL_optinteger(L, 4, OUTLEG_TIMEOUT_MS_DEFAULT);
    lua_Integer max_duration = luaL_optinteger(L, 5, 0);
    const char *cid = caller_id(a, luaL_optstring(L, 6, NULL));
    const char *ringback = luaL_optstring(L, 7, "relay");
    if (timeout <= 0 || timeout > OUTLEG_TIMEOUT_MS_MAX)
        return luaL_error(L, "call:dial(): timeout: ms of ringing, 1 to %d", OUTLEG_TIMEOUT_MS_MAX);
    if (max_duration < 0 || max_duration > MAX_DURATION_MS_MAX)
        return luaL_error(L, "call:dial(): max_duration: ms, at most 24 h");
    if (!ringback[0])
        return luaL_error(L, "call:dial(): ringback: \"relay\", \"tone\" or a prompt name");
    if (strlen(cid) >= FROM_MAX)
        return luaL_error(L, "call:dial(): caller_id: a number of the account");
    if (strcmp(cid, "auto") == 0 && !auto_possible(a)) {
        lua_pushnil(L);
        lua_pushliteral(L, "no_caller_id");
        return 2;
    }
    check_targets(L, a, cid);
    struct dial_state *d = calloc(1, sizeof *d);
    if (!d)
        return luaL_error(L, "call:dial(): out of memory");
    struct engine *e = worker_engine(a->w);
    int n = lua_istable(L, 2) ? (int)lua_rawlen(L, 2) : 1;
    for (int i = 1; i <= n; i++) { /* strings all: check_targets saw them */
        if (lua_istable(L, 2))
            lua_rawgeti(L, 2, i);
        add_attempts(e, d, lua_tostring(L, lua_istable(L, 2) ? -1 : 2));
        if (lua_istable(L, 2))
            lua_pop(L, 1);
    }
    snprintf(d->from, sizeof d->from, "%s", cid);
    snprintf(d->headers, sizeof d->headers, "%s", headers);
    d->timeout_ms = (int)timeout;
    d->relay = strcmp(ringback, "relay") == 0;
    d->max_duration_ms = max_duration;
    d->parallel = parallel;
    d->on_answer_ref = LUA_NOREF;
    if (lua_isfunction(L, 9)) {
        lua_pushvalue(L, 9);
        d->on_answer_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    snprintf(d->status, sizeof d->status, "failed"); /* until an attempt says otherwise */
    a->dial = d;
    if (record == LUA_TBOOLEAN) { /* as call:record_call: the caller's whole-call recording */
        a->callrec_wanted = lua_toboolean(L, 10);
        if (a->callrec_wanted)
            call_recording_start(a); /* now if answered, else at the ACK */
        else
            call_recording_stop(a);
    }
    if (!place_more(a)) /* every attempt refused at once (limits, no gateway up) */
        return dial_results(L, a);
    if (!d->relay)
        start_ringback(a, ringback);
    return call_wait_yield(L, a, &dial_wait);
}

const luaL_Reg method_dial_funcs[] = { { "dial", m_dial }, { NULL, NULL } };
