/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The control API on the system bus: org.hipsd1.Manager at /org/hipsd1
 * (dbus/org.hipsd1.Manager.xml, org.hipsd1(5)). Everything is optional:
 * without a bus hipsd gates as before, and every function here is then a
 * no-op. */

#include "decision-log.h"

typedef struct Manager Manager;

#define HIPS_BUS_NAME "org.hipsd1"
#define HIPS_BUS_PATH "/org/hipsd1"
#define HIPS_BUS_INTERFACE "org.hipsd1.Manager"
#define HIPS_BUS_ERROR_INVALID_CONFIG "org.hipsd1.Error.InvalidConfig"

/* Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured), serve
 * the object, attach to the event loop and ask for the name without waiting.
 * Returns 0 also when there is no bus (logged as a warning: the API is then
 * off); < 0 (logged) only when a bus that works could not be served. */
int bus_setup(Manager *m);

/* The Decision signal for one decided exec. Never blocks: when the bus does
 * not take messages fast enough, signals are dropped (and counted). */
void bus_emit_decision(Manager *m, const DecisionRecord *r);

/* PropertiesChanged for these properties of org.hipsd1.Manager (their
 * current values), a NULL-terminated list of names. */
void bus_emit_properties_changed(Manager *m, const char *first, ...) __attribute__((sentinel));

/* The MonitorEvent signal for one monitor event (daemon/monitor.h): its
 * type ("network", ...), a one-line summary and its fields as key, value,
 * ..., NULL. Never blocks; dropped (and counted) like Decision. */
void bus_emit_monitor_event(Manager *m, const char *type, const char *summary, const char *const *fields);
