/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* scripts/analyze builds the tree with gcc's -fanalyzer and fails on any finding. A false positive is
 * silenced at the one statement the finding names, with a comment saying why it is false:
 *
 *         ANALYZER_IGNORE_LEAK_BEGIN   (or _USE_AFTER_FREE_, _UNINIT_)
 *         statement;
 *         ANALYZER_IGNORE_END
 *
 * gcc 12's analyzer forgets a pointer stored into memory reached through a parameter or into an array
 * element freed by a loop (strv_free), and reports it leaked where the function returns: most false
 * positives are of that kind. Other compilers see nothing of this. */

#if defined(__GNUC__) && !defined(__clang__)
#define ANALYZER_IGNORE_(w)        _Pragma("GCC diagnostic push") _Pragma(w)
#define ANALYZER_IGNORE_LEAK_BEGIN ANALYZER_IGNORE_("GCC diagnostic ignored \"-Wanalyzer-malloc-leak\"")
#define ANALYZER_IGNORE_USE_AFTER_FREE_BEGIN                                                                \
        ANALYZER_IGNORE_("GCC diagnostic ignored \"-Wanalyzer-use-after-free\"")
#define ANALYZER_IGNORE_UNINIT_BEGIN                                                                        \
        ANALYZER_IGNORE_("GCC diagnostic ignored \"-Wanalyzer-use-of-uninitialized-value\"")
#define ANALYZER_IGNORE_END _Pragma("GCC diagnostic pop")
#else
#define ANALYZER_IGNORE_LEAK_BEGIN
#define ANALYZER_IGNORE_USE_AFTER_FREE_BEGIN
#define ANALYZER_IGNORE_UNINIT_BEGIN
#define ANALYZER_IGNORE_END
#endif
