#include "call/lua_re.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <lauxlib.h>
#include <pcre2.h>

#define RE_MATCH_LIMIT 1000000 /* backtracking steps */

int lua_re_match(lua_State *L)
{
    size_t plen, slen;
    const char *pattern = luaL_checklstring(L, 1, &plen);
    const char *subject = luaL_checklstring(L, 2, &slen);
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, plen, 0, &errcode, &erroff, NULL);
    if (!re) {
        char msg[120];
        pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg, sizeof msg);
        lua_pushfstring(L, "valid: %s at offset %d", msg, (int)erroff);
        return lua_error(L);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    int rc = -1;
    if (md && mc) {
        pcre2_set_match_limit(mc, RE_MATCH_LIMIT);
        rc = pcre2_match(re, (PCRE2_SPTR)subject, slen, 0, 0, md, mc);
    }
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    lua_pushboolean(L, rc >= 0);
    return 1;
}
