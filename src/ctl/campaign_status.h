/* vcsctl campaign status ID: the campaign's state and progress counts with a progress bar.
 * On a terminal it follows a running campaign (redrawn every second until it is no longer
 * running); otherwise, or with --json, it prints once. Exit status as platform_cmds.h. */
#ifndef VCS_CTL_CAMPAIGN_STATUS_H
#define VCS_CTL_CAMPAIGN_STATUS_H

#include <stdbool.h>

#include "ctl/http_client.h"

int ctl_campaign_status(const struct target *t, const char *id, bool json);

#endif
