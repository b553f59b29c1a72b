/* call:ring(), call:progress(), call:answer(): the SIP answers a script gives. */
#include <stdio.h>

#include "call/call_method.h"
#include "sip/sip_stack.h"

static bool send_sdp_response(struct call *c, int status)
{
    char sdp[1024];
    if (call_sdp(c, sdp, sizeof sdp) < 0)
        return false;
    sip_respond(call_svc(c)->sip, c->leg_id, status, sdp, NULL);
    call_media_start(c);
    return true;
}

void call_answer_now(struct call *c)
{
    if (c->state == CALL_UP || c->state == CALL_ANSWERING)
        return;
    if (send_sdp_response(c, 200)) {
        c->state = CALL_ANSWERING; /* answered once the ACK arrives (call_on_sip) */
        c->cdr.sip_code = 200;
        call_publish(c);
    }
}

static int m_ring(lua_State *L)
{
    struct call *c = method_call(L);
    if (!c || c->ended)
        return call_raise_hangup(L, c);
    if (c->state == CALL_INCOMING)
        sip_respond(call_svc(c)->sip, c->leg_id, 180, NULL, NULL);
    return 0;
}

void call_progress_now(struct call *c)
{
    if (c->state == CALL_INCOMING && send_sdp_response(c, 183)) {
        c->state = CALL_EARLY;
        call_publish(c);
    }
}

static int m_progress(lua_State *L)
{
    struct call *c = method_call(L);
    if (!c || c->ended)
        return call_raise_hangup(L, c);
    call_progress_now(c);
    return 0;
}

static const struct wait_kind ack_wait = { "answer", .wake_on = WAIT_ON(WAIT_EV_ACK) };

/* call:answer(): 200 with our SDP; returns when the ACK arrived. */
static int m_answer(lua_State *L)
{
    struct call *c = method_live_call(L, "answer");
    if (c->state == CALL_UP)
        return 0;
    call_answer_now(c);
    return call_wait_yield(L, c, &ack_wait);
}

const luaL_Reg method_answer_funcs[] = {
    { "ring", m_ring }, { "progress", m_progress }, { "answer", m_answer }, { NULL, NULL } };
