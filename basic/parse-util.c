/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "parse-util.h"
#include "string-util.h"

/* Fraction digits beyond this many are syntax-checked but no longer change the result: at most 10^-18 of the
 * largest multiplier (2^40 bytes, 86400 s in usec), far below the rounding step. */
#define FRACTION_DIGITS_MAX 18

typedef struct Decimal {
        uint64_t integer;
        uint64_t fraction; /* the first `digits` digits after the point, as an integer */
        unsigned digits;
        bool has_fraction;
} Decimal;

static bool ascii_isdigit(char c)
{
        return c >= '0' && c <= '9';
}

/* Reads "DIGITS[.DIGITS]" at *p and advances past it. Digits are ASCII only: no locale, sign or exponent. */
static int decimal_parse(const char **p, Decimal *ret)
{
        const char *s = *p;
        Decimal d = {};

        if (!ascii_isdigit(*s))
                return -EINVAL;
        for (; ascii_isdigit(*s); s++) {
                unsigned v = (unsigned)(*s - '0');
                if (d.integer > (UINT64_MAX - v) / 10)
                        return -ERANGE;
                d.integer = d.integer * 10 + v;
        }
        if (*s == '.') {
                s++;
                if (!ascii_isdigit(*s))
                        return -EINVAL;
                d.has_fraction = true;
                for (; ascii_isdigit(*s); s++)
                        if (d.digits < FRACTION_DIGITS_MAX) {
                                d.fraction = d.fraction * 10 + (unsigned)(*s - '0');
                                d.digits++;
                        }
        }
        *p = s;
        *ret = d;
        return 0;
}

/* d * mult, rounded half up to an integer. */
static int decimal_scale(const Decimal *d, uint64_t mult, uint64_t *ret)
{
        unsigned __int128 v = (unsigned __int128)d->integer * mult;

        if (d->digits > 0) {
                uint64_t den = 1;
                for (unsigned i = 0; i < d->digits; i++)
                        den *= 10;
                v += ((unsigned __int128)d->fraction * mult + den / 2) / den;
        }
        if (v > UINT64_MAX)
                return -ERANGE;
        *ret = (uint64_t)v;
        return 0;
}

static int size_unit_shift(char c)
{
        switch (c) {
        case 'K':
        case 'k':
                return 10;
        case 'M':
        case 'm':
                return 20;
        case 'G':
        case 'g':
                return 30;
        case 'T':
        case 't':
                return 40;
        default:
                return -EINVAL;
        }
}

