//! The call-time guard: grants compiled into bit sets, checked with one bit
//! test per call, denials counted.
//!
//! A [`Guard`] lives in each app's store data. Bridge modules ask it before
//! touching a resource; a check never allocates, never compares strings and
//! never scans a list: names (vendor capabilities, network endpoints, IPC
//! topics) are turned into small indices when the app is linked.

use core::fmt;

use crate::capability::{Capability, CapabilityMask};
use crate::scope::{Band, CapabilitySet, DisplayScope, MAX_RF_BANDS, MAX_VENDOR_CAPS};
use crate::sets::{AddrSet, IdSet, PinSet};

/// How an app wants to use a pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PinAccess {
    /// Configure as input and read.
    Input,
    /// Read the level: allowed on input and output pins.
    Read,
    /// Configure as output and drive.
    Output,
    /// Wait for an edge.
    Edge,
}

impl PinAccess {
    fn describe(self) -> &'static str {
        match self {
            PinAccess::Input => "input pin",
            PinAccess::Read => "readable pin",
            PinAccess::Output => "output pin",
            PinAccess::Edge => "edge-wait pin",
        }
    }
}

/// A vendor capability's position in an app's grants, found once when the
/// app is linked ([`Grants::vendor_slot`]) so calls check it by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VendorSlot(u8);

impl VendorSlot {
    /// The slot's index in the app's vendor grants.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// What an app was granted, compiled into fixed-size bit sets.
///
/// Only [`Grants::compile`] makes one, from a capability set that already
/// passed the policy check, so a bridge module cannot forge grants.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Grants {
    modules: CapabilityMask,
    input: PinSet,
    output: PinSet,
    edge: PinSet,
    i2c: [AddrSet; crate::scope::MAX_I2C_BUSES],
    ids: [IdSet; Capability::COUNT],
    ipc_subscribe: IdSet,
    storage_quota: u32,
    storage_writes_per_hour: u32,
    /// Per [`Table`]: the entries the app may hold.
    shares: [u8; Table::COUNT],
    display: DisplayScope,
    rf_bands: [Band; MAX_RF_BANDS],
    rf_band_count: u8,
    rf_max_power_dbm: i8,
    rf_duty_cycle_permille: u16,
    ble_min_adv_interval_ms: u16,
    ble_adv_changes_per_s: u16,
    /// Looked up once per vendor module at link time; on the heap (and
    /// absent without vendor capabilities): a guard is in every app's store.
    vendor_names: Option<alloc::boxed::Box<[crate::scope::VendorName]>>,
    vendor_ids: [IdSet; MAX_VENDOR_CAPS],
}

/// Makes an index set `0..n` (endpoints and topics are granted by their
/// position in the manifest's lists).
fn first_n(n: usize) -> IdSet {
    (0..n as u32).collect()
}

impl Grants {
    /// Grants that allow nothing: no module is linked.
    pub fn none() -> Grants {
        Grants::compile(&CapabilitySet::default())
    }

