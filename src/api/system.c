/* The server's own endpoints: health, reload, metrics and this API's description. */
#include <stdio.h>

#include <event2/buffer.h>

#include "api/api_internal.h"
#include "core/log.h"

/* Automake passes PACKAGE_VERSION from configure.ac; this covers compiling the file alone. */
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

void api_health(struct api_call *c, struct api_reply *r)
{
    struct api_health h = { 0 };
    c->api->ops.health(c->api->ops.ctx, &h);
    json_t *o = json_pack("{s:s,s:s,s:I,s:i,s:b}", "status", h.draining ? "draining" : "ok",
                          "version", PACKAGE_VERSION, "uptime_s", (json_int_t)h.uptime_s,
                          "calls", h.calls, "draining", h.draining);
    /* 503 while draining lets an HTTP health check take the node out, like OPTIONS does. */
    api_reply_json(r, h.draining ? 503 : 200, o);
}

void api_reload(struct api_call *c, struct api_reply *r)
{
    struct api_reload_result res = { 0 };
    char err[1024] = "";
    if (c->api->ops.reload(c->api->ops.ctx, &res, err, sizeof err) != 0) {
        if (!err[0])
            snprintf(err, sizeof err, "reload failed");
        log_warn("api: reload by %s failed: %s", c->account, err);
        api_reply_error(r, 422, "script_error", "%s", err);
        return;
    }
    json_t *scripts = json_array();
    for (size_t i = 0; scripts && i < res.n_scripts; i++)
        json_array_append_new(scripts, api_json_text(res.scripts[i]));
    log_info("api: reload by %s ok: version %ld, %zu scripts", c->account, res.version,
             res.n_scripts);
    api_reply_json(r, 200,
                   json_pack("{s:I,s:o}", "version", (json_int_t)res.version, "scripts", scripts));
}

void api_metrics(struct api_call *c, struct api_reply *r)
{
    r->text = evbuffer_new();
    if (!r->text) {
        api_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    if (c->api->ops.metrics)
        c->api->ops.metrics(c->api->ops.ctx, r->text);
    r->content_type = "text/plain; version=0.0.4";
    r->status = 200;
}

void api_openapi_get(struct api_call *c, struct api_reply *r)
{
    (void)c;
    api_reply_json(r, 200, api_openapi());
}
