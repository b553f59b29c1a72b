#include "script/pattern.h"

#include <ctype.h>
#include <string.h>

#include <lauxlib.h>

#define MAX_CAPTURES 32      /* LUA_MAXCAPTURES */
#define MAX_DEPTH 200        /* recursion of the matcher, as Lua's MAXCCALLS */
#define METER_BATCH 1024     /* steps between two calls of the meter */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define SPECIALS "^$*+?.([%-"

struct matcher {
    const char *src, *src_end, *pat_end;
    lua_State *L;
    pattern_meter meter;
    long steps;              /* not yet reported to the meter */
    int depth;               /* recursion left */
    int level;               /* captures open or closed */
    struct { const char *init; ptrdiff_t len; } cap[MAX_CAPTURES];
};

static void step(struct matcher *m, long n)
{
    m->steps += n;
    if (m->steps < METER_BATCH)
        return;
    long done = m->steps;
    m->steps = 0;
    if (!m->meter(m->L, done))
        luaL_error(m->L, "pattern matching ran too long (script limit)");
}

/* Reports the steps left over when a function returns, so that many short matches add up. */
static void settle(struct matcher *m)
{
    long done = m->steps;
    m->steps = 0;
    if (done && !m->meter(m->L, done))
        luaL_error(m->L, "pattern matching ran too long (script limit)");
}

static bool class_match(int c, int cl)
{
    bool r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    default: return cl == c; /* %. %% %( ...: the character itself */
    }
    return isupper(cl) ? !r : r;
}

/* p at '[', close at its ']'. */
static bool set_match(int c, const char *p, const char *close)
{
    bool hit = true;
    if (p[1] == '^') {
        hit = false;
        p++;
    }
    while (++p < close) {
        if (*p == '%') {
            p++;
            if (class_match(c, (unsigned char)*p))
                return hit;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return hit;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return hit;
        }
    }
    return !hit;
}

/* The end of the single-character class starting at p. */
static const char *class_end(struct matcher *m, const char *p)
{
    char c = *p++;
    if (c == '%') {
        if (p >= m->pat_end)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (*p == '^')
            p++;
        do { /* the first character of a set may be ']' */
            if (p >= m->pat_end)
                luaL_error(m->L, "malformed pattern (missing ']')");
            if (*p++ == '%' && p < m->pat_end)
                p++;
        } while (*p != ']');
        return p + 1;
    }
    return p;
}

static bool single_match(struct matcher *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->src_end)
        return false;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return true;
    case '%': return class_match(c, (unsigned char)p[1]);
    case '[': return set_match(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *match(struct matcher *m, const char *s, const char *p);

static const char *balance(struct matcher *m, const char *s, const char *p)
{
    if (p + 1 >= m->pat_end)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != p[0])
        return NULL;
    int depth = 1;
    for (const char *t = s + 1; t < m->src_end; t++) {
        if (*t == p[1]) {
            if (--depth == 0) {
                step(m, t - s);
                return t + 1;
            }
        } else if (*t == p[0]) {
            depth++;
        }
    }
    step(m, m->src_end - s);
    return NULL;
}

static const char *expand_max(struct matcher *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (single_match(m, s + n, p, ep))
        n++;
    step(m, n);
    for (; n >= 0; n--) {
        const char *r = match(m, s + n, ep + 1);
        if (r)
            return r;
    }
    return NULL;
}

static const char *expand_min(struct matcher *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = match(m, s, ep + 1);
        if (r)
            return r;
        if (!single_match(m, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *open_capture(struct matcher *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= MAX_CAPTURES)
        luaL_error(m->L, "too many captures");
    m->cap[m->level].init = s;
    m->cap[m->level].len = what;
    m->level++;
    const char *r = match(m, s, p);
    if (!r)
        m->level--;
    return r;
}

static const char *close_capture(struct matcher *m, const char *s, const char *p)
{
    int l = m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_UNFINISHED)
        l--;
    if (l < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].init;
    const char *r = match(m, s, p);
    if (!r)
        m->cap[l].len = CAP_UNFINISHED;
    return r;
}

static int capture_index(struct matcher *m, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->cap[l].len == CAP_UNFINISHED)
        return luaL_error(m->L, "invalid capture index %%%d", l + 1);
    return l;
}

static const char *back_reference(struct matcher *m, const char *s, int digit)
{
    int l = capture_index(m, digit);
    size_t len = (size_t)m->cap[l].len;
    step(m, (long)len);
    if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[l].init, s, len) == 0)
        return s + len;
    return NULL;
}

