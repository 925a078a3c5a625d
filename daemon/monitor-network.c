/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network: TCP connections out (reported when the handshake ends, with the
 * source port the kernel chose) and in (when accept() returns them), and UDP
 * sends and connects (once per process and destination per interval, with
 * the count of sends). The rules ("monitors.network.rules") match outbound
 * destinations by executable, address/CIDR, port and protocol; "kill"
 * SIGKILLs the process. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "monitor.h"
#include "rules.h"
#include "util.h"

static const char *const kind_names[] = {
        [HIPS_MON_NET_CONNECT] = "connect",
        [HIPS_MON_NET_ACCEPT] = "accept",
        [HIPS_MON_NET_UDP_SEND] = "udp_send",
        [HIPS_MON_NET_UDP_CONNECT] = "udp_connect",
};

/* An IPv4 peer of a dual-stack socket is ::ffff:a.b.c.d: as IPv4, so that
 * "127.0.0.1" in a rule and in a log means the same whatever the socket. */
static int normalize(uint16_t family, const uint8_t in[16], uint8_t out[16]) {
        static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

        memset(out, 0, 16);
        if (family == AF_INET6 && memcmp(in, v4mapped, sizeof(v4mapped)) == 0) {
                memcpy(out, in + 12, 4);
                return AF_INET;
        }
        memcpy(out, in, family == AF_INET6 ? 16 : 4);
        return family == AF_INET6 ? AF_INET6 : AF_INET;
}

static void format_addr(int family, const uint8_t addr[16], char buf[INET6_ADDRSTRLEN]) {
        if (!inet_ntop(family, addr, buf, INET6_ADDRSTRLEN))
                (void) snprintf(buf, INET6_ADDRSTRLEN, "?");
}

static bool network_enabled(const MonitorsConfig *c) {
        return c->network;
}

static void network_handle(Monitors *ms, const void *data, size_t size) {
        const struct hips_mon_net_event *n = data;
        const MonitorsConfig *c = monitors_config(ms);
        char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN], rule_name[64];
        const NetworkRule *rule = NULL;
        const char *kind, *action = "log", *proto = n->protocol == IPPROTO_TCP ? "tcp" : "udp";
        uint8_t s[16], d[16];
        bool outbound = n->kind != HIPS_MON_NET_ACCEPT;
        int sfamily, dfamily;
        size_t index = 0;
        MonitorEvent e;

        if (n->kind < HIPS_MON_NET_CONNECT || n->kind > HIPS_MON_NET_UDP_CONNECT)
                return;
        kind = kind_names[n->kind];
        sfamily = normalize(n->family, n->saddr, s);
        dfamily = normalize(n->family, n->daddr, d);
        format_addr(sfamily, s, saddr);
        format_addr(dfamily, d, daddr);

        monitor_event_begin(&e, ms, &monitor_network, &n->h, kind);
        monitor_event_add(&e, "protocol", proto);
        monitor_event_add(&e, "family", dfamily == AF_INET6 ? "ipv6" : "ipv4");
        monitor_event_add(&e, "saddr", saddr);
        monitor_event_add_number(&e, "sport", n->sport);
        monitor_event_add(&e, "daddr", daddr);
        monitor_event_add_number(&e, "dport", n->dport);
        monitor_event_add(&e, "direction", outbound ? "outbound" : "inbound");
        if (n->kind == HIPS_MON_NET_CONNECT)
                monitor_event_add(&e, "result", n->failed ? "failed" : "established");
        if (n->protocol == IPPROTO_UDP)
                monitor_event_add_number(&e, "count", n->count);

        /* Rules are about where a process goes: outbound only. */
        if (outbound && c) {
                NetworkSubject subject = {
                        .exe = e.exe,
                        .family = dfamily,
                        .dport = n->dport,
                        .protocol = n->protocol,
                };

                memcpy(subject.daddr, d, 16);
                rule = network_rules_find(c->network_rules, c->n_network_rules, &subject, &index);
        }
        if (rule) {
                if (rule->name)
                        (void) snprintf(rule_name, sizeof(rule_name), "%s", rule->name);
                else
                        (void) snprintf(rule_name, sizeof(rule_name), "network.rules[%zu]", index);
                action = network_action_to_string(rule->action);
                if (rule->action == NETWORK_ACTION_KILL) {
                        int r = monitors_kill(ms, &n->h);

                        if (r < 0) {
                                log_warning_errno(r, "Network rule %s: cannot kill pid %u: %m", rule_name, n->h.pid);
                                monitor_event_add(&e, "reason", r == -ESRCH ? "process-vanished" : "kill-failed");
                        }
                }
        }
        monitor_event_add(&e, "rule", rule ? rule_name : NULL);

        if (n->kind == HIPS_MON_NET_ACCEPT)
                monitor_event_emit(&e, action, "%s (pid %u) accepted %s %s%s%s:%u on %s%s%s:%u",
                                   e.comm, n->h.pid, proto,
                                   dfamily == AF_INET6 ? "[" : "", daddr, dfamily == AF_INET6 ? "]" : "", n->dport,
                                   sfamily == AF_INET6 ? "[" : "", saddr, sfamily == AF_INET6 ? "]" : "", n->sport);
        else
                monitor_event_emit(&e, action, "%s (pid %u) %s %s%s%s:%u%s%s%s",
                                   e.comm, n->h.pid,
                                   n->kind == HIPS_MON_NET_CONNECT ? (n->failed ? "failed to connect to" : "connected to") :
                                   n->kind == HIPS_MON_NET_UDP_SEND ? "sent UDP to" : "connected UDP to",
                                   dfamily == AF_INET6 ? "[" : "", daddr, dfamily == AF_INET6 ? "]" : "", n->dport,
                                   rule ? " (rule " : "", rule ? rule_name : "", rule ? ")" : "");
}

const Monitor monitor_network = {
        .name = "network",
        .event = "network",
        .message_id = HIPS_MESSAGE_MONITOR_NETWORK,
        .id = HIPS_MON_NETWORK,
        .enabled = network_enabled,
        .handle = network_handle,
        .min_size = sizeof(struct hips_mon_net_event),
};
