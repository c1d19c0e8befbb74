//! Cortex-M4F/M7 (Thumb-2, hard-float AAPCS): the entry trampoline, the
//! trap exit and the task switch. The callee-saved registers are r4-r11,
//! d8-d15 and lr; the stack is 8-byte aligned.

use crate::run::{TRAP_CODE, UNWIND_SP};
use crate::task::{CURRENT, EVENT_FINISHED, EVENT_HOST_CALL, EVENT_TRAP, TRAP_NO_TASK};

/// The stack pointer's alignment at a call.
pub(crate) const STACK_ALIGN: usize = 8;
/// The first switch's frame below a new task's context: d8-d15, r3-r11, pc.
pub(crate) const FRAME_WORDS: usize = 16 + 10;
/// Where the frame keeps the task's entry (r4), its arguments (r5), its
/// fuel counter (r6) and the start routine (the pc popped).
pub(crate) const FRAME_ENTRY: usize = 17;
pub(crate) const FRAME_ARGS: usize = 18;
pub(crate) const FRAME_FUEL: usize = 19;
pub(crate) const FRAME_RETURN: usize = 25;

/// The argument word an i64 starting at `word` takes: AAPCS puts it at
/// an even-numbered word, in registers or on the stack alike.
pub(crate) fn wide_arg_word(word: usize) -> usize {
    word.next_multiple_of(2)
}

/// Makes code just written as data visible to instruction fetch.
pub(crate) fn code_written() {
    // SAFETY: barrier instructions only.
    unsafe { core::arch::asm!("dsb", "isb", options(nostack, preserves_flags)) };
}

// `enter(f, a, b)` calls `f(a, b)` and returns its 64-bit result, keeping
// the stack pointer where `trap` can find it. `trap(code)` records the code
// and returns from `enter` with 0, restoring the callee-saved core and FPU
// registers `enter` saved (the AAPCS ones: r4-r11, d8-d15). r3 is pushed
// only to keep the stack 8-byte aligned.
core::arch::global_asm!(
    // The eabihf targets have the FPU; the assembler is told so explicitly.
    ".fpu fpv4-sp-d16",
    ".section .text.akira_aot_enter,\"ax\",%progbits",
    ".global akira_aot_enter",
    ".type akira_aot_enter,%function",
    ".thumb_func",
    "akira_aot_enter:",
    "push {{r3-r11, lr}}",
    "vpush {{d8-d15}}",
    "ldr r3, ={unwind}",
    "mov r12, sp",
    "str r12, [r3]",
    "mov r3, r0",
    "mov r0, r1",
    "mov r1, r2",
    "blx r3",
    "vpop {{d8-d15}}",
    "pop {{r3-r11, pc}}",
    ".ltorg",
    ".size akira_aot_enter, . - akira_aot_enter",
    ".section .text.akira_aot_trap,\"ax\",%progbits",
    ".global akira_aot_trap",
    ".type akira_aot_trap,%function",
    ".thumb_func",
    "akira_aot_trap:",
    // Inside a task (phase 2) a trap switches back to the host instead.
    "ldr r3, ={current}",
    "ldr r3, [r3]",
    "cbz r3, 1f",
    "b.w akira_aot_task_trap",
    "1:",
    "ldr r3, ={code}",
    "str r0, [r3]",
    "ldr r3, ={unwind}",
    "ldr r12, [r3]",
    "mov sp, r12",
    "movs r0, #0",
    "movs r1, #0",
    "vpop {{d8-d15}}",
    "pop {{r3-r11, pc}}",
    ".ltorg",
    ".size akira_aot_trap, . - akira_aot_trap",
    unwind = sym UNWIND_SP,
    code = sym TRAP_CODE,
    current = sym CURRENT,
);