/* Matches pattern p (up to pat_end) at s: the end of the match, or NULL. */
static const char *match(struct matcher *m, const char *s, const char *p)
{
    if (m->depth-- == 0)
        luaL_error(m->L, "pattern too complex");
    step(m, 1);
    while (p < m->pat_end) {
        const char *ep;
        if (*p == '(') {
            s = p[1] == ')' ? open_capture(m, s, p + 2, CAP_POSITION)
                            : open_capture(m, s, p + 1, CAP_UNFINISHED);
            goto out;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            goto out;
        }
        if (*p == '$' && p + 1 == m->pat_end) {
            s = s == m->src_end ? s : NULL;
            goto out;
        }
        if (*p == '%' && p[1] == 'b') {
            s = balance(m, s, p + 2);
            if (!s)
                goto out;
            p += 4;
            continue;
        }
        if (*p == '%' && p[1] == 'f') {
            p += 2;
            if (*p != '[')
                luaL_error(m->L, "missing '[' after '%%f' in pattern");
            ep = class_end(m, p);
            int prev = s == m->src ? 0 : (unsigned char)s[-1];
            int cur = s < m->src_end ? (unsigned char)*s : 0;
            if (!set_match(prev, p, ep - 1) && set_match(cur, p, ep - 1)) {
                p = ep;
                continue;
            }
            s = NULL;
            goto out;
        }
        if (*p == '%' && isdigit((unsigned char)p[1])) {
            s = back_reference(m, s, (unsigned char)p[1]);
            if (!s)
                goto out;
            p += 2;
            continue;
        }
        ep = class_end(m, p);
        if (!single_match(m, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') { /* zero repetitions are fine */
                p = ep + 1;
                continue;
            }
            s = NULL;
            goto out;
        }
        switch (*ep) {
        case '?': {
            const char *r = match(m, s + 1, ep + 1);
            if (r) {
                s = r;
                goto out;
            }
            p = ep + 1;
            continue;
        }
        case '+': s = expand_max(m, s + 1, p, ep); goto out;
        case '*': s = expand_max(m, s, p, ep); goto out;
        case '-': s = expand_min(m, s, p, ep); goto out;
        default: s++; p = ep; continue;
        }
    }
out:
    m->depth++;
    return s;
}

static pattern_meter meter_of(lua_State *L)
{
    pattern_meter f;
    memcpy(&f, lua_touserdata(L, lua_upvalueindex(1)), sizeof f);
    return f;
}

static void matcher_init(struct matcher *m, lua_State *L, pattern_meter meter,
                         const char *s, size_t ls, const char *p, size_t lp)
{
    m->L = L;
    m->meter = meter;
    m->steps = 0;
    m->src = s;
    m->src_end = s + ls;
    m->pat_end = p + lp;
}

static void matcher_reset(struct matcher *m)
{
    m->level = 0;
    m->depth = MAX_DEPTH;
}

/* Capture i (0-based) of the match s..e; capture 0 of a pattern without captures is the whole
 * match. */
static void push_capture(struct matcher *m, int i, const char *s, const char *e)
{
    if (i >= m->level) {
        if (i != 0)
            luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->cap[i].len;
    if (len == CAP_UNFINISHED)
        luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, (lua_Integer)(m->cap[i].init - m->src) + 1);
    else
        lua_pushlstring(m->L, m->cap[i].init, (size_t)len);
}

/* All captures, or the whole match when s is given and the pattern has none. */
static int push_captures(struct matcher *m, const char *s, const char *e)
{
    int n = m->level == 0 && s ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* Lua's rule for a start position: negative counts from the end, clipped to 1. */
static size_t start_at(lua_Integer init, size_t len)
{
    if (init > 0)
        return (size_t)init;
    if (init == 0)
        return 1;
    if (init < -(lua_Integer)len)
        return 1;
    return len + (size_t)init + 1;
}

/* A pattern without magic characters (in any of its '\0'-separated pieces) is searched for
 * plainly. */
static bool no_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i += strlen(p + i) + 1)
        if (strpbrk(p + i, SPECIALS))
            return false;
    return true;
}