    /// Compiles a granted capability set (normally the output of
    /// [`crate::policy::grant`]) into bit sets.
    pub fn compile(caps: &CapabilitySet) -> Grants {
        let mut modules = CapabilityMask::EMPTY;
        for cap in Capability::ALL {
            if caps.has(cap) {
                modules.insert(cap);
            }
        }
        let gpio = caps.gpio.unwrap_or_default();
        let mut ids = [IdSet::EMPTY; Capability::COUNT];
        let mut set = |cap: Capability, s: Option<IdSet>| ids[cap.index()] = s.unwrap_or_default();
        set(Capability::Spi, caps.spi);
        set(Capability::Uart, caps.uart);
        set(Capability::Pwm, caps.pwm);
        set(Capability::Adc, caps.adc);
        set(Capability::Sensor, caps.sensor);
        set(Capability::Hid, caps.hid);
        set(Capability::Ble, caps.ble.map(|b| b.roles));
        set(Capability::Net, caps.net.as_ref().map(|n| first_n(n.endpoints.len())));
        // Controlled apps are granted by their index in the `app` list.
        set(Capability::App, caps.app.as_ref().map(|a| first_n(a.apps.len())));
        // WASI parts are checked like numbered resources.
        #[cfg(feature = "wasi")]
        set(Capability::Wasi, caps.wasi.as_ref().map(|w| w.parts));
        // Endpoints and topics are granted by their index in the manifest's
        // lists; the Ipc slot holds publish rights, subscribe rights have
        // their own set.
        set(Capability::Ipc, caps.ipc.as_ref().map(|i| first_n(i.publish.len())));
        let mut rf_bands = [Band { from_hz: 0, to_hz: 0 }; MAX_RF_BANDS];
        let mut rf_band_count = 0;
        let mut rf_max_power_dbm = i8::MIN;
        let mut rf_duty_cycle_permille = 0;
        if let Some(rf) = &caps.rf {
            rf_duty_cycle_permille = rf.duty_cycle_permille;
            for (slot, band) in rf_bands.iter_mut().zip(rf.bands.iter()) {
                *slot = *band;
                rf_band_count += 1;
            }
            rf_max_power_dbm = rf.max_power_dbm;
        }
        let mut vendor_ids = [IdSet::EMPTY; MAX_VENDOR_CAPS];
        for (slot, v) in vendor_ids.iter_mut().zip(caps.vendor.iter()) {
            *slot = v.ids;
        }
        // Capacities match: the set holds at most MAX_VENDOR_CAPS.
        let vendor_names = (!caps.vendor.is_empty()).then(|| caps.vendor.iter().map(|v| v.name.clone()).collect());
        Grants {
            modules,
            input: gpio.input,
            output: gpio.output,
            edge: gpio.edge,
            i2c: caps.i2c.map(|i| i.buses).unwrap_or_default(),
            ids,
            ipc_subscribe: caps.ipc.as_ref().map(|i| first_n(i.subscribe.len())).unwrap_or_default(),
            storage_quota: caps.storage.map_or(0, |s| s.quota),
            storage_writes_per_hour: caps.storage.map_or(0, |s| s.writes_per_hour),
            shares: [caps.net.as_ref().map_or(0, |n| n.sockets)],
            display: caps.display.unwrap_or(DisplayScope { x: 0, y: 0, width: 0, height: 0 }),
            rf_bands,
            rf_band_count,
            rf_max_power_dbm,
            rf_duty_cycle_permille,
            // Without `ble`, no interval passes and no change is allowed.
            ble_min_adv_interval_ms: caps.ble.map_or(u16::MAX, |b| b.min_adv_interval_ms),
            ble_adv_changes_per_s: caps.ble.map_or(0, |b| b.adv_changes_per_s),
            vendor_names,
            vendor_ids,
        }
    }

    /// The built-in modules the app may link.
    pub fn modules(&self) -> CapabilityMask {
        self.modules
    }

    /// The slot of vendor capability `name`, if granted. Called once when
    /// a vendor module is linked.
    pub fn vendor_slot(&self, name: &str) -> Option<VendorSlot> {
        self.vendor_names.as_deref()?.iter().position(|n| n == name).map(|i| VendorSlot(i as u8))
    }

    /// The app's storage quota in bytes (0 without `storage`).
    pub fn storage_quota(&self) -> u32 {
        self.storage_quota
    }

    /// Bytes the app may write to flash over any rolling hour (see
    /// [`Guard::flash_write`]).
    pub fn storage_writes_per_hour(&self) -> u32 {
        self.storage_writes_per_hour
    }

    /// Entries of the firmware-wide `table` the app may hold at once (see
    /// [`Guard::take`]); sockets: its `net` scope's `sockets`.
    pub fn share(&self, table: Table) -> u8 {
        self.shares[table as usize]
    }

    /// The display region the app may draw in.
    pub fn display_region(&self) -> DisplayScope {
        self.display
    }

