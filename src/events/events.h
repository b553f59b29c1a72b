/* Events and webhooks (SPEC 10). Any thread reports an event with events_emit: it costs a
 * malloc and a queue push, never I/O, so a call, the CDR writer or the recorder never waits.
 * The delivery thread (its own libevent loop and SQLite connection) writes one delivery per
 * matching subscription of the account into webhook_deliveries, then POSTs it:
 *   {"id": delivery id, "event": name, "created_at": ISO-8601, "data": {...}}
 * with X-VCS-Event, X-VCS-Delivery, X-VCS-Timestamp (Unix seconds) and
 * X-VCS-Signature: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP "." BODY)). An answer other than
 * 2xx, or none within 10 s, is retried 1 s later, doubling up to 1 h apart, until 24 h after
 * the event; then the delivery is "failed". The queue is the table: a restart resumes every
 * pending delivery (one in flight at the stop is sent again: receivers deduplicate by id).
 * Events emitted while the thread is not running are logged as lost.
 * A URL's host is resolved at each attempt, and only a public address is connected to (see
 * webhook_addr.h) unless webhooks.allow_private: a refused address fails the delivery at once,
 * without retries, its reason in last_error.
 *
 * Events: call.completed (the CDR row, emitted by the store once the row is committed),
 * recording.ready ({call_id, path, duration_ms}), order.approved and order.rejected (the
 * order), balance.low and campaign.completed (emitted by billing and campaigns). */
#ifndef VCS_EVENTS_H
#define VCS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The events a subscription may name ("*": all). */
extern const char *const events_names[];

/* Starts the delivery thread on <data_dir>/vcs.db (opened and migrated by store_open);
 * allow_private: deliveries may go to any address. 0, or -1 with err filled. */
int events_start(const char *data_dir, bool allow_private, char *err, size_t errlen);
/* webhooks.allow_private as given to events_start (any thread). */
bool events_private_allowed(void);
/* Any thread: queues event `name` of `account` with data (stolen; a JSON object). */
void events_emit(const char *account, const char *name, json_t *data);
/* Stops the thread, writes what is still queued to the table, closes. Deliveries in flight
 * stay pending. */
void events_stop(void);

#endif
