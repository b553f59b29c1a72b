/* One vcsd per data directory: an exclusive flock on <data>/vcsd.lock, held until released
 * (the kernel drops it when the process dies, so a crash never leaves a stale lock). A second
 * process is refused before it reads or writes anything there, with the holder's PID named. */
#ifndef VCS_DATA_LOCK_H
#define VCS_DATA_LOCK_H

#include <stddef.h>

/* Returns the lock's descriptor, or -1 with err filled (held by another process, or an I/O
 * error). The file then holds the locker's PID. */
int data_lock_take(const char *data_dir, char *err, size_t errlen);
void data_lock_release(int fd);

#endif