    /// The app's transmit power cap in dBm.
    pub fn rf_max_power_dbm(&self) -> i8 {
        self.rf_max_power_dbm
    }

    /// The app's shortest advertising interval, in milliseconds
    /// (`u16::MAX` without `ble`).
    pub fn ble_min_adv_interval_ms(&self) -> u16 {
        self.ble_min_adv_interval_ms
    }

    /// The advertising data changes the app may make over any second (0
    /// without `ble`).
    pub fn ble_adv_changes_per_s(&self) -> u16 {
        self.ble_adv_changes_per_s
    }

    /// The app's airtime over any rolling hour, in microseconds (0
    /// without `rf`).
    pub fn rf_airtime_budget_us(&self) -> u64 {
        u64::from(self.rf_duty_cycle_permille) * (AIRTIME_WINDOW_US / 1000)
    }
}

/// The rolling window a duty cycle is measured over: one hour.
pub const AIRTIME_WINDOW_US: u64 = 3_600_000_000;
/// Airtime is counted in buckets of this length (five minutes).
pub const AIRTIME_BUCKET_US: u64 = 300_000_000;
/// Buckets summed for a check: enough to cover any hour ending now (the
/// current bucket, partly past, and the twelve before it), so the budget
/// holds over every rolling hour; a transmission is forgotten 60 to 65
/// minutes after it.
const AIRTIME_BUCKETS: usize = (AIRTIME_WINDOW_US / AIRTIME_BUCKET_US) as usize + 1;

/// The rolling window BLE advertising data changes are counted over: one
/// second.
pub const ADV_CHANGE_WINDOW_US: u64 = 1_000_000;
/// Advertising data changes are counted in buckets of this length
/// (100 ms).
pub const ADV_CHANGE_BUCKET_US: u64 = 100_000;
/// Buckets summed for a check: the current one and the ten before it, so
/// the cap holds over every rolling second.
const ADV_CHANGE_BUCKETS: usize = (ADV_CHANGE_WINDOW_US / ADV_CHANGE_BUCKET_US) as usize + 1;

/// Amounts charged over a rolling window, kept in `N` buckets of
/// `BUCKET_US` and a running total, so a check is a few additions, never a
/// scan of past events. Holds an app's airtime (duty cycle) and its
/// advertising data changes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Rolling<const N: usize, const BUCKET_US: u64> {
    used: [u32; N],
    total: u64,
    /// The bucket number (time / bucket length) of the newest bucket.
    current: u64,
}

type Airtime = Rolling<AIRTIME_BUCKETS, AIRTIME_BUCKET_US>;
type AdvChanges = Rolling<ADV_CHANGE_BUCKETS, ADV_CHANGE_BUCKET_US>;

impl<const N: usize, const BUCKET_US: u64> Rolling<N, BUCKET_US> {
    const NEW: Self = Rolling { used: [0; N], total: 0, current: 0 };

    /// Moves the window to `now_us`, forgetting buckets that left it.
    fn roll(&mut self, now_us: u64) {
        let bucket = now_us / BUCKET_US;
        if bucket <= self.current {
            return;
        }
        let steps = (bucket - self.current).min(N as u64);
        for i in 1..=steps {
            let slot = &mut self.used[((self.current + i) % N as u64) as usize];
            self.total -= u64::from(*slot);
            *slot = 0;
        }
        self.current = bucket;
    }

    /// Charges `amount` at `now_us` if the window's total stays within
    /// `budget`; otherwise charges nothing and returns the total used.
    fn charge(&mut self, now_us: u64, amount: u32, budget: u64) -> Result<(), u64> {
        self.roll(now_us);
        if self.total + u64::from(amount) > budget {
            return Err(self.total);
        }
        let slot = &mut self.used[(self.current % N as u64) as usize];
        *slot = slot.saturating_add(amount);
        self.total += u64::from(amount);
        Ok(())
    }

