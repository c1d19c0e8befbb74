//! Phase 2: a whole app on its own stack. A [`Task`] runs one export of a
//! loaded [`Module`] on a stack the caller gives it; every host call the
//! compiled code makes switches back to the caller ([`Run::HostCall`]),
//! which carries it out (on its own stack, with the app's guard) and
//! resumes the task with the result, now or after a wait (a sleep, an
//! edge). A trap switches back too and ends the task.
//!
//! Imports are bound to [`host_call_stub`]s: one per import index, each
//! records its index and the argument registers and switches stacks. The
//! switch saves the callee-saved registers (Thumb: r4-r11, d8-d15 and lr;
//! RISC-V: s0-s11 and ra) on the stack it leaves and restores them from
//! the one it enters.
//!
//! Time slices: when the task's fuel runs out, the compiled code calls
//! `akira_aot_out_of_fuel`, which switches back the same way
//! ([`Run::OutOfFuel`]); the caller gives the task more fuel
//! ([`Task::set_fuel`]) and resumes it when it is its turn again, or drops
//! it when its CPU budget is spent. Outside a task (a call through
//! [`Module::call`]) running out of fuel traps ([`Trap::OutOfFuel`]).

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::arch::{self, FRAME_WORDS};
use crate::run::{AotError, Module, Trap};

/// What the task stopped for (`Context::event`).
pub(crate) const EVENT_FINISHED: u32 = 1;
pub(crate) const EVENT_HOST_CALL: u32 = 2;
pub(crate) const EVENT_TRAP: u32 = 3;
const EVENT_OUT_OF_FUEL: u32 = 4;
/// Trap code of a host call made outside a task (an import bound to a
/// stub, called during instantiation).
pub(crate) const TRAP_NO_TASK: u32 = 102;
/// Written at the lowest word of a task's stack; checked at every switch.
const CANARY: u32 = 0x5a5a_a5a5;
/// Bytes what the compiled code calls out of its image takes on the
/// task's stack, beyond the module's own bound: a host-call stub and the
/// switch (Thumb 128 B, RISC-V 112 B), the trap exit (104 B, 64 B), the
/// out-of-fuel hook and its switch, or `memcpy` and its kin (leaf
/// functions with small frames).
pub const SWITCH_BYTES: u32 = 256;
/// Bytes kept on the task's stack for interrupts taken while it runs: an
/// interrupt stacks its frame on the stack it interrupts (Cortex-M4F: up to
/// 104 B with the FPU's registers) and, on firmware whose handlers run on
/// the stack they interrupt (cortex-m-rt's single stack, riscv-rt), its
/// handlers' frames. Blobs since akira-aot-build's call-graph bound carry a
/// tight bound with no slack below it, so the room is kept explicitly.
pub const INTERRUPT_BYTES: u32 = 1024;
/// Imports a module run as a task may have (one stub each).
pub const MAX_IMPORTS: usize = 64;

/// The running task's context (null while the host side runs).
pub(crate) static CURRENT: AtomicUsize = AtomicUsize::new(0);

/// Shared with the assembly of each instruction set (`crate::arch`): keep
/// the field offsets in step.
#[repr(C)]
struct Context {
    /// 0: the task's stack pointer while the host runs.
    task_sp: usize,
    /// 4: the host's stack pointer while the task runs.
    host_sp: usize,
    /// 8: why the task switched back.
    event: u32,
    /// 12: the import a host call is for.
    import: u32,
    /// 16: a host call's argument words (the argument registers, then the
    /// stacked ones).
    args: usize,
    /// 20: a trap's code.
    trap: u32,
}

unsafe extern "C" {
    fn akira_aot_switch_to_task(ctx: *mut Context, lo: u32, hi: u32) -> u64;
    fn akira_aot_task_start();
    fn akira_aot_host_call_stubs();
    fn akira_aot_switch_to_host(lo: u32, hi: u32) -> u64;
}

/// The fuel checks' out-of-fuel call (a runtime import of the blobs
/// akira-aot-build writes), with the code's fuel counter (below zero).
/// Inside a task: an out-of-fuel event; the counter goes out to the task's
/// fuel and comes back from it when the task is resumed (its next slice).
/// Outside one: the out-of-fuel trap.
pub(crate) extern "C" fn akira_aot_out_of_fuel(counter: *mut i32) {
    let ctx = CURRENT.load(Ordering::Relaxed) as *mut Context;
    if ctx.is_null() {
        crate::run::out_of_fuel_trap(counter);
    }
    let top = ctx.cast::<Top>();
    // SAFETY: a task runs: `ctx` is its context, the first field of its
    // `Top` (repr(C)), in the stack buffer the task borrows; `counter` is
    // the compiled code's fuel global. The switch saves and restores the
    // callee-saved registers; the host writes the fuel while parked.
    unsafe {
        (*top).fuel = counter.read();
        (*ctx).event = EVENT_OUT_OF_FUEL;
        akira_aot_switch_to_host(0, 0);
        counter.write((*top).fuel);
    }
}

