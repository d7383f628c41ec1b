/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control channel's one decoder (shim-contract.h): both the daemon and the shim read their packets with
 * it, so that "take the prefix you know" is written once. */
#include <errno.h>
#include <string.h>

#include "shim-contract.h"

/* Each type this side knows: the shortest packet it accepts (its oldest form) and the size it knows. */
static int msg_sizes(uint32_t type, size_t *ret_min, size_t *ret_known)
{
#define KNOWN(t, oldest)                                                                                    \
        do {                                                                                                \
                *ret_min = (oldest);                                                                        \
                *ret_known = sizeof(t);                                                                     \
                return 0;                                                                                   \
        } while (0)

        switch (type) {
        case SHIM_MSG_HELLO:
                KNOWN(ShimMsgHello, SHIM_MSG_HELLO_V1_SIZE);
        case SHIM_MSG_STARTED:
                KNOWN(ShimMsgStarted, SHIM_MSG_STARTED_V1_SIZE);
        case SHIM_MSG_SPAWN_FAILED:
                KNOWN(ShimMsgSpawnFailed, sizeof(ShimMsgSpawnFailed));
        case SHIM_MSG_OUTPUT:
                KNOWN(ShimMsgOutput, sizeof(ShimMsgOutput));
        case SHIM_MSG_STDIN_ACK:
                KNOWN(ShimMsgStdinAck, sizeof(ShimMsgStdinAck));
        case SHIM_MSG_EXITED:
                KNOWN(ShimMsgExited, sizeof(ShimMsgExited));
        case SHIM_MSG_STDIN:
                KNOWN(ShimMsgStdin, sizeof(ShimMsgStdin));
        case SHIM_MSG_SIGNAL:
                KNOWN(ShimMsgSignal, sizeof(ShimMsgSignal));
        case SHIM_MSG_WELCOME:
                KNOWN(ShimMsgWelcome, sizeof(ShimMsgWelcome));
        case SHIM_MSG_EXEC:
                KNOWN(ShimMsgExec, sizeof(ShimMsgExec));
        case SHIM_MSG_EXEC_DONE:
                KNOWN(ShimMsgExecDone, sizeof(ShimMsgExecDone));
        case SHIM_MSG_TTY_OUTPUT:
                KNOWN(ShimMsgTtyOutput, sizeof(ShimMsgTtyOutput));
        case SHIM_MSG_TTY_INPUT:
                KNOWN(ShimMsgTtyInput, sizeof(ShimMsgTtyInput));
        case SHIM_MSG_TTY_RESIZE:
                KNOWN(ShimMsgTtyResize, sizeof(ShimMsgTtyResize));
        case SHIM_MSG_TTY_STREAM:
                KNOWN(ShimMsgTtyStream, sizeof(ShimMsgTtyStream));
        case SHIM_MSG_ACTION:
                KNOWN(ShimMsgAction, sizeof(ShimMsgAction));
        case SHIM_MSG_ACTION_REPLY:
                KNOWN(ShimMsgActionReply, sizeof(ShimMsgActionReply));
        case SHIM_MSG_ACTION_STATE:
                KNOWN(ShimMsgActionState, sizeof(ShimMsgActionState));
        case SHIM_MSG_EXEC_TTY:
                KNOWN(ShimMsgExecTty, sizeof(ShimMsgExecTty));
        case SHIM_MSG_EXEC_TTY_INPUT:
                KNOWN(ShimMsgExecTtyInput, sizeof(ShimMsgExecTtyInput));
        case SHIM_MSG_EXEC_TTY_RESIZE:
                KNOWN(ShimMsgExecTtyResize, sizeof(ShimMsgExecTtyResize));
        case SHIM_MSG_EXEC_TTY_OUTPUT:
                KNOWN(ShimMsgExecTtyOutput, sizeof(ShimMsgExecTtyOutput));
        case SHIM_MSG_EXEC_TTY_LIST:
                KNOWN(ShimMsgExecTtyList, sizeof(ShimMsgExecTtyList));
        default:
                return -EOPNOTSUPP;
        }
#undef KNOWN
}

int shim_msg_decode(const void *buf, size_t n, ShimMsg *ret)
{
        ShimMsgHeader h;
        size_t min, known;
        int r;

        *ret = (ShimMsg){};
        if (!buf || n < sizeof h || n > SHIM_MSG_MAX)
                return -EBADMSG;
        memcpy(&h, buf, sizeof h);
        if (h.size != n)
                return -EBADMSG;
        r = msg_sizes(h.type, &min, &known);
        if (r < 0)
                return r;
        if (n < min)
                return -EBADMSG;

        ret->type = h.type;
        ret->size = n;
        if (shim_msg_type_has_data(h.type)) {
                /* the messages whose fixed part never grows: the data starts right after it */
                memcpy(&ret->h, buf, known);
                ret->data = (const uint8_t *)buf + known;
                ret->data_size = n - known;
                return 0;
        }
        if (h.type == SHIM_MSG_EXEC || h.type == SHIM_MSG_EXEC_DONE) {
                /* frozen fixed parts too: two blocks follow, their sizes in the fixed part; bytes after
                 * them are a later version's */
                size_t fixed = h.type == SHIM_MSG_EXEC ? sizeof ret->exec : sizeof ret->exec_done;
                uint64_t a, b;

                memcpy(&ret->h, buf, fixed);
                a = h.type == SHIM_MSG_EXEC ? ret->exec.argv_size : ret->exec_done.stdout_size;
                b = h.type == SHIM_MSG_EXEC ? ret->exec.stdin_size : ret->exec_done.stderr_size;
                if (a + b > n - fixed)
                        return -EBADMSG;
                ret->data = (const uint8_t *)buf + fixed;
                ret->data_size = (size_t)a;
                ret->data2 = ret->data + a;
                ret->data2_size = (size_t)b;
                return 0;
        }
        /* the fields we know, 0 for those not sent; the bytes after them are a later version's */
        memcpy(&ret->h, buf, n < known ? n : known);
        return 0;
}