    /// The amount charged over the window ending at `now_us`.
    fn used(&mut self, now_us: u64) -> u64 {
        self.roll(now_us);
        self.total
    }
}

/// A transmission refused because it would take the app beyond its duty
/// cycle. Not a denial: the app may send again once older transmissions
/// leave the rolling hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AirtimeExhausted {
    /// Airtime the transmission needed, in microseconds.
    pub asked_us: u32,
    /// Airtime already used in the rolling hour, in microseconds.
    pub used_us: u64,
    /// The app's budget over the hour, in microseconds.
    pub budget_us: u64,
}

impl fmt::Display for AirtimeExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rf: {} us of airtime would exceed the duty cycle ({} of {} us used this hour)",
            self.asked_us, self.used_us, self.budget_us
        )
    }
}

impl core::error::Error for AirtimeExhausted {}

/// An advertising data change refused because the app already made as
/// many as its grant allows over the last second. Not a denial: the app
/// may change it again a moment later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TooManyAdvChanges {
    /// Changes the app may make over any second.
    pub per_second: u16,
}

impl fmt::Display for TooManyAdvChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ble: more than {} advertising data changes in a second", self.per_second)
    }
}

impl core::error::Error for TooManyAdvChanges {}

/// The resource a denied call asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Resource {
    /// A pin, used a certain way.
    Pin {
        /// Logical pin number.
        pin: u32,
        /// How it was to be used.
        access: PinAccess,
    },
    /// An I2C device.
    I2c {
        /// Bus number.
        bus: u32,
        /// 7-bit address.
        addr: u32,
    },
    /// A numbered resource of the capability (device, port, channel, role,
    /// endpoint or topic index, vendor id).
    Id(u32),
    /// A display rectangle.
    Rect {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// A radio frequency in Hz.
    Frequency(u32),
    /// A transmit power in dBm.
    Power(i32),
    /// A BLE advertising interval in milliseconds.
    AdvInterval(u32),
    /// A flash write of this many bytes, past the app's hourly write
    /// budget.
    FlashWrite(u32),
    /// An entry of a firmware-wide table, past the app's share of it.
    Entry(Table),
}

/// Which capability a denial was counted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Denied {
    /// A built-in capability.
    Builtin(Capability),
    /// A vendor capability.
    Vendor(VendorSlot),
}

/// A refused call: what was asked for, and under which capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Denial {
    /// The capability the call needed.
    pub capability: Denied,
    /// The resource it asked for.
    pub resource: Resource,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.capability {
            Denied::Builtin(c) => write!(f, "{c}: ")?,
            Denied::Vendor(s) => write!(f, "vendor capability #{}: ", s.index())?,
        }
        match self.resource {
            Resource::Pin { pin, access } => write!(f, "{} {pin}", access.describe()),
            Resource::I2c { bus, addr } => write!(f, "bus {bus} address {addr:#04x}"),
            #[cfg(feature = "wasi")]
            Resource::Id(part) if self.capability == Denied::Builtin(Capability::Wasi) => {
                let name = crate::scope::wasi::NAMES.get(part as usize).copied().unwrap_or("unknown");
                write!(f, "part {name}")
            }
            Resource::Id(id) => write!(f, "id {id}"),
            Resource::Rect { x, y, width, height } => {
                write!(f, "region {width}x{height} at ({x}, {y})")
            }
            Resource::Frequency(hz) => write!(f, "frequency {hz} Hz"),
            Resource::Power(dbm) => write!(f, "transmit power {dbm} dBm"),
            Resource::AdvInterval(ms) => write!(f, "advertising interval {ms} ms"),
            Resource::FlashWrite(bytes) => write!(f, "a flash write of {bytes} bytes past the hourly budget"),
            Resource::Entry(table) => write!(f, "a {} past the app's share", table.entry()),
        }?;
        f.write_str(" is not granted")
    }
}

impl core::error::Error for Denial {}