static int find_aux(lua_State *L, bool find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    struct matcher m;
    matcher_init(&m, L, meter_of(L), s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {
        const char *hit = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
        if (!hit) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
        lua_pushinteger(L, (lua_Integer)(hit - s + lp));
        return 2;
    }
    bool anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        m.pat_end = p + lp - 1;
    }
    const char *s1 = s + init;
    do {
        matcher_reset(&m);
        const char *e = match(&m, s1, p);
        if (e) {
            settle(&m);
            if (find) {
                lua_pushinteger(L, (lua_Integer)(s1 - s) + 1);
                lua_pushinteger(L, (lua_Integer)(e - s));
                return push_captures(&m, NULL, NULL) + 2;
            }
            return push_captures(&m, s1, e);
        }
    } while (s1++ < m.src_end && !anchor);
    settle(&m);
    luaL_pushfail(L);
    return 1;
}

static int p_find(lua_State *L)
{
    return find_aux(L, true);
}

static int p_match(lua_State *L)
{
    return find_aux(L, false);
}

struct gmatch_state {
    size_t pos;         /* where the next search starts */
    size_t last;        /* end of the last match + 1, 0 before the first */
};

static int gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(2), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(3), &lp);
    struct gmatch_state *g = lua_touserdata(L, lua_upvalueindex(4));
    struct matcher m;
    matcher_init(&m, L, meter_of(L), s, ls, p, lp);
    for (size_t pos = g->pos; pos <= ls; pos++) {
        const char *src = s + pos;
        matcher_reset(&m);
        const char *e = match(&m, src, p);
        if (e && (g->last == 0 || e != s + g->last - 1)) {
            g->pos = (size_t)(e - s);
            g->last = g->pos + 1;
            settle(&m);
            return push_captures(&m, src, e);
        }
    }
    g->pos = ls + 1;
    settle(&m);
    return 0;
}

static int p_gmatch(lua_State *L)
{
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls)
        init = ls + 1;
    lua_settop(L, 2);
    struct gmatch_state *g = lua_newuserdatauv(L, sizeof *g, 0);
    g->pos = init;
    g->last = 0;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_pushcclosure(L, gmatch_next, 4);
    return 1;
}

static void add_string_repl(struct matcher *m, luaL_Buffer *b, const char *s, const char *e, int repl)
{
    size_t l;
    const char *news = lua_tolstring(m->L, repl, &l);
    for (size_t i = 0; i < l; i++) {
        if (news[i] != '%') {
            luaL_addchar(b, news[i]);
            continue;
        }
        i++;
        if (i < l && news[i] == '%') {
            luaL_addchar(b, '%');
        } else if (i < l && isdigit((unsigned char)news[i])) {
            if (news[i] == '0')
                luaL_addlstring(b, s, (size_t)(e - s));
            else {
                push_capture(m, news[i] - '1', s, e);
                luaL_tolstring(m->L, -1, NULL);
                lua_remove(m->L, -2);
                luaL_addvalue(b);
            }
        } else {
            luaL_error(m->L, "invalid use of '%%' in replacement string");
        }
    }
}

static void add_value(struct matcher *m, luaL_Buffer *b, const char *s, const char *e, int repl)
{
    lua_State *L = m->L;
    switch (lua_type(L, repl)) {
    case LUA_TFUNCTION: {
        lua_pushvalue(L, repl);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
        break;
    }
    case LUA_TTABLE:
        push_capture(m, 0, s, e);
        lua_gettable(L, repl);
        break;
    default:
        add_string_repl(m, b, s, e, repl);
        return;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the original text */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    } else {
        luaL_addvalue(b);
    }
}

static int p_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
                     tr == LUA_TTABLE, 3, "string/function/table");
    struct matcher m;
    matcher_init(&m, L, meter_of(L), s, ls, p, lp);
    bool anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        m.pat_end = p + lp - 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *src = s, *last = NULL;
    lua_Integer n = 0;
    while (n < max_n) {
        matcher_reset(&m);
        const char *e = match(&m, src, p);
        if (e && e != last) {
            n++;
            add_value(&m, &b, src, e, 3);
            src = last = e;
        } else if (src < m.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    settle(&m);
    luaL_addlstring(&b, src, (size_t)(m.src_end - src));
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

void pattern_install(lua_State *L, int idx, pattern_meter meter)
{
    idx = lua_absindex(L, idx);
    static const luaL_Reg funcs[] = {
        { "find", p_find }, { "match", p_match }, { "gmatch", p_gmatch }, { "gsub", p_gsub },
        { NULL, NULL } };
    for (const luaL_Reg *f = funcs; f->name; f++) {
        memcpy(lua_newuserdatauv(L, sizeof meter, 0), &meter, sizeof meter);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, idx, f->name);
    }
}
