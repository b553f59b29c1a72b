/* N-1 mixing. See mixer.h. */
#include "media/mixer.h"

#include <string.h>

static int16_t saturate(int32_t v)
{
    return v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : (int16_t)v;
}

void mixer_mix(struct mixer_member *const *members, size_t n)
{
    int32_t sum[MIXER_FRAME] = { 0 };
    for (size_t m = 0; m < n; m++) {
        if (!members[m]->speaking)
            continue;
        for (int i = 0; i < MIXER_FRAME; i++)
            sum[i] += members[m]->in[i];
    }
    for (size_t m = 0; m < n; m++) {
        struct mixer_member *mm = members[m];
        if (mm->speaking)
            for (int i = 0; i < MIXER_FRAME; i++)
                mm->out[i] = saturate(sum[i] - mm->in[i]);
        else
            for (int i = 0; i < MIXER_FRAME; i++)
                mm->out[i] = saturate(sum[i]);
    }
}
