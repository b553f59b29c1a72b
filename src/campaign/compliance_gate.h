/* The compliance check (compliance.h) for threads that must never wait on the database: the
 * media workers, whose scripts call vcs.originate. One thread with its own read-only
 * connection to vcs.db answers the questions in the order they were asked, each through the
 * asker's callback on that thread (the worker's inbox, for vcs.originate). A question is a few
 * indexed queries; the queue carries nothing else, so no call's media or signalling waits
 * behind it, and the CDR writer's queue does not wait behind a question. */
#ifndef VCS_CAMPAIGN_COMPLIANCE_GATE_H
#define VCS_CAMPAIGN_COMPLIANCE_GATE_H

#include <stddef.h>

#include "campaign/compliance.h"

struct compliance_gate;

/* The answer to one question, on the gate's thread; arg as given to compliance_gate_ask. */
typedef void (*compliance_answer_fn)(enum compliance verdict, void *arg);

/* Opens db_path (vcs.db, created by the store) and starts the thread; caps as compliance_check
 * takes them (0: no cap). NULL with err filled on failure. */
struct compliance_gate *compliance_gate_create(const char *db_path, int day_cap, int week_cap,
                                               char *err, size_t errlen);
/* Any thread: queues "may account call number now?". done runs exactly once for a question
 * queued (0); -1 when it cannot be queued (out of memory, a name too long): done never runs. */
int compliance_gate_ask(struct compliance_gate *g, const char *account, const char *number,
                        compliance_answer_fn done, void *arg);
/* Answers every question still queued, stops the thread, closes the connection. */
void compliance_gate_destroy(struct compliance_gate *g);

#endif
