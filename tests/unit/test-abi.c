/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel/user contract: sizes and offsets both compilers must agree on. */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hips-abi.h"
#include "monitors-abi.h"

/* The BPF side masks offsets with HIPS_ARGS_SIZE - 1. */
static_assert((HIPS_ARGS_SIZE & (HIPS_ARGS_SIZE - 1)) == 0, "HIPS_ARGS_SIZE must be a power of two");
static_assert(sizeof(struct hips_file_id) == 16, "hips_file_id");
static_assert(sizeof(struct hips_allow_value) == 16, "hips_allow_value");
static_assert(sizeof(struct hips_judged_key) == 24, "hips_judged_key");
static_assert(sizeof(struct hips_judged_value) == 8, "hips_judged_value");
static_assert(offsetof(struct hips_exec_record, filename) == 48, "record header is 48 bytes");
static_assert(sizeof(struct hips_exec_record) == 48 + HIPS_FILENAME_SIZE + HIPS_ARGS_SIZE, "hips_exec_record");
static_assert(offsetof(struct hips_exec_event, filename) == 72, "event header is 72 bytes");
static_assert(sizeof(struct hips_exec_event) == 72 + HIPS_FILENAME_SIZE + HIPS_ARGS_SIZE, "hips_exec_event");
static_assert(sizeof(struct hips_exec_event) % 8 == 0, "ring-buffer records are 8-byte aligned");
static_assert(_HIPS_CNT_MAX <= 32, "counters fit the status array");

/* monitors-abi.h: the same layout on both sides, 8-byte aligned records. */
static_assert((HIPS_MON_PATH_SIZE & (HIPS_MON_PATH_SIZE - 1)) == 0, "HIPS_MON_PATH_SIZE must be a power of two");
static_assert(sizeof(struct hips_mon_header) == 56, "hips_mon_header");
static_assert(sizeof(struct hips_mon_task) == 304, "hips_mon_task");
static_assert(sizeof(struct hips_mon_process_event) == 56 + 8 + HIPS_MON_PATH_SIZE, "hips_mon_process_event");
static_assert(sizeof(struct hips_mon_net_event) == 104, "hips_mon_net_event");
static_assert(offsetof(struct hips_mon_net_event, saddr) == 72, "hips_mon_net_event addresses");
static_assert(sizeof(struct hips_mon_dns_event) == 56 + 16 + HIPS_MON_PATH_SIZE + HIPS_MON_SERVICE_SIZE, "hips_mon_dns_event");
static_assert(sizeof(struct hips_mon_file_event) == 56 + 40 + HIPS_MON_NAME_SIZE + HIPS_MON_PATH_SIZE, "hips_mon_file_event");
static_assert(sizeof(struct hips_mon_creds) == 40, "hips_mon_creds");
static_assert(sizeof(struct hips_mon_priv_event) == 56 + 40 + 2 * 40 + HIPS_MON_PATH_SIZE, "hips_mon_priv_event");
static_assert(sizeof(struct hips_mon_process_event) % 8 == 0 && sizeof(struct hips_mon_net_event) % 8 == 0 &&
              sizeof(struct hips_mon_dns_event) % 8 == 0 && sizeof(struct hips_mon_file_event) % 8 == 0 &&
              sizeof(struct hips_mon_priv_event) % 8 == 0, "monitor records are 8-byte aligned");
static_assert(_HIPS_MON_CNT_MAX == _HIPS_MON_MAX * _HIPS_MON_CNT_PER_MONITOR, "monitor counters");

static void test_monitor_ring_buffer(void **state) {
        /* A burst of the largest record must fit by the thousand. */
        assert_true(HIPS_MON_RINGBUF_SIZE / sizeof(struct hips_mon_priv_event) >= 1000);
        assert_int_equal(HIPS_MON_CNT(HIPS_MON_PRIVILEGE, HIPS_MON_CNT_DROPS), _HIPS_MON_CNT_MAX - 1);
}

static void test_ring_buffers_hold_many_events(void **state) {
        /* A burst of stops must not drop: room for hundreds of events. */
        assert_true(HIPS_GATE_RINGBUF_SIZE / sizeof(struct hips_exec_event) >= 200);
        assert_true(HIPS_EXEC_RINGBUF_SIZE / sizeof(struct hips_exec_event) >= 200);
}

static void test_flags_are_distinct(void **state) {
        const uint32_t flags[] = {
                HIPS_F_FILENAME_TRUNCATED, HIPS_F_ARGS_TRUNCATED, HIPS_F_EXECVEAT, HIPS_F_STOPPED,
                HIPS_F_NO_RECORD, HIPS_F_ARGV_CHANGED, HIPS_F_HOLD_JUDGED,
        };
        uint32_t seen = 0;

        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
                assert_int_equal(seen & flags[i], 0);
                seen |= flags[i];
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ring_buffers_hold_many_events),
                cmocka_unit_test(test_flags_are_distinct),
                cmocka_unit_test(test_monitor_ring_buffer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
