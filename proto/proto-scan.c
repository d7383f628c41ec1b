/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <string.h>

#include "proto-internal.h"

/* msgpack-c's C unpacker allocates the element storage of an array or map as soon as it reads the header,
 * trusting the 32-bit count (n*24 bytes, maps n*48), and fails deeper than 32 levels with NOMEM. So nothing
 * reaches it before this walk has proven that every declared count fits in the bytes that are really there:
 * each element takes at least one byte, so the unpacker's allocations stay below ~24 bytes per input byte,
 * and below 24 * PROTO_OBJECTS_MAX in all. */

static uint64_t be(const uint8_t *p, size_t n)
{
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
                v = (v << 8) | p[i];
        return v;
}

typedef enum ScanKind {
        SCAN_SCALAR, /* `payload` bytes follow the header */
        SCAN_ARRAY,
        SCAN_MAP,
} ScanKind;

/* Decodes the header at p (avail bytes): its length, its kind and the payload size or element count. */
static int scan_header(const uint8_t *p, size_t avail, size_t *ret_hdr, ScanKind *ret_kind, uint64_t *ret_n)
{
        uint8_t b = p[0];
        size_t hdr = 1, lenbytes = 0;
        uint64_t n = 0;
        ScanKind kind = SCAN_SCALAR;

        if (b <= 0x7f || b >= 0xe0 || (b >= 0xc0 && b <= 0xc3 && b != 0xc1))
                n = 0;
        else if (b >= 0x80 && b <= 0x8f) {
                kind = SCAN_MAP;
                n = b & 0x0f;
        } else if (b >= 0x90 && b <= 0x9f) {
                kind = SCAN_ARRAY;
                n = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf)
                n = b & 0x1f;
        else
                switch (b) {
                case 0xc4: /* bin 8, 16, 32 */
                case 0xd9: /* str 8, 16, 32 */
                        lenbytes = 1;
                        break;
                case 0xc5:
                case 0xda:
                        lenbytes = 2;
                        break;
                case 0xc6:
                case 0xdb:
                        lenbytes = 4;
                        break;
                case 0xc7: /* ext 8, 16, 32: length, then a type byte */
                        lenbytes = 1;
                        n = 1;
                        break;
                case 0xc8:
                        lenbytes = 2;
                        n = 1;
                        break;
                case 0xc9:
                        lenbytes = 4;
                        n = 1;
                        break;
                case 0xca:
                case 0xce:
                case 0xd2:
                        n = 4;
                        break;
                case 0xcb:
                case 0xcf:
                case 0xd3:
                        n = 8;
                        break;
                case 0xcc:
                case 0xd0:
                        n = 1;
                        break;
                case 0xcd:
                case 0xd1:
                        n = 2;
                        break;
                case 0xd4: /* fixext 1, 2, 4, 8, 16: a type byte, then the data */
                        n = 2;
                        break;
                case 0xd5:
                        n = 3;
                        break;
                case 0xd6:
                        n = 5;
                        break;
                case 0xd7:
                        n = 9;
                        break;
                case 0xd8:
                        n = 17;
                        break;
                case 0xdc:
                        kind = SCAN_ARRAY;
                        lenbytes = 2;
                        break;
                case 0xdd:
                        kind = SCAN_ARRAY;
                        lenbytes = 4;
                        break;
                case 0xde:
                        kind = SCAN_MAP;
                        lenbytes = 2;
                        break;
                case 0xdf:
                        kind = SCAN_MAP;
                        lenbytes = 4;
                        break;
                default: /* 0xc1: never used */
                        return -EBADMSG;
                }

        if (lenbytes > 0) {
                if (avail < 1 + lenbytes)
                        return -ENODATA;
                n += be(p + 1, lenbytes);
                hdr += lenbytes;
        }
        *ret_hdr = hdr;
        *ret_kind = kind;
        *ret_n = n;
        return 0;
}

/* The top-level "id" as the walk passes it, so that a message refused later in the walk (too deep, too many
 * objects) is still answered with its id. A second "id" key makes it unknown again, as the decoders do. */
typedef struct IdWatch {
        uint64_t root_elems; /* 2 * pairs of the root map, or 0 when the root is not a map */
        bool next_is_id;
        bool seen;
} IdWatch;

