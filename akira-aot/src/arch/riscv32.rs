//! RISC-V rv32imac (ilp32): the entry trampoline, the trap exit and the
//! task switch. The callee-saved registers are s0-s11 and ra (no FPU);
//! the stack is 16-byte aligned. Every save takes one 64-byte frame:
//! ra at 0, s0-s11 at 4..=48.

use crate::run::{TRAP_CODE, UNWIND_SP};
use crate::task::{CURRENT, EVENT_FINISHED, EVENT_HOST_CALL, EVENT_TRAP, TRAP_NO_TASK};

/// The stack pointer's alignment at a call.
pub(crate) const STACK_ALIGN: usize = 16;
/// The first switch's frame below a new task's context (one save frame).
pub(crate) const FRAME_WORDS: usize = 16;
/// Where the frame keeps the start routine (ra), the task's entry (s0),
/// its arguments (s1) and its fuel counter (s2).
pub(crate) const FRAME_RETURN: usize = 0;
pub(crate) const FRAME_ENTRY: usize = 1;
pub(crate) const FRAME_ARGS: usize = 2;
pub(crate) const FRAME_FUEL: usize = 3;

/// The argument word an i64 starting at `word` takes: the ilp32 ABI
/// passes it in the next two of a0-a7 whatever their parity (split
/// between a7 and the stack if need be), and 8-byte aligned on the stack
/// (from word 8 on, as the stub lays a0-a7 right below the stacked ones).
pub(crate) fn wide_arg_word(word: usize) -> usize {
    if word >= 8 { word.next_multiple_of(2) } else { word }
}

/// Makes code just written as data visible to instruction fetch.
pub(crate) fn code_written() {
    // SAFETY: `fence.i` only (spelt as its encoding: the assembler wants
    // the Zifencei extension named for the mnemonic).
    unsafe { core::arch::asm!(".4byte 0x0000100f", options(nostack, preserves_flags)) };
}