/// Number of denial counters: one per built-in capability, one per vendor
/// slot.
const COUNTERS: usize = Capability::COUNT + MAX_VENDOR_CAPS;

/// Per-app grants plus denial counters. Every check is a bit test.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Guard {
    grants: Grants,
    denials: [u32; COUNTERS],
    airtime: Airtime,
    adv_changes: AdvChanges,
    flash_writes: FlashWrites,
    console: Console,
    dropped_lines: u32,
    /// Per [`Table`]: the entries the app holds.
    held: [u8; Table::COUNT],
}

impl Guard {
    /// A guard over `grants`, with zeroed counters.
    pub fn new(grants: Grants) -> Guard {
        Guard {
            grants,
            denials: [0; COUNTERS],
            airtime: Airtime::NEW,
            adv_changes: AdvChanges::NEW,
            flash_writes: FlashWrites::NEW,
            console: Console::NEW,
            dropped_lines: 0,
            held: [0; Table::COUNT],
        }
    }

    /// The compiled grants.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    // Not `#[inline(never)]`: measured, forcing it out of line made the
    // allowed check 4x slower (2.6 -> 11.5 ns in `cargo bench -p
    // akira-sandbox --bench guard`), as the check itself stopped inlining.
    #[cold]
    fn deny(&mut self, capability: Denied, resource: Resource) -> Denial {
        let counter = match capability {
            Denied::Builtin(c) => c.index(),
            Denied::Vendor(s) => Capability::COUNT + s.index(),
        };
        self.denials[counter] = self.denials[counter].saturating_add(1);
        Denial { capability, resource }
    }

    #[inline(always)]
    fn verdict(&mut self, allowed: bool, cap: Capability, resource: Resource) -> Result<(), Denial> {
        if allowed { Ok(()) } else { Err(self.deny(Denied::Builtin(cap), resource)) }
    }

    /// Checks a pin access.
    #[inline(always)]
    pub fn pin(&mut self, pin: u32, access: PinAccess) -> Result<(), Denial> {
        // Tested in place: a copy of the set would go through the stack.
        let g = &self.grants;
        let ok = match access {
            PinAccess::Input => g.input.contains(pin),
            PinAccess::Read => g.input.contains(pin) || g.output.contains(pin),
            PinAccess::Output => g.output.contains(pin),
            PinAccess::Edge => g.edge.contains(pin),
        };
        self.verdict(ok, Capability::Gpio, Resource::Pin { pin, access })
    }

    /// Checks an I2C device access.
    #[inline(always)]
    pub fn i2c(&mut self, bus: u32, addr: u32) -> Result<(), Denial> {
        let ok = self.grants.i2c.get(bus as usize).is_some_and(|s| s.contains(addr));
        self.verdict(ok, Capability::I2c, Resource::I2c { bus, addr })
    }

    /// Checks a numbered resource of an id-scoped capability: `spi`
    /// devices, `uart` ports, `pwm`/`adc`/`sensor` channels, `hid` kinds,
    /// `ble` roles, `net` endpoint indices, `ipc` publish topic indices,
    /// `app` indices of controlled apps, `wasi` parts.
    #[inline(always)]
    pub fn id(&mut self, cap: Capability, id: u32) -> Result<(), Denial> {
        let ok = self.grants.ids[cap.index()].contains(id);
        self.verdict(ok, cap, Resource::Id(id))
    }

    /// Checks the right to subscribe to IPC topic `index` (its position in
    /// the manifest's subscribe list).
    #[inline(always)]
    pub fn subscribe(&mut self, index: u32) -> Result<(), Denial> {
        let ok = self.grants.ipc_subscribe.contains(index);
        self.verdict(ok, Capability::Ipc, Resource::Id(index))
    }

    /// Checks a display rectangle against the granted region.
    #[inline(always)]
    pub fn display(&mut self, x: u32, y: u32, width: u32, height: u32) -> Result<(), Denial> {
        let ok =
            self.grants.modules.contains(Capability::Display) && self.grants.display.contains_rect(x, y, width, height);
        self.verdict(ok, Capability::Display, Resource::Rect { x, y, width, height })
    }

