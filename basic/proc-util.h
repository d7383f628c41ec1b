/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What descartes reads from /proc: parsers on text (tested on literal samples) and their readers. */

#include <stdint.h>
#include <sys/types.h>

/* MemTotal and MemAvailable of /proc/meminfo, in bytes. -ENOENT: a key is missing; -EBADMSG: no number. */
int proc_parse_meminfo(const char *text, uint64_t *ret_total, uint64_t *ret_available);
int proc_read_meminfo(uint64_t *ret_total, uint64_t *ret_available);

/* The three load averages of /proc/loadavg. -EBADMSG: fewer than three numbers. */
int proc_parse_loadavg(const char *text, double *ret1, double *ret5, double *ret15);
int proc_read_loadavg(double *ret1, double *ret5, double *ret15);

/* starttime (field 22, clock ticks since boot) of /proc/PID/stat text; comm may hold spaces and ')'.
 * Together with the pid it names one process across pid reuse. -ESRCH: no such process. */
int proc_stat_parse_start_ticks(const char *text, uint64_t *ret);
int proc_pid_start_ticks(pid_t pid, uint64_t *ret);

/* The innermost pid of the NSpid line of /proc/PID/status text: the pid the process has in its own pid
 * namespace. -ENOENT: no NSpid line (Linux < 4.1); -EBADMSG: no number on it. */
int proc_status_parse_nspid(const char *text, pid_t *ret);
int proc_pid_nspid(pid_t pid, pid_t *ret);
