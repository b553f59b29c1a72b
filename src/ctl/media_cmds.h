/* vcsctl's commands whose answer is not JSON: `cdrs --csv` (the CSV export, written to stdout
 * as it arrives: a million rows in bounded memory) and `recordings get CALL_ID [-o FILE]` (the
 * WAV). Exit status as the platform commands (platform_cmds.h). */
#ifndef VCS_CTL_MEDIA_CMDS_H
#define VCS_CTL_MEDIA_CMDS_H

#include <stdbool.h>
#include <stdio.h>

#include "ctl/http_client.h"

/* Whether argv (the group first) is one of these commands. */
bool ctl_media_wants(int argc, char **argv);
int ctl_media_run(const struct target *t, int argc, char **argv);
void ctl_media_usage(FILE *f);

#endif
