/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libdescartes as it is installed: `meson install --destdir` into a temporary directory; the installed
 * headers are descartes.h alone; libdescartes.so exports only descartes_* (nm -D); and a client compiled
 * with `cc -I<destdir>/include -L<destdir>/lib -ldescartes` (no source tree include path) spawns an agent on
 * a private daemon and reads it back (get, output). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "cleanup.h"
#include "harness.h"
#include "string-util.h"

static char destdir[] = "/tmp/descartes-install-XXXXXX";

/* Runs a shell command; its whole stdout (trailing newline dropped) in *ret_out if not NULL. */
static int sh(char **ret_out, const char *fmt, ...) _printf_(2, 3);
static int sh(char **ret_out, const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        size_t size = 0, n;
        char buf[4096];
        va_list ap;
        FILE *f, *m;
        int status;

        va_start(ap, fmt);
        assert_true(vasprintf(&cmd, fmt, ap) >= 0);
        va_end(ap);
        f = popen(cmd, "r");
        assert_non_null(f);
        m = open_memstream(&out, &size);
        assert_non_null(m);
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                fwrite(buf, 1, n, m);
        assert_int_equal(fclose(m), 0);
        status = pclose(f);
        if (size > 0 && out[size - 1] == '\n')
                out[size - 1] = 0;
        if (ret_out)
                *ret_out = TAKE_PTR(out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int setup(void **state)
{
        const char *build = getenv("DESCARTES_BUILD_ROOT");

        assert_non_null(build);
        assert_non_null(mkdtemp(destdir));
        /* the library and its header only: the runtime and devel tags */
        assert_int_equal(
                sh(NULL,
                   "meson install -C '%s' --no-rebuild --quiet --tags runtime,devel --destdir '%s' >&2",
                   build, destdir),
                0);
        return 0;
}

static int teardown(void **state)
{
        (void)sh(NULL, "rm -rf '%s'", destdir);
        return 0;
}

/* The directory that holds the installed libdescartes.so, and the include directory. */
static void installed_dirs(char **ret_libdir, char **ret_includedir)
{
        _cleanup_free_ char *so = NULL, *header = NULL;

        assert_int_equal(sh(&so, "find '%s' -name libdescartes.so", destdir), 0);
        assert_true(strlen(so) > 0 && !strchr(so, '\n'));
        assert_int_equal(sh(&header, "find '%s' -path '*/include/descartes/descartes.h'", destdir), 0);
        assert_true(strlen(header) > 0 && !strchr(header, '\n'));
        *strrchr(so, '/') = 0;
        *ret_libdir = TAKE_PTR(so);
        header[strlen(header) - strlen("/descartes/descartes.h")] = 0;
        *ret_includedir = TAKE_PTR(header);
}

static void test_installed_headers(void **state)
{
        _cleanup_free_ char *libdir = NULL, *includedir = NULL, *headers = NULL;

        installed_dirs(&libdir, &includedir);
        assert_int_equal(sh(&headers, "cd '%s' && find . -type f | sort", includedir), 0);
        assert_string_equal(headers, "./descartes/descartes.h");
        /* the public header names nothing of the wire model */
        assert_int_not_equal(
                sh(NULL, "grep -E 'proto[_.]|Proto[A-Z]|PROTO_' '%s/descartes/descartes.h'", includedir), 0);
}

static void test_exports(void **state)
{
        _cleanup_free_ char *libdir = NULL, *includedir = NULL, *symbols = NULL, *others = NULL;

        installed_dirs(&libdir, &includedir);
        /* the defined dynamic symbols: names only */
        assert_int_equal(
                sh(&symbols, "nm -D --defined-only '%s/libdescartes.so' | awk '{print $NF}'", libdir), 0);
        assert_non_null(strstr(symbols, "descartes_client_new"));
        assert_non_null(strstr(symbols, "descartes_agent_get_id"));
        assert_int_equal(sh(&others,
                            "nm -D --defined-only '%s/libdescartes.so' | awk '{print $NF}' | "
                            "grep -v '^descartes_'",
                            libdir),
                         1);
        if (others[0])
                fail_msg("libdescartes.so exports more than descartes_*: %s", others);
}

static void test_client_against_installed(void **state)
{
        _cleanup_free_ char *libdir = NULL, *includedir = NULL, *bin = NULL, *out = NULL, *flags = NULL;
        const char *source = getenv("INSTALLED_API_CLIENT");
        const char *sanitize = getenv("DESCARTES_SANITIZE");
        const char *reason = harness_skip_reason();
        Harness *h = NULL;
        int r;

        if (reason) {
                print_message("skipped: %s\n", reason);
                skip();
        }
        assert_non_null(source);
        installed_dirs(&libdir, &includedir);
        assert_true(asprintf_safe(&bin, "%s/installed-api-client", destdir) >= 0);
        /* only the installed tree on the paths; -nostdinc would also drop libc's headers. A sanitizer
         * build's library needs its runtime loaded first: the client is built with the same sanitizers then.
         */
        if (sanitize && *sanitize && strcmp(sanitize, "none") != 0)
                assert_true(asprintf_safe(&flags, "-fsanitize=%s", sanitize) >= 0);
        assert_int_equal(sh(NULL, "cc -std=c11 -Wall -Werror %s -I'%s' '%s' -L'%s' -ldescartes -o '%s' >&2",
                            flags ?: "", includedir, source, libdir, bin),
                         0);

        assert_int_equal(harness_start(NULL, &h), 0);
        r = sh(&out, "LD_LIBRARY_PATH='%s' '%s' '%s' 2>&1", libdir, bin, h->control);
        harness_stop(h);
        if (r != 0) {
                /* fail() jumps out of this function: nothing may be left to free */
                print_error("the installed client failed (%d): %s\n", r, out ?: "");
                free(libdir);
                free(includedir);
                free(bin);
                free(out);
                free(flags);
                fail();
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_installed_headers),
                cmocka_unit_test(test_exports),
                cmocka_unit_test(test_client_against_installed),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
