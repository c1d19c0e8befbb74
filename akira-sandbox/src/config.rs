//! Runtime configuration.

/// How the sandbox runs apps. The defaults suit a microcontroller with a
/// few hundred KiB of RAM; a simulator may raise them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RuntimeConfig {
    /// Fuel per time slice: how long an app runs before the scheduler gets
    /// control back (about one unit per wasm instruction).
    ///
    /// Every slice boundary costs about 1 100 instructions on x86 (wasmi's
    /// pause and resume ~940, [`crate::AppInstance::step`] ~140) and
    /// 1 750–2 000 on a Cortex-M4. The default, 30 000, keeps that at
    /// 0.5–1.7 % of a computing app's time on x86 and 0.2–0.7 % on a
    /// Cortex-M4, where a slice lasts roughly 5–15 ms at 64 MHz. A smaller
    /// slice lets other apps and the firmware's tasks run sooner; a larger
    /// one costs less (`BENCHMARKS.md`, "Sandbox overhead on compute").
    /// The CPU budget does not depend on it: a slice never gives an app
    /// more fuel than its budget has left.
    pub slice_fuel: u64,
    /// Most bytes of wasmi value stack per app call; deeper recursion traps
    /// with a stack-overflow fault.
    pub max_stack_bytes: usize,
    /// Most nested wasm calls per app.
    pub max_recursion_depth: usize,
    /// Most table elements an app may have.
    pub max_table_elements: usize,
    /// Largest `.wasm` accepted, in bytes.
    pub max_module_bytes: usize,
    /// Stop an app with a fault on its first denied call, instead of
    /// returning `AKIRA_EDENIED` to it.
    pub strict_denials: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            slice_fuel: 30_000,
            max_stack_bytes: 32 * 1024,
            max_recursion_depth: 256,
            max_table_elements: 1024,
            max_module_bytes: 512 * 1024,
            strict_denials: false,
        }
    }
}
