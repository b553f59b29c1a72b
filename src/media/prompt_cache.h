/* Prompts decoded once, shared by every call: 8 kHz mono, kept as linear PCM and as ready
 * mu-law and A-law bytes so that playback is a memcpy per 20 ms packet.
 *
 * Files are found and decoded on the cache's own loader thread (libsndfile: any format it
 * reads; speexdsp resampling to 8 kHz; channels averaged), never on a media thread.
 * Names follow SPEC 5.1: a name without '/' is looked up in the sounds folder with or without an
 * extension ("welcome" finds welcome.wav or another format libsndfile reads); a relative path
 * is taken from the sounds folder; an absolute path must lie inside one of the allowed roots
 * (sounds, recordings, dialplans), after resolving symlinks and "..".
 * A prompt is reference-counted: a playing call holds a reference, so prompt_cache_clear()
 * (used on reload, so that changed sound files are read again) never frees audio in use. */
#ifndef VCS_PROMPT_CACHE_H
#define VCS_PROMPT_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct prompt {
    const int16_t *pcm;    /* samples at 8 kHz */
    const uint8_t *ulaw;   /* same audio, G.711 mu-law */
    const uint8_t *alaw;   /* same audio, G.711 A-law */
    size_t samples;
    /* private: */
    int refs;
};

struct prompt_cache;

/* roots: NULL-terminated list of folders an absolute path may lie in; roots[0] is the sounds folder. */
struct prompt_cache *prompt_cache_create(const char *const *roots);
void prompt_cache_destroy(struct prompt_cache *cache); /* joins the loader thread */

/* Fast path, any thread: returns the cached prompt for name with a reference taken, or NULL. */
const struct prompt *prompt_cache_get(struct prompt_cache *cache, const char *name);

/* Loads name on the loader thread and calls done() there, once, with a referenced prompt, or
 * with NULL and a message naming the file ("prompt 'welcom' not found in ./sounds").
 * Concurrent requests for one name share one decode. Returns 0, or -1 if shutting down. */
typedef void prompt_done_fn(void *arg, const struct prompt *p, const char *err);
int prompt_cache_load(struct prompt_cache *cache, const char *name, prompt_done_fn *done, void *arg);

void prompt_ref(const struct prompt *p);
void prompt_unref(const struct prompt *p);

/* Drops every cached entry (prompts still referenced stay alive until their last unref). */
void prompt_cache_clear(struct prompt_cache *cache);

/* Decodes a file synchronously (used by the loader thread and by tests): returns a prompt with
 * one reference, or NULL with err filled. */
const struct prompt *prompt_decode_file(const char *path, char *err, size_t errlen);

#endif
