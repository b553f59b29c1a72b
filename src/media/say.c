/* Numbers and digit strings as prompt lists; the rules are in say.h. Every name used here is an
 * entry of words[], so say_prompt_text() and the sounds/<lang>/NAME.txt files cover all output. */
#include "media/say.h"

#include <stdbool.h>
#include <string.h>

static const struct word {
    const char *name, *text;
} words[] = {
    { "en/0", "zero" }, { "en/1", "one" }, { "en/2", "two" }, { "en/3", "three" },
    { "en/4", "four" }, { "en/5", "five" }, { "en/6", "six" }, { "en/7", "seven" },
    { "en/8", "eight" }, { "en/9", "nine" }, { "en/10", "ten" }, { "en/11", "eleven" },
    { "en/12", "twelve" }, { "en/13", "thirteen" }, { "en/14", "fourteen" },
    { "en/15", "fifteen" }, { "en/16", "sixteen" }, { "en/17", "seventeen" },
    { "en/18", "eighteen" }, { "en/19", "nineteen" }, { "en/20", "twenty" },
    { "en/30", "thirty" }, { "en/40", "forty" }, { "en/50", "fifty" }, { "en/60", "sixty" },
    { "en/70", "seventy" }, { "en/80", "eighty" }, { "en/90", "ninety" },
    { "en/hundred", "hundred" }, { "en/thousand", "thousand" }, { "en/million", "million" },
    { "en/billion", "billion" }, { "en/trillion", "trillion" },
    { "en/quadrillion", "quadrillion" }, { "en/quintillion", "quintillion" },
    { "en/minus", "minus" }, { "en/star", "star" }, { "en/pound", "pound" },
    { "zh/0", "零" }, { "zh/1", "一" }, { "zh/2", "二" }, { "zh/3", "三" }, { "zh/4", "四" },
    { "zh/5", "五" }, { "zh/6", "六" }, { "zh/7", "七" }, { "zh/8", "八" }, { "zh/9", "九" },
    { "zh/10", "十" }, { "zh/100", "百" }, { "zh/1000", "千" }, { "zh/10000", "万" },
    { "zh/100000000", "亿" }, { "zh/liang", "两" }, { "zh/minus", "负" },
    { "zh/star", "星号" }, { "zh/pound", "井号" },
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const en_small[20] = {
    "en/0", "en/1", "en/2", "en/3", "en/4", "en/5", "en/6", "en/7", "en/8", "en/9",
    "en/10", "en/11", "en/12", "en/13", "en/14", "en/15", "en/16", "en/17", "en/18", "en/19",
};
static const char *const en_tens[10] = {
    NULL, NULL, "en/20", "en/30", "en/40", "en/50", "en/60", "en/70", "en/80", "en/90",
};
static const char *const zh_digit[10] = {
    "zh/0", "zh/1", "zh/2", "zh/3", "zh/4", "zh/5", "zh/6", "zh/7", "zh/8", "zh/9",
};

enum lang { LANG_EN, LANG_ZH };

static int lang_of(const char *lang)
{
    if (lang && strcmp(lang, "en") == 0)
        return LANG_EN;
    if (lang && strcmp(lang, "zh") == 0)
        return LANG_ZH;
    return SAY_ELANG;
}

struct out {
    const char **names;
    int n, max;
    bool full;
};

static void push(struct out *o, const char *name)
{
    if (o->n < o->max)
        o->names[o->n++] = name;
    else
        o->full = true;
}

/* ---- English ------------------------------------------------------------------------------ */

static void en_group(struct out *o, unsigned v) /* 1..999 */
{
    if (v >= 100) {
        push(o, en_small[v / 100]);
        push(o, "en/hundred");
        v %= 100;
    }
    if (v >= 20) {
        push(o, en_tens[v / 10]);
        v %= 10;
    }
    if (v > 0)
        push(o, en_small[v]);
}

static void en_number(struct out *o, unsigned long long m)
{
    static const struct {
        unsigned long long value;
        const char *name;
    } scales[] = {
        { 1000000000000000000ull, "en/quintillion" }, { 1000000000000000ull, "en/quadrillion" },
        { 1000000000000ull, "en/trillion" }, { 1000000000ull, "en/billion" },
        { 1000000ull, "en/million" }, { 1000ull, "en/thousand" },
    };
    if (m == 0) {
        push(o, "en/0");
        return;
    }
    for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
        unsigned g = (unsigned)(m / scales[i].value % 1000);
        if (g) {
            en_group(o, g);
            push(o, scales[i].name);
        }
    }
    if (m % 1000)
        en_group(o, (unsigned)(m % 1000));
}

/* ---- Chinese ------------------------------------------------------------------------------ */