// One assembly unit: the save/restore macros are defined once.
//
// `akira_aot_enter(f, a, b)` calls `f(a, b)` and returns its 64-bit result
// (a0:a1), keeping the stack pointer where `akira_aot_trap` can find it.
// `akira_aot_trap(code)` records the code and returns from `enter` with 0,
// restoring the callee-saved registers `enter` saved; inside a task it
// switches back to the host instead.
//
// The task switch: `akira_aot_switch_to_task(ctx, lo, hi)` saves the
// host's registers, enters the task, which gets (lo, hi) in a0:a1 as the
// result of the switch that left it; `akira_aot_switch_to_host(lo, hi)` is
// the task side of the same switch.
core::arch::global_asm!(
    ".macro akira_aot_save",
    "addi sp, sp, -64",
    "sw ra, 0(sp)",
    "sw s0, 4(sp)",
    "sw s1, 8(sp)",
    "sw s2, 12(sp)",
    "sw s3, 16(sp)",
    "sw s4, 20(sp)",
    "sw s5, 24(sp)",
    "sw s6, 28(sp)",
    "sw s7, 32(sp)",
    "sw s8, 36(sp)",
    "sw s9, 40(sp)",
    "sw s10, 44(sp)",
    "sw s11, 48(sp)",
    ".endm",
    ".macro akira_aot_restore_and_return",
    "lw ra, 0(sp)",
    "lw s0, 4(sp)",
    "lw s1, 8(sp)",
    "lw s2, 12(sp)",
    "lw s3, 16(sp)",
    "lw s4, 20(sp)",
    "lw s5, 24(sp)",
    "lw s6, 28(sp)",
    "lw s7, 32(sp)",
    "lw s8, 36(sp)",
    "lw s9, 40(sp)",
    "lw s10, 44(sp)",
    "lw s11, 48(sp)",
    "addi sp, sp, 64",
    "ret",
    ".endm",
    ".section .text.akira_aot_enter,\"ax\",@progbits",
    ".global akira_aot_enter",
    ".type akira_aot_enter,@function",
    "akira_aot_enter:",
    "akira_aot_save",
    "lla t0, {unwind}",
    "sw sp, 0(t0)",
    "mv t1, a0",
    "mv a0, a1",
    "mv a1, a2",
    "jalr t1",
    "akira_aot_restore_and_return",
    ".size akira_aot_enter, . - akira_aot_enter",
    ".section .text.akira_aot_trap,\"ax\",@progbits",
    ".global akira_aot_trap",
    ".type akira_aot_trap,@function",
    "akira_aot_trap:",
    "lla t0, {current}",
    "lw t0, 0(t0)",
    "beqz t0, 1f",
    "tail akira_aot_task_trap",
    "1:",
    "lla t0, {code}",
    "sw a0, 0(t0)",
    "lla t0, {unwind}",
    "lw sp, 0(t0)",
    "li a0, 0",
    "li a1, 0",
    "akira_aot_restore_and_return",
    ".size akira_aot_trap, . - akira_aot_trap",
    ".section .text.akira_aot_switch_to_task,\"ax\",@progbits",
    ".global akira_aot_switch_to_task",
    ".type akira_aot_switch_to_task,@function",
    "akira_aot_switch_to_task:",
    "akira_aot_save",
    "sw sp, 4(a0)",
    "lla t0, {current}",
    "sw a0, 0(t0)",
    "lw sp, 0(a0)",
    "mv a0, a1",
    "mv a1, a2",
    "akira_aot_restore_and_return",
    ".size akira_aot_switch_to_task, . - akira_aot_switch_to_task",
    ".section .text.akira_aot_switch_to_host,\"ax\",@progbits",
    ".global akira_aot_switch_to_host",
    ".type akira_aot_switch_to_host,@function",
    "akira_aot_switch_to_host:",
    "akira_aot_save",
    "lla t0, {current}",
    "lw t1, 0(t0)",
    "sw zero, 0(t0)",
    "sw sp, 0(t1)",
    "lw sp, 4(t1)",
    "akira_aot_restore_and_return",
    ".size akira_aot_switch_to_host, . - akira_aot_switch_to_host",
    // A new task's first switch lands here: s0 = entry, s1 = args, s2 =
    // fuel (from the frame `Module::task` built). The entry's result goes
    // back as a finished event; a finished task resumed again finishes
    // again.
    ".section .text.akira_aot_task_start,\"ax\",@progbits",
    ".global akira_aot_task_start",
    ".type akira_aot_task_start,@function",
    "akira_aot_task_start:",
    "mv a0, s1",
    "mv a1, s2",
    "jalr s0",
    "mv s0, a0",
    "mv s1, a1",
    "2:",
    "lla t0, {current}",
    "lw t0, 0(t0)",
    "li t1, {finished}",
    "sw t1, 8(t0)",
    "mv a0, s0",
    "mv a1, s1",
    "call akira_aot_switch_to_host",
    "j 2b",
    ".size akira_aot_task_start, . - akira_aot_task_start",
    // A trap inside a task: record it and switch back for good.
    ".section .text.akira_aot_task_trap,\"ax\",@progbits",
    ".global akira_aot_task_trap",
    ".type akira_aot_task_trap,@function",
    "akira_aot_task_trap:",
    "lla t0, {current}",
    "lw t1, 0(t0)",
    "sw a0, 20(t1)",
    "li a1, {trap}",
    "sw a1, 8(t1)",
    "3:",
    "li a0, 0",
    "li a1, 0",
    "call akira_aot_switch_to_host",
    "j 3b",
    ".size akira_aot_task_trap, . - akira_aot_task_trap",
    // The host-call path: t0 = import index; a0-a7 are stored right below
    // the caller's stacked arguments, making one word array.
    ".section .text.akira_aot_host_call,\"ax\",@progbits",
    ".global akira_aot_host_call",
    ".type akira_aot_host_call,@function",
    "akira_aot_host_call:",
    "addi sp, sp, -48",
    "sw ra, 0(sp)",
    "sw s0, 4(sp)",
    "sw a0, 16(sp)",
    "sw a1, 20(sp)",
    "sw a2, 24(sp)",
    "sw a3, 28(sp)",
    "sw a4, 32(sp)",
    "sw a5, 36(sp)",
    "sw a6, 40(sp)",
    "sw a7, 44(sp)",
    "lla s0, {current}",
    "lw s0, 0(s0)",
    "beqz s0, 4f",
    "sw t0, 12(s0)",
    "addi a0, sp, 16",
    "sw a0, 16(s0)",
    "li a0, {host_call}",
    "sw a0, 8(s0)",
    "call akira_aot_switch_to_host",
    "lw ra, 0(sp)",
    "lw s0, 4(sp)",
    "addi sp, sp, 48",
    "ret",
    "4:",
    "li a0, {no_task}",
    "tail akira_aot_trap",
    ".size akira_aot_host_call, . - akira_aot_host_call",
    // One stub per import index, 8 bytes each (uncompressed), in the same
    // section as the path they jump to (a `j` reaches 1 MiB).
    ".p2align 3",
    ".global akira_aot_host_call_stubs",
    ".type akira_aot_host_call_stubs,@function",
    "akira_aot_host_call_stubs:",
    ".option push",
    ".option norvc",
    ".irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63",
    "li t0, \\i",
    "j akira_aot_host_call",
    ".endr",
    ".option pop",
    ".size akira_aot_host_call_stubs, . - akira_aot_host_call_stubs",
    unwind = sym UNWIND_SP,
    code = sym TRAP_CODE,
    current = sym CURRENT,
    finished = const EVENT_FINISHED,
    trap = const EVENT_TRAP,
    host_call = const EVENT_HOST_CALL,
    no_task = const TRAP_NO_TASK,
);
