/* Logging to stderr, one line per message, thread-safe (one write(2) per line).
 * Level is global and set once at start-up; messages below it cost one comparison. */
#ifndef VCS_LOG_H
#define VCS_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

extern enum log_level log_threshold;

int log_level_parse(const char *name, enum log_level *out); /* 0 ok, -1 unknown name */
const char *log_level_name(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) do { if (log_threshold <= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  do { if (log_threshold <= LOG_INFO)  log_msg(LOG_INFO,  __VA_ARGS__); } while (0)
#define log_warn(...)  do { if (log_threshold <= LOG_WARN)  log_msg(LOG_WARN,  __VA_ARGS__); } while (0)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
