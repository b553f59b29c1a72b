/* call:say_number and call:say_digits (SPEC 5.1): a number or a digit string as a list of prompt
 * names ("en/thousand", "zh/1000"), each a file sounds/<name>.<ext> rendered from
 * sounds/<name>.txt. Pure functions: names point to static strings, nothing is allocated.
 *
 * English (US style, no "and"): 1024 -> one thousand twenty four = en/1 en/thousand en/20 en/4.
 *   Set: en/0..en/19, en/20..en/90 by tens, en/hundred, en/thousand, en/million, en/billion,
 *   en/trillion, en/quadrillion, en/quintillion, en/minus, en/star, en/pound.
 * Chinese (mainland reading): one prompt per character, 1024 -> 一千零二十四 =
 *   zh/1 zh/1000 zh/0 zh/2 zh/10 zh/4. Groups of four digits with 万 and 亿 (recursively: 10^16 is
 *   一亿亿); one 零 for each run of zeros inside the number, none at the end; 10..19 at the very
 *   start is 十.. (十五, 十万) but 一十 inside (一百一十, 一万零一十); 两 instead of 二 for a 2 in the
 *   千 place (两千, 一万两千) and for a group that is just 2 before 万 or 亿 (两万, 两亿); 二 everywhere
 *   else (二, 二十, 二百: 两百 is also heard, 二百 is never wrong).
 *   Set: zh/0..zh/9, zh/10 十, zh/100 百, zh/1000 千, zh/10000 万, zh/100000000 亿, zh/liang 两,
 *   zh/minus 负, zh/star 星号, zh/pound 井号.
 * Digits: 0-9, '*' (star) and '#' (pound), one prompt each; 1 is 一, not 幺. */
#ifndef VCS_SAY_H
#define VCS_SAY_H

/* Enough for any long long in either language, and the names of a 64-character digit string. */
#define SAY_MAX_NAMES 64

#define SAY_ELANG (-1)   /* lang is not "en" or "zh" */
#define SAY_ESPACE (-2)  /* names[] (max) too small */
#define SAY_EDIGIT (-3)  /* a character other than 0-9 * # */

/* Fill names[0..] and return how many, or a SAY_E* code (say_strerror explains it). */
int say_number(long long n, const char *lang, const char **names, int max);
int say_digits(const char *digits, const char *lang, const char **names, int max);
const char *say_strerror(int code);

/* The words prompt name stands for (the content of sounds/<name>.txt, e.g. "thousand", "千"),
 * or NULL if name is not in either set. */
const char *say_prompt_text(const char *name);
/* The i-th prompt name of both sets (i from 0), NULL past the last: to list every file needed. */
const char *say_prompt_name(int i);

/* A number in Hanzi (1024 -> 一千零二十四, -5 -> 负五), the same reading as say_number "zh", into
 * out (NUL-terminated). Returns its length in bytes, or -1 if outlen is too small (128 is
 * always enough). */
int say_hanzi(long long n, char *out, unsigned outlen);

#endif