/// Whether compiled code is running as a task (its traps switch back
/// rather than unwind).
pub(crate) fn in_task() -> bool {
    CURRENT.load(Ordering::Relaxed) != 0
}

/// The address to bind import `index` to for a module run as a task:
/// calling it switches back to the host as [`Run::HostCall`]. `None` past
/// [`MAX_IMPORTS`].
pub fn host_call_stub(index: usize) -> Option<usize> {
    (index < MAX_IMPORTS).then(|| akira_aot_host_call_stubs as *const () as usize + 8 * index)
}

/// Why [`Task::resume`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Run {
    /// The export returned this (0 for a function without a result).
    Finished(u64),
    /// The code called import `import` with these arguments (i32 ones in
    /// the low 32 bits, `count` of them): carry it out and resume the task
    /// with its result, now or later.
    HostCall {
        /// The import's index in the blob's import table.
        import: u16,
        /// The arguments.
        args: [u64; 16],
        /// How many of `args` there are.
        count: usize,
    },
    /// The task's fuel ran out (its counter is below zero): its time
    /// slice is over. Give it fuel ([`Task::set_fuel`]) and resume it (the
    /// value is ignored) when it may run again, or drop it.
    OutOfFuel,
}

/// The part of a task's stack buffer the host side keeps: its context,
/// the export's arguments and the fuel (at the buffer's top end; the
/// stack grows down below it).
#[repr(C, align(8))]
struct Top {
    ctx: Context,
    args: [u64; 16],
    fuel: i32,
}

/// The bytes of stack buffer a task of a blob with `stack_bound` needs
/// ([`Module::task`] refuses a smaller one): the bound, [`SWITCH_BYTES`],
/// [`INTERRUPT_BYTES`], the first switch's frame and the task's context at the top, with room
/// to align both ends to 8 bytes.
pub const fn stack_len(stack_bound: u32) -> usize {
    below_top(stack_bound) + core::mem::size_of::<Top>() + 16
}

/// The bytes a task needs below its context: the bound, [`SWITCH_BYTES`],
/// [`INTERRUPT_BYTES`], the first switch's frame and 8 for alignment.
const fn below_top(stack_bound: u32) -> usize {
    stack_bound as usize + SWITCH_BYTES as usize + INTERRUPT_BYTES as usize + FRAME_WORDS * 4 + 8
}

/// An export running on its own stack. Dropping a suspended task abandons
/// its stack (nothing on it owns anything).
pub struct Task<'s> {
    top: *mut Top,
    stack_low: *mut u32,
    done: bool,
    _stack: core::marker::PhantomData<&'s mut [u8]>,
}

impl<'s> Task<'s> {
    /// The fuel left (updated at every host call, trap and return).
    pub fn fuel(&self) -> i32 {
        // SAFETY: `top` points into the stack buffer this task borrows.
        unsafe { (*self.top).fuel }
    }

    /// Sets the fuel the task has left; the code takes it up when its host
    /// call returns (blobs whose imports hand the counter out: every blob
    /// akira-aot-build writes), or when it is resumed after
    /// [`Run::OutOfFuel`]. The sandbox gives a task one time slice of fuel
    /// at each step, after a wait or a slice's end; its CPU budget counts
    /// from its last wait.
    pub fn set_fuel(&mut self, fuel: i32) {
        // SAFETY: `top` points into the stack buffer this task borrows; the
        // task is parked (it only reads this while it runs).
        unsafe { (*self.top).fuel = fuel }
    }

