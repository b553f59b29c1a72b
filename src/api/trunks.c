/* Customer trunks over the API (SPEC 7): the account's trunks, created, changed and deleted
 * here, stored by store/trunk_store.c and handed to the SIP side at once (trunks_set_managed).
 * Trunks of the configuration file are not listed and cannot be changed here; a managed trunk
 * may not take their names or usernames. The password is never returned. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/log.h"
#include "store/trunk_store.h"

/* The operator sees and changes every account's trunks. */
static const char *scope(const struct api_call *c)
{
    return c->operator ? NULL : c->account;
}

/* The digest realm passwords are hashed under (none without a SIP side). */
static const char *realm(const struct api_call *c)
{
    return c->api->ops.trunks ? trunks_realm(c->api->ops.trunks) : "";
}

/* The SIP side takes the table as it now is in the database. */
static void publish(struct api_call *c)
{
    struct trunks *t = c->api->ops.trunks;
    struct trunk_def *defs = NULL;
    size_t n;
    if (t && (ts_load(iam_store_db(c->api->iam), trunks_realm(t), &defs, &n) != 0 ||
              trunks_set_managed(t, defs, n) != 0))
        log_error("trunks: the change is stored but not yet in effect (restart to apply)");
    free(defs);
}

static int read_change(struct api_call *c, struct api_reply *r, struct ts_change *ch, bool create)
{
    json_t *max = json_object_get(c->body, "max_calls");
    *ch = (struct ts_change){
        .name = json_string_value(json_object_get(c->body, "name")),
        .account = c->scope,
        .allow = json_object_get(c->body, "allow"),
        .username = json_string_value(json_object_get(c->body, "username")),
        .password = json_string_value(json_object_get(c->body, "password")),
        .max_calls = max ? json_integer_value(max) : -1,
        .address = json_string_value(json_object_get(c->body, "address")),
    };
    char msg[200] = "max_calls must be from 0 to 1000000";
    if ((max && ch->max_calls < 0) || ts_check(ch, create, msg, sizeof msg) != 0) {
        api_reply_error(r, 400, "bad_request", "%s", msg);
        return -1;
    }
    if (c->api->ops.trunks && trunks_config_has(c->api->ops.trunks, create ? ch->name : NULL, ch->username)) {
        api_reply_error(r, 409, "conflict", "the name or username is a configured trunk's");
        return -1;
    }
    return 0;
}

void api_trunks_create(struct api_call *c, struct api_reply *r)
{
    struct ts_change ch;
    if (read_change(c, r, &ch, true) != 0)
        return;
    sqlite3 *db = iam_store_db(c->api->iam);
    enum iam_rc rc = ts_create(db, &ch, realm(c));
    if (rc == IAM_EXISTS) {
        api_reply_error(r, 409, "conflict", "a trunk of that name or username exists");
        return;
    }
    if (rc != IAM_OK) {
        api_reply_store(r, rc, "trunk");
        return;
    }
    publish(c);
    json_t *t = NULL;
    rc = ts_get(db, NULL, ch.name, &t);
    if (rc == IAM_OK)
        api_reply_json(r, 201, t);
    else
        api_reply_store(r, rc, "trunk");
}

void api_trunks_list(struct api_call *c, struct api_reply *r)
{
    json_t *page = NULL;
    enum iam_rc rc = ts_list(iam_store_db(c->api->iam), scope(c), c->after, c->limit, &page);
    api_reply_result(r, rc, page, "trunks");
}

void api_trunks_get(struct api_call *c, struct api_reply *r)
{
    json_t *t = NULL;
    enum iam_rc rc = ts_get(iam_store_db(c->api->iam), scope(c), api_param(c, "name"), &t);
    api_reply_result(r, rc, t, "trunk");
}

void api_trunks_update(struct api_call *c, struct api_reply *r)
{
    struct ts_change ch;
    if (json_object_get(c->body, "name")) {
        api_reply_error(r, 400, "bad_request", "a trunk's name cannot change");
        return;
    }
    if (read_change(c, r, &ch, false) != 0)
        return;
    char msg[200] = "";
    enum iam_rc rc = ts_update(iam_store_db(c->api->iam), scope(c), api_param(c, "name"), &ch,
                               realm(c), msg, sizeof msg);
    if (rc == IAM_IN_USE) {
        api_reply_error(r, 409, "conflict", "%s", msg);
        return;
    }
    if (rc != IAM_OK) {
        api_reply_store(r, rc, "trunk");
        return;
    }
    publish(c);
    api_trunks_get(c, r);
}

void api_trunks_delete(struct api_call *c, struct api_reply *r)
{
    enum iam_rc rc = ts_delete(iam_store_db(c->api->iam), scope(c), api_param(c, "name"));
    if (rc == IAM_OK)
        publish(c);
    api_reply_done(r, rc, "trunk");
}