core::arch::global_asm!(
    ".fpu fpv4-sp-d16",
    // akira_aot_switch_to_task(ctx, lo, hi) -> u64: saves the host's
    // registers, enters the task, which gets (lo, hi) in r0:r1 as the
    // result of the switch that left it; returns what the task passes
    // when it switches back.
    ".section .text.akira_aot_switch_to_task,\"ax\",%progbits",
    ".global akira_aot_switch_to_task",
    ".type akira_aot_switch_to_task,%function",
    ".thumb_func",
    "akira_aot_switch_to_task:",
    "push {{r3-r11, lr}}",
    "vpush {{d8-d15}}",
    "mov r12, sp",
    "str r12, [r0, #4]",
    "ldr r3, ={current}",
    "str r0, [r3]",
    "ldr r12, [r0, #0]",
    "mov sp, r12",
    "mov r0, r1",
    "mov r1, r2",
    "vpop {{d8-d15}}",
    "pop {{r3-r11, pc}}",
    ".ltorg",
    ".size akira_aot_switch_to_task, . - akira_aot_switch_to_task",
    // akira_aot_switch_to_host(lo, hi) -> u64: the task side of the same
    // switch.
    ".section .text.akira_aot_switch_to_host,\"ax\",%progbits",
    ".global akira_aot_switch_to_host",
    ".type akira_aot_switch_to_host,%function",
    ".thumb_func",
    "akira_aot_switch_to_host:",
    "push {{r3-r11, lr}}",
    "vpush {{d8-d15}}",
    "ldr r3, ={current}",
    "ldr r2, [r3]",
    "movs r12, #0",
    "str r12, [r3]",
    "mov r12, sp",
    "str r12, [r2, #0]",
    "ldr r12, [r2, #4]",
    "mov sp, r12",
    "vpop {{d8-d15}}",
    "pop {{r3-r11, pc}}",
    ".ltorg",
    ".size akira_aot_switch_to_host, . - akira_aot_switch_to_host",
    // A new task's first switch lands here: r4 = entry, r5 = args, r6 =
    // fuel (from the frame `Task::new` built). The entry's result goes
    // back as a finished event; a finished task resumed again finishes
    // again.
    ".section .text.akira_aot_task_start,\"ax\",%progbits",
    ".global akira_aot_task_start",
    ".type akira_aot_task_start,%function",
    ".thumb_func",
    "akira_aot_task_start:",
    "mov r0, r5",
    "mov r1, r6",
    "blx r4",
    "mov r4, r0",
    "mov r5, r1",
    "2:",
    "ldr r3, ={current}",
    "ldr r3, [r3]",
    "movs r2, #{finished}",
    "str r2, [r3, #8]",
    "mov r0, r4",
    "mov r1, r5",
    "bl akira_aot_switch_to_host",
    "b 2b",
    ".ltorg",
    ".size akira_aot_task_start, . - akira_aot_task_start",
    // A trap inside a task: record it and switch back for good.
    ".section .text.akira_aot_task_trap,\"ax\",%progbits",
    ".global akira_aot_task_trap",
    ".type akira_aot_task_trap,%function",
    ".thumb_func",
    "akira_aot_task_trap:",
    "ldr r3, ={current}",
    "ldr r2, [r3]",
    "str r0, [r2, #20]",
    "movs r1, #{trap}",
    "str r1, [r2, #8]",
    "3:",
    "movs r0, #0",
    "movs r1, #0",
    "bl akira_aot_switch_to_host",
    "b 3b",
    ".ltorg",
    ".size akira_aot_task_trap, . - akira_aot_task_trap",
    // The host-call path: r12 = import index; r0-r3 and the caller's
    // stacked arguments become one word array (AAPCS: an i64 takes an
    // even-numbered word, in registers or on the stack alike).
    ".section .text.akira_aot_host_call,\"ax\",%progbits",
    ".global akira_aot_host_call",
    ".type akira_aot_host_call,%function",
    ".thumb_func",
    "akira_aot_host_call:",
    "push {{r0-r3}}",
    "push {{r4, lr}}",
    "ldr r4, ={current}",
    "ldr r4, [r4]",
    "cbz r4, 4f",
    "str r12, [r4, #12]",
    "add r0, sp, #8",
    "str r0, [r4, #16]",
    "movs r0, #{host_call}",
    "str r0, [r4, #8]",
    "bl akira_aot_switch_to_host",
    "pop {{r4, lr}}",
    "add sp, #16",
    "bx lr",
    "4:",
    "movs r0, #{no_task}",
    "bl akira_aot_trap",
    ".ltorg",
    ".size akira_aot_host_call, . - akira_aot_host_call",
    // One stub per import index, 8 bytes each.
    ".section .text.akira_aot_host_call_stubs,\"ax\",%progbits",
    ".p2align 3",
    ".global akira_aot_host_call_stubs",
    ".type akira_aot_host_call_stubs,%function",
    ".thumb_func",
    "akira_aot_host_call_stubs:",
    ".irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63",
    "mov.w r12, #\\i",
    "b.w akira_aot_host_call",
    ".endr",
    ".size akira_aot_host_call_stubs, . - akira_aot_host_call_stubs",
    current = sym CURRENT,
    finished = const EVENT_FINISHED,
    trap = const EVENT_TRAP,
    host_call = const EVENT_HOST_CALL,
    no_task = const TRAP_NO_TASK,
);