    /// Whether the task finished or trapped.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Runs the task until it finishes, traps or makes a host call;
    /// `value` is the result of the host call it is suspended in (ignored
    /// at the first run). A trap (or a finished task run again) is an
    /// error; so is an overwritten stack canary ([`Trap::StackOverflow`]).
    pub fn resume(&mut self, module: &Module<'_, '_>, value: u64) -> Result<Run, AotError> {
        if self.done {
            return Err(AotError::Finished);
        }
        if in_task() {
            return Err(AotError::Busy);
        }
        let top = self.top;
        // SAFETY: the context was set up by `Module::task` on a stack
        // buffer this task borrows; the switch saves and restores the
        // callee-saved registers on both sides, and the task's code only
        // touches its own stack, the module's region and its memory.
        let out = unsafe { akira_aot_switch_to_task(&raw mut (*top).ctx, value as u32, (value >> 32) as u32) };
        // SAFETY: as above; the task is parked, nothing else writes these.
        let (event, import, args, trap) =
            unsafe { ((*top).ctx.event, (*top).ctx.import, (*top).ctx.args, (*top).ctx.trap) };
        // SAFETY: the lowest word of the stack buffer.
        if unsafe { self.stack_low.read_volatile() } != CANARY {
            self.done = true;
            return Err(AotError::Trap(Trap::StackOverflow));
        }
        match event {
            EVENT_FINISHED => {
                self.done = true;
                Ok(Run::Finished(out))
            }
            EVENT_OUT_OF_FUEL => Ok(Run::OutOfFuel),
            EVENT_HOST_CALL => {
                let index = import as u16;
                let Some(&(count, wide)) = module.import_signatures().get(usize::from(index)) else {
                    self.done = true;
                    return Err(AotError::Trap(Trap::Other(TRAP_NO_TASK)));
                };
                let mut values = [0u64; 16];
                // Word 0 is wasm2c's instance pointer for the import.
                let mut word = 1usize;
                let words = args as *const u32;
                for (i, slot) in values.iter_mut().enumerate().take(usize::from(count)) {
                    // SAFETY: the stub's saved argument registers followed by the
                    // caller's stacked arguments, which the blob's import
                    // signature describes (the compiled caller passed them).
                    *slot = unsafe {
                        if wide & (1 << i) != 0 {
                            word = arch::wide_arg_word(word);
                            let v = u64::from(words.add(word).read()) | u64::from(words.add(word + 1).read()) << 32;
                            word += 2;
                            v
                        } else {
                            let v = u64::from(words.add(word).read());
                            word += 1;
                            v
                        }
                    };
                }
                Ok(Run::HostCall { import: index, args: values, count: usize::from(count) })
            }
            _ => {
                self.done = true;
                Err(AotError::Trap(Trap::from_code(trap)))
            }
        }
    }
}

impl<'r, 'b> Module<'r, 'b> {
    /// Prepares export `name` to run as a [`Task`] on `stack` with `args`
    /// and `fuel`; nothing runs until [`Task::resume`]. The stack must hold
    /// the blob's stack bound plus [`SWITCH_BYTES`], [`INTERRUPT_BYTES`], the first switch's
    /// frame and the task's own context (about 160 bytes at its top):
    /// [`stack_len`] bytes. The module's imports must
    /// have been bound to [`host_call_stub`]s.
    pub fn task<'s>(&self, name: &str, args: &[u64], fuel: i32, stack: &'s mut [u8]) -> Result<Task<'s>, AotError> {
        let export = self.blob().export(name).ok_or(AotError::NoSuchExport)?;
        if export.params.len() != args.len() || args.len() > 16 {
            return Err(AotError::ArgumentCount);
        }
        let low = (stack.as_mut_ptr() as usize).next_multiple_of(8);
        let high = (stack.as_mut_ptr() as usize + stack.len()) & !7;
        let top_at = high.saturating_sub(core::mem::size_of::<Top>()) & !(arch::STACK_ALIGN - 1);
        // Below the context: the first switch's frame.
        let frame_words = FRAME_WORDS;
        let needed = below_top(self.blob().header.stack_bound);
        if top_at < low || top_at - low < needed {
            return Err(AotError::StackTooSmall);
        }
        let top = top_at as *mut Top;
        let sp = top_at - frame_words * 4;
        let entry = self.entry_address(&export);
        // SAFETY: every address written is inside `stack`, aligned for the
        // instruction set's stack (checked above); the task borrows `stack`
        // for its lifetime.
        unsafe {
            let mut values = [0u64; 16];
            values[..args.len()].copy_from_slice(args);
            top.write(Top {
                ctx: Context { task_sp: sp, host_sp: 0, event: 0, import: 0, args: 0, trap: 0 },
                args: values,
                fuel,
            });
            let frame = sp as *mut u32;
            for i in 0..frame_words {
                frame.add(i).write(0);
            }
            // Callee-saved registers the start routine reads, and the
            // address the first switch returns to.
            frame.add(arch::FRAME_ENTRY).write(entry as u32);
            frame.add(arch::FRAME_ARGS).write(&raw const (*top).args as u32);
            frame.add(arch::FRAME_FUEL).write(&raw mut (*top).fuel as u32);
            frame.add(arch::FRAME_RETURN).write(akira_aot_task_start as *const () as u32);
            (low as *mut u32).write_volatile(CANARY);
        }
        Ok(Task { top, stack_low: low as *mut u32, done: false, _stack: core::marker::PhantomData })
    }
}