static void id_watch(IdWatch *w, const uint8_t *buf, size_t pos, size_t hdr, ScanKind kind, uint64_t n,
                     uint64_t index, ProtoError *e)
{
        uint8_t b = buf[pos];
        bool is_str =
                kind == SCAN_SCALAR && ((b >= 0xa0 && b <= 0xbf) || b == 0xd9 || b == 0xda || b == 0xdb);

        if (!e)
                return;
        if (index % 2 == 0) { /* a key */
                w->next_is_id = is_str && n == 2 && memcmp(buf + pos + hdr, "id", 2) == 0;
                return;
        }
        if (!w->next_is_id)
                return;
        w->next_is_id = false;
        if (w->seen) {
                e->has_id = false;
                e->id[0] = 0;
                return;
        }
        w->seen = true;
        if (!is_str || n < 1 || n > PROTO_ID_MAX || memchr(buf + pos + hdr, 0, n))
                return;
        memcpy(e->id, buf + pos + hdr, n);
        e->id[n] = 0;
        e->has_id = true;
}

int proto_scan(const uint8_t *buf, size_t len, unsigned max_depth, ProtoError *e)
{
        IdWatch w = {};
        /* remaining[d]: elements still expected in the container open at depth d; remaining[0] is the root.
         */
        uint64_t remaining[PROTO_DEPTH_MAX + 1];
        unsigned depth = 0;
        size_t pos = 0, objects = 0;

        if (!buf && len > 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "no message");
        if (len == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "empty message");
        if (len > PROTO_MESSAGE_MAX)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "message of %zu bytes exceeds %d", len,
                                       PROTO_MESSAGE_MAX);
        if (max_depth > PROTO_DEPTH_MAX)
                max_depth = PROTO_DEPTH_MAX;

        remaining[0] = 1;
        for (;;) {
                size_t hdr, left;
                ScanKind kind;
                uint64_t n;
                int r;

                if (remaining[depth] == 0) {
                        if (depth == 0)
                                break;
                        depth--;
                        continue;
                }
                remaining[depth]--;

                if (pos >= len)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "message truncated at byte %zu",
                                               pos);
                if (++objects > PROTO_OBJECTS_MAX)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "more than %d objects",
                                               PROTO_OBJECTS_MAX);

                r = scan_header(buf + pos, len - pos, &hdr, &kind, &n);
                if (r == -ENODATA)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "message truncated at byte %zu",
                                               pos);
                if (r < 0)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                               "invalid msgpack byte 0x%02x at %zu", buf[pos], pos);
                if (depth == 1 && w.root_elems > 0 && (kind != SCAN_SCALAR || n <= len - pos - hdr))
                        id_watch(&w, buf, pos, hdr, kind, n, w.root_elems - remaining[1] - 1, e);
                pos += hdr;
                left = len - pos;

                switch (kind) {
                case SCAN_SCALAR:
                        if (n > left)
                                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                                       "message truncated: %" PRIu64
                                                       " bytes declared at %zu, %zu left",
                                                       n, pos - hdr, left);
                        pos += n;
                        break;
                case SCAN_MAP:
                        n *= 2; /* cannot overflow: n < 2^32 */
                        __attribute__((fallthrough));
                case SCAN_ARRAY:
                        if (n > left)
                                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                                       "%s at byte %zu declares %" PRIu64
                                                       " %s, %zu bytes left",
                                                       kind == SCAN_MAP ? "map" : "array", pos - hdr,
                                                       kind == SCAN_MAP ? n / 2 : n,
                                                       kind == SCAN_MAP ? "pairs" : "elements", left);
                        if (depth + 1 > max_depth)
                                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "nesting deeper than %u",
                                                       max_depth);
                        remaining[++depth] = n;
                        if (depth == 1 && kind == SCAN_MAP)
                                w.root_elems = n;
                        break;
                default:
                        return proto_error_set(e, PROTO_ERROR_INTERNAL, "scanner state");
                }
        }

        if (pos != len)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%zu trailing bytes after the message",
                                       len - pos);
        return (int)objects;
}

int proto_unpack(const void *buf, size_t len, ProtoUnpacked *ret, ProtoError *e)
{
        size_t off = 0;
        msgpack_unpack_return u;
        int r;

        /* msgpack-c allocates for every array and map count it reads before checking that the bytes are
         * there: nothing reaches it that the scan has not bounded. */
        r = proto_scan(buf, len, PROTO_DEPTH_MAX, e);
        if (r < 0)
                return r;
        msgpack_unpacked_init(&ret->u);
        ret->initialized = true;
        u = msgpack_unpack_next(&ret->u, buf, len, &off);
        if (u == MSGPACK_UNPACK_NOMEM_ERROR)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory unpacking the message");
        if (u != MSGPACK_UNPACK_SUCCESS || off != len)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "malformed msgpack");
        return 0;
}

void proto_unpacked_done(ProtoUnpacked *p)
{
        if (p && p->initialized) {
                msgpack_unpacked_destroy(&p->u);
                p->initialized = false;
        }
}
