/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Daemon diagnostics (not decisions: those go through decision-log.h).
 *
 * Lines go to stderr with a "<N>" syslog priority prefix, which journald
 * understands when hipsd runs under systemd (StandardError=journal), and
 * which reads fine in a terminal. */

#include <syslog.h>

void log_set_max_level(int level);
int log_get_max_level(void);

/* Always returns -abs(error) (or 0 when error is 0), so callers can write
 * "return log_error_errno(r, ...)". "%m" in the format is the errno text. */
int log_internal(int level, int error, const char *file, int line, const char *format, ...)
        __attribute__((format(printf, 5, 6)));

#define log_full_errno(level, error, ...) log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
