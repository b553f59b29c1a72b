/* vcsctl's platform commands (SPEC 7, 8 and 9): accounts, users, tokens, policies, audit,
 * numbers, orders, trunks, gateways, regions, balance, recharge, statement, campaigns (campaign status: campaign_status.h), do-not-call
 * lists. Each is one request to the management API; lists follow the cursor to the end unless
 * --limit or --after is given. People get tables (objects as "key: value" lines); --json prints
 * the API's JSON for scripts. Exit status: 0 success, 1 the API answered an error (its message
 * on stderr), 2 usage or no answer. */
#ifndef VCS_CTL_PLATFORM_CMDS_H
#define VCS_CTL_PLATFORM_CMDS_H

#include <stdbool.h>
#include <stdio.h>

#include "ctl/http_client.h"

bool ctl_platform_group(const char *name);
/* argv[0] is the group, argv[1] the verb (audit needs none). */
int ctl_platform_run(const struct target *t, int argc, char **argv, bool json);
void ctl_platform_usage(FILE *f);

#endif
