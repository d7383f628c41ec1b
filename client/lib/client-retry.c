/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "client-retry.h"

bool client_retry_may_resend(bool retry, unsigned attempts, uint64_t first_usec, uint64_t now_usec)
{
        if (!retry || attempts >= CLIENT_SEND_ATTEMPTS)
                return false;
        return now_usec < first_usec || now_usec - first_usec < CLIENT_RESEND_WINDOW_USEC;
}
