//! Runtime configuration.

/// How the sandbox runs apps. The defaults suit a microcontroller with a
/// few hundred KiB of RAM; a simulator may raise them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RuntimeConfig {
    /// Fuel per time slice: how long an app runs before the scheduler gets
    /// control back (about one unit per wasm instruction).
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
            slice_fuel: 10_000,
            max_stack_bytes: 32 * 1024,
            max_recursion_depth: 256,
            max_table_elements: 1024,
            max_module_bytes: 512 * 1024,
            strict_denials: false,
        }
    }
}