    /// Checks a radio frequency against the granted bands.
    #[inline(always)]
    pub fn frequency(&mut self, hz: u32) -> Result<(), Denial> {
        let bands = &self.grants.rf_bands[..usize::from(self.grants.rf_band_count)];
        let ok = bands.iter().any(|b| b.contains(hz));
        self.verdict(ok, Capability::Rf, Resource::Frequency(hz))
    }

    /// Checks a transmit power against the granted cap.
    #[inline(always)]
    pub fn power(&mut self, dbm: i32) -> Result<(), Denial> {
        let ok = self.grants.modules.contains(Capability::Rf) && dbm <= i32::from(self.grants.rf_max_power_dbm);
        self.verdict(ok, Capability::Rf, Resource::Power(dbm))
    }

    /// Charges `airtime_us` of transmission at board time `now_us` to the
    /// app's duty cycle, or refuses it if the app's transmissions in the
    /// rolling hour would then exceed its budget
    /// ([`Grants::rf_airtime_budget_us`]). Constant time: the hour is kept
    /// in thirteen five-minute buckets and a running total.
    pub fn airtime(&mut self, now_us: u64, airtime_us: u32) -> Result<(), AirtimeExhausted> {
        let budget_us = self.grants.rf_airtime_budget_us();
        self.airtime.charge(now_us, airtime_us, budget_us).map_err(|used_us| AirtimeExhausted {
            asked_us: airtime_us,
            used_us,
            budget_us,
        })
    }

    /// Airtime the app may still use now, in microseconds.
    pub fn airtime_left(&mut self, now_us: u64) -> u64 {
        self.grants.rf_airtime_budget_us().saturating_sub(self.airtime.used(now_us))
    }

    /// Checks a BLE advertising interval against the app's floor (a
    /// denial below it, or without `ble`).
    #[inline(always)]
    pub fn adv_interval(&mut self, ms: u32) -> Result<(), Denial> {
        let ok = ms >= u32::from(self.grants.ble_min_adv_interval_ms);
        self.verdict(ok, Capability::Ble, Resource::AdvInterval(ms))
    }

    /// Counts an advertising data change at board time `now_us`, or
    /// refuses it if the app already made its grant's
    /// ([`Grants::ble_adv_changes_per_s`]) over the last second. Constant
    /// time: the second is kept in eleven 100 ms buckets and a running
    /// total.
    pub fn adv_change(&mut self, now_us: u64) -> Result<(), TooManyAdvChanges> {
        let per_second = self.grants.ble_adv_changes_per_s;
        self.adv_changes.charge(now_us, 1, per_second.into()).map_err(|_| TooManyAdvChanges { per_second })
    }

    /// Checks resource `id` of a vendor capability.
    #[inline(always)]
    pub fn vendor(&mut self, slot: VendorSlot, id: u32) -> Result<(), Denial> {
        if self.grants.vendor_ids.get(slot.index()).is_some_and(|s| s.contains(id)) {
            Ok(())
        } else {
            Err(self.deny(Denied::Vendor(slot), Resource::Id(id)))
        }
    }

    /// Denials counted against a built-in capability.
    pub fn denials(&self, cap: Capability) -> u32 {
        self.denials[cap.index()]
    }

    /// Denials counted against a vendor capability.
    pub fn vendor_denials(&self, slot: VendorSlot) -> u32 {
        self.denials.get(Capability::COUNT + slot.index()).copied().unwrap_or(0)
    }

    /// All denials counted for this app.
    pub fn total_denials(&self) -> u32 {
        self.denials.iter().fold(0u32, |a, d| a.saturating_add(*d))
    }
}

mod shares;
#[cfg(test)]
mod tests;

pub use shares::{CONSOLE_LINES_PER_S, FlashBudgetExhausted, Table};
use shares::{Console, FlashWrites};