/* One group of four digits, 0 < v < 10000. first: nothing of the number has been said yet (so
 * 1x is 十x); before_unit: 万 or 亿 follows (so a lone 2 is 两). */
static void zh_group(struct out *o, unsigned v, bool first, bool before_unit)
{
    static const unsigned place[4] = { 1, 10, 100, 1000 };
    static const char *const unit[4] = { NULL, "zh/10", "zh/100", "zh/1000" };
    if (v == 2 && before_unit) {
        push(o, "zh/liang");
        return;
    }
    bool started = false, zero = false;
    for (int pos = 3; pos >= 0; pos--) {
        unsigned d = v / place[pos] % 10;
        if (d == 0) {
            zero = started;
            continue;
        }
        if (zero)
            push(o, "zh/0");
        zero = false;
        if (pos == 3 && d == 2)
            push(o, "zh/liang");
        else if (!(pos == 1 && d == 1 && first && !started))
            push(o, zh_digit[d]);
        if (unit[pos])
            push(o, unit[pos]);
        started = true;
    }
}

static void zh_number(struct out *o, unsigned long long n, bool first, bool before_unit) /* n > 0 */
{
    if (n >= 100000000ull) {
        zh_number(o, n / 100000000ull, first, true);
        push(o, "zh/100000000");
        unsigned long long lo = n % 100000000ull;
        if (lo) {
            if (lo < 10000000ull)
                push(o, "zh/0");
            zh_number(o, lo, false, false);
        }
    } else if (n >= 10000) {
        zh_group(o, (unsigned)(n / 10000), first, true);
        push(o, "zh/10000");
        unsigned lo = (unsigned)(n % 10000);
        if (lo) {
            if (lo < 1000)
                push(o, "zh/0");
            zh_group(o, lo, false, false);
        }
    } else {
        zh_group(o, (unsigned)n, first, before_unit);
    }
}

/* ---- public ------------------------------------------------------------------------------- */

int say_number(long long n, const char *lang, const char **names, int max)
{
    int l = lang_of(lang);
    if (l < 0)
        return l;
    struct out o = { names, 0, names ? max : 0, false };
    /* Magnitude computed unsigned: -LLONG_MIN does not fit a long long. */
    unsigned long long m = n < 0 ? (unsigned long long)(-(n + 1)) + 1 : (unsigned long long)n;
    if (n < 0)
        push(&o, l == LANG_EN ? "en/minus" : "zh/minus");
    if (l == LANG_EN)
        en_number(&o, m);
    else if (m == 0)
        push(&o, "zh/0");
    else
        zh_number(&o, m, true, false);
    return o.full ? SAY_ESPACE : o.n;
}

int say_digits(const char *digits, const char *lang, const char **names, int max)
{
    int l = lang_of(lang);
    if (l < 0)
        return l;
    if (!digits)
        return SAY_EDIGIT;
    struct out o = { names, 0, names ? max : 0, false };
    for (const char *p = digits; *p; p++) {
        if (*p >= '0' && *p <= '9')
            push(&o, l == LANG_EN ? en_small[*p - '0'] : zh_digit[*p - '0']);
        else if (*p == '*')
            push(&o, l == LANG_EN ? "en/star" : "zh/star");
        else if (*p == '#')
            push(&o, l == LANG_EN ? "en/pound" : "zh/pound");
        else
            return SAY_EDIGIT;
    }
    return o.full ? SAY_ESPACE : o.n;
}

const char *say_strerror(int code)
{
    switch (code) {
    case SAY_ELANG:
        return "unknown language (use \"en\" or \"zh\")";
    case SAY_ESPACE:
        return "too many words to say";
    case SAY_EDIGIT:
        return "digits may only be 0-9, * and #";
    default:
        return code >= 0 ? "no error" : "unknown error";
    }
}

const char *say_prompt_text(const char *name)
{
    for (size_t i = 0; name && i < NWORDS; i++) {
        if (strcmp(words[i].name, name) == 0)
            return words[i].text;
    }
    return NULL;
}

const char *say_prompt_name(int i)
{
    return i >= 0 && (size_t)i < NWORDS ? words[i].name : NULL;
}

int say_hanzi(long long n, char *out, unsigned outlen)
{
    const char *names[SAY_MAX_NAMES];
    int k = say_number(n, "zh", names, SAY_MAX_NAMES);
    if (k < 0 || !out)
        return -1;
    size_t len = 0;
    for (int i = 0; i < k; i++) {
        const char *t = say_prompt_text(names[i]);
        size_t tl = strlen(t);
        if (len + tl + 1 > outlen)
            return -1;
        memcpy(out + len, t, tl);
        len += tl;
    }
    if (len + 1 > outlen)
        return -1;
    out[len] = '\0';
    return (int)len;
}