int parse_size(const char *s, uint64_t *ret)
{
        Decimal d;
        uint64_t mult, v;
        int r;

        if (!s)
                return -EINVAL;
        r = decimal_parse(&s, &d);
        if (r < 0)
                return r;
        if (*s == 0 || streq(s, "B")) {
                if (d.has_fraction)
                        return -EINVAL; /* no fractional bytes */
                mult = 1;
        } else {
                int shift = size_unit_shift(*s);
                if (shift < 0)
                        return shift;
                s++;
                if (!(*s == 0 || streq(s, "i") || streq(s, "iB") || streq(s, "B")))
                        return -EINVAL;
                mult = UINT64_C(1) << shift;
        }
        r = decimal_scale(&d, mult, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

/* Appends to buf at *pos, -ENOBUFS when it does not fit. */
static int append(char *buf, size_t n, size_t *pos, const char *fmt, ...) _printf_(4, 5);
static int append(char *buf, size_t n, size_t *pos, const char *fmt, ...)
{
        va_list ap;
        int k;

        if (*pos >= n)
                return -ENOBUFS;
        va_start(ap, fmt);
        k = vsnprintf(buf + *pos, n - *pos, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -EIO;
        if ((size_t)k >= n - *pos)
                return -ENOBUFS;
        *pos += (size_t)k;
        return 0;
}

/* Writes value/den as "I[.FFF]" with at most `digits` fraction digits (den = 10^digits divides exactly). */
static int append_fixed(char *buf, size_t n, size_t *pos, uint64_t integer, uint64_t fraction,
                        unsigned digits)
{
        int r = append(buf, n, pos, "%" PRIu64, integer);
        if (r < 0 || fraction == 0)
                return r;
        while (fraction % 10 == 0) {
                fraction /= 10;
                digits--;
        }
        return append(buf, n, pos, ".%0*" PRIu64, (int)digits, fraction);
}

int format_size(uint64_t bytes, char *buf, size_t n)
{
        static const char units[] = "TGMK";
        static const unsigned shifts[] = {40, 30, 20, 10};
        size_t pos = 0;

        for (size_t i = 0; i < ELEMENTSOF(shifts); i++) {
                uint64_t mult = UINT64_C(1) << shifts[i];
                unsigned __int128 milli = (unsigned __int128)bytes * 1000;

                /* Only forms exact to three decimals: "1.5G" but never a rounded "1.46G". */
                if (bytes < mult || milli % mult != 0)
                        continue;
                uint64_t m = (uint64_t)(milli / mult);
                int r = append_fixed(buf, n, &pos, m / 1000, m % 1000, 3);
                if (r < 0)
                        return r;
                return append(buf, n, &pos, "%c", units[i]);
        }
        return append(buf, n, &pos, "%" PRIu64, bytes);
}

typedef struct DurationUnit {
        const char *suffix;
        uint64_t usec;
} DurationUnit;

/* Longer suffixes first where one is a prefix of another ("ms" and "min" before "m"). */
static const DurationUnit duration_units[] = {
        {"us", 1},
        {"ms", UINT64_C(1000)},
        {"min", UINT64_C(60000000)},
        {"s", UINT64_C(1000000)},
        {"m", UINT64_C(60000000)},
        {"h", UINT64_C(3600000000)},
        {"d", UINT64_C(86400000000)},
};

int parse_duration(const char *s, uint64_t *ret_usec)
{
        uint64_t total = 0, last_unit = UINT64_MAX;
        bool first = true;
        int r;

        if (!s)
                return -EINVAL;
        do {
                const DurationUnit *unit = NULL;
                Decimal d;
                uint64_t v;

                r = decimal_parse(&s, &d);
                if (r < 0)
                        return r;
                if (*s == 0 && first) {
                        static const DurationUnit seconds = {"", UINT64_C(1000000)};
                        unit = &seconds;
                } else {
                        for (size_t i = 0; i < ELEMENTSOF(duration_units); i++) {
                                const char *rest = startswith(s, duration_units[i].suffix);
                                if (rest) {
                                        unit = &duration_units[i];
                                        s = rest;
                                        break;
                                }
                        }
                        if (!unit)
                                return -EINVAL;
                        /* Strictly decreasing units: "30m1h" or "1m1m" is a typo, not a sum. */
                        if (unit->usec >= last_unit)
                                return -EINVAL;
                        last_unit = unit->usec;
                }
                r = decimal_scale(&d, unit->usec, &v);
                if (r < 0)
                        return r;
                if (total > UINT64_MAX - v)
                        return -ERANGE;
                total += v;
                first = false;
        } while (*s != 0);

        *ret_usec = total;
        return 0;
}

int parse_cpu(const char *s, uint64_t *ret_millicpus)
{
        Decimal d;
        uint64_t mult, v;
        int r;

        if (!s)
                return -EINVAL;
        r = decimal_parse(&s, &d);
        if (r < 0)
                return r;
        if (*s == 0)
                mult = 1000;
        else if (streq(s, "%"))
                mult = 10;
        else
                return -EINVAL;
        r = decimal_scale(&d, mult, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -EINVAL;
        *ret_millicpus = v;
        return 0;
}

int format_cpu(uint64_t millicpus, char *buf, size_t n)
{
        size_t pos = 0;

        return append_fixed(buf, n, &pos, millicpus / 1000, millicpus % 1000, 3);
}
