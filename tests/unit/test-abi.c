/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel/user contract: sizes and offsets both compilers must agree on. */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hips-abi.h"

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
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
