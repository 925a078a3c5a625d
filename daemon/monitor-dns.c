/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DNS: names resolved through the C library's getaddrinfo(), with the
 * process that asked and the answer's status (a uprobe and a uretprobe on
 * the libc hipsd itself runs on). Statically linked programs, other C
 * libraries (a container's) and resolvers that do not go through
 * getaddrinfo() are not seen. */

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "monitor.h"
#include "util.h"

static bool dns_enabled(const MonitorsConfig *c) {
        return c->dns;
}

static void dns_handle(Monitors *ms, const void *data, size_t size) {
        const struct hips_mon_dns_event *d = data;
        char name[HIPS_MON_PATH_SIZE], service[HIPS_MON_SERVICE_SIZE];
        bool has_name = !(d->flags & HIPS_MON_DNS_F_NO_NAME), has_service = !(d->flags & HIPS_MON_DNS_F_NO_SERVICE);
        MonitorEvent e;

        memcpy(name, d->name, sizeof(name));
        name[sizeof(name) - 1] = '\0';
        memcpy(service, d->service, sizeof(service));
        service[sizeof(service) - 1] = '\0';

        monitor_event_begin(&e, ms, &monitor_dns, &d->h, "getaddrinfo");
        monitor_event_add(&e, "name", has_name ? name : NULL);
        monitor_event_add(&e, "service", has_service ? service : NULL);
        monitor_event_add_number(&e, "result", d->ret);
        monitor_event_add(&e, "error", d->ret != 0 ? gai_strerror(d->ret) : NULL);
        monitor_event_add_number(&e, "latency_us", (int64_t) (d->latency_ns / 1000));
        monitor_event_emit(&e, "log", "%s (pid %u) resolved %s%s%s: %s",
                           e.comm, d->h.pid, has_name ? name : "(no name)",
                           has_service ? " service " : "", has_service ? service : "",
                           d->ret == 0 ? "ok" : gai_strerror(d->ret));
}

const Monitor monitor_dns = {
        .name = "dns",
        .event = "dns",
        .message_id = HIPS_MESSAGE_MONITOR_DNS,
        .id = HIPS_MON_DNS,
        .enabled = dns_enabled,
        .handle = dns_handle,
        .min_size = sizeof(struct hips_mon_dns_event),
};
